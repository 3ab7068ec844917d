"""The application layer: the bundled education services on EKS.

Components, one concept each: `EventBus` (SNS → SQS fan-out), `RabbitMqTopology` (the same on
RabbitMQ, with a broker user per service), `ServiceIdentity` and
`LoadBalancerControllerIdentity` (IRSA), `ClusterAddons` (namespace, Load Balancer Controller,
metrics-server), `ServiceDatabases` (each service's logical database and user) and
`ServiceWorkload` (a service's Kubernetes objects).
"""

from osp.app.addons import ClusterAddons, ClusterAddonsArgs
from osp.app.databases import ServiceDatabases, ServiceDatabasesArgs, postgres_name
from osp.app.events import EventBus, EventBusArgs, EventRoute
from osp.app.identity import (
    BucketGrant,
    DbUserGrant,
    Grants,
    KeyGrant,
    LoadBalancerControllerIdentity,
    LoadBalancerControllerIdentityArgs,
    ServiceIdentity,
    ServiceIdentityArgs,
    TableGrant,
    with_key_grants,
)
from osp.app.kafka import KafkaGrant
from osp.app.rabbitmq import RabbitMqTopology, RabbitMqTopologyArgs
from osp.app.workload import (
    EgressRule,
    NetworkProtocol,
    PersistentMount,
    ServiceWorkload,
    ServiceWorkloadArgs,
)

__all__ = [
    "BucketGrant",
    "ClusterAddons",
    "ClusterAddonsArgs",
    "DbUserGrant",
    "EgressRule",
    "EventBus",
    "EventBusArgs",
    "EventRoute",
    "Grants",
    "KafkaGrant",
    "KeyGrant",
    "LoadBalancerControllerIdentity",
    "LoadBalancerControllerIdentityArgs",
    "NetworkProtocol",
    "PersistentMount",
    "RabbitMqTopology",
    "RabbitMqTopologyArgs",
    "ServiceDatabases",
    "ServiceDatabasesArgs",
    "ServiceIdentity",
    "ServiceIdentityArgs",
    "ServiceWorkload",
    "ServiceWorkloadArgs",
    "TableGrant",
    "postgres_name",
    "with_key_grants",
]
