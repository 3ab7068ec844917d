"""`osp envs`: the environments of the project."""

from __future__ import annotations

import typer

from osp.cli import output


def envs(project_dir: output.ProjectDirOption = None) -> None:
    """List the environments (stacks/Pulumi.<env>.yaml) with their region, profile, and the
    files their blueprint and preset come from (the project's blueprints/ folder first, then
    osp's bundled ones), then any warnings about them.

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
    loaded = []
    for name in names:
        stack_file = project.relative(project.stack_file(name))
        try:
            spec = load_environment(project, name)
        except SpecError as exc:
            broken.append(str(exc))
            table.add_row(name, "[red]invalid[/]", "", "", "", stack_file)
            continue
        loaded.append(spec)
        table.add_row(
            name, spec.profile.value, spec.region, str(len(spec.zones)), spec.blueprint, stack_file
        )
    console = output.stdout()
    console.print(table)
    if loaded:
        sources = Table(title="Where each environment's defaults come from", title_justify="left")
        for column in ("environment", "blueprint file", "preset file"):
            sources.add_column(column, overflow="fold")
        for spec in loaded:
            catalogue = spec.library.catalogue_file(spec.blueprint)
            sources.add_row(
                spec.name,
                catalogue.describe() if catalogue is not None else "",
                spec.library.preset_file(spec.profile.value).describe(),
            )
        console.print(sources)
    for spec in loaded:
        output.spec_warnings(project, spec)
    for problem in broken:
        output.error(problem)
    if broken:
        raise typer.Exit(output.EXIT_ERROR)
