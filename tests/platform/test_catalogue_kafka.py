"""Kafka in the catalogue (`transport: kafka`, `topics`, `processors`, `uses.kafka`): accepted,
refused with the path, line and rule, and what the estate reads from it."""

from __future__ import annotations

import pytest

from osp.platform.catalogue import DataStore, Transport, load_catalogue, parse_catalogue
from tests.platform.test_catalogue import problems, write

BASE = """\
name: demo
description: A demo estate on Kafka
transport: kafka
buckets:
  code: {}
topics:
  clicks: {partitions: 6, retention_hours: 72}
  totals: {partitions: 3, retention_hours: 168}
processors:
  counter:
    artifact: {bucket: code, key: flink/counter-1.0.0.jar}
    reads: [clicks]
    writes: [totals]
services:
  web:
    image: web:1.0.0
    port: 3000
    route: /web
    replicas: {min: 1, baseline: 2, max: 4}
    uses:
      kafka:
        produces: [clicks]
  stats:
    image: stats:1.0.0
    port: 8080
    replicas: {min: 1, baseline: 2, max: 4}
    uses:
      kafka:
        consumes: [totals]
"""


def variant(*changes: tuple[str, str]) -> str:
    text = BASE
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def test_the_base_document_is_valid(tmp_path):
    catalogue = parse_catalogue(write(tmp_path, BASE))
    assert catalogue.transport is Transport.KAFKA
    assert [(t.name, t.partitions, t.retention_hours) for t in catalogue.topics] == [
        ("clicks", 6, 72),
        ("totals", 3, 168),
    ]
    (counter,) = catalogue.processors
    assert (counter.reads, counter.writes, counter.parallelism, counter.runtime) == (
        ("clicks",),
        ("totals",),
        1,
        "FLINK-1_20",
    )
    assert counter.artifact.key == "flink/counter-1.0.0.jar"
    assert [s.name for s in catalogue.kafka_services] == ["web", "stats"]
    assert catalogue.data_stores == {DataStore.KAFKA}
    assert catalogue.events == {}


def test_the_other_blueprints_have_no_kafka():
    for name in ("osp", "learning-hub", "learning-platform", "code-learn"):
        catalogue = load_catalogue(name)
        assert not catalogue.needs(DataStore.KAFKA), name
        assert catalogue.topics == () and catalogue.processors == ()


def test_a_topic_used_must_be_declared(tmp_path):
    found = problems(tmp_path, variant(("produces: [clicks]", "produces: [click]")))
    assert found == [
        "22: services.web.uses.kafka.produces[0]: got 'click'; expected one of the blueprint's "
        "topics: clicks, totals (did you mean 'clicks'?)"
    ]
    found = problems(tmp_path, variant(("reads: [clicks]", "reads: [views]")))
    assert found == [
        "12: processors.counter.reads[0]: got 'views'; expected one of the blueprint's topics: "
        "clicks, totals"
    ]


def test_a_processor_may_not_write_what_it_reads(tmp_path):
    found = problems(tmp_path, variant(("writes: [totals]", "writes: [totals, clicks]")))
    assert found == [
        "13: processors.counter.writes[1]: got 'clicks'; expected a topic it does not read: "
        "writing what it reads feeds it its own output forever"
    ]


def test_a_processors_code_lives_in_a_blueprint_bucket(tmp_path):
    found = problems(tmp_path, variant(("{bucket: code,", "{bucket: jars,")))
    assert found == [
        "11: processors.counter.artifact.bucket: got 'jars'; expected one of the blueprint's "
        "buckets: code"
    ]


@pytest.mark.parametrize("key", ["counter.py", "/flink/counter.jar", "flink//c.jar", "a b.jar"])
def test_an_artifact_is_a_jar_or_zip_object_key(tmp_path, key):
    (found,) = problems(tmp_path, variant(("key: flink/counter-1.0.0.jar", f"key: '{key}'")))
    assert found.startswith("11: processors.counter.artifact.key: ")
    assert "ending in .jar or .zip" in found


def test_a_processor_and_a_service_never_share_a_name(tmp_path):
    found = problems(tmp_path, variant(("  counter:\n", "  stats:\n")))
    assert found == [
        "10: processors.stats: got 'stats'; expected a name no service has: a processor's name "
        "is its consumer group and role, which the service of that name has already"
    ]


def test_topics_partitions_and_retention_are_bounded(tmp_path):
    found = problems(
        tmp_path,
        variant(("{partitions: 6, retention_hours: 72}", "{partitions: 0, retention_hours: 9000}")),
    )
    assert found == [
        "7: topics.clicks.partitions: got 0; expected an integer from 1 to 1000",
        "7: topics.clicks.retention_hours: got 9000; expected an integer from 1 to 8760",
    ]


def test_events_are_refused_on_a_kafka_blueprint(tmp_path):
    found = problems(
        tmp_path, variant(("      kafka:\n        consumes: [totals]", "      publishes: [x]"))
    )
    assert found == [
        "28: services.stats.uses.publishes: got ['x']; expected uses.kafka.produces: on a kafka "
        "blueprint services write and read topics"
    ]


def test_kafka_keys_need_the_kafka_transport(tmp_path):
    found = problems(tmp_path, variant(("transport: kafka", "transport: sns-sqs")))
    assert found == [
        "6: topics: got '2 topics'; expected no topics: they need `transport: kafka`",
        "9: processors: got '1 processors'; expected no processors: they need `transport: kafka`",
        "21: services.web.uses.kafka: got 'kafka'; expected no uses.kafka: it needs `transport: "
        "kafka` (events travel as `publishes` and `consumes` on this blueprint)",
        "28: services.stats.uses.kafka: got 'kafka'; expected no uses.kafka: it needs "
        "`transport: kafka` (events travel as `publishes` and `consumes` on this blueprint)",
    ]


def test_the_lms_blueprint_names_the_seeds_six_topics_and_the_flink_job():
    lms = load_catalogue("lms")
    assert [t.name for t in lms.topics] == [
        "user-events",
        "course-events",
        "enrollment-events",
        "payment-events",
        "learning-events",
        "analytics-results",
    ]
    (flink,) = lms.processors
    assert (flink.reads, flink.writes) == (("learning-events",), ("analytics-results",))
    assert flink.properties == {"window.seconds": "60"}
    assert flink.artifact.bucket in lms.bucket_map
