"""`Function` and `BucketTriggers` through the offline engine: exact children, the function's
settings, its role's trust and runtime permissions, its triggers, and what it refuses."""

from __future__ import annotations

import json

import pytest

from osp.components import BucketTriggers, BucketTriggersArgs, Function, FunctionArgs
from osp.components.function import (
    Architecture,
    BucketTrigger,
    InVpc,
    QueueTrigger,
    StoreAccess,
    UploadTrigger,
    ZipCode,
    problems,
    runtime_policy,
)
from osp.platform.validation import InvalidArguments
from tests.support import custom_counts, plan_component, statements

KEY = "arn:aws:kms:us-east-1:123456789012:key/"
BUCKET = "arn:aws:s3:::osp-t-media"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:osp-t-queue-mail"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/osp-t-services/thumbnails:1.0.0"
PERMISSIONS = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadObjects",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": BUCKET + "/*",
            }
        ],
    }
)


def function_args(**overrides) -> FunctionArgs:
    return FunctionArgs(
        **{
            "function_name": "osp-t-thumbnails-function",
            "description": "thumbnails",
            "kms_key_arn": KEY + "data",
            "logs_kms_key_arn": KEY + "logs",
            "log_retention_days": 365,
            "reserved_concurrency": 20,
            "image_uri": IMAGE,
            "memory_mib": 1024,
            "timeout_seconds": 60,
            "upload": UploadTrigger(bucket_arn=BUCKET, prefix="photos/original/"),
            "permissions": PERMISSIONS,
            "environment": {"BUCKET_MEDIA_NAME": "osp-t-media"},
            "tags": {"osp:environment": "t"},
            **overrides,
        }
    )


def one(plan, type_token: str, name: str):
    (found,) = [r for r in plan.of_type(type_token) if r.name == name]
    return found.inputs


FUNCTION = "aws:lambda/function:Function"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/rolePolicy:RolePolicy"


@pytest.fixture(scope="module")
def uploaded():
    return plan_component(Function, function_args(), name="fn")


def test_an_upload_function_is_a_lambda_its_role_logs_dlq_and_permission(uploaded):
    assert custom_counts(uploaded) == {
        "cloudwatch/logGroup": 1,
        "sqs/queue": 1,
        "sqs/queuePolicy": 1,
        "iam/role": 1,
        "iam/rolePolicy": 2,
        "lambda/function": 1,
        "lambda/permission": 1,
    }
    function = one(uploaded, FUNCTION, "fn")
    assert function["packageType"] == "Image" and function["imageUri"] == IMAGE
    assert "runtime" not in function and "handler" not in function
    assert function["tracingConfig"] == {"mode": "Active"}
    assert function["reservedConcurrentExecutions"] == 20
    assert (function["memorySize"], function["timeout"]) == (1024, 60)
    assert function["architectures"] == ["arm64"]
    assert function["kmsKeyArn"] == KEY + "data"
    assert function["environment"] == {"variables": {"BUCKET_MEDIA_NAME": "osp-t-media"}}
    assert function["loggingConfig"] == {
        "logFormat": "JSON",
        "logGroup": "/aws/lambda/osp-t-thumbnails-function",
    }
    assert "vpcConfig" not in function
    dlq = one(uploaded, "aws:sqs/queue:Queue", "fn-dlq")
    assert function["deadLetterConfig"]["targetArn"].endswith(":osp-t-thumbnails-function-dlq")
    assert dlq["kmsMasterKeyId"] == KEY + "data"
    deny = statements(one(uploaded, "aws:sqs/queuePolicy:QueuePolicy", "fn-dlq-policy")["policy"])
    assert deny["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    logs = one(uploaded, "aws:cloudwatch/logGroup:LogGroup", "fn-logs")
    assert (logs["retentionInDays"], logs["kmsKeyId"]) == (365, KEY + "logs")
    permission = one(uploaded, "aws:lambda/permission:Permission", "fn-upload")
    assert permission["principal"] == "s3.amazonaws.com"
    assert permission["sourceArn"] == BUCKET
    assert permission["sourceAccount"] == "123456789012"


def test_its_role_trusts_lambda_for_this_account_only(uploaded):
    trust = json.loads(one(uploaded, ROLE, "fn-role")["assumeRolePolicy"])
    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        }
    ]


def test_its_runtime_policy_names_its_own_log_group_and_dlq_and_denies_its_trigger(uploaded):
    runtime = statements(one(uploaded, POLICY, "fn-runtime")["policy"])
    assert set(runtime) == {
        "WriteItsLogs",
        "DeadLetters",
        "EncryptDeadLetters",
        "Traces",
        "NeverWriteWhereItIsTriggered",
    }
    (log_group,) = runtime["WriteItsLogs"]["Resource"]
    assert log_group.endswith(":log-group:/aws/lambda/osp-t-thumbnails-function:*")
    assert runtime["DeadLetters"]["Resource"][0].endswith(":osp-t-thumbnails-function-dlq")
    assert runtime["EncryptDeadLetters"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}
    }
    assert runtime["NeverWriteWhereItIsTriggered"] == {
        "Sid": "NeverWriteWhereItIsTriggered",
        "Effect": "Deny",
        "Action": ["s3:PutObject"],
        "Resource": [BUCKET + "/photos/original/*"],
    }
    # Only X-Ray, which IAM cannot scope, is on "*"; no network interfaces outside the VPC.
    wildcards = [s["Sid"] for s in runtime.values() if s["Resource"] == "*"]
    assert wildcards == ["Traces"]
    assert one(uploaded, POLICY, "fn-permissions")["policy"] == PERMISSIONS


def test_a_queue_function_in_the_vpc_maps_its_queue_and_reaches_only_its_store():
    plan = plan_component(
        Function,
        function_args(
            image_uri=None,
            zip=ZipCode(
                bucket="osp-t-artifacts",
                key="mailer.zip",
                runtime="python3.13",
                handler="index.handler",
            ),
            upload=None,
            queue=QueueTrigger(queue_arn=QUEUE, kms_key_arn=KEY + "data", batch_size=5),
            in_vpc=InVpc(
                vpc_id="vpc-1",
                subnet_ids=["subnet-0a", "subnet-0b"],
                stores=[
                    StoreAccess(
                        security_group_id="sg-0123456789abcdef0", port=6379, description="Redis"
                    )
                ],
                https_cidrs=["10.0.0.0/20", "10.0.16.0/20"],
            ),
            permissions=None,
            architecture=Architecture.X86_64,
        ),
        name="fn",
    )
    function = one(plan, FUNCTION, "fn")
    assert (function["packageType"], function["s3Bucket"], function["s3Key"]) == (
        "Zip",
        "osp-t-artifacts",
        "mailer.zip",
    )
    assert (function["runtime"], function["handler"]) == ("python3.13", "index.handler")
    assert function["architectures"] == ["x86_64"]
    assert function["vpcConfig"]["subnetIds"] == ["subnet-0a", "subnet-0b"]
    mapping = one(plan, "aws:lambda/eventSourceMapping:EventSourceMapping", "fn-queue")
    assert mapping["eventSourceArn"] == QUEUE
    assert mapping["batchSize"] == 5
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    egress = {
        r.name: r.inputs
        for r in plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    }
    assert {
        n: (e["fromPort"], e.get("cidrIpv4") or e.get("referencedSecurityGroupId"))
        for n, e in egress.items()
    } == {
        "fn-https-0": (443, "10.0.0.0/20"),
        "fn-https-1": (443, "10.0.16.0/20"),
        "fn-to-store-0": (6379, "sg-0123456789abcdef0"),
    }
    (ingress,) = plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert (ingress.inputs["securityGroupId"], ingress.inputs["fromPort"]) == (
        "sg-0123456789abcdef0",
        6379,
    )
    assert not plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")[
        0
    ].inputs.get("cidrIpv4")
    runtime = statements(one(plan, POLICY, "fn-runtime")["policy"])
    assert runtime["ConsumeItsQueue"]["Resource"] == [QUEUE]
    assert "sqs:SendMessage" not in runtime["ConsumeItsQueue"]["Action"]
    assert "NetworkInterfaces" in runtime and "NeverWriteWhereItIsTriggered" not in runtime
    assert not plan.of_type("aws:lambda/permission:Permission")
    assert not plan.of_type(POLICY) or all(r.name != "fn-permissions" for r in plan.of_type(POLICY))


def test_without_a_prefix_an_upload_function_may_write_nowhere_in_its_bucket():
    document = runtime_policy(
        region="us-east-1",
        dns_suffix="amazonaws.com",
        log_group_arn="arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f",
        dlq_arn="arn:aws:sqs:us-east-1:123456789012:f-dlq",
        key_arn=KEY + "data",
        in_vpc=False,
        upload_bucket_arn=BUCKET,
    )
    assert statements(document)["NeverWriteWhereItIsTriggered"]["Resource"] == [BUCKET + "/*"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"memory_mib": 64}, "memory_mib: got 64; expected a memory size in MiB from 128 to 10240"),
        ({"timeout_seconds": 901}, "timeout_seconds: got 901; expected seconds from 1 to 900"),
        ({"reserved_concurrency": 0}, "reserved_concurrency: got 0; expected a number of"),
        ({"function_name": "osp t"}, "function_name: got 'osp t'; expected a function name"),
        (
            {"log_retention_days": 2},
            "log_retention_days: got 2; expected a CloudWatch Logs retention period: 1, 3, 5",
        ),
        ({"image_uri": None}, "image_uri: got None; expected exactly one of image_uri and zip"),
        (
            {"queue": QueueTrigger(queue_arn=QUEUE, kms_key_arn=KEY + "d", batch_size=11)},
            "queue: got 'queue'; expected at most one trigger (upload or queue)",
        ),
        (
            {
                "upload": None,
                "queue": QueueTrigger(queue_arn=QUEUE, kms_key_arn=KEY, batch_size=11),
            },
            "queue.batch_size: got 11; expected a batch size from 1 to 10",
        ),
        (
            {
                "image_uri": None,
                "zip": ZipCode(bucket="b", key="k", runtime="python2.7", handler="index.handler"),
            },
            "zip.runtime: got 'python2.7'; expected a Lambda runtime",
        ),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_created(overrides, message):
    found = problems("fn", function_args(**overrides))
    assert any(message in p for p in found), found
    with pytest.raises(InvalidArguments):
        plan_component(Function, function_args(**overrides), name="fn")


def test_a_buckets_triggers_are_one_notification_one_entry_per_suffix():
    plan = plan_component(
        BucketTriggers,
        BucketTriggersArgs(
            bucket="osp-t-media",
            triggers=[
                BucketTrigger(
                    function_arn="arn:aws:lambda:us-east-1:123456789012:function:a",
                    prefix="photos/original/",
                    suffixes=[".jpg", ".png"],
                ),
                BucketTrigger(
                    function_arn="arn:aws:lambda:us-east-1:123456789012:function:b", prefix="docs/"
                ),
            ],
        ),
        name="media-triggers",
    )
    (notification,) = plan.of_type("aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs["bucket"] == "osp-t-media"
    assert [
        (e["lambdaFunctionArn"][-1], e.get("filterPrefix"), e.get("filterSuffix"), e["events"])
        for e in notification.inputs["lambdaFunctions"]
    ] == [
        ("a", "photos/original/", ".jpg", ["s3:ObjectCreated:*"]),
        ("a", "photos/original/", ".png", ["s3:ObjectCreated:*"]),
        ("b", "docs/", None, ["s3:ObjectCreated:*"]),
    ]
    with pytest.raises(InvalidArguments, match="triggers: got \\[\\]; expected at least one"):
        plan_component(BucketTriggers, BucketTriggersArgs(bucket="b", triggers=[]), name="x")


def test_an_estate_image_gets_a_pull_policy_for_this_function_only():
    plan = plan_component(
        Function, function_args(image_repository="osp-t-services/thumbnails"), name="fn"
    )
    pull = one(plan, "aws:ecr/repositoryPolicy:RepositoryPolicy", "fn-pull")
    assert pull["repository"] == "osp-t-services/thumbnails"
    assert statements(pull["policy"])["LambdaPullsForItsFunction"] == {
        "Sid": "LambdaPullsForItsFunction",
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        "Condition": {
            "StringEquals": {
                "aws:SourceArn": "arn:aws:lambda:us-east-1:123456789012:function:"
                "osp-t-thumbnails-function"
            }
        },
    }
    zipped = function_args(
        image_uri=None,
        zip=ZipCode(bucket="b", key="k.zip", runtime="python3.13", handler="index.handler"),
        image_repository="osp-t-services/thumbnails",
    )
    assert problems("fn", zipped) == [
        "Function fn: image_repository: got 'osp-t-services/thumbnails'; expected None for a "
        "zip artifact"
    ]
