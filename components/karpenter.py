"""`Karpenter`: nodes for the cluster's pods, added as they go Pending and removed when idle.

Karpenter watches for pods the scheduler cannot place and launches EC2 instances that fit
them (from the NodePools' requirements), and consolidates or expires nodes that are empty,
underused or old. The estate installs it with everything it needs around it: the
controller's IRSA role (the documented controller policy, scoped to this cluster's tags and
ARNs), the interruption queue and the EventBridge rules that feed it (spot interruptions,
rebalance recommendations, instance state changes, scheduled maintenance), the nodes' own
IAM role, instance profile and EKS access entry, the Helm releases (CRDs, then the
controller), an `EC2NodeClass` and two `NodePool`s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from osp.components._discovery import DISCOVERY_TAG
from osp.components.cluster import POOL_LABEL, irsa_trust_policy
from osp.components.helm import pinned_release
from osp.platform import iam, limits
from osp.platform.naming import NameKind, fit
from osp.platform.spec import CapacityType
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:karpenter:Karpenter"

#: Karpenter's charts, from the public ECR OCI registry, at one pinned version (1.14.1
#: supports Kubernetes 1.30 to 1.36, every version osp deploys).
CHART = "oci://public.ecr.aws/karpenter/karpenter"
CRD_CHART = "oci://public.ecr.aws/karpenter/karpenter-crd"
CHART_VERSION = "1.14.1"

#: Where the controller runs, and the service account its IRSA role trusts.
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "karpenter"


#: The EC2NodeClass both NodePools launch from.
NODE_CLASS = "osp"

#: EventBridge rules feeding the interruption queue: (rule, source, detail type).
INTERRUPTION_EVENTS = (
    ("scheduled-change", "aws.health", "AWS Health Event"),
    ("spot-interruption", "aws.ec2", "EC2 Spot Instance Interruption Warning"),
    ("rebalance", "aws.ec2", "EC2 Instance Rebalance Recommendation"),
    ("instance-state-change", "aws.ec2", "EC2 Instance State-change Notification"),
)

#: The AWS managed policies of a node (the CNI's are on its own IRSA role, not the node's).
NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)

#: Karpenter's spelling of each capacity type.
CAPACITY_TYPE_VALUES = {CapacityType.ON_DEMAND: "on-demand", CapacityType.SPOT: "spot"}

#: Interruption messages are useless after a few minutes: the instance is gone by then.
QUEUE_RETENTION_SECONDS = 300

_INSTANCE_CATEGORY = limits.pattern(r"[a-z]", "an EC2 instance category letter such as c, m or r")
_CHART_VERSION = limits.pattern(
    r"\d+\.\d+\.\d+", "a pinned chart version X.Y.Z such as 1.14.1 (no ranges, never 'latest')"
)
_CLUSTER_NAME = limits.pattern(r"[A-Za-z][A-Za-z0-9_-]{0,99}", "an EKS cluster name")
_REPLICAS = limits.whole_range(1, 5)


@dataclass(frozen=True, kw_only=True)
class NodePoolLimits:
    """The most one NodePool may hold over all its nodes together."""

    cpu: int
    """vCPUs (1–10000)."""

    memory_gib: int
    """Memory, GiB (1–80000)."""


@dataclass(frozen=True, kw_only=True)
class KarpenterArgs:
    """Arguments of `Karpenter`. Its Kubernetes objects go through the provider the caller
    gives in `opts` (`providers=[cluster.provider]`)."""

    cluster_name: str
    """The EKS cluster's name: the controller's policy is scoped to resources tagged with it,
    and the node class selects subnets and security groups by `karpenter.sh/discovery`
    with this value."""

    cluster_endpoint: pulumi.Input[str]
    """The cluster's API endpoint (the controller's `settings.clusterEndpoint`)."""

    region: str
    """The cluster's region, such as us-east-1. Given explicitly: the nodes' IMDS hop limit
    of 1 keeps pods away from the metadata service the controller would otherwise ask."""

    oidc_provider_arn: pulumi.Input[str]
    """The cluster's IAM OIDC provider: the controller's IRSA role trusts it."""

    oidc_provider_url: pulumi.Input[str]
    """The provider's issuer without `https://`, as trust policies name it."""

    kms_key_arn: pulumi.Input[str]
    """Customer key of the interruption queue and of the nodes' root volumes."""

    limits: NodePoolLimits
    """Ceiling of the workload NodePool."""

    system_limits: NodePoolLimits
    """Ceiling of the system NodePool (on demand, for add-ons that outgrow the managed
    system node group)."""

    capacity_types: Sequence[CapacityType] = (CapacityType.ON_DEMAND,)
    """What the workload NodePool may buy. Default: on demand only. With both, Karpenter
    takes spot where it has the capacity and on demand where it does not."""

    instance_categories: Sequence[str] = ("c", "m", "r")
    """EC2 instance categories of the workload NodePool (generation 6 or newer, x86_64).
    Default: compute, general purpose and memory optimised."""

    expire_after_hours: int = 720
    """Hours a node lives before it is replaced (1–8760). Default: 720 (30 days)."""

    disk_size_gib: int = 50
    """Root volume of each node (gp3, encrypted with `kms_key_arn`), 20–1000. Default: 50."""

    replicas: int = 2
    """Controller pods (1–5; two for leader election and availability). Default: 2."""

    chart_version: str = CHART_VERSION
    """The karpenter and karpenter-crd chart version, pinned. Default: 1.14.1."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every AWS resource, and on every instance, volume and interface Karpenter
    launches."""


def problems(name: str, args: KarpenterArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("Karpenter", name)
    check.against(_CLUSTER_NAME, "cluster_name", args.cluster_name)
    check.against(limits.AWS_REGION, "region", args.region)
    for arg in ("limits", "system_limits"):
        ceiling = getattr(args, arg)
        check.against(limits.KARPENTER_CPU, f"{arg}.cpu", ceiling.cpu)
        check.against(limits.KARPENTER_MEMORY_GIB, f"{arg}.memory_gib", ceiling.memory_gib)
    kinds = list(args.capacity_types)
    check.check(
        bool(kinds)
        and all(isinstance(k, CapacityType) for k in kinds)
        and len(set(kinds)) == len(kinds),
        "capacity_types",
        kinds,
        "ON_DEMAND, SPOT or both, each once",
    )
    if not args.instance_categories:
        check.add("instance_categories", [], "at least one instance category")
    for category in args.instance_categories:
        check.against(_INSTANCE_CATEGORY, "instance_categories", category)
    check.against(
        limits.KARPENTER_EXPIRE_AFTER_HOURS, "expire_after_hours", args.expire_after_hours
    )
    check.against(limits.NODE_DISK_GIB, "disk_size_gib", args.disk_size_gib)
    check.against(_REPLICAS, "replicas", args.replicas)
    check.against(_CHART_VERSION, "chart_version", args.chart_version)
    return check.found


# -- the controller's permissions ----------------------------------------------------------


def controller_policy(
    *,
    cluster_name: str,
    partition: str,
    region: str,
    account: str,
    queue_arn: str,
    node_role_arn: str,
    instance_profile_arn: str,
    kms_key_arn: str,
) -> str:
    """Karpenter's documented controller policy (v1), scoped to this cluster: it launches,
    tags and terminates only instances, templates and fleets tagged as this cluster's and a
    NodePool's; passes only the nodes' role; reads only its own queue and instance profile.
    Instance profiles are not its to create (the estate makes the one it uses), so the
    documented instance-profile management is left out; the key statements let it launch
    volumes encrypted with the estate's key and read the encrypted queue."""
    ec2 = f"arn:{partition}:ec2:{region}"
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{cluster_name}": "owned"}
    pool = {"aws:ResourceTag/karpenter.sh/nodepool": "*"}
    requested = {
        f"aws:RequestTag/kubernetes.io/cluster/{cluster_name}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster_name,
    }
    launched = [
        f"{ec2}:*:{kind}/*"
        for kind in (
            "fleet",
            "instance",
            "volume",
            "network-interface",
            "launch-template",
            "spot-instances-request",
        )
    ]
    return iam.policy(
        {
            "Sid": "AllowScopedEC2InstanceAccessActions",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Resource": [
                f"{ec2}::image/*",
                f"{ec2}::snapshot/*",
                f"{ec2}:*:security-group/*",
                f"{ec2}:*:subnet/*",
                f"{ec2}:*:capacity-reservation/*",
                f"{ec2}:*:placement-group/*",
            ],
        },
        {
            "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Resource": f"{ec2}:*:launch-template/*",
            "Condition": {"StringEquals": owned, "StringLike": pool},
        },
        {
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            "Resource": launched,
            "Condition": {
                "StringEquals": requested,
                "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
            },
        },
        {
            "Sid": "AllowScopedResourceCreationTagging",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": launched,
            "Condition": {
                "StringEquals": {
                    **requested,
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
            },
        },
        {
            "Sid": "AllowScopedResourceTagging",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": f"{ec2}:*:instance/*",
            "Condition": {
                "StringEquals": owned,
                "StringLike": pool,
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster_name},
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                },
            },
        },
        {
            "Sid": "AllowScopedDeletion",
            "Effect": "Allow",
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
            "Condition": {"StringEquals": owned, "StringLike": pool},
        },
        {
            # Describe calls support no resource-level permissions: held to the region.
            "Sid": "AllowRegionalReadActions",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeCapacityReservations",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceStatus",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeInstances",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribePlacementGroups",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
            ],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
        },
        {
            "Sid": "AllowSSMReadActions",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*",
        },
        {
            # The Price List API has no resources to name.
            "Sid": "AllowPricingReadActions",
            "Effect": "Allow",
            "Action": "pricing:GetProducts",
            "Resource": "*",
        },
        {
            "Sid": "AllowInterruptionQueueActions",
            "Effect": "Allow",
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            "Resource": queue_arn,
        },
        {
            "Sid": "AllowPassingInstanceRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": node_role_arn,
            "Condition": {
                "StringEquals": {
                    "iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]
                }
            },
        },
        {
            "Sid": "AllowInstanceProfileReadActions",
            "Effect": "Allow",
            "Action": "iam:GetInstanceProfile",
            "Resource": instance_profile_arn,
        },
        {
            # Its instance-profile garbage collector lists; listing names no resource.
            "Sid": "AllowUnscopedInstanceProfileListAction",
            "Effect": "Allow",
            "Action": "iam:ListInstanceProfiles",
            "Resource": "*",
        },
        {
            "Sid": "AllowAPIServerEndpointDiscovery",
            "Effect": "Allow",
            "Action": "eks:DescribeCluster",
            "Resource": f"arn:{partition}:eks:{region}:{account}:cluster/{cluster_name}",
        },
        {
            "Sid": "AllowEncryptedVolumes",
            "Effect": "Allow",
            "Action": [
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
            ],
            "Resource": kms_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"ec2.{region}.amazonaws.com"}},
        },
        {
            "Sid": "AllowEncryptedVolumeGrants",
            "Effect": "Allow",
            "Action": "kms:CreateGrant",
            "Resource": kms_key_arn,
            "Condition": {
                "StringEquals": {"kms:ViaService": f"ec2.{region}.amazonaws.com"},
                "Bool": {"kms:GrantIsForAWSResource": "true"},
            },
        },
        {
            "Sid": "AllowEncryptedQueue",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": kms_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}},
        },
    )


def interruption_queue_policy(*, queue_arn: str, rule_arns: Sequence[str]) -> str:
    """Only the estate's interruption rules may send to the queue, and nothing without TLS."""
    return iam.policy(
        iam.deny_insecure_transport("sqs:*", queue_arn),
        {
            "Sid": "InterruptionRulesSend",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": list(rule_arns)}},
        },
    )


# -- what runs on the cluster ----------------------------------------------------------------


def controller_values(
    args: KarpenterArgs, *, role_arn: pulumi.Input[str], queue_name: pulumi.Input[str]
) -> dict[str, Any]:
    """Chart values: the controller on the managed system nodes, never on its own."""
    return {
        "replicas": args.replicas,
        "serviceAccount": {
            "create": True,
            "name": SERVICE_ACCOUNT,
            "annotations": {"eks.amazonaws.com/role-arn": role_arn},
        },
        "settings": {
            "clusterName": args.cluster_name,
            "clusterEndpoint": args.cluster_endpoint,
            "interruptionQueue": queue_name,
        },
        "controller": {
            "env": [{"name": "AWS_REGION", "value": args.region}],
            "resources": {
                "requests": {"cpu": "250m", "memory": "512Mi"},
                "limits": {"memory": "1Gi"},
            },
        },
        # On the managed system node group: a node Karpenter launched could be consolidated
        # away from under the controller that would have to replace it.
        "nodeSelector": {"kubernetes.io/os": "linux", POOL_LABEL: "system"},
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
        "podDisruptionBudget": {"name": SERVICE_ACCOUNT, "maxUnavailable": 1},
        # CoreDNS may itself be waiting for nodes Karpenter has to launch.
        "dnsPolicy": "Default",
    }


def node_class_spec(args: KarpenterArgs, *, instance_profile: pulumi.Input[str]) -> dict[str, Any]:
    """The EC2NodeClass: AL2023, IMDSv2 only with one hop (pods cannot borrow the node's
    role), an encrypted gp3 root volume, the discovery-tagged private subnets and node
    security group, the estate's tags on everything launched."""
    selector = [{"tags": {DISCOVERY_TAG: args.cluster_name}}]
    return {
        "amiSelectorTerms": [{"alias": "al2023@latest"}],
        "instanceProfile": instance_profile,
        "subnetSelectorTerms": selector,
        "securityGroupSelectorTerms": selector,
        "metadataOptions": {
            "httpEndpoint": "enabled",
            "httpProtocolIPv6": "disabled",
            "httpPutResponseHopLimit": 1,
            "httpTokens": "required",
        },
        "blockDeviceMappings": [
            {
                "deviceName": "/dev/xvda",
                "rootVolume": True,
                "ebs": {
                    "volumeSize": f"{args.disk_size_gib}Gi",
                    "volumeType": "gp3",
                    "encrypted": True,
                    "kmsKeyID": args.kms_key_arn,
                    "deleteOnTermination": True,
                },
            }
        ],
        "tags": dict(args.tags),
    }


def node_pool_spec(
    args: KarpenterArgs,
    pool_role: str,
    *,
    capacity_types: Sequence[CapacityType],
    ceiling: NodePoolLimits,
) -> dict[str, Any]:
    """A NodePool whose nodes carry `osp.io/pool=<pool_role>` (what the workloads and add-ons
    select), consolidated when empty or underused, replaced after `expire_after_hours`."""
    requirements = [
        {
            "key": "karpenter.sh/capacity-type",
            "operator": "In",
            "values": [CAPACITY_TYPE_VALUES[c] for c in capacity_types],
        },
        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
        {
            "key": "karpenter.k8s.aws/instance-category",
            "operator": "In",
            "values": list(args.instance_categories),
        },
        {"key": "karpenter.k8s.aws/instance-generation", "operator": "Gt", "values": ["5"]},
    ]
    template: dict[str, Any] = {
        "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": NODE_CLASS},
        "requirements": requirements,
        "expireAfter": f"{args.expire_after_hours}h",
    }
    if pool_role == "system":
        template["taints"] = [{"key": "CriticalAddonsOnly", "effect": "NoSchedule"}]
    return {
        "template": {"metadata": {"labels": {POOL_LABEL: pool_role}}, "spec": template},
        "disruption": {
            "consolidationPolicy": "WhenEmptyOrUnderutilized",
            "consolidateAfter": "1m",
            # At most a tenth of the pool's nodes go at once, however many are idle.
            "budgets": [{"nodes": "10%"}],
        },
        "limits": {"cpu": str(ceiling.cpu), "memory": f"{ceiling.memory_gib}Gi"},
    }


class Karpenter(pulumi.ComponentResource):
    """Karpenter on an EKS cluster, with its AWS side and its node pools.

    - Controller: IRSA role trusted by `kube-system/karpenter` only, with the documented
      controller policy scoped to this cluster's tags, its queue, its node role and instance
      profile, and the estate's key through EC2 and SQS only.
    - Interruption queue (SSE with the estate's key, five minutes' retention; a policy that
      lets only the estate's four EventBridge rules send and refuses requests without TLS),
      fed by rules for spot interruptions, rebalance recommendations, instance state
      changes and AWS Health scheduled changes, so nodes are drained before they go.
    - Nodes: their own IAM role (worker, ECR pull-only, SSM), instance profile, and an
      `EC2_LINUX` EKS access entry so they can join.
    - Helm: the karpenter-crd chart, then the controller chart (CRDs skipped), both pinned,
      from the public ECR OCI registry; the controller on the managed system nodes.
    - `EC2NodeClass` `osp` and two `NodePool`s: `system` (on demand, tainted
      `CriticalAddonsOnly`, for add-ons) and `workload` (`capacity_types`), both labelled
      `osp.io/pool`, consolidated when empty or underused, capped by their limits.
    """

    role_arn: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    queue_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        child = pulumi.ResourceOptions(parent=self)
        lookup = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=lookup)
        account = aws.get_caller_identity_output(opts=lookup).account_id

        queue, rules = self._interruption(name, args, child)
        node_role, profile, access = self._nodes(name, args, partition, child)
        role, role_policy = self._controller_role(
            name, args, partition, account, queue, node_role, profile, child
        )

        crds = pinned_release(
            f"{name}-crds",
            name="karpenter-crd",
            chart=CRD_CHART,
            version=args.chart_version,
            namespace=NAMESPACE,
            opts=child,
        )
        controller = pinned_release(
            f"{name}-controller",
            name="karpenter",
            chart=CHART,
            version=args.chart_version,
            namespace=NAMESPACE,
            # The CRDs are the karpenter-crd release's: Helm never upgrades a chart's crds/.
            skip_crds=True,
            values=controller_values(args, role_arn=role.arn, queue_name=queue.name),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[crds, role_policy, access, *rules]
            ),
        )
        # The node class and pools need the CRDs, and are only useful once the controller runs.
        after_controller = pulumi.ResourceOptions(parent=self, depends_on=[controller])
        node_class = k8s.apiextensions.CustomResource(
            f"{name}-node-class",
            api_version="karpenter.k8s.aws/v1",
            kind="EC2NodeClass",
            metadata={"name": NODE_CLASS},
            spec=node_class_spec(args, instance_profile=profile.name),
            opts=after_controller,
        )
        pools = {
            "system": ([CapacityType.ON_DEMAND], args.system_limits),
            "workload": (list(args.capacity_types), args.limits),
        }
        for pool_role, (kinds, ceiling) in pools.items():
            k8s.apiextensions.CustomResource(
                f"{name}-{pool_role}",
                api_version="karpenter.sh/v1",
                kind="NodePool",
                metadata={"name": pool_role},
                spec=node_pool_spec(args, pool_role, capacity_types=kinds, ceiling=ceiling),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[controller, node_class]),
            )

        self.role_arn = role.arn
        self.node_role_arn = node_role.arn
        self.queue_name = queue.name
        self.register_outputs(
            {"roleArn": self.role_arn, "nodeRoleArn": self.node_role_arn, "queueName": queue.name}
        )

    def _interruption(
        self, name: str, args: KarpenterArgs, child: pulumi.ResourceOptions
    ) -> tuple[aws.sqs.Queue, list[pulumi.Resource]]:
        """The interruption queue, the rules that feed it, and its policy."""
        queue = aws.sqs.Queue(
            f"{name}-interruption",
            name=fit(f"{args.cluster_name}-karpenter", NameKind.SQS_QUEUE),
            message_retention_seconds=QUEUE_RETENTION_SECONDS,
            kms_master_key_id=args.kms_key_arn,
            kms_data_key_reuse_period_seconds=300,
            tags={"Name": f"{name}-interruption", **args.tags},
            opts=child,
        )
        rules, targets = [], []
        for rule_name, source, detail_type in INTERRUPTION_EVENTS:
            resource_name = f"{name}-{rule_name}"
            rule = aws.cloudwatch.EventRule(
                resource_name,
                name=fit(f"{args.cluster_name}-karpenter-{rule_name}"),
                description=f"{detail_type} to Karpenter's interruption queue",
                event_pattern=json.dumps({"source": [source], "detail-type": [detail_type]}),
                tags={"Name": resource_name, **args.tags},
                opts=child,
            )
            rules.append(rule)
            targets.append(
                aws.cloudwatch.EventTarget(
                    resource_name,
                    rule=rule.name,
                    arn=queue.arn,
                    target_id="karpenter-interruption-queue",
                    opts=child,
                )
            )
        queue_policy = aws.sqs.QueuePolicy(
            f"{name}-interruption-policy",
            queue_url=queue.url,
            policy=pulumi.Output.all(queue.arn, *[r.arn for r in rules]).apply(
                lambda v: interruption_queue_policy(queue_arn=v[0], rule_arns=v[1:])
            ),
            opts=child,
        )
        return queue, [*targets, queue_policy]

    def _nodes(
        self, name: str, args: KarpenterArgs, partition: Any, child: pulumi.ResourceOptions
    ) -> tuple[aws.iam.Role, aws.iam.InstanceProfile, aws.eks.AccessEntry]:
        """The nodes' role, its instance profile and the access entry that lets them join."""
        role_name = f"{name}-node-role"
        role = aws.iam.Role(
            role_name,
            name=fit(f"{args.cluster_name}-karpenter-node", NameKind.IAM),
            description=f"Nodes Karpenter launches for {args.cluster_name}",
            assume_role_policy=partition.dns_suffix.apply(
                lambda suffix: iam.service_trust(f"ec2.{suffix}")
            ),
            tags={"Name": role_name, **args.tags},
            opts=child,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{role_name}-{policy}",
                role=role.name,
                policy_arn=pulumi.Output.concat(
                    "arn:", partition.partition, ":iam::aws:policy/", policy
                ),
                opts=child,
            )
            for policy in NODE_POLICIES
        ]
        profile_name = f"{name}-node-profile"
        profile = aws.iam.InstanceProfile(
            profile_name,
            name=fit(f"{args.cluster_name}-karpenter-node", NameKind.IAM),
            role=role.name,
            tags={"Name": profile_name, **args.tags},
            opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
        )
        access_name = f"{name}-node-access"
        access = aws.eks.AccessEntry(
            access_name,
            # The name is known up front; the endpoint carries the wait for the cluster.
            cluster_name=pulumi.Output.from_input(args.cluster_endpoint).apply(
                lambda _: args.cluster_name
            ),
            principal_arn=role.arn,
            type="EC2_LINUX",
            tags={"Name": access_name, **args.tags},
            opts=child,
        )
        return role, profile, access

    def _controller_role(
        self,
        name: str,
        args: KarpenterArgs,
        partition: Any,
        account: pulumi.Output[str],
        queue: aws.sqs.Queue,
        node_role: aws.iam.Role,
        profile: aws.iam.InstanceProfile,
        child: pulumi.ResourceOptions,
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        """The controller's IRSA role and its one inline policy."""
        role_name = f"{name}-role"
        role = aws.iam.Role(
            role_name,
            name=fit(f"{args.cluster_name}-karpenter", NameKind.IAM),
            description=f"Karpenter controller ({NAMESPACE}/{SERVICE_ACCOUNT}) of "
            f"{args.cluster_name}",
            assume_role_policy=irsa_trust_policy(
                args.oidc_provider_arn, args.oidc_provider_url, NAMESPACE, SERVICE_ACCOUNT
            ),
            tags={"Name": role_name, **args.tags},
            opts=child,
        )
        document = pulumi.Output.all(
            partition.partition, account, queue.arn, node_role.arn, profile.arn, args.kms_key_arn
        ).apply(
            lambda v: controller_policy(
                cluster_name=args.cluster_name,
                partition=v[0],
                region=args.region,
                account=v[1],
                queue_arn=v[2],
                node_role_arn=v[3],
                instance_profile_arn=v[4],
                kms_key_arn=v[5],
            )
        )
        policy = aws.iam.RolePolicy(
            f"{role_name}-policy", role=role.name, policy=document, opts=child
        )
        return role, policy
