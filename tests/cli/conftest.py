"""Fixtures the CLI tests share: registered tenants in the local registry of dev."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from osp.platform.tenancy import (
    FileRegistry,
    Tenant,
    TenantRegistry,
    TenantRequest,
    TenantState,
    new_tenant,
    transition,
)

#: When the fixtures' tenants were registered (their history is part of their record).
REGISTERED = datetime(2026, 5, 9, tzinfo=UTC)


def register(registry: TenantRegistry, slug: str, tier: str, *states: TenantState) -> Tenant:
    """Register `slug` of `tier` in `registry` and move it through `states`, in order, as the
    lifecycle allows (osp.platform.tenancy.TRANSITIONS); the tenant as last recorded."""
    request = TenantRequest(slug, slug.replace("-", " ").title(), tier, f"it@{slug}.example.org")
    tenant = new_tenant(request, actor="al", now=REGISTERED)
    registry.create(tenant)
    for state in states:
        moved = transition(tenant, state, actor="al", reason=f"to {state.value}", now=REGISTERED)
        registry.update(moved, expected_version=tenant.version)
        tenant = moved
    return tenant


@pytest.fixture
def two_schools(tmp_path, monkeypatch) -> FileRegistry:
    """Two active schools in the local registry of dev, under a temporary OSP_HOME:
    springfield (pool) and shelbyville (silo). Their stacks are planned by the real tenant
    program against dev's offline outputs."""
    from osp.platform.tenancy.registry import default_root

    monkeypatch.setenv("OSP_HOME", str(tmp_path / "home"))
    registry = FileRegistry(default_root("dev"))
    register(registry, "springfield", "pool", TenantState.ACTIVE)
    register(registry, "shelbyville", "silo", TenantState.ACTIVE)
    return registry
