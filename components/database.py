"""`Postgres`: an RDS for PostgreSQL instance (not Aurora) for the estate's services."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from osp.components import _windows
from osp.platform import iam
from osp.platform.limits import LOG_RETENTION_DAYS
from osp.platform.naming import NameKind, fit

TOKEN = "osp:database:Postgres"

#: The port RDS for PostgreSQL listens on when none is given (the instances take the default).
PORT = 5432

#: PostgreSQL major versions osp deploys (those RDS supports in standard support).
SUPPORTED_MAJOR_VERSIONS = ("14", "15", "16", "17")

#: Enhanced Monitoring granularities RDS accepts; 0 turns it off.
MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)

_MONITORING_POLICY = "AmazonRDSEnhancedMonitoringRole"

#: Logs the instances publish to CloudWatch Logs.
LOG_EXPORTS = ("postgresql", "upgrade")


MAX_READ_REPLICAS = 5
# gp3 storage limits of RDS for PostgreSQL.
MIN_STORAGE_GIB = 20
MAX_STORAGE_GIB = 65536
# The free tier of Performance Insights.
PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7

_ENGINE_VERSION = re.compile(r"(\d+)(?:\.\d+)?")
_INSTANCE_CLASS = re.compile(
    r"db\.[a-z]+\d+[a-z-]*\.(micro|small|medium|large|xlarge|\d+xlarge|metal(-\d+xl)?)"
)
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
_RESERVED_USERNAMES = frozenset({"rdsadmin", "rdsrepladmin", "rds_superuser"})
_MIN_WINDOW_MINUTES = 30


@dataclass(frozen=True, kw_only=True)
class PostgresArgs:
    """Arguments of `Postgres`."""

    vpc_id: pulumi.Input[str]
    """VPC of the instance's security group."""

    db_subnet_group_name: pulumi.Input[str]
    """DB subnet group the instances live in (the network's isolated tier)."""

    client_security_group_ids: Sequence[pulumi.Input[str]]
    """Security groups allowed to connect, on TCP 5432 only. Empty: nothing can connect until
    rules are added to `security_group_id`."""

    kms_key_arn: pulumi.Input[str]
    """Customer KMS key encrypting storage, snapshots, the master user secret and
    Performance Insights data."""

    logs_kms_key_arn: pulumi.Input[str]
    """Customer KMS key encrypting the CloudWatch log groups of the instances."""

    instance_class: str
    """RDS instance class of the primary and of every replica, such as db.r6g.large."""

    allocated_storage_gib: int
    """Initial gp3 storage in GiB (20-65536)."""

    max_allocated_storage_gib: int
    """Ceiling of storage autoscaling in GiB; at least `allocated_storage_gib` (equal: storage
    grows only when this is raised)."""

    multi_az: bool
    """A synchronous standby in a second zone, with automatic failover."""

    deletion_protection: bool
    """RDS deletion protection and Pulumi `protect` on the primary and on every replica."""

    backup_retention_days: int
    """Days automated backups (point-in-time recovery) are kept (1-35)."""

    engine_version: str = "16"
    """PostgreSQL version: a major (`16`) or a major.minor (`16.4`); majors 14-17. Default:
    `16`, letting RDS pick the minor and upgrade it in the maintenance window without the
    program ever asking to go back to an older minor."""

    username: str = "osp_admin"
    """Master user name. Its password is generated and rotated by RDS in Secrets Manager,
    never by osp, so it is never in Pulumi state."""

    backup_window: str = "03:00-04:00"
    """Daily UTC window of automated backups, `hh:mm-hh:mm`, at least 30 minutes."""

    maintenance_window: str = "sun:04:30-sun:05:30"
    """Weekly UTC maintenance window, `ddd:hh:mm-ddd:hh:mm`, at least 30 minutes, not
    overlapping `backup_window`."""

    performance_insights_enabled: bool = True
    """Performance Insights, encrypted with `kms_key_arn`, 7 days (the free tier)."""

    monitoring_interval_seconds: int = 60
    """Enhanced Monitoring granularity: 1, 5, 10, 15, 30 or 60 seconds; 0 turns it off (and
    no monitoring role is created)."""

    read_replica_count: int = 0
    """Read replicas `<identifier>-replica-<n>` (0-5), configured like the primary."""

    slow_query_ms: int = 500
    """Statements slower than this are logged (`log_min_duration_statement`); 0 logs every
    statement, -1 none."""

    log_retention_days: int = 30
    """Days the `postgresql` and `upgrade` log groups keep events (a CloudWatch Logs period)."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource (osp's tag set, from osp.platform.naming.standard_tags)."""


def _window_problems(args: PostgresArgs) -> list[str]:
    problems = []
    backup = _windows.daily(args.backup_window)
    maintenance = _windows.weekly(args.maintenance_window)
    if backup is None:
        problems.append(
            f"backup_window: got {args.backup_window!r}; expected a UTC window hh:mm-hh:mm "
            "such as 03:00-04:00"
        )
    elif backup.minutes < _MIN_WINDOW_MINUTES:
        problems.append(f"backup_window: got {args.backup_window!r}; expected at least 30 minutes")
    if maintenance is None:
        problems.append(
            f"maintenance_window: got {args.maintenance_window!r}; expected a UTC window "
            "ddd:hh:mm-ddd:hh:mm such as sun:04:30-sun:05:30"
        )
    elif maintenance.minutes < _MIN_WINDOW_MINUTES:
        problems.append(
            f"maintenance_window: got {args.maintenance_window!r}; expected at least 30 minutes"
        )
    elif backup is not None and maintenance.overlaps(backup):
        problems.append(
            f"maintenance_window: got {args.maintenance_window!r}; expected a window "
            f"that does not overlap backup_window {args.backup_window!r}"
        )
    return problems


def problems(args: PostgresArgs) -> list[str]:
    """Everything wrong with `args`, each naming the argument, the value and what is allowed."""
    found = []
    version = _ENGINE_VERSION.fullmatch(args.engine_version)
    if not version or version.group(1) not in SUPPORTED_MAJOR_VERSIONS:
        found.append(
            f"engine_version: got {args.engine_version!r}; expected a PostgreSQL version of "
            f"major {', '.join(SUPPORTED_MAJOR_VERSIONS)}, such as 16 or 16.4"
        )
    if not _INSTANCE_CLASS.fullmatch(args.instance_class):
        found.append(
            f"instance_class: got {args.instance_class!r}; expected an RDS instance class "
            "such as db.r6g.large"
        )
    if not MIN_STORAGE_GIB <= args.allocated_storage_gib <= MAX_STORAGE_GIB:
        found.append(
            f"allocated_storage_gib: got {args.allocated_storage_gib}; expected "
            f"{MIN_STORAGE_GIB} to {MAX_STORAGE_GIB}"
        )
    if not args.allocated_storage_gib <= args.max_allocated_storage_gib <= MAX_STORAGE_GIB:
        found.append(
            f"max_allocated_storage_gib: got {args.max_allocated_storage_gib}; expected "
            f"allocated_storage_gib ({args.allocated_storage_gib}) to {MAX_STORAGE_GIB}"
        )
    if not 1 <= args.backup_retention_days <= 35:
        found.append(f"backup_retention_days: got {args.backup_retention_days}; expected 1 to 35")
    if args.monitoring_interval_seconds not in MONITORING_INTERVALS:
        found.append(
            f"monitoring_interval_seconds: got {args.monitoring_interval_seconds}; expected "
            f"one of {', '.join(map(str, MONITORING_INTERVALS))} (0 turns it off)"
        )
    if not 0 <= args.read_replica_count <= MAX_READ_REPLICAS:
        found.append(
            f"read_replica_count: got {args.read_replica_count}; expected 0 to {MAX_READ_REPLICAS}"
        )
    if args.slow_query_ms < -1:
        found.append(
            f"slow_query_ms: got {args.slow_query_ms}; expected milliseconds >= 0, or -1 to "
            "log no statement"
        )
    if args.log_retention_days not in LOG_RETENTION_DAYS:
        found.append(
            f"log_retention_days: got {args.log_retention_days}; expected a CloudWatch Logs "
            f"retention period: {', '.join(map(str, LOG_RETENTION_DAYS))}"
        )
    if not _USERNAME.fullmatch(args.username) or args.username.lower() in _RESERVED_USERNAMES:
        found.append(
            f"username: got {args.username!r}; expected 1-63 letters, digits or underscores "
            f"starting with a letter, not one of {', '.join(sorted(_RESERVED_USERNAMES))}"
        )
    return found + _window_problems(args)


def parameters(slow_query_ms: int) -> list[dict[str, str]]:
    """The parameter group's settings, the same for every supported major: TLS only, SCRAM
    passwords, connection, DDL, lock-wait and slow-query logging. All are dynamic, so none
    waits for a reboot."""
    settings = {
        "rds.force_ssl": "1",
        "ssl_min_protocol_version": "TLSv1.2",
        "password_encryption": "scram-sha-256",
        "log_connections": "1",
        "log_disconnections": "1",
        "log_min_duration_statement": str(slow_query_ms),
        "log_statement": "ddl",
        "log_lock_waits": "1",
    }
    return [{"name": key, "value": value} for key, value in settings.items()]


def monitoring_trust(*, partition: str, account: str, region: str, identifiers: list[str]) -> str:
    """Trust policy of the Enhanced Monitoring role: RDS may assume it for these instances of
    this account only (the confused-deputy guard AWS recommends)."""
    return iam.policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "monitoring.rds.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {
                    "aws:SourceArn": [
                        f"arn:{partition}:rds:{region}:{account}:db:{i}" for i in identifiers
                    ]
                },
            },
        }
    )


class Postgres(pulumi.ComponentResource):
    """An RDS for PostgreSQL primary and optional read replicas, reachable only on 5432 from
    the client security groups, never publicly.

    Storage (gp3, autoscaling), snapshots, Performance Insights and the master user secret
    are encrypted with the customer key; RDS generates and keeps the master password in
    Secrets Manager, and applications sign in with IAM database authentication. The
    parameter group refuses connections without TLS and logs connections, DDL and slow
    statements to pre-created, encrypted log groups with a fixed retention. Deleting the
    primary takes a final snapshot.
    """

    identifier: pulumi.Output[str]
    address: pulumi.Output[str]
    port: pulumi.Output[int]
    endpoint: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    master_user_secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    replica_addresses: list[pulumi.Output[str]]
    replica_identifiers: list[pulumi.Output[str]]
    replica_resource_ids: list[pulumi.Output[str]]
    replica_addresses: list[pulumi.Output[str]]

    def __init__(
        self, name: str, args: PostgresArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(args)
        if found:
            raise ValueError(f"Postgres {name}: " + "; ".join(found))
        major = args.engine_version.split(".")[0]
        identifier = fit(name, NameKind.RDS_IDENTIFIER)
        replica_identifiers = [
            fit(f"{identifier}-replica-{n}", NameKind.RDS_IDENTIFIER)
            for n in range(1, args.read_replica_count + 1)
        ]
        child = pulumi.ResourceOptions(parent=self)

        def tags(resource_name: str) -> dict[str, str]:
            return {"Name": resource_name, **args.tags}

        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"{name}: PostgreSQL from client security groups",
            tags=tags(f"{name}-sg"),
            opts=child,
        )
        # No egress rules: RDS answers on established connections and needs nothing else, and
        # the provider removes the allow-all egress rule AWS adds to a new group.
        for index, client in enumerate(args.client_security_group_ids):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-from-client-{index}",
                security_group_id=group.id,
                description="PostgreSQL from a client security group",
                ip_protocol="tcp",
                from_port=PORT,
                to_port=PORT,
                referenced_security_group_id=client,
                tags=tags(f"{name}-from-client-{index}"),
                opts=child,
            )

        parameter_group = aws.rds.ParameterGroup(
            f"{name}-params",
            # The family is in the name, so a major upgrade brings up a new group beside the
            # one still in use instead of colliding with it.
            name=fit(f"{identifier}-postgres{major}", NameKind.RDS_IDENTIFIER),
            family=f"postgres{major}",
            description=f"{name}: PostgreSQL {major}",
            parameters=parameters(args.slow_query_ms),
            tags=tags(f"{name}-params"),
            opts=child,
        )

        monitoring_dependencies: list[pulumi.Resource] = []
        monitoring_role_arn: pulumi.Output[str] | None = None
        if args.monitoring_interval_seconds:
            partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self))
            account = aws.get_caller_identity_output(
                opts=pulumi.InvokeOutputOptions(parent=self)
            ).account_id
            region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
            role = aws.iam.Role(
                f"{name}-monitoring",
                name=fit(f"{name}-monitoring", NameKind.IAM),
                description=f"{name}: RDS Enhanced Monitoring publishes OS metrics",
                assume_role_policy=pulumi.Output.all(partition.partition, account, region).apply(
                    lambda v: monitoring_trust(
                        partition=v[0],
                        account=v[1],
                        region=v[2],
                        identifiers=[identifier, *replica_identifiers],
                    )
                ),
                tags=tags(f"{name}-monitoring"),
                opts=child,
            )
            attachment = aws.iam.RolePolicyAttachment(
                f"{name}-monitoring-policy",
                role=role.name,
                policy_arn=partition.partition.apply(
                    lambda p: f"arn:{p}:iam::aws:policy/service-role/{_MONITORING_POLICY}"
                ),
                opts=child,
            )
            monitoring_role_arn = role.arn
            # RDS checks the role's permissions when the instance is created or modified.
            monitoring_dependencies = [attachment]

        def log_groups(role_name: str, instance_identifier: str) -> list[aws.cloudwatch.LogGroup]:
            # Created before the instance, or RDS creates them itself: unencrypted, kept forever.
            return [
                aws.cloudwatch.LogGroup(
                    f"{role_name}-logs-{log}",
                    name=f"/aws/rds/instance/{instance_identifier}/{log}",
                    retention_in_days=args.log_retention_days,
                    kms_key_id=args.logs_kms_key_arn,
                    tags=tags(f"{role_name}-logs-{log}"),
                    opts=child,
                )
                for log in LOG_EXPORTS
            ]

        # Settings the primary and its replicas share.
        common = {
            "instance_class": args.instance_class,
            "storage_type": "gp3",
            "max_allocated_storage": args.max_allocated_storage_gib,
            "storage_encrypted": True,
            "kms_key_id": args.kms_key_arn,
            "parameter_group_name": parameter_group.name,
            "vpc_security_group_ids": [group.id],
            "publicly_accessible": False,
            "iam_database_authentication_enabled": True,
            "auto_minor_version_upgrade": True,
            "copy_tags_to_snapshot": True,
            "deletion_protection": args.deletion_protection,
            "enabled_cloudwatch_logs_exports": list(LOG_EXPORTS),
            "monitoring_interval": args.monitoring_interval_seconds,
            "monitoring_role_arn": monitoring_role_arn,
            "performance_insights_enabled": args.performance_insights_enabled,
            "performance_insights_kms_key_id": (
                args.kms_key_arn if args.performance_insights_enabled else None
            ),
            "performance_insights_retention_period": (
                PERFORMANCE_INSIGHTS_RETENTION_DAYS if args.performance_insights_enabled else None
            ),
        }

        primary = aws.rds.Instance(
            f"{name}-primary",
            identifier=identifier,
            engine="postgres",
            engine_version=args.engine_version,
            username=args.username,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.kms_key_arn,
            db_subnet_group_name=args.db_subnet_group_name,
            multi_az=args.multi_az,
            allocated_storage=args.allocated_storage_gib,
            backup_retention_period=args.backup_retention_days,
            backup_window=args.backup_window,
            maintenance_window=args.maintenance_window,
            skip_final_snapshot=False,
            final_snapshot_identifier=fit(f"{identifier}-final", NameKind.RDS_IDENTIFIER),
            # Backups outlive an accidental delete until their retention ends.
            delete_automated_backups=False,
            tags=tags(f"{name}-primary"),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.deletion_protection,
                depends_on=[*log_groups(name, identifier), *monitoring_dependencies],
            ),
            **common,
        )

        replicas = []
        for n, replica_identifier in enumerate(replica_identifiers, start=1):
            replica_name = f"{name}-replica-{n}"
            replicas.append(
                aws.rds.Instance(
                    replica_name,
                    identifier=replica_identifier,
                    replicate_source_db=primary.identifier,
                    # A replica holds no data of its own, and RDS refuses a final snapshot of
                    # one; the primary's final snapshot covers it.
                    skip_final_snapshot=True,
                    tags=tags(replica_name),
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        protect=args.deletion_protection,
                        depends_on=[
                            *log_groups(replica_name, replica_identifier),
                            *monitoring_dependencies,
                        ],
                    ),
                    **common,
                )
            )

        self.identifier = primary.identifier
        self.address = primary.address
        self.port = primary.port
        self.endpoint = primary.endpoint
        self.resource_id = primary.resource_id
        self.master_user_secret_arn = primary.master_user_secrets.apply(
            lambda secrets: secrets[0].secret_arn
        )
        self.security_group_id = group.id
        self.replica_addresses = [r.address for r in replicas]
        self.replica_identifiers = [r.identifier for r in replicas]
        self.replica_resource_ids = [r.resource_id for r in replicas]
        self.register_outputs(
            {
                "identifier": self.identifier,
                "address": self.address,
                "port": self.port,
                "endpoint": self.endpoint,
                "resourceId": self.resource_id,
                "masterUserSecretArn": self.master_user_secret_arn,
                "securityGroupId": self.security_group_id,
                "replicaAddresses": self.replica_addresses,
                "replicaIdentifiers": self.replica_identifiers,
                "replicaResourceIds": self.replica_resource_ids,
            }
        )
