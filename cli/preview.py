"""`osp preview`: what an environment's program declares, and what a real run would change."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from osp.cli import output

if TYPE_CHECKING:
    from osp.cli import progress
    from osp.platform.automation.changes import ChangeSet
    from osp.platform.plan import Plan
    from osp.platform.project import Project
    from osp.platform.spec import EnvironmentSpec

#: `--expect-no-changes`: the preview found changes (0 none, 1 an error, as everywhere).
CHANGES_FOUND = 2


class Format(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"


EnvsOption = Annotated[
    list[str],
    typer.Option(
        "--env",
        "-e",
        metavar="<str>",  # as one --env reads elsewhere, not <list[str]>
        help="Environment to act on: the X of stacks/Pulumi.X.yaml (see `osp envs`). Repeat it "
        "to plan several environments offline in one run, paying the imports once: --json "
        "then prints one plan per line and --out names a folder that gets <env>.json each.",
        show_default=False,
    ),
]


def preview(
    envs: EnvsOption,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Plan with the offline engine: Pulumi mocks, in-process; no Pulumi CLI, no AWS "
            "credentials, nothing created.",
        ),
    ] = False,
    blueprint: Annotated[
        str | None,
        typer.Option(
            "--blueprint",
            help="Preview another bundled blueprint (e.g. learning-hub) for this one run. "
            "Offline only: a real run takes the blueprint from the stack config alone.",
            show_default=False,
        ),
    ] = None,
    diff: Annotated[
        bool,
        typer.Option(
            "--diff",
            help="Show each changed property (old → new) under its resource. Needs the Pulumi "
            "engine (not --offline): offline there is no deployed state to compare with.",
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the plan JSON (schema version 1) on stdout, only it."),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Also write the plan JSON to this file (atomically; missing parent folders are "
            "created). `--out -` writes it to stdout instead of the display. Checked before "
            "anything is planned: never a file osp reads (Pulumi.yaml, stack files, "
            "blueprints) nor anything in the osp home.",
            show_default=False,
        ),
    ] = None,
    against: Annotated[
        Path | None,
        typer.Option(
            "--against",
            help="Offline only: compare the plan with this saved plan JSON (the base branch's, "
            "from `osp preview --offline --out FILE`) and show what changes: created, updated, "
            "replaced, deleted resources and their changed properties. With --json, the diff "
            "as data.",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        Format,
        typer.Option(
            "--format",
            "-f",
            help="text, or markdown: the pull-request review comment (verdict, counts, "
            "call-outs, changed resources by component, guardrails). Needs changes: a real "
            "preview, or --offline --against FILE.",
        ),
    ] = Format.TEXT,
    expect_no_changes: Annotated[
        bool,
        typer.Option(
            "--expect-no-changes",
            help=f"Exit {CHANGES_FOUND} when the preview finds changes (0 when it finds none, "
            "1 on an error). A real preview, or --offline --against FILE.",
        ),
    ] = False,
    project_dir: output.ProjectDirOption = None,
    no_cache: output.NoCacheOption = False,
) -> None:
    """Show the plan of an environment.

    Without --offline: a real preview through the Pulumi engine (needs the pulumi CLI and AWS
    credentials) — the changes `osp up` would make, counted by operation. With --offline: the
    offline engine's plan — components, resources, counts by type; on a terminal, progress on
    stderr while it plans. With --offline --against FILE: what changes from the saved plan.
    Several --env (offline only): each environment's plan in turn.
    """
    started = time.monotonic()
    if len(envs) > 1:
        if against is not None or fmt is Format.MARKDOWN or expect_no_changes:
            output.error(
                f"--env {' --env '.join(envs)}: --against, --format markdown and "
                "--expect-no-changes compare one environment's plan; give one --env"
            )
            raise typer.Exit(output.EXIT_USAGE)
        _preview_several(envs, offline, blueprint, diff, as_json, out, project_dir, no_cache)
        return
    (env,) = envs
    _check_review_options(
        offline=offline, against=against, fmt=fmt, as_json=as_json, out=out,
        expect_no_changes=expect_no_changes,
    )  # fmt: skip
    if diff and offline and against is None:
        output.error("--diff needs the Pulumi engine: leave out --offline")
        raise typer.Exit(output.EXIT_USAGE)
    if blueprint is not None and not offline:
        output.error(
            f"--blueprint {blueprint}: only with --offline; a real run deploys the blueprint "
            f"named by osp:blueprint in the stack file"
        )
        raise typer.Exit(output.EXIT_USAGE)
    to_stdout = out is not None and str(out) == output.STDOUT
    as_json = as_json or to_stdout

    from osp.cli import progress
    from osp.platform.project import find_project
    from osp.platform.spec import load_environment

    # Everything that can refuse runs before the progress display starts, so that a message
    # (an error, a spec warning) is never drawn under a live line.
    project = find_project(project_dir)
    spec = load_environment(project, env, blueprint=blueprint if offline else None)
    output.spec_warnings(project, spec)
    destination = None
    if out is not None and not to_stdout:
        try:
            destination = output.check_out_path(out, project.root, project.stacks_dir)
        except output.OutPathError as exc:
            output.error(str(exc))
            raise typer.Exit(output.EXIT_USAGE) from None
    base = _saved_plan(against, spec.name)
    quiet = as_json or fmt is Format.MARKDOWN
    from osp.platform.errors import OspError

    try:
        if offline:
            with progress.planning(spec.name, as_json=quiet) as planning:
                plan, changes = (
                    _offline_plan(spec, planning, cache=output.plan_cache(no_cache)),
                    None,
                )
        else:
            plan, changes = _real_preview(project, spec)
    except OspError as exc:
        if fmt is Format.MARKDOWN:
            _error_comment(project, spec.name, exc, started, offline=offline, against=against)
        raise
    if base is not None:
        from osp.platform.diff import diff as compare

        changes = compare(base, plan)
    text = plan.dumps()
    if destination is not None:
        try:
            output.write_atomically(destination, text)
        except OSError as exc:
            output.error(f"--out: cannot write {str(out)!r}: {exc.strerror}")
            raise typer.Exit(output.EXIT_ERROR) from None
    for warning in plan.warnings:
        output.warning(warning)
    if fmt is Format.MARKDOWN and changes is not None:
        _comment(project, spec, plan, changes, started, offline=offline, against=against)
    elif as_json and base is not None and changes is not None:
        import json

        from osp.platform.review import Review

        data = Review(spec.name, changes).to_json()
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    elif as_json:
        typer.echo(text, nl=False)
    else:
        _render_text(plan, spec, changes, diff=diff, offline=offline, out=out, written=destination)
    if expect_no_changes and changes is not None and changes.has_changes:
        raise typer.Exit(CHANGES_FOUND)


def _render_text(plan, spec, changes, *, diff: bool, offline: bool, out, written) -> None:
    from osp.cli.render import render_changes, render_plan

    console = output.stdout()
    if changes is None:
        render_plan(console, plan, spec)
    else:
        from osp.cli.render import render_callouts
        from osp.platform.callouts import callouts

        render_changes(console, changes, spec.name, diff=diff)
        render_callouts(console, callouts(changes))
    if written is not None:
        console.print(f"Plan JSON written to {output.escape(out)}", soft_wrap=True)
    for line in next_steps(spec.name, offline=offline):
        console.print(line, soft_wrap=True)


def _check_review_options(
    *, offline: bool, against, fmt: Format, as_json: bool, out, expect_no_changes: bool
) -> None:
    """Refuse, before anything is read, the combinations of the review options that cannot
    work (usage, exit 2)."""
    problem = None
    if against is not None and not offline:
        problem = (
            f"--against {against}: only with --offline; a real preview compares with the "
            "deployed stack itself"
        )
    elif offline and against is None and fmt is Format.MARKDOWN:
        problem = (
            "--format markdown shows changes: add --against FILE (a saved plan) to --offline, "
            "or leave out --offline for a real preview"
        )
    elif offline and against is None and expect_no_changes:
        problem = (
            "--expect-no-changes needs changes to look at: add --against FILE (a saved plan) "
            "to --offline, or leave out --offline for a real preview"
        )
    elif fmt is Format.MARKDOWN and (as_json or (out is not None and str(out) == output.STDOUT)):
        problem = "--format markdown and --json (or --out -): give one of them"
    elif against is not None and out is not None and str(out) == output.STDOUT:
        problem = "--out - with --against: stdout holds the diff; give --out FILE"
    if problem is not None:
        output.error(problem)
        raise typer.Exit(output.EXIT_USAGE)


def _saved_plan(against: Path | None, environment: str) -> Plan | None:
    if against is None:
        return None
    from osp.platform.diff import read_plan

    return read_plan(against, environment=environment)


def _footer(project: Project, started: float, *, offline: bool, against: Path | None):
    from importlib.metadata import version

    from osp.platform.review import Footer, current_commit

    source = f"offline plan compared with {against.name}" if offline and against else "real preview"
    return Footer(
        commit=current_commit(project.root),
        version=version("osp"),
        seconds=time.monotonic() - started,
        source=source,
    )


def _comment(project, spec, plan, changes, started: float, *, offline: bool, against) -> None:
    """The review comment of the preview on stdout."""
    from datetime import date

    from osp.platform.review import review, to_markdown

    judged = review(
        spec,
        plan,
        changes,
        source=project.relative(project.stack_file(spec.name)),
        today=date.today(),
    )
    footer = _footer(project, started, offline=offline, against=against)
    typer.echo(to_markdown(judged, footer), nl=False)


def _error_comment(project, environment: str, exc: Exception, started: float, **where) -> None:
    """The review comment of a preview that failed, on stdout (the error itself still goes
    to stderr with its exit code): the workflow posts it like any other."""
    from osp.platform.review import Review, to_markdown

    message = str(exc)
    footer = _footer(project, started, **where)
    typer.echo(to_markdown(Review(environment, None, error=message), footer), nl=False)


def next_steps(environment: str, *, offline: bool) -> list[str]:
    """What to run after a preview, as the pulumi CLI ends its own."""
    env = output.escape(environment)
    if not offline:
        return [f"Preview only: nothing was changed. Next: [bold]osp up --env {env}[/]"]
    return [
        f"Next: [bold]osp policy check --env {env} --offline[/] checks this plan against the "
        "guardrails;",
        f"      [bold]osp preview --env {env} --offline --out plan.json[/] keeps it, to compare "
        "with a later plan (`diff`);",
        f"      [bold]osp preview --env {env}[/] shows what a real run would change (pulumi CLI "
        "and AWS credentials).",
    ]


def _preview_several(
    envs: list[str],
    offline: bool,
    blueprint: str | None,
    diff: bool,
    as_json: bool,
    out: Path | None,
    project_dir: Path | None,
    no_cache: bool,
) -> None:
    """`osp preview --offline` of several environments in one process: every spec is read
    and every --out file checked first, then each environment is planned (the imports are
    paid once), written and shown before the next. --json (or `--out -`): one plan per
    line, compact JSON; `--out DIR`: DIR/<env>.json, each as `--out FILE` writes it."""
    shown = ", ".join(envs)
    if not offline:
        output.error(
            f"--env {shown}: several environments only with --offline; a real preview is of "
            "one stack at a time"
        )
        raise typer.Exit(output.EXIT_USAGE)
    repeated = sorted({e for e in envs if envs.count(e) > 1})
    if repeated:
        output.error(f"--env {', '.join(repeated)}: given twice; expected each environment once")
        raise typer.Exit(output.EXIT_USAGE)
    if diff:
        output.error("--diff needs the Pulumi engine: leave out --offline")
        raise typer.Exit(output.EXIT_USAGE)
    to_stdout = out is not None and str(out) == output.STDOUT
    as_json = as_json or to_stdout
    cache = output.plan_cache(no_cache)

    import json

    from osp.cli import progress
    from osp.platform.project import find_project
    from osp.platform.spec import load_environment

    project = find_project(project_dir)
    specs = [load_environment(project, env, blueprint=blueprint) for env in envs]
    for spec in specs:
        output.spec_warnings(project, spec)
    destinations: dict[str, Path] = {}
    if out is not None and not to_stdout:
        if out.is_file():
            output.error(
                f"--out {str(out)!r}: a file; with several environments --out names a folder, "
                "which gets <env>.json for each"
            )
            raise typer.Exit(output.EXIT_USAGE)
        try:
            destinations = {
                env: output.check_out_path(out / f"{env}.json", project.root, project.stacks_dir)
                for env in envs
            }
        except output.OutPathError as exc:
            output.error(str(exc))
            raise typer.Exit(output.EXIT_USAGE) from None

    from osp.cli.render import render_plan

    console = output.stdout()
    for spec in specs:
        with progress.planning(spec.name, as_json=as_json) as planning:
            plan = _offline_plan(spec, planning, cache=cache)
        destination = destinations.get(spec.name)
        if destination is not None:
            try:
                output.write_atomically(destination, plan.dumps())
            except OSError as exc:
                output.error(f"--out: cannot write {str(destination)!r}: {exc.strerror}")
                raise typer.Exit(output.EXIT_ERROR) from None
        for warning in plan.warnings:
            output.warning(warning)
        if as_json:
            typer.echo(json.dumps(plan.to_json(), ensure_ascii=False, separators=(",", ":")))
        else:
            render_plan(console, plan, spec)
    if destinations and not as_json:
        for env, path in destinations.items():
            console.print(f"Plan JSON of {output.escape(env)} written to {output.escape(path)}")


def _offline_plan(spec: EnvironmentSpec, planning: progress.Planning, *, cache: bool) -> Plan:
    from osp.platform.plan_cache import NamedProgram, offline_plan

    # Named, not imported: a plan from the cache needs neither the program nor the SDK.
    estate = NamedProgram("osp.stacks.estate", "build")
    if planning.visible:
        return offline_plan(
            spec, estate, cache=cache, on_phase=planning.phase, on_register=planning.registered
        )
    return offline_plan(spec, estate, cache=cache)


def _real_preview(project, spec: EnvironmentSpec) -> tuple[Plan, ChangeSet]:
    """A real preview's plan and changes, through the Pulumi engine."""
    from osp.cli import progress
    from osp.platform.automation import operations
    from osp.stacks.estate import build

    # Progress goes to stderr: stdout holds the result (the changes, or the JSON).
    with progress.reporter(as_json=False, console=output.stderr()) as display:
        outcome = operations.preview(project, spec, build, display)
    return outcome.plan, outcome.changes
