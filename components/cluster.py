"""`Cluster`: the estate's EKS cluster, its managed node pools, add-ons and IRSA.

Built from pulumi_aws primitives (aws.eks.Cluster, NodeGroup, Addon, AccessEntry, …) rather
than `pulumi_eks.Cluster`: that one is a multi-language component whose children are created
by its own plugin, so they never register under the offline engine (Pulumi mocks) and the plan,
the policy rules and the audit reports could not see the node groups, roles or rules it makes.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from osp.platform.limits import LOG_RETENTION_DAYS
from osp.platform.naming import NameKind, fit
from osp.platform.spec import CapacityType

TOKEN = "osp:cluster:Cluster"

#: Kubernetes minor versions osp builds clusters at (EKS standard support, plus the next).
SUPPORTED_KUBERNETES_VERSIONS = ("1.30", "1.31", "1.32", "1.33", "1.34")

#: Control-plane log streams shipped to CloudWatch: API calls, the audit trail, IAM auth.
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator")

#: Node label carrying the pool's role (`system` or `workload`), for node selectors.
POOL_LABEL = "osp.io/pool"

#: The AMI family of every node pool (EKS-managed, kept patched by EKS releases).
AMI_TYPE = "AL2023_x86_64_STANDARD"


_ROLE_ARN = re.compile(
    r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$"
)
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_VERSION = re.compile(r"^1\.\d{1,2}$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
# Graviton families carry a "g" right after the generation digit: m7g, c6gn, r8gd, t4g, x2gd.
_ARM_FAMILY = re.compile(r"^[a-z]+\d+g[a-z]*(-[a-z]+)?\.")
_LABEL_PREFIX = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_KEY = re.compile(rf"^({_LABEL_PREFIX}/)?{_LABEL_NAME}$")
_LABEL_VALUE = re.compile(rf"^({_LABEL_NAME})?$")

_STS_AUDIENCE = "sts.amazonaws.com"


class TaintEffect(StrEnum):
    """What a taint does to pods that do not tolerate it (EKS API spelling)."""

    NO_SCHEDULE = "NO_SCHEDULE"
    NO_EXECUTE = "NO_EXECUTE"
    PREFER_NO_SCHEDULE = "PREFER_NO_SCHEDULE"


@dataclass(frozen=True, kw_only=True)
class Taint:
    """A Kubernetes taint put on every node of a pool."""

    key: str
    """Taint key, a Kubernetes qualified name such as `dedicated` or `osp.io/system`."""

    value: str | None = None
    """Taint value. Default: none (the taint matches on its key alone)."""

    effect: TaintEffect = TaintEffect.NO_SCHEDULE
    """Effect on pods without a matching toleration. Default: NO_SCHEDULE."""


@dataclass(frozen=True, kw_only=True)
class NodePoolArgs:
    """An EKS managed node group: its instances, size, and what it tells the scheduler."""

    instance_types: Sequence[str]
    """EC2 instance types (x86_64), such as ["m6i.large"]. Several spread spot capacity."""

    min_size: int
    """Fewest nodes (>= 0); the cluster autoscaler never goes below it."""

    max_size: int
    """Most nodes (>= 1); the cluster autoscaler never goes above it."""

    desired_size: int
    """Nodes at creation, between min_size and max_size. Afterwards the cluster autoscaler
    owns it: osp ignores drift in it and never scales the pool back."""

    capacity_type: CapacityType = CapacityType.ON_DEMAND
    """ON_DEMAND or SPOT. Default: ON_DEMAND. The system pool must stay ON_DEMAND."""

    disk_size_gib: int = 50
    """Root volume size (gp3, encrypted with the EBS key). Default: 50 GiB; at least 20."""

    labels: Mapping[str, str] = field(default_factory=dict)
    """Kubernetes labels on every node, added to `osp.io/pool=<pool>`. Default: none."""

    taints: Sequence[Taint] = ()
    """Kubernetes taints on every node. Default: none."""


def _default_system_pool() -> NodePoolArgs:
    return NodePoolArgs(instance_types=["m6i.large"], min_size=2, max_size=3, desired_size=2)


def _default_workload_pool() -> NodePoolArgs:
    return NodePoolArgs(
        instance_types=["m6i.xlarge", "m6a.xlarge"], min_size=2, max_size=10, desired_size=3
    )


@dataclass(frozen=True, kw_only=True)
class ClusterArgs:
    """Arguments of `Cluster`."""

    vpc_id: pulumi.Input[str]
    """VPC of the cluster (the node security group is created in it)."""

    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets for the control-plane ENIs and the nodes, in at least 2 zones."""

    region: str
    """AWS region of the cluster, such as us-east-1 (written into the kubeconfig)."""

    admin_role_arns: Sequence[str]
    """IAM roles granted cluster admin through EKS access entries (at least one). The
    identity that creates the cluster gets no implicit access."""

    secrets_kms_key_arn: pulumi.Input[str]
    """Customer KMS key that envelope-encrypts Kubernetes secrets."""

    logs_kms_key_arn: pulumi.Input[str]
    """Customer KMS key of the control-plane log group."""

    ebs_kms_key_arn: pulumi.Input[str]
    """Customer KMS key of the nodes' root volumes; the EBS CSI driver may use it too."""

    kubernetes_version: str = "1.33"
    """Kubernetes minor version ("1.NN", one of SUPPORTED_KUBERNETES_VERSIONS). Default: 1.33.
    Node pools follow it after the control plane upgrades."""

    public_access_cidrs: Sequence[str] = ()
    """CIDRs that may reach the public API endpoint. Default: none, and then the endpoint is
    private only (reached from inside the VPC). 0.0.0.0/0 and ::/0 are refused."""

    log_retention_days: int = 90
    """Retention of the control-plane log group, a value CloudWatch accepts. Default: 90."""

    deletion_protection: bool = True
    """Protect the cluster (EKS deletion protection and Pulumi `protect`) and its log group
    (CloudWatch deletion protection). Default: on."""

    system_pool: NodePoolArgs = field(default_factory=_default_system_pool)
    """Pool for cluster add-ons (CoreDNS, CSI controller, autoscaler). Always ON_DEMAND.
    Default: 2–3 × m6i.large, 2 at creation."""

    workload_pool: NodePoolArgs = field(default_factory=_default_workload_pool)
    """Pool for the application workloads. Default: 2–10 × m6i/m6a.xlarge on demand, 3 at
    creation."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource (osp's tag set, from osp.platform.naming.standard_tags)."""


def _pool_problems(pool_role: str, pool: NodePoolArgs) -> list[str]:
    where = f"{pool_role}_pool"
    problems: list[str] = []
    if not pool.instance_types:
        problems.append(f"{where}.instance_types: got []; expected at least one instance type")
    for instance_type in pool.instance_types:
        if not _INSTANCE_TYPE.match(instance_type):
            problems.append(
                f"{where}.instance_types: got {instance_type!r}; expected an EC2 instance type "
                "such as m6i.large"
            )
        elif _ARM_FAMILY.match(instance_type):
            problems.append(
                f"{where}.instance_types: got {instance_type!r}, a Graviton (arm64) type; the "
                f"node pools run {AMI_TYPE}, so use an x86_64 type such as m6i.large"
            )
    if pool.min_size < 0:
        problems.append(f"{where}.min_size: got {pool.min_size}; expected 0 or more")
    if pool.max_size < 1:
        problems.append(f"{where}.max_size: got {pool.max_size}; expected 1 or more")
    if not pool.min_size <= pool.desired_size <= pool.max_size:
        problems.append(
            f"{where}.desired_size: got {pool.desired_size}; expected between min_size "
            f"({pool.min_size}) and max_size ({pool.max_size})"
        )
    if pool.disk_size_gib < 20:
        problems.append(
            f"{where}.disk_size_gib: got {pool.disk_size_gib}; expected at least 20 (GiB)"
        )
    if not isinstance(pool.capacity_type, CapacityType):
        problems.append(
            f"{where}.capacity_type: got {pool.capacity_type!r}; expected ON_DEMAND or SPOT"
        )
    for key, value in pool.labels.items():
        if key == POOL_LABEL:
            problems.append(
                f"{where}.labels: {POOL_LABEL} is set by osp to {pool_role!r}; remove it"
            )
        elif not _LABEL_KEY.match(key):
            problems.append(
                f"{where}.labels: got key {key!r}; expected a Kubernetes label key such as "
                "example.com/team"
            )
        if not _LABEL_VALUE.match(value):
            problems.append(
                f"{where}.labels[{key!r}]: got {value!r}; expected up to 63 letters, digits, "
                "'-', '_' or '.', starting and ending with a letter or digit"
            )
    for taint in pool.taints:
        if not _LABEL_KEY.match(taint.key):
            problems.append(
                f"{where}.taints: got key {taint.key!r}; expected a Kubernetes qualified name "
                "such as dedicated or example.com/gpu"
            )
        if taint.value is not None and not _LABEL_VALUE.match(taint.value):
            problems.append(
                f"{where}.taints[{taint.key!r}].value: got {taint.value!r}; expected up to 63 "
                "letters, digits, '-', '_' or '.'"
            )
        if not isinstance(taint.effect, TaintEffect):
            problems.append(
                f"{where}.taints[{taint.key!r}].effect: got {taint.effect!r}; expected "
                "NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE"
            )
    return problems


def _problems(args: ClusterArgs) -> list[str]:
    """Every contradiction in `args`, each naming the field, the value and what is allowed."""
    problems: list[str] = []
    version = args.kubernetes_version
    if not _VERSION.match(version) or version not in SUPPORTED_KUBERNETES_VERSIONS:
        problems.append(
            f"kubernetes_version: got {version!r}; expected one of "
            f"{', '.join(SUPPORTED_KUBERNETES_VERSIONS)}"
        )
    if not _REGION.match(args.region):
        problems.append(f"region: got {args.region!r}; expected an AWS region such as us-east-1")
    if len(args.subnet_ids) < 2:
        problems.append(
            f"subnet_ids: got {len(args.subnet_ids)}; expected private subnets in at least "
            "2 zones (EKS requires two)"
        )
    if not args.admin_role_arns:
        problems.append(
            "admin_role_arns: got []; expected at least one IAM role ARN "
            "(the cluster grants no access to its creator, so nobody could administer it)"
        )
    role_names: dict[str, str] = {}
    for arn in args.admin_role_arns:
        match = _ROLE_ARN.match(arn)
        if not match:
            problems.append(
                f"admin_role_arns: got {arn!r}; expected an IAM role ARN such as "
                "arn:aws:iam::123456789012:role/PlatformAdmin (not a user or an STS "
                "assumed-role ARN)"
            )
            continue
        role_name = match.group(2)
        if role_name in role_names:
            problems.append(
                f"admin_role_arns: {arn!r} and {role_names[role_name]!r} share the role name "
                f"{role_name!r}; expected each role once, with distinct names"
            )
        role_names[role_name] = arn
    for cidr in args.public_access_cidrs:
        try:
            network = ipaddress.ip_network(cidr, strict=True)
        except ValueError as exc:
            problems.append(
                f"public_access_cidrs: got {cidr!r}; expected a CIDR block such as "
                f"203.0.113.0/24 ({exc})"
            )
            continue
        if network.prefixlen == 0:
            problems.append(
                f"public_access_cidrs: got {cidr!r}, the whole internet; list the networks "
                "that may reach the API, or leave public_access_cidrs empty to keep the "
                "endpoint private"
            )
    if args.log_retention_days not in LOG_RETENTION_DAYS:
        problems.append(
            f"log_retention_days: got {args.log_retention_days}; expected one of "
            f"{', '.join(str(d) for d in sorted(LOG_RETENTION_DAYS))}"
        )
    problems += _pool_problems("system", args.system_pool)
    problems += _pool_problems("workload", args.workload_pool)
    if args.system_pool.capacity_type is not CapacityType.ON_DEMAND:
        problems.append(
            f"system_pool.capacity_type: got {args.system_pool.capacity_type}; expected "
            "ON_DEMAND (cluster add-ons must not run on reclaimable spot capacity)"
        )
    return problems


def _role_name(arn: str) -> str:
    match = _ROLE_ARN.match(arn)
    assert match is not None  # validated before
    return match.group(2)


def _service_trust(service: str, dns_suffix: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": f"{service}.{dns_suffix}"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def irsa_trust_policy(
    provider_arn: pulumi.Input[str],
    provider_url: pulumi.Input[str],
    namespace: str,
    service_account: str,
) -> pulumi.Output[str]:
    """Trust policy letting exactly one Kubernetes service account assume a role (IRSA)."""

    subject = f"system:serviceaccount:{namespace}:{service_account}"

    def document(values: list[Any]) -> str:
        arn, url = values
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": arn},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {
                            "StringEquals": {
                                f"{url}:sub": subject,
                                f"{url}:aud": _STS_AUDIENCE,
                            }
                        },
                    }
                ],
            }
        )

    return pulumi.Output.all(provider_arn, provider_url).apply(document)


def _kubeconfig(values: list[Any], region: str) -> str:
    cluster_name, endpoint, ca_data = values
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster_name,
                    "cluster": {"server": endpoint, "certificate-authority-data": ca_data},
                }
            ],
            "contexts": [
                {"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}
            ],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": [
                                "eks",
                                "get-token",
                                "--cluster-name",
                                cluster_name,
                                "--region",
                                region,
                                "--output",
                                "json",
                            ],
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
        },
        indent=2,
    )


class Cluster(pulumi.ComponentResource):
    """An EKS cluster reachable privately, administered through access entries only.

    The API endpoint is private unless `public_access_cidrs` names who may reach it; secrets
    are envelope-encrypted with the customer key; API, audit and authenticator logs go to a
    pre-created, encrypted log group. Two managed node pools (system and workload) run
    AL2023 from launch templates that require IMDSv2 (hop limit 1, so pods cannot borrow the
    node's role) and encrypt their disks. The VPC CNI (with network policy enforcement),
    kube-proxy and the pod identity agent are installed before any node joins; CoreDNS and
    the EBS CSI driver once nodes exist. The CNI and the CSI driver get their own IRSA roles,
    so the node role holds no more than a node needs.
    """

    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_provider_url: pulumi.Output[str]
    node_security_group_id: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(
        self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        problems = _problems(args)
        if problems:
            raise ValueError(f"Cluster {name}: " + "; ".join(problems))

        cluster_name = fit(name, NameKind.EKS_CLUSTER)
        child = pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition_output(opts=pulumi.InvokeOptions(parent=self))

        def tags(resource_name: str) -> dict[str, str]:
            return {"Name": resource_name, **args.tags}

        def managed_policy(policy: str) -> pulumi.Output[str]:
            return pulumi.Output.concat("arn:", partition.partition, ":iam::aws:policy/", policy)

        def attach(
            role: aws.iam.Role, role_key: str, policies: Sequence[str]
        ) -> list[aws.iam.RolePolicyAttachment]:
            return [
                aws.iam.RolePolicyAttachment(
                    f"{name}-{role_key}-{policy.rsplit('/', 1)[-1]}",
                    role=role.name,
                    policy_arn=managed_policy(policy),
                    opts=child,
                )
                for policy in policies
            ]

        def key_use_policy(
            key_arn: pulumi.Input[str], actions: Sequence[str]
        ) -> pulumi.Output[str]:
            return pulumi.Output.from_input(key_arn).apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Action": list(actions), "Resource": arn}
                        ],
                    }
                )
            )

        # -- control plane ---------------------------------------------------------------
        cluster_role = aws.iam.Role(
            f"{name}-cluster-role",
            name=fit(f"{cluster_name}-cluster", NameKind.IAM),
            description=f"EKS control plane of {cluster_name}",
            assume_role_policy=partition.dns_suffix.apply(lambda s: _service_trust("eks", s)),
            tags=tags(f"{name}-cluster-role"),
            opts=child,
        )
        cluster_role_policies = attach(cluster_role, "cluster-role", ["AmazonEKSClusterPolicy"])
        # Envelope encryption of secrets: the control plane uses the key under its own role.
        cluster_role_kms = aws.iam.RolePolicy(
            f"{name}-cluster-role-secrets-kms",
            role=cluster_role.name,
            policy=key_use_policy(
                args.secrets_kms_key_arn,
                ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
            ),
            opts=child,
        )

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            # EKS writes to exactly this name; creating it first sets retention and the key.
            name=f"/aws/eks/{cluster_name}/cluster",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.logs_kms_key_arn,
            deletion_protection_enabled=args.deletion_protection,
            tags=tags(f"{name}-logs"),
            opts=child,
        )

        public = bool(args.public_access_cidrs)
        vpc_config: dict[str, Any] = {
            "subnet_ids": list(args.subnet_ids),
            "endpoint_private_access": True,
            "endpoint_public_access": public,
        }
        if public:
            vpc_config["public_access_cidrs"] = list(args.public_access_cidrs)
        cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=cluster_name,
            version=args.kubernetes_version,
            role_arn=cluster_role.arn,
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            # Every networking add-on is an EKS managed add-on below; no unmanaged copies.
            bootstrap_self_managed_addons=False,
            vpc_config=aws.eks.ClusterVpcConfigArgs(**vpc_config),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(
                    key_arn=args.secrets_kms_key_arn
                ),
                resources=["secrets"],
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            deletion_protection=args.deletion_protection,
            tags=tags(f"{name}-cluster"),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.deletion_protection,
                depends_on=[log_group, *cluster_role_policies, cluster_role_kms],
            ),
        )
        cluster_security_group_id = cluster.vpc_config.cluster_security_group_id

        admin_policy = pulumi.Output.concat(
            "arn:",
            partition.partition,
            ":eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
        )
        admin_grants: list[pulumi.Resource] = []
        for arn in args.admin_role_arns:
            entry_name = f"{name}-admin-{_role_name(arn)}"
            entry = aws.eks.AccessEntry(
                entry_name,
                cluster_name=cluster.name,
                principal_arn=arn,
                type="STANDARD",
                tags=tags(entry_name),
                opts=child,
            )
            admin_grants.append(
                aws.eks.AccessPolicyAssociation(
                    f"{entry_name}-cluster-admin",
                    cluster_name=cluster.name,
                    principal_arn=entry.principal_arn,
                    policy_arn=admin_policy,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    opts=child,
                )
            )

        issuer = cluster.identities[0].oidcs[0].issuer
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer,
            client_id_lists=[_STS_AUDIENCE],
            tags=tags(f"{name}-oidc"),
            opts=child,
        )
        oidc_url = issuer.apply(lambda url: url.removeprefix("https://"))

        # -- IAM for nodes and add-ons ---------------------------------------------------
        node_role = aws.iam.Role(
            f"{name}-node-role",
            name=fit(f"{cluster_name}-node", NameKind.IAM),
            description=f"EKS nodes of {cluster_name}",
            assume_role_policy=partition.dns_suffix.apply(lambda s: _service_trust("ec2", s)),
            tags=tags(f"{name}-node-role"),
            opts=child,
        )
        # The CNI's permissions live on its own IRSA role, not on every node. ECR pull-only
        # (not ReadOnly): nodes need to pull images, never to list or describe repositories.
        node_role_policies = attach(
            node_role,
            "node-role",
            [
                "AmazonEKSWorkerNodePolicy",
                "AmazonEC2ContainerRegistryPullOnly",
                "AmazonSSMManagedInstanceCore",
            ],
        )

        cni_role = aws.iam.Role(
            f"{name}-vpc-cni-role",
            name=fit(f"{cluster_name}-vpc-cni", NameKind.IAM),
            description=f"VPC CNI (kube-system/aws-node) of {cluster_name}",
            assume_role_policy=irsa_trust_policy(oidc.arn, oidc_url, "kube-system", "aws-node"),
            tags=tags(f"{name}-vpc-cni-role"),
            opts=child,
        )
        cni_role_policies = attach(cni_role, "vpc-cni-role", ["AmazonEKS_CNI_Policy"])

        ebs_role = aws.iam.Role(
            f"{name}-ebs-csi-role",
            name=fit(f"{cluster_name}-ebs-csi", NameKind.IAM),
            description=f"EBS CSI controller (kube-system/ebs-csi-controller-sa) of {cluster_name}",
            assume_role_policy=irsa_trust_policy(
                oidc.arn, oidc_url, "kube-system", "ebs-csi-controller-sa"
            ),
            tags=tags(f"{name}-ebs-csi-role"),
            opts=child,
        )
        ebs_role_policies = attach(
            ebs_role, "ebs-csi-role", ["service-role/AmazonEBSCSIDriverPolicy"]
        )
        # Volumes encrypted with the customer key (StorageClass kmsKeyId) need grants on it.
        ebs_role_kms = aws.iam.RolePolicy(
            f"{name}-ebs-csi-role-kms",
            role=ebs_role.name,
            policy=pulumi.Output.from_input(args.ebs_kms_key_arn).apply(_ebs_kms_policy),
            opts=child,
        )

        # -- node security group ---------------------------------------------------------
        # Not tagged kubernetes.io/cluster/<name>: the cluster security group already is, and
        # the AWS Load Balancer Controller wants exactly one tagged group per node ENI.
        node_sg = aws.ec2.SecurityGroup(
            f"{name}-node",
            vpc_id=args.vpc_id,
            description=f"EKS nodes of {cluster_name}",
            revoke_rules_on_delete=True,
            tags=tags(f"{name}-node"),
            opts=child,
        )

        def ingress(
            rule: str,
            security_group_id: pulumi.Input[str],
            source: pulumi.Input[str],
            protocol: str,
            ports: tuple[int, int] | None,
            description: str,
        ) -> None:
            port_args = {"from_port": ports[0], "to_port": ports[1]} if ports else {}
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-{rule}",
                security_group_id=security_group_id,
                referenced_security_group_id=source,
                ip_protocol=protocol,
                description=description,
                tags=tags(f"{name}-{rule}"),
                opts=child,
                **port_args,
            )

        ingress("node-from-nodes", node_sg.id, node_sg.id, "-1", None, "Node to node, all")
        ingress(
            "node-from-cluster-https",
            node_sg.id,
            cluster_security_group_id,
            "tcp",
            (443, 443),
            "Control plane to webhooks and extension API servers on 443",
        )
        ingress(
            "node-from-cluster-kubelet",
            node_sg.id,
            cluster_security_group_id,
            "tcp",
            (10250, 10250),
            "Control plane to kubelet",
        )
        ingress(
            "node-from-cluster-webhooks",
            node_sg.id,
            cluster_security_group_id,
            "tcp",
            (1025, 65535),
            "Control plane to webhooks and metrics on high ports",
        )
        ingress(
            "cluster-from-nodes-https",
            cluster_security_group_id,
            node_sg.id,
            "tcp",
            (443, 443),
            "Nodes to the Kubernetes API",
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-node-egress",
            security_group_id=node_sg.id,
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="-1",
            description="Nodes to anywhere (image pulls, AWS APIs through NAT or endpoints)",
            tags=tags(f"{name}-node-egress"),
            opts=child,
        )

        # -- add-ons every node needs before it joins ------------------------------------
        def addon(
            role: str,
            addon_name: str,
            *,
            depends_on: Sequence[pulumi.Resource],
            service_account_role: aws.iam.Role | None = None,
            configuration: Mapping[str, Any] | None = None,
        ) -> aws.eks.Addon:
            return aws.eks.Addon(
                f"{name}-{role}",
                cluster_name=cluster.name,
                addon_name=addon_name,
                service_account_role_arn=service_account_role.arn if service_account_role else None,
                configuration_values=json.dumps(configuration) if configuration else None,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                tags=tags(f"{name}-{role}"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)),
            )

        vpc_cni = addon(
            "vpc-cni",
            "vpc-cni",
            service_account_role=cni_role,
            configuration={"enableNetworkPolicy": "true"},
            depends_on=cni_role_policies,
        )
        kube_proxy = addon("kube-proxy", "kube-proxy", depends_on=[])
        pod_identity = addon("pod-identity-agent", "eks-pod-identity-agent", depends_on=[])

        # -- node pools ------------------------------------------------------------------
        node_groups = [
            self._node_pool(
                name,
                pool_role,
                pool,
                args=args,
                cluster=cluster,
                cluster_name=cluster_name,
                node_role=node_role,
                security_group_ids=[node_sg.id, cluster_security_group_id],
                depends_on=[vpc_cni, kube_proxy, pod_identity, *node_role_policies],
                tags=tags,
            )
            for pool_role, pool in (("system", args.system_pool), ("workload", args.workload_pool))
        ]

        # -- add-ons that need nodes to schedule on --------------------------------------
        coredns = addon("coredns", "coredns", depends_on=node_groups)
        ebs_csi = addon(
            "ebs-csi",
            "aws-ebs-csi-driver",
            service_account_role=ebs_role,
            depends_on=[*node_groups, *ebs_role_policies, ebs_role_kms],
        )

        # -- Kubernetes provider for the application layer -------------------------------
        self.kubeconfig = pulumi.Output.all(
            cluster.name, cluster.endpoint, cluster.certificate_authority.data
        ).apply(lambda values: _kubeconfig(values, args.region))
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(
                parent=self,
                # Workloads go on only once someone may reach the API and nodes run DNS.
                depends_on=[*admin_grants, coredns, ebs_csi],
            ),
        )

        self.cluster_name = cluster.name
        self.endpoint = cluster.endpoint
        self.oidc_provider_arn = oidc.arn
        self.oidc_provider_url = oidc_url
        self.node_security_group_id = node_sg.id
        self.cluster_security_group_id = cluster_security_group_id
        self.node_role_arn = node_role.arn
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "endpoint": self.endpoint,
                "oidcProviderArn": self.oidc_provider_arn,
                "oidcProviderUrl": self.oidc_provider_url,
                "nodeSecurityGroupId": self.node_security_group_id,
                "clusterSecurityGroupId": self.cluster_security_group_id,
                "nodeRoleArn": self.node_role_arn,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _node_pool(
        self,
        name: str,
        pool_role: str,
        pool: NodePoolArgs,
        *,
        args: ClusterArgs,
        cluster: aws.eks.Cluster,
        cluster_name: str,
        node_role: aws.iam.Role,
        security_group_ids: list[pulumi.Input[str]],
        depends_on: list[pulumi.Resource],
        tags: Callable[[str], dict[str, str]],
    ) -> aws.eks.NodeGroup:
        """A launch template (IMDSv2, encrypted gp3 root) and the managed node group on it."""
        pool_name = f"{name}-{pool_role}"
        template_name = f"{pool_name}-launch-template"
        launch_template = aws.ec2.LaunchTemplate(
            template_name,
            description=f"EKS {pool_role} nodes of {cluster_name}",
            update_default_version=True,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                # One hop: the node reaches IMDS, pods do not (they use IRSA / pod identity).
                http_put_response_hop_limit=1,
                instance_metadata_tags="disabled",
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=pool.disk_size_gib,
                        volume_type="gp3",
                        encrypted="true",
                        kms_key_id=args.ebs_kms_key_arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            vpc_security_group_ids=security_group_ids,
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags(pool_name))
                for kind in ("instance", "volume", "network-interface")
            ],
            tags=tags(template_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return aws.eks.NodeGroup(
            pool_name,
            cluster_name=cluster.name,
            # Follows the control plane: raising kubernetes_version rolls the nodes after it.
            version=cluster.version,
            node_role_arn=node_role.arn,
            subnet_ids=list(args.subnet_ids),
            ami_type=AMI_TYPE,
            capacity_type=pool.capacity_type.value,
            instance_types=list(pool.instance_types),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=pool.min_size,
                max_size=pool.max_size,
                desired_size=pool.desired_size,
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable_percentage=33),
            labels={**pool.labels, POOL_LABEL: pool_role},
            taints=[
                aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value, effect=t.effect.value)
                for t in pool.taints
            ],
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=launch_template.id,
                version=launch_template.latest_version.apply(
                    lambda v: None if v is None else str(v)
                ),
            ),
            tags=tags(pool_name),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=depends_on,
                # The cluster autoscaler owns the node count once the pool exists.
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )


def _ebs_kms_policy(key_arn: str) -> str:
    """What the EBS CSI controller needs on a customer key (AWS's documented policy)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                    "Resource": key_arn,
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                },
                {
                    "Effect": "Allow",
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:DescribeKey",
                    ],
                    "Resource": key_arn,
                },
            ],
        }
    )
