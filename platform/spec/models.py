"""The environment spec: typed, validated models of a stack config file.

Field aliases are the keys a stack file uses (`osp:network`, `aws:region`), so validation
errors name exactly what the user wrote. Every model rejects unknown keys.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from ipaddress import IPv4Network
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from osp.platform import blueprints, limits
from osp.platform import cidr as addressing
from osp.platform.naming import REQUIRED_TAG_KEYS
from osp.platform.spec.addons import ClusterAddonsSpec

#: Problems found across fields are raised under this error type; its context carries a list
#: of (path, value, expected) triples that osp.platform.spec.problems turns into messages.
CROSS_FIELD_ERROR = "osp_cross_field"

ENVIRONMENT_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,14}[a-z0-9])?$")
MAX_SPEC_TAGS = 40  # AWS allows 50 per resource; osp's own tags and Name take the rest.


class Profile(StrEnum):
    """An environment profile: which preset supplies the defaults."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


class NatStrategy(StrEnum):
    """How private subnets reach the internet."""

    #: One NAT gateway in the first zone for all private subnets (cheap; one zone's outage
    #: cuts every zone's egress).
    SINGLE = "single"
    #: A NAT gateway per zone; each zone's private subnet routes through its own.
    PER_AZ = "per-az"


def _limit(constraint: limits.Constraint) -> AfterValidator:
    """A pydantic check by one of osp.platform.limits' rules (the components ask the same)."""

    def check(value: Any) -> Any:
        expected = constraint.problem(value)
        if expected is not None:
            raise ValueError(f"expected {expected}")
        return value

    return AfterValidator(check)


def _pattern(regex: str, expected: str):
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(expected)
        return value

    return AfterValidator(check)


Region = Annotated[str, _limit(limits.AWS_REGION)]
DomainName = Annotated[str, _limit(limits.DOMAIN_NAME)]
AccountId = Annotated[str, _limit(limits.ACCOUNT_ID)]
LogRetentionDays = Annotated[int, _limit(limits.LOG_RETENTION)]
RdsInstanceClass = Annotated[str, _limit(limits.RDS_INSTANCE_CLASS)]
CacheNodeType = Annotated[str, _limit(limits.CACHE_NODE_TYPE)]
MqInstanceType = Annotated[str, _limit(limits.MQ_INSTANCE_TYPE)]
IamRoleArn = Annotated[str, _limit(limits.IAM_ROLE_ARN)]
RecoveryWindowDays = Annotated[int, _limit(limits.SECRET_RECOVERY_WINDOW)]
# Where Pulumi keeps state: its own file and S3 backends, or Pulumi Cloud.
BackendUrl = Annotated[
    str, _pattern(r"(file://\S*|s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/\S*)?(\?\S*)?|https://\S+)",
                  "expected a Pulumi backend URL: s3://<bucket>[/prefix][?region=...], "
                  "file://<dir> or https://api.pulumi.com")
]  # fmt: skip
# How Pulumi encrypts secrets in state: a passphrase or a KMS key (what osp bootstrap makes).
SecretsProviderUrl = Annotated[
    str, _pattern(r"passphrase|default|awskms://\S+",
                  "expected a Pulumi secrets provider: awskms://alias/<name>?region=<region>, "
                  "passphrase or default")
]  # fmt: skip


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SubnetTier(_Model):
    """One subnet tier: the block its subnets come from, and each zone's subnet size."""

    cidr: IPv4Network = Field(description="Block the tier's zone subnets are carved from.")
    prefix_length: int = Field(
        ge=addressing.MIN_VPC_PREFIX,
        le=addressing.MAX_SUBNET_PREFIX,
        description="Prefix length of each zone's subnet; zone i gets the i-th one in the block.",
    )

    @model_validator(mode="after")
    def _fits(self) -> SubnetTier:
        if self.prefix_length < self.cidr.prefixlen:
            raise ValueError(
                f"prefix_length /{self.prefix_length} is larger than its block {self.cidr}; "
                f"expected /{self.cidr.prefixlen} to /{addressing.MAX_SUBNET_PREFIX}"
            )
        return self


class SubnetPlan(_Model):
    """The address plan of the three tiers. Defaults are carved from the VPC CIDR."""

    public: SubnetTier = Field(description="Load balancers and NAT gateways.")
    private: SubnetTier = Field(description="Workloads: EKS nodes and pods.")
    isolated: SubnetTier = Field(description="Data stores; no route to the internet.")

    @model_validator(mode="after")
    def _disjoint(self) -> SubnetPlan:
        tiers = [(name, getattr(self, name).cidr) for name in addressing.TIERS]
        for i, (a, block_a) in enumerate(tiers):
            for b, block_b in tiers[i + 1 :]:
                if block_a.overlaps(block_b):
                    raise ValueError(
                        f"{a} block {block_a} overlaps {b} block {block_b}; "
                        "expected each tier in a block of its own"
                    )
        return self


class NetworkSpec(_Model):
    """The VPC: its address space, zones and egress."""

    cidr: IPv4Network = Field(
        IPv4Network("10.0.0.0/16"),
        description="VPC CIDR block (/16 to /20 for the default subnet plan).",
    )
    zone_count: int | None = Field(
        None, ge=2, le=addressing.ZONE_SLOTS, description="Zones to spread over (profile default)."
    )
    availability_zones: tuple[str, ...] | None = Field(
        None,
        description="Zones by name; default: the region's first `zone_count` zones (a, b, c …).",
    )
    nat: NatStrategy = Field(NatStrategy.PER_AZ, description="NAT strategy (profile default).")
    subnets: SubnetPlan | None = Field(
        None, description="Explicit subnet plan; default carved from `cidr`."
    )
    flow_log_retention_days: LogRetentionDays = Field(
        365,
        description="Days VPC flow logs are kept, at least osp:logs.audit_retention_days "
        "(default: that value).",
    )
    interface_endpoints: bool = Field(
        True, description="Interface endpoints for ECR, STS, Secrets Manager, Logs, SQS."
    )

    @model_validator(mode="before")
    @classmethod
    def _default_plan(cls, data: Any) -> Any:
        # Carve the default plan here, where the VPC CIDR is known, so that the plan is
        # validated (and shown in errors) exactly like an explicit one.
        if isinstance(data, dict) and data.get("subnets") is None:
            try:
                vpc = IPv4Network(str(data.get("cidr", "10.0.0.0/16")))
            except ValueError:
                return data  # the cidr field reports it
            if addressing.MIN_VPC_PREFIX <= vpc.prefixlen <= addressing.MAX_VPC_PREFIX:
                return {**data, "subnets": addressing.default_plan(vpc)}
        return data

    @field_validator("cidr")
    @classmethod
    def _private_range(cls, value: IPv4Network) -> IPv4Network:
        if not value.is_private:
            raise ValueError("expected a private (RFC 1918) block such as 10.0.0.0/16")
        if not addressing.MIN_VPC_PREFIX <= value.prefixlen <= 24:
            raise ValueError("expected a prefix length between /16 and /24")
        return value

    @property
    def zones(self) -> tuple[str, ...]:
        """The zones, in slot order (resolved by EnvironmentSpec; never None once validated)."""
        return self.availability_zones or ()


class KeysSpec(_Model):
    """The customer KMS keys (one per data domain)."""

    deletion_window_days: Annotated[int, _limit(limits.KMS_DELETION_WINDOW_DAYS)] = Field(
        30, description="Waiting period on delete."
    )


class CapacityType(StrEnum):
    """How a node pool buys its instances."""

    #: On-demand instances: never reclaimed by AWS.
    ON_DEMAND = "ON_DEMAND"
    #: Spot instances: cheaper, reclaimed with two minutes' notice.
    SPOT = "SPOT"


class NodePoolSpec(_Model):
    """A managed node group."""

    instance_types: tuple[Annotated[str, _limit(limits.NODE_INSTANCE_TYPE)], ...] = Field(
        min_length=1
    )
    min_size: Annotated[int, _limit(limits.NODE_POOL_MIN_SIZE)]
    max_size: Annotated[int, _limit(limits.NODE_POOL_MAX_SIZE)]
    desired_size: Annotated[int, _limit(limits.NODE_POOL_MIN_SIZE)]
    capacity_type: CapacityType = CapacityType.ON_DEMAND
    disk_size_gib: Annotated[int, _limit(limits.NODE_DISK_GIB)] = 50

    @model_validator(mode="after")
    def _sizes(self) -> NodePoolSpec:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                f"expected min_size <= desired_size <= max_size, got {self.min_size} <= "
                f"{self.desired_size} <= {self.max_size}"
            )
        return self


class ApiAccess(StrEnum):
    """Where the cluster's Kubernetes API can be reached from (the deployer included: the
    same program installs Helm releases and Kubernetes objects through that endpoint)."""

    #: The private endpoint, and a public one open only to `api_allowed_cidrs` (public blocks:
    #: an office, a CI runner's NAT address). Until a block is named, the public endpoint stays
    #: off and `osp up` says what to add.
    PUBLIC_RESTRICTED = "public-restricted"
    #: The private endpoint only, reached from the VPC's private subnets and the private
    #: networks in `api_allowed_cidrs` (peered VPCs, a VPN): the deployer runs inside them.
    PRIVATE = "private"


#: The private address blocks (RFC 1918): what a private endpoint's deployers come from, and
#: what a public endpoint never sees.
RFC1918 = tuple(IPv4Network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))

#: The widest block a prod environment admits to its public API endpoint: an office's range
#: or a few NAT addresses, not a provider's whole network.
PROD_WIDEST_API_PREFIX = 24


class KarpenterLimitsSpec(_Model):
    """The most one Karpenter NodePool may hold over all its nodes together."""

    cpu: Annotated[int, _limit(limits.KARPENTER_CPU)] = Field(description="vCPUs.")
    memory_gib: Annotated[int, _limit(limits.KARPENTER_MEMORY_GIB)] = Field(
        description="Memory, GiB."
    )


# A module-level alias: inside KarpenterSpec, `limits` is the field of that name.
_ExpireAfterHours = Annotated[int, _limit(limits.KARPENTER_EXPIRE_AFTER_HOURS)]


class KarpenterSpec(_Model):
    """Karpenter: nodes added as pods need them and removed when they do not."""

    enabled: bool = Field(
        True,
        description="Install Karpenter and its NodePools; the managed workload node group is "
        "then not created (the system node group stays, for Karpenter and the add-ons).",
    )
    capacity_types: tuple[CapacityType, ...] = Field(
        (CapacityType.ON_DEMAND,),
        min_length=1,
        description="What the workload NodePool may buy: ON_DEMAND, SPOT or both (spot "
        "first, on demand when spot has none). The system NodePool is always ON_DEMAND.",
    )
    limits: KarpenterLimitsSpec = Field(
        default_factory=lambda: KarpenterLimitsSpec(cpu=64, memory_gib=256),
        description="Ceiling of the workload NodePool.",
    )
    system_limits: KarpenterLimitsSpec = Field(
        default_factory=lambda: KarpenterLimitsSpec(cpu=16, memory_gib=64),
        description="Ceiling of the system NodePool.",
    )
    expire_after_hours: _ExpireAfterHours = Field(
        720, description="A node is replaced after this long (patched AMI, no drift)."
    )

    @field_validator("capacity_types")
    @classmethod
    def _each_once(cls, value: tuple[CapacityType, ...]) -> tuple[CapacityType, ...]:
        if len(set(value)) != len(value):
            raise ValueError(
                f"expected each of ON_DEMAND and SPOT at most once, got {[v.value for v in value]}"
            )
        return value


class ClusterSpec(_Model):
    """The EKS cluster."""

    kubernetes_version: Annotated[str, _limit(limits.KUBERNETES_VERSION)] = "1.33"
    admin_role_arns: tuple[IamRoleArn, ...] = ()
    api_access: ApiAccess = Field(
        ApiAccess.PUBLIC_RESTRICTED,
        description="Where the Kubernetes API is reached from (profile default).",
    )
    api_allowed_cidrs: tuple[IPv4Network, ...] = Field(
        (),
        description="public-restricted: the public blocks the public endpoint admits; private: "
        "the private networks (besides the VPC's private subnets) admitted to the private one.",
    )
    log_retention_days: LogRetentionDays = Field(
        365,
        description="Days the control-plane log group keeps events, at least "
        "osp:logs.audit_retention_days (default: that value).",
    )
    log_types: tuple[Annotated[str, _limit(limits.EKS_LOG_TYPE)], ...] = Field(
        limits.EKS_LOG_TYPES,
        min_length=1,
        description="Control-plane log types sent to CloudWatch (profile default: all five in "
        "staging and prod).",
    )
    system_pool: NodePoolSpec
    workload_pool: NodePoolSpec = Field(
        description="The managed workload node group: created only when karpenter is off."
    )
    karpenter: KarpenterSpec = Field(default_factory=KarpenterSpec)
    addons: ClusterAddonsSpec = Field(
        default_factory=ClusterAddonsSpec,
        description="Optional add-ons: observability (none, in-cluster), gitops (none, argocd).",
    )

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "public_access_cidrs" in data:
            raise ValueError(
                "public_access_cidrs is now api_allowed_cidrs (with api_access: "
                "public-restricted, the default); rename the key"
            )
        return data

    @field_validator("api_allowed_cidrs")
    @classmethod
    def _not_the_world(cls, value: tuple[IPv4Network, ...]) -> tuple[IPv4Network, ...]:
        if any(net.prefixlen == 0 for net in value):
            raise ValueError(
                "expected the networks that may reach the API (such as 203.0.113.7/32), not "
                "the whole internet"
            )
        return value

    @field_validator("log_types")
    @classmethod
    def _each_once(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("expected each log type once")
        return value

    @field_validator("system_pool")
    @classmethod
    def _system_on_demand(cls, value: NodePoolSpec) -> NodePoolSpec:
        if value.capacity_type is not CapacityType.ON_DEMAND:
            raise ValueError("expected capacity_type ON_DEMAND: system pods must not be evicted")
        return value


class DatabaseSpec(_Model):
    """The shared PostgreSQL (RDS)."""

    engine_version: Annotated[str, _limit(limits.POSTGRES_VERSION)] = Field(
        "16", description="A major (minor upgrades are automatic) or a major.minor."
    )
    instance_class: RdsInstanceClass = "db.r6g.large"
    allocated_storage_gib: Annotated[int, _limit(limits.RDS_STORAGE_GIB)] = 100
    max_allocated_storage_gib: Annotated[int, _limit(limits.RDS_STORAGE_GIB)] = 1000
    multi_az: bool = True
    backup_retention_days: Annotated[int, _limit(limits.RDS_BACKUP_RETENTION_DAYS)] = 35
    performance_insights: bool = True
    monitoring_interval_seconds: Annotated[int, _limit(limits.RDS_MONITORING_INTERVAL)] = 60
    read_replicas: Annotated[int, _limit(limits.RDS_READ_REPLICAS)] = 0
    log_retention_days: LogRetentionDays = 365
    restore_from_snapshot: Annotated[str, _limit(limits.RDS_SNAPSHOT)] | None = Field(
        None,
        description="Create the primary from this DB snapshot (identifier or ARN; an AWS "
        "Backup recovery point's too) instead of empty. Changing it replaces the primary: "
        "docs/disaster-recovery.md#restore-the-database.",
    )

    @model_validator(mode="after")
    def _storage(self) -> DatabaseSpec:
        if self.max_allocated_storage_gib < self.allocated_storage_gib:
            raise ValueError(
                f"expected max_allocated_storage_gib ({self.max_allocated_storage_gib}) >= "
                f"allocated_storage_gib ({self.allocated_storage_gib})"
            )
        return self


class CacheEngine(StrEnum):
    REDIS = "redis"
    VALKEY = "valkey"


class CacheSpec(_Model):
    """The shared Redis (ElastiCache replication group)."""

    engine: CacheEngine = CacheEngine.REDIS
    engine_version: str | None = Field(None, description="Default: 7.1 for redis, 8.0 for valkey.")
    node_type: CacheNodeType = "cache.r7g.large"
    replicas: Annotated[int, _limit(limits.CACHE_REPLICAS)] = Field(
        1, description="Replicas of each shard's primary."
    )
    cluster_mode: bool = Field(
        False,
        description="Cluster mode: the keyspace split over `shards` shards behind one "
        "configuration endpoint (the services need a cluster-aware client).",
    )
    shards: Annotated[int, _limit(limits.CACHE_SHARDS)] = Field(
        1, description="Shards (node groups); more than 1 requires cluster_mode."
    )
    multi_az: bool = True
    snapshot_retention_days: Annotated[int, _limit(limits.CACHE_SNAPSHOT_RETENTION_DAYS)] = 7
    log_retention_days: LogRetentionDays = 365

    @field_validator("engine_version")
    @classmethod
    def _version_of_engine(cls, value: str | None, info: ValidationInfo) -> str | None:
        engine = info.data.get("engine")  # absent when the engine itself was refused
        if value is not None and engine is not None:
            expected = limits.CACHE_ENGINE_VERSIONS[engine.value].problem(value)
            if expected is not None:
                raise ValueError(f"expected {expected}")
        return value

    @model_validator(mode="after")
    def _replicas(self) -> CacheSpec:
        if self.multi_az and self.replicas == 0:
            raise ValueError(
                "expected replicas >= 1 for multi_az: a single-node cache has nothing to fail "
                "over to (set multi_az: false, or add a replica)"
            )
        if self.shards > 1 and not self.cluster_mode:
            raise ValueError(
                f"expected shards 1 without cluster_mode, got {self.shards}: only a cluster "
                "splits the keyspace over shards (set cluster_mode: true)"
            )
        nodes = self.shards * (1 + self.replicas)
        if nodes > limits.CACHE_MAX_NODES:
            raise ValueError(
                f"expected at most {limits.CACHE_MAX_NODES} nodes over all shards, got {nodes} "
                f"({self.shards} shards of {1 + self.replicas})"
            )
        return self


class BrokerDeploymentMode(StrEnum):
    SINGLE_INSTANCE = "SINGLE_INSTANCE"
    CLUSTER_MULTI_AZ = "CLUSTER_MULTI_AZ"


class BrokerSpec(_Model):
    """The shared RabbitMQ (Amazon MQ)."""

    engine_version: Annotated[str, _limit(limits.RABBITMQ_VERSION)] = "3.13"
    instance_type: MqInstanceType = "mq.m5.large"
    deployment_mode: BrokerDeploymentMode = BrokerDeploymentMode.CLUSTER_MULTI_AZ
    log_retention_days: LogRetentionDays = 365

    @model_validator(mode="after")
    def _size(self) -> BrokerSpec:
        if self.deployment_mode is BrokerDeploymentMode.CLUSTER_MULTI_AZ:
            expected = limits.MQ_CLUSTER_INSTANCE_TYPE.problem(self.instance_type)
            if expected is not None:
                # Where the broker sits in the stack file: the problem names the key itself.
                raise PydanticCustomError(
                    CROSS_FIELD_ERROR,
                    "1 problem",
                    {"problems": [("osp:broker.instance_type", self.instance_type, expected)]},
                )
        return self


class KafkaMonitoring(StrEnum):
    """How much MSK reports to CloudWatch beyond its free cluster-level metrics."""

    DEFAULT = "DEFAULT"
    PER_BROKER = "PER_BROKER"
    PER_TOPIC_PER_BROKER = "PER_TOPIC_PER_BROKER"
    PER_TOPIC_PER_PARTITION = "PER_TOPIC_PER_PARTITION"


class KafkaSpec(_Model):
    """The shared Apache Kafka (Amazon MSK, provisioned), for a blueprint whose transport is
    kafka: one broker per zone (or more, `brokers_per_zone`), so a zone's loss leaves the
    others serving every partition."""

    kafka_version: Annotated[str, _limit(limits.KAFKA_VERSION)] = "3.6.0"
    instance_type: Annotated[str, _limit(limits.MSK_INSTANCE_TYPE)] = "kafka.m7g.large"
    brokers_per_zone: Annotated[int, _limit(limits.MSK_BROKERS_PER_ZONE)] = 1
    storage_gib: Annotated[int, _limit(limits.MSK_STORAGE_GIB)] = Field(
        100, description="EBS storage of each broker, GiB."
    )
    enhanced_monitoring: KafkaMonitoring = KafkaMonitoring.PER_TOPIC_PER_BROKER
    log_retention_days: LogRetentionDays = 365


class SecretsSpec(_Model):
    """Secrets Manager settings."""

    recovery_window_days: RecoveryWindowDays = Field(
        30, description="0 deletes at once (dev); 7-30 keeps a deleted secret recoverable."
    )


HostedZoneId = Annotated[str, _limit(limits.HOSTED_ZONE_ID)]


class DnsSpec(_Model):
    """Route 53: the environment's public hosted zone."""

    zone_id: HostedZoneId | None = Field(
        None,
        description="An existing public hosted zone for osp:domain; default: osp creates one.",
    )
    dnssec: bool = Field(
        True,
        description="DNSSEC signing of the zone (a KMS key and key-signing key in us-east-1); "
        "the registrar must publish the dnssecDsRecord output. Off for an adopted zone "
        "another team signs.",
    )
    query_logging: bool = Field(
        True, description="Route 53 query logs of the zone, to a log group in us-east-1."
    )
    query_log_retention_days: LogRetentionDays = Field(
        365, description="Days the query log group keeps events (profile default)."
    )


class PriceClass(StrEnum):
    """CloudFront price classes: which edge locations serve the portals and the API."""

    NORTH_AMERICA_EUROPE = "PriceClass_100"
    MOST = "PriceClass_200"
    ALL = "PriceClass_All"


class EdgeSpec(_Model):
    """CloudFront in front of the portals and the API, and the log bucket behind them."""

    price_class: PriceClass = Field(
        PriceClass.NORTH_AMERICA_EUROPE, description="Edge locations used (profile default)."
    )
    access_logs: bool = Field(
        True, description="CloudFront standard logs to the log bucket (profile default)."
    )
    log_retention_days: int = Field(
        90, ge=1, le=3650, description="Days the log bucket keeps access logs."
    )
    url_signing_public_key: Annotated[str, _limit(limits.CLOUDFRONT_PUBLIC_KEY)] | None = Field(
        None,
        description="Public half (PEM) of the key that signs CloudFront URLs of the "
        "blueprint's signed bucket prefixes; the operator keeps the private half in the "
        "estate's URL-signing secret. None: signed prefixes are not served.",
    )


class WafSpec(_Model):
    """The WAFv2 web ACLs on CloudFront and on the load balancer."""

    rate_limit: int = Field(
        5000,
        ge=10,
        le=2_000_000_000,
        description="Requests per client IP per 5 minutes before it is blocked (seed 000: "
        "1 000 a minute per user).",
    )
    login_rate_limit: int = Field(
        100, ge=10, le=2_000_000_000, description="The same, on the login paths only."
    )
    login_paths: tuple[
        Annotated[str, _pattern(r"/[A-Za-z0-9._~/-]*", "expected a URL path such as /api/x")],
        ...,
    ] = Field(
        ("/api/identity/login", "/api/auth/login"),
        description="Path prefixes the login rate limit applies to.",
    )
    log_retention_days: LogRetentionDays = Field(
        365,
        description="Days the WAF log groups keep events, at least "
        "osp:logs.audit_retention_days (default: that value).",
    )


#: The log groups an auditor reads (stack-file key of each one's retention): the control
#: plane, every flow, every request the firewall judged. CloudTrail's trail keeps the same.
AUDIT_LOG_KEYS = (
    ("osp:cluster", "log_retention_days"),
    ("osp:network", "flow_log_retention_days"),
    ("osp:waf", "log_retention_days"),
)


class LogsSpec(_Model):
    """Log retention the environment's audit evidence needs."""

    audit_retention_days: LogRetentionDays = Field(
        365,
        description="The fewest days every audit-relevant log group keeps its events: the EKS "
        "control plane, VPC flow logs, WAF logs and the CloudTrail trail (profile default: "
        "dev 30, staging 90, prod 365). Each group's own key defaults to it and may only keep "
        "longer.",
    )


class StorageSpec(_Model):
    """The data buckets (media, documents, reports, backups)."""

    access_logging: bool = Field(
        True,
        description="S3 server access logs of every data and portal bucket, into the log "
        "bucket (on in every profile).",
    )
    noncurrent_version_expiry_days: int = Field(
        30, ge=1, le=3650, description="Days an overwritten or deleted object version is kept."
    )


class SmsType(StrEnum):
    """The SMS type an account sends by default."""

    #: Critical messages (one-time passwords, payment confirmations): delivered at the
    #: highest reliability, even to numbers that opted out of promotions.
    TRANSACTIONAL = "Transactional"
    #: Marketing: cheapest delivery.
    PROMOTIONAL = "Promotional"


class SmsSpec(_Model):
    """The account's SNS SMS settings, for a blueprint whose services send SMS.

    SNS keeps them per account and region, not per estate: two environments in one account
    that both set them overwrite each other (last writer wins), and both would create the same
    delivery-status log groups. So exactly one environment per account and region sets them
    (`account_settings: true`, the prod preset); the others send under those settings, or
    under AWS's defaults (a 1 USD monthly spend limit) in an account of their own.
    """

    account_settings: bool = Field(
        False,
        description="This environment sets the account's SMS preferences, delivery-status "
        "role and log groups (profile default: prod only).",
    )
    monthly_spend_limit_usd: Annotated[int, _limit(limits.SMS_MONTHLY_SPEND_LIMIT_USD)] = Field(
        1,
        description="Most the account spends on SMS in a month, in whole USD; SNS stops "
        "sending beyond it. Above 1, AWS Support must have raised the account's quota first.",
    )
    default_sms_type: SmsType = Field(
        SmsType.TRANSACTIONAL, description="Transactional (seed 000: payment confirmations)."
    )
    success_sampling_percent: Annotated[int, _limit(limits.SMS_SUCCESS_SAMPLING_PERCENT)] = Field(
        100, description="Share of successful deliveries logged; failures always are."
    )


class AuditSpec(_Model):
    """The account-level audit record and detection (components.audit.AccountAudit)."""

    organization_trail: bool = Field(
        False,
        description="The account's activity is already recorded by an AWS Organizations trail: "
        "no trail of its own, whatever cloudtrail says.",
    )
    cloudtrail: bool = Field(
        True,
        description="A multi-region CloudTrail trail with log file validation, KMS-encrypted, "
        "into the audit bucket (profile default).",
    )
    guardduty: bool = Field(
        True,
        description="A GuardDuty detector with EKS protection; one per account and region "
        "(profile default).",
    )
    config_recorder: bool = Field(
        True,
        description="An AWS Config recorder of every resource type; one per account and region "
        "(profile default).",
    )
    retention_days: int = Field(
        365, ge=1, le=3650, description="Days the audit bucket keeps trail and Config files."
    )

    @property
    def trail(self) -> bool:
        """Whether the environment keeps a trail of its own."""
        return self.cloudtrail and not self.organization_trail


#: The region an environment's copies go to when `osp:dr.region` is not stated: the nearest
#: region on another part of the continent (no shared power, network or weather).
DR_REGION_PAIRS = {
    "us-east-1": "us-west-2",
    "us-east-2": "us-west-2",
    "us-west-1": "us-east-1",
    "us-west-2": "us-east-1",
    "ca-central-1": "us-east-1",
    "eu-west-1": "eu-central-1",
    "eu-west-2": "eu-west-1",
    "eu-west-3": "eu-central-1",
    "eu-central-1": "eu-west-1",
    "eu-north-1": "eu-west-1",
    "ap-southeast-1": "ap-southeast-2",
    "ap-southeast-2": "ap-southeast-1",
    "ap-northeast-1": "ap-northeast-3",
    "ap-south-1": "ap-southeast-1",
}


class DrSpec(_Model):
    """Disaster recovery: AWS Backup, and copies of the student data in a second region
    (seed 003/004: RTO 4 h, RPO 1 h; monthly backups kept a year)."""

    region: Region | None = Field(
        None,
        description="The DR region: another region than aws:region. Default: the pair of "
        "aws:region (us-east-1 -> us-west-2, eu-west-1 -> eu-central-1 ...).",
    )
    cross_region: bool = Field(
        True,
        description="Copy every backup into a vault in the DR region and replicate the data "
        "buckets to buckets there (profile default: off in dev).",
    )
    replication_time_control: bool = Field(
        False,
        description="S3 Replication Time Control: 99.99% of objects replicated within 15 "
        "minutes, with replication metrics (profile default: on in prod, RPO <= 15 min).",
    )
    daily_retention_days: Annotated[int, _limit(limits.BACKUP_RETENTION_DAYS)] = Field(
        35, description="Days a daily backup is kept (profile default)."
    )
    monthly_retention_days: Annotated[int, _limit(limits.BACKUP_RETENTION_DAYS)] | None = Field(
        365,
        description="Days a monthly backup is kept (seed 004: a year); null takes none "
        "(profile default).",
    )
    continuous_backup: bool = Field(
        True,
        description="Continuous backup of the database and buckets: point-in-time restore "
        "to any second of the last `continuous_retention_days` (profile default).",
    )
    continuous_retention_days: Annotated[int, _limit(limits.BACKUP_CONTINUOUS_RETENTION_DAYS)] = (
        Field(35, description="Days of point-in-time restore (AWS Backup allows 1-35).")
    )
    vault_lock_min_retention_days: (
        Annotated[int, _limit(limits.BACKUP_VAULT_LOCK_MIN_RETENTION_DAYS)] | None
    ) = Field(
        None,
        description="Lock the vaults in compliance mode: no one, root included, can delete a "
        "recovery point younger than this (nor shorten its retention); null: no lock "
        "(profile default: prod). The lock is final 3 days after it is first applied.",
    )

    @model_validator(mode="after")
    def _lock_fits(self) -> DrSpec:
        shortest = [self.daily_retention_days]
        if self.continuous_backup:
            shortest.append(self.continuous_retention_days)
        minimum = self.vault_lock_min_retention_days
        if minimum is not None and minimum > min(shortest):
            raise ValueError(
                f"expected vault_lock_min_retention_days ({minimum}) <= the shortest retention "
                f"of the plan ({min(shortest)} days): a locked vault refuses recovery points "
                "kept for less"
            )
        monthly = self.monthly_retention_days
        if monthly is not None and monthly < self.daily_retention_days:
            raise ValueError(
                f"expected monthly_retention_days ({monthly}) >= daily_retention_days "
                f"({self.daily_retention_days})"
            )
        return self


class RegistrySpec(_Model):
    """ECR: one repository per bundled service."""

    keep_tagged_images: int = Field(
        20, ge=1, le=1000, description="Tagged images kept per repository; older ones expire."
    )
    untagged_expiry_days: int = Field(
        7, ge=1, le=365, description="Days before an untagged image expires."
    )


class MonitoringSpec(_Model):
    """CloudWatch alarms, the alarm topic and the dashboard."""

    alarm_emails: tuple[
        Annotated[str, _limit(limits.EMAIL_ADDRESS)],
        ...,
    ] = Field((), description="Who the alarm topic emails (each confirms once by email).")

    @field_validator("alarm_emails")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("expected each address once")
        return value


#: The fewest characters a waiver's reason may have: a sentence, not "ok" or "legacy".
WAIVER_REASON_MIN = 20


class WaiverSpec(_Model):
    """One accepted exception to a guardrail rule, with who accepted it, why, and until when."""

    rule: Annotated[str, _limit(limits.POLICY_RULE_ID)] = Field(
        description="The rule waived (`osp policy list` gives every id)."
    )
    resource: str = Field(
        description="The resource's name, or a shell-style pattern of names (`osp-prod-*-db`)."
    )
    reason: str = Field(
        description="Why the risk is accepted, in words a security reviewer can judge."
    )
    expires: date = Field(
        description="The last day the waiver holds (YYYY-MM-DD); after it the rule fails again."
    )
    approved_by: str = Field(description="Who accepted the risk.")

    @field_validator("resource", "approved_by")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("expected a name, not blanks")
        return value

    @field_validator("reason")
    @classmethod
    def _explained(cls, value: str) -> str:
        if len(value.strip()) < WAIVER_REASON_MIN:
            raise ValueError(
                f"expected a reason of at least {WAIVER_REASON_MIN} characters: why the risk "
                "is accepted, in words a security reviewer can judge"
            )
        return value


class PolicySpec(_Model):
    """The environment's guardrails (`osp policy check`)."""

    min_log_retention_days: LogRetentionDays = Field(
        30,
        description="The fewest days any log group of the environment may keep its events "
        "(profile default: dev 30, staging and prod 90).",
    )
    waivers: tuple[WaiverSpec, ...] = Field(
        (), description="Accepted exceptions; each names its rule, resource, reason and expiry."
    )


#: The EnvironmentSpec attribute of each AUDIT_LOG_KEYS section.
_SECTIONS = {"osp:cluster": "cluster", "osp:network": "network", "osp:waf": "waf"}


class EnvironmentSpec(_Model):
    """A whole environment, as its stack file and profile preset describe it."""

    name: str = Field(description="Environment name: the X of stacks/Pulumi.X.yaml.")
    profile: Profile = Field(alias="osp:profile", description="Preset the defaults come from.")
    blueprint: str = Field(
        "osp", alias="osp:blueprint", description="Which bundled estate to deploy."
    )
    region: Region = Field(alias="aws:region", description="AWS region of the environment.")
    account_id: AccountId | None = Field(
        None,
        alias="osp:account_id",
        description="AWS account the environment lives in (offline plans use it in ARNs).",
    )
    domain: DomainName = Field(
        alias="osp:domain", description="DNS name the portals and the API live under."
    )
    tags: dict[str, str] = Field(
        default_factory=dict, alias="osp:tags", description="Extra tags on every resource."
    )
    deletion_protection: bool = Field(
        False,
        alias="osp:deletion_protection",
        description="Deletion protection and Pulumi protect on every stateful resource.",
    )
    backend: BackendUrl | None = Field(
        None,
        alias="osp:backend",
        description="Pulumi state backend for real runs (default: osp's local file backend).",
    )
    secrets_provider: SecretsProviderUrl | None = Field(
        None,
        alias="osp:secrets_provider",
        description="Pulumi secrets provider for real runs (default: osp's passphrase).",
    )
    network: NetworkSpec = Field(default_factory=NetworkSpec, alias="osp:network")
    keys: KeysSpec = Field(default_factory=KeysSpec, alias="osp:keys")
    cluster: ClusterSpec = Field(alias="osp:cluster")
    database: DatabaseSpec = Field(default_factory=DatabaseSpec, alias="osp:database")
    cache: CacheSpec = Field(default_factory=CacheSpec, alias="osp:cache")
    broker: BrokerSpec = Field(default_factory=BrokerSpec, alias="osp:broker")
    kafka: KafkaSpec = Field(default_factory=KafkaSpec, alias="osp:kafka")
    secrets: SecretsSpec = Field(default_factory=SecretsSpec, alias="osp:secrets")
    dns: DnsSpec = Field(default_factory=DnsSpec, alias="osp:dns")
    edge: EdgeSpec = Field(default_factory=EdgeSpec, alias="osp:edge")
    waf: WafSpec = Field(default_factory=WafSpec, alias="osp:waf")
    logs: LogsSpec = Field(default_factory=LogsSpec, alias="osp:logs")
    storage: StorageSpec = Field(default_factory=StorageSpec, alias="osp:storage")
    registry: RegistrySpec = Field(default_factory=RegistrySpec, alias="osp:registry")
    audit: AuditSpec = Field(default_factory=AuditSpec, alias="osp:audit")
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec, alias="osp:monitoring")
    sms: SmsSpec = Field(default_factory=SmsSpec, alias="osp:sms")
    dr: DrSpec = Field(default_factory=DrSpec, alias="osp:dr")
    policy: PolicySpec = Field(default_factory=PolicySpec, alias="osp:policy")
    # Not a stack file key: the loader records where the environment's project keeps its
    # blueprints, so that the program plans the catalogue the environment was validated with.
    _library: blueprints.Library = PrivateAttr(default_factory=blueprints.Library)

    @property
    def library(self) -> blueprints.Library:
        """Where this environment's blueprint and preset are looked up: its project's own
        `blueprints/` folder first, then osp's (osp's only for a spec read from text)."""
        return self._library

    @model_validator(mode="before")
    @classmethod
    def _default_zones(cls, data: Any) -> Any:
        # The default zones need the region, so they are resolved at this level.
        if not isinstance(data, dict):
            return data
        network, region = data.get("osp:network"), data.get("aws:region")
        if (
            isinstance(network, dict)
            and network.get("availability_zones") is None
            and isinstance(region, str)
        ):
            count = network.get("zone_count")
            if isinstance(count, int) and 2 <= count <= addressing.ZONE_SLOTS:
                zones = [f"{region}{letter}" for letter in "abcdef"[:count]]
                data = {**data, "osp:network": {**network, "availability_zones": zones}}
        return data

    @model_validator(mode="before")
    @classmethod
    def _audit_retention(cls, data: Any) -> Any:
        # The audit groups keep osp:logs.audit_retention_days unless their own key says more;
        # filled here, where both are visible, so the components get one plain number each.
        if not isinstance(data, dict):
            return data
        logs = data.get("osp:logs")
        days = logs.get("audit_retention_days") if isinstance(logs, dict) else None
        if days is None:
            days = LogsSpec.model_fields["audit_retention_days"].default
        for section, key in AUDIT_LOG_KEYS:
            stated = data.get(section)
            if stated is None and section != "osp:cluster":  # the cluster's has no default
                stated = {}
            if isinstance(stated, dict) and key not in stated:
                data = {**data, section: {**stated, key: days}}
        return data

    @field_validator("blueprint")
    @classmethod
    def _known_blueprint(cls, value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("blueprints")
        if known is not None and value not in known:
            raise ValueError(f"expected one of the blueprints available: {', '.join(known)}")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_SPEC_TAGS:
            raise ValueError(f"expected at most {MAX_SPEC_TAGS} tags")
        for key, tag in value.items():
            if key in REQUIRED_TAG_KEYS or key.lower().startswith(("aws:", "osp:")):
                raise ValueError(
                    f"tag key {key!r} is reserved; expected keys not starting with 'aws:' or 'osp:'"
                )
            if not 1 <= len(key) <= 128 or len(tag) > 256:
                raise ValueError(
                    f"tag {key!r}: expected a key of 1-128 and a value of at most 256 characters"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EnvironmentSpec:
        problems: list[tuple[str, object, str]] = []
        net = self.network
        zones = net.availability_zones
        where = "osp:network.availability_zones"
        if zones is None:
            problems.append(
                (where, None, "a list of zones, or osp:network.zone_count to derive them")
            )
            zones = ()
        for zone in zones:
            if not re.fullmatch(re.escape(self.region) + r"[a-z]", zone):
                problems.append((where, zone, f"zones of {self.region}, such as {self.region}a"))
        if len(set(zones)) != len(zones):
            problems.append((where, list(zones), "each zone once"))
        if net.zone_count is not None and zones and net.zone_count != len(zones):
            problems.append(
                (
                    "osp:network.zone_count",
                    net.zone_count,
                    f"the number of availability_zones listed ({len(zones)}), or leave it out",
                )
            )
        minimum = 2 if self.profile is Profile.DEV else 3
        if zones and len(zones) < minimum:
            problems.append(
                (where, list(zones), f"at least {minimum} zones for a {self.profile} environment")
            )
        if not self.cluster.admin_role_arns:
            problems.append(
                (
                    "osp:cluster.admin_role_arns",
                    None,
                    "at least one IAM role ARN: the cluster grants its creator nothing, so "
                    "without one nobody can administer it",
                )
            )
        problems += self._api_access_problems()
        audit_days = self.logs.audit_retention_days
        for section, key in AUDIT_LOG_KEYS:
            days = getattr(getattr(self, _SECTIONS[section]), key)
            if days < audit_days:
                problems.append(
                    (
                        f"{section}.{key}",
                        days,
                        f"at least osp:logs.audit_retention_days ({audit_days}): the group is "
                        "audit evidence",
                    )
                )
        waf = self.waf
        if waf.login_rate_limit > waf.rate_limit:
            problems.append(
                (
                    "osp:waf.login_rate_limit",
                    waf.login_rate_limit,
                    f"at most rate_limit ({waf.rate_limit}): the login limit is the tighter one",
                )
            )
        if not waf.login_paths:
            problems.append(("osp:waf.login_paths", [], "at least one path prefix"))
        if self.profile is not Profile.DEV and self.cache.replicas == 0:
            problems.append(
                ("osp:cache.replicas", 0, f"at least 1 for a {self.profile} environment")
            )
        problems += self._dr_problems()
        if net.subnets is not None:
            for tier in addressing.TIERS:
                plan = getattr(net.subnets, tier)
                path = f"osp:network.subnets.{tier}"
                if not plan.cidr.subnet_of(net.cidr):
                    problems.append(
                        (f"{path}.cidr", str(plan.cidr), f"a block inside the VPC {net.cidr}")
                    )
                capacity = addressing.slots(plan.cidr, plan.prefix_length)
                if zones and capacity < len(zones):
                    problems.append(
                        (
                            f"{path}.prefix_length",
                            plan.prefix_length,
                            f"room for {len(zones)} zone subnets in {plan.cidr} "
                            f"(/{plan.prefix_length} gives {capacity})",
                        )
                    )
        elif net.cidr.prefixlen > addressing.MAX_VPC_PREFIX:
            problems.append(
                (
                    "osp:network.subnets",
                    None,
                    f"an explicit subnet plan: the default plan needs a VPC of "
                    f"/{addressing.MIN_VPC_PREFIX} to /{addressing.MAX_VPC_PREFIX}, got {net.cidr}",
                )
            )
        if problems:
            raise PydanticCustomError(
                CROSS_FIELD_ERROR,
                "{count} problems",
                {"count": len(problems), "problems": problems},
            )
        return self

    def _dr_problems(self) -> list[tuple[str, object, str]]:
        region = self.dr.region
        if region is None and self.region not in DR_REGION_PAIRS:
            return [
                (
                    "osp:dr.region",
                    None,
                    f"a DR region other than {self.region} (osp knows no pair for it), such "
                    "as us-west-2",
                )
            ]
        if region == self.region:
            return [
                (
                    "osp:dr.region",
                    region,
                    f"a region other than aws:region ({self.region}): a copy in the same "
                    "region goes down with it",
                )
            ]
        return []

    @property
    def dr_region(self) -> str:
        """The DR region: `osp:dr.region`, or the pair of the environment's region."""
        return self.dr.region or DR_REGION_PAIRS[self.region]

    def _api_access_problems(self) -> list[tuple[str, object, str]]:
        cluster, where = self.cluster, "osp:cluster.api_allowed_cidrs"
        problems: list[tuple[str, object, str]] = []
        for net in cluster.api_allowed_cidrs:
            private = any(net.subnet_of(block) for block in RFC1918)
            if cluster.api_access is ApiAccess.PRIVATE and not private:
                problems.append(
                    (where, str(net), "private networks (RFC 1918) with api_access private: "
                     "the private endpoint is reached over the VPC, peering or a VPN; for "
                     "public addresses set api_access: public-restricted")
                )  # fmt: skip
            elif cluster.api_access is ApiAccess.PUBLIC_RESTRICTED and private:
                problems.append(
                    (where, str(net), "public addresses with api_access public-restricted (the "
                     "public endpoint never sees a private one); to admit a private network to "
                     "the private endpoint set api_access: private")
                )  # fmt: skip
            elif (
                cluster.api_access is ApiAccess.PUBLIC_RESTRICTED
                and self.profile is Profile.PROD
                and net.prefixlen < PROD_WIDEST_API_PREFIX
            ):
                problems.append(
                    (where, str(net), f"a block of /{PROD_WIDEST_API_PREFIX} or narrower in a "
                     "prod environment (an office range or a CI runner's NAT address, such as "
                     "203.0.113.7/32)")
                )  # fmt: skip
        return problems

    @property
    def zones(self) -> tuple[str, ...]:
        return self.network.zones
