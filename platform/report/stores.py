"""The data-store facts of the stores beyond databases, caches and brokers: EFS file systems,
Kafka (MSK) clusters and what a DynamoDB table's access looks like. Each reader returns the
keyword arguments of one data-stores row (facts._store)."""

from __future__ import annotations

from typing import Any, Protocol

from osp.platform.plan import Plan, PlannedResource
from osp.platform.policy.rules._reading import as_list, at, denies_insecure_transport, statements

BACKUP_POLICY = "aws:efs/backupPolicy:BackupPolicy"
FILE_SYSTEM_POLICY = "aws:efs/fileSystemPolicy:FileSystemPolicy"
ACCESS_POINT = "aws:efs/accessPoint:AccessPoint"
MOUNT_TARGET = "aws:efs/mountTarget:MountTarget"
MSK_SERVERLESS = "aws:msk/serverlessCluster:ServerlessCluster"
SCALABLE_TARGET = "aws:appautoscaling/target:Target"

#: How long AWS Backup keeps an EFS file system's automatic daily backups.
EFS_AUTOMATIC_BACKUP_DAYS = 35


class References(Protocol):
    def names(self, resource: PlannedResource, prop: str) -> list[str]: ...


def of(plan: Plan, type_token: str, prop: str, target: PlannedResource) -> list[PlannedResource]:
    """Resources of `type_token` whose input `prop` depends on `target`."""
    return [
        r for r in plan.of_type(type_token) if target.urn in r.property_dependencies.get(prop, ())
    ]


def file_system_facts(plan: Plan, refs: References, fs: PlannedResource) -> dict[str, Any]:
    i = fs.inputs
    backed_up = any(
        at(p.inputs, "backupPolicy.status") == "ENABLED"
        for p in of(plan, BACKUP_POLICY, "fileSystemId", fs)
    )
    tls_only = any(
        denies_insecure_transport(statement, "elasticfilesystem:ClientMount")
        for policy in of(plan, FILE_SYSTEM_POLICY, "fileSystemId", fs)
        for statement in statements(policy.inputs.get("policy")) or ()
    )
    points = [
        f"access point {p.name}: {at(p.inputs, 'rootDirectory.path')} as "
        f"{at(p.inputs, 'posixUser.uid')}:{at(p.inputs, 'posixUser.gid')}"
        for p in sorted(of(plan, ACCESS_POINT, "fileSystemId", fs), key=lambda p: p.name)
    ]
    targets = of(plan, MOUNT_TARGET, "fileSystemId", fs)
    groups = sorted({g for t in targets for g in refs.names(t, "securityGroups")})
    return {
        "kind": "EFS file system",
        "engine": "nfs",
        "version": None,
        "size": f"{i.get('performanceMode', 'generalPurpose')}, "
        f"{i.get('throughputMode', 'bursting')} throughput",
        "encrypted": bool(i.get("encrypted")),
        "key_prop": "kmsKeyId",
        "multi_az": not i.get("availabilityZoneName"),
        "retention": EFS_AUTOMATIC_BACKUP_DAYS if backed_up else None,
        "deletion_protection": None,
        "replicas": [],
        "in_transit": tls_only,
        "access": [
            *points,
            f"{len(targets)} mount target(s) behind {', '.join(groups) or 'no security group'}",
            "TLS required by the file system policy" if tls_only else "TLS not required",
        ],
    }


def kafka_facts(cluster: PlannedResource) -> dict[str, Any]:
    i = cluster.inputs
    if cluster.type == MSK_SERVERLESS:
        iam = at(i, "clientAuthentication.sasl.iam.enabled")
        return {
            "kind": "MSK Serverless cluster",
            "engine": "kafka",
            "version": None,
            "size": "serverless",
            "encrypted": True,
            "key_prop": "encryptionInfo.encryptionAtRestKmsKeyArn",
            "multi_az": True,
            "retention": None,
            "deletion_protection": None,
            "replicas": [],
            "in_transit": True,
            "access": ["private", "IAM authentication" if iam else "no IAM authentication"],
        }
    transit = at(i, "encryptionInfo.encryptionInTransit") or {}
    auth = at(i, "clientAuthentication") or {}
    methods = [
        label
        for label, on in (
            ("IAM authentication", at(auth, "sasl.iam")),
            ("SASL/SCRAM", at(auth, "sasl.scram")),
            ("TLS client certificates", at(auth, "tls")),
            ("unauthenticated clients", at(auth, "unauthenticated") or not auth),
        )
        if on
    ]
    public = at(i, "brokerNodeGroupInfo.connectivityInfo.publicAccess.type") or "DISABLED"
    subnets = as_list(at(i, "brokerNodeGroupInfo.clientSubnets"))
    return {
        "kind": "MSK cluster",
        "engine": "kafka",
        "version": i.get("kafkaVersion"),
        "size": f"{at(i, 'brokerNodeGroupInfo.instanceType')} x {i.get('numberOfBrokerNodes')}",
        "encrypted": True,  # MSK always encrypts at rest; the key is the question
        "key_prop": "encryptionInfo.encryptionAtRestKmsKeyArn",
        "multi_az": len(subnets) > 1,
        "retention": None,
        "deletion_protection": None,
        "replicas": [],
        "in_transit": transit.get("clientBroker", "TLS") == "TLS"
        and transit.get("inCluster", True) is not False,
        "access": [
            "private" if public == "DISABLED" else f"public access {public}",
            *methods,
        ],
    }


def table_access(plan: Plan, table: PlannedResource) -> list[str]:
    """A table's capacity and expiry facts: billing (and autoscaling), TTL, stream."""
    i = table.inputs
    billing = str(i.get("billingMode") or "PROVISIONED")
    facts = ["on-demand" if billing == "PAY_PER_REQUEST" else "provisioned"]
    if billing == "PROVISIONED":
        scaled = sorted(
            str(t.inputs.get("scalableDimension", "")).rsplit(":", 1)[-1]
            for t in of(plan, SCALABLE_TARGET, "resourceId", table)
        )
        facts.append(f"autoscaling {', '.join(scaled)}" if scaled else "no autoscaling")
    if at(i, "ttl.enabled"):
        facts.append(f"TTL on {at(i, 'ttl.attributeName')}")
    if i.get("streamEnabled"):
        facts.append(f"stream {i.get('streamViewType')}")
    return facts
