"""Kafka in the service catalogue: topics, the services that produce to and consume from them,
and the stream processors (Amazon Managed Service for Apache Flink) between them.

A blueprint whose `transport` is `kafka` names its topics (`topics:`, each with partitions and
retention), and each service says which topics it writes and reads (`uses.kafka`). Unlike an
event of the sns-sqs and rabbitmq transports, a Kafka topic may have several producers (seed
002's `learning-events` come from the web service and, in time, others): a topic is a shared
log, not one service's announcement. Every consumer reads in a consumer group of its own,
named after it, so each sees every record. A processor (`processors:`) is a Flink application
that reads some topics and writes others, from code the blueprint names in one of its buckets
(the estate never builds application code).

Everything is checked against everything else: a topic used must be declared, a processor's
artifact must live in a blueprint bucket, names of processors and services never collide (both
name consumer groups and roles), and the kafka keys appear only on a kafka blueprint.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, Field
from pydantic_core import InitErrorDetails

from osp.platform import limits

# The helpers are models.py's, which imports this module for its `Uses` and `Catalogue`
# fields: import the module, and read its names only when a validator runs.
from osp.platform.catalogue import models as _models

#: The topic sections of a catalogue, keyed by name like services (the key is the `name`).
NAMED_SECTIONS = ("topics", "processors")

# An S3 object key for an application artifact: path segments of letters, digits and
# `._-`, ending in a .jar or .zip (what Managed Flink runs).
_ARTIFACT_KEY = re.compile(r"([A-Za-z0-9_][A-Za-z0-9._-]*/)*[A-Za-z0-9_][A-Za-z0-9._-]*\.(jar|zip)")
_PROPERTY_KEY = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,63}")


def _limit(constraint: limits.Constraint) -> AfterValidator:
    def check(value: Any) -> Any:
        expected = constraint.problem(value)
        if expected is not None:
            raise ValueError(f"expected {expected}")
        return value

    return AfterValidator(check)


def _artifact_key(value: str) -> str:
    if len(value) > 1024 or not _ARTIFACT_KEY.fullmatch(value):
        raise ValueError(
            "expected an S3 object key such as flink/learning-analytics-1.0.0.jar: segments of "
            "letters, digits, '.', '_' and '-', ending in .jar or .zip"
        )
    return value


def _properties(value: dict[str, str]) -> dict[str, str]:
    bad = [key for key in value if not _PROPERTY_KEY.fullmatch(key)]
    if bad:
        raise ValueError(
            f"expected property names of letters, digits, '.', '_' and '-' starting with a "
            f"letter (got {', '.join(map(repr, bad))})"
        )
    return value


TopicName = _models.Name


class Topic(_models._Model):
    """A Kafka topic of the estate's cluster. Replication follows the cluster (three copies
    across three zones where it has them, two otherwise)."""

    name: str = Field(description="Its key under `topics`.")
    partitions: Annotated[int, _limit(limits.KAFKA_PARTITIONS)] = Field(
        description="Partitions: the most consumers of one group that read it in parallel."
    )
    retention_hours: Annotated[int, _limit(limits.KAFKA_RETENTION_HOURS)] = Field(
        description="How long it keeps a record, read or not."
    )
    description: str = Field("", max_length=256)


class KafkaUse(_models._Model):
    """The topics a service writes and reads. It reads in a consumer group of its own name."""

    produces: Annotated[tuple[TopicName, ...], _models._distinct("topic")] = Field(
        (), description="Topics it writes records to."
    )
    consumes: Annotated[tuple[TopicName, ...], _models._distinct("topic")] = Field(
        (), description="Topics it reads, in its own consumer group."
    )


class Artifact(_models._Model):
    """Application code in one of the blueprint's buckets, uploaded by the code's pipeline."""

    bucket: _models.Name = Field(description="A bucket of the blueprint's `buckets`.")
    key: Annotated[str, AfterValidator(_artifact_key)] = Field(
        description="The object key of the .jar or .zip."
    )


class Processor(_models._Model):
    """A stream processor: an Amazon Managed Service for Apache Flink application reading
    `reads` in a consumer group of its own name and writing `writes`."""

    name: str = Field(description="Its key under `processors`.")
    artifact: Artifact
    runtime: Annotated[str, _limit(limits.FLINK_RUNTIME)] = Field(
        "FLINK-1_20", description="The Flink runtime: " + ", ".join(limits.FLINK_RUNTIMES) + "."
    )
    reads: Annotated[tuple[TopicName, ...], _models._distinct("topic")] = Field(
        min_length=1, description="Topics it reads."
    )
    writes: Annotated[tuple[TopicName, ...], _models._distinct("topic")] = Field(
        (), description="Topics it writes."
    )
    parallelism: Annotated[int, _limit(limits.FLINK_PARALLELISM)] = Field(
        1, description="Parallel tasks in prod and staging (dev runs 1); autoscaling may add."
    )
    properties: Annotated[dict[str, str], AfterValidator(_properties)] = Field(
        default_factory=dict,
        description="The application's own settings (its `ApplicationProperties` group), such "
        "as the window length; the estate adds the brokers, topics and group.",
    )


# --- cross-references -----------------------------------------------------------------


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _sequence(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def reference_problems(data: Mapping[str, Any]) -> list[InitErrorDetails]:
    """Problems with the kafka parts of a catalogue's (unvalidated) input: keys on a blueprint
    whose transport is not kafka, events on one whose transport is, and references to topics,
    buckets and names that do not exist or collide."""
    error = _models._error
    errors: list[InitErrorDetails] = []
    services = {str(k): _mapping(v) for k, v in _mapping(data.get("services")).items()}
    topics = [str(k) for k in _mapping(data.get("topics"))]
    buckets = [str(k) for k in _mapping(data.get("buckets"))]
    processors = {str(k): _mapping(v) for k, v in _mapping(data.get("processors")).items()}
    kafka = data.get("transport") == "kafka"

    if not kafka:
        for section in NAMED_SECTIONS:
            if data.get(section):
                errors.append(
                    error(
                        (section,),
                        f"{len(_mapping(data[section]))} {section}",
                        f"no {section}: they need `transport: kafka`",
                    )
                )
        for name, body in services.items():
            if _mapping(body.get("uses")).get("kafka") is not None:
                errors.append(
                    error(
                        ("services", name, "uses", "kafka"),
                        "kafka",
                        "no uses.kafka: it needs `transport: kafka` (events travel as "
                        "`publishes` and `consumes` on this blueprint)",
                    )
                )
        return errors

    def topic_problem(where: tuple[str | int, ...], topic: Any) -> None:
        if isinstance(topic, str) and topic not in topics:
            errors.append(
                error(
                    where,
                    topic,
                    "one of the blueprint's topics: "
                    + (", ".join(topics) or "none")
                    + _models._did_you_mean(topic, topics),
                )
            )

    for name, body in services.items():
        uses = _mapping(body.get("uses"))
        for key in ("publishes", "consumes"):
            if uses.get(key):
                errors.append(
                    error(
                        ("services", name, "uses", key),
                        list(_sequence(uses[key])),
                        f"uses.kafka.{'produces' if key == 'publishes' else 'consumes'}: on a "
                        "kafka blueprint services write and read topics",
                    )
                )
        use = _mapping(uses.get("kafka"))
        for key in ("produces", "consumes"):
            for i, topic in enumerate(_sequence(use.get(key))):
                topic_problem(("services", name, "uses", "kafka", key, i), topic)

    for name, body in processors.items():
        base = ("processors", name)
        if name in services:
            errors.append(
                error(
                    (*base,),
                    name,
                    "a name no service has: a processor's name is its consumer group and "
                    "role, which the service of that name has already",
                )
            )
        reads = [t for t in _sequence(body.get("reads")) if isinstance(t, str)]
        for key in ("reads", "writes"):
            for i, topic in enumerate(_sequence(body.get(key))):
                topic_problem((*base, key, i), topic)
                if key == "writes" and topic in reads:
                    errors.append(
                        error(
                            (*base, key, i),
                            topic,
                            "a topic it does not read: writing what it reads feeds it its "
                            "own output forever",
                        )
                    )
        bucket = _mapping(body.get("artifact")).get("bucket")
        if isinstance(bucket, str) and bucket not in buckets:
            errors.append(
                error(
                    (*base, "artifact", "bucket"),
                    bucket,
                    "one of the blueprint's buckets: " + (", ".join(buckets) or "none"),
                )
            )
    return errors
