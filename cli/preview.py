"""`osp preview`: what an environment's program declares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from osp.cli import output


def preview(
    env: output.EnvOption,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Plan with the offline engine: Pulumi mocks, in-process; no Pulumi CLI, no AWS "
            "credentials, nothing created.",
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the plan JSON (schema version 1) on stdout, only it."),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Also write the plan JSON to this file.", show_default=False),
    ] = None,
    project_dir: output.ProjectDirOption = None,
) -> None:
    """Show the plan of an environment: its components, their resources, counts by type."""
    if not offline:
        output.error(
            "osp preview needs --offline for now: this version plans with the offline engine "
            "only (no Pulumi CLI or AWS account needed); previews through the Pulumi engine "
            "come with `osp up`"
        )
        raise typer.Exit(output.EXIT_USAGE)

    from osp.platform.engine import offline as engine
    from osp.platform.project import find_project
    from osp.platform.spec import load_environment

    with output.reported_errors():
        spec = load_environment(find_project(project_dir), env)
        plan = engine.run(spec)

    text = plan.dumps()
    if out is not None:
        try:
            output.write_atomically(out, text)
        except OSError as exc:
            output.error(f"--out: cannot write {str(out)!r}: {exc.strerror}")
            raise typer.Exit(output.EXIT_ERROR) from None
    for warning in plan.warnings:
        output.stderr().print(f"[yellow]warning:[/] {warning}")
    if as_json:
        typer.echo(text, nl=False)
        return

    from osp.cli.render import render_plan

    render_plan(output.stdout(), plan, spec)
    if out is not None:
        output.stdout().print(f"Plan JSON written to {out}", soft_wrap=True)
