"""`Monitoring`: the alarms, alarm topic and dashboard of one environment."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from string import Formatter
from typing import Any

import pulumi
import pulumi_aws as aws

from osp.components.messaging import TOPIC_ACTIONS
from osp.platform import iam, limits
from osp.platform.limits import Constraint, pattern, whole_range
from osp.platform.naming import fit
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:observability:Monitoring"


#: What KMS must let CloudWatch do with the key of an alarm topic: publishing to an
#: encrypted topic means generating and reading its data keys.
KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey*")

_ENVIRONMENT = pattern(
    r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}",
    "1-64 letters, digits, '-' or '_', starting with a letter or digit",
)
# The dimension values CloudWatch expects, which are not whole ARNs.
_LOAD_BALANCER_SUFFIX = pattern(
    r"app/[A-Za-z0-9-]{1,32}/[0-9a-f]+",
    "an application load balancer's ARN suffix app/<name>/<id>, not its whole ARN",
)
_TARGET_GROUP_SUFFIX = pattern(
    r"targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]+",
    "a target group's ARN suffix targetgroup/<name>/<id>, not its whole ARN",
)
_DISTRIBUTION_ID = pattern(r"E[A-Z0-9]{5,}", "a CloudFront distribution id such as E2QWRUHAPOMQZL")

_GIB = 1024**3
_ALLOCATED_STORAGE_GIB = limits.optional(limits.RDS_STORAGE_GIB)
# PostgreSQL's own ceiling for max_connections.
_MAX_CONNECTIONS = whole_range(1, 262143, "an integer from 1 to 262143, or None")
_PERCENTAGE = Constraint(
    "a percentage above 0 and below 100",
    lambda v: _is_number(v) and 0 < v < 100,  # type: ignore[operator]
)
_DISK_FREE_MARGIN = Constraint(
    "a factor above 1 and at most 10",
    lambda v: _is_number(v) and 1 < v <= 10,  # type: ignore[operator]
)


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

    service_error_rates: bool = False
    """A 5xx-rate alarm per service of `target_groups` too (its pods' 5xx over its requests,
    at the load balancer). Default: off."""

    cluster_name: pulumi.Input[str] | None = None
    """The EKS cluster whose Container Insights metrics (the `amazon-cloudwatch-observability`
    add-on) the per-service CPU, memory and restart alarms read. Default: none, and no such
    alarms."""

    service_namespace: str | None = None
    """The Kubernetes namespace of `services`. Required with `cluster_name`."""

    services: Sequence[str] = ()
    """Kubernetes Service names (one per catalogue service): CPU and memory (% of the pods'
    limits) and container-restart alarms each, from Container Insights."""

    consumer_queues: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Key (`<consumer>-<event>`) → an SQS queue a service consumes: a depth alarm and an
    oldest-message-age alarm each."""

    queue_depth_messages: int = 1000
    """Visible messages in a consumer queue that, held 15 minutes, alarm (a consumer down or
    too slow for its load)."""

    queue_age_seconds: int = 900
    """Age (s) of a consumer queue's oldest message that, held 5 minutes, alarms."""

    payment_failure_metric: tuple[str, str] | None = None
    """(namespace, metric name) of the payment service's custom failure count, published
    with the dimension `Environment=<environment>`: the payment-failures alarm. Default: none."""

    payment_failures: int = 5
    """Payment failures in 5 minutes at or above which the payment-failures alarm fires."""

    distributions: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Name → CloudFront distribution id: a 5xx error-rate alarm each."""

    backup_vault_name: pulumi.Input[str] | None = None
    """The AWS Backup vault of the environment's backups: an alarm as soon as one backup job
    into it fails in a day. Default: none, and no such alarm."""

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
    """The alarm topic's policy: the account manages it, CloudWatch may publish to it on
    behalf of this environment's alarms only (the confused-deputy conditions), and nothing at
    all happens without TLS."""
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
        iam.deny_insecure_transport(TOPIC_ACTIONS, topic_arn),
    )


def problems(name: str, args: MonitoringArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("Monitoring", name)
    check.against(_ENVIRONMENT, "environment", args.environment)
    _check_emails(check, args.alarm_emails)
    _check_load_balancer(check, args)
    _check_data_stores(check, args)
    _check_application(check, args)
    _check_distributions(check, args)
    for arg in (
        "error_rate_percent",
        "cpu_percent",
        "memory_percent",
        "database_connections_percent",
        "database_free_storage_percent",
    ):
        check.against(_PERCENTAGE, arg, getattr(args, arg))
    check.against(_DISK_FREE_MARGIN, "broker_disk_free_margin", args.broker_disk_free_margin)
    return check.found


def _check_emails(check: Problems, emails: Sequence[str]) -> None:
    if not check.check(
        not isinstance(emails, str),
        "alarm_emails",
        emails,
        "a list of e-mail addresses, not one string",
    ):
        return
    seen: set[str] = set()
    for index, email in enumerate(emails):
        arg = f"alarm_emails[{index}]"
        if check.against(limits.EMAIL_ADDRESS, arg, email):
            check.check(email.lower() not in seen, arg, email, "each address at most once")
            seen.add(email.lower())


def _check_keys(check: Problems, arg: str, names: Mapping[str, object]) -> None:
    """The keys of `names` go into alarm names."""
    for key in names:
        check.check(
            limits.DNS_LABEL.accepts(key),
            f"{arg} key",
            key,
            f"{limits.DNS_LABEL.expected}: it goes into alarm names",
        )


def _check_literal(check: Problems, rule: Constraint, arg: str, value: object) -> None:
    # Values from other resources are Outputs; only literal strings can be checked.
    if isinstance(value, str):
        check.against(rule, arg, value)


def _check_once_each(check: Problems, arg: str, values: Sequence[object], what: str) -> None:
    """`values` is a list of `what` (a plural), each given once and none empty."""
    if not check.check(
        not isinstance(values, str), arg, values, f"a list of {what}, not one string"
    ):
        return
    one = what.rstrip("s")
    literals = [v for v in values if isinstance(v, str)]
    for value in sorted({v for v in literals if literals.count(v) > 1}):
        check.add(arg, value, f"each {one} at most once")
    for index, value in enumerate(values):
        if isinstance(value, str) and not value:
            check.add(f"{arg}[{index}]", value, f"a non-empty {one}")


def _check_load_balancer(check: Problems, args: MonitoringArgs) -> None:
    _check_literal(
        check, _LOAD_BALANCER_SUFFIX, "load_balancer_arn_suffix", args.load_balancer_arn_suffix
    )
    _check_keys(check, "target_groups", args.target_groups)
    for service, suffix in args.target_groups.items():
        _check_literal(check, _TARGET_GROUP_SUFFIX, f"target_groups[{service!r}]", suffix)
    _check_once_each(check, "target_groups", list(args.target_groups.values()), "target groups")
    if args.target_groups and args.load_balancer_arn_suffix is None:
        check.note(
            "target_groups",
            "need load_balancer_arn_suffix (the healthy-hosts metric "
            "is per target group and load balancer); got none",
        )


def _check_data_stores(check: Problems, args: MonitoringArgs) -> None:
    _check_once_each(check, "database_instance_ids", args.database_instance_ids, "instance ids")
    for arg, rule in (
        ("database_allocated_storage_gib", _ALLOCATED_STORAGE_GIB),
        ("database_max_connections", _MAX_CONNECTIONS),
    ):
        value = getattr(args, arg)
        if value is not None and check.against(rule, arg, value):
            check.check(
                bool(args.database_instance_ids),
                arg,
                value,
                "None when there are no database_instance_ids",
            )
    _check_once_each(check, "cache_cluster_ids", args.cache_cluster_ids, "cluster ids")
    if isinstance(args.broker_name, str) and not args.broker_name:
        check.add("broker_name", args.broker_name, "a broker name, or None")
    _check_once_each(check, "dead_letter_queue_names", args.dead_letter_queue_names, "queue names")
    if isinstance(args.backup_vault_name, str) and not args.backup_vault_name:
        check.add("backup_vault_name", args.backup_vault_name, "a backup vault name, or None")


def _check_application(check: Problems, args: MonitoringArgs) -> None:
    if args.services and args.cluster_name is None:
        check.add("cluster_name", None, "the cluster whose Container Insights `services` run on")
    if args.cluster_name is not None and not args.service_namespace:
        check.add("service_namespace", args.service_namespace, "the services' namespace")
    _check_once_each(check, "services", list(args.services), "service")
    for arg, least in (("queue_depth_messages", 1), ("queue_age_seconds", 60),
                       ("payment_failures", 1)):  # fmt: skip
        value = getattr(args, arg)
        check.check(isinstance(value, int) and not isinstance(value, bool) and value >= least,
                    arg, value, f"an integer of at least {least}")  # fmt: skip


def _check_distributions(check: Problems, args: MonitoringArgs) -> None:
    _check_keys(check, "distributions", args.distributions)
    for key, ident in args.distributions.items():
        _check_literal(check, _DISTRIBUTION_ID, f"distributions[{key!r}]", ident)
    _check_once_each(check, "distributions", list(args.distributions.values()), "distribution ids")
    if args.edge_provider is None and args.edge_kms_key_arn is not None:
        check.add(
            "edge_kms_key_arn",
            args.edge_kms_key_arn,
            "None without edge_provider (the CloudFront alarms then use the main topic)",
        )
    if args.edge_provider is not None and args.distributions and args.edge_kms_key_arn is None:
        check.add(
            "edge_kms_key_arn",
            None,
            "a KMS key in us-east-1 for the edge alarm topic "
            "(required with edge_provider and distributions)",
        )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _format_number(value: float) -> str:
    """A threshold as people write it: 80, 2.5, 10737418240."""
    return f"{value:g}" if value < 1e6 else str(int(value))


# --- the alarm catalogue -----------------------------------------------------------------


@dataclass(frozen=True)
class _Watched:
    """One thing alarms watch (an instance, a node, a queue): its part of the alarm names,
    its CloudWatch dimensions and what the descriptions say about it."""

    name: str
    dimensions: Mapping[str, pulumi.Input[str]]
    fields: Mapping[str, object] = field(default_factory=dict)
    series: tuple[_Series, ...] = ()
    """The metrics its alarms read when the catalogue row leaves them to it (a custom one)."""


def _load_balancer(args: MonitoringArgs) -> list[_Watched]:
    if args.load_balancer_arn_suffix is None:
        return []
    return [_Watched("api", {"LoadBalancer": args.load_balancer_arn_suffix})]


def _services(args: MonitoringArgs) -> list[_Watched]:
    return [
        _Watched(
            f"service-{service}",
            {"TargetGroup": suffix, "LoadBalancer": args.load_balancer_arn_suffix},  # type: ignore[dict-item]
            {"service": service},
        )
        for service, suffix in args.target_groups.items()
    ]


def _service_targets(args: MonitoringArgs) -> list[_Watched]:
    return _services(args) if args.service_error_rates else []


def _service_pods(args: MonitoringArgs) -> list[_Watched]:
    if args.cluster_name is None:
        return []
    where = {"ClusterName": args.cluster_name, "Namespace": args.service_namespace}
    return [
        _Watched(f"service-{service}", {**where, "Service": service}, {"service": service})  # type: ignore[dict-item]
        for service in args.services
    ]


def _consumer_queues(args: MonitoringArgs) -> list[_Watched]:
    return [
        _Watched(f"queue-{key}", {"QueueName": queue}, {"queue": queue, "key": key})
        for key, queue in args.consumer_queues.items()
    ]


def _payments(args: MonitoringArgs) -> list[_Watched]:
    if args.payment_failure_metric is None:
        return []
    namespace, metric = args.payment_failure_metric
    return [
        _Watched(
            "payment",
            {"Environment": args.environment},
            {"namespace": namespace, "metric": metric},
            (_Series(namespace, metric, "Sum"),),
        )
    ]


def _database_instances(args: MonitoringArgs) -> list[_Watched]:
    watched = []
    for index, instance in enumerate(args.database_instance_ids):
        role = "primary" if index == 0 else f"replica-{index}"
        watched.append(_Watched(f"db-{role}", {"DBInstanceIdentifier": instance}, {"role": role}))
    return watched


def _cache_nodes(args: MonitoringArgs) -> list[_Watched]:
    return [
        _Watched(f"redis-{index}", {"CacheClusterId": cluster}, {"index": index})
        for index, cluster in enumerate(args.cache_cluster_ids, start=1)
    ]


def _broker(args: MonitoringArgs) -> list[_Watched]:
    # Broker-level series (dimension Broker): on a cluster they are the sum over its three
    # nodes; node-level series name nodes by host, which no one knows before they run.
    if args.broker_name is None:
        return []
    return [_Watched("broker", {"Broker": args.broker_name})]


def _dead_letter_queues(args: MonitoringArgs) -> list[_Watched]:
    return [
        _Watched(f"dlq-{index}", {"QueueName": queue}, {"index": index, "queue": queue})
        for index, queue in enumerate(args.dead_letter_queue_names, start=1)
    ]


def _distributions(args: MonitoringArgs) -> list[_Watched]:
    return [
        _Watched(f"cdn-{key}", {"DistributionId": distribution, "Region": "Global"}, {"key": key})
        for key, distribution in args.distributions.items()
    ]


def _backup_vault(args: MonitoringArgs) -> list[_Watched]:
    if args.backup_vault_name is None:
        return []
    return [_Watched("backup", {"BackupVaultName": args.backup_vault_name})]


@dataclass(frozen=True)
class _Series:
    """One CloudWatch metric an alarm reads (math alarms read several, each with an id)."""

    namespace: str
    name: str
    stat: str
    id: str = "m1"


@dataclass(frozen=True, kw_only=True)
class _AlarmKind:
    """One row of the alarm catalogue: an alarm on each thing `watches` finds in the args."""

    watches: Callable[[MonitoringArgs], list[_Watched]]
    metric: str
    """The last part of the alarm's name: `<environment>-<thing>-<metric>`."""
    series: tuple[_Series, ...]
    expression: str | None = None
    """Metric math over the series' ids; None for an alarm on its one series."""
    comparison: str
    threshold: str | float
    """A number, or the name of one of `_thresholds` (an alarm of this kind needs it)."""
    period: int = 60
    evaluation_periods: int
    """Periods in a row that must all breach ("for N minutes")."""
    treat_missing_data: str
    description: str
    """What happened and what to do, naming `_Watched.fields` and `_numbers` as {fields}."""
    section: str
    """The dashboard section its graph sits in (sections and graphs in catalogue order)."""
    widget: str
    """The title of the dashboard graph that shows the alarm's metric."""
    label: str
    """Its line's label on that graph (a template like `description`)."""
    edge: bool = False
    """CloudFront's: in us-east-1, through `edge_provider`."""


_ELB = "AWS/ApplicationELB"
_RDS = "AWS/RDS"
_ELASTICACHE = "AWS/ElastiCache"
_MQ = "AWS/AmazonMQ"
_SQS = "AWS/SQS"
_BACKUP = "AWS/Backup"
#: Container Insights' namespace: the amazon-cloudwatch-observability add-on publishes it.
_INSIGHTS = "ContainerInsights"

#: Every alarm `Monitoring` knows, in the order they are created: per kind of thing watched,
#: each thing in turn with every row that watches it.
ALARM_CATALOGUE: tuple[_AlarmKind, ...] = (
    _AlarmKind(
        watches=_load_balancer,
        metric="5xx-rate",
        series=(
            _Series(_ELB, "HTTPCode_Target_5XX_Count", "Sum", "target5xx"),
            _Series(_ELB, "HTTPCode_ELB_5XX_Count", "Sum", "elb5xx"),
            _Series(_ELB, "RequestCount", "Sum", "requests"),
        ),
        # The 5xx counts are not published for minutes without any: FILL makes them 0 so
        # that one missing series does not blank the sum. No requests → no data.
        expression="100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests",
        comparison="GreaterThanThreshold",
        threshold="error_rate_percent",
        evaluation_periods=5,
        treat_missing_data="notBreaching",
        description=(
            "More than {error_rate_percent}% of the API load balancer's requests ended in a "
            "5xx for 5 minutes in a row (target 5xx + load-balancer 5xx over requests). "
            "Check the healthy-hosts alarms, the services' logs and the last deploy; "
            "load-balancer 5xx without target 5xx means no healthy target or timeouts."
        ),
        section="API",
        widget="API 5xx error rate (%)",
        label="5xx / requests",
    ),
    _AlarmKind(
        watches=_services,
        metric="healthy-hosts",
        series=(_Series(_ELB, "HealthyHostCount", "Minimum"),),
        comparison="LessThanThreshold",
        threshold=1,
        evaluation_periods=2,
        # No data means the target group left the load balancer: as bad as no host.
        treat_missing_data="breaching",
        description=(
            "Service {service} has had no healthy target for 2 minutes: every API request "
            "routed to it gets a 503. Check its pods (kubectl get pods, events, readiness "
            "probe) and its TargetGroupBinding."
        ),
        section="API",
        widget="Healthy hosts per service",
        label="{service}",
    ),
    _AlarmKind(
        watches=_service_targets,
        metric="5xx-rate",
        series=(
            _Series(_ELB, "HTTPCode_Target_5XX_Count", "Sum", "target5xx"),
            _Series(_ELB, "RequestCount", "Sum", "requests"),
        ),
        expression="100 * FILL(target5xx, 0) / requests",
        comparison="GreaterThanThreshold",
        threshold="error_rate_percent",
        evaluation_periods=5,
        treat_missing_data="notBreaching",
        description=(
            "Service {service}: more than {error_rate_percent}% of the requests its target "
            "group served ended in a 5xx from its pods for 5 minutes in a row. Read its logs "
            "(/aws/containerinsights/<cluster>/application) and traces (X-Ray), and its last "
            "deploy."
        ),
        section="Services",
        widget="Service 5xx rate at the load balancer (%)",
        label="{service}",
    ),
    _AlarmKind(
        watches=_service_pods,
        metric="cpu",
        series=(_Series(_INSIGHTS, "pod_cpu_utilization_over_pod_limit", "Average"),),
        comparison="GreaterThanThreshold",
        threshold="cpu_percent",
        evaluation_periods=10,
        treat_missing_data="missing",
        description=(
            "Service {service}: its pods above {cpu_percent}% of their CPU limit for 10 "
            "minutes; requests slow down and are throttled. If the HPA is at its maximum, "
            "raise the maximum or the limit; else look for a hot loop in the service's traces."
        ),
        section="Services",
        widget="Service CPU (% of limit)",
        label="{service}",
    ),
    _AlarmKind(
        watches=_service_pods,
        metric="memory",
        series=(_Series(_INSIGHTS, "pod_memory_utilization_over_pod_limit", "Average"),),
        comparison="GreaterThanThreshold",
        threshold="memory_percent",
        evaluation_periods=5,
        treat_missing_data="missing",
        description=(
            "Service {service}: its pods above {memory_percent}% of their memory limit for 5 "
            "minutes; at the limit they are OOM-killed. Look for a leak (memory that only "
            "grows), or raise the limit."
        ),
        section="Services",
        widget="Service memory (% of limit)",
        label="{service}",
    ),
    _AlarmKind(
        watches=_service_pods,
        metric="restarts",
        series=(_Series(_INSIGHTS, "pod_number_of_container_restarts", "Sum"),),
        comparison="GreaterThanThreshold",
        threshold=2,
        period=300,
        evaluation_periods=1,
        treat_missing_data="notBreaching",
        description=(
            "Service {service}: its containers restarted more than twice in 5 minutes "
            "(crash loop, OOM kill or a failing liveness probe). kubectl describe pod shows "
            "the last state and reason; its logs show the crash."
        ),
        section="Services",
        widget="Service container restarts (per 5 minutes)",
        label="{service}",
    ),
    _AlarmKind(
        watches=_database_instances,
        metric="cpu",
        series=(_Series(_RDS, "CPUUtilization", "Average"),),
        comparison="GreaterThanThreshold",
        threshold="cpu_percent",
        evaluation_periods=10,
        treat_missing_data="missing",
        description=(
            "Database {role}: CPU above {cpu_percent}% for 10 minutes. Find the top SQL in "
            "Performance Insights (missing indexes, runaway reports); move reads to a "
            "replica, or scale the instance class if the load is real."
        ),
        section="Database",
        widget="Database CPU (%)",
        label="{role}",
    ),
    _AlarmKind(
        watches=_database_instances,
        metric="connections",
        series=(_Series(_RDS, "DatabaseConnections", "Maximum"),),
        comparison="GreaterThanThreshold",
        threshold="connections",
        evaluation_periods=5,
        treat_missing_data="missing",
        description=(
            "Database {role}: more than {connections} connections "
            "({database_connections_percent}% of max_connections {database_max_connections}) "
            "for 5 minutes; new ones are refused at the limit. Look for leaking or oversized "
            "pools (pool size x pods); pool through RDS Proxy or PgBouncer, or scale the class."
        ),
        section="Database",
        widget="Database connections",
        label="{role}",
    ),
    _AlarmKind(
        watches=_database_instances,
        metric="free-storage",
        series=(_Series(_RDS, "FreeStorageSpace", "Minimum"),),
        comparison="LessThanThreshold",
        threshold="free_storage_bytes",
        evaluation_periods=5,
        treat_missing_data="missing",
        description=(
            "Database {role}: free storage below {database_free_storage_percent}% of the "
            "{database_allocated_storage_gib} GiB allocated. Storage autoscaling grows the "
            "volume up to max_allocated_storage_gib: if it is there, raise it. Find what grew "
            "(table bloat, temp files, logs)."
        ),
        section="Database",
        widget="Database free storage (bytes)",
        label="{role}",
    ),
    _AlarmKind(
        watches=_cache_nodes,
        metric="memory",
        series=(_Series(_ELASTICACHE, "DatabaseMemoryUsagePercentage", "Average"),),
        comparison="GreaterThanThreshold",
        threshold="memory_percent",
        evaluation_periods=5,
        treat_missing_data="missing",
        description=(
            "Redis node {index}: memory above {memory_percent}% of maxmemory for 5 minutes; "
            "next come evictions (sessions, rate-limit counters and locks lost). Look for "
            "keys without a TTL and big keys; scale the node type."
        ),
        section="Cache",
        widget="Redis memory (% of maxmemory)",
        label="node {index}",
    ),
    _AlarmKind(
        watches=_cache_nodes,
        metric="engine-cpu",
        series=(_Series(_ELASTICACHE, "EngineCPUUtilization", "Average"),),
        comparison="GreaterThanThreshold",
        threshold="cpu_percent",
        evaluation_periods=10,
        treat_missing_data="missing",
        description=(
            "Redis node {index}: the engine thread above {cpu_percent}% CPU for 10 minutes; "
            "commands queue up and latency climbs. Read the slow-log (KEYS, big SCANs, Lua), "
            "look for hot keys; scale the node type up."
        ),
        section="Cache",
        widget="Redis engine CPU (%)",
        label="node {index}",
    ),
    _AlarmKind(
        watches=_broker,
        metric="memory",
        series=(
            _Series(_MQ, "RabbitMQMemUsed", "Maximum", "used"),
            _Series(_MQ, "RabbitMQMemLimit", "Maximum", "limit"),
        ),
        expression="100 * used / limit",
        comparison="GreaterThanThreshold",
        threshold="memory_percent",
        evaluation_periods=5,
        treat_missing_data="missing",
        description=(
            "RabbitMQ memory above {memory_percent}% of its high watermark for 5 minutes; at "
            "the watermark the broker blocks every publisher. Find the queues that grow "
            "(consumers down or slow) and drain them; too many connections or channels also "
            "cost memory; scale the instance type."
        ),
        section="Broker",
        widget="RabbitMQ memory (% of high watermark)",
        label="used / limit",
    ),
    _AlarmKind(
        watches=_broker,
        metric="disk-free",
        series=(
            _Series(_MQ, "RabbitMQDiskFree", "Minimum", "free"),
            _Series(_MQ, "RabbitMQDiskFreeLimit", "Maximum", "limit"),
        ),
        expression="free / limit",
        comparison="LessThanThreshold",
        threshold="broker_disk_free_margin",
        evaluation_periods=5,
        treat_missing_data="missing",
        description=(
            "RabbitMQ free disk below {broker_disk_free_margin}x its disk limit for 5 "
            "minutes; at the limit the broker blocks every publisher. Find the queues holding "
            "messages (consumers down or slow) and drain or purge them; a large backlog that "
            "is normal needs a bigger instance type."
        ),
        section="Broker",
        widget="RabbitMQ free disk (x disk limit)",
        label="free / limit",
    ),
    _AlarmKind(
        watches=_dead_letter_queues,
        metric="messages",
        series=(_Series(_SQS, "ApproximateNumberOfMessagesVisible", "Maximum"),),
        comparison="GreaterThanThreshold",
        threshold=0,
        period=300,
        evaluation_periods=1,
        # SQS stops publishing for a queue idle for hours: an empty queue.
        treat_missing_data="notBreaching",
        description=(
            "Messages in dead-letter queue {queue}: a consumer failed them through all their "
            "retries. Read one to learn why, fix the consumer, then redrive them to the "
            "source queue (SQS: start DLQ redrive) or delete them."
        ),
        section="Queues",
        widget="Messages in dead-letter queues",
        label="dlq {index}",
    ),
    _AlarmKind(
        watches=_consumer_queues,
        metric="depth",
        series=(_Series(_SQS, "ApproximateNumberOfMessagesVisible", "Maximum"),),
        comparison="GreaterThanThreshold",
        threshold="queue_depth_messages",
        period=300,
        evaluation_periods=3,
        treat_missing_data="notBreaching",
        description=(
            "Queue {queue}: more than {queue_depth_messages} messages waiting for 15 minutes; "
            "its consumer is down or slower than the load. Check the consumer's pods and "
            "errors, then scale it."
        ),
        section="Queues",
        widget="Messages waiting in consumer queues",
        label="{key}",
    ),
    _AlarmKind(
        watches=_consumer_queues,
        metric="oldest-message-age",
        series=(_Series(_SQS, "ApproximateAgeOfOldestMessage", "Maximum"),),
        comparison="GreaterThanThreshold",
        threshold="queue_age_seconds",
        evaluation_periods=5,
        treat_missing_data="notBreaching",
        description=(
            "Queue {queue}: its oldest message has waited more than {queue_age_seconds} s for "
            "5 minutes: a message its consumer keeps failing, or a consumer that stopped. Its "
            "dead-letter queue and the consumer's logs say which."
        ),
        section="Queues",
        widget="Oldest message in consumer queues (s)",
        label="{key}",
    ),
    _AlarmKind(
        watches=_payments,
        metric="failures",
        series=(),
        comparison="GreaterThanOrEqualToThreshold",
        threshold="payment_failures",
        period=300,
        evaluation_periods=1,
        treat_missing_data="notBreaching",
        description=(
            "{payment_failures} or more payments failed in 5 minutes ({namespace} {metric}): "
            "parents cannot pay fees. Check the payment gateway's status, the payment "
            "service's logs and traces, and its gateway credentials."
        ),
        section="Payments",
        widget="Payment failures (per 5 minutes)",
        label="failures",
    ),
    _AlarmKind(
        watches=_backup_vault,
        metric="failed-jobs",
        series=(_Series(_BACKUP, "NumberOfBackupJobsFailed", "Sum"),),
        comparison="GreaterThanOrEqualToThreshold",
        threshold=1,
        period=86400,
        evaluation_periods=1,
        # AWS Backup publishes job counts only when jobs end: no data, no failed job.
        treat_missing_data="notBreaching",
        description=(
            "A backup job into the environment's vault failed in the last day: that "
            "resource's recovery point is missing and the RPO is at risk. AWS Backup > Jobs "
            "(state Failed) gives the resource and the reason (often the backup role's access "
            "to a KMS key, or a job window missed); fix it and start an on-demand backup."
        ),
        section="Backup",
        widget="Failed backup jobs (per day)",
        label="failed jobs",
    ),
    _AlarmKind(
        watches=_distributions,
        metric="5xx-rate",
        series=(_Series("AWS/CloudFront", "5xxErrorRate", "Average"),),
        comparison="GreaterThanThreshold",
        threshold="error_rate_percent",
        evaluation_periods=5,
        treat_missing_data="notBreaching",
        description=(
            "CloudFront {key}: more than {error_rate_percent}% of responses were 5xx for 5 "
            "minutes in a row. Check its origin: the bucket policy and origin access control "
            "for a portal, the API alarms for the API; then the distribution's last change."
        ),
        section="Edge",
        widget="CloudFront 5xx error rate (%)",
        label="{key}",
        edge=True,
    ),
)


def _thresholds(args: MonitoringArgs) -> dict[str, float | None]:
    """The thresholds catalogue rows name; None where the args leave one unknown, and the
    rows that need it then give no alarm."""
    connections = storage_bytes = None
    if args.database_max_connections is not None:
        connections = args.database_max_connections * args.database_connections_percent / 100
    if args.database_allocated_storage_gib is not None:
        storage_bytes = round(
            args.database_allocated_storage_gib * _GIB * args.database_free_storage_percent / 100
        )
    return {
        "error_rate_percent": args.error_rate_percent,
        "cpu_percent": args.cpu_percent,
        "memory_percent": args.memory_percent,
        "broker_disk_free_margin": args.broker_disk_free_margin,
        "connections": connections,
        "free_storage_bytes": storage_bytes,
        "queue_depth_messages": args.queue_depth_messages,
        "queue_age_seconds": args.queue_age_seconds,
        "payment_failures": args.payment_failures,
    }


def _numbers(args: MonitoringArgs, thresholds: Mapping[str, float | None]) -> dict[str, str]:
    """The numbers descriptions quote, as people write them."""
    return {
        **{key: _format_number(value) for key, value in thresholds.items() if value is not None},
        "database_connections_percent": _format_number(args.database_connections_percent),
        "database_free_storage_percent": _format_number(args.database_free_storage_percent),
        "database_max_connections": str(args.database_max_connections),
        "database_allocated_storage_gib": str(args.database_allocated_storage_gib),
    }


def _fill(template: str, fields: Mapping[str, object]) -> pulumi.Input[str]:
    """`template` with its {fields}; an Output when one of them is (a queue's name)."""
    used = {name: fields[name] for _, name, _, _ in Formatter().parse(template) if name}
    if not any(isinstance(value, pulumi.Output) for value in used.values()):
        return template.format(**used)
    return pulumi.Output.all(**used).apply(lambda known: template.format(**known))


@dataclass(frozen=True)
class _Alarm:
    """One alarm to create: a catalogue row applied to one watched thing."""

    kind: _AlarmKind
    watched: _Watched
    threshold: float
    description: pulumi.Input[str]
    label: str

    @property
    def series(self) -> tuple[_Series, ...]:
        """The catalogue row's metrics, or the watched thing's own when the row has none."""
        return self.kind.series or self.watched.series

    @property
    def suffix(self) -> str:
        """`<thing>-<metric>`, after the environment (alarm) or component (resource) name."""
        return f"{self.watched.name}-{self.kind.metric}"


def _alarms(args: MonitoringArgs) -> list[_Alarm]:
    """Every alarm `args` asks for, in the catalogue's order."""
    thresholds = _thresholds(args)
    numbers = _numbers(args, thresholds)

    def threshold_of(kind: _AlarmKind) -> float | None:
        return thresholds[kind.threshold] if isinstance(kind.threshold, str) else kind.threshold

    found: list[_Alarm] = []
    for watches in dict.fromkeys(kind.watches for kind in ALARM_CATALOGUE):
        rows = [kind for kind in ALARM_CATALOGUE if kind.watches is watches]
        for watched in watches(args):
            fields = {**numbers, **watched.fields}
            found += [
                _Alarm(
                    kind,
                    watched,
                    threshold,
                    description=_fill(kind.description, fields),
                    label=kind.label.format(**fields),
                )
                for kind in rows
                if (threshold := threshold_of(kind)) is not None
            ]
    return found


def _position(index: int, width: int = 12, height: int = 6) -> dict[str, int]:
    return {"x": (index % 2) * width, "width": width, "height": height}


def _metric_rows(alarms: Sequence[_Alarm]) -> list[list[Any]]:
    """The `metrics` of a dashboard graph showing what `alarms` watch."""

    def row(series: _Series, dimensions: Mapping[str, Any], options: dict[str, Any]) -> list[Any]:
        dims = [part for key in sorted(dimensions) for part in (key, dimensions[key])]
        return [series.namespace, series.name, *dims, {"stat": series.stat, **options}]

    rows: list[list[Any]] = []
    for alarm in alarms:
        kind, dimensions = alarm.kind, alarm.watched.dimensions
        if kind.expression is None:
            rows += [row(series, dimensions, {"label": alarm.label}) for series in alarm.series]
            continue
        rows += [
            row(series, dimensions, {"id": series.id, "visible": False}) for series in alarm.series
        ]
        rows.append([{"expression": kind.expression, "label": alarm.label, "id": "e1"}])
    return rows


def _widgets(alarms: Sequence[_Alarm], region: pulumi.Input[str]) -> list[dict[str, Any]]:
    """Dashboard widgets: a section title, then one graph per kind of alarm, two a row."""
    # Sections and their graphs in the order the catalogue first names them.
    sections: dict[str, dict[str, None]] = {}
    for kind in ALARM_CATALOGUE:
        sections.setdefault(kind.section, {})[kind.widget] = None
    widgets: list[dict[str, Any]] = []
    y = 0
    for section, titles in sections.items():
        graphs = [(t, [a for a in alarms if a.kind.widget == t]) for t in titles]
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
            edge = group[0].kind.edge
            widgets.append(
                {
                    "type": "metric",
                    **_position(index),
                    "y": y + (index // 2) * 6,
                    "properties": {
                        "title": title,
                        "view": "timeSeries",
                        "region": limits.CLOUDFRONT_REGION if edge else region,
                        "period": group[0].kind.period,
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
    description saying what to do): API 5xx rate, healthy hosts and 5xx rate per service,
    per service CPU and memory (% of the pods' limits) and container restarts from Container
    Insights, database CPU, connections and free storage per instance, Redis memory and
    engine CPU per node, RabbitMQ memory and disk, any message in a dead-letter queue, depth
    and oldest-message age per consumer queue, payment failures (a custom metric), failed
    backup jobs in a day, CloudFront 5xx rate per distribution. The alarm topic is encrypted
    with a customer key and its policy lets only this environment's CloudWatch alarms (and
    the account) publish. One dashboard,
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
            raise InvalidArguments(found)
        alarms = _alarms(args)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = _Account(
            partition=aws.get_partition_output(opts=invoke).partition,
            id=aws.get_caller_identity_output(opts=invoke).account_id,
            region=aws.get_region_output(opts=invoke).region,
        )
        topic = self._alarm_topic(name, args, account, "alarms", args.kms_key_arn, account.region)
        edge_topic = topic
        if args.edge_provider is not None and args.distributions:
            edge_topic = self._alarm_topic(
                name,
                args,
                account,
                "edge-alarms",
                args.edge_kms_key_arn,
                limits.CLOUDFRONT_REGION,
                args.edge_provider,
            )
        created = [
            self._metric_alarm(name, args, alarm, edge_topic if alarm.kind.edge else topic)
            for alarm in alarms
        ]
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=args.environment,
            dashboard_body=pulumi.Output.all(
                pulumi.Output.all(*_widgets(alarms, account.region)),
                pulumi.Output.all(*(a.arn for a in created)),
            ).apply(lambda v: dashboard_body(v[0], v[1])),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._publish(topic, edge_topic, dashboard, created)

    def _alarm_topic(
        self,
        name: str,
        args: MonitoringArgs,
        account: _Account,
        role: str,
        key: pulumi.Input[str] | None,
        topic_region: pulumi.Input[str],
        provider: pulumi.ProviderResource | None = None,
    ) -> aws.sns.Topic:
        """The alarm topic `role` in `topic_region`, its policy and an e-mail subscription per
        address."""
        env = args.environment
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        topic = aws.sns.Topic(
            f"{name}-{role}",
            name=fit(f"{env}-{role}"),
            display_name=f"{env} alarms",
            kms_master_key_id=key,
            tags={"Name": f"{name}-{role}", **args.tags},
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{name}-{role}-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, account.partition, account.id, topic_region).apply(
                lambda v: topic_policy(
                    topic_arn=v[0], partition=v[1], account=v[2], region=v[3], environment=env
                )
            ),
            opts=child,
        )
        for email in args.alarm_emails:
            # Named by the address, not its position: reordering the list must not replace
            # subscriptions (each replacement asks its owner to confirm again).
            aws.sns.TopicSubscription(
                f"{name}-{role}-{email.lower()}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )
        return topic

    def _metric_alarm(
        self, name: str, args: MonitoringArgs, alarm: _Alarm, topic: aws.sns.Topic
    ) -> aws.cloudwatch.MetricAlarm:
        """The CloudWatch alarm of `alarm`, notifying `topic` on ALARM and on OK."""
        kind = alarm.kind
        single = kind.expression is None
        series = alarm.series[0]
        return aws.cloudwatch.MetricAlarm(
            f"{name}-{alarm.suffix}",
            name=f"{args.environment}-{alarm.suffix}",
            alarm_description=alarm.description,
            namespace=series.namespace if single else None,
            metric_name=series.name if single else None,
            dimensions=dict(alarm.watched.dimensions) if single else None,
            statistic=series.stat if single else None,
            period=kind.period if single else None,
            metric_queries=None if single else _queries(alarm),
            comparison_operator=kind.comparison,
            threshold=alarm.threshold,
            evaluation_periods=kind.evaluation_periods,
            # "For N minutes": every one of the evaluated periods must breach.
            datapoints_to_alarm=kind.evaluation_periods,
            treat_missing_data=kind.treat_missing_data,
            actions_enabled=True,
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            tags={"Name": f"{name}-{alarm.suffix}", **args.tags},
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.edge_provider if kind.edge else None
            ),
        )

    def _publish(
        self,
        topic: aws.sns.Topic,
        edge_topic: aws.sns.Topic,
        dashboard: aws.cloudwatch.Dashboard,
        created: Sequence[aws.cloudwatch.MetricAlarm],
    ) -> None:
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


@dataclass(frozen=True)
class _Account:
    """Where the stack runs, as the alarm topics' policies name it."""

    partition: pulumi.Output[str]
    id: pulumi.Output[str]
    region: pulumi.Output[str]


def _queries(alarm: _Alarm) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    """The metric-math queries of a math alarm: its metrics (hidden), then the expression."""
    kind = alarm.kind
    queries = [
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=series.id,
            return_data=False,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace=series.namespace,
                metric_name=series.name,
                dimensions=dict(alarm.watched.dimensions),
                stat=series.stat,
                period=kind.period,
            ),
        )
        for series in alarm.series
    ]
    queries.append(
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="e1", expression=kind.expression, label=alarm.label, return_data=True
        )
    )
    return queries
