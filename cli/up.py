"""`osp up`: deploy an environment through the Pulumi engine."""

from __future__ import annotations

from typing import Annotated

import typer

from osp.cli import output


def up(
    env: output.EnvOption,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Deploy without asking (needed without a terminal, e.g. in CI).",
        ),
    ] = False,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            "-t",
            help="Update only this resource (its URN, as `osp preview --json` lists them); "
            "repeatable.",
            metavar="URN",
            show_default=False,
        ),
    ] = None,
    refresh: Annotated[
        bool,
        typer.Option("--refresh", help="Refresh the state from the cloud before the preview."),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="One JSON event per line on stdout instead of a display."),
    ] = False,
    skip_api_check: Annotated[
        bool,
        typer.Option(
            "--skip-api-check",
            help="Do not first check that this machine can reach the cluster's Kubernetes API "
            "(osp:cluster.api_access, api_allowed_cidrs); for when you know it can.",
        ),
    ] = False,
    project_dir: output.ProjectDirOption = None,
) -> None:
    """Preview, show what changes, confirm, and update the environment's stack.

    Before anything is touched, checks that this machine can reach the cluster's API (the
    same run installs the Kubernetes half through it) and refuses, saying what to change, when
    it cannot. Replacements and deletions of stateful resources are shown in red.
    Confirmation is y/N, and typing the environment's name for a prod environment; without a
    terminal --yes is required. Ctrl-C stops gracefully (once) or at once (twice).
    """
    from osp.cli import progress
    from osp.platform.automation import operations
    from osp.platform.project import find_project
    from osp.platform.spec import load_environment
    from osp.stacks.estate import build

    with progress.reporter(as_json=as_json) as display:
        project = find_project(project_dir)
        spec = load_environment(project, env)
        output.spec_warnings(project, spec)
        outcome = operations.up(
            project,
            spec,
            build,
            display,
            yes=yes,
            interactive=progress.interactive(),
            targets=target or (),
            refresh=refresh,
            check_api=not skip_api_check,
        )
        display.result(outcome)
