"""`KafkaCluster`: the Amazon MSK (provisioned) cluster that holds a blueprint's Kafka topics.

Clients reach it on one port, 9098: TLS, authenticated and authorised by IAM (SigV4-signed
SASL/OAUTHBEARER through the MSK IAM library) — no unauthenticated access, no SCRAM users
whose passwords could leak, no plaintext listener. Who may connect, read or write which topic
is an IAM policy of the client's role (`kafka_statements`), so grants live where every other
grant of the estate lives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from osp.components._log_groups import log_group
from osp.components._network_access import ClientPort, client_security_group
from osp.platform import limits
from osp.platform.spec.models import KafkaMonitoring
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:streaming:KafkaCluster"

#: The IAM-authenticated TLS listener of MSK's brokers, inside the VPC: the only one osp opens.
IAM_PORT = 9098
CLIENT_PORTS = (ClientPort(IAM_PORT, "Kafka over TLS, IAM authentication"),)

#: MSK places its brokers in 2 or 3 zones, an equal number in each.
ZONE_COUNTS = (2, 3)

#: Connecting, and what a producer needs besides (idempotent writes are the clients' default).
CONNECT_ACTIONS = ("kafka-cluster:Connect", "kafka-cluster:DescribeCluster")
PRODUCE_CLUSTER_ACTIONS = ("kafka-cluster:WriteDataIdempotently",)
PRODUCE_ACTIONS = ("kafka-cluster:DescribeTopic", "kafka-cluster:WriteData")
CONSUME_ACTIONS = ("kafka-cluster:DescribeTopic", "kafka-cluster:ReadData")
GROUP_ACTIONS = ("kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup")

_CLUSTER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,63}")
_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
#: A provisioned cluster's ARN, `arn:<partition>:kafka:<region>:<account>:cluster/<name>/<uuid>`.
CLUSTER_ARN = re.compile(r"arn:(aws[a-z-]*):kafka:([a-z0-9-]+):(\d{12}):cluster/([^/*]+)/([^/*]+)")
_MS_PER_HOUR = 60 * 60 * 1000


@dataclass(frozen=True)
class KafkaTopicArgs:
    """One topic of the cluster."""

    name: str
    """The topic's name: letters, digits, `.`, `_` and `-`."""

    partitions: int
    """Partitions: the most consumers of one group that read it in parallel."""

    retention_hours: int
    """How long a record is kept, read or not."""


@dataclass(frozen=True, kw_only=True)
class KafkaClusterArgs:
    """Arguments of `KafkaCluster`."""

    cluster_name: str
    """The cluster's name in MSK (part of its ARN and of every topic's and group's ARN)."""

    vpc_id: pulumi.Input[str]
    """VPC of the brokers' security group."""

    subnet_ids: Sequence[pulumi.Input[str]]
    """The brokers' subnets, one per zone, 2 or 3 (MSK's rule): the network's isolated tier."""

    client_security_group_ids: Sequence[pulumi.Input[str]]
    """Security groups whose members may connect on 9098; more with `admit`."""

    kms_key_arn: pulumi.Input[str]
    """Customer KMS key that encrypts the brokers' storage at rest."""

    logs_kms_key_arn: pulumi.Input[str]
    """Customer KMS key of the broker log group."""

    kafka_version: str
    """Apache Kafka version, such as 3.6.0 (see osp.platform.limits.KAFKA_VERSION)."""

    instance_type: str
    """Broker instance type, such as kafka.m7g.large."""

    storage_gib: int
    """EBS storage of each broker, GiB."""

    brokers_per_zone: int = 1
    """Brokers in each zone: the cluster has `brokers_per_zone × len(subnet_ids)`."""

    enhanced_monitoring: KafkaMonitoring = KafkaMonitoring.DEFAULT
    """CloudWatch metrics beyond the free cluster-level ones (per broker, per topic)."""

    log_retention_days: int = 365
    """Days the broker logs are kept."""

    topics: Sequence[KafkaTopicArgs] = ()
    """The topics, created through MSK's API (never by a client: auto-creation is off)."""

    deletion_protection: bool = False
    """Pulumi `protect` on the cluster and its topics (MSK has no deletion protection)."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource (osp's tag set)."""


def replication_factor(brokers: int) -> int:
    """Copies of every partition: one per zone up to three (three survive a zone's loss and
    a broker's maintenance at once)."""
    return min(3, brokers)


def min_in_sync_replicas(brokers: int) -> int:
    """Copies a write must reach before it is acknowledged: all but one, so a write survives
    the loss of any one broker and one broker may be down for maintenance (2 of 3 in prod)."""
    return max(1, replication_factor(brokers) - 1)


def server_properties(brokers: int) -> str:
    """The cluster configuration: no topic appears because a client named it, no partition
    elects a leader that lost acknowledged writes, and every write reaches all copies but one."""
    properties = {
        "auto.create.topics.enable": "false",
        "default.replication.factor": str(replication_factor(brokers)),
        "min.insync.replicas": str(min_in_sync_replicas(brokers)),
        "unclean.leader.election.enable": "false",
        "allow.everyone.if.no.acl.found": "false",
    }
    return "".join(f"{key}={value}\n" for key, value in properties.items())


def topic_configs(topic: KafkaTopicArgs, brokers: int) -> str:
    """The topic's own settings (JSON, as MSK's API takes them)."""
    return json.dumps(
        {
            "cleanup.policy": "delete",
            "min.insync.replicas": str(min_in_sync_replicas(brokers)),
            "retention.ms": str(topic.retention_hours * _MS_PER_HOUR),
        },
        sort_keys=True,
    )


def log_group_name(cluster_name: str) -> str:
    return f"/aws/msk/{cluster_name}/broker"


# -- who may do what (used by the app layer's roles and by Managed Flink's) -----------------


def _arn_parts(cluster_arn: str) -> tuple[str, ...]:
    match = CLUSTER_ARN.fullmatch(cluster_arn)
    if not match:
        raise ValueError(
            f"got {cluster_arn!r}; expected an MSK cluster ARN "
            "arn:<partition>:kafka:<region>:<account>:cluster/<name>/<uuid>"
        )
    return match.groups()


def topic_arn(cluster_arn: str, topic: str) -> str:
    """`arn:…:topic/<cluster>/<uuid>/<topic>`: what topic grants name."""
    partition, region, account, name, uuid = _arn_parts(cluster_arn)
    return f"arn:{partition}:kafka:{region}:{account}:topic/{name}/{uuid}/{topic}"


def group_arn(cluster_arn: str, group: str) -> str:
    """`arn:…:group/<cluster>/<uuid>/<group>`: what consumer-group grants name."""
    partition, region, account, name, uuid = _arn_parts(cluster_arn)
    return f"arn:{partition}:kafka:{region}:{account}:group/{name}/{uuid}/{group}"


def kafka_statements(
    cluster_arn: str, *, produces: Sequence[str], consumes: Sequence[str], group: str | None
) -> list[dict[str, Any]]:
    """IAM statements letting a client connect to the cluster, write exactly `produces`, and
    read exactly `consumes` in its own consumer `group` (required when it consumes)."""
    if consumes and group is None:
        raise ValueError("a consumer needs its consumer group")
    if not (produces or consumes):
        return []

    def allow(sid: str, actions: Sequence[str], resources: Sequence[str]) -> dict[str, Any]:
        return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}

    connect = list(CONNECT_ACTIONS) + (list(PRODUCE_CLUSTER_ACTIONS) if produces else [])
    out = [allow("KafkaConnect", connect, [cluster_arn])]
    if produces:
        arns = [topic_arn(cluster_arn, t) for t in sorted(set(produces))]
        out.append(allow("KafkaProduce", PRODUCE_ACTIONS, arns))
    if consumes:
        arns = [topic_arn(cluster_arn, t) for t in sorted(set(consumes))]
        out.append(allow("KafkaConsume", CONSUME_ACTIONS, arns))
        out.append(allow("KafkaConsumerGroup", GROUP_ACTIONS, [group_arn(cluster_arn, group)]))
    return out


# -- validation ------------------------------------------------------------------------------


def problems(name: str, args: KafkaClusterArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("KafkaCluster", name)
    check.check(
        isinstance(args.cluster_name, str) and bool(_CLUSTER_NAME.fullmatch(args.cluster_name)),
        "cluster_name",
        args.cluster_name,
        "1-64 letters, digits and hyphens, starting with a letter",
    )
    subnets = args.subnet_ids
    check.check(
        not isinstance(subnets, str) and len(subnets) in ZONE_COUNTS,
        "subnet_ids",
        subnets if isinstance(subnets, str) else list(subnets),
        "2 or 3 subnets, one per zone: MSK spreads its brokers over 2 or 3 zones",
    )
    check.against(limits.KAFKA_VERSION, "kafka_version", args.kafka_version)
    check.against(limits.MSK_INSTANCE_TYPE, "instance_type", args.instance_type)
    check.against(limits.MSK_STORAGE_GIB, "storage_gib", args.storage_gib)
    check.against(limits.MSK_BROKERS_PER_ZONE, "brokers_per_zone", args.brokers_per_zone)
    check.against(limits.LOG_RETENTION, "log_retention_days", args.log_retention_days)
    check.check(
        args.enhanced_monitoring in tuple(KafkaMonitoring),
        "enhanced_monitoring",
        args.enhanced_monitoring,
        "one of " + ", ".join(m.value for m in KafkaMonitoring),
    )
    seen: set[str] = set()
    for index, topic in enumerate(args.topics):
        where = f"topics[{index}]"
        if check.check(
            isinstance(topic.name, str) and bool(_TOPIC_NAME.fullmatch(topic.name)),
            f"{where}.name",
            topic.name,
            "1-249 letters, digits, '.', '_' and '-'",
        ):
            check.check(topic.name not in seen, f"{where}.name", topic.name, "each topic once")
            seen.add(topic.name)
        check.against(limits.KAFKA_PARTITIONS, f"{where}.partitions", topic.partitions)
        check.against(
            limits.KAFKA_RETENTION_HOURS, f"{where}.retention_hours", topic.retention_hours
        )
    return check.found


class KafkaCluster(pulumi.ComponentResource):
    """A provisioned MSK cluster in the isolated subnets, its topics and its security group.

    - Brokers: `brokers_per_zone` in each of the 2 or 3 zones, no public access.
    - In transit: TLS between clients and brokers and between brokers; the only listener
      clients reach is 9098 (IAM). At rest: the customer key `kms_key_arn`.
    - Authentication: IAM only (no unauthenticated access, no SCRAM); authorisation by the
      clients' IAM policies (`kafka_statements`).
    - Configuration (`server_properties`): auto-creation of topics off, replication one copy
      per zone up to three, min.insync.replicas all copies but one (2 in a three-zone prod),
      no unclean leader election.
    - Broker logs to `/aws/msk/<cluster>/broker`, encrypted, kept `log_retention_days`.
    - Security group `<name>-sg`: 9098 from each client group, nothing else, no egress.
    """

    arn: pulumi.Output[str]
    bootstrap_brokers: pulumi.Output[str]
    """The IAM listener's bootstrap brokers, `host:9098,…`."""
    security_group_id: pulumi.Output[str]
    topics: dict[str, aws.msk.Topic]
    cluster_name: str
    brokers: int

    def __init__(
        self, name: str, args: KafkaClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        self._name, self._args = name, args
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        brokers = args.brokers_per_zone * len(args.subnet_ids)
        group = client_security_group(
            name,
            vpc_id=args.vpc_id,
            description=f"MSK cluster {args.cluster_name}: Kafka over TLS with IAM from clients",
            clients=args.client_security_group_ids,
            ports=CLIENT_PORTS,
            tags=tags,
            parent=self,
        )
        logs = log_group(
            f"{name}-broker-logs",
            log_group_name=log_group_name(args.cluster_name),
            retention_days=args.log_retention_days,
            kms_key_arn=args.logs_kms_key_arn,
            tags=tags,
            parent=self,
        )
        configuration = aws.msk.Configuration(
            f"{name}-configuration",
            name=args.cluster_name,
            description="osp: no auto-created topics, replicated writes, no unclean elections",
            kafka_versions=[args.kafka_version],
            server_properties=server_properties(brokers),
            opts=child,
        )
        protect = pulumi.ResourceOptions(parent=self, protect=args.deletion_protection)
        cluster = aws.msk.Cluster(
            f"{name}-cluster",
            cluster_name=args.cluster_name,
            kafka_version=args.kafka_version,
            number_of_broker_nodes=brokers,
            broker_node_group_info=aws.msk.ClusterBrokerNodeGroupInfoArgs(
                instance_type=args.instance_type,
                client_subnets=list(args.subnet_ids),
                security_groups=[group.id],
                storage_info=aws.msk.ClusterBrokerNodeGroupInfoStorageInfoArgs(
                    ebs_storage_info=aws.msk.ClusterBrokerNodeGroupInfoStorageInfoEbsStorageInfoArgs(
                        volume_size=args.storage_gib
                    )
                ),
                connectivity_info=aws.msk.ClusterBrokerNodeGroupInfoConnectivityInfoArgs(
                    public_access=aws.msk.ClusterBrokerNodeGroupInfoConnectivityInfoPublicAccessArgs(
                        type="DISABLED"
                    )
                ),
            ),
            client_authentication=aws.msk.ClusterClientAuthenticationArgs(
                sasl=aws.msk.ClusterClientAuthenticationSaslArgs(iam=True, scram=False),
                unauthenticated=False,
            ),
            encryption_info=aws.msk.ClusterEncryptionInfoArgs(
                encryption_at_rest_kms_key_arn=args.kms_key_arn,
                encryption_in_transit=aws.msk.ClusterEncryptionInfoEncryptionInTransitArgs(
                    client_broker="TLS", in_cluster=True
                ),
            ),
            configuration_info=aws.msk.ClusterConfigurationInfoArgs(
                arn=configuration.arn, revision=configuration.latest_revision
            ),
            enhanced_monitoring=str(args.enhanced_monitoring),
            logging_info=aws.msk.ClusterLoggingInfoArgs(
                broker_logs=aws.msk.ClusterLoggingInfoBrokerLogsArgs(
                    cloudwatch_logs=aws.msk.ClusterLoggingInfoBrokerLogsCloudwatchLogsArgs(
                        enabled=True, log_group=logs.name
                    )
                )
            ),
            tags={"Name": f"{name}-cluster", **tags},
            opts=protect,
        )
        self.topics = {
            topic.name: aws.msk.Topic(
                f"{name}-topic-{topic.name}",
                cluster_arn=cluster.arn,
                name=topic.name,
                partition_count=topic.partitions,
                replication_factor=replication_factor(brokers),
                configs=topic_configs(topic, brokers),
                opts=protect,
            )
            for topic in args.topics
        }
        self.arn = cluster.arn
        self.bootstrap_brokers = cluster.bootstrap_brokers_sasl_iam
        self.security_group_id = group.id
        self.cluster_name = args.cluster_name
        self.brokers = brokers
        self.register_outputs(
            {
                "arn": self.arn,
                "bootstrapBrokers": self.bootstrap_brokers,
                "securityGroupId": self.security_group_id,
            }
        )

    def admit(self, role: str, security_group_id: pulumi.Input[str]) -> None:
        """Let the members of `security_group_id` connect too (a client created after the
        cluster, such as a Flink application): the rule `<name>-from-<role>`."""
        rule = f"{self._name}-from-{role}"
        aws.vpc.SecurityGroupIngressRule(
            rule,
            security_group_id=self.security_group_id,
            referenced_security_group_id=security_group_id,
            ip_protocol="tcp",
            from_port=IAM_PORT,
            to_port=IAM_PORT,
            description=CLIENT_PORTS[0].description,
            tags={"Name": rule, **self._args.tags},
            opts=pulumi.ResourceOptions(parent=self),
        )
