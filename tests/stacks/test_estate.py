"""The composed estate of every environment: tags everywhere, structure, outputs."""

from __future__ import annotations

import functools
import importlib
import inspect
import keyword

import pytest

from osp.platform.naming import REQUIRED_TAG_KEYS
from tests.support import plan_of, spec_of


@functools.cache
def is_taggable(type_token: str) -> bool:
    """Whether the pulumi_aws resource of `type_token` accepts tags."""
    module, cls = type_token.split(":")[1:]
    package = module.split("/")[0]
    package += "_" if keyword.iskeyword(package) else ""  # aws:lambda → pulumi_aws.lambda_
    resource = getattr(importlib.import_module(f"pulumi_aws.{package}"), cls)
    return "tags" in inspect.signature(resource._internal_init).parameters


def test_taggability_is_read_from_the_sdk():
    assert is_taggable("aws:ec2/vpc:Vpc")
    assert not is_taggable("aws:ec2/route:Route")


def test_every_taggable_aws_resource_carries_the_tag_set(environment):
    plan, spec = plan_of(environment), spec_of(environment)
    checked = 0
    for resource in plan.resources:
        if not (resource.custom and resource.type.startswith("aws:")):
            continue
        if not is_taggable(resource.type):
            continue
        checked += 1
        tags = resource.inputs.get("tags")
        assert tags, f"{resource.name} ({resource.type}) has no tags"
        assert set(REQUIRED_TAG_KEYS) <= set(tags), resource.name
        assert tags["osp:environment"] == environment
        assert tags["osp:blueprint"] == spec.blueprint
        assert tags["osp:managed-by"] == "osp"
        assert tags.items() >= spec.tags.items()
        assert tags["Name"]
    assert checked > 10


def test_the_vpc_is_parented_by_the_network_component(environment):
    plan = plan_of(environment)
    (vpc,) = plan.of_type("aws:ec2/vpc:Vpc")
    network = plan.get(vpc.parent)
    assert network.type == "osp:network:Network"
    assert network.name == f"osp-{environment}-network"
    assert plan.get(network.parent).type == "pulumi:pulumi:Stack"


@pytest.mark.parametrize(("environment", "zones", "nats"), [("dev", 2, 1), ("prod", 3, 3)])
def test_profiles_shape_the_network(environment, zones, nats):
    counts = plan_of(environment).type_counts()
    assert counts["aws:ec2/subnet:Subnet"] == 3 * zones
    assert counts["aws:ec2/natGateway:NatGateway"] == nats


def test_outputs(environment):
    outputs = plan_of(environment).outputs
    spec = spec_of(environment)
    assert outputs["environment"] == environment
    assert outputs["region"] == spec.region
    assert outputs["availabilityZones"] == list(spec.zones)
    assert outputs["vpcId"].startswith("vpc-")
    for key in ("publicSubnetIds", "privateSubnetIds", "isolatedSubnetIds"):
        assert len(outputs[key]) == len(spec.zones)
        assert all(s.startswith("subnet-") for s in outputs[key])


WORLD = {"0.0.0.0/0", "::/0"}


def world_open_ingress(plan) -> list[str]:
    """Names of security-group ingress rules, inline or standalone, open to the internet."""
    found = []
    for r in plan.resources:
        if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
            if {r.inputs.get("cidrIpv4"), r.inputs.get("cidrIpv6")} & WORLD:
                found.append(r.name)
        elif r.type == "aws:ec2/securityGroupRule:SecurityGroupRule":
            blocks = set(r.inputs.get("cidrBlocks", [])) | set(r.inputs.get("ipv6CidrBlocks", []))
            if r.inputs.get("type") == "ingress" and blocks & WORLD:
                found.append(r.name)
        elif r.type == "aws:ec2/securityGroup:SecurityGroup":
            for rule in r.inputs.get("ingress", []):
                blocks = set(rule.get("cidrBlocks", [])) | set(rule.get("ipv6CidrBlocks", []))
                if blocks & WORLD:
                    found.append(r.name)
    return found


def test_world_open_ingress_is_detected():
    from types import SimpleNamespace

    rule = SimpleNamespace(
        type="aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        name="bad",
        inputs={"cidrIpv4": "0.0.0.0/0"},
    )
    assert world_open_ingress(SimpleNamespace(resources=[rule])) == ["bad"]


def test_no_security_group_admits_the_internet(environment):
    plan = plan_of(environment)
    assert plan.of_type("aws:ec2/securityGroup:SecurityGroup") or environment == "dev"
    assert plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert world_open_ingress(plan) == []


def test_zones_the_account_cannot_use_are_a_spec_error(monkeypatch):
    from osp.platform.engine import fake_aws, offline
    from osp.platform.errors import SpecError
    from osp.stacks.estate import build

    def two_zones(cloud, args):
        answer = fake_aws._zones(cloud, args)
        return {**answer, "names": answer["names"][:2]}

    monkeypatch.setitem(
        fake_aws._CALLS, "aws:index/getAvailabilityZones:getAvailabilityZones", two_zones
    )
    with pytest.raises(SpecError) as refused:
        offline.run(spec_of("prod"), build)
    assert refused.value.problems == [
        "osp:network.availability_zones: us-east-1c not available in this account; available "
        "zones in us-east-1: us-east-1a, us-east-1b"
    ]
