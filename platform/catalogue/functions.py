"""A blueprint's queues, functions and schedules: typed, validated models of their sections.

`queues:` are SQS queues (each with a dead-letter queue) that one consumer reads: a function
triggered by it, or a service that lists it as `receive` under `uses.queues`; services and
functions that `send` to it get a grant to. `functions:` are AWS Lambda functions whose code
the estate never builds: an image in the estate's ECR (or a registry named in full) or a zip
artifact in one of the blueprint's buckets. Each has exactly one trigger: an upload into a
bucket under a prefix, a queue, or a schedule that targets it. `schedules:` are EventBridge
Scheduler schedules that invoke a function or send to a queue.

Every reference is checked against what the blueprint declares (`reference_problems`), each
problem located by its path, as the rest of the catalogue's are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails

from osp.platform import limits
from osp.platform.catalogue.models import (
    _NAME,
    Access,
    Catalogue,
    Image,
    Name,
    QueueAccess,
    _did_you_mean,
    _distinct,
    _error,
    _fail,
    _Model,
)
from osp.platform.limits import Constraint

# isort: split
# After models: the kafka module builds on models, which imports it part-way through.
from osp.platform.catalogue.kafka import KafkaUse

#: The bucket key of a zip artifact: S3's object key, without a leading slash.
_ARTIFACT = re.compile(r"s3://([a-z][a-z0-9-]{0,38}[a-z0-9]|[a-z])/([A-Za-z0-9!_.*'()/-]{1,1024})")
_ARTIFACT_RULE = (
    "a zip artifact s3://<blueprint bucket>/<key> such as s3://artifacts/thumbnails.zip"
)
#: A prefix or suffix of an object key in an S3 event filter.
_KEY_PART = re.compile(r"[A-Za-z0-9!_.*'()/-]{1,1024}")
_KEY_PART_RULE = "part of an object key: letters, digits and !_.*'()/- (at most 1024)"


def _limit(rule: Constraint):
    def check(value: Any) -> Any:
        problem = rule.problem(value)
        if problem:
            raise ValueError(f"expected {problem}")
        return value

    return AfterValidator(check)


def _key_part(value: str) -> str:
    if not _KEY_PART.fullmatch(value):
        raise ValueError(f"expected {_KEY_PART_RULE}")
    return value


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _timezone(value: str) -> str:
    if value not in _zones():
        raise ValueError(
            "expected an IANA time zone such as UTC, Europe/London or America/New_York"
            + _did_you_mean(value, _zones())
        )
    return value


KeyPart = Annotated[str, AfterValidator(_key_part)]
TimeZone = Annotated[str, AfterValidator(_timezone)]


# --- queues -------------------------------------------------------------------------------


class Queue(_Model):
    """An SQS queue of the blueprint, with its dead-letter queue, read by exactly one consumer."""

    name: str = Field(description="Its key under `queues`.")
    max_receives: Annotated[int, _limit(limits.whole_range(1, 1000))] = Field(
        3, description="Receives before a message moves to the dead-letter queue (seed 000 §2)."
    )


# --- functions ----------------------------------------------------------------------------


class Architecture(StrEnum):
    """The instruction set a function runs on."""

    ARM64 = "arm64"
    X86_64 = "x86_64"


class Artifact(_Model):
    """A zip artifact in one of the blueprint's buckets: `s3://<bucket>/<key>`."""

    bucket: Name
    key: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def _code(value: Any) -> Any:
    """`s3://bucket/key` is an artifact; anything else is read as an image."""
    if isinstance(value, Image | Artifact):
        return value
    if isinstance(value, str) and value.strip().startswith("s3://"):
        match = _ARTIFACT.fullmatch(value.strip())
        if not match:
            raise ValueError(f"expected {_ARTIFACT_RULE}")
        return Artifact(bucket=match.group(1), key=match.group(2))
    try:
        return Image.model_validate(value)
    except ValidationError as exc:
        message = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
        raise ValueError(message) from None


Code = Annotated[Image | Artifact, BeforeValidator(_code)]


class Upload(_Model):
    """Objects created in a bucket of the blueprint, under a prefix, with one of the suffixes."""

    bucket: Name
    prefix: KeyPart | None = Field(None, description="Only keys starting with it.")
    suffixes: Annotated[tuple[KeyPart, ...], _distinct("suffix")] = Field(
        (), description="Only keys ending with one of them (none: any ending)."
    )


class QueueTrigger(_Model):
    """A queue of the blueprint, read in batches; failures are reported per message."""

    name: Name = Field(description="A queue under `queues`.")
    batch_size: Annotated[int, _limit(limits.LAMBDA_SQS_BATCH_SIZE)] = 10


class Trigger(_Model):
    """What invokes a function: exactly one of `upload` and `queue` (a function run by a
    schedule has no trigger here: the schedule targets it)."""

    upload: Upload | None = None
    queue: QueueTrigger | None = None

    @model_validator(mode="after")
    def _one(self) -> Trigger:
        given = [k for k in ("upload", "queue") if getattr(self, k) is not None]
        if len(given) != 1:
            _fail(
                "Trigger",
                [
                    _error(
                        (),
                        given,
                        "exactly one of upload and queue (a function a schedule runs has no "
                        "trigger: the schedule targets it)",
                    )
                ],
            )
        return self


class FunctionUses(_Model):
    """What a function reaches beyond itself; granted exactly, as a service's `uses`."""

    buckets: dict[Name, Access] = Field(default_factory=dict)
    secrets: Annotated[tuple[Name, ...], _distinct("secret")] = ()
    queues: Annotated[tuple[Name, ...], _distinct("queue")] = Field(
        (), description="Queues it sends to."
    )
    email: bool = False
    sms: bool = False
    cache: bool = Field(False, description="The shared Redis: the function runs in the VPC.")
    tables: dict[Name, Access] = Field(
        default_factory=dict,
        description="Blueprint DynamoDB tables, not tenant-partitioned: read or read-write.",
    )
    kafka: KafkaUse | None = Field(
        None,
        description="Topics it produces to (transport: kafka): the function runs in the VPC.",
    )

    @property
    def produces(self) -> tuple[str, ...]:
        """The Kafka topics it writes."""
        return self.kafka.produces if self.kafka is not None else ()

    @property
    def data_stores(self) -> bool:
        """Whether it reaches a data store inside the VPC (and so runs there): Redis, or the
        MSK brokers in the isolated subnets."""
        return self.cache or bool(self.produces)


class Function(_Model):
    """An AWS Lambda function: its code (never built by the estate), its size and its trigger."""

    name: str = Field(description="Its key under `functions`.")
    code: Code = Field(
        description="An image `<repository>:<tag>` or a zip artifact `s3://<bucket>/<key>`."
    )
    runtime: Annotated[str, _limit(limits.LAMBDA_RUNTIME)] | None = None
    handler: Annotated[str, _limit(limits.LAMBDA_HANDLER)] | None = None
    memory_mib: Annotated[int, _limit(limits.LAMBDA_MEMORY_MIB)] = 128
    timeout_seconds: Annotated[int, _limit(limits.LAMBDA_TIMEOUT_SECONDS)] = 30
    reserved_concurrency: Annotated[int, _limit(limits.LAMBDA_RESERVED_CONCURRENCY)] = Field(
        description="Concurrent executions reserved, and the most it runs at once."
    )
    architecture: Architecture = Architecture.ARM64
    trigger: Trigger | None = None
    uses: FunctionUses = Field(default_factory=FunctionUses)

    @model_validator(mode="after")
    def _runtime(self) -> Function:
        errors = []
        if isinstance(self.code, Artifact):
            for key in ("runtime", "handler"):
                if getattr(self, key) is None:
                    errors.append(_error((key,), None, f"a {key} for a zip artifact"))
        else:
            for key in ("runtime", "handler"):
                if getattr(self, key) is not None:
                    errors.append(
                        _error(
                            (key,),
                            getattr(self, key),
                            f"no {key} for an image (the image's own entry point runs)",
                        )
                    )
            if self.code.in_estate_registry and self.code.repository != self.name:
                errors.append(
                    _error(
                        ("code",),
                        str(self.code),
                        f"the function's own ECR repository, {self.name}:<tag> (the estate "
                        "creates one per function), or a full reference with a registry host",
                    )
                )
        _fail("Function", errors)
        return self

    @property
    def scheduled(self) -> bool:
        """True when no trigger of its own: a schedule runs it."""
        return self.trigger is None


# --- schedules ----------------------------------------------------------------------------


class Target(_Model):
    """What a schedule runs: exactly one of a function and a queue of the blueprint."""

    function: Name | None = None
    queue: Name | None = None

    @model_validator(mode="after")
    def _one(self) -> Target:
        given = [k for k in ("function", "queue") if getattr(self, k) is not None]
        if len(given) != 1:
            _fail("Target", [_error((), given, "exactly one of function and queue")])
        return self


class Retry(_Model):
    """How long Scheduler keeps trying to deliver one run before it goes to the DLQ."""

    maximum_attempts: Annotated[int, _limit(limits.SCHEDULE_MAX_ATTEMPTS)] = 3
    maximum_event_age_seconds: Annotated[int, _limit(limits.SCHEDULE_MAX_EVENT_AGE_SECONDS)] = 3600


def _payload(value: Any) -> Any:
    try:
        text = json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        raise ValueError("expected a JSON value (a mapping of text, numbers and lists)") from None
    if len(text) > 8192:
        raise ValueError("expected a payload of at most 8192 characters as JSON")
    return value


class Schedule(_Model):
    """An EventBridge Scheduler schedule invoking a function or sending to a queue."""

    name: str = Field(description="Its key under `schedules`.")
    expression: Annotated[str, _limit(limits.SCHEDULE_EXPRESSION)]
    timezone: TimeZone = Field("UTC", description="The zone cron and at expressions are in.")
    flexible_window_minutes: (
        Annotated[int, _limit(limits.SCHEDULE_FLEXIBLE_WINDOW_MINUTES)] | None
    ) = Field(None, description="Minutes it may fire late to spread load; None: on time.")
    target: Target
    input: Annotated[Any, AfterValidator(_payload)] = Field(
        None, description="The payload the target receives (JSON); None: an empty object."
    )
    retry: Retry = Field(default_factory=Retry)

    @property
    def payload(self) -> str:
        """The target's input as JSON text."""
        return json.dumps(self.input if self.input is not None else {}, sort_keys=True)


# --- cross-references ---------------------------------------------------------------------


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _sequence(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _one_of(kind: str, known: list[str], value: str) -> str:
    return (
        f"one of the blueprint's {kind}: "
        + (", ".join(known) or "none")
        + _did_you_mean(value, known)
    )


def _overlap(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two upload filters on one bucket can match the same key (S3 refuses both)."""
    pa, pb = str(a.get("prefix") or ""), str(b.get("prefix") or "")
    if not (pa.startswith(pb) or pb.startswith(pa)):
        return False
    sa = [str(s) for s in _sequence(a.get("suffixes"))] or [""]
    sb = [str(s) for s in _sequence(b.get("suffixes"))] or [""]
    return any(x.endswith(y) or y.endswith(x) for x in sa for y in sb)


def reference_problems(data: Mapping[str, Any]) -> list[InitErrorDetails]:
    """Problems with the references of queues, functions and schedules, read from the
    (unvalidated) input; anything malformed is left to field validation."""
    errors: list[InitErrorDetails] = []
    services = {str(k): _mapping(v) for k, v in _mapping(data.get("services")).items()}
    functions = {str(k): _mapping(v) for k, v in _mapping(data.get("functions")).items()}
    schedules = {str(k): _mapping(v) for k, v in _mapping(data.get("schedules")).items()}
    buckets = [str(k) for k in _mapping(data.get("buckets"))]
    secrets = [str(k) for k in _mapping(data.get("secrets"))]
    queues = [str(k) for k in _mapping(data.get("queues"))]
    tables = {str(k): _mapping(v) for k, v in _mapping(data.get("tables")).items()}
    topics = [str(k) for k in _mapping(data.get("topics"))]
    kafka = data.get("transport") == "kafka"
    consumers: dict[str, list[str]] = {q: [] for q in queues}

    for name, body in services.items():
        for queue, access in _mapping(_mapping(body.get("uses")).get("queues")).items():
            where = ("services", name, "uses", "queues", queue)
            if queue not in queues:
                errors.append(_error(where, queue, _one_of("queues", queues, str(queue))))
            elif access == QueueAccess.RECEIVE.value:
                consumers[queue].append(f"service {name!r}")

    targeted = {
        str(_mapping(s.get("target")).get("function"))
        for s in schedules.values()
        if isinstance(_mapping(s.get("target")).get("function"), str)
    }
    uploads: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for name, body in functions.items():
        base = ("functions", name)
        if name in services:
            errors.append(
                _error(
                    base,
                    name,
                    "a function name no service has (a function and a service share the ECR "
                    "repository and IAM role names)",
                )
            )
        code = body.get("code")
        match = _ARTIFACT.fullmatch(code.strip()) if isinstance(code, str) else None
        if match and match.group(1) not in buckets:
            errors.append(
                _error((*base, "code"), code, _one_of("buckets", buckets, match.group(1)))
            )
        uses = _mapping(body.get("uses"))
        trigger = _mapping(body.get("trigger"))
        upload = _mapping(trigger.get("upload"))
        queue = _mapping(trigger.get("queue"))
        bucket = upload.get("bucket")
        if isinstance(bucket, str) and _NAME.fullmatch(bucket):
            where = (*base, "trigger", "upload", "bucket")
            if bucket not in buckets:
                errors.append(_error(where, bucket, _one_of("buckets", buckets, bucket)))
            else:
                uploads.setdefault(bucket, []).append((name, upload))
                writes = _mapping(uses.get("buckets")).get(bucket) == Access.READ_WRITE.value
                if writes and not upload.get("prefix"):
                    errors.append(
                        _error(
                            (*base, "trigger", "upload", "prefix"),
                            None,
                            f"a prefix: the function writes to {bucket!r}, and with no prefix "
                            "every object it writes would invoke it again (it is denied writes "
                            "under its trigger's prefix)",
                        )
                    )
        queue_name = queue.get("name")
        if isinstance(queue_name, str) and _NAME.fullmatch(queue_name):
            where = (*base, "trigger", "queue", "name")
            if queue_name not in queues:
                errors.append(_error(where, queue_name, _one_of("queues", queues, queue_name)))
            else:
                consumers[queue_name].append(f"function {name!r}")
                if queue_name in _sequence(uses.get("queues")):
                    errors.append(
                        _error(
                            (*base, "uses", "queues"),
                            queue_name,
                            "queues other than its trigger's (sending to its own queue would "
                            "invoke it again)",
                        )
                    )
        if trigger and name in targeted:
            errors.append(
                _error(
                    (*base, "trigger"),
                    dict(trigger),
                    "no trigger: a schedule targets this function, and a function has "
                    "exactly one trigger",
                )
            )
        elif body.get("trigger") is None and name not in targeted:
            errors.append(
                _error(
                    (*base, "trigger"),
                    None,
                    "a trigger (upload or queue), or a schedule under schedules: that targets "
                    "it: nothing would ever run it",
                )
            )
        for key in _mapping(uses.get("buckets")):
            if isinstance(key, str) and key not in buckets:
                errors.append(
                    _error((*base, "uses", "buckets", key), key, _one_of("buckets", buckets, key))
                )
        for i, secret in enumerate(_sequence(uses.get("secrets"))):
            if isinstance(secret, str) and secret not in secrets:
                errors.append(
                    _error(
                        (*base, "uses", "secrets", i), secret, _one_of("secrets", secrets, secret)
                    )
                )
        for i, sent in enumerate(_sequence(uses.get("queues"))):
            if isinstance(sent, str) and sent not in queues:
                errors.append(
                    _error((*base, "uses", "queues", i), sent, _one_of("queues", queues, sent))
                )
        errors += _table_problems(base, _mapping(uses.get("tables")), tables)
        if uses.get("kafka") is not None:
            errors += _kafka_problems(base, uses.get("kafka"), kafka, topics)

    for bucket, entries in uploads.items():
        for i, (name, upload) in enumerate(entries):
            for other, other_upload in entries[:i]:
                if _overlap(upload, other_upload):
                    errors.append(
                        _error(
                            ("functions", name, "trigger", "upload"),
                            dict(upload),
                            f"a prefix or suffixes that no other upload trigger on {bucket!r} "
                            f"matches (function {other!r} has one that does: S3 sends an object "
                            "to one function only)",
                        )
                    )

    for name, body in schedules.items():
        target = _mapping(body.get("target"))
        for kind, known, plural in (
            ("function", list(functions), "functions"),
            ("queue", queues, "queues"),
        ):
            value = target.get(kind)
            if isinstance(value, str) and _NAME.fullmatch(value) and value not in known:
                errors.append(
                    _error(
                        ("schedules", name, "target", kind), value, _one_of(plural, known, value)
                    )
                )

    events = {
        event
        for body in services.values()
        for event in _sequence(_mapping(body.get("uses")).get("publishes"))
        if isinstance(event, str)
    }
    for queue in queues:
        if queue in events:
            errors.append(
                _error(
                    ("queues", queue),
                    queue,
                    "a name no event has (a consumer's QUEUE_<NAME>_URL would name both)",
                )
            )
        found = consumers[queue]
        if len(found) != 1:
            errors.append(
                _error(
                    ("queues", queue),
                    queue,
                    "exactly one consumer: a function triggered by it or a service with "
                    f"`receive` under uses.queues ({', '.join(found) or 'none'})",
                )
            )
    return errors


def _table_problems(
    base: tuple[str, ...], used: Mapping[str, Any], tables: Mapping[str, Mapping[str, Any]]
) -> list[InitErrorDetails]:
    errors = []
    for key in used:
        where = (*base, "uses", "tables", key)
        if isinstance(key, str) and key not in tables:
            errors.append(_error(where, key, _one_of("tables", list(tables), key)))
        elif tables[key].get("tenant_partitioned") is True:
            # A service reaches such a table through a role held to one tenant per session;
            # a function serves every tenant's triggers with one role and has none.
            errors.append(
                _error(
                    where,
                    key,
                    "a table that is not tenant_partitioned (a function has no tenant-data "
                    "role: a service that serves the tenant reaches this one)",
                )
            )
    return errors


def _kafka_problems(
    base: tuple[str, ...], use: Any, kafka: bool, topics: list[str]
) -> list[InitErrorDetails]:
    where = (*base, "uses", "kafka")
    if not kafka:
        return [_error(where, "kafka", "no uses.kafka: it needs `transport: kafka`")]
    use = _mapping(use)
    errors = []
    if _sequence(use.get("consumes")):
        errors.append(
            _error(
                (*where, "consumes"),
                _sequence(use.get("consumes")),
                "no consumes: a function runs on its trigger, not in a consumer group (a "
                "service reads topics)",
            )
        )
    for i, topic in enumerate(_sequence(use.get("produces"))):
        if isinstance(topic, str) and topic not in topics:
            errors.append(_error((*where, "produces", i), topic, _one_of("topics", topics, topic)))
    return errors


# The catalogue's queues, functions and schedules are these models.
Catalogue.model_rebuild(
    _types_namespace={"Queue": Queue, "Function": Function, "Schedule": Schedule}
)
