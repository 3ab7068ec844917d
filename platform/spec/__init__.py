"""The environment spec: what a stack config file says an environment is.

from osp.platform.spec import load_environment
spec = load_environment(find_project(), "prod")
for warning in spec_warnings(project, spec):   # accepted, probably a mistake
    print(warning.render())
"""

from osp.platform.spec.loader import (
    REQUIRED_KEYS,
    load_environment,
    parse_stack_file,
    provider_config,
)
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
from osp.platform.spec.problems import SpecWarning
from osp.platform.spec.warnings import PROTECTIVE_STANCES, spec_warnings

__all__ = [
    "PROTECTIVE_STANCES",
    "REQUIRED_KEYS",
    "BrokerDeploymentMode",
    "CacheEngine",
    "CapacityType",
    "EnvironmentSpec",
    "NatStrategy",
    "NetworkSpec",
    "Profile",
    "SpecWarning",
    "SubnetPlan",
    "SubnetTier",
    "load_environment",
    "parse_stack_file",
    "provider_config",
    "spec_warnings",
]
