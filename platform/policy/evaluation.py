"""Running the rules over a plan: every verdict, the waivers applied, and the summary.

report = evaluate(plan, RULES, context_of(spec), spec.policy.waivers, today=date.today())
report.failing(Severity.HIGH)     # what fails at or above high, waivers applied
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase

from osp.platform.errors import SpecError
from osp.platform.plan import Plan, PlannedResource
from osp.platform.policy.model import Check, Context, Evidence, Outcome, Rule, Scope, Severity
from osp.platform.spec import EnvironmentSpec
from osp.platform.spec.models import WaiverSpec


@dataclass(frozen=True)
class Finding:
    """A rule's verdict on one resource, waivers applied."""

    rule: Rule
    resource: PlannedResource
    outcome: Outcome
    evidence: tuple[Evidence, ...]
    detail: str
    waiver: WaiverSpec | None = None
    """The waiver that accepts it (WAIVED), or the expired one that no longer does (FAILED)."""

    @property
    def waiver_expired(self) -> bool:
        return self.waiver is not None and self.outcome is Outcome.FAILED


@dataclass(frozen=True)
class WaiverUse:
    """A waiver of the stack file and what it did in this check."""

    waiver: WaiverSpec
    index: int
    """Its position in `osp:policy.waivers`."""
    matched: int
    """Failures it accepted (or, expired, would have)."""
    expired: bool


@dataclass(frozen=True)
class Report:
    environment: str
    rules: tuple[Rule, ...]
    findings: tuple[Finding, ...]
    waivers: tuple[WaiverUse, ...]
    checked_on: date

    def failing(self, at_least: Severity = Severity.LOW) -> list[Finding]:
        """Failures (waivers applied) of rules at least as severe as `at_least`."""
        return [
            f
            for f in self.findings
            if f.outcome is Outcome.FAILED and f.rule.severity.rank >= at_least.rank
        ]

    def not_applicable(self) -> list[Rule]:
        """Rules that found nothing of theirs in the plan."""
        seen = {f.rule.id for f in self.findings}
        return [r for r in self.rules if r.id not in seen]

    def summary(self) -> dict[Severity, dict[str, int]]:
        """Per severity: resources passed, failed and waived, and rules not applicable."""
        counts: dict[Severity, Counter[str]] = {s: Counter() for s in Severity}
        for finding in self.findings:
            counts[finding.rule.severity][finding.outcome.value] += 1
        for rule in self.not_applicable():
            counts[rule.severity]["not-applicable"] += 1
        keys = ("passed", "failed", "waived", "not-applicable")
        return {s: {k: counts[s][k] for k in keys} for s in Severity}


def context_of(spec: EnvironmentSpec, tenant_plans: dict[str, Plan] | None = None) -> Context:
    """The facts rules may use about `spec`'s environment."""
    from osp.platform.naming import REQUIRED_TAG_KEYS
    from osp.platform.spec import Profile

    return Context(
        environment=spec.name,
        production=spec.profile is Profile.PROD,
        min_log_retention_days=spec.policy.min_log_retention_days,
        required_tags=REQUIRED_TAG_KEYS,
        tenant_plans=dict(tenant_plans or {}),
    )


def check_waivers(waivers: Sequence[WaiverSpec], rules: Iterable[Rule], source: str) -> None:
    """SpecError naming each waiver of `source` whose rule does not exist."""
    known = {rule.id for rule in rules}
    problems = [
        f"{source}: osp:policy.waivers[{i}].rule: got {w.rule!r}; expected one of the rules "
        "`osp policy list` gives"
        for i, w in enumerate(waivers)
        if w.rule not in known
    ]
    if problems:
        raise SpecError(source, problems)


def evaluate(
    plan: Plan,
    rules: Sequence[Rule],
    context: Context,
    waivers: Sequence[WaiverSpec] = (),
    *,
    today: date,
) -> Report:
    """Every rule over every custom resource it applies to, then the waivers: a failure a
    waiver matches (its rule, and its resource name or pattern) is WAIVED until the waiver's
    `expires` day has passed, and FAILED, naming the expired waiver, after."""
    scope = Scope(plan, context)
    matched: Counter[int] = Counter()
    findings: list[Finding] = []
    for rule in rules:
        for resource in plan.resources:
            if not rule.applies_to(resource):
                continue
            verdict: Check | None = rule.check(resource, scope)
            if verdict is None:
                continue
            outcome = Outcome.PASSED if verdict.passed else Outcome.FAILED
            waiver = None
            if not verdict.passed:
                for index, candidate in enumerate(waivers):
                    if candidate.rule == rule.id and fnmatchcase(resource.name, candidate.resource):
                        matched[index] += 1
                        waiver = candidate
                        if today <= candidate.expires:
                            outcome = Outcome.WAIVED
                        break
            findings.append(
                Finding(rule, resource, outcome, verdict.evidence, verdict.detail, waiver)
            )
    uses = tuple(
        WaiverUse(w, i, matched[i], expired=today > w.expires) for i, w in enumerate(waivers)
    )
    return Report(context.environment, tuple(rules), tuple(findings), uses, today)


def combine(reports: Sequence[Report]) -> Report:
    """One report of several plans judged by the same rules and waivers (the environment's
    plan and its tenants'): every finding, each waiver's matches summed."""
    first = reports[0]
    matched: Counter[int] = Counter()
    for report in reports:
        for use in report.waivers:
            matched[use.index] += use.matched
    uses = tuple(WaiverUse(u.waiver, u.index, matched[u.index], u.expired) for u in first.waivers)
    findings = tuple(f for report in reports for f in report.findings)
    return Report(first.environment, first.rules, findings, uses, first.checked_on)
