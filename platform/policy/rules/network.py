"""Security groups and network ACLs: nothing is open to the internet but the load balancer's
listener ports; the default security group admits nothing; every VPC logs its flows.

A security group rule can be written four ways (inline in the group or its default group, or
as a separate aws:ec2/securityGroupRule or aws:vpc/securityGroupIngressRule resource) and a
network ACL entry two (inline, or aws:ec2/networkAclRule); the rules read them all.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from osp.platform.plan import PlannedResource
from osp.platform.policy.model import Check, Rule, Scope, Severity
from osp.platform.policy.rules._reading import (
    as_list,
    of_types,
    port_range,
    referrers,
    shown_ports,
    truthy,
    unknown,
)

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
NETWORK_ACL = "aws:ec2/networkAcl:NetworkAcl"
DEFAULT_NETWORK_ACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
NETWORK_ACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"

#: Remote administration: never reachable from the internet, even inside an allowed range.
ADMIN_PORTS = (22, 3389)
#: Where replies to the VPC's own outbound connections arrive: a stateless ACL must admit them.
EPHEMERAL = (1024, 65535)


@dataclass(frozen=True)
class _Opening:
    """One way in from the internet: where it is declared and what it opens."""

    path: str
    source: str
    ports: tuple[int, int]


def _from_world(cidr: Any) -> bool:
    """A source that is the internet at large: 0.0.0.0/0, ::/0, or a public range as wide."""
    if not isinstance(cidr, str) or unknown(cidr):
        return False
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return network.prefixlen < 8 and not network.is_private


def _inline_openings(entries: Any, key: str, acl: bool = False) -> Iterator[_Opening]:
    for index, entry in enumerate(as_list(entries)):
        if not isinstance(entry, dict):
            continue
        if acl and str(entry.get("action", "allow")).lower() != "allow":
            continue
        ports = port_range(entry.get("protocol"), entry.get("fromPort"), entry.get("toPort"))
        fields = ("cidrBlock", "ipv6CidrBlock") if acl else ("cidrBlocks", "ipv6CidrBlocks")
        for field in fields:
            for cidr in as_list(entry.get(field)):
                if _from_world(cidr):
                    yield _Opening(f"{key}[{index}].{field}", cidr, ports)


def _openings(resource: PlannedResource) -> list[_Opening]:
    inputs = resource.inputs
    if resource.type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        return list(_inline_openings(inputs.get("ingress"), "ingress"))
    if resource.type == SECURITY_GROUP_RULE:
        if inputs.get("type") != "ingress":
            return []
        ports = port_range(inputs.get("protocol"), inputs.get("fromPort"), inputs.get("toPort"))
        return [
            _Opening(field, cidr, ports)
            for field in ("cidrBlocks", "ipv6CidrBlocks")
            for cidr in as_list(inputs.get(field))
            if _from_world(cidr)
        ]
    if resource.type == INGRESS_RULE:
        ports = port_range(inputs.get("ipProtocol"), inputs.get("fromPort"), inputs.get("toPort"))
        return [
            _Opening(field, inputs[field], ports)
            for field in ("cidrIpv4", "cidrIpv6")
            if _from_world(inputs.get(field))
        ]
    if resource.type in (NETWORK_ACL, DEFAULT_NETWORK_ACL):
        return list(_inline_openings(inputs.get("ingress"), "ingress", acl=True))
    if resource.type == NETWORK_ACL_RULE:
        if truthy(inputs.get("egress")) or str(inputs.get("ruleAction", "")).lower() != "allow":
            return []
        ports = port_range(inputs.get("protocol"), inputs.get("fromPort"), inputs.get("toPort"))
        return [
            _Opening(field, inputs[field], ports)
            for field in ("cidrBlock", "ipv6CidrBlock")
            if _from_world(inputs.get(field))
        ]
    return []


def _listener_ports(scope: Scope, balancer: PlannedResource) -> set[int]:
    listeners = referrers(scope, balancer, (LISTENER,), "loadBalancerArn")
    return {int(lis.inputs["port"]) for lis in listeners if isinstance(lis.inputs.get("port"), int)}


def _group_of(resource: PlannedResource) -> tuple[set[str], set[str]]:
    """The URNs and ids by which the security group a rule belongs to may be named."""
    if resource.type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        return {resource.urn}, set()
    ids = {resource.inputs.get("securityGroupId")} - {None}
    return set(resource.property_dependencies.get("securityGroupId", ())), {
        i for i in ids if isinstance(i, str) and not unknown(i)
    }


def _balancer_ports(scope: Scope, resource: PlannedResource) -> tuple[str | None, set[int]]:
    """The load balancer the rule's group fronts, if any, and its listener ports."""
    urns, ids = _group_of(resource)
    for balancer in of_types(scope, (LOAD_BALANCER,)):
        attached = set(balancer.property_dependencies.get("securityGroups", ()))
        values = {v for v in as_list(balancer.inputs.get("securityGroups")) if isinstance(v, str)}
        if urns & attached or ids & values:
            return balancer.name, _listener_ports(scope, balancer)
    return None, set()


def _within(ports: tuple[int, int], allowed: set[int]) -> bool:
    low, high = ports
    return high - low < 1024 and all(port in allowed for port in range(low, high + 1))


def _no_world_ingress(resource: PlannedResource, scope: Scope) -> Check | None:
    openings = _openings(resource)
    if resource.type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP) and not openings:
        return Check.of(True, ingress="no rule from the internet")
    if not openings:
        return None
    balancer, listener_ports = _balancer_ports(scope, resource)
    bad = [o for o in openings if not (balancer and _within(o.ports, listener_ports))]
    evidence = {o.path: f"{o.source} on {shown_ports(o.ports)}" for o in bad or openings}
    if bad:
        where = (
            f"; load balancer {balancer} listens on {sorted(listener_ports)}" if balancer else ""
        )
        shown = ", ".join(f"{o.source} on {shown_ports(o.ports)}" for o in bad)
        return Check.of(False, f"open to the internet: {shown}{where}", **evidence)
    return Check.of(True, f"the listener ports of load balancer {balancer}", **evidence)


def _acl_allowed(ports: tuple[int, int], listener_ports: set[int]) -> bool:
    low, high = ports
    if any(low <= admin <= high for admin in ADMIN_PORTS):
        return False
    return _within(ports, listener_ports) or (EPHEMERAL[0] <= low and high <= EPHEMERAL[1])


def _acl_ingress(resource: PlannedResource, scope: Scope) -> Check | None:
    openings = _openings(resource)
    if resource.type == NETWORK_ACL_RULE and not openings:
        return None
    listener_ports = {
        port
        for balancer in of_types(scope, (LOAD_BALANCER,))
        if balancer.inputs.get("internal") is not True
        for port in _listener_ports(scope, balancer)
    }
    bad = [o for o in openings if not _acl_allowed(o.ports, listener_ports)]
    if not bad:
        return Check.of(True, ingress=[f"{o.source} on {shown_ports(o.ports)}" for o in openings])
    shown = ", ".join(f"{o.source} on {shown_ports(o.ports)}" for o in bad)
    return Check.of(
        False,
        f"admits the internet beyond the listener ports {sorted(listener_ports)} and "
        f"return traffic {EPHEMERAL[0]}-{EPHEMERAL[1]}: {shown}",
        **{o.path: f"{o.source} on {shown_ports(o.ports)}" for o in bad},
    )


def _default_group_closed(resource: PlannedResource, scope: Scope) -> Check | None:
    ingress, egress = resource.inputs.get("ingress"), resource.inputs.get("egress")
    closed = not ingress and not egress
    return Check.of(
        closed,
        "" if closed else "the default security group admits traffic",
        ingress=ingress,
        egress=egress,
    )


def _flow_logs(resource: PlannedResource, scope: Scope) -> Check | None:
    logs = referrers(scope, resource, (FLOW_LOG,), "vpcId")
    traffic = logs[0].inputs.get("trafficType") if logs else None
    if not logs:
        return Check.of(False, "no flow log", flowLog=None)
    return Check.of(
        traffic == "ALL",
        "" if traffic == "ALL" else f"logs only {traffic} traffic",
        **{"flowLog.trafficType": traffic},
    )


RULES = (
    Rule(
        id="OSP-NET-1",
        title="No security group admits the internet, except to a load balancer's listeners",
        severity=Severity.CRITICAL,
        controls=("EC2.18", "EC2.19", "EC2.53", "EC2.54"),
        rationale="A database, cache, broker or node port open to 0.0.0.0/0 is scanned within "
        "minutes; only the internet-facing load balancer's listener ports may face the world.",
        fix="Name the clients' security groups (client_security_group_ids) or a prefix list "
        "instead of 0.0.0.0/0 or ::/0; for the load balancer, admit only its listener ports.",
        types=(SECURITY_GROUP, DEFAULT_SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE),
        check=_no_world_ingress,
    ),
    Rule(
        id="OSP-NET-2",
        title="The default security group admits and sends nothing",
        severity=Severity.HIGH,
        controls=("EC2.2",),
        rationale="Anything launched without a security group lands in the default one; with "
        "rules in it, that resource is reachable by mistake.",
        fix="Keep the VPC's aws.ec2.DefaultSecurityGroup with empty ingress and egress (the "
        "Network component adopts it so).",
        types=(DEFAULT_SECURITY_GROUP,),
        check=_default_group_closed,
    ),
    Rule(
        id="OSP-NET-3",
        title="Network ACLs admit the internet only to listener ports and return traffic",
        severity=Severity.HIGH,
        controls=("EC2.21",),
        rationale="The ACL is the subnet's second line when a security group is opened by "
        "mistake; allowing every protocol and port from 0.0.0.0/0 leaves only one line, and "
        "never SSH or RDP from the internet.",
        fix="Replace allow-all ingress from 0.0.0.0/0 with entries for the load balancer's "
        "listener ports (public subnets) and TCP/UDP 1024-3388 and 3390-65535 for replies, "
        "keeping RDP (3389) and SSH (22) out (the Network component's ACL entries).",
        types=(NETWORK_ACL, DEFAULT_NETWORK_ACL, NETWORK_ACL_RULE),
        check=_acl_ingress,
    ),
    Rule(
        id="OSP-NET-4",
        title="Every VPC logs all its flows",
        severity=Severity.MEDIUM,
        controls=("EC2.6",),
        rationale="Flow logs are the record of which address talked to which during an "
        "incident; rejected-only logs miss the exfiltration that succeeded.",
        fix="Keep the Network component's flow log with `trafficType: ALL`.",
        types=(VPC,),
        check=_flow_logs,
    ),
)


def world_openings(scope: Scope, group: PlannedResource) -> list[tuple[str, str, str]]:
    """How the security group `group` admits the internet, by any of the four ways a rule can
    be written: (property path, source, ports shown) for each opening."""
    found = [(o.path, o.source, shown_ports(o.ports)) for o in _openings(group)]
    for rule in of_types(scope, (SECURITY_GROUP_RULE, INGRESS_RULE)):
        urns, ids = _group_of(rule)
        if group.urn in urns or group.inputs.get("id") in ids:
            found += [
                (f"{rule.name}.{o.path}", o.source, shown_ports(o.ports)) for o in _openings(rule)
            ]
    return found
