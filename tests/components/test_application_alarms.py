"""The application alarms of `Monitoring` (per service from Container Insights and the load
balancer, per consumer queue, payment failures) and what the estate's plans hold of them and
of the observability add-on: log groups, role, add-on, the services' trace settings."""

from __future__ import annotations

import json

import pytest

from osp.components import observability
from osp.components.observability import MonitoringArgs
from osp.platform.validation import InvalidArguments
from tests.components.test_observability import APPLICATION, FULL, KEY, plan_monitoring
from tests.support import ENVIRONMENTS, plan_of, spec_of

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
BLUEPRINTS = (None, "learning-hub")


def alarms(plan) -> dict[str, dict]:
    return {r.inputs["name"]: r.inputs for r in plan.resources if r.type == ALARM}


@pytest.fixture(scope="module")
def application():
    return plan_monitoring(**FULL, **APPLICATION)


def test_service_alarms_read_container_insights_by_cluster_namespace_and_service(application):
    found = alarms(application)
    where = {"ClusterName": "osp-prod-eks", "Namespace": "osp-services", "Service": "payment"}
    expected = {
        "cpu": ("pod_cpu_utilization_over_pod_limit", "Average", 80, 10, 60),
        "memory": ("pod_memory_utilization_over_pod_limit", "Average", 80, 5, 60),
        "restarts": ("pod_number_of_container_restarts", "Sum", 2, 1, 300),
    }
    for metric, (name, stat, threshold, periods, period) in expected.items():
        alarm = found[f"osp-t-service-payment-{metric}"]
        assert alarm["namespace"] == "ContainerInsights" and alarm["metricName"] == name
        assert alarm["dimensions"] == where and alarm["statistic"] == stat
        assert alarm["threshold"] == threshold and alarm["comparisonOperator"] == (
            "GreaterThanThreshold"
        )
        assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (periods, periods)
        assert alarm["period"] == period


def test_seed_000_cpu_above_80_percent_for_10_minutes(application):
    cpu = alarms(application)["osp-t-service-payment-cpu"]
    assert cpu["threshold"] * 1 == 80 and cpu["period"] * cpu["evaluationPeriods"] == 600


def test_each_routed_service_has_a_5xx_rate_alarm_at_its_target_group(application):
    rate = {n: a for n, a in alarms(application).items() if n.startswith("osp-t-service-")
            and n.endswith("-5xx-rate")}  # fmt: skip
    assert rate, "no per-service 5xx alarm"
    for alarm in rate.values():
        queries = {q["id"]: q for q in alarm["metricQueries"]}
        assert queries["e1"]["expression"] == "100 * FILL(target5xx, 0) / requests"
        assert queries["target5xx"]["metric"]["metricName"] == "HTTPCode_Target_5XX_Count"
        assert set(queries["requests"]["metric"]["dimensions"]) == {"TargetGroup", "LoadBalancer"}
        assert alarm["threshold"] == 5 and alarm["evaluationPeriods"] == 5


def test_consumer_queues_have_depth_and_age_alarms(application):
    found = alarms(application)
    depth = found["osp-t-queue-fee-enrollment-created-depth"]
    age = found["osp-t-queue-fee-enrollment-created-oldest-message-age"]
    queue = {"QueueName": "osp-prod-fee-enrollment-created"}
    assert (depth["metricName"], depth["threshold"], depth["dimensions"]) == (
        "ApproximateNumberOfMessagesVisible", 1000, queue)  # fmt: skip
    assert depth["period"] * depth["evaluationPeriods"] == 900
    assert (age["metricName"], age["threshold"], age["dimensions"]) == (
        "ApproximateAgeOfOldestMessage", 900, queue)  # fmt: skip


def test_payment_failures_alarm_on_the_custom_metric(application):
    alarm = alarms(application)["osp-t-payment-failures"]
    assert (alarm["namespace"], alarm["metricName"], alarm["statistic"]) == (
        "OSP/Payments", "PaymentFailures", "Sum")  # fmt: skip
    assert alarm["dimensions"] == {"Environment": "osp-t"}
    assert alarm["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert (alarm["threshold"], alarm["period"]) == (5, 300)
    assert "payment gateway" in alarm["alarmDescription"]


def test_the_dashboard_has_a_services_section(application):
    (dashboard,) = [r for r in application.resources if r.type.endswith("Dashboard")]
    body = json.loads(dashboard.inputs["dashboardBody"])
    titles = [w["properties"].get("title") for w in body["widgets"]]
    markdown = [w["properties"].get("markdown") for w in body["widgets"]]
    assert "## Services" in markdown and "## Payments" in markdown
    assert "Service CPU (% of limit)" in titles
    assert "Oldest message in consumer queues (s)" in titles


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"services": ["a"]},
         "Monitoring m: cluster_name: got None; expected the cluster whose Container Insights "
         "`services` run on"),
        ({"cluster_name": "c"}, "Monitoring m: service_namespace: got None"),
        ({"queue_age_seconds": 10}, "Monitoring m: queue_age_seconds: got 10; expected an "
         "integer of at least 60"),
    ],
)  # fmt: skip
def test_application_args_are_checked(overrides, message):
    found = observability.problems(
        "m", MonitoringArgs(environment="osp-prod", kms_key_arn=KEY, **overrides)
    )
    assert any(p.startswith(message) for p in found), found
    with pytest.raises(InvalidArguments):
        plan_monitoring(**overrides)


# --- the estate -------------------------------------------------------------------------------


@pytest.mark.parametrize("blueprint", BLUEPRINTS, ids=["osp", "learning-hub"])
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_estate_has_the_add_on_its_role_and_its_encrypted_log_groups(environment, blueprint):
    plan, spec = plan_of(environment, blueprint), spec_of(environment, blueprint)
    cluster = f"osp-{environment}-eks"
    groups = {
        r.inputs["name"]: r.inputs
        for r in plan.resources
        if r.type == "aws:cloudwatch/logGroup:LogGroup" and "containerinsights" in r.inputs["name"]
    }
    kinds = ("application", "dataplane", "host", "performance")
    assert sorted(groups) == [f"/aws/containerinsights/{cluster}/{kind}" for kind in kinds]
    for inputs in groups.values():
        assert inputs["retentionInDays"] == spec.cluster.log_retention_days
        assert inputs["kmsKeyId"].startswith("arn:aws:kms:")
    (addon,) = [r for r in plan.resources if r.type == "aws:eks/addon:Addon"
                and r.inputs["addonName"] == "amazon-cloudwatch-observability"]  # fmt: skip
    role = next(r for r in plan.resources if r.name == f"{cluster}-cloudwatch-agent-role")
    assert addon.inputs["serviceAccountRoleArn"].endswith(f":role/{cluster}-cloudwatch-agent")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]
    assert "system:serviceaccount:amazon-cloudwatch:cloudwatch-agent" in json.dumps(trust)
    attached = {r.inputs["policyArn"].rsplit("/", 1)[-1] for r in plan.resources
                if r.name.startswith(f"{cluster}-cloudwatch-agent-role-")}  # fmt: skip
    assert attached == {"CloudWatchAgentServerPolicy", "AWSXrayWriteOnlyAccess"}
    names = {r.urn: r.name for r in plan.resources}
    waits_for = {names[u] for u in addon.dependencies}
    assert {f"{cluster}-insights-application", f"{cluster}-system"} <= waits_for


@pytest.mark.parametrize("blueprint", BLUEPRINTS, ids=["osp", "learning-hub"])
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_service_container_is_told_where_to_send_traces(environment, blueprint):
    plan = plan_of(environment, blueprint)
    deployments = [r for r in plan.resources if r.type == "kubernetes:apps/v1:Deployment"
                   and r.inputs["metadata"].get("namespace") == "osp-services"]  # fmt: skip
    assert len(deployments) == (13 if blueprint else 9)  # every service of the blueprint
    for deployment in deployments:
        for container in deployment.inputs["spec"]["template"]["spec"]["containers"]:
            env = {e["name"]: e.get("value") for e in container["env"]}
            service = container["name"]
            assert env["OTEL_SERVICE_NAME"] == service
            assert (
                env["OTEL_EXPORTER_OTLP_ENDPOINT"]
                == "http://cloudwatch-agent.amazon-cloudwatch:4316"
            )
            assert env["OTEL_RESOURCE_ATTRIBUTES"] == (
                f"deployment.environment={environment},osp.tenant.tier=pool"
            )
            assert env["AWS_XRAY_DAEMON_ADDRESS"] == "cloudwatch-agent.amazon-cloudwatch:2000"
    policies = [r for r in plan.resources if r.type.endswith("NetworkPolicy")
                and r.inputs["metadata"].get("namespace") == "osp-services"
                and r.name.endswith("-workload-network-policy")]  # fmt: skip
    for policy in policies:
        rules = policy.inputs["spec"]["egress"]
        agent = [r for r in rules if r["to"][0].get("namespaceSelector", {}).get("matchLabels", {})
                 .get("kubernetes.io/metadata.name") == "amazon-cloudwatch"]  # fmt: skip
        assert len(agent) == 1 and {p["port"] for p in agent[0]["ports"]} == {4316, 2000}


def test_the_osp_estate_alarms_on_each_consumer_queue_and_on_payments():
    found = alarms(plan_of("prod"))
    queues = [n for n in found if n.startswith("osp-prod-queue-") and n.endswith("-depth")]
    assert len(queues) == 11  # every consumer queue of the osp blueprint, SMS channel included
    assert "osp-prod-payment-failures" in found
    assert {f"osp-prod-service-{s}-cpu" for s in ("enrollment", "payment")} <= set(found)
