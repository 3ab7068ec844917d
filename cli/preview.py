"""`osp preview`: what an environment's program declares, and what a real run would change."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from osp.cli import output

if TYPE_CHECKING:
    from osp.platform.automation.changes import ChangeSet
    from osp.platform.plan import Plan
    from osp.platform.spec import EnvironmentSpec


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
    blueprint: Annotated[
        str | None,
        typer.Option(
            "--blueprint",
            help="Preview another bundled blueprint (e.g. learning-hub) for this one run. "
            "Offline only: a real run takes the blueprint from the stack config alone.",
            show_default=False,
        ),
    ] = None,
    diff: Annotated[
        bool,
        typer.Option(
            "--diff",
            help="Show each changed property (old → new) under its resource. Needs the Pulumi "
            "engine (not --offline): offline there is no deployed state to compare with.",
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
    """Show the plan of an environment.

    Without --offline: a real preview through the Pulumi engine (needs the pulumi CLI and AWS
    credentials) — the changes `osp up` would make, counted by operation. With --offline: the
    offline engine's plan — components, resources, counts by type.
    """
    if diff and offline:
        output.error("--diff needs the Pulumi engine: leave out --offline")
        raise typer.Exit(output.EXIT_USAGE)
    if blueprint is not None and not offline:
        output.error(
            f"--blueprint {blueprint}: only with --offline; a real run deploys the blueprint "
            f"named by osp:blueprint in the stack file"
        )
        raise typer.Exit(output.EXIT_USAGE)

    spec, plan, changes = _plan(env, project_dir, offline=offline, blueprint=blueprint)
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

    from osp.cli.render import render_changes, render_plan

    console = output.stdout()
    if changes is None:
        render_plan(console, plan, spec)
    else:
        render_changes(console, changes, spec.name, diff=diff)
        console.print(f"Preview only: nothing was changed. Next: [bold]osp up --env {spec.name}[/]")
    if out is not None:
        console.print(f"Plan JSON written to {out}", soft_wrap=True)


def _plan(
    env: str, project_dir: Path | None, *, offline: bool, blueprint: str | None
) -> tuple[EnvironmentSpec, Plan, ChangeSet | None]:
    """The estate's plan from the offline engine, or a real preview's plan and changes."""
    from osp.platform.project import find_project
    from osp.platform.spec import load_environment
    from osp.stacks.estate import build

    project = find_project(project_dir)
    if offline:
        from osp.platform.engine import offline as engine

        spec = load_environment(project, env, blueprint=blueprint)
        output.spec_warnings(project, spec)
        return spec, engine.run(spec, build), None

    from osp.cli import progress
    from osp.platform.automation import operations

    spec = load_environment(project, env)
    output.spec_warnings(project, spec)
    # Progress goes to stderr: stdout holds the result (the changes, or the JSON).
    with progress.reporter(as_json=False, console=output.stderr()) as display:
        outcome = operations.preview(project, spec, build, display)
    return spec, outcome.plan, outcome.changes
