"""Reusable Pulumi components of the osp estate, one AWS building block per module.

    from osp.components import Network, NetworkArgs

Each takes a frozen, keyword-only args dataclass and never reads config or the environment.
"""

from osp.components.audit import AccountAudit, AccountAuditArgs
from osp.components.backup import Backup, BackupArgs, ProtectedKind, ProtectedResource
from osp.components.broker import RabbitMq, RabbitMqArgs
from osp.components.cache import Redis, RedisArgs
from osp.components.cdn import (
    ApiDistribution,
    ApiDistributionArgs,
    MediaDistribution,
    MediaDistributionArgs,
    StaticSite,
    StaticSiteArgs,
)
from osp.components.cluster import Cluster, ClusterArgs, NodePoolArgs, Taint, TaintEffect
from osp.components.database import Postgres, PostgresArgs
from osp.components.dns import Zone, ZoneArgs
from osp.components.email import EmailDomain, EmailDomainArgs
from osp.components.filesystem import (
    AccessPoint,
    FileSystem,
    FileSystemArgs,
    IaTransition,
    ThroughputMode,
)
from osp.components.firewall import WafScope, WebAcl, WebAclArgs
from osp.components.flink import FlinkApplication, FlinkApplicationArgs
from osp.components.function import BucketTriggers, BucketTriggersArgs, Function, FunctionArgs
from osp.components.gate import TenantGate, TenantGateArgs
from osp.components.health import HealthChecks, HealthChecksArgs, HealthEndpoint
from osp.components.karpenter import Karpenter, KarpenterArgs, NodePoolLimits
from osp.components.keys import KeyRing, KeyRingArgs
from osp.components.loadbalancer import ApiLoadBalancer, ApiLoadBalancerArgs, ServiceRoute
from osp.components.messaging import Queue, QueueArgs, Topic, TopicArgs
from osp.components.network import Network, NetworkArgs
from osp.components.observability import Monitoring, MonitoringArgs
from osp.components.parameters import (
    ParameterHierarchy,
    ParameterHierarchyArgs,
    ParameterValue,
)
from osp.components.registry import Registry, RegistryArgs
from osp.components.replication import BucketReplica, BucketReplicaArgs
from osp.components.rotation import Rotation, RotationTarget, SecretRotator, SecretRotatorArgs
from osp.components.schedule import Schedules, SchedulesArgs, ScheduleSpec
from osp.components.secrets import (
    GeneratedSecret,
    PlaceholderSecret,
    ServiceSecrets,
    ServiceSecretsArgs,
)
from osp.components.sms import SmsSettings, SmsSettingsArgs
from osp.components.storage import (
    Bucket,
    BucketArgs,
    LogBucket,
    LogBucketArgs,
    ObjectOwnership,
    OnDelete,
)
from osp.components.streaming import KafkaCluster, KafkaClusterArgs, KafkaTopicArgs
from osp.components.table import (
    AttributeType,
    BillingMode,
    GlobalSecondaryIndex,
    ProjectionType,
    ScalingBounds,
    StreamViewType,
    Table,
    TableArgs,
    TableAutoscaling,
)

__all__ = [
    "AccessPoint",
    "AccountAudit",
    "AccountAuditArgs",
    "ApiDistribution",
    "ApiDistributionArgs",
    "ApiLoadBalancer",
    "ApiLoadBalancerArgs",
    "AttributeType",
    "Backup",
    "BackupArgs",
    "BillingMode",
    "Bucket",
    "BucketArgs",
    "BucketReplica",
    "BucketReplicaArgs",
    "BucketTriggers",
    "BucketTriggersArgs",
    "Cluster",
    "ClusterArgs",
    "EmailDomain",
    "EmailDomainArgs",
    "FileSystem",
    "FileSystemArgs",
    "FlinkApplication",
    "FlinkApplicationArgs",
    "Function",
    "FunctionArgs",
    "GeneratedSecret",
    "GlobalSecondaryIndex",
    "HealthChecks",
    "HealthChecksArgs",
    "HealthEndpoint",
    "IaTransition",
    "KafkaCluster",
    "KafkaClusterArgs",
    "KafkaTopicArgs",
    "Karpenter",
    "KarpenterArgs",
    "KeyRing",
    "KeyRingArgs",
    "LogBucket",
    "LogBucketArgs",
    "MediaDistribution",
    "MediaDistributionArgs",
    "Monitoring",
    "MonitoringArgs",
    "Network",
    "NetworkArgs",
    "NodePoolArgs",
    "NodePoolLimits",
    "ObjectOwnership",
    "OnDelete",
    "ParameterHierarchy",
    "ParameterHierarchyArgs",
    "ParameterValue",
    "PlaceholderSecret",
    "Postgres",
    "PostgresArgs",
    "ProjectionType",
    "ProtectedKind",
    "ProtectedResource",
    "Queue",
    "QueueArgs",
    "RabbitMq",
    "RabbitMqArgs",
    "Redis",
    "RedisArgs",
    "Registry",
    "RegistryArgs",
    "Rotation",
    "RotationTarget",
    "ScalingBounds",
    "ScheduleSpec",
    "Schedules",
    "SchedulesArgs",
    "SecretRotator",
    "SecretRotatorArgs",
    "ServiceRoute",
    "ServiceSecrets",
    "ServiceSecretsArgs",
    "SmsSettings",
    "SmsSettingsArgs",
    "StaticSite",
    "StaticSiteArgs",
    "StreamViewType",
    "Table",
    "TableArgs",
    "TableAutoscaling",
    "Taint",
    "TaintEffect",
    "TenantGate",
    "TenantGateArgs",
    "ThroughputMode",
    "Topic",
    "TopicArgs",
    "WafScope",
    "WebAcl",
    "WebAclArgs",
    "Zone",
    "ZoneArgs",
]
