"""`osp`: composes the commands; each lives in a module named after its noun or verb."""

from __future__ import annotations

from typing import Annotated

import typer

from osp.cli import envs, output, preview

HELP = """\
osp provisions the AWS estate of the online-school platform and deploys its bundled
education services, on Pulumi.

Start with `osp envs`, then `osp preview --env prod --offline` (no AWS account or Pulumi
CLI needed).

Exit codes: 0 success; 1 error (bad input, failed run); 2 usage (unknown option, missing
argument).
"""

app = typer.Typer(
    name="osp",
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


def main() -> None:
    app()
