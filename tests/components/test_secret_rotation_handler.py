"""The rotation function (components/handlers/secret_rotation.py), loaded from the package data
the way SecretRotator ships it, driven through Secrets Manager's four steps with a fake
Secrets Manager that keeps versions and stages as AWS does, a fake ElastiCache, and the
RabbitMQ management API and Redis AUTH replaced by recorders."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
from collections.abc import Iterator
from importlib import resources
from types import ModuleType, SimpleNamespace

import pytest

from osp.components.rotation import HANDLER_FILE, handler_code

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:osp-t-x-AbCdEf"
ADMIN_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:osp-t-admin-AbCdEf"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


class NotFound(Exception):
    pass


class FakeSecrets:
    """Secrets Manager holding versions and their stages in memory, moving AWSPREVIOUS to
    the version that loses AWSCURRENT, as AWS does."""

    exceptions = SimpleNamespace(ResourceNotFoundException=NotFound)

    def __init__(self, documents: dict[str, dict], rotation_enabled: bool = True):
        self.versions = {
            arn: {"v1": {"string": json.dumps(doc), "stages": {"AWSCURRENT"}}}
            for arn, doc in documents.items()
        }
        self.rotation_enabled = rotation_enabled
        self.calls: list[str] = []

    def begin(self, arn: str, token: str) -> None:
        """What RotateSecret does before the first step: a pending version id."""
        self.versions[arn][token] = {"string": None, "stages": {"AWSPENDING"}}

    def describe_secret(self, SecretId):
        self.calls.append("DescribeSecret")
        return {
            "RotationEnabled": self.rotation_enabled,
            "VersionIdsToStages": {
                v: sorted(d["stages"]) for v, d in self.versions[SecretId].items()
            },
        }

    def get_secret_value(self, SecretId, VersionId=None, VersionStage=None):
        self.calls.append("GetSecretValue")
        for version, data in self.versions[SecretId].items():
            if VersionId not in (None, version) or VersionStage not in data["stages"]:
                continue
            if data["string"] is None:
                break
            return {"SecretString": data["string"], "VersionId": version}
        raise NotFound(f"{SecretId} {VersionId} {VersionStage}")

    def get_random_password(self, PasswordLength, ExcludePunctuation):
        assert ExcludePunctuation is True
        return {"RandomPassword": "N" * PasswordLength}

    def put_secret_value(self, SecretId, ClientRequestToken, SecretString, VersionStages):
        self.calls.append("PutSecretValue")
        self.versions[SecretId][ClientRequestToken] = {
            "string": SecretString,
            "stages": set(VersionStages),
        }

    def update_secret_version_stage(
        self, SecretId, VersionStage, MoveToVersionId, RemoveFromVersionId
    ):
        self.calls.append("UpdateSecretVersionStage")
        versions = self.versions[SecretId]
        assert VersionStage in versions[RemoveFromVersionId]["stages"]
        for data in versions.values():
            data["stages"].discard("AWSPREVIOUS")
        versions[RemoveFromVersionId]["stages"] = {"AWSPREVIOUS"}
        versions[MoveToVersionId]["stages"] = {VersionStage}

    def document(self, arn: str, stage: str) -> dict:
        return json.loads(self.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"])


class FakeCache:
    def __init__(self):
        self.calls: list[tuple[str, dict]] = []

    def modify_replication_group(self, **kwargs):
        self.calls.append(("ModifyReplicationGroup", kwargs))

    def get_waiter(self, name):
        return SimpleNamespace(wait=lambda **kw: self.calls.append((f"wait:{name}", kw)))


@contextlib.contextmanager
def _no_bytecode() -> Iterator[None]:
    before, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        yield
    finally:
        sys.dont_write_bytecode = before


def load_handler() -> ModuleType:
    """The handler file, imported as the module `index` Lambda imports it as."""
    shipped = resources.files("osp.components").joinpath(HANDLER_FILE)
    with resources.as_file(shipped) as path, _no_bytecode():
        spec = importlib.util.spec_from_file_location("index", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def rotate(handler, secrets, arn=ARN, token="v2", clients=None, steps=STEPS):
    secrets.begin(arn, token)
    for step in steps:
        event = {"SecretId": arn, "ClientRequestToken": token, "Step": step}
        handler.handler(event, None, clients={"secretsmanager": secrets, **(clients or {})})


def test_the_shipped_text_is_what_the_function_runs():
    assert handler_code() == (
        resources.files("osp.components").joinpath(HANDLER_FILE).read_text(encoding="utf-8")
    )


def test_jwt_gets_a_new_key_and_the_previous_one_stays_as_awsprevious(monkeypatch):
    monkeypatch.setenv("ROTATION_TARGET", "jwt")
    secrets = FakeSecrets({ARN: {"value": "old"}})
    rotate(load_handler(), secrets)
    assert secrets.document(ARN, "AWSCURRENT") == {"value": "N" * 64}
    assert secrets.document(ARN, "AWSPREVIOUS") == {"value": "old"}
    assert {v: d["stages"] for v, d in secrets.versions[ARN].items()} == {
        "v1": {"AWSPREVIOUS"},
        "v2": {"AWSCURRENT"},
    }


def test_redis_sets_the_token_with_the_rotate_strategy_and_tests_it(monkeypatch):
    monkeypatch.setenv("ROTATION_TARGET", "redis")
    monkeypatch.setenv("REPLICATION_GROUP_ID", "osp-t-redis")
    document = {"host": "primary.example", "port": 6379, "auth_token": "old", "tls": True}
    secrets, cache = FakeSecrets({ARN: document}), FakeCache()
    handler = load_handler()
    authed: list[tuple] = []
    handler._redis_auth = lambda *a: authed.append(a)
    rotate(handler, secrets, clients={"elasticache": cache})
    new = "N" * 64
    assert cache.calls == [
        (
            "ModifyReplicationGroup",
            {
                "ReplicationGroupId": "osp-t-redis",
                "AuthToken": new,
                "AuthTokenUpdateStrategy": "ROTATE",
                "ApplyImmediately": True,
            },
        ),
        (
            "wait:replication_group_available",
            {"ReplicationGroupId": "osp-t-redis", "WaiterConfig": handler.REDIS_WAIT},
        ),
    ]
    assert authed == [("primary.example", 6379, new)]
    assert secrets.document(ARN, "AWSCURRENT") == {**document, "auth_token": new}


def test_rabbitmq_changes_the_users_password_as_the_admin_keeping_its_tags(monkeypatch):
    monkeypatch.setenv("ROTATION_TARGET", "rabbitmq")
    monkeypatch.setenv("ADMIN_SECRET_ARN", ADMIN_ARN)
    console = "https://b-1.mq.us-east-1.amazonaws.com"
    admin = {"username": "admin", "password": "adm", "console_url": console}
    user = {"username": "svc/payment", "password": "old", "endpoint": "amqps://b-1:5671"}
    secrets = FakeSecrets({ARN: user, ADMIN_ARN: admin})
    handler = load_handler()
    calls: list[tuple] = []

    def management(url, method, path, who, body=None):
        calls.append((url, method, path, who["username"], who["password"], body))
        return {"tags": "monitoring"} if method == "GET" and path.startswith("/api/users") else {}

    handler._management = management
    rotate(handler, secrets)
    new = "N" * 64
    assert calls == [
        (console, "GET", "/api/users/svc%2Fpayment", "admin", "adm", None),
        (console, "PUT", "/api/users/svc%2Fpayment", "admin", "adm",
         {"password": new, "tags": "monitoring"}),
        (console, "GET", "/api/whoami", "svc/payment", new, None),
    ]  # fmt: skip
    assert secrets.document(ARN, "AWSCURRENT") == {**user, "password": new}
    assert secrets.document(ARN, "AWSPREVIOUS") == user


def test_the_admin_rotates_its_own_password_authenticated_by_the_current_one(monkeypatch):
    monkeypatch.setenv("ROTATION_TARGET", "rabbitmq")
    monkeypatch.setenv("ADMIN_SECRET_ARN", ADMIN_ARN)
    admin = {"username": "admin", "password": "adm", "console_url": "https://c"}
    secrets = FakeSecrets({ADMIN_ARN: admin})
    handler = load_handler()
    calls: list[tuple] = []
    handler._management = lambda url, method, path, who, body=None: (
        calls.append((method, path, who["password"])) or {}
    )
    rotate(handler, secrets, arn=ADMIN_ARN)
    new = "N" * 64
    assert calls == [
        ("GET", "/api/users/admin", "adm"),
        ("PUT", "/api/users/admin", "adm"),
        ("GET", "/api/whoami", new),
    ]
    assert secrets.document(ADMIN_ARN, "AWSCURRENT") == {**admin, "password": new}


def test_a_failed_test_leaves_the_current_value_current(monkeypatch):
    monkeypatch.setenv("ROTATION_TARGET", "redis")
    monkeypatch.setenv("REPLICATION_GROUP_ID", "g")
    secrets = FakeSecrets({ARN: {"host": "h", "port": 6379, "auth_token": "old"}})
    handler = load_handler()

    def refuse(*_):
        raise ValueError("h:6379 refused the new AUTH token")

    handler._redis_auth = refuse
    with pytest.raises(ValueError, match="refused the new AUTH token"):
        rotate(handler, secrets, clients={"elasticache": FakeCache()})
    assert secrets.document(ARN, "AWSCURRENT")["auth_token"] == "old"


def test_a_retried_create_keeps_the_pending_value_and_a_finished_step_is_a_no_op(monkeypatch):
    monkeypatch.setenv("ROTATION_TARGET", "jwt")
    secrets = FakeSecrets({ARN: {"value": "old"}})
    handler = load_handler()
    rotate(handler, secrets, steps=("createSecret",))
    secrets.get_random_password = lambda **_: {"RandomPassword": "other"}
    event = {"SecretId": ARN, "ClientRequestToken": "v2", "Step": "createSecret"}
    handler.handler(event, None, clients={"secretsmanager": secrets})
    assert secrets.document(ARN, "AWSPENDING") == {"value": "N" * 64}
    for step in STEPS[1:]:
        handler.handler({**event, "Step": step}, None, clients={"secretsmanager": secrets})
    before = secrets.calls.count("UpdateSecretVersionStage")
    handler.handler({**event, "Step": "finishSecret"}, None, clients={"secretsmanager": secrets})
    assert secrets.calls.count("UpdateSecretVersionStage") == before == 1


@pytest.mark.parametrize(
    ("enabled", "token", "stages", "message"),
    [
        (False, "v2", {"AWSPENDING"}, "rotation is not enabled"),
        (True, "v9", None, "has no version v9"),
        (True, "v2", {"AWSPREVIOUS"}, "is not pending"),
    ],
)
def test_refuses_what_is_not_a_rotation_in_progress(monkeypatch, enabled, token, stages, message):
    monkeypatch.setenv("ROTATION_TARGET", "jwt")
    secrets = FakeSecrets({ARN: {"value": "old"}}, rotation_enabled=enabled)
    if stages is not None:
        secrets.versions[ARN]["v2"] = {"string": None, "stages": stages}
    event = {"SecretId": ARN, "ClientRequestToken": token, "Step": "createSecret"}
    with pytest.raises(ValueError, match=message):
        load_handler().handler(event, None, clients={"secretsmanager": secrets})
