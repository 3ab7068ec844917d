"""`Network` through the offline engine: exact children, addressing, routing, lock-down."""

from __future__ import annotations

import json

import pytest

from osp.components import Network, NetworkArgs
from osp.components.network import problems, subnet_cidrs, subnet_plan
from osp.platform.engine import offline
from osp.platform.spec import NatStrategy, SubnetPlan
from osp.platform.validation import InvalidArguments
from tests.support import custom_counts, plan_component, spec_of

ZONES3 = ("us-east-1a", "us-east-1b", "us-east-1c")
LOGS_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
TAGS = {"osp:environment": "t", "osp:component": "network", "osp:blueprint": "osp",
        "osp:managed-by": "osp"}  # fmt: skip


def network_args(**overrides) -> NetworkArgs:
    return NetworkArgs(
        **{
            "cidr_block": "10.0.0.0/16",
            "availability_zones": ZONES3,
            "nat_strategy": NatStrategy.PER_AZ,
            "cluster_name": "osp-t-eks",
            "flow_logs_kms_key_arn": LOGS_KEY,
            "flow_log_retention_days": 90,
            "tags": TAGS,
            **overrides,
        }
    )


def plan_network(**overrides):
    return plan_component(Network, network_args(**overrides), name="net")


def inputs_by_name(plan, type_token):
    return {r.name: r.inputs for r in plan.of_type(type_token)}


@pytest.fixture(scope="module")
def per_az():
    return plan_network()


@pytest.fixture(scope="module")
def single():
    return plan_network(
        nat_strategy=NatStrategy.SINGLE, availability_zones=ZONES3[:2], interface_endpoints=False
    )


def test_children_per_az(per_az):
    assert custom_counts(per_az) == {
        "ec2/vpc": 1,
        "ec2/defaultSecurityGroup": 1,
        "ec2/defaultRouteTable": 1,
        "ec2/internetGateway": 1,
        "ec2/subnet": 9,
        "ec2/eip": 3,
        "ec2/natGateway": 3,
        "ec2/routeTable": 5,  # public, one private per zone, isolated
        "ec2/route": 4,  # public → IGW, each private → its zone's NAT
        "ec2/routeTableAssociation": 9,
        "ec2/defaultNetworkAcl": 1,
        "ec2/networkAcl": 3,
        "cloudwatch/logGroup": 1,
        "iam/role": 1,
        "iam/rolePolicy": 1,
        "ec2/flowLog": 1,
        "ec2/vpcEndpoint": 8,  # S3 gateway + seven interface endpoints
        "ec2/securityGroup": 1,
        "vpc/securityGroupIngressRule": 1,
        "rds/subnetGroup": 1,
        "elasticache/subnetGroup": 1,
    }
    network = per_az.named("net")
    assert network.type == "osp:network:Network"
    assert all(r.parent == network.urn for r in per_az.resources if r.custom)


def test_children_single_nat_two_zones(single):
    counts = custom_counts(single)
    assert counts["ec2/subnet"] == 6
    assert counts["ec2/natGateway"] == counts["ec2/eip"] == 1
    assert counts["ec2/routeTable"] == 4 and counts["ec2/route"] == 3
    assert counts["ec2/vpcEndpoint"] == 1  # the S3 gateway only
    assert "ec2/securityGroup" not in counts


def test_vpc_resolves_private_dns(per_az):
    vpc = per_az.named("net-vpc").inputs
    assert vpc["cidrBlock"] == "10.0.0.0/16"
    assert vpc["enableDnsHostnames"] is True and vpc["enableDnsSupport"] is True


def test_subnets_follow_the_cidr_plan_slot_by_zone(per_az):
    subnets = inputs_by_name(per_az, "aws:ec2/subnet:Subnet")
    assert {n: (s["cidrBlock"], s["availabilityZone"]) for n, s in subnets.items()} == {
        "net-private-us-east-1a": ("10.0.0.0/19", "us-east-1a"),
        "net-private-us-east-1b": ("10.0.32.0/19", "us-east-1b"),
        "net-private-us-east-1c": ("10.0.64.0/19", "us-east-1c"),
        "net-public-us-east-1a": ("10.0.128.0/21", "us-east-1a"),
        "net-public-us-east-1b": ("10.0.136.0/21", "us-east-1b"),
        "net-public-us-east-1c": ("10.0.144.0/21", "us-east-1c"),
        "net-isolated-us-east-1a": ("10.0.160.0/21", "us-east-1a"),
        "net-isolated-us-east-1b": ("10.0.168.0/21", "us-east-1b"),
        "net-isolated-us-east-1c": ("10.0.176.0/21", "us-east-1c"),
    }
    assert all(s["mapPublicIpOnLaunch"] is False for s in subnets.values())


def test_subnet_cidrs_are_known_without_waiting_for_aws():
    """The tiers' blocks, zone by zone, as plain strings: NetworkPolicies are built from them."""
    seen = {}

    def program(_spec):
        seen["cidrs"] = Network("net", NetworkArgs(
            cidr_block="10.0.0.0/16", availability_zones=ZONES3[:2],
            flow_logs_kms_key_arn=LOGS_KEY)).subnet_cidrs  # fmt: skip

    offline.run(spec_of("prod"), program)
    assert seen["cidrs"] == {
        "public": ["10.0.128.0/21", "10.0.136.0/21"],
        "private": ["10.0.0.0/19", "10.0.32.0/19"],
        "isolated": ["10.0.160.0/21", "10.0.168.0/21"],
    }


def test_fewer_zones_keep_the_same_addresses(per_az, single):
    three = inputs_by_name(per_az, "aws:ec2/subnet:Subnet")
    two = inputs_by_name(single, "aws:ec2/subnet:Subnet")
    assert all(two[name]["cidrBlock"] == three[name]["cidrBlock"] for name in two)


def test_subnet_tags_for_load_balancers_and_the_cluster(per_az):
    subnets = inputs_by_name(per_az, "aws:ec2/subnet:Subnet")
    public = subnets["net-public-us-east-1a"]["tags"]
    private = subnets["net-private-us-east-1a"]["tags"]
    isolated = subnets["net-isolated-us-east-1a"]["tags"]
    assert public["kubernetes.io/role/elb"] == "1" and public["osp:subnet-tier"] == "public"
    assert private["kubernetes.io/role/internal-elb"] == "1"
    assert not any(k.startswith("kubernetes.io/role") for k in isolated)
    for tags in (public, private, isolated):
        assert tags["kubernetes.io/cluster/osp-t-eks"] == "shared"
        assert tags.items() >= TAGS.items()


def _route_targets(plan):
    """route table name → (destination, target resource name) for every route."""
    names = {r.urn: r.name for r in plan.resources}
    out = {}
    for route in plan.of_type("aws:ec2/route:Route"):
        deps = route.property_dependencies
        target = deps.get("gatewayId") or deps.get("natGatewayId")
        out[names[deps["routeTableId"][0]]] = (
            route.inputs["destinationCidrBlock"],
            names[target[0]],
        )
    return out


def test_routing_per_az(per_az):
    assert _route_targets(per_az) == {
        "net-public": ("0.0.0.0/0", "net-igw"),
        "net-private-us-east-1a": ("0.0.0.0/0", "net-nat-us-east-1a"),
        "net-private-us-east-1b": ("0.0.0.0/0", "net-nat-us-east-1b"),
        "net-private-us-east-1c": ("0.0.0.0/0", "net-nat-us-east-1c"),
    }


def test_routing_single_nat_and_isolated_has_no_way_out(single):
    routes = _route_targets(single)
    assert routes["net-private-us-east-1b"] == ("0.0.0.0/0", "net-nat-us-east-1a")
    assert "net-isolated" not in routes


def test_associations_bind_each_subnet_to_its_tier_table(per_az):
    names = {r.urn: r.name for r in per_az.resources}
    bound = {
        names[a.property_dependencies["subnetId"][0]]: names[
            a.property_dependencies["routeTableId"][0]
        ]
        for a in per_az.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    }
    assert bound["net-public-us-east-1b"] == "net-public"
    assert bound["net-private-us-east-1b"] == "net-private-us-east-1b"
    assert bound["net-isolated-us-east-1b"] == "net-isolated"
    assert len(bound) == 9


def test_nat_gateways_sit_in_public_subnets_after_the_internet_gateway(per_az):
    names = {r.urn: r.name for r in per_az.resources}
    gateways = per_az.of_type("aws:ec2/natGateway:NatGateway")
    assert len(gateways) == len(ZONES3)
    for nat in gateways:
        zone = nat.name.removeprefix("net-nat-")
        assert names[nat.property_dependencies["subnetId"][0]] == f"net-public-{zone}"
        assert per_az.named("net-igw").urn in nat.dependencies
        assert nat.inputs["connectivityType"] == "public"


def test_defaults_are_locked_down(per_az):
    sg = per_az.named("net-default-sg").inputs
    assert sg["ingress"] == [] and sg["egress"] == []
    assert per_az.named("net-default-rtb").inputs["routes"] == []
    acl = per_az.named("net-default-acl")
    assert acl.inputs["ingress"] == [] and acl.inputs["egress"] == []
    assert acl.options.ignore_changes == ("subnetIds",)


def test_each_tier_has_its_own_network_acl(per_az):
    names = {r.urn: r.name for r in per_az.resources}
    for tier in ("public", "private", "isolated"):
        acl = per_az.named(f"net-{tier}-acl")
        bound = sorted(names[u] for u in acl.property_dependencies["subnetIds"])
        assert bound == [f"net-{tier}-{zone}" for zone in ZONES3]
    isolated = per_az.named("net-isolated-acl").inputs
    # The private tier's block and the isolated tier's own: nothing outside the VPC.
    assert {r["cidrBlock"] for r in isolated["ingress"] + isolated["egress"]} == {
        "10.0.0.0/17",
        "10.0.160.0/19",
    }


def _rules(acl, direction):
    return [
        (e["ruleNo"], e["protocol"], e["cidrBlock"], e["fromPort"], e["toPort"], e["action"])
        for e in acl.inputs[direction]
    ]


def test_acls_by_default_admit_https_and_returns_and_the_vpc_only():
    plan = plan_network(store_ports=(6379, 5432, 6379))
    public, private, isolated = (
        plan.named(f"net-{t}-acl") for t in ("public", "private", "isolated")
    )
    world, vpc, prv, iso = "0.0.0.0/0", "10.0.0.0/16", "10.0.0.0/17", "10.0.160.0/19"
    assert _rules(public, "ingress") == [
        (100, "tcp", world, 443, 443, "allow"),
        (110, "tcp", world, 1024, 3388, "allow"),
        (120, "tcp", world, 3390, 65535, "allow"),
        (130, "tcp", prv, 443, 443, "allow"),
        (140, "tcp", prv, 1024, 65535, "allow"),
    ]
    assert _rules(public, "egress") == [
        (100, "tcp", world, 1024, 65535, "allow"),
        (110, "tcp", world, 443, 443, "allow"),
        (120, "tcp", prv, 1024, 65535, "allow"),
    ]
    assert _rules(private, "ingress") == [
        (100, "-1", vpc, 0, 0, "allow"),
        (110, "tcp", world, 1024, 3388, "allow"),
        (120, "tcp", world, 3390, 65535, "allow"),
    ]
    assert _rules(private, "egress") == [
        (100, "-1", vpc, 0, 0, "allow"),
        (110, "tcp", world, 443, 443, "allow"),
    ]
    assert _rules(isolated, "ingress") == [
        (100, "tcp", prv, 5432, 5432, "allow"),
        (110, "tcp", prv, 6379, 6379, "allow"),
        (120, "-1", iso, 0, 0, "allow"),
    ]
    assert _rules(isolated, "egress") == [
        (100, "tcp", prv, 1024, 65535, "allow"),
        (110, "-1", iso, 0, 0, "allow"),
    ]


def test_flow_logs_record_all_traffic_encrypted_with_retention(per_az):
    (log_group,) = per_az.of_type("aws:cloudwatch/logGroup:LogGroup")
    (flow,) = per_az.of_type("aws:ec2/flowLog:FlowLog")
    flow_log = flow.inputs
    assert flow.property_dependencies["logDestination"] == (log_group.urn,)
    assert flow_log["trafficType"] == "ALL"
    assert flow_log["logDestinationType"] == "cloud-watch-logs"
    assert log_group.inputs["retentionInDays"] == 90
    assert log_group.inputs["kmsKeyId"] == LOGS_KEY
    role = per_az.of_type("aws:iam/role:Role")[0].inputs
    trust = json.loads(role["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    policy = json.loads(per_az.of_type("aws:iam/rolePolicy:RolePolicy")[0].inputs["policy"])
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vpc/net/flow-logs"
    assert policy["Statement"][0]["Resource"] == [arn, f"{arn}:*"]


def test_endpoints_stay_inside_the_vpc(per_az):
    endpoints = {r.name: r.inputs for r in per_az.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert endpoints["net-s3"]["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert endpoints["net-s3"]["vpcEndpointType"] == "Gateway"
    assert len(endpoints["net-s3"]["routeTableIds"]) == 5
    interface = {n: e for n, e in endpoints.items() if e["vpcEndpointType"] == "Interface"}
    assert sorted(e["serviceName"].rsplit(".", 1)[-1] if "ecr" not in e["serviceName"]
                  else e["serviceName"].split("us-east-1.")[1] for e in interface.values()) == [
        "ecr.api", "ecr.dkr", "logs", "secretsmanager", "sns", "sqs", "sts",
    ]  # fmt: skip
    assert all(e["privateDnsEnabled"] and len(e["subnetIds"]) == 3 for e in interface.values())
    (rule,) = per_az.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (443, 443)
    assert rule.inputs["cidrIpv4"] == "10.0.0.0/16"


def test_data_store_subnet_groups_use_the_isolated_tier(per_az):
    names = {r.urn: r.name for r in per_az.resources}
    for token in ("aws:rds/subnetGroup:SubnetGroup", "aws:elasticache/subnetGroup:SubnetGroup"):
        (group,) = per_az.of_type(token)
        members = sorted(names[u] for u in group.property_dependencies["subnetIds"])
        assert members == [f"net-isolated-{zone}" for zone in ZONES3]


def test_every_resource_is_tagged_with_name_and_tags(per_az):
    tagged = [r for r in per_az.resources if r.custom and "tags" in r.inputs]
    assert len(tagged) > 30
    for resource in tagged:
        assert resource.inputs["tags"]["Name"].startswith("net")
        assert resource.inputs["tags"].items() >= TAGS.items()


LOG_PERIODS = ("1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, "
               "2557, 2922, 3288, 3653")  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"availability_zones": ("us-east-1a",)},
         "availability_zones: got ['us-east-1a']; expected at least 2 distinct zones"),
        ({"availability_zones": ("us-east-1a", "us-east-1a")},
         "availability_zones: got ['us-east-1a', 'us-east-1a']; expected at least 2 distinct "
         "zones"),
        ({"flow_log_retention_days": 100}, "flow_log_retention_days: got 100; expected a "
         f"CloudWatch Logs retention period: {LOG_PERIODS}"),
        ({"listener_ports": (443, 22)}, "listener_ports: got 22; expected a port from 1 to "
         "65535, never SSH (22) or RDP (3389)"),
        ({"listener_ports": (3389,)}, "listener_ports: got 3389; expected a port from 1 to "
         "65535, never SSH (22) or RDP (3389)"),
        ({"store_ports": (0,)}, "store_ports: got 0; expected a port from 1 to 65535"),
        ({"egress_ports": (65536,)}, "egress_ports: got 65536; expected a port from 1 to 65535"),
        ({"store_ports": tuple(range(5000, 5020))},
         "listener_ports, store_ports, egress_ports: the isolated tier's ACL would hold 21 "
         "ingress entries; expected at most 20 (the ACL quota per direction)"),
        ({"cidr_block": "10.0.0.0/33"},
         "cidr_block: got '10.0.0.0/33'; expected an IPv4 CIDR block such as 10.0.0.0/16"),
        ({"cidr_block": "10.0.0.1/16"},
         "cidr_block: got '10.0.0.1/16'; expected an IPv4 CIDR block such as 10.0.0.0/16"),
        ({"cidr_block": "10.0.0.0/24"},
         "cidr_block: got '10.0.0.0/24'; expected a /16 to /20 block, or a subnet_plan for "
         "the tiers"),
    ],
)  # fmt: skip
def test_problems(overrides, message):
    assert problems("net", network_args(**overrides)) == [f"Network net: {message}"]


def test_no_more_zones_than_each_tier_has_room_for():
    zones = ("a", "b", "c", "d", "e")
    got = "Network net: availability_zones: got ['a', 'b', 'c', 'd', 'e']; expected at most 4"
    assert problems("net", network_args(availability_zones=zones)) == [
        f"{got} zones: the public tier's block 10.0.128.0/19 holds 4 /21 subnets",
        f"{got} zones: the private tier's block 10.0.0.0/17 holds 4 /19 subnets",
        f"{got} zones: the isolated tier's block 10.0.160.0/19 holds 4 /21 subnets",
    ]


def test_good_args_have_no_problems():
    assert problems("net", network_args()) == []


def test_refuses_fewer_than_two_zones_before_anything_is_declared():
    with pytest.raises(InvalidArguments) as caught:
        plan_network(availability_zones=("us-east-1a",), flow_log_retention_days=100)
    assert [p.split(": ")[1] for p in caught.value.problems] == [
        "availability_zones",
        "flow_log_retention_days",
    ]


def test_subnet_cidrs_follow_the_plan_zone_by_zone():
    plan = SubnetPlan.model_validate(
        {
            "public": {"cidr": "10.1.0.0/20", "prefix_length": 22},
            "private": {"cidr": "10.1.64.0/18", "prefix_length": 20},
            "isolated": {"cidr": "10.1.16.0/20", "prefix_length": 24},
        }
    )
    assert subnet_plan(network_args(subnet_plan=plan)) is plan
    assert subnet_cidrs(plan, ["a", "b"]) == {
        "public": ["10.1.0.0/22", "10.1.4.0/22"],
        "private": ["10.1.64.0/20", "10.1.80.0/20"],
        "isolated": ["10.1.16.0/24", "10.1.17.0/24"],
    }
