"""`osp envs`: the environments of the project."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from osp.cli import output

if TYPE_CHECKING:
    from osp.platform.spec import EnvironmentSpec


def envs(
    project_dir: output.ProjectDirOption = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the environments as one JSON object on stdout (problems still on stderr).",
        ),
    ] = False,
) -> None:
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

    title = f"Environments of {project.name} ({project.root})"
    table = Table(title=output.escape(title), title_justify="left")
    for column in ("environment", "profile", "region", "zones", "blueprint", "stack file"):
        table.add_column(column)
    broken: list[str] = []
    loaded: list[EnvironmentSpec] = []
    listed: list[dict[str, Any]] = []
    for name in names:
        stack_file = project.relative(project.stack_file(name))
        try:
            spec = load_environment(project, name)
        except SpecError as exc:
            broken.append(str(exc))
            listed.append({"name": name, "valid": False, "stackFile": stack_file})
            table.add_row(
                output.escape(name), "[red]invalid[/]", "", "", "", output.escape(stack_file)
            )
            continue
        loaded.append(spec)
        listed.append(_as_json(spec, stack_file))
        table.add_row(
            output.escape(name),
            spec.profile.value,
            spec.region,
            str(len(spec.zones)),
            spec.blueprint,
            output.escape(stack_file),
        )
    if as_json:
        import json

        body = {"project": project.name, "root": str(project.root), "environments": listed}
        typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        console = output.stdout()
        console.print(table)
        if loaded:
            sources = Table(
                title="Where each environment's defaults come from", title_justify="left"
            )
            for column in ("environment", "blueprint file", "preset file"):
                sources.add_column(column, overflow="fold")
            for spec in loaded:
                catalogue, preset = _sources(spec)
                sources.add_row(
                    output.escape(spec.name), output.escape(catalogue), output.escape(preset)
                )
            console.print(sources)
    for spec in loaded:
        output.spec_warnings(project, spec)
    for problem in broken:
        output.error(problem)
    if broken:
        raise typer.Exit(output.EXIT_ERROR)


def _sources(spec: EnvironmentSpec) -> tuple[str, str]:
    """The files the environment's catalogue and preset come from."""
    catalogue = spec.library.catalogue_file(spec.blueprint)
    return (
        catalogue.describe() if catalogue is not None else "",
        spec.library.preset_file(spec.profile.value).describe(),
    )


def _as_json(spec: EnvironmentSpec, stack_file: str) -> dict[str, Any]:
    catalogue, preset = _sources(spec)
    return {
        "name": spec.name,
        "valid": True,
        "profile": spec.profile.value,
        "region": spec.region,
        "zones": list(spec.zones),
        "blueprint": spec.blueprint,
        "stackFile": stack_file,
        "blueprintFile": catalogue,
        "presetFile": preset,
    }
