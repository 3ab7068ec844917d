"""Route 53 health checks on the API and the portals with their alarms, and the alarm on
failed backup jobs (issue 19, "Health checks and failover")."""

from __future__ import annotations

import pulumi_aws as aws
import pytest

from osp.components import HealthChecks, HealthChecksArgs, HealthEndpoint
from osp.components.health import problems
from osp.platform.validation import InvalidArguments
from tests.support import plan_component, plan_of

CHECK = "aws:route53/healthCheck:HealthCheck"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "arn:aws:sns:us-east-1:123456789012:osp-prod-alarms"
ENDPOINTS = {
    "osp": {
        "api": "/api/identity/readyz",
        "student": "/",
        "admin": "/",
        "school": "/",
    },
    "learning-hub": {"api": "/api/readyz", "www": "/"},
}


@pytest.mark.parametrize("blueprint", sorted(ENDPOINTS))
def test_prod_checks_the_api_and_every_portal_over_https(blueprint):
    plan = plan_of("prod", blueprint)
    checks = {r.name.removeprefix("osp-prod-health-"): r.inputs for r in plan.of_type(CHECK)}
    assert {key: inputs["resourcePath"] for key, inputs in checks.items()} == ENDPOINTS[blueprint]
    for key, inputs in checks.items():
        assert {k: v for k, v in inputs.items() if k not in ("resourcePath", "tags")} == {
            "type": "HTTPS",
            "fqdn": f"{key}.osp.example.com",
            "port": 443,
            "requestInterval": 30,
            "failureThreshold": 3,
            "enableSni": True,
            "measureLatency": False,
        }
        # Default checker regions: none named.
        assert "regions" not in inputs


@pytest.mark.parametrize("blueprint", sorted(ENDPOINTS))
def test_each_health_check_has_an_alarm_on_its_status_to_the_alarm_topic(blueprint):
    plan = plan_of("prod", blueprint)
    checks = {r.name: r for r in plan.of_type(CHECK)}
    alarms = {r.name: r for r in plan.of_type(ALARM) if r.name.startswith("osp-prod-health-")}
    assert sorted(alarms) == sorted(f"{name}-alarm" for name in checks)
    for name, check in checks.items():
        alarm = alarms[f"{name}-alarm"]
        inputs = alarm.inputs
        assert inputs["name"] == name  # osp-prod-health-<key>
        assert inputs["namespace"] == "AWS/Route53"
        assert inputs["metricName"] == "HealthCheckStatus"
        # The dimension is the check's id, known once it exists: the plan shows where from.
        assert list(inputs["dimensions"]) == ["HealthCheckId"]
        assert alarm.property_dependencies["dimensions"] == (check.urn,)
        assert (inputs["statistic"], inputs["period"]) == ("Minimum", 60)
        assert (inputs["comparisonOperator"], inputs["threshold"]) == ("LessThanThreshold", 1)
        assert (inputs["evaluationPeriods"], inputs["datapointsToAlarm"]) == (2, 2)
        assert inputs["alarmActions"] == inputs["okActions"] == [TOPIC]
        # The shipped prod lives in us-east-1, where Route 53's metrics are: no other provider.
        assert alarm.provider is None


@pytest.mark.parametrize("blueprint", sorted(ENDPOINTS))
def test_a_failed_backup_job_alarms_within_a_day(blueprint):
    plan = plan_of("prod", blueprint)
    inputs = plan.named("osp-prod-monitoring-backup-failed-jobs").inputs
    assert inputs["name"] == "osp-prod-backup-failed-jobs"
    assert (inputs["namespace"], inputs["metricName"]) == ("AWS/Backup", "NumberOfBackupJobsFailed")
    assert inputs["dimensions"] == {"BackupVaultName": "osp-prod-backups"}
    assert (inputs["statistic"], inputs["period"], inputs["evaluationPeriods"]) == ("Sum", 86400, 1)
    assert (inputs["comparisonOperator"], inputs["threshold"]) == (
        "GreaterThanOrEqualToThreshold",
        1,
    )
    assert inputs["alarmActions"] == inputs["okActions"] == [TOPIC]


def _args(**overrides) -> HealthChecksArgs:
    values = {
        "environment": "osp-t",
        "endpoints": {
            "api": HealthEndpoint(fqdn="api.school.example.com", resource_path="/api/x/readyz"),
            "www": HealthEndpoint(fqdn="www.school.example.com"),
        },
        "alarm_topic_arn": "arn:aws:sns:us-east-1:123456789012:osp-t-edge-alarms",
    }
    return HealthChecksArgs(**(values | overrides))


def test_alarms_go_through_the_us_east_1_provider_when_given():
    def build(name, args, opts):
        provider = aws.Provider("edge", region="us-east-1")
        return HealthChecks(name, _args(alarm_provider=provider), opts)

    plan = plan_component(build, None, name="t-health")
    edge = next(r for r in plan.resources if r.type == "pulumi:providers:aws")
    checks = plan.of_type(CHECK)
    alarms = plan.of_type(ALARM)
    assert sorted(r.name for r in checks) == ["t-health-api", "t-health-www"]
    assert {r.inputs["fqdn"]: r.inputs["resourcePath"] for r in checks} == {
        "api.school.example.com": "/api/x/readyz",
        "www.school.example.com": "/",
    }
    assert sorted(r.name for r in alarms) == ["t-health-api-alarm", "t-health-www-alarm"]
    assert all(a.provider and a.provider.startswith(edge.urn) for a in alarms)
    # Route 53 is global: the checks themselves need no provider of their own.
    assert all(c.provider is None for c in checks)


def test_bad_arguments_are_all_reported_at_once():
    args = _args(
        environment="bad env",
        endpoints={
            "API!": HealthEndpoint(fqdn="api.school.example.com"),
            "www": HealthEndpoint(fqdn="not a name", resource_path="healthz"),
        },
        request_interval_seconds=20,
        failure_threshold=11,
    )
    found = problems("t", args)
    assert len(found) == 6, found
    assert found[1].startswith("HealthChecks t: endpoints key: got 'API!'; expected ")
    assert "endpoints['www'].fqdn: got 'not a name'" in found[2]
    assert "endpoints['www'].resource_path: got 'healthz'" in found[3]
    assert (
        "request_interval_seconds: got 20; expected 10 (fast) or 30 (standard) seconds"
        in (found[4])
    )
    assert "failure_threshold: got 11" in found[5]
    with pytest.raises(InvalidArguments, match="request_interval_seconds"):
        plan_component(HealthChecks, args, name="t")


def test_at_least_one_endpoint():
    assert problems("t", _args(endpoints={})) == [
        "HealthChecks t: endpoints: got {}; expected at least one endpoint"
    ]
