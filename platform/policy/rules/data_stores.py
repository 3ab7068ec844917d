"""The data stores (RDS, ElastiCache, Amazon MQ, DynamoDB): encrypted with the environment's
own keys, in transit and at rest, never public, and in production durable (Multi-AZ,
deletion protection, backups, `protect`)."""

from __future__ import annotations

from collections.abc import Callable

from osp.platform.plan import PlannedResource
from osp.platform.policy.model import Check, Rule, Scope, Severity
from osp.platform.policy.rules._reading import (
    at,
    customer_key,
    encrypted_at_rest,
    of_types,
    referrers,
    truthy,
)

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
MQ_BROKER = "aws:mq/broker:Broker"
DYNAMODB_TABLE = "aws:dynamodb/table:Table"
SCALABLE_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"

MIN_BACKUP_RETENTION_DAYS = 7
"""FSBP RDS.11's default: fewer days of automated backups than a week is no backup plan."""


def _replica(resource: PlannedResource) -> bool:
    return bool(resource.inputs.get("replicateSourceDb"))


def protected(resource: PlannedResource, scope: Scope) -> Check | None:
    """Production data is declared with Pulumi's `protect`: a stray `destroy`, or a change
    that would replace the resource, stops instead of deleting it."""
    if not scope.context.production:
        return None
    on = resource.options.protect
    return Check.of(on, "" if on else "not protected (protect is off)", protect=on)


def protect_rule(rule_id: str, what: str, types: tuple[str, ...], fix: str) -> Rule:
    return Rule(
        id=rule_id,
        title=f"Production {what} are protected from deletion by Pulumi",
        severity=Severity.HIGH,
        controls=("NIST.800-53.r5 CP-9", "NIST.800-53.r5 SI-12"),
        rationale=f"Without `protect`, one `pulumi destroy` or a change that replaces them "
        f"deletes production {what} with every school's data in them.",
        fix=f"Set `osp:deletion_protection: true` in the stack file (the prod preset does): {fix}",
        types=types,
        check=protected,
    )


# --- RDS ----------------------------------------------------------------------------------


def _multi_az(resource: PlannedResource, scope: Scope) -> Check | None:
    if not scope.context.production or _replica(resource):
        return None  # replicas take their durability from their primary
    multi_az = resource.inputs.get("multiAz")
    return Check.of(multi_az is True, "" if multi_az else "Multi-AZ is off", multiAz=multi_az)


def _rds_encrypted(resource: PlannedResource, scope: Scope) -> Check | None:
    if resource.type == RDS_INSTANCE and _replica(resource) and "kmsKeyId" not in resource.inputs:
        return None  # a same-region replica is encrypted with its primary's key
    encrypted = resource.inputs.get("storageEncrypted")
    key = resource.inputs.get("kmsKeyId")
    if encrypted is not True:
        return Check.of(False, "storage is not encrypted", storageEncrypted=encrypted)
    if not customer_key(key):
        return Check.of(
            False,
            "encrypted with the AWS-managed key, not the environment's",
            storageEncrypted=encrypted,
            kmsKeyId=key,
        )
    return Check.of(True, storageEncrypted=encrypted, kmsKeyId=key)


def _rds_private(resource: PlannedResource, scope: Scope) -> Check | None:
    public = resource.inputs.get("publiclyAccessible")
    return Check.of(
        public is not True, "publicly accessible" if public else "", publiclyAccessible=public
    )


def _deletion_protection(prop: str) -> Callable[[PlannedResource, Scope], Check | None]:
    def check(resource: PlannedResource, scope: Scope) -> Check | None:
        if not scope.context.production:
            return None
        on = truthy(resource.inputs.get(prop))
        return Check.of(
            on, "" if on else "deletion protection is off", **{prop: resource.inputs.get(prop)}
        )

    return check


def _rds_backups(resource: PlannedResource, scope: Scope) -> Check | None:
    if not scope.context.production or _replica(resource):
        return None  # a replica is restored from its primary's backups
    days = resource.inputs.get("backupRetentionPeriod")
    ok = isinstance(days, int) and days >= MIN_BACKUP_RETENTION_DAYS
    detail = "" if ok else f"keeps backups {days or 0} days, fewer than {MIN_BACKUP_RETENTION_DAYS}"
    return Check.of(ok, detail, backupRetentionPeriod=days)


#: The parameter that makes each engine refuse unencrypted connections, and the values that
#: turn it on.
_TLS_PARAMETERS = {
    "postgres": ("rds.force_ssl", {"1"}),
    "mysql": ("require_secure_transport", {"1", "on"}),
    "mariadb": ("require_secure_transport", {"1", "on"}),
}
#: RDS for PostgreSQL 15 and later defaults rds.force_ssl to 1.
_POSTGRES_TLS_BY_DEFAULT = 15


def _rds_tls(resource: PlannedResource, scope: Scope) -> Check | None:
    engine = str(resource.inputs.get("engine") or "")
    if _replica(resource) or engine not in _TLS_PARAMETERS:
        return None
    parameter, on = _TLS_PARAMETERS[engine]
    group_name = resource.inputs.get("parameterGroupName")
    path = f"parameterGroupName({group_name}).parameters.{parameter}"
    groups = [
        g
        for g in of_types(scope, (RDS_PARAMETER_GROUP,))
        if g.inputs.get("name") == group_name
        or g.urn in resource.property_dependencies.get("parameterGroupName", ())
    ]
    if groups:
        values = [
            str(p.get("value", "")).lower()
            for p in groups[0].inputs.get("parameters") or ()
            if p.get("name") == parameter
        ]
        if values:
            ok = values[-1] in on
            return Check.of(
                ok, "" if ok else f"{parameter} does not require TLS", **{path: values[-1]}
            )
    major = str(resource.inputs.get("engineVersion") or "0").split(".")[0]
    by_default = engine == "postgres" and major.isdigit() and int(major) >= _POSTGRES_TLS_BY_DEFAULT
    detail = (
        "" if by_default else f"{parameter} is not set, and the engine's default allows plaintext"
    )
    return Check.of(
        by_default, detail, **{path: None, "engineVersion": resource.inputs.get("engineVersion")}
    )


_ENGINE_LOG = {"postgres": "postgresql", "mysql": "error", "mariadb": "error"}


def _rds_log_exports(resource: PlannedResource, scope: Scope) -> Check | None:
    exports = list(resource.inputs.get("enabledCloudwatchLogsExports") or [])
    wanted = _ENGINE_LOG.get(str(resource.inputs.get("engine") or ""))
    if wanted is None and not _replica(resource):
        return None  # an engine whose log names osp does not know
    ok = wanted in exports if wanted else bool(exports)
    return Check.of(
        ok,
        "" if ok else "the engine's log is not published to CloudWatch Logs",
        enabledCloudwatchLogsExports=exports,
    )


def _rds_iam_auth(resource: PlannedResource, scope: Scope) -> Check | None:
    on = resource.inputs.get("iamDatabaseAuthenticationEnabled") is True
    return Check.of(
        on,
        "" if on else "IAM database authentication is off",
        iamDatabaseAuthenticationEnabled=resource.inputs.get("iamDatabaseAuthenticationEnabled"),
    )


# --- ElastiCache --------------------------------------------------------------------------


def _cache_at_rest(resource: PlannedResource, scope: Scope) -> Check | None:
    return encrypted_at_rest(
        resource.inputs, "atRestEncryptionEnabled", "encryption at rest is off"
    )


def _cache_in_transit(resource: PlannedResource, scope: Scope) -> Check | None:
    on = resource.inputs.get("transitEncryptionEnabled")
    mode = resource.inputs.get("transitEncryptionMode")
    if not truthy(on):
        return Check.of(False, "encryption in transit is off", transitEncryptionEnabled=on)
    if mode == "preferred":
        return Check.of(
            False,
            "TLS is optional: clients may still connect in plaintext",
            transitEncryptionEnabled=on,
            transitEncryptionMode=mode,
        )
    return Check.of(True, transitEncryptionEnabled=on, transitEncryptionMode=mode)


def _cache_failover(resource: PlannedResource, scope: Scope) -> Check | None:
    if not scope.context.production:
        return None
    failover = resource.inputs.get("automaticFailoverEnabled")
    multi_az = resource.inputs.get("multiAzEnabled")
    ok = truthy(failover) and truthy(multi_az)
    return Check.of(
        ok,
        "" if ok else "no Multi-AZ automatic failover",
        automaticFailoverEnabled=failover,
        multiAzEnabled=multi_az,
    )


def _cache_backups(resource: PlannedResource, scope: Scope) -> Check | None:
    if not scope.context.production:
        return None
    days = resource.inputs.get("snapshotRetentionLimit")
    ok = isinstance(days, int) and days >= 1
    return Check.of(
        ok, "" if ok else "no automatic snapshots are kept", snapshotRetentionLimit=days
    )


def _cache_auth(resource: PlannedResource, scope: Scope) -> Check | None:
    token, groups = resource.inputs.get("authToken"), resource.inputs.get("userGroupIds")
    ok = bool(token) or bool(groups)
    return Check.of(
        ok,
        "" if ok else "clients need no credentials (no AUTH token or user group)",
        authToken="<set>" if token else None,
        userGroupIds=groups,
    )


# --- Amazon MQ ----------------------------------------------------------------------------


def _mq_key(resource: PlannedResource, scope: Scope) -> Check | None:
    owned = at(resource.inputs, "encryptionOptions.useAwsOwnedKey", True)
    key = at(resource.inputs, "encryptionOptions.kmsKeyId")
    ok = owned is False and customer_key(key)
    return Check.of(
        ok,
        "" if ok else "encrypted with an AWS-owned key, not the environment's",
        **{"encryptionOptions.useAwsOwnedKey": owned, "encryptionOptions.kmsKeyId": key},
    )


def _mq_private(resource: PlannedResource, scope: Scope) -> Check | None:
    public = resource.inputs.get("publiclyAccessible")
    return Check.of(
        public is not True, "publicly accessible" if public else "", publiclyAccessible=public
    )


def _mq_multi_az(resource: PlannedResource, scope: Scope) -> Check | None:
    if not scope.context.production:
        return None
    mode = resource.inputs.get("deploymentMode")
    ok = mode in ("CLUSTER_MULTI_AZ", "ACTIVE_STANDBY_MULTI_AZ")
    return Check.of(ok, "" if ok else "a single broker in one zone", deploymentMode=mode)


# --- DynamoDB -----------------------------------------------------------------------------


def _table_key(resource: PlannedResource, scope: Scope) -> Check | None:
    on = at(resource.inputs, "serverSideEncryption.enabled")
    key = at(resource.inputs, "serverSideEncryption.kmsKeyArn")
    ok = truthy(on) and customer_key(key)
    detail = "" if ok else "encrypted with the AWS-owned key, not the environment's"
    return Check.of(
        ok, detail, **{"serverSideEncryption.enabled": on, "serverSideEncryption.kmsKeyArn": key}
    )


def _table_pitr(resource: PlannedResource, scope: Scope) -> Check | None:
    if not scope.context.production:
        return None
    on = at(resource.inputs, "pointInTimeRecovery.enabled")
    return Check.of(
        truthy(on),
        "" if truthy(on) else "point-in-time recovery is off",
        **{"pointInTimeRecovery.enabled": on},
    )


#: What a provisioned table's capacity is scaled on (its indexes have their own dimensions).
_TABLE_DIMENSIONS = ("dynamodb:table:ReadCapacityUnits", "dynamodb:table:WriteCapacityUnits")


def _table_autoscaling(resource: PlannedResource, scope: Scope) -> Check | None:
    mode = resource.inputs.get("billingMode")
    if mode != "PROVISIONED":
        return None  # on-demand tables scale themselves
    name = resource.inputs.get("name")
    targets = referrers(
        scope, resource, (SCALABLE_TARGET,), "resourceId", (f"table/{name}",) if name else ()
    )
    scaled = []
    for target in targets:
        dimension = target.inputs.get("scalableDimension")
        policies = [
            p
            for p in of_types(scope, (SCALING_POLICY,))
            if p.inputs.get("scalableDimension") == dimension
            and (
                target.urn in p.dependencies
                or (
                    p.inputs.get("resourceId") == target.inputs.get("resourceId")
                    and isinstance(p.inputs.get("resourceId"), str)
                    and p.inputs.get("resourceId") != "<unknown>"
                )
            )
        ]
        if policies:
            scaled.append(dimension)
    missing = [d.rsplit(":", 1)[1] for d in _TABLE_DIMENSIONS if d not in scaled]
    return Check.of(
        not missing,
        f"provisioned {', '.join(missing)} do not scale" if missing else "",
        billingMode=mode,
        autoscaling=sorted(d.rsplit(":", 1)[1] for d in scaled),
    )


RULES = (
    Rule(
        id="OSP-RDS-1",
        title="Production databases are Multi-AZ",
        severity=Severity.HIGH,
        controls=("RDS.5",),
        rationale="A single-AZ instance is down for the whole of a zone outage or a host "
        "failure, and a restore loses everything since the last backup.",
        fix="Set `multi_az: true` for the environment's database (osp:database.multi_az).",
        types=(RDS_INSTANCE,),
        check=_multi_az,
    ),
    Rule(
        id="OSP-RDS-2",
        title="Databases are encrypted at rest with the environment's KMS key",
        severity=Severity.HIGH,
        controls=("RDS.3",),
        rationale="Student records in storage, snapshots and replicas must be unreadable "
        "without a key the environment controls, audits and can revoke.",
        fix="Keep `storageEncrypted: true` and `kmsKeyId` set to the key ring's data key "
        "(PostgresArgs.kms_key_arn); an unencrypted instance has to be restored from an "
        "encrypted snapshot copy.",
        types=(RDS_INSTANCE, RDS_CLUSTER),
        check=_rds_encrypted,
    ),
    Rule(
        id="OSP-RDS-3",
        title="Databases are not publicly accessible",
        severity=Severity.CRITICAL,
        controls=("RDS.2",),
        rationale="A public endpoint puts the database's login in reach of the whole "
        "internet; only the cluster's security group should reach it.",
        fix="Set `publiclyAccessible: false` (the Postgres component never sets it).",
        types=(RDS_INSTANCE,),
        check=_rds_private,
    ),
    Rule(
        id="OSP-RDS-4",
        title="Production databases have deletion protection",
        severity=Severity.HIGH,
        controls=("RDS.7", "RDS.8"),
        rationale="Deletion protection stops a console click, an API call or a replacing "
        "update from deleting the production database.",
        fix="Set `osp:deletion_protection: true` in the stack file (the prod preset does).",
        types=(RDS_INSTANCE, RDS_CLUSTER),
        check=_deletion_protection("deletionProtection"),
    ),
    Rule(
        id="OSP-RDS-5",
        title=f"Production databases keep at least {MIN_BACKUP_RETENTION_DAYS} days of backups",
        severity=Severity.HIGH,
        controls=("RDS.11",),
        rationale="Automated backups and point-in-time restore are how a bad migration or a "
        "deleted table is undone; fewer than seven days misses a problem found after a weekend.",
        fix="Set osp:database.backup_retention_days to 7 or more (prod preset: 35).",
        types=(RDS_INSTANCE, RDS_CLUSTER),
        check=_rds_backups,
    ),
    protect_rule(
        "OSP-RDS-6",
        "databases",
        (RDS_INSTANCE, RDS_CLUSTER),
        "the Postgres component then protects its instances.",
    ),
    Rule(
        id="OSP-RDS-7",
        title="Databases refuse unencrypted connections",
        severity=Severity.HIGH,
        controls=("NIST.800-53.r5 SC-8", "NIST.800-53.r5 SC-23"),
        rationale="Without rds.force_ssl (require_secure_transport on MySQL) a misconfigured "
        "client sends credentials and student data in plaintext inside the VPC.",
        fix="Use a parameter group setting `rds.force_ssl = 1` (the Postgres component's own).",
        types=(RDS_INSTANCE,),
        check=_rds_tls,
    ),
    Rule(
        id="OSP-RDS-8",
        title="Database engine logs are published to CloudWatch Logs",
        severity=Severity.MEDIUM,
        controls=("RDS.9",),
        rationale="Connection and error logs are the evidence of who reached the database; "
        "kept only on the instance they rotate away and vanish with it.",
        fix="Keep `enabledCloudwatchLogsExports` with `postgresql` (the Postgres component's "
        "default).",
        types=(RDS_INSTANCE,),
        check=_rds_log_exports,
    ),
    Rule(
        id="OSP-RDS-9",
        title="Databases accept IAM authentication",
        severity=Severity.MEDIUM,
        controls=("RDS.10",),
        rationale="IAM authentication lets services connect with short-lived tokens from their "
        "role instead of long-lived passwords held in their configuration.",
        fix="Set `iamDatabaseAuthenticationEnabled: true` (the Postgres component does).",
        types=(RDS_INSTANCE,),
        check=_rds_iam_auth,
    ),
    Rule(
        id="OSP-CACHE-1",
        title="Caches are encrypted at rest with the environment's KMS key",
        severity=Severity.HIGH,
        controls=("ElastiCache.4",),
        rationale="Sessions and cached records land in snapshots and swap; without encryption "
        "they are readable by anyone who gets a snapshot.",
        fix="Keep `atRestEncryptionEnabled: true` and `kmsKeyId` on the replication group "
        "(RedisArgs.kms_key_arn); changing it replaces the cache.",
        types=(REPLICATION_GROUP,),
        check=_cache_at_rest,
    ),
    Rule(
        id="OSP-CACHE-2",
        title="Caches require TLS in transit",
        severity=Severity.HIGH,
        controls=("ElastiCache.5",),
        rationale="Session tokens cross the VPC between pods and the cache; `preferred` mode "
        "still accepts plaintext clients.",
        fix="Set `transitEncryptionEnabled: true` and `transitEncryptionMode: required`.",
        types=(REPLICATION_GROUP,),
        check=_cache_in_transit,
    ),
    Rule(
        id="OSP-CACHE-3",
        title="Production caches fail over automatically across zones",
        severity=Severity.HIGH,
        controls=("ElastiCache.3",),
        rationale="Without Multi-AZ failover, losing the primary's zone logs every user out "
        "until someone promotes a replica by hand.",
        fix="Set osp:cache.multi_az true with at least two nodes (prod preset: three).",
        types=(REPLICATION_GROUP,),
        check=_cache_failover,
    ),
    Rule(
        id="OSP-CACHE-4",
        title="Production caches keep automatic snapshots",
        severity=Severity.MEDIUM,
        controls=("ElastiCache.1",),
        rationale="A snapshot is the only way back from a flushed or corrupted cache that "
        "holds state (rate limits, locks, sessions).",
        fix="Set osp:cache.snapshot_retention_days to 1 or more (prod preset: 7).",
        types=(REPLICATION_GROUP,),
        check=_cache_backups,
    ),
    Rule(
        id="OSP-CACHE-5",
        title="Caches require client authentication",
        severity=Severity.MEDIUM,
        controls=("ElastiCache.6",),
        rationale="A cache without AUTH trusts every pod that can reach its port.",
        fix="Keep the generated `authToken` (the Redis component sets it from a secret).",
        types=(REPLICATION_GROUP,),
        check=_cache_auth,
    ),
    protect_rule(
        "OSP-CACHE-6",
        "caches",
        (REPLICATION_GROUP,),
        "the Redis component then protects its replication group.",
    ),
    Rule(
        id="OSP-MQ-1",
        title="Message brokers are encrypted with the environment's KMS key",
        severity=Severity.HIGH,
        controls=("NIST.800-53.r5 SC-28", "NIST.800-53.r5 SC-12"),
        rationale="Queued messages carry student records; an AWS-owned key cannot be audited "
        "or revoked by the environment.",
        fix="Set `encryptionOptions.useAwsOwnedKey: false` and `kmsKeyId` to the data key "
        "(RabbitMqArgs.kms_key_arn).",
        types=(MQ_BROKER,),
        check=_mq_key,
    ),
    Rule(
        id="OSP-MQ-2",
        title="Message brokers are not publicly accessible",
        severity=Severity.CRITICAL,
        controls=("NIST.800-53.r5 SC-7", "NIST.800-53.r5 AC-3"),
        rationale="A public broker exposes AMQP and its management console to the internet.",
        fix="Set `publiclyAccessible: false` (the RabbitMq component never sets it).",
        types=(MQ_BROKER,),
        check=_mq_private,
    ),
    Rule(
        id="OSP-MQ-3",
        title="Production message brokers span availability zones",
        severity=Severity.HIGH,
        controls=("MQ.5", "MQ.6"),
        rationale="A single-instance broker loses in-flight events for the length of a zone "
        "or host outage.",
        fix="Set osp:broker.deployment_mode to CLUSTER_MULTI_AZ (prod preset).",
        types=(MQ_BROKER,),
        check=_mq_multi_az,
    ),
    protect_rule(
        "OSP-MQ-4",
        "message brokers",
        (MQ_BROKER,),
        "the RabbitMq component then protects its broker.",
    ),
    Rule(
        id="OSP-DDB-1",
        title="DynamoDB tables are encrypted with the environment's KMS key",
        severity=Severity.HIGH,
        controls=("NIST.800-53.r5 SC-28", "NIST.800-53.r5 SC-12"),
        rationale="The tenant registry names every school; the default AWS-owned key cannot "
        "be audited or revoked by the environment.",
        fix="Set `serverSideEncryption: {enabled: true, kmsKeyArn: <data key>}` "
        "(TableArgs.kms_key_arn).",
        types=(DYNAMODB_TABLE,),
        check=_table_key,
    ),
    Rule(
        id="OSP-DDB-2",
        title="Production DynamoDB tables have point-in-time recovery",
        severity=Severity.HIGH,
        controls=("DynamoDB.2",),
        rationale="Point-in-time recovery undoes a bad write or delete to any second of the "
        "last 35 days.",
        fix="Set `pointInTimeRecovery.enabled: true` (TableArgs.point_in_time_recovery).",
        types=(DYNAMODB_TABLE,),
        check=_table_pitr,
    ),
    Rule(
        id="OSP-DDB-3",
        title="Production DynamoDB tables have deletion protection",
        severity=Severity.HIGH,
        controls=("DynamoDB.6",),
        rationale="Deletion protection stops an API call or a replacing update from deleting "
        "the table.",
        fix="Set `osp:deletion_protection: true` in the stack file (the prod preset does).",
        types=(DYNAMODB_TABLE,),
        check=_deletion_protection("deletionProtectionEnabled"),
    ),
    protect_rule(
        "OSP-DDB-4",
        "DynamoDB tables",
        (DYNAMODB_TABLE,),
        "the Table component then protects its table.",
    ),
    Rule(
        id="OSP-DDB-5",
        title="Provisioned DynamoDB tables scale their capacity automatically",
        severity=Severity.MEDIUM,
        controls=("DynamoDB.1",),
        rationale="Fixed read and write capacity throttles requests in a burst (a term's "
        "enrolment day) and is paid for when idle.",
        fix="Use on-demand billing (the default), or give provisioned tables Application Auto "
        "Scaling targets and target-tracking policies for reads and writes.",
        types=(DYNAMODB_TABLE,),
        check=_table_autoscaling,
    ),
)
