"""The spec and the components judge a value by the same rule: a stack file is refused exactly
when the component it configures would refuse the value, so a spec that validates never fails
later inside a component, and a component never accepts what the spec refuses.

Each case names a stack-file key, the component argument it becomes, and samples both ways.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from osp.components import (
    broker,
    cache,
    cluster,
    database,
    dns,
    keys,
    network,
    observability,
    secrets,
)
from osp.platform.errors import SpecError
from osp.platform.spec import parse_stack_file
from tests.components.test_broker import broker_args
from tests.components.test_cache import redis_args
from tests.components.test_cluster import cluster_args
from tests.components.test_database import PROD as POSTGRES
from tests.components.test_network import network_args
from tests.components.test_observability import monitoring_args
from tests.components.test_secrets import secrets_args

ADMIN = "arn:aws:iam::123456789012:role/platform-admin"


@dataclasses.dataclass(frozen=True)
class Case:
    section: str
    """Where the value goes in the stack file: `osp:database.instance_class`, `aws:region`."""
    problems: Callable[[str, object], list[str]]
    args: Callable[[], object]
    arg: str
    """The component argument the value becomes."""
    samples: tuple[object, ...]
    listed: bool = False
    """The argument (and the key) is a list: the sample is its one item."""
    also: tuple[tuple[str, object], ...] = ()
    """Other settings the sample needs, as (stack-file key, value) and the same under `arg`'s
    component argument names: (`engine`, "valkey") sets `osp:cache.engine` and `engine`."""


def _zone(**overrides) -> dns.ZoneArgs:
    return dns.ZoneArgs(**{"domain": "osp.example.com", "edge_provider": None, **overrides})


CASES = {
    "rds instance class": Case(
        "osp:database.instance_class", database.problems,
        lambda: database.PostgresArgs(**POSTGRES), "instance_class",
        ("db.r6g.large", "db.t4g.micro", "db.m6i.metal", "db.serverless.large", "db.t3.tiny",
         "r6g.large"),
    ),
    "postgres version": Case(
        "osp:database.engine_version", database.problems,
        lambda: database.PostgresArgs(**POSTGRES), "engine_version",
        ("16", "17.2", "14", "13", "18", "16.4.1", "sixteen"),
    ),
    "rds storage": Case(
        "osp:database.allocated_storage_gib", database.problems,
        lambda: database.PostgresArgs(**{**POSTGRES, "max_allocated_storage_gib": 65536}),
        "allocated_storage_gib", (20, 500, 19, 0, 65537),
    ),
    "rds backups": Case(
        "osp:database.backup_retention_days", database.problems,
        lambda: database.PostgresArgs(**POSTGRES), "backup_retention_days", (1, 35, 0, 36),
    ),
    "rds replicas": Case(
        "osp:database.read_replicas", database.problems,
        lambda: database.PostgresArgs(**POSTGRES), "read_replica_count", (0, 5, 6, -1),
    ),
    "rds monitoring": Case(
        "osp:database.monitoring_interval_seconds", database.problems,
        lambda: database.PostgresArgs(**POSTGRES), "monitoring_interval_seconds",
        (0, 1, 60, 2, 120),
    ),
    "database logs": Case(
        "osp:database.log_retention_days", database.problems,
        lambda: database.PostgresArgs(**POSTGRES), "log_retention_days", (30, 3653, 45, 0),
    ),
    "valkey version": Case(
        "osp:cache.engine_version", cache.problems, redis_args, "engine_version",
        ("8.0", "8.1", "7.2", "7.1", "6.2"), also=(("engine", "valkey"),),
    ),
    "cache logs": Case(
        "osp:cache.log_retention_days", cache.problems, redis_args, "log_retention_days",
        (7, 365, 10),
    ),
    "cache node type": Case(
        "osp:cache.node_type", cache.problems, redis_args, "node_type",
        ("cache.r7g.large", "cache.t4g.small", "cache.r7g", "r7g.large", "cache.r7g.huge"),
    ),
    "redis version": Case(
        "osp:cache.engine_version", cache.problems, redis_args, "engine_version",
        ("7.1", "7.0", "6.2", "8.0", "7"),
    ),
    "cache replicas": Case(
        "osp:cache.replicas", cache.problems, redis_args, "replicas_per_shard", (1, 5, 6, -1),
    ),
    "cache snapshots": Case(
        "osp:cache.snapshot_retention_days", cache.problems, redis_args,
        "snapshot_retention_days", (1, 35, 0, 36),
    ),
    "mq instance type": Case(
        "osp:broker.instance_type", broker.problems, broker_args, "host_instance_type",
        ("mq.m5.large", "mq.m7g.xlarge", "m5.large", "mq.m5"),
    ),
    "mq instance type of a cluster": Case(
        "osp:broker.instance_type", broker.problems, broker_args, "host_instance_type",
        ("mq.m5.large", "mq.t3.micro", "mq.t3.small"),
        also=(("deployment_mode", "CLUSTER_MULTI_AZ"),),
    ),
    "broker logs": Case(
        "osp:broker.log_retention_days", broker.problems, broker_args, "log_retention_days",
        (30, 3653, 31),
    ),
    "rabbitmq version": Case(
        "osp:broker.engine_version", broker.problems, broker_args, "engine_version",
        ("3.13", "4.0", "3.12", "3.13.7", "3"),
    ),
    "kubernetes version": Case(
        "osp:cluster.kubernetes_version", cluster.problems, cluster_args, "kubernetes_version",
        ("1.30", "1.34", "1.29", "1.35", "1.3"),
    ),
    "node instance type": Case(
        "osp:cluster.workload_pool.instance_types", cluster.problems, cluster_args,
        "workload_pool.instance_types",
        ("m6i.large", "c7i.2xlarge", "m7g.large", "t4g.medium", "m6i"),
        listed=True,
    ),
    "node disk": Case(
        "osp:cluster.workload_pool.disk_size_gib", cluster.problems, cluster_args,
        "workload_pool.disk_size_gib", (20, 1000, 19, 1001),
    ),
    "cluster logs": Case(
        "osp:cluster.log_retention_days", cluster.problems, cluster_args, "log_retention_days",
        (90, 1, 2),
    ),
    "cluster log types": Case(
        "osp:cluster.log_types", cluster.problems, cluster_args, "log_types",
        ("audit", "controllerManager", "Audit", "kube-apiserver", ""),
        listed=True,
    ),
    "flow logs": Case(
        "osp:network.flow_log_retention_days", network.problems, network_args,
        "flow_log_retention_days", (365, 14, 100),
    ),
    "admin role": Case(
        "osp:cluster.admin_role_arns", cluster.problems, cluster_args, "admin_role_arns",
        (ADMIN, "arn:aws:iam::123456789012:role/teams/platform/admin",
         "arn:aws:iam::123456789012:user/admin", "platform-admin"),
        listed=True,
    ),
    "region": Case(
        "aws:region", cluster.problems, cluster_args, "region",
        ("eu-west-2", "us-gov-west-1", "us-east", "EU-WEST-2", "eu-west-2a"),
    ),
    "kms deletion window": Case(
        "osp:keys.deletion_window_days", keys.problems, keys.KeyRingArgs,
        "deletion_window_days", (7, 30, 6, 31),
    ),
    "secret recovery window": Case(
        "osp:secrets.recovery_window_days", secrets.problems, secrets_args,
        "recovery_window_days", (0, 7, 30, 3, 31),
    ),
    "domain": Case(
        "osp:domain", dns.problems, _zone, "domain",
        ("school.example.com", "a.io", "example", "School.example.com", "a..b.com"),
    ),
    "hosted zone id": Case(
        "osp:dns.zone_id", dns.problems, _zone, "existing_zone_id",
        ("Z0123456789ABCDEFGHIJ", "Z1", "abc", "z123"),
    ),
    "alarm e-mail": Case(
        "osp:monitoring.alarm_emails", observability.problems, monitoring_args, "alarm_emails",
        ("platform@school.example.com", "nobody", "a@b"),
        listed=True,
    ),
}  # fmt: skip


def _stack_file(settings: dict[str, object]) -> str:
    config: dict[str, object] = {
        "aws:region": "eu-west-2",
        "osp:domain": "school.example.com",
        "osp:cluster": {"admin_role_arns": [ADMIN]},
        # The least audit retention, so that only CloudWatch's periods judge a log group's.
        "osp:logs": {"audit_retention_days": 1},
    }
    for path, value in settings.items():
        *parents, key = path.split(".")
        node = config
        for parent in parents:
            node = node.setdefault(parent, {})  # type: ignore[assignment]
        node[key] = value  # type: ignore[index]
    lines = ["config:"] + [f"  {name}: {_yaml(setting)}" for name, setting in config.items()]
    return "\n".join(lines) + "\n"


def _yaml(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, str):
        return f"'{value}'"  # quoted: '16' and '3.13' stay strings, as a user would write
    return str(value)


def _sample(case: Case, value: object) -> object:
    return [value] if case.listed else value


def spec_refuses(case: Case, value: object) -> bool:
    section = case.section.rpartition(".")[0]
    settings = {f"{section}.{key}": setting for key, setting in case.also}
    settings[case.section] = _sample(case, value)
    try:
        parse_stack_file(_stack_file(settings), environment="prod", source="Pulumi.prod.yaml")
    except SpecError as refused:
        return any(f": {case.section}" in problem for problem in refused.problems)
    return False


def _replace(args: object, path: str, value: object) -> object:
    """`args` with the (dotted) field `path` set to `value`, nested dataclasses included."""
    head, _, rest = path.partition(".")
    inner = _replace(getattr(args, head), rest, value) if rest else value
    return dataclasses.replace(args, **{head: inner})  # type: ignore[type-var]


def component_refuses(case: Case, value: object) -> bool:
    args = case.args()
    for key, setting in case.also:
        args = _replace(args, key, setting)
    args = _replace(args, case.arg, _sample(case, value))
    return any(f": {case.arg}" in problem for problem in case.problems("t", args))


@pytest.mark.parametrize(
    ("case", "value"),
    [pytest.param(c, v, id=f"{name}-{v}") for name, c in CASES.items() for v in c.samples],
)
def test_the_spec_and_the_component_give_the_same_verdict(case, value):
    assert spec_refuses(case, value) == component_refuses(case, value)


@pytest.mark.parametrize("name", CASES)
def test_every_case_has_samples_both_ways(name):
    case = CASES[name]
    verdicts = {component_refuses(case, value) for value in case.samples}
    assert verdicts == {True, False}
