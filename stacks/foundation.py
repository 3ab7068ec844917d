"""The foundation of an environment: keys, network, cluster and the shared data stores.

A data store exists only when the blueprint's services use it (`Catalogue.data_stores`): an
idle broker or database costs as much as a busy one.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from osp.components import (
    Cluster,
    ClusterArgs,
    Karpenter,
    KarpenterArgs,
    KeyRing,
    KeyRingArgs,
    Network,
    NetworkArgs,
    NodePoolArgs,
    NodePoolLimits,
    Postgres,
    PostgresArgs,
    RabbitMq,
    RabbitMqArgs,
    Redis,
    RedisArgs,
)
from osp.components import broker as broker_component
from osp.components import cache as cache_component
from osp.components import database as database_component
from osp.components import streaming as streaming_component
from osp.components.loadbalancer import LISTENER_PORT
from osp.components.rotation import Rotation
from osp.platform import cluster_access
from osp.platform.catalogue import DataStore
from osp.platform.naming import NameKind
from osp.platform.spec.models import KarpenterLimitsSpec, NodePoolSpec
from osp.stacks.context import Context

#: What the internet reaches in the public tier: the load balancer's listener
#: (osp.components.loadbalancer: HTTPS only).
LISTENER_PORTS = (LISTENER_PORT,)
#: What the private tier reaches in the isolated tier: each data store's client ports. The
#: isolated tier's ACL admits only the ports of the stores the blueprint has.
STORE_PORTS = {
    DataStore.POSTGRES: (database_component.PORT,),
    DataStore.REDIS: (cache_component.PORT,),
    DataStore.RABBITMQ: (broker_component.AMQPS_PORT, broker_component.CONSOLE_PORT),
    DataStore.KAFKA: (streaming_component.IAM_PORT,),
}


@dataclass(frozen=True)
class Foundation:
    keys: KeyRing
    network: Network
    cluster: Cluster
    karpenter: Karpenter | None
    """None when the spec turns Karpenter off (the managed workload node group instead)."""
    database: Postgres | None
    """None when no service has a database."""
    cache: Redis | None
    """None when no service uses the cache."""
    broker: RabbitMq | None
    """None unless the blueprint's events travel over RabbitMQ."""


def _pool(pool: NodePoolSpec) -> NodePoolArgs:
    return NodePoolArgs(
        instance_types=pool.instance_types,
        min_size=pool.min_size,
        max_size=pool.max_size,
        desired_size=pool.desired_size,
        capacity_type=pool.capacity_type,
        disk_size_gib=pool.disk_size_gib,
    )


def build(ctx: Context) -> Foundation:
    keys = KeyRing(
        ctx.name("keys"),
        KeyRingArgs(
            deletion_window_days=ctx.spec.keys.deletion_window_days,
            deletion_protection=ctx.protect,
            tags=ctx.tags("keys"),
        ),
    )
    cluster_name = ctx.name("eks", NameKind.EKS_CLUSTER)
    network = _network(ctx, keys, cluster_name)
    cluster = _cluster(ctx, keys, network, cluster_name)
    karpenter = _karpenter(ctx, keys, cluster, cluster_name)
    # The data stores admit the cluster's nodes and nothing else.
    clients = [cluster.node_security_group_id]
    needs = ctx.catalogue.needs
    database = _database(ctx, keys, network, clients) if needs(DataStore.POSTGRES) else None
    if database is not None:
        master_password_schedule(ctx.name("postgres-master-rotation"), database)
    cache = _cache(ctx, keys, network, clients) if needs(DataStore.REDIS) else None
    broker = _broker(ctx, keys, network, clients) if needs(DataStore.RABBITMQ) else None
    return Foundation(
        keys=keys,
        network=network,
        cluster=cluster,
        karpenter=karpenter,
        database=database,
        cache=cache,
        broker=broker,
    )


#: Days between rotations of every secret osp generates or RDS manages (seed 000).
ROTATION_DAYS = 30


def rotation(ctx: Context, keys: KeyRing, network: Network) -> Rotation:
    """Where the estate's rotation functions run (the private tier) and how often."""
    return Rotation(
        vpc_id=network.vpc_id,
        subnet_ids=network.private_subnet_ids,
        logs_kms_key_arn=keys.logs_key_arn,
        rotation_days=ROTATION_DAYS,
        log_retention_days=ctx.spec.logs.audit_retention_days,
    )


def master_password_schedule(
    resource_name: str, database: Postgres, opts: pulumi.ResourceOptions | None = None
) -> None:
    """RDS rotates the master password it manages every 7 days unless told otherwise: the
    estate's schedule, stated (RDS-managed secrets rotate without a function of ours)."""
    aws.secretsmanager.SecretRotation(
        resource_name,
        secret_id=database.master_user_secret_arn,
        rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
            automatically_after_days=ROTATION_DAYS
        ),
        # Not a child of the database: the component's children are named after it.
        opts=opts,
    )


def _network(ctx: Context, keys: KeyRing, cluster_name: str) -> Network:
    network = ctx.spec.network
    return Network(
        ctx.name("network"),
        NetworkArgs(
            cidr_block=str(network.cidr),
            availability_zones=ctx.spec.zones,
            subnet_plan=network.subnets,
            nat_strategy=network.nat,
            cluster_name=cluster_name,
            flow_logs_kms_key_arn=keys.logs_key_arn,
            flow_log_retention_days=network.flow_log_retention_days,
            interface_endpoints=network.interface_endpoints,
            # The services read their parameters from inside the VPC (osp.stacks.data).
            extra_interface_endpoints=("ssm",) if ctx.catalogue.parameters else (),
            listener_ports=LISTENER_PORTS,
            store_ports=[
                port
                for store, ports in STORE_PORTS.items()
                if ctx.catalogue.needs(store)
                for port in ports
            ],
            tags=ctx.tags("network"),
        ),
    )


def _cluster(ctx: Context, keys: KeyRing, network: Network, cluster_name: str) -> Cluster:
    spec = ctx.spec
    return Cluster(
        cluster_name,
        ClusterArgs(
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            region=spec.region,
            admin_role_arns=spec.cluster.admin_role_arns,
            secrets_kms_key_arn=keys.secrets_key_arn,
            logs_kms_key_arn=keys.logs_key_arn,
            ebs_kms_key_arn=keys.data_key_arn,
            kubernetes_version=spec.cluster.kubernetes_version,
            public_access_cidrs=[str(c) for c in cluster_access.public_networks(spec)],
            private_access_cidrs=[str(c) for c in cluster_access.deployer_networks(spec)],
            log_retention_days=spec.cluster.log_retention_days,
            observability=True,
            log_types=spec.cluster.log_types,
            deletion_protection=ctx.protect,
            system_pool=_pool(spec.cluster.system_pool),
            # Karpenter launches the workloads' nodes; the managed pool only without it.
            workload_pool=None
            if spec.cluster.karpenter.enabled
            else _pool(spec.cluster.workload_pool),
            tags=ctx.tags("cluster"),
        ),
    )


def _limits(ceiling: KarpenterLimitsSpec) -> NodePoolLimits:
    return NodePoolLimits(cpu=ceiling.cpu, memory_gib=ceiling.memory_gib)


def _karpenter(
    ctx: Context, keys: KeyRing, cluster: Cluster, cluster_name: str
) -> Karpenter | None:
    spec = ctx.spec
    karpenter = spec.cluster.karpenter
    if not karpenter.enabled:
        return None
    return Karpenter(
        ctx.name("karpenter"),
        KarpenterArgs(
            cluster_name=cluster_name,
            cluster_endpoint=cluster.endpoint,
            region=spec.region,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_provider_url=cluster.oidc_provider_url,
            kms_key_arn=keys.data_key_arn,
            capacity_types=karpenter.capacity_types,
            limits=_limits(karpenter.limits),
            system_limits=_limits(karpenter.system_limits),
            expire_after_hours=karpenter.expire_after_hours,
            disk_size_gib=spec.cluster.system_pool.disk_size_gib,
            tags=ctx.tags("cluster"),
        ),
        pulumi.ResourceOptions(providers=[cluster.provider]),
    )


def _database(
    ctx: Context, keys: KeyRing, network: Network, clients: list[pulumi.Output[str]]
) -> Postgres:
    db = ctx.spec.database
    return Postgres(
        ctx.name("postgres"),
        PostgresArgs(
            vpc_id=network.vpc_id,
            db_subnet_group_name=network.db_subnet_group_name,
            client_security_group_ids=clients,
            kms_key_arn=keys.data_key_arn,
            logs_kms_key_arn=keys.logs_key_arn,
            engine_version=db.engine_version,
            instance_class=db.instance_class,
            allocated_storage_gib=db.allocated_storage_gib,
            max_allocated_storage_gib=db.max_allocated_storage_gib,
            multi_az=db.multi_az,
            backup_retention_days=db.backup_retention_days,
            performance_insights_enabled=db.performance_insights,
            monitoring_interval_seconds=db.monitoring_interval_seconds,
            # A blueprint whose services read through a replica gets at least one.
            read_replica_count=max(db.read_replicas, int(ctx.catalogue.uses_read_replica)),
            log_retention_days=db.log_retention_days,
            restore_from_snapshot=db.restore_from_snapshot,
            deletion_protection=ctx.protect,
            tags=ctx.tags("database"),
        ),
    )


def _cache(
    ctx: Context, keys: KeyRing, network: Network, clients: list[pulumi.Output[str]]
) -> Redis:
    spec = ctx.spec
    return Redis(
        ctx.name("redis", NameKind.ELASTICACHE_ID),
        RedisArgs(
            vpc_id=network.vpc_id,
            cache_subnet_group_name=network.cache_subnet_group_name,
            client_security_group_ids=clients,
            kms_key_arn=keys.data_key_arn,
            secrets_kms_key_arn=keys.secrets_key_arn,
            logs_kms_key_arn=keys.logs_key_arn,
            engine=spec.cache.engine,
            engine_version=spec.cache.engine_version,
            node_type=spec.cache.node_type,
            replicas_per_shard=spec.cache.replicas,
            cluster_mode=spec.cache.cluster_mode,
            shards=spec.cache.shards,
            multi_az=spec.cache.multi_az,
            snapshot_retention_days=spec.cache.snapshot_retention_days,
            log_retention_days=spec.cache.log_retention_days,
            secret_recovery_window_days=spec.secrets.recovery_window_days,
            rotation=rotation(ctx, keys, network),
            deletion_protection=ctx.protect,
            tags=ctx.tags("cache"),
        ),
    )


def _broker(
    ctx: Context, keys: KeyRing, network: Network, clients: list[pulumi.Output[str]]
) -> RabbitMq:
    spec = ctx.spec
    return RabbitMq(
        ctx.name("rabbitmq", NameKind.MQ_BROKER),
        RabbitMqArgs(
            vpc_id=network.vpc_id,
            subnet_ids=network.isolated_subnet_ids,
            client_security_group_ids=clients,
            kms_key_arn=keys.data_key_arn,
            logs_kms_key_arn=keys.logs_key_arn,
            secrets_kms_key_arn=keys.secrets_key_arn,
            deployment_mode=spec.broker.deployment_mode,
            host_instance_type=spec.broker.instance_type,
            engine_version=spec.broker.engine_version,
            log_retention_days=spec.broker.log_retention_days,
            secret_recovery_window_days=spec.secrets.recovery_window_days,
            rotation=rotation(ctx, keys, network),
            deletion_protection=ctx.protect,
            tags=ctx.tags("broker"),
        ),
    )
