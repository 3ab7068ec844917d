"""`Redis`: the ElastiCache replication group for sessions, caching, rate limits and locks."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from osp.components import _checks, _windows
from osp.components._secrets import stored_secret
from osp.platform.naming import NameKind, fit
from osp.platform.spec.models import CacheEngine

TOKEN = "osp:cache:Redis"

#: The one port clients reach the cache on (TLS; Redis OSS and Valkey share it).
PORT = 6379


#: Engine logs ElastiCache can deliver, each to a log group of its own.
LOG_TYPES = ("slow-log", "engine-log")

_NODE_TYPE = re.compile(r"cache\.(?P<family>[a-z]+\d+[a-z]*)\.(?:micro|small|medium|\d*x?large)")

#: Engine version used when `engine_version` is not given.
DEFAULT_ENGINE_VERSION = {CacheEngine.REDIS: "7.1", CacheEngine.VALKEY: "8.0"}


@dataclass(frozen=True, kw_only=True)
class RedisArgs:
    """Arguments of `Redis`."""

    vpc_id: pulumi.Input[str]
    """VPC the cache's security group lives in."""

    cache_subnet_group_name: pulumi.Input[str]
    """ElastiCache subnet group to place the nodes in (the network's isolated tier)."""

    client_security_group_ids: Sequence[pulumi.Input[str]]
    """Security groups whose members may connect, on TCP 6379 only: one ingress rule each.
    Empty: nothing can connect until someone adds a rule to `security_group_id`."""

    kms_key_arn: pulumi.Input[str]
    """Customer KMS key that encrypts the data at rest (nodes and snapshots)."""

    secrets_kms_key_arn: pulumi.Input[str]
    """Customer KMS key that encrypts the Secrets Manager secret holding the AUTH token."""

    logs_kms_key_arn: pulumi.Input[str]
    """Customer KMS key that encrypts the slow-log and engine-log log groups."""

    node_type: str
    """Node type, `cache.<family>.<size>`, such as cache.t4g.small or cache.r7g.large."""

    replicas_per_shard: int
    """Read replicas beside the primary, 0–5 (one shard; cluster mode stays disabled). With
    one or more, a failed primary is replaced by a replica automatically."""

    snapshot_retention_days: int
    """Days each daily snapshot is kept, 1–35."""

    deletion_protection: bool
    """Refuse to delete the cache by accident. ElastiCache has no deletion-protection flag of
    its own, so this sets Pulumi's `protect` on the replication group and on the AUTH secret:
    any update that would delete or replace them fails until it is turned off."""

    engine: CacheEngine = CacheEngine.REDIS
    """`redis` (Redis OSS) or `valkey`; both speak the Redis protocol."""

    engine_version: str | None = None
    """Engine version: `7.x` for redis, `7.2` or `8.x` for valkey. Default: 7.1 for redis,
    8.0 for valkey. Minor versions are upgraded automatically in the maintenance window."""

    multi_az: bool | None = None
    """ElastiCache Multi-AZ: replicas in other zones than the primary, failover across them.
    Default: on whenever there are replicas. True requires `replicas_per_shard` >= 1; False
    with replicas keeps automatic failover but drops the placement guarantee."""

    parameters: Mapping[str, str] = field(default_factory=dict)
    """Engine parameters (such as `maxmemory-policy`). Default: none, and the engine's
    default parameter group (`default.redis7`, `default.valkey8`, …) is used; given any, a
    parameter group of the engine's family is created holding them."""

    snapshot_window: str = "03:00-05:00"
    """Daily UTC window for the automatic snapshot, `hh:mm-hh:mm`, at least 60 minutes, not
    overlapping `maintenance_window`."""

    maintenance_window: str = "sun:05:30-sun:06:30"
    """Weekly UTC maintenance window, `ddd:hh:mm-ddd:hh:mm`, at least 60 minutes."""

    log_retention_days: int = 30
    """Days the slow-log and engine-log log groups keep events (a CloudWatch Logs period)."""

    secret_recovery_window_days: int = 30
    """Days a deleted AUTH secret can still be restored: 0 (deleted at once) or 7–30."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource (osp's tag set, from osp.platform.naming.standard_tags)."""


def engine_family(engine: CacheEngine, version: str) -> str:
    """The parameter group family of `engine` at `version`: redis7, valkey7 or valkey8."""
    return f"{engine.value}{version.split('.')[0]}"


def auth_document(*, engine: str, host: str, reader_host: str, port: int, auth_token: str) -> str:
    """The JSON text stored in the AUTH secret: what a client needs to connect."""
    return json.dumps(
        {
            "engine": engine,
            "host": host,
            "reader_host": reader_host,
            "port": int(port),
            "tls": True,
            "auth_token": auth_token,
        },
        sort_keys=True,
    )


def problems(name: str, args: RedisArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    out: list[str] = []

    def bad(arg: str, value: object, expected: str) -> None:
        out.append(f"Redis {name}: {arg}: got {value!r}; expected {expected}")

    engine: CacheEngine | None
    try:
        engine = CacheEngine(args.engine)
    except ValueError:
        engine = None
        bad("engine", args.engine, "one of " + ", ".join(e.value for e in CacheEngine))
    if engine is not None:
        version = args.engine_version or DEFAULT_ENGINE_VERSION[engine]
        supported = {
            CacheEngine.REDIS: (re.compile(r"7\.\d+"), "a redis 7 version such as 7.1"),
            CacheEngine.VALKEY: (re.compile(r"7\.2|8\.\d+"), "a valkey version: 7.2 or 8.0"),
        }
        pattern, expected = supported[engine]
        if not isinstance(version, str) or not pattern.fullmatch(version):
            bad("engine_version", version, expected)

    if not isinstance(args.node_type, str) or not _NODE_TYPE.fullmatch(args.node_type):
        bad("node_type", args.node_type, "a cache node type such as cache.t4g.small or "
            "cache.r7g.large")  # fmt: skip

    replicas = args.replicas_per_shard
    if not _checks.is_int(replicas) or not 0 <= replicas <= 5:
        bad("replicas_per_shard", replicas, "an integer from 0 to 5")
    elif args.multi_az and replicas < 1:
        out.append(f"Redis {name}: multi_az: requires replicas_per_shard >= 1; got {replicas}")

    retention = args.snapshot_retention_days
    if not _checks.is_int(retention) or not 1 <= retention <= 35:
        bad("snapshot_retention_days", retention, "an integer from 1 to 35")

    for arg, value, expected in _checks.common(args):
        bad(arg, value, expected)

    snapshot = _windows.daily(args.snapshot_window)
    if snapshot is None:
        bad("snapshot_window", args.snapshot_window, "a daily UTC window hh:mm-hh:mm")
    elif snapshot.minutes < 60:
        bad("snapshot_window", args.snapshot_window, "a window of at least 60 minutes")

    maintenance = _windows.weekly(args.maintenance_window)
    if maintenance is None:
        bad("maintenance_window", args.maintenance_window,
            "a weekly UTC window ddd:hh:mm-ddd:hh:mm such as sun:05:30-sun:06:30")  # fmt: skip
    elif maintenance.minutes < 60:
        bad("maintenance_window", args.maintenance_window, "a window of at least 60 minutes")
    elif snapshot is not None and snapshot.overlaps(maintenance):
        out.append(
            f"Redis {name}: snapshot_window: {args.snapshot_window!r} overlaps "
            f"maintenance_window {args.maintenance_window!r}; move one of them"
        )

    for key in args.parameters:
        if not key or not isinstance(args.parameters[key], str):
            bad(f"parameters[{key!r}]", args.parameters[key], "a named parameter with a str value")
        elif key == "cluster-enabled":
            bad("parameters['cluster-enabled']", args.parameters[key],
                "no such parameter: Redis keeps cluster mode disabled (one shard)")  # fmt: skip
    return out


class Redis(pulumi.ComponentResource):
    """An ElastiCache replication group (Redis OSS or Valkey) with one shard.

    For sessions, caching, rate limiting and locks. TLS is required on the wire, data at rest
    and snapshots are encrypted with the customer KMS key, and every connection must present
    an AUTH token that osp generates and keeps in Secrets Manager (with the endpoints, as one
    JSON document). Replicas, when asked for, sit in other zones and take over automatically.
    Slow and engine logs go to CloudWatch Logs, and only the client security groups reach
    the nodes, on 6379.

    ElastiCache has no deletion protection of its own: `deletion_protection` is Pulumi's
    `protect` on the replication group and its AUTH secret.
    """

    replication_group_id: pulumi.Output[str]
    primary_endpoint: pulumi.Output[str]
    reader_endpoint: pulumi.Output[str]
    port: pulumi.Output[int]
    auth_secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    member_clusters: pulumi.Output[list[str]]
    """The ids of the nodes (primary and replicas): CloudWatch's CacheClusterId dimension."""

    def __init__(
        self, name: str, args: RedisArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise ValueError("\n".join(found))
        engine = CacheEngine(args.engine)
        version = args.engine_version or DEFAULT_ENGINE_VERSION[engine]
        family = engine_family(engine, version)
        replicas = args.replicas_per_shard
        multi_az = replicas >= 1 if args.multi_az is None else args.multi_az
        # r6gd nodes tier data to SSD, and the API insists on being told so.
        data_tiering = _NODE_TYPE.fullmatch(args.node_type)["family"].endswith("gd")
        group_id = fit(name, NameKind.ELASTICACHE_ID)
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.deletion_protection)

        def tags(resource_name: str) -> dict[str, str]:
            return {"Name": resource_name, **args.tags}

        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            name=fit(f"{name}-sg"),
            description=f"ElastiCache {group_id}: clients on TCP {PORT}",
            # No inline rules, so the provider removes AWS's default allow-all egress: the
            # nodes never open connections.
            tags=tags(f"{name}-sg"),
            opts=child,
        )
        for index, client in enumerate(args.client_security_group_ids):
            rule_name = f"{name}-from-client-{index}"
            aws.vpc.SecurityGroupIngressRule(
                rule_name,
                security_group_id=sg.id,
                referenced_security_group_id=client,
                ip_protocol="tcp",
                from_port=PORT,
                to_port=PORT,
                description=f"{engine.value} clients (TLS)",
                tags=tags(rule_name),
                opts=child,
            )

        log_groups = {}
        for log_type in LOG_TYPES:
            log_name = f"{name}-{log_type}"
            log_groups[log_type] = aws.cloudwatch.LogGroup(
                log_name,
                name=f"/aws/elasticache/{group_id}/{log_type}",
                retention_in_days=args.log_retention_days,
                kms_key_id=args.logs_kms_key_arn,
                tags=tags(log_name),
                opts=child,
            )

        if args.parameters:
            params = aws.elasticache.ParameterGroup(
                f"{name}-params",
                # The family is in the name so that an engine upgrade, which replaces the
                # group, can create the new one before deleting the old.
                name=fit(f"{group_id}-{family}", NameKind.ELASTICACHE_ID),
                family=family,
                description=f"{group_id}: osp parameters for {engine.value} {version}",
                parameters=[
                    aws.elasticache.ParameterGroupParameterArgs(name=key, value=value)
                    for key, value in sorted(args.parameters.items())
                ],
                tags=tags(f"{name}-params"),
                opts=child,
            )
            parameter_group_name: pulumi.Input[str] = params.name
        else:
            parameter_group_name = f"default.{family}"

        token = random.RandomPassword(
            f"{name}-auth-token",
            length=64,
            # AUTH tokens refuse @, " and /; letters and digits alone avoid the question.
            special=False,
            opts=child,
        )

        group = aws.elasticache.ReplicationGroup(
            f"{name}-replication-group",
            replication_group_id=group_id,
            description=f"osp {engine.value}: sessions, caching, rate limits and locks",
            engine=engine.value,
            engine_version=version,
            node_type=args.node_type,
            port=PORT,
            parameter_group_name=parameter_group_name,
            cluster_mode="disabled",
            num_cache_clusters=1 + replicas,
            automatic_failover_enabled=replicas >= 1,
            multi_az_enabled=multi_az,
            data_tiering_enabled=True if data_tiering else None,
            subnet_group_name=args.cache_subnet_group_name,
            security_group_ids=[sg.id],
            at_rest_encryption_enabled=True,
            kms_key_id=args.kms_key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=token.result,
            snapshot_retention_limit=args.snapshot_retention_days,
            snapshot_window=args.snapshot_window,
            final_snapshot_identifier=f"{group_id}-final",
            maintenance_window=args.maintenance_window,
            auto_minor_version_upgrade=True,
            apply_immediately=False,
            log_delivery_configurations=[
                aws.elasticache.ReplicationGroupLogDeliveryConfigurationArgs(
                    destination=log_groups[log_type].name,
                    destination_type="cloudwatch-logs",
                    log_format="json",
                    log_type=log_type,
                )
                for log_type in LOG_TYPES
            ],
            tags=tags(f"{name}-replication-group"),
            opts=stateful,
        )

        secret = stored_secret(
            f"{name}-auth-secret",
            secret_name=fit(f"{group_id}-auth-token"),
            description=f"AUTH token and endpoints of ElastiCache {group_id}",
            kms_key_id=args.secrets_kms_key_arn,
            recovery_window_days=args.secret_recovery_window_days,
            document=pulumi.Output.all(
                token.result,
                group.primary_endpoint_address,
                group.reader_endpoint_address,
                group.port,
            ).apply(
                lambda v: auth_document(
                    engine=engine.value,
                    auth_token=v[0],
                    host=v[1],
                    reader_host=v[2],
                    port=v[3] or PORT,
                )
            ),
            tags=tags(f"{name}-auth-secret"),
            parent=self,
            protect=args.deletion_protection,
        )

        self.replication_group_id = group.id
        self.primary_endpoint = group.primary_endpoint_address
        self.reader_endpoint = group.reader_endpoint_address
        self.port = group.port.apply(lambda p: p or PORT)
        self.auth_secret_arn = secret.arn
        self.security_group_id = sg.id
        self.member_clusters = group.member_clusters
        self.register_outputs(
            {
                "memberClusters": self.member_clusters,
                "replicationGroupId": self.replication_group_id,
                "primaryEndpoint": self.primary_endpoint,
                "readerEndpoint": self.reader_endpoint,
                "port": self.port,
                "authSecretArn": self.auth_secret_arn,
                "securityGroupId": self.security_group_id,
            }
        )
