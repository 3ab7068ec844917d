"""Tenancy: schools and districts as tenants of the estate.

- `model`: the tenant (`TenantRequest` → `new_tenant` → `transition` …), its lifecycle
  (`TRANSITIONS`), its slug rule (`SLUG`, `RESERVED_SLUGS`), its dict form, its errors.
- `registry`: where tenants are kept (`TenantRegistry`; `FileRegistry` offline,
  `DynamoDbRegistry` for the estate's table) and the table's key names.
- `rollout`: bringing every tenant stack to its tier's current blueprint (`rollout` →
  `RolloutReport`), N at a time, in deterministic shards (`parse_shard`, `Shard`).
- `onboarding`: what every `osp tenant` command does (`create`, `suspend`, `resume`,
  `delete`, `show`, `list_tenants`) over a registry and a `Provisioner`.
- `provisioning`: the seam to the tenant stacks; `offline_provisioner.OfflineProvisioner`
  runs them under the offline engine (not imported here: it loads the Pulumi runtime).
- `actor`: who is acting (the AWS caller identity; `user@host` offline).
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
from osp.platform.tenancy.onboarding import (
    CreateOutcome,
    CreateResult,
    NotSuspendedError,
    TenantProvisioningError,
    TenantStackError,
    create,
    deletable,
    delete,
    list_tenants,
    resume,
    show,
    suspend,
    tenant_urls,
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
from osp.platform.tenancy.tiers import TierBlueprint, UnknownTierError, load_tier

__all__ = [
    "RESERVED_SLUGS",
    "ROLLOUT_STATES",
    "SLUG",
    "SLUG_FORMAT",
    "TRANSITIONS",
    "CreateOutcome",
    "CreateResult",
    "Difference",
    "DynamoDbRegistry",
    "Failure",
    "FileRegistry",
    "Finding",
    "NotSuspendedError",
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
    "TenantProvisioningError",
    "TenantRegistry",
    "TenantRegistryError",
    "TenantRequest",
    "TenantStackError",
    "TenantState",
    "TenantStateError",
    "Tier",
    "TierBlueprint",
    "Transition",
    "UnknownTenantError",
    "UnknownTierError",
    "allowed",
    "create",
    "deletable",
    "delete",
    "differences",
    "from_dict",
    "list_tenants",
    "load_tier",
    "new_tenant",
    "parse_shard",
    "record_rollout",
    "resume",
    "rollout",
    "shard_of",
    "show",
    "suspend",
    "tenant_urls",
    "to_dict",
    "transition",
    "verify",
]
