"""`RabbitMq`: the Amazon MQ for RabbitMQ broker that carries the services' events."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from osp.components import _checks
from osp.components._log_groups import log_group
from osp.components._network_access import ClientPort, client_security_group
from osp.components._secrets import stored_secret
from osp.components.messaging import RETENTION_RANGE, queue_policy
from osp.components.rotation import Rotation, RotationTarget, SecretRotator, rotator_args
from osp.platform import iam, limits
from osp.platform.naming import NameKind, fit
from osp.platform.spec.models import BrokerDeploymentMode
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:broker:RabbitMq"

#: AMQP 0-9-1 over TLS: the only wire protocol port a RabbitMQ broker listens on.
AMQPS_PORT = 5671
#: The RabbitMQ management console and HTTP API (HTTPS).
CONSOLE_PORT = 443


#: The log groups Amazon MQ writes a RabbitMQ broker's logs to, each
#: `/aws/amazonmq/broker/<broker-id>/<kind>`. (RabbitMQ has no audit log.)
LOG_KINDS = ("general", "connection")

DAYS_OF_WEEK = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")

# Amazon MQ's rule for broker user names.
_USERNAME = re.compile(r"[A-Za-z0-9._~-]{2,100}")
_TIME_OF_DAY = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_TIME_ZONE = re.compile(r"[A-Za-z0-9_+:/-]{1,64}")

#: The function that takes over the broker's log groups (see RabbitMq._claim_log_groups),
#: shipped beside this module as package data. It runs in AWS Lambda, python3.13, with boto3
#: from the runtime.
CLAIM_HANDLER_FILE = "handlers/broker_log_groups.py"

#: What clients reach: AMQP 0-9-1 over TLS and the management console, each its own rules.
CLIENT_PORTS = (
    ClientPort(AMQPS_PORT, "AMQP 0-9-1 over TLS", "amqps"),
    ClientPort(CONSOLE_PORT, "RabbitMQ management console (HTTPS)", "console"),
)


@dataclass(frozen=True)
class _Account:
    """Where the broker is: the partition, account id and region, as the engine looks them up."""

    partition: pulumi.Output[str]
    id: pulumi.Output[str]
    region: pulumi.Output[str]


def claim_handler_code() -> str:
    """The source of the function that claims a broker's log groups, as Lambda runs it."""
    return (
        resources.files("osp.components").joinpath(CLAIM_HANDLER_FILE).read_text(encoding="utf-8")
    )


@dataclass(frozen=True, kw_only=True)
class RabbitMqArgs:
    """Arguments of `RabbitMq`."""

    vpc_id: pulumi.Input[str]
    """VPC the broker's security group lives in."""

    subnet_ids: Sequence[pulumi.Input[str]]
    """Subnets for the broker's endpoints (the network's isolated tier), one per zone.
    SINGLE_INSTANCE uses the first one only. CLUSTER_MULTI_AZ needs at least 2, in different
    zones: clients reach the cluster through endpoints in exactly these subnets."""

    client_security_group_ids: Sequence[pulumi.Input[str]]
    """Security groups whose members may connect: AMQPS on TCP 5671 and the management
    console on TCP 443, one ingress rule per port per group. Empty: nothing can connect
    until someone adds a rule to `security_group_id`."""

    kms_key_arn: pulumi.Input[str]
    """Customer KMS key that encrypts the broker's storage at rest."""

    logs_kms_key_arn: pulumi.Input[str]
    """Customer KMS key of the broker's log groups (its key policy must let CloudWatch Logs
    use it)."""

    secrets_kms_key_arn: pulumi.Input[str]
    """Customer KMS key of the Secrets Manager secret holding the admin credentials."""

    deployment_mode: BrokerDeploymentMode
    """SINGLE_INSTANCE: one node in one zone (dev; down during maintenance). CLUSTER_MULTI_AZ:
    three nodes across three zones behind one endpoint (staging, prod)."""

    host_instance_type: str
    """Broker instance type, `mq.<family>.<size>`, such as mq.t3.micro (SINGLE_INSTANCE
    only) or mq.m5.large."""

    deletion_protection: bool
    """Refuse to delete the broker by accident. Amazon MQ has no deletion protection of its
    own, so this sets Pulumi's `protect` on the broker and on its admin-credentials secret
    (Amazon MQ never returns RabbitMQ users: the secret is the only copy of the password)."""

    engine_version: str = "3.13"
    """RabbitMQ `major.minor`, 3.13 or later. Minor versions are upgraded automatically in the
    maintenance window (Amazon MQ requires it from 3.13 on)."""

    admin_username: str = "osp_admin"
    """The broker's administrative user: 2-100 letters, digits and `-._~`. Its password is
    generated and kept, with the username and endpoint, in Secrets Manager."""

    maintenance_day_of_week: str = "SUNDAY"
    """Day the weekly maintenance window starts, MONDAY to SUNDAY."""

    maintenance_time_of_day: str = "05:00"
    """Time the weekly maintenance window starts, 24-hour `hh:mm`."""

    maintenance_time_zone: str = "UTC"
    """Time zone of the maintenance window, such as UTC, CET or America/New_York."""

    log_retention_days: int = 365
    """Days the broker's general and connection logs are kept (a CloudWatch Logs period)."""

    secret_recovery_window_days: int = 30
    """Days a deleted admin-credentials secret can still be restored: 0 (deleted at once)
    or 7-30."""

    rotation: Rotation | None = None
    """Rotate the admin password: a rotation function (`SecretRotator`, `<name>-rotation`)
    changes it through the management API (console, HTTPS), tests it and only then makes it
    current, every `rotation.rotation_days`. Default: none, never rotated."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource (osp's tag set, from osp.platform.naming.standard_tags)."""


def log_group_names(broker_id: str) -> list[str]:
    """The log groups Amazon MQ writes the logs of broker `broker_id` to."""
    return [f"/aws/amazonmq/broker/{broker_id}/{kind}" for kind in LOG_KINDS]


def amqps_endpoints(instances: Sequence[Any] | None) -> list[str]:
    """The `amqps://` endpoints among a broker's instances (RabbitMQ 4.2 adds an HTTPS metrics
    endpoint beside it, which is no place to send messages)."""
    found = []
    for instance in instances or ():
        endpoints = (
            instance.get("endpoints")
            if isinstance(instance, Mapping)
            else getattr(instance, "endpoints", None)
        )
        found.extend(e for e in endpoints or () if e.startswith("amqps://"))
    return found


def credentials_document(
    *, username: str, password: str, endpoint: str, console_url: str | None
) -> str:
    """The JSON text stored in the admin-credentials secret: what a client needs to connect."""
    url = urlsplit(endpoint)
    return json.dumps(
        {
            "engine": "rabbitmq",
            "username": username,
            "password": password,
            "host": url.hostname,
            "port": url.port or AMQPS_PORT,
            "endpoint": endpoint,
            "tls": True,
            "console_url": console_url or None,
        },
        sort_keys=True,
    )


def _subnet_problem(mode: BrokerDeploymentMode | None, subnet_ids: object) -> str | None:
    """What is wrong with the subnets for `mode` (None if nothing)."""
    if isinstance(subnet_ids, str):
        return "a list of subnet ids, not one string"
    subnets = list(subnet_ids)  # type: ignore[call-overload]
    literal = [s for s in subnets if isinstance(s, str)]
    if len(set(literal)) != len(literal):
        return "each subnet at most once"
    if mode is BrokerDeploymentMode.SINGLE_INSTANCE and not subnets:
        return "at least one subnet (SINGLE_INSTANCE uses the first)"
    if mode is BrokerDeploymentMode.CLUSTER_MULTI_AZ and len(subnets) < 2:
        return (
            "at least 2 subnets in different zones for CLUSTER_MULTI_AZ: the cluster's nodes "
            "span three zones, but clients reach it only through endpoints in these subnets, "
            "so one subnet makes a single zone's outage cut every client off"
        )
    return None


def _matches(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and bool(pattern.fullmatch(value))


def problems(name: str, args: RabbitMqArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("RabbitMq", name)
    mode: BrokerDeploymentMode | None
    try:
        mode = BrokerDeploymentMode(args.deployment_mode)
    except ValueError:
        mode = None
        check.add(
            "deployment_mode",
            args.deployment_mode,
            "one of " + ", ".join(m.value for m in BrokerDeploymentMode),
        )
    subnets = args.subnet_ids
    expected = _subnet_problem(mode, subnets)
    if expected:
        check.add("subnet_ids", subnets if isinstance(subnets, str) else list(subnets), expected)
    instance_type = args.host_instance_type
    clustered = mode is BrokerDeploymentMode.CLUSTER_MULTI_AZ
    check.against(
        limits.MQ_CLUSTER_INSTANCE_TYPE if clustered else limits.MQ_INSTANCE_TYPE,
        "host_instance_type",
        instance_type,
    )
    check.against(limits.RABBITMQ_VERSION, "engine_version", args.engine_version)
    check.check(
        _matches(_USERNAME, args.admin_username),
        "admin_username",
        args.admin_username,
        "2-100 letters, digits, '-', '.', '_' or '~'",
    )
    check.check(
        args.maintenance_day_of_week in DAYS_OF_WEEK,
        "maintenance_day_of_week",
        args.maintenance_day_of_week,
        "one of " + ", ".join(DAYS_OF_WEEK),
    )
    check.check(
        _matches(_TIME_OF_DAY, args.maintenance_time_of_day),
        "maintenance_time_of_day",
        args.maintenance_time_of_day,
        "a 24-hour time hh:mm such as 05:00",
    )
    check.check(
        _matches(_TIME_ZONE, args.maintenance_time_zone),
        "maintenance_time_zone",
        args.maintenance_time_zone,
        "a time zone such as UTC, CET or America/New_York",
    )
    check.extend(_checks.common(args))
    check.check(
        isinstance(args.deletion_protection, bool),
        "deletion_protection",
        args.deletion_protection,
        "True or False",
    )
    return check.found


def logs_publish_policy(partition: str, region: str, account: str, broker_name: str) -> str:
    """The log resource policy letting Amazon MQ write to /aws/amazonmq/* groups of this
    account, on behalf of this broker only (the confused-deputy conditions)."""
    return iam.policy(
        {
            "Sid": "AmazonMqPublishesBrokerLogs",
            "Effect": "Allow",
            "Principal": {"Service": "mq.amazonaws.com"},
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"arn:{partition}:logs:{region}:{account}:log-group:/aws/amazonmq/*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {
                    "aws:SourceArn": f"arn:{partition}:mq:{region}:{account}:broker:{broker_name}:*"
                },
            },
        }
    )


#: How many copies of the claiming function may run at once: it is invoked once per change
#: of its broker, so one is all it ever needs, and no runaway caller can use up the account's
#: concurrency through it.
CLAIM_RESERVED_CONCURRENCY = 1


def claim_policy(
    partition: str,
    region: str,
    account: str,
    broker_id: str,
    own_logs_arn: str,
    dead_letter_arn: str,
    logs_key_arn: str,
) -> str:
    """What the claiming function may do: claim this broker's log groups, write its own logs
    and traces, and leave a failed event in its dead-letter queue (encrypted with the logs
    key)."""
    return iam.policy(
        {
            "Sid": "ClaimThisBrokersLogGroups",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:AssociateKmsKey",
                "logs:TagResource",
                "logs:PutRetentionPolicy",
            ],
            "Resource": f"arn:{partition}:logs:{region}:{account}:log-group:"
            f"/aws/amazonmq/broker/{broker_id}/*",
        },
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{own_logs_arn}:*",
        },
        {
            # X-Ray takes no resource-level permissions.
            "Sid": "WriteOwnTraces",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        },
        {
            "Sid": "SendFailedEventsToDeadLetterQueue",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": dead_letter_arn,
        },
        {
            "Sid": "EncryptForDeadLetterQueue",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": logs_key_arn,
        },
    )


def claim_event(broker_id: str, tags: Mapping[str, str], name: str) -> list[dict[str, object]]:
    """The `logGroups` of the claiming function's event: each group, tagged as its own."""
    return [
        {"name": group, "tags": {"Name": f"{name}-{kind}-logs", **tags}}
        for group, kind in zip(log_group_names(broker_id), LOG_KINDS, strict=True)
    ]


class RabbitMq(pulumi.ComponentResource):
    """An Amazon MQ for RabbitMQ broker: the bus the services publish their events on.

    The broker lives in the isolated subnets and is never publicly accessible; only the client
    security groups reach it, on AMQPS (5671) and the management console (443), both TLS.
    Storage is encrypted with the customer KMS key; the admin user's password is generated
    and kept, with the endpoint, in Secrets Manager. Minor versions are upgraded automatically
    in the weekly maintenance window. General and connection logs go to CloudWatch Logs, in
    log groups held to the retention, customer key and tags asked for.

    Amazon MQ has no deletion protection of its own: `deletion_protection` is Pulumi's
    `protect` on the broker and its admin-credentials secret.
    """

    broker_id: pulumi.Output[str]
    broker_name: pulumi.Output[str]
    """The broker's name: the `Broker` dimension of its CloudWatch metrics."""
    broker_arn: pulumi.Output[str]
    amqps_endpoints: pulumi.Output[list[str]]
    console_url: pulumi.Output[str]
    credentials_secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: RabbitMqArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        broker_name = fit(name, NameKind.MQ_BROKER)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = _Account(
            partition=aws.get_partition_output(opts=invoke).partition,
            id=aws.get_caller_identity_output(opts=invoke).account_id,
            region=aws.get_region_output(opts=invoke).region,
        )
        # Amazon MQ's documented prerequisite for publishing broker logs, in place before the
        # broker is created.
        logs_policy = aws.cloudwatch.LogResourcePolicy(
            f"{name}-logs-policy",
            policy_name=fit(f"{broker_name}-amazonmq-logs"),
            policy_document=pulumi.Output.all(account.partition, account.region, account.id).apply(
                lambda v: logs_publish_policy(v[0], v[1], v[2], broker_name)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        sg = client_security_group(
            name,
            vpc_id=args.vpc_id,
            group_name=fit(f"{name}-sg"),
            description=f"Amazon MQ {broker_name}: clients on AMQPS {AMQPS_PORT} and "
            f"console {CONSOLE_PORT}",
            clients=args.client_security_group_ids,
            ports=CLIENT_PORTS,
            tags=args.tags,
            parent=self,
        )
        admin_password = self._admin_password(name)
        broker = self._broker(name, args, broker_name, sg, admin_password, logs_policy)
        self._claim_log_groups(name, args, broker, account)
        endpoints = broker.instances.apply(amqps_endpoints)
        console_url = broker.instances.apply(_console_url)
        secret = self._admin_secret(name, args, broker_name, admin_password, endpoints, console_url)
        if args.rotation is not None:
            SecretRotator(
                f"{name}-rotation",
                rotator_args(
                    args.rotation,
                    target=RotationTarget.RABBITMQ,
                    secret_arns={"admin": secret.arn},
                    secrets_kms_key_arn=args.secrets_kms_key_arn,
                    tags=args.tags,
                    store_security_group_id=sg.id,
                    store_port=CONSOLE_PORT,
                    admin_secret_arn=secret.arn,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self._publish(broker, endpoints, console_url, secret, sg)

    def _admin_password(self, name: str) -> pulumi.Output[str]:
        password = random.RandomPassword(
            f"{name}-admin-password",
            length=32,
            # Amazon MQ refuses ',', ':' and '=' in RabbitMQ passwords, and anything beyond
            # letters and digits would need escaping in amqps:// URLs: 32 alphanumerics
            # (~190 bits) avoid both questions.
            special=False,
            min_lower=1,
            min_upper=1,
            min_numeric=1,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # pulumi-random marks `result` secret only engine-side; say so here, so that no plan,
        # state or preview ever shows the password in clear.
        return pulumi.Output.secret(password.result)

    def _broker(
        self,
        name: str,
        args: RabbitMqArgs,
        broker_name: str,
        sg: aws.ec2.SecurityGroup,
        admin_password: pulumi.Output[str],
        logs_policy: aws.cloudwatch.LogResourcePolicy,
    ) -> aws.mq.Broker:
        mode = BrokerDeploymentMode(args.deployment_mode)
        subnets = list(args.subnet_ids)
        if mode is BrokerDeploymentMode.SINGLE_INSTANCE:
            subnets = subnets[:1]  # Amazon MQ refuses more than one for a single instance
        return aws.mq.Broker(
            f"{name}-broker",
            broker_name=broker_name,
            engine_type="RabbitMQ",
            engine_version=args.engine_version,
            auto_minor_version_upgrade=True,
            host_instance_type=args.host_instance_type,
            deployment_mode=mode.value,
            storage_type="ebs",
            subnet_ids=subnets,
            security_groups=[sg.id],
            publicly_accessible=False,
            authentication_strategy="simple",
            encryption_options=aws.mq.BrokerEncryptionOptionsArgs(
                use_aws_owned_key=False, kms_key_id=args.kms_key_arn
            ),
            # General logs only: Amazon MQ rejects audit logs for RabbitMQ brokers.
            logs=aws.mq.BrokerLogsArgs(general=True),
            maintenance_window_start_time=aws.mq.BrokerMaintenanceWindowStartTimeArgs(
                day_of_week=args.maintenance_day_of_week,
                time_of_day=args.maintenance_time_of_day,
                time_zone=args.maintenance_time_zone,
            ),
            users=[aws.mq.BrokerUserArgs(username=args.admin_username, password=admin_password)],
            tags={"Name": f"{name}-broker", **args.tags},
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.deletion_protection, depends_on=[logs_policy]
            ),
        )

    def _claim_log_groups(
        self, name: str, args: RabbitMqArgs, broker: aws.mq.Broker, account: _Account
    ) -> None:
        """Hold Amazon MQ's log groups to the retention, customer key and tags asked for.

        Amazon MQ names a broker's log groups after the broker id, which exists only once the
        broker does, and creates them itself, with no retention and no customer key, as the
        broker starts. So an `aws.cloudwatch.LogGroup` cannot be created before the broker (no
        name yet), and one created after it fails with ResourceAlreadyExistsException
        (hashicorp/terraform-provider-aws#27124: "apply errors, import, continue"). AWS CDK
        solves this with its LogRetention custom resource, a function that sets retention on a
        group whether or not it exists yet. This is the same idea, with the KMS key and tags
        too: a small function (components/handlers/broker_log_groups.py), invoked once per
        broker through `aws.lambda_.Invocation` (invoked again whenever the broker id,
        retention or key changes), creates each group that is still missing or adopts the one
        Amazon MQ made. The groups outlive the broker; their events expire after
        `log_retention_days`.
        """
        function, role_policy = self._claim_function(name, args, broker, account)
        aws.lambda_.Invocation(
            f"{name}-log-groups",
            function_name=function.name,
            input=pulumi.Output.json_dumps(
                {
                    "logGroups": broker.id.apply(
                        lambda broker_id: claim_event(broker_id, args.tags, name)
                    ),
                    "kmsKeyId": args.logs_kms_key_arn,
                    "retentionInDays": args.log_retention_days,
                }
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )

    def _claim_function(
        self, name: str, args: RabbitMqArgs, broker: aws.mq.Broker, account: _Account
    ) -> tuple[aws.lambda_.Function, aws.iam.RolePolicy]:
        """The claiming function, its own log group, dead-letter queue and role, and the
        role's policy.

        It runs outside the VPC on purpose: it calls only CloudWatch Logs' API, and a VPC
        attachment would add network interfaces and a NAT or endpoint dependency for no
        reach it needs. The dead-letter queue catches an event whose asynchronous invocation
        (a retry by Lambda, or an operator's `aws lambda invoke --invocation-type Event`)
        fails every attempt; `aws.lambda_.Invocation`'s own synchronous call fails the
        deployment instead, which says why.
        """
        child = pulumi.ResourceOptions(parent=self)
        role_name = f"{name}-log-groups"
        # Lambda names take Amazon MQ's alphabet ([A-Za-z0-9_-]); 50 characters fit its 64.
        function_name = fit(role_name, NameKind.MQ_BROKER)
        dead_letters = aws.sqs.Queue(
            f"{name}-log-groups-dlq",
            name=fit(f"{name}-log-groups-dlq", NameKind.SQS_QUEUE),
            kms_master_key_id=args.logs_kms_key_arn,
            message_retention_seconds=RETENTION_RANGE[1],
            tags={"Name": f"{name}-log-groups-dlq", **args.tags},
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-log-groups-dlq-policy",
            queue_url=dead_letters.url,
            policy=dead_letters.arn.apply(lambda arn: queue_policy(queue_arn=arn)),
            opts=child,
        )
        own_logs = log_group(
            f"{name}-log-groups-fn-logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention_days=args.log_retention_days,
            kms_key_arn=args.logs_kms_key_arn,
            tags=args.tags,
            parent=self,
        )
        role = aws.iam.Role(
            role_name,
            name=fit(role_name, NameKind.IAM),
            description=f"{function_name}: claims the broker's CloudWatch log groups",
            assume_role_policy=iam.service_trust("lambda.amazonaws.com"),
            tags={"Name": role_name, **args.tags},
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            role_name,
            role=role.id,
            policy=pulumi.Output.all(
                account.partition,
                account.region,
                account.id,
                broker.id,
                own_logs.arn,
                dead_letters.arn,
                args.logs_kms_key_arn,
            ).apply(lambda v: claim_policy(*v)),
            opts=child,
        )
        function = aws.lambda_.Function(
            f"{name}-log-groups-fn",
            name=function_name,
            description="osp: sets retention, KMS key and tags on Amazon MQ's broker log groups",
            role=role.arn,
            runtime="python3.13",
            architectures=["arm64"],
            handler="index.handler",
            code=pulumi.AssetArchive({"index.py": pulumi.StringAsset(claim_handler_code())}),
            timeout=120,  # the handler waits out IAM propagation for up to a minute
            memory_size=128,
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON", log_group=own_logs.name
            ),
            reserved_concurrent_executions=CLAIM_RESERVED_CONCURRENCY,
            dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(
                target_arn=dead_letters.arn
            ),
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            tags={"Name": f"{name}-log-groups-fn", **args.tags},
            # Lambda checks the role may send to the queue when the function is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        return function, role_policy

    def _admin_secret(
        self,
        name: str,
        args: RabbitMqArgs,
        broker_name: str,
        admin_password: pulumi.Output[str],
        endpoints: pulumi.Output[list[str]],
        console_url: pulumi.Output[str],
    ) -> aws.secretsmanager.Secret:
        """The admin user, its password and the endpoint: the only copy of the password."""
        return stored_secret(
            f"{name}-admin-secret",
            secret_name=fit(f"{broker_name}-admin-credentials"),
            description=f"Admin user, password and AMQPS endpoint of Amazon MQ {broker_name}",
            kms_key_id=args.secrets_kms_key_arn,
            recovery_window_days=args.secret_recovery_window_days,
            document=pulumi.Output.all(admin_password, endpoints, console_url).apply(
                lambda v: credentials_document(
                    username=args.admin_username,
                    password=v[0],
                    endpoint=v[1][0] if v[1] else "",
                    console_url=v[2],
                )
            ),
            tags={"Name": f"{name}-admin-secret", **args.tags},
            parent=self,
            protect=args.deletion_protection,
            rotated=args.rotation is not None,
        )

    def _publish(
        self,
        broker: aws.mq.Broker,
        endpoints: pulumi.Output[list[str]],
        console_url: pulumi.Output[str],
        secret: aws.secretsmanager.Secret,
        sg: aws.ec2.SecurityGroup,
    ) -> None:
        self.broker_id = broker.id
        self.broker_name = broker.broker_name
        self.broker_arn = broker.arn
        self.amqps_endpoints = endpoints
        self.console_url = console_url
        self.credentials_secret_arn = secret.arn
        self.security_group_id = sg.id
        self.register_outputs(
            {
                "brokerId": self.broker_id,
                "brokerName": self.broker_name,
                "brokerArn": self.broker_arn,
                "amqpsEndpoints": self.amqps_endpoints,
                "consoleUrl": self.console_url,
                "credentialsSecretArn": self.credentials_secret_arn,
                "securityGroupId": self.security_group_id,
            }
        )


def _console_url(instances: Sequence[Any] | None) -> str:
    for instance in instances or ():
        url = (
            instance.get("console_url") or instance.get("consoleUrl")
            if isinstance(instance, Mapping)
            else getattr(instance, "console_url", None)
        )
        if url:
            return url
    return ""
