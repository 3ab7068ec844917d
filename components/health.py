"""`HealthChecks`: Route 53 health checks on public names, each with a CloudWatch alarm."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from osp.platform import limits
from osp.platform.naming import fit
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:health:HealthChecks"

#: Route 53 publishes health-check metrics in us-east-1 only: the alarms must be there.
METRIC_REGION = "us-east-1"
HTTPS_PORT = 443

_ENVIRONMENT = limits.pattern(
    r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}",
    "1-64 letters, digits, '-' or '_', starting with a letter or digit",
)


@dataclass(frozen=True, kw_only=True)
class HealthEndpoint:
    """One public name a health check requests, over HTTPS on port 443 with SNI."""

    fqdn: str
    """The name requested and sent as SNI and Host, such as `api.school.example.com`."""

    resource_path: str = "/"
    """The path requested; a 2xx or 3xx answer within 4 seconds is healthy."""


@dataclass(frozen=True, kw_only=True)
class HealthChecksArgs:
    """Arguments of `HealthChecks`."""

    environment: str
    """Prefix of every alarm name (`<environment>-health-<key>`), such as `osp-prod`."""

    endpoints: Mapping[str, HealthEndpoint]
    """Key (a DNS label, such as `api` or a portal's name) → the endpoint checked: one health
    check and one alarm each."""

    alarm_topic_arn: pulumi.Input[str]
    """The SNS topic the alarms notify on ALARM and on OK. It must be in us-east-1, with the
    alarms."""

    alarm_provider: pulumi.ProviderResource | None = None
    """A provider for us-east-1, where the alarms must be. Default: none; the caller states
    that the stack itself is in us-east-1."""

    request_interval_seconds: int = 30
    """Seconds between one checker's requests: 30 (standard) or 10 (fast, costs more)."""

    failure_threshold: int = 3
    """Failed requests in a row (1-10) that make an endpoint unhealthy, and as many
    successes to be healthy again."""

    alarm_periods: int = 2
    """Minutes in a row an endpoint must be unhealthy (HealthCheckStatus minimum < 1) before
    its alarm fires."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every health check and alarm."""


def problems(name: str, args: HealthChecksArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("HealthChecks", name)
    check.against(_ENVIRONMENT, "environment", args.environment)
    check.check(bool(args.endpoints), "endpoints", dict(args.endpoints), "at least one endpoint")
    for key, endpoint in args.endpoints.items():
        check.check(
            limits.DNS_LABEL.accepts(key),
            "endpoints key",
            key,
            f"{limits.DNS_LABEL.expected}: it goes into alarm and resource names",
        )
        check.against(limits.DOMAIN_NAME, f"endpoints[{key!r}].fqdn", endpoint.fqdn)
        check.against(
            limits.HEALTH_CHECK_PATH, f"endpoints[{key!r}].resource_path", endpoint.resource_path
        )
    check.against(
        limits.HEALTH_CHECK_INTERVAL, "request_interval_seconds", args.request_interval_seconds
    )
    check.against(
        limits.HEALTH_CHECK_FAILURE_THRESHOLD, "failure_threshold", args.failure_threshold
    )
    check.against(limits.whole_range(1, 60), "alarm_periods", args.alarm_periods)
    return check.found


class HealthChecks(pulumi.ComponentResource):
    """Route 53 health checks on public names, for alarms and for failover records.

    Each endpoint gets an HTTPS health check (port 443, SNI on, the default checker regions)
    and an alarm in us-east-1 on its `AWS/Route53 HealthCheckStatus`: minimum below 1 for
    `alarm_periods` minutes, notifying `alarm_topic_arn` on ALARM and on OK. A failover
    record set (`PRIMARY`) names the check by `health_check_ids[key]`.
    """

    health_check_ids: pulumi.Output[dict[str, str]]
    alarm_names: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: HealthChecksArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        ids: dict[str, pulumi.Output[str]] = {}
        alarms = []
        for key, endpoint in args.endpoints.items():
            child = f"{name}-{key}"
            check = aws.route53.HealthCheck(
                child,
                type="HTTPS",
                fqdn=endpoint.fqdn,
                port=HTTPS_PORT,
                resource_path=endpoint.resource_path,
                request_interval=args.request_interval_seconds,
                failure_threshold=args.failure_threshold,
                enable_sni=True,
                measure_latency=False,
                tags={"Name": fit(f"{args.environment}-{key}"), **args.tags},
                opts=pulumi.ResourceOptions(parent=self),
            )
            alarm_name = f"{args.environment}-health-{key}"
            alarms.append(
                aws.cloudwatch.MetricAlarm(
                    f"{child}-alarm",
                    name=alarm_name,
                    alarm_description=(
                        f"Route 53 health checkers found https://{endpoint.fqdn}"
                        f"{endpoint.resource_path} unhealthy for {args.alarm_periods} minutes "
                        "in a row (no 2xx/3xx within 4 s from most checker regions). Open it "
                        "yourself; check the CloudFront and API alarms. A long outage of the "
                        "region: see the failover steps of docs/disaster-recovery.md."
                    ),
                    namespace="AWS/Route53",
                    metric_name="HealthCheckStatus",
                    dimensions={"HealthCheckId": check.id},
                    statistic="Minimum",
                    period=60,
                    comparison_operator="LessThanThreshold",
                    threshold=1,
                    evaluation_periods=args.alarm_periods,
                    datapoints_to_alarm=args.alarm_periods,
                    # Route 53 publishes the status every minute while the check exists:
                    # silence means the check is gone, and nothing watches the name.
                    treat_missing_data="breaching",
                    actions_enabled=True,
                    alarm_actions=[args.alarm_topic_arn],
                    ok_actions=[args.alarm_topic_arn],
                    tags={"Name": f"{child}-alarm", **args.tags},
                    opts=pulumi.ResourceOptions(parent=self, provider=args.alarm_provider),
                )
            )
            ids[key] = check.id
        self.health_check_ids = pulumi.Output.all(**ids).apply(dict)
        self.alarm_names = pulumi.Output.all(*(a.name for a in alarms)).apply(sorted)
        self.register_outputs(
            {"healthCheckIds": self.health_check_ids, "alarmNames": self.alarm_names}
        )
