"""`FlinkApplication` through the offline engine: its code object, checkpoints, VPC placement,
the one egress rule to Kafka, its log, and a role that reaches exactly its topics and group."""

from __future__ import annotations

import json

import pytest

from osp.components.flink import (
    APPLICATION_PROPERTY_GROUP,
    KAFKA_PROPERTY_GROUP,
    FlinkApplication,
    FlinkApplicationArgs,
    problems,
)
from osp.components.streaming import group_arn, topic_arn
from osp.platform.validation import InvalidArguments
from tests.support import custom_counts, plan_component, statements

TAGS = {"osp:environment": "t", "osp:component": "streaming", "osp:blueprint": "lms",
        "osp:managed-by": "osp"}  # fmt: skip
NAME = "osp-t-analytics-flink"
APP = "osp-t-analytics"
KEY = "arn:aws:kms:us-east-1:123456789012:key/"
BUCKET = "arn:aws:s3:::osp-t-stream-artifacts-0123abcd"
CLUSTER_ARN = "arn:aws:kafka:us-east-1:123456789012:cluster/osp-t-kafka/0e1f-2"
SUBNETS = ("subnet-0private0000000a", "subnet-0private0000000b")
KAFKA_SG = "sg-0kafka00000000000"
ACCOUNT = "arn:aws:ec2:us-east-1:123456789012"


def flink_args(**overrides) -> FlinkApplicationArgs:
    return FlinkApplicationArgs(
        **{
            "application_name": APP,
            "runtime": "FLINK-1_20",
            "artifact_bucket_arn": BUCKET,
            "artifact_key": "flink/analytics-1.0.0.jar",
            "storage_key_arn": KEY + "storage",
            "vpc_id": "vpc-0123456789abcdef0",
            "subnet_ids": SUBNETS,
            "kafka_cluster_arn": CLUSTER_ARN,
            "kafka_security_group_id": KAFKA_SG,
            "bootstrap_brokers": "b-1.x:9098,b-2.x:9098",
            "reads": ("learning-events",),
            "writes": ("analytics-results",),
            "parallelism": 2,
            "properties": {"window.seconds": "60"},
            "logs_kms_key_arn": KEY + "logs",
            "log_retention_days": 90,
            "tags": TAGS,
            **overrides,
        }
    )


@pytest.fixture(scope="module")
def plan():
    return plan_component(FlinkApplication, flink_args(), name=NAME)


def test_children(plan):
    assert custom_counts(plan) == {
        "ec2/securityGroup": 1,
        "vpc/securityGroupEgressRule": 1,
        "cloudwatch/logGroup": 1,
        "cloudwatch/logStream": 1,
        "iam/role": 1,
        "iam/rolePolicy": 1,
        "kinesisanalyticsv2/application": 1,
    }
    component = plan.named(NAME)
    assert component.type == "osp:flink:FlinkApplication"
    assert all(r.parent == component.urn for r in plan.resources if r.custom)


def test_the_application_runs_its_code_with_checkpoints_in_the_vpc(plan):
    (app,) = plan.of_type("aws:kinesisanalyticsv2/application:Application")
    inputs = app.inputs
    assert inputs["name"] == APP
    assert inputs["runtimeEnvironment"] == "FLINK-1_20"
    assert inputs["applicationMode"] == "STREAMING"
    assert inputs["startApplication"] is False
    config = inputs["applicationConfiguration"]
    assert config["applicationCodeConfiguration"] == {
        "codeContent": {
            "s3ContentLocation": {"bucketArn": BUCKET, "fileKey": "flink/analytics-1.0.0.jar"}
        },
        "codeContentType": "ZIPFILE",
    }
    assert config["applicationSnapshotConfiguration"] == {"snapshotsEnabled": True}
    flink = config["flinkApplicationConfiguration"]
    assert flink["checkpointConfiguration"] == {
        "configurationType": "CUSTOM",
        "checkpointingEnabled": True,
        "checkpointInterval": 60000,
        "minPauseBetweenCheckpoints": 5000,
    }
    assert flink["parallelismConfiguration"] == {
        "configurationType": "CUSTOM",
        "autoScalingEnabled": True,
        "parallelism": 2,
        "parallelismPerKpu": 1,
    }
    (_group,) = plan.of_type("aws:ec2/securityGroup:SecurityGroup")
    vpc = config["vpcConfiguration"]
    assert vpc["subnetIds"] == list(SUBNETS)
    (own,) = vpc["securityGroupIds"]
    assert own.startswith("sg-")
    groups = {g["propertyGroupId"]: g["propertyMap"] for g in config["environmentProperties"][
        "propertyGroups"]}  # fmt: skip
    assert groups == {
        KAFKA_PROPERTY_GROUP: {
            "bootstrap.servers": "b-1.x:9098,b-2.x:9098",
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "AWS_MSK_IAM",
            "group.id": APP,
            "source.topics": "learning-events",
            "sink.topics": "analytics-results",
        },
        APPLICATION_PROPERTY_GROUP: {"window.seconds": "60"},
    }
    assert inputs["tags"]["osp:component"] == "streaming"
    (policy,) = plan.of_type("aws:iam/rolePolicy:RolePolicy")
    assert policy.urn in app.dependencies


def test_its_only_way_out_is_kafka_on_9098(plan):
    (rule,) = plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert rule.inputs["referencedSecurityGroupId"] == KAFKA_SG
    assert (rule.inputs["fromPort"], rule.inputs["toPort"], rule.inputs["ipProtocol"]) == (
        9098,
        9098,
        "tcp",
    )
    assert not plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")


def test_logs_to_an_encrypted_group_with_retention(plan):
    (group,) = plan.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["name"] == f"/aws/kinesis-analytics/{APP}"
    assert group.inputs["kmsKeyId"] == KEY + "logs"
    assert group.inputs["retentionInDays"] == 90
    (stream,) = plan.of_type("aws:cloudwatch/logStream:LogStream")
    (app,) = plan.of_type("aws:kinesisanalyticsv2/application:Application")
    assert app.inputs["cloudwatchLoggingOptions"]["logStreamArn"] == (
        f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/kinesis-analytics/{APP}"
        ":log-stream:application"
    )
    assert stream.inputs["name"] == "application"


def test_only_managed_flink_for_this_application_assumes_the_role(plan):
    (role,) = plan.of_type("aws:iam/role:Role")
    assert role.inputs["name"] == f"{APP}-role"
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "kinesisanalytics.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnEquals": {
            "aws:SourceArn": f"arn:aws:kinesisanalytics:us-east-1:123456789012:application/{APP}"
        },
    }


def test_the_role_reaches_exactly_its_code_log_network_topics_and_group(plan):
    (policy,) = plan.of_type("aws:iam/rolePolicy:RolePolicy")
    by_sid = statements(policy.inputs["policy"])
    resources = {sid: s["Resource"] for sid, s in by_sid.items()}
    log_group = f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/kinesis-analytics/{APP}"
    assert resources["ReadCode"] == [f"{BUCKET}/flink/analytics-1.0.0.jar"]
    assert by_sid["ReadCode"]["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert resources["DecryptCode"] == [KEY + "storage"]
    assert by_sid["DecryptCode"]["Condition"] == {
        "StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com"]}
    }
    assert resources["DescribeLogStreams"] == [f"{log_group}:*"]
    assert resources["WriteLogs"] == [f"{log_group}:log-stream:application"]
    assert resources["DescribeNetwork"] == ["*"]
    assert all(a.startswith("ec2:Describe") for a in by_sid["DescribeNetwork"]["Action"])
    created = resources["CreateNetworkInterfaces"]
    assert created[:2] == sorted(f"{ACCOUNT}:subnet/{s}" for s in SUBNETS)
    assert created[2].startswith(f"{ACCOUNT}:security-group/sg-")
    assert created[3] == f"{ACCOUNT}:network-interface/*"
    assert resources["KafkaConnect"] == [CLUSTER_ARN]
    assert resources["KafkaConsume"] == [topic_arn(CLUSTER_ARN, "learning-events")]
    assert resources["KafkaProduce"] == [topic_arn(CLUSTER_ARN, "analytics-results")]
    assert resources["KafkaConsumerGroup"] == [group_arn(CLUSTER_ARN, APP)]
    assert set(by_sid) == {
        "ReadCode",
        "DecryptCode",
        "DescribeLogStreams",
        "WriteLogs",
        "DescribeNetwork",
        "CreateNetworkInterfaces",
        "ManageNetworkInterfaces",
        "KafkaConnect",
        "KafkaConsume",
        "KafkaProduce",
        "KafkaConsumerGroup",
    }


def test_every_problem_at_once():
    args = flink_args(
        application_name="bad name",
        runtime="FLINK-1_13",
        artifact_key="flink/*.jar",
        reads=(),
        writes=("x",),
        parallelism=0,
        subnet_ids=(),
    )
    found = problems("t", args)
    assert found == [
        "FlinkApplication t: application_name: got 'bad name'; expected 1-128 letters, digits, "
        "'_', '.' and '-'",
        "FlinkApplication t: runtime: got 'FLINK-1_13'; expected one of FLINK-1_18, FLINK-1_19, "
        "FLINK-1_20",
        "FlinkApplication t: artifact_key: got 'flink/*.jar'; expected one S3 object key, "
        "without wildcards",
        "FlinkApplication t: reads: got (); expected at least one topic",
        "FlinkApplication t: parallelism: got 0; expected an integer from 1 to 64",
        "FlinkApplication t: subnet_ids: got (); expected at least one subnet",
    ]
    assert problems("t", flink_args(writes=("learning-events",))) == [
        "FlinkApplication t: writes: got ['learning-events']; expected no topic it also reads"
    ]
    with pytest.raises(InvalidArguments):
        plan_component(FlinkApplication, args, name="t")
