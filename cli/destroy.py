"""`osp destroy`: delete every resource of an environment."""

from __future__ import annotations

from typing import Annotated

import typer

from osp.cli import output


def destroy(
    env: output.EnvOption,
    allow_prod: Annotated[
        bool,
        typer.Option(
            "--allow-prod",
            help="Allow destroying a prod environment (its name must still be typed).",
        ),
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", "-y", help="Destroy without asking (not enough for a prod environment)."
        ),
    ] = False,
    project_dir: output.ProjectDirOption = None,
) -> None:
    """Destroy every resource of the environment's stack (the stack and its history stay).

    Protected resources are listed up front and nothing is touched. A prod environment is
    refused unless --allow-prod, and then needs its name typed at a terminal.
    """
    from osp.cli import progress
    from osp.platform.automation import operations
    from osp.platform.project import find_project
    from osp.platform.spec import load_environment
    from osp.stacks.estate import build

    with progress.reporter(as_json=False) as display:
        project = find_project(project_dir)
        spec = load_environment(project, env)
        output.spec_warnings(project, spec)
        outcome = operations.destroy(
            project,
            spec,
            build,
            display,
            yes=yes,
            allow_prod=allow_prod,
            interactive=progress.interactive(),
        )
        display.result(outcome)
