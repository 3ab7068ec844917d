"""`RabbitMq`: the Amazon MQ for RabbitMQ broker that carries the services' events."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from osp.components import _checks
from osp.components._secrets import stored_secret
from osp.platform import iam
from osp.platform.naming import NameKind, fit
from osp.platform.spec.models import BrokerDeploymentMode

TOKEN = "osp:broker:RabbitMq"

#: AMQP 0-9-1 over TLS: the only wire protocol port a RabbitMQ broker listens on.
AMQPS_PORT = 5671
#: The RabbitMQ management console and HTTP API (HTTPS).
CONSOLE_PORT = 443


#: The log groups Amazon MQ writes a RabbitMQ broker's logs to, each
#: `/aws/amazonmq/broker/<broker-id>/<kind>`. (RabbitMQ has no audit log.)
LOG_KINDS = ("general", "connection")

#: Oldest engine osp deploys: from 3.13 on, Amazon MQ takes `major.minor` and requires
#: automatic minor version upgrades, which is how osp runs every broker.
MIN_ENGINE_VERSION = (3, 13)

DAYS_OF_WEEK = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")

_INSTANCE_TYPE = re.compile(
    r"mq\.(?P<family>[a-z]+\d+[a-z]*)\.(?P<size>micro|small|medium|\d*x?large)"
)
_ENGINE_VERSION = re.compile(r"(?P<major>\d+)\.(?P<minor>\d+)")
# Amazon MQ's rule for broker user names.
_USERNAME = re.compile(r"[A-Za-z0-9._~-]{2,100}")
_TIME_OF_DAY = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_TIME_ZONE = re.compile(r"[A-Za-z0-9_+:/-]{1,64}")

# The function that takes over the broker's log groups (see RabbitMq._claim_log_groups).
# It runs in AWS Lambda, python3.13, with boto3 from the runtime.
CLAIM_HANDLER = '''\
"""Takes over the CloudWatch log groups Amazon MQ writes a broker's logs to (osp).

Amazon MQ names them after the broker id and creates them itself, with no retention and no
customer key. This runs once per broker: it creates each group that does not exist yet, or
adopts the one that does, then sets the KMS key, tags and retention osp asks for.
"""

import time

import boto3
from botocore.exceptions import ClientError

# Worth waiting out: a role policy created seconds ago, or a concurrent change to the group.
RETRYABLE = {"AccessDeniedException", "OperationAbortedException", "ThrottlingException"}
ATTEMPTS = 8


def pause(seconds):
    time.sleep(seconds)


def call(operation, **kwargs):
    for attempt in range(ATTEMPTS):
        try:
            return operation(**kwargs)
        except ClientError as error:
            if error.response["Error"]["Code"] not in RETRYABLE or attempt == ATTEMPTS - 1:
                raise
            pause(min(2**attempt, 15))


def handler(event, context):
    logs = boto3.client("logs")
    _, partition, _, region, account = context.invoked_function_arn.split(":")[:5]
    key = event["kmsKeyId"]
    claimed = []
    for group in event["logGroups"]:
        name, tags = group["name"], group["tags"]
        try:
            call(logs.create_log_group, logGroupName=name, kmsKeyId=key, tags=tags)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise
            call(logs.associate_kms_key, logGroupName=name, kmsKeyId=key)
            arn = f"arn:{partition}:logs:{region}:{account}:log-group:{name}"
            call(logs.tag_resource, resourceArn=arn, tags=tags)
        call(logs.put_retention_policy, logGroupName=name,
             retentionInDays=int(event["retentionInDays"]))
        claimed.append(name)
    return {"claimed": claimed}
'''


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


def problems(name: str, args: RabbitMqArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    out: list[str] = []

    def bad(arg: str, value: object, expected: str) -> None:
        out.append(f"RabbitMq {name}: {arg}: got {value!r}; expected {expected}")

    mode: BrokerDeploymentMode | None
    try:
        mode = BrokerDeploymentMode(args.deployment_mode)
    except ValueError:
        mode = None
        bad("deployment_mode", args.deployment_mode,
            "one of " + ", ".join(m.value for m in BrokerDeploymentMode))  # fmt: skip

    if isinstance(args.subnet_ids, str):
        bad("subnet_ids", args.subnet_ids, "a list of subnet ids, not one string")
    else:
        subnets = list(args.subnet_ids)
        literal = [s for s in subnets if isinstance(s, str)]
        if len(set(literal)) != len(literal):
            bad("subnet_ids", subnets, "each subnet at most once")
        elif mode is BrokerDeploymentMode.SINGLE_INSTANCE and not subnets:
            bad("subnet_ids", subnets, "at least one subnet (SINGLE_INSTANCE uses the first)")
        elif mode is BrokerDeploymentMode.CLUSTER_MULTI_AZ and len(subnets) < 2:
            bad(
                "subnet_ids",
                subnets,
                "at least 2 subnets in different zones for CLUSTER_MULTI_AZ: the cluster's "
                "nodes span three zones, but clients reach it only through endpoints in these "
                "subnets, so one subnet makes a single zone's outage cut every client off",
            )

    instance = (
        _INSTANCE_TYPE.fullmatch(args.host_instance_type)
        if isinstance(args.host_instance_type, str)
        else None
    )
    if instance is None:
        bad("host_instance_type", args.host_instance_type,
            "an Amazon MQ instance type mq.<family>.<size>, such as mq.m5.large")  # fmt: skip
    elif mode is BrokerDeploymentMode.CLUSTER_MULTI_AZ and instance["family"] == "t3":
        bad("host_instance_type", args.host_instance_type,
            "mq.m5.large or larger for CLUSTER_MULTI_AZ: mq.t3.micro runs only "
            "SINGLE_INSTANCE brokers")  # fmt: skip

    version = (
        _ENGINE_VERSION.fullmatch(args.engine_version)
        if isinstance(args.engine_version, str)
        else None
    )
    if version is None or (int(version["major"]), int(version["minor"])) < MIN_ENGINE_VERSION:
        bad("engine_version", args.engine_version,
            "a RabbitMQ major.minor version of 3.13 or later, such as '3.13' or '4.2' "
            "(Amazon MQ picks the patch release and keeps it current)")  # fmt: skip

    if not isinstance(args.admin_username, str) or not _USERNAME.fullmatch(args.admin_username):
        bad("admin_username", args.admin_username,
            "2-100 letters, digits, '-', '.', '_' or '~'")  # fmt: skip

    if args.maintenance_day_of_week not in DAYS_OF_WEEK:
        bad("maintenance_day_of_week", args.maintenance_day_of_week,
            "one of " + ", ".join(DAYS_OF_WEEK))  # fmt: skip
    if not isinstance(args.maintenance_time_of_day, str) or not _TIME_OF_DAY.fullmatch(
        args.maintenance_time_of_day
    ):
        bad("maintenance_time_of_day", args.maintenance_time_of_day,
            "a 24-hour time hh:mm such as 05:00")  # fmt: skip
    if not isinstance(args.maintenance_time_zone, str) or not _TIME_ZONE.fullmatch(
        args.maintenance_time_zone
    ):
        bad("maintenance_time_zone", args.maintenance_time_zone,
            "a time zone such as UTC, CET or America/New_York")  # fmt: skip

    for arg, value, expected in _checks.common(args):
        bad(arg, value, expected)

    if not isinstance(args.deletion_protection, bool):
        bad("deletion_protection", args.deletion_protection, "True or False")
    return out


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
            raise ValueError("\n".join(found))
        mode = BrokerDeploymentMode(args.deployment_mode)
        subnets = list(args.subnet_ids)
        if mode is BrokerDeploymentMode.SINGLE_INSTANCE:
            subnets = subnets[:1]  # Amazon MQ refuses more than one for a single instance
        broker_name = fit(name, NameKind.MQ_BROKER)
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.deletion_protection)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke).partition
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region

        def tags(resource_name: str) -> dict[str, str]:
            return {"Name": resource_name, **args.tags}

        # Amazon MQ's documented prerequisite for publishing broker logs, in place before the
        # broker is created: the service may write to /aws/amazonmq/* groups of this account,
        # on behalf of this broker only (the confused-deputy conditions).
        logs_policy = aws.cloudwatch.LogResourcePolicy(
            f"{name}-logs-policy",
            policy_name=fit(f"{broker_name}-amazonmq-logs"),
            policy_document=pulumi.Output.all(partition, region, account).apply(
                lambda v: iam.policy(
                    {
                        "Sid": "AmazonMqPublishesBrokerLogs",
                        "Effect": "Allow",
                        "Principal": {"Service": "mq.amazonaws.com"},
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": f"arn:{v[0]}:logs:{v[1]}:{v[2]}:log-group:/aws/amazonmq/*",
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": v[2]},
                            "ArnLike": {
                                "aws:SourceArn": f"arn:{v[0]}:mq:{v[1]}:{v[2]}:broker:"
                                f"{broker_name}:*"
                            },
                        },
                    }
                )
            ),
            opts=child,
        )

        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            name=fit(f"{name}-sg"),
            description=f"Amazon MQ {broker_name}: clients on AMQPS {AMQPS_PORT} and "
            f"console {CONSOLE_PORT}",
            # No inline rules, so the provider removes AWS's default allow-all egress: the
            # broker never opens connections.
            tags=tags(f"{name}-sg"),
            opts=child,
        )
        for index, client in enumerate(args.client_security_group_ids):
            for role, port, what in (
                ("amqps", AMQPS_PORT, "AMQP 0-9-1 over TLS"),
                ("console", CONSOLE_PORT, "RabbitMQ management console (HTTPS)"),
            ):
                rule_name = f"{name}-{role}-from-client-{index}"
                aws.vpc.SecurityGroupIngressRule(
                    rule_name,
                    security_group_id=sg.id,
                    referenced_security_group_id=client,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    description=what,
                    tags=tags(rule_name),
                    opts=child,
                )

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
            opts=child,
        )

        # pulumi-random marks `result` secret only engine-side; say so here, so that no plan,
        # state or preview ever shows the password in clear.
        admin_password = pulumi.Output.secret(password.result)

        broker = aws.mq.Broker(
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
            tags=tags(f"{name}-broker"),
            opts=pulumi.ResourceOptions.merge(
                stateful, pulumi.ResourceOptions(depends_on=[logs_policy])
            ),
        )

        self._claim_log_groups(name, args, broker, partition, region, account, tags)

        endpoints = broker.instances.apply(amqps_endpoints)
        console_url = broker.instances.apply(_console_url)

        secret = stored_secret(
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
            tags=tags(f"{name}-admin-secret"),
            parent=self,
            protect=args.deletion_protection,
        )

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

    def _claim_log_groups(self, name, args, broker, partition, region, account, tags) -> None:
        """Hold Amazon MQ's log groups to the retention, customer key and tags asked for.

        Amazon MQ names a broker's log groups after the broker id, which exists only once the
        broker does, and creates them itself, with no retention and no customer key, as the
        broker starts. So an `aws.cloudwatch.LogGroup` cannot be created before the broker (no
        name yet), and one created after it fails with ResourceAlreadyExistsException
        (hashicorp/terraform-provider-aws#27124: "apply errors, import, continue"). AWS CDK
        solves this with its LogRetention custom resource, a function that sets retention on a
        group whether or not it exists yet. This is the same idea, with the KMS key and tags
        too: a small function, invoked once per broker through `aws.lambda_.Invocation`
        (invoked again whenever the broker id, retention or key changes), creates each group
        that is still missing or adopts the one Amazon MQ made.
        The groups outlive the broker; their events expire after `log_retention_days`.
        """
        child = pulumi.ResourceOptions(parent=self)
        role_name = f"{name}-log-groups"
        # Lambda names take Amazon MQ's alphabet ([A-Za-z0-9_-]); 50 characters fit its 64.
        function_name = fit(role_name, NameKind.MQ_BROKER)

        own_logs = aws.cloudwatch.LogGroup(
            f"{name}-log-groups-fn-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.logs_kms_key_arn,
            tags=tags(f"{name}-log-groups-fn-logs"),
            opts=child,
        )
        role = aws.iam.Role(
            role_name,
            name=fit(role_name, NameKind.IAM),
            description=f"{function_name}: claims the broker's CloudWatch log groups",
            assume_role_policy=iam.service_trust("lambda.amazonaws.com"),
            tags=tags(role_name),
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            role_name,
            role=role.id,
            policy=pulumi.Output.all(partition, region, account, broker.id, own_logs.arn).apply(
                lambda v: iam.policy(
                    {
                        "Sid": "ClaimThisBrokersLogGroups",
                        "Effect": "Allow",
                        "Action": [
                            "logs:CreateLogGroup",
                            "logs:AssociateKmsKey",
                            "logs:TagResource",
                            "logs:PutRetentionPolicy",
                        ],
                        "Resource": f"arn:{v[0]}:logs:{v[1]}:{v[2]}:log-group:"
                        f"/aws/amazonmq/broker/{v[3]}/*",
                    },
                    {
                        "Sid": "WriteOwnLogs",
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": f"{v[4]}:*",
                    },
                )
            ),
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
            code=pulumi.AssetArchive({"index.py": pulumi.StringAsset(CLAIM_HANDLER)}),
            timeout=120,  # the handler waits out IAM propagation for up to a minute
            memory_size=128,
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON", log_group=own_logs.name
            ),
            tags=tags(f"{name}-log-groups-fn"),
            opts=child,
        )
        aws.lambda_.Invocation(
            f"{name}-log-groups",
            function_name=function.name,
            input=pulumi.Output.json_dumps(
                {
                    "logGroups": broker.id.apply(
                        lambda broker_id: [
                            {"name": group, "tags": tags(f"{name}-{kind}-logs")}
                            for group, kind in zip(
                                log_group_names(broker_id), LOG_KINDS, strict=True
                            )
                        ]
                    ),
                    "kmsKeyId": args.logs_kms_key_arn,
                    "retentionInDays": args.log_retention_days,
                }
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
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
