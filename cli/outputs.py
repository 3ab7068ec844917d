"""`osp outputs`: the outputs of an environment's stack."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from osp.cli import output


def outputs(
    env: output.EnvOption,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the outputs as one JSON object on stdout.")
    ] = False,
    show_secrets: Annotated[
        bool,
        typer.Option("--show-secrets", help="Show secret values instead of <secret>."),
    ] = False,
    project_dir: output.ProjectDirOption = None,
) -> None:
    """Print the stack's outputs (endpoints, ids); secret values masked unless --show-secrets."""
    from osp.platform.automation import operations
    from osp.platform.project import find_project
    from osp.platform.spec import load_environment
    from osp.stacks.estate import build

    project = find_project(project_dir)
    spec = load_environment(project, env)
    output.spec_warnings(project, spec)
    values = operations.mask(operations.outputs(project, spec, build), show_secrets=show_secrets)
    if as_json:
        typer.echo(json.dumps(values, indent=2, sort_keys=True, ensure_ascii=False))
        return
    from osp.cli.progress import render_outputs

    console = output.stdout()
    if not values:
        console.print(f"{spec.name} has no outputs (yet): run `osp up --env {spec.name}`.")
        return
    console.print(f"[bold]Outputs of {spec.name}[/]")
    render_outputs(console, values)
