"""The lms blueprint's two Lambdas (seed 002 §3.3) in the estate, dev and prod: file processing
on course-material uploads, producing to course-events from inside the VPC (MSK on 9098), and
the notification processor on the queue payment sends to, writing the notification queue's
table; each granted only its own resources."""

from __future__ import annotations

import json

import pytest

from osp.components.streaming import topic_arn
from osp.platform.plan import Plan
from tests.support import plan_of, statements

ACCOUNT = "us-east-1:123456789012"
ENVIRONMENTS = ("dev", "prod")
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def estate(request):
    return request.param, plan_of(request.param, "lms")


def inputs(plan: Plan, name: str) -> dict:
    """The inputs of the cloud resource `name` (a component may share its name)."""
    (found,) = [r for r in plan.resources if r.name == name and r.custom]
    return dict(found.inputs)


def granted(plan: Plan, env: str, function: str) -> dict[str, dict]:
    return statements(inputs(plan, f"osp-{env}-{function}-function-permissions")["policy"])


def kafka_cluster_arn(plan: Plan) -> str:
    (cluster,) = plan.of_type("aws:msk/cluster:Cluster")
    (topic, *_) = plan.of_type("aws:msk/topic:Topic")
    assert topic.inputs["clusterArn"].split("/")[1] == cluster.inputs["clusterName"]
    return topic.inputs["clusterArn"]


def materials_arn(plan: Plan, env: str) -> str:
    return "arn:aws:s3:::" + inputs(plan, f"osp-{env}-course-materials-bucket")["bucket"]


def test_the_two_functions(estate):
    env, plan = estate
    functions = sorted(r.name for r in plan.resources if r.type == "osp:function:Function")
    assert functions == [
        f"osp-{env}-file-processing-function",
        f"osp-{env}-notification-processor-function",
    ]
    for name in ("file-processing", "notification-processor"):
        function = inputs(plan, f"osp-{env}-{name}-function")
        assert function["imageUri"].endswith(f"/osp-{env}-services/{name}:1.0.0")
        assert function["tracingConfig"] == {"mode": "Active"}
        logs = inputs(plan, f"osp-{env}-{name}-function-logs")
        assert logs["name"] == f"/aws/lambda/osp-{env}-{name}-function"


def test_course_material_uploads_trigger_file_processing_and_its_writes_cannot(estate):
    env, plan = estate
    materials = materials_arn(plan, env)
    notification = inputs(plan, f"osp-{env}-course-materials-triggers")
    function_arn = f"arn:aws:lambda:{ACCOUNT}:function:osp-{env}-file-processing-function"
    assert [(e["lambdaFunctionArn"], e["filterPrefix"]) for e in notification["lambdaFunctions"]
            ] == [(function_arn, "uploads/")]  # fmt: skip
    runtime = statements(inputs(plan, f"osp-{env}-file-processing-function-runtime")["policy"])
    assert runtime["NeverWriteWhereItIsTriggered"]["Resource"] == [materials + "/uploads/*"]


def test_file_processing_writes_the_bucket_and_produces_course_events_only(estate):
    env, plan = estate
    materials, cluster = materials_arn(plan, env), kafka_cluster_arn(plan)
    policy = granted(plan, env, "file-processing")
    assert {sid: s["Resource"] for sid, s in policy.items() if sid != "UseKey0"} == {
        "ListBuckets": [materials],
        "ReadObjects": [materials + "/*"],
        "WriteObjects": [materials + "/*"],
        "KafkaConnect": [cluster],
        "KafkaProduce": [topic_arn(cluster, "course-events")],
    }
    # Writes only: no read of a topic, no consumer group.
    assert not [a for s in policy.values() for a in s["Action"] if "ReadData" in a or "Group" in a]
    variables = inputs(plan, f"osp-{env}-file-processing-function")["environment"]["variables"]
    assert variables["KAFKA_TOPIC_COURSE_EVENTS"] == "course-events"
    assert variables["KAFKA_BOOTSTRAP_SERVERS"].endswith(":9098")
    assert (variables["KAFKA_SECURITY_PROTOCOL"], variables["KAFKA_SASL_MECHANISM"]) == (
        "SASL_SSL",
        "AWS_MSK_IAM",
    )


def test_file_processing_runs_in_the_vpc_reaching_msk_on_9098(estate):
    env, plan = estate
    function = inputs(plan, f"osp-{env}-file-processing-function")
    private = {
        s.inputs["cidrBlock"]: s
        for s in plan.of_type("aws:ec2/subnet:Subnet")
        if s.inputs["tags"]["osp:subnet-tier"] == "private"
    }
    assert len(function["vpcConfig"]["subnetIds"]) == len(private)
    group = f"osp-{env}-file-processing-function"
    kafka_group = inputs(plan, f"osp-{env}-kafka-from-client-0")["securityGroupId"]
    own_group = inputs(plan, f"{group}-to-store-0")["securityGroupId"]
    egress = {
        r.name: (r.inputs["fromPort"], r.inputs.get("referencedSecurityGroupId"),
                 r.inputs.get("cidrIpv4"))
        for r in plan.of_type(EGRESS) if r.name.startswith(group)
    }  # fmt: skip
    # MSK on 9098 by its group; S3 (a gateway endpoint at public addresses) on 443.
    assert egress == {
        f"{group}-to-store-0": (9098, kafka_group, None),
        f"{group}-https-0": (443, None, "0.0.0.0/0"),
    }
    into = inputs(plan, f"{group}-into-store-0")
    assert (into["securityGroupId"], into["referencedSecurityGroupId"]) == (kafka_group, own_group)
    assert (into["fromPort"], into["toPort"]) == (9098, 9098)
    # The cluster admits the nodes, the Flink job and this function; no address range.
    admitted = sorted(
        r.name for r in plan.of_type(INGRESS) if r.inputs["securityGroupId"] == kafka_group
    )
    assert admitted == sorted(
        [
            f"osp-{env}-kafka-from-client-0",
            f"osp-{env}-kafka-from-learning-analytics",
            f"{group}-into-store-0",
        ]
    )


def test_payment_sends_to_the_queue_that_triggers_the_notification_processor(estate):
    env, plan = estate
    queue = f"arn:aws:sqs:{ACCOUNT}:osp-{env}-queue-notifications"
    mapping = inputs(plan, f"osp-{env}-notification-processor-function-queue")
    assert mapping["eventSourceArn"] == queue
    assert mapping["batchSize"] == 10
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    senders = {
        r.name
        for r in plan.of_type("aws:iam/rolePolicy:RolePolicy")
        for s in json.loads(r.inputs["policy"])["Statement"]
        if "sqs:SendMessage" in s.get("Action", []) and queue in s.get("Resource", [])
    }
    assert senders == {f"osp-{env}-payment-identity-policy"}
    # SQS hides a message for six times the function's 60 s while it holds it.
    assert inputs(plan, f"osp-{env}-queue-notifications-queue")["visibilityTimeoutSeconds"] == 360


def test_the_notification_processor_writes_its_table_and_sends_email_and_sms(estate):
    env, plan = estate
    policy = granted(plan, env, "notification-processor")
    table = f"arn:aws:dynamodb:{ACCOUNT}:table/osp-{env}-notification-queue"
    assert policy["ReadTables"]["Resource"] == [table]
    assert policy["WriteTables"]["Resource"] == [table]
    assert sorted(e.split(":")[-1] for e in policy["SendEmail"]["Resource"]) == [
        f"configuration-set/osp-{env}-email",
        f"identity/{plan_domain(plan)}",
    ]
    assert policy["SendSms"]["NotResource"] == ["arn:aws:sns:*:*:*"]
    # Its trigger's queue is read through the runtime role; nothing else of the estate.
    assert set(policy) <= {"ReadTables", "WriteTables", "SendEmail", "SendSms"} | {
        sid for sid in policy if sid.startswith("UseKey")
    }
    assert not [s for s in policy.values() if any(a.startswith("kafka") for a in s["Action"])]
    function = inputs(plan, f"osp-{env}-notification-processor-function")
    assert "vpcConfig" not in function  # no data store in the VPC
    variables = function["environment"]["variables"]
    assert variables["TABLE_NOTIFICATION_QUEUE_NAME"] == f"osp-{env}-notification-queue"
    assert variables["SMS_ENABLED"] == "true"


def plan_domain(plan: Plan) -> str:
    (identity,) = plan.of_type("aws:sesv2/emailIdentity:EmailIdentity")
    return identity.inputs["emailIdentity"]
