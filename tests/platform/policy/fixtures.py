"""Small synthetic plans for the rules: one factory for resources, one for the scope.

bucket = resource(BUCKET, {"bucket": "b"}, name="b")
verdict("OSP-S3-1", bucket, resource(ENCRYPTION, {...}, refs={"bucket": bucket}))
"""

from __future__ import annotations

from typing import Any

from osp.platform.naming import REQUIRED_TAG_KEYS
from osp.platform.plan import Plan, PlannedResource, ResourceOptions
from osp.platform.policy import RULES, Check, Context, Scope

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TAGS = {
    "osp:environment": "prod",
    "osp:component": "test",
    "osp:blueprint": "osp",
    "osp:managed-by": "osp",
}
_counter = iter(range(1_000_000))


def resource(
    type_token: str,
    inputs: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    protect: bool = False,
    refs: dict[str, PlannedResource | list[PlannedResource]] | None = None,
    custom: bool = True,
) -> PlannedResource:
    """A planned resource; `refs`: property → the resource(s) that property depends on."""
    name = name or f"r{next(_counter)}"
    dependencies = {
        prop: tuple(r.urn for r in (found if isinstance(found, list) else [found]))
        for prop, found in (refs or {}).items()
    }
    return PlannedResource(
        urn=f"urn:pulumi:prod::osp::{type_token}::{name}",
        type=type_token,
        name=name,
        parent=None,
        custom=custom,
        provider=None,
        dependencies=tuple(u for urns in dependencies.values() for u in urns),
        property_dependencies=dependencies,
        options=ResourceOptions(protect=protect),
        inputs=inputs or {},
    )


def context(
    *, production: bool = True, min_days: int = 90, tenant_plans: dict | None = None
) -> Context:
    return Context(
        environment="prod",
        production=production,
        min_log_retention_days=min_days,
        required_tags=REQUIRED_TAG_KEYS,
        tenant_plans=tenant_plans or {},
    )


def plan(*resources: PlannedResource) -> Plan:
    return Plan("osp", "prod", "prod", "osp", "test", tuple(resources), {})


def rule(rule_id: str):
    return next(r for r in RULES if r.id == rule_id)


def verdict(
    rule_id: str, target: PlannedResource, *others: PlannedResource, **ctx: Any
) -> Check | None:
    """The rule's check of `target` in a plan of `target` and `others`."""
    found = rule(rule_id)
    assert found.applies_to(target), f"{rule_id} does not look at {target.type}"
    return found.check(target, Scope(plan(target, *others), context(**ctx)))
