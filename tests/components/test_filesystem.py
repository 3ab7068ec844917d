"""`FileSystem` through the offline engine: exact children, encryption, reach, the policies,
the access points, the CSI driver and the volumes bound to their claims."""

from __future__ import annotations

import json

import pytest

from osp.components.filesystem import (
    CSI_DRIVER,
    NFS_PORT,
    AccessPoint,
    FileSystem,
    FileSystemArgs,
    IaTransition,
    problems,
)
from osp.platform.validation import InvalidArguments
from tests.support import custom_counts, plan_component, statements

TAGS = {"osp:environment": "t", "osp:component": "filesystem", "osp:managed-by": "osp"}
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
NODES = "sg-0eks0nodes000000a"
OIDC_URL = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
OIDC_ARN = f"arn:aws:iam::123456789012:oidc-provider/{OIDC_URL}"
SUBNETS = {
    "us-east-1a": "subnet-0aaaaaaaaaaaaaaaa",
    "us-east-1b": "subnet-0bbbbbbbbbbbbbbbb",
    "us-east-1c": "subnet-0cccccccccccccccc",
}
FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"
ACCESS_POINT = "aws:efs/accessPoint:AccessPoint"
MOUNT_TARGET = "aws:efs/mountTarget:MountTarget"
VOLUME = "kubernetes:core/v1:PersistentVolume"


def fs_args(**overrides) -> FileSystemArgs:
    return FileSystemArgs(
        **{
            "vpc_id": "vpc-0123456789abcdef0",
            "subnets": SUBNETS,
            "client_security_group_ids": [NODES],
            "kms_key_arn": KEY,
            "cluster_name": "osp-t-eks",
            "oidc_provider_arn": OIDC_ARN,
            "oidc_provider_url": OIDC_URL,
            "access_points": [
                AccessPoint(name="media", claim_namespace="osp-services", claim_name="media-data"),
                AccessPoint(
                    name="reports",
                    claim_namespace="osp-services",
                    claim_name="reports-data",
                    uid=1001,
                    gid=1002,
                    permissions="0700",
                ),
            ],
            "deletion_protection": True,
            "tags": TAGS,
            **overrides,
        }
    )


@pytest.fixture(scope="module")
def plan():
    return plan_component(
        FileSystem,
        fs_args(),
        name="osp-t-files",
        exports=("file_system_id", "access_point_ids", "csi_role_arn"),
    )


ROLE_ARN = "arn:aws:iam::123456789012:role/osp-t-files-efs-csi"
EFS_ARN = "arn:aws:elasticfilesystem:us-east-1:123456789012"


def only(plan, token):
    (resource,) = plan.of_type(token)
    return resource


def fs_id(plan) -> str:
    """The file system's id, as its dependents were given it."""
    return only(plan, "aws:efs/backupPolicy:BackupPolicy").inputs["fileSystemId"]


def access_point_ids(plan) -> dict[str, str]:
    """Each access point's id, by service, from its volume's handle `<fs id>::<fsap id>`."""
    return {
        v.inputs["metadata"]["name"].rsplit("-", 1)[1]: v.inputs["spec"]["csi"][
            "volumeHandle"
        ].split("::")[1]
        for v in plan.of_type(VOLUME)
    }


def access_point_arns(plan) -> list[str]:
    return sorted(f"{EFS_ARN}:access-point/{i}" for i in access_point_ids(plan).values())


def test_children(plan):
    assert custom_counts(plan) == {
        "efs/fileSystem": 1,
        "efs/backupPolicy": 1,
        "efs/fileSystemPolicy": 1,
        "efs/mountTarget": 3,  # one per zone
        "efs/accessPoint": 2,  # one per service
        "ec2/securityGroup": 1,
        "vpc/securityGroupIngressRule": 1,  # NFS from the nodes
        "iam/role": 1,
        "iam/rolePolicy": 1,
        "eks/addon": 1,
        "storage.k8s.io/v1": 1,  # StorageClass efs
        "core/v1": 2,  # a PersistentVolume per access point
    }
    component = plan.named("osp-t-files")
    assert component.type == "osp:filesystem:FileSystem"
    assert all(r.parent == component.urn for r in plan.resources if r.custom)
    assert {r.name for r in plan.resources if r.custom} == {
        "osp-t-files-file-system",
        "osp-t-files-backup-policy",
        "osp-t-files-policy",
        "osp-t-files-mount-target-us-east-1a",
        "osp-t-files-mount-target-us-east-1b",
        "osp-t-files-mount-target-us-east-1c",
        "osp-t-files-media-access-point",
        "osp-t-files-reports-access-point",
        "osp-t-files-sg",
        "osp-t-files-from-client-0",
        "osp-t-files-csi-role",
        "osp-t-files-csi-role-policy",
        "osp-t-files-csi-driver",
        "osp-t-files-storage-class",
        "osp-t-files-media-volume",
        "osp-t-files-reports-volume",
    }


def test_the_file_system_is_encrypted_protected_backed_up_and_tiers_to_ia(plan):
    fs = only(plan, FILE_SYSTEM)
    assert fs.inputs["encrypted"] is True
    assert fs.inputs["kmsKeyId"] == KEY
    assert fs.inputs["throughputMode"] == "elastic"
    assert fs.inputs["performanceMode"] == "generalPurpose"
    assert fs.inputs["lifecyclePolicies"] == [
        {"transitionToIa": "AFTER_30_DAYS"},
        {"transitionToPrimaryStorageClass": "AFTER_1_ACCESS"},
    ]
    assert fs.options.protect is True
    assert fs.inputs["tags"] == {"Name": "osp-t-files-file-system", **TAGS}
    backup = only(plan, "aws:efs/backupPolicy:BackupPolicy")
    assert backup.inputs["backupPolicy"] == {"status": "ENABLED"}
    assert fs_id(plan).startswith("fs-")


def test_ia_transition_and_protection_follow_the_arguments():
    plan = plan_component(
        FileSystem,
        fs_args(deletion_protection=False, transition_to_ia=IaTransition.AFTER_90_DAYS),
        name="osp-t-files",
    )
    fs = only(plan, FILE_SYSTEM)
    assert fs.options.protect is False
    assert fs.inputs["lifecyclePolicies"][0] == {"transitionToIa": "AFTER_90_DAYS"}


def test_mount_targets_sit_in_each_private_subnet_behind_nfs_from_the_nodes_only(plan):
    targets = {t.name: t.inputs for t in plan.of_type(MOUNT_TARGET)}
    group = only(plan, "aws:ec2/securityGroup:SecurityGroup")
    assert {t["subnetId"] for t in targets.values()} == set(SUBNETS.values())
    for zone, subnet in SUBNETS.items():
        assert targets[f"osp-t-files-mount-target-{zone}"]["subnetId"] == subnet
    (group_ids,) = {tuple(t["securityGroups"]) for t in targets.values()}
    assert len(group_ids) == 1 and group_ids[0].startswith("sg-")
    assert "ingress" not in group.inputs and "egress" not in group.inputs
    rule = only(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert rule.inputs["referencedSecurityGroupId"] == NODES
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == (
        "tcp",
        NFS_PORT,
        NFS_PORT,
    )
    assert "cidrIpv4" not in rule.inputs


def test_each_service_has_its_own_access_point_rooted_at_its_name_as_its_user(plan):
    points = {p.name: p.inputs for p in plan.of_type(ACCESS_POINT)}
    media = points["osp-t-files-media-access-point"]
    assert media["posixUser"] == {"uid": 65532, "gid": 65532}
    assert media["rootDirectory"] == {
        "path": "/media",
        "creationInfo": {"ownerUid": 65532, "ownerGid": 65532, "permissions": "0750"},
    }
    reports = points["osp-t-files-reports-access-point"]
    assert reports["posixUser"] == {"uid": 1001, "gid": 1002}
    assert reports["rootDirectory"]["creationInfo"] == {
        "ownerUid": 1001,
        "ownerGid": 1002,
        "permissions": "0700",
    }


def test_the_file_system_policy_denies_plain_nfs_and_admits_only_the_driver_via_access_points(
    plan,
):
    arn = f"{EFS_ARN}:file-system/{fs_id(plan)}"
    by_sid = statements(only(plan, "aws:efs/fileSystemPolicy:FileSystemPolicy").inputs["policy"])
    assert set(by_sid) == {"DenyWithoutTls", "MountThroughAccessPoints"}
    deny = by_sid["DenyWithoutTls"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
    assert deny["Action"] == "*" and deny["Resource"] == arn
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    allow = by_sid["MountThroughAccessPoints"]
    assert allow["Principal"] == {"AWS": ROLE_ARN}
    assert allow["Action"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    points = access_point_arns(plan)
    assert len(points) == 2 and all(":access-point/fsap-" in p for p in points)
    assert sorted(allow["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"]) == points
    assert allow["Condition"]["Bool"] == {"elasticfilesystem:AccessedViaMountTarget": "true"}


def test_the_csi_driver_role_trusts_its_two_service_accounts_and_may_only_mount_this(plan):
    role = plan.named("osp-t-files-csi-role")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Federated": OIDC_ARN}
    assert trust["Condition"]["StringEquals"] == {
        f"{OIDC_URL}:sub": [
            "system:serviceaccount:kube-system:efs-csi-controller-sa",
            "system:serviceaccount:kube-system:efs-csi-node-sa",
        ],
        f"{OIDC_URL}:aud": "sts.amazonaws.com",
    }
    by_sid = statements(only(plan, "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    fs_arn = f"{EFS_ARN}:file-system/{fs_id(plan)}"
    points = access_point_arns(plan)
    assert set(by_sid) == {"DescribeFileSystem", "MountThroughAccessPoints"}
    assert sorted(by_sid["DescribeFileSystem"]["Resource"]) == sorted([fs_arn, *points])
    assert all(
        a.startswith("elasticfilesystem:Describe") for a in by_sid["DescribeFileSystem"]["Action"]
    )
    mount = by_sid["MountThroughAccessPoints"]
    assert mount["Resource"] == [fs_arn]
    assert "elasticfilesystem:ClientRootAccess" not in mount["Action"]
    addon = only(plan, "aws:eks/addon:Addon")
    assert addon.inputs["addonName"] == "aws-efs-csi-driver"
    assert addon.inputs["clusterName"] == "osp-t-eks"
    assert addon.inputs["serviceAccountRoleArn"] == ROLE_ARN
    waits = set(addon.dependencies)
    assert {t.urn for t in plan.of_type(MOUNT_TARGET)} <= waits
    assert plan.named("osp-t-files-csi-role-policy").urn in waits


def test_volumes_are_static_on_their_access_point_tls_and_bound_to_their_claim(plan):
    (storage_class,) = plan.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    assert storage_class.inputs["metadata"] == {"name": "efs"}
    assert storage_class.inputs["provisioner"] == CSI_DRIVER
    assert storage_class.inputs["reclaimPolicy"] == "Retain"
    assert "parameters" not in storage_class.inputs  # never asked to provision
    points = access_point_ids(plan)
    volumes = {v.inputs["metadata"]["name"]: v.inputs["spec"] for v in plan.of_type(VOLUME)}
    assert set(volumes) == {"osp-t-files-media", "osp-t-files-reports"}
    media = volumes["osp-t-files-media"]
    assert media["csi"] == {
        "driver": "efs.csi.aws.com",
        "volumeHandle": f"{fs_id(plan)}::{points['media']}",
    }
    assert media["claimRef"] == {"namespace": "osp-services", "name": "media-data"}
    assert media["persistentVolumeReclaimPolicy"] == "Retain"
    assert media["storageClassName"] == "efs"
    assert media["mountOptions"] == ["tls", "iam"]
    assert media["accessModes"] == ["ReadWriteMany"]


def test_outputs(plan):
    assert plan.outputs["file_system_id"].startswith("fs-")
    assert set(plan.outputs["access_point_ids"]) == {"media", "reports"}
    assert all(v.startswith("fsap-") for v in plan.outputs["access_point_ids"].values())
    assert plan.outputs["csi_role_arn"] == ROLE_ARN
    assert plan.outputs["file_system_id"] == fs_id(plan)
    assert plan.outputs["access_point_ids"] == access_point_ids(plan)


# -- refused arguments -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"subnets": {}},
            "FileSystem f: subnets: got {}; expected a mapping of availability zone to subnet "
            "id, not empty",
        ),
        (
            {"subnets": {"east": "subnet-1"}},
            "FileSystem f: subnets: got 'east'; expected an availability zone such as us-east-1a",
        ),
        (
            {"client_security_group_ids": []},
            "FileSystem f: client_security_group_ids: got []; expected the nodes' security "
            "group: otherwise nothing can mount the file system",
        ),
        (
            {"access_points": []},
            "FileSystem f: access_points: got []; expected at least one AccessPoint",
        ),
        (
            {"access_points": [AccessPoint(name="m", claim_namespace="ns", claim_name="c", uid=0)]},
            "FileSystem f: access_points[0].uid: got 0; expected a non-root POSIX id, 1 to "
            "4294967294 (0 would be root on the file system)",
        ),
        (
            {
                "access_points": [
                    AccessPoint(name="m", claim_namespace="ns", claim_name="c", permissions="777x")
                ]
            },
            "FileSystem f: access_points[0].permissions: got '777x'; expected octal "
            "permissions such as 0750 (owner and group; no one else)",
        ),
        (
            {
                "access_points": [
                    AccessPoint(name="m", claim_namespace="ns", claim_name="c"),
                    AccessPoint(name="m", claim_namespace="ns", claim_name="d"),
                ]
            },
            "FileSystem f: access_points[1].name: got 'm'; expected each access point name once",
        ),
        (
            {"transition_to_ia": "AFTER_2_DAYS"},
            "FileSystem f: transition_to_ia: got 'AFTER_2_DAYS'; expected one of AFTER_7_DAYS, "
            "AFTER_14_DAYS, AFTER_30_DAYS, AFTER_60_DAYS, AFTER_90_DAYS",
        ),
    ],
)
def test_bad_arguments_are_refused_naming_each(overrides, message):
    assert problems("f", fs_args(**overrides)) == [message]


def test_every_problem_is_reported_at_once_before_anything_is_created():
    with pytest.raises(InvalidArguments) as refused:
        plan_component(
            FileSystem,
            fs_args(subnets={}, access_points=[], kms_key_arn="not-a-key"),
            name="f",
        )
    assert len(refused.value.problems) == 3
