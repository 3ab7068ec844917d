"""`Postgres`: an RDS for PostgreSQL instance (not Aurora) for the estate's services."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from osp.components import _checks, _windows
from osp.components._log_groups import log_group
from osp.components._network_access import ClientPort, client_security_group
from osp.platform import iam, limits
from osp.platform.limits import is_int
from osp.platform.naming import NameKind, fit
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:database:Postgres"

#: The port RDS for PostgreSQL listens on when none is given (the instances take the default).
PORT = 5432

_MONITORING_POLICY = "AmazonRDSEnhancedMonitoringRole"

#: Logs the instances publish to CloudWatch Logs.
LOG_EXPORTS = ("postgresql", "upgrade")

# The free tier of Performance Insights.
PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7

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
    """A synchronous standby in a second zone, with automatic failover, for the primary and
    for every read replica."""

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

    restore_from_snapshot: str | None = None
    """Create the primary from this DB snapshot (identifier or ARN: a manual or automated
    snapshot, or an AWS Backup recovery point) instead of empty; the master user then comes
    from the snapshot. Changing it on an existing primary replaces it (and its data): set it
    to rebuild the database, as docs/disaster-recovery.md says. Default: a new, empty one."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource (osp's tag set, from osp.platform.naming.standard_tags)."""


def problems(name: str, args: PostgresArgs) -> list[str]:
    """Everything wrong with `args`, each naming the argument, the value and what is allowed."""
    check = Problems("Postgres", name)
    check.against(limits.POSTGRES_VERSION, "engine_version", args.engine_version)
    check.against(limits.RDS_INSTANCE_CLASS, "instance_class", args.instance_class)
    allocated, ceiling = args.allocated_storage_gib, args.max_allocated_storage_gib
    check.against(limits.RDS_STORAGE_GIB, "allocated_storage_gib", allocated)
    ceiling_ok = check.against(limits.RDS_STORAGE_GIB, "max_allocated_storage_gib", ceiling)
    if ceiling_ok and is_int(allocated) and ceiling < allocated:
        check.add(
            "max_allocated_storage_gib", ceiling, f"at least allocated_storage_gib ({allocated})"
        )
    retention = args.backup_retention_days
    check.against(limits.RDS_BACKUP_RETENTION_DAYS, "backup_retention_days", retention)
    interval = args.monitoring_interval_seconds
    check.against(limits.RDS_MONITORING_INTERVAL, "monitoring_interval_seconds", interval)
    check.against(limits.RDS_READ_REPLICAS, "read_replica_count", args.read_replica_count)
    if args.restore_from_snapshot is not None:
        check.against(limits.RDS_SNAPSHOT, "restore_from_snapshot", args.restore_from_snapshot)
    slow = args.slow_query_ms
    if not (is_int(slow) and slow >= -1):
        check.add("slow_query_ms", slow, "milliseconds >= 0, or -1 to log no statement")
    check.extend(_checks.common(args))
    username = args.username
    check.check(
        isinstance(username, str)
        and bool(_USERNAME.fullmatch(username))
        and username.lower() not in _RESERVED_USERNAMES,
        "username",
        username,
        "1-63 letters, digits or underscores starting with a letter, not one of "
        + ", ".join(sorted(_RESERVED_USERNAMES)),
    )
    _windows.check_windows(
        check,
        daily_arg="backup_window",
        daily_text=args.backup_window,
        weekly_arg="maintenance_window",
        weekly_text=args.maintenance_window,
        minimum_minutes=_MIN_WINDOW_MINUTES,
    )
    return check.found


def replica_identifiers(identifier: str, count: int) -> list[str]:
    """The RDS identifiers of `count` read replicas of the instance `identifier`."""
    return [fit(f"{identifier}-replica-{n}", NameKind.RDS_IDENTIFIER) for n in range(1, count + 1)]


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


def instance_settings(
    args: PostgresArgs,
    *,
    parameter_group_name: pulumi.Input[str],
    security_group_id: pulumi.Input[str],
    monitoring_role_arn: pulumi.Input[str] | None,
) -> dict[str, object]:
    """The settings the primary and every replica share."""
    insights = args.performance_insights_enabled
    return {
        "instance_class": args.instance_class,
        "storage_type": "gp3",
        "max_allocated_storage": args.max_allocated_storage_gib,
        "storage_encrypted": True,
        "kms_key_id": args.kms_key_arn,
        "parameter_group_name": parameter_group_name,
        "vpc_security_group_ids": [security_group_id],
        "publicly_accessible": False,
        "iam_database_authentication_enabled": True,
        "auto_minor_version_upgrade": True,
        "copy_tags_to_snapshot": True,
        "deletion_protection": args.deletion_protection,
        "enabled_cloudwatch_logs_exports": list(LOG_EXPORTS),
        "monitoring_interval": args.monitoring_interval_seconds,
        "monitoring_role_arn": monitoring_role_arn,
        "performance_insights_enabled": insights,
        "performance_insights_kms_key_id": args.kms_key_arn if insights else None,
        "performance_insights_retention_period": (
            PERFORMANCE_INSIGHTS_RETENTION_DAYS if insights else None
        ),
    }


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

    def __init__(
        self, name: str, args: PostgresArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        identifier = fit(name, NameKind.RDS_IDENTIFIER)
        replicas = replica_identifiers(identifier, args.read_replica_count)
        # No egress rules: RDS answers on established connections and needs nothing else.
        group = client_security_group(
            name,
            vpc_id=args.vpc_id,
            description=f"{name}: PostgreSQL from client security groups",
            clients=args.client_security_group_ids,
            ports=[ClientPort(PORT, "PostgreSQL from a client security group")],
            tags=args.tags,
            parent=self,
        )
        parameter_group = self._parameter_group(name, args, identifier)
        monitoring_role_arn, monitoring_dependencies = self._monitoring(
            name, args, [identifier, *replicas]
        )
        settings = instance_settings(
            args,
            parameter_group_name=parameter_group.name,
            security_group_id=group.id,
            monitoring_role_arn=monitoring_role_arn,
        )
        primary = self._instance(
            f"{name}-primary",
            args,
            identifier,
            settings,
            monitoring_dependencies,
            # The primary's log groups carry the component's name, a replica's its own.
            logs_name=name,
            engine="postgres",
            engine_version=args.engine_version,
            # A restored primary takes its master user from the snapshot.
            **(
                {"snapshot_identifier": args.restore_from_snapshot}
                if args.restore_from_snapshot is not None
                else {"username": args.username}
            ),
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
        )
        replica_instances = [
            self._instance(
                f"{name}-replica-{n}",
                args,
                replica,
                settings,
                monitoring_dependencies,
                logs_name=f"{name}-replica-{n}",
                replicate_source_db=primary.identifier,
                # A replica the services read from is as much a single point of failure as
                # the primary: it gets its own standby wherever the primary has one.
                multi_az=args.multi_az,
                # A replica holds no data of its own, and RDS refuses a final snapshot of one;
                # the primary's final snapshot covers it.
                skip_final_snapshot=True,
            )
            for n, replica in enumerate(replicas, start=1)
        ]
        self._publish(primary, replica_instances, group)

    def _parameter_group(
        self, name: str, args: PostgresArgs, identifier: str
    ) -> aws.rds.ParameterGroup:
        major = args.engine_version.split(".")[0]
        return aws.rds.ParameterGroup(
            f"{name}-params",
            # The family is in the name, so a major upgrade brings up a new group beside the
            # one still in use instead of colliding with it.
            name=fit(f"{identifier}-postgres{major}", NameKind.RDS_IDENTIFIER),
            family=f"postgres{major}",
            description=f"{name}: PostgreSQL {major}",
            parameters=parameters(args.slow_query_ms),
            tags={"Name": f"{name}-params", **args.tags},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _monitoring(
        self, name: str, args: PostgresArgs, identifiers: list[str]
    ) -> tuple[pulumi.Output[str] | None, list[pulumi.Resource]]:
        """The Enhanced Monitoring role, when monitoring is on: its ARN, and what an instance
        must wait for (RDS checks the role's permissions when it creates or modifies one)."""
        if not args.monitoring_interval_seconds:
            return None, []
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        role = aws.iam.Role(
            f"{name}-monitoring",
            name=fit(f"{name}-monitoring", NameKind.IAM),
            description=f"{name}: RDS Enhanced Monitoring publishes OS metrics",
            assume_role_policy=pulumi.Output.all(partition.partition, account, region).apply(
                lambda v: monitoring_trust(
                    partition=v[0], account=v[1], region=v[2], identifiers=identifiers
                )
            ),
            tags={"Name": f"{name}-monitoring", **args.tags},
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
        return role.arn, [attachment]

    def _log_groups(
        self, role_name: str, args: PostgresArgs, instance_identifier: str
    ) -> list[aws.cloudwatch.LogGroup]:
        """The groups one instance publishes to, created before it."""
        return [
            log_group(
                f"{role_name}-logs-{log}",
                log_group_name=f"/aws/rds/instance/{instance_identifier}/{log}",
                retention_days=args.log_retention_days,
                kms_key_arn=args.logs_kms_key_arn,
                tags=args.tags,
                parent=self,
            )
            for log in LOG_EXPORTS
        ]

    def _instance(
        self,
        resource_name: str,
        args: PostgresArgs,
        identifier: str,
        settings: dict[str, object],
        monitoring_dependencies: list[pulumi.Resource],
        *,
        logs_name: str,
        **own: object,
    ) -> aws.rds.Instance:
        """An instance with the shared `settings` and its `own`, after its log groups
        (`<logs_name>-logs-<log>`)."""
        return aws.rds.Instance(
            resource_name,
            identifier=identifier,
            tags={"Name": resource_name, **args.tags},
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.deletion_protection,
                depends_on=[
                    *self._log_groups(logs_name, args, identifier),
                    *monitoring_dependencies,
                ],
            ),
            **own,
            **settings,
        )

    def _publish(
        self,
        primary: aws.rds.Instance,
        replicas: list[aws.rds.Instance],
        group: aws.ec2.SecurityGroup,
    ) -> None:
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
