"""Each package's public surface, pinned (httpx's habit): `__all__` is exactly the public
names its __init__ holds, every name in it imports, and a package of modules (one that
imports nothing in its __init__, so that importing it stays cheap) keeps importing nothing.

A change here is a change of osp's public API: make it on purpose.
"""

from __future__ import annotations

import ast
import importlib
import tomllib
import types

import pytest

from tests.support import REPO

#: The packages whose __init__ states a surface, and that surface.
EXPORTS = {
    "osp.components": [
        "AccessPoint", "AccountAudit", "AccountAuditArgs", "ApiDistribution",
        "ApiDistributionArgs", "ApiLoadBalancer", "ApiLoadBalancerArgs",
        "AttributeType", "Backup", "BackupArgs", "BillingMode", "Bucket", "BucketArgs",
        "BucketReplica", "BucketReplicaArgs",
        "BucketTriggers", "BucketTriggersArgs",
        "Cluster", "ClusterArgs",
        "EmailDomain", "EmailDomainArgs", "FileSystem", "FileSystemArgs",
        "FlinkApplication", "FlinkApplicationArgs",
        "Function", "FunctionArgs",
        "GeneratedSecret",
        "GlobalSecondaryIndex", "HealthChecks", "HealthChecksArgs", "HealthEndpoint",
        "IaTransition", "KafkaCluster", "KafkaClusterArgs", "KafkaTopicArgs", "Karpenter",
        "KarpenterArgs", "KeyRing", "KeyRingArgs", "LogBucket", "LogBucketArgs",
        "MediaDistribution", "MediaDistributionArgs", "Monitoring",
        "MonitoringArgs", "Network", "NetworkArgs", "NodePoolArgs", "NodePoolLimits",
        "ObjectOwnership", "OnDelete", "ParameterHierarchy", "ParameterHierarchyArgs",
        "ParameterValue", "PlaceholderSecret",
        "Postgres", "PostgresArgs", "ProjectionType", "ProtectedKind", "ProtectedResource",
        "Queue", "QueueArgs", "RabbitMq",
        "RabbitMqArgs", "Redis", "RedisArgs", "Registry", "RegistryArgs", "Rotation",
        "RotationTarget", "ScalingBounds",
        "ScheduleSpec", "Schedules", "SchedulesArgs",
        "SecretRotator", "SecretRotatorArgs", "ServiceRoute",
        "ServiceSecrets", "ServiceSecretsArgs", "SmsSettings", "SmsSettingsArgs", "StaticSite",
        "StaticSiteArgs", "StreamViewType",
        "Table", "TableArgs", "TableAutoscaling", "Taint", "TaintEffect", "TenantGate",
        "TenantGateArgs",
        "ThroughputMode", "Topic", "TopicArgs", "WafScope", "WebAcl", "WebAclArgs", "Zone",
        "ZoneArgs",
    ],
    "osp.app": [
        "BucketGrant", "ClusterAddons", "ClusterAddonsArgs", "DbUserGrant", "EgressRule",
        "EventBus", "EventBusArgs", "EventRoute", "Grants", "KafkaGrant", "KeyGrant",
        "LoadBalancerControllerIdentity", "LoadBalancerControllerIdentityArgs",
        "NetworkProtocol", "PersistentMount", "RabbitMqTopology", "RabbitMqTopologyArgs",
        "ServiceDatabases",
        "ServiceDatabasesArgs", "ServiceIdentity", "ServiceIdentityArgs", "ServiceWorkload",
        "ServiceWorkloadArgs", "TableGrant", "postgres_name", "with_key_grants",
    ],
    "osp.platform.spec": [
        "PROTECTIVE_STANCES", "REQUIRED_KEYS", "BrokerDeploymentMode", "CacheEngine",
        "CapacityType", "EnvironmentSpec", "NatStrategy", "NetworkSpec", "Profile", "SpecWarning",
        "SubnetPlan", "SubnetTier", "load_environment", "parse_stack_file", "provider_config",
        "spec_warnings",
    ],
    "osp.platform.catalogue": [
        "CATALOGUE_FILE", "Access",
        "Architecture", "Artifact", "Autoscaling",
        "Bucket", "Catalogue", "DataStore", "Database", "Event",
        "Function", "FunctionUses",
        "Image",
        "LivenessProbe", "Probe", "Probes", "Quantities",
        "Queue", "QueueAccess", "QueueTrigger",
        "ReadinessProbe", "Replicas",
        "Resources",
        "Retry", "Schedule",
        "Secret", "SecretKind", "Service", "StartupProbe", "Subscription",
        "Target",
        "Transport",
        "Trigger",
        "UnknownBlueprintError",
        "Upload",
        "Uses", "Volume", "catalogue_warnings",
        "cpu_millicores",
        "load_catalogue", "memory_bytes", "parse_catalogue", "parse_catalogue_text",
    ],
    "osp.platform.tenancy": [
        "RESERVED_SLUGS", "ROLLOUT_STATES", "SLUG", "SLUG_FORMAT", "TRANSITIONS", "CreateOutcome",
        "CreateResult", "Difference", "DynamoDbRegistry", "Failure", "FileRegistry", "Finding",
        "NotSuspendedError", "RolloutOutcome", "RolloutProblem", "RolloutReport", "RolloutResult",
        "RolloutUpdate", "Shard", "StaleTenantError", "Tenant", "TenantConflictError",
        "TenantExistsError", "TenantInputError", "TenantProvisioningError", "TenantRegistry",
        "TenantRegistryError", "TenantRequest", "TenantStackError", "TenantState",
        "TenantStateError", "Tier", "TierBlueprint", "Transition", "UnknownTenantError",
        "UnknownTierError", "allowed", "create", "deletable", "delete", "differences", "from_dict",
        "list_tenants", "load_tier", "new_tenant", "parse_shard", "record_rollout", "resume",
        "rollout", "shard_of", "show", "suspend", "tenant_urls", "to_dict", "transition", "verify",
    ],
    "osp.platform.tenancy.registry": [
        "STATE_INDEX", "STATE_INDEX_HASH_KEY", "STATE_INDEX_RANGE_KEY", "TABLE_HASH_KEY",
        "VERSION_ATTRIBUTE", "DynamoDbRegistry", "FileRegistry", "TenantRegistry",
        "default_root",
    ],
    "osp.platform.policy": [
        "RULES", "Check", "Context", "Evidence", "Finding", "Outcome", "Report", "Rule", "Scope",
        "Severity", "WaiverUse", "check_waivers", "context_of", "evaluate",
    ],
    "osp.platform.policy.rules": ["RULES"],
    "osp.platform.report": [
        "DIAGRAM_FILES", "FILE_NAMES", "SCHEMA_VERSION", "Format", "Produced", "collect",
        "plan_hash", "produce", "render",
    ],
}  # fmt: skip

#: Packages of modules: users import a module (`from osp.platform.engine import offline`,
#: `osp.cli.main:main`, `osp.stacks.estate`); the package itself imports nothing and has no
#: `__all__`, so importing it costs nothing (the CLI's `--help` depends on that).
MODULE_PACKAGES = {
    "osp.stacks": "stacks",
    "osp.cli": "cli",
    "osp.platform.engine": "platform/engine",
    "osp.platform.automation": "platform/automation",
}

FOLDERS = {
    "osp.components": "components",
    "osp.app": "app",
    "osp.platform.spec": "platform/spec",
    "osp.platform.catalogue": "platform/catalogue",
    "osp.platform.tenancy": "platform/tenancy",
    "osp.platform.tenancy.registry": "platform/tenancy/registry",
    "osp.platform.policy": "platform/policy",
    "osp.platform.policy.rules": "platform/policy/rules",
    "osp.platform.report": "platform/report",
    **MODULE_PACKAGES,
}


def _init(package: str) -> ast.Module:
    return ast.parse((REPO / FOLDERS[package] / "__init__.py").read_text(encoding="utf-8"))


def _imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        and not (isinstance(node, ast.ImportFrom) and node.module == "__future__")
    ]


def test_every_package_is_pinned():
    listed = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    # osp.platform is a namespace package (no __init__), osp.blueprints data.
    assert set(listed) - {"osp.platform", "osp.blueprints"} == set(FOLDERS)


@pytest.mark.parametrize("package", sorted(EXPORTS))
def test_all_is_pinned_and_complete(package):
    module = importlib.import_module(package)
    assert module.__all__ == EXPORTS[package]  # in ruff's order (RUF022)
    # Every public name the __init__ holds is exported; submodules are reached by path.
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and not (name == "annotations" and type(value).__name__ == "_Feature")
    }
    assert public == set(module.__all__)


@pytest.mark.parametrize(
    ("package", "name"), [(package, name) for package, names in EXPORTS.items() for name in names]
)
def test_every_exported_name_imports(package, name):
    namespace: dict[str, object] = {}
    exec(f"from {package} import {name}", namespace)
    assert namespace[name] is getattr(importlib.import_module(package), name)


@pytest.mark.parametrize("package", sorted(EXPORTS))
def test_star_import_gives_exactly_all(package):
    namespace: dict[str, object] = {}
    exec(f"from {package} import *", namespace)
    assert sorted(name for name in namespace if name != "__builtins__") == sorted(EXPORTS[package])


@pytest.mark.parametrize("package", sorted(MODULE_PACKAGES))
def test_a_package_of_modules_imports_nothing_and_exports_nothing(package):
    tree = _init(package)
    assert _imports(tree) == [], [ast.unparse(node) for node in _imports(tree)]
    assert not any(
        isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) for node in tree.body
    ), "a package of modules defines no names (no __all__): users import its modules"
    assert ast.get_docstring(tree), "its docstring says which module to import for what"
    assert not hasattr(importlib.import_module(package), "__all__")
