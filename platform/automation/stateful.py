"""Which resource types hold data that a replacement or deletion loses.

The one list osp uses to call out dangerous changes (replace or delete of one of these is shown
in red before `osp up` / `osp destroy` asks for confirmation). Decided by type token, so it
works on any plan or engine event without knowing the component that made the resource.
"""

from __future__ import annotations

STATEFUL_TYPES: frozenset[str] = frozenset(
    {
        # databases and caches: the data itself
        "aws:rds/instance:Instance",
        "aws:rds/cluster:Cluster",
        "aws:rds/clusterInstance:ClusterInstance",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:elasticache/cluster:Cluster",
        "aws:elasticache/serverlessCache:ServerlessCache",
        "aws:mq/broker:Broker",
        "aws:dynamodb/table:Table",
        # object storage and images
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:ecr/repository:Repository",
        # keys and secrets: losing one makes everything encrypted with it unreadable
        "aws:kms/key:Key",
        "aws:kms/replicaKey:ReplicaKey",
        "aws:secretsmanager/secret:Secret",
        # identity of the estate: the cluster (and its workloads), the DNS zone (delegations)
        "aws:eks/cluster:Cluster",
        "aws:route53/zone:Zone",
    }
)


def is_stateful(type_token: str) -> bool:
    return type_token in STATEFUL_TYPES
