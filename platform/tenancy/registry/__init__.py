"""Where tenants are registered: one interface, `TenantRegistry`, and its two backends.

- `DynamoDbRegistry`: the estate's `<prefix>-tenants` table, for real runs.
- `FileRegistry`: a folder under the osp home (`default_root(env)`), for offline use.

Both refuse a second create of a slug (`TenantExistsError`, naming who holds it) and an
update based on an old version (`StaleTenantError`); tests/platform/tenancy runs one suite
against both.
"""

from __future__ import annotations

import builtins
import typing

from osp.platform.tenancy.registry.dynamodb import (
    STATE_INDEX,
    STATE_INDEX_HASH_KEY,
    STATE_INDEX_RANGE_KEY,
    TABLE_HASH_KEY,
    VERSION_ATTRIBUTE,
    DynamoDbRegistry,
)
from osp.platform.tenancy.registry.file import FileRegistry, default_root

if typing.TYPE_CHECKING:
    from osp.platform.tenancy.model import Tenant, TenantState, Tier


@typing.runtime_checkable
class TenantRegistry(typing.Protocol):
    """The tenants of one environment, read and written with conditional writes."""

    def get(self, slug: str) -> Tenant | None:
        """The tenant registered as `slug`, or None."""
        ...

    def create(self, tenant: Tenant) -> Tenant:
        """Register a new tenant; TenantExistsError (carrying the record that holds the
        slug) when the slug is taken, whatever its state."""
        ...

    def update(self, tenant: Tenant, *, expected_version: int) -> Tenant:
        """Replace the record, if the registry still holds `expected_version` of it
        (StaleTenantError otherwise; UnknownTenantError when there is none). `tenant` must
        be the next version (`transition` and `record_rollout` give it)."""
        ...

    def list(
        self, *, state: TenantState | None = None, tier: Tier | None = None
    ) -> builtins.list[Tenant]:
        """The tenants in `state` and of `tier` (None: any), sorted by slug."""
        ...


__all__ = [
    "STATE_INDEX",
    "STATE_INDEX_HASH_KEY",
    "STATE_INDEX_RANGE_KEY",
    "TABLE_HASH_KEY",
    "VERSION_ATTRIBUTE",
    "DynamoDbRegistry",
    "FileRegistry",
    "TenantRegistry",
    "default_root",
]
