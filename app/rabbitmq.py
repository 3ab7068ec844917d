"""`RabbitMqTopology`: a blueprint's events on the estate's RabbitMQ broker, one user per service.

The RabbitMQ counterpart of `EventBus`: an exchange per event, and per consumer a durable
quorum queue bound to it with a dead-letter queue of its own, so a slow or failing consumer
never costs another one a message and a poison message ends in the dead-letter queue instead
of looping forever. Each service that publishes or consumes gets its own broker user, allowed
to publish to exactly its own exchanges and consume from exactly its own queues, and nothing
else — never the admin user.

Amazon MQ creates RabbitMQ users only when the broker is created; afterwards users, exchanges
and queues exist only through RabbitMQ's management HTTP API, which the broker serves inside
the VPC alone. So a Kubernetes Job in the services' namespace applies the topology through that
API, idempotently, and keeps each service's password in a Secrets Manager secret that Pulumi
creates empty: no password ever enters Pulumi's state, a plan or a manifest.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from osp.app.events import EventRoute
from osp.app.identity import (
    KEY_ACTIONS,
    Grants,
    KeyGrant,
    ServiceIdentity,
    ServiceIdentityArgs,
    arn_problem,
    trust_problems,
)
from osp.app.images import AWS_CLI_IMAGE, PYTHON_IMAGE
from osp.app.workload import (
    NAME_LABEL,
    cidr_problem,
    container_security_context,
    dns_egress,
    image_problem,
    label_problems,
    namespace_problem,
    pod_security_context,
)
from osp.components.broker import CONSOLE_PORT
from osp.components.cluster import POOL_LABEL
from osp.components.secrets import TAG_KEYS, TAG_SOURCE
from osp.platform import limits
from osp.platform.iam import policy

TOKEN = "osp:app:RabbitMqTopology"

#: Name of the Job's ServiceAccount, NetworkPolicy and pods (`app.kubernetes.io/name`), and
#: the start of its Job's and ConfigMap's names. No catalogue service may be called this.
APP_NAME = "rabbitmq-topology"

#: The virtual host of every exchange, queue and permission: Amazon MQ's default one, the only
#: one its default policies and limits apply to.
VHOST = "/"

#: Exchange type of every event: each consumer's queue gets every message, whatever routing
#: key the publisher used, so there is nothing for a publisher to get wrong.
EXCHANGE_TYPE = "fanout"

#: Suffix of a consumer queue's dead-letter queue.
DLQ_SUFFIX = ".dlq"

#: The exchange every queue dead-letters through, each dead-letter queue bound to it by its
#: own name. The dot keeps it apart from every event's exchange (catalogue names have none);
#: no service may write to it.
DEAD_LETTER_EXCHANGE = "osp.dead-letter"
DEAD_LETTER_EXCHANGE_TYPE = "direct"

#: A RabbitMQ permission regex that matches no name ("" means the same, less readably).
#: RabbitMQ checks the default exchange ("") under the name `amq.default`, so this does not
#: let a user publish into queues by name either.
NOTHING = "^$"

#: Keys of the JSON object each service's credentials secret holds.
CREDENTIAL_KEYS = ("username", "password", "endpoint")


#: Where the containers keep credentials: a memory-backed emptyDir, never the node's disk.
CREDENTIALS_DIR = "/run/broker"
CREDENTIALS_SIZE_LIMIT = "1Mi"
#: Where the ConfigMap (program and topology) is mounted.
CONFIG_DIR = "/etc/rabbitmq-topology"
PROGRAM_FILE = "apply.py"
TOPOLOGY_FILE = "topology.json"
#: HOME of every container (the AWS CLI caches there); the root filesystem is read-only.
TMP_SIZE_LIMIT = "64Mi"

#: Every container's requests and limits: room for the AWS CLI (a bundled Python
#: interpreter); the memory-backed credentials volume (1 MiB at most) counts against them.
RESOURCES = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}

#: Pod retries (with Kubernetes' exponential back-off: 10 s, 20 s, 40 s, 80 s), enough to ride
#: out a role policy that IAM has not yet propagated, and the time the whole Job may take.
BACKOFF_LIMIT = 4
ACTIVE_DEADLINE_SECONDS = 600

#: Bounds of the arguments about queues.
DELIVERY_LIMIT_RANGE = (1, 100)
DEAD_LETTER_RETENTION_RANGE = (1, 365)

_MS_PER_DAY = 24 * 60 * 60 * 1000
_HASH_LENGTH = 10
# Catalogue names (services, events) as DNS-1035 labels: they name users, exchanges, queues,
# secrets and appear in a shell `read` loop, so nothing beyond [a-z0-9-].
_NAME = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
# RabbitMQ reserves queue and exchange names starting with "amq.".
_RESERVED_PREFIX = "amq"
_SEGMENT = r"[a-z0-9]+(?:[-_][a-z0-9]+)*"
_PREFIX = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
_MAX_SECRET_NAME = 512
_MANAGEMENT_URL = re.compile(r"https://[A-Za-z0-9.-]+(?::\d{1,5})?/?")
_AMQPS_ENDPOINT = re.compile(r"amqps://[A-Za-z0-9.-]+(?::\d{1,5})?")


# --- what runs in the Job ------------------------------------------------------------------

#: Init container 1 (AWS CLI): the admin credentials, and each service's stored credentials
#: when its secret has a value. Secrets osp created have no version until this Job stores one;
#: describe-secret tells "no value yet" apart from every real failure, which stops the pod.
READ_SCRIPT = """\
set -eu
umask 077
mkdir -p "$CREDENTIALS_DIR/stored"
aws secretsmanager get-secret-value --secret-id "$ADMIN_SECRET_ARN" \\
  --query SecretString --output text > "$CREDENTIALS_DIR/admin.json"
while read -r service arn; do
  [ -n "$service" ] || continue
  stages=$(aws secretsmanager describe-secret --secret-id "$arn" \\
    --query VersionIdsToStages --output json)
  case "$stages" in
    *AWSCURRENT*)
      aws secretsmanager get-secret-value --secret-id "$arn" \\
        --query SecretString --output text > "$CREDENTIALS_DIR/stored/$service.json"
      echo "$service: credentials found" ;;
    *)
      echo "$service: no credentials yet" ;;
  esac
done <<EOF
$SERVICE_SECRETS
EOF
"""

#: Main container (AWS CLI): stores what the program wrote for services whose credentials
#: were missing (or out of date). Runs only after the broker already accepts them, so a stored
#: password always works; a failure here re-runs the pod, which starts over.
STORE_SCRIPT = """\
set -eu
while read -r service arn; do
  [ -n "$service" ] || continue
  document="$CREDENTIALS_DIR/new/$service.json"
  if [ -f "$document" ]; then
    aws secretsmanager put-secret-value --secret-id "$arn" \\
      --secret-string "file://$document" --query VersionId --output text
    echo "$service: credentials stored"
  fi
done <<EOF
$SERVICE_SECRETS
EOF
"""

#: Init container 2 (Python, standard library only): the broker made to match topology.json.
#: Shipped in the ConfigMap; it holds no secret.
PROGRAM = '''\
"""Applies osp's RabbitMQ topology through the management HTTP API (RabbitMqTopology).

Reads TOPOLOGY_FILE (exchanges, queues, bindings, users and their permissions) and, from
CREDENTIALS_DIR, admin.json and stored/<service>.json, then makes the broker match: every
call is a PUT or an idempotent POST, so a second run changes nothing. A service whose stored
credentials are missing gets a new password; whatever must be (re)stored is written to
CREDENTIALS_DIR/new/<service>.json for the next container. Nothing is ever deleted.
"""

import base64
import json
import os
import secrets
import ssl
import string
import sys
import urllib.error
import urllib.parse
import urllib.request

ALPHABET = string.ascii_letters + string.digits
PASSWORD_LENGTH = 32  # letters and digits: ~190 bits, nothing to escape in a URL
TIMEOUT_SECONDS = 30


class Refused(Exception):
    """The broker, or the input, said no: the message says what and why."""


def new_password():
    return "".join(secrets.choice(ALPHABET) for _ in range(PASSWORD_LENGTH))


def read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None


def quoted(name):
    return urllib.parse.quote(name, safe="")


class Broker:
    def __init__(self, url, username, password):
        if urllib.parse.urlsplit(url).scheme != "https":
            raise Refused(f"MANAGEMENT_URL: got {url!r}; expected an https:// URL")
        self.url = url.rstrip("/")
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
        # The system CA bundle, certificate and host name verified (Amazon MQ presents a
        # public certificate for *.mq.<region>.amazonaws.com).
        self.tls = ssl.create_default_context()

    def send(self, method, path, body, what):
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers=self.headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS, context=self.tls):
                pass
        except urllib.error.HTTPError as error:
            raise Refused(f"{what}: HTTP {error.code}: {reason(error)}") from None
        except urllib.error.URLError as error:
            raise Refused(f"{what}: cannot reach {self.url}: {error.reason}") from None
        print(f"{what}: ok", flush=True)


def reason(error):
    try:
        detail = json.loads(error.read().decode("utf-8", "replace"))
        text = str(detail.get("reason") or detail.get("error") or detail)
    except Exception:
        text = str(error.reason)
    if "inequivalent" in text:
        text += (
            " (RabbitMQ cannot change an existing queue's or exchange's arguments and osp "
            "never deletes one: delete it by hand, losing its messages, or keep its settings)"
        )
    return text[:1000]


def apply(broker, topology, stored, endpoint):
    """Make the broker match `topology`; returns {user: document} to (re)store."""
    vhost = quoted(topology["vhost"])
    for exchange in topology["exchanges"]:
        name = exchange["name"]
        broker.send(
            "PUT",
            f"/api/exchanges/{vhost}/{quoted(name)}",
            {"type": exchange["type"], "durable": True, "auto_delete": False,
             "internal": False, "arguments": {}},
            f"exchange {name}",
        )
    for queue in topology["queues"]:
        name = queue["name"]
        broker.send(
            "PUT",
            f"/api/queues/{vhost}/{quoted(name)}",
            {"durable": True, "auto_delete": False, "arguments": queue["arguments"]},
            f"queue {name}",
        )
    for binding in topology["bindings"]:
        source, destination = binding["source"], binding["destination"]
        # Binding again what is already bound changes nothing.
        broker.send(
            "POST",
            f"/api/bindings/{vhost}/e/{quoted(source)}/q/{quoted(destination)}",
            {"routing_key": binding["routing_key"], "arguments": {}},
            f"binding {source} -> {destination}",
        )
    to_store = {}
    for user in topology["users"]:
        name = user["name"]
        previous = stored.get(name)
        kept = previous.get("password") if isinstance(previous, dict) else None
        password = kept if isinstance(kept, str) and kept else new_password()
        # PUT sets the password: a user that exists gets the stored one back (a no-op when
        # nobody changed it), one that does not is created with it.
        broker.send("PUT", f"/api/users/{quoted(name)}",
                    {"password": password, "tags": ""}, f"user {name}")
        broker.send(
            "PUT",
            f"/api/permissions/{vhost}/{quoted(name)}",
            {"configure": user["configure"], "write": user["write"], "read": user["read"]},
            f"permissions of {name}",
        )
        document = {"username": name, "password": password, "endpoint": endpoint}
        if document != previous:
            to_store[name] = document
    return to_store


def write_private(path, document):
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle, sort_keys=True)


def main(environ):
    credentials = environ["CREDENTIALS_DIR"]
    topology = read_json(environ["TOPOLOGY_FILE"])
    admin = read_json(os.path.join(credentials, "admin.json"))
    if not isinstance(admin, dict) or not admin.get("username") or not admin.get("password"):
        raise Refused("admin.json: expected the broker's admin credentials (username, password)")
    stored = {
        user["name"]: read_json(os.path.join(credentials, "stored", user["name"] + ".json"))
        for user in topology["users"]
    }
    broker = Broker(environ["MANAGEMENT_URL"], admin["username"], admin["password"])
    to_store = apply(broker, topology, stored, environ["AMQPS_ENDPOINT"])
    os.makedirs(os.path.join(credentials, "new"), mode=0o700, exist_ok=True)
    for name, document in to_store.items():
        write_private(os.path.join(credentials, "new", name + ".json"), document)
        print(f"credentials of {name}: to store", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(os.environ))
    except Refused as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
'''


# --- the topology ---------------------------------------------------------------------------


def exchange_name(event: str) -> str:
    """The exchange an event is published to: the event's own name."""
    return event


def queue_name(consumer: str, event: str) -> str:
    """The queue `consumer` receives `event` from: `<consumer>.<event>`."""
    return f"{consumer}.{event}"


def dead_letter_queue_name(consumer: str, event: str) -> str:
    """Where `consumer`'s queue for `event` dead-letters to: `<consumer>.<event>.dlq`."""
    return f"{queue_name(consumer, event)}{DLQ_SUFFIX}"


def exactly(names: Sequence[str]) -> str:
    """A RabbitMQ permission regex matching exactly `names` (anchored, each escaped)."""
    if not names:
        return NOTHING
    return "^(?:" + "|".join(re.escape(n) for n in sorted(set(names))) + ")$"


@dataclass(frozen=True)
class Permissions:
    """A user's permissions on the vhost (RabbitMQ's three regexes)."""

    configure: str
    """Exchanges and queues it may declare or delete: none, osp declares them all."""

    write: str
    """Exchanges it may publish to: those of the events it publishes."""

    read: str
    """Queues it may consume from: its own, one per event it consumes."""


def permissions(events: Sequence[EventRoute]) -> dict[str, Permissions]:
    """Each service that publishes or consumes → its permissions, in order of appearance.

    A publisher may write to its events' exchanges and read nothing; a consumer may read its
    own queues (not their dead-letter queues, which are the operators') and write nothing;
    nobody may configure. Binding a queue needs write on the queue and read on the exchange,
    so no service can bind itself to another's event either.
    """
    writes: dict[str, list[str]] = {}
    reads: dict[str, list[str]] = {}
    for route in events:
        writes.setdefault(route.publisher, []).append(exchange_name(route.event))
        reads.setdefault(route.publisher, [])
        for consumer in route.consumers:
            writes.setdefault(consumer, [])
            reads.setdefault(consumer, []).append(queue_name(consumer, route.event))
    return {
        service: Permissions(
            configure=NOTHING, write=exactly(writes[service]), read=exactly(reads[service])
        )
        for service in writes
    }


def queue_arguments(consumer: str, event: str, delivery_limit: int) -> dict[str, Any]:
    """Arguments of a consumer's queue.

    Arguments rather than a policy: RabbitMQ applies one policy per queue, so a policy of
    osp's would displace the defaults Amazon MQ applies (AWS-DEFAULT-POLICY-*: max length,
    limits); arguments combine with them.
    """
    return {
        # Replicated across the cluster's nodes (zones), and the only type with a delivery
        # limit.
        "x-queue-type": "quorum",
        # After this many failed deliveries the message is dead-lettered instead of coming back.
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": dead_letter_queue_name(consumer, event),
        # A message leaves the queue only once the dead-letter queue has it; at-least-once
        # dead-lettering needs publishes refused, not old messages dropped, when full.
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def dead_letter_queue_arguments(retention_days: int) -> dict[str, Any]:
    """Arguments of a dead-letter queue: a quorum queue keeping messages `retention_days`."""
    return {"x-queue-type": "quorum", "x-message-ttl": retention_days * _MS_PER_DAY}


def topology(
    events: Sequence[EventRoute], *, delivery_limit: int, dead_letter_retention_days: int
) -> dict[str, Any]:
    """What the Job makes the broker hold, as the program reads it (topology.json): exchanges
    first, then queues, bindings and users, in the order they are applied."""
    exchanges: list[dict[str, Any]] = []
    queues: list[dict[str, Any]] = []
    bindings: list[dict[str, Any]] = []
    for route in events:
        exchange = exchange_name(route.event)
        exchanges.append({"name": exchange, "type": EXCHANGE_TYPE})
        for consumer in route.consumers:
            queue = queue_name(consumer, route.event)
            dead_letters = dead_letter_queue_name(consumer, route.event)
            queues.append(
                {"name": queue, "arguments": queue_arguments(consumer, route.event, delivery_limit)}
            )
            queues.append(
                {
                    "name": dead_letters,
                    "arguments": dead_letter_queue_arguments(dead_letter_retention_days),
                }
            )
            # A fanout exchange ignores routing keys; the dead-letter exchange routes by them.
            bindings.append({"source": exchange, "destination": queue, "routing_key": ""})
            bindings.append(
                {
                    "source": DEAD_LETTER_EXCHANGE,
                    "destination": dead_letters,
                    "routing_key": dead_letters,
                }
            )
    if queues:
        exchanges.append({"name": DEAD_LETTER_EXCHANGE, "type": DEAD_LETTER_EXCHANGE_TYPE})
    users = [
        {"name": service, "configure": p.configure, "write": p.write, "read": p.read}
        for service, p in permissions(events).items()
    ]
    return {
        "vhost": VHOST,
        "exchanges": exchanges,
        "queues": queues,
        "bindings": bindings,
        "users": users,
    }


def fingerprint(*parts: object) -> str:
    """A short stable hash of `parts` (JSON-serialisable): the Job's and ConfigMap's suffix."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:_HASH_LENGTH]


def secret_name(prefix: str, service: str) -> str:
    """The name of `service`'s credentials secret. Ends in `/credentials`, never in `-` and six
    characters, which Secrets Manager would confuse with the suffix it adds to ARNs."""
    return f"{prefix}/{service}/credentials"


# --- arguments ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RabbitMqTopologyArgs:
    """Arguments of `RabbitMqTopology`."""

    namespace: str
    """The services' namespace (see `ClusterAddons`): where the Job, its ServiceAccount, its
    ConfigMap and its NetworkPolicy live. Not `default` or a `kube-*` one."""

    events: Sequence[EventRoute]
    """The catalogue's events, at least one: each gets an exchange; each consumer a queue.
    Event and service names are DNS-1035 labels (as the catalogue's are)."""

    admin_secret_arn: pulumi.Input[str]
    """The broker's admin credentials secret (`RabbitMq.credentials_secret_arn`): JSON with
    `username` and `password`. Read only by the Job, never given to a service."""

    secrets_kms_key_arn: pulumi.Input[str]
    """Customer KMS key (the secrets key) of the admin secret and of every service's
    credentials secret."""

    secret_name_prefix: str
    """Start of each service's secret name, such as `osp-prod-broker`: the secret is
    `<prefix>/<service>/credentials`. Lower-case letters and digits, with single `-`, `_` or
    `/` between them."""

    management_url: pulumi.Input[str]
    """The broker's RabbitMQ web console URL (`RabbitMq.console_url`), `https://<host>`: the
    management HTTP API is under `/api`."""

    amqps_endpoint: pulumi.Input[str]
    """The endpoint services connect to, `amqps://<host>:5671`: stored with each service's
    credentials."""

    oidc_provider_arn: pulumi.Input[str]
    """ARN of the cluster's IAM OIDC provider (`Cluster.oidc_provider_arn`)."""

    oidc_provider_url: pulumi.Input[str]
    """The cluster's OIDC issuer without `https://` (`Cluster.oidc_provider_url`)."""

    role_name: str
    """Physical name of the Job's IAM role, such as `osp-prod-broker-setup`; fitted to IAM's
    64 characters."""

    broker_cidrs: Sequence[str]
    """The subnets the broker's endpoints live in (the isolated tier): the Job may reach them
    on 443, the management API, and nothing else there."""

    endpoint_cidrs: Sequence[str]
    """Where STS (IRSA) and Secrets Manager are reached on 443: the private subnets holding
    their interface endpoints, or 0.0.0.0/0 through NAT when there are none."""

    recovery_window_days: int = 30
    """Days a deleted credentials secret can still be restored: 0 (deleted at once) or
    7-30. Default: 30."""

    delivery_limit: int = 5
    """Failed deliveries (a reject, or a consumer gone with the message unacknowledged) after
    which a message goes to the dead-letter queue, 1-100. Default: 5, leaving room for a
    consumer restarted mid-message by a rolling update. RabbitMQ cannot change an existing
    queue's arguments: changing this later fails the Job until the queues are deleted by
    hand."""

    dead_letter_retention_days: int = 14
    """Days a dead-lettered message is kept, 1-365. Default: 14, as SQS's dead-letter queues
    (`EventBus`) keep theirs. Fixed once the queues exist, as `delivery_limit` is."""

    aws_cli_image: str = AWS_CLI_IMAGE
    """The AWS CLI v2 image, pinned (`<repository>:<tag>`, never `latest`). Default: 2.32.0
    from ECR Public."""

    python_image: str = PYTHON_IMAGE
    """A Python 3 image with the system CA bundle, pinned. Default: 3.13.9-slim-bookworm
    from ECR Public's Docker official images."""

    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on every Kubernetes object and the pod (not `app.kubernetes.io/name`).
    Default: none."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the secrets and the role (osp's tag set, from osp.platform.naming.standard_tags)."""


def _cidr_problem(cidr: object, *, anywhere: bool) -> str | None:
    expected = cidr_problem(cidr)
    if expected is not None:
        return expected
    if ipaddress.ip_network(cidr).prefixlen == 0 and not anywhere:
        return "the broker's subnets, not the whole address space"
    return None


def _cidrs(bad, arg: str, value: object, *, anywhere: bool) -> None:
    if isinstance(value, str) or not isinstance(value, Sequence):
        bad(arg, value, "a list of CIDRs, not one string")
        return
    if not value:
        bad(arg, [], "at least one CIDR")
    for cidr in value:
        expected = _cidr_problem(cidr, anywhere=anywhere)
        if expected:
            bad(arg, cidr, expected)
    if len(set(value)) != len(value):
        bad(arg, list(value), "each CIDR once")


def _consumers(route: EventRoute) -> tuple[str, ...] | None:
    """The route's consumers, or None when they are not a list of names."""
    consumers = route.consumers
    if isinstance(consumers, str) or not isinstance(consumers, Sequence):
        return None
    return tuple(consumers)


def _event_problems(bad, events: object) -> None:
    if isinstance(events, str) or not isinstance(events, Sequence):
        bad("events", events, "a list of EventRoute")
        return
    if not events:
        bad("events", [], "at least one event (a blueprint without events needs no topology)")
    seen: set[str] = set()
    for index, route in enumerate(events):
        where = f"events[{index}]"
        if not isinstance(route, EventRoute):
            bad(where, route, "an EventRoute(event, publisher, consumers)")
            continue
        if not isinstance(route.event, str) or not _NAME.fullmatch(route.event):
            bad(f"{where}.event", route.event, "a DNS-1035 label such as enrollment-completed")
        elif route.event in seen:
            bad(f"{where}.event", route.event, "each event once")
        seen.add(route.event)
        consumers = _consumers(route)
        if consumers is None:
            bad(f"{where}.consumers", route.consumers, "a tuple of service names")
            consumers = ()
        for arg, service in [("publisher", route.publisher)] + [
            ("consumers", c) for c in consumers
        ]:
            if not isinstance(service, str) or not _NAME.fullmatch(service):
                bad(f"{where}.{arg}", service, "a service name (a DNS-1035 label)")
            elif service == APP_NAME:
                bad(f"{where}.{arg}", service, f"a service not called {APP_NAME} (the "
                    "topology Job's own pods carry that name)")  # fmt: skip
            elif arg == "consumers" and service == _RESERVED_PREFIX:
                bad(f"{where}.consumers", service, "a service not called amq (RabbitMQ "
                    "reserves queue names starting with 'amq.')")  # fmt: skip
        if len(set(consumers)) != len(consumers):
            bad(f"{where}.consumers", list(consumers), "each consumer once")
        if route.publisher in consumers:
            bad(f"{where}.consumers", route.publisher, "other services than the publisher "
                "(a service does not consume its own event)")  # fmt: skip


def problems(name: str, args: RabbitMqTopologyArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    out: list[str] = []

    def bad(arg: str, value: object, expected: str) -> None:
        out.append(f"RabbitMqTopology {name}: {arg}: got {value!r}; expected {expected}")

    expected_namespace = namespace_problem(args.namespace)
    if expected_namespace:
        bad("namespace", args.namespace, expected_namespace)

    _event_problems(bad, args.events)

    for arg, kind in (("admin_secret_arn", "secret"), ("secrets_kms_key_arn", "key")):
        value = getattr(args, arg)
        expected = arn_problem(kind, value) if isinstance(value, str) else None
        if expected:
            bad(arg, value, expected)

    prefix = args.secret_name_prefix
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        bad("secret_name_prefix", prefix, "lower-case letters and digits with single '-', '_' "
            "or '/' between them, such as osp-prod-broker")  # fmt: skip
    elif isinstance(args.events, Sequence) and not isinstance(args.events, str):
        services = [
            s for r in args.events if isinstance(r, EventRoute)
            for s in (r.publisher, *(_consumers(r) or ()))
            if isinstance(s, str)
        ]  # fmt: skip
        longest = max((secret_name(prefix, s) for s in services), key=len, default="")
        if len(longest) > _MAX_SECRET_NAME:
            bad("secret_name_prefix", prefix, f"a prefix short enough for {longest[:40]!r}… "
                f"to fit Secrets Manager's {_MAX_SECRET_NAME} characters")  # fmt: skip

    url = args.management_url
    if isinstance(url, str) and not _MANAGEMENT_URL.fullmatch(url):
        bad("management_url", url, "the broker's console URL https://<host> such as "
            "https://b-1234.mq.us-east-1.amazonaws.com (RabbitMq.console_url)")  # fmt: skip
    endpoint = args.amqps_endpoint
    if isinstance(endpoint, str) and not _AMQPS_ENDPOINT.fullmatch(endpoint):
        bad("amqps_endpoint", endpoint, "an endpoint amqps://<host>:5671 "
            "(RabbitMq.amqps_endpoints[0])")  # fmt: skip

    for arg, value, expected in trust_problems(
        role_name=args.role_name,
        oidc_provider_arn=args.oidc_provider_arn,
        oidc_provider_url=args.oidc_provider_url,
    ):
        bad(arg, value, expected)

    _cidrs(bad, "broker_cidrs", args.broker_cidrs, anywhere=False)
    _cidrs(bad, "endpoint_cidrs", args.endpoint_cidrs, anywhere=True)

    expected = limits.SECRET_RECOVERY_WINDOW.problem(args.recovery_window_days)
    if expected:
        bad("recovery_window_days", args.recovery_window_days, expected)
    for arg, (low, high) in (
        ("delivery_limit", DELIVERY_LIMIT_RANGE),
        ("dead_letter_retention_days", DEAD_LETTER_RETENTION_RANGE),
    ):
        value = getattr(args, arg)
        if not limits.is_int(value) or not low <= value <= high:
            bad(arg, value, f"an integer from {low} to {high}")

    for arg in ("aws_cli_image", "python_image"):
        image = getattr(args, arg)
        expected = image_problem(image) if isinstance(image, str) else "an image reference"
        if expected:
            bad(arg, image, expected)

    for arg, value, expected in label_problems("labels", args.labels):
        bad(arg, value, expected)
    if NAME_LABEL in args.labels:
        bad("labels", NAME_LABEL, f"no {NAME_LABEL}: osp sets it to {APP_NAME}")
    return out


# --- the component --------------------------------------------------------------------------


def network_policy_spec(broker_cidrs: Sequence[str], endpoint_cidrs: Sequence[str]) -> dict:
    """The Job's pods: no ingress; egress to CoreDNS, the management API and AWS's APIs."""
    https = [{"protocol": "TCP", "port": CONSOLE_PORT}]
    return {
        "podSelector": {"matchLabels": {NAME_LABEL: APP_NAME}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [],
        "egress": [
            dns_egress(),
            # Only the management API: the Job never speaks AMQP.
            {"to": [{"ipBlock": {"cidr": c}} for c in broker_cidrs], "ports": https},
            # STS for IRSA, Secrets Manager for the credentials.
            {"to": [{"ipBlock": {"cidr": c}} for c in endpoint_cidrs], "ports": https},
        ],
    }


def _inherited_dependencies(opts: pulumi.ResourceOptions | None) -> list[Any]:
    # The caller's depends_on (the namespace, its default-deny policy, the add-ons) orders this
    # component, and so its children, only implicitly; recorded on every Kubernetes object
    # too, the order is explicit in the plan and holds wherever a child is registered.
    deps = opts.depends_on if opts is not None else None
    if deps is None:
        return []
    if isinstance(deps, Sequence) and not isinstance(deps, str):
        return list(deps)
    return [deps]


class RabbitMqTopology(pulumi.ComponentResource):
    """A blueprint's events on the RabbitMQ broker, and one least-privileged user per service.

    On the broker (vhost `/`), applied by a Job through the management API:
    - per event, a durable fanout exchange `<event>`;
    - per consumer, a durable quorum queue `<consumer>.<event>` bound to it, which after
      `delivery_limit` failed deliveries dead-letters (at least once) through the direct
      exchange `osp.dead-letter` to its own quorum queue `<consumer>.<event>.dlq`, where dead
      letters are kept `dead_letter_retention_days`;
    - per service that publishes or consumes, a user `<service>` (no tags: no management
      access) whose permissions are: configure nothing (osp declares everything; a service
      must not declare exchanges or queues, only use the names it is given), write exactly
      the exchanges of the events it publishes, read exactly its own queues (not the
      dead-letter queues, which are the operators'). Regexes are anchored and escaped.

    In AWS: per such service a Secrets Manager secret `<prefix>/<service>/credentials`
    (customer key), created without a value; the Job stores `{"username", "password",
    "endpoint"}` in it, so passwords never enter Pulumi's state or a plan. Its ARN is what the
    service is given (`credentials_secret_arns`), with a read grant. The Job's own IRSA role
    reads the admin secret and the services' secrets, writes only the services' secrets
    (PutSecretValue), and uses the key only through Secrets Manager.

    In Kubernetes (the services' namespace): a ServiceAccount without an API token, a
    NetworkPolicy (no ingress; egress to CoreDNS, 443 to the broker's subnets and 443 to
    AWS's endpoints), an immutable ConfigMap holding the program and the topology (no secret),
    and a Job `rabbitmq-topology-<hash>` — Pod Security restricted, credentials only in a
    memory-backed volume, TLS verified against the system CAs. The hash covers the topology,
    the program and the images, so any change runs a new Job; a re-run changes nothing.
    Removing an event or a service leaves its exchange, queues and user on the broker (osp
    never deletes them, nor the messages they hold); its secret is deleted with the window
    asked for. Delete those by hand through the management API when no longer needed.
    """

    credentials_secret_arns: dict[str, pulumi.Output[str]]
    """Service → its credentials secret's ARN."""
    exchanges: dict[str, str]
    """Event → its exchange's name."""
    queues: dict[tuple[str, str], str]
    """(consumer, event) → the consumer's queue for the event."""
    dead_letter_queues: dict[tuple[str, str], str]
    """(consumer, event) → that queue's dead-letter queue."""
    job_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: RabbitMqTopologyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise ValueError("\n".join(found))
        child = pulumi.ResourceOptions(parent=self)
        inherited = _inherited_dependencies(opts)
        namespace = args.namespace
        labels = {**args.labels, NAME_LABEL: APP_NAME}
        plan = topology(
            args.events,
            delivery_limit=args.delivery_limit,
            dead_letter_retention_days=args.dead_letter_retention_days,
        )
        services = [user["name"] for user in plan["users"]]

        self.exchanges = {r.event: exchange_name(r.event) for r in args.events}
        self.queues = {
            (c, r.event): queue_name(c, r.event) for r in args.events for c in r.consumers
        }
        self.dead_letter_queues = {
            (c, r.event): dead_letter_queue_name(c, r.event)
            for r in args.events
            for c in r.consumers
        }

        secrets: dict[str, aws.secretsmanager.Secret] = {}
        for service in services:
            resource_name = f"{name}-{service}-credentials"
            # No SecretVersion, on purpose: the Job writes the value, so it never passes
            # through Pulumi (nor its state).
            secrets[service] = aws.secretsmanager.Secret(
                resource_name,
                name=secret_name(args.secret_name_prefix, service),
                description=(
                    f"RabbitMQ user of the {service} service (vhost {VHOST}): "
                    + ", ".join(CREDENTIAL_KEYS)
                    + f". Written by the {APP_NAME} Job in {namespace}, never by hand."
                ),
                kms_key_id=args.secrets_kms_key_arn,
                recovery_window_in_days=args.recovery_window_days,
                tags={
                    "Name": resource_name,
                    **args.tags,
                    TAG_KEYS: " ".join(CREDENTIAL_KEYS),
                    TAG_SOURCE: "generated",
                },
                opts=child,
            )
        service_arns = [secrets[s].arn for s in services]

        identity = ServiceIdentity(
            f"{name}-identity",
            ServiceIdentityArgs(
                service=APP_NAME,
                namespace=namespace,
                service_account=APP_NAME,
                oidc_provider_arn=args.oidc_provider_arn,
                oidc_provider_url=args.oidc_provider_url,
                role_name=args.role_name,
                grants=Grants(
                    secret_arns=[args.admin_secret_arn, *service_arns],
                    # GenerateDataKey too: PutSecretValue encrypts the new version.
                    keys=[KeyGrant(args.secrets_kms_key_arn, ("secretsmanager",), KEY_ACTIONS)],
                ),
                tags=args.tags,
            ),
            child,
        )
        # ServiceIdentity's grants read secrets; writing the services' (never the admin's)
        # is this Job's alone, so it is a second inline policy on the same role.
        store_policy = aws.iam.RolePolicy(
            f"{name}-store-credentials",
            role=identity.role_name,
            name="store-credentials",
            policy=pulumi.Output.all(*service_arns).apply(
                lambda arns: policy(
                    {
                        "Sid": "StoreServiceCredentials",
                        "Effect": "Allow",
                        "Action": ["secretsmanager:PutSecretValue"],
                        "Resource": sorted(arns),
                    }
                )
            ),
            opts=child,
        )

        on_cluster = pulumi.ResourceOptions(parent=self, depends_on=inherited)

        def metadata(object_name: str) -> dict[str, Any]:
            return {"name": object_name, "namespace": namespace, "labels": labels}

        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata={
                **metadata(APP_NAME),
                "annotations": {"eks.amazonaws.com/role-arn": identity.role_arn},
            },
            # IRSA projects its own audience-bound token; the Job never calls Kubernetes.
            automount_service_account_token=False,
            opts=on_cluster,
        )
        network_policy = k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata=metadata(APP_NAME),
            spec=network_policy_spec(args.broker_cidrs, args.endpoint_cidrs),
            opts=on_cluster,
        )

        topology_text = json.dumps(plan, indent=2, sort_keys=True)
        suffix = fingerprint(
            plan, PROGRAM, READ_SCRIPT, STORE_SCRIPT, args.aws_cli_image, args.python_image
        )
        object_name = f"{APP_NAME}-{suffix}"
        config = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=metadata(object_name),
            data={PROGRAM_FILE: PROGRAM, TOPOLOGY_FILE: topology_text},
            # Named after its content: a change is a new ConfigMap (and a new Job), never an
            # edit under a Job that already ran.
            immutable=True,
            opts=on_cluster,
        )

        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        service_secrets = pulumi.Output.all(*service_arns).apply(
            lambda arns: "\n".join(f"{s} {a}" for s, a in zip(services, arns, strict=True))
        )
        common_env = [
            {"name": "HOME", "value": "/tmp"},
            {"name": "CREDENTIALS_DIR", "value": CREDENTIALS_DIR},
        ]
        aws_env = [
            *common_env,
            {"name": "AWS_REGION", "value": region},
            # No pager, and no prompt of any kind: nobody is there to answer.
            {"name": "AWS_PAGER", "value": ""},
            {"name": "SERVICE_SECRETS", "value": service_secrets},
        ]
        mounts = [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "credentials", "mountPath": CREDENTIALS_DIR},
        ]

        def container(container_name: str, image: str, command: list[str], env: list) -> dict:
            return {
                "name": container_name,
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": command,
                "env": env,
                "resources": RESOURCES,
                "securityContext": container_security_context(),
                "volumeMounts": mounts,
            }

        read = container(
            "read-credentials",
            args.aws_cli_image,
            ["/bin/sh", "-c", READ_SCRIPT],
            [*aws_env, {"name": "ADMIN_SECRET_ARN", "value": args.admin_secret_arn}],
        )
        apply_topology = container(
            "apply-topology",
            args.python_image,
            ["python", f"{CONFIG_DIR}/{PROGRAM_FILE}"],
            [
                *common_env,
                {"name": "TOPOLOGY_FILE", "value": f"{CONFIG_DIR}/{TOPOLOGY_FILE}"},
                {"name": "MANAGEMENT_URL", "value": args.management_url},
                {"name": "AMQPS_ENDPOINT", "value": args.amqps_endpoint},
                {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
            ],
        )
        apply_topology["volumeMounts"] = [
            *mounts,
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
        ]
        store = container(
            "store-credentials", args.aws_cli_image, ["/bin/sh", "-c", STORE_SCRIPT], aws_env
        )

        job = k8s.batch.v1.Job(
            f"{name}-job",
            # A failed Job (a broker not yet serving its API, a policy IAM has not yet
            # propagated) is replaced, so re-run, by the next update instead of being awaited
            # again for ever.
            metadata={
                **metadata(object_name),
                "annotations": {"pulumi.com/replaceUnready": "true"},
            },
            spec={
                "backoffLimit": BACKOFF_LIMIT,
                "activeDeadlineSeconds": ACTIVE_DEADLINE_SECONDS,
                # No ttlSecondsAfterFinished: Pulumi owns the Job, and one Kubernetes deleted
                # would be created again by the next update.
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "restartPolicy": "Never",
                        "serviceAccountName": APP_NAME,
                        "automountServiceAccountToken": False,
                        "enableServiceLinks": False,
                        "securityContext": pod_security_context(),
                        "nodeSelector": {POOL_LABEL: "workload"},
                        "initContainers": [read, apply_topology],
                        "containers": [store],
                        "volumes": [
                            {"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}},
                            {
                                "name": "credentials",
                                "emptyDir": {
                                    "medium": "Memory",
                                    "sizeLimit": CREDENTIALS_SIZE_LIMIT,
                                },
                            },
                            {
                                "name": "config",
                                "configMap": {"name": object_name, "defaultMode": 0o444},
                            },
                        ],
                    },
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*inherited, account, network_policy, config, identity, store_policy],
                # A Job's pod template cannot be changed: any change replaces it, and the old
                # (finished) one goes first, as a Job of the same name cannot exist twice.
                replace_on_changes=["spec"],
                delete_before_replace=True,
                # Outlasts the Job's own deadline, so the Job's failure is what is reported.
                custom_timeouts=pulumi.CustomTimeouts(create="15m", update="15m"),
            ),
        )

        self.credentials_secret_arns = {s: secret.arn for s, secret in secrets.items()}
        self.job_name = job.metadata.name
        self.role_arn = identity.role_arn
        self.register_outputs(
            {
                "credentialsSecretArns": self.credentials_secret_arns,
                "exchanges": self.exchanges,
                "queues": {f"{c}/{e}": q for (c, e), q in self.queues.items()},
                "deadLetterQueues": {
                    f"{c}/{e}": q for (c, e), q in self.dead_letter_queues.items()
                },
                "jobName": self.job_name,
                "roleArn": self.role_arn,
            }
        )
