"""`Redis`: the ElastiCache replication group for sessions, caching, rate limits and locks,
with one shard or, in cluster mode, several."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from osp.components import _checks, _windows
from osp.components._log_groups import log_group
from osp.components._network_access import ClientPort, client_security_group
from osp.components._secrets import stored_secret
from osp.components.rotation import Rotation, RotationTarget, SecretRotator, rotator_args
from osp.platform import limits
from osp.platform.naming import NameKind, fit
from osp.platform.spec.models import CacheEngine
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:cache:Redis"

#: The one port clients reach the cache on (TLS; Redis OSS and Valkey share it).
PORT = 6379


#: Engine logs ElastiCache can deliver, each to a log group of its own.
LOG_TYPES = ("slow-log", "engine-log")

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
    """Read replicas beside each shard's primary, 0–5. With one or more, a failed primary is
    replaced by a replica of its shard automatically."""

    snapshot_retention_days: int
    """Days each daily snapshot is kept, 1–35."""

    deletion_protection: bool
    """Refuse to delete the cache by accident. ElastiCache has no deletion-protection flag of
    its own, so this sets Pulumi's `protect` on the replication group and on the AUTH secret:
    any update that would delete or replace them fails until it is turned off."""

    engine: CacheEngine = CacheEngine.REDIS
    """`redis` (Redis OSS) or `valkey`; both speak the Redis protocol."""

    cluster_mode: bool = False
    """Cluster mode: the keyspace is split over `shards` node groups, each a primary and
    `replicas_per_shard` replicas, and clients connect through the configuration endpoint with
    a cluster-aware client (`address`). Default: off, one shard, clients connect to the primary
    endpoint and read from the reader endpoint. On, the parameter group holds
    `cluster-enabled yes` and automatic failover is always on (ElastiCache requires it).
    Switching it either way replaces the replication group and its data."""

    shards: int = 1
    """Shards (ElastiCache node groups), 1–500; more than 1 requires `cluster_mode`. All
    nodes together (shards × (1 + replicas_per_shard)) at most 500."""

    engine_version: str | None = None
    """Engine version: `7.x` for redis, `7.2` or `8.x` for valkey. Default: 7.1 for redis,
    8.0 for valkey. Minor versions are upgraded automatically in the maintenance window."""

    multi_az: bool | None = None
    """ElastiCache Multi-AZ: replicas in other zones than the primary, failover across them.
    Default: on whenever there are replicas. True requires `replicas_per_shard` >= 1; False
    with replicas keeps automatic failover but drops the placement guarantee."""

    parameters: Mapping[str, str] = field(default_factory=dict)
    """Engine parameters (such as `maxmemory-policy`). Default: none, and the engine's
    default parameter group (`default.redis7`, `default.valkey8`, …) is used; given any, or in
    cluster mode, a parameter group of the engine's family is created holding them (and
    `cluster-enabled yes` in cluster mode; `cluster-enabled` itself is `cluster_mode`'s)."""

    snapshot_window: str = "03:00-05:00"
    """Daily UTC window for the automatic snapshot, `hh:mm-hh:mm`, at least 60 minutes, not
    overlapping `maintenance_window`."""

    maintenance_window: str = "sun:05:30-sun:06:30"
    """Weekly UTC maintenance window, `ddd:hh:mm-ddd:hh:mm`, at least 60 minutes."""

    log_retention_days: int = 30
    """Days the slow-log and engine-log log groups keep events (a CloudWatch Logs period)."""

    secret_recovery_window_days: int = 30
    """Days a deleted AUTH secret can still be restored: 0 (deleted at once) or 7–30."""

    rotation: Rotation | None = None
    """Rotate the AUTH token: a rotation function (`SecretRotator`, `<name>-rotation`) sets a
    new one with ElastiCache's ROTATE strategy, so the old token keeps working while clients
    pick up the new one, every `rotation.rotation_days`. Default: none, never rotated."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource (osp's tag set, from osp.platform.naming.standard_tags)."""


def engine_family(engine: CacheEngine, version: str) -> str:
    """The parameter group family of `engine` at `version`: redis7, valkey7 or valkey8."""
    return f"{engine.value}{version.split('.')[0]}"


def auth_document(
    *,
    engine: str,
    host: str,
    reader_host: str | None,
    port: int,
    auth_token: str,
    cluster_mode: bool = False,
) -> str:
    """The JSON text stored in the AUTH secret: what a client needs to connect. In cluster
    mode `host` is the configuration endpoint, there is no reader endpoint (a cluster client
    reads replicas through the configuration endpoint) and `cluster_mode` says so."""
    document: dict[str, object] = {
        "engine": engine,
        "host": host,
        "port": int(port),
        "tls": True,
        "auth_token": auth_token,
    }
    if cluster_mode:
        document["cluster_mode"] = True
    else:
        document["reader_host"] = reader_host
    return json.dumps(document, sort_keys=True)


#: The parameter that turns cluster mode on, in the group osp creates for it.
CLUSTER_ENABLED = "cluster-enabled"


def node_count(args: RedisArgs) -> int:
    """How many nodes `args` make: every shard's primary and replicas."""
    return args.shards * (1 + args.replicas_per_shard)


def node_family(node_type: str) -> str:
    """The family of a valid node type: `cache.r6gd.xlarge` → `r6gd`."""
    return node_type.split(".")[1]


def problems(name: str, args: RedisArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("Redis", name)
    engine: CacheEngine | None
    try:
        engine = CacheEngine(args.engine)
    except ValueError:
        engine = None
        check.add("engine", args.engine, "one of " + ", ".join(e.value for e in CacheEngine))
    if engine is not None:
        version = args.engine_version or DEFAULT_ENGINE_VERSION[engine]
        check.against(limits.CACHE_ENGINE_VERSIONS[engine.value], "engine_version", version)
    check.against(limits.CACHE_NODE_TYPE, "node_type", args.node_type)
    replicas = args.replicas_per_shard
    if check.against(limits.CACHE_REPLICAS, "replicas_per_shard", replicas) and (
        args.multi_az and replicas < 1
    ):
        check.note("multi_az", f"requires replicas_per_shard >= 1; got {replicas}")
    if check.against(limits.CACHE_SHARDS, "shards", args.shards):
        if args.shards > 1 and not args.cluster_mode:
            check.note("shards", f"more than 1 requires cluster_mode; got {args.shards}")
        elif limits.CACHE_REPLICAS.accepts(replicas) and node_count(args) > limits.CACHE_MAX_NODES:
            check.note(
                "shards",
                f"{args.shards} shards of {1 + replicas} nodes make {node_count(args)} nodes; "
                f"expected at most {limits.CACHE_MAX_NODES} in one replication group",
            )
    retention = args.snapshot_retention_days
    check.against(limits.CACHE_SNAPSHOT_RETENTION_DAYS, "snapshot_retention_days", retention)
    check.extend(_checks.common(args))
    _windows.check_windows(
        check,
        daily_arg="snapshot_window",
        daily_text=args.snapshot_window,
        weekly_arg="maintenance_window",
        weekly_text=args.maintenance_window,
        minimum_minutes=60,
    )
    for key, value in args.parameters.items():
        if not key or not isinstance(value, str):
            check.add(f"parameters[{key!r}]", value, "a named parameter with a str value")
        elif key == CLUSTER_ENABLED:
            check.add(
                f"parameters[{CLUSTER_ENABLED!r}]",
                value,
                "no such parameter: cluster_mode turns cluster mode on or off",
            )
    return check.found


class Redis(pulumi.ComponentResource):
    """An ElastiCache replication group (Redis OSS or Valkey): one shard, or in cluster mode
    `shards` of them behind a configuration endpoint.

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
    address: pulumi.Output[str]
    """Where clients connect: the primary endpoint, or in cluster mode the configuration
    endpoint (a cluster-aware client finds every shard from it)."""
    primary_endpoint: pulumi.Output[str]
    """The primary endpoint (empty in cluster mode, which has one per shard)."""
    reader_endpoint: pulumi.Output[str]
    """The reader endpoint (empty in cluster mode)."""
    cluster_mode: bool
    """Whether cluster mode is on (`RedisArgs.cluster_mode`)."""
    node_count: int
    """How many nodes the group has (every shard's primary and replicas): the length of
    `member_clusters`, known before anything is created."""
    port: pulumi.Output[int]
    auth_secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    member_clusters: pulumi.Output[list[str]]
    """The ids of the nodes (every shard's primary and replicas): CloudWatch's CacheClusterId
    dimension, one alarm set each."""

    def __init__(
        self, name: str, args: RedisArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        engine = CacheEngine(args.engine)
        version = args.engine_version or DEFAULT_ENGINE_VERSION[engine]
        group_id = fit(name, NameKind.ELASTICACHE_ID)
        sg = client_security_group(
            name,
            vpc_id=args.vpc_id,
            group_name=fit(f"{name}-sg"),
            description=f"ElastiCache {group_id}: clients on TCP {PORT}",
            clients=args.client_security_group_ids,
            ports=[ClientPort(PORT, f"{engine.value} clients (TLS)")],
            tags=args.tags,
            parent=self,
        )
        log_groups = {
            log_type: log_group(
                f"{name}-{log_type}",
                log_group_name=f"/aws/elasticache/{group_id}/{log_type}",
                retention_days=args.log_retention_days,
                kms_key_arn=args.logs_kms_key_arn,
                tags=args.tags,
                parent=self,
            )
            for log_type in LOG_TYPES
        }
        parameter_group_name = self._parameter_group(name, args, group_id, engine, version)
        token = random.RandomPassword(
            f"{name}-auth-token",
            length=64,
            # AUTH tokens refuse @, " and /; letters and digits alone avoid the question.
            special=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        group = self._replication_group(
            name, args, group_id, engine, version, parameter_group_name, sg, token, log_groups
        )
        secret = self._auth_secret(name, args, group_id, engine, token, group)
        if args.rotation is not None:
            SecretRotator(
                f"{name}-rotation",
                rotator_args(
                    args.rotation,
                    target=RotationTarget.REDIS,
                    secret_arns={"auth": secret.arn},
                    secrets_kms_key_arn=args.secrets_kms_key_arn,
                    tags=args.tags,
                    store_security_group_id=sg.id,
                    store_port=PORT,
                    replication_group_arn=group.arn,
                    replication_group_id=group.replication_group_id,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self._publish(group, secret, sg, args)

    def _parameter_group(
        self, name: str, args: RedisArgs, group_id: str, engine: CacheEngine, version: str
    ) -> pulumi.Input[str]:
        """The group of `args.parameters`, or the engine's default group when there are none."""
        family = engine_family(engine, version)
        parameters = dict(args.parameters)
        if args.cluster_mode:
            parameters[CLUSTER_ENABLED] = "yes"
        if not parameters:
            return f"default.{family}"
        return aws.elasticache.ParameterGroup(
            f"{name}-params",
            # The family is in the name so that an engine upgrade, which replaces the group,
            # can create the new one before deleting the old.
            name=fit(f"{group_id}-{family}", NameKind.ELASTICACHE_ID),
            family=family,
            description=f"{group_id}: osp parameters for {engine.value} {version}",
            parameters=[
                aws.elasticache.ParameterGroupParameterArgs(name=key, value=value)
                for key, value in sorted(parameters.items())
            ],
            tags={"Name": f"{name}-params", **args.tags},
            opts=pulumi.ResourceOptions(parent=self),
        ).name

    def _replication_group(
        self,
        name: str,
        args: RedisArgs,
        group_id: str,
        engine: CacheEngine,
        version: str,
        parameter_group_name: pulumi.Input[str],
        sg: aws.ec2.SecurityGroup,
        token: random.RandomPassword,
        log_groups: Mapping[str, aws.cloudwatch.LogGroup],
    ) -> aws.elasticache.ReplicationGroup:
        replicas = args.replicas_per_shard
        if args.cluster_mode:
            shape: dict[str, object] = {
                "cluster_mode": "enabled",
                "num_node_groups": args.shards,
                "replicas_per_node_group": replicas,
                # ElastiCache refuses a cluster-mode group without automatic failover.
                "automatic_failover_enabled": True,
            }
        else:
            shape = {
                "cluster_mode": "disabled",
                "num_cache_clusters": 1 + replicas,
                "automatic_failover_enabled": replicas >= 1,
            }
        return aws.elasticache.ReplicationGroup(
            f"{name}-replication-group",
            replication_group_id=group_id,
            description=f"osp {engine.value}: sessions, caching, rate limits and locks",
            engine=engine.value,
            engine_version=version,
            node_type=args.node_type,
            port=PORT,
            parameter_group_name=parameter_group_name,
            **shape,
            multi_az_enabled=replicas >= 1 if args.multi_az is None else args.multi_az,
            # r6gd nodes tier data to SSD, and the API insists on being told so.
            data_tiering_enabled=True if node_family(args.node_type).endswith("gd") else None,
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
            tags={"Name": f"{name}-replication-group", **args.tags},
            opts=pulumi.ResourceOptions(parent=self, protect=args.deletion_protection),
        )

    def _auth_secret(
        self,
        name: str,
        args: RedisArgs,
        group_id: str,
        engine: CacheEngine,
        token: random.RandomPassword,
        group: aws.elasticache.ReplicationGroup,
    ) -> aws.secretsmanager.Secret:
        """The AUTH token and the endpoints, as the JSON document clients read."""
        return stored_secret(
            f"{name}-auth-secret",
            secret_name=fit(f"{group_id}-auth-token"),
            description=f"AUTH token and endpoints of ElastiCache {group_id}",
            kms_key_id=args.secrets_kms_key_arn,
            recovery_window_days=args.secret_recovery_window_days,
            document=pulumi.Output.all(
                token.result,
                _address(group, args.cluster_mode),
                group.reader_endpoint_address,
                group.port,
            ).apply(
                lambda v: auth_document(
                    engine=engine.value,
                    auth_token=v[0],
                    host=v[1],
                    reader_host=v[2],
                    port=v[3] or PORT,
                    cluster_mode=args.cluster_mode,
                )
            ),
            tags={"Name": f"{name}-auth-secret", **args.tags},
            parent=self,
            protect=args.deletion_protection,
            rotated=args.rotation is not None,
        )

    def _publish(
        self,
        group: aws.elasticache.ReplicationGroup,
        secret: aws.secretsmanager.Secret,
        sg: aws.ec2.SecurityGroup,
        args: RedisArgs,
    ) -> None:
        self.replication_group_id = group.id
        self.address = _address(group, args.cluster_mode)
        self.cluster_mode = args.cluster_mode
        self.node_count = node_count(args)
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
                "address": self.address,
                "primaryEndpoint": self.primary_endpoint,
                "readerEndpoint": self.reader_endpoint,
                "port": self.port,
                "authSecretArn": self.auth_secret_arn,
                "securityGroupId": self.security_group_id,
            }
        )


def _address(group: aws.elasticache.ReplicationGroup, cluster_mode: bool) -> pulumi.Output[str]:
    return group.configuration_endpoint_address if cluster_mode else group.primary_endpoint_address
