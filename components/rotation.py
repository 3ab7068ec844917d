"""`SecretRotator`: a Secrets Manager rotation function built for one store, and the schedule
that rotates each of its secrets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources

import pulumi
import pulumi_aws as aws

from osp.components._log_groups import log_group
from osp.components._network_access import reach_store
from osp.components.messaging import queue_policy
from osp.platform import iam, limits
from osp.platform.limits import whole_range
from osp.platform.naming import NameKind, fit
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:rotation:SecretRotator"

#: The handler every rotation function runs (package data), as Lambda runs it: index.py.
HANDLER_FILE = "handlers/secret_rotation.py"

#: Days between rotations (seed 000: every 30 days); Secrets Manager allows 1 to 1000.
ROTATION_DAYS = whole_range(1, 1000, "days between rotations, 1 to 1000")

_HTTPS = 443


class RotationTarget(StrEnum):
    """What a rotation function changes besides the secret (the handler's ROTATION_TARGET)."""

    #: A signing key no store holds: a new value, the previous one kept as AWSPREVIOUS.
    JWT = "jwt"
    #: An ElastiCache AUTH token, changed with the ROTATE strategy.
    REDIS = "redis"
    #: A RabbitMQ user's password, changed through the broker's management API by the admin.
    RABBITMQ = "rabbitmq"


#: Seconds a rotation step may take: ElastiCache applies a new token in minutes.
_TIMEOUT = {RotationTarget.JWT: 60, RotationTarget.REDIS: 900, RotationTarget.RABBITMQ: 120}


def handler_code() -> str:
    """The source of the rotation handler, as Lambda runs it."""
    return resources.files("osp.components").joinpath(HANDLER_FILE).read_text(encoding="utf-8")


@dataclass(frozen=True, kw_only=True)
class Rotation:
    """Where a component's rotation function runs, and how often it rotates: what Redis,
    RabbitMq and ServiceSecrets take to rotate their secrets (None: never rotated)."""

    vpc_id: pulumi.Input[str]
    """VPC of the function."""

    subnet_ids: Sequence[pulumi.Input[str]]
    """The private subnets: the function reaches the store and Secrets Manager from there."""

    logs_kms_key_arn: pulumi.Input[str]
    """Customer key of the function's log group."""

    rotation_days: int = 30
    """Days between rotations. Default: 30 (seed 000)."""

    log_retention_days: int = 365
    """Retention of the function's log group. Default: a year."""


@dataclass(frozen=True, kw_only=True)
class SecretRotatorArgs:
    """Arguments of `SecretRotator`."""

    target: RotationTarget
    """The store the function is built for."""

    secret_arns: Mapping[str, pulumi.Input[str]]
    """Secrets it rotates: a short role (names the schedule `<name>-<role>`) → the ARN."""

    vpc_id: pulumi.Input[str]
    """VPC the function runs in."""

    subnet_ids: Sequence[pulumi.Input[str]]
    """Subnets of the function (the private tier: it reaches the store and, through the VPC
    endpoint or NAT, Secrets Manager)."""

    secrets_kms_key_arn: pulumi.Input[str]
    """Customer key of the secrets; it also encrypts the dead-letter queue."""

    logs_kms_key_arn: pulumi.Input[str]
    """Customer key of the function's log group."""

    rotation_days: int = 30
    """Days between rotations. Default: 30 (seed 000)."""

    log_retention_days: int = 365
    """Retention of the function's log group, a value CloudWatch accepts. Default: a year."""

    store_security_group_id: pulumi.Input[str] | None = None
    """Security group of the store the function reaches (Redis, RabbitMQ): the function's
    group reaches it on `store_port`, and it admits the function's group there (a rule of
    this component). Default: none (JWT)."""

    store_port: int | None = None
    """TCP port of the store: 6379 (Redis), 443 (the RabbitMQ console)."""

    replication_group_arn: pulumi.Input[str] | None = None
    """REDIS: the replication group whose AUTH token changes."""

    replication_group_id: pulumi.Input[str] | None = None
    """REDIS: its id."""

    admin_secret_arn: pulumi.Input[str] | None = None
    """RABBITMQ: the admin-credentials secret the function changes passwords as (it may be
    one of `secret_arns`)."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every taggable resource."""


def problems(name: str, args: SecretRotatorArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("SecretRotator", name)
    check.check(
        isinstance(args.target, RotationTarget),
        "target",
        args.target,
        "one of " + ", ".join(t.value for t in RotationTarget),
    )
    check.check(bool(args.secret_arns), "secret_arns", dict(args.secret_arns), "at least one")
    check.check(bool(args.subnet_ids), "subnet_ids", list(args.subnet_ids), "at least one")
    check.against(ROTATION_DAYS, "rotation_days", args.rotation_days)
    check.against(limits.LOG_RETENTION, "log_retention_days", args.log_retention_days)
    needs = {
        RotationTarget.REDIS: ("replication_group_arn", "replication_group_id"),
        RotationTarget.RABBITMQ: ("admin_secret_arn",),
    }.get(args.target, ())
    store = args.target in (RotationTarget.REDIS, RotationTarget.RABBITMQ)
    for arg in (*needs, *(("store_security_group_id", "store_port") if store else ())):
        check.check(getattr(args, arg) is not None, arg, None, f"a value for target {args.target}")
    if args.store_port is not None:
        check.against(limits.PORT, "store_port", args.store_port)
    return check.found


def rotation_policy(
    *,
    secret_arns: Sequence[str],
    key_arn: str,
    log_group_arn: str,
    queue_arn: str,
    admin_secret_arn: str | None,
    replication_group_arn: str | None,
) -> str:
    """The function's permissions: rotate its secrets, read the admin's, use the secrets key,
    write its logs, traces and dead letters, manage its network interfaces; for Redis, change
    its group's token."""
    statements = [
        {
            "Sid": "RotateItsSecrets",
            "Effect": "Allow",
            "Action": [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            "Resource": sorted(secret_arns),
        },
        {
            # Not resource-scoped in IAM.
            "Sid": "GenerateValues",
            "Effect": "Allow",
            "Action": "secretsmanager:GetRandomPassword",
            "Resource": "*",
        },
        {
            "Sid": "UseTheSecretsKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": key_arn,
        },
        {
            "Sid": "WriteItsLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        },
        {
            "Sid": "DeadLetters",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        },
        {
            # Lambda's VPC networking and X-Ray: neither is resource-scoped in IAM.
            "Sid": "NetworkInterfacesAndTraces",
            "Effect": "Allow",
            "Action": [
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
            ],
            "Resource": "*",
        },
    ]
    if admin_secret_arn is not None and admin_secret_arn not in secret_arns:
        statements.append(
            {
                "Sid": "ReadTheAdmin",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": admin_secret_arn,
            }
        )
    if replication_group_arn is not None:
        statements.append(
            {
                "Sid": "ChangeTheAuthToken",
                "Effect": "Allow",
                "Action": [
                    "elasticache:ModifyReplicationGroup",
                    "elasticache:DescribeReplicationGroups",
                ],
                "Resource": replication_group_arn,
            }
        )
    return iam.policy(*statements)


def rotator_args(
    rotation: Rotation, *, target: RotationTarget, secret_arns, secrets_kms_key_arn, tags, **store
) -> SecretRotatorArgs:
    """The arguments of the rotator a component builds from its `rotation` placement."""
    return SecretRotatorArgs(
        target=target,
        secret_arns=secret_arns,
        vpc_id=rotation.vpc_id,
        subnet_ids=rotation.subnet_ids,
        secrets_kms_key_arn=secrets_kms_key_arn,
        logs_kms_key_arn=rotation.logs_kms_key_arn,
        rotation_days=rotation.rotation_days,
        log_retention_days=rotation.log_retention_days,
        tags=tags,
        **store,
    )


class SecretRotator(pulumi.ComponentResource):
    """A rotation function for one store and a schedule per secret it rotates.

    The function (components/handlers/secret_rotation.py) runs in the VPC's private subnets
    with a security group that reaches only HTTPS (Secrets Manager and the AWS APIs, through
    the VPC endpoint or NAT) and the store's own group on its port; X-Ray tracing on; a
    KMS-encrypted dead-letter queue that refuses plain HTTP; reserved concurrency of one per
    secret; JSON logs into its own encrypted group. Its role may rotate exactly its secrets.
    Secrets Manager may invoke it for those secrets only, every `rotation_days`.
    """

    function_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: SecretRotatorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        child = pulumi.ResourceOptions(parent=self)
        function_name = fit(name, NameKind.MQ_BROKER)  # Lambda's alphabet; fits its 64

        def tagged(resource_name: str) -> dict[str, str]:
            return {"Name": resource_name, **args.tags}

        logs = log_group(
            f"{name}-logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention_days=args.log_retention_days,
            kms_key_arn=args.logs_kms_key_arn,
            tags=args.tags,
            parent=self,
        )
        queue = aws.sqs.Queue(
            f"{name}-dlq",
            name=fit(f"{name}-dlq"),
            kms_master_key_id=args.secrets_kms_key_arn,
            message_retention_seconds=14 * 24 * 3600,
            tags=tagged(f"{name}-dlq"),
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-dlq",
            queue_url=queue.url,
            policy=queue.arn.apply(lambda arn: queue_policy(queue_arn=arn)),
            opts=child,
        )
        group = self._security_group(name, args, tagged)
        role = aws.iam.Role(
            name,
            name=fit(name, NameKind.IAM),
            description=f"{function_name}: rotates its {args.target.value} secrets",
            assume_role_policy=iam.service_trust("lambda.amazonaws.com"),
            tags=tagged(name),
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            name,
            role=role.id,
            policy=pulumi.Output.all(
                list(args.secret_arns.values()),
                args.secrets_kms_key_arn,
                logs.arn,
                queue.arn,
                args.admin_secret_arn,
                args.replication_group_arn,
            ).apply(
                lambda v: rotation_policy(
                    secret_arns=v[0],
                    key_arn=v[1],
                    log_group_arn=v[2],
                    queue_arn=v[3],
                    admin_secret_arn=v[4],
                    replication_group_arn=v[5],
                )
            ),
            opts=child,
        )
        environment: dict[str, pulumi.Input[str]] = {"ROTATION_TARGET": args.target.value}
        if args.replication_group_id is not None:
            environment["REPLICATION_GROUP_ID"] = args.replication_group_id
        if args.admin_secret_arn is not None:
            environment["ADMIN_SECRET_ARN"] = args.admin_secret_arn
        function = aws.lambda_.Function(
            name,
            name=function_name,
            description=f"osp: rotates {args.target.value} secrets every {args.rotation_days} days",
            role=role.arn,
            runtime="python3.13",
            architectures=["arm64"],
            handler="index.handler",
            code=pulumi.AssetArchive({"index.py": pulumi.StringAsset(handler_code())}),
            timeout=_TIMEOUT[args.target],
            memory_size=128,
            reserved_concurrent_executions=len(args.secret_arns),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=list(args.subnet_ids), security_group_ids=[group.id]
            ),
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(target_arn=queue.arn),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
            # Its role may already decrypt with the secrets key: the variables use it too.
            kms_key_arn=args.secrets_kms_key_arn,
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON", log_group=logs.name
            ),
            tags=tagged(name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        for role_name, secret_arn in args.secret_arns.items():
            permission = aws.lambda_.Permission(
                f"{name}-{role_name}",
                action="lambda:InvokeFunction",
                function=function.name,
                principal="secretsmanager.amazonaws.com",
                source_arn=secret_arn,
                opts=child,
            )
            aws.secretsmanager.SecretRotation(
                f"{name}-{role_name}",
                secret_id=secret_arn,
                rotation_lambda_arn=function.arn,
                rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                    automatically_after_days=args.rotation_days
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
            )
        self.function_arn = function.arn
        self.security_group_id = group.id
        self.register_outputs(
            {"functionArn": self.function_arn, "securityGroupId": self.security_group_id}
        )

    def _security_group(self, name, args, tagged) -> aws.ec2.SecurityGroup:
        """The function's group: HTTPS out to anywhere (AWS APIs), the store's port to the
        store's group; nothing in."""
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            name=fit(f"{name}-sg"),
            description=f"{name}: rotation function, HTTPS to AWS APIs and its store",
            tags=tagged(f"{name}-sg"),
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-https",
            security_group_id=group.id,
            description="AWS APIs (Secrets Manager, ElastiCache) over HTTPS",
            ip_protocol="tcp",
            from_port=_HTTPS,
            to_port=_HTTPS,
            cidr_ipv4="0.0.0.0/0",
            tags=tagged(f"{name}-https"),
            opts=child,
        )
        if args.store_security_group_id is None or args.store_port is None:
            return group
        reach_store(
            name,
            client_group_id=group.id,
            store_group_id=args.store_security_group_id,
            port=args.store_port,
            # On 443 the rule above already lets it out.
            egress_description=None
            if args.store_port == _HTTPS
            else f"The store on TCP {args.store_port}",
            ingress_description=f"{name}: the rotation function on TCP {args.store_port}",
            tags=args.tags,
            parent=self,
        )
        return group
