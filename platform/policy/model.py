"""What a guardrail is: a rule over one planned resource, and what it found.

A `Rule` is data (id, title, severity, the AWS Foundational Security Best Practices controls
it maps to, rationale, fix) plus one pure function, `check(resource, scope)`, which returns a
`Check` (passed or not, with the evidence it looked at) or None when the rule does not apply
to that resource. The same functions run over an offline plan, a real preview's plan
(`osp policy check`) and the resources a Pulumi CrossGuard pack is given (policy/).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from osp.platform.plan import Plan, PlannedResource


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """4 for critical down to 1 for low: `a.rank >= b.rank` is "at least as severe"."""
        return {"critical": 4, "high": 3, "medium": 2, "low": 1}[self.value]


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WAIVED = "waived"
    """Failed, and a valid waiver accepts it."""


@dataclass(frozen=True)
class Evidence:
    """One value a check looked at: where (a property path in the resource's inputs, such as
    `multiAz` or `spec.template.spec.containers[0].securityContext.runAsNonRoot`) and what."""

    path: str
    value: Any

    def __str__(self) -> str:
        return f"{self.path} = {_shown(self.value)}"


def _shown(value: Any) -> str:
    import json

    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


@dataclass(frozen=True)
class Check:
    """A rule's verdict on one resource."""

    passed: bool
    evidence: tuple[Evidence, ...] = ()
    detail: str = ""
    """What is wrong, in a phrase (failures), or what was seen (passes)."""

    @classmethod
    def of(cls, passed: bool, detail: str = "", **evidence: Any) -> Check:
        """`Check.of(ok, "Multi-AZ is off", multiAz=False)`: evidence by property path."""
        return cls(passed, tuple(Evidence(p, v) for p, v in evidence.items()), detail)


@dataclass(frozen=True)
class Context:
    """What a rule may know beyond the resource: the environment's facts."""

    environment: str
    production: bool
    """A prod-profile environment: the data-store durability rules apply."""
    min_log_retention_days: int
    required_tags: Sequence[str]
    tenant_plans: Mapping[str, Plan] = field(default_factory=dict)
    """Tenant stacks' plans by slug, when given (`--tenants`): the isolation rules use them."""


@dataclass(frozen=True)
class Scope:
    """What a check sees besides its resource: the whole plan and the environment."""

    plan: Plan
    context: Context

    def parent_chain(self, resource: PlannedResource) -> list[PlannedResource]:
        """`resource`'s ancestors, nearest first."""
        chain, urn = [], resource.parent
        while urn is not None:
            try:
                parent = self.plan.get(urn)
            except KeyError:
                break
            chain.append(parent)
            urn = parent.parent
        return chain


CheckFunction = Callable[[PlannedResource, Scope], Check | None]


@dataclass(frozen=True)
class Rule:
    """One guardrail."""

    id: str
    """`OSP-<AREA>-<n>`, stable: waivers and CI annotations name it."""
    title: str
    severity: Severity
    controls: tuple[str, ...]
    """AWS Foundational Security Best Practices controls (`RDS.5`), or CIS/NSA-CISA
    Kubernetes hardening references for in-cluster rules."""
    rationale: str
    fix: str
    types: tuple[str, ...]
    """The resource type tokens it looks at (empty: every custom resource)."""
    check: CheckFunction = field(compare=False, repr=False)

    def applies_to(self, resource: PlannedResource) -> bool:
        return resource.custom and (not self.types or resource.type in self.types)
