"""`ClusterAddons` through the offline engine: the namespace, default deny, the Helm add-ons."""

from __future__ import annotations

import re
from collections import Counter

import pulumi
import pulumi_kubernetes as k8s
import pytest

from osp.app.addons import (
    LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT,
    ClusterAddons,
    ClusterAddonsArgs,
    problems,
)
from osp.platform.limits import KUBERNETES_VERSIONS
from osp.platform.validation import InvalidArguments
from tests.app import k8s as manifests_of
from tests.support import plan_component

ROLE = "arn:aws:iam::123456789012:role/osp-t-load-balancer-controller"
VPC = "vpc-0123456789abcdef0"
NAMESPACE_TYPE = "kubernetes:core/v1:Namespace"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
RELEASE = "kubernetes:helm.sh/v3:Release"
SYSTEM_POOL = {"osp.io/pool": "system"}
TOLERATIONS = [{"key": "CriticalAddonsOnly", "operator": "Exists"}]


def addons_args(**overrides) -> ClusterAddonsArgs:
    return ClusterAddonsArgs(
        **{
            "namespace": "osp-services",
            "cluster_name": "osp-t",
            "region": "eu-west-2",
            "vpc_id": VPC,
            "load_balancer_controller_role_arn": ROLE,
            "labels": {"app.kubernetes.io/part-of": "osp"},
            **overrides,
        }
    )


def on_a_cluster(name, args, opts):
    """`ClusterAddons` through a Kubernetes provider, as the estate builds it."""
    provider = k8s.Provider("k8s", kubeconfig="{}")
    return ClusterAddons(name, args, pulumi.ResourceOptions(providers=[provider]))


def plan_addons(**overrides):
    return plan_component(
        on_a_cluster, addons_args(**overrides), name="osp-t-addons", exports=("namespace",)
    )


@pytest.fixture(scope="module")
def prod():
    return plan_addons()


@pytest.fixture(scope="module")
def dev():
    return plan_addons(replicas=1)


def one(plan, token, name=None):
    found = [r for r in plan.of_type(token) if name is None or r.name == name]
    (resource,) = found
    return resource


def release(plan, role):
    return one(plan, RELEASE, f"osp-t-addons-{role}")


def test_children_exactly(prod):
    (component,) = prod.of_type("osp:app:ClusterAddons")
    children = prod.children(component.urn)
    assert Counter(r.type for r in children) == Counter({NAMESPACE_TYPE: 1, POLICY: 1, RELEASE: 2})
    assert {r.name for r in children} == {
        "osp-t-addons-namespace",
        "osp-t-addons-default-deny",
        "osp-t-addons-load-balancer-controller",
        "osp-t-addons-metrics-server",
    }
    (provider,) = prod.of_type("pulumi:providers:kubernetes")
    assert {r.provider for r in children} == {provider.urn}


def test_namespace_enforces_pod_security_restricted(prod):
    namespace = one(prod, NAMESPACE_TYPE).inputs
    assert namespace["metadata"] == {
        "name": "osp-services",
        "labels": {
            "app.kubernetes.io/part-of": "osp",
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/audit-version": "latest",
            "pod-security.kubernetes.io/warn": "restricted",
            "pod-security.kubernetes.io/warn-version": "latest",
            "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled",
        },
    }
    assert prod.outputs["namespace"] == "osp-services"


def test_default_deny_for_every_pod_both_ways(prod):
    policy = one(prod, POLICY)
    assert policy.inputs["metadata"] == {
        "name": "default-deny",
        "namespace": "osp-services",
        "labels": {"app.kubernetes.io/part-of": "osp"},
    }
    # An empty selector picks every pod; both types with no rules deny everything.
    assert policy.inputs["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert one(prod, NAMESPACE_TYPE).urn in policy.dependencies


def test_load_balancer_controller_release(prod):
    inputs = release(prod, "load-balancer-controller").inputs
    assert {k: v for k, v in inputs.items() if k != "values"} == {
        "name": "aws-load-balancer-controller",
        "chart": "aws-load-balancer-controller",
        "version": "1.14.0",
        "repositoryOpts": {"repo": "https://aws.github.io/eks-charts"},
        "namespace": "kube-system",
        "atomic": True,
        "cleanupOnFail": True,
        "maxHistory": 10,
        "compat": "true",
    }
    assert inputs["values"] == {
        "clusterName": "osp-t",
        "region": "eu-west-2",
        "vpcId": VPC,
        "replicaCount": 2,
        "serviceAccount": {
            "create": True,
            "name": "aws-load-balancer-controller",
            "annotations": {"eks.amazonaws.com/role-arn": ROLE},
        },
        "createIngressClassResource": False,
        "enableServiceMutatorWebhook": False,
        "enableBackendSecurityGroup": False,
        "enableShield": False,
        "enableWaf": False,
        "enableWafv2": False,
        "enableEndpointSlices": True,
        "keepTLSSecret": True,
        "nodeSelector": SYSTEM_POOL,
        "tolerations": TOLERATIONS,
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "256Mi"},
        },
        "podDisruptionBudget": {"maxUnavailable": 1},
    }


def test_controller_service_account_is_the_irsa_subject():
    # The controller's IRSA role must trust exactly this subject.
    assert LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT == "aws-load-balancer-controller"


def test_metrics_server_release(prod):
    inputs = release(prod, "metrics-server").inputs
    assert {k: v for k, v in inputs.items() if k != "values"} == {
        "name": "metrics-server",
        "chart": "metrics-server",
        "version": "3.13.0",
        "repositoryOpts": {"repo": "https://kubernetes-sigs.github.io/metrics-server/"},
        "namespace": "kube-system",
        "atomic": True,
        "cleanupOnFail": True,
        "maxHistory": 10,
        "compat": "true",
    }
    assert inputs["values"] == {
        "replicas": 2,
        "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
        "nodeSelector": SYSTEM_POOL,
        "tolerations": TOLERATIONS,
        "topologySpreadConstraints": [
            {
                "topologyKey": "kubernetes.io/hostname",
                "maxSkew": 1,
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {
                    "matchLabels": {
                        "app.kubernetes.io/name": "metrics-server",
                        "app.kubernetes.io/instance": "metrics-server",
                    }
                },
            }
        ],
    }


def test_dev_runs_one_of_each_without_a_budget(dev):
    controller = release(dev, "load-balancer-controller").inputs["values"]
    assert controller["replicaCount"] == 1
    assert controller["podDisruptionBudget"] == {}
    metrics = release(dev, "metrics-server").inputs["values"]
    assert metrics["replicas"] == 1
    assert metrics["podDisruptionBudget"] == {"enabled": False}


def test_values_from_outputs():
    plan = plan_addons(
        cluster_name=pulumi.Output.from_input("osp-prod"),
        vpc_id=pulumi.Output.from_input(VPC),
        load_balancer_controller_role_arn=pulumi.Output.from_input(ROLE),
    )
    values = release(plan, "load-balancer-controller").inputs["values"]
    assert values["clusterName"] == "osp-prod"
    assert values["vpcId"] == VPC
    assert values["serviceAccount"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE}


def test_pinned_versions_can_be_moved():
    plan = plan_addons(load_balancer_controller_version="1.13.3", metrics_server_version="3.12.2")
    assert release(plan, "load-balancer-controller").inputs["version"] == "1.13.3"
    assert release(plan, "metrics-server").inputs["version"] == "3.12.2"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_namespace_and_policy_validate_strictly(prod, version):
    # Helm releases are not manifests (their objects come from the charts): not validated.
    checked = manifests_of.validate_all(prod, version)
    assert [m["kind"] for m in checked] == ["Namespace", "NetworkPolicy"]
    assert manifests_of.custom_resources(prod) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"namespace": "OSP"}, "namespace: got 'OSP'; expected a DNS-1123 label"),
        ({"namespace": "x" * 64}, "namespace: got 'xxxx"),
        (
            {"namespace": "kube-system"},
            "namespace: got 'kube-system'; expected the estate's services namespace",
        ),
        ({"namespace": "default"}, "namespace: got 'default'"),
        ({"cluster_name": "-osp"}, "cluster_name: got '-osp'; expected an EKS cluster name"),
        (
            {"region": "europe"},
            "region: got 'europe'; expected an AWS region such as us-east-1 or eu-west-2",
        ),
        ({"vpc_id": "vpc-xyz"}, "vpc_id: got 'vpc-xyz'; expected a VPC id"),
        (
            {"load_balancer_controller_role_arn": "arn:aws:iam::123456789012:policy/p"},
            "load_balancer_controller_role_arn: got 'arn:aws:iam::123456789012:policy/p'; "
            "expected an IAM role ARN such as arn:aws:iam::123456789012:role/platform-admin",
        ),
        ({"replicas": 0}, "replicas: got 0; expected an integer from 1 to 5"),
        ({"replicas": 6}, "replicas: got 6"),
        ({"replicas": True}, "replicas: got True"),
        (
            {"load_balancer_controller_version": "latest"},
            "load_balancer_controller_version: got 'latest'; expected a pinned chart version X.Y.Z",
        ),
        (
            {"load_balancer_controller_version": "v1.14.0"},
            "load_balancer_controller_version: got 'v1.14.0'",
        ),
        ({"metrics_server_version": "^3.13"}, "metrics_server_version: got '^3.13'"),
        ({"metrics_server_version": "3.13"}, "metrics_server_version: got '3.13'"),
        (
            {"labels": {"pod-security.kubernetes.io/enforce": "baseline"}},
            "labels: got 'pod-security.kubernetes.io/enforce'; expected no Pod Security",
        ),
        (
            {"labels": {"elbv2.k8s.aws/pod-readiness-gate-inject": "disabled"}},
            "labels: got 'elbv2.k8s.aws/pod-readiness-gate-inject'",
        ),
        ({"labels": {"team": "a/b"}}, "labels['team']: got 'a/b'"),
    ],
)
def test_refuses_bad_args(overrides, message):
    with pytest.raises(InvalidArguments, match=f"ClusterAddons osp-t-addons: {re.escape(message)}"):
        plan_addons(**overrides)


def test_reports_every_problem_at_once():
    found = problems("a", addons_args(namespace="default", region="mars", replicas=9))
    assert [p.split(":")[1].strip() for p in found] == ["namespace", "region", "replicas"]


def test_valid_args_have_no_problems():
    assert problems("a", addons_args()) == []
    assert problems("a", addons_args(vpc_id=pulumi.Output.from_input("anything"))) == []
