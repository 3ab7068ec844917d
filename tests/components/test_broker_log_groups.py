"""The function that claims a broker's log groups (components/handlers/broker_log_groups.py).

Loaded from the package data the way RabbitMq ships it, as a module of its own, and driven
with a fake CloudWatch Logs client: which groups it creates or adopts, the key, tags and
retention it sets, what it waits out and what it lets fail.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import sys
from collections.abc import Iterator
from importlib import resources
from types import ModuleType, SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from osp.components.broker import CLAIM_HANDLER_FILE, claim_handler_code

KEY = "arn:aws:kms:us-east-1:123456789012:key/logs"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:osp-t-broker-log-groups"
GENERAL = "/aws/amazonmq/broker/b-1/general"
CONNECTION = "/aws/amazonmq/broker/b-1/connection"
EVENT = {
    "logGroups": [
        {"name": GENERAL, "tags": {"Name": "g", "osp:x": "1"}},
        {"name": CONNECTION, "tags": {"Name": "c", "osp:x": "1"}},
    ],
    "kmsKeyId": KEY,
    "retentionInDays": 30,
}

#: The handler as deployed: changing its text changes every broker's function at the next
#: `osp up`, so it changes on purpose only (and this digest with it).
DEPLOYED_SHA256 = "c2c372dbe5342101bd4ccb60597522f05bb3ab589b3c0196b2b40de615966c84"


class FakeLogs:
    """A CloudWatch Logs client holding groups in memory; `failures` makes operations fail,
    each listed error code once, in order, before the operation works."""

    def __init__(self, existing=(), failures=None):
        self.groups = {name: {"kms": None, "tags": {}, "retention": None} for name in existing}
        self.failures = {op: list(codes) for op, codes in (failures or {}).items()}
        self.calls: list[tuple[str, dict]] = []

    def _call(self, op, **kwargs):
        self.calls.append((op, kwargs))
        codes = self.failures.get(op)
        if codes:
            raise ClientError({"Error": {"Code": codes.pop(0), "Message": "no"}}, op)

    def create_log_group(self, logGroupName, kmsKeyId, tags):
        self._call("CreateLogGroup", logGroupName=logGroupName)
        if logGroupName in self.groups:
            raise ClientError(
                {"Error": {"Code": "ResourceAlreadyExistsException", "Message": "exists"}},
                "CreateLogGroup",
            )
        self.groups[logGroupName] = {"kms": kmsKeyId, "tags": dict(tags), "retention": None}

    def associate_kms_key(self, logGroupName, kmsKeyId):
        self._call("AssociateKmsKey", logGroupName=logGroupName)
        self.groups[logGroupName]["kms"] = kmsKeyId

    def tag_resource(self, resourceArn, tags):
        self._call("TagResource", resourceArn=resourceArn)
        name = resourceArn.split(":log-group:", 1)[1]
        self.groups[name]["tags"].update(tags)

    def put_retention_policy(self, logGroupName, retentionInDays):
        self._call("PutRetentionPolicy", logGroupName=logGroupName)
        self.groups[logGroupName]["retention"] = retentionInDays


def load_handler() -> ModuleType:
    """The handler file, imported as the module `index` Lambda imports it as (leaving no
    bytecode beside it: the folder ships as package data)."""
    shipped = resources.files("osp.components").joinpath(CLAIM_HANDLER_FILE)
    with resources.as_file(shipped) as path, _no_bytecode():
        spec = importlib.util.spec_from_file_location("index", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _no_bytecode() -> Iterator[None]:
    before, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        yield
    finally:
        sys.dont_write_bytecode = before


def run(client, event=EVENT, function_arn=FUNCTION_ARN):
    """Invoke the handler against `client`; returns its result and the pauses it took."""
    handler = load_handler()
    clients: list[str] = []
    handler.boto3 = SimpleNamespace(client=lambda service: clients.append(service) or client)
    pauses: list[float] = []
    handler.pause = pauses.append
    result = handler.handler(event, SimpleNamespace(invoked_function_arn=function_arn))
    assert clients == ["logs"]
    return result, pauses


def test_missing_groups_are_created_encrypted_tagged_and_held_to_retention():
    logs = FakeLogs()
    result, pauses = run(logs)
    assert result == {"claimed": [GENERAL, CONNECTION]}
    assert logs.groups == {
        GENERAL: {"kms": KEY, "tags": {"Name": "g", "osp:x": "1"}, "retention": 30},
        CONNECTION: {"kms": KEY, "tags": {"Name": "c", "osp:x": "1"}, "retention": 30},
    }
    assert [op for op, _ in logs.calls] == ["CreateLogGroup", "PutRetentionPolicy"] * 2
    assert pauses == []


def test_a_group_amazon_mq_made_is_adopted():
    logs = FakeLogs(existing=[GENERAL])
    result, _ = run(logs)
    assert result == {"claimed": [GENERAL, CONNECTION]}
    assert logs.groups[GENERAL] == {
        "kms": KEY,
        "tags": {"Name": "g", "osp:x": "1"},
        "retention": 30,
    }
    assert logs.calls[:4] == [
        ("CreateLogGroup", {"logGroupName": GENERAL}),
        ("AssociateKmsKey", {"logGroupName": GENERAL}),
        (
            "TagResource",
            {"resourceArn": f"arn:aws:logs:us-east-1:123456789012:log-group:{GENERAL}"},
        ),
        ("PutRetentionPolicy", {"logGroupName": GENERAL}),
    ]


def test_adopted_groups_are_tagged_by_arn_in_the_functions_own_partition_and_region():
    logs = FakeLogs(existing=[GENERAL, CONNECTION])
    run(logs, function_arn="arn:aws-cn:lambda:cn-north-1:210987654321:function:f")
    tagged = [kwargs["resourceArn"] for op, kwargs in logs.calls if op == "TagResource"]
    assert tagged == [
        f"arn:aws-cn:logs:cn-north-1:210987654321:log-group:{GENERAL}",
        f"arn:aws-cn:logs:cn-north-1:210987654321:log-group:{CONNECTION}",
    ]


def test_retention_arrives_as_text_and_is_set_as_a_number():
    logs = FakeLogs()
    run(logs, event={**EVENT, "retentionInDays": "365"})
    assert {g["retention"] for g in logs.groups.values()} == {365}


@pytest.mark.parametrize(
    "code", ["AccessDeniedException", "OperationAbortedException", "ThrottlingException"]
)
def test_what_settles_by_itself_is_waited_out_with_growing_pauses(code):
    logs = FakeLogs(failures={"CreateLogGroup": [code] * 3})
    result, pauses = run(logs)
    assert pauses == [1, 2, 4]
    assert result == {"claimed": [GENERAL, CONNECTION]}
    assert all(g["retention"] == 30 for g in logs.groups.values())


def test_pauses_stop_growing_at_fifteen_seconds():
    logs = FakeLogs(failures={"TagResource": ["AccessDeniedException"] * 7}, existing=[GENERAL])
    _, pauses = run(logs)
    assert pauses == [1, 2, 4, 8, 15, 15, 15]
    assert logs.groups[GENERAL]["tags"] == {"Name": "g", "osp:x": "1"}


def test_it_gives_up_after_eight_attempts():
    logs = FakeLogs(failures={"CreateLogGroup": ["AccessDeniedException"] * 8})
    with pytest.raises(ClientError, match="AccessDeniedException"):
        run(logs)
    assert [op for op, _ in logs.calls] == ["CreateLogGroup"] * 8
    assert logs.groups == {}


@pytest.mark.parametrize(
    ("operation", "existing"),
    [
        ("CreateLogGroup", ()),
        ("AssociateKmsKey", (GENERAL,)),
        ("PutRetentionPolicy", ()),
    ],
)
def test_anything_else_fails_at_once(operation, existing):
    logs = FakeLogs(existing=existing, failures={operation: ["InvalidParameterException"]})
    with pytest.raises(ClientError, match="InvalidParameterException"):
        run(logs)
    assert [op for op, _ in logs.calls].count(operation) == 1
    assert all(g["retention"] is None for g in logs.groups.values())


def test_pause_sleeps(monkeypatch):
    handler = load_handler()
    slept: list[float] = []
    monkeypatch.setattr(handler.time, "sleep", slept.append)
    handler.pause(4)
    assert slept == [4]


def test_the_shipped_text_is_the_deployed_handler():
    text = claim_handler_code()
    assert hashlib.sha256(text.encode()).hexdigest() == DEPLOYED_SHA256
    compile(text, "index.py", "exec")
