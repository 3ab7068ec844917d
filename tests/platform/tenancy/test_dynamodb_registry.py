"""What only the DynamoDB registry has: its item format, its key names, list as queries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from osp.platform.tenancy import DynamoDbRegistry, TenantRegistryError, TenantRequest, new_tenant
from osp.platform.tenancy.model import to_dict
from osp.platform.tenancy.registry import (
    STATE_INDEX,
    STATE_INDEX_HASH_KEY,
    STATE_INDEX_RANGE_KEY,
    TABLE_HASH_KEY,
    VERSION_ATTRIBUTE,
)
from osp.platform.tenancy.registry.dynamodb import from_item, to_item
from tests.platform.tenancy.conftest import TABLE

NOW = datetime(2026, 5, 9, 10, 0, tzinfo=UTC)


def tenant(slug: str = "springfield", tier: str = "pool"):
    request = TenantRequest(slug=slug, name="S", tier=tier, admin_email="it@s.example.org")
    return new_tenant(request, actor="al", now=NOW)


class Recording:
    """A client that passes every call on and remembers the operations' names."""

    def __init__(self, client):
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if name in ("exceptions", "meta"):
            return attribute
        if name == "get_paginator":
            return lambda operation: self._record(operation, attribute(operation))
        self.calls.append(name)
        return attribute

    def _record(self, operation, paginator):
        self.calls.append(operation)
        return paginator


def test_the_key_names_the_estates_table_is_built_with():
    assert (TABLE_HASH_KEY, STATE_INDEX, STATE_INDEX_HASH_KEY, STATE_INDEX_RANGE_KEY) == (
        "slug",
        "by-state",
        "state",
        "slug",
    )
    assert VERSION_ATTRIBUTE == "version"


def test_the_item_holds_the_keys_as_strings_and_the_version_as_a_number(dynamodb):
    created = tenant()
    DynamoDbRegistry(TABLE, dynamodb).create(created)
    item = dynamodb.get_item(TableName=TABLE, Key={"slug": {"S": "springfield"}})["Item"]
    assert item["slug"] == {"S": "springfield"}
    assert item["state"] == {"S": "provisioning"}
    assert item["tier"] == {"S": "pool"}
    assert item["version"] == {"N": "1"}
    assert item["domain"] == {"NULL": True}
    assert item["history"]["L"][0]["M"]["actor"] == {"S": "al"}
    assert from_item(item) == to_dict(created)
    assert to_item(created) == item


def test_list_queries_the_state_index_and_never_scans(dynamodb):
    recording = Recording(dynamodb)
    registry = DynamoDbRegistry(TABLE, recording)
    for slug in ("oak", "ash", "elm"):
        registry.create(tenant(slug, "silo" if slug == "elm" else "pool"))
    recording.calls.clear()
    assert [t.slug for t in registry.list()] == ["ash", "elm", "oak"]
    assert recording.calls == ["query"] * 6  # one per state
    recording.calls.clear()
    assert [t.slug for t in registry.list(state="provisioning", tier="pool")] == ["ash", "oak"]
    assert recording.calls == ["query"]


class SmallPages:
    """A client whose query pages hold `size` items (moto ignores DynamoDB's 1 MB page)."""

    def __init__(self, client, size: int):
        self._client = client
        self._size = size

    def __getattr__(self, name):
        return getattr(self._client, name)

    def get_paginator(self, operation):
        paginator = self._client.get_paginator(operation)
        size = self._size

        class Paged:
            def paginate(self, **arguments):
                return paginator.paginate(**arguments, PaginationConfig={"PageSize": size})

        return Paged()


def test_list_follows_the_pages_of_a_query(dynamodb):
    registry = DynamoDbRegistry(TABLE, SmallPages(dynamodb, 7))
    for i in range(30):
        registry.create(tenant(f"school-{i:02d}"))
    queries = []
    dynamodb.meta.events.register("before-call.dynamodb.Query", lambda **_: queries.append(1))
    found = registry.list(state="provisioning")
    assert [t.slug for t in found] == [f"school-{i:02d}" for i in range(30)]
    assert len(queries) == 5  # 7 + 7 + 7 + 7 + 2


def test_an_item_that_is_no_tenant_is_named(dynamodb):
    dynamodb.put_item(TableName=TABLE, Item={"slug": {"S": "broken"}, "state": {"S": "active"}})
    with pytest.raises(TenantRegistryError) as refused:
        DynamoDbRegistry(TABLE, dynamodb).get("broken")
    assert str(refused.value) == (
        f"{TABLE}: the item broken is not a tenant record: schema: got None; expected 1"
    )
