"""`Karpenter` through the offline engine: its AWS side (controller role and policy, the
interruption queue and rules, the nodes' role, profile and access entry), the Helm releases,
and the EC2NodeClass and NodePools, checked against the CRDs' rules."""

from __future__ import annotations

import json
from collections import Counter

import jsonschema
import pulumi
import pulumi_kubernetes as k8s
import pytest

from osp.components import Karpenter, KarpenterArgs, KeyRing, KeyRingArgs, NodePoolLimits
from osp.components.karpenter import CHART, CHART_VERSION, CRD_CHART, problems
from osp.platform.spec import CapacityType
from osp.platform.validation import InvalidArguments
from tests.app import k8s as manifests_of
from tests.components import karpenter_schema
from tests.support import plan_component, statements

CLUSTER = "osp-t-eks"
ACCOUNT = "123456789012"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
OIDC_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
OIDC_URL = "oidc.eks.us-east-1.amazonaws.com/id/ABC"
ENDPOINT = "https://ABC.gr7.us-east-1.eks.amazonaws.com"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
RELEASE = "kubernetes:helm.sh/v3:Release"


def karpenter_args(**overrides) -> KarpenterArgs:
    return KarpenterArgs(
        **{
            "cluster_name": CLUSTER,
            "cluster_endpoint": ENDPOINT,
            "region": "us-east-1",
            "oidc_provider_arn": OIDC_ARN,
            "oidc_provider_url": OIDC_URL,
            "kms_key_arn": KEY,
            "limits": NodePoolLimits(cpu=64, memory_gib=256),
            "system_limits": NodePoolLimits(cpu=8, memory_gib=32),
            "tags": {"osp:component": "cluster"},
            **overrides,
        }
    )


def on_a_cluster(name, args, opts):
    provider = k8s.Provider("k8s", kubeconfig="{}")
    return Karpenter(name, args, pulumi.ResourceOptions(providers=[provider]))


def plan_karpenter(**overrides):
    return plan_component(on_a_cluster, karpenter_args(**overrides), name="k")


@pytest.fixture(scope="module")
def on_demand():
    return plan_karpenter()


@pytest.fixture(scope="module")
def spot():
    return plan_karpenter(capacity_types=(CapacityType.SPOT, CapacityType.ON_DEMAND))


def one(plan, name):
    (resource,) = [r for r in plan.resources if r.name == name and r.custom]
    return resource


def test_children_exactly(on_demand):
    (component,) = on_demand.of_type("osp:karpenter:Karpenter")
    children = Counter(r.type for r in on_demand.children(component.urn))
    assert children == {
        "aws:sqs/queue:Queue": 1,
        "aws:sqs/queuePolicy:QueuePolicy": 1,
        "aws:cloudwatch/eventRule:EventRule": 4,
        "aws:cloudwatch/eventTarget:EventTarget": 4,
        "aws:iam/role:Role": 2,
        "aws:iam/rolePolicy:RolePolicy": 1,
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 3,
        "aws:iam/instanceProfile:InstanceProfile": 1,
        "aws:eks/accessEntry:AccessEntry": 1,
        RELEASE: 2,
        NODE_CLASS: 1,
        NODE_POOL: 2,
    }


def test_the_controller_role_trusts_only_its_service_account(on_demand):
    role = one(on_demand, "k-role")
    assert role.inputs["name"] == f"{CLUSTER}-karpenter"
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Federated": OIDC_ARN}
    assert trust["Condition"]["StringEquals"] == {
        f"{OIDC_URL}:sub": "system:serviceaccount:kube-system:karpenter",
        f"{OIDC_URL}:aud": "sts.amazonaws.com",
    }


def test_the_controller_policy_is_scoped_to_this_cluster(on_demand):
    policy = statements(one(on_demand, "k-role-policy").inputs["policy"])
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{CLUSTER}": "owned"}
    for sid in ("AllowScopedEC2LaunchTemplateAccessActions", "AllowScopedDeletion"):
        assert policy[sid]["Condition"]["StringEquals"] == owned, sid
        assert policy[sid]["Condition"]["StringLike"] == {
            "aws:ResourceTag/karpenter.sh/nodepool": "*"
        }
    launch = policy["AllowScopedEC2InstanceActionsWithTags"]["Condition"]["StringEquals"]
    assert launch == {
        f"aws:RequestTag/kubernetes.io/cluster/{CLUSTER}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": CLUSTER,
    }
    queue = one(on_demand, "k-interruption")
    node_role = one(on_demand, "k-node-role")
    profile = one(on_demand, "k-node-profile")
    assert (
        policy["AllowInterruptionQueueActions"]["Resource"]
        == f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue.inputs['name']}"
    )
    assert (
        policy["AllowPassingInstanceRole"]["Resource"]
        == f"arn:aws:iam::{ACCOUNT}:role/{node_role.inputs['name']}"
    )
    assert policy["AllowInstanceProfileReadActions"]["Resource"] == (
        f"arn:aws:iam::{ACCOUNT}:instance-profile/{profile.inputs['name']}"
    )
    assert policy["AllowAPIServerEndpointDiscovery"]["Resource"] == (
        f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/{CLUSTER}"
    )
    # The estate makes the instance profile: Karpenter may not create, change or delete any.
    actions = {
        a
        for s in policy.values()
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert not {a for a in actions if a.startswith("iam:") and "InstanceProfile" in a} - {
        "iam:GetInstanceProfile",
        "iam:ListInstanceProfiles",
    }
    # "*" only where AWS offers nothing narrower: describes (held to the region), the price
    # list, listing instance profiles.
    unscoped = {sid for sid, s in policy.items() if s["Resource"] == "*"}
    assert unscoped == {
        "AllowRegionalReadActions",
        "AllowPricingReadActions",
        "AllowUnscopedInstanceProfileListAction",
    }
    assert policy["AllowRegionalReadActions"]["Condition"] == {
        "StringEquals": {"aws:RequestedRegion": "us-east-1"}
    }
    assert all(a.startswith("ec2:Describe") for a in policy["AllowRegionalReadActions"]["Action"])
    for sid in ("AllowEncryptedVolumes", "AllowEncryptedVolumeGrants", "AllowEncryptedQueue"):
        assert policy[sid]["Resource"] == KEY


def test_the_interruption_queue_is_encrypted_and_fed_by_four_rules_only(on_demand):
    queue = one(on_demand, "k-interruption")
    assert queue.inputs["kmsMasterKeyId"] == KEY
    assert queue.inputs["messageRetentionSeconds"] == 300
    rules = {r.name: r for r in on_demand.of_type("aws:cloudwatch/eventRule:EventRule")}
    patterns = {
        name.removeprefix("k-"): json.loads(r.inputs["eventPattern"]) for name, r in rules.items()
    }
    ec2 = "aws.ec2"
    assert patterns == {
        "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
        "spot-interruption": {
            "source": [ec2],
            "detail-type": ["EC2 Spot Instance Interruption Warning"],
        },
        "rebalance": {"source": [ec2], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
        "instance-state-change": {
            "source": [ec2],
            "detail-type": ["EC2 Instance State-change Notification"],
        },
    }
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue.inputs['name']}"
    for target in on_demand.of_type("aws:cloudwatch/eventTarget:EventTarget"):
        assert target.inputs["arn"] == queue_arn
    policy = statements(one(on_demand, "k-interruption-policy").inputs["policy"])
    assert policy["DenyInsecureTransport"]["Effect"] == "Deny"
    assert policy["DenyInsecureTransport"]["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }
    send = policy["InterruptionRulesSend"]
    assert send["Principal"] == {"Service": "events.amazonaws.com"}
    assert send["Action"] == "sqs:SendMessage"
    assert sorted(send["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(
        f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{r.inputs['name']}" for r in rules.values()
    )


def test_the_nodes_have_their_own_role_profile_and_access_entry(on_demand):
    role = one(on_demand, "k-node-role")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "ec2.amazonaws.com"}
    attached = {a.inputs["policyArn"].rsplit("/", 1)[1] for a in on_demand.of_type(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment")}  # fmt: skip
    assert attached == {"AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly",
                        "AmazonSSMManagedInstanceCore"}  # fmt: skip
    assert one(on_demand, "k-node-profile").inputs["role"] == role.inputs["name"]
    access = one(on_demand, "k-node-access")
    assert access.inputs["type"] == "EC2_LINUX"
    assert access.inputs["clusterName"] == CLUSTER
    assert access.inputs["principalArn"] == f"arn:aws:iam::{ACCOUNT}:role/{role.inputs['name']}"


def test_the_helm_releases_are_pinned_and_the_controller_stays_on_the_system_nodes(on_demand):
    crds, controller = one(on_demand, "k-crds"), one(on_demand, "k-controller")
    assert (crds.inputs["chart"], crds.inputs["version"]) == (CRD_CHART, CHART_VERSION)
    assert (controller.inputs["chart"], controller.inputs["version"]) == (CHART, CHART_VERSION)
    assert CHART == "oci://public.ecr.aws/karpenter/karpenter"
    assert controller.inputs["skipCrds"] is True
    assert crds.urn in controller.dependencies
    values = controller.inputs["values"]
    assert values["settings"] == {
        "clusterName": CLUSTER,
        "clusterEndpoint": ENDPOINT,
        "interruptionQueue": one(on_demand, "k-interruption").inputs["name"],
    }
    assert values["serviceAccount"]["name"] == "karpenter"
    assert values["serviceAccount"]["annotations"] == {
        "eks.amazonaws.com/role-arn": f"arn:aws:iam::{ACCOUNT}:role/{CLUSTER}-karpenter"
    }
    assert values["nodeSelector"]["osp.io/pool"] == "system"
    assert {"name": "AWS_REGION", "value": "us-east-1"} in values["controller"]["env"]
    # The chart's own affinity (never onto a node Karpenter launched) is left in place.
    assert "affinity" not in values


def test_the_node_class(on_demand):
    (node_class,) = [
        m for m in manifests_of.custom_resources(on_demand) if m["kind"] == "EC2NodeClass"
    ]
    jsonschema.validate(node_class, karpenter_schema.EC2_NODE_CLASS)
    spec = node_class["spec"]
    assert karpenter_schema.node_class_rule_problems(spec) == []
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    (root,) = spec["blockDeviceMappings"]
    assert root["ebs"] == {"volumeSize": "50Gi", "volumeType": "gp3", "encrypted": True,
                           "kmsKeyID": KEY, "deleteOnTermination": True}  # fmt: skip
    selector = [{"tags": {"karpenter.sh/discovery": CLUSTER}}]
    assert spec["subnetSelectorTerms"] == spec["securityGroupSelectorTerms"] == selector
    assert spec["instanceProfile"] == one(on_demand, "k-node-profile").inputs["name"]
    assert spec["tags"] == {"osp:component": "cluster"}


def pools(plan) -> dict[str, dict]:
    return {
        m["metadata"]["name"]: m
        for m in manifests_of.custom_resources(plan)
        if m["kind"] == "NodePool"
    }


def capacity(pool: dict) -> list[str]:
    (requirement,) = [r for r in pool["spec"]["template"]["spec"]["requirements"]
                      if r["key"] == "karpenter.sh/capacity-type"]  # fmt: skip
    return requirement["values"]


def test_the_node_pools(on_demand, spot):
    for plan in (on_demand, spot):
        for pool in pools(plan).values():
            jsonschema.validate(pool, karpenter_schema.NODE_POOL)
            assert karpenter_schema.node_pool_rule_problems(pool["spec"]) == []
            assert pool["spec"]["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
            assert pool["spec"]["template"]["spec"]["expireAfter"] == "720h"
    system, workload = pools(on_demand)["system"], pools(on_demand)["workload"]
    assert system["spec"]["template"]["metadata"]["labels"] == {"osp.io/pool": "system"}
    assert workload["spec"]["template"]["metadata"]["labels"] == {"osp.io/pool": "workload"}
    assert system["spec"]["limits"] == {"cpu": "8", "memory": "32Gi"}
    assert workload["spec"]["limits"] == {"cpu": "64", "memory": "256Gi"}
    assert capacity(system) == capacity(workload) == ["on-demand"]
    # Spot only where asked, and never for the system pool.
    assert capacity(pools(spot)["workload"]) == ["spot", "on-demand"]
    assert capacity(pools(spot)["system"]) == ["on-demand"]


def test_the_schema_subset_catches_what_the_crds_refuse():
    bad_pool = {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "x"},
                "spec": {"template": {"spec": {"requirements": []}}}}  # fmt: skip
    with pytest.raises(jsonschema.ValidationError, match="nodeClassRef"):
        jsonschema.validate(bad_pool, karpenter_schema.NODE_POOL)
    assert karpenter_schema.node_pool_rule_problems(
        {"template": {"spec": {"requirements": [
            {"key": "karpenter.sh/nodepool", "operator": "In", "values": []}]}}}
    ) == ["requirement 'karpenter.sh/nodepool': label is restricted",
          "requirement 'karpenter.sh/nodepool': operator 'In' must have a value "
          "defined"]  # fmt: skip
    assert karpenter_schema.node_class_rule_problems(
        {"amiSelectorTerms": [{"alias": "al2023"}], "role": "r", "instanceProfile": "p",
         "tags": {"karpenter.sh/nodepool": "x"}}
    ) == ["must specify exactly one of ['role', 'instanceProfile']",
          "alias 'al2023': must match 'family@version'",
          "tag 'karpenter.sh/nodepool' is restricted"]  # fmt: skip


def test_the_data_key_lets_eventbridge_encrypt_into_the_queue():
    plan = plan_component(KeyRing, KeyRingArgs(tags={"osp:component": "keys"}), name="k")
    (data,) = [k for k in plan.of_type("aws:kms/key:Key") if k.name == "k-data"]
    statement = statements(data.inputs["policy"])["EventsServiceUses"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert statement["Condition"]["ArnLike"] == {
        "aws:SourceArn": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/*"
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"cluster_name": "1bad name"},
            "cluster_name: got '1bad name'; expected an EKS cluster name",
        ),
        (
            {"limits": NodePoolLimits(cpu=0, memory_gib=256)},
            "limits.cpu: got 0; expected a number of vCPUs from 1 to 10000",
        ),
        (
            {"system_limits": NodePoolLimits(cpu=8, memory_gib=0)},
            "system_limits.memory_gib: got 0; expected a number of GiB from 1 to 80000",
        ),
        (
            {"capacity_types": ()},
            "capacity_types: got []; expected ON_DEMAND, SPOT or both, each once",
        ),
        (
            {"capacity_types": (CapacityType.SPOT, CapacityType.SPOT)},
            "capacity_types: got [<CapacityType.SPOT: 'SPOT'>, <CapacityType.SPOT: 'SPOT'>]; "
            "expected ON_DEMAND, SPOT or both, each once",
        ),
        (
            {"instance_categories": ("cm",)},
            "instance_categories: got 'cm'; expected an EC2 instance category letter such as "
            "c, m or r",
        ),
        (
            {"expire_after_hours": 0},
            "expire_after_hours: got 0; expected hours from 1 to 8760 (a year)",
        ),
        (
            {"chart_version": "latest"},
            "chart_version: got 'latest'; expected a pinned chart version",
        ),
        ({"replicas": 9}, "replicas: got 9; expected an integer from 1 to 5"),
    ],
)
def test_refuses_bad_args(overrides, message):
    (found,) = problems("k", karpenter_args(**overrides))
    assert found.startswith(f"Karpenter k: {message}")
    with pytest.raises(InvalidArguments):
        plan_karpenter(**overrides)


def test_valid_args_have_no_problems():
    assert problems("k", karpenter_args()) == []
