"""`FileSystem`: Amazon EFS for the services' persistent directories, mounted through the EFS
CSI driver.

One encrypted file system, a mount target in each private subnet behind a security group
that admits NFS from the cluster's nodes only, and for each service that keeps files an
access point (its own root directory, every operation as the pods' user) with a statically
provisioned PersistentVolume bound in advance to that service's claim.

Static volumes, not the driver's dynamic `efs-ap` provisioning: with dynamic provisioning the
driver's controller creates and deletes access points itself — outside the plan, so outside
review, policy checks and `protect`, deleted with their data when a claim goes — and needs
`CreateAccessPoint`/`DeleteAccessPoint` on the file system. Declared access points are in the
plan, their POSIX identity and directory are reviewed like any other input, and the driver's
role needs no write permission on EFS at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from osp.components import _checks
from osp.components._network_access import ClientPort, client_security_group
from osp.platform import iam, limits
from osp.platform.naming import NameKind, fit
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:filesystem:FileSystem"

#: NFS: the one port the mount targets admit.
NFS_PORT = 2049

#: The EFS CSI driver: its EKS add-on, its CSI name, and the service accounts of its
#: controller and node pods (kube-system), which the add-on annotates with its role.
CSI_ADDON = "aws-efs-csi-driver"
CSI_DRIVER = "efs.csi.aws.com"
CSI_NAMESPACE = "kube-system"
CSI_SERVICE_ACCOUNTS = ("efs-csi-controller-sa", "efs-csi-node-sa")

#: The StorageClass every volume of the file system names (and so only these bind).
STORAGE_CLASS = "efs"

#: What every volume reports as its capacity. Kubernetes requires one; EFS has none (it grows
#: with what is stored) and the driver ignores it.
NOMINAL_CAPACITY = "100Gi"

#: Mount options: TLS in transit, and IAM authorisation with the driver's role (which the
#: file system policy requires).
MOUNT_OPTIONS = ("tls", "iam")

_STS_AUDIENCE = "sts.amazonaws.com"
_POSIX_ID = limits.whole_range(
    1, 4294967294, "a non-root POSIX id, 1 to 4294967294 (0 would be root on the file system)"
)
_PERMISSIONS = limits.pattern(
    r"0?[0-7]{3}", "octal permissions such as 0750 (owner and group; no one else)"
)
_ZONE = limits.pattern(r"[a-z]{2}(-[a-z]+)+-\d[a-z]", "an availability zone such as us-east-1a")
_ACCESS_POINT_NAME = limits.DNS_1035_LABEL


class IaTransition(StrEnum):
    """After how long without access a file moves to EFS Infrequent Access (EFS spelling)."""

    AFTER_7_DAYS = "AFTER_7_DAYS"
    AFTER_14_DAYS = "AFTER_14_DAYS"
    AFTER_30_DAYS = "AFTER_30_DAYS"
    AFTER_60_DAYS = "AFTER_60_DAYS"
    AFTER_90_DAYS = "AFTER_90_DAYS"


class ThroughputMode(StrEnum):
    """How the file system's throughput is paid for."""

    #: Scales with the workload, paid per byte moved: AWS's recommendation for spiky use.
    ELASTIC = "elastic"
    #: Grows with the amount stored, with burst credits.
    BURSTING = "bursting"


@dataclass(frozen=True, kw_only=True)
class AccessPoint:
    """One service's directory on the file system, and the claim that may mount it."""

    name: str
    """The service (a DNS-1035 label): names the access point and its directory, /<name>."""

    claim_namespace: str
    """Namespace of the PersistentVolumeClaim the volume is bound to in advance."""

    claim_name: str
    """Name of that claim (a DNS label): no other claim can bind the volume."""

    uid: int = 65532
    """POSIX user every file operation runs as, whatever the client sends; 1–4294967294.
    Default: 65532, the user osp's pods run as."""

    gid: int = 65532
    """POSIX group, likewise. Default: 65532."""

    permissions: str = "0750"
    """Mode of the directory when EFS first creates it (owned by uid/gid). Default: 0750."""


@dataclass(frozen=True, kw_only=True)
class FileSystemArgs:
    """Arguments of `FileSystem`."""

    vpc_id: pulumi.Input[str]
    """VPC of the mount targets' security group."""

    subnets: Mapping[str, pulumi.Input[str]]
    """Private subnet per availability zone (zone → subnet id): one mount target each, named
    after its zone so that adding a zone replaces nothing. At least one."""

    client_security_group_ids: Sequence[pulumi.Input[str]]
    """Security groups whose members may mount (the cluster's nodes: the CSI driver mounts on
    the node), on TCP 2049 only."""

    kms_key_arn: pulumi.Input[str]
    """Customer KMS key encrypting the file system at rest (data and metadata)."""

    cluster_name: pulumi.Input[str]
    """The EKS cluster the CSI driver add-on is installed on."""

    oidc_provider_arn: pulumi.Input[str]
    """The cluster's IAM OIDC provider, which the driver's role (IRSA) trusts."""

    oidc_provider_url: pulumi.Input[str]
    """Its issuer without `https://`."""

    access_points: Sequence[AccessPoint]
    """One per service that keeps files; at least one, each name once."""

    deletion_protection: bool
    """Pulumi's `protect` on the file system (EFS has no flag of its own): deleting or
    replacing it fails until this is turned off."""

    backup: bool = True
    """AWS Backup's automatic daily backups of the file system (kept 35 days). Default: on."""

    transition_to_ia: IaTransition = IaTransition.AFTER_30_DAYS
    """When untouched files move to Infrequent Access; the first access brings them back.
    Default: after 30 days."""

    throughput_mode: ThroughputMode = ThroughputMode.ELASTIC
    """Default: elastic."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every AWS resource (osp's tag set, from osp.platform.naming.standard_tags)."""


def problems(name: str, args: FileSystemArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("FileSystem", name)
    if not isinstance(args.subnets, Mapping) or not args.subnets:
        check.add("subnets", args.subnets, "a mapping of availability zone to subnet id, not empty")
    else:
        for zone in args.subnets:
            check.against(_ZONE, "subnets", zone)
    check.extend(_checks.common(args))
    if not args.client_security_group_ids:
        check.add(
            "client_security_group_ids",
            [],
            "the nodes' security group: otherwise nothing can mount the file system",
        )
    if isinstance(args.kms_key_arn, str):
        check.against(limits.KMS_KEY_ARN, "kms_key_arn", args.kms_key_arn)
    if isinstance(args.oidc_provider_arn, str):
        check.against(limits.OIDC_PROVIDER_ARN, "oidc_provider_arn", args.oidc_provider_arn)
    _access_point_problems(check, args.access_points)
    for arg, value, kind in (
        ("transition_to_ia", args.transition_to_ia, IaTransition),
        ("throughput_mode", args.throughput_mode, ThroughputMode),
    ):
        if value not in set(kind):
            check.add(arg, value, "one of " + ", ".join(k.value for k in kind))
    check.check(
        isinstance(args.deletion_protection, bool),
        "deletion_protection",
        args.deletion_protection,
        "True or False",
    )
    return check.found


def _access_point_problems(check: Problems, access_points: Sequence[AccessPoint]) -> None:
    if isinstance(access_points, str) or not access_points:
        check.add("access_points", access_points, "at least one AccessPoint")
        return
    seen: set[str] = set()
    for index, point in enumerate(access_points):
        where = f"access_points[{index}]"
        if not isinstance(point, AccessPoint):
            check.add(where, point, "an AccessPoint")
            continue
        check.against(_ACCESS_POINT_NAME, f"{where}.name", point.name)
        if point.name in seen:
            check.add(f"{where}.name", point.name, "each access point name once")
        seen.add(point.name)
        check.against(limits.DNS_LABEL, f"{where}.claim_namespace", point.claim_namespace)
        check.against(limits.DNS_LABEL, f"{where}.claim_name", point.claim_name)
        check.against(_POSIX_ID, f"{where}.uid", point.uid)
        check.against(_POSIX_ID, f"{where}.gid", point.gid)
        check.against(_PERMISSIONS, f"{where}.permissions", point.permissions)


def csi_trust_policy(provider_arn: str, provider_url: str) -> str:
    """The driver role's trust: exactly the driver's two service accounts (IRSA)."""
    subjects = [f"system:serviceaccount:{CSI_NAMESPACE}:{sa}" for sa in CSI_SERVICE_ACCOUNTS]
    return iam.policy(
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{provider_url}:sub": subjects,
                    f"{provider_url}:aud": _STS_AUDIENCE,
                }
            },
        }
    )


#: What mounting and writing take (never ClientRootAccess: root is squashed).
_CLIENT_ACTIONS = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]


def _through_access_points(access_point_arns: Sequence[str]) -> dict[str, Any]:
    return {
        "StringEquals": {"elasticfilesystem:AccessPointArn": list(access_point_arns)},
        "Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"},
    }


def csi_role_policy(file_system_arn: str, access_point_arns: Sequence[str]) -> str:
    """What the driver may do: look up this file system's mount targets and access points,
    and mount and write through its access points (so never at the file system's root)."""
    return iam.policy(
        {
            "Sid": "DescribeFileSystem",
            "Effect": "Allow",
            "Action": [
                "elasticfilesystem:DescribeAccessPoints",
                "elasticfilesystem:DescribeFileSystems",
                "elasticfilesystem:DescribeMountTargets",
            ],
            "Resource": [file_system_arn, *access_point_arns],
        },
        {
            "Sid": "MountThroughAccessPoints",
            "Effect": "Allow",
            "Action": list(_CLIENT_ACTIONS),
            "Resource": [file_system_arn],
            "Condition": _through_access_points(access_point_arns),
        },
    )


def file_system_policy(
    file_system_arn: str, access_point_arns: Sequence[str], csi_role_arn: str
) -> str:
    """The file system's own policy: nothing over a connection without TLS, and mounts by the
    driver's role only, through the access points and a mount target. With a policy in place,
    a client that does not sign its mount with IAM (no `iam` mount option) is refused."""
    return iam.policy(
        {
            "Sid": "DenyWithoutTls",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "*",
            "Resource": file_system_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "MountThroughAccessPoints",
            "Effect": "Allow",
            "Principal": {"AWS": csi_role_arn},
            "Action": list(_CLIENT_ACTIONS),
            "Resource": file_system_arn,
            "Condition": _through_access_points(access_point_arns),
        },
    )


def volume_name(name: str, access_point: str) -> str:
    """The PersistentVolume of an access point (cluster-wide, so named after the component)."""
    return fit(f"{name}-{access_point}", NameKind.K8S_LABEL)


def persistent_volume_spec(volume_handle: pulumi.Input[str], point: AccessPoint) -> dict[str, Any]:
    """A volume on one access point, bound in advance to its service's claim, kept when the
    claim goes (the data outlives any Kubernetes object)."""
    return {
        "capacity": {"storage": NOMINAL_CAPACITY},
        "accessModes": ["ReadWriteMany"],
        "volumeMode": "Filesystem",
        "persistentVolumeReclaimPolicy": "Retain",
        "storageClassName": STORAGE_CLASS,
        "mountOptions": list(MOUNT_OPTIONS),
        "claimRef": {"namespace": point.claim_namespace, "name": point.claim_name},
        "csi": {"driver": CSI_DRIVER, "volumeHandle": volume_handle},
    }


class FileSystem(pulumi.ComponentResource):
    """An encrypted EFS file system for the services' persistent directories, on the cluster.

    - File system: encrypted with the customer key, elastic throughput, files untouched for
      30 days (by default) move to Infrequent Access and come back on first access, AWS Backup
      on, `protect` with deletion protection.
    - A mount target per private subnet (zone), behind the group `<name>-sg`, which admits TCP
      2049 from the client groups (the nodes) and nothing else.
    - File system policy: denies any request without TLS; allows mounting and writing only
      to the CSI driver's role, only through an access point and a mount target.
    - An access point per service: every operation as its uid/gid (root squashed), rooted at
      /<service>, created with `permissions` and owned by that user on first use.
    - The EFS CSI driver add-on, with its IRSA role trusted by its two service accounts only,
      allowed to describe this file system and mount through its access points, nothing more.
    - StorageClass `efs`, and a PersistentVolume per access point (`tls` and `iam` mount
      options, reclaim policy Retain, bound in advance to its service's claim).

    Give the cluster's Kubernetes provider in `opts` (`providers=[cluster.provider]`).
    """

    file_system_id: pulumi.Output[str]
    file_system_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    access_point_ids: dict[str, pulumi.Output[str]]
    volume_names: dict[str, str]
    """The PersistentVolume of each access point, by access point name."""
    storage_class_name: str
    csi_role_arn: pulumi.Output[str]
    csi_driver: aws.eks.Addon
    """The add-on: a workload mounting a volume waits for it."""

    def __init__(
        self, name: str, args: FileSystemArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        child = pulumi.ResourceOptions(parent=self)
        file_system = aws.efs.FileSystem(
            f"{name}-file-system",
            encrypted=True,
            kms_key_id=args.kms_key_arn,
            performance_mode="generalPurpose",
            throughput_mode=ThroughputMode(args.throughput_mode).value,
            lifecycle_policies=[
                aws.efs.FileSystemLifecyclePolicyArgs(
                    transition_to_ia=IaTransition(args.transition_to_ia).value
                ),
                aws.efs.FileSystemLifecyclePolicyArgs(
                    transition_to_primary_storage_class="AFTER_1_ACCESS"
                ),
            ],
            tags={"Name": f"{name}-file-system", **args.tags},
            opts=pulumi.ResourceOptions(parent=self, protect=args.deletion_protection),
        )
        aws.efs.BackupPolicy(
            f"{name}-backup-policy",
            file_system_id=file_system.id,
            backup_policy=aws.efs.BackupPolicyBackupPolicyArgs(
                status="ENABLED" if args.backup else "DISABLED"
            ),
            opts=child,
        )
        sg = client_security_group(
            name,
            vpc_id=args.vpc_id,
            group_name=fit(f"{name}-sg"),
            description=f"EFS {name}: NFS from the nodes on TCP {NFS_PORT}",
            clients=args.client_security_group_ids,
            ports=[ClientPort(NFS_PORT, "NFS from the nodes (EFS CSI driver)")],
            tags=args.tags,
            parent=self,
        )
        mount_targets = [
            aws.efs.MountTarget(
                f"{name}-mount-target-{zone}",
                file_system_id=file_system.id,
                subnet_id=subnet,
                security_groups=[sg.id],
                opts=child,
            )
            for zone, subnet in sorted(args.subnets.items())
        ]
        points = {
            point.name: aws.efs.AccessPoint(
                f"{name}-{point.name}-access-point",
                file_system_id=file_system.id,
                posix_user=aws.efs.AccessPointPosixUserArgs(uid=point.uid, gid=point.gid),
                root_directory=aws.efs.AccessPointRootDirectoryArgs(
                    path=f"/{point.name}",
                    creation_info=aws.efs.AccessPointRootDirectoryCreationInfoArgs(
                        owner_uid=point.uid,
                        owner_gid=point.gid,
                        permissions=point.permissions,
                    ),
                ),
                tags={"Name": f"{name}-{point.name}-access-point", **args.tags},
                opts=child,
            )
            for point in args.access_points
        }
        point_arns = pulumi.Output.all(*(p.arn for p in points.values()))
        role, role_policy = self._csi_role(name, args, file_system, point_arns)
        aws.efs.FileSystemPolicy(
            f"{name}-policy",
            file_system_id=file_system.id,
            policy=pulumi.Output.all(file_system.arn, point_arns, role.arn).apply(
                lambda v: file_system_policy(v[0], v[1], v[2])
            ),
            opts=child,
        )
        self.csi_driver = aws.eks.Addon(
            f"{name}-csi-driver",
            cluster_name=args.cluster_name,
            addon_name=CSI_ADDON,
            service_account_role_arn=role.arn,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags={"Name": f"{name}-csi-driver", **args.tags},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, *mount_targets]),
        )
        storage_class = k8s.storage.v1.StorageClass(
            f"{name}-storage-class",
            metadata={"name": STORAGE_CLASS},
            provisioner=CSI_DRIVER,
            # Static volumes only: a claim naming this class binds one of the volumes below
            # (or none); the driver is never asked to provision.
            reclaim_policy="Retain",
            volume_binding_mode="Immediate",
            mount_options=list(MOUNT_OPTIONS),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.csi_driver]),
        )
        self.volume_names = {}
        for point in args.access_points:
            volume = volume_name(name, point.name)
            k8s.core.v1.PersistentVolume(
                f"{name}-{point.name}-volume",
                metadata={"name": volume},
                spec=persistent_volume_spec(
                    # The driver's form for a volume on an access point: <fs id>::<fsap id>.
                    pulumi.Output.concat(file_system.id, "::", points[point.name].id),
                    point,
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[storage_class]),
            )
            self.volume_names[point.name] = volume
        self.file_system_id = file_system.id
        self.file_system_arn = file_system.arn
        self.security_group_id = sg.id
        self.access_point_ids = {n: p.id for n, p in points.items()}
        self.storage_class_name = STORAGE_CLASS
        self.csi_role_arn = role.arn
        self.register_outputs(
            {
                "fileSystemId": self.file_system_id,
                "fileSystemArn": self.file_system_arn,
                "securityGroupId": self.security_group_id,
                "accessPointIds": self.access_point_ids,
                "csiRoleArn": self.csi_role_arn,
            }
        )

    def _csi_role(
        self,
        name: str,
        args: FileSystemArgs,
        file_system: aws.efs.FileSystem,
        point_arns: pulumi.Output[list[str]],
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-csi-role",
            name=fit(f"{name}-efs-csi", NameKind.IAM),
            description=f"EFS CSI driver ({CSI_NAMESPACE}) mounting {name}",
            assume_role_policy=pulumi.Output.all(
                args.oidc_provider_arn, args.oidc_provider_url
            ).apply(lambda v: csi_trust_policy(v[0], v[1])),
            tags={"Name": f"{name}-csi-role", **args.tags},
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-csi-role-policy",
            role=role.name,
            policy=pulumi.Output.all(file_system.arn, point_arns).apply(
                lambda v: csi_role_policy(v[0], v[1])
            ),
            opts=child,
        )
        return role, policy
