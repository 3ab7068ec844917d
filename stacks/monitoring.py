"""The environment's alarms and dashboard, over everything the other parts declared."""

from __future__ import annotations

import re
from typing import Any

from osp.app import EventBus
from osp.components import (
    HealthChecks,
    HealthChecksArgs,
    HealthEndpoint,
    Monitoring,
    MonitoringArgs,
)
from osp.stacks.context import Context
from osp.stacks.edge import Edge
from osp.stacks.foundation import Foundation
from osp.stacks.recovery import Recovery
from osp.stacks.services import NAMESPACE as SERVICES_NAMESPACE

# Memory of the RDS instance sizes osp's presets use, in GiB, by size. PostgreSQL's default
# max_connections on RDS is LEAST(DBInstanceClassMemory / 9531392, 5000).
_SIZE_GIB = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16}
# Memory per size is doubled for the memory-optimised families (r*, x*).
_MEMORY_OPTIMISED = re.compile(r"db\.[rx]\d")


def default_max_connections(instance_class: str) -> int | None:
    """RDS PostgreSQL's default max_connections for `instance_class`, or None if unknown."""
    size = instance_class.rsplit(".", 1)[-1]
    gib = _SIZE_GIB.get(size)
    multiple = re.fullmatch(r"(\d+)xlarge", size)
    if multiple:
        gib = 16 * int(multiple[1])
    if gib is None:
        return None
    if _MEMORY_OPTIMISED.match(instance_class):
        gib *= 2
    return min(gib * 1024**3 // 9531392, 5000)


#: The payment service's custom metric of failed payments (namespace, name), published with
#: the dimension Environment=<osp-env>: seed 000 alarms on payment processing failures.
PAYMENT_FAILURE_METRIC = ("OSP/Payments", "PaymentFailures")
PAYMENT_SERVICE = "payment"


def build(
    ctx: Context,
    foundation: Foundation,
    edge: Edge,
    events: EventBus | None,
    recovery: Recovery,
) -> Monitoring:
    spec = ctx.spec
    distributions = {name: site.distribution_id for name, site in edge.portals.items()}
    distributions["api"] = edge.api.distribution_id
    elsewhere = edge.edge_keys is not None
    monitoring = Monitoring(
        ctx.name("monitoring"),
        MonitoringArgs(
            environment=ctx.prefix,
            kms_key_arn=foundation.keys.data_key_arn,
            alarm_emails=spec.monitoring.alarm_emails,
            load_balancer_arn_suffix=edge.load_balancer.arn_suffix,
            target_groups={
                service.name: edge.load_balancer.target_group_arn_suffixes.apply(
                    lambda suffixes, s=service.name: suffixes[s]
                )
                for service in ctx.catalogue.routed
            },
            **_data_stores(ctx, foundation),
            dead_letter_queue_names=events.dead_letter_queue_names if events else [],
            service_error_rates=True,
            cluster_name=foundation.cluster.cluster_name,
            service_namespace=SERVICES_NAMESPACE,
            services=[service.name for service in ctx.catalogue.services],
            consumer_queues={
                f"{consumer}-{event}": queue.name
                for (consumer, event), queue in (events.queues.items() if events else ())
            },
            payment_failure_metric=PAYMENT_FAILURE_METRIC
            if PAYMENT_SERVICE in {s.name for s in ctx.catalogue.services}
            else None,
            distributions=distributions,
            backup_vault_name=recovery.backup.vault_name,
            # CloudFront's metrics live in us-east-1; alarms on them must too.
            edge_provider=edge.edge_provider if elsewhere else None,
            edge_kms_key_arn=edge.edge_keys.data_key_arn if elsewhere else None,
            tags=ctx.tags("monitoring"),
        ),
    )
    _health_checks(ctx, edge, monitoring)
    return monitoring


def api_health_path(ctx: Context) -> str:
    """The path a health check of `api.<domain>` requests: the first routed service's
    readiness path under its route. The load balancer answers only its services' routes (a
    404 elsewhere) and passes paths through unchanged, so this is the request that reaches a
    pod's own readiness check through CloudFront, as a user's request does."""
    service = ctx.catalogue.routed[0]
    return f"{service.route}{service.probes.readiness.path}"


def _health_checks(ctx: Context, edge: Edge, monitoring: Monitoring) -> HealthChecks:
    """Route 53 health checks on the API and each portal, their alarms in us-east-1 with the
    CloudFront alarms (Route 53 publishes health-check metrics there only)."""
    elsewhere = edge.edge_keys is not None
    endpoints = {
        "api": HealthEndpoint(fqdn=ctx.hostname("api"), resource_path=api_health_path(ctx)),
        **{portal: HealthEndpoint(fqdn=ctx.hostname(portal)) for portal in edge.portals},
    }
    return HealthChecks(
        ctx.name("health"),
        HealthChecksArgs(
            environment=ctx.prefix,
            endpoints=endpoints,
            alarm_topic_arn=monitoring.edge_alarm_topic_arn or monitoring.alarm_topic_arn,
            alarm_provider=edge.edge_provider if elsewhere else None,
            tags=ctx.tags("monitoring"),
        ),
    )


def _data_stores(ctx: Context, foundation: Foundation) -> dict[str, Any]:
    """The monitoring arguments of the data stores the blueprint has (foundation.py creates
    only those): alarms watch nothing that does not exist."""
    spec, database, cache = ctx.spec, foundation.database, foundation.cache
    found: dict[str, Any] = {}
    if database is not None:
        found["database_instance_ids"] = [database.identifier, *database.replica_identifiers]
        found["database_allocated_storage_gib"] = spec.database.allocated_storage_gib
        found["database_max_connections"] = default_max_connections(spec.database.instance_class)
    if cache is not None:
        found["cache_cluster_ids"] = [
            cache.member_clusters.apply(lambda ids, n=n: ids[n]) for n in range(cache.node_count)
        ]
    broker = foundation.broker
    if broker is not None:
        found["broker_name"] = broker.broker_name
    return found
