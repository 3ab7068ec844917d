"""Where a service's traces and metrics go: the CloudWatch agent of the cluster's
`amazon-cloudwatch-observability` add-on (Container Insights, X-Ray / Application Signals).

The OpenTelemetry and X-Ray SDKs read their exporter settings from the environment, so each
service is told where the agent is (`trace_env`) and its pods may reach it (`agent_egress`);
its logs need nothing: Fluent Bit, from the same add-on, ships every container's stdout.
"""

from __future__ import annotations

from osp.components.cluster import OBSERVABILITY_NAMESPACE

#: The agent's Service (the add-on's name for it) and its ports: OTLP over HTTP (traces and
#: Application Signals metrics) and the X-Ray daemon protocol (UDP, TCP for sampling rules).
AGENT_HOST = f"cloudwatch-agent.{OBSERVABILITY_NAMESPACE}"
OTLP_HTTP_PORT = 4316
XRAY_PORT = 2000


def trace_env(
    service: str, environment: str, tier: str, tenant: str | None = None
) -> dict[str, str]:
    """The variables the OpenTelemetry SDKs (and the X-Ray SDKs) read: where to export, as
    which service, and the resource attributes every span carries (environment, tenant tier,
    and a silo tenant's slug, so one school's traces can be told from the pool's)."""
    attributes = f"deployment.environment={environment},osp.tenant.tier={tier}"
    if tenant is not None:
        attributes += f",osp.tenant.slug={tenant}"
    return {
        "OTEL_SERVICE_NAME": service,
        "OTEL_RESOURCE_ATTRIBUTES": attributes,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{AGENT_HOST}:{OTLP_HTTP_PORT}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        # X-Ray's header too, so a trace survives a hop through an AWS service.
        "OTEL_PROPAGATORS": "tracecontext,baggage,xray",
        "AWS_XRAY_DAEMON_ADDRESS": f"{AGENT_HOST}:{XRAY_PORT}",
    }


def agent_egress() -> dict[str, object]:
    """The NetworkPolicy egress rule to the agent's pods, on its OTLP and X-Ray ports only."""
    return {
        "to": [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": OBSERVABILITY_NAMESPACE}
                }
            }
        ],
        "ports": [
            {"protocol": "TCP", "port": OTLP_HTTP_PORT},
            {"protocol": "UDP", "port": XRAY_PORT},
            {"protocol": "TCP", "port": XRAY_PORT},
        ],
    }
