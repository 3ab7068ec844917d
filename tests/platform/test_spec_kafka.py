"""`osp:kafka` in the spec: the presets' values per profile, every bad value named with its line,
and a blueprint's own defaults for its cluster."""

from __future__ import annotations

import pytest

from osp.platform.spec.models import KafkaMonitoring
from tests.platform.test_spec import MINIMAL, SOURCE, parse, problems
from tests.support import spec_of


@pytest.mark.parametrize(
    ("environment", "instance_type", "storage", "monitoring", "days"),
    [
        ("dev", "kafka.t3.small", 20, KafkaMonitoring.DEFAULT, 30),
        ("staging", "kafka.m7g.large", 100, KafkaMonitoring.PER_BROKER, 90),
        ("prod", "kafka.m7g.large", 500, KafkaMonitoring.PER_TOPIC_PER_BROKER, 365),
    ],
)
def test_each_profile_has_its_cluster(environment, instance_type, storage, monitoring, days):
    kafka = spec_of(environment, "lms").kafka
    assert (kafka.instance_type, kafka.storage_gib, kafka.enhanced_monitoring) == (
        instance_type,
        storage,
        monitoring,
    )
    assert (kafka.log_retention_days, kafka.brokers_per_zone, kafka.kafka_version) == (
        days,
        1,
        "3.6.0",
    )


def test_a_stack_file_sets_its_own():
    spec = parse(MINIMAL + "  osp:kafka:\n    brokers_per_zone: 2\n    kafka_version: 3.8.x\n")
    assert (spec.kafka.brokers_per_zone, spec.kafka.kafka_version) == (2, "3.8.x")
    assert spec.kafka.instance_type == "kafka.m7g.large"  # the prod preset's


def test_every_bad_value_is_named_with_its_line():
    found = problems(
        MINIMAL
        + "  osp:kafka:\n"
        + "    kafka_version: '2.8.1'\n"
        + "    instance_type: m5.large\n"
        + "    storage_gib: 0\n"
        + "    enhanced_monitoring: ALL\n"
        + "    nodes: 3\n"
    )
    assert found[:4] == [
        f"{SOURCE}:6: osp:kafka.kafka_version: got '2.8.1'; expected an Apache Kafka version MSK "
        "offers, 3.5 or later, such as 3.6.0 or 3.8.x",
        f"{SOURCE}:7: osp:kafka.instance_type: got 'm5.large'; expected an Amazon MSK broker "
        "instance type such as kafka.m7g.large or kafka.t3.small",
        f"{SOURCE}:8: osp:kafka.storage_gib: got 0; expected an integer from 1 to 16384",
        found[3],
    ]
    assert found[3].startswith(f"{SOURCE}:9: osp:kafka.enhanced_monitoring: got 'ALL'; ")
    assert found[4].startswith(f"{SOURCE}:10: osp:kafka.nodes: ")
    assert len(found) == 5
