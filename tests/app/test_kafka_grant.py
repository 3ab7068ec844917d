"""A service's Kafka grant (`KafkaGrant`) on its IRSA role: exactly its topics and its own
consumer group, nothing else; and malformed grants refused before anything is planned."""

from __future__ import annotations

import pytest

from osp.app import Grants, KafkaGrant
from osp.app.identity import problems
from osp.components.streaming import group_arn, topic_arn
from osp.platform.validation import InvalidArguments
from tests.app.test_identity import identity_args, plan_identity, policy_of

CLUSTER = "arn:aws:kafka:us-east-1:123456789012:cluster/osp-prod-kafka/0e1f2a3b-2"


def test_a_producer_and_consumer_gets_its_topics_and_group_and_nothing_else():
    grant = KafkaGrant(
        CLUSTER, produces=("payment-events",), consumes=("enrollment-events",), group="payment"
    )
    plan = plan_identity(grants=Grants(kafka=grant))
    by_sid = policy_of(plan, "osp-t-fee")
    assert {sid: s["Resource"] for sid, s in by_sid.items()} == {
        "KafkaConnect": [CLUSTER],
        "KafkaProduce": [topic_arn(CLUSTER, "payment-events")],
        "KafkaConsume": [topic_arn(CLUSTER, "enrollment-events")],
        "KafkaConsumerGroup": [group_arn(CLUSTER, "payment")],
    }
    assert by_sid["KafkaProduce"]["Action"] == [
        "kafka-cluster:DescribeTopic",
        "kafka-cluster:WriteData",
    ]


def test_a_role_without_kafka_has_no_kafka_statement():
    plan = plan_identity(grants=Grants(sms=True))
    assert not [sid for sid in policy_of(plan, "osp-t-fee") if sid.startswith("Kafka")]


@pytest.mark.parametrize(
    ("grant", "expected"),
    [
        (
            KafkaGrant("arn:aws:kafka:us-east-1:123456789012:cluster/*", produces=("a",)),
            "grants.kafka.cluster_arn: got 'arn:aws:kafka:us-east-1:123456789012:cluster/*'; "
            "expected an MSK cluster ARN",
        ),
        (
            KafkaGrant(CLUSTER, consumes=("a",)),
            "grants.kafka.group: got None; expected the service's consumer group",
        ),
        (
            KafkaGrant(CLUSTER, produces=("a", "a")),
            "grants.kafka.produces: got ('a', 'a'); expected a list of topic names, each once",
        ),
        (
            KafkaGrant(CLUSTER, consumes=("*",), group="g"),
            "grants.kafka.consumes: got ('*',); expected a list of topic names, each once",
        ),
    ],
)
def test_malformed_grants_are_refused(grant, expected):
    args = identity_args(grants=Grants(kafka=grant))
    assert problems("t", args) == [f"ServiceIdentity t: {expected}"]
    with pytest.raises(InvalidArguments):
        plan_identity(grants=Grants(kafka=grant))


def test_a_grant_of_nothing_is_refused():
    (found,) = problems("t", identity_args(grants=Grants(kafka=KafkaGrant(CLUSTER))))
    assert found.endswith("expected at least one topic produced or consumed")
