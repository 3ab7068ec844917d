"""What AWS and Kubernetes accept, each rule once: the spec's validation and the components'
argument checks both ask here, so the two can never disagree.

A rule is a `Constraint`: `constraint.problem(value)` is None when the value is accepted and
otherwise says what is allowed, in the words a message shows after "expected".
tests/platform/test_limits_agree.py feeds the same samples to the spec and to the components.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass


def is_int(value: object) -> bool:
    """An int that is not a bool (YAML's `true` must not pass for 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Constraint:
    """One rule on one kind of value, and how to say what it allows."""

    expected: str
    """What is allowed, as a message puts it after "expected"."""

    accepts: Callable[[object], bool]

    def problem(self, value: object) -> str | None:
        """None when `value` meets the rule, otherwise what is allowed."""
        return None if self.accepts(value) else self.expected


def pattern(regex: str, expected: str, *, flags: int = 0) -> Constraint:
    """Strings matching `regex` as a whole."""
    compiled = re.compile(regex, flags)
    return Constraint(expected, lambda v: isinstance(v, str) and bool(compiled.fullmatch(v)))


def whole_range(low: int, high: int, expected: str | None = None) -> Constraint:
    """Integers from `low` to `high`, both included."""
    return Constraint(
        expected or f"an integer from {low} to {high}",
        lambda v: is_int(v) and low <= v <= high,  # type: ignore[operator]
    )


def one_of(values: Collection[int | str], expected: str | None = None) -> Constraint:
    """One of `values` (integers are never matched by booleans)."""
    shown = ", ".join(map(str, values))
    return Constraint(
        expected or f"one of {shown}",
        lambda v: (is_int(v) or isinstance(v, str)) and v in values,
    )


def optional(constraint: Constraint, meaning: str = "") -> Constraint:
    """`constraint`, or None (`meaning` says what None does, e.g. " to create a zone")."""
    return Constraint(
        f"{constraint.expected}, or None{meaning}",
        lambda v: v is None or constraint.accepts(v),
    )


# --- Names -------------------------------------------------------------------------------

#: An RFC 1123 DNS label as DNS, Kubernetes (DNS-1123 label) and AWS accept it.
#: osp's own guardrail rule ids (osp.platform.policy), as waivers in stack files name them.
POLICY_RULE_ID = pattern(
    r"OSP-[A-Z][A-Z0-9]*-[1-9][0-9]*", "a rule id such as OSP-RDS-1 (see `osp policy list`)"
)

DNS_LABEL = pattern(
    r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?",
    "a DNS label (1-63 lower-case letters, digits and hyphens, not starting or ending with "
    "a hyphen)",
)

#: A Kubernetes DNS-1035 label (Service names): a DNS label that starts with a letter.
DNS_1035_LABEL = pattern(
    r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?",
    "a DNS-1035 label (1-63 lower-case letters, digits and hyphens, starting with a letter)",
)


def _is_domain(value: object) -> bool:
    if not isinstance(value, str) or len(value) > 253:
        return False
    labels = value.split(".")
    return (
        len(labels) >= 2
        and all(DNS_LABEL.accepts(label) for label in labels)
        and not labels[-1].isdigit()
    )


#: A public DNS name: two labels at least, lower case, a top-level label that is no number.
DOMAIN_NAME = Constraint(
    "a lower-case DNS name with at least two labels, such as school.example.com", _is_domain
)

#: An e-mail address CloudWatch/SNS subscriptions and SES accept.
EMAIL_ADDRESS = pattern(
    r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}",
    "an e-mail address such as platform@school.example.com",
)

#: Kubernetes label keys and values (a qualified name with an optional DNS-subdomain prefix).
_K8S_LABEL_PREFIX = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_K8S_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_K8S_LABEL_KEY = re.compile(rf"(?:(?P<prefix>{_K8S_LABEL_PREFIX})/)?{_K8S_LABEL_NAME}")


def _is_label_key(value: object) -> bool:
    match = _K8S_LABEL_KEY.fullmatch(value) if isinstance(value, str) else None
    return match is not None and len(match["prefix"] or "") <= 253


K8S_LABEL_KEY = Constraint(
    "a Kubernetes label key: [prefix/]name, the prefix a DNS subdomain of at most 253 "
    "characters, the name 1-63 letters, digits, '-', '_' or '.'",
    _is_label_key,
)
K8S_LABEL_VALUE = pattern(
    rf"({_K8S_LABEL_NAME})?",
    "a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', alphanumeric "
    "at both ends",
)

# --- Account-wide ------------------------------------------------------------------------

#: CloudFront takes certificates and web ACLs from this region only, and publishes its metrics
#: (and a CLOUDFRONT web ACL its logs) there.
CLOUDFRONT_REGION = "us-east-1"

#: A commercial, GovCloud or ISO region name.
AWS_REGION = pattern(
    r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d", "an AWS region such as us-east-1 or eu-west-2"
)

ACCOUNT_ID = pattern(r"\d{12}", "a 12-digit AWS account id, quoted, such as '123456789012'")

# --- ARNs --------------------------------------------------------------------------------

#: The partition part of an ARN: aws, aws-cn, aws-us-gov, aws-iso, …
_PARTITION = re.compile(r"aws(?:-[a-z]+)*")


def arn(
    service: str,
    resource: str,
    expected: str,
    *,
    regional: bool = True,
    in_account: bool = True,
    region: str | None = None,
) -> Constraint:
    """ARNs `arn:<partition>:<service>:<region>:<account>:<resource>` of one AWS service whose
    resource part matches `resource` (so no wildcards). The region and account follow
    AWS_REGION and ACCOUNT_ID, or are empty where the service's ARNs have none (IAM's have no
    region, S3 buckets' neither region nor account); `region` demands that one region."""
    resource_pattern = re.compile(resource)

    def accepts(value: object) -> bool:
        parts = value.split(":", 5) if isinstance(value, str) else []
        if len(parts) != 6:
            return False
        prefix, partition, named_service, in_region, account, rest = parts
        return (
            prefix == "arn"
            and _PARTITION.fullmatch(partition) is not None
            and named_service == service
            and (AWS_REGION.accepts(in_region) if regional else in_region == "")
            and (region is None or in_region == region)
            and (ACCOUNT_ID.accepts(account) if in_account else account == "")
            and resource_pattern.fullmatch(rest) is not None
        )

    return Constraint(expected, accepts)


#: An IAM role ARN, path included (`role/path/name`), in any partition.
IAM_ROLE_ARN = arn(
    "iam",
    r"role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}",
    "an IAM role ARN such as arn:aws:iam::123456789012:role/platform-admin",
    regional=False,
)
#: A KMS key ARN, never an alias: an alias ARN in a policy's Resource grants nothing, and
#: services that encrypt on our behalf resolve an alias in the caller's account.
KMS_KEY_ARN = arn(
    "kms",
    r"key/[A-Za-z0-9-]+",
    "a KMS key ARN (not an alias) such as arn:aws:kms:us-east-1:123456789012:key/<id>",
)
SNS_TOPIC_ARN = arn(
    "sns",
    r"[A-Za-z0-9_-]{1,256}(?:\.fifo)?",
    "an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:osp-prod-order-placed",
)
SQS_QUEUE_ARN = arn(
    "sqs",
    r"[A-Za-z0-9_-]{1,80}(?:\.fifo)?",
    "an SQS queue ARN such as arn:aws:sqs:us-east-1:123456789012:osp-prod-fee-order-placed",
)
S3_BUCKET_ARN = arn(
    "s3",
    r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
    "an S3 bucket ARN (the bucket, not its objects) such as arn:aws:s3:::osp-prod-media",
    regional=False,
    in_account=False,
)
SECRET_ARN = arn(
    "secretsmanager",
    r"secret:[A-Za-z0-9/_+=.@!-]+",
    "a Secrets Manager secret ARN such as "
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:osp-prod-jwt-AbCdEf",
)
TARGET_GROUP_ARN = arn(
    "elasticloadbalancing",
    r"targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]+",
    "a target group ARN such as "
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/osp-prod-fee/0123abcd",
)
#: CloudFront takes certificates and web ACLs from CLOUDFRONT_REGION only.
CLOUDFRONT_CERTIFICATE_ARN = arn(
    "acm",
    r"certificate/[0-9a-f-]+",
    f"an ACM certificate ARN in {CLOUDFRONT_REGION} (CloudFront takes certificates from "
    f"{CLOUDFRONT_REGION} only)",
    region=CLOUDFRONT_REGION,
)
CLOUDFRONT_WEB_ACL_ARN = arn(
    "wafv2",
    r"global/webacl/\S+",
    "the ARN of a WAFv2 web ACL of CLOUDFRONT scope "
    f"(arn:aws:wafv2:{CLOUDFRONT_REGION}:<account>:global/webacl/<name>/<id>)",
    region=CLOUDFRONT_REGION,
)
OIDC_PROVIDER_ARN = arn(
    "iam",
    r"oidc-provider/[A-Za-z0-9./_-]+",
    "an IAM OIDC provider ARN such as arn:aws:iam::123456789012:oidc-provider/"
    "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE",
    regional=False,
)

#: CloudFront Functions and KeyValueStores: names of 1-64 letters, digits, '-' and '_'.
CLOUDFRONT_FUNCTION_NAME = pattern(
    r"[A-Za-z0-9_-]{1,64}",
    "a CloudFront Function name: 1-64 letters, digits, hyphens and underscores",
)
CLOUDFRONT_KEY_VALUE_STORE_NAME = pattern(
    r"[A-Za-z0-9_-]{1,64}",
    "a CloudFront KeyValueStore name: 1-64 letters, digits, hyphens and underscores",
)
#: CloudFront's ARNs are global: no region. A store's ARN ends in its id (a UUID), not its name.
CLOUDFRONT_FUNCTION_ARN = arn(
    "cloudfront",
    r"function/[A-Za-z0-9_-]{1,64}",
    "a CloudFront Function ARN such as arn:aws:cloudfront::123456789012:function/osp-prod-gate",
    regional=False,
)
CLOUDFRONT_KEY_VALUE_STORE_ARN = arn(
    "cloudfront",
    r"key-value-store/[0-9a-f-]{36}",
    "a CloudFront KeyValueStore ARN such as "
    "arn:aws:cloudfront::123456789012:key-value-store/<uuid>",
    regional=False,
)

#: Route 53 hosted zone ids: Z and up to 31 more upper-case letters and digits.
HOSTED_ZONE_ID = pattern(
    r"Z[A-Z0-9]{1,31}", "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ"
)

# --- CloudWatch Logs, Secrets Manager ----------------------------------------------------

#: The retention periods (days) CloudWatch Logs accepts for a log group.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)  # fmt: skip
LOG_RETENTION = one_of(
    LOG_RETENTION_DAYS,
    "a CloudWatch Logs retention period: " + ", ".join(map(str, LOG_RETENTION_DAYS)),
)

#: Days a deleted secret stays recoverable: 0 deletes at once (ForceDeleteWithoutRecovery).
SECRET_RECOVERY_WINDOW = Constraint(
    "0 (delete at once) or 7 to 30",
    lambda v: is_int(v) and (v == 0 or 7 <= v <= 30),  # type: ignore[operator]
)

# --- RDS for PostgreSQL ------------------------------------------------------------------

#: Names a service's PostgreSQL role and database may never take: PostgreSQL's and RDS's own,
#: the databases every instance has, and those that mean another role when written unquoted
#: (`GRANT … TO current_user`). Prefixes: PostgreSQL reserves pg_, RDS uses rds for its own
#: roles (rdsadmin, rds_superuser, rds_iam …). Other keywords, such as `user`, are fine: every
#: statement quotes the name, and unquoted they are a syntax error, not another role.
POSTGRES_RESERVED_NAMES = frozenset(
    {"postgres", "public", "none", "current_role", "current_user", "session_user",
     "template0", "template1"}
)  # fmt: skip
POSTGRES_RESERVED_PREFIXES = ("pg_", "rds")
_POSTGRES_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


def _is_service_user(value: object) -> bool:
    return (
        isinstance(value, str)
        and _POSTGRES_NAME.fullmatch(value) is not None
        and value not in POSTGRES_RESERVED_NAMES
        and not value.startswith(POSTGRES_RESERVED_PREFIXES)
    )


#: A service's own PostgreSQL user (and database): what osp creates and grants rds_iam to.
POSTGRES_SERVICE_USER = Constraint(
    "a PostgreSQL name of the service's own: a lower-case letter, then up to 62 lower-case "
    "letters, digits or underscores; not "
    + ", ".join(sorted(POSTGRES_RESERVED_NAMES))
    + ", nor starting with pg_ or rds",
    _is_service_user,
)

#: PostgreSQL majors osp deploys (those RDS keeps in standard support).
POSTGRES_MAJOR_VERSIONS = ("14", "15", "16", "17")
POSTGRES_VERSION = pattern(
    rf"({'|'.join(POSTGRES_MAJOR_VERSIONS)})(\.\d+)?",
    f"a PostgreSQL version of major {', '.join(POSTGRES_MAJOR_VERSIONS)}, such as 16 or 16.4",
)

#: `db.<family>.<size>`: the family has a generation digit (db.serverless is Aurora's only),
#: sizes include metal (db.m6i.metal, db.r7i.metal-48xl).
RDS_INSTANCE_CLASS = pattern(
    r"db\.[a-z]+\d+[a-z-]*\.(micro|small|medium|large|\d*xlarge|metal(-\d+xl)?)",
    "an RDS instance class such as db.r6g.large",
)

#: gp3 storage of RDS for PostgreSQL, GiB.
RDS_STORAGE_GIB = whole_range(20, 65536)
RDS_BACKUP_RETENTION_DAYS = whole_range(1, 35)
#: A DB snapshot to restore from: its identifier (manual, `rds:` automated, or an AWS Backup
#: recovery point's `awsbackup:job-<id>`) or its ARN.
RDS_SNAPSHOT = pattern(
    r"(arn:aws[a-z-]*:rds:[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d:\d{12}:snapshot:)?"
    r"((rds|awsbackup):)?[A-Za-z](?!.*--)[A-Za-z0-9-]{0,254}(?<!-)",
    "an RDS snapshot identifier or ARN, such as osp-prod-db-2025-01-31 or "
    "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-<id>",
)

# --- AWS Backup --------------------------------------------------------------------------

#: Days a recovery point is kept (AWS Backup allows up to 100 years).
BACKUP_RETENTION_DAYS = whole_range(1, 36500)
#: Continuous backups (point-in-time restore of RDS and S3) keep at most 35 days.
BACKUP_CONTINUOUS_RETENTION_DAYS = whole_range(1, 35)
#: Vault lock: the shortest retention a locked vault accepts.
BACKUP_VAULT_LOCK_MIN_RETENTION_DAYS = whole_range(1, 36500)
RDS_MAX_READ_REPLICAS = 5
RDS_READ_REPLICAS = whole_range(0, RDS_MAX_READ_REPLICAS)
#: Enhanced Monitoring granularities RDS accepts; 0 turns it off.
RDS_MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)
RDS_MONITORING_INTERVAL = one_of(
    RDS_MONITORING_INTERVALS,
    f"one of {', '.join(map(str, RDS_MONITORING_INTERVALS))} (0 turns it off)",
)

# --- ElastiCache -------------------------------------------------------------------------

CACHE_NODE_TYPE = pattern(
    r"cache\.[a-z]+\d+[a-z]*\.(micro|small|medium|large|\d*xlarge)",
    "an ElastiCache node type such as cache.t4g.small or cache.r7g.large",
)
#: Replicas of each shard (a primary and up to five replicas).
CACHE_REPLICAS = whole_range(0, 5)
#: Shards (node groups) of a cluster-mode-enabled replication group, and the most nodes one
#: group may hold over all its shards (primaries and replicas together).
CACHE_SHARDS = whole_range(1, 500)
CACHE_MAX_NODES = 500
CACHE_SNAPSHOT_RETENTION_DAYS = whole_range(1, 35)
#: The engine versions osp deploys, per engine.
CACHE_ENGINE_VERSIONS = {
    "redis": pattern(r"7\.\d+", "a redis 7 version such as 7.1"),
    "valkey": pattern(r"7\.2|8\.\d+", "a valkey version: 7.2 or 8.0"),
}

# --- Amazon MQ for RabbitMQ --------------------------------------------------------------

MQ_INSTANCE_TYPE = pattern(
    r"mq\.[a-z]+\d+[a-z]*\.(micro|small|medium|large|\d*xlarge)",
    "an Amazon MQ instance type such as mq.m5.large",
)


def _clusters(value: object) -> bool:
    return MQ_INSTANCE_TYPE.accepts(value) and not value.startswith("mq.t3.")  # type: ignore[union-attr]


#: A CLUSTER_MULTI_AZ broker's instance type: Amazon MQ runs mq.t3 as SINGLE_INSTANCE only.
MQ_CLUSTER_INSTANCE_TYPE = Constraint(
    "an mq.m5.large or larger instance type: mq.t3 brokers run as SINGLE_INSTANCE only, never "
    "CLUSTER_MULTI_AZ",
    _clusters,
)
#: Oldest engine osp deploys: from 3.13 on, Amazon MQ takes `major.minor` and requires
#: automatic minor version upgrades, which is how osp runs every broker.
RABBITMQ_MIN_VERSION = (3, 13)


def _rabbitmq_version(value: object) -> bool:
    match = isinstance(value, str) and re.fullmatch(r"(\d+)\.(\d+)", value)
    return bool(match) and (int(match[1]), int(match[2])) >= RABBITMQ_MIN_VERSION  # type: ignore[index]


RABBITMQ_VERSION = Constraint(
    "a RabbitMQ major.minor version, 3.13 or later, such as 3.13", _rabbitmq_version
)

# --- Amazon MSK (Kafka) and Managed Service for Apache Flink -----------------------------

MSK_INSTANCE_TYPE = pattern(
    r"kafka\.[a-z]+\d+[a-z]*\.(small|large|\d*xlarge)",
    "an Amazon MSK broker instance type such as kafka.m7g.large or kafka.t3.small",
)
#: Oldest Kafka osp deploys: IAM access control and tiered storage are there from 3.5 on.
#: `x` is MSK's own spelling for "the latest patch, upgraded by MSK" (3.8.x).
KAFKA_MIN_VERSION = (3, 5)


def _kafka_version(value: object) -> bool:
    match = isinstance(value, str) and re.fullmatch(r"(\d+)\.(\d+)\.(\d+|x)", value)
    return bool(match) and (int(match[1]), int(match[2])) >= KAFKA_MIN_VERSION  # type: ignore[index]


KAFKA_VERSION = Constraint(
    "an Apache Kafka version MSK offers, 3.5 or later, such as 3.6.0 or 3.8.x", _kafka_version
)
#: EBS storage of each broker (MSK's bounds).
MSK_STORAGE_GIB = whole_range(1, 16384)
#: Brokers in each zone: MSK spreads brokers evenly over the client subnets.
MSK_BROKERS_PER_ZONE = whole_range(1, 10)
MSK_ENHANCED_MONITORING = one_of(
    ("DEFAULT", "PER_BROKER", "PER_TOPIC_PER_BROKER", "PER_TOPIC_PER_PARTITION")
)
#: Partitions of one topic (an MSK broker holds at most a few thousand; more per topic
#: only spreads one stream thinner).
KAFKA_PARTITIONS = whole_range(1, 1000)
#: Hours a topic keeps its records: an hour to a year.
KAFKA_RETENTION_HOURS = whole_range(1, 8760)
#: Parallelism of a Managed Flink application (KPUs × parallelism per KPU).
FLINK_PARALLELISM = whole_range(1, 64)
FLINK_RUNTIMES = ("FLINK-1_18", "FLINK-1_19", "FLINK-1_20")
FLINK_RUNTIME = one_of(FLINK_RUNTIMES)

# --- EC2, EKS ----------------------------------------------------------------------------

EC2_INSTANCE_TYPE = pattern(
    r"[a-z][a-z0-9-]*\.(nano|micro|small|medium|large|\d*xlarge|metal(-\d+xl)?)",
    "an EC2 instance type such as m6i.large",
)
#: Graviton families carry a "g" right after the generation digit: m7g, c6gn, r8gd, t4g.
ARM_INSTANCE_FAMILY = re.compile(r"[a-z]+\d+g[a-z]*(-[a-z]+)?\.")


def _is_x86(value: object) -> bool:
    return EC2_INSTANCE_TYPE.accepts(value) and not ARM_INSTANCE_FAMILY.match(value)  # type: ignore[arg-type]


#: What an EKS node pool of osp runs on: its AMI (AL2023_x86_64_STANDARD) is x86_64 only.
NODE_INSTANCE_TYPE = Constraint(
    "an x86_64 EC2 instance type such as m6i.large, not a Graviton (arm64) one: the node "
    "pools run x86_64 AMIs",
    _is_x86,
)
#: A node pool's size bounds (osp's, well inside EKS's quota of 1 000 nodes per group).
NODE_POOL_MIN_SIZE = whole_range(0, 100)
NODE_POOL_MAX_SIZE = whole_range(1, 100)
#: A node's root volume, GiB.
NODE_DISK_GIB = whole_range(20, 1000)
#: The most vCPUs and memory (GiB) a Karpenter NodePool may hold over all its nodes: at
#: least one node's worth, at most what osp would ever mean (a typo guard, not an AWS quota).
KARPENTER_CPU = whole_range(1, 10000, "a number of vCPUs from 1 to 10000")
KARPENTER_MEMORY_GIB = whole_range(1, 80000, "a number of GiB from 1 to 80000")
#: How long a Karpenter node lives before it is replaced (fresh AMI, no drift), hours.
KARPENTER_EXPIRE_AFTER_HOURS = whole_range(1, 8760, "hours from 1 to 8760 (a year)")

#: Kubernetes minors EKS runs in standard or extended support that osp deploys and tests.
KUBERNETES_VERSIONS = ("1.30", "1.31", "1.32", "1.33", "1.34")
KUBERNETES_VERSION = one_of(KUBERNETES_VERSIONS)
#: The EKS control-plane log types, in the EKS API's spelling.
EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
EKS_LOG_TYPE = one_of(EKS_LOG_TYPES, "an EKS control-plane log type: " + ", ".join(EKS_LOG_TYPES))

# --- VPC ---------------------------------------------------------------------------------

#: Entries a network ACL holds per direction by default (the quota goes to 40 on request).
NACL_ENTRIES_PER_DIRECTION = 20
#: A TCP or UDP port.
PORT = whole_range(1, 65535, "a port from 1 to 65535")
#: Remote administration ports, never admitted from the internet (FSBP EC2.21).
ADMIN_PORTS = (22, 3389)
LISTENER_PORT = Constraint(
    "a port from 1 to 65535, never SSH (22) or RDP (3389)",
    lambda v: PORT.accepts(v) and v not in ADMIN_PORTS,
)

# --- Route 53 health checks ---------------------------------------------------------------

#: Seconds between a checker's requests: Route 53 offers standard (30) and fast (10) only.
HEALTH_CHECK_INTERVAL = one_of((10, 30), "10 (fast) or 30 (standard) seconds")
#: Failed requests in a row that make an endpoint unhealthy.
HEALTH_CHECK_FAILURE_THRESHOLD = whole_range(1, 10)
#: The path a health check requests: absolute, at most 255 characters, no spaces.
HEALTH_CHECK_PATH = pattern(
    r"/\S{0,254}", "an absolute URL path such as /healthz (at most 255 characters)"
)

# --- KMS ---------------------------------------------------------------------------------

#: Days a key scheduled for deletion waits, and can be cancelled, before it is gone.
KMS_DELETION_WINDOW_DAYS = whole_range(7, 30)

# --- Container images (the OCI distribution spec) ----------------------------------------

IMAGE_TAG = pattern(
    r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
    "an image tag: up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'",
)
IMAGE_DIGEST = pattern(r"sha256:[0-9a-f]{64}", "a digest of the form sha256:<64 hex digits>")

# --- Secrets Manager names ---------------------------------------------------------------

#: Secrets Manager's longest secret name.
SECRET_NAME_MAX_LENGTH = 512
_SECRET_SEGMENT = r"[a-z0-9]+(?:[-_][a-z0-9]+)*"
#: One level of an osp secret name (Secrets Manager takes more; osp keeps names that are also
#: safe in shell loops, IAM resource patterns and Kubernetes keys).
SECRET_NAME = pattern(
    _SECRET_SEGMENT,
    "a name such as jwt-signing-key: lower-case letters and digits, with single '-' or '_' "
    "between them",
)
#: The namespace osp's secrets live under, `osp-prod` or `osp-prod/broker`.
SECRET_NAME_PREFIX = pattern(
    rf"{_SECRET_SEGMENT}(?:/{_SECRET_SEGMENT})*",
    "a namespace such as osp-prod: lower-case letters and digits, with single '-' or '_' "
    "between them and '/' between levels",
)

# --- CloudFront -----------------------------------------------------------------------------

#: Cache behaviours of one distribution, the default one included (CloudFront's quota).
CLOUDFRONT_MAX_CACHE_BEHAVIORS = 25
#: A key prefix a distribution serves as its own behaviour (`photos/` → `photos/*`).
CLOUDFRONT_PATH_PREFIX = Constraint(
    "a key prefix such as photos/ or branding/logos/: lower-case segments of letters, "
    "digits, '.', '_' and '-', each ending in '/', at most 100 characters",
    lambda v: (
        isinstance(v, str)
        and len(v) <= 100
        and re.fullmatch(r"([a-z0-9][a-z0-9._-]*/)+", v) is not None
    ),
)
#: A CloudFront public key for signed URLs: an RSA 2048 public key, PEM-encoded (SPKI).
CLOUDFRONT_PUBLIC_KEY = pattern(
    r"-----BEGIN PUBLIC KEY-----\s*(?:[A-Za-z0-9+/=]+\s*){5,}-----END PUBLIC KEY-----\s*",
    "an RSA 2048 public key in PEM, -----BEGIN PUBLIC KEY----- … -----END PUBLIC KEY----- "
    "(openssl rsa -pubout)",
)

# --- SNS -----------------------------------------------------------------------------------

#: Keys (attribute names) one subscription filter policy may name.
SNS_FILTER_POLICY_MAX_KEYS = 5
#: Combinations one filter policy may express: the product of its keys' list lengths.
SNS_FILTER_POLICY_MAX_COMBINATIONS = 150
#: Largest magnitude of a number a filter policy compares against (SNS: ±10^9).
SNS_FILTER_POLICY_MAX_NUMBER = 10**9
#: SNS's SMS spend limit is whole US dollars per month; above 1 USD an account must ask AWS
#: Support to raise its quota first, which osp cannot check.
SMS_MONTHLY_SPEND_LIMIT_USD = whole_range(
    1,
    1_000_000,
    "whole US dollars per month from 1 to 1000000 (above 1, the account's SNS "
    "SMS spending quota must have been raised by AWS Support first)",
)
#: Share of successful SMS deliveries whose status SNS logs, in percent.
SMS_SUCCESS_SAMPLING_PERCENT = whole_range(0, 100, "a percentage from 0 to 100")

# --- osp's own input files (stack files, catalogues, presets, tier blueprints) -----------

#: The largest YAML file osp reads. The bundled catalogues are under 10 KiB and stack files
#: under 2 KiB: a file a hundred times that is a mistake or an attack, and is refused before
#: it is parsed.
YAML_MAX_BYTES = 256 * 1024
#: The most nodes a YAML document may hold once its aliases are expanded. Aliases are YAML's
#: way to repeat a subtree; nested, ten of them in 760 bytes expand to a billion nodes
#: ("billion laughs"). No osp file needs a tenth of this.
YAML_MAX_NODES = 20_000
#: The deepest nesting of mappings and lists. A stack file is five levels deep at most; the
#: YAML parser recurses once per level, so a file of ten thousand `[` would crash it.
YAML_MAX_DEPTH = 32

# --- osp's own files -------------------------------------------------------------------

#: The most the plan cache (`<osp home>/cache/plans/`) may hold: a prod plan is about 1.2 MB
#: as cached, so this keeps some hundred and sixty; beyond it the least recently used go first.
PLAN_CACHE_MAX_BYTES = 200 * 1024 * 1024

# --- Pulumi --------------------------------------------------------------------------------

#: A Pulumi URN, `urn:pulumi:<stack>::<project>::<type>::<name>`: the type is a type token
#: (`aws:s3/bucket:Bucket`), qualified by its parents' (`osp:network:Network$aws:ec2/vpc:Vpc`);
#: the name is the rest, whatever it holds.
PULUMI_URN = pattern(
    r"urn:pulumi:[^:\s]+::[^:\s]+::(?:[^:\s]|:(?!:))+::\S.*",
    "a Pulumi URN, urn:pulumi:<stack>::<project>::<type>::<name>, as `osp preview --json` "
    "lists them",
)


def urn_stack(urn: str) -> str:
    """The stack of a URN that PULUMI_URN accepts."""
    return urn.removeprefix("urn:pulumi:").split("::", 1)[0]


# --- Lambda, EventBridge Scheduler --------------------------------------------------------

#: Memory of a function, in MiB: Lambda's own range (CPU scales with it).
LAMBDA_MEMORY_MIB = whole_range(128, 10240, "a memory size in MiB from 128 to 10240")
#: Seconds a function may run: Lambda stops it at 15 minutes.
LAMBDA_TIMEOUT_SECONDS = whole_range(1, 900, "seconds from 1 to 900 (Lambda's 15 minutes)")
#: Concurrent executions reserved for one function. An account's default quota is 1000, of
#: which Lambda keeps 100 unreserved for every other function.
LAMBDA_RESERVED_CONCURRENCY = whole_range(
    1,
    900,
    "a number of concurrent executions from 1 to 900 (Lambda keeps 100 of an account's "
    "1000 unreserved)",
)
#: Lambda runtimes past their deprecation date in AWS Lambda's runtime schedule: no security
#: patches, and AWS blocks creating and then updating functions on them (nodejs20.x on
#: 2026-04-30, dotnet8 on 2026-11-10, with .NET 8's end of support). A catalogue refuses them
#: and the guardrail OSP-LAMBDA-2 fails a function on one. Add a runtime on its deprecation
#: date, and take it out of LAMBDA_RUNTIMES.
LAMBDA_DEPRECATED_RUNTIMES = frozenset(
    {
        "dotnet5.0",
        "dotnet6",
        "dotnet7",
        "dotnet8",
        "dotnetcore1.0",
        "dotnetcore2.0",
        "dotnetcore2.1",
        "dotnetcore3.1",
        "go1.x",
        "java8",
        "nodejs",
        "nodejs10.x",
        "nodejs12.x",
        "nodejs14.x",
        "nodejs16.x",
        "nodejs18.x",
        "nodejs20.x",
        "nodejs4.3",
        "nodejs4.3-edge",
        "nodejs6.10",
        "nodejs8.10",
        "provided",
        "python2.7",
        "python3.6",
        "python3.7",
        "python3.8",
        "python3.9",
        "ruby2.5",
        "ruby2.7",
        "ruby3.2",
    }
)
#: The managed runtimes osp accepts for a zip artifact: the ones AWS has not deprecated.
LAMBDA_RUNTIMES = (
    "python3.11", "python3.12", "python3.13", "nodejs22.x", "java17", "java21", "ruby3.3",
    "provided.al2023",
)  # fmt: skip
LAMBDA_RUNTIME = one_of(LAMBDA_RUNTIMES, "a Lambda runtime: " + ", ".join(LAMBDA_RUNTIMES))
#: A handler as the runtimes name one (`index.handler`, `Namespace::Class::Method`).
LAMBDA_HANDLER = pattern(
    r"[A-Za-z0-9_$./:-]{1,128}", "a handler such as index.handler (at most 128 characters)"
)
#: Messages one invocation receives from an SQS queue without a batching window.
LAMBDA_SQS_BATCH_SIZE = whole_range(1, 10, "a batch size from 1 to 10")
#: An EventBridge Scheduler expression: a rate, a six-field cron, or a one-time `at`.
SCHEDULE_EXPRESSION = pattern(
    r"rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)"
    r"|cron\((\S+ ){5}\S+\)"
    r"|at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\)",
    "a schedule expression: rate(<n> minutes|hours|days), cron(<minutes> <hours> "
    "<day-of-month> <month> <day-of-week> <year>) or at(yyyy-mm-ddThh:mm:ss)",
)
#: Minutes a schedule may fire after its time (spreading load); Scheduler allows 1 to 1440.
SCHEDULE_FLEXIBLE_WINDOW_MINUTES = whole_range(1, 1440, "minutes from 1 to 1440")
#: Attempts Scheduler makes to deliver one invocation beyond the first.
SCHEDULE_MAX_ATTEMPTS = whole_range(0, 185)
#: Seconds Scheduler keeps retrying an undelivered invocation.
SCHEDULE_MAX_EVENT_AGE_SECONDS = whole_range(60, 86400, "seconds from 60 to 86400 (a day)")
