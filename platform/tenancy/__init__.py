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

import importlib
from typing import TYPE_CHECKING, Any

# `rollout` names both a submodule and the function the package exports: imported here, as
# before, the package's attribute is the function whoever imports the submodule later.
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

if TYPE_CHECKING:
    from osp.platform.tenancy.isolation import (
        Finding,
        verify,
    )
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
    from osp.platform.tenancy.registry import (
        DynamoDbRegistry,
        FileRegistry,
        TenantRegistry,
    )
    from osp.platform.tenancy.tiers import (
        TierBlueprint,
        UnknownTierError,
        load_tier,
    )

#: The module that defines each other name the package exports, imported when the name is
#: first asked for (PEP 562): the estate program needs only the tenant model and the tiers,
#: not onboarding, the registries (botocore) or the isolation proof.
_LAZY = {
    "Finding": "isolation",
    "verify": "isolation",
    "RESERVED_SLUGS": "model",
    "SLUG": "model",
    "SLUG_FORMAT": "model",
    "TRANSITIONS": "model",
    "Difference": "model",
    "Failure": "model",
    "RolloutOutcome": "model",
    "RolloutResult": "model",
    "StaleTenantError": "model",
    "Tenant": "model",
    "TenantConflictError": "model",
    "TenantExistsError": "model",
    "TenantInputError": "model",
    "TenantRegistryError": "model",
    "TenantRequest": "model",
    "TenantState": "model",
    "TenantStateError": "model",
    "Tier": "model",
    "Transition": "model",
    "UnknownTenantError": "model",
    "allowed": "model",
    "differences": "model",
    "from_dict": "model",
    "new_tenant": "model",
    "record_rollout": "model",
    "to_dict": "model",
    "transition": "model",
    "CreateOutcome": "onboarding",
    "CreateResult": "onboarding",
    "NotSuspendedError": "onboarding",
    "TenantProvisioningError": "onboarding",
    "TenantStackError": "onboarding",
    "create": "onboarding",
    "deletable": "onboarding",
    "delete": "onboarding",
    "list_tenants": "onboarding",
    "resume": "onboarding",
    "show": "onboarding",
    "suspend": "onboarding",
    "tenant_urls": "onboarding",
    "DynamoDbRegistry": "registry",
    "FileRegistry": "registry",
    "TenantRegistry": "registry",
    "TierBlueprint": "tiers",
    "UnknownTierError": "tiers",
    "load_tier": "tiers",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


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
