"""`osp`: composes the commands (each lives in a module named after its noun or verb) and
reports their errors, once for all of them."""

from __future__ import annotations

from typing import Annotated

import typer
from typer.core import TyperGroup

from osp.cli import (
    bootstrap,
    destroy,
    doctor,
    envs,
    output,
    outputs,
    policy,
    preview,
    refresh,
    tenant,
    up,
)

HELP = """\
osp provisions the AWS estate of the online-school platform and deploys its bundled
education services, on Pulumi.

Start with `osp envs`, then `osp preview --env prod --offline` (no AWS account or Pulumi
CLI needed). Real runs (`osp preview`, `up`, `destroy`, `refresh`, `outputs`) need the pulumi
CLI and AWS credentials: `osp doctor` checks both.

Exit codes: 0 success; 1 error (bad input, failed run); 2 usage (unknown option, missing
argument); 3 a check found failures (`osp policy check`, `osp tenant verify`); 4 stack locked
by another update; 130 interrupted (Ctrl-C).
"""


class _Commands(TyperGroup):
    """osp's commands, whose errors are reported here, once for all of them: an `OspError`
    (a problem the user can fix) is `Error: …` on stderr and its exit code, no traceback;
    Ctrl-C outside a running engine (which reports its own interruptions) exits 130.
    Anything else is a bug and keeps its traceback."""

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
        bool, typer.Option("--no-color", help="No colour in output (also: NO_COLOR=1).")
    ] = False,
) -> None:
    output.set_no_color(no_color)


app.command("envs")(envs.envs)
app.command("preview")(preview.preview)
app.command("up")(up.up)
app.command("destroy")(destroy.destroy)
app.command("refresh")(refresh.refresh)
app.command("outputs")(outputs.outputs)
app.command("bootstrap")(bootstrap.bootstrap)
app.command("doctor")(doctor.doctor)
app.add_typer(tenant.app, name="tenant")
app.add_typer(policy.app, name="policy")


def main() -> None:
    app()
