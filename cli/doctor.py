"""`osp doctor`: is this machine ready for real runs?"""

from __future__ import annotations

from typing import Annotated

import typer

from osp.cli import output


def doctor(
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            "-e",
            help="Check this environment's region, account, backend and lock too.",
            show_default=False,
        ),
    ] = None,
    project_dir: output.ProjectDirOption = None,
) -> None:
    """Check Python, the pulumi CLI, AWS credentials, region, backend, lock and plugins.

    Exits 0 when every check passes, 1 otherwise; each failure comes with its fix.
    """
    from rich.table import Table

    from osp.platform import doctor as checks
    from osp.platform.project import find_project
    from osp.platform.spec import load_environment

    project = spec = None
    if env is not None:
        project = find_project(project_dir)
        spec = load_environment(project, env)
        output.spec_warnings(project, spec)
    results = checks.run(project, spec)

    marks = {
        checks.Status.PASS: "[green]✓ pass[/]",
        checks.Status.FAIL: "[bold red]✗ fail[/]",
        checks.Status.SKIP: "[dim]– skip[/]",
    }
    table = Table(title="osp doctor" + (f" --env {env}" if env else ""), title_justify="left")
    for column in ("check", "status", "detail", "fix"):
        table.add_column(column, overflow="fold")
    for check in results:
        table.add_row(check.name, marks[check.status], check.detail, check.fix)
    output.stdout().print(table)
    if not checks.healthy(results):
        raise typer.Exit(output.EXIT_ERROR)
