"""Tenancy: schools and districts as tenants of the estate.

- `model`: the tenant (`TenantRequest` → `new_tenant` → `transition` …), its lifecycle
  (`TRANSITIONS`), its slug rule (`SLUG`, `RESERVED_SLUGS`), its dict form, its errors.
- `registry`: where tenants are kept (`TenantRegistry`; `FileRegistry` offline,
  `DynamoDbRegistry` for the estate's table) and the table's key names.
- `rollout`: bringing every tenant stack to its tier's current blueprint (`rollout` →
  `RolloutReport`), N at a time, in deterministic shards (`parse_shard`, `Shard`).

    from osp.platform.tenancy import FileRegistry, TenantRequest, new_tenant
"""

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
from osp.platform.tenancy.rollout import (
    ROLLOUT_STATES,
    RolloutProblem,
    RolloutReport,
    RolloutUpdate,
    Shard,
    parse_shard,
    rollout,
    shard_of,
)

__all__ = [
    "RESERVED_SLUGS",
    "ROLLOUT_STATES",
    "SLUG",
    "SLUG_FORMAT",
    "TRANSITIONS",
    "Difference",
    "DynamoDbRegistry",
    "Failure",
    "FileRegistry",
    "RolloutOutcome",
    "RolloutProblem",
    "RolloutReport",
    "RolloutResult",
    "RolloutUpdate",
    "Shard",
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
    "Transition",
    "UnknownTenantError",
    "allowed",
    "differences",
    "from_dict",
    "new_tenant",
    "parse_shard",
    "record_rollout",
    "rollout",
    "shard_of",
    "to_dict",
    "transition",
]
