"""`osp`: composes the commands (each lives in a module named after its noun or verb) and
reports their errors, once for all of them."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from typing import Annotated

import typer
from typer.core import TyperGroup

from osp.cli import (
    bootstrap,
    destroy,
    doctor,
    dr,
    envs,
    output,
    outputs,
    policy,
    preview,
    refresh,
    report,
    tenant,
    up,
)

#: The environment variable through which a shell asks osp for completions.
COMPLETE_VAR = "_OSP_COMPLETE"

HELP = """\
osp provisions the AWS estate of the online-school platform and deploys its bundled
education services, on Pulumi.

Start with `osp envs`, then `osp preview --env prod --offline` (no AWS account or Pulumi
CLI needed). Real runs (`osp preview`, `up`, `destroy`, `refresh`, `outputs`) need the pulumi
CLI and AWS credentials: `osp doctor` checks both.

--no-color and --color auto|always|never are accepted anywhere on the command line (before
or after the command), as with the pulumi CLI. Shell completion: `osp completion bash`.

Exit codes: 0 success; 1 error (bad input, failed run); 2 usage (unknown option, missing
argument); 3 a check found failures (`osp policy check`, `osp tenant verify`); 4 stack locked
by another update; 130 interrupted (Ctrl-C).
"""


#: The options of every command, accepted anywhere on the command line (`osp preview
#: --no-color` as well as `osp --no-color preview`): the root parses them, wherever they stand.
_ANYWHERE_FLAGS = frozenset({"--no-color"})
_ANYWHERE_VALUED = frozenset({"--color"})


def hoist_global_options(args: list[str]) -> list[str]:
    """`args` with the options of every command moved to the front (where the root parses
    them); nothing after `--` moves."""
    hoisted: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest.extend(args[index:])
            break
        name = arg.split("=", 1)[0]
        if arg in _ANYWHERE_FLAGS or (name in _ANYWHERE_VALUED and "=" in arg):
            hoisted.append(arg)
        elif arg in _ANYWHERE_VALUED:
            hoisted.extend(args[index : index + 2])
            index += 1
        else:
            rest.append(arg)
        index += 1
    return hoisted + rest


class _Commands(TyperGroup):
    """osp's commands, whose errors are reported here, once for all of them: an `OspError`
    (a problem the user can fix) is `Error: …` on stderr and its exit code, no traceback;
    Ctrl-C outside a running engine (which reports its own interruptions) exits 130.
    Anything else is a bug and keeps its traceback."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(args))

    def invoke(self, ctx: typer.Context):
        from osp.platform.errors import OspError

        try:
            return super().invoke(ctx)
        except OspError as exc:
            output.error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            output.error("interrupted")
            raise typer.Exit(output.EXIT_INTERRUPTED) from None


app = typer.Typer(
    name="osp",
    cls=_Commands,
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"osp {version('osp')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    no_color: Annotated[
        bool,
        typer.Option("--no-color", help="No colour in output (also: NO_COLOR=1); = --color never."),
    ] = False,
    color: Annotated[
        output.ColorMode,
        typer.Option(
            "--color",
            help="Colour: auto (on a terminal only, unless NO_COLOR is set), always, never.",
            case_sensitive=False,
        ),
    ] = output.ColorMode.AUTO,
) -> None:
    output.set_color(color)
    output.set_no_color(no_color)


def version() -> None:
    """Print osp's version (and Python's and the platform's, for bug reports)."""
    import platform as host
    from importlib.metadata import version as installed

    typer.echo(f"osp {installed('osp')}")
    typer.echo(f"python {host.python_version()} ({sys.executable})")
    typer.echo(f"platform {host.platform()}")


class Shell(StrEnum):
    BASH = "bash"
    ZSH = "zsh"
    FISH = "fish"
    POWERSHELL = "powershell"


def completion(
    shell: Annotated[Shell, typer.Argument(help="The shell: bash, zsh, fish or powershell.")],
) -> None:
    """Print the shell completion script for osp.

    bash: `eval "$(osp completion bash)"` in ~/.bashrc; zsh: the same in ~/.zshrc; fish:
    `osp completion fish > ~/.config/fish/completions/osp.fish`.
    """
    from typer._completion_shared import get_completion_script

    script = get_completion_script(prog_name="osp", complete_var=COMPLETE_VAR, shell=shell.value)
    typer.echo(script)


app.command("envs")(envs.envs)
app.command("preview")(preview.preview)
app.command("up")(up.up)
app.command("destroy")(destroy.destroy)
app.command("refresh")(refresh.refresh)
app.command("outputs")(outputs.outputs)
app.command("report")(report.report)
app.command("bootstrap")(bootstrap.bootstrap)
app.command("doctor")(doctor.doctor)
app.command("version")(version)
app.command("completion")(completion)
app.add_typer(tenant.app, name="tenant")
app.add_typer(policy.app, name="policy")
app.add_typer(dr.app, name="dr")


def main() -> None:
    if COMPLETE_VAR in os.environ:  # a shell asks for completions (see `osp completion`)
        from typer._completion_classes import completion_init

        completion_init()
    app(prog_name="osp", complete_var=COMPLETE_VAR)
