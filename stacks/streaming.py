"""Kafka for a blueprint whose transport is kafka: the MSK cluster with the catalogue's topics,
and each of the catalogue's stream processors as a Managed Flink application.

The cluster sits with the other data stores in the isolated subnets and admits the cluster's
nodes and each Flink application (in the private subnets) on 9098; the services' grants to
its topics are given by osp.stacks.services.
"""

from __future__ import annotations

from dataclasses import dataclass

from osp.components import (
    FlinkApplication,
    FlinkApplicationArgs,
    KafkaCluster,
    KafkaClusterArgs,
    KafkaTopicArgs,
)
from osp.components.streaming import ZONE_COUNTS
from osp.platform.catalogue import DataStore
from osp.platform.naming import NameKind
from osp.platform.spec import Profile
from osp.stacks.context import Context
from osp.stacks.foundation import Foundation
from osp.stacks.shared import Shared


@dataclass(frozen=True)
class Streaming:
    cluster: KafkaCluster
    processors: dict[str, FlinkApplication]
    """The catalogue's processors by name."""


def build(ctx: Context, foundation: Foundation, shared: Shared) -> Streaming | None:
    """The cluster and processors, or None when no service uses Kafka."""
    if not ctx.catalogue.needs(DataStore.KAFKA):
        return None
    spec, keys, network = ctx.spec.kafka, foundation.keys, foundation.network
    cluster_name = ctx.name("kafka", NameKind.K8S_LABEL)
    cluster = KafkaCluster(
        cluster_name,
        KafkaClusterArgs(
            cluster_name=cluster_name,
            vpc_id=network.vpc_id,
            # MSK spreads brokers over 2 or 3 zones: an estate of more zones uses its first 3.
            subnet_ids=network.isolated_subnet_ids[: max(ZONE_COUNTS)],
            client_security_group_ids=[foundation.cluster.node_security_group_id],
            kms_key_arn=keys.data_key_arn,
            logs_kms_key_arn=keys.logs_key_arn,
            kafka_version=spec.kafka_version,
            instance_type=spec.instance_type,
            storage_gib=spec.storage_gib,
            brokers_per_zone=spec.brokers_per_zone,
            enhanced_monitoring=spec.enhanced_monitoring,
            log_retention_days=spec.log_retention_days,
            topics=[
                KafkaTopicArgs(t.name, t.partitions, t.retention_hours)
                for t in ctx.catalogue.topics
            ],
            deletion_protection=ctx.protect,
            tags=ctx.tags("streaming"),
        ),
    )
    processors: dict[str, FlinkApplication] = {}
    for processor in ctx.catalogue.processors:
        application = FlinkApplication(
            ctx.name(f"{processor.name}-flink"),
            FlinkApplicationArgs(
                application_name=ctx.name(processor.name),
                runtime=processor.runtime,
                artifact_bucket_arn=shared.buckets[processor.artifact.bucket].arn,
                artifact_key=processor.artifact.key,
                storage_key_arn=keys.storage_key_arn,
                vpc_id=network.vpc_id,
                subnet_ids=network.private_subnet_ids,
                kafka_cluster_arn=cluster.arn,
                kafka_security_group_id=cluster.security_group_id,
                bootstrap_brokers=cluster.bootstrap_brokers,
                reads=processor.reads,
                writes=processor.writes,
                # dev runs one task, like its one pod per service.
                parallelism=1 if ctx.spec.profile is Profile.DEV else processor.parallelism,
                properties=processor.properties,
                logs_kms_key_arn=keys.logs_key_arn,
                log_retention_days=spec.log_retention_days,
                tags=ctx.tags("streaming"),
            ),
        )
        cluster.admit(processor.name, application.security_group_id)
        processors[processor.name] = application
    return Streaming(cluster=cluster, processors=processors)
