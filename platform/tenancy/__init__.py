"""Tenancy: schools and districts as tenants of the estate.

- `model`: the tenant (`TenantRequest` → `new_tenant` → `transition` …), its lifecycle
  (`TRANSITIONS`), its slug rule (`SLUG`, `RESERVED_SLUGS`), its dict form, its errors.
- `registry`: where tenants are kept (`TenantRegistry`; `FileRegistry` offline,
  `DynamoDbRegistry` for the estate's table) and the table's key names.
- `provisioning`: the seam to a tenant's own stack (`TenantProgram`, `Provisioner`).
- `tiers`: what each tier gives a tenant (`load_tier(tier) -> TierBlueprint`, its `version`),
  from `blueprints/tenants/<tier>.yaml`, and the names osp fixes (prefix, namespace, …).
- `isolation`: the proof from plans (`verify(plans) -> list[Finding]`).

    from osp.platform.tenancy import FileRegistry, TenantRequest, new_tenant
"""

from osp.platform.tenancy.isolation import Finding, verify
from osp.platform.tenancy.model import (
    RESERVED_SLUGS,
    SLUG,
    SLUG_FORMAT,
    TRANSITIONS,
    Difference,
    Failure,
    RolloutOutcome,
    RolloutResult,
    StaleTenantError,
    Tenant,
    TenantConflictError,
    TenantExistsError,
    TenantInputError,
    TenantRegistryError,
    TenantRequest,
    TenantState,
    TenantStateError,
    Tier,
    Transition,
    UnknownTenantError,
    allowed,
    differences,
    from_dict,
    new_tenant,
    record_rollout,
    to_dict,
    transition,
)
from osp.platform.tenancy.registry import DynamoDbRegistry, FileRegistry, TenantRegistry
from osp.platform.tenancy.tiers import TierBlueprint, UnknownTierError, load_tier

__all__ = [
    "RESERVED_SLUGS",
    "SLUG",
    "SLUG_FORMAT",
    "TRANSITIONS",
    "Difference",
    "DynamoDbRegistry",
    "Failure",
    "FileRegistry",
    "Finding",
    "RolloutOutcome",
    "RolloutResult",
    "StaleTenantError",
    "Tenant",
    "TenantConflictError",
    "TenantExistsError",
    "TenantInputError",
    "TenantRegistry",
    "TenantRegistryError",
    "TenantRequest",
    "TenantState",
    "TenantStateError",
    "Tier",
    "TierBlueprint",
    "Transition",
    "UnknownTenantError",
    "UnknownTierError",
    "allowed",
    "differences",
    "from_dict",
    "load_tier",
    "new_tenant",
    "record_rollout",
    "to_dict",
    "transition",
    "verify",
]
