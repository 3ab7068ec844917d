"""The DynamoDB registry: the estate's `<prefix>-tenants` table, read and written with boto3.

The table is keyed by `slug`; the global secondary index `by-state` (hash `state`, range
`slug`, every attribute projected) lets `list` query each state in slug order instead of
scanning the fleet. Writes are conditional: a create only where no item holds the slug, an
update only where the item is still at the version the writer read, so two onboardings of
one slug can never both win and a stale writer is refused.

The key names are constants here because the table's definition (the DynamoDB component,
the estate's tenants table) must agree with the code that reads it.
"""

from __future__ import annotations

import builtins
import heapq
from collections.abc import Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

from osp.platform.tenancy.model import (
    SLUG_FORMAT,
    StaleTenantError,
    Tenant,
    TenantExistsError,
    TenantRegistryError,
    TenantState,
    Tier,
    UnknownTenantError,
    from_dict,
    require_next_version,
    to_dict,
)

#: The table's partition key (a string).
TABLE_HASH_KEY = "slug"
#: The global secondary index `list` queries, one state at a time.
STATE_INDEX = "by-state"
STATE_INDEX_HASH_KEY = "state"
STATE_INDEX_RANGE_KEY = "slug"

#: The attribute holding the record's version, the condition of every update.
VERSION_ATTRIBUTE = "version"


class DynamoDbRegistry:
    """A `TenantRegistry` in a DynamoDB table, through a boto3 DynamoDB client.

    `list` reads the state index, which DynamoDB keeps eventually consistent: a tenant
    written a moment ago may be missing from it for that moment. `get` reads the table with
    strong consistency.
    """

    def __init__(self, table_name: str, client: Any) -> None:
        self.table_name = table_name
        self._client = client

    def __repr__(self) -> str:
        return f"DynamoDbRegistry({self.table_name!r})"

    def get(self, slug: str) -> Tenant | None:
        if not SLUG_FORMAT.accepts(slug):  # names no record (and DynamoDB refuses "" as a key)
            return None
        response = self._client.get_item(
            TableName=self.table_name,
            Key={TABLE_HASH_KEY: {"S": slug}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return self._tenant(item) if item else None

    def create(self, tenant: Tenant) -> Tenant:
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=to_item(tenant),
                ConditionExpression="attribute_not_exists(#slug)",
                ExpressionAttributeNames={"#slug": TABLE_HASH_KEY},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as refused:
            if not _condition_failed(refused):
                raise
            existing = self._holder(refused, tenant.slug)
            # Records are never removed, so a refused create has a holder to name.
            if existing is None:
                raise TenantRegistryError(
                    f"{self.table_name}: the create of {tenant.slug} was refused, yet no item "
                    "holds it; run the command again"
                ) from None
            raise TenantExistsError(existing) from None
        return tenant

    def update(self, tenant: Tenant, *, expected_version: int) -> Tenant:
        require_next_version(tenant, expected_version)
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=to_item(tenant),
                ConditionExpression="#version = :expected",
                ExpressionAttributeNames={"#version": VERSION_ATTRIBUTE},
                ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as refused:
            if not _condition_failed(refused):
                raise
            current = self._holder(refused, tenant.slug)
            if current is None:
                where = f"the tenant table {self.table_name}"
                raise UnknownTenantError(tenant.slug, where) from None
            raise StaleTenantError(tenant.slug, expected_version, current.version) from None
        return tenant

    def list(
        self, *, state: TenantState | None = None, tier: Tier | None = None
    ) -> builtins.list[Tenant]:
        states = [*TenantState] if state is None else [TenantState(state)]
        # Each query yields its state's tenants in slug order (the index's range key).
        per_state = [self._query(s, tier) for s in states]
        return [*heapq.merge(*per_state, key=lambda t: t.slug)]

    # --- the table ----------------------------------------------------------------------

    def _query(self, state: TenantState, tier: Tier | None) -> Iterator[Tenant]:
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": STATE_INDEX,
            "KeyConditionExpression": "#state = :state",
            "ExpressionAttributeNames": {"#state": STATE_INDEX_HASH_KEY},
            "ExpressionAttributeValues": {":state": {"S": state.value}},
        }
        if tier is not None:
            arguments["FilterExpression"] = "#tier = :tier"
            arguments["ExpressionAttributeNames"]["#tier"] = "tier"
            arguments["ExpressionAttributeValues"][":tier"] = {"S": Tier(tier).value}
        for page in self._client.get_paginator("query").paginate(**arguments):
            for item in page["Items"]:
                yield self._tenant(item)

    def _holder(self, refused: ClientError, slug: str) -> Tenant | None:
        """The item a conditional write was refused on: DynamoDB returns it (ALL_OLD on
        condition failure); read it when an older endpoint does not."""
        item = getattr(refused, "response", {}).get("Item")
        return self._tenant(item) if item else self.get(slug)

    def _tenant(self, item: Mapping[str, Any]) -> Tenant:
        try:
            return from_dict(from_item(item))
        except (ValueError, TypeError, AttributeError) as exc:
            slug = item.get(TABLE_HASH_KEY, {}).get("S", "?")
            raise TenantRegistryError(
                f"{self.table_name}: the item {slug} is not a tenant record: {exc}"
            ) from None


# --- DynamoDB's attribute values -----------------------------------------------------------


def to_item(tenant: Tenant) -> dict[str, Any]:
    """The tenant as a DynamoDB item (attribute values: S, N, NULL, L, M)."""
    return {key: _attribute(value) for key, value in to_dict(tenant).items()}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """The plain record an item holds (the inverse of `to_item`)."""
    return {key: _plain(value) for key, value in item.items()}


def _attribute(value: object) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [_attribute(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: _attribute(v) for k, v in value.items()}}
    raise TypeError(f"no DynamoDB attribute value for {type(value).__name__}")


def _plain(attribute: Mapping[str, Any]) -> object:
    ((kind, value),) = attribute.items()
    if kind == "NULL":
        return None
    if kind == "N":
        return int(value)
    if kind in ("S", "BOOL"):
        return value
    if kind == "L":
        return [_plain(v) for v in value]
    if kind == "M":
        return {k: _plain(v) for k, v in value.items()}
    raise TypeError(f"a tenant record holds no DynamoDB {kind} attribute")


def _condition_failed(error: ClientError) -> bool:
    # By code, not by `client.exceptions.ConditionalCheckFailedException`: botocore builds
    # that class lazily per client, and threads racing on the first build can each get their
    # own class, so the one raised would not be the one caught.
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
