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
            help="Check this environment's region, account, backend, lock and whether its "
            "cluster's Kubernetes API can be reached from here too.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the checks as one JSON object (healthy, summary, checks)."
        ),
    ] = False,
    project_dir: output.ProjectDirOption = None,
) -> None:
    """Check Python, the pulumi and aws CLIs, AWS credentials, region, backend, secrets, lock
    and plugins; with --env, whether the cluster's API answers from here.

    Exits 0 when every check passes, 1 otherwise; each failure comes with its fix, and a last
    line counts them ("2 of 9 checks failed").
    """
    import json

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
    if as_json:
        typer.echo(json.dumps(checks.to_json(results), indent=2, ensure_ascii=False))
        if not checks.healthy(results):
            raise typer.Exit(output.EXIT_ERROR)
        return

    marks = {
        checks.Status.PASS: "[green]✓ pass[/]",
        checks.Status.FAIL: "[bold red]✗ fail[/]",
        checks.Status.SKIP: "[dim]– skip[/]",
    }
    from rich.text import Text

    title = "osp doctor" + (f" --env {env}" if env else "")
    table = Table(title=Text(title), title_justify="left")
    for column in ("check", "status", "detail", "fix"):
        table.add_column(column, overflow="fold")
    for check in results:
        table.add_row(check.name, marks[check.status], Text(check.detail), Text(check.fix))
    console = output.stdout()
    console.print(table)
    healthy = checks.healthy(results)
    style = "green" if healthy else "bold red"
    console.print(f"[{style}]{output.escape(checks.summary(results))}[/]")
    if not healthy:
        raise typer.Exit(output.EXIT_ERROR)
