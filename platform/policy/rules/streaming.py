"""Event streaming (Amazon MSK, Managed Service for Apache Flink): encrypted with the
environment's key, TLS and IAM only, never public, their brokers' and applications' logs kept,
and stream processing that survives a restart (checkpoints and snapshots)."""

from __future__ import annotations

from osp.platform.plan import PlannedResource
from osp.platform.policy.model import Check, Rule, Scope, Severity
from osp.platform.policy.rules._reading import at, customer_key, truthy
from osp.platform.policy.rules.data_stores import protect_rule

MSK_CLUSTER = "aws:msk/cluster:Cluster"
MSK_SERVERLESS = "aws:msk/serverlessCluster:ServerlessCluster"
FLINK_APPLICATION = "aws:kinesisanalyticsv2/application:Application"

_BROKER_LOG_SINKS = ("cloudwatchLogs", "firehose", "s3")


# --- MSK ----------------------------------------------------------------------------------


def _msk_key(resource: PlannedResource, scope: Scope) -> Check | None:
    key = at(resource.inputs, "encryptionInfo.encryptionAtRestKmsKeyArn")
    ok = customer_key(key)
    return Check.of(
        ok,
        "" if ok else "encrypted with the AWS-managed key, not the environment's",
        **{"encryptionInfo.encryptionAtRestKmsKeyArn": key},
    )


def _msk_in_transit(resource: PlannedResource, scope: Scope) -> Check | None:
    # MSK's own defaults (TLS to clients, TLS between brokers) apply when these are not set.
    client = at(resource.inputs, "encryptionInfo.encryptionInTransit.clientBroker")
    in_cluster = at(resource.inputs, "encryptionInfo.encryptionInTransit.inCluster")
    evidence = {
        "encryptionInfo.encryptionInTransit.clientBroker": client,
        "encryptionInfo.encryptionInTransit.inCluster": in_cluster,
    }
    if client not in (None, "TLS"):
        return Check.of(False, f"clients may connect in plaintext ({client})", **evidence)
    if in_cluster is not None and not truthy(in_cluster):
        return Check.of(False, "brokers replicate to one another in plaintext", **evidence)
    return Check.of(True, **evidence)


def _msk_authenticated(resource: PlannedResource, scope: Scope) -> Check | None:
    if resource.type == MSK_SERVERLESS:
        iam = at(resource.inputs, "clientAuthentication.sasl.iam.enabled")
        return Check.of(
            truthy(iam),
            "" if truthy(iam) else "IAM access control is off",
            **{"clientAuthentication.sasl.iam.enabled": iam},
        )
    unauthenticated = at(resource.inputs, "clientAuthentication.unauthenticated")
    iam = at(resource.inputs, "clientAuthentication.sasl.iam")
    evidence = {
        "clientAuthentication.unauthenticated": unauthenticated,
        "clientAuthentication.sasl.iam": iam,
    }
    # Without clientAuthentication, a provisioned cluster admits unauthenticated clients.
    if resource.inputs.get("clientAuthentication") is None or truthy(unauthenticated):
        return Check.of(False, "clients may connect without authenticating", **evidence)
    if not truthy(iam):
        return Check.of(False, "IAM access control is off", **evidence)
    return Check.of(True, **evidence)


def _msk_private(resource: PlannedResource, scope: Scope) -> Check | None:
    path = "brokerNodeGroupInfo.connectivityInfo.publicAccess.type"
    access = at(resource.inputs, path)
    ok = access in (None, "DISABLED")
    return Check.of(ok, "" if ok else "brokers are reachable from the internet", **{path: access})


def _msk_broker_logs(resource: PlannedResource, scope: Scope) -> Check | None:
    on = [
        sink
        for sink in _BROKER_LOG_SINKS
        if truthy(at(resource.inputs, f"loggingInfo.brokerLogs.{sink}.enabled"))
    ]
    return Check.of(
        bool(on),
        "" if on else "broker logs are not delivered anywhere",
        **{"loggingInfo.brokerLogs": at(resource.inputs, "loggingInfo.brokerLogs")},
    )


# --- Managed Flink ------------------------------------------------------------------------


def _flink(resource: PlannedResource) -> bool:
    return str(resource.inputs.get("runtimeEnvironment", "")).upper().startswith("FLINK")


def _flink_in_vpc(resource: PlannedResource, scope: Scope) -> Check | None:
    if not _flink(resource):
        return None
    path = "applicationConfiguration.vpcConfiguration.subnetIds"
    subnets = at(resource.inputs, path)
    ok = bool(subnets)
    return Check.of(ok, "" if ok else "the application runs outside the VPC", **{path: subnets})


def _flink_logging(resource: PlannedResource, scope: Scope) -> Check | None:
    if not _flink(resource):
        return None
    stream = at(resource.inputs, "cloudwatchLoggingOptions.logStreamArn")
    ok = bool(stream)
    return Check.of(
        ok,
        "" if ok else "the application's logs go nowhere",
        **{"cloudwatchLoggingOptions.logStreamArn": stream},
    )


def _flink_recoverable(resource: PlannedResource, scope: Scope) -> Check | None:
    if not _flink(resource):
        return None
    base = "applicationConfiguration.flinkApplicationConfiguration.checkpointConfiguration"
    kind = at(resource.inputs, f"{base}.configurationType")
    enabled = at(resource.inputs, f"{base}.checkpointingEnabled")
    snapshots_path = "applicationConfiguration.applicationSnapshotConfiguration.snapshotsEnabled"
    snapshots = at(resource.inputs, snapshots_path)
    evidence = {
        f"{base}.configurationType": kind,
        f"{base}.checkpointingEnabled": enabled,
        snapshots_path: snapshots,
    }
    # DEFAULT (or no configuration) is Managed Flink's own: checkpoints every minute.
    checkpoints = kind in (None, "DEFAULT") or truthy(enabled)
    if not checkpoints:
        return Check.of(False, "checkpointing is off", **evidence)
    if not truthy(snapshots):
        return Check.of(False, "snapshots are off: a restart loses the state", **evidence)
    return Check.of(True, **evidence)


def _flink_key(resource: PlannedResource, scope: Scope) -> Check | None:
    if not _flink(resource):
        return None
    base = "applicationConfiguration.applicationEncryptionConfiguration"
    kind, key = at(resource.inputs, f"{base}.keyType"), at(resource.inputs, f"{base}.keyId")
    ok = kind == "CUSTOMER_MANAGED_KEY" and customer_key(key)
    return Check.of(
        ok,
        "" if ok else "the application's state is encrypted with an AWS-owned key",
        **{f"{base}.keyType": kind, f"{base}.keyId": key},
    )


RULES = (
    Rule(
        id="OSP-MSK-1",
        title="Kafka clusters are encrypted at rest with the environment's KMS key",
        severity=Severity.HIGH,
        controls=("NIST.800-53.r5 SC-28", "NIST.800-53.r5 SC-12"),
        rationale="Topics carry user, enrolment and payment events; the AWS-managed key "
        "cannot be audited or revoked by the environment.",
        fix="Set `encryptionInfo.encryptionAtRestKmsKeyArn` to the data key; it is chosen at "
        "creation, so changing it replaces the cluster.",
        types=(MSK_CLUSTER,),
        check=_msk_key,
    ),
    Rule(
        id="OSP-MSK-2",
        title="Kafka clusters use TLS between clients and brokers and among brokers",
        severity=Severity.HIGH,
        controls=("MSK.1",),
        rationale="TLS_PLAINTEXT or PLAINTEXT listeners let a misconfigured client send events "
        "in the clear; in-cluster plaintext exposes replication traffic.",
        fix="Set `encryptionInTransit.clientBroker: TLS` and `inCluster: true` (MSK's defaults).",
        types=(MSK_CLUSTER,),
        check=_msk_in_transit,
    ),
    Rule(
        id="OSP-MSK-3",
        title="Kafka clusters admit only IAM-authenticated clients",
        severity=Severity.HIGH,
        controls=("MSK.6",),
        rationale="Unauthenticated access lets any pod that reaches the brokers read and write "
        "every topic; IAM access control grants each service exactly its topics and groups.",
        fix="Set `clientAuthentication: {sasl: {iam: true}, unauthenticated: false}`.",
        types=(MSK_CLUSTER, MSK_SERVERLESS),
        check=_msk_authenticated,
    ),
    Rule(
        id="OSP-MSK-4",
        title="Kafka clusters are not publicly accessible",
        severity=Severity.CRITICAL,
        controls=("MSK.4",),
        rationale="Public broker endpoints put the cluster's listeners in reach of the whole "
        "internet.",
        fix="Leave `brokerNodeGroupInfo.connectivityInfo.publicAccess.type` unset or DISABLED.",
        types=(MSK_CLUSTER,),
        check=_msk_private,
    ),
    Rule(
        id="OSP-MSK-5",
        title="Kafka clusters deliver their broker logs",
        severity=Severity.MEDIUM,
        controls=("NIST.800-53.r5 AU-2", "NIST.800-53.r5 AU-12"),
        rationale="Broker logs record authentication failures, authorisation denials and "
        "partition leadership changes: the evidence for an incident on the event bus.",
        fix="Enable `loggingInfo.brokerLogs.cloudwatchLogs` with the cluster's log group.",
        types=(MSK_CLUSTER,),
        check=_msk_broker_logs,
    ),
    protect_rule(
        "OSP-MSK-6",
        "Kafka clusters",
        (MSK_CLUSTER, MSK_SERVERLESS),
        "the cluster's component then protects it.",
    ),
    Rule(
        id="OSP-FLINK-1",
        title="Flink applications run inside the VPC",
        severity=Severity.HIGH,
        controls=("NIST.800-53.r5 SC-7", "NIST.800-53.r5 AC-4"),
        rationale="An application outside the VPC cannot reach the private Kafka brokers "
        "without opening them, and its egress escapes the VPC's controls.",
        fix="Set `applicationConfiguration.vpcConfiguration` with the private subnets and the "
        "application's security group.",
        types=(FLINK_APPLICATION,),
        check=_flink_in_vpc,
    ),
    Rule(
        id="OSP-FLINK-2",
        title="Flink applications log to CloudWatch Logs",
        severity=Severity.MEDIUM,
        controls=("NIST.800-53.r5 AU-2", "NIST.800-53.r5 AU-12"),
        rationale="Without a log stream, job failures and restarts leave no trace to diagnose "
        "or audit.",
        fix="Set `cloudwatchLoggingOptions.logStreamArn` to a stream in the application's log "
        "group.",
        types=(FLINK_APPLICATION,),
        check=_flink_logging,
    ),
    Rule(
        id="OSP-FLINK-3",
        title="Flink applications checkpoint and keep snapshots",
        severity=Severity.MEDIUM,
        controls=("NIST.800-53.r5 CP-9", "NIST.800-53.r5 CP-10"),
        rationale="Checkpoints let a failed job resume where it stopped; snapshots carry the "
        "state across updates and restarts. Without them analytics results are lost or "
        "counted twice.",
        fix="Keep the DEFAULT checkpoint configuration (or CUSTOM with checkpointingEnabled) and "
        "`applicationSnapshotConfiguration.snapshotsEnabled: true`.",
        types=(FLINK_APPLICATION,),
        check=_flink_recoverable,
    ),
    Rule(
        id="OSP-FLINK-4",
        title="Flink application state is encrypted with the environment's KMS key",
        severity=Severity.MEDIUM,
        controls=("NIST.800-53.r5 SC-28", "NIST.800-53.r5 SC-12"),
        rationale="Running state, checkpoints and snapshots hold the events being analysed; an "
        "AWS-owned key cannot be audited or revoked by the environment.",
        fix="Set `applicationEncryptionConfiguration: {keyType: CUSTOMER_MANAGED_KEY, keyId: "
        "<data key>}`.",
        types=(FLINK_APPLICATION,),
        check=_flink_key,
    ),
)
