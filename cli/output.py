"""Consoles, error messages and options shared by every command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from osp.platform.project import Project
    from osp.platform.spec import EnvironmentSpec

#: Exit codes, as documented in `osp --help` and README.md.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
#: The stack is locked by another update (osp.platform.automation.locks).
EXIT_LOCKED = 4
#: Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130

_state = {"no_color": False}


def set_no_color(value: bool) -> None:
    _state["no_color"] = value


def stdout() -> Console:
    return Console(no_color=_state["no_color"] or None, highlight=False, soft_wrap=False)


def stderr() -> Console:
    return Console(
        stderr=True, no_color=_state["no_color"] or None, highlight=False, soft_wrap=True
    )


def error(message: str) -> None:
    console = stderr()
    console.print("[bold red]Error:[/] ", end="")
    console.print(message, markup=False)


def spec_warnings(project: Project, spec: EnvironmentSpec) -> None:
    """Print on stderr what the environment's files say that is accepted but probably a
    mistake (osp.platform.spec.spec_warnings); each command calls this once it has the spec."""
    from osp.platform.spec import spec_warnings as found

    console = stderr()
    for warning in found(project, spec):
        console.print("[yellow]warning:[/] ", end="")
        console.print(warning.render(), markup=False)


ProjectDirOption = Annotated[
    Path | None,
    typer.Option(
        "--project-dir",
        # Not typer's envvar: osp.platform.project reads OSP_PROJECT_DIR itself, so that an
        # error names the variable the user set rather than this option.
        help="The osp project (the folder with Pulumi.yaml). Default: $OSP_PROJECT_DIR, else "
        "the nearest one at or above the current directory.",
        show_default=False,
    ),
]

EnvOption = Annotated[
    str,
    typer.Option(
        "--env",
        "-e",
        help="Environment to act on: the X of stacks/Pulumi.X.yaml (see `osp envs`).",
        show_default=False,
    ),
]


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` so that a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
