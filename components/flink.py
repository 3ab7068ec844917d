"""`FlinkApplication`: an Amazon Managed Service for Apache Flink application between Kafka
topics of the estate's MSK cluster, running code from an S3 object it is given."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from osp.components import streaming
from osp.components._log_groups import log_group
from osp.platform import limits
from osp.platform.iam import policy
from osp.platform.naming import NameKind, fit
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:flink:FlinkApplication"

#: Checkpoints every minute (the seed's window length), with room between them to process.
CHECKPOINT_INTERVAL_MS = 60_000
MIN_PAUSE_BETWEEN_CHECKPOINTS_MS = 5_000

#: The property groups the estate fills in for the application's code to read.
KAFKA_PROPERTY_GROUP = "KafkaSource"
APPLICATION_PROPERTY_GROUP = "ApplicationProperties"

#: What Managed Flink needs to place the application's network interfaces in the VPC. The
#: Describe actions support no resource-level permissions.
VPC_DESCRIBE_ACTIONS = (
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)
NETWORK_INTERFACE_ACTIONS = (
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
)

_APPLICATION_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_S3_KEY = re.compile(r"[^*?]{1,1024}")


@dataclass(frozen=True, kw_only=True)
class FlinkApplicationArgs:
    """Arguments of `FlinkApplication`."""

    application_name: str
    """The application's name in Managed Flink (and of its role, `<name>-role`)."""

    runtime: str
    """The Flink runtime, such as FLINK-1_20."""

    artifact_bucket_arn: pulumi.Input[str]
    """The bucket holding the code; the role may read exactly `artifact_key` in it."""

    artifact_key: str
    """Object key of the .jar or .zip; uploaded by the code's pipeline, never by the estate."""

    storage_key_arn: pulumi.Input[str]
    """Customer KMS key of the artifact bucket: the role decrypts with it through S3 only."""

    vpc_id: pulumi.Input[str]
    """VPC of the application's security group."""

    subnet_ids: Sequence[pulumi.Input[str]]
    """Subnets of the application's network interfaces (the private tier)."""

    kafka_cluster_arn: pulumi.Input[str]
    """The MSK cluster it reads from and writes to."""

    kafka_security_group_id: pulumi.Input[str]
    """The cluster's security group: the application's only egress is 9098 to it."""

    bootstrap_brokers: pulumi.Input[str]
    """The cluster's IAM bootstrap brokers, given to the code as `bootstrap.servers`."""

    reads: Sequence[str]
    """Topics it reads, in a consumer group named after the application."""

    writes: Sequence[str] = ()
    """Topics it writes."""

    parallelism: int = 1
    """Parallel tasks; Managed Flink's autoscaling may add more under load."""

    properties: Mapping[str, str] = field(default_factory=dict)
    """The application's own settings, in the `ApplicationProperties` group."""

    logs_kms_key_arn: pulumi.Input[str]
    """Customer KMS key of the application's log group."""

    log_retention_days: int = 365
    """Days the application's log is kept."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource (osp's tag set)."""


def problems(name: str, args: FlinkApplicationArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("FlinkApplication", name)
    check.check(
        isinstance(args.application_name, str)
        and bool(_APPLICATION_NAME.fullmatch(args.application_name)),
        "application_name",
        args.application_name,
        "1-128 letters, digits, '_', '.' and '-'",
    )
    check.against(limits.FLINK_RUNTIME, "runtime", args.runtime)
    check.check(
        isinstance(args.artifact_key, str) and bool(_S3_KEY.fullmatch(args.artifact_key)),
        "artifact_key",
        args.artifact_key,
        "one S3 object key, without wildcards",
    )
    check.check(
        not isinstance(args.reads, str) and len(args.reads) > 0,
        "reads",
        args.reads,
        "at least one topic",
    )
    overlap = sorted(set(args.reads) & set(args.writes))
    check.check(not overlap, "writes", list(args.writes), "no topic it also reads")
    check.against(limits.FLINK_PARALLELISM, "parallelism", args.parallelism)
    check.against(limits.LOG_RETENTION, "log_retention_days", args.log_retention_days)
    check.check(
        not isinstance(args.subnet_ids, str) and len(args.subnet_ids) > 0,
        "subnet_ids",
        args.subnet_ids,
        "at least one subnet",
    )
    return check.found


def role_statements(
    *,
    application_name: str,
    cluster_arn: str,
    reads: Sequence[str],
    writes: Sequence[str],
    artifact_object_arn: str,
    storage_key_arn: str,
    log_group_arn: str,
    log_stream_arn: str,
    subnet_arns: Sequence[str],
    security_group_arn: str,
    network_interfaces_arn: str,
    region: str,
    dns_suffix: str,
) -> list[dict[str, Any]]:
    """The application role's statements: its code object, its log stream, its network
    interfaces in its subnets, and exactly its topics and consumer group."""

    def allow(sid: str, actions: Sequence[str], resources: Sequence[str], **extra: Any):
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Action": sorted(actions),
            "Resource": list(resources),
            **extra,
        }

    return [
        allow("ReadCode", ["s3:GetObject", "s3:GetObjectVersion"], [artifact_object_arn]),
        allow(
            "DecryptCode",
            ["kms:Decrypt"],
            [storage_key_arn],
            Condition={"StringEquals": {"kms:ViaService": [f"s3.{region}.{dns_suffix}"]}},
        ),
        allow("DescribeLogStreams", ["logs:DescribeLogStreams"], [f"{log_group_arn}:*"]),
        allow("WriteLogs", ["logs:PutLogEvents"], [log_stream_arn]),
        allow("DescribeNetwork", VPC_DESCRIBE_ACTIONS, ["*"]),
        allow(
            "CreateNetworkInterfaces",
            ["ec2:CreateNetworkInterface"],
            [*sorted(subnet_arns), security_group_arn, network_interfaces_arn],
        ),
        allow("ManageNetworkInterfaces", NETWORK_INTERFACE_ACTIONS, [network_interfaces_arn]),
        *streaming.kafka_statements(
            cluster_arn, produces=writes, consumes=reads, group=application_name
        ),
    ]


class FlinkApplication(pulumi.ComponentResource):
    """A Managed Flink application, its role, security group and log.

    - Code: `s3://<artifact bucket>/<artifact_key>` (the role reads that object and no other).
    - Network: its interfaces in `subnet_ids`, in the group `<name>-sg`, whose one rule lets
      it reach the MSK cluster's group on 9098 (the cluster admits it with
      `KafkaCluster.admit`). Nothing reaches it.
    - Kafka: IAM authentication; reads `reads` in the consumer group `<application_name>`,
      writes `writes`, as the role's policy says and nothing more. The code gets the brokers,
      topics and group in the `KafkaSource` property group.
    - Checkpoints every minute and snapshots on, so a restart or an update resumes its
      windows where they were. Parallelism `parallelism`, autoscaling on.
    - Logs to `/aws/kinesis-analytics/<application_name>` (stream `application`).
    - Created, not started: it starts once its code is uploaded (docs/components.md).
    """

    arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: FlinkApplicationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        tags = dict(args.tags)
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"Managed Flink application {args.application_name}: Kafka only",
            tags={"Name": f"{name}-sg", **tags},
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-to-kafka",
            security_group_id=group.id,
            referenced_security_group_id=args.kafka_security_group_id,
            ip_protocol="tcp",
            from_port=streaming.IAM_PORT,
            to_port=streaming.IAM_PORT,
            description="Kafka over TLS, IAM authentication",
            tags={"Name": f"{name}-to-kafka", **tags},
            opts=child,
        )
        logs = log_group(
            f"{name}-logs",
            log_group_name=f"/aws/kinesis-analytics/{args.application_name}",
            retention_days=args.log_retention_days,
            kms_key_arn=args.logs_kms_key_arn,
            tags=tags,
            parent=self,
        )
        stream = aws.cloudwatch.LogStream(
            f"{name}-log-stream", name="application", log_group_name=logs.name, opts=child
        )
        partition = aws.get_partition_output(opts=invoke)
        region = aws.get_region_output(opts=invoke).region
        account = aws.get_caller_identity_output(opts=invoke).account_id
        application_arn = pulumi.Output.format(
            "arn:{0}:kinesisanalytics:{1}:{2}:application/{3}",
            partition.partition,
            region,
            account,
            args.application_name,
        )
        role = aws.iam.Role(
            f"{name}-role",
            name=fit(f"{args.application_name}-role", NameKind.IAM),
            description=f"Managed Flink application {args.application_name}",
            assume_role_policy=pulumi.Output.all(account, application_arn).apply(
                lambda v: _trust(v[0], v[1])
            ),
            tags={"Name": f"{name}-role", **tags},
            opts=child,
        )
        statements = pulumi.Output.all(
            partition=partition.partition,
            dns_suffix=partition.dns_suffix,
            region=region,
            account=account,
            cluster=args.kafka_cluster_arn,
            bucket=args.artifact_bucket_arn,
            key=args.storage_key_arn,
            log_group=logs.arn,
            log_stream=stream.arn,
            subnets=pulumi.Output.all(*args.subnet_ids),
            group_id=group.id,
        ).apply(
            lambda v: policy(
                *role_statements(
                    application_name=args.application_name,
                    cluster_arn=v["cluster"],
                    reads=args.reads,
                    writes=args.writes,
                    artifact_object_arn=f"{v['bucket']}/{args.artifact_key}",
                    storage_key_arn=v["key"],
                    log_group_arn=v["log_group"],
                    log_stream_arn=v["log_stream"],
                    subnet_arns=[
                        f"arn:{v['partition']}:ec2:{v['region']}:{v['account']}:subnet/{subnet}"
                        for subnet in v["subnets"]
                    ],
                    security_group_arn=(
                        f"arn:{v['partition']}:ec2:{v['region']}:{v['account']}:"
                        f"security-group/{v['group_id']}"
                    ),
                    network_interfaces_arn=(
                        f"arn:{v['partition']}:ec2:{v['region']}:{v['account']}:network-interface/*"
                    ),
                    region=v["region"],
                    dns_suffix=v["dns_suffix"],
                )
            )
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-policy", role=role.name, name="permissions", policy=statements, opts=child
        )
        kafka_properties = {
            "bootstrap.servers": args.bootstrap_brokers,
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "AWS_MSK_IAM",
            "group.id": args.application_name,
            "source.topics": ",".join(args.reads),
            "sink.topics": ",".join(args.writes),
        }
        property_groups = [
            aws.kinesisanalyticsv2.ApplicationApplicationConfigurationEnvironmentPropertiesPropertyGroupArgs(
                property_group_id=KAFKA_PROPERTY_GROUP, property_map=kafka_properties
            )
        ]
        if args.properties:
            property_groups.append(
                aws.kinesisanalyticsv2.ApplicationApplicationConfigurationEnvironmentPropertiesPropertyGroupArgs(
                    property_group_id=APPLICATION_PROPERTY_GROUP,
                    property_map=dict(args.properties),
                )
            )
        flink = aws.kinesisanalyticsv2
        application = flink.Application(
            f"{name}-application",
            name=args.application_name,
            runtime_environment=args.runtime,
            service_execution_role=role.arn,
            application_mode="STREAMING",
            start_application=False,
            application_configuration=flink.ApplicationApplicationConfigurationArgs(
                application_code_configuration=flink.ApplicationApplicationConfigurationApplicationCodeConfigurationArgs(
                    code_content_type="ZIPFILE",
                    code_content=flink.ApplicationApplicationConfigurationApplicationCodeConfigurationCodeContentArgs(
                        s3_content_location=flink.ApplicationApplicationConfigurationApplicationCodeConfigurationCodeContentS3ContentLocationArgs(
                            bucket_arn=args.artifact_bucket_arn, file_key=args.artifact_key
                        )
                    ),
                ),
                application_snapshot_configuration=flink.ApplicationApplicationConfigurationApplicationSnapshotConfigurationArgs(
                    snapshots_enabled=True
                ),
                environment_properties=flink.ApplicationApplicationConfigurationEnvironmentPropertiesArgs(
                    property_groups=property_groups
                ),
                flink_application_configuration=flink.ApplicationApplicationConfigurationFlinkApplicationConfigurationArgs(
                    checkpoint_configuration=flink.ApplicationApplicationConfigurationFlinkApplicationConfigurationCheckpointConfigurationArgs(
                        configuration_type="CUSTOM",
                        checkpointing_enabled=True,
                        checkpoint_interval=CHECKPOINT_INTERVAL_MS,
                        min_pause_between_checkpoints=MIN_PAUSE_BETWEEN_CHECKPOINTS_MS,
                    ),
                    monitoring_configuration=flink.ApplicationApplicationConfigurationFlinkApplicationConfigurationMonitoringConfigurationArgs(
                        configuration_type="CUSTOM", log_level="INFO", metrics_level="TASK"
                    ),
                    parallelism_configuration=flink.ApplicationApplicationConfigurationFlinkApplicationConfigurationParallelismConfigurationArgs(
                        configuration_type="CUSTOM",
                        auto_scaling_enabled=True,
                        parallelism=args.parallelism,
                        parallelism_per_kpu=1,
                    ),
                ),
                vpc_configuration=flink.ApplicationApplicationConfigurationVpcConfigurationArgs(
                    subnet_ids=list(args.subnet_ids), security_group_ids=[group.id]
                ),
            ),
            cloudwatch_logging_options=flink.ApplicationCloudwatchLoggingOptionsArgs(
                log_stream_arn=stream.arn
            ),
            tags={"Name": f"{name}-application", **tags},
            # Managed Flink checks the role when the application is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        self.arn = application.arn
        self.role_arn = role.arn
        self.security_group_id = group.id
        self.register_outputs(
            {"arn": self.arn, "roleArn": self.role_arn, "securityGroupId": self.security_group_id}
        )


def _trust(account: str, application_arn: str) -> str:
    # Only Managed Flink, and only for this application of this account (confused deputy).
    return policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "kinesisanalytics.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnEquals": {"aws:SourceArn": application_arn},
            },
        }
    )
