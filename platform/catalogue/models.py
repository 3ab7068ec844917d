"""The service catalogue of a blueprint: typed, validated, frozen models of its blueprint.yaml.

A catalogue says which services an estate runs and what each one may touch: its image, port,
route, replicas, resources and probes, and what it uses — its own database, the cache, the
events it publishes and consumes, buckets, secrets, email and SMS. The app layer turns each
service into a workload and grants it exactly what it declares here and nothing more, so every
reference is checked: an event consumed must be published by the service named, a bucket or
secret used must be one the blueprint declares, a caller must be a service of the catalogue.

Every model rejects unknown keys. Validation reports every problem at once, each located by its
path in the YAML document (`services.fee.uses.consumes[0]`), so the loader can name its line.
"""

from __future__ import annotations

import difflib
import json
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError, core_schema

from osp.platform import limits

if typing.TYPE_CHECKING:
    from osp.platform.catalogue.functions import Function, Queue, Schedule

Loc = tuple[str | int, ...]

# One shape for every name in a catalogue: a letter first, then lower-case letters, digits and
# hyphens, at most 40 characters. Names become parts of Kubernetes objects, IAM roles, SNS
# topics and SQS queues (`osp-prod-enrollment-created-notification-dlq`), which the prefix and
# suffixes must still fit.
_NAME = re.compile(r"[a-z]([a-z0-9-]{0,38}[a-z0-9])?")
_NAME_RULE = "1-40 lower-case letters, digits and hyphens, starting with a letter"
_ROUTE = re.compile(r"(/[a-z0-9]+([._-][a-z0-9]+)*)+")
_URL_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")
_SECRET_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_CONSUMES = re.compile(r"\s*(\S+)\s+from\s+(\S+)\s*")
# Docker distribution's grammar for repository path components and tags.
_PATH_COMPONENT = re.compile(r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*")
_REGISTRY_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?")
_CPU = re.compile(r"(\d+(\.\d+)?|\.\d+)(m?)")
_MEMORY = re.compile(r"(\d+(\.\d+)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)")
_MEMORY_UNITS = {
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}  # fmt: skip
_KNOWN_ERROR_TYPES = frozenset(typing.get_args(core_schema.ErrorType))


# --- problems located by path -------------------------------------------------------------


def _error(loc: Loc, value: object, expected: str) -> InitErrorDetails:
    """One problem at `loc`, rendered by osp.platform.spec.problems as `got X; expected Y`."""
    return InitErrorDetails(
        type=PydanticCustomError(
            "value_error",
            "got {value}; expected {expected}",
            {
                "error": ValueError(f"expected {expected}"),
                "value": repr(value),
                "expected": expected,
            },
        ),
        loc=loc,
        input=value,
    )


def _fail(title: str, errors: Iterable[InitErrorDetails]) -> None:
    """Raise the problems found, if any. Raised inside a validator, their paths get the
    enclosing model's path in front, so each problem lands on the key it is about."""
    errors = list(errors)
    if errors:
        raise ValidationError.from_exception_data(title, errors)


def _reraise(error: ValidationError) -> list[InitErrorDetails]:
    """The problems of `error`, in a form that can be raised again alongside others."""
    out: list[InitErrorDetails] = []
    for err in error.errors(include_url=False):
        kind = err["type"]
        ctx = err.get("ctx")
        if kind not in _KNOWN_ERROR_TYPES:
            kind = PydanticCustomError(kind, err["msg"].replace("{", "(").replace("}", ")"), ctx)
        detail = InitErrorDetails(type=kind, loc=tuple(err["loc"]), input=err["input"])
        if ctx is not None and isinstance(kind, str):
            detail["ctx"] = ctx
        out.append(detail)
    return out


def _filters() -> types.ModuleType:
    # The mapping form of `consumes` lives in its own module, which builds on this one.
    from osp.platform.catalogue import filters

    return filters


def _did_you_mean(value: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- scalar types -------------------------------------------------------------------------


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"expected a name of {_NAME_RULE}")
    return value


def _route(value: str) -> str:
    if len(value) > 100 or not _ROUTE.fullmatch(value):
        raise ValueError(
            "expected a URL path prefix such as /api/fee: lower-case segments of letters, "
            "digits, '.', '_' and '-', no trailing slash, at most 100 characters"
        )
    return value


def _url_path(value: str) -> str:
    if len(value) > 200 or not _URL_PATH.fullmatch(value):
        raise ValueError("expected an absolute URL path such as /healthz")
    return value


#: Where a volume may not be mounted: the root, the pods' own scratch space (/tmp, an
#: emptyDir), what the kubelet and the IRSA webhook mount, and the system's own directories.
RESERVED_MOUNT_PATHS = ("/tmp", "/proc", "/sys", "/dev", "/etc", "/var/run/secrets")
_MOUNT_PATH = re.compile(r"(/[A-Za-z0-9_][A-Za-z0-9._-]*)+")
_MOUNT_PATH_RULE = (
    "an absolute directory such as /data: segments of letters, digits, '.', '_' and '-', no "
    "'..', no trailing slash, at most 200 characters, not / and not at or under "
    + ", ".join(RESERVED_MOUNT_PATHS)
)


def mount_path_problem(value: object) -> str | None:
    """What a volume's mount path should have been, or None when it is one."""
    if not isinstance(value, str) or len(value) > 200 or not _MOUNT_PATH.fullmatch(value):
        return _MOUNT_PATH_RULE
    if any(part in ("..", ".") for part in value.split("/")):
        return _MOUNT_PATH_RULE
    if any(value == r or value.startswith(r + "/") for r in RESERVED_MOUNT_PATHS):
        return _MOUNT_PATH_RULE
    return None


def _mount_path(value: str) -> str:
    expected = mount_path_problem(value)
    if expected:
        raise ValueError(f"expected {expected}")
    return value


def _secret_key(value: str) -> str:
    if not _SECRET_KEY.fullmatch(value):
        raise ValueError("expected a key of letters, digits and '_', not starting with a digit")
    return value


def _number_as_text(value: Any) -> Any:
    # YAML reads `cpu: 1` and `cpu: 0.5` as numbers; Kubernetes quantities are text.
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return format(Decimal(str(value)), "f")
    return value


def cpu_millicores(quantity: str) -> Decimal:
    """A Kubernetes CPU quantity (`250m`, `0.5`, `2`) in millicores."""
    match = _CPU.fullmatch(quantity)
    if not match:
        raise ValueError(quantity)
    number = Decimal(match.group(1))
    return number if match.group(3) else number * 1000


def memory_bytes(quantity: str) -> Decimal:
    """A Kubernetes memory quantity with a unit (`256Mi`, `1Gi`, `500M`) in bytes."""
    match = _MEMORY.fullmatch(quantity)
    if not match:
        raise ValueError(quantity)
    return Decimal(match.group(1)) * _MEMORY_UNITS[match.group(3)]


def _cpu(value: str) -> str:
    try:
        ok = cpu_millicores(value) >= 1
    except (ValueError, InvalidOperation):
        ok = False
    if not ok:
        raise ValueError("expected a Kubernetes CPU quantity of at least 1m, such as 250m or 1")
    return value


def _memory(value: str) -> str:
    try:
        ok = memory_bytes(value) >= 2**20
    except (ValueError, InvalidOperation):
        ok = False
    if not ok:
        raise ValueError(
            "expected a Kubernetes memory quantity of at least 1Mi with a binary or decimal "
            "unit, such as 256Mi or 1Gi ('m' would mean millibytes)"
        )
    return value


Name = Annotated[str, AfterValidator(_name)]
Route = Annotated[str, AfterValidator(_route)]
UrlPath = Annotated[str, AfterValidator(_url_path)]
SecretKey = Annotated[str, AfterValidator(_secret_key)]
MountPath = Annotated[str, AfterValidator(_mount_path)]
CpuQuantity = Annotated[str, BeforeValidator(_number_as_text), AfterValidator(_cpu)]
MemoryQuantity = Annotated[str, BeforeValidator(_number_as_text), AfterValidator(_memory)]


def _distinct(what: str):
    def check(values: tuple[Any, ...]) -> tuple[Any, ...]:
        seen: set[Any] = set()
        _fail(
            "distinct",
            (
                _error((i,), value, f"each {what} once")
                for i, value in enumerate(values)
                if value in seen or seen.add(value)
            ),
        )
        return values

    return AfterValidator(check)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def __hash__(self) -> int:
        # Frozen, so hashable — by value, although some fields are mappings.
        return hash((type(self), self.model_dump_json()))


# --- images -------------------------------------------------------------------------------


class Image(_Model):
    """A container image pinned by an explicit tag — never `latest`, never left out.

    Written `<repository>:<tag>`. A bare repository (`fee:1.0.0`) is the service's own
    repository in the estate's ECR registry, which the estate creates (one per service, named
    after it, tags immutable). A reference whose first part is a registry host
    (`ghcr.io/acme/fee:1.0.0`, `123456789012.dkr.ecr.eu-west-2.amazonaws.com/fee:1.0.0`) is
    used as written; the cluster's nodes must be able to pull it.
    """

    registry: str | None = Field(None, description="Registry host; None: the estate's ECR.")
    repository: str = Field(description="Repository path inside the registry.")
    tag: str = Field(description="The version tag, e.g. 1.0.0.")

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and set(data) <= {"registry", "repository", "tag"}:
            parts = (data.get("registry"), data.get("repository"), data.get("tag"))
            if not all(isinstance(p, str | None) for p in parts) or None in parts[1:]:
                return data  # field validation names what is missing or mistyped
            registry, repository, tag = parts
            data = f"{registry + '/' if registry else ''}{repository}:{tag}"
        if not isinstance(data, str):
            return data
        text = data.strip()
        example = "such as fee:1.0.0 or ghcr.io/acme/fee:1.0.0"
        slash, colon = text.rfind("/"), text.rfind(":")
        if "@" in text or colon <= slash:
            raise ValueError(
                f"expected an image with an explicit tag, <repository>:<tag>, {example}"
            )
        repository, tag = text[:colon], text[colon + 1 :]
        registry = None
        first, _, rest = repository.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            registry, repository = first, rest
        if (
            not limits.IMAGE_TAG.accepts(tag)
            or (registry is not None and not _REGISTRY_HOST.fullmatch(registry))
            or not all(_PATH_COMPONENT.fullmatch(part) for part in repository.split("/"))
            or len(repository) > 256
        ):
            raise ValueError(f"expected an image reference <repository>:<tag>, {example}")
        if tag.lower() == "latest":
            raise ValueError(
                "expected an explicit version tag such as 1.0.0, never 'latest': a moving tag "
                "makes a rollout unrepeatable and a rollback impossible"
            )
        return {"registry": registry, "repository": repository, "tag": tag}

    @property
    def in_estate_registry(self) -> bool:
        """True when the image lives in the estate's own ECR repository for its service."""
        return self.registry is None

    def reference(self, repository_url: str | None = None) -> str:
        """The full image reference. An estate image needs its ECR `repository_url`."""
        if self.registry is not None:
            return f"{self.registry}/{self.repository}:{self.tag}"
        if repository_url is None:
            raise ValueError(
                f"image {self.repository}:{self.tag} lives in the estate's ECR registry: "
                "pass the repository URL"
            )
        return f"{repository_url}:{self.tag}"

    def __str__(self) -> str:
        prefix = f"{self.registry}/" if self.registry else ""
        return f"{prefix}{self.repository}:{self.tag}"


# --- replicas, resources, probes ----------------------------------------------------------


class Replicas(_Model):
    """How many pods a service runs: 0 <= min <= baseline <= max."""

    min: int = Field(ge=0, le=1000, description="The fewest any environment runs (dev).")
    baseline: int = Field(
        ge=1, le=1000, description="The steady count (the seed's task count): the floor in prod."
    )
    max: int = Field(ge=1, le=1000, description="The autoscaler's ceiling (peak load).")

    @model_validator(mode="after")
    def _ordered(self) -> Replicas:
        errors = []
        if self.min > self.baseline:
            errors.append(_error(("min",), self.min, f"a number <= baseline ({self.baseline})"))
        if self.baseline > self.max:
            errors.append(_error(("max",), self.max, f"a number >= baseline ({self.baseline})"))
        _fail("Replicas", errors)
        return self


class Quantities(_Model):
    """CPU and memory, as Kubernetes quantities."""

    cpu: CpuQuantity = Field(description="CPU: `250m`, `0.5`, `1`.")
    memory: MemoryQuantity = Field(description="Memory with a unit: `256Mi`, `1Gi`.")


class Resources(_Model):
    """Requests (what the scheduler reserves) and limits (the most a pod may take)."""

    requests: Quantities = Field(
        default_factory=lambda: Quantities(cpu="250m", memory="256Mi"),
        description="Default: 250m CPU, 256Mi memory.",
    )
    limits: Quantities = Field(
        default_factory=lambda: Quantities(cpu="1", memory="512Mi"),
        description="Default: 1 CPU, 512Mi memory; never below the requests.",
    )

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> Resources:
        errors = []
        if cpu_millicores(self.limits.cpu) < cpu_millicores(self.requests.cpu):
            errors.append(
                _error(
                    ("limits", "cpu"),
                    self.limits.cpu,
                    f"at least the request ({self.requests.cpu})",
                )
            )
        if memory_bytes(self.limits.memory) < memory_bytes(self.requests.memory):
            errors.append(
                _error(
                    ("limits", "memory"),
                    self.limits.memory,
                    f"at least the request ({self.requests.memory})",
                )
            )
        _fail("Resources", errors)
        return self


class Autoscaling(_Model):
    """What the service's HorizontalPodAutoscaler aims for: average utilisation of the pods'
    requests. Default: 70 % CPU and 80 % memory."""

    cpu_percent: int = Field(70, ge=1, le=100, description="Average CPU, % of requests.")
    memory_percent: int | None = Field(
        80, ge=1, le=100, description="Average memory, % of requests; null: CPU alone."
    )


class Probe(_Model):
    """An HTTP probe on the service's port."""

    path: UrlPath
    period_seconds: int = Field(10, ge=1, le=300)
    timeout_seconds: int = Field(2, ge=1, le=60)
    failure_threshold: int = Field(3, ge=1, le=120)


class StartupProbe(Probe):
    """Holds the other probes off until the service has started: 5 s × 30 = 150 s to start."""

    path: UrlPath = "/healthz"
    period_seconds: int = Field(5, ge=1, le=300)
    failure_threshold: int = Field(30, ge=1, le=120)


class ReadinessProbe(Probe):
    """Takes a pod out of its Service and target group while it cannot serve."""

    path: UrlPath = "/readyz"


class LivenessProbe(Probe):
    """Restarts a pod that has stopped answering."""

    path: UrlPath = "/healthz"


class Probes(_Model):
    """The three probes; each defaults as its class says."""

    startup: StartupProbe = Field(default_factory=StartupProbe)
    readiness: ReadinessProbe = Field(default_factory=ReadinessProbe)
    liveness: LivenessProbe = Field(default_factory=LivenessProbe)


# --- what a service uses ------------------------------------------------------------------


class Database(StrEnum):
    """What a service has of the shared PostgreSQL."""

    #: No database access at all.
    NONE = "none"
    #: Its own logical database and user on the shared PostgreSQL (IAM authentication).
    OWN = "own"
    #: Its own database and user, and reads through the read replica as well (same user).
    READ_REPLICA = "read-replica"


class Access(StrEnum):
    """What a service may do with a bucket."""

    READ = "read"
    READ_WRITE = "read-write"


class QueueAccess(StrEnum):
    """What a service does with a queue of the blueprint (osp.platform.catalogue.functions)."""

    SEND = "send"
    RECEIVE = "receive"


@dataclass(frozen=True)
class Subscription:
    """One event a service consumes, and the service that publishes it; with a channel, a
    second queue of the consumer on the event, and with a filter, only the messages SNS
    matches (see osp.platform.catalogue.filters)."""

    event: str
    publisher: str
    channel: str | None = None
    filter_document: str | None = None
    """The SNS filter policy as JSON (keys sorted), or None: every message."""
    filter_policy_scope: str = "MessageAttributes"

    @property
    def queue(self) -> str:
        """The consumer's queue's part of its name: the event, or `<event>-<channel>`."""
        return self.event if self.channel is None else f"{self.event}-{self.channel}"

    @property
    def filter_policy(self) -> dict[str, Any] | None:
        return None if self.filter_document is None else json.loads(self.filter_document)

    def __str__(self) -> str:
        return f"{self.event} from {self.publisher}"


def _subscription(value: Any) -> Any:
    if isinstance(value, Subscription):
        return value
    if isinstance(value, Mapping):
        return _filters().Consumption.model_validate(value).subscription()
    match = _CONSUMES.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(
            "expected '<event> from <publisher>', such as 'enrollment-created from enrollment'"
        )
    event, publisher = match.groups()
    for part in (event, publisher):
        if not _NAME.fullmatch(part):
            raise ValueError(f"expected '<event> from <publisher>' with names of {_NAME_RULE}")
    return Subscription(event, publisher)


def _subscription_data(value: Subscription) -> Any:
    if value.channel is None and value.filter_document is None:
        return str(value)
    return {
        "event": value.event,
        "from": value.publisher,
        "channel": value.channel,
        "filter": value.filter_policy,
        "filter_scope": value.filter_policy_scope,
    }


SubscriptionEntry = Annotated[
    Subscription, BeforeValidator(_subscription), PlainSerializer(_subscription_data)
]


class Volume(_Model):
    """A directory that outlives the service's pods: on the estate's shared file system
    (Amazon EFS), mounted read-write into every pod of the service at `path`. Each service's
    volume is its own (an EFS access point roots it at /<service> and makes every file
    operation run as the pods' user); no other service can mount it. EFS grows and shrinks
    with what is stored, so a volume has no size to declare."""

    path: MountPath = Field(description="Where the pods see it: an absolute path such as /data.")


# Kafka's catalogue models build on the helpers above; kafka.py imports this module back.
from osp.platform.catalogue import kafka as _kafka  # noqa: E402


class Uses(_Model):
    """What a service reaches beyond itself. The app layer grants exactly this."""

    database: Database = Field(Database.NONE, description="none, own or read-replica.")
    cache: bool = Field(False, description="The shared Redis.")
    publishes: Annotated[tuple[Name, ...], _distinct("event")] = Field(
        (), description="Events it emits; it owns each one's topic (or exchange)."
    )
    consumes: Annotated[tuple[SubscriptionEntry, ...], _distinct("event")] = Field(
        (),
        description="Events it receives, each `<event> from <publisher>` or a mapping with "
        "a channel and a filter (osp.platform.catalogue.filters).",
    )
    buckets: dict[Name, Access] = Field(
        default_factory=dict, description="Blueprint buckets: read or read-write."
    )
    secrets: Annotated[tuple[Name, ...], _distinct("secret")] = Field(
        (), description="Blueprint secrets it reads."
    )
    email: bool = Field(False, description="May send email through SES.")
    sms: bool = Field(False, description="May send SMS through SNS.")
    volume: Volume | None = Field(
        None, description="A persistent directory on the estate's EFS file system."
    )
    tables: dict[Name, Access] = Field(
        default_factory=dict, description="Blueprint DynamoDB tables: read or read-write."
    )
    queues: dict[Name, QueueAccess] = Field(
        default_factory=dict, description="Blueprint queues: send or receive."
    )
    kafka: _kafka.KafkaUse | None = Field(
        None, description="Topics it produces to and consumes from (transport: kafka)."
    )

    @property
    def database_access(self) -> bool:
        return self.database is not Database.NONE


# --- services, buckets, secrets -----------------------------------------------------------


class Service(_Model):
    """One containerised service: what runs, how it is reached, and what it may touch."""

    name: str = Field(description="Its key under `services` (a DNS label).")
    image: Image = Field(description="`<repository>:<tag>`; see Image.")
    port: int = Field(ge=1, le=65535, description="The container port it listens on.")
    route: Route | None = Field(
        None,
        description="Path prefix on the load balancer (`/api/<name>`); None: not exposed, "
        "reachable only by its callers.",
    )
    replicas: Replicas
    resources: Resources = Field(default_factory=Resources)
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    probes: Probes = Field(default_factory=Probes)
    uses: Uses = Field(default_factory=Uses)
    callers: Annotated[tuple[Name, ...], _distinct("caller")] = Field(
        (), description="Services allowed to call it directly (NetworkPolicy ingress)."
    )

    @field_validator("image")
    @classmethod
    def _own_repository(cls, image: Image, info: ValidationInfo) -> Image:
        name = info.data.get("name")
        if image.in_estate_registry and name is not None and image.repository != name:
            _fail(
                "Service",
                [
                    _error(
                        (),
                        str(image),
                        f"the service's own ECR repository, {name}:<tag> (the estate creates "
                        "one per service), or a full reference with a registry host",
                    )
                ],
            )
        return image


class Bucket(_Model):
    """A data bucket of the estate; services get read or read-write on it."""

    name: str = Field(description="Its key under `buckets`.")
    archive: bool = Field(
        False, description="Lifecycle to Standard-IA after 90 days and Glacier after 365."
    )
    delivery: Delivery | None = Field(
        None,
        description="Served by CloudFront at <bucket>.<domain>: public and signed prefixes "
        "(osp.platform.catalogue.delivery). Default: not served.",
    )


class SecretKind(StrEnum):
    #: A random value osp generates; no one ever types it.
    GENERATED = "generated"
    #: Keys an operator fills in after the first deployment (third-party credentials);
    #: osp creates the secret with empty values and never holds the real ones.
    PLACEHOLDER = "placeholder"


class Secret(_Model):
    """A shared secret in Secrets Manager; services that list it may read it."""

    name: str = Field(description="Its key under `secrets`.")
    kind: SecretKind
    keys: Annotated[tuple[SecretKey, ...], _distinct("key")] = Field(
        (), description="The JSON keys of a placeholder secret."
    )
    description: str = Field("", max_length=256)

    @model_validator(mode="after")
    def _keys(self) -> Secret:
        if self.kind is SecretKind.PLACEHOLDER and not self.keys:
            _fail(
                "Secret",
                [_error(("keys",), [], "at least one key the operator fills in")],
            )
        if self.kind is SecretKind.GENERATED and self.keys:
            _fail(
                "Secret",
                [
                    _error(
                        ("keys",),
                        list(self.keys),
                        "no keys: a generated secret is one random value "
                        "(use kind: placeholder for a set of keys)",
                    )
                ],
            )
        return self


class Transport(StrEnum):
    """How a blueprint's services exchange events."""

    #: An SNS topic per event, an SQS queue (with a dead-letter queue) per consumer.
    SNS_SQS = "sns-sqs"
    #: Exchanges and queues on the estate's Amazon MQ (RabbitMQ) broker.
    RABBITMQ = "rabbitmq"
    #: Topics on the estate's Amazon MSK cluster (platform/catalogue/kafka.py).
    KAFKA = "kafka"


class DataStore(StrEnum):
    """A shared data store of the estate, created only for a blueprint whose services use it
    (see `Catalogue.data_stores`)."""

    #: The shared PostgreSQL (RDS), with its read replica when a service reads through one.
    POSTGRES = "postgres"
    #: The shared Redis (ElastiCache).
    REDIS = "redis"
    #: The Amazon MQ for RabbitMQ broker that carries events over the `rabbitmq` transport.
    RABBITMQ = "rabbitmq"
    #: The Amazon MSK cluster that holds the topics of the `kafka` transport.
    KAFKA = "kafka"


@dataclass(frozen=True)
class Event:
    """An event: the one service that publishes it and the services that consume it."""

    name: str
    publisher: str
    consumers: tuple[str, ...]


# --- the catalogue ------------------------------------------------------------------------

# Here, not at the top: these modules build on the models above.
from osp.platform.catalogue.parameters import (  # noqa: E402
    Parameter,
    parameter_reference_problems,
)
from osp.platform.catalogue.tables import Table, table_reference_problems  # noqa: E402

#: Sections whose entries are keyed by name; the key becomes the entry's `name`.
_NAMED_SECTIONS = (
    "services",
    "buckets",
    "secrets",
    "tables",
    "queues",
    "functions",
    "schedules",
    *_kafka.NAMED_SECTIONS,
)
#: Subdomains the estate itself uses, which no portal may take.
RESERVED_SUBDOMAINS = frozenset({"api"})


class Catalogue(_Model):
    """A blueprint's services and the shared things they use, cross-checked.

    Guarantees, once constructed: service, bucket, secret and event names are well formed and
    unique; every route is unique and none lies under another; every event consumed is
    published by exactly the service named, never the consumer itself; every bucket, secret
    and caller a service names exists; images carry explicit tags; replicas and resources are
    consistent.
    """

    name: Name = Field(description="The blueprint: its folder under blueprints/.")
    description: str = Field(min_length=1, max_length=500)
    transport: Transport = Field(description="How events travel: sns-sqs, rabbitmq or kafka.")
    portals: Annotated[tuple[Name, ...], _distinct("portal")] = Field(
        (), description="Single-page apps served at <portal>.<domain>."
    )
    bucket_map: dict[Name, Bucket] = Field(default_factory=dict, alias="buckets")
    secret_map: dict[Name, Secret] = Field(default_factory=dict, alias="secrets")
    service_map: dict[Name, Service] = Field(alias="services")
    table_map: dict[Name, Table] = Field(default_factory=dict, alias="tables")
    parameters: dict[Name, dict[Name, Parameter]] = Field(
        default_factory=dict,
        description="SSM parameters by owner: a service's name, or `shared` (every service).",
    )
    queue_map: dict[Name, Queue] = Field(default_factory=dict, alias="queues")
    function_map: dict[Name, Function] = Field(default_factory=dict, alias="functions")
    schedule_map: dict[Name, Schedule] = Field(default_factory=dict, alias="schedules")
    topic_map: dict[Name, _kafka.Topic] = Field(default_factory=dict, alias="topics")
    processor_map: dict[Name, _kafka.Processor] = Field(default_factory=dict, alias="processors")
    infrastructure: dict[str, Any] = Field(
        default_factory=dict,
        description="Stack-file defaults of the blueprint's estate (`osp:database`, "
        "`osp:cache`, `osp:broker`, `osp:cluster`), between the profile's preset and the stack "
        "file. The spec loader reads and validates them (osp.platform.spec.infrastructure); "
        "nothing reads them from here.",
    )

    @model_validator(mode="wrap")
    @classmethod
    def _cross_checked(cls, data: Any, handler) -> Catalogue:
        # Cross-references are checked on the input too, so that they are reported along with
        # any problem inside a service rather than only once every service is valid.
        errors: list[InitErrorDetails] = []
        if isinstance(data, Mapping):
            data, errors = _named(data)
            errors += _reference_problems(data) + _function_problems(data)
            errors += _kafka.reference_problems(data)
            errors += _filters().problems(data)
            errors += delivery.problems(data)
        try:
            catalogue = handler(data)
        except ValidationError as exc:
            errors = _reraise(exc) + errors
        _fail(cls.__name__, errors)
        return catalogue

    # -- the collections, in the order the file lists them

    @property
    def services(self) -> tuple[Service, ...]:
        return tuple(self.service_map.values())

    @property
    def buckets(self) -> tuple[Bucket, ...]:
        return tuple(self.bucket_map.values())

    @property
    def secrets(self) -> tuple[Secret, ...]:
        return tuple(self.secret_map.values())

    @property
    def tables(self) -> tuple[Table, ...]:
        return tuple(self.table_map.values())

    @property
    def queues(self) -> tuple[Queue, ...]:
        return tuple(self.queue_map.values())

    @property
    def functions(self) -> tuple[Function, ...]:
        return tuple(self.function_map.values())

    @property
    def schedules(self) -> tuple[Schedule, ...]:
        return tuple(self.schedule_map.values())

    def service(self, name: str) -> Service:
        """The service called `name`; KeyError listing the catalogue's services otherwise."""
        try:
            return self.service_map[name]
        except KeyError:
            raise KeyError(
                f"no service {name!r} in blueprint {self.name!r}; "
                f"expected one of {', '.join(self.service_map)}"
            ) from None

    @cached_property
    def events(self) -> Mapping[str, Event]:
        """Every event published, in the order the services publish them."""
        return MappingProxyType(
            {
                event: Event(
                    name=event,
                    publisher=service.name,
                    consumers=tuple(
                        other.name
                        for other in self.services
                        if any(sub.event == event for sub in other.uses.consumes)
                    ),
                )
                for service in self.services
                for event in service.uses.publishes
            }
        )

    def consumers_of(self, event: str) -> tuple[str, ...]:
        """The services that consume `event`, in catalogue order (empty when none do)."""
        try:
            return self.events[event].consumers
        except KeyError:
            raise KeyError(
                f"no service of blueprint {self.name!r} publishes {event!r}; "
                f"expected one of {', '.join(self.events) or 'none'}"
            ) from None

    def callers_of(self, service: str) -> tuple[str, ...]:
        """The services allowed to call `service` directly."""
        return self.service(service).callers

    @property
    def routed(self) -> tuple[Service, ...]:
        """The services the load balancer routes to (those with a route)."""
        return tuple(s for s in self.services if s.route is not None)

    @property
    def repositories(self) -> tuple[str, ...]:
        """The ECR repositories the estate must hold: one per service and function with an
        estate image."""
        return tuple(
            s.image.repository for s in self.services if s.image.in_estate_registry
        ) + tuple(
            f.name
            for f in self.functions
            if isinstance(f.code, Image) and f.code.in_estate_registry
        )

    @property
    def uses_read_replica(self) -> bool:
        """Whether any service reads through the database's read replica."""
        return any(s.uses.database is Database.READ_REPLICA for s in self.services)

    @property
    def delivered_buckets(self) -> tuple[Bucket, ...]:
        """The buckets CloudFront serves (each with its own distribution)."""
        return tuple(b for b in self.buckets if b.delivery is not None)

    @property
    def volume_services(self) -> tuple[Service, ...]:
        """The services with a volume: the estate creates its EFS file system only for
        them."""
        return tuple(s for s in self.services if s.uses.volume is not None)

    @cached_property
    def data_stores(self) -> frozenset[DataStore]:
        """The shared data stores these services use, and so the only ones the estate
        creates (each costs money whether or not anything connects to it): PostgreSQL when
        a service has a database, Redis when one uses the cache, the RabbitMQ broker when
        events travel over it and there are events."""
        stores = set()
        if any(s.uses.database_access for s in self.services):
            stores.add(DataStore.POSTGRES)
        if any(s.uses.cache for s in self.services) or any(f.uses.cache for f in self.functions):
            stores.add(DataStore.REDIS)
        if self.transport is Transport.RABBITMQ and self.events:
            stores.add(DataStore.RABBITMQ)
        if self.transport is Transport.KAFKA and self.topic_map:
            stores.add(DataStore.KAFKA)
        return frozenset(stores)

    @property
    def topics(self) -> tuple[_kafka.Topic, ...]:
        return tuple(self.topic_map.values())

    @property
    def processors(self) -> tuple[_kafka.Processor, ...]:
        return tuple(self.processor_map.values())

    @property
    def kafka_services(self) -> tuple[Service, ...]:
        """The services that produce to or consume from a topic."""
        return tuple(
            s
            for s in self.services
            if s.uses.kafka and (s.uses.kafka.produces or s.uses.kafka.consumes)
        )

    def needs(self, store: DataStore) -> bool:
        """Whether the estate must create `store` for these services."""
        return store in self.data_stores


def _named(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[InitErrorDetails]]:
    """`data` with each named entry given its key as `name`."""
    out = dict(data)
    errors: list[InitErrorDetails] = []
    for section in _NAMED_SECTIONS:
        entries = out.get(section)
        if not isinstance(entries, Mapping):
            continue
        named = {}
        for key, body in entries.items():
            if isinstance(body, Mapping):
                stated = body.get("name", key)
                if stated != key:
                    errors.append(
                        _error(
                            (section, key, "name"),
                            stated,
                            f"{key!r} or no name at all: an entry's name is its key",
                        )
                    )
                body = {**body, "name": key}
            named[key] = body
        out[section] = named
    return out, errors


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _sequence(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _function_problems(data: Mapping[str, Any]) -> list[InitErrorDetails]:
    # Queues, functions and schedules live in their own module, which builds on this one
    # (and completes Catalogue's fields once its models exist).
    from osp.platform.catalogue.functions import reference_problems

    return reference_problems(data)


def _reference_problems(data: Mapping[str, Any]) -> list[InitErrorDetails]:
    """Problems with references between entries, read from the (unvalidated) input.

    Anything malformed here is left to field validation to report; only references that are
    well formed but point nowhere, or collide, are reported.
    """
    errors: list[InitErrorDetails] = []
    services = {str(k): _mapping(v) for k, v in _mapping(data.get("services")).items()}
    buckets = [str(k) for k in _mapping(data.get("buckets"))]
    secrets = [str(k) for k in _mapping(data.get("secrets"))]
    names = list(services)
    if isinstance(data.get("services"), Mapping) and not services:
        errors.append(_error(("services",), {}, "at least one service"))

    for i, portal in enumerate(_sequence(data.get("portals"))):
        if portal in RESERVED_SUBDOMAINS:
            errors.append(
                _error(
                    ("portals", i),
                    portal,
                    "a portal name other than 'api' (api.<domain> is the API's entry)",
                )
            )

    publisher_of: dict[str, str] = {}
    routes: list[tuple[str, tuple[str, ...], str]] = []
    for name, body in services.items():
        uses = _mapping(body.get("uses"))
        for i, event in enumerate(_sequence(uses.get("publishes"))):
            if not isinstance(event, str):
                continue
            owner = publisher_of.setdefault(event, name)
            if owner != name:
                errors.append(
                    _error(
                        ("services", name, "uses", "publishes", i),
                        event,
                        f"an event no other service publishes ({owner!r} already does; "
                        "an event has one publisher, which owns its topic)",
                    )
                )
        route = body.get("route")
        if isinstance(route, str) and _ROUTE.fullmatch(route):
            segments = tuple(route.strip("/").split("/"))
            for other, other_segments, other_route in routes:
                if segments == other_segments:
                    expected = f"a route of its own (service {other!r} has {other_route})"
                elif segments[: len(other_segments)] == other_segments:
                    expected = f"a route not under {other_route}, the route of service {other!r}"
                elif other_segments[: len(segments)] == segments:
                    expected = (
                        f"a route no other route lies under ({other_route}, the route of "
                        f"service {other!r}, does)"
                    )
                else:
                    continue
                errors.append(_error(("services", name, "route"), route, expected))
                break
            else:
                routes.append((name, segments, route))

    for name, body in services.items():
        base = ("services", name)
        uses = _mapping(body.get("uses"))
        for i, caller in enumerate(_sequence(body.get("callers"))):
            if not isinstance(caller, str) or not _NAME.fullmatch(caller):
                continue
            if caller == name:
                errors.append(
                    _error(
                        (*base, "callers", i),
                        caller,
                        "another service (a service needs no permission to call itself)",
                    )
                )
            elif caller not in services:
                errors.append(
                    _error(
                        (*base, "callers", i),
                        caller,
                        "a service of this catalogue" + _did_you_mean(caller, names),
                    )
                )
        for i, entry in enumerate(_sequence(uses.get("consumes"))):
            entry = _filters().as_text(entry)
            match = _CONSUMES.fullmatch(entry) if isinstance(entry, str) else None
            if not match:
                continue
            event, publisher = match.groups()
            where = (*base, "uses", "consumes", i)
            shown = f"{event} from {publisher}"
            if publisher == name:
                expected = (
                    "an event of another service: a service does not consume its own events "
                    "(it handles them in-process)"
                )
            elif publisher not in services:
                expected = (
                    f"a publisher that is a service of this catalogue; {publisher!r} is not"
                    + _did_you_mean(publisher, names)
                )
            elif event not in publisher_of:
                published = ", ".join(sorted(publisher_of)) or "none"
                expected = f"an event some service publishes: {published}"
            elif publisher_of[event] != publisher:
                expected = (
                    f"'{event} from {publisher_of[event]}': {publisher_of[event]!r} "
                    f"publishes {event!r}"
                )
            else:
                continue
            errors.append(_error(where, shown, expected))
        for key in _mapping(uses.get("buckets")):
            if isinstance(key, str) and key not in buckets:
                errors.append(
                    _error(
                        (*base, "uses", "buckets", key),
                        key,
                        "one of the blueprint's buckets: " + (", ".join(buckets) or "none"),
                    )
                )
        for i, secret in enumerate(_sequence(uses.get("secrets"))):
            if isinstance(secret, str) and secret not in secrets:
                errors.append(
                    _error(
                        (*base, "uses", "secrets", i),
                        secret,
                        "one of the blueprint's secrets: " + (", ".join(secrets) or "none"),
                    )
                )
    errors += table_reference_problems(data, services)
    errors += parameter_reference_problems(data, services)
    return errors


# A bucket's delivery builds on the models above; its module is imported last so that it can.
from osp.platform.catalogue import delivery  # noqa: E402
from osp.platform.catalogue.delivery import Delivery  # noqa: E402

Bucket.model_rebuild()
# Catalogue is rebuilt once its queues, functions and schedules exist, at the end of
# osp.platform.catalogue.functions (which the package imports first).
