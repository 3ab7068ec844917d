"""osp.platform.tenancy.fleet: one survey of an environment's tenants plans each tenant stack
once, and the plans it returns are the ones the isolation proof read."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from osp.platform.plan import Plan
from osp.platform.tenancy import (
    DynamoDbRegistry,
    FileRegistry,
    TenantRequest,
    TenantState,
    UnknownTenantError,
    new_tenant,
    transition,
)
from osp.platform.tenancy.fleet import describe, survey

NOW = datetime(2026, 5, 9, tzinfo=UTC)


class CountingProvisioner:
    """Plans an empty stack per tenant, counting the plans made."""

    def __init__(self) -> None:
        self.planned: list[str] = []

    def plan(self, tenant) -> Plan:
        self.planned.append(tenant.slug)
        return Plan("osp", "dev", f"dev.tenant-{tenant.slug}", "osp", "offline", (), {})


def enrol(registry: FileRegistry, slug: str, *states: TenantState) -> None:
    tenant = new_tenant(
        TenantRequest(slug, slug.title(), "pool", f"it@{slug}.example.org"), actor="al", now=NOW
    )
    registry.create(tenant)
    for state in states:
        moved = transition(tenant, state, actor="al", reason="test", now=NOW)
        registry.update(moved, expected_version=tenant.version)
        tenant = moved


@pytest.fixture
def registry(tmp_path) -> FileRegistry:
    registry = FileRegistry(tmp_path / "tenants")
    enrol(registry, "springfield", TenantState.ACTIVE)
    enrol(registry, "shelbyville", TenantState.ACTIVE, TenantState.SUSPENDED)
    enrol(registry, "ogdenville", TenantState.ACTIVE, TenantState.OFFBOARDING, TenantState.DELETED)
    return registry


def test_each_stack_is_planned_once_and_the_plans_are_the_proofs(registry):
    provisioner = CountingProvisioner()
    fleet = survey(None, environment="dev", registry=registry, provisioner=provisioner)
    assert sorted(provisioner.planned) == ["shelbyville", "springfield"]  # once each
    assert list(fleet.plans) == ["shelbyville", "springfield"]  # deleted: no stack
    assert [p.stack for p in fleet.plans.values()] == [
        "dev.tenant-shelbyville",
        "dev.tenant-springfield",
    ]
    assert [t.slug for t in fleet.tenants] == ["ogdenville", "shelbyville", "springfield"]
    assert fleet.isolation.tenants == ("shelbyville", "springfield")
    assert fleet.isolation.isolated
    assert (fleet.environment, fleet.registry) == ("dev", "the local registry (offline)")


def test_an_unknown_slug_is_refused_before_anything_is_planned(registry):
    provisioner = CountingProvisioner()
    with pytest.raises(UnknownTenantError, match="tenant registry of dev"):
        survey("lisbon", environment="dev", registry=registry, provisioner=provisioner)
    assert provisioner.planned == []


def test_the_registry_is_described_without_a_machines_path(tmp_path):
    assert describe(FileRegistry(tmp_path)) == "the local registry (offline)"
    assert str(tmp_path) not in describe(FileRegistry(tmp_path))
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )  # never called: describing reads only the table's name
    assert describe(DynamoDbRegistry("osp-prod-tenants", client)) == (
        "DynamoDB table osp-prod-tenants"
    )
