"""The RabbitMQ topology Job's program (app/jobs/rabbitmq_topology.py), imported as a module:
what it asks of the management API for a topology, and how it fails, against a fake API behind
its one HTTP function (`urllib.request.urlopen`). tests/app/test_rabbitmq.py runs the same
program as the Job does, as a process against a fake broker over verified TLS."""

from __future__ import annotations

import base64
import importlib.resources
import importlib.util
import io
import json
import re
import ssl
import stat
import urllib.error
from types import ModuleType

import pytest

from osp.app.events import EventRoute
from osp.app.rabbitmq import PROGRAM, permissions, topology

URL = "https://b-1234.mq.us-east-1.amazonaws.com"
AMQPS = "amqps://b-1234.mq.us-east-1.amazonaws.com:5671"
EVENTS = (
    EventRoute("enrollment-completed", "enrollment", ("notification", "certificate")),
    EventRoute("payment-completed", "payment", ("enrollment",)),
    EventRoute("lesson-viewed", "course", ()),
)
PLANNED = topology(EVENTS, delivery_limit=5, dead_letter_retention_days=14)
SERVICES = ["enrollment", "notification", "certificate", "payment", "course"]


def load_program() -> ModuleType:
    """The shipped file as a module of its own (never imported by osp)."""
    shipped = importlib.resources.files("osp.app").joinpath("jobs/rabbitmq_topology.py")
    with importlib.resources.as_file(shipped) as path:
        spec = importlib.util.spec_from_file_location("rabbitmq_topology_job", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


job = load_program()


class FakeManagementApi:
    """Records every request the program sends; answers 2xx unless told to fail a path."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.failures: dict[str, Exception] = {}

    def fail(self, path: str, code: int, body: bytes) -> None:
        url = URL + path
        self.failures[path] = urllib.error.HTTPError(url, code, "Bad", {}, io.BytesIO(body))

    def urlopen(self, request, *, timeout, context):
        path = request.full_url.removeprefix(URL)
        self.calls.append(
            {
                "method": request.get_method(),
                "path": path,
                "body": json.loads(request.data),
                "headers": dict(request.header_items()),
                "timeout": timeout,
                "context": context,
            }
        )
        if path in self.failures:
            raise self.failures[path]
        return io.BytesIO(b"")

    def sent(self, kind: str) -> list[dict]:
        """The calls to /api/<kind>/…, in order."""
        return [c for c in self.calls if c["path"].split("/")[2] == kind]


@pytest.fixture
def api(monkeypatch) -> FakeManagementApi:
    fake = FakeManagementApi()
    monkeypatch.setattr(job.urllib.request, "urlopen", fake.urlopen)
    return fake


def apply(stored: dict | None = None, planned: dict | None = None) -> dict:
    broker = job.Broker(URL + "/", "osp_admin", "admin-password")
    return job.apply(broker, planned or PLANNED, stored or {}, AMQPS)


def test_the_module_is_the_program_the_job_ships():
    shipped = importlib.resources.files("osp.app").joinpath("jobs/rabbitmq_topology.py")
    assert shipped.read_text("utf-8") == PROGRAM


# --- what the broker is asked for ----------------------------------------------------------


def test_exchanges_then_queues_then_bindings_then_users(api):
    apply()
    kinds = [call["path"].split("/")[2] for call in api.calls]
    exchanges, queues, bindings = len(PLANNED["exchanges"]), len(PLANNED["queues"]), 6
    assert kinds == (
        ["exchanges"] * exchanges
        + ["queues"] * queues
        + ["bindings"] * bindings
        + ["users", "permissions"] * len(SERVICES)
    )
    assert (exchanges, queues) == (4, 6)  # 3 events and the dead-letter exchange; 3 + 3 DLQs


def test_every_call_is_authenticated_verified_and_bounded(api):
    apply()
    token = base64.b64encode(b"osp_admin:admin-password").decode()
    for call in api.calls:
        assert call["headers"]["Authorization"] == f"Basic {token}"
        assert call["headers"]["Content-type"] == "application/json"
        assert call["timeout"] == job.TIMEOUT_SECONDS == 30
        assert call["context"].verify_mode == ssl.CERT_REQUIRED
        assert call["context"].check_hostname is True
        # Idempotent only: nothing is ever deleted.
        assert call["method"] in ("PUT", "POST")


def test_exchanges_are_durable_and_of_their_type(api):
    apply()
    assert [(c["method"], c["path"], c["body"]) for c in api.sent("exchanges")] == [
        (
            "PUT",
            f"/api/exchanges/%2F/{name}",
            {
                "type": kind,
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            },
        )
        for name, kind in (
            ("enrollment-completed", "fanout"),
            ("payment-completed", "fanout"),
            ("lesson-viewed", "fanout"),
            ("osp.dead-letter", "direct"),
        )
    ]


def test_each_consumer_gets_a_quorum_queue_that_dead_letters_to_its_own_queue(api):
    apply()
    declared = {c["path"].rsplit("/", 1)[1]: c["body"] for c in api.sent("queues")}
    bound = {
        (c["path"].split("/")[5], c["path"].split("/")[7], c["body"]["routing_key"])
        for c in api.sent("bindings")
    }
    consumers = [(c, r.event) for r in EVENTS for c in r.consumers]
    assert set(declared) == {f"{c}.{e}" for c, e in consumers} | {
        f"{c}.{e}.dlq" for c, e in consumers
    }
    for consumer, event in consumers:
        queue = declared[f"{consumer}.{event}"]
        assert queue["durable"] is True and queue["auto_delete"] is False
        arguments = queue["arguments"]
        assert arguments["x-queue-type"] == "quorum"
        assert arguments["x-delivery-limit"] == 5
        assert arguments["x-dead-letter-strategy"] == "at-least-once"
        assert arguments["x-overflow"] == "reject-publish"
        # The event's exchange fans out to the queue…
        assert (event, f"{consumer}.{event}", "") in bound
        # …and a dead letter goes through the dead-letter exchange, by its routing key, to a
        # queue of its own: the consumer's, for this event, and nobody else's.
        exchange, key = arguments["x-dead-letter-exchange"], arguments["x-dead-letter-routing-key"]
        targets = [dst for src, dst, rk in bound if src == exchange and rk == key]
        assert targets == [f"{consumer}.{event}.dlq"]
        dead_letters = declared[targets[0]]["arguments"]
        assert dead_letters == {"x-queue-type": "quorum", "x-message-ttl": 14 * 86_400_000}


def test_an_event_without_consumers_has_no_queue(api):
    apply()
    assert not [c for c in api.calls if "lesson-viewed" in c["path"] and "queues" in c["path"]]
    assert not [c for c in api.sent("bindings") if "/e/lesson-viewed/" in c["path"]]


def test_each_user_gets_exactly_its_permissions_and_no_tags(api):
    apply()
    users = {c["path"].rsplit("/", 1)[1]: c["body"] for c in api.sent("users")}
    granted = {c["path"].rsplit("/", 1)[1]: c["body"] for c in api.sent("permissions")}
    assert list(users) == list(granted) == SERVICES
    for service, expected in permissions(EVENTS).items():
        assert users[service]["tags"] == ""  # no management access
        assert granted[service] == {
            "configure": expected.configure,
            "write": expected.write,
            "read": expected.read,
        }
    assert granted["course"] == {
        "configure": "^$",
        "write": r"^(?:lesson\-viewed)$",
        "read": "^$",
    }


def test_names_are_quoted_in_paths(api):
    planned = {
        "vhost": "/",
        "exchanges": [{"name": "a b/c", "type": "fanout"}],
        "queues": [{"name": "q?x", "arguments": {}}],
        "bindings": [{"source": "a b/c", "destination": "q?x", "routing_key": ""}],
        "users": [{"name": "u#1", "configure": "^$", "write": "^$", "read": "^$"}],
    }
    apply(planned=planned)
    assert [c["path"] for c in api.calls] == [
        "/api/exchanges/%2F/a%20b%2Fc",
        "/api/queues/%2F/q%3Fx",
        "/api/bindings/%2F/e/a%20b%2Fc/q/q%3Fx",
        "/api/users/u%231",
        "/api/permissions/%2F/u%231",
    ]


# --- passwords ------------------------------------------------------------------------------


def test_new_users_get_new_strong_passwords_to_store(api):
    to_store = apply()
    assert list(to_store) == SERVICES
    passwords = {c["path"].rsplit("/", 1)[1]: c["body"]["password"] for c in api.sent("users")}
    for service, document in to_store.items():
        assert re.fullmatch(r"[A-Za-z0-9]{32}", passwords[service])
        assert document == {"username": service, "password": passwords[service], "endpoint": AMQPS}
    assert len(set(passwords.values())) == len(SERVICES)


def test_stored_passwords_are_kept_and_only_changed_documents_stored_again(api):
    current = {"username": "payment", "password": "Kept0Kept0Kept0", "endpoint": AMQPS}
    moved = {"username": "course", "password": "Moved0Moved0", "endpoint": "amqps://old:5671"}
    unusable = {"username": "enrollment", "password": ""}
    to_store = apply({"payment": current, "course": moved, "enrollment": unusable})
    passwords = {c["path"].rsplit("/", 1)[1]: c["body"]["password"] for c in api.sent("users")}
    assert passwords["payment"] == "Kept0Kept0Kept0"
    assert passwords["course"] == "Moved0Moved0"
    assert re.fullmatch(r"[A-Za-z0-9]{32}", passwords["enrollment"])
    assert "payment" not in to_store  # already stored as it is
    assert to_store["course"] == {
        "username": "course",
        "password": "Moved0Moved0",
        "endpoint": AMQPS,
    }
    assert set(to_store) == {"enrollment", "notification", "certificate", "course"}


# --- how it fails ---------------------------------------------------------------------------


def test_refuses_a_management_url_that_is_not_https():
    with pytest.raises(job.Refused, match=re.escape("MANAGEMENT_URL: got 'http://b:15672'; ")):
        job.Broker("http://b:15672", "osp_admin", "x")


def test_an_inequivalent_queue_stops_everything_after_it_with_the_way_out(api):
    body = json.dumps(
        {"error": "precondition_failed", "reason": "inequivalent arg 'x-delivery-limit'"}
    )
    api.fail("/api/queues/%2F/notification.enrollment-completed", 406, body.encode())
    with pytest.raises(job.Refused) as refused:
        apply()
    message = str(refused.value)
    assert message.startswith(
        "queue notification.enrollment-completed: HTTP 406: inequivalent arg 'x-delivery-limit' "
        "(RabbitMQ cannot change an existing queue's or exchange's arguments and osp never "
        "deletes one: delete it by hand"
    )
    assert api.calls[-1]["path"] == "/api/queues/%2F/notification.enrollment-completed"
    assert api.sent("users") == []


def test_an_error_without_a_json_body_gives_the_http_reason(api):
    api.fail("/api/exchanges/%2F/enrollment-completed", 401, b"<html>Unauthorized</html>")
    with pytest.raises(job.Refused, match=r"^exchange enrollment-completed: HTTP 401: Bad$"):
        apply()


def test_a_long_reason_is_cut_short(api):
    api.fail(
        "/api/exchanges/%2F/enrollment-completed", 400, json.dumps({"reason": "x" * 5000}).encode()
    )
    with pytest.raises(job.Refused) as refused:
        apply()
    assert str(refused.value) == "exchange enrollment-completed: HTTP 400: " + "x" * 1000


def test_an_unreachable_broker_is_named(api, monkeypatch):
    def unreachable(request, *, timeout, context):
        raise urllib.error.URLError("timed out")

    monkeypatch.setattr(job.urllib.request, "urlopen", unreachable)
    with pytest.raises(
        job.Refused,
        match=re.escape(f"exchange enrollment-completed: cannot reach {URL}: timed out"),
    ):
        apply()


# --- main: the files it reads and writes ----------------------------------------------------


def pod_files(tmp_path, admin: dict | None) -> dict[str, str]:
    (tmp_path / "stored").mkdir()
    (tmp_path / "topology.json").write_text(json.dumps(PLANNED))
    if admin is not None:
        (tmp_path / "admin.json").write_text(json.dumps(admin))
    return {
        "CREDENTIALS_DIR": str(tmp_path),
        "TOPOLOGY_FILE": str(tmp_path / "topology.json"),
        "MANAGEMENT_URL": URL,
        "AMQPS_ENDPOINT": AMQPS,
    }


@pytest.mark.parametrize("admin", [None, {"username": "osp_admin"}, ["osp_admin", "x"]])
def test_main_refuses_without_the_admin_credentials(tmp_path, api, admin):
    with pytest.raises(
        job.Refused, match=re.escape("admin.json: expected the broker's admin credentials")
    ):
        job.main(pod_files(tmp_path, admin))
    assert api.calls == []


def test_main_writes_what_to_store_for_the_next_container_only(tmp_path, api):
    environ = pod_files(tmp_path, {"username": "osp_admin", "password": "x"})
    kept = {"username": "payment", "password": "Kept0Kept0", "endpoint": AMQPS}
    (tmp_path / "stored" / "payment.json").write_text(json.dumps(kept))
    assert job.main(environ) == 0
    written = sorted(p.name for p in (tmp_path / "new").iterdir())
    assert written == sorted(f"{s}.json" for s in SERVICES if s != "payment")
    for path in (tmp_path / "new").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert json.loads(path.read_text())["endpoint"] == AMQPS
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700


def test_read_json_tells_a_missing_file_from_a_present_one(tmp_path):
    assert job.read_json(tmp_path / "absent.json") is None
    (tmp_path / "present.json").write_text('{"a": 1}')
    assert job.read_json(tmp_path / "present.json") == {"a": 1}
