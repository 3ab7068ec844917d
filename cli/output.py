"""Consoles, error messages and options shared by every command.

What every console here guarantees, whichever command prints:

- nothing user-derived is ever interpreted: no emoji codes (`osp:email:EmailDomain` stays
  text), no highlighting; callers escape markup with `escape` (or print with markup=False);
- on a terminal, text wraps at word boundaries to the terminal's width; anywhere else (a file,
  a pipe, a CI log) nothing is wrapped or cut: a line is as long as what it says;
- no line ends in spaces (tables pad their cells; a log or a diff should not carry that);
- colour follows `--color auto|always|never` (`--no-color`, `NO_COLOR`): auto means colour on
  a terminal only.
"""

from __future__ import annotations

import io
import os
import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape as _escape

if TYPE_CHECKING:
    from osp.platform.project import Project
    from osp.platform.spec import EnvironmentSpec

#: Exit codes, as documented in `osp --help` and README.md and docs/cli.md.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
#: The stack is locked by another update (osp.platform.automation.locks).
EXIT_LOCKED = 4
#: Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130

#: How wide a line may be where nothing wraps (files, pipes): wider than any line osp prints,
#: so a table is as wide as its widest cell and a tree as its deepest label.
UNWRAPPED_WIDTH = 100_000

#: The style of "protected": neutral. Red says "delete" in Pulumi's output (and osp's).
PROTECTED_STYLE = "blue"


class ColorMode(StrEnum):
    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


_state = {"color": ColorMode.AUTO}


def set_color(mode: ColorMode) -> None:
    _state["color"] = mode


def set_no_color(value: bool) -> None:
    if value:
        set_color(ColorMode.NEVER)


def escape(text: object) -> str:
    """`text` as literal text inside console markup (brackets escaped)."""
    return _escape(str(text))


def stdout() -> Console:
    return _console(sys.stdout, soft_wrap=False)


def stderr() -> Console:
    return _console(sys.stderr, soft_wrap=True)


def _console(stream: IO[str], *, soft_wrap: bool) -> Console:
    mode = _state["color"]
    terminal = _isatty(stream)
    options: dict = {
        "highlight": False,
        "emoji": False,
        "soft_wrap": soft_wrap,
        "no_color": True
        if mode is ColorMode.NEVER
        else (False if mode is ColorMode.ALWAYS else None),
    }
    forced = mode is ColorMode.ALWAYS or (mode is ColorMode.AUTO and os.environ.get("FORCE_COLOR"))
    if forced and not terminal:
        options["color_system"] = "standard"
    if not terminal:
        options["width"] = UNWRAPPED_WIDTH
        options["soft_wrap"] = True
        # Live displays need a terminal; elsewhere every line goes through the trimmer.
        return Console(file=TrailingSpaceTrimmer(stream), force_terminal=False, **options)
    return Console(file=stream, force_terminal=True, **options)


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


_TRAILING = re.compile(r"[ \t]+((?:\x1b\[[0-9;]*m)*)$")


class TrailingSpaceTrimmer(io.TextIOBase):
    """A text stream that passes text on to `target` without the blanks at the end of each
    line (colour codes after them kept). Blanks at the end of what was written so far are
    held back until the next write says whether more of the line follows."""

    def __init__(self, target: IO[str]) -> None:
        self.target = target
        self.held = ""

    def write(self, text: str) -> int:
        *lines, last = (self.held + text).split("\n")
        blanks = _TRAILING.search(last)
        self.held = last[blanks.start() :] if blanks else ""
        last = last[: blanks.start()] if blanks else last
        self.target.write("".join(_TRAILING.sub(r"\1", line) + "\n" for line in lines) + last)
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.target.fileno()


def error(message: str) -> None:
    """`Error: message` on stderr; on a terminal, wrapped at word boundaries."""
    console = stderr()
    console.print("[bold red]Error:[/] ", end="")
    console.print(message, markup=False, soft_wrap=not console.is_terminal)


def warning(message: str) -> None:
    console = stderr()
    console.print("[yellow]warning:[/] ", end="")
    console.print(message, markup=False, soft_wrap=not console.is_terminal)


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


NO_CACHE_ENV = "OSP_NO_CACHE"
_NO_CACHE_VALUES = {"1": True, "true": True, "yes": True, "on": True}
_NO_CACHE_VALUES |= {"0": False, "false": False, "no": False, "off": False, "": False}

NoCacheOption = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        # Not typer's envvar: its message for a bad value does not show the value.
        help=f"Plan afresh: neither read nor write the cache of offline plans (also "
        f"{NO_CACHE_ENV}=1; docs/cli.md#the-plan-cache).",
    ),
]


def plan_cache(no_cache: bool) -> bool:
    """Whether to use the plan cache: not under --no-cache or OSP_NO_CACHE=1. A value of
    OSP_NO_CACHE that is neither yes nor no is a usage error naming it."""
    value = os.environ.get(NO_CACHE_ENV, "")
    if value.strip().lower() not in _NO_CACHE_VALUES:
        error(
            f"{NO_CACHE_ENV}: got {value!r}; expected 1, true, yes or on (plan afresh), or "
            "0, false, no, off or nothing (use the cache)"
        )
        raise typer.Exit(EXIT_USAGE)
    return not (no_cache or _NO_CACHE_VALUES[value.strip().lower()])


def write_atomically(path: Path, content: str | bytes) -> None:
    """Write `content` (text is written as UTF-8) to `path` so that a reader never sees half
    of it (missing parent folders are created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(content, str):
            temporary.write_text(content, encoding="utf-8")
        else:
            temporary.write_bytes(content)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


#: `--out -`: the plan JSON goes to stdout.
STDOUT = "-"


_PULUMI_FILE = re.compile(r"Pulumi(\.[^/]+)?\.ya?ml")


class OutPathError(Exception):
    """`--out` names a place the plan JSON may not (or cannot) be written."""


def check_out_path(out: Path, project_root: Path, stacks_dir: Path) -> Path:
    """Where `--out` writes, resolved (symlinks and `..` followed), checked before anything
    is planned: never a file osp reads — the project's Pulumi.yaml and stack files, the
    blueprints (bundled and the project's own: catalogues, presets, tier files) — nor
    anything in the osp home (state, passphrase, tenant registry); never a folder; and the
    nearest existing folder must be writable (missing folders under it are created)."""
    from importlib.resources import files

    from osp.platform import home

    target = out.expanduser().absolute().resolve()
    shown = f"--out {str(out)!r}"
    # By name anywhere (a plan is never a Pulumi.<x>.yaml, and one that does not exist yet
    # would become an environment), and by what each of the project's resolves to (a stack
    # file may be a link to elsewhere).
    folders = {project_root.resolve(), stacks_dir.resolve()}
    read_files = {p.resolve() for folder in folders for p in folder.glob("Pulumi.*")}
    if _PULUMI_FILE.fullmatch(target.name) or target in read_files:
        raise OutPathError(
            f"{shown}: {target} is a Pulumi project or stack file, which osp reads; write the "
            "plan elsewhere, such as plan.json"
        )
    read_folders = {
        "the bundled blueprints": Path(str(files("osp.blueprints"))).resolve(),
        "the project's blueprints": (project_root / "blueprints").resolve(),
        f"the osp home ({home.HOME_ENV})": home.home().expanduser().absolute().resolve(),
    }
    for what, folder in read_folders.items():
        if target == folder or folder in target.parents:
            raise OutPathError(
                f"{shown}: {target} is inside {what} ({folder}), which osp reads; write the "
                "plan elsewhere"
            )
    if target.is_dir():
        raise OutPathError(
            f"{shown}: {target} is a folder; name a file, such as {target}/plan.json"
        )
    existing = next(p for p in target.parents if p.exists())
    if not existing.is_dir():
        raise OutPathError(f"{shown}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutPathError(f"{shown}: cannot write in {existing} (permission denied)")
    if target.exists() and not os.access(target, os.W_OK):
        raise OutPathError(f"{shown}: {target} is not writable")
    return target
