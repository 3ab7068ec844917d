"""An environment's fleet of tenants at one look: the registry's records, the plans of the
tenant stacks and the isolation proof over those plans.

`osp policy check --tenants` judges the plans, `osp tenant verify` reads the proof, and
`osp report --tenants` shows all three; each gets them from `survey`, so the three agree on
which stacks there are and how each was planned.

    fleet = survey(None, environment="prod", registry=registry, provisioner=provisioner,
                   shareable_arns=isolation.shareable(outputs))
    fleet.plans["springfield"]     # the tenant stack's plan
    fleet.isolation.isolated       # True when no tenant reaches another's resources
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from osp.platform.plan import Plan
from osp.platform.tenancy.model import Tenant
from osp.platform.tenancy.onboarding import IsolationReport, verify_isolation
from osp.platform.tenancy.provisioning import Provisioned, Provisioner
from osp.platform.tenancy.registry import DynamoDbRegistry, TenantRegistry


@dataclass(frozen=True)
class Fleet:
    """What `survey` found."""

    environment: str
    registry: str
    """Where the records were read: the DynamoDB table, or the local registry (offline)."""
    tenants: tuple[Tenant, ...]
    """Every record, deleted tenants included, sorted by slug."""
    plans: Mapping[str, Plan]
    """The plan of each tenant stack (every tenant not deleted), by slug."""
    isolation: IsolationReport
    """The proof from those plans that no tenant reaches another's resources."""


def survey(
    slug: str | None,
    *,
    environment: str,
    registry: TenantRegistry,
    provisioner: Provisioner,
    shareable_arns: Collection[str] | None = None,
) -> Fleet:
    """Plan every tenant stack once, through `provisioner`, and verify isolation over those
    plans (`onboarding.verify_isolation`: with `slug`, only that tenant's findings, and an
    unknown or deleted `slug` is refused before anything is planned)."""
    planned = _Remembered(provisioner)
    isolation = verify_isolation(
        slug,
        environment=environment,
        registry=registry,
        provisioner=planned,
        shareable_arns=shareable_arns,
    )
    return Fleet(
        environment=environment,
        registry=describe(registry),
        tenants=tuple(registry.list()),
        plans=dict(sorted(planned.plans.items())),
        isolation=isolation,
    )


def describe(registry: TenantRegistry) -> str:
    """The registry as a reader of a report knows it. The local registry's folder is left
    out: it is one machine's path, and would make two machines' reports of one fleet differ."""
    if isinstance(registry, DynamoDbRegistry):
        return f"DynamoDB table {registry.table_name}"
    return "the local registry (offline)"


class _Remembered:
    """A `Provisioner` keeping each plan it makes, so that the plans the isolation proof
    read are the very ones the caller gets (a tenant stack is planned once)."""

    def __init__(self, provisioner: Provisioner) -> None:
        self._provisioner = provisioner
        self.plans: dict[str, Plan] = {}

    def plan(self, tenant: Tenant) -> Plan:
        plan = self.plans[tenant.slug] = self._provisioner.plan(tenant)
        return plan

    def apply(self, tenant: Tenant) -> Provisioned:
        return self._provisioner.apply(tenant)

    def outputs(self, tenant: Tenant) -> Mapping[str, Any] | None:
        return self._provisioner.outputs(tenant)

    def destroy(self, tenant: Tenant, *, delete_data: bool) -> None:
        self._provisioner.destroy(tenant, delete_data=delete_data)
