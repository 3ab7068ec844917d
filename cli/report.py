"""`osp report`: an auditor's report of an environment (JSON, Markdown, self-contained HTML,
and the architecture diagram), made by `osp.platform.report.produce`; this module parses and
writes the files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from osp.cli import output


def report(
    env: output.EnvOption,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Report on the offline engine's plan (no AWS, no pulumi CLI). Default: a real "
            "preview's plan.",
        ),
    ] = False,
    blueprint: Annotated[
        str | None,
        typer.Option(
            "--blueprint",
            help="Report on another bundled blueprint (e.g. learning-hub); offline only.",
            show_default=False,
        ),
    ] = None,
    formats: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            "-f",
            help="html, md or json; repeat for several. Default: all three. The diagram "
            "(architecture.png, .svg) is written whenever Graphviz's dot is installed.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="The folder to write into. Default: ./osp-report-<env>/.",
            show_default=False,
        ),
    ] = None,
    tenants: Annotated[
        bool,
        typer.Option(
            "--tenants",
            help="Include the tenants: counts per tier and state, and the isolation proof "
            "over their stacks' plans (as osp tenant verify --all), whose guardrails are "
            "judged too (as osp policy check --tenants). Offline: the local registry; "
            "otherwise the environment's registry and each tenant stack's preview.",
        ),
    ] = False,
    project_dir: output.ProjectDirOption = None,
    no_cache: output.NoCacheOption = False,
) -> None:
    """Write an auditor's report of the environment: what exists, how it is protected, who
    may reach what, and which guardrails pass (with waivers and the controls they map to);
    with --tenants, the tenants and whether they are isolated. No secret value appears in
    it."""
    from datetime import UTC, datetime
    from importlib.metadata import version

    from osp.platform.project import find_project
    from osp.platform.report import DIAGRAM_FILES, FILE_NAMES, Format, produce
    from osp.stacks.estate import build

    try:
        wanted = [Format(f.lower()) for f in formats] if formats else list(Format)
    except ValueError:
        output.error(f"--format {', '.join(formats or [])}: expected html, md or json")
        raise typer.Exit(output.EXIT_USAGE) from None
    if blueprint is not None and not offline:
        output.error(
            f"--blueprint {blueprint}: only with --offline; a real run reports on the "
            "blueprint named by osp:blueprint in the stack file"
        )
        raise typer.Exit(output.EXIT_USAGE)
    project = find_project(project_dir)
    folder = out if out is not None else Path(f"osp-report-{env}")
    names = [FILE_NAMES[f] for f in wanted] + list(DIAGRAM_FILES)
    try:
        targets = {
            name: output.check_out_path(folder / name, project.root, project.stacks_dir)
            for name in names
        }
    except output.OutPathError as exc:
        output.error(str(exc).replace("the plan", "the report"))
        raise typer.Exit(output.EXIT_USAGE) from None
    now = datetime.now(UTC)
    fleet = None
    if tenants:
        from functools import partial

        from osp.cli import tenant as tenant_cli

        fleet = partial(tenant_cli.fleet, project, offline=offline)
    if offline:
        produced = produce(
            project,
            env,
            program=build,
            offline=True,
            now=now,
            version=version("osp"),
            formats=wanted,
            blueprint=blueprint,
            tenants=fleet,
            cache=output.plan_cache(no_cache),
        )
    else:
        from osp.cli import progress

        with progress.reporter(as_json=False, console=output.stderr()) as display:
            produced = produce(
                project,
                env,
                program=build,
                offline=False,
                now=now,
                version=version("osp"),
                formats=wanted,
                reporter=display,
                tenants=fleet,
            )
    for note in produced.notes:
        output.warning(note)
    console = output.stdout()
    for name, data in produced.files.items():
        output.write_atomically(targets[name], data)
        console.print(f"wrote {targets[name]}", markup=False)
