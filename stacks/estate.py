"""The estate: the one Pulumi program, composing osp's components from an environment spec.

`pulumi up` runs it through stacks/__main__.py; osp's engines run `build` directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from osp.app.events import EventBus, EventBusArgs, routes
from osp.components import Monitoring
from osp.platform.catalogue import Catalogue, Transport, load_catalogue
from osp.platform.errors import SpecError
from osp.platform.spec import EnvironmentSpec
from osp.stacks.context import Context
from osp.stacks.edge import Edge
from osp.stacks.edge import build as build_edge
from osp.stacks.foundation import Foundation
from osp.stacks.foundation import build as build_foundation
from osp.stacks.functions import Functions, build_queues
from osp.stacks.functions import build as build_functions
from osp.stacks.functions import exports as functions_exports
from osp.stacks.monitoring import build as build_monitoring
from osp.stacks.platform_addons import PlatformAddons
from osp.stacks.platform_addons import build as build_platform_addons
from osp.stacks.platform_addons import exports as platform_addons_exports
from osp.stacks.recovery import Recovery
from osp.stacks.recovery import build as build_recovery
from osp.stacks.services import Services
from osp.stacks.services import build as build_services
from osp.stacks.services import exports as services_exports
from osp.stacks.shared import Shared
from osp.stacks.shared import build as build_shared
from osp.stacks.sms import build as build_sms
from osp.stacks.streaming import Streaming
from osp.stacks.streaming import build as build_streaming


@dataclass(frozen=True)
class Estate:
    """Everything one environment declared, for programs that build on top of it."""

    context: Context
    foundation: Foundation
    shared: Shared
    edge: Edge
    events: EventBus | None
    monitoring: Monitoring
    services: Services
    recovery: Recovery
    platform_addons: PlatformAddons
    functions: Functions | None = None
    """The blueprint's Lambda functions and schedules (catalogue `functions:`, `schedules:`)."""
    streaming: Streaming | None = None
    """The MSK cluster and Flink applications, for a blueprint whose transport is kafka."""

    # The foundation's parts, by the names programs know them by.
    @property
    def keys(self):
        return self.foundation.keys

    @property
    def network(self):
        return self.foundation.network

    @property
    def cluster(self):
        return self.foundation.cluster

    @property
    def database(self):
        return self.foundation.database

    @property
    def cache(self):
        return self.foundation.cache

    @property
    def broker(self):
        return self.foundation.broker


def build(spec: EnvironmentSpec, catalogue: Catalogue | None = None) -> Estate:
    """Declare the whole environment described by `spec` and export its outputs.

    `catalogue`: the services to run; default: the catalogue of `spec.blueprint`.
    """
    ctx = Context(spec, catalogue or load_catalogue(spec.blueprint, spec.library))
    foundation = build_foundation(ctx)
    shared = build_shared(ctx, foundation)
    recovery = build_recovery(ctx, foundation, shared)
    edge = build_edge(ctx, foundation, shared)
    events = _event_bus(ctx, foundation)
    queues = build_queues(ctx, foundation)
    streaming = build_streaming(ctx, foundation, shared)
    services = build_services(ctx, foundation, shared, edge, events, queues, streaming)
    functions = build_functions(ctx, foundation, shared, services, queues, streaming)
    sms = build_sms(ctx, foundation)
    if sms is not None:
        pulumi.export("smsDeliveryStatusRoleArn", sms.role_arn)
    monitoring = build_monitoring(ctx, foundation, edge, events, recovery)
    platform_addons = build_platform_addons(ctx, foundation, shared)
    _export(ctx, foundation, shared, edge, events, monitoring, services)
    _export_recovery(ctx, recovery)
    _export_streaming(streaming)
    for name, value in (services_exports(services) | functions_exports(functions, queues)).items():
        pulumi.export(name, value)
    for name, value in platform_addons_exports(platform_addons).items():
        pulumi.export(name, value)
    return Estate(
        context=ctx,
        foundation=foundation,
        shared=shared,
        edge=edge,
        events=events,
        monitoring=monitoring,
        services=services,
        recovery=recovery,
        platform_addons=platform_addons,
        functions=functions,
        streaming=streaming,
    )


def _event_bus(ctx: Context, foundation: Foundation) -> EventBus | None:
    """A topic per event and a queue per consumer, when events travel over SNS and SQS."""
    if ctx.catalogue.transport is not Transport.SNS_SQS or not ctx.catalogue.events:
        return None
    return EventBus(
        ctx.name("events"),
        EventBusArgs(
            prefix=ctx.prefix,
            events=routes(ctx.catalogue),
            kms_key_arn=foundation.keys.data_key_arn,
            tags=ctx.tags("events"),
        ),
    )


def _export(
    ctx: Context,
    foundation: Foundation,
    shared: Shared,
    edge: Edge,
    events: EventBus | None,
    monitoring: Monitoring,
    services: Services,
) -> None:
    spec, network, cluster = ctx.spec, foundation.network, foundation.cluster
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
    pulumi.export("nodeSecurityGroupId", cluster.node_security_group_id)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    if foundation.karpenter is not None:
        pulumi.export("karpenterRoleArn", foundation.karpenter.role_arn)
        pulumi.export("karpenterNodeRoleArn", foundation.karpenter.node_role_arn)
        pulumi.export("karpenterInterruptionQueue", foundation.karpenter.queue_name)
    # Only the data stores the blueprint uses exist (foundation.py), and so only theirs.
    if foundation.database is not None:
        pulumi.export("postgresEndpoint", foundation.database.endpoint)
        pulumi.export("postgresMasterSecretArn", foundation.database.master_user_secret_arn)
    if foundation.cache is not None:
        pulumi.export("redisPrimaryEndpoint", foundation.cache.primary_endpoint)
        if foundation.cache.cluster_mode:
            pulumi.export("redisConfigurationEndpoint", foundation.cache.address)
        pulumi.export("redisAuthSecretArn", foundation.cache.auth_secret_arn)
    if foundation.broker is not None:
        pulumi.export("rabbitmqEndpoints", foundation.broker.amqps_endpoints)
        pulumi.export("rabbitmqCredentialsSecretArn", foundation.broker.credentials_secret_arn)
    pulumi.export("nameServers", edge.zone.name_servers)
    if edge.zone.ds_record is not None:
        # For the registrar, beside the name servers: the zone is signed.
        pulumi.export("dnssecDsRecord", edge.zone.ds_record)
    pulumi.export("apiUrl", f"https://{ctx.hostname('api')}")
    pulumi.export("portalUrls", {p: f"https://{ctx.hostname(p)}" for p in edge.portals})
    pulumi.export("portalBuckets", {p: site.bucket_name for p, site in edge.portals.items()})
    pulumi.export("dataBuckets", {b: bucket.bucket_name for b, bucket in shared.buckets.items()})
    pulumi.export("logBucket", shared.log_bucket.bucket_name)
    pulumi.export("repositoryUrls", shared.registry.repository_urls)
    pulumi.export("tenantsTable", shared.tenants.table_name)
    pulumi.export("tenantsTableArn", shared.tenants.arn)
    if shared.data.tables:
        pulumi.export("tables", {t: table.table_name for t, table in shared.data.tables.items()})
    if shared.data.parameters is not None:
        pulumi.export("parameterPaths", shared.data.parameters.paths)
    if edge.tenant_gate is not None:
        pulumi.export("tenantGateStoreArn", edge.tenant_gate.store_arn)
    if shared.secrets is not None:
        pulumi.export("appSecretArns", shared.secrets.secret_arns)
    if events is not None:
        pulumi.export("eventTopicArns", {e: t.arn for e, t in events.topics.items()})
    pulumi.export("alarmTopicArn", monitoring.alarm_topic_arn)
    pulumi.export("dashboard", monitoring.dashboard_name)
    _export_for_silos(foundation, edge, services)


def _export_streaming(streaming: Streaming | None) -> None:
    if streaming is None:
        return
    pulumi.export("kafkaClusterArn", streaming.cluster.arn)
    pulumi.export("kafkaBootstrapBrokers", streaming.cluster.bootstrap_brokers)
    if streaming.processors:
        pulumi.export(
            "flinkApplicationArns", {n: app.arn for n, app in streaming.processors.items()}
        )


def _export_recovery(ctx: Context, recovery: Recovery) -> None:
    """Where the backups and the copies are: what the DR runbook and `osp dr status` name."""
    pulumi.export("drRegion", ctx.spec.dr_region)
    pulumi.export("backupVaultName", recovery.backup.vault_name)
    pulumi.export("backupPlanId", recovery.backup.plan_id)
    if recovery.backup.copy_vault_arn is not None:
        pulumi.export("drBackupVaultArn", recovery.backup.copy_vault_arn)
    if recovery.replicas:
        pulumi.export(
            "replicaBuckets", {b: replica.bucket_name for b, replica in recovery.replicas.items()}
        )


def _export_for_silos(foundation: Foundation, edge: Edge, services: Services) -> None:
    """What a silo tenant's stack (osp.stacks.tenant_services) needs to run its own copy of
    the services: the cluster's OIDC provider (its roles' trust), the HTTPS listener and the
    origin-verify header (its listener rules), and the shared things its services use as the
    estate's do (the secrets key, the cache's reader, the email configuration set)."""
    cluster, balancer = foundation.cluster, edge.load_balancer
    pulumi.export("oidcProviderArn", cluster.oidc_provider_arn)
    pulumi.export("oidcProviderUrl", cluster.oidc_provider_url)
    pulumi.export("apiListenerArn", balancer.listener_arn)
    pulumi.export("apiOriginVerifyHeaderName", balancer.origin_verify_header_name)
    # A secret: whoever holds it can reach the load balancer's rules without CloudFront.
    pulumi.export("apiOriginVerifyValue", balancer.origin_verify_value)
    pulumi.export("secretsKeyArn", foundation.keys.secrets_key_arn)
    if foundation.cache is not None:
        pulumi.export("redisReaderEndpoint", foundation.cache.reader_endpoint)
    if services.email is not None:
        pulumi.export("emailConfigurationSetArn", services.email.configuration_set_arn)
        pulumi.export("emailConfigurationSetName", services.email.configuration_set_name)


def _verified_zones(spec: EnvironmentSpec) -> pulumi.Output[list[str]]:
    """The spec's zones, after checking that the account can use every one of them."""

    def check(available: list[str]) -> list[str]:
        missing = [zone for zone in spec.zones if zone not in available]
        if missing:
            raise SpecError(
                f"stacks/Pulumi.{spec.name}.yaml",
                [
                    f"osp:network.availability_zones: {', '.join(missing)} not available in this "
                    f"account; available zones in {spec.region}: {', '.join(available)}"
                ],
            )
        return list(spec.zones)

    found = aws.get_availability_zones_output(state="available")
    return found.names.apply(check)
