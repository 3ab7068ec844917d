"""EFS file systems: encrypted with the environment's key, backed up, reachable only over TLS
from the cluster's nodes, and mounted only through access points that pin a directory and a
non-root POSIX user."""

from __future__ import annotations

from osp.platform.plan import PlannedResource
from osp.platform.policy.model import Check, Rule, Scope, Severity
from osp.platform.policy.rules._reading import (
    at,
    denies_insecure_transport,
    encrypted_at_rest,
    referenced,
    referrers,
    statements,
)
from osp.platform.policy.rules.data_stores import protect_rule
from osp.platform.policy.rules.network import SECURITY_GROUP, world_openings

FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"
BACKUP_POLICY = "aws:efs/backupPolicy:BackupPolicy"
FILE_SYSTEM_POLICY = "aws:efs/fileSystemPolicy:FileSystemPolicy"
ACCESS_POINT = "aws:efs/accessPoint:AccessPoint"
MOUNT_TARGET = "aws:efs/mountTarget:MountTarget"

#: What a client does on the file system: a TLS deny must cover mounting and writing.
_CLIENT_ACTIONS = ("elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite")


def _companions(scope: Scope, file_system: PlannedResource, type_token: str) -> list:
    """The file system's backup policy, policy or mount targets: by dependency or by id."""
    return referrers(
        scope, file_system, (type_token,), "fileSystemId", (file_system.inputs.get("id"),)
    )


def _encrypted(resource: PlannedResource, scope: Scope) -> Check | None:
    return encrypted_at_rest(
        resource.inputs, "encrypted", "the file system is not encrypted at rest"
    )


def _backed_up(resource: PlannedResource, scope: Scope) -> Check | None:
    policies = _companions(scope, resource, BACKUP_POLICY)
    statuses = [at(p.inputs, "backupPolicy.status") for p in policies]
    ok = "ENABLED" in statuses
    return Check.of(
        ok,
        "" if ok else "automatic backups are off (no backup policy ENABLED)",
        **{"backupPolicy.status": statuses[-1] if statuses else None},
    )


def _tls_only(resource: PlannedResource, scope: Scope) -> Check | None:
    texts = [p.inputs.get("policy") for p in _companions(scope, resource, FILE_SYSTEM_POLICY)]
    for text in texts:
        for statement in statements(text) or ():
            if all(denies_insecure_transport(statement, a) for a in _CLIENT_ACTIONS):
                return Check.of(True, policy=f"{statement.label} denies aws:SecureTransport false")
    return Check.of(
        False,
        "no file system policy denies requests without TLS",
        policy=texts[0] if texts else None,
    )


def _root_directory(resource: PlannedResource, scope: Scope) -> Check | None:
    path = at(resource.inputs, "rootDirectory.path")
    ok = isinstance(path, str) and path.strip("/") != ""
    return Check.of(
        ok,
        "" if ok else "clients see the whole file system (no root directory below /)",
        **{"rootDirectory.path": path},
    )


def _posix_user(resource: PlannedResource, scope: Scope) -> Check | None:
    uid, gid = at(resource.inputs, "posixUser.uid"), at(resource.inputs, "posixUser.gid")
    if uid is None or gid is None:
        detail = "no POSIX user: every client acts as the user it claims"
        return Check.of(False, detail, **{"posixUser.uid": uid, "posixUser.gid": gid})
    ok = str(uid) != "0"
    return Check.of(
        ok,
        "" if ok else "every operation runs as root",
        **{"posixUser.uid": uid, "posixUser.gid": gid},
    )


def _mount_targets_private(resource: PlannedResource, scope: Scope) -> Check | None:
    groups = referenced(scope, resource, "securityGroups", (SECURITY_GROUP,))
    openings = [
        (f"securityGroups({group.name}).{path}", source, ports)
        for group in groups
        for path, source, ports in world_openings(scope, group)
    ]
    if openings:
        path, source, ports = openings[0]
        return Check.of(False, f"admits {source} on {ports}", **{path: source})
    return Check.of(True, securityGroups=[g.name for g in groups])


RULES = (
    Rule(
        id="OSP-EFS-1",
        title="EFS file systems are encrypted with the environment's KMS key",
        severity=Severity.HIGH,
        controls=("EFS.1",),
        rationale="Uploaded media and documents on the file system, and its backups, must be "
        "unreadable without a key the environment controls, audits and can revoke.",
        fix="Keep `encrypted: true` and `kmsKeyId` set to the data key "
        "(FileSystemArgs.kms_key_arn); encryption is chosen at creation, so changing it "
        "replaces the file system.",
        types=(FILE_SYSTEM,),
        check=_encrypted,
    ),
    Rule(
        id="OSP-EFS-2",
        title="EFS file systems have automatic backups",
        severity=Severity.MEDIUM,
        controls=("EFS.2",),
        rationale="The file system holds the only copy of what users uploaded; AWS Backup's "
        "daily recovery points are how a deleted directory comes back.",
        fix="Keep the file system's backup policy ENABLED (FileSystemArgs.backup, on by default).",
        types=(FILE_SYSTEM,),
        check=_backed_up,
    ),
    Rule(
        id="OSP-EFS-3",
        title="EFS access points enforce a root directory",
        severity=Severity.MEDIUM,
        controls=("EFS.3",),
        rationale="An access point rooted at / lets a service read and overwrite every other "
        "service's files on the shared file system.",
        fix="Give each access point its own `rootDirectory.path` (the FileSystem component "
        "uses /<service>).",
        types=(ACCESS_POINT,),
        check=_root_directory,
    ),
    Rule(
        id="OSP-EFS-4",
        title="EFS access points enforce a non-root POSIX user",
        severity=Severity.MEDIUM,
        controls=("EFS.4",),
        rationale="Without a POSIX user, NFS trusts the uid the client sends, so any pod that "
        "mounts can act as any user, root included.",
        fix="Set `posixUser` with a non-zero uid and gid (AccessPoint.uid/gid, 65532 by default).",
        types=(ACCESS_POINT,),
        check=_posix_user,
    ),
    Rule(
        id="OSP-EFS-5",
        title="EFS file system policies deny requests without TLS",
        severity=Severity.HIGH,
        controls=("NIST.800-53.r5 SC-8", "NIST.800-53.r5 SC-23"),
        rationale="NFS without TLS carries file contents in plaintext across the VPC; only the "
        "file system policy can refuse a client that mounts without the `tls` option.",
        fix="Attach a file system policy with a Deny for every principal when "
        "`aws:SecureTransport` is false (the FileSystem component's DenyWithoutTls).",
        types=(FILE_SYSTEM,),
        check=_tls_only,
    ),
    Rule(
        id="OSP-EFS-6",
        title="EFS mount targets admit nothing from the internet",
        severity=Severity.CRITICAL,
        controls=("EC2.18", "NIST.800-53.r5 SC-7"),
        rationale="A mount target's security group decides who may speak NFS to the file "
        "system; open to the internet, only the file system policy stands between it and "
        "the files.",
        fix="Admit TCP 2049 from the nodes' security group only (FileSystemArgs."
        "client_security_group_ids).",
        types=(MOUNT_TARGET,),
        check=_mount_targets_private,
    ),
    protect_rule(
        "OSP-EFS-7",
        "EFS file systems",
        (FILE_SYSTEM,),
        "the FileSystem component then protects its file system.",
    ),
)
