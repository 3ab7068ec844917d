"""`Function`: an AWS Lambda function whose code the estate does not build, with its own role,
log group, dead-letter queue and trigger; `BucketTriggers`: the one notification of a bucket
that invokes functions on upload."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pulumi
import pulumi_aws as aws

from osp.components._log_groups import log_group
from osp.components._network_access import reach_store
from osp.components.messaging import queue_policy
from osp.platform import iam, limits
from osp.platform.naming import NameKind, fit
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:function:Function"
TRIGGERS_TOKEN = "osp:function:BucketTriggers"

#: A Lambda function's name: letters, digits, '-' and '_', at most 64.
FUNCTION_NAME = limits.pattern(
    r"[A-Za-z0-9_-]{1,64}", "a function name: 1-64 letters, digits, '-' or '_'"
)

#: What a function does with the queue that triggers it (Lambda's poller acts as the role).
QUEUE_ACTIONS = ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                 "sqs:ReceiveMessage")  # fmt: skip

#: Lambda's network interfaces in the VPC and X-Ray: IAM scopes none of these actions.
_VPC_ACTIONS = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
)
_TRACE_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
_OBJECT_WRITES = ("s3:PutObject",)

_HTTPS = 443
_DAY = 24 * 3600


class Architecture(StrEnum):
    ARM64 = "arm64"
    X86_64 = "x86_64"


@dataclass(frozen=True, kw_only=True)
class ZipCode:
    """A zip artifact in S3 and how Lambda runs it."""

    bucket: pulumi.Input[str]
    """The bucket's name."""
    key: str
    """The object's key."""
    runtime: str
    """A managed runtime of limits.LAMBDA_RUNTIMES, such as python3.13."""
    handler: str
    """The entry point, such as index.handler."""


@dataclass(frozen=True, kw_only=True)
class UploadTrigger:
    """Objects created in a bucket: S3 invokes the function (the bucket's notification itself is
    `BucketTriggers`', one per bucket)."""

    bucket_arn: pulumi.Input[str]
    prefix: str | None = None
    """Only keys under it. The function may never write under it (nor, without a prefix,
    anywhere in the bucket): what it writes cannot invoke it again."""


@dataclass(frozen=True, kw_only=True)
class QueueTrigger:
    """An SQS queue Lambda polls, reporting failures per message (ReportBatchItemFailures):
    only failed messages return to the queue, and after its redrive count to its DLQ."""

    queue_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    """The queue's key: the function decrypts what it receives."""
    batch_size: int = 10


@dataclass(frozen=True, kw_only=True)
class StoreAccess:
    """A data store the function reaches from inside the VPC."""

    security_group_id: pulumi.Input[str]
    port: int
    description: str


@dataclass(frozen=True, kw_only=True)
class InVpc:
    """Where a function that reaches a data store runs."""

    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    """The private subnets."""
    stores: Sequence[StoreAccess]
    """Each store it reaches: its group admits the function's group on the port."""
    https_cidrs: Sequence[str]
    """Where it reaches AWS's APIs on 443: the interface endpoints' subnets, or 0.0.0.0/0
    through NAT."""


@dataclass(frozen=True, kw_only=True)
class FunctionArgs:
    """Arguments of `Function`."""

    function_name: str
    """The function's physical name (1-64 letters, digits, '-', '_'), such as
    osp-prod-thumbnails: its log group is /aws/lambda/<function_name>."""

    description: str

    kms_key_arn: pulumi.Input[str]
    """Customer key of its environment variables and its dead-letter queue."""

    logs_kms_key_arn: pulumi.Input[str]
    """Customer key of its log group."""

    log_retention_days: int
    """The environment's log retention, a value CloudWatch accepts."""

    reserved_concurrency: int
    """Concurrent executions reserved for it, and the most it runs at once (1-900)."""

    image_uri: pulumi.Input[str] | None = None
    """A container image (`<registry>/<repository>:<tag>`). Exactly one of this and `zip`."""

    zip: ZipCode | None = None
    """A zip artifact in S3. Exactly one of this and `image_uri`."""

    image_repository: pulumi.Input[str] | None = None
    """The name of the ECR repository of `image_uri` when it is this account's: a repository
    policy lets Lambda pull from it for this function only. Default: none (an image of
    another registry, or a repository whose policy is managed elsewhere)."""

    memory_mib: int = 128
    """128-10240 MiB. Default: 128."""

    timeout_seconds: int = 30
    """1-900 seconds. Default: 30."""

    architecture: Architecture = Architecture.ARM64
    """Default: arm64 (Graviton)."""

    upload: UploadTrigger | None = None
    """S3 invokes it on upload (at most one of `upload` and `queue`; neither: a schedule or
    another caller invokes it, which that caller's own role is allowed to)."""

    queue: QueueTrigger | None = None
    """Lambda polls this queue for it."""

    in_vpc: InVpc | None = None
    """Run inside the VPC (a function that reaches a data store). Default: outside, with no
    network interface and no EC2 permission."""

    permissions: pulumi.Input[str] | None = None
    """An identity policy (JSON) of what its code may reach: osp.app.identity's statements
    for its `uses`. Default: nothing beyond its runtime's needs."""

    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Environment variables, encrypted at rest with `kms_key_arn`."""

    tags: Mapping[str, str] = field(default_factory=dict)


def problems(name: str, args: FunctionArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("Function", name)
    check.against(FUNCTION_NAME, "function_name", args.function_name)
    check.against(limits.LAMBDA_MEMORY_MIB, "memory_mib", args.memory_mib)
    check.against(limits.LAMBDA_TIMEOUT_SECONDS, "timeout_seconds", args.timeout_seconds)
    check.against(
        limits.LAMBDA_RESERVED_CONCURRENCY, "reserved_concurrency", args.reserved_concurrency
    )
    check.against(limits.LOG_RETENTION, "log_retention_days", args.log_retention_days)
    check.check(
        isinstance(args.architecture, Architecture),
        "architecture",
        args.architecture,
        "arm64 or x86_64",
    )
    check.check(
        args.image_repository is None or args.image_uri is not None,
        "image_repository",
        args.image_repository,
        "None for a zip artifact",
    )
    check.check(
        (args.image_uri is None) != (args.zip is None),
        "image_uri",
        args.image_uri,
        "exactly one of image_uri and zip",
    )
    if args.zip is not None:
        check.against(limits.LAMBDA_RUNTIME, "zip.runtime", args.zip.runtime)
        check.against(limits.LAMBDA_HANDLER, "zip.handler", args.zip.handler)
    check.check(
        args.upload is None or args.queue is None,
        "queue",
        "queue",
        "at most one trigger (upload or queue)",
    )
    if args.queue is not None:
        check.against(limits.LAMBDA_SQS_BATCH_SIZE, "queue.batch_size", args.queue.batch_size)
    if args.in_vpc is not None:
        check.check(
            bool(args.in_vpc.subnet_ids), "in_vpc.subnet_ids", [], "at least one private subnet"
        )
        for index, store in enumerate(args.in_vpc.stores):
            check.against(limits.PORT, f"in_vpc.stores[{index}].port", store.port)
    return check.found


def trust_policy(account: str) -> str:
    """Only Lambda may assume, and only on behalf of functions of this account."""
    return iam.policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        }
    )


def runtime_policy(
    *,
    region: str,
    dns_suffix: str,
    log_group_arn: str,
    dlq_arn: str,
    key_arn: str,
    in_vpc: bool,
    queue_arn: str | None = None,
    queue_key_arn: str | None = None,
    upload_bucket_arn: str | None = None,
    upload_prefix: str | None = None,
) -> str:
    """What the function needs to run, whatever its code does: write its own log group, its
    dead letters and traces; in the VPC, its network interfaces; with a queue trigger, receive
    and delete that queue's messages; with an upload trigger, never write where it is
    triggered."""

    def via(service: str) -> dict[str, Any]:
        return {"StringEquals": {"kms:ViaService": f"{service}.{region}.{dns_suffix}"}}

    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteItsLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group_arn}:*"],
        },
        {
            "Sid": "DeadLetters",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": [dlq_arn],
        },
        {
            "Sid": "EncryptDeadLetters",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": [key_arn],
            "Condition": via("sqs"),
        },
        {"Sid": "Traces", "Effect": "Allow", "Action": list(_TRACE_ACTIONS), "Resource": "*"},
    ]
    if in_vpc:
        statements.append(
            {
                "Sid": "NetworkInterfaces",
                "Effect": "Allow",
                "Action": list(_VPC_ACTIONS),
                "Resource": "*",
            }
        )
    if queue_arn is not None:
        statements.append(
            {
                "Sid": "ConsumeItsQueue",
                "Effect": "Allow",
                "Action": list(QUEUE_ACTIONS),
                "Resource": [queue_arn],
            }
        )
        if queue_key_arn is not None and queue_key_arn != key_arn:
            statements.append(
                {
                    "Sid": "DecryptItsQueue",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt"],
                    "Resource": [queue_key_arn],
                    "Condition": via("sqs"),
                }
            )
    if upload_bucket_arn is not None:
        # An explicit deny outweighs any grant of the function's `permissions`: an object it
        # writes cannot match its own trigger and invoke it again, without end.
        where = f"{upload_bucket_arn}/{upload_prefix or ''}*"
        statements.append(
            {
                "Sid": "NeverWriteWhereItIsTriggered",
                "Effect": "Deny",
                "Action": list(_OBJECT_WRITES),
                "Resource": [where],
            }
        )
    return iam.policy(*statements)


def pull_policy(function_arn: str) -> str:
    """Lambda may fetch the image's layers for this one function."""
    return iam.policy(
        {
            "Sid": "LambdaPullsForItsFunction",
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Condition": {"StringEquals": {"aws:SourceArn": function_arn}},
        }
    )


class Function(pulumi.ComponentResource):
    """A Lambda function, secure by construction.

    X-Ray active tracing; JSON logs into its own log group (the environment's retention, the
    logs key); environment variables encrypted with the customer key; reserved concurrency;
    a KMS-encrypted, TLS-only dead-letter queue for failed asynchronous invocations (S3 and
    Scheduler invoke asynchronously; a queue trigger's failures go to that queue's own DLQ).
    Its role trusts Lambda for this account only and may write its own logs, its dead
    letters and traces — plus, in the VPC, manage its network interfaces, and with a queue
    trigger, consume that queue — and whatever `permissions` grant. Inside the VPC it has a
    security group of its own that reaches only its stores, on their ports, and AWS's APIs
    on 443. An upload trigger gets a permission for exactly that bucket and this account; a
    queue trigger an event source mapping that reports batch item failures.
    """

    function_arn: pulumi.Output[str]
    function_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str] | None
    upload_permission: aws.lambda_.Permission | None
    """The permission S3 needs before the bucket's notification can name the function."""

    def __init__(
        self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke)
        region = aws.get_region_output(opts=invoke).region

        def tagged(resource_name: str) -> dict[str, str]:
            return {"Name": resource_name, **args.tags}

        logs = log_group(
            f"{name}-logs",
            log_group_name=f"/aws/lambda/{args.function_name}",
            retention_days=args.log_retention_days,
            kms_key_arn=args.logs_kms_key_arn,
            tags=args.tags,
            parent=self,
        )
        dlq = aws.sqs.Queue(
            f"{name}-dlq",
            name=fit(f"{args.function_name}-dlq", NameKind.SQS_QUEUE),
            kms_master_key_id=args.kms_key_arn,
            message_retention_seconds=14 * _DAY,
            tags=tagged(f"{name}-dlq"),
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-dlq-policy",
            queue_url=dlq.url,
            policy=dlq.arn.apply(lambda arn: queue_policy(queue_arn=arn)),
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            name=fit(args.function_name, NameKind.IAM),
            description=f"Lambda function {args.function_name}",
            assume_role_policy=account.apply(trust_policy),
            tags=tagged(f"{name}-role"),
            opts=child,
        )
        upload, queue = args.upload, args.queue
        runtime = aws.iam.RolePolicy(
            f"{name}-runtime",
            role=role.id,
            name="runtime",
            policy=pulumi.Output.all(
                region=region,
                dns_suffix=partition.dns_suffix,
                log_group_arn=logs.arn,
                dlq_arn=dlq.arn,
                key_arn=args.kms_key_arn,
                queue_arn=queue.queue_arn if queue else None,
                queue_key_arn=queue.kms_key_arn if queue else None,
                upload_bucket_arn=upload.bucket_arn if upload else None,
            ).apply(
                lambda v: runtime_policy(
                    **v,
                    in_vpc=args.in_vpc is not None,
                    upload_prefix=upload.prefix if upload else None,
                )
            ),
            opts=child,
        )
        ready: list[pulumi.Resource] = [runtime]
        if args.permissions is not None:
            ready.append(
                aws.iam.RolePolicy(
                    f"{name}-permissions",
                    role=role.id,
                    name="permissions",
                    policy=args.permissions,
                    opts=child,
                )
            )
        group = self._security_group(name, args.in_vpc, args.tags) if args.in_vpc else None
        code: dict[str, Any]
        if args.zip is not None:
            code = {
                "package_type": "Zip",
                "s3_bucket": args.zip.bucket,
                "s3_key": args.zip.key,
                "runtime": args.zip.runtime,
                "handler": args.zip.handler,
            }
        else:
            code = {"package_type": "Image", "image_uri": args.image_uri}
        function = aws.lambda_.Function(
            name,
            name=args.function_name,
            description=args.description,
            role=role.arn,
            **code,
            architectures=[args.architecture.value],
            memory_size=args.memory_mib,
            timeout=args.timeout_seconds,
            reserved_concurrent_executions=args.reserved_concurrency,
            kms_key_arn=args.kms_key_arn,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(args.environment))
            if args.environment
            else None,
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=list(args.in_vpc.subnet_ids), security_group_ids=[group.id]
            )
            if args.in_vpc and group
            else None,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(target_arn=dlq.arn),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON", log_group=logs.name
            ),
            tags=tagged(name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=ready),
        )
        if args.image_repository is not None:
            # Lambda pulls the image as itself; without a policy it adds one for every
            # function of the account when the deployer may set repository policies.
            aws.ecr.RepositoryPolicy(
                f"{name}-pull",
                repository=args.image_repository,
                policy=function.arn.apply(pull_policy),
                opts=child,
            )
        self.upload_permission = None
        if upload is not None:
            self.upload_permission = aws.lambda_.Permission(
                f"{name}-upload",
                action="lambda:InvokeFunction",
                function=function.name,
                principal="s3.amazonaws.com",
                source_arn=upload.bucket_arn,
                source_account=account,
                opts=child,
            )
        if queue is not None:
            aws.lambda_.EventSourceMapping(
                f"{name}-queue",
                event_source_arn=queue.queue_arn,
                function_name=function.arn,
                batch_size=queue.batch_size,
                function_response_types=["ReportBatchItemFailures"],
                tags=tagged(f"{name}-queue"),
                opts=child,
            )
        self.function_arn = function.arn
        self.function_name = function.name
        self.role_arn = role.arn
        self.dlq_arn = dlq.arn
        self.security_group_id = group.id if group else None
        self.register_outputs(
            {"functionArn": self.function_arn, "roleArn": self.role_arn, "dlqArn": self.dlq_arn}
        )

    def _security_group(
        self, name: str, in_vpc: InVpc, tags: Mapping[str, str]
    ) -> aws.ec2.SecurityGroup:
        """Nothing in; out, each store on its port and AWS's APIs on 443."""
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=in_vpc.vpc_id,
            name=fit(f"{name}-sg"),
            description=f"{name}: Lambda function, its data stores and AWS APIs over HTTPS",
            tags={"Name": f"{name}-sg", **tags},
            opts=child,
        )
        for index, cidr in enumerate(in_vpc.https_cidrs):
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-https-{index}",
                security_group_id=group.id,
                description="AWS APIs over HTTPS",
                ip_protocol="tcp",
                from_port=_HTTPS,
                to_port=_HTTPS,
                cidr_ipv4=cidr,
                tags={"Name": f"{name}-https-{index}", **tags},
                opts=child,
            )
        for index, store in enumerate(in_vpc.stores):
            reach_store(
                name,
                suffix=f"-{index}",
                client_group_id=group.id,
                store_group_id=store.security_group_id,
                port=store.port,
                egress_description=f"{store.description} on TCP {store.port}",
                ingress_description=f"{name}: the Lambda function on TCP {store.port}",
                tags=tags,
                parent=self,
            )
        return group


@dataclass(frozen=True, kw_only=True)
class BucketTrigger:
    """One function S3 invokes for objects created under `prefix` ending in one of
    `suffixes`."""

    function_arn: pulumi.Input[str]
    prefix: str | None = None
    suffixes: Sequence[str] = ()
    permission: pulumi.Resource | None = None
    """The function's permission for this bucket: S3 checks it when the notification is set."""


@dataclass(frozen=True, kw_only=True)
class BucketTriggersArgs:
    bucket: pulumi.Input[str]
    """The bucket's name."""
    triggers: Sequence[BucketTrigger]


class BucketTriggers(pulumi.ComponentResource):
    """The notification configuration of one bucket: S3 keeps one per bucket, so every function
    triggered by the bucket is in it (two resources would overwrite each other). One entry per
    function and suffix (an S3 filter holds one prefix and one suffix)."""

    def __init__(
        self, name: str, args: BucketTriggersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TRIGGERS_TOKEN, name, None, opts)
        check = Problems("BucketTriggers", name)
        check.check(bool(args.triggers), "triggers", list(args.triggers), "at least one")
        check.raise_if_any()
        entries = [
            aws.s3.BucketNotificationLambdaFunctionArgs(
                lambda_function_arn=trigger.function_arn,
                events=["s3:ObjectCreated:*"],
                filter_prefix=trigger.prefix,
                filter_suffix=suffix,
            )
            for trigger in args.triggers
            for suffix in (trigger.suffixes or [None])
        ]
        aws.s3.BucketNotification(
            name,
            bucket=args.bucket,
            lambda_functions=entries,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[t.permission for t in args.triggers if t.permission is not None],
            ),
        )
        self.register_outputs({})
