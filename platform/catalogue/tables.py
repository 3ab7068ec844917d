"""DynamoDB tables in the service catalogue: the `tables:` section and `uses.tables`.

A table is declared once, by name, with its keys, the attribute its items expire by, its
indexes and how it is paid for; a service names the tables it uses and whether it reads or
reads and writes each. The app layer grants exactly that, on the table and its indexes.

A table is `tenant_partitioned` when every item's partition key (and every index's) begins
with the tenant's slug (`<slug>` or `<slug>#…`): then a service reaches it only through its
tenant-data role, in a session tagged with the tenant, and `dynamodb:LeadingKeys` holds every
request to that tenant's items (see osp.app.identity).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator
from pydantic_core import InitErrorDetails

from osp.platform.catalogue.models import Name, _error, _fail, _Model

#: DynamoDB's default quota of global secondary indexes per table.
MAX_INDEXES = 20
#: Table names the estate already takes (`osp-<env>-tenants`, the tenant registry).
RESERVED_TABLE_NAMES = frozenset({"tenants"})


class KeyType(StrEnum):
    """The type of a key attribute."""

    STRING = "string"
    NUMBER = "number"
    BINARY = "binary"


class Key(_Model):
    """A key attribute: its name and type."""

    name: str = Field(
        min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.-]+$", description="Attribute name."
    )
    type: KeyType = Field(KeyType.STRING, description="string (default), number or binary.")


class Projection(StrEnum):
    """Which attributes an index copies."""

    ALL = "all"
    KEYS_ONLY = "keys-only"


class Index(_Model):
    """A global secondary index: another key to query the table by."""

    partition_key: Key
    sort_key: Key | None = None
    projection: Projection = Field(Projection.ALL, description="all (default) or keys-only.")


class Scaling(_Model):
    """Provisioned capacity of one kind (reads or writes) and how it autoscales."""

    min: int = Field(ge=1, le=40000, description="Capacity units it never goes below.")
    max: int = Field(ge=1, le=40000, description="Capacity units it never goes above.")
    target: int = Field(
        70, ge=20, le=90, description="Utilisation (%) the autoscaler keeps it at. Default: 70."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Scaling:
        if self.max < self.min:
            _fail("Scaling", [_error(("max",), self.max, f"a number >= min ({self.min})")])
        return self


class Capacity(_Model):
    """Provisioned reads and writes, each autoscaled; the table's indexes scale alike."""

    read: Scaling
    write: Scaling


class Billing(StrEnum):
    """How a table's reads and writes are paid for."""

    #: Per request: nothing to plan, follows the traffic.
    ON_DEMAND = "on-demand"
    #: Provisioned capacity (`capacity`), autoscaled between its bounds.
    PROVISIONED = "provisioned"


class Table(_Model):
    """One DynamoDB table of the estate (`osp-<env>-<name>`)."""

    name: str = Field(description="Its key under `tables`.")
    partition_key: Key
    sort_key: Key | None = None
    ttl_attribute: str | None = Field(
        None,
        min_length=1,
        max_length=255,
        description="The Number attribute (epoch seconds) after which DynamoDB deletes an item.",
    )
    indexes: dict[Name, Index] = Field(default_factory=dict, description="Global indexes.")
    billing: Billing = Billing.ON_DEMAND
    capacity: Capacity | None = Field(None, description="With provisioned billing, and only then.")
    tenant_partitioned: bool = Field(
        False, description="Every partition key begins with the tenant's slug."
    )
    description: str = Field("", max_length=256)

    @model_validator(mode="after")
    def _consistent(self) -> Table:
        errors: list[InitErrorDetails] = []
        provisioned = self.billing is Billing.PROVISIONED
        if provisioned and self.capacity is None:
            errors.append(
                _error(
                    ("capacity",),
                    None,
                    "read and write bounds, {read: {min, max, target}, write: {...}}, with "
                    "billing: provisioned",
                )
            )
        if not provisioned and self.capacity is not None:
            errors.append(
                _error(
                    ("capacity",),
                    self.capacity.model_dump(),
                    "no capacity with on-demand billing (or billing: provisioned)",
                )
            )
        if len(self.indexes) > MAX_INDEXES:
            errors.append(
                _error(("indexes",), list(self.indexes), f"at most {MAX_INDEXES} indexes")
            )
        types: dict[str, KeyType] = {}
        keys = [(("partition_key",), self.partition_key), (("sort_key",), self.sort_key)]
        for index_name, index in self.indexes.items():
            keys += [
                (("indexes", index_name, "partition_key"), index.partition_key),
                (("indexes", index_name, "sort_key"), index.sort_key),
            ]
        for loc, key in keys:
            if key is None:
                continue
            known = types.setdefault(key.name, key.type)
            if known is not key.type:
                errors.append(
                    _error(
                        (*loc, "type"),
                        key.type.value,
                        f"{known.value}: attribute {key.name!r} is declared {known.value} "
                        "elsewhere in this table",
                    )
                )
        if self.sort_key is not None and self.sort_key.name == self.partition_key.name:
            errors.append(
                _error(
                    ("sort_key", "name"),
                    self.sort_key.name,
                    "another attribute than the partition key",
                )
            )
        if self.ttl_attribute is not None and types.get(self.ttl_attribute, KeyType.NUMBER) is not (
            KeyType.NUMBER
        ):
            errors.append(
                _error(
                    ("ttl_attribute",),
                    self.ttl_attribute,
                    "a Number attribute (epoch seconds), not a key declared "
                    f"{types[self.ttl_attribute].value}",
                )
            )
        if self.tenant_partitioned and self.partition_key.type is not KeyType.STRING:
            errors.append(
                _error(
                    ("partition_key", "type"),
                    self.partition_key.type.value,
                    "string: a tenant-partitioned table's partition key begins with the "
                    "tenant's slug",
                )
            )
        _fail("Table", errors)
        return self


def table_reference_problems(
    data: Mapping[str, Any], services: Mapping[str, Mapping[str, Any]]
) -> list[InitErrorDetails]:
    """Tables a service uses that the catalogue does not declare."""
    tables = [str(k) for k in _mapping(data.get("tables"))]
    errors = [
        _error(
            ("tables", name),
            name,
            f"a table name other than {name!r} (the estate's tenant registry is osp-<env>-{name})",
        )
        for name in tables
        if name in RESERVED_TABLE_NAMES
    ]
    for name, body in services.items():
        for key in _mapping(_mapping(body.get("uses")).get("tables")):
            if isinstance(key, str) and key not in tables:
                errors.append(
                    _error(
                        ("services", name, "uses", "tables", key),
                        key,
                        "one of the blueprint's tables: " + (", ".join(tables) or "none"),
                    )
                )
    return errors


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
