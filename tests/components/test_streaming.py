"""`KafkaCluster` through the offline engine: exact children, TLS and IAM only, KMS at rest,
broker logs, the configuration, the topics, who reaches it; and the IAM statements clients get."""

from __future__ import annotations

import json

import pytest

from osp.components.streaming import (
    CLIENT_PORTS,
    IAM_PORT,
    KafkaCluster,
    KafkaClusterArgs,
    KafkaTopicArgs,
    group_arn,
    kafka_statements,
    min_in_sync_replicas,
    problems,
    replication_factor,
    server_properties,
    topic_arn,
)
from osp.platform.spec.models import KafkaMonitoring
from osp.platform.validation import InvalidArguments
from tests.support import custom_counts, plan_component

TAGS = {"osp:environment": "t", "osp:component": "streaming", "osp:blueprint": "lms",
        "osp:managed-by": "osp"}  # fmt: skip
KEY = "arn:aws:kms:us-east-1:123456789012:key/"
SUBNETS = ("subnet-0isolated00000000a", "subnet-0isolated00000000b", "subnet-0isolated00000000c")
CLIENTS = ("sg-0eks0nodes000000a",)
NAME = "osp-t-kafka"
CLUSTER_ARN = "arn:aws:kafka:us-east-1:123456789012:cluster/osp-t-kafka/0e1f-2"

CLUSTER = "aws:msk/cluster:Cluster"
CONFIGURATION = "aws:msk/configuration:Configuration"
TOPIC = "aws:msk/topic:Topic"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TOPICS = (KafkaTopicArgs("user-events", 6, 168), KafkaTopicArgs("learning-events", 12, 72))


def cluster_args(**overrides) -> KafkaClusterArgs:
    return KafkaClusterArgs(
        **{
            "cluster_name": NAME,
            "vpc_id": "vpc-0123456789abcdef0",
            "subnet_ids": SUBNETS,
            "client_security_group_ids": CLIENTS,
            "kms_key_arn": KEY + "data",
            "logs_kms_key_arn": KEY + "logs",
            "kafka_version": "3.6.0",
            "instance_type": "kafka.m7g.large",
            "storage_gib": 500,
            "enhanced_monitoring": KafkaMonitoring.PER_TOPIC_PER_BROKER,
            "topics": TOPICS,
            "deletion_protection": True,
            "tags": TAGS,
            **overrides,
        }
    )


@pytest.fixture(scope="module")
def prod():
    return plan_component(KafkaCluster, cluster_args(), name=NAME)


@pytest.fixture(scope="module")
def dev():
    return plan_component(
        KafkaCluster,
        cluster_args(
            subnet_ids=SUBNETS[:2],
            instance_type="kafka.t3.small",
            storage_gib=20,
            enhanced_monitoring=KafkaMonitoring.DEFAULT,
            log_retention_days=30,
            deletion_protection=False,
        ),
        name=NAME,
    )


def test_children(prod):
    assert custom_counts(prod) == {
        "ec2/securityGroup": 1,
        "vpc/securityGroupIngressRule": 1,  # 9098 from the one client group
        "cloudwatch/logGroup": 1,
        "msk/configuration": 1,
        "msk/cluster": 1,
        "msk/topic": 2,
    }
    component = prod.named(NAME)
    assert component.type == "osp:streaming:KafkaCluster"
    assert all(r.parent == component.urn for r in prod.resources if r.custom)
    assert {r.name for r in prod.resources if r.custom} == {
        f"{NAME}-sg",
        f"{NAME}-from-client-0",
        f"{NAME}-broker-logs",
        f"{NAME}-configuration",
        f"{NAME}-cluster",
        f"{NAME}-topic-user-events",
        f"{NAME}-topic-learning-events",
    }


def test_tls_and_iam_only_encrypted_with_the_data_key_and_no_public_access(prod):
    (cluster,) = prod.of_type(CLUSTER)
    inputs = cluster.inputs
    assert inputs["clientAuthentication"] == {
        "sasl": {"iam": True, "scram": False},
        "unauthenticated": False,
    }
    assert inputs["encryptionInfo"] == {
        "encryptionAtRestKmsKeyArn": KEY + "data",
        "encryptionInTransit": {"clientBroker": "TLS", "inCluster": True},
    }
    nodes = inputs["brokerNodeGroupInfo"]
    assert nodes["clientSubnets"] == list(SUBNETS)
    assert nodes["connectivityInfo"] == {"publicAccess": {"type": "DISABLED"}}
    assert nodes["instanceType"] == "kafka.m7g.large"
    assert nodes["storageInfo"] == {"ebsStorageInfo": {"volumeSize": 500}}
    (group,) = nodes["securityGroups"]  # its own, and no other
    assert group.startswith("sg-")
    assert inputs["numberOfBrokerNodes"] == 3
    assert inputs["kafkaVersion"] == "3.6.0"
    assert inputs["enhancedMonitoring"] == "PER_TOPIC_PER_BROKER"
    assert inputs["tags"] == {"Name": f"{NAME}-cluster", **TAGS}
    assert cluster.options.protect is True


def test_broker_logs_go_to_an_encrypted_group_kept_for_the_retention(prod, dev):
    for plan, days in ((prod, 365), (dev, 30)):
        (cluster,) = plan.of_type(CLUSTER)
        (group,) = plan.of_type(LOG_GROUP)
        assert group.inputs["name"] == f"/aws/msk/{NAME}/broker"
        assert group.inputs["kmsKeyId"] == KEY + "logs"
        assert group.inputs["retentionInDays"] == days
        assert cluster.inputs["loggingInfo"] == {
            "brokerLogs": {"cloudwatchLogs": {"enabled": True, "logGroup": group.inputs["name"]}}
        }


def test_the_configuration_refuses_auto_created_topics_and_replicates_writes(prod, dev):
    (configuration,) = prod.of_type(CONFIGURATION)
    assert configuration.inputs["kafkaVersions"] == ["3.6.0"]
    assert configuration.inputs["serverProperties"] == (
        "auto.create.topics.enable=false\n"
        "default.replication.factor=3\n"
        "min.insync.replicas=2\n"
        "unclean.leader.election.enable=false\n"
        "allow.everyone.if.no.acl.found=false\n"
    )
    (cluster,) = prod.of_type(CLUSTER)
    assert cluster.inputs["configurationInfo"]["revision"] == 1
    (small,) = dev.of_type(CONFIGURATION)
    assert (
        "default.replication.factor=2\nmin.insync.replicas=1\n"
        in (small.inputs["serverProperties"])
    )
    (dev_cluster,) = dev.of_type(CLUSTER)
    assert dev_cluster.inputs["numberOfBrokerNodes"] == 2
    assert dev_cluster.options.protect is False


@pytest.mark.parametrize(
    ("brokers", "copies", "in_sync"), [(1, 1, 1), (2, 2, 1), (3, 3, 2), (6, 3, 2), (9, 3, 2)]
)
def test_replication_follows_the_brokers(brokers, copies, in_sync):
    assert replication_factor(brokers) == copies
    assert min_in_sync_replicas(brokers) == in_sync
    assert f"min.insync.replicas={in_sync}\n" in server_properties(brokers)


def test_topics_with_their_partitions_retention_and_replication(prod):
    topics = {t.inputs["name"]: t for t in prod.of_type(TOPIC)}
    assert set(topics) == {"user-events", "learning-events"}
    (cluster,) = prod.of_type(CLUSTER)
    for name, partitions, hours in (("user-events", 6, 168), ("learning-events", 12, 72)):
        topic = topics[name]
        assert topic.inputs["partitionCount"] == partitions
        assert topic.inputs["replicationFactor"] == 3
        assert json.loads(topic.inputs["configs"]) == {
            "cleanup.policy": "delete",
            "min.insync.replicas": "2",
            "retention.ms": str(hours * 3600 * 1000),
        }
        assert topic.inputs["clusterArn"].startswith(
            f"arn:aws:kafka:us-east-1:123456789012:cluster/{NAME}/"
        )
        assert topic.options.protect is True
        assert cluster.urn in topic.dependencies


def test_only_the_clients_reach_it_on_9098(prod):
    assert [p.port for p in CLIENT_PORTS] == [IAM_PORT] == [9098]
    (rule,) = prod.of_type(INGRESS)
    assert rule.inputs["referencedSecurityGroupId"] == CLIENTS[0]
    assert (rule.inputs["fromPort"], rule.inputs["toPort"], rule.inputs["ipProtocol"]) == (
        9098,
        9098,
        "tcp",
    )
    assert "cidrIpv4" not in rule.inputs
    (group,) = prod.of_type("aws:ec2/securityGroup:SecurityGroup")
    assert "egress" not in group.inputs and "ingress" not in group.inputs


def test_admit_adds_one_rule_for_a_later_client():
    def build(name, args, opts):
        cluster = KafkaCluster(name, args, opts)
        cluster.admit("flink", "sg-0flink00000000000")
        return cluster

    build.__name__ = "KafkaCluster"
    plan = plan_component(build, cluster_args(topics=()), name=NAME)
    rules = {r.name: r.inputs for r in plan.of_type(INGRESS)}
    assert set(rules) == {f"{NAME}-from-client-0", f"{NAME}-from-flink"}
    admitted = rules[f"{NAME}-from-flink"]
    assert admitted["referencedSecurityGroupId"] == "sg-0flink00000000000"
    assert (admitted["fromPort"], admitted["toPort"]) == (9098, 9098)
    assert plan.named(f"{NAME}-from-flink").parent == plan.named(NAME).urn


# -- validation ------------------------------------------------------------------------------


def test_every_problem_at_once():
    args = cluster_args(
        cluster_name="1bad",
        subnet_ids=SUBNETS[:1],
        kafka_version="2.8.1",
        instance_type="m5.large",
        storage_gib=0,
        brokers_per_zone=0,
        log_retention_days=2,
        topics=(KafkaTopicArgs("a b", 0, 0), KafkaTopicArgs("x", 1, 1), KafkaTopicArgs("x", 1, 1)),
    )
    found = problems("t", args)
    assert found == [
        "KafkaCluster t: cluster_name: got '1bad'; expected 1-64 letters, digits and hyphens, "
        "starting with a letter",
        "KafkaCluster t: subnet_ids: got ['subnet-0isolated00000000a']; expected 2 or 3 subnets, "
        "one per zone: MSK spreads its brokers over 2 or 3 zones",
        "KafkaCluster t: kafka_version: got '2.8.1'; expected an Apache Kafka version MSK "
        "offers, 3.5 or later, such as 3.6.0 or 3.8.x",
        "KafkaCluster t: instance_type: got 'm5.large'; expected an Amazon MSK broker instance "
        "type such as kafka.m7g.large or kafka.t3.small",
        "KafkaCluster t: storage_gib: got 0; expected an integer from 1 to 16384",
        "KafkaCluster t: brokers_per_zone: got 0; expected an integer from 1 to 10",
        found[6],
        "KafkaCluster t: topics[0].name: got 'a b'; expected 1-249 letters, digits, '.', '_' "
        "and '-'",
        "KafkaCluster t: topics[0].partitions: got 0; expected an integer from 1 to 1000",
        "KafkaCluster t: topics[0].retention_hours: got 0; expected an integer from 1 to 8760",
        "KafkaCluster t: topics[2].name: got 'x'; expected each topic once",
    ]
    assert found[6].startswith("KafkaCluster t: log_retention_days: got 2; expected ")
    with pytest.raises(InvalidArguments):
        plan_component(KafkaCluster, args, name="t")


# -- what clients are granted ----------------------------------------------------------------


def test_arns_of_topics_and_groups_come_from_the_clusters():
    assert topic_arn(CLUSTER_ARN, "user-events") == (
        "arn:aws:kafka:us-east-1:123456789012:topic/osp-t-kafka/0e1f-2/user-events"
    )
    assert group_arn(CLUSTER_ARN, "payment") == (
        "arn:aws:kafka:us-east-1:123456789012:group/osp-t-kafka/0e1f-2/payment"
    )
    with pytest.raises(ValueError, match="expected an MSK cluster ARN"):
        topic_arn("arn:aws:kafka:us-east-1:123456789012:cluster/*", "x")


def test_a_producer_and_consumer_gets_exactly_its_topics_and_group():
    by_sid = {
        s["Sid"]: s
        for s in kafka_statements(
            CLUSTER_ARN, produces=["payment-events"], consumes=["enrollment-events"], group="pay"
        )
    }
    assert by_sid == {
        "KafkaConnect": {
            "Sid": "KafkaConnect",
            "Effect": "Allow",
            "Action": [
                "kafka-cluster:Connect",
                "kafka-cluster:DescribeCluster",
                "kafka-cluster:WriteDataIdempotently",
            ],
            "Resource": [CLUSTER_ARN],
        },
        "KafkaProduce": {
            "Sid": "KafkaProduce",
            "Effect": "Allow",
            "Action": ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"],
            "Resource": [topic_arn(CLUSTER_ARN, "payment-events")],
        },
        "KafkaConsume": {
            "Sid": "KafkaConsume",
            "Effect": "Allow",
            "Action": ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
            "Resource": [topic_arn(CLUSTER_ARN, "enrollment-events")],
        },
        "KafkaConsumerGroup": {
            "Sid": "KafkaConsumerGroup",
            "Effect": "Allow",
            "Action": ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"],
            "Resource": [group_arn(CLUSTER_ARN, "pay")],
        },
    }


def test_a_producer_alone_has_no_read_and_no_group():
    sids = [
        s["Sid"] for s in kafka_statements(CLUSTER_ARN, produces=["x"], consumes=(), group=None)
    ]
    assert sids == ["KafkaConnect", "KafkaProduce"]
    assert kafka_statements(CLUSTER_ARN, produces=(), consumes=(), group=None) == []
    with pytest.raises(ValueError, match="consumer group"):
        kafka_statements(CLUSTER_ARN, produces=(), consumes=["x"], group=None)
