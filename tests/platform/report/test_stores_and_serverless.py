"""The report's rows for EFS file systems, Kafka clusters and DynamoDB tables (with their
encryption, backup and access facts) and its serverless section (functions and schedules:
trigger, role, tracing, dead-letter queue, VPC), from a synthetic plan and from the
learning-platform estate; the section is left out of an estate without any."""

from __future__ import annotations

import json

import jsonschema
import pytest

from osp.platform.plan import STACK_TYPE, Plan
from osp.platform.policy import RULES, context_of, evaluate
from osp.platform.report import Format, collect, render
from osp.platform.report.rendering import schema, to_markdown
from osp.platform.report.serverless import arn_name
from tests.platform.report.test_report import NOW, _resource, tiny_plan
from tests.support import plan_of, spec_of

R = _resource
KEY = "aws:kms/key:Key"
SG = "aws:ec2/securityGroup:SecurityGroup"
FN = "aws:lambda/function:Function"
QUEUE = "aws:sqs/queue:Queue"
ROLE = "aws:iam/role:Role"
ACCOUNT = "arn:aws:sqs:us-east-1:123456789012"


def _plan() -> Plan:
    tls_deny = {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "*",
                "Resource": "arn:fs",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
    }
    fs = {"fileSystemId": ("aws:efs/fileSystem:FileSystem", "tiny-media")}
    function = {
        "name": "tiny-thumbnails",
        "runtime": "python3.13",
        "memorySize": 512,
        "timeout": 30,
        "role": "arn:aws:iam::123456789012:role/tiny-thumbnails",
        "tracingConfig": {"mode": "Active"},
        "reservedConcurrentExecutions": 5,
        "vpcConfig": {"subnetIds": ["subnet-a", "subnet-b"]},
        "kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/k",
        "environment": {"variables": {"SIZES": "150,500"}},
    }
    resources = (
        R(STACK_TYPE, "osp-tiny", {}, custom=False),
        R(KEY, "tiny-data-key", {}),
        R(SG, "tiny-media-sg", {}),
        R(ROLE, "tiny-thumbnails-role", {}),
        R(
            "aws:efs/fileSystem:FileSystem",
            "tiny-media",
            {
                "encrypted": True,
                "kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/k",
                "performanceMode": "generalPurpose",
                "throughputMode": "elastic",
            },
            deps={"kmsKeyId": (KEY, "tiny-data-key")},
            protect=True,
        ),
        R(
            "aws:efs/backupPolicy:BackupPolicy",
            "tiny-media-backup",
            {"backupPolicy": {"status": "ENABLED"}},
            deps=fs,
        ),
        R(
            "aws:efs/fileSystemPolicy:FileSystemPolicy",
            "tiny-media-policy",
            {"policy": json.dumps(tls_deny)},
            deps=fs,
        ),
        R(
            "aws:efs/accessPoint:AccessPoint",
            "tiny-media-ap",
            {"rootDirectory": {"path": "/media"}, "posixUser": {"uid": 65532, "gid": 65532}},
            deps=fs,
        ),
        R(
            "aws:efs/mountTarget:MountTarget",
            "tiny-media-mt-a",
            {"securityGroups": ["<unknown>"]},
            deps={**fs, "securityGroups": (SG, "tiny-media-sg")},
        ),
        R(
            "aws:msk/cluster:Cluster",
            "tiny-events",
            {
                "kafkaVersion": "3.7.x",
                "numberOfBrokerNodes": 3,
                "brokerNodeGroupInfo": {
                    "instanceType": "kafka.m7g.large",
                    "clientSubnets": ["a", "b", "c"],
                },
                "encryptionInfo": {
                    "encryptionAtRestKmsKeyArn": "arn:k",
                    "encryptionInTransit": {"clientBroker": "TLS", "inCluster": True},
                },
                "clientAuthentication": {"sasl": {"iam": True}, "unauthenticated": False},
            },
            deps={"encryptionInfo": (KEY, "tiny-data-key")},
        ),
        R(
            "aws:dynamodb/table:Table",
            "tiny-sessions",
            {
                "name": "tiny-sessions",
                "billingMode": "PROVISIONED",
                "ttl": {"enabled": True, "attributeName": "expiresAt"},
                "serverSideEncryption": {"enabled": True, "kmsKeyArn": "arn:k"},
                "pointInTimeRecovery": {"enabled": True},
            },
        ),
        R(
            "aws:appautoscaling/target:Target",
            "tiny-sessions-read",
            {"scalableDimension": "dynamodb:table:ReadCapacityUnits"},
            deps={"resourceId": ("aws:dynamodb/table:Table", "tiny-sessions")},
        ),
        R(FN, "tiny-thumbnails", function, deps={"role": (ROLE, "tiny-thumbnails-role")}),
        R(
            "aws:lambda/permission:Permission",
            "tiny-thumbnails-from-photos",
            {
                "function": "tiny-thumbnails",
                "principal": "s3.amazonaws.com",
                "sourceArn": "arn:aws:s3:::tiny-photos",
            },
        ),
        R(
            "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
            "tiny-thumbnails-failures",
            {
                "functionName": "tiny-thumbnails",
                "destinationConfig": {"onFailure": {"destination": f"{ACCOUNT}:tiny-failed"}},
            },
        ),
        R(QUEUE, "tiny-reminders", {"name": "tiny-reminders"}),
        R(
            "aws:scheduler/schedule:Schedule",
            "tiny-fee-reminders",
            {
                "scheduleExpression": "cron(0 8 * * ? *)",
                "scheduleExpressionTimezone": "Europe/London",
                "kmsKeyArn": "arn:k",
                "target": {
                    "arn": f"{ACCOUNT}:tiny-reminders",
                    "roleArn": "arn:aws:iam::123456789012:role/tiny-scheduler",
                    "deadLetterConfig": {"arn": f"{ACCOUNT}:tiny-reminders-dlq"},
                    "retryPolicy": {"maximumRetryAttempts": 3},
                },
            },
            deps={"kmsKeyArn": (KEY, "tiny-data-key")},
        ),
    )
    return Plan("osp", "tiny", "osp-tiny", "osp", "offline", resources, {})


def _facts(plan: Plan) -> dict:
    spec = spec_of("dev")
    report = evaluate(plan, RULES, context_of(spec), today=NOW.date())
    return collect(plan, spec, report, version="9.9.9", generated_at=NOW)


def _store(facts: dict, name: str) -> dict:
    return next(s for s in facts["dataStores"] if s["name"] == name)


def test_a_file_system_row_says_how_it_is_encrypted_backed_up_and_reached():
    assert _store(_facts(_plan()), "tiny-media") == {
        "name": "tiny-media",
        "kind": "EFS file system",
        "engine": "nfs",
        "version": "",
        "size": "generalPurpose, elastic throughput",
        "encrypted": True,
        "key": "tiny-data-key",
        "encryptedInTransit": True,
        "multiAz": True,
        "backupRetentionDays": 35,
        "deletionProtection": None,
        "protect": True,
        "replicas": [],
        "access": [
            "access point tiny-media-ap: /media as 65532:65532",
            "1 mount target(s) behind tiny-media-sg",
            "TLS required by the file system policy",
        ],
    }


def test_a_kafka_cluster_and_a_provisioned_table_have_their_rows():
    facts = _facts(_plan())
    events = _store(facts, "tiny-events")
    assert (events["kind"], events["size"], events["key"], events["encryptedInTransit"]) == (
        "MSK cluster",
        "kafka.m7g.large x 3",
        "tiny-data-key",
        True,
    )
    assert events["multiAz"] is True
    assert events["access"] == ["private", "IAM authentication"]
    sessions = _store(facts, "tiny-sessions")
    assert sessions["access"] == [
        "provisioned",
        "autoscaling ReadCapacityUnits",
        "TTL on expiresAt",
    ]
    assert "tiny-media" in facts["architecture"]["dataStores"]
    assert "tiny-events" in facts["architecture"]["dataStores"]


def test_the_serverless_section_names_trigger_role_tracing_dead_letters_and_vpc():
    serverless = _facts(_plan())["serverless"]
    assert serverless["functions"] == [
        {
            "name": "tiny-thumbnails",
            "runtime": "python3.13",
            "memoryMiB": 512,
            "timeoutSeconds": 30,
            "triggers": ["s3.amazonaws.com: tiny-photos"],
            "role": "tiny-thumbnails-role",
            "tracing": True,
            "reservedConcurrency": 5,
            "deadLetter": "tiny-failed",
            "vpcSubnets": 2,
            "environmentKey": "arn:aws:kms:us-east-1:123456789012:key/k",
        }
    ]
    assert serverless["schedules"] == [
        {
            "name": "tiny-fee-reminders",
            "expression": "cron(0 8 * * ? *)",
            "timezone": "Europe/London",
            "state": "ENABLED",
            "target": "sqs tiny-reminders",
            "role": "tiny-scheduler",
            "deadLetter": "tiny-reminders-dlq",
            "maximumRetries": 3,
            "key": "tiny-data-key",
        }
    ]


def test_every_format_carries_the_new_facts_and_the_json_validates():
    facts = _facts(_plan())
    out = render(facts, [Format.JSON, Format.MARKDOWN], diagram=False).files
    jsonschema.Draft202012Validator(schema()).validate(json.loads(out["report.json"]))
    markdown = out["report.md"].decode()
    assert "## Serverless" in markdown
    assert (
        "| tiny-fee-reminders | cron(0 8 * * ? *) | Europe/London | ENABLED | sqs tiny-reminders "
        "| tiny-scheduler | 3 | tiny-reminders-dlq | tiny-data-key |" in markdown
    )
    assert "| tiny-media | EFS file system | nfs  |" in markdown


def test_an_estate_without_functions_or_schedules_has_no_serverless_section():
    facts = _facts(tiny_plan())
    assert facts["serverless"] == {"functions": [], "schedules": []}
    assert "## Serverless" not in to_markdown(facts)


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_learning_platform_estate_reports_its_file_system(environment):
    plan, spec = (
        plan_of(environment, "learning-platform"),
        spec_of(environment, "learning-platform"),
    )
    facts = collect(
        plan, spec, evaluate(plan, RULES, context_of(spec), today=NOW.date()),
        version="9.9.9", generated_at=NOW,
    )  # fmt: skip
    (efs,) = [s for s in facts["dataStores"] if s["kind"] == "EFS file system"]
    assert efs["name"] == f"osp-{environment}-files-file-system"
    assert efs["encrypted"] and efs["encryptedInTransit"] and efs["backupRetentionDays"] == 35
    assert efs["key"] != "AWS owned key"
    assert efs["protect"] is (environment == "prod")
    point = f"osp-{environment}-files-media-access-point"
    assert efs["access"][0] == f"access point {point}: /media as 65532:65532"
    assert efs["access"][-1] == "TLS required by the file system policy"
    rotation = facts["serverless"]["functions"][0]
    assert rotation["name"] == f"osp-{environment}-app-secrets-rotation"
    assert rotation["triggers"][0].startswith(
        f"secretsmanager.amazonaws.com: osp-{environment}-app/jwt-signing-key-"
    )
    assert (rotation["tracing"], rotation["deadLetter"], rotation["vpcSubnets"]) == (
        True,
        f"osp-{environment}-app-secrets-rotation-dlq",
        len(spec.zones),  # a private subnet per zone
    )
    assert rotation["environmentKey"] == f"osp-{environment}-keys-secrets"
    jsonschema.Draft202012Validator(schema()).validate(
        json.loads(render(facts, [Format.JSON], diagram=False).files["report.json"])
    )


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        ("arn:aws:s3:::photos", "photos"),
        ("arn:aws:s3:::photos/uploads/*", "photos"),
        ("arn:aws:sqs:us-east-1:123456789012:reminders", "reminders"),
        ("arn:aws:lambda:us-east-1:123456789012:function:thumbnails", "thumbnails"),
        ("arn:aws:iam::123456789012:role/scheduler", "scheduler"),
        (
            "arn:aws:secretsmanager:us-east-1:1:secret:osp-dev-app/jwt-abc123",
            "osp-dev-app/jwt-abc123",
        ),
        (None, ""),
        ("<unknown>", "<unknown>"),
    ],
)
def test_arn_names(arn, name):
    assert arn_name(arn) == name
