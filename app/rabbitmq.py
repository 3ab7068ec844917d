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

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from osp.app import pods
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
from osp.components.broker import CONSOLE_PORT
from osp.components.secrets import TAG_KEYS, TAG_SOURCE
from osp.platform import limits
from osp.platform.iam import policy
from osp.platform.validation import InvalidArguments, Problems

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
# RabbitMQ reserves queue and exchange names starting with "amq.".
_RESERVED_PREFIX = "amq"
_MANAGEMENT_URL = re.compile(r"https://[A-Za-z0-9.-]+(?::\d{1,5})?/?")
_AMQPS_ENDPOINT = re.compile(r"amqps://[A-Za-z0-9.-]+(?::\d{1,5})?")


# --- what runs in the Job (app/jobs/) -------------------------------------------------------

#: Init container 1 (AWS CLI): the admin credentials, and each service's stored credentials
#: when its secret has a value. Secrets osp created have no version until this Job stores one;
#: describe-secret tells "no value yet" apart from every real failure, which stops the pod.
READ_SCRIPT = pods.job_file("read_credentials.sh")

#: Init container 2 (Python, standard library only): the broker made to match topology.json.
#: Shipped in the ConfigMap; it holds no secret.
PROGRAM = pods.job_file("rabbitmq_topology.py")

#: Main container (AWS CLI): stores what the program wrote for services whose credentials
#: were missing (or out of date). Runs only after the broker already accepts them, so a stored
#: password always works; a failure here re-runs the pod, which starts over.
STORE_SCRIPT = pods.job_file("store_credentials.sh")


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
    return pods.fingerprint(parts)


def secret_name(prefix: str, service: str) -> str:
    """The name of `service`'s credentials secret. Ends in `/credentials`, never in `-` and six
    characters, which Secrets Manager would confuse with the suffix it adds to ARNs."""
    return f"{prefix}/{service}/credentials"


def store_credentials_policy(secret_arns: Sequence[str]) -> str:
    """The Job's second inline policy: PutSecretValue on exactly the services' secrets (never
    the admin's)."""
    return policy(
        {
            "Sid": "StoreServiceCredentials",
            "Effect": "Allow",
            "Action": ["secretsmanager:PutSecretValue"],
            "Resource": sorted(secret_arns),
        }
    )


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


_DELIVERY_LIMIT = limits.whole_range(*DELIVERY_LIMIT_RANGE)
_DEAD_LETTER_RETENTION = limits.whole_range(*DEAD_LETTER_RETENTION_RANGE)


def _consumers(route: EventRoute) -> tuple[str, ...] | None:
    """The route's consumers, or None when they are not a list of names."""
    consumers = route.consumers
    if isinstance(consumers, str) or not isinstance(consumers, Sequence):
        return None
    return tuple(consumers)


def _service_problem(arg: str, service: object) -> str | None:
    """What a publisher or consumer (`arg`) should have been called, or None. Catalogue names
    (services, events) are DNS-1035 labels: they name users, exchanges, queues and secrets,
    and appear in a shell `read` loop, so nothing beyond [a-z0-9-]."""
    if not limits.DNS_1035_LABEL.accepts(service):
        return "a service name (a DNS-1035 label)"
    if service == APP_NAME:
        return f"a service not called {APP_NAME} (the topology Job's own pods carry that name)"
    if arg == "consumers" and service == _RESERVED_PREFIX:
        return "a service not called amq (RabbitMQ reserves queue names starting with 'amq.')"
    return None


def _route_problems(check: Problems, where: str, route: EventRoute) -> None:
    """One event's publisher and consumers (the event's own name is checked by the caller)."""
    consumers = _consumers(route)
    if consumers is None:
        check.add(f"{where}.consumers", route.consumers, "a tuple of service names")
        consumers = ()
    for arg, service in [("publisher", route.publisher)] + [("consumers", c) for c in consumers]:
        expected = _service_problem(arg, service)
        if expected:
            check.add(f"{where}.{arg}", service, expected)
    if len(set(consumers)) != len(consumers):
        check.add(f"{where}.consumers", list(consumers), "each consumer once")
    if route.publisher in consumers:
        check.add(
            f"{where}.consumers",
            route.publisher,
            "other services than the publisher (a service does not consume its own event)",
        )


def _event_problems(check: Problems, events: object) -> None:
    if isinstance(events, str) or not isinstance(events, Sequence):
        check.add("events", events, "a list of EventRoute")
        return
    if not events:
        check.add("events", [], "at least one event (a blueprint without events needs no topology)")
    seen: set[str] = set()
    for index, route in enumerate(events):
        where = f"events[{index}]"
        if not isinstance(route, EventRoute):
            check.add(where, route, "an EventRoute(event, publisher, consumers)")
            continue
        if not limits.DNS_1035_LABEL.accepts(route.event):
            check.add(
                f"{where}.event", route.event, "a DNS-1035 label such as enrollment-completed"
            )
        elif route.event in seen:
            check.add(f"{where}.event", route.event, "each event once")
        seen.add(route.event)
        _route_problems(check, where, route)


def _secret_name_problems(check: Problems, prefix: object, events: object) -> None:
    """The prefix, and the longest secret name it makes with the services' names."""
    if not check.against(limits.SECRET_NAME_PREFIX, "secret_name_prefix", prefix):
        return
    if isinstance(events, str) or not isinstance(events, Sequence):
        return
    services = [
        service
        for route in events
        if isinstance(route, EventRoute)
        for service in (route.publisher, *(_consumers(route) or ()))
        if isinstance(service, str)
    ]
    longest = max((secret_name(prefix, s) for s in services), key=len, default="")
    if len(longest) > limits.SECRET_NAME_MAX_LENGTH:
        check.add(
            "secret_name_prefix",
            prefix,
            f"a prefix short enough for {longest[:40]!r}… to fit Secrets Manager's "
            f"{limits.SECRET_NAME_MAX_LENGTH} characters",
        )


def _broker_problems(check: Problems, args: RabbitMqTopologyArgs) -> None:
    """The broker's secrets, key and endpoints, as literals (Outputs are the broker's own)."""
    for arg, kind in (("admin_secret_arn", "secret"), ("secrets_kms_key_arn", "key")):
        value = getattr(args, arg)
        expected = arn_problem(kind, value) if isinstance(value, str) else None
        if expected:
            check.add(arg, value, expected)
    _secret_name_problems(check, args.secret_name_prefix, args.events)
    url = args.management_url
    if isinstance(url, str) and not _MANAGEMENT_URL.fullmatch(url):
        check.add(
            "management_url",
            url,
            "the broker's console URL https://<host> such as "
            "https://b-1234.mq.us-east-1.amazonaws.com (RabbitMq.console_url)",
        )
    endpoint = args.amqps_endpoint
    if isinstance(endpoint, str) and not _AMQPS_ENDPOINT.fullmatch(endpoint):
        check.add(
            "amqps_endpoint",
            endpoint,
            "an endpoint amqps://<host>:5671 (RabbitMq.amqps_endpoints[0])",
        )


def problems(name: str, args: RabbitMqTopologyArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("RabbitMqTopology", name)
    expected = pods.namespace_problem(args.namespace)
    if expected:
        check.add("namespace", args.namespace, expected)
    _event_problems(check, args.events)
    _broker_problems(check, args)
    check.extend(
        trust_problems(
            role_name=args.role_name,
            oidc_provider_arn=args.oidc_provider_arn,
            oidc_provider_url=args.oidc_provider_url,
        )
    )
    check.extend(
        pods.cidr_list_problems(
            "broker_cidrs",
            args.broker_cidrs,
            whole_space="the broker's subnets, not the whole address space",
        )
    )
    check.extend(pods.cidr_list_problems("endpoint_cidrs", args.endpoint_cidrs))
    check.against(limits.SECRET_RECOVERY_WINDOW, "recovery_window_days", args.recovery_window_days)
    check.against(_DELIVERY_LIMIT, "delivery_limit", args.delivery_limit)
    check.against(
        _DEAD_LETTER_RETENTION, "dead_letter_retention_days", args.dead_letter_retention_days
    )
    check.extend(
        pods.image_problems(aws_cli_image=args.aws_cli_image, python_image=args.python_image)
    )
    check.extend(pods.label_problems("labels", args.labels))
    if pods.NAME_LABEL in args.labels:
        check.add("labels", pods.NAME_LABEL, f"no {pods.NAME_LABEL}: osp sets it to {APP_NAME}")
    return check.found


# --- the component --------------------------------------------------------------------------


def network_policy_spec(broker_cidrs: Sequence[str], endpoint_cidrs: Sequence[str]) -> dict:
    """The Job's pods: no ingress; egress to CoreDNS, the management API and AWS's APIs."""
    return pods.no_ingress_policy_spec(
        {pods.NAME_LABEL: APP_NAME},
        [
            # Only the management API: the Job never speaks AMQP.
            pods.cidr_egress(broker_cidrs, [CONSOLE_PORT]),
            # STS for IRSA, Secrets Manager for the credentials.
            pods.cidr_egress(endpoint_cidrs, [pods.HTTPS_PORT]),
        ],
    )


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


def _container(
    name: str,
    image: str,
    command: list[str],
    env: list[dict[str, Any]],
    *,
    with_config: bool = False,
) -> dict[str, Any]:
    """One of the Job's containers, with /tmp and the credentials volume, and the ConfigMap
    (read-only, at CONFIG_DIR) `with_config`."""
    mounts: list[dict[str, Any]] = [
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "credentials", "mountPath": CREDENTIALS_DIR},
    ]
    if with_config:
        mounts.append({"name": "config", "mountPath": CONFIG_DIR, "readOnly": True})
    return pods.job_container(name, image, command, env, resources=RESOURCES, mounts=mounts)


def job_containers(
    args: RabbitMqTopologyArgs, region: pulumi.Input[str], service_secrets: pulumi.Input[str]
) -> list[dict[str, Any]]:
    """The Job's three containers, in the order they run: read the credentials (AWS CLI),
    apply the topology (Python), store the new credentials (AWS CLI)."""
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
    admin = {"name": "ADMIN_SECRET_ARN", "value": args.admin_secret_arn}
    program_env = [
        *common_env,
        {"name": "TOPOLOGY_FILE", "value": f"{CONFIG_DIR}/{TOPOLOGY_FILE}"},
        {"name": "MANAGEMENT_URL", "value": args.management_url},
        {"name": "AMQPS_ENDPOINT", "value": args.amqps_endpoint},
        {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
    ]
    shell = ["/bin/sh", "-c"]
    program = ["python", f"{CONFIG_DIR}/{PROGRAM_FILE}"]
    return [
        _container(
            "read-credentials", args.aws_cli_image, [*shell, READ_SCRIPT], [*aws_env, admin]
        ),
        _container("apply-topology", args.python_image, program, program_env, with_config=True),
        _container("store-credentials", args.aws_cli_image, [*shell, STORE_SCRIPT], aws_env),
    ]


def job_spec(
    labels: Mapping[str, str], object_name: str, containers: list[dict[str, Any]]
) -> dict[str, Any]:
    """The Job: its pod runs `containers` in order (all but the last as init containers),
    retried a little, bounded in time."""
    *init_containers, main = containers
    return {
        "backoffLimit": BACKOFF_LIMIT,
        "activeDeadlineSeconds": ACTIVE_DEADLINE_SECONDS,
        # No ttlSecondsAfterFinished: Pulumi owns the Job, and one Kubernetes deleted
        # would be created again by the next update.
        "template": {
            "metadata": {"labels": labels},
            "spec": pods.job_pod_spec(
                service_account=APP_NAME,
                node_selector=pods.workload_pool(),
                init_containers=init_containers,
                containers=[main],
                volumes=[
                    pods.scratch_volume("tmp", TMP_SIZE_LIMIT),
                    pods.memory_volume("credentials", CREDENTIALS_SIZE_LIMIT),
                    pods.config_map_volume("config", object_name),
                ],
            ),
        },
    }


def _metadata(args: RabbitMqTopologyArgs, object_name: str) -> dict[str, Any]:
    return {
        "name": object_name,
        "namespace": args.namespace,
        "labels": {**args.labels, pods.NAME_LABEL: APP_NAME},
    }


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
            raise InvalidArguments(found)
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

        secrets = {service: self._credentials_secret(name, args, service) for service in services}
        service_arns = [secrets[s].arn for s in services]
        identity, store_policy = self._identity(name, args, service_arns)
        service_secrets = pulumi.Output.all(*service_arns).apply(
            lambda arns: "\n".join(f"{s} {a}" for s, a in zip(services, arns, strict=True))
        )
        job = self._job(
            name,
            args,
            plan,
            service_secrets,
            identity=identity,
            store_policy=store_policy,
            inherited=_inherited_dependencies(opts),
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

    def _credentials_secret(
        self, name: str, args: RabbitMqTopologyArgs, service: str
    ) -> aws.secretsmanager.Secret:
        """`service`'s credentials secret, without a value. No SecretVersion, on purpose: the
        Job writes the value, so it never passes through Pulumi (nor its state)."""
        resource_name = f"{name}-{service}-credentials"
        return aws.secretsmanager.Secret(
            resource_name,
            name=secret_name(args.secret_name_prefix, service),
            description=(
                f"RabbitMQ user of the {service} service (vhost {VHOST}): "
                + ", ".join(CREDENTIAL_KEYS)
                + f". Written by the {APP_NAME} Job in {args.namespace}, never by hand."
            ),
            kms_key_id=args.secrets_kms_key_arn,
            recovery_window_in_days=args.recovery_window_days,
            tags={
                "Name": resource_name,
                **args.tags,
                TAG_KEYS: " ".join(CREDENTIAL_KEYS),
                TAG_SOURCE: "generated",
            },
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _identity(
        self, name: str, args: RabbitMqTopologyArgs, service_arns: list[pulumi.Output[str]]
    ) -> tuple[ServiceIdentity, aws.iam.RolePolicy]:
        """The Job's IAM role: reads the admin's and the services' secrets, writes only the
        services'."""
        child = pulumi.ResourceOptions(parent=self)
        identity = ServiceIdentity(
            f"{name}-identity",
            ServiceIdentityArgs(
                service=APP_NAME,
                namespace=args.namespace,
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
            policy=pulumi.Output.all(*service_arns).apply(store_credentials_policy),
            opts=child,
        )
        return identity, store_policy

    def _job(
        self,
        name: str,
        args: RabbitMqTopologyArgs,
        plan: dict[str, Any],
        service_secrets: pulumi.Output[str],
        *,
        identity: ServiceIdentity,
        store_policy: aws.iam.RolePolicy,
        inherited: list[Any],
    ) -> k8s.batch.v1.Job:
        """The Job's ServiceAccount, NetworkPolicy and ConfigMap, then the Job, which waits
        for them, for its role (`identity`, `store_policy`) and for the caller's dependencies
        (`inherited`)."""
        on_cluster = pulumi.ResourceOptions(parent=self, depends_on=inherited)
        labels = {**args.labels, pods.NAME_LABEL: APP_NAME}
        account = pods.irsa_service_account(
            f"{name}-service-account",
            name=APP_NAME,
            namespace=args.namespace,
            labels=labels,
            role_arn=identity.role_arn,
            opts=on_cluster,
        )
        network_policy = k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata=_metadata(args, APP_NAME),
            spec=network_policy_spec(args.broker_cidrs, args.endpoint_cidrs),
            opts=on_cluster,
        )
        suffix = fingerprint(
            plan, PROGRAM, READ_SCRIPT, STORE_SCRIPT, args.aws_cli_image, args.python_image
        )
        object_name = f"{APP_NAME}-{suffix}"
        config = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=_metadata(args, object_name),
            data={PROGRAM_FILE: PROGRAM, TOPOLOGY_FILE: json.dumps(plan, indent=2, sort_keys=True)},
            # Named after its content: a change is a new ConfigMap (and a new Job), never an
            # edit under a Job that already ran.
            immutable=True,
            opts=on_cluster,
        )
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        return pods.run_once_job(
            f"{name}-job",
            metadata=_metadata(args, object_name),
            spec=job_spec(labels, object_name, job_containers(args, region, service_secrets)),
            timeout="15m",
            parent=self,
            depends_on=[*inherited, account, network_policy, config, identity, store_policy],
        )
