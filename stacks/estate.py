"""The estate: the one Pulumi program, composing osp's components from an environment spec.

`pulumi up` runs it through stacks/__main__.py; osp's engines run `build` directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from osp.app.events import EventBus, EventBusArgs, routes
from osp.platform.catalogue import Catalogue, Transport, load_catalogue
from osp.platform.spec import EnvironmentSpec
from osp.stacks import edge as edge_layer
from osp.stacks import foundation, monitoring, shared
from osp.stacks import services as service_layer
from osp.stacks.context import Context
from osp.stacks.edge import Edge
from osp.stacks.foundation import Foundation
from osp.stacks.shared import Shared


@dataclass(frozen=True)
class Estate:
    """Everything one environment declared, for programs that build on top of it."""

    context: Context
    base: Foundation
    shared: Shared
    edge: Edge
    events: EventBus | None
    monitoring: monitoring.Monitoring
    services: service_layer.Services

    # The foundation's parts, by the names programs know them by.
    @property
    def keys(self):
        return self.base.keys

    @property
    def network(self):
        return self.base.network

    @property
    def cluster(self):
        return self.base.cluster

    @property
    def database(self):
        return self.base.database

    @property
    def cache(self):
        return self.base.cache

    @property
    def broker(self):
        return self.base.broker


def build(spec: EnvironmentSpec, catalogue: Catalogue | None = None) -> Estate:
    """Declare the whole environment described by `spec` and export its outputs.

    `catalogue`: the services to run; default: the catalogue of `spec.blueprint`.
    """
    ctx = Context(spec, catalogue or load_catalogue(spec.blueprint))
    base = foundation.build(ctx)
    common = shared.build(ctx, base)
    edge = edge_layer.build(ctx, base, common)
    events = None
    if ctx.catalogue.transport is Transport.SNS_SQS and ctx.catalogue.events:
        events = EventBus(
            ctx.name("events"),
            EventBusArgs(
                prefix=ctx.prefix,
                events=routes(ctx.catalogue),
                kms_key_arn=base.keys.data_key_arn,
                tags=ctx.tags("events"),
            ),
        )
    apps = service_layer.build(ctx, base, common, edge, events)
    alarms = monitoring.build(
        ctx, base, edge, events.dead_letter_queue_names if events is not None else []
    )
    _export(ctx, base, common, edge, events, alarms)
    for name, value in service_layer.exports(apps).items():
        pulumi.export(name, value)
    return Estate(
        context=ctx,
        base=base,
        shared=common,
        edge=edge,
        events=events,
        monitoring=alarms,
        services=apps,
    )


def _export(
    ctx: Context,
    base: Foundation,
    common: Shared,
    edge: Edge,
    events: EventBus | None,
    alarms: monitoring.Monitoring,
) -> None:
    spec, network, cluster = ctx.spec, base.network, base.cluster
    pulumi.export("environment", spec.name)
    pulumi.export("blueprint", ctx.catalogue.name)
    pulumi.export("region", spec.region)
    pulumi.export("availabilityZones", _verified_zones(spec))
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("publicSubnetIds", network.public_subnet_ids)
    pulumi.export("privateSubnetIds", network.private_subnet_ids)
    pulumi.export("isolatedSubnetIds", network.isolated_subnet_ids)
    pulumi.export("natPublicIps", network.nat_public_ips)
    pulumi.export("clusterName", cluster.cluster_name)
    pulumi.export("clusterEndpoint", cluster.endpoint)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    pulumi.export("postgresEndpoint", base.database.endpoint)
    pulumi.export("postgresMasterSecretArn", base.database.master_user_secret_arn)
    pulumi.export("redisPrimaryEndpoint", base.cache.primary_endpoint)
    pulumi.export("redisAuthSecretArn", base.cache.auth_secret_arn)
    pulumi.export("rabbitmqEndpoints", base.broker.amqps_endpoints)
    pulumi.export("rabbitmqCredentialsSecretArn", base.broker.credentials_secret_arn)
    pulumi.export("nameServers", edge.zone.name_servers)
    pulumi.export("apiUrl", f"https://{ctx.hostname('api')}")
    pulumi.export("portalUrls", {p: f"https://{ctx.hostname(p)}" for p in edge.portals})
    pulumi.export("portalBuckets", {p: site.bucket_name for p, site in edge.portals.items()})
    pulumi.export("dataBuckets", {b: bucket.bucket_name for b, bucket in common.buckets.items()})
    pulumi.export("logBucket", common.log_bucket.bucket_name)
    pulumi.export("repositoryUrls", common.registry.repository_urls)
    if common.secrets is not None:
        pulumi.export("appSecretArns", common.secrets.secret_arns)
    if events is not None:
        pulumi.export("eventTopicArns", {e: t.arn for e, t in events.topics.items()})
    pulumi.export("alarmTopicArn", alarms.alarm_topic_arn)
    pulumi.export("dashboard", alarms.dashboard_name)


def _verified_zones(spec: EnvironmentSpec) -> pulumi.Output[list[str]]:
    """The spec's zones, after checking that the account can use every one of them."""

    def check(available: list[str]) -> list[str]:
        missing = [zone for zone in spec.zones if zone not in available]
        if missing:
            raise ValueError(
                f"osp:network.availability_zones: {', '.join(missing)} not available in this "
                f"account; available zones in {spec.region}: {', '.join(available)}"
            )
        return list(spec.zones)

    found = aws.get_availability_zones_output(state="available")
    return found.names.apply(check)
