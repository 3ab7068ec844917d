"""The network ACLs of the estate (issue 19, item 1): exactly the entries designed in
osp.components._acls, and nothing the estate needs is cut.

The needed flows are read from the plan itself: the load balancer's listeners and target
groups, the data stores' client rules, the NAT gateways' return traffic, the rules between the
EKS control plane and the nodes, the VPC endpoints, and the pods' NetworkPolicies (DNS, the
stores, the endpoints, the internet). Each is played through a stateless ACL evaluator, request
and reply, between every pair of zones: first matching entry by rule number, default deny,
traffic inside one subnet unfiltered (as AWS evaluates them).
"""

from __future__ import annotations

import ipaddress
import itertools
from dataclasses import dataclass

import pytest

from osp.platform.plan import Plan, PlannedResource
from tests.support import plan_of

BLUEPRINTS = ("osp", "learning-hub", "lms")
ENVIRONMENTS = ("dev", "staging", "prod")
SUBNET = "aws:ec2/subnet:Subnet"
ACL = "aws:ec2/networkAcl:NetworkAcl"
SUBNET_GROUPS = ("aws:rds/subnetGroup:SubnetGroup", "aws:elasticache/subnetGroup:SubnetGroup")
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
#: An internet address (RFC 5737 documentation range): a client, a registry, S3.
WORLD = "198.51.100.7"
#: Client ports a reply may come back to: the edges of the range and Linux's own range.
CLIENT_PORTS = (1024, 32768, 60999, 65535)
PROTOCOLS = {"tcp": "6", "udp": "17", "-1": "-1", "6": "6", "17": "17"}


@dataclass(frozen=True)
class Flow:
    """A connection someone opens: from `source` (a tier, or the internet) to `target`."""

    why: str
    source: str
    target: str
    protocol: str
    port: int
    via_nat: bool = False


class Estate:
    """The plan's subnets, their tiers and ACLs, and a stateless evaluator over them."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.tier_of: dict[str, str] = {}
        self.subnets: dict[str, list[ipaddress.IPv4Network]] = {}
        for subnet in plan.of_type(SUBNET):
            tier = subnet.inputs["tags"]["osp:subnet-tier"]
            self.tier_of[subnet.urn] = tier
            self.subnets.setdefault(tier, []).append(
                ipaddress.ip_network(subnet.inputs["cidrBlock"])
            )
        self.acl: dict[str, PlannedResource] = {}
        for acl in plan.of_type(ACL):
            (tier,) = {self.tier_of[u] for u in acl.property_dependencies["subnetIds"]}
            self.acl[tier] = acl

    def tiers(self, resource: PlannedResource) -> set[str]:
        """The tiers of the subnets `resource` is placed in (through a subnet group too)."""
        found: set[str] = set()
        for urns in resource.property_dependencies.values():
            for urn in urns:
                if urn in self.tier_of:
                    found.add(self.tier_of[urn])
                elif self.plan.get(urn).type in SUBNET_GROUPS:
                    found |= self.tiers(self.plan.get(urn))
        return found

    def addresses(self, place: str) -> list[str]:
        """An address in each zone's subnet of tier `place`, or the internet's."""
        if place == "world":
            return [WORLD]
        return [str(net.network_address + 10) for net in self.subnets[place]]

    def _subnet(self, address: str) -> tuple[str, ipaddress.IPv4Network] | None:
        ip = ipaddress.ip_address(address)
        for tier, nets in self.subnets.items():
            for net in nets:
                if ip in net:
                    return tier, net
        return None

    def _admits(self, tier: str, direction: str, remote: str, protocol: str, port: int) -> bool:
        entries = sorted(self.acl[tier].inputs[direction], key=lambda e: e["ruleNo"])
        for entry in entries:
            if ipaddress.ip_address(remote) not in ipaddress.ip_network(entry["cidrBlock"]):
                continue
            kind = PROTOCOLS[str(entry["protocol"])]
            if kind != "-1" and (
                kind != PROTOCOLS[protocol] or not entry["fromPort"] <= port <= entry["toPort"]
            ):
                continue
            return entry["action"] == "allow"
        return False

    def hop(self, at: str, direction: str, remote: str, protocol: str, port: int) -> list[str]:
        """Why the ACL of `at`'s subnet drops a packet to or from `remote`, if it does."""
        tier, _ = self._subnet(at) or (None, None)
        if tier is None or self._admits(tier, direction, remote, protocol, port):
            return []
        way = "to" if direction == "egress" else "from"
        return [f"{tier} {direction} {way} {remote} on {port}/{protocol}"]

    def crosses(self, source: str, destination: str, protocol: str, port: int) -> list[str]:
        """Why a packet from `source` to `destination` (port `port`) is dropped, if it is."""
        here, there = self._subnet(source), self._subnet(destination)
        if here and there and here[1] == there[1]:
            return []  # ACLs filter traffic entering or leaving a subnet, not inside it
        return self.hop(source, "egress", destination, protocol, port) + self.hop(
            destination, "ingress", source, protocol, port
        )

    def connect(self, flow: Flow) -> list[str]:
        """Every drop of the request or a reply of `flow`, between every pair of zones."""
        dropped: list[str] = []
        kind = flow.protocol
        for source, target in itertools.product(
            self.addresses(flow.source), self.addresses(flow.target)
        ):
            for client in CLIENT_PORTS:
                if not flow.via_nat:
                    dropped += self.crosses(source, target, kind, flow.port)
                    dropped += self.crosses(target, source, kind, client)
                    continue
                # source -> NAT gateway -> the internet, and the reply back the same way: the
                # gateway passes the internet's address on to the source.
                for nat in self.addresses("public"):
                    dropped += self.hop(source, "egress", target, kind, flow.port)
                    dropped += self.hop(nat, "ingress", source, kind, flow.port)
                    dropped += self.hop(nat, "egress", target, kind, flow.port)
                    dropped += self.hop(nat, "ingress", target, kind, client)
                    dropped += self.hop(nat, "egress", source, kind, client)
                    dropped += self.hop(source, "ingress", target, kind, client)
        return sorted({f"{flow.why}: {drop}" for drop in dropped})


def _rule_ports(rule: PlannedResource) -> list[int]:
    low, high = rule.inputs.get("fromPort"), rule.inputs.get("toPort")
    return [low] if low == high else [low, high]


def needed_flows(estate: Estate) -> list[Flow]:
    """What the estate needs the network to carry, read from its plan."""
    plan = estate.plan
    flows: list[Flow] = []
    (node_group_tier,) = {
        t for g in plan.of_type("aws:eks/nodeGroup:NodeGroup") for t in estate.tiers(g)
    }
    (cluster,) = plan.of_type("aws:eks/cluster:Cluster")
    (control_plane_tier,) = estate.tiers(cluster)
    # The load balancer: the internet on each listener, and the balancer to its targets.
    for balancer in plan.of_type("aws:lb/loadBalancer:LoadBalancer"):
        assert balancer.inputs["internal"] is False
        (tier,) = estate.tiers(balancer)
        for listener in plan.of_type("aws:lb/listener:Listener"):
            port = int(listener.inputs["port"])
            flows.append(Flow(f"listener {port}", "world", tier, "tcp", port))
        for group in plan.of_type("aws:lb/targetGroup:TargetGroup"):
            port = int(group.inputs["port"])
            flows.append(Flow(f"target {group.name}", tier, node_group_tier, "tcp", port))
    # The data stores: each client rule's ports, from the nodes to the store's tier.
    stores = {
        "aws:rds/instance:Instance": "vpcSecurityGroupIds",
        "aws:elasticache/replicationGroup:ReplicationGroup": "securityGroupIds",
        "aws:mq/broker:Broker": "securityGroups",
        "aws:msk/cluster:Cluster": "brokerNodeGroupInfo",
    }
    for store_type, groups_key in stores.items():
        for store in plan.of_type(store_type):
            store_tiers = estate.tiers(store)
            if not store_tiers:  # a read replica takes its subnets from its source
                continue
            (store_tier,) = store_tiers
            groups = set(store.property_dependencies[groups_key])
            for rule in plan.of_type(INGRESS_RULE):
                if set(rule.property_dependencies.get("securityGroupId", ())) & groups:
                    flows += [
                        Flow(f"{store.name} {rule.name}", node_group_tier, store_tier, "tcp", p)
                        for p in _rule_ports(rule)
                    ]
    assert any(f.why.startswith("osp-") and "postgres" in f.why for f in flows)
    # Functions in the VPC (the secret rotators): the internet on their egress rules' ports
    # through NAT, and the store each is admitted into.
    store_tiers = {
        group: tier
        for store_type, groups_key in stores.items()
        for store in plan.of_type(store_type)
        for tier in estate.tiers(store)
        for group in store.property_dependencies[groups_key]
    }
    for function in plan.of_type("aws:lambda/function:Function"):
        if "vpcConfig" not in function.inputs:
            continue
        (tier,) = estate.tiers(function)
        own = set(function.property_dependencies["vpcConfig"])
        for rule in plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"):
            if (
                own & set(rule.property_dependencies["securityGroupId"])
                and rule.inputs.get("cidrIpv4") == "0.0.0.0/0"
            ):
                port = rule.inputs["fromPort"]
                flows.append(Flow(rule.name, tier, "world", "tcp", port, via_nat=True))
        for rule in plan.of_type(INGRESS_RULE):
            if own & set(rule.property_dependencies.get("referencedSecurityGroupId", ())):
                (store_group,) = rule.property_dependencies["securityGroupId"]
                target = store_tiers[store_group]
                flows += [Flow(rule.name, tier, target, "tcp", p) for p in _rule_ports(rule)]
    # Managed Flink applications (their network interfaces): the store each is admitted into.
    for application in plan.of_type("aws:kinesisanalyticsv2/application:Application"):
        (tier,) = estate.tiers(application)
        own = set(application.property_dependencies["applicationConfiguration"])
        for rule in plan.of_type(INGRESS_RULE):
            if own & set(rule.property_dependencies.get("referencedSecurityGroupId", ())):
                (store_group,) = rule.property_dependencies["securityGroupId"]
                target = store_tiers[store_group]
                flows += [Flow(rule.name, tier, target, "tcp", p) for p in _rule_ports(rule)]
    # The control plane and the nodes, both ways, on the ports their groups admit.
    groups = {g.name: g.urn for g in plan.of_type("aws:ec2/securityGroup:SecurityGroup")} | {
        c.name: c.urn for c in plan.of_type("aws:eks/cluster:Cluster")
    }
    for rule in plan.of_type(INGRESS_RULE):
        if not rule.name.startswith(f"{cluster.name.removesuffix('-cluster')}-"):
            continue
        to_nodes = "-node-" in rule.name
        source = control_plane_tier if "from-cluster" in rule.name else node_group_tier
        target = node_group_tier if to_nodes else control_plane_tier
        protocol = rule.inputs["ipProtocol"]
        ports = _rule_ports(rule) if protocol != "-1" else [53, 8080]
        for protocol_used in ("tcp", "udp") if protocol == "-1" else (protocol,):
            flows += [Flow(rule.name, source, target, protocol_used, p) for p in ports]
    assert groups  # the cluster's own rules were found above
    # NAT: what leaves for the internet comes back.
    assert plan.of_type("aws:ec2/natGateway:NatGateway")
    # VPC endpoints: interface ones in their tier on 443; the S3 gateway is the internet's
    # address, reached without NAT.
    for endpoint in plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint"):
        if endpoint.inputs["vpcEndpointType"] == "Interface":
            (tier,) = estate.tiers(endpoint)
            flows.append(Flow(endpoint.name, node_group_tier, tier, "tcp", 443))
        else:
            flows.append(Flow(endpoint.name, node_group_tier, "world", "tcp", 443))
    # The pods' own egress (NetworkPolicies): CoreDNS, stores, endpoints, the internet.
    for policy in plan.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy"):
        for rule in policy.inputs["spec"].get("egress") or []:
            for peer in rule.get("to") or [{}]:
                block = (peer.get("ipBlock") or {}).get("cidr")
                for port in rule.get("ports") or []:
                    protocol = port.get("protocol", "TCP").lower()
                    number = int(port["port"])
                    if block == "0.0.0.0/0":
                        flows.append(
                            Flow(policy.name, node_group_tier, "world", protocol, number, True)
                        )
                        continue
                    target = node_group_tier  # CoreDNS and other pods
                    if block:
                        found = estate._subnet(str(ipaddress.ip_network(block).network_address))
                        assert found, f"{policy.name}: {block} is in no subnet"
                        target = found[0]
                    flows.append(Flow(policy.name, node_group_tier, target, protocol, number))
    return flows


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_nothing_the_estate_needs_is_cut(environment, blueprint):
    estate = Estate(plan_of(environment, blueprint))
    flows = needed_flows(estate)
    kinds = {f.why.split(" ")[0] for f in flows}
    assert {"listener", "target"} <= kinds and any(f.via_nat for f in flows)
    rotations = {"redis-rotation-into-store", "app-secrets-rotation-https"}
    if blueprint == "learning-hub":  # the only estate with a broker
        rotations.add("rabbitmq-rotation-into-store")
    if blueprint == "lms":  # no Redis, no app secrets; the Flink job and the nodes reach Kafka
        rotations = {"kafka-from-learning-analytics"}
        nodes = f"osp-{environment}-kafka-cluster osp-{environment}-kafka-from-client-0"
        assert {(f.why, f.port) for f in flows} >= {(nodes, 9098)}
    assert {f.why for f in flows} >= {f"osp-{environment}-{r}" for r in rotations}
    assert {(f.protocol, f.port) for f in flows if f.target == f.source} >= {
        ("udp", 53),
        ("tcp", 53),
    }
    dropped = [drop for flow in flows for drop in estate.connect(flow)]
    assert dropped == []


def test_the_evaluator_drops_what_the_acls_do_not_admit():
    estate = Estate(plan_of("prod"))
    assert estate.connect(Flow("ssh", "world", "public", "tcp", 22)) == [
        f"ssh: public ingress from {WORLD} on 22/tcp"
    ]
    replies = [f"rdp: private egress to {WORLD} on {port}/tcp" for port in CLIENT_PORTS]
    assert estate.connect(Flow("rdp", "world", "private", "tcp", 3389)) == [
        *replies,
        f"rdp: private ingress from {WORLD} on 3389/tcp",
    ]
    assert estate.connect(Flow("mysql", "private", "isolated", "tcp", 3306)) == [
        f"mysql: isolated ingress from 10.30.{third}.10 on 3306/tcp" for third in (0, 32, 64)
    ]
    assert estate.connect(Flow("smtp", "private", "world", "tcp", 25, via_nat=True)) == [
        f"smtp: private egress to {WORLD} on 25/tcp",
        f"smtp: public egress to {WORLD} on 25/tcp",
        *(f"smtp: public ingress from 10.30.{third}.10 on 25/tcp" for third in (0, 32, 64)),
    ]
    assert estate.connect(Flow("out", "isolated", "world", "tcp", 443)) == [
        f"out: isolated egress to {WORLD} on 443/tcp",
        *(f"out: isolated ingress from {WORLD} on {port}/tcp" for port in sorted(CLIENT_PORTS)),
    ]


def _rules(acl: PlannedResource, direction: str) -> list[tuple]:
    return [
        (e["ruleNo"], e["protocol"], e["cidrBlock"], e["fromPort"], e["toPort"], e["action"])
        for e in acl.inputs[direction]
    ]


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_the_prod_acls_hold_exactly_the_designed_entries(blueprint):
    estate = Estate(plan_of("prod", blueprint))
    world, vpc, prv, iso = "0.0.0.0/0", "10.30.0.0/16", "10.30.0.0/17", "10.30.160.0/19"
    returns = [("tcp", world, 1024, 3388), ("tcp", world, 3390, 65535)]
    store_ports = {"learning-hub": (443, 5432, 5671, 6379), "lms": (5432, 9098)}.get(
        blueprint, (5432, 6379)
    )
    designed = {
        "public": (
            [("tcp", world, 443, 443), *returns,
             ("tcp", prv, 443, 443), ("tcp", prv, 1024, 65535)],
            [("tcp", world, 1024, 65535), ("tcp", world, 443, 443), ("tcp", prv, 1024, 65535)],
        ),
        "private": (
            [("-1", vpc, 0, 0), *returns],
            [("-1", vpc, 0, 0), ("tcp", world, 443, 443)],
        ),
        # Only the ports of the stores the blueprint has: the broker's (443, 5671) in
        # learning-hub alone.
        "isolated": (
            [*(("tcp", prv, port, port) for port in store_ports), ("-1", iso, 0, 0)],
            [("tcp", prv, 1024, 65535), ("-1", iso, 0, 0)],
        ),
    }  # fmt: skip
    for tier, (ingress, egress) in designed.items():
        acl = estate.acl[tier]
        assert acl.name == f"osp-prod-network-{tier}-acl"
        for direction, entries in (("ingress", ingress), ("egress", egress)):
            numbered = [(100 + 10 * i, *e, "allow") for i, e in enumerate(entries)]
            assert _rules(acl, direction) == numbered, (tier, direction)
    (default,) = estate.plan.of_type("aws:ec2/defaultNetworkAcl:DefaultNetworkAcl")
    assert default.inputs["ingress"] == [] and default.inputs["egress"] == []
