"""The osp blueprint's Lambda function and schedules in the estate (seed 000 §8 and its
EventBridge jobs), in dev and prod: one function, triggered by photo uploads it cannot cause
itself, granted only its own resources; three schedules on the queues of the services that
own the data, through a role that reaches exactly those queues."""

from __future__ import annotations

import json

import pytest

from osp.platform.plan import Plan
from tests.support import plan_of, statements

FUNCTION = "aws:lambda/function:Function"
POLICY = "aws:iam/rolePolicy:RolePolicy"
SCHEDULE = "aws:scheduler/schedule:Schedule"
ENVIRONMENTS = ("dev", "prod")


def inputs(plan: Plan, name: str) -> dict:
    """The inputs of the cloud resource `name` (a component may share its name)."""
    (found,) = [r for r in plan.resources if r.name == name and r.custom]
    return dict(found.inputs)


ACCOUNT = "us-east-1:123456789012"


def data_key(plan: Plan, env: str) -> str:
    """The data key, as the services' event queues are encrypted with it."""
    return inputs(plan, f"osp-{env}-events-fee-enrollment-created-queue")["kmsMasterKeyId"]


def logs_key(plan: Plan, env: str) -> str:
    """The logs key, as the secret rotator's log group is encrypted with it."""
    return inputs(plan, f"osp-{env}-app-secrets-rotation-logs")["kmsKeyId"]


def storage_key(plan: Plan, env: str) -> str:
    """The storage key, as the media bucket is encrypted with it."""
    (rule,) = inputs(plan, f"osp-{env}-media-encryption")["rules"]
    return rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"]


def media_arn(plan: Plan, env: str) -> str:
    return "arn:aws:s3:::" + inputs(plan, f"osp-{env}-media-bucket")["bucket"]


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{ACCOUNT}:{name}"


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def estate(request):
    return request.param, plan_of(request.param, "osp")


def test_one_function_of_the_blueprint_the_thumbnails(estate):
    env, plan = estate
    functions = [r for r in plan.resources if r.type == "osp:function:Function"]
    assert [f.name for f in functions] == [f"osp-{env}-thumbnails-function"]
    function = inputs(plan, f"osp-{env}-thumbnails-function")
    assert function["packageType"] == "Image"
    assert function["imageUri"].endswith(f"/osp-{env}-services/thumbnails:1.0.0")
    assert (function["memorySize"], function["timeout"]) == (1024, 60)
    assert function["reservedConcurrentExecutions"] == 20
    assert function["tracingConfig"] == {"mode": "Active"}
    assert function["kmsKeyArn"] == data_key(plan, env)
    # It reaches no data store: outside the VPC.
    assert "vpcConfig" not in function
    assert function["environment"]["variables"]["BUCKET_MEDIA_NAME"].startswith(f"osp-{env}-media-")
    logs = inputs(plan, f"osp-{env}-thumbnails-function-logs")
    assert logs["name"] == f"/aws/lambda/osp-{env}-thumbnails-function"
    assert logs["kmsKeyId"] == logs_key(plan, env)
    # Its repository sits beside the services', and Lambda may pull from it for it alone.
    assert inputs(plan, f"osp-{env}-registry-thumbnails")["name"] == (
        f"osp-{env}-services/thumbnails"
    )
    pull = inputs(plan, f"osp-{env}-thumbnails-function-pull")
    assert pull["repository"] == f"osp-{env}-services/thumbnails"
    condition = statements(pull["policy"])["LambdaPullsForItsFunction"]["Condition"]
    assert condition == {
        "StringEquals": {
            "aws:SourceArn": f"arn:aws:lambda:{ACCOUNT}:function:osp-{env}-thumbnails-function"
        }
    }


def test_photo_uploads_trigger_it_and_nothing_it_writes_can(estate):
    env, plan = estate
    media = media_arn(plan, env)
    (notification,) = plan.of_type("aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs["bucket"] == inputs(plan, f"osp-{env}-media-bucket")["bucket"]
    function_arn = f"arn:aws:lambda:{ACCOUNT}:function:osp-{env}-thumbnails-function"
    assert [
        (e["lambdaFunctionArn"], e["filterPrefix"], e["filterSuffix"])
        for e in notification.inputs["lambdaFunctions"]
    ] == [(function_arn, "photos/original/", s) for s in (".jpg", ".jpeg", ".png")]
    permission = inputs(plan, f"osp-{env}-thumbnails-function-upload")
    assert (permission["principal"], permission["sourceArn"]) == ("s3.amazonaws.com", media)
    runtime = statements(inputs(plan, f"osp-{env}-thumbnails-function-runtime")["policy"])
    assert runtime["NeverWriteWhereItIsTriggered"] == {
        "Sid": "NeverWriteWhereItIsTriggered",
        "Effect": "Deny",
        "Action": ["s3:PutObject"],
        "Resource": [media + "/photos/original/*"],
    }


def test_its_grants_name_only_its_own_resources(estate):
    env, plan = estate
    media = media_arn(plan, env)
    key = storage_key(plan, env)
    granted = statements(inputs(plan, f"osp-{env}-thumbnails-function-permissions")["policy"])
    assert {sid: s["Resource"] for sid, s in granted.items()} == {
        "ListBuckets": [media],
        "ReadObjects": [media + "/*"],
        "WriteObjects": [media + "/*"],
        "UseKey0": [key],
    }
    assert granted["UseKey0"]["Condition"] == {
        "StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com"]}
    }
    runtime = statements(inputs(plan, f"osp-{env}-thumbnails-function-runtime")["policy"])
    assert runtime["DeadLetters"]["Resource"] == [queue_arn(f"osp-{env}-thumbnails-function-dlq")]
    assert runtime["WriteItsLogs"]["Resource"] == [
        f"arn:aws:logs:{ACCOUNT}:log-group:/aws/lambda/osp-{env}-thumbnails-function:*"
    ]
    # No network interfaces: it is not in the VPC. X-Ray is the one unscoped action.
    assert "NetworkInterfaces" not in runtime
    assert [sid for sid, s in runtime.items() if s["Resource"] == "*"] == ["Traces"]


def test_three_schedules_on_the_queues_of_the_services_that_own_the_data(estate):
    env, plan = estate
    queue = {q: queue_arn(f"osp-{env}-queue-{q}") for q in ("fee-reminders", "report-runs")}
    schedules = {r.inputs["name"]: r.inputs for r in plan.of_type(SCHEDULE)}
    assert {
        n: (s["scheduleExpression"], s["target"]["arn"], json.loads(s["target"]["input"]))
        for n, s in schedules.items()
    } == {
        "daily-fee-reminders": (
            "cron(0 13 * * ? *)",
            queue["fee-reminders"],
            {"job": "fee-due-reminders"},
        ),
        "weekly-enrollment-reports": (
            "cron(0 11 ? * MON *)",
            queue["report-runs"],
            {"period": "week", "report": "enrollment"},
        ),
        "monthly-analytics": (
            "cron(0 10 1 * ? *)",
            queue["report-runs"],
            {"period": "month", "report": "analytics"},
        ),
    }
    dlq = queue_arn(f"osp-{env}-schedules-dlq")
    for schedule in schedules.values():
        assert schedule["target"]["deadLetterConfig"] == {"arn": dlq}
        assert schedule["kmsKeyArn"] == data_key(plan, env)
    role = statements(inputs(plan, f"osp-{env}-schedules-targets")["policy"])
    assert set(role) == {"SendToTargetsAndDeadLetters", "UseTheKey"}
    assert role["SendToTargetsAndDeadLetters"]["Resource"] == sorted({*queue.values(), dlq})


def test_only_the_owning_services_consume_the_queues_and_nobody_else_names_them(estate):
    env, plan = estate
    reminders = queue_arn(f"osp-{env}-queue-fee-reminders")
    runs = queue_arn(f"osp-{env}-queue-report-runs")
    for resource in plan.of_type(POLICY):
        document = resource.inputs.get("policy") or ""
        named = {q for q in (reminders, runs) if q in document}
        if resource.name == f"osp-{env}-fee-identity-policy":
            assert named == {reminders}
            assert reminders in statements(document)["ConsumeEvents"]["Resource"]
        elif resource.name == f"osp-{env}-reporting-identity-policy":
            assert named == {runs}
            assert runs in statements(document)["ConsumeEvents"]["Resource"]
        elif resource.name != f"osp-{env}-schedules-targets":
            assert not named, resource.name
    for queue in ("fee-reminders", "report-runs"):
        assert inputs(plan, f"osp-{env}-queue-{queue}-queue")["kmsMasterKeyId"] == data_key(
            plan, env
        )
