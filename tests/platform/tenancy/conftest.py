"""The registry backends the tenancy suite runs against: a folder, and a moto table."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from osp.platform.tenancy import DynamoDbRegistry, FileRegistry, TenantRegistry
from osp.platform.tenancy.registry import (
    STATE_INDEX,
    STATE_INDEX_HASH_KEY,
    STATE_INDEX_RANGE_KEY,
    TABLE_HASH_KEY,
)

TABLE = "osp-test-tenants"
REGION = "us-east-1"


def create_tenants_table(client, name: str = TABLE) -> None:
    """The table the estate provisions, as far as the registry relies on it: the key, and
    the state index projecting every attribute."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": TABLE_HASH_KEY, "AttributeType": "S"},
            {"AttributeName": STATE_INDEX_HASH_KEY, "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": TABLE_HASH_KEY, "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": STATE_INDEX,
                "KeySchema": [
                    {"AttributeName": STATE_INDEX_HASH_KEY, "KeyType": "HASH"},
                    {"AttributeName": STATE_INDEX_RANGE_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


@pytest.fixture
def aws(monkeypatch) -> Iterator[None]:
    """moto's AWS, with credentials that can reach nothing else."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def dynamodb(aws, monkeypatch):
    """A boto3 client of moto's DynamoDB, holding the tenants table."""
    # DynamoDB evaluates a write's condition and applies the write atomically, per item.
    # moto checks and then writes without a lock, so two threads can both pass
    # attribute_not_exists (two winners in about 1 run of 15 of the 20-thread race). The lock
    # gives moto DynamoDB's guarantee; everything up to the table (the client, the request,
    # the condition the registry sends) still races.
    atomic = threading.Lock()
    put_item = DynamoDBBackend.put_item

    def atomic_put_item(self, *args, **kwargs):
        with atomic:
            return put_item(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "put_item", atomic_put_item)
    client = boto3.client("dynamodb", region_name=REGION)
    create_tenants_table(client)
    return client


@pytest.fixture(params=["file", "dynamodb"])
def registry(request, tmp_path) -> TenantRegistry:
    """Each backend in turn: the suite's tests run once per backend."""
    if request.param == "file":
        return FileRegistry(tmp_path / "tenants")
    return DynamoDbRegistry(TABLE, request.getfixturevalue("dynamodb"))
