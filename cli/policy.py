"""`osp policy …`: check an environment's plan against the guardrails, and list them.

The checking is `osp.platform.policy.checking.check`; the formats (JSON, Markdown, SARIF)
are `osp.platform.policy.formats`; this module parses and renders.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from osp.cli import output

if TYPE_CHECKING:
    from osp.platform.plan import Plan
    from osp.platform.policy import Finding, Report, Severity
    from osp.platform.project import Project
    from osp.platform.spec import EnvironmentSpec

app = typer.Typer(
    name="policy",
    help="Check an environment against osp's guardrails (security and durability rules), or "
    "list them.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

#: `osp policy check`'s exit code when a rule fails at or above --fail-on (1 is an error, 2
#: usage, 3 "the check ran and found failures", as `osp tenant verify` uses it).
POLICY_FAILED = 3


class Format(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    SARIF = "sarif"
    JSON = "json"


class FailOn(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@app.command("check")
def check(
    env: output.EnvOption,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Check the offline engine's plan (no AWS, no pulumi CLI). Default: a real "
            "preview's plan.",
        ),
    ] = False,
    blueprint: Annotated[
        str | None,
        typer.Option(
            "--blueprint",
            help="Check another bundled blueprint (e.g. learning-hub) for this one run; "
            "offline only.",
            show_default=False,
        ),
    ] = None,
    fail_on: Annotated[
        FailOn,
        typer.Option(
            "--fail-on",
            help="Exit 3 when a rule of this severity or above fails (waivers applied).",
        ),
    ] = FailOn.HIGH,
    fmt: Annotated[
        Format,
        typer.Option(
            "--format",
            "-f",
            help="text (a summary and each failure), markdown (a page section), sarif (GitHub "
            "code scanning) or json.",
        ),
    ] = Format.TEXT,
    as_json: Annotated[
        bool, typer.Option("--json", help="The same as --format json.", show_default=False)
    ] = False,
    tenants: Annotated[
        bool,
        typer.Option(
            "--tenants",
            help="Also judge every tenant's stack (not deleted), with the tenant isolation "
            "rules: offline, the local registry's tenants planned against this plan; "
            "otherwise the environment's registry and each tenant stack's preview.",
        ),
    ] = False,
    project_dir: output.ProjectDirOption = None,
    no_cache: output.NoCacheOption = False,
) -> None:
    """Plan the environment and judge the plan against every guardrail rule.

    Prints a summary (passed, failed, waived and not applicable, per severity), then each
    failure with its resource, evidence, control and fix, and the stack file's waivers. Exit
    0 when nothing fails at or above --fail-on (default high), 3 otherwise.
    """
    from datetime import date

    from osp.platform.policy import Severity
    from osp.platform.policy.checking import check as run_check
    from osp.platform.project import find_project
    from osp.stacks.estate import build

    if as_json and fmt not in (Format.TEXT, Format.JSON):
        output.error(f"--json and --format {fmt.value}: give one of them")
        raise typer.Exit(output.EXIT_USAGE)
    if blueprint is not None and not offline:
        output.error(
            f"--blueprint {blueprint}: only with --offline; a real run checks the blueprint "
            "named by osp:blueprint in the stack file"
        )
        raise typer.Exit(output.EXIT_USAGE)
    fmt = Format.JSON if as_json else fmt
    threshold = Severity(fail_on.value)
    project = find_project(project_dir)
    fleet = _tenant_plans(project, offline=offline) if tenants else None
    if offline:
        checked = run_check(
            project,
            env,
            program=build,
            offline=True,
            today=date.today(),
            blueprint=blueprint,
            tenant_plans=fleet,
            cache=output.plan_cache(no_cache),
        )
    else:
        from osp.cli import progress

        with progress.reporter(as_json=False, console=output.stderr()) as display:
            checked = run_check(
                project,
                env,
                program=build,
                offline=False,
                today=date.today(),
                reporter=display,
                tenant_plans=fleet,
            )
    output.spec_warnings(project, checked.spec)
    if tenants and fmt is Format.TEXT:
        judged = ", ".join(checked.tenants) or "none registered"
        output.stdout().print(f"Tenant stacks judged too: {judged}", markup=False)
    _render(checked.report, fmt, threshold, source=checked.source, offline=offline)
    if checked.report.failing(threshold):
        raise typer.Exit(POLICY_FAILED)


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="The catalogue as JSON.")] = False,
) -> None:
    """Every guardrail rule: id, severity, the AWS controls it maps to, and its title (with
    --json also its rationale, fix and resource types)."""
    from osp.platform.policy import RULES
    from osp.platform.policy.formats import rule_data

    if as_json:
        typer.echo(json.dumps([rule_data(r) for r in RULES], indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    table = Table(show_edge=False)
    for column in ("id", "severity", "controls", "title"):
        table.add_column(column)
    for rule in RULES:
        table.add_row(rule.id, rule.severity.value, ", ".join(rule.controls), rule.title)
    console = output.stdout()
    console.print(table)
    console.print(
        f"{len(RULES)} rules. `osp policy list --json` adds each rule's rationale and fix."
    )


def _tenant_plans(project: Project, *, offline: bool) -> Callable[..., dict[str, Plan]]:
    """The plans of the environment's tenant stacks, made as `osp tenant verify` and
    `osp report --tenants` make them (`osp.cli.tenant.fleet`)."""

    def plans(spec: EnvironmentSpec, plan: Plan) -> dict[str, Plan]:
        from osp.cli import tenant as tenant_cli

        return dict(tenant_cli.fleet(project, spec, plan, offline=offline).plans)

    return plans


# --- rendering -------------------------------------------------------------------------------


def _render(report: Report, fmt: Format, fail_on: Severity, *, source: str, offline: bool) -> None:
    from osp.platform.policy import formats

    if fmt is Format.JSON:
        typer.echo(json.dumps(formats.to_json(report, fail_on=fail_on), indent=2, default=str))
    elif fmt is Format.SARIF:
        typer.echo(json.dumps(formats.to_sarif(report, source=source), indent=2, default=str))
    elif fmt is Format.MARKDOWN:
        typer.echo(formats.to_markdown(report, fail_on=fail_on), nl=False)
    else:
        _render_text(report, fail_on, offline=offline)


def _render_text(report: Report, fail_on: Severity, *, offline: bool) -> None:
    from rich.table import Table

    console = output.stdout()
    which = "offline plan" if offline else "preview"
    console.print(
        f"[bold]Guardrails of {report.environment}[/] ({which}): {len(report.rules)} rules, "
        f"{len(report.waivers)} waiver{'s' * (len(report.waivers) != 1)}"
    )
    table = Table(show_edge=False)
    for column in ("severity", "passed", "failed", "waived", "not applicable"):
        table.add_column(column, justify="left" if column == "severity" else "right")
    for severity, counts in report.summary().items():
        table.add_row(
            severity.value,
            str(counts["passed"]),
            f"[red]{counts['failed']}[/]" if counts["failed"] else "0",
            str(counts["waived"]),
            str(counts["not-applicable"]),
        )
    console.print(table)
    for finding in report.failing():
        _render_failure(console, finding)
    if report.waivers:
        console.print("Waivers:")
        for use in report.waivers:
            w = use.waiver
            state = "EXPIRED" if use.expired else "active"
            console.print(
                f"  {w.rule} {w.resource}: {w.reason} (approved by {w.approved_by}, until "
                f"{w.expires.isoformat()}; {state}, {use.matched} matched)",
                markup=False,
                soft_wrap=True,
            )
    failing = report.failing(fail_on)
    if failing:
        console.print(
            f"[bold red]{len(failing)} failing at or above {fail_on.value}[/]: exit {POLICY_FAILED}"
        )
    else:
        console.print(f"[green]Passed[/]: nothing fails at or above {fail_on.value}.")


def _render_failure(console, finding: Finding) -> None:
    rule, resource = finding.rule, finding.resource
    from rich.text import Text

    heading = f" {rule.id} [{rule.severity.value}] {rule.title}"
    console.print(Text.assemble(("FAILED", "red"), heading), soft_wrap=True)
    lines = [f"resource: {resource.name} ({resource.type})"]
    if finding.detail:
        lines.append(f"why: {finding.detail}")
    lines += [f"evidence: {e}" for e in finding.evidence]
    if finding.waiver_expired:
        w = finding.waiver
        lines.append(f"waiver expired on {w.expires.isoformat()} ({w.reason})")  # type: ignore[union-attr]
    lines += [f"controls: {', '.join(rule.controls)}", f"fix: {rule.fix}"]
    for line in lines:
        console.print(f"    {line}", markup=False, soft_wrap=True)
