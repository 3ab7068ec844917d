"""Reusable Pulumi components of the osp estate, one AWS building block per module.

    from osp.components import Network, NetworkArgs

Each takes a frozen, keyword-only args dataclass and never reads config or the environment.
"""

from osp.components.broker import RabbitMq, RabbitMqArgs
from osp.components.cache import Redis, RedisArgs
from osp.components.cluster import Cluster, ClusterArgs, NodePoolArgs, Taint, TaintEffect
from osp.components.database import Postgres, PostgresArgs
from osp.components.keys import KeyRing, KeyRingArgs
from osp.components.network import Network, NetworkArgs

__all__ = [
    "Cluster",
    "ClusterArgs",
    "KeyRing",
    "KeyRingArgs",
    "Network",
    "NetworkArgs",
    "NodePoolArgs",
    "Postgres",
    "PostgresArgs",
    "RabbitMq",
    "RabbitMqArgs",
    "Redis",
    "RedisArgs",
    "Taint",
    "TaintEffect",
]
