"""`osp envs`: the environments of the project."""

from __future__ import annotations

import typer

from osp.cli import output


def envs(project_dir: output.ProjectDirOption = None) -> None:
    """List the environments (stacks/Pulumi.<env>.yaml) with their region and profile.

    Exits 1 when a stack file is invalid, after listing the others.
    """
    from rich.table import Table

    from osp.platform.errors import SpecError
    from osp.platform.project import find_project
    from osp.platform.spec import load_environment

    project = find_project(project_dir)
    names = project.environments()
    if not names:
        output.error(
            f"no environments in {project.relative(project.stacks_dir)}: add a "
            "Pulumi.<env>.yaml stack file there"
        )
        raise typer.Exit(output.EXIT_ERROR)

    table = Table(title=f"Environments of {project.name} ({project.root})", title_justify="left")
    for column in ("environment", "profile", "region", "zones", "blueprint", "stack file"):
        table.add_column(column)
    broken: list[str] = []
    for name in names:
        stack_file = project.relative(project.stack_file(name))
        try:
            spec = load_environment(project, name)
        except SpecError as exc:
            broken.append(str(exc))
            table.add_row(name, "[red]invalid[/]", "", "", "", stack_file)
            continue
        table.add_row(
            name, spec.profile.value, spec.region, str(len(spec.zones)), spec.blueprint, stack_file
        )
    output.stdout().print(table)
    for problem in broken:
        output.error(problem)
    if broken:
        raise typer.Exit(output.EXIT_ERROR)
