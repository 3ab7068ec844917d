"""`osp bootstrap`: the S3 bucket and KMS key a team keeps its Pulumi state in."""

from __future__ import annotations

from typing import Annotated

import typer

from osp.cli import output


def bootstrap(
    region: Annotated[
        str,
        typer.Option("--region", help="AWS region of the bucket and the key.", metavar="REGION"),
    ],
    bucket: Annotated[
        str | None,
        typer.Option(
            "--bucket",
            help="State bucket name. Default: osp-pulumi-state-<account id>-<region>.",
            show_default=False,
        ),
    ] = None,
    key_alias: Annotated[
        str, typer.Option("--key-alias", help="Alias of the KMS key for Pulumi secrets.")
    ] = "alias/osp-pulumi-secrets",
    write: Annotated[
        bool,
        typer.Option(
            "--write",
            help="Write osp:backend and osp:secrets_provider into the --env stack file.",
        ),
    ] = False,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            "-e",
            help="The environment whose stack file --write edits.",
            show_default=False,
        ),
    ] = None,
    project_dir: output.ProjectDirOption = None,
) -> None:
    """Create (or check) the state bucket and secrets key; idempotent, safe to rerun.

    Prints the stack config lines that point an environment at them; --write --env ENV puts
    them into stacks/Pulumi.ENV.yaml (comments kept).
    """
    if write != (env is not None):
        output.error("--write and --env go together: --write --env ENV edits that stack file")
        raise typer.Exit(output.EXIT_USAGE)

    from osp.platform import bootstrap as setup
    from osp.platform.project import find_project

    project = find_project(project_dir) if env is not None else None
    stack_file = project.require_environment(env) if project and env else None
    result = setup.bootstrap(region, bucket=bucket, key_alias=key_alias)
    edited = None
    if project is not None and stack_file is not None and env is not None:
        edited = setup.stack_file_with_backend(
            stack_file.read_text(encoding="utf-8"),
            environment=env,
            source=project.relative(stack_file),
            backend=result.backend_url,
            secrets_provider=result.secrets_provider_url,
        )

    console = output.stdout()
    if result.unchanged:
        console.print(
            f"Unchanged: bucket {result.bucket} and key {result.key_alias} are already set up "
            f"in {result.region} (account {result.account}).",
            soft_wrap=True,
        )
    for change in result.changes:
        console.print(f"  [green]✓[/] {change}", soft_wrap=True)
    if edited is None or stack_file is None or project is None:
        console.print("Put these lines in the config: section of stacks/Pulumi.<env>.yaml:")
        for line in result.config_lines():
            console.print(f"  {line}", markup=False, soft_wrap=True)
        return
    try:
        output.write_atomically(stack_file, edited)
    except OSError as exc:
        output.error(f"cannot write {project.relative(stack_file)}: {exc.strerror}")
        raise typer.Exit(output.EXIT_ERROR) from None
    console.print(f"Wrote to {project.relative(stack_file)}:")
    for line in result.config_lines():
        console.print(f"  {line}", markup=False, soft_wrap=True)
    console.print(
        f"Next: [bold]osp up --env {env}[/] (a stack already in another backend must be moved: "
        "`pulumi stack export` there, `pulumi stack import` here).",
        soft_wrap=True,
    )
