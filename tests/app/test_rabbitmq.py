"""`RabbitMqTopology`: the topology and permissions, the Job that applies them (its scripts and
its program run here against a fake AWS CLI and a fake RabbitMQ management API over verified
TLS), and everything it plans — through the offline engine."""

from __future__ import annotations

import copy
import datetime
import ipaddress
import json
import os
import re
import shutil
import ssl
import stat
import subprocess
import sys
import threading
import urllib.parse
from base64 import b64decode
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pytest

from osp.app.events import EventRoute
from osp.app.pods import image_problem
from osp.app.rabbitmq import (
    AWS_CLI_IMAGE,
    DEAD_LETTER_EXCHANGE,
    NOTHING,
    PROGRAM,
    PYTHON_IMAGE,
    READ_SCRIPT,
    STORE_SCRIPT,
    RabbitMqTopology,
    RabbitMqTopologyArgs,
    exactly,
    fingerprint,
    permissions,
    problems,
    topology,
)
from osp.components.broker import credentials_document
from osp.platform.catalogue import load_catalogue
from osp.platform.engine import offline
from osp.platform.limits import KUBERNETES_VERSIONS
from osp.platform.validation import InvalidArguments
from tests.app import k8s as manifests_of
from tests.support import plan_component, spec_of

ACCOUNT = "123456789012"
REGION = "us-east-1"
NAMESPACE = "osp-services"
NAME = "osp-prod-broker-topology"
ADMIN_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:osp-prod-rabbitmq-admin-AbCdEf"
SECRETS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f1e2d3c-secrets"
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
OIDC_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"
CONSOLE = "https://b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9.mq.us-east-1.amazonaws.com"
AMQPS = "amqps://b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9.mq.us-east-1.amazonaws.com:5671"
ISOLATED = ("10.0.64.0/20", "10.0.80.0/20")
PRIVATE = ("10.0.16.0/20",)
LABELS = {"app.kubernetes.io/part-of": "learning-hub"}
TAGS = {"osp:environment": "prod", "osp:component": "services"}

SECRET = "aws:secretsmanager/secret:Secret"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
JOB = "kubernetes:batch/v1:Job"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
ACCOUNT_TYPE = "kubernetes:core/v1:ServiceAccount"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"

#: learning-hub's events (blueprints/learning-hub/blueprint.yaml).
EVENTS = tuple(
    EventRoute(event=e.name, publisher=e.publisher, consumers=e.consumers)
    for e in load_catalogue("learning-hub").events.values()
)
SERVICES = ("enrollment", "notification", "certificate", "payment")


def args(**overrides) -> RabbitMqTopologyArgs:
    return RabbitMqTopologyArgs(
        **{
            "namespace": NAMESPACE,
            "events": EVENTS,
            "admin_secret_arn": ADMIN_SECRET,
            "secrets_kms_key_arn": SECRETS_KEY,
            "secret_name_prefix": "osp-prod-broker",
            "management_url": CONSOLE,
            "amqps_endpoint": AMQPS,
            "oidc_provider_arn": OIDC_ARN,
            "oidc_provider_url": ISSUER,
            "role_name": "osp-prod-broker-setup",
            "broker_cidrs": ISOLATED,
            "endpoint_cidrs": PRIVATE,
            "labels": LABELS,
            "tags": TAGS,
            **overrides,
        }
    )


def plan_topology(topology_args: RabbitMqTopologyArgs | None = None):
    """The plan of one RabbitMqTopology as stacks/services.py builds it: the Kubernetes
    provider passed by package, and a dependency on the namespace the caller made."""
    return plan_component(
        manifests_of.on_cluster(RabbitMqTopology, namespace=NAMESPACE),
        topology_args or args(),
        name=NAME,
        exports=("credentials_secret_arns", "job_name", "role_arn"),
    )


@pytest.fixture(scope="module")
def plan():
    return plan_topology()


def one(plan_, token, name=None):
    found = [r for r in plan_.of_type(token) if name is None or r.name == name]
    (resource,) = found
    return resource


def job_spec(plan_):
    return one(plan_, JOB).inputs["spec"]


def pod_spec(plan_):
    return job_spec(plan_)["template"]["spec"]


def containers(plan_):
    spec = pod_spec(plan_)
    return {c["name"]: c for c in spec["initContainers"] + spec["containers"]}


def env_of(container) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container["env"]}


def statements(resource) -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(resource.inputs["policy"])["Statement"]}


# --- topology and permissions --------------------------------------------------------------


def test_learning_hub_topology():
    planned = topology(EVENTS, delivery_limit=5, dead_letter_retention_days=14)
    assert planned["vhost"] == "/"
    assert planned["exchanges"] == [
        {"name": "enrollment-completed", "type": "fanout"},
        {"name": "course-completed", "type": "fanout"},
        {"name": "payment-completed", "type": "fanout"},
        {"name": "osp.dead-letter", "type": "direct"},
    ]
    pairs = [
        ("notification", "enrollment-completed"),
        ("certificate", "course-completed"),
        ("enrollment", "payment-completed"),
    ]
    expected_queues = []
    expected_bindings = []
    for consumer, event in pairs:
        queue = f"{consumer}.{event}"
        expected_queues += [
            {
                "name": queue,
                "arguments": {
                    "x-queue-type": "quorum",
                    "x-delivery-limit": 5,
                    "x-dead-letter-exchange": "osp.dead-letter",
                    "x-dead-letter-routing-key": f"{queue}.dlq",
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                },
            },
            {
                "name": f"{queue}.dlq",
                "arguments": {"x-queue-type": "quorum", "x-message-ttl": 14 * 86_400_000},
            },
        ]
        expected_bindings += [
            {"source": event, "destination": queue, "routing_key": ""},
            {
                "source": "osp.dead-letter",
                "destination": f"{queue}.dlq",
                "routing_key": f"{queue}.dlq",
            },
        ]
    assert planned["queues"] == expected_queues
    assert planned["bindings"] == expected_bindings
    assert planned["users"] == [
        {
            "name": "enrollment",
            "configure": "^$",
            "write": r"^(?:course\-completed|enrollment\-completed)$",
            "read": r"^(?:enrollment\.payment\-completed)$",
        },
        {
            "name": "notification",
            "configure": "^$",
            "write": "^$",
            "read": r"^(?:notification\.enrollment\-completed)$",
        },
        {
            "name": "certificate",
            "configure": "^$",
            "write": "^$",
            "read": r"^(?:certificate\.course\-completed)$",
        },
        {"name": "payment", "configure": "^$", "write": r"^(?:payment\-completed)$", "read": "^$"},
    ]


def test_an_event_without_consumers_gets_its_exchange_and_no_dead_letter_exchange():
    planned = topology(
        [EventRoute("lesson-viewed", "course", ())], delivery_limit=3, dead_letter_retention_days=1
    )
    assert planned["exchanges"] == [{"name": "lesson-viewed", "type": "fanout"}]
    assert planned["queues"] == planned["bindings"] == []
    assert planned["users"] == [
        {"name": "course", "configure": "^$", "write": r"^(?:lesson\-viewed)$", "read": "^$"}
    ]


def _names():
    """Every exchange and queue of learning-hub's topology, with lookalikes a loose regex
    would also match, and the default exchange: RabbitMQ checks permissions on it under the
    name `amq.default` (never ""), so `^$` grants nothing, not even publishing straight into
    queues by name."""
    planned = topology(EVENTS, delivery_limit=5, dead_letter_retention_days=14)
    names = [e["name"] for e in planned["exchanges"]] + [q["name"] for q in planned["queues"]]
    lookalikes = [
        "enrollmentXpayment-completed",
        "xpayment-completed",
        "payment-completedx",
        "payment-completed.dlq",
        "notification.enrollment-completedx",
        ".*",
        "amq.default",
    ]
    return planned, names + lookalikes


def test_each_service_writes_exactly_its_events_and_reads_exactly_its_queues():
    planned, names = _names()
    for user in planned["users"]:
        service = user["name"]
        published = {r.event for r in EVENTS if r.publisher == service}
        consumed = {f"{service}.{r.event}" for r in EVENTS if service in r.consumers}
        # RabbitMQ matches the whole name against the regex (Erlang re: PCRE, as Python's re
        # for these patterns).
        assert {n for n in names if re.search(user["write"], n)} == published, service
        assert {n for n in names if re.search(user["read"], n)} == consumed, service
        assert {n for n in names if re.search(user["configure"], n)} == set(), service


def test_publishers_cannot_read_consumers_cannot_write_nobody_configures():
    for service, granted in permissions(EVENTS).items():
        assert granted.configure == NOTHING
        if service == "payment":  # publishes only
            assert granted.read == NOTHING
        if service in ("notification", "certificate"):  # consume only
            assert granted.write == NOTHING
    # No service may publish to the dead-letter exchange or read a dead-letter queue.
    _, names = _names()
    for granted in permissions(EVENTS).values():
        assert not re.search(granted.write, DEAD_LETTER_EXCHANGE)
        assert not [n for n in names if n.endswith(".dlq") and re.search(granted.read, n)]


def test_permission_regexes_are_anchored_and_escaped():
    assert exactly([]) == "^$"
    assert exactly(["a.b", "a.b", "c-d"]) == r"^(?:a\.b|c\-d)$"
    pattern = exactly(["a.b"])
    assert re.search(pattern, "a.b")
    for other in ("aXb", "a.bc", "za.b", "a.b.dlq", ""):
        assert not re.search(pattern, other), other


# --- a fake RabbitMQ management API, over TLS a test CA signed ------------------------------


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate it signed for 127.0.0.1: (ca.pem, server.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "osp test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    usage = dict.fromkeys(
        (
            "content_commitment",
            "data_encipherment",
            "key_agreement",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                key_encipherment=False,
                key_cert_sign=True,
                crl_sign=True,
                **usage,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            # 127.0.0.1 only: `localhost` reaches the same server under a name it lacks.
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    paths = directory / "ca.pem", directory / "server.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(server.public_bytes(pem))
    paths[2].write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


class FakeBroker:
    """The parts of RabbitMQ's management API the program uses, with RabbitMQ's answers:
    201 created, 204 already so, 400 for an inequivalent redeclaration, 401 for bad
    credentials."""

    def __init__(self, username: str, password: str) -> None:
        self.admin = f"{username}:{password}"
        self.exchanges: dict[str, dict] = {}
        self.queues: dict[str, dict] = {}
        self.bindings: set[tuple[str, str, str]] = set()
        self.users: dict[str, dict] = {}
        self.permissions: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def state(self) -> dict:
        return copy.deepcopy(
            {
                "exchanges": self.exchanges,
                "queues": self.queues,
                "bindings": sorted(self.bindings),
                "users": self.users,
                "permissions": self.permissions,
            }
        )

    def handle(self, method: str, path: str, headers, body: bytes) -> tuple[int, dict | None]:
        with self.lock:
            self.requests.append((method, path))
            auth = headers.get("Authorization", "")
            if not auth.startswith("Basic ") or b64decode(auth[6:]).decode() != self.admin:
                return 401, {"error": "not_authorised", "reason": "Login failed"}
            if headers.get("Content-Type") != "application/json":
                return 415, {"error": "unsupported_media_type"}
            parts = [urllib.parse.unquote(p) for p in path.split("/")[2:]]
            document = json.loads(body)
            return self._route(method, parts, document)

    def _declare(self, kind: str, table: dict, name: str, document: dict, keys) -> tuple:
        current = table.get(name)
        if current is not None:
            for key in keys:
                if current.get(key) != document.get(key):
                    return 400, {
                        "error": "bad_request",
                        "reason": f"inequivalent arg '{key}' for {kind} '{name}' in vhost '/'",
                    }
            return 204, None
        table[name] = document
        return 201, None

    def _route(self, method: str, parts: list[str], doc: dict) -> tuple[int, dict | None]:
        match method, parts:
            case "PUT", ["exchanges", "/", name]:
                keys = ("type", "durable", "auto_delete", "internal", "arguments")
                return self._declare("exchange", self.exchanges, name, doc, keys)
            case "PUT", ["queues", "/", name]:
                if doc["arguments"].get("x-queue-type") == "quorum" and (
                    not doc["durable"] or doc["auto_delete"]
                ):
                    return 400, {"error": "bad_request", "reason": "quorum queues are durable"}
                current = self.queues.get(name)
                if current is not None:
                    for key in set(current["arguments"]) | set(doc["arguments"]):
                        if current["arguments"].get(key) != doc["arguments"].get(key):
                            return 400, {
                                "error": "precondition_failed",
                                "reason": f"inequivalent arg '{key}' for queue "
                                f"'{name}' in vhost '/'",
                            }
                return self._declare("queue", self.queues, name, doc, ("durable", "auto_delete"))
            case "POST", ["bindings", "/", "e", source, "q", destination]:
                if source not in self.exchanges or destination not in self.queues:
                    return 404, {"error": "Object Not Found", "reason": "Not Found"}
                self.bindings.add((source, destination, doc["routing_key"]))
                return 201, None
            case "PUT", ["users", name]:
                if set(doc) != {"password", "tags"}:
                    return 400, {"error": "bad_request", "reason": "password and tags"}
                existed = name in self.users
                self.users[name] = doc
                return (204 if existed else 201), None
            case "PUT", ["permissions", "/", name]:
                if name not in self.users:
                    return 400, {"error": "bad_request", "reason": "no_such_user"}
                if set(doc) != {"configure", "write", "read"}:
                    return 400, {"error": "bad_request", "reason": "configure, write, read"}
                existed = name in self.permissions
                self.permissions[name] = doc
                return (204 if existed else 201), None
        return 405, {"error": "Method Not Allowed"}


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return _certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def broker(tls):
    """A FakeBroker served over HTTPS on 127.0.0.1 with the test CA's certificate."""
    fake = FakeBroker("osp_admin", "Adm1nPassw0rdAdm1nPassw0rdAdm1nP")

    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            length = int(self.headers.get("Content-Length", 0))
            status, reply = fake.handle(
                self.command, self.path, self.headers, self.rfile.read(length)
            )
            data = json.dumps(reply).encode() if reply is not None else b""
            self.send_response(status)
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_PUT = do_POST = _serve

        def log_message(self, *_):
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, *_):
            pass  # a client that refuses the certificate is the point of one test

    server = Server(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls[1], tls[2])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"https://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()


class Workdir:
    """One Job pod's filesystem: the ConfigMap, and the memory volume of credentials."""

    def __init__(self, root: Path, broker: FakeBroker, tls, program=PROGRAM, planned=None):
        self.root, self.broker, self.tls = root, broker, tls
        self.config = root / "config"
        self.config.mkdir(parents=True)
        self.program = self.config / "apply.py"
        self.program.write_text(program)
        planned = planned or topology(EVENTS, delivery_limit=5, dead_letter_retention_days=14)
        (self.config / "topology.json").write_text(json.dumps(planned))
        self.credentials = root / "credentials"

    def fresh_pod(self, admin: dict, stored: dict[str, dict] | None = None) -> None:
        """An empty credentials volume, filled as the read-credentials container fills it."""
        shutil.rmtree(self.credentials, ignore_errors=True)
        (self.credentials / "stored").mkdir(parents=True, exist_ok=True)
        (self.credentials / "admin.json").write_text(json.dumps(admin))
        for service, document in (stored or {}).items():
            (self.credentials / "stored" / f"{service}.json").write_text(json.dumps(document))

    def run(self, url: str | None = None, *, trust: bool = True) -> subprocess.CompletedProcess:
        env = {
            "PATH": os.environ["PATH"],
            "CREDENTIALS_DIR": str(self.credentials),
            "TOPOLOGY_FILE": str(self.config / "topology.json"),
            "MANAGEMENT_URL": url or self.broker.url,
            "AMQPS_ENDPOINT": AMQPS,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        if trust:
            # OpenSSL's default verify paths honour SSL_CERT_FILE: the test CA stands in for
            # the image's CA bundle, and nothing else in the program changes. Without it,
            # the system's CAs, which never signed the test server's certificate.
            env["SSL_CERT_FILE"] = str(self.tls[0])
        return subprocess.run(
            [sys.executable, str(self.program)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def new(self) -> dict[str, dict]:
        folder = self.credentials / "new"
        return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def admin_document(fake: FakeBroker) -> dict:
    username, password = fake.admin.split(":")
    return json.loads(
        credentials_document(
            username=username, password=password, endpoint=AMQPS, console_url=fake.url
        )
    )


def test_program_applies_the_topology(tmp_path, broker, tls):
    pod = Workdir(tmp_path, broker, tls)
    pod.fresh_pod(admin_document(broker))
    result = pod.run()
    assert result.returncode == 0, result.stderr

    assert broker.exchanges == {
        name: {
            "type": kind,
            "durable": True,
            "auto_delete": False,
            "internal": False,
            "arguments": {},
        }
        for name, kind in (
            ("enrollment-completed", "fanout"),
            ("course-completed", "fanout"),
            ("payment-completed", "fanout"),
            ("osp.dead-letter", "direct"),
        )
    }
    planned = topology(EVENTS, delivery_limit=5, dead_letter_retention_days=14)
    assert broker.queues == {
        q["name"]: {"durable": True, "auto_delete": False, "arguments": q["arguments"]}
        for q in planned["queues"]
    }
    assert broker.bindings == {
        (b["source"], b["destination"], b["routing_key"]) for b in planned["bindings"]
    }
    assert broker.permissions == {
        u["name"]: {"configure": u["configure"], "write": u["write"], "read": u["read"]}
        for u in planned["users"]
    }
    assert set(broker.users) == set(SERVICES)
    new = pod.new()
    assert set(new) == set(SERVICES)
    for service, document in new.items():
        password = broker.users[service]["password"]
        assert broker.users[service]["tags"] == ""  # no management access
        assert re.fullmatch(r"[A-Za-z0-9]{32}", password)
        assert document == {"username": service, "password": password, "endpoint": AMQPS}
        path = pod.credentials / "new" / f"{service}.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len({broker.users[s]["password"] for s in SERVICES}) == len(SERVICES)
    # Exchanges and queues exist before anything binds to them; users last.
    kinds = [path.split("/")[2] for _, path in broker.requests]
    assert kinds == (
        ["exchanges"] * 4 + ["queues"] * 6 + ["bindings"] * 6 + ["users", "permissions"] * 4
    )
    # No password, the admin's or a service's, in what the pod logs.
    for secret in [broker.admin.split(":")[1], *(u["password"] for u in broker.users.values())]:
        assert secret not in result.stdout + result.stderr


def test_program_second_run_changes_nothing(tmp_path, broker, tls):
    pod = Workdir(tmp_path, broker, tls)
    pod.fresh_pod(admin_document(broker))
    assert pod.run().returncode == 0
    stored = pod.new()
    first_state, first_requests = broker.state(), list(broker.requests)

    pod.fresh_pod(admin_document(broker), stored)
    result = pod.run()
    assert result.returncode == 0, result.stderr
    assert broker.state() == first_state
    assert broker.requests[len(first_requests) :] == first_requests
    assert pod.new() == {}  # nothing to store again


def test_program_keeps_a_stored_password_and_rewrites_a_stale_document(tmp_path, broker, tls):
    kept = "StoredPassw0rdStoredPassw0rdStor"
    stale = "Another0Passw0rdAnother0Passw0rd"
    pod = Workdir(tmp_path, broker, tls)
    pod.fresh_pod(
        admin_document(broker),
        {
            "payment": {"username": "payment", "password": kept, "endpoint": AMQPS},
            "enrollment": {
                "username": "enrollment",
                "password": stale,
                "endpoint": "amqps://old-broker:5671",
            },
        },
    )
    assert pod.run().returncode == 0
    assert broker.users["payment"]["password"] == kept
    assert broker.users["enrollment"]["password"] == stale
    new = pod.new()
    assert "payment" not in new
    assert new["enrollment"] == {"username": "enrollment", "password": stale, "endpoint": AMQPS}
    assert set(new) == {"enrollment", "notification", "certificate"}


def test_program_replaces_an_unusable_stored_document(tmp_path, broker, tls):
    pod = Workdir(tmp_path, broker, tls)
    pod.fresh_pod(admin_document(broker), {"payment": {"username": "payment", "password": ""}})
    assert pod.run().returncode == 0
    password = broker.users["payment"]["password"]
    assert re.fullmatch(r"[A-Za-z0-9]{32}", password)
    assert pod.new()["payment"]["password"] == password


def test_program_explains_an_inequivalent_queue_and_stops(tmp_path, broker, tls):
    broker.queues["enrollment.payment-completed"] = {
        "durable": True,
        "auto_delete": False,
        "arguments": {"x-queue-type": "quorum", "x-delivery-limit": 20},
    }
    pod = Workdir(tmp_path, broker, tls)
    pod.fresh_pod(admin_document(broker))
    result = pod.run()
    assert result.returncode == 1
    assert result.stderr.startswith(
        "error: queue enrollment.payment-completed: HTTP 400: inequivalent arg"
    )
    assert "osp never deletes one: delete it by hand" in result.stderr
    assert "Traceback" not in result.stderr
    assert broker.users == {}  # stopped before any user
    assert not (pod.credentials / "new").exists()


def test_program_refuses_wrong_admin_credentials(tmp_path, broker, tls):
    pod = Workdir(tmp_path, broker, tls)
    pod.fresh_pod({"username": "osp_admin", "password": "wrong"})
    result = pod.run()
    assert result.returncode == 1
    assert result.stderr.strip() == "error: exchange enrollment-completed: HTTP 401: Login failed"
    assert "wrong" not in result.stdout + result.stderr


def test_program_refuses_missing_admin_credentials(tmp_path, broker, tls):
    pod = Workdir(tmp_path, broker, tls)
    pod.fresh_pod({"username": "osp_admin"})
    result = pod.run()
    assert result.returncode == 1
    assert "admin.json: expected the broker's admin credentials" in result.stderr
    assert broker.requests == []


def test_program_verifies_the_brokers_certificate(tmp_path, broker, tls):
    pod = Workdir(tmp_path, broker, tls)
    pod.fresh_pod(admin_document(broker))
    result = pod.run(trust=False)
    assert result.returncode == 1
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr
    assert broker.requests == []  # no request, so no credentials, ever left


def test_program_verifies_the_brokers_host_name(tmp_path, broker, tls):
    # A certificate the CA signed, but for 127.0.0.1, not for the name asked for.
    pod = Workdir(tmp_path, broker, tls)
    pod.fresh_pod(admin_document(broker))
    port = broker.url.rsplit(":", 1)[1]
    result = pod.run(f"https://localhost:{port}")
    assert result.returncode == 1
    assert "cannot reach https://localhost" in result.stderr
    assert "Hostname mismatch" in result.stderr
    assert broker.requests == []


def test_program_refuses_plain_http(tmp_path, broker, tls):
    pod = Workdir(tmp_path, broker, tls)
    pod.fresh_pod(admin_document(broker))
    result = pod.run("http://127.0.0.1:1")
    assert result.returncode == 1
    assert "MANAGEMENT_URL: got 'http://127.0.0.1:1'; expected an https:// URL" in result.stderr


# --- the AWS CLI containers, with a fake `aws` --------------------------------------------

FAKE_AWS = """\
import json, os, sys

args = sys.argv[1:]
with open(os.environ["FAKE_AWS_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
with open(os.environ["FAKE_AWS_STORE"]) as handle:
    store = json.load(handle)


def option(name):
    return args[args.index(name) + 1]


def fail(code, message):
    print(f"An error occurred ({code}) when calling the operation: {message}", file=sys.stderr)
    sys.exit(254)


assert args[0] == "secretsmanager", args
arn = option("--secret-id")
if arn in store.get("_denied", []):
    fail("AccessDeniedException", "not authorized")
if arn not in store:
    fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
value = store[arn]
if args[1] == "get-secret-value":
    assert (option("--query"), option("--output")) == ("SecretString", "text"), args
    if value is None:
        fail("ResourceNotFoundException", "can't find the specified secret value")
    print(value)
elif args[1] == "describe-secret":
    assert (option("--query"), option("--output")) == ("VersionIdsToStages", "json"), args
    print(json.dumps({"v1": ["AWSCURRENT"]}) if value is not None else "null")
elif args[1] == "put-secret-value":
    source = option("--secret-string")
    assert source.startswith("file://"), source
    with open(source[len("file://"):]) as handle:
        store[arn] = handle.read()
    with open(os.environ["FAKE_AWS_STORE"], "w") as handle:
        json.dump(store, handle)
    print("a1b2c3d4-version")
else:
    fail("InvalidRequest", args[1])
"""


class FakeAws:
    """Secrets Manager behind a fake `aws` on PATH: {arn: value or None (no version)}."""

    def __init__(self, root: Path, secrets: dict[str, str | None]) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.bin = root / "bin"
        self.bin.mkdir()
        executable = self.bin / "aws"
        executable.write_text(f"#!{sys.executable}\n{FAKE_AWS}")
        executable.chmod(0o755)
        self.store, self.log = root / "store.json", root / "calls.log"
        self.store.write_text(json.dumps(secrets))
        self.log.write_text("")

    @property
    def secrets(self) -> dict:
        return json.loads(self.store.read_text())

    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def run(self, command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
        environment = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "FAKE_AWS_STORE": str(self.store),
            "FAKE_AWS_LOG": str(self.log),
            **env,
        }
        return subprocess.run(
            command, env=environment, capture_output=True, text=True, timeout=60, check=False
        )


def test_read_script_fetches_the_admin_and_only_values_that_exist(tmp_path):
    service_arns = {s: f"{ADMIN_SECRET[:-6]}{s}-Ab12Cd" for s in ("payment", "certificate")}
    fake = FakeAws(
        tmp_path / "aws",
        {
            ADMIN_SECRET: '{"username": "osp_admin", "password": "x"}',
            service_arns["payment"]: '{"username": "payment"}',
            service_arns["certificate"]: None,
        },
    )
    credentials = tmp_path / "credentials"
    result = fake.run(
        ["/bin/sh", "-c", READ_SCRIPT],
        {
            "CREDENTIALS_DIR": str(credentials),
            "ADMIN_SECRET_ARN": ADMIN_SECRET,
            "SERVICE_SECRETS": "\n".join(f"{s} {a}" for s, a in service_arns.items()),
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "payment: credentials found\ncertificate: no credentials yet\n"
    assert json.loads((credentials / "admin.json").read_text())["username"] == "osp_admin"
    assert [p.name for p in (credentials / "stored").iterdir()] == ["payment.json"]
    assert stat.S_IMODE((credentials / "admin.json").stat().st_mode) == 0o600
    assert [c[1] for c in fake.calls()] == [
        "get-secret-value",
        "describe-secret",
        "get-secret-value",
        "describe-secret",
    ]


def test_read_script_stops_on_any_other_failure(tmp_path):
    arn = f"{ADMIN_SECRET[:-6]}payment-Ab12Cd"
    fake = FakeAws(tmp_path / "aws", {ADMIN_SECRET: "{}", arn: None, "_denied": [arn]})
    result = fake.run(
        ["/bin/sh", "-c", READ_SCRIPT],
        {
            "CREDENTIALS_DIR": str(tmp_path / "c"),
            "ADMIN_SECRET_ARN": ADMIN_SECRET,
            "SERVICE_SECRETS": f"payment {arn}",
        },
    )
    assert result.returncode != 0
    assert "AccessDeniedException" in result.stderr
    assert not (tmp_path / "c" / "stored" / "payment.json").exists()


def test_store_script_writes_only_what_the_program_left(tmp_path):
    arns = {s: f"{ADMIN_SECRET[:-6]}{s}-Ab12Cd" for s in ("payment", "certificate")}
    fake = FakeAws(tmp_path / "aws", dict.fromkeys(arns.values()))
    credentials = tmp_path / "credentials"
    (credentials / "new").mkdir(parents=True)
    (credentials / "new" / "certificate.json").write_text('{"username": "certificate"}')
    result = fake.run(
        ["/bin/sh", "-c", STORE_SCRIPT],
        {
            "CREDENTIALS_DIR": str(credentials),
            "SERVICE_SECRETS": "\n".join(f"{s} {a}" for s, a in arns.items()),
        },
    )
    assert result.returncode == 0, result.stderr
    assert fake.secrets == {
        arns["payment"]: None,
        arns["certificate"]: '{"username": "certificate"}',
    }
    assert [c[1] for c in fake.calls()] == ["put-secret-value"]


def test_the_planned_job_end_to_end_twice(tmp_path, broker, tls, plan):
    """The Job as planned — its containers' commands and env, its ConfigMap — run in order
    against fake AWS and a fake broker; then again, as a re-run would."""
    config = one(plan, CONFIG_MAP).inputs["data"]
    by_name = containers(plan)
    service_secrets = env_of(by_name["read-credentials"])["SERVICE_SECRETS"]
    arns = dict(line.split(" ") for line in service_secrets.splitlines())
    fake_aws = FakeAws(
        tmp_path / "aws",
        {ADMIN_SECRET: json.dumps(admin_document(broker)), **dict.fromkeys(arns.values())},
    )
    pod = Workdir(
        tmp_path / "pod",
        broker,
        tls,
        program=config["apply.py"],
        planned=json.loads(config["topology.json"]),
    )

    def run_pod() -> None:
        shutil.rmtree(pod.credentials, ignore_errors=True)  # a new pod, a new memory volume
        for name in ("read-credentials", "store-credentials"):
            container = by_name[name]
            env = env_of(container) | {"CREDENTIALS_DIR": str(pod.credentials)}
            if name == "store-credentials":
                result = pod.run()  # the apply-topology init container, before the main one
                assert result.returncode == 0, result.stderr
            result = fake_aws.run(container["command"], env)
            assert result.returncode == 0, result.stderr

    run_pod()
    stored = {
        arn: json.loads(value) for arn, value in fake_aws.secrets.items() if arn in arns.values()
    }
    assert {arns[s] for s in SERVICES} == set(stored)
    for service in SERVICES:
        assert stored[arns[service]] == {
            "username": service,
            "password": broker.users[service]["password"],
            "endpoint": AMQPS,
        }
    state = broker.state()
    puts = sum(c[1] == "put-secret-value" for c in fake_aws.calls())
    assert puts == len(SERVICES)

    run_pod()
    assert broker.state() == state
    assert sum(c[1] == "put-secret-value" for c in fake_aws.calls()) == puts
    assert {a: json.loads(v) for a, v in fake_aws.secrets.items() if a in arns.values()} == stored


# --- the plan ------------------------------------------------------------------------------


def descendants(plan_, urn):
    out = []
    for child in plan_.children(urn):
        out += [child, *descendants(plan_, child.urn)]
    return out


def test_exactly_these_resources(plan):
    (component,) = plan.of_type("osp:app:RabbitMqTopology")
    mine = descendants(plan, component.urn)
    assert Counter(r.type for r in mine if r.custom) == Counter(
        {SECRET: 4, ROLE: 1, ROLE_POLICY: 2, ACCOUNT_TYPE: 1, POLICY: 1, CONFIG_MAP: 1, JOB: 1}
    )
    assert {r.name for r in plan.children(component.urn)} == {
        *(f"{NAME}-{s}-credentials" for s in SERVICES),
        f"{NAME}-identity",
        f"{NAME}-store-credentials",
        f"{NAME}-service-account",
        f"{NAME}-network-policy",
        f"{NAME}-config",
        f"{NAME}-job",
    }


def test_aws_children_use_the_default_provider_and_kubernetes_the_given_one(plan):
    (provider,) = plan.of_type("pulumi:providers:kubernetes")
    aws_resources = [r for r in plan.resources if r.type.startswith("aws:")]
    assert len(aws_resources) == 7
    assert {r.provider for r in aws_resources} == {None}
    objects = [r for r in plan.resources if r.type.startswith("kubernetes:")]
    assert {r.provider for r in objects} == {provider.urn}


def test_credentials_secrets_are_empty_and_encrypted(plan):
    outputs = plan.outputs["credentials_secret_arns"]
    assert sorted(outputs) == sorted(SERVICES)
    for service in SERVICES:
        secret = one(plan, SECRET, f"{NAME}-{service}-credentials").inputs
        assert secret["name"] == f"osp-prod-broker/{service}/credentials"
        assert secret["kmsKeyId"] == SECRETS_KEY
        assert secret["recoveryWindowInDays"] == 30
        assert secret["tags"] == {
            "Name": f"{NAME}-{service}-credentials",
            **TAGS,
            "osp:secret-keys": "username password endpoint",
            "osp:secret-source": "generated",
        }
        assert "secretString" not in secret
        assert outputs[service].startswith(
            f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:osp-prod-broker/{service}/"
        )
    types = {r.type for r in plan.resources}
    assert "aws:secretsmanager/secretVersion:SecretVersion" not in types
    assert not any(t.startswith("random:") for t in types)


def test_no_password_in_any_plan_input(plan):
    found = []

    def walk(value, path):
        if value == manifests_of.SECRET:
            found.append(path)
        elif isinstance(value, dict):
            for key, item in value.items():
                if re.search(r"password|secretstring|secretbinary", key, re.I):
                    found.append(f"{path}.{key}")
                walk(item, f"{path}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")

    for resource in plan.resources:
        walk(dict(resource.inputs), resource.name)
    assert found == []
    # The shipped program and topology are code and names, nothing generated.
    data = one(plan, CONFIG_MAP).inputs["data"]
    assert data == {
        "apply.py": PROGRAM,
        "topology.json": json.dumps(
            topology(EVENTS, delivery_limit=5, dead_letter_retention_days=14),
            indent=2,
            sort_keys=True,
        ),
    }


def test_role_reads_the_named_secrets_and_writes_only_the_services(plan):
    arns = sorted(plan.outputs["credentials_secret_arns"].values())
    read = statements(one(plan, ROLE_POLICY, f"{NAME}-identity-policy"))
    assert set(read) == {"ReadSecrets", "UseKey0"}
    assert read["ReadSecrets"]["Action"] == [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
    ]
    assert read["ReadSecrets"]["Resource"] == sorted([ADMIN_SECRET, *arns])
    assert read["UseKey0"] == {
        "Sid": "UseKey0",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": [SECRETS_KEY],
        "Condition": {
            "StringEquals": {"kms:ViaService": [f"secretsmanager.{REGION}.amazonaws.com"]}
        },
    }
    store = one(plan, ROLE_POLICY, f"{NAME}-store-credentials")
    assert store.inputs["name"] == "store-credentials"
    assert store.inputs["role"] == "osp-prod-broker-setup"
    assert statements(store) == {
        "StoreServiceCredentials": {
            "Sid": "StoreServiceCredentials",
            "Effect": "Allow",
            "Action": ["secretsmanager:PutSecretValue"],
            "Resource": arns,
        }
    }
    assert ADMIN_SECRET not in arns
    for resource in plan.of_type(ROLE_POLICY):
        assert '"*"' not in resource.inputs["policy"]


def test_only_the_jobs_service_account_assumes_the_role(plan):
    role = one(plan, ROLE).inputs
    assert role["name"] == "osp-prod-broker-setup"
    (statement,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Federated": OIDC_ARN}
    assert statement["Condition"]["StringEquals"] == {
        f"{ISSUER}:sub": f"system:serviceaccount:{NAMESPACE}:rabbitmq-topology",
        f"{ISSUER}:aud": "sts.amazonaws.com",
    }
    account = one(plan, ACCOUNT_TYPE).inputs
    assert account["metadata"]["name"] == "rabbitmq-topology"
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": f"arn:aws:iam::{ACCOUNT}:role/osp-prod-broker-setup"
    }
    assert account["automountServiceAccountToken"] is False
    assert plan.outputs["role_arn"] == f"arn:aws:iam::{ACCOUNT}:role/osp-prod-broker-setup"


def test_images_are_pinned(plan):
    assert re.fullmatch(r"public\.ecr\.aws/aws-cli/aws-cli:2\.\d+\.\d+", AWS_CLI_IMAGE)
    assert re.fullmatch(
        r"public\.ecr\.aws/docker/library/python:3\.13\.\d+-slim-bookworm", PYTHON_IMAGE
    )
    images = {name: c["image"] for name, c in containers(plan).items()}
    assert images == {
        "read-credentials": AWS_CLI_IMAGE,
        "apply-topology": PYTHON_IMAGE,
        "store-credentials": AWS_CLI_IMAGE,
    }
    for image in images.values():
        assert image_problem(image) is None
    assert {c["imagePullPolicy"] for c in containers(plan).values()} == {"IfNotPresent"}


def test_job_runs_once_per_change_as_pulumi_owns_it(plan):
    job = one(plan, JOB)
    spec = job.inputs["spec"]
    assert spec["backoffLimit"] == 4
    assert spec["activeDeadlineSeconds"] == 600
    assert "ttlSecondsAfterFinished" not in spec
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert job.options.delete_before_replace is True
    name = plan.outputs["job_name"]
    assert re.fullmatch(r"rabbitmq-topology-[0-9a-f]{10}", name)
    assert job.inputs["metadata"] == {
        "name": name,
        "namespace": NAMESPACE,
        "labels": {**LABELS, "app.kubernetes.io/name": "rabbitmq-topology"},
        # A failed Job is replaced (re-run) by the next update, not awaited again.
        "annotations": {"pulumi.com/replaceUnready": "true"},
    }
    config = one(plan, CONFIG_MAP).inputs
    assert config["metadata"]["name"] == name
    assert config["immutable"] is True


def test_job_waits_for_everything_it_needs(plan):
    job = one(plan, JOB)
    (namespace,) = plan.of_type("kubernetes:core/v1:Namespace")
    needed = [
        namespace,
        one(plan, ACCOUNT_TYPE),
        one(plan, POLICY),
        one(plan, CONFIG_MAP),
        one(plan, ROLE),
        one(plan, ROLE_POLICY, f"{NAME}-identity-policy"),
        one(plan, ROLE_POLICY, f"{NAME}-store-credentials"),
    ]
    for resource in needed:
        assert resource.urn in job.dependencies, resource.name
    # Every Kubernetes object waits for the caller's namespace.
    for token in (ACCOUNT_TYPE, POLICY, CONFIG_MAP):
        assert namespace.urn in one(plan, token).dependencies


def test_pod_security_restricted(plan):
    spec = pod_spec(plan)
    assert spec["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "fsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert spec["serviceAccountName"] == "rabbitmq-topology"
    assert spec["automountServiceAccountToken"] is False
    assert spec["enableServiceLinks"] is False
    assert spec["nodeSelector"] == {"osp.io/pool": "workload"}
    assert not any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
    assert spec["volumes"] == [
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
        {"name": "credentials", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
        {"name": "config", "configMap": {"name": plan.outputs["job_name"], "defaultMode": 0o444}},
    ]
    for name, container in containers(plan).items():
        assert container["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "privileged": False,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }, name
        assert container["resources"] == {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        }, name
        assert env_of(container)["HOME"] == "/tmp"
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert mounts["tmp"]["mountPath"] == "/tmp"
        assert mounts["credentials"]["mountPath"] == "/run/broker"
        assert "ports" not in container
    assert {m["name"] for m in containers(plan)["apply-topology"]["volumeMounts"]} == {
        "tmp",
        "credentials",
        "config",
    }
    assert containers(plan)["apply-topology"]["volumeMounts"][-1]["readOnly"] is True


def test_containers_run_in_order_with_what_each_needs(plan):
    spec = pod_spec(plan)
    assert [c["name"] for c in spec["initContainers"]] == ["read-credentials", "apply-topology"]
    assert [c["name"] for c in spec["containers"]] == ["store-credentials"]
    by_name = containers(plan)
    arns = plan.outputs["credentials_secret_arns"]
    lines = "\n".join(f"{s} {arns[s]}" for s in SERVICES)
    assert env_of(by_name["read-credentials"]) == {
        "HOME": "/tmp",
        "CREDENTIALS_DIR": "/run/broker",
        "AWS_REGION": REGION,
        "AWS_PAGER": "",
        "SERVICE_SECRETS": lines,
        "ADMIN_SECRET_ARN": ADMIN_SECRET,
    }
    assert env_of(by_name["apply-topology"]) == {
        "HOME": "/tmp",
        "CREDENTIALS_DIR": "/run/broker",
        "TOPOLOGY_FILE": "/etc/rabbitmq-topology/topology.json",
        "MANAGEMENT_URL": CONSOLE,
        "AMQPS_ENDPOINT": AMQPS,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    assert env_of(by_name["store-credentials"]) == {
        "HOME": "/tmp",
        "CREDENTIALS_DIR": "/run/broker",
        "AWS_REGION": REGION,
        "AWS_PAGER": "",
        "SERVICE_SECRETS": lines,
    }
    assert by_name["read-credentials"]["command"] == ["/bin/sh", "-c", READ_SCRIPT]
    assert by_name["apply-topology"]["command"] == ["python", "/etc/rabbitmq-topology/apply.py"]
    assert by_name["store-credentials"]["command"] == ["/bin/sh", "-c", STORE_SCRIPT]


def test_network_policy(plan):
    policy = one(plan, POLICY).inputs
    assert policy["metadata"]["name"] == "rabbitmq-topology"
    https = [{"protocol": "TCP", "port": 443}]
    assert policy["spec"] == {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "rabbitmq-topology"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [],
        "egress": [
            manifests_of.DNS_EGRESS,
            {"to": [{"ipBlock": {"cidr": c}} for c in ISOLATED], "ports": https},
            {"to": [{"ipBlock": {"cidr": c}} for c in PRIVATE], "ports": https},
        ],
    }


def test_component_attributes_are_plain_names():
    captured = {}

    def program(_spec):
        provider = k8s.Provider("k8s", kubeconfig="{}")
        captured["c"] = RabbitMqTopology(NAME, args(), pulumi.ResourceOptions(providers=[provider]))

    offline.run(spec_of("prod"), program)
    component = captured["c"]
    assert component.exchanges == {
        "enrollment-completed": "enrollment-completed",
        "course-completed": "course-completed",
        "payment-completed": "payment-completed",
    }
    assert component.queues == {
        ("notification", "enrollment-completed"): "notification.enrollment-completed",
        ("certificate", "course-completed"): "certificate.course-completed",
        ("enrollment", "payment-completed"): "enrollment.payment-completed",
    }
    assert component.dead_letter_queues == {k: f"{v}.dlq" for k, v in component.queues.items()}
    assert sorted(component.credentials_secret_arns) == sorted(SERVICES)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_strictly(plan, version):
    checked = manifests_of.validate_all(plan, version)
    assert Counter(m["kind"] for m in checked) == Counter(
        {"Namespace": 1, "ServiceAccount": 1, "NetworkPolicy": 1, "ConfigMap": 1, "Job": 1}
    )
    for item in checked:
        assert manifests_of.secrets_in(item) == []


# --- a change runs a new Job ---------------------------------------------------------------


def job_name_of(topology_args: RabbitMqTopologyArgs) -> str:
    return plan_topology(topology_args).outputs["job_name"]


def test_the_same_topology_keeps_its_job_name(plan):
    assert job_name_of(args(labels={}, tags={})) == plan.outputs["job_name"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"events": (*EVENTS, EventRoute("review-posted", "review", ("notification",)))},
        {"events": (EventRoute("payment-completed", "payment", ("enrollment", "notification")),)},
        {"delivery_limit": 6},
        {"dead_letter_retention_days": 7},
        {"aws_cli_image": "public.ecr.aws/aws-cli/aws-cli:2.32.1"},
        {"python_image": "public.ecr.aws/docker/library/python:3.13.10-slim-bookworm"},
    ],
)
def test_a_change_gives_a_new_job_name(plan, overrides):
    assert job_name_of(args(**overrides)) != plan.outputs["job_name"]


def test_the_program_and_scripts_are_in_the_fingerprint():
    planned = topology(EVENTS, delivery_limit=5, dead_letter_retention_days=14)
    base = fingerprint(planned, PROGRAM, READ_SCRIPT, STORE_SCRIPT, AWS_CLI_IMAGE, PYTHON_IMAGE)
    assert re.fullmatch(r"[0-9a-f]{10}", base)
    for changed in (
        (planned, PROGRAM + "\n", READ_SCRIPT, STORE_SCRIPT),
        (planned, PROGRAM, READ_SCRIPT + "\n", STORE_SCRIPT),
        (planned, PROGRAM, READ_SCRIPT, STORE_SCRIPT + "\n"),
    ):
        assert fingerprint(*changed, AWS_CLI_IMAGE, PYTHON_IMAGE) != base


def test_without_a_caller_dependency():
    plan_ = plan_component(manifests_of.on_cluster(RabbitMqTopology), args(), name=NAME)
    (component,) = plan_.of_type("osp:app:RabbitMqTopology")
    own = {r.urn for r in descendants(plan_, component.urn)}
    dependencies = set(one(plan_, JOB).dependencies)
    assert len(dependencies) == 10  # 4 secrets, account, policy, config, role and 2 policies
    assert dependencies <= own


# --- refused args --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"namespace": "Osp"}, "namespace: got 'Osp'; expected a DNS-1123 label"),
        ({"namespace": "kube-system"}, "namespace: got 'kube-system'; expected the estate's"),
        ({"events": ()}, "events: got []; expected at least one event"),
        ({"events": "payment-completed"}, "events: got 'payment-completed'; expected a list"),
        ({"events": ("x",)}, "events[0]: got 'x'; expected an EventRoute"),
        (
            {"events": (EventRoute("Payment", "payment", ()),)},
            "events[0].event: got 'Payment'; expected a DNS-1035 label",
        ),
        (
            {"events": (EventRoute("a", "p", ()), EventRoute("a", "q", ()))},
            "events[1].event: got 'a'; expected each event once",
        ),
        (
            {"events": (EventRoute("a", "P", ()),)},
            "events[0].publisher: got 'P'; expected a service name",
        ),
        (
            {"events": (EventRoute("a", "p", ("x_y",)),)},
            "events[0].consumers: got 'x_y'; expected a service name",
        ),
        (
            {"events": (EventRoute("a", "p", "q"),)},
            "events[0].consumers: got 'q'; expected a tuple of service names",
        ),
        (
            {"events": (EventRoute("a", "p", ("q", "q")),)},
            "events[0].consumers: got ['q', 'q']; expected each consumer once",
        ),
        (
            {"events": (EventRoute("a", "p", ("p",)),)},
            "events[0].consumers: got 'p'; expected other services than the publisher",
        ),
        (
            {"events": (EventRoute("a", "rabbitmq-topology", ()),)},
            "events[0].publisher: got 'rabbitmq-topology'; expected a service not called",
        ),
        (
            {"events": (EventRoute("a", "p", ("amq",)),)},
            "events[0].consumers: got 'amq'; expected a service not called amq",
        ),
        ({"admin_secret_arn": "osp-admin"}, "admin_secret_arn: got 'osp-admin'; expected a"),
        (
            {"secrets_kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/secrets"},
            "secrets_kms_key_arn: got 'arn:aws:kms:us-east-1:123456789012:alias/secrets'; "
            "expected a KMS key ARN (not an alias)",
        ),
        (
            {"secret_name_prefix": "Osp/"},
            "secret_name_prefix: got 'Osp/'; expected a namespace such as osp-prod: lower-case",
        ),
        (
            {"secret_name_prefix": "a" * 500},
            "secret_name_prefix: got '" + "a" * 500 + "'; expected a prefix short enough",
        ),
        (
            {"management_url": "http://b-1.mq.us-east-1.amazonaws.com"},
            "management_url: got 'http://b-1.mq.us-east-1.amazonaws.com'; expected the "
            "broker's console URL",
        ),
        ({"amqps_endpoint": "amqp://b:5672"}, "amqps_endpoint: got 'amqp://b:5672'; expected"),
        ({"oidc_provider_arn": "arn:aws:iam::1:role/x"}, "oidc_provider_arn: got 'arn:aws:"),
        ({"oidc_provider_url": "https://oidc"}, "oidc_provider_url: got 'https://oidc'; expected"),
        ({"role_name": "a role"}, "role_name: got 'a role'; expected an IAM role name"),
        ({"broker_cidrs": ()}, "broker_cidrs: got []; expected at least one CIDR"),
        ({"broker_cidrs": "10.0.64.0/20"}, "broker_cidrs: got '10.0.64.0/20'; expected a list"),
        (
            {"broker_cidrs": ("0.0.0.0/0",)},
            "broker_cidrs[0]: got '0.0.0.0/0'; expected the broker's subnets, not the whole",
        ),
        (
            {"broker_cidrs": ("10.0.64.1/20",)},
            "broker_cidrs[0]: got '10.0.64.1/20'; expected an IPv4 CIDR block such as 10.0.0.0/24 "
            "(no host bits set)",
        ),
        (
            {"endpoint_cidrs": ("fd00::/8",)},
            "endpoint_cidrs[0]: got 'fd00::/8'; expected an IPv4 CIDR block (the VPC is IPv4)",
        ),
        (
            {"endpoint_cidrs": ("10.0.16.0/20", "10.0.16.0/20")},
            "endpoint_cidrs: got ['10.0.16.0/20', '10.0.16.0/20']; expected each CIDR once",
        ),
        ({"recovery_window_days": 3}, "recovery_window_days: got 3; expected 0 (delete at once)"),
        ({"delivery_limit": 0}, "delivery_limit: got 0; expected an integer from 1 to 100"),
        ({"delivery_limit": True}, "delivery_limit: got True; expected an integer"),
        (
            {"dead_letter_retention_days": 400},
            "dead_letter_retention_days: got 400; expected an integer from 1 to 365",
        ),
        (
            {"aws_cli_image": "public.ecr.aws/aws-cli/aws-cli:latest"},
            "aws_cli_image: got 'public.ecr.aws/aws-cli/aws-cli:latest'; expected an explicit "
            "version tag",
        ),
        ({"python_image": "python"}, "python_image: got 'python'; expected a full image"),
        ({"python_image": 3}, "python_image: got 3; expected an image reference"),
        ({"labels": {"app.kubernetes.io/name": "x"}}, "labels: got 'app.kubernetes.io/name'"),
        ({"labels": {"team": "a b"}}, "labels['team']: got 'a b'"),
    ],
)
def test_refuses_bad_args(overrides, message):
    with pytest.raises(InvalidArguments, match=re.escape(f"RabbitMqTopology {NAME}: {message}")):
        plan_topology(args(**overrides))


def test_refuses_before_creating_anything():
    created = []

    def program(_spec):
        try:
            RabbitMqTopology(NAME, args(role_name="a role", delivery_limit=0))
        except InvalidArguments as error:
            created.append(str(error))

    plan_ = offline.run(spec_of("prod"), program)
    assert [r.type for r in plan_.resources if r.custom] == []
    assert created[0].count("RabbitMqTopology") == 2


def test_reports_every_problem_at_once():
    found = problems("t", args(namespace="default", delivery_limit=0, python_image="x"))
    assert [p.split(":")[1].strip() for p in found] == [
        "namespace",
        "delivery_limit",
        "python_image",
    ]


def test_valid_args_have_no_problems():
    assert problems("t", args()) == []
    assert problems("t", args(endpoint_cidrs=("0.0.0.0/0",), recovery_window_days=0)) == []
    outputs = {
        "admin_secret_arn": pulumi.Output.from_input(ADMIN_SECRET),
        "management_url": pulumi.Output.from_input(CONSOLE),
        "amqps_endpoint": pulumi.Output.from_input(AMQPS),
    }
    assert problems("t", args(**outputs)) == []
