"""Nodes that scale: every environment installs Karpenter from its spec (`osp:cluster.karpenter`)
and keeps only the small managed system node group; the network and the cluster tag what
Karpenter's node class selects; the stack file's keys are validated and a prod stack that
allows spot is warned about."""

from __future__ import annotations

import json

import pytest

from osp.platform import blueprints
from osp.platform.errors import SpecError
from osp.platform.spec import parse_stack_file
from osp.platform.spec.warnings import weakened_stances
from tests.app import k8s as manifests_of
from tests.support import ENVIRONMENTS, estate_plan, plan_of, spec_of

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
SUBNET = "aws:ec2/subnet:Subnet"
ADMIN = "arn:aws:iam::123456789012:role/platform-admin"
SOURCE = "stacks/Pulumi.prod.yaml"
#: What each shipped environment's workload NodePool may buy.
CAPACITY = {"dev": ["spot", "on-demand"], "staging": ["spot", "on-demand"], "prod": ["on-demand"]}


def node_pools(plan) -> dict[str, dict]:
    return {
        m["metadata"]["name"]: m["spec"]
        for m in manifests_of.custom_resources(plan)
        if m["kind"] == "NodePool"
    }


@pytest.mark.parametrize("blueprint", [None, "learning-hub"], ids=["osp", "learning-hub"])
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_karpenter_runs_the_workloads_and_one_managed_group_the_add_ons(environment, blueprint):
    plan, spec = plan_of(environment, blueprint), spec_of(environment, blueprint)
    (group,) = plan.of_type(NODE_GROUP)
    assert group.name == f"osp-{environment}-eks-system"
    assert len(plan.of_type("osp:karpenter:Karpenter")) == 1
    pools = node_pools(plan)
    assert set(pools) == {"system", "workload"}
    (capacity,) = [r["values"] for r in pools["workload"]["template"]["spec"]["requirements"]
                   if r["key"] == "karpenter.sh/capacity-type"]  # fmt: skip
    assert capacity == CAPACITY[environment]
    ceiling = spec.cluster.karpenter.limits
    assert pools["workload"]["limits"] == {
        "cpu": str(ceiling.cpu),
        "memory": f"{ceiling.memory_gib}Gi",
    }
    assert {"karpenterRoleArn", "karpenterNodeRoleArn", "karpenterInterruptionQueue"} <= set(
        plan.outputs
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_only_the_private_subnets_and_the_node_group_are_discoverable(environment):
    plan = plan_of(environment)
    cluster = f"osp-{environment}-eks"
    for subnet in plan.of_type(SUBNET):
        tagged = subnet.inputs["tags"].get("karpenter.sh/discovery")
        private = subnet.inputs["tags"]["osp:subnet-tier"] == "private"
        assert tagged == (cluster if private else None), subnet.name
    groups = [g for g in plan.of_type("aws:ec2/securityGroup:SecurityGroup")
              if g.inputs["tags"].get("karpenter.sh/discovery")]  # fmt: skip
    assert [g.name for g in groups] == [f"osp-{environment}-eks-node"]
    assert groups[0].inputs["tags"]["karpenter.sh/discovery"] == cluster


def test_the_managed_workload_group_returns_when_karpenter_is_off():
    spec = spec_of("dev")
    cluster = spec.cluster.model_copy(
        update={"karpenter": spec.cluster.karpenter.model_copy(update={"enabled": False})}
    )
    plan = estate_plan(spec.model_copy(update={"cluster": cluster}))
    assert sorted(g.name for g in plan.of_type(NODE_GROUP)) == [
        "osp-dev-eks-system",
        "osp-dev-eks-workload",
    ]
    assert not plan.of_type("osp:karpenter:Karpenter")
    assert not [r for r in plan.resources if r.type.startswith("kubernetes:karpenter")]
    assert not {o for o in plan.outputs if o.startswith("karpenter")}


def stack(karpenter: str) -> str:
    return (
        "config:\n  aws:region: eu-west-2\n  osp:domain: a.example.com\n"
        f"  osp:cluster:\n    admin_role_arns: [{ADMIN}]\n    karpenter: {karpenter}\n"
    )


def test_the_stack_file_keys_take_the_profile_defaults_and_override_them():
    spec = parse_stack_file(stack("{capacity_types: [SPOT], limits: {cpu: 10, memory_gib: 40}}"),
                            environment="staging", source=SOURCE)  # fmt: skip
    karpenter = spec.cluster.karpenter
    assert [c.value for c in karpenter.capacity_types] == ["SPOT"]
    assert (karpenter.limits.cpu, karpenter.limits.memory_gib) == (10, 40)
    # Mappings merge key by key: the preset's system limits stay.
    assert (karpenter.system_limits.cpu, karpenter.system_limits.memory_gib) == (16, 64)
    assert karpenter.enabled and karpenter.expire_after_hours == 720


@pytest.mark.parametrize(
    ("karpenter", "expected"),
    [
        (
            "{capacity_types: [SPOT, SPOT]}",
            "osp:cluster.karpenter.capacity_types: got ['SPOT', 'SPOT']; expected each of "
            "ON_DEMAND and SPOT at most once",
        ),
        ("{capacity_types: []}", "osp:cluster.karpenter.capacity_types: got []; expected "),
        ("{capacity_types: [RESERVED]}", "osp:cluster.karpenter.capacity_types[0]: got 'RESERVED'"),
        (
            "{limits: {cpu: 0}}",
            "osp:cluster.karpenter.limits.cpu: got 0; expected a number of vCPUs from 1 to 10000",
        ),
        (
            "{expire_after_hours: 0}",
            "osp:cluster.karpenter.expire_after_hours: got 0; expected hours "
            "from 1 to 8760 (a year)",
        ),
        ("{enable: true}", "osp:cluster.karpenter.enable: unknown key 'enable'; did you mean"),
    ],
)
def test_bad_keys_are_refused_naming_the_key_and_value(karpenter, expected):
    with pytest.raises(SpecError) as caught:
        parse_stack_file(stack(karpenter), environment="prod", source=SOURCE)
    assert any(expected in p for p in caught.value.problems), caught.value.problems


def test_a_prod_stack_allowing_spot_is_warned_about():
    spec = parse_stack_file(stack("{capacity_types: [SPOT, ON_DEMAND]}"), environment="prod",
                            source=SOURCE)  # fmt: skip
    assert ("osp:cluster.karpenter.capacity_types", ["ON_DEMAND"], ["SPOT", "ON_DEMAND"]) in (
        weakened_stances(spec, blueprints.preset("prod"))
    )
    on_demand = parse_stack_file(stack("{enabled: true}"), environment="prod", source=SOURCE)
    assert weakened_stances(on_demand, blueprints.preset("prod")) == []


def test_the_system_pool_stays_on_demand_and_small():
    for environment in ENVIRONMENTS:
        plan = plan_of(environment)
        (group,) = plan.of_type(NODE_GROUP)
        assert group.inputs["capacityType"] == "ON_DEMAND"
        assert group.inputs["scalingConfig"]["maxSize"] <= 6
        assert json.dumps(node_pools(plan)["system"]).count("on-demand") == 1
