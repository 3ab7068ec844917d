"""The environment spec: what a stack config file says an environment is.

from osp.platform.spec import load_environment
spec = load_environment(find_project(), "prod")
"""

from osp.platform.spec.loader import load_environment, parse_stack_file, provider_config
from osp.platform.spec.models import (
    BrokerDeploymentMode,
    CacheEngine,
    CapacityType,
    EnvironmentSpec,
    NatStrategy,
    NetworkSpec,
    Profile,
    SubnetPlan,
    SubnetTier,
)

__all__ = [
    "BrokerDeploymentMode",
    "CacheEngine",
    "CapacityType",
    "EnvironmentSpec",
    "NatStrategy",
    "NetworkSpec",
    "Profile",
    "SubnetPlan",
    "SubnetTier",
    "load_environment",
    "parse_stack_file",
    "provider_config",
]
