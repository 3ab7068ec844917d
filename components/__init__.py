"""Reusable Pulumi components of the osp estate, one AWS building block per module.

    from osp.components import Network, NetworkArgs

Each takes a frozen, keyword-only args dataclass and never reads config or the environment.
"""

from osp.components.keys import KeyRing, KeyRingArgs
from osp.components.network import Network, NetworkArgs

__all__ = ["KeyRing", "KeyRingArgs", "Network", "NetworkArgs"]
