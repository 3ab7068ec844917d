"""The estate: the one Pulumi program, composing osp's components from an environment spec.

`pulumi up` runs it through stacks/__main__.py; osp's engines run `build` directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from osp.components import (
    Cluster,
    ClusterArgs,
    KeyRing,
    KeyRingArgs,
    Network,
    NetworkArgs,
    NodePoolArgs,
    Postgres,
    PostgresArgs,
    RabbitMq,
    RabbitMqArgs,
    Redis,
    RedisArgs,
)
from osp.platform import naming
from osp.platform.naming import NameKind
from osp.platform.spec import EnvironmentSpec
from osp.platform.spec.models import NodePoolSpec


@dataclass(frozen=True)
class Estate:
    """The components of one environment, for programs that build on top of it."""

    keys: KeyRing
    network: Network
    cluster: Cluster
    database: Postgres
    cache: Redis
    broker: RabbitMq


def _pool(pool: NodePoolSpec) -> NodePoolArgs:
    return NodePoolArgs(
        instance_types=pool.instance_types,
        min_size=pool.min_size,
        max_size=pool.max_size,
        desired_size=pool.desired_size,
        capacity_type=pool.capacity_type,
        disk_size_gib=pool.disk_size_gib,
    )


def build(spec: EnvironmentSpec) -> Estate:
    """Declare the whole environment described by `spec` and export its outputs."""

    def tags(component: str) -> dict[str, str]:
        return naming.standard_tags(
            environment=spec.name, component=component, blueprint=spec.blueprint, extra=spec.tags
        )

    def name(role: str, kind: NameKind = NameKind.GENERIC) -> str:
        return naming.physical_name(spec.name, role, kind)

    protect = spec.deletion_protection
    keys = KeyRing(
        name("keys"),
        KeyRingArgs(
            deletion_window_days=spec.keys.deletion_window_days,
            deletion_protection=protect,
            tags=tags("keys"),
        ),
    )
    cluster_name = name("eks", NameKind.EKS_CLUSTER)
    network = Network(
        name("network"),
        NetworkArgs(
            cidr_block=str(spec.network.cidr),
            availability_zones=spec.zones,
            subnet_plan=spec.network.subnets,
            nat_strategy=spec.network.nat,
            cluster_name=cluster_name,
            flow_logs_kms_key_arn=keys.logs_key_arn,
            flow_log_retention_days=spec.network.flow_log_retention_days,
            interface_endpoints=spec.network.interface_endpoints,
            tags=tags("network"),
        ),
    )
    cluster = Cluster(
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
            public_access_cidrs=[str(c) for c in spec.cluster.public_access_cidrs],
            log_retention_days=spec.cluster.log_retention_days,
            deletion_protection=protect,
            system_pool=_pool(spec.cluster.system_pool),
            workload_pool=_pool(spec.cluster.workload_pool),
            tags=tags("cluster"),
        ),
    )
    # The data stores admit the cluster's nodes and nothing else.
    clients = [cluster.node_security_group_id]
    db = spec.database
    database = Postgres(
        name("postgres"),
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
            read_replica_count=db.read_replicas,
            log_retention_days=db.log_retention_days,
            deletion_protection=protect,
            tags=tags("database"),
        ),
    )
    cache = Redis(
        name("redis", NameKind.ELASTICACHE_ID),
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
            multi_az=spec.cache.multi_az,
            snapshot_retention_days=spec.cache.snapshot_retention_days,
            log_retention_days=spec.cache.log_retention_days,
            secret_recovery_window_days=spec.secrets.recovery_window_days,
            deletion_protection=protect,
            tags=tags("cache"),
        ),
    )
    broker = RabbitMq(
        name("rabbitmq", NameKind.MQ_BROKER),
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
            deletion_protection=protect,
            tags=tags("broker"),
        ),
    )

    pulumi.export("environment", spec.name)
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
    pulumi.export("postgresEndpoint", database.endpoint)
    pulumi.export("postgresMasterSecretArn", database.master_user_secret_arn)
    pulumi.export("redisPrimaryEndpoint", cache.primary_endpoint)
    pulumi.export("redisAuthSecretArn", cache.auth_secret_arn)
    pulumi.export("rabbitmqEndpoints", broker.amqps_endpoints)
    pulumi.export("rabbitmqCredentialsSecretArn", broker.credentials_secret_arn)
    return Estate(
        keys=keys, network=network, cluster=cluster, database=database, cache=cache, broker=broker
    )


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
