"""`Monitoring` through the offline engine: the alarms, their topic and the dashboard."""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter

import pulumi
import pulumi_aws as aws
import pytest

from osp.components import observability
from osp.components.observability import (
    Monitoring,
    MonitoringArgs,
    dashboard_body,
    key_policy_statement,
    problems,
)
from osp.platform.engine import offline
from osp.platform.validation import InvalidArguments
from tests.support import plan_component, spec_of

TAGS = {"osp:environment": "t", "osp:component": "observability", "osp:blueprint": "osp",
        "osp:managed-by": "osp"}  # fmt: skip
ACCOUNT = "123456789012"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/alarms"
EDGE_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/edge-alarms"
LB = "app/osp-t-api/50dc6c495c0c9188"
TARGET_GROUPS = {
    "identity": "targetgroup/osp-t-identity/73e2d6bc24d8a067",
    "payment": "targetgroup/osp-t-payment/0a1b2c3d4e5f6a7b",
}
DATABASES = ("osp-t-database", "osp-t-database-replica-1")
CACHE_NODES = ("osp-t-cache-001", "osp-t-cache-002")
BROKER = "osp-t-broker"
DLQS = ("osp-t-enrollment-dlq", "osp-t-payment-dlq")
DISTRIBUTIONS = {"student": "E2QWRUHAPOMQZL", "api": "E1ABCDEFGHIJKL"}
EMAILS = ("oncall@example.com", "platform-team@example.org")

NAME = "osp-t-monitoring"
ENV = "osp-t"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"

FULL = {
    "alarm_emails": EMAILS,
    "load_balancer_arn_suffix": LB,
    "target_groups": TARGET_GROUPS,
    "database_instance_ids": DATABASES,
    "database_allocated_storage_gib": 100,
    "database_max_connections": 500,
    "cache_cluster_ids": CACHE_NODES,
    "broker_name": BROKER,
    "dead_letter_queue_names": DLQS,
    "distributions": DISTRIBUTIONS,
}

FULL_ALARMS = {
    "osp-t-api-5xx-rate",
    "osp-t-service-identity-healthy-hosts",
    "osp-t-service-payment-healthy-hosts",
    "osp-t-db-primary-cpu",
    "osp-t-db-primary-connections",
    "osp-t-db-primary-free-storage",
    "osp-t-db-replica-1-cpu",
    "osp-t-db-replica-1-connections",
    "osp-t-db-replica-1-free-storage",
    "osp-t-redis-1-memory",
    "osp-t-redis-1-engine-cpu",
    "osp-t-redis-2-memory",
    "osp-t-redis-2-engine-cpu",
    "osp-t-broker-memory",
    "osp-t-broker-disk-free",
    "osp-t-dlq-1-messages",
    "osp-t-dlq-2-messages",
    "osp-t-cdn-student-5xx-rate",
    "osp-t-cdn-api-5xx-rate",
}


def monitoring_args(**overrides) -> MonitoringArgs:
    return MonitoringArgs(**{"environment": ENV, "kms_key_arn": KEY, "tags": TAGS, **overrides})


def plan_monitoring(region: str | None = None, edge: bool = False, **overrides):
    spec = spec_of("prod")
    if region:
        spec = spec.model_copy(update={"region": region})
    if edge:
        overrides.setdefault("edge_kms_key_arn", EDGE_KEY)

    def build(name, args, opts):
        if edge:  # a provider is a resource: created inside the program
            args = dataclasses.replace(args, edge_provider=aws.Provider("edge", region="us-east-1"))
        return Monitoring(name, args, opts)

    return plan_component(build, monitoring_args(**overrides), name=NAME, spec=spec)


@pytest.fixture(scope="module")
def full():
    return plan_monitoring(**FULL)


@pytest.fixture(scope="module")
def minimal():
    return plan_monitoring(database_instance_ids=("osp-t-database",))


@pytest.fixture(scope="module")
def edge():
    """A stack outside us-east-1: the CloudFront alarms go through the edge provider."""
    return plan_monitoring(region="eu-west-2", edge=True, **FULL)


def alarms(plan) -> dict[str, dict]:
    """Each alarm's inputs by its (physical) alarm name."""
    return {r.inputs["name"]: r.inputs for r in plan.of_type(ALARM)}


def full_alarms(plan) -> dict[str, dict]:
    """`alarms` of a plan built from FULL (so that no test passes on no alarm)."""
    found = alarms(plan)
    assert set(found) == FULL_ALARMS
    return found


def topic_arn(region: str, name: str = "osp-t-alarms") -> str:
    return f"arn:aws:sns:{region}:{ACCOUNT}:{name}"


def body(plan) -> dict:
    (dashboard,) = plan.of_type(DASHBOARD)
    return json.loads(dashboard.inputs["dashboardBody"])


# -- children --------------------------------------------------------------------------


def test_full_children(full):
    assert Counter(r.type for r in full.resources if r.custom) == {
        TOPIC: 1,
        POLICY: 1,
        SUBSCRIPTION: 2,
        ALARM: 19,
        DASHBOARD: 1,
    }
    component = full.named(NAME)
    assert component.type == "osp:observability:Monitoring"
    assert all(r.parent == component.urn for r in full.resources if r.custom)
    assert all(r.provider is None for r in full.resources if r.custom)


def test_full_alarm_set(full):
    assert set(alarms(full)) == FULL_ALARMS
    # Logical names follow the component's, physical ones the environment's.
    assert {r.name for r in full.of_type(ALARM)} == {
        NAME + name.removeprefix(ENV) for name in FULL_ALARMS
    }


def test_minimal_alarm_set(minimal):
    assert set(alarms(minimal)) == {"osp-t-db-primary-cpu"}
    assert Counter(r.type for r in minimal.resources if r.custom) == {
        TOPIC: 1,
        POLICY: 1,
        ALARM: 1,
        DASHBOARD: 1,
    }


def test_nothing_to_watch_still_gives_topic_and_dashboard():
    plan = plan_monitoring()
    assert alarms(plan) == {}
    (text,) = body(plan)["widgets"]
    assert text["type"] == "text"


# -- every alarm -----------------------------------------------------------------------

# name: (namespace, metric, dimensions, statistic, comparison, threshold, period, periods,
#        treat missing data)
SINGLE = {
    "osp-t-service-identity-healthy-hosts": (
        "AWS/ApplicationELB", "HealthyHostCount",
        {"TargetGroup": TARGET_GROUPS["identity"], "LoadBalancer": LB},
        "Minimum", "LessThanThreshold", 1, 60, 2, "breaching",
    ),
    "osp-t-service-payment-healthy-hosts": (
        "AWS/ApplicationELB", "HealthyHostCount",
        {"TargetGroup": TARGET_GROUPS["payment"], "LoadBalancer": LB},
        "Minimum", "LessThanThreshold", 1, 60, 2, "breaching",
    ),
    "osp-t-db-primary-cpu": (
        "AWS/RDS", "CPUUtilization", {"DBInstanceIdentifier": "osp-t-database"},
        "Average", "GreaterThanThreshold", 80, 60, 10, "missing",
    ),
    "osp-t-db-replica-1-cpu": (
        "AWS/RDS", "CPUUtilization", {"DBInstanceIdentifier": "osp-t-database-replica-1"},
        "Average", "GreaterThanThreshold", 80, 60, 10, "missing",
    ),
    "osp-t-db-primary-connections": (
        "AWS/RDS", "DatabaseConnections", {"DBInstanceIdentifier": "osp-t-database"},
        "Maximum", "GreaterThanThreshold", 400, 60, 5, "missing",
    ),
    "osp-t-db-replica-1-connections": (
        "AWS/RDS", "DatabaseConnections", {"DBInstanceIdentifier": "osp-t-database-replica-1"},
        "Maximum", "GreaterThanThreshold", 400, 60, 5, "missing",
    ),
    "osp-t-db-primary-free-storage": (
        "AWS/RDS", "FreeStorageSpace", {"DBInstanceIdentifier": "osp-t-database"},
        "Minimum", "LessThanThreshold", 10 * 1024**3, 60, 5, "missing",
    ),
    "osp-t-db-replica-1-free-storage": (
        "AWS/RDS", "FreeStorageSpace", {"DBInstanceIdentifier": "osp-t-database-replica-1"},
        "Minimum", "LessThanThreshold", 10 * 1024**3, 60, 5, "missing",
    ),
    "osp-t-redis-1-memory": (
        "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", {"CacheClusterId": "osp-t-cache-001"},
        "Average", "GreaterThanThreshold", 80, 60, 5, "missing",
    ),
    "osp-t-redis-2-memory": (
        "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", {"CacheClusterId": "osp-t-cache-002"},
        "Average", "GreaterThanThreshold", 80, 60, 5, "missing",
    ),
    "osp-t-redis-1-engine-cpu": (
        "AWS/ElastiCache", "EngineCPUUtilization", {"CacheClusterId": "osp-t-cache-001"},
        "Average", "GreaterThanThreshold", 80, 60, 10, "missing",
    ),
    "osp-t-redis-2-engine-cpu": (
        "AWS/ElastiCache", "EngineCPUUtilization", {"CacheClusterId": "osp-t-cache-002"},
        "Average", "GreaterThanThreshold", 80, 60, 10, "missing",
    ),
    "osp-t-dlq-1-messages": (
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "osp-t-enrollment-dlq"},
        "Maximum", "GreaterThanThreshold", 0, 300, 1, "notBreaching",
    ),
    "osp-t-dlq-2-messages": (
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "osp-t-payment-dlq"},
        "Maximum", "GreaterThanThreshold", 0, 300, 1, "notBreaching",
    ),
    "osp-t-cdn-student-5xx-rate": (
        "AWS/CloudFront", "5xxErrorRate", {"DistributionId": "E2QWRUHAPOMQZL", "Region": "Global"},
        "Average", "GreaterThanThreshold", 5, 60, 5, "notBreaching",
    ),
    "osp-t-cdn-api-5xx-rate": (
        "AWS/CloudFront", "5xxErrorRate", {"DistributionId": "E1ABCDEFGHIJKL", "Region": "Global"},
        "Average", "GreaterThanThreshold", 5, 60, 5, "notBreaching",
    ),
}  # fmt: skip


def _metric(namespace, name, dimensions, stat, period=60):
    return {
        "namespace": namespace,
        "metricName": name,
        "dimensions": dimensions,
        "stat": stat,
        "period": period,
    }


# name: (queries without the expression, expression, comparison, threshold, periods, missing)
MATH = {
    "osp-t-api-5xx-rate": (
        {
            "target5xx": _metric("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count",
                                 {"LoadBalancer": LB}, "Sum"),
            "elb5xx": _metric("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count",
                              {"LoadBalancer": LB}, "Sum"),
            "requests": _metric("AWS/ApplicationELB", "RequestCount", {"LoadBalancer": LB}, "Sum"),
        },
        "100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests",
        "GreaterThanThreshold", 5, 5, "notBreaching",
    ),
    "osp-t-broker-memory": (
        {
            "used": _metric("AWS/AmazonMQ", "RabbitMQMemUsed", {"Broker": BROKER}, "Maximum"),
            "limit": _metric("AWS/AmazonMQ", "RabbitMQMemLimit", {"Broker": BROKER}, "Maximum"),
        },
        "100 * used / limit",
        "GreaterThanThreshold", 80, 5, "missing",
    ),
    "osp-t-broker-disk-free": (
        {
            "free": _metric("AWS/AmazonMQ", "RabbitMQDiskFree", {"Broker": BROKER}, "Minimum"),
            "limit": _metric("AWS/AmazonMQ", "RabbitMQDiskFreeLimit", {"Broker": BROKER},
                             "Maximum"),
        },
        "free / limit",
        "LessThanThreshold", 2, 5, "missing",
    ),
}  # fmt: skip


def test_every_alarm_is_specified_here(full):
    assert set(SINGLE) | set(MATH) == FULL_ALARMS


@pytest.mark.parametrize("alarm_name", sorted(SINGLE))
def test_single_metric_alarm(full, alarm_name):
    namespace, metric, dims, stat, comparison, threshold, period, periods, missing = SINGLE[
        alarm_name
    ]
    alarm = alarms(full)[alarm_name]
    assert (alarm["namespace"], alarm["metricName"], alarm["dimensions"]) == (
        namespace,
        metric,
        dims,
    )
    assert alarm["statistic"] == stat
    assert alarm["comparisonOperator"] == comparison
    assert alarm["threshold"] == threshold
    assert alarm["period"] == period
    assert alarm["evaluationPeriods"] == periods
    assert alarm["datapointsToAlarm"] == periods  # every period must breach
    assert alarm["treatMissingData"] == missing
    assert "metricQueries" not in alarm


@pytest.mark.parametrize("alarm_name", sorted(MATH))
def test_metric_math_alarm(full, alarm_name):
    metrics, expression, comparison, threshold, periods, missing = MATH[alarm_name]
    alarm = alarms(full)[alarm_name]
    *inputs, result = alarm["metricQueries"]
    assert {q["id"]: q["metric"] for q in inputs} == metrics
    assert all(q["returnData"] is False for q in inputs)
    assert result["expression"] == expression
    assert result["returnData"] is True and "metric" not in result
    assert alarm["comparisonOperator"] == comparison
    assert alarm["threshold"] == threshold
    assert alarm["evaluationPeriods"] == alarm["datapointsToAlarm"] == periods
    assert alarm["treatMissingData"] == missing
    assert not {"namespace", "metricName", "statistic", "period"} & set(alarm)


def test_api_error_rate_is_five_percent_for_five_minutes(full):
    alarm = alarms(full)["osp-t-api-5xx-rate"]
    assert {q["metric"]["period"] for q in alarm["metricQueries"] if "metric" in q} == {60}
    assert alarm["evaluationPeriods"] * 60 == 5 * 60 and alarm["threshold"] == 5


def test_cpu_is_eighty_percent_for_ten_minutes(full):
    for name in ("osp-t-db-primary-cpu", "osp-t-redis-1-engine-cpu"):
        alarm = alarms(full)[name]
        assert alarm["threshold"] == 80
        assert alarm["period"] * alarm["evaluationPeriods"] == 600


@pytest.mark.parametrize("fixture", ["full", "edge"])
def test_every_alarm_notifies_on_alarm_and_ok(fixture, request):
    plan = request.getfixturevalue(fixture)
    region = "us-east-1" if fixture == "full" else "eu-west-2"
    for name, alarm in full_alarms(plan).items():
        expected = topic_arn(region)
        if fixture == "edge" and "-cdn-" in name:
            expected = topic_arn("us-east-1", "osp-t-edge-alarms")
        assert alarm["alarmActions"] == [expected], name
        assert alarm["okActions"] == [expected], name
        assert alarm["actionsEnabled"] is True
        assert "insufficientDataActions" not in alarm


def test_names_are_readable_and_unique(full):
    names = [r.inputs["name"] for r in full.of_type(ALARM)]
    assert len(names) == len(set(names)) == len(FULL_ALARMS)
    assert all(re.fullmatch(r"osp-t-[a-z0-9-]+-[a-z0-9-]+", n) for n in names)


def test_descriptions_say_what_to_do(full):
    for name, alarm in full_alarms(full).items():
        text = alarm["alarmDescription"]
        assert 80 < len(text) <= 1024, name
        assert re.search(r"\b(Check|Find|Look|Read)\b", text), name


def test_descriptions_carry_the_numbers(full):
    found = alarms(full)
    assert (
        "400 connections (80% of max_connections 500)"
        in (found["osp-t-db-primary-connections"]["alarmDescription"])
    )
    assert (
        "10% of the 100 GiB allocated"
        in (found["osp-t-db-primary-free-storage"]["alarmDescription"])
    )
    assert "2x its disk limit" in found["osp-t-broker-disk-free"]["alarmDescription"]
    assert found["osp-t-dlq-2-messages"]["alarmDescription"].startswith(
        "Messages in dead-letter queue osp-t-payment-dlq: "
    )


def test_alarms_are_tagged(full):
    assert len(full.of_type(ALARM)) == len(FULL_ALARMS)
    for alarm in full.of_type(ALARM):
        assert alarm.inputs["tags"] == {"Name": alarm.name, **TAGS}


def test_thresholds_follow_the_args():
    plan = plan_monitoring(
        **FULL,
        error_rate_percent=2,
        cpu_percent=70,
        memory_percent=75,
        database_connections_percent=90,
        database_free_storage_percent=20,
        broker_disk_free_margin=3,
    )
    found = {name: alarm["threshold"] for name, alarm in alarms(plan).items()}
    assert found["osp-t-api-5xx-rate"] == 2
    assert found["osp-t-cdn-student-5xx-rate"] == 2
    assert found["osp-t-db-primary-cpu"] == found["osp-t-redis-2-engine-cpu"] == 70
    assert found["osp-t-redis-1-memory"] == found["osp-t-broker-memory"] == 75
    assert found["osp-t-db-replica-1-connections"] == 450
    assert found["osp-t-db-primary-free-storage"] == 20 * 1024**3
    assert found["osp-t-broker-disk-free"] == 3


def test_database_alarms_need_their_numbers():
    plan = plan_monitoring(database_instance_ids=DATABASES, database_max_connections=100)
    assert set(alarms(plan)) == {
        "osp-t-db-primary-cpu",
        "osp-t-db-primary-connections",
        "osp-t-db-replica-1-cpu",
        "osp-t-db-replica-1-connections",
    }


# -- the alarm topic -------------------------------------------------------------------


def test_topic_is_encrypted_with_the_customer_key(full):
    (topic,) = full.of_type(TOPIC)
    assert topic.inputs["kmsMasterKeyId"] == KEY
    assert topic.inputs["name"] == "osp-t-alarms"
    assert topic.inputs["tags"] == {"Name": f"{NAME}-alarms", **TAGS}


def test_topic_policy_lets_only_this_environments_alarms_publish(full):
    (policy,) = full.of_type(POLICY)
    arn = topic_arn("us-east-1")
    assert policy.inputs["arn"] == arn
    document = json.loads(policy.inputs["policy"])
    statements = {s["Sid"]: s for s in document["Statement"]}
    assert set(statements) == {"AccountManages", "CloudWatchAlarmsPublish", "DenyInsecureTransport"}
    cloudwatch = statements["CloudWatchAlarmsPublish"]
    assert cloudwatch == {
        "Sid": "CloudWatchAlarmsPublish",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": arn,
        "Condition": {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:osp-t-*"},
        },
    }
    account = statements["AccountManages"]
    assert account["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert account["Resource"] == arn
    # Nobody outside the account, and no wildcard principal in any Allow.
    assert all(
        s["Principal"] != "*" and s["Principal"] != {"AWS": "*"}
        for s in statements.values()
        if s["Effect"] == "Allow"
    )
    # Everyone, the account included, is refused without TLS (OSP-SNS-2).
    assert statements["DenyInsecureTransport"] == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": [
            "sns:AddPermission",
            "sns:DeleteTopic",
            "sns:GetTopicAttributes",
            "sns:ListSubscriptionsByTopic",
            "sns:Publish",
            "sns:Receive",
            "sns:RemovePermission",
            "sns:SetTopicAttributes",
            "sns:Subscribe",
        ],
        "Resource": arn,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert "sns:Receive" not in account["Action"]


def test_every_address_is_subscribed_by_email(full):
    subscriptions = {r.name: r.inputs for r in full.of_type(SUBSCRIPTION)}
    assert subscriptions == {
        f"{NAME}-alarms-{email}": {
            "topic": topic_arn("us-east-1"),
            "protocol": "email",
            "endpoint": email,
        }
        for email in EMAILS
    }


def test_key_policy_statement():
    statement = key_policy_statement(partition="aws", account=ACCOUNT, region="eu-west-2")
    assert statement == {
        "Sid": "CloudWatchAlarmsPublishToEncryptedTopics",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:eu-west-2:{ACCOUNT}:alarm:*"},
        },
    }


# -- the edge ---------------------------------------------------------------------------


def test_without_edge_provider_cloudfront_alarms_use_the_main_topic(full):
    assert len(full.of_type(TOPIC)) == 1
    for name in ("osp-t-cdn-student-5xx-rate", "osp-t-cdn-api-5xx-rate"):
        assert alarms(full)[name]["alarmActions"] == [topic_arn("us-east-1")]


def test_edge_provider_carries_the_cloudfront_alarms_and_their_topic(edge):
    (provider,) = edge.of_type("pulumi:providers:aws")
    assert provider.inputs["region"] == "us-east-1"
    through_edge = {r.name for r in edge.resources if r.provider == provider.urn}
    assert through_edge == {
        f"{NAME}-cdn-student-5xx-rate",
        f"{NAME}-cdn-api-5xx-rate",
        f"{NAME}-edge-alarms",
        f"{NAME}-edge-alarms-policy",
        *(f"{NAME}-edge-alarms-{email}" for email in EMAILS),
    }
    component = edge.named(NAME)
    assert Counter(r.type for r in edge.resources if r.parent == component.urn) == {
        TOPIC: 2,
        POLICY: 2,
        SUBSCRIPTION: 4,
        ALARM: 19,
        DASHBOARD: 1,
    }


def test_edge_topic_lives_in_us_east_1_with_its_own_key(edge):
    topic = edge.named(f"{NAME}-edge-alarms")
    assert topic.inputs["kmsMasterKeyId"] == EDGE_KEY
    assert topic.inputs["name"] == "osp-t-edge-alarms"
    main = edge.named(f"{NAME}-alarms")
    assert main.inputs["kmsMasterKeyId"] == KEY
    policy = json.loads(edge.named(f"{NAME}-edge-alarms-policy").inputs["policy"])
    (cloudwatch,) = [s for s in policy["Statement"] if s["Sid"] == "CloudWatchAlarmsPublish"]
    assert cloudwatch["Resource"] == topic_arn("us-east-1", "osp-t-edge-alarms")
    assert cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"] == (
        f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:osp-t-*"
    )
    main_policy = json.loads(edge.named(f"{NAME}-alarms-policy").inputs["policy"])
    assert f"arn:aws:cloudwatch:eu-west-2:{ACCOUNT}:alarm:osp-t-*" in json.dumps(main_policy)


def test_edge_alarm_arns_show_their_regions(edge):
    widget = body(edge)["widgets"][0]
    arns = widget["properties"]["alarms"]
    assert {a for a in arns if ":us-east-1:" in a} == {
        f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:osp-t-cdn-student-5xx-rate",
        f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:osp-t-cdn-api-5xx-rate",
    }
    assert len(arns) == 19


# -- the dashboard ----------------------------------------------------------------------


def test_dashboard_is_named_after_the_environment(full):
    (dashboard,) = full.of_type(DASHBOARD)
    assert dashboard.inputs["dashboardName"] == ENV
    assert dashboard.name == f"{NAME}-dashboard"


def test_dashboard_json_is_stable(full):
    (dashboard,) = full.of_type(DASHBOARD)
    text = dashboard.inputs["dashboardBody"]
    assert json.dumps(json.loads(text), sort_keys=True) == text
    assert plan_monitoring(**FULL).of_type(DASHBOARD)[0].inputs["dashboardBody"] == text


def _metric_names(document: dict) -> set[str]:
    return {
        row[1]
        for widget in document["widgets"]
        if widget["type"] == "metric"
        for row in widget["properties"]["metrics"]
        if isinstance(row[0], str)
    }


@pytest.mark.parametrize("fixture", ["full", "minimal", "edge"])
def test_dashboard_graphs_every_alarms_metric(fixture, request):
    plan = request.getfixturevalue(fixture)
    watched = set()
    for alarm in alarms(plan).values():
        if "metricName" in alarm:
            watched.add(alarm["metricName"])
        for query in alarm.get("metricQueries", []):
            if "metric" in query:
                watched.add(query["metric"]["metricName"])
    assert watched
    assert _metric_names(body(plan)) == watched


def test_dashboard_shows_every_alarm_and_its_math(full):
    document = body(full)
    status = document["widgets"][0]
    assert status["type"] == "alarm"
    assert status["properties"]["alarms"] == sorted(
        f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{name}" for name in FULL_ALARMS
    )
    expressions = {
        row[0]["expression"]
        for widget in document["widgets"]
        if widget["type"] == "metric"
        for row in widget["properties"]["metrics"]
        if isinstance(row[0], dict)
    }
    assert expressions == {expression for _, expression, *_ in MATH.values()}


@pytest.mark.parametrize(("fixture", "region"), [("full", "us-east-1"), ("edge", "eu-west-2")])
def test_metric_widgets_name_their_region(fixture, region, request):
    widgets = [
        w for w in body(request.getfixturevalue(fixture))["widgets"] if w["type"] == "metric"
    ]
    regions = {w["properties"]["title"]: w["properties"]["region"] for w in widgets}
    assert regions.pop("CloudFront 5xx error rate (%)") == "us-east-1"
    assert set(regions.values()) == {region}
    assert len(regions) == 10


def test_dashboard_graphs_show_the_thresholds(full):
    widgets = {
        w["properties"]["title"]: w["properties"]
        for w in body(full)["widgets"]
        if w["type"] == "metric"
    }
    assert widgets["Database connections"]["annotations"] == {
        "horizontal": [{"label": "alarm", "value": 400}]
    }
    assert widgets["Healthy hosts per service"]["metrics"] == [
        ["AWS/ApplicationELB", "HealthyHostCount", "LoadBalancer", LB, "TargetGroup", suffix,
         {"stat": "Minimum", "label": service}]
        for service, suffix in TARGET_GROUPS.items()
    ]  # fmt: skip


def test_dashboard_widgets_do_not_overlap(full):
    taken: set[tuple[int, int]] = set()
    for widget in body(full)["widgets"]:
        assert widget["x"] + widget["width"] <= 24
        cells = {
            (x, y)
            for x in range(widget["x"], widget["x"] + widget["width"])
            for y in range(widget["y"], widget["y"] + widget["height"])
        }
        assert not cells & taken, widget
        taken |= cells


def test_dashboard_body_without_alarms():
    document = json.loads(dashboard_body([], []))
    assert [w["type"] for w in document["widgets"]] == ["text"]


# -- outputs ----------------------------------------------------------------------------


def test_outputs():
    seen = {}

    def program(_spec):
        monitoring = Monitoring(NAME, monitoring_args(**FULL))
        pulumi.export("topic", monitoring.alarm_topic_arn)
        pulumi.export("dashboard", monitoring.dashboard_name)
        pulumi.export("alarms", monitoring.alarm_names)
        seen["edge"] = monitoring.edge_alarm_topic_arn

    plan = offline.run(spec_of("prod"), program)
    assert plan.outputs["topic"] == topic_arn("us-east-1")
    assert plan.outputs["dashboard"] == ENV
    assert plan.outputs["alarms"] == sorted(FULL_ALARMS)
    assert seen["edge"] is None


# -- bad args ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"environment": ""}, "environment: got ''; expected 1-64 letters, digits, '-' or '_'"),
        ({"environment": "osp prod"}, "environment: got 'osp prod'"),
        ({"environment": "x" * 65}, "environment: got 'xxxx"),
        ({"alarm_emails": "ops@example.com"}, "alarm_emails: got 'ops@example.com'; expected a "
         "list of e-mail addresses, not one string"),
        ({"alarm_emails": ("ops@example",)}, "alarm_emails[0]: got 'ops@example'; expected an "
         "e-mail address such as platform@school.example.com"),
        ({"alarm_emails": ("ops example.com",)}, "alarm_emails[0]: got 'ops example.com'"),
        ({"alarm_emails": ("a@x.io", "A@X.io")},
         "alarm_emails[1]: got 'A@X.io'; expected each address at most once"),
        ({"load_balancer_arn_suffix": f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:"
          "loadbalancer/app/osp-t-api/50dc6c495c0c9188"},
         "load_balancer_arn_suffix: got 'arn:aws:elasticloadbalancing"),
        ({"load_balancer_arn_suffix": LB, "target_groups": {"identity": "osp-t-identity"}},
         "target_groups['identity']: got 'osp-t-identity'; expected a target group's ARN "
         "suffix targetgroup/<name>/<id>"),
        ({"target_groups": {"identity": TARGET_GROUPS["identity"]}},
         "target_groups: need load_balancer_arn_suffix"),
        ({"load_balancer_arn_suffix": LB, "target_groups": {"Identity": TARGET_GROUPS["identity"]}},
         "target_groups key: got 'Identity'; expected a DNS label (1-63 lower-case letters, "
         "digits and hyphens, not starting or ending with a hyphen): it goes into alarm names"),
        ({"load_balancer_arn_suffix": LB,
          "target_groups": {"a": TARGET_GROUPS["identity"], "b": TARGET_GROUPS["identity"]}},
         "target_groups: got 'targetgroup/osp-t-identity/73e2d6bc24d8a067'; expected each "
         "target group at most once"),
        ({"database_instance_ids": ("db", "db")},
         "database_instance_ids: got 'db'; expected each instance id at most once"),
        ({"database_instance_ids": "osp-t-database"},
         "database_instance_ids: got 'osp-t-database'; expected a list of instance ids, "
         "not one string"),
        ({"database_instance_ids": DATABASES, "database_allocated_storage_gib": 0},
         "database_allocated_storage_gib: got 0; expected an integer from 20 to 65536, or None"),
        ({"database_instance_ids": DATABASES, "database_allocated_storage_gib": 19},
         "database_allocated_storage_gib: got 19; expected an integer from 20 to 65536, or None"),
        ({"database_instance_ids": DATABASES, "database_max_connections": 10.5},
         "database_max_connections: got 10.5; expected an integer from 1 to 262143"),
        ({"database_max_connections": 100},
         "database_max_connections: got 100; expected None when there are no "
         "database_instance_ids"),
        ({"cache_cluster_ids": ("n-001", "n-001")},
         "cache_cluster_ids: got 'n-001'; expected each cluster id at most once"),
        ({"dead_letter_queue_names": ("dlq", "")},
         "dead_letter_queue_names[1]: got ''; expected a non-empty queue name"),
        ({"dead_letter_queue_names": ("dlq", "dlq")},
         "dead_letter_queue_names: got 'dlq'; expected each queue name at most once"),
        ({"broker_name": ""}, "broker_name: got ''; expected a broker name, or None"),
        ({"distributions": {"student": "d111111abcdef8.cloudfront.net"}},
         "distributions['student']: got 'd111111abcdef8.cloudfront.net'; expected a "
         "CloudFront distribution id"),
        ({"distributions": {"student": "E2QWRUHAPOMQZL", "admin": "E2QWRUHAPOMQZL"}},
         "distributions: got 'E2QWRUHAPOMQZL'; expected each distribution id at most once"),
        ({"distributions": {"student_portal": "E2QWRUHAPOMQZL"}},
         "distributions key: got 'student_portal'"),
        ({"edge_kms_key_arn": EDGE_KEY},
         "edge_kms_key_arn: got 'arn:aws:kms:us-east-1:123456789012:key/edge-alarms'; "
         "expected None without edge_provider"),
        ({"error_rate_percent": 0}, "error_rate_percent: got 0; expected a percentage above 0 "
         "and below 100"),
        ({"cpu_percent": 100}, "cpu_percent: got 100; expected a percentage"),
        ({"memory_percent": -5}, "memory_percent: got -5"),
        ({"database_connections_percent": True}, "database_connections_percent: got True"),
        ({"database_free_storage_percent": "10"}, "database_free_storage_percent: got '10'"),
        ({"broker_disk_free_margin": 1}, "broker_disk_free_margin: got 1; expected a factor "
         "above 1 and at most 10"),
        ({"broker_disk_free_margin": 11}, "broker_disk_free_margin: got 11"),
    ],
)  # fmt: skip
def test_refuses_bad_args(overrides, message):
    with pytest.raises(InvalidArguments, match=f"Monitoring {NAME}: {re.escape(message)}"):
        plan_monitoring(**overrides)


def test_edge_provider_with_distributions_needs_a_key_in_us_east_1():
    with pytest.raises(InvalidArguments, match=re.escape(
        "edge_kms_key_arn: got None; expected a KMS key in us-east-1 for the edge alarm topic"
    )):  # fmt: skip
        plan_monitoring(edge=True, edge_kms_key_arn=None, distributions=DISTRIBUTIONS)


def test_refuses_before_creating_anything():
    def program(_spec):
        with pytest.raises(InvalidArguments, match="alarm_emails"):
            Monitoring(NAME, monitoring_args(alarm_emails=("nope",), **{
                k: v for k, v in FULL.items() if k != "alarm_emails"
            }))  # fmt: skip

    plan = offline.run(spec_of("prod"), program)
    assert [r.type for r in plan.resources if r.custom] == []


def test_reports_every_problem_at_once():
    found = problems(
        "m",
        monitoring_args(environment="", alarm_emails=("x",), cpu_percent=0,
                        broker_disk_free_margin=0.5),
    )  # fmt: skip
    assert [p.split(":")[1].strip() for p in found] == [
        "environment",
        "alarm_emails[0]",
        "cpu_percent",
        "broker_disk_free_margin",
    ]


def test_full_args_are_valid():
    assert problems("m", monitoring_args(**FULL)) == []


# -- the alarm catalogue ----------------------------------------------------------------


def test_catalogue_order_is_the_creation_order():
    # Per kind of thing watched, each thing with every row that watches it: the order the
    # alarms are registered in, which must not change.
    assert [alarm.suffix for alarm in observability._alarms(monitoring_args(**FULL))] == [
        "api-5xx-rate",
        "service-identity-healthy-hosts",
        "service-payment-healthy-hosts",
        "db-primary-cpu",
        "db-primary-connections",
        "db-primary-free-storage",
        "db-replica-1-cpu",
        "db-replica-1-connections",
        "db-replica-1-free-storage",
        "redis-1-memory",
        "redis-1-engine-cpu",
        "redis-2-memory",
        "redis-2-engine-cpu",
        "broker-memory",
        "broker-disk-free",
        "dlq-1-messages",
        "dlq-2-messages",
        "cdn-student-5xx-rate",
        "cdn-api-5xx-rate",
    ]


#: The application-level args (tests/components/test_application_alarms.py): with FULL,
#: every catalogue row has something to watch.
APPLICATION = {
    "service_error_rates": True,
    "cluster_name": "osp-prod-eks",
    "service_namespace": "osp-services",
    "services": ["payment"],
    "consumer_queues": {"fee-enrollment-created": "osp-prod-fee-enrollment-created"},
    "payment_failure_metric": ("OSP/Payments", "PaymentFailures"),
}


def test_every_row_gives_alarms_with_filled_texts():
    found = observability._alarms(
        monitoring_args(**FULL, **APPLICATION, backup_vault_name="osp-t-backups")
    )
    assert {alarm.kind for alarm in found} == set(observability.ALARM_CATALOGUE)
    for alarm in found:
        assert "{" not in alarm.description and "}" not in alarm.description, alarm.suffix
        assert "{" not in alarm.label, alarm.suffix


def test_adding_an_alarm_is_adding_a_row(monkeypatch):
    (cpu,) = [k for k in observability.ALARM_CATALOGUE if k.widget == "Database CPU (%)"]
    latency = dataclasses.replace(
        cpu, metric="read-latency", threshold=0.02, description="Database {role}: slow reads."
    )
    monkeypatch.setattr(observability, "ALARM_CATALOGUE", (*observability.ALARM_CATALOGUE, latency))
    found = observability._alarms(monitoring_args(database_instance_ids=DATABASES))
    # The new row's alarms come right after their thing's other alarms.
    assert [(a.suffix, a.threshold) for a in found] == [
        ("db-primary-cpu", 80.0),
        ("db-primary-read-latency", 0.02),
        ("db-replica-1-cpu", 80.0),
        ("db-replica-1-read-latency", 0.02),
    ]
    assert found[3].description == "Database replica-1: slow reads."
    assert found[3].watched.dimensions == {"DBInstanceIdentifier": DATABASES[1]}


def test_a_new_graph_appears_on_the_dashboard_in_its_section(monkeypatch):
    (cpu,) = [k for k in observability.ALARM_CATALOGUE if k.widget == "Database CPU (%)"]
    latency = dataclasses.replace(
        cpu, metric="read-latency", threshold=0.02, widget="Database read latency (s)"
    )
    monkeypatch.setattr(observability, "ALARM_CATALOGUE", (*observability.ALARM_CATALOGUE, latency))
    found = observability._alarms(monitoring_args(database_instance_ids=DATABASES))
    widgets = observability._widgets(found, "us-east-1")
    shown = [w["properties"].get("markdown") or w["properties"]["title"] for w in widgets]
    assert shown == ["## Database", "Database CPU (%)", "Database read latency (s)"]


@pytest.mark.parametrize(
    ("value", "text"), [(80.0, "80"), (2.5, "2.5"), (400.0, "400"), (10 * 1024**3, "10737418240")]
)
def test_thresholds_are_written_as_people_write_them(value, text):
    assert observability._format_number(value) == text
