"""`ClusterAddons`: what the cluster needs before the services' workloads go on.

The services' namespace (Pod Security `restricted`, enforced; every connection denied unless a
service's own NetworkPolicy allows it), the AWS Load Balancer Controller, which keeps each
service's pods registered in its target group through `TargetGroupBinding`s, and metrics-server,
which feeds the HorizontalPodAutoscalers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from osp.app.pods import label_problems, namespace_problem
from osp.components.cluster import POOL_LABEL
from osp.components.helm import pinned_release
from osp.platform.limits import AWS_REGION, IAM_ROLE_ARN, pattern, whole_range
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:app:ClusterAddons"

#: Namespace of the add-ons themselves (where EKS runs its own).
ADDONS_NAMESPACE = "kube-system"

#: The Pod Security Standard the services' namespace enforces, audits and warns about.
POD_SECURITY_LEVEL = "restricted"

#: Namespace label asking the controller to add a target-health readiness gate to the pods
#: of services it binds: a rolling update then waits until the new pod is healthy in the
#: target group, not just in Kubernetes, before it retires an old one.
READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"

LOAD_BALANCER_CONTROLLER = "aws-load-balancer-controller"
LOAD_BALANCER_CONTROLLER_REPOSITORY = "https://aws.github.io/eks-charts"
#: Chart 1.14.0 is controller v2.14.0.
LOAD_BALANCER_CONTROLLER_VERSION = "1.14.0"
#: The controller's service account: the subject its IRSA role must trust,
#: `system:serviceaccount:kube-system:aws-load-balancer-controller`.
LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT = LOAD_BALANCER_CONTROLLER

METRICS_SERVER = "metrics-server"
METRICS_SERVER_REPOSITORY = "https://kubernetes-sigs.github.io/metrics-server/"
#: Chart 3.13.0 is metrics-server v0.8.0.
METRICS_SERVER_VERSION = "3.13.0"

#: The add-ons run on the system pool; tolerating its `CriticalAddonsOnly` taint, if set.
SYSTEM_POOL_SELECTOR = {POOL_LABEL: "system"}
SYSTEM_POOL_TOLERATIONS = [{"key": "CriticalAddonsOnly", "operator": "Exists"}]

_CHART_VERSION = pattern(
    r"\d+\.\d+\.\d+",
    "a pinned chart version X.Y.Z such as 1.14.0 (no ranges, no 'v' prefix, never 'latest')",
)
_REPLICAS = whole_range(1, 5)
_VPC_ID = pattern(r"vpc-([0-9a-f]{8}|[0-9a-f]{17})", "a VPC id such as vpc-0123456789abcdef0")
_CLUSTER_NAME = pattern(r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}", "an EKS cluster name")


@dataclass(frozen=True, kw_only=True)
class ClusterAddonsArgs:
    """Arguments of `ClusterAddons`."""

    namespace: str
    """The services' namespace to create, a DNS-1123 label such as `osp-services` (not
    `default` or a `kube-*` one)."""

    cluster_name: pulumi.Input[str]
    """The EKS cluster's name: the controller tags and finds its resources by it."""

    region: str
    """AWS region of the cluster, such as us-east-1. Given explicitly because the nodes'
    IMDS hop limit of 1 keeps pods away from the metadata service the controller would ask."""

    vpc_id: pulumi.Input[str]
    """VPC of the cluster and its target groups (same reason as `region`)."""

    load_balancer_controller_role_arn: pulumi.Input[str]
    """The controller's own IAM role (IRSA), trusted by
    `system:serviceaccount:kube-system:aws-load-balancer-controller` only."""

    replicas: int = 2
    """Pods of each add-on, 1–5. Default: 2 (leader election for the controller; both
    serve the metrics API), each with a disruption budget of one; dev may pass 1."""

    load_balancer_controller_version: str = LOAD_BALANCER_CONTROLLER_VERSION
    """The aws-load-balancer-controller chart version, pinned (`X.Y.Z`). Default: 1.14.0."""

    metrics_server_version: str = METRICS_SERVER_VERSION
    """The metrics-server chart version, pinned (`X.Y.Z`). Default: 3.13.0."""

    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on the namespace and its default-deny policy. Default: none."""


def problems(name: str, args: ClusterAddonsArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("ClusterAddons", name)
    expected = namespace_problem(args.namespace)
    if expected:
        check.add("namespace", args.namespace, expected)
    # The cluster's name, its VPC and the controller's role are checked when they are
    # literals (Outputs resolve later).
    if isinstance(args.cluster_name, str):
        check.against(_CLUSTER_NAME, "cluster_name", args.cluster_name)
    check.against(AWS_REGION, "region", args.region)
    if isinstance(args.vpc_id, str):
        check.against(_VPC_ID, "vpc_id", args.vpc_id)
    role = args.load_balancer_controller_role_arn
    if isinstance(role, str):
        check.against(IAM_ROLE_ARN, "load_balancer_controller_role_arn", role)
    check.against(_REPLICAS, "replicas", args.replicas)
    check.against(_CHART_VERSION, "load_balancer_controller_version",
                  args.load_balancer_controller_version)  # fmt: skip
    check.against(_CHART_VERSION, "metrics_server_version", args.metrics_server_version)
    check.extend(label_problems("labels", args.labels))
    for key in args.labels:
        if key.startswith("pod-security.kubernetes.io/") or key == READINESS_GATE_LABEL:
            check.add("labels", key, "no Pod Security or readiness-gate labels: osp sets them")
    return check.found


def namespace_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """The services' namespace labels: Pod Security `restricted` in all three modes."""
    out = dict(labels)
    for mode in ("enforce", "audit", "warn"):
        out[f"pod-security.kubernetes.io/{mode}"] = POD_SECURITY_LEVEL
        out[f"pod-security.kubernetes.io/{mode}-version"] = "latest"
    out[READINESS_GATE_LABEL] = "enabled"
    return out


def load_balancer_controller_values(
    args: ClusterAddonsArgs,
) -> dict[str, object]:
    """Chart values: the controller serves TargetGroupBindings and nothing else."""
    return {
        "clusterName": args.cluster_name,
        "region": args.region,
        "vpcId": args.vpc_id,
        "replicaCount": args.replicas,
        "serviceAccount": {
            "create": True,
            "name": LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT,
            "annotations": {"eks.amazonaws.com/role-arn": args.load_balancer_controller_role_arn},
        },
        # osp's load balancer, listeners, rules, WAF association and security groups are
        # Pulumi resources: the controller only registers pods in target groups. So no
        # IngressClass, no claim on Services of type LoadBalancer (no NLB appears because
        # someone created such a Service), no shared backend security group of its own
        # making, and no WAF or Shield calls.
        "createIngressClassResource": False,
        "enableServiceMutatorWebhook": False,
        "enableBackendSecurityGroup": False,
        "enableShield": False,
        "enableWaf": False,
        "enableWafv2": False,
        # The v1 Endpoints API is deprecated from Kubernetes 1.33.
        "enableEndpointSlices": True,
        # Reuse the webhook's serving certificate across upgrades instead of rotating it.
        "keepTLSSecret": True,
        "nodeSelector": dict(SYSTEM_POOL_SELECTOR),
        "tolerations": list(SYSTEM_POOL_TOLERATIONS),
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "256Mi"},
        },
        "podDisruptionBudget": {"maxUnavailable": 1} if args.replicas > 1 else {},
    }


def metrics_server_values(args: ClusterAddonsArgs) -> dict[str, object]:
    """Chart values: the resource metrics API for the autoscalers, on the system pool."""
    budget: dict[str, object] = {"enabled": args.replicas > 1}
    if args.replicas > 1:
        budget["maxUnavailable"] = 1
    return {
        "replicas": args.replicas,
        "podDisruptionBudget": budget,
        "nodeSelector": dict(SYSTEM_POOL_SELECTOR),
        "tolerations": list(SYSTEM_POOL_TOLERATIONS),
        "topologySpreadConstraints": [
            {
                "topologyKey": "kubernetes.io/hostname",
                "maxSkew": 1,
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {
                    "matchLabels": {
                        "app.kubernetes.io/name": METRICS_SERVER,
                        "app.kubernetes.io/instance": METRICS_SERVER,
                    }
                },
            }
        ],
    }


class ClusterAddons(pulumi.ComponentResource):
    """The services' namespace and the cluster add-ons the workloads rely on.

    - Namespace `<namespace>`: Pod Security admission `restricted` enforced, audited and
      warned about (version `latest`), so a pod that runs as root, escalates privileges,
      keeps capabilities or lacks seccomp is refused; the load balancer's target-health
      readiness gate injected into its pods.
    - NetworkPolicy `default-deny`: every pod of the namespace denied all ingress and
      egress, until its own policy (one per ServiceWorkload) allows named traffic.
    - AWS Load Balancer Controller (Helm, pinned) in kube-system with its own IRSA role,
      doing TargetGroupBindings only: no IngressClass, no Service mutation, no security
      groups, no WAF or Shield. Region and VPC given, as pods cannot reach IMDS.
    - metrics-server (Helm, pinned) in kube-system, for the HorizontalPodAutoscalers.
    - Both on the system pool, `replicas` each, with a disruption budget of one when more
      than one.

    Make the workloads depend on this component: pods need the namespace, and a
    TargetGroupBinding needs the controller's CRD and webhook.
    """

    namespace: pulumi.Output[str]
    """The services' namespace, once it exists."""

    def __init__(
        self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        child = pulumi.ResourceOptions(parent=self)

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": args.namespace, "labels": namespace_labels(args.labels)},
            opts=child,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata={
                "name": "default-deny",
                "namespace": namespace.metadata.name,
                "labels": dict(args.labels),
            },
            spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            opts=child,
        )

        pinned_release(
            f"{name}-load-balancer-controller",
            chart=LOAD_BALANCER_CONTROLLER,
            version=args.load_balancer_controller_version,
            repository=LOAD_BALANCER_CONTROLLER_REPOSITORY,
            namespace=ADDONS_NAMESPACE,
            values=load_balancer_controller_values(args),
            opts=child,
        )
        pinned_release(
            f"{name}-metrics-server",
            chart=METRICS_SERVER,
            version=args.metrics_server_version,
            repository=METRICS_SERVER_REPOSITORY,
            namespace=ADDONS_NAMESPACE,
            values=metrics_server_values(args),
            opts=child,
        )

        self.namespace = namespace.metadata.name
        self.register_outputs({"namespace": self.namespace})
