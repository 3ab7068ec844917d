"""`Cluster`: the estate's EKS cluster, its managed node pools, add-ons and IRSA.

Built from pulumi_aws primitives (aws.eks.Cluster, NodeGroup, Addon, AccessEntry, …) rather
than `pulumi_eks.Cluster`: that one is a multi-language component whose children are created
by its own plugin, so they never register under the offline engine (Pulumi mocks) and the plan,
the policy rules and the audit reports could not see the node groups, roles or rules it makes.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from osp.components import _checks
from osp.components._discovery import DISCOVERY_TAG
from osp.components._log_groups import log_group
from osp.platform import limits
from osp.platform.limits import Constraint, is_int
from osp.platform.naming import NameKind, fit
from osp.platform.spec import CapacityType
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:cluster:Cluster"

#: Control-plane log streams shipped to CloudWatch by default: all five (API calls, the audit
#: trail, IAM auth, and what the controller manager and scheduler did on their own).
CONTROL_PLANE_LOG_TYPES = limits.EKS_LOG_TYPES

#: The Container Insights log groups the observability add-on writes, by their last part.
INSIGHTS_LOG_GROUPS = ("application", "dataplane", "host", "performance")
#: Where the observability add-on runs its CloudWatch agent, and the agent's service account.
OBSERVABILITY_NAMESPACE = "amazon-cloudwatch"
OBSERVABILITY_SERVICE_ACCOUNT = "cloudwatch-agent"

#: Node label carrying the pool's role (`system` or `workload`), for node selectors.
POOL_LABEL = "osp.io/pool"

#: The AMI family of every node pool (EKS-managed, kept patched by EKS releases).
AMI_TYPE = "AL2023_x86_64_STANDARD"


#: Admin roles: IAM's rule for role ARNs, and what else people paste there.
_ADMIN_ROLE_ARN = Constraint(
    f"{limits.IAM_ROLE_ARN.expected} (not a user or an STS assumed-role ARN)",
    limits.IAM_ROLE_ARN.accepts,
)

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
    """Kubernetes minor version ("1.NN", one of osp.platform.limits.KUBERNETES_VERSIONS).
    Default: 1.33. Node pools follow it after the control plane upgrades."""

    public_access_cidrs: Sequence[str] = ()
    """CIDRs that may reach the public API endpoint. Default: none, and then the endpoint is
    private only (reached from inside the VPC). 0.0.0.0/0 and ::/0 are refused."""

    private_access_cidrs: Sequence[str] = ()
    """Private networks admitted on 443 to the private API endpoint besides the nodes (the
    cluster security group): where a deployer runs inside the VPC, or reaches it over peering
    or a VPN. Default: none, and only the nodes reach it. 0.0.0.0/0 is refused."""

    log_retention_days: int = 90
    """Retention of the control-plane log group (and, with `observability`, of the Container
    Insights log groups), a value CloudWatch accepts. Default: 90."""

    observability: bool = False
    """Install the `amazon-cloudwatch-observability` add-on (Container Insights metrics, Fluent
    Bit shipping every container's stdout, the X-Ray / Application Signals endpoint of the
    CloudWatch agent) with its IRSA role, after creating its four log groups
    `/aws/containerinsights/<cluster>/{application,dataplane,host,performance}` with
    `log_retention_days` and `logs_kms_key_arn` (else the agent creates them unencrypted and
    kept forever). Default: off."""

    log_types: Sequence[str] = CONTROL_PLANE_LOG_TYPES
    """Control-plane log types sent to that group (osp.platform.limits.EKS_LOG_TYPES), at least
    one, each once. Default: all five."""

    deletion_protection: bool = True
    """Protect the cluster (EKS deletion protection and Pulumi `protect`) and its log group
    (CloudWatch deletion protection). Default: on."""

    system_pool: NodePoolArgs = field(default_factory=_default_system_pool)
    """Pool for cluster add-ons (CoreDNS, CSI controller, autoscaler). Always ON_DEMAND.
    Default: 2–3 × m6i.large, 2 at creation."""

    workload_pool: NodePoolArgs | None = field(default_factory=_default_workload_pool)
    """Pool for the application workloads. Default: 2–10 × m6i/m6a.xlarge on demand, 3 at
    creation. None: no managed workload pool (Karpenter launches the workloads' nodes,
    `osp.components.karpenter`)."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource (osp's tag set, from osp.platform.naming.standard_tags)."""


def _label_problems(check: Problems, where: str, pool_role: str, labels: Mapping[str, str]) -> None:
    for key, value in labels.items():
        if key == POOL_LABEL:
            check.note(f"{where}.labels", f"{POOL_LABEL} is set by osp to {pool_role!r}; remove it")
        else:
            check.against(limits.K8S_LABEL_KEY, f"{where}.labels", key)
        check.against(limits.K8S_LABEL_VALUE, f"{where}.labels[{key!r}]", value)


def _taint_problems(check: Problems, where: str, taints: Sequence[Taint]) -> None:
    for taint in taints:
        check.against(limits.K8S_LABEL_KEY, f"{where}.taints", taint.key)
        if taint.value is not None:
            check.against(
                limits.K8S_LABEL_VALUE, f"{where}.taints[{taint.key!r}].value", taint.value
            )
        if not isinstance(taint.effect, TaintEffect):
            check.add(
                f"{where}.taints[{taint.key!r}].effect",
                taint.effect,
                "NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE",
            )


def _pool_problems(check: Problems, pool_role: str, pool: NodePoolArgs) -> None:
    where = f"{pool_role}_pool"
    if not pool.instance_types:
        check.add(f"{where}.instance_types", [], "at least one instance type")
    for instance_type in pool.instance_types:
        check.against(limits.NODE_INSTANCE_TYPE, f"{where}.instance_types", instance_type)
    low, high, desired = pool.min_size, pool.max_size, pool.desired_size
    check.against(limits.NODE_POOL_MIN_SIZE, f"{where}.min_size", low)
    check.against(limits.NODE_POOL_MAX_SIZE, f"{where}.max_size", high)
    if is_int(low) and is_int(high) and not (is_int(desired) and low <= desired <= high):
        check.add(
            f"{where}.desired_size", desired, f"between min_size ({low}) and max_size ({high})"
        )
    disk = pool.disk_size_gib
    check.against(limits.NODE_DISK_GIB, f"{where}.disk_size_gib", disk)
    check.check(
        isinstance(pool.capacity_type, CapacityType),
        f"{where}.capacity_type",
        pool.capacity_type,
        "ON_DEMAND or SPOT",
    )
    _label_problems(check, where, pool_role, pool.labels)
    _taint_problems(check, where, pool.taints)


def _admin_problems(check: Problems, arns: Sequence[str]) -> None:
    if not arns:
        check.add(
            "admin_role_arns",
            [],
            "at least one IAM role ARN (the cluster grants no "
            "access to its creator, so nobody could administer it)",
        )
    seen: dict[str, str] = {}
    for arn in arns:
        if not check.against(_ADMIN_ROLE_ARN, "admin_role_arns", arn):
            continue
        role = role_name(arn)
        if role in seen:
            check.note(
                "admin_role_arns",
                f"{arn!r} and {seen[role]!r} share the role name "
                f"{role!r}; expected each role once, with distinct names",
            )
        seen[role] = arn


def _access_problems(check: Problems, arg: str, cidrs: Sequence[str]) -> None:
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(cidr, strict=True)
        except ValueError as exc:
            check.add(arg, cidr, f"a CIDR block such as 203.0.113.0/24 ({exc})")
            continue
        if network.prefixlen == 0:
            check.add(
                arg,
                cidr,
                "the networks that may reach the API, not "
                f"the whole internet; or leave {arg} empty to keep the "
                "endpoint private",
            )


def problems(name: str, args: ClusterArgs) -> list[str]:
    """Every contradiction in `args`, each naming the field, the value and what is allowed."""
    check = Problems("Cluster", name)
    check.against(limits.KUBERNETES_VERSION, "kubernetes_version", args.kubernetes_version)
    check.against(limits.AWS_REGION, "region", args.region)
    if len(args.subnet_ids) < 2:
        check.add(
            "subnet_ids",
            len(args.subnet_ids),
            "private subnets in at least 2 zones (EKS requires two)",
        )
    _admin_problems(check, args.admin_role_arns)
    for log_type in args.log_types:
        check.against(limits.EKS_LOG_TYPE, "log_types", log_type)
    if not args.log_types or len(set(args.log_types)) != len(args.log_types):
        check.add("log_types", list(args.log_types), "at least one log type, each once")
    _access_problems(check, "public_access_cidrs", args.public_access_cidrs)
    _access_problems(check, "private_access_cidrs", args.private_access_cidrs)
    check.extend(_checks.common(args))
    _pool_problems(check, "system", args.system_pool)
    if args.workload_pool is not None:
        _pool_problems(check, "workload", args.workload_pool)
    capacity = args.system_pool.capacity_type
    if isinstance(capacity, CapacityType) and capacity is not CapacityType.ON_DEMAND:
        check.add(
            "system_pool.capacity_type",
            capacity.value,
            "ON_DEMAND (cluster add-ons must not run on reclaimable spot capacity)",
        )
    return check.found


def role_name(arn: str) -> str:
    """The name of the role of a valid IAM role ARN: its last path segment."""
    return arn.rsplit("/", 1)[1]


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
    are envelope-encrypted with the customer key; the control-plane log types go to a
    pre-created, encrypted log group. Managed node pools (system, and workload unless it is
    None, when Karpenter launches those nodes) run AL2023 from launch templates that require
    IMDSv2 (hop limit 1, so pods cannot borrow the node's role) and encrypt their disks.
    The VPC CNI (with network policy enforcement), kube-proxy and the pod identity agent are
    installed before any node joins; CoreDNS and the EBS CSI driver once nodes exist. The CNI
    and the CSI driver get their own IRSA roles, so the node role holds no more than a node
    needs.
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
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        scope = _Scope(
            component=self,
            name=name,
            args=args,
            cluster_name=fit(name, NameKind.EKS_CLUSTER),
            partition=aws.get_partition_output(opts=pulumi.InvokeOptions(parent=self)),
        )
        cluster = _control_plane(scope)
        cluster_security_group_id = cluster.vpc_config.cluster_security_group_id
        admin_grants = _admin_access(scope, cluster)
        oidc, oidc_url = _oidc_provider(scope, cluster)
        # The CNI's permissions live on its own IRSA role, not on every node. ECR pull-only
        # (not ReadOnly): nodes need to pull images, never to list or describe repositories.
        node_role, node_role_policies = _service_role(
            scope, "node", "ec2", "EKS nodes", ["AmazonEKSWorkerNodePolicy",
            "AmazonEC2ContainerRegistryPullOnly", "AmazonSSMManagedInstanceCore"],
        )  # fmt: skip
        cni_role, cni_role_policies = _irsa_role(
            scope, oidc, oidc_url, "vpc-cni", "VPC CNI", "aws-node", ["AmazonEKS_CNI_Policy"]
        )
        ebs_role, ebs_role_grants = _ebs_csi_role(scope, oidc, oidc_url)
        node_sg = _node_security_group(scope, cluster_security_group_id)
        _private_api_access(scope, cluster_security_group_id)

        # -- add-ons every node needs before it joins, the node pools, then the rest -------
        network_addons = [
            _addon(scope, cluster, "vpc-cni", "vpc-cni", depends_on=cni_role_policies,
                   service_account_role=cni_role, configuration={"enableNetworkPolicy": "true"}),
            _addon(scope, cluster, "kube-proxy", "kube-proxy", depends_on=[]),
            _addon(scope, cluster, "pod-identity-agent", "eks-pod-identity-agent", depends_on=[]),
        ]  # fmt: skip
        node_groups = [
            _node_pool(
                scope,
                pool_role,
                pool,
                cluster=cluster,
                node_role=node_role,
                security_group_ids=[node_sg.id, cluster_security_group_id],
                depends_on=[*network_addons, *node_role_policies],
            )
            for pool_role, pool in (("system", args.system_pool), ("workload", args.workload_pool))
            if pool is not None
        ]
        coredns = _addon(scope, cluster, "coredns", "coredns", depends_on=node_groups)
        ebs_csi = _addon(scope, cluster, "ebs-csi", "aws-ebs-csi-driver",
                         depends_on=[*node_groups, *ebs_role_grants],
                         service_account_role=ebs_role)  # fmt: skip
        if args.observability:
            _observability(scope, cluster, oidc, oidc_url, node_groups)

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
        self._publish(cluster, oidc, oidc_url, node_sg, node_role)

    def _publish(
        self,
        cluster: aws.eks.Cluster,
        oidc: aws.iam.OpenIdConnectProvider,
        oidc_url: pulumi.Output[str],
        node_sg: aws.ec2.SecurityGroup,
        node_role: aws.iam.Role,
    ) -> None:
        self.cluster_name = cluster.name
        self.endpoint = cluster.endpoint
        self.oidc_provider_arn = oidc.arn
        self.oidc_provider_url = oidc_url
        self.node_security_group_id = node_sg.id
        self.cluster_security_group_id = cluster.vpc_config.cluster_security_group_id
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


@dataclass(frozen=True)
class _Scope:
    """What every step of building one cluster shares."""

    component: pulumi.Resource
    name: str
    args: ClusterArgs
    cluster_name: str
    partition: Any
    """The partition lookup (`.partition`, `.dns_suffix`), as an output."""

    @property
    def child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self.component)

    def tags(self, resource_name: str) -> dict[str, str]:
        return {"Name": resource_name, **self.args.tags}

    def attach(
        self, role: aws.iam.Role, role_key: str, policies: Sequence[str]
    ) -> list[aws.iam.RolePolicyAttachment]:
        """AWS managed `policies` attached to `role`, one `<name>-<role_key>-<policy>` each."""
        return [
            aws.iam.RolePolicyAttachment(
                f"{self.name}-{role_key}-{policy.rsplit('/', 1)[-1]}",
                role=role.name,
                policy_arn=pulumi.Output.concat(
                    "arn:", self.partition.partition, ":iam::aws:policy/", policy
                ),
                opts=self.child,
            )
            for policy in policies
        ]


def _key_use_policy(key_arn: pulumi.Input[str], actions: Sequence[str]) -> pulumi.Output[str]:
    return pulumi.Output.from_input(key_arn).apply(
        lambda arn: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": arn}],
            }
        )
    )


def _control_plane(s: _Scope) -> aws.eks.Cluster:
    """The control plane's role, its log group, and the EKS cluster itself."""
    name, args = s.name, s.args
    role, role_policies = _service_role(
        s, "cluster", "eks", "EKS control plane", ["AmazonEKSClusterPolicy"]
    )
    # Envelope encryption of secrets: the control plane uses the key under its own role.
    role_kms = aws.iam.RolePolicy(
        f"{name}-cluster-role-secrets-kms",
        role=role.name,
        policy=_key_use_policy(
            args.secrets_kms_key_arn,
            ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
        ),
        opts=s.child,
    )
    logs = log_group(
        f"{name}-logs",
        # EKS writes to exactly this name; creating it first sets retention and the key.
        log_group_name=f"/aws/eks/{s.cluster_name}/cluster",
        retention_days=args.log_retention_days,
        kms_key_arn=args.logs_kms_key_arn,
        deletion_protection=args.deletion_protection,
        tags=args.tags,
        parent=s.component,
    )
    return aws.eks.Cluster(
        f"{name}-cluster",
        name=s.cluster_name,
        version=args.kubernetes_version,
        role_arn=role.arn,
        access_config=aws.eks.ClusterAccessConfigArgs(
            authentication_mode="API",
            bootstrap_cluster_creator_admin_permissions=False,
        ),
        # Every networking add-on is an EKS managed add-on below; no unmanaged copies.
        bootstrap_self_managed_addons=False,
        vpc_config=aws.eks.ClusterVpcConfigArgs(**vpc_config(args)),
        encryption_config=aws.eks.ClusterEncryptionConfigArgs(
            provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=args.secrets_kms_key_arn),
            resources=["secrets"],
        ),
        enabled_cluster_log_types=list(args.log_types),
        upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
        deletion_protection=args.deletion_protection,
        tags=s.tags(f"{name}-cluster"),
        opts=pulumi.ResourceOptions(
            parent=s.component,
            protect=args.deletion_protection,
            depends_on=[logs, *role_policies, role_kms],
        ),
    )


def vpc_config(args: ClusterArgs) -> dict[str, Any]:
    """Where the control plane's endpoint is reachable: privately always, publicly only from
    `public_access_cidrs`."""
    public = bool(args.public_access_cidrs)
    config: dict[str, Any] = {
        "subnet_ids": list(args.subnet_ids),
        "endpoint_private_access": True,
        "endpoint_public_access": public,
    }
    if public:
        config["public_access_cidrs"] = list(args.public_access_cidrs)
    return config


def _admin_access(s: _Scope, cluster: aws.eks.Cluster) -> list[pulumi.Resource]:
    """An access entry and the cluster-admin policy for each admin role."""
    admin_policy = pulumi.Output.concat(
        "arn:", s.partition.partition, ":eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    )
    grants: list[pulumi.Resource] = []
    for arn in s.args.admin_role_arns:
        entry_name = f"{s.name}-admin-{role_name(arn)}"
        entry = aws.eks.AccessEntry(
            entry_name,
            cluster_name=cluster.name,
            principal_arn=arn,
            type="STANDARD",
            tags=s.tags(entry_name),
            opts=s.child,
        )
        grants.append(
            aws.eks.AccessPolicyAssociation(
                f"{entry_name}-cluster-admin",
                cluster_name=cluster.name,
                principal_arn=entry.principal_arn,
                policy_arn=admin_policy,
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=s.child,
            )
        )
    return grants


def _oidc_provider(
    s: _Scope, cluster: aws.eks.Cluster
) -> tuple[aws.iam.OpenIdConnectProvider, pulumi.Output[str]]:
    """The IAM OIDC provider of the cluster's issuer (for IRSA), and the issuer without
    `https://`, as trust policies name it."""
    issuer = cluster.identities[0].oidcs[0].issuer
    oidc = aws.iam.OpenIdConnectProvider(
        f"{s.name}-oidc",
        url=issuer,
        client_id_lists=[_STS_AUDIENCE],
        tags=s.tags(f"{s.name}-oidc"),
        opts=s.child,
    )
    return oidc, issuer.apply(lambda url: url.removeprefix("https://"))


def _service_role(
    s: _Scope, role: str, service: str, what: str, policies: Sequence[str]
) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """The role `<name>-<role>-role` that the AWS service `service` assumes for the cluster,
    and its managed policies."""
    iam_role = aws.iam.Role(
        f"{s.name}-{role}-role",
        name=fit(f"{s.cluster_name}-{role}", NameKind.IAM),
        description=f"{what} of {s.cluster_name}",
        assume_role_policy=s.partition.dns_suffix.apply(lambda x: _service_trust(service, x)),
        tags=s.tags(f"{s.name}-{role}-role"),
        opts=s.child,
    )
    return iam_role, s.attach(iam_role, f"{role}-role", policies)


def _irsa_role(
    s: _Scope,
    oidc: aws.iam.OpenIdConnectProvider,
    oidc_url: pulumi.Output[str],
    role: str,
    what: str,
    service_account: str,
    policies: Sequence[str],
    namespace: str = "kube-system",
) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """The IRSA role `<name>-<role>-role` of an add-on's service account (in kube-system
    unless `namespace` says otherwise), and its managed policies."""
    iam_role = aws.iam.Role(
        f"{s.name}-{role}-role",
        name=fit(f"{s.cluster_name}-{role}", NameKind.IAM),
        description=f"{what} ({namespace}/{service_account}) of {s.cluster_name}",
        assume_role_policy=irsa_trust_policy(oidc.arn, oidc_url, namespace, service_account),
        tags=s.tags(f"{s.name}-{role}-role"),
        opts=s.child,
    )
    return iam_role, s.attach(iam_role, f"{role}-role", policies)


def _ebs_csi_role(
    s: _Scope, oidc: aws.iam.OpenIdConnectProvider, oidc_url: pulumi.Output[str]
) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
    """The EBS CSI controller's IRSA role, and its grants: the managed policy, and the use of
    the customer key of encrypted volumes (StorageClass kmsKeyId)."""
    role, policies = _irsa_role(
        s, oidc, oidc_url, "ebs-csi", "EBS CSI controller", "ebs-csi-controller-sa",
        ["service-role/AmazonEBSCSIDriverPolicy"],
    )  # fmt: skip
    kms = aws.iam.RolePolicy(
        f"{s.name}-ebs-csi-role-kms",
        role=role.name,
        policy=pulumi.Output.from_input(s.args.ebs_kms_key_arn).apply(_ebs_kms_policy),
        opts=s.child,
    )
    return role, [*policies, kms]


#: The node security group's ingress rules: (rule, group, source, protocol, ports, why), where
#: "node" is the node group and "cluster" the cluster security group EKS made.
NODE_INGRESS = (
    ("node-from-nodes", "node", "node", "-1", None, "Node to node, all"),
    ("node-from-cluster-https", "node", "cluster", "tcp", (443, 443),
     "Control plane to webhooks and extension API servers on 443"),
    ("node-from-cluster-kubelet", "node", "cluster", "tcp", (10250, 10250),
     "Control plane to kubelet"),
    ("node-from-cluster-webhooks", "node", "cluster", "tcp", (1025, 65535),
     "Control plane to webhooks and metrics on high ports"),
    ("cluster-from-nodes-https", "cluster", "node", "tcp", (443, 443),
     "Nodes to the Kubernetes API"),
)  # fmt: skip


def _node_security_group(
    s: _Scope, cluster_security_group_id: pulumi.Output[str]
) -> aws.ec2.SecurityGroup:
    """The nodes' own group, the rules between it and the cluster's, and the nodes' egress."""
    # Not tagged kubernetes.io/cluster/<name>: the cluster security group already is, and
    # the AWS Load Balancer Controller wants exactly one tagged group per node ENI.
    node_sg = aws.ec2.SecurityGroup(
        f"{s.name}-node",
        vpc_id=s.args.vpc_id,
        description=f"EKS nodes of {s.cluster_name}",
        revoke_rules_on_delete=True,
        # The one group Karpenter's nodes get (found by this tag): it holds every rule a
        # node needs, so they need not join the cluster security group as well.
        tags={**s.tags(f"{s.name}-node"), DISCOVERY_TAG: s.cluster_name},
        opts=s.child,
    )
    groups = {"node": node_sg.id, "cluster": cluster_security_group_id}
    for rule, group, source, protocol, ports, description in NODE_INGRESS:
        port_args = {"from_port": ports[0], "to_port": ports[1]} if ports else {}
        aws.vpc.SecurityGroupIngressRule(
            f"{s.name}-{rule}",
            security_group_id=groups[group],
            referenced_security_group_id=groups[source],
            ip_protocol=protocol,
            description=description,
            tags=s.tags(f"{s.name}-{rule}"),
            opts=s.child,
            **port_args,
        )
    aws.vpc.SecurityGroupEgressRule(
        f"{s.name}-node-egress",
        security_group_id=node_sg.id,
        cidr_ipv4="0.0.0.0/0",
        ip_protocol="-1",
        description="Nodes to anywhere (image pulls, AWS APIs through NAT or endpoints)",
        tags=s.tags(f"{s.name}-node-egress"),
        opts=s.child,
    )
    return node_sg


def _observability(
    s: _Scope,
    cluster: aws.eks.Cluster,
    oidc: aws.iam.OpenIdConnectProvider,
    oidc_url: pulumi.Output[str],
    node_groups: Sequence[pulumi.Resource],
) -> aws.eks.Addon:
    """Container Insights, Fluent Bit and the agent's X-Ray / OTLP endpoint: the add-on, its
    IRSA role, and first the log groups it writes (so they carry the retention and key)."""
    args = s.args
    groups = [
        log_group(
            f"{s.name}-insights-{kind}",
            log_group_name=f"/aws/containerinsights/{s.cluster_name}/{kind}",
            retention_days=args.log_retention_days,
            kms_key_arn=args.logs_kms_key_arn,
            tags=args.tags,
            parent=s.component,
        )
        for kind in INSIGHTS_LOG_GROUPS
    ]
    role, policies = _irsa_role(
        s, oidc, oidc_url, "cloudwatch-agent", "CloudWatch agent and Fluent Bit",
        OBSERVABILITY_SERVICE_ACCOUNT, ["CloudWatchAgentServerPolicy", "AWSXrayWriteOnlyAccess"],
        namespace=OBSERVABILITY_NAMESPACE,
    )  # fmt: skip
    return _addon(
        s,
        cluster,
        "cloudwatch-observability",
        "amazon-cloudwatch-observability",
        depends_on=[*node_groups, *groups, *policies],
        service_account_role=role,
        configuration={"containerLogs": {"enabled": True}},
    )


def _private_api_access(s: _Scope, cluster_security_group_id: pulumi.Output[str]) -> None:
    """443 on the cluster security group (the private endpoint's ENIs) from each of
    `private_access_cidrs`, named by the block so that reordering replaces nothing."""
    for cidr in s.args.private_access_cidrs:
        rule = f"{s.name}-cluster-from-{cidr.replace('.', '-').replace('/', '-')}-https"
        aws.vpc.SecurityGroupIngressRule(
            rule,
            security_group_id=cluster_security_group_id,
            cidr_ipv4=cidr,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description=f"Deployers in {cidr} to the Kubernetes API",
            tags=s.tags(rule),
            opts=s.child,
        )


def _addon(
    s: _Scope,
    cluster: aws.eks.Cluster,
    role: str,
    addon_name: str,
    *,
    depends_on: Sequence[pulumi.Resource],
    service_account_role: aws.iam.Role | None = None,
    configuration: Mapping[str, Any] | None = None,
) -> aws.eks.Addon:
    return aws.eks.Addon(
        f"{s.name}-{role}",
        cluster_name=cluster.name,
        addon_name=addon_name,
        service_account_role_arn=service_account_role.arn if service_account_role else None,
        configuration_values=json.dumps(configuration) if configuration else None,
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        tags=s.tags(f"{s.name}-{role}"),
        opts=pulumi.ResourceOptions(parent=s.component, depends_on=list(depends_on)),
    )


def _launch_template(
    s: _Scope, pool_role: str, pool: NodePoolArgs, security_group_ids: list[pulumi.Input[str]]
) -> aws.ec2.LaunchTemplate:
    """The pool's launch template: IMDSv2 only, an encrypted gp3 root volume."""
    pool_name = f"{s.name}-{pool_role}"
    template_name = f"{pool_name}-launch-template"
    return aws.ec2.LaunchTemplate(
        template_name,
        description=f"EKS {pool_role} nodes of {s.cluster_name}",
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
                    kms_key_id=s.args.ebs_kms_key_arn,
                    delete_on_termination="true",
                ),
            )
        ],
        vpc_security_group_ids=security_group_ids,
        tag_specifications=[
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=s.tags(pool_name))
            for kind in ("instance", "volume", "network-interface")
        ],
        tags=s.tags(template_name),
        opts=s.child,
    )


def _node_pool(
    s: _Scope,
    pool_role: str,
    pool: NodePoolArgs,
    *,
    cluster: aws.eks.Cluster,
    node_role: aws.iam.Role,
    security_group_ids: list[pulumi.Input[str]],
    depends_on: list[pulumi.Resource],
) -> aws.eks.NodeGroup:
    """A launch template and the managed node group on it."""
    launch_template = _launch_template(s, pool_role, pool, security_group_ids)
    pool_name = f"{s.name}-{pool_role}"
    return aws.eks.NodeGroup(
        pool_name,
        cluster_name=cluster.name,
        # Follows the control plane: raising kubernetes_version rolls the nodes after it.
        version=cluster.version,
        node_role_arn=node_role.arn,
        subnet_ids=list(s.args.subnet_ids),
        ami_type=AMI_TYPE,
        capacity_type=pool.capacity_type.value,
        instance_types=list(pool.instance_types),
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            min_size=pool.min_size, max_size=pool.max_size, desired_size=pool.desired_size
        ),
        update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable_percentage=33),
        labels={**pool.labels, POOL_LABEL: pool_role},
        taints=[
            aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value, effect=t.effect.value)
            for t in pool.taints
        ],
        launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
            id=launch_template.id,
            version=launch_template.latest_version.apply(lambda v: None if v is None else str(v)),
        ),
        tags=s.tags(pool_name),
        opts=pulumi.ResourceOptions(
            parent=s.component,
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
