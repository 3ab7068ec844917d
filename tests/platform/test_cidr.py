from ipaddress import IPv4Network

import pytest

from osp.platform import cidr


def test_default_plan_of_a_slash_16():
    plan = cidr.default_plan(IPv4Network("10.30.0.0/16"))
    assert plan == {
        "private": {"cidr": "10.30.0.0/17", "prefix_length": 19},
        "public": {"cidr": "10.30.128.0/19", "prefix_length": 21},
        "isolated": {"cidr": "10.30.160.0/19", "prefix_length": 21},
    }


@pytest.mark.parametrize("prefix", range(cidr.MIN_VPC_PREFIX, cidr.MAX_VPC_PREFIX + 1))
def test_default_plan_gives_every_tier_four_disjoint_slots_inside_the_vpc(prefix):
    vpc = IPv4Network(f"10.0.0.0/{prefix}")
    plan = cidr.default_plan(vpc)
    subnets = [
        cidr.zone_subnet(IPv4Network(t["cidr"]), t["prefix_length"], i)
        for t in plan.values()
        for i in range(cidr.ZONE_SLOTS)
    ]
    assert all(s.subnet_of(vpc) for s in subnets)
    assert all(s.prefixlen <= cidr.MAX_SUBNET_PREFIX for s in subnets)
    for i, a in enumerate(subnets):
        for b in subnets[i + 1 :]:
            assert not a.overlaps(b), (a, b)


def test_adding_a_zone_never_renumbers_existing_subnets():
    block = IPv4Network("10.0.0.0/17")
    two = [cidr.zone_subnet(block, 19, i) for i in range(2)]
    three = [cidr.zone_subnet(block, 19, i) for i in range(3)]
    assert three[:2] == two
    assert [str(s) for s in three] == ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]


def test_zone_slot_outside_the_block_is_refused():
    with pytest.raises(ValueError, match=r"outside 10\.0\.0\.0/17"):
        cidr.zone_subnet(IPv4Network("10.0.0.0/17"), 19, 4)
