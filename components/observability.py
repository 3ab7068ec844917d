"""`Monitoring`: the alarms, alarm topic and dashboard of one environment."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from osp.components import _checks
from osp.platform import iam
from osp.platform.naming import fit

TOKEN = "osp:observability:Monitoring"

#: CloudFront publishes its metrics in this region only (dimension `Region=Global`), so its
#: alarms, and the topic they notify, must live there too.
CLOUDFRONT_REGION = "us-east-1"

#: What KMS must let CloudWatch do with the key of an alarm topic: publishing to an
#: encrypted topic means generating and reading its data keys.
KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey*")

_ENVIRONMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# A thing's name inside an alarm name: a DNS-label-like slug.
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}")
# The dimension values CloudWatch expects, which are not whole ARNs.
_LOAD_BALANCER_SUFFIX = re.compile(r"app/[A-Za-z0-9-]{1,32}/[0-9a-f]+")
_TARGET_GROUP_SUFFIX = re.compile(r"targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]+")
_DISTRIBUTION_ID = re.compile(r"E[A-Z0-9]{5,}")

_GIB = 1024**3
_MAX_STORAGE_GIB = 65536
# PostgreSQL's own ceiling for max_connections.
_MAX_CONNECTIONS = 262143


@dataclass(frozen=True, kw_only=True)
class MonitoringArgs:
    """Arguments of `Monitoring`. Each data store or entry point left empty gets no alarms."""

    environment: str
    """Prefix of every alarm name (`<environment>-<thing>-<metric>`), the alarm topic's name
    and the dashboard's name, such as `osp-prod`: 1–64 letters, digits, `-` and `_`."""

    kms_key_arn: pulumi.Input[str]
    """Customer KMS key that encrypts the alarm topic. Its key policy must let
    `cloudwatch.amazonaws.com` use it (`key_policy_statement`), or alarms deliver nothing."""

    alarm_emails: Sequence[str] = ()
    """Addresses subscribed to the alarm topic (each must confirm the subscription from the
    e-mail AWS sends). Default: none; subscribe other endpoints to `alarm_topic_arn`."""

    load_balancer_arn_suffix: pulumi.Input[str] | None = None
    """The API load balancer's ARN suffix (`app/<name>/<id>`, not the whole ARN): the API
    error-rate alarm. Default: none, and no such alarm."""

    target_groups: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Service → its target group's ARN suffix (`targetgroup/<name>/<id>`): a healthy-hosts
    alarm each. Needs `load_balancer_arn_suffix`."""

    database_instance_ids: Sequence[pulumi.Input[str]] = ()
    """RDS instance identifiers, the primary first, then its replicas: CPU, connections and
    free-storage alarms for each."""

    database_allocated_storage_gib: int | None = None
    """Storage allocated to each database instance: the free-storage alarm fires below
    `database_free_storage_percent` of it. Default: none, and no free-storage alarms."""

    database_max_connections: int | None = None
    """The instances' `max_connections`: the connections alarm fires above
    `database_connections_percent` of it. Default: none, and no connections alarms."""

    cache_cluster_ids: Sequence[pulumi.Input[str]] = ()
    """ElastiCache member cluster ids (one per node of the replication group): memory and
    engine-CPU alarms for each."""

    broker_name: pulumi.Input[str] | None = None
    """Amazon MQ for RabbitMQ broker name (the `Broker` dimension): memory and disk alarms."""

    dead_letter_queue_names: Sequence[pulumi.Input[str]] = ()
    """SQS dead-letter queues: an alarm each as soon as one message is in it."""

    distributions: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Name → CloudFront distribution id: a 5xx error-rate alarm each."""

    edge_provider: pulumi.ProviderResource | None = None
    """A provider for us-east-1, where CloudFront's metrics are. Given, the CloudFront alarms
    and a second alarm topic for them (same e-mails, key `edge_kms_key_arn`) are created
    through it. Default: none; the caller states that the stack itself is in us-east-1, and
    the CloudFront alarms notify the main topic."""

    edge_kms_key_arn: pulumi.Input[str] | None = None
    """Customer KMS key in us-east-1 for the edge alarm topic (a key never leaves its region).
    Required with `edge_provider` and distributions; same key policy statement."""

    error_rate_percent: float = 5.0
    """API and CloudFront 5xx error rate (% of requests) that, held 5 minutes, alarms."""

    cpu_percent: float = 80.0
    """Database CPU and Redis engine CPU (%) that, held 10 minutes, alarms."""

    memory_percent: float = 80.0
    """Redis memory (% of maxmemory) and RabbitMQ memory (% of its high watermark) that, held
    5 minutes, alarms."""

    database_connections_percent: float = 80.0
    """Share of `database_max_connections` (%) above which the connections alarm fires."""

    database_free_storage_percent: float = 10.0
    """Share of `database_allocated_storage_gib` (%) below which the free-storage alarm fires."""

    broker_disk_free_margin: float = 2.0
    """The broker disk alarm fires when free disk falls below this many times RabbitMQ's own
    disk limit (`RabbitMQDiskFreeLimit`, where it blocks every publisher): more than 1, at
    most 10."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every taggable resource (topics and alarms)."""


def key_policy_statement(*, partition: str, account: str, region: str) -> dict[str, Any]:
    """The key-policy statement that lets CloudWatch alarms of `account` in `region` publish
    to a topic encrypted with the key (for the key's own policy, in the key's region)."""
    return {
        "Sid": "CloudWatchAlarmsPublishToEncryptedTopics",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": list(KEY_ACTIONS),
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account}:alarm:*"},
        },
    }


def topic_policy(
    *, topic_arn: str, partition: str, account: str, region: str, environment: str
) -> str:
    """The alarm topic's policy: the account manages it, and CloudWatch may publish to it on
    behalf of this environment's alarms only (the confused-deputy conditions)."""
    return iam.policy(
        {
            "Sid": "AccountManages",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
            "Action": [
                "sns:AddPermission",
                "sns:DeleteTopic",
                "sns:GetTopicAttributes",
                "sns:ListSubscriptionsByTopic",
                "sns:Publish",
                "sns:RemovePermission",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
            ],
            "Resource": topic_arn,
        },
        {
            "Sid": "CloudWatchAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {
                    "aws:SourceArn": (
                        f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{environment}-*"
                    )
                },
            },
        },
    )


def problems(name: str, args: MonitoringArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    out: list[str] = []

    def bad(arg: str, value: object, expected: str) -> None:
        out.append(f"Monitoring {name}: {arg}: got {value!r}; expected {expected}")

    if not isinstance(args.environment, str) or not _ENVIRONMENT.fullmatch(args.environment):
        bad("environment", args.environment,
            "1-64 letters, digits, '-' or '_', starting with a letter or digit")  # fmt: skip

    if isinstance(args.alarm_emails, str):
        bad("alarm_emails", args.alarm_emails, "a list of e-mail addresses, not one string")
    else:
        seen: set[str] = set()
        for index, email in enumerate(args.alarm_emails):
            if not isinstance(email, str) or not _EMAIL.fullmatch(email):
                bad(f"alarm_emails[{index}]", email, "an e-mail address such as ops@example.com")
            elif email.lower() in seen:
                bad(f"alarm_emails[{index}]", email, "each address at most once")
            else:
                seen.add(email.lower())

    def labels(arg: str, names: Mapping[str, object]) -> None:
        for key in names:
            if not isinstance(key, str) or not _LABEL.fullmatch(key):
                bad(f"{arg} key", key, "a name of lower-case letters, digits and '-' "
                    "(it goes into alarm names)")  # fmt: skip

    def literal(arg: str, value: object, pattern: re.Pattern[str], expected: str) -> None:
        # Values from other resources are Outputs; only literal strings can be checked.
        if isinstance(value, str) and not pattern.fullmatch(value):
            bad(arg, value, expected)

    def once_each(arg: str, values: Sequence[object], what: str) -> None:
        if isinstance(values, str):
            bad(arg, values, f"a list of {what}, not one string")
            return
        literals = [v for v in values if isinstance(v, str)]
        for value in sorted({v for v in literals if literals.count(v) > 1}):
            bad(arg, value, f"each {what.rstrip('s')} at most once")
        for index, value in enumerate(values):
            if isinstance(value, str) and not value:
                bad(f"{arg}[{index}]", value, f"a non-empty {what.rstrip('s')}")

    literal(
        "load_balancer_arn_suffix",
        args.load_balancer_arn_suffix,
        _LOAD_BALANCER_SUFFIX,
        "an application load balancer's ARN suffix app/<name>/<id>, not its whole ARN",
    )
    labels("target_groups", args.target_groups)
    for service, suffix in args.target_groups.items():
        literal(
            f"target_groups[{service!r}]",
            suffix,
            _TARGET_GROUP_SUFFIX,
            "a target group's ARN suffix targetgroup/<name>/<id>, not its whole ARN",
        )
    once_each("target_groups", list(args.target_groups.values()), "target groups")
    if args.target_groups and args.load_balancer_arn_suffix is None:
        out.append(
            f"Monitoring {name}: target_groups: need load_balancer_arn_suffix (the "
            "healthy-hosts metric is per target group and load balancer); got none"
        )

    once_each("database_instance_ids", args.database_instance_ids, "instance ids")
    for arg, value, high in (
        ("database_allocated_storage_gib", args.database_allocated_storage_gib, _MAX_STORAGE_GIB),
        ("database_max_connections", args.database_max_connections, _MAX_CONNECTIONS),
    ):
        if value is None:
            continue
        if not _checks.is_int(value) or not 1 <= value <= high:
            bad(arg, value, f"an integer from 1 to {high}, or None")
        elif not args.database_instance_ids:
            bad(arg, value, "None when there are no database_instance_ids")

    once_each("cache_cluster_ids", args.cache_cluster_ids, "cluster ids")
    if isinstance(args.broker_name, str) and not args.broker_name:
        bad("broker_name", args.broker_name, "a broker name, or None")
    once_each("dead_letter_queue_names", args.dead_letter_queue_names, "queue names")

    labels("distributions", args.distributions)
    for key, ident in args.distributions.items():
        literal(f"distributions[{key!r}]", ident, _DISTRIBUTION_ID,
                "a CloudFront distribution id such as E2QWRUHAPOMQZL")  # fmt: skip
    once_each("distributions", list(args.distributions.values()), "distribution ids")
    if args.edge_provider is None and args.edge_kms_key_arn is not None:
        bad("edge_kms_key_arn", args.edge_kms_key_arn, "None without edge_provider (the "
            "CloudFront alarms then use the main topic)")  # fmt: skip
    if args.edge_provider is not None and args.distributions and args.edge_kms_key_arn is None:
        bad("edge_kms_key_arn", None, "a KMS key in us-east-1 for the edge alarm topic "
            "(required with edge_provider and distributions)")  # fmt: skip

    for arg in (
        "error_rate_percent",
        "cpu_percent",
        "memory_percent",
        "database_connections_percent",
        "database_free_storage_percent",
    ):
        value = getattr(args, arg)
        if not _is_number(value) or not 0 < value < 100:
            bad(arg, value, "a percentage above 0 and below 100")
    margin = args.broker_disk_free_margin
    if not _is_number(margin) or not 1 < margin <= 10:
        bad("broker_disk_free_margin", margin, "a factor above 1 and at most 10")
    return out


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _g(value: float) -> str:
    """A threshold as people write it: 80, 2.5, 10737418240."""
    return f"{value:g}" if value < 1e6 else str(int(value))


@dataclass(frozen=True)
class _Metric:
    """One CloudWatch metric of an alarm (math alarms have several, each with an id)."""

    namespace: str
    metric_name: str
    dimensions: Mapping[str, pulumi.Input[str]]
    stat: str
    id: str = "m1"


@dataclass(frozen=True)
class _Alarm:
    """What one alarm watches and when it fires; both the alarm and the dashboard use it."""

    thing: str
    metric: str
    widget: str
    label: str
    metrics: tuple[_Metric, ...]
    comparison: str
    threshold: float
    period: int
    evaluation_periods: int
    treat_missing_data: str
    description: pulumi.Input[str]
    expression: str | None = None
    edge: bool = False

    def name(self, environment: str) -> str:
        return f"{environment}-{self.thing}-{self.metric}"


def _alarms(args: MonitoringArgs) -> list[_Alarm]:
    """Every alarm `args` asks for, in a stable order."""
    found: list[_Alarm] = []
    rate, cpu, memory = args.error_rate_percent, args.cpu_percent, args.memory_percent
    elb = "AWS/ApplicationELB"

    if args.load_balancer_arn_suffix is not None:
        lb = {"LoadBalancer": args.load_balancer_arn_suffix}
        found.append(
            _Alarm(
                thing="api",
                metric="5xx-rate",
                widget="API 5xx error rate (%)",
                label="5xx / requests",
                metrics=(
                    _Metric(elb, "HTTPCode_Target_5XX_Count", lb, "Sum", "target5xx"),
                    _Metric(elb, "HTTPCode_ELB_5XX_Count", lb, "Sum", "elb5xx"),
                    _Metric(elb, "RequestCount", lb, "Sum", "requests"),
                ),
                # The 5xx counts are not published for minutes without any: FILL makes them 0
                # so that one missing series does not blank the sum. No requests → no data.
                expression="100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests",
                comparison="GreaterThanThreshold",
                threshold=rate,
                period=60,
                evaluation_periods=5,
                treat_missing_data="notBreaching",
                description=(
                    f"More than {_g(rate)}% of the API load balancer's requests ended in a 5xx "
                    "for 5 minutes in a row (target 5xx + load-balancer 5xx over requests). "
                    "Check the healthy-hosts alarms, the services' logs and the last deploy; "
                    "load-balancer 5xx without target 5xx means no healthy target or timeouts."
                ),
            )
        )
    for service, suffix in args.target_groups.items():
        found.append(
            _Alarm(
                thing=f"service-{service}",
                metric="healthy-hosts",
                widget="Healthy hosts per service",
                label=service,
                metrics=(
                    _Metric(
                        elb,
                        "HealthyHostCount",
                        {"TargetGroup": suffix, "LoadBalancer": args.load_balancer_arn_suffix},
                        "Minimum",
                    ),
                ),
                comparison="LessThanThreshold",
                threshold=1,
                period=60,
                evaluation_periods=2,
                # No data means the target group left the load balancer: as bad as no host.
                treat_missing_data="breaching",
                description=(
                    f"Service {service} has had no healthy target for 2 minutes: every API "
                    "request routed to it gets a 503. Check its pods (kubectl get pods, "
                    "events, readiness probe) and its TargetGroupBinding."
                ),
            )
        )

    storage_bytes = None
    if args.database_allocated_storage_gib is not None:
        storage_bytes = round(
            args.database_allocated_storage_gib * _GIB * args.database_free_storage_percent / 100
        )
    for index, instance in enumerate(args.database_instance_ids):
        role = "primary" if index == 0 else f"replica-{index}"
        db = {"DBInstanceIdentifier": instance}
        found.append(
            _Alarm(
                thing=f"db-{role}",
                metric="cpu",
                widget="Database CPU (%)",
                label=role,
                metrics=(_Metric("AWS/RDS", "CPUUtilization", db, "Average"),),
                comparison="GreaterThanThreshold",
                threshold=cpu,
                period=60,
                evaluation_periods=10,
                treat_missing_data="missing",
                description=(
                    f"Database {role}: CPU above {_g(cpu)}% for 10 minutes. Find the top SQL "
                    "in Performance Insights (missing indexes, runaway reports); move reads "
                    "to a replica, or scale the instance class if the load is real."
                ),
            )
        )
        if args.database_max_connections is not None:
            limit = args.database_max_connections * args.database_connections_percent / 100
            found.append(
                _Alarm(
                    thing=f"db-{role}",
                    metric="connections",
                    widget="Database connections",
                    label=role,
                    metrics=(_Metric("AWS/RDS", "DatabaseConnections", db, "Maximum"),),
                    comparison="GreaterThanThreshold",
                    threshold=limit,
                    period=60,
                    evaluation_periods=5,
                    treat_missing_data="missing",
                    description=(
                        f"Database {role}: more than {_g(limit)} connections "
                        f"({_g(args.database_connections_percent)}% of max_connections "
                        f"{args.database_max_connections}) for 5 minutes; new ones are "
                        "refused at the limit. Look for leaking or oversized pools (pool size "
                        "x pods); pool through RDS Proxy or PgBouncer, or scale the class."
                    ),
                )
            )
        if storage_bytes is not None:
            found.append(
                _Alarm(
                    thing=f"db-{role}",
                    metric="free-storage",
                    widget="Database free storage (bytes)",
                    label=role,
                    metrics=(_Metric("AWS/RDS", "FreeStorageSpace", db, "Minimum"),),
                    comparison="LessThanThreshold",
                    threshold=storage_bytes,
                    period=60,
                    evaluation_periods=5,
                    treat_missing_data="missing",
                    description=(
                        f"Database {role}: free storage below "
                        f"{_g(args.database_free_storage_percent)}% of the "
                        f"{args.database_allocated_storage_gib} GiB allocated. Storage "
                        "autoscaling grows the volume up to max_allocated_storage_gib: if it "
                        "is there, raise it. Find what grew (table bloat, temp files, logs)."
                    ),
                )
            )

    for index, cluster in enumerate(args.cache_cluster_ids, start=1):
        node = {"CacheClusterId": cluster}
        found += [
            _Alarm(
                thing=f"redis-{index}",
                metric="memory",
                widget="Redis memory (% of maxmemory)",
                label=f"node {index}",
                metrics=(
                    _Metric("AWS/ElastiCache", "DatabaseMemoryUsagePercentage", node, "Average"),
                ),
                comparison="GreaterThanThreshold",
                threshold=memory,
                period=60,
                evaluation_periods=5,
                treat_missing_data="missing",
                description=(
                    f"Redis node {index}: memory above {_g(memory)}% of maxmemory for 5 "
                    "minutes; next come evictions (sessions, rate-limit counters and locks "
                    "lost). Look for keys without a TTL and big keys; scale the node type."
                ),
            ),
            _Alarm(
                thing=f"redis-{index}",
                metric="engine-cpu",
                widget="Redis engine CPU (%)",
                label=f"node {index}",
                metrics=(_Metric("AWS/ElastiCache", "EngineCPUUtilization", node, "Average"),),
                comparison="GreaterThanThreshold",
                threshold=cpu,
                period=60,
                evaluation_periods=10,
                treat_missing_data="missing",
                description=(
                    f"Redis node {index}: the engine thread above {_g(cpu)}% CPU for 10 "
                    "minutes; commands queue up and latency climbs. Read the slow-log (KEYS, "
                    "big SCANs, Lua), look for hot keys; scale the node type up."
                ),
            ),
        ]

    if args.broker_name is not None:
        # Broker-level series (dimension Broker): on a cluster they are the sum over its three
        # nodes; node-level series name nodes by host, which no one knows before they run.
        broker = {"Broker": args.broker_name}
        mq = "AWS/AmazonMQ"
        margin = args.broker_disk_free_margin
        found += [
            _Alarm(
                thing="broker",
                metric="memory",
                widget="RabbitMQ memory (% of high watermark)",
                label="used / limit",
                metrics=(
                    _Metric(mq, "RabbitMQMemUsed", broker, "Maximum", "used"),
                    _Metric(mq, "RabbitMQMemLimit", broker, "Maximum", "limit"),
                ),
                expression="100 * used / limit",
                comparison="GreaterThanThreshold",
                threshold=memory,
                period=60,
                evaluation_periods=5,
                treat_missing_data="missing",
                description=(
                    f"RabbitMQ memory above {_g(memory)}% of its high watermark for 5 "
                    "minutes; at the watermark the broker blocks every publisher. Find the "
                    "queues that grow (consumers down or slow) and drain them; too many "
                    "connections or channels also cost memory; scale the instance type."
                ),
            ),
            _Alarm(
                thing="broker",
                metric="disk-free",
                widget="RabbitMQ free disk (x disk limit)",
                label="free / limit",
                metrics=(
                    _Metric(mq, "RabbitMQDiskFree", broker, "Minimum", "free"),
                    _Metric(mq, "RabbitMQDiskFreeLimit", broker, "Maximum", "limit"),
                ),
                expression="free / limit",
                comparison="LessThanThreshold",
                threshold=margin,
                period=60,
                evaluation_periods=5,
                treat_missing_data="missing",
                description=(
                    f"RabbitMQ free disk below {_g(margin)}x its disk limit for 5 minutes; "
                    "at the limit the broker blocks every publisher. Find the queues holding "
                    "messages (consumers down or slow) and drain or purge them; a large "
                    "backlog that is normal needs a bigger instance type."
                ),
            ),
        ]

    for index, queue in enumerate(args.dead_letter_queue_names, start=1):
        found.append(
            _Alarm(
                thing=f"dlq-{index}",
                metric="messages",
                widget="Messages in dead-letter queues",
                label=f"dlq {index}",
                metrics=(
                    _Metric(
                        "AWS/SQS",
                        "ApproximateNumberOfMessagesVisible",
                        {"QueueName": queue},
                        "Maximum",
                    ),
                ),
                comparison="GreaterThanThreshold",
                threshold=0,
                period=300,
                evaluation_periods=1,
                # SQS stops publishing for a queue idle for hours: an empty queue.
                treat_missing_data="notBreaching",
                description=pulumi.Output.concat(
                    "Messages in dead-letter queue ",
                    queue,
                    ": a consumer failed them through all their retries. Read one to learn "
                    "why, fix the consumer, then redrive them to the source queue (SQS: "
                    "start DLQ redrive) or delete them.",
                ),
            )
        )

    for key, distribution in args.distributions.items():
        found.append(
            _Alarm(
                thing=f"cdn-{key}",
                metric="5xx-rate",
                widget="CloudFront 5xx error rate (%)",
                label=key,
                metrics=(
                    _Metric(
                        "AWS/CloudFront",
                        "5xxErrorRate",
                        {"DistributionId": distribution, "Region": "Global"},
                        "Average",
                    ),
                ),
                comparison="GreaterThanThreshold",
                threshold=rate,
                period=60,
                evaluation_periods=5,
                treat_missing_data="notBreaching",
                description=(
                    f"CloudFront {key}: more than {_g(rate)}% of responses were 5xx for 5 "
                    "minutes in a row. Check its origin: the bucket policy and origin access "
                    "control for a portal, the API alarms for the API; then the "
                    "distribution's last change."
                ),
                edge=True,
            )
        )
    # Workload CPU > 80 % for 10 minutes (seed 000) is not here: pod and container metrics
    # need Container Insights on the cluster, which the app layer turns on and alarms on.
    return found


def _position(index: int, width: int = 12, height: int = 6) -> dict[str, int]:
    return {"x": (index % 2) * width, "width": width, "height": height}


def _metric_rows(alarms: Sequence[_Alarm]) -> list[list[Any]]:
    """The `metrics` of a dashboard graph showing what `alarms` watch."""

    def row(metric: _Metric, options: dict[str, Any]) -> list[Any]:
        dims = [part for key in sorted(metric.dimensions) for part in (key, metric.dimensions[key])]
        return [metric.namespace, metric.metric_name, *dims, {"stat": metric.stat, **options}]

    rows: list[list[Any]] = []
    for alarm in alarms:
        if alarm.expression is None:
            rows += [row(metric, {"label": alarm.label}) for metric in alarm.metrics]
            continue
        rows += [row(metric, {"id": metric.id, "visible": False}) for metric in alarm.metrics]
        rows.append([{"expression": alarm.expression, "label": alarm.label, "id": "e1"}])
    return rows


def _widgets(alarms: Sequence[_Alarm], region: pulumi.Input[str]) -> list[dict[str, Any]]:
    """Dashboard widgets: a section title, then one graph per kind of alarm, two a row."""
    sections = (
        ("API", ("API 5xx error rate (%)", "Healthy hosts per service")),
        ("Database", ("Database CPU (%)", "Database connections", "Database free storage (bytes)")),
        ("Cache", ("Redis memory (% of maxmemory)", "Redis engine CPU (%)")),
        ("Broker", ("RabbitMQ memory (% of high watermark)", "RabbitMQ free disk (x disk limit)")),
        ("Queues", ("Messages in dead-letter queues",)),
        ("Edge", ("CloudFront 5xx error rate (%)",)),
    )
    widgets: list[dict[str, Any]] = []
    y = 0
    for section, titles in sections:
        graphs = [(t, [a for a in alarms if a.widget == t]) for t in titles]
        graphs = [(t, group) for t, group in graphs if group]
        if not graphs:
            continue
        widgets.append(
            {
                "type": "text",
                "x": 0,
                "y": y,
                "width": 24,
                "height": 1,
                "properties": {"markdown": f"## {section}"},
            }
        )
        y += 1
        for index, (title, group) in enumerate(graphs):
            edge = group[0].edge
            widgets.append(
                {
                    "type": "metric",
                    **_position(index),
                    "y": y + (index // 2) * 6,
                    "properties": {
                        "title": title,
                        "view": "timeSeries",
                        "region": CLOUDFRONT_REGION if edge else region,
                        "period": group[0].period,
                        "metrics": _metric_rows(group),
                        "annotations": {
                            "horizontal": [
                                {"label": "alarm", "value": threshold}
                                for threshold in sorted({a.threshold for a in group})
                            ]
                        },
                    },
                }
            )
        y += ((len(graphs) + 1) // 2) * 6
    return widgets


def dashboard_body(widgets: Sequence[dict[str, Any]], alarm_arns: Sequence[str]) -> str:
    """The dashboard's JSON: an alarm-status panel on top, then `widgets` (stable JSON)."""
    top: list[dict[str, Any]] = []
    if alarm_arns:
        top.append(
            {
                "type": "alarm",
                "x": 0,
                "y": 0,
                "width": 24,
                "height": 2 + (len(alarm_arns) + 3) // 4,
                "properties": {"title": "Alarms", "alarms": sorted(alarm_arns)},
            }
        )
    else:
        # CloudWatch refuses a dashboard without widgets.
        top.append(
            {
                "type": "text",
                "x": 0,
                "y": 0,
                "width": 24,
                "height": 2,
                "properties": {"markdown": "## No alarms\nNothing to watch was given."},
            }
        )
    shift = top[0]["height"]
    moved = [{**widget, "y": widget["y"] + shift} for widget in widgets]
    return json.dumps({"start": "-PT6H", "widgets": [*top, *moved]}, sort_keys=True)


class Monitoring(pulumi.ComponentResource):
    """The alarms of one environment, the topic they notify and its dashboard.

    Alarms (each `<environment>-<thing>-<metric>`, notifying on ALARM and on OK, with a
    description saying what to do): API 5xx rate, healthy hosts per service, database CPU,
    connections and free storage per instance, Redis memory and engine CPU per node,
    RabbitMQ memory and disk, any message in a dead-letter queue, CloudFront 5xx rate per
    distribution. The alarm topic is encrypted with a customer key and its policy lets only
    this environment's CloudWatch alarms (and the account) publish. One dashboard,
    `<environment>`, graphs everything the alarms watch with their thresholds.
    """

    alarm_topic_arn: pulumi.Output[str]
    edge_alarm_topic_arn: pulumi.Output[str] | None
    dashboard_name: pulumi.Output[str]
    alarm_names: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise ValueError("\n".join(found))
        env = args.environment
        alarms = _alarms(args)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke).partition
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region

        def tags(resource_name: str) -> dict[str, str]:
            return {"Name": resource_name, **args.tags}

        def alarm_topic(
            role: str, key: pulumi.Input[str], topic_region: pulumi.Input[str], provider=None
        ) -> aws.sns.Topic:
            child = pulumi.ResourceOptions(parent=self, provider=provider)
            topic = aws.sns.Topic(
                f"{name}-{role}",
                name=fit(f"{env}-{role}"),
                display_name=f"{env} alarms",
                kms_master_key_id=key,
                tags=tags(f"{name}-{role}"),
                opts=child,
            )
            aws.sns.TopicPolicy(
                f"{name}-{role}-policy",
                arn=topic.arn,
                policy=pulumi.Output.all(topic.arn, partition, account, topic_region).apply(
                    lambda v: topic_policy(
                        topic_arn=v[0], partition=v[1], account=v[2], region=v[3], environment=env
                    )
                ),
                opts=child,
            )
            for email in args.alarm_emails:
                # Named by the address, not its position: reordering the list must not
                # replace subscriptions (each replacement asks its owner to confirm again).
                aws.sns.TopicSubscription(
                    f"{name}-{role}-{email.lower()}",
                    topic=topic.arn,
                    protocol="email",
                    endpoint=email,
                    opts=child,
                )
            return topic

        topic = alarm_topic("alarms", args.kms_key_arn, region)
        edge_topic = topic
        if args.edge_provider is not None and args.distributions:
            edge_topic = alarm_topic(
                "edge-alarms", args.edge_kms_key_arn, CLOUDFRONT_REGION, args.edge_provider
            )

        created: list[aws.cloudwatch.MetricAlarm] = []
        for spec in alarms:
            alarm_name = spec.name(env)
            target = edge_topic if spec.edge else topic
            provider = args.edge_provider if spec.edge else None
            single = spec.expression is None
            metric = spec.metrics[0]
            created.append(
                aws.cloudwatch.MetricAlarm(
                    f"{name}-{spec.thing}-{spec.metric}",
                    name=alarm_name,
                    alarm_description=spec.description,
                    namespace=metric.namespace if single else None,
                    metric_name=metric.metric_name if single else None,
                    dimensions=dict(metric.dimensions) if single else None,
                    statistic=metric.stat if single else None,
                    period=spec.period if single else None,
                    metric_queries=None if single else _queries(spec),
                    comparison_operator=spec.comparison,
                    threshold=spec.threshold,
                    evaluation_periods=spec.evaluation_periods,
                    # "For N minutes": every one of the evaluated periods must breach.
                    datapoints_to_alarm=spec.evaluation_periods,
                    treat_missing_data=spec.treat_missing_data,
                    actions_enabled=True,
                    alarm_actions=[target.arn],
                    ok_actions=[target.arn],
                    tags=tags(f"{name}-{spec.thing}-{spec.metric}"),
                    opts=pulumi.ResourceOptions(parent=self, provider=provider),
                )
            )

        widgets = _widgets(alarms, region)
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=env,
            dashboard_body=pulumi.Output.all(
                pulumi.Output.all(*widgets), pulumi.Output.all(*(a.arn for a in created))
            ).apply(lambda v: dashboard_body(v[0], v[1])),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.alarm_topic_arn = topic.arn
        self.edge_alarm_topic_arn = edge_topic.arn if edge_topic is not topic else None
        self.dashboard_name = dashboard.dashboard_name
        self.alarm_names = pulumi.Output.all(*(a.name for a in created)).apply(sorted)
        outputs = {
            "alarmTopicArn": self.alarm_topic_arn,
            "dashboardName": self.dashboard_name,
            "alarmNames": self.alarm_names,
        }
        if self.edge_alarm_topic_arn is not None:
            outputs["edgeAlarmTopicArn"] = self.edge_alarm_topic_arn
        self.register_outputs(outputs)


def _queries(spec: _Alarm) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    """The metric-math queries of a math alarm: its metrics (hidden), then the expression."""
    queries = [
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=metric.id,
            return_data=False,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace=metric.namespace,
                metric_name=metric.metric_name,
                dimensions=dict(metric.dimensions),
                stat=metric.stat,
                period=spec.period,
            ),
        )
        for metric in spec.metrics
    ]
    queries.append(
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="e1", expression=spec.expression, label=spec.label, return_data=True
        )
    )
    return queries
