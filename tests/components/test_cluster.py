"""`Cluster` through the offline engine: exact children, access, encryption, ordering, rules."""

from __future__ import annotations

import json

import pytest

from osp.components.cluster import (
    NODE_INGRESS,
    CapacityType,
    Cluster,
    ClusterArgs,
    NodePoolArgs,
    Taint,
    TaintEffect,
    problems,
    role_name,
    vpc_config,
)
from osp.platform.validation import InvalidArguments
from tests.support import custom_counts, plan_component

ACCOUNT = "123456789012"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key"
SECRETS_KEY, LOGS_KEY, EBS_KEY = f"{KEY}/secrets", f"{KEY}/logs", f"{KEY}/ebs"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/PlatformAdmin"
BREAK_GLASS = f"arn:aws:iam::{ACCOUNT}:role/ops/BreakGlass"
SUBNETS = ("subnet-0a", "subnet-0b", "subnet-0c")
TAGS = {"osp:environment": "t", "osp:component": "cluster", "osp:blueprint": "osp",
        "osp:managed-by": "osp"}  # fmt: skip
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
EKS = "aws:eks"

OUTPUTS = (
    "cluster_name",
    "endpoint",
    "oidc_provider_arn",
    "oidc_provider_url",
    "node_security_group_id",
    "cluster_security_group_id",
    "node_role_arn",
    "kubeconfig",
)


def system_pool(**overrides) -> NodePoolArgs:
    args = {
        "instance_types": ["m6i.large"],
        "min_size": 2,
        "max_size": 3,
        "desired_size": 2,
        "labels": {"osp.io/role": "system"},
        "taints": [Taint(key="CriticalAddonsOnly", value="true", effect=TaintEffect.NO_SCHEDULE)],
        **overrides,
    }
    return NodePoolArgs(**args)


def workload_pool(**overrides) -> NodePoolArgs:
    args = {
        "instance_types": ["m6i.xlarge", "m6a.xlarge"],
        "min_size": 1,
        "max_size": 6,
        "desired_size": 2,
        **overrides,
    }
    return NodePoolArgs(**args)


def cluster_args(**overrides) -> ClusterArgs:
    args = {
        "vpc_id": "vpc-0123456789abcdef0",
        "subnet_ids": SUBNETS,
        "region": "us-east-1",
        "admin_role_arns": [ADMIN],
        "secrets_kms_key_arn": SECRETS_KEY,
        "logs_kms_key_arn": LOGS_KEY,
        "ebs_kms_key_arn": EBS_KEY,
        "system_pool": system_pool(),
        "workload_pool": workload_pool(),
        "tags": TAGS,
        **overrides,
    }
    return ClusterArgs(**args)


def plan_cluster(environment: str = "prod", name: str = "eks", **overrides):
    return plan_component(
        Cluster, cluster_args(**overrides), name=name, exports=OUTPUTS, environment=environment
    )


@pytest.fixture(scope="module")
def dev():
    return plan_cluster(
        "dev",
        workload_pool=workload_pool(capacity_type=CapacityType.SPOT),
        public_access_cidrs=["203.0.113.0/24"],
        deletion_protection=False,
        log_retention_days=30,
        log_types=["api", "audit", "authenticator"],
    )


@pytest.fixture(scope="module")
def prod():
    return plan_cluster(
        "prod",
        workload_pool=workload_pool(capacity_type=CapacityType.ON_DEMAND),
        public_access_cidrs=[],
        deletion_protection=True,
        log_retention_days=90,
        admin_role_arns=[ADMIN, BREAK_GLASS],
    )


@pytest.fixture(params=["dev", "prod"])
def either(request, dev, prod):
    return {"dev": dev, "prod": prod}[request.param]


def names(plan) -> dict[str, str]:
    return {r.urn: r.name for r in plan.resources}


def dep_names(plan, resource) -> set[str]:
    by_urn = names(plan)
    return {by_urn[urn] for urn in resource.dependencies}


def prop_dep(plan, resource, key: str) -> str:
    (urn,) = resource.property_dependencies[key]
    return names(plan)[urn]


def expected_counts(admins: int) -> dict[str, int]:
    return {
        "eks/cluster": 1,
        "eks/accessEntry": admins,
        "eks/accessPolicyAssociation": admins,
        "eks/addon": 5,
        "eks/nodeGroup": 2,
        "ec2/launchTemplate": 2,
        "ec2/securityGroup": 1,
        "vpc/securityGroupIngressRule": 5,
        "vpc/securityGroupEgressRule": 1,
        "iam/role": 4,  # cluster, node, vpc-cni (IRSA), ebs-csi (IRSA)
        "iam/rolePolicyAttachment": 6,
        "iam/rolePolicy": 2,  # secrets key for the cluster, EBS key for the CSI
        "iam/openIdConnectProvider": 1,
        "cloudwatch/logGroup": 1,
        "providers": 1,  # pulumi:providers:kubernetes
    }


# -- shape ---------------------------------------------------------------------------------


def test_children_dev(dev):
    assert custom_counts(dev) == expected_counts(admins=1)


def test_children_prod(prod):
    assert custom_counts(prod) == expected_counts(admins=2)


def test_every_child_is_parented_to_the_component(either):
    component = either.named("eks")
    assert component.type == "osp:cluster:Cluster"
    assert all(r.parent == component.urn for r in either.resources if r.custom)
    assert either.named("eks-k8s").type == "pulumi:providers:kubernetes"


def test_outputs(prod):
    out = prod.outputs
    cluster = prod.named("eks-cluster")
    assert out["cluster_name"] == cluster.inputs["name"] == "eks"
    assert out["endpoint"].startswith("https://") and out["endpoint"].endswith(".eks.amazonaws.com")
    assert out["oidc_provider_url"].startswith("oidc.eks.us-east-1.amazonaws.com/id/")
    assert out["oidc_provider_arn"] == (
        f"arn:aws:iam::{ACCOUNT}:oidc-provider/{out['oidc_provider_url']}"
    )
    assert out["node_security_group_id"].startswith("sg-")
    assert out["cluster_security_group_id"].startswith("sg-")
    assert out["node_security_group_id"] != out["cluster_security_group_id"]
    assert out["node_role_arn"] == f"arn:aws:iam::{ACCOUNT}:role/eks-node"
    assert json.loads(out["kubeconfig"])["current-context"] == "eks"


def test_cluster_name_fits_eks_rules():
    plan = plan_cluster("dev", name="1-osp-eks")
    assert plan.named("1-osp-eks-cluster").inputs["name"] == "osp-1-osp-eks"
    assert plan.named("1-osp-eks-logs").inputs["name"] == "/aws/eks/osp-1-osp-eks/cluster"


# -- API access ----------------------------------------------------------------------------


def test_authentication_through_access_entries_only(either):
    access = either.named("eks-cluster").inputs["accessConfig"]
    assert access == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}


def test_an_access_entry_and_admin_policy_per_admin_role(prod):
    entries = {r.name: r for r in prod.of_type(f"{EKS}/accessEntry:AccessEntry")}
    assert {n: e.inputs["principalArn"] for n, e in entries.items()} == {
        "eks-admin-PlatformAdmin": ADMIN,
        "eks-admin-BreakGlass": BREAK_GLASS,
    }
    assert all(e.inputs["type"] == "STANDARD" for e in entries.values())
    associations = prod.of_type(f"{EKS}/accessPolicyAssociation:AccessPolicyAssociation")
    assert {a.name for a in associations} == {f"{n}-cluster-admin" for n in entries}
    for association in associations:
        entry = association.name.removesuffix("-cluster-admin")
        assert association.inputs["principalArn"] == entries[entry].inputs["principalArn"]
        assert association.inputs["policyArn"] == ADMIN_POLICY
        assert association.inputs["accessScope"] == {"type": "cluster"}
        assert prop_dep(prod, association, "principalArn") == entry


def test_dev_endpoint_public_only_to_listed_cidrs(dev):
    vpc = dev.named("eks-cluster").inputs["vpcConfig"]
    assert vpc == {
        "subnetIds": list(SUBNETS),
        "endpointPrivateAccess": True,
        "endpointPublicAccess": True,
        "publicAccessCidrs": ["203.0.113.0/24"],
    }


def test_prod_endpoint_private_only(prod):
    vpc = prod.named("eks-cluster").inputs["vpcConfig"]
    assert vpc == {
        "subnetIds": list(SUBNETS),
        "endpointPrivateAccess": True,
        "endpointPublicAccess": False,
    }


# -- control plane -------------------------------------------------------------------------


def test_secrets_encrypted_with_the_customer_key(either):
    encryption = either.named("eks-cluster").inputs["encryptionConfig"]
    assert encryption == {"provider": {"keyArn": SECRETS_KEY}, "resources": ["secrets"]}
    role_kms = json.loads(either.named("eks-cluster-role-secrets-kms").inputs["policy"])
    (statement,) = role_kms["Statement"]
    assert statement["Resource"] == SECRETS_KEY
    assert set(statement["Action"]) == {
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ListGrants",
        "kms:DescribeKey",
    }


ALL_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


@pytest.mark.parametrize(
    ("env", "retention", "log_types"),
    [("dev", 30, ["api", "audit", "authenticator"]), ("prod", 90, ALL_LOG_TYPES)],
)
def test_control_plane_logs_go_to_a_precreated_encrypted_group(
    env, retention, log_types, dev, prod
):
    plan = {"dev": dev, "prod": prod}[env]
    cluster = plan.named("eks-cluster")
    assert cluster.inputs["enabledClusterLogTypes"] == log_types
    logs = plan.named("eks-logs").inputs
    assert logs["name"] == "/aws/eks/eks/cluster"
    assert logs["retentionInDays"] == retention
    assert logs["kmsKeyId"] == LOGS_KEY
    assert "eks-logs" in dep_names(plan, cluster)


def test_version_and_upgrade_policy(either):
    cluster = either.named("eks-cluster").inputs
    assert cluster["version"] == "1.33"
    assert cluster["upgradePolicy"] == {"supportType": "STANDARD"}
    assert cluster["bootstrapSelfManagedAddons"] is False


def test_prod_cluster_is_protected_and_nothing_else(prod):
    assert prod.named("eks-cluster").inputs["deletionProtection"] is True
    assert prod.named("eks-logs").inputs["deletionProtectionEnabled"] is True
    assert {r.name for r in prod.resources if r.options.protect} == {"eks-cluster"}


def test_dev_cluster_is_not_protected(dev):
    assert dev.named("eks-cluster").inputs["deletionProtection"] is False
    assert dev.named("eks-logs").inputs["deletionProtectionEnabled"] is False
    assert not any(r.options.protect for r in dev.resources)


# -- IAM -----------------------------------------------------------------------------------


def _trust(plan, role: str) -> dict:
    return json.loads(plan.named(role).inputs["assumeRolePolicy"])


def _attached(plan) -> dict[str, set[str]]:
    """role resource name → managed policy ARNs attached to it."""
    out: dict[str, set[str]] = {}
    for attachment in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        role = prop_dep(plan, attachment, "role")
        out.setdefault(role, set()).add(attachment.inputs["policyArn"])
    return out


def test_service_roles_trust_only_their_service(either):
    for role, service in (("eks-cluster-role", "eks"), ("eks-node-role", "ec2")):
        (statement,) = _trust(either, role)["Statement"]
        assert statement == {
            "Effect": "Allow",
            "Principal": {"Service": f"{service}.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    assert either.named("eks-cluster-role").inputs["name"] == "eks-cluster"
    assert either.named("eks-node-role").inputs["name"] == "eks-node"


def test_managed_policies_least_privilege(either):
    policy = "arn:aws:iam::aws:policy/"
    assert _attached(either) == {
        "eks-cluster-role": {f"{policy}AmazonEKSClusterPolicy"},
        # No CNI policy on the nodes: the CNI has its own IRSA role.
        "eks-node-role": {
            f"{policy}AmazonEKSWorkerNodePolicy",
            f"{policy}AmazonEC2ContainerRegistryPullOnly",
            f"{policy}AmazonSSMManagedInstanceCore",
        },
        "eks-vpc-cni-role": {f"{policy}AmazonEKS_CNI_Policy"},
        "eks-ebs-csi-role": {f"{policy}service-role/AmazonEBSCSIDriverPolicy"},
    }


def test_oidc_provider_for_irsa(prod):
    oidc = prod.named("eks-oidc").inputs
    assert oidc["url"] == "https://" + prod.outputs["oidc_provider_url"]
    assert oidc["clientIdLists"] == ["sts.amazonaws.com"]


@pytest.mark.parametrize(
    ("role", "service_account"),
    [
        ("eks-ebs-csi-role", "system:serviceaccount:kube-system:ebs-csi-controller-sa"),
        ("eks-vpc-cni-role", "system:serviceaccount:kube-system:aws-node"),
    ],
)
def test_irsa_roles_trust_only_their_service_account(prod, role, service_account):
    issuer = prod.outputs["oidc_provider_url"]
    (statement,) = _trust(prod, role)["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Federated": prod.outputs["oidc_provider_arn"]},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {
                f"{issuer}:sub": service_account,
                f"{issuer}:aud": "sts.amazonaws.com",
            }
        },
    }
    assert "eks-oidc" in dep_names(prod, prod.named(role))


def test_ebs_csi_may_use_only_the_ebs_key(prod):
    policy = json.loads(prod.named("eks-ebs-csi-role-kms").inputs["policy"])
    assert {s["Resource"] for s in policy["Statement"]} == {EBS_KEY}
    grants = next(s for s in policy["Statement"] if "kms:CreateGrant" in s["Action"])
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


# -- add-ons and their order ---------------------------------------------------------------


def _addons(plan) -> dict[str, dict]:
    return {r.name: r.inputs for r in plan.of_type(f"{EKS}/addon:Addon")}


def test_managed_addons(either):
    addons = _addons(either)
    assert {n: a["addonName"] for n, a in addons.items()} == {
        "eks-vpc-cni": "vpc-cni",
        "eks-kube-proxy": "kube-proxy",
        "eks-pod-identity-agent": "eks-pod-identity-agent",
        "eks-coredns": "coredns",
        "eks-ebs-csi": "aws-ebs-csi-driver",
    }
    for addon in addons.values():
        assert addon["clusterName"] == "eks"
        assert addon["resolveConflictsOnCreate"] == "OVERWRITE"
    assert json.loads(addons["eks-vpc-cni"]["configurationValues"]) == {
        "enableNetworkPolicy": "true"
    }
    assert addons["eks-vpc-cni"]["serviceAccountRoleArn"] == (
        f"arn:aws:iam::{ACCOUNT}:role/eks-vpc-cni"
    )
    assert addons["eks-ebs-csi"]["serviceAccountRoleArn"] == (
        f"arn:aws:iam::{ACCOUNT}:role/eks-ebs-csi"
    )


def test_networking_addons_come_before_nodes(either):
    for pool in ("eks-system", "eks-workload"):
        assert {"eks-vpc-cni", "eks-kube-proxy", "eks-pod-identity-agent"} <= dep_names(
            either, either.named(pool)
        )
    for addon in ("eks-vpc-cni", "eks-kube-proxy", "eks-pod-identity-agent"):
        assert not {"eks-system", "eks-workload"} & dep_names(either, either.named(addon))


def test_coredns_and_ebs_csi_wait_for_nodes(either):
    for addon in ("eks-coredns", "eks-ebs-csi"):
        assert {"eks-system", "eks-workload"} <= dep_names(either, either.named(addon))


# -- security groups -----------------------------------------------------------------------


def _rules(plan, token: str) -> set[tuple]:
    """(group, peer, protocol, from, to) per rule, groups by resource name or 'cluster-sg'."""
    cluster_sg = plan.outputs["cluster_security_group_id"]
    node_sg = plan.outputs["node_security_group_id"]
    label = {cluster_sg: "cluster-sg", node_sg: "node-sg"}
    out = set()
    for rule in plan.of_type(token):
        i = rule.inputs
        peer = label.get(i.get("referencedSecurityGroupId"), i.get("cidrIpv4") or i.get("cidrIpv6"))
        out.add(
            (label[i["securityGroupId"]], peer, i["ipProtocol"], i.get("fromPort"), i.get("toPort"))
        )
    return out


def test_node_security_group_rules(either):
    assert either.named("eks-node").inputs["vpcId"] == "vpc-0123456789abcdef0"
    assert _rules(either, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") == {
        ("node-sg", "node-sg", "-1", None, None),
        ("node-sg", "cluster-sg", "tcp", 443, 443),
        ("node-sg", "cluster-sg", "tcp", 10250, 10250),
        ("node-sg", "cluster-sg", "tcp", 1025, 65535),
        ("cluster-sg", "node-sg", "tcp", 443, 443),
    }
    assert _rules(either, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") == {
        ("node-sg", "0.0.0.0/0", "-1", None, None),
    }


def test_no_ingress_from_the_world(either):
    rules = either.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert len(rules) == len(NODE_INGRESS)
    for rule in rules:
        assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs
        assert rule.inputs["referencedSecurityGroupId"].startswith("sg-")
    groups = either.of_type("aws:ec2/securityGroup:SecurityGroup")
    assert [g.name for g in groups] == ["eks-node"]
    for group in groups:
        assert not group.inputs.get("ingress")
        assert group.inputs["revokeRulesOnDelete"] is True
        # One tagged group per ENI for the load balancer controller: the cluster SG.
        assert not any(k.startswith("kubernetes.io/cluster/") for k in group.inputs["tags"])


# -- node pools ----------------------------------------------------------------------------


def test_launch_templates_require_imdsv2_and_encrypt_disks(either):
    node_sg = either.outputs["node_security_group_id"]
    cluster_sg = either.outputs["cluster_security_group_id"]
    templates = either.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert {t.name for t in templates} == {
        "eks-system-launch-template",
        "eks-workload-launch-template",
    }
    for template in templates:
        i = template.inputs
        assert i["metadataOptions"] == {
            "httpEndpoint": "enabled",
            "httpTokens": "required",
            "httpPutResponseHopLimit": 1,
            "instanceMetadataTags": "disabled",
        }
        assert i["blockDeviceMappings"] == [
            {
                "deviceName": "/dev/xvda",
                "ebs": {
                    "volumeSize": 50,
                    "volumeType": "gp3",
                    "encrypted": "true",
                    "kmsKeyId": EBS_KEY,
                    "deleteOnTermination": "true",
                },
            }
        ]
        assert i["vpcSecurityGroupIds"] == [node_sg, cluster_sg]
        kinds = {spec["resourceType"]: spec["tags"] for spec in i["tagSpecifications"]}
        assert {"instance", "volume"} <= kinds.keys()
        assert all(tags.items() >= TAGS.items() for tags in kinds.values())


@pytest.mark.parametrize(("env", "workload_capacity"), [("dev", "SPOT"), ("prod", "ON_DEMAND")])
def test_node_groups(env, workload_capacity, dev, prod):
    plan = {"dev": dev, "prod": prod}[env]
    system = plan.named("eks-system")
    workload = plan.named("eks-workload")
    for group, pool in ((system, "system"), (workload, "workload")):
        i = group.inputs
        assert i["clusterName"] == "eks"
        assert i["amiType"] == "AL2023_x86_64_STANDARD"
        assert i["subnetIds"] == list(SUBNETS)
        assert i["nodeRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/eks-node"
        assert i["updateConfig"] == {"maxUnavailablePercentage": 33}
        assert i["labels"]["osp.io/pool"] == pool
        assert "diskSize" not in i  # the launch template sizes the disk
        assert prop_dep(plan, group, "launchTemplate") == f"eks-{pool}-launch-template"
        assert i["launchTemplate"]["id"].startswith("lt-")
        assert i["launchTemplate"]["version"] == "1"
        assert group.options.ignore_changes == ("scalingConfig.desiredSize",)
    assert system.inputs["capacityType"] == "ON_DEMAND"
    assert workload.inputs["capacityType"] == workload_capacity
    assert system.inputs["scalingConfig"] == {"minSize": 2, "maxSize": 3, "desiredSize": 2}
    assert workload.inputs["scalingConfig"] == {"minSize": 1, "maxSize": 6, "desiredSize": 2}
    assert workload.inputs["instanceTypes"] == ["m6i.xlarge", "m6a.xlarge"]
    assert system.inputs["labels"] == {"osp.io/pool": "system", "osp.io/role": "system"}
    assert system.inputs["taints"] == [
        {"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}
    ]
    assert workload.inputs["taints"] == []


# -- Kubernetes provider -------------------------------------------------------------------


def test_kubernetes_provider_authenticates_with_aws_eks_get_token(prod):
    provider = prod.named("eks-k8s")
    config = json.loads(provider.inputs["kubeconfig"])
    (cluster,) = config["clusters"]
    assert cluster["cluster"]["server"] == prod.outputs["endpoint"]
    assert cluster["cluster"]["certificate-authority-data"]
    (user,) = config["users"]
    exec_ = user["user"]["exec"]
    assert exec_["command"] == "aws"
    assert exec_["args"][:4] == ["eks", "get-token", "--cluster-name", "eks"]
    assert exec_["args"][4:6] == ["--region", "us-east-1"]
    assert "token" not in user["user"] and "client-key-data" not in user["user"]
    assert config == json.loads(prod.outputs["kubeconfig"])
    # Workloads wait until the admins have access and DNS runs on nodes.
    assert {
        "eks-admin-PlatformAdmin-cluster-admin",
        "eks-admin-BreakGlass-cluster-admin",
        "eks-coredns",
    } <= dep_names(prod, provider)


# -- tags ----------------------------------------------------------------------------------

TAGGED = {
    f"{EKS}/cluster:Cluster",
    f"{EKS}/accessEntry:AccessEntry",
    f"{EKS}/addon:Addon",
    f"{EKS}/nodeGroup:NodeGroup",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:iam/role:Role",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    "aws:cloudwatch/logGroup:LogGroup",
}


def test_every_taggable_resource_is_tagged_with_name_and_tags(either):
    for resource in either.resources:
        if resource.type in TAGGED:
            tags = resource.inputs["tags"]
            assert tags["Name"] == resource.name, resource.name
            assert tags.items() >= TAGS.items(), resource.name


# -- validation ----------------------------------------------------------------------------

LOG_PERIODS = ("1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, "
               "2557, 2922, 3288, 3653")  # fmt: skip
ROLE_ARN = ("an IAM role ARN such as arn:aws:iam::123456789012:role/platform-admin (not a user "
            "or an STS assumed-role ARN)")  # fmt: skip
LABEL_KEY = ("a Kubernetes label key: [prefix/]name, the prefix a DNS subdomain of at most 253 "
             "characters, the name 1-63 letters, digits, '-', '_' or '.'")  # fmt: skip
NODE_TYPE = ("an x86_64 EC2 instance type such as m6i.large, not a Graviton (arm64) one: the "
             "node pools run x86_64 AMIs")  # fmt: skip
LABEL_VALUE = ("a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', "
               "alphanumeric at both ends")  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kubernetes_version": "1.29"},
         "kubernetes_version: got '1.29'; expected one of 1.30, 1.31, 1.32, 1.33, 1.34"),
        ({"kubernetes_version": "v1.33"},
         "kubernetes_version: got 'v1.33'; expected one of 1.30, 1.31, 1.32, 1.33, 1.34"),
        ({"region": "US East"},
         "region: got 'US East'; expected an AWS region such as us-east-1 or eu-west-2"),
        ({"subnet_ids": ["subnet-0a"]}, "subnet_ids: got 1; expected private subnets in at least "
         "2 zones (EKS requires two)"),
        ({"admin_role_arns": []}, "admin_role_arns: got []; expected at least one IAM role ARN "
         "(the cluster grants no access to its creator, so nobody could administer it)"),
        ({"admin_role_arns": [f"arn:aws:iam::{ACCOUNT}:user/alice"]},
         f"admin_role_arns: got 'arn:aws:iam::123456789012:user/alice'; expected {ROLE_ARN}"),
        ({"admin_role_arns": [f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice"]},
         f"admin_role_arns: got 'arn:aws:sts::123456789012:assumed-role/Admin/alice'; "
         f"expected {ROLE_ARN}"),
        ({"admin_role_arns": [ADMIN, f"arn:aws:iam::{ACCOUNT}:role/x/PlatformAdmin"]},
         "admin_role_arns: 'arn:aws:iam::123456789012:role/x/PlatformAdmin' and "
         "'arn:aws:iam::123456789012:role/PlatformAdmin' share the role name 'PlatformAdmin'; "
         "expected each role once, with distinct names"),
        ({"public_access_cidrs": ["0.0.0.0/0"]},
         "public_access_cidrs: got '0.0.0.0/0'; expected the networks that may reach the API, "
         "not the whole internet; or leave public_access_cidrs empty to keep the endpoint "
         "private"),
        ({"public_access_cidrs": ["::/0"]},
         "public_access_cidrs: got '::/0'; expected the networks that may reach the API, not "
         "the whole internet; or leave public_access_cidrs empty to keep the endpoint private"),
        ({"public_access_cidrs": ["203.0.113.7/24"]},
         "public_access_cidrs: got '203.0.113.7/24'; expected a CIDR block such as "
         "203.0.113.0/24 (203.0.113.7/24 has host bits set)"),
        ({"log_retention_days": 31},
         f"log_retention_days: got 31; expected a CloudWatch Logs retention period: {LOG_PERIODS}"),
        ({"log_types": ["api", "kube-scheduler"]},
         "log_types: got 'kube-scheduler'; expected an EKS control-plane log type: api, audit, "
         "authenticator, controllerManager, scheduler"),
        ({"log_types": ["audit", "audit"]},
         "log_types: got ['audit', 'audit']; expected at least one log type, each once"),
        ({"log_types": []}, "log_types: got []; expected at least one log type, each once"),
        ({"system_pool": system_pool(capacity_type=CapacityType.SPOT)},
         "system_pool.capacity_type: got 'SPOT'; expected ON_DEMAND (cluster add-ons must not "
         "run on reclaimable spot capacity)"),
        ({"workload_pool": workload_pool(min_size=3, desired_size=2)},
         "workload_pool.desired_size: got 2; expected between min_size (3) and max_size (6)"),
        ({"workload_pool": workload_pool(min_size=0, desired_size=0, max_size=0)},
         "workload_pool.max_size: got 0; expected an integer from 1 to 100"),
        ({"workload_pool": workload_pool(min_size=-1, desired_size=2)},
         "workload_pool.min_size: got -1; expected an integer from 0 to 100"),
        ({"workload_pool": workload_pool(instance_types=[])},
         "workload_pool.instance_types: got []; expected at least one instance type"),
        ({"workload_pool": workload_pool(instance_types=["m6i"])},
         f"workload_pool.instance_types: got 'm6i'; expected {NODE_TYPE}"),
        ({"workload_pool": workload_pool(instance_types=["m7g.large"])},
         f"workload_pool.instance_types: got 'm7g.large'; expected {NODE_TYPE}"),
        ({"workload_pool": workload_pool(disk_size_gib=8)},
         "workload_pool.disk_size_gib: got 8; expected an integer from 20 to 1000"),
        ({"workload_pool": workload_pool(disk_size_gib=1001)},
         "workload_pool.disk_size_gib: got 1001; expected an integer from 20 to 1000"),
        ({"workload_pool": workload_pool(capacity_type="SOMETIMES")},
         "workload_pool.capacity_type: got 'SOMETIMES'; expected ON_DEMAND or SPOT"),
        ({"system_pool": system_pool(labels={"osp.io/pool": "x"})},
         "system_pool.labels: osp.io/pool is set by osp to 'system'; remove it"),
        ({"system_pool": system_pool(labels={"bad key!": "x"})},
         f"system_pool.labels: got 'bad key!'; expected {LABEL_KEY}"),
        ({"system_pool": system_pool(labels={"team": "-x"})},
         f"system_pool.labels['team']: got '-x'; expected {LABEL_VALUE}"),
        ({"workload_pool": workload_pool(taints=[Taint(key="bad key!")])},
         f"workload_pool.taints: got 'bad key!'; expected {LABEL_KEY}"),
        ({"workload_pool": workload_pool(taints=[Taint(key="gpu", value="a b")])},
         f"workload_pool.taints['gpu'].value: got 'a b'; expected {LABEL_VALUE}"),
        ({"workload_pool": workload_pool(taints=[Taint(key="gpu", effect="NEVER")])},
         "workload_pool.taints['gpu'].effect: got 'NEVER'; expected NO_SCHEDULE, NO_EXECUTE or "
         "PREFER_NO_SCHEDULE"),
    ],
)  # fmt: skip
def test_refuses_bad_args(overrides, message):
    assert problems("eks", cluster_args(**overrides)) == [f"Cluster eks: {message}"]


@pytest.mark.parametrize(
    "instance_types", [["m6i.large"], ["c6gn.large", "m6i.large"], ["m6i.metal"], ["t3.micro"]]
)
def test_instance_types(instance_types):
    found = problems(
        "eks", cluster_args(workload_pool=workload_pool(instance_types=instance_types))
    )
    arm = [t for t in instance_types if t.startswith("c6gn")]
    assert len(found) == len(arm)


def test_reports_every_problem_at_once_before_anything_is_declared():
    with pytest.raises(InvalidArguments) as caught:
        plan_cluster("dev", kubernetes_version="2.0", log_retention_days=0, admin_role_arns=[])
    assert [p.split(": ")[1] for p in caught.value.problems] == [
        "kubernetes_version",
        "admin_role_arns",
        "log_retention_days",
    ]


def test_role_name_is_the_last_segment_of_the_arn():
    assert role_name(ADMIN) == "PlatformAdmin"
    assert role_name(BREAK_GLASS) == "BreakGlass"


def test_vpc_config_opens_the_public_endpoint_only_to_listed_cidrs():
    private = vpc_config(cluster_args())
    assert private == {"subnet_ids": list(SUBNETS), "endpoint_private_access": True,
                       "endpoint_public_access": False}  # fmt: skip
    public = vpc_config(cluster_args(public_access_cidrs=["203.0.113.0/24"]))
    assert public == {**private, "endpoint_public_access": True,
                      "public_access_cidrs": ["203.0.113.0/24"]}  # fmt: skip
