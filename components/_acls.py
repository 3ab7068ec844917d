"""The network ACL entries of each subnet tier: what the tier really receives and sends.

Security groups filter per workload; the ACLs are the subnet's second line, for when a group
is opened by mistake. ACLs are stateless, so each allowed flow needs its request admitted one
way and its replies the other, and the replies of the VPC's own connections to the internet
(through NAT or the S3 gateway endpoint) arrive on ephemeral ports from any address.

- public (load balancer, NAT gateways): the listener ports and return traffic from the
  internet; from the private tier, what NAT forwards and the targets' replies. Out: replies
  to the internet, what NAT forwards, and the private tier's ports at and above 1024 (the
  targets' ports and NAT's replies).
- private (nodes, pods, endpoints, control-plane ENIs, functions): everything from the VPC,
  and only return traffic from the internet. Out: the VPC, and the egress ports to anywhere.
- isolated (data stores): the private tier on the stores' ports and its own block (replication
  between zones). Out: replies to the private tier, and its own block.

From the internet the return range skips RDP (3389); SSH (22) is below it (FSBP EC2.21).
Traffic to the Amazon DNS server, the instance metadata service and Amazon Time Sync is never
filtered by ACLs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WORLD = "0.0.0.0/0"
ALL = "-1"
TCP = "tcp"
#: Ports the replies to a connection arrive on (any OS's ephemeral range lies within).
EPHEMERAL = (1024, 65535)
#: The return range admitted from the internet: EPHEMERAL without RDP (3389).
WORLD_RETURN = ((1024, 3388), (3390, 65535))
#: Rule numbers start here and step by RULE_STEP, leaving room to insert a rule by hand.
FIRST_RULE = 100
RULE_STEP = 10


@dataclass(frozen=True)
class AclEntry:
    """One allow entry: `protocol` (`tcp`, or `-1` for all) from/to `cidr` on the ports."""

    protocol: str
    cidr: str
    from_port: int = 0
    to_port: int = 0


@dataclass(frozen=True)
class TierAcl:
    """A tier's ACL: ingress and egress allow entries, in rule-number order."""

    ingress: tuple[AclEntry, ...]
    egress: tuple[AclEntry, ...]


def _port(cidr: str, port: int) -> AclEntry:
    return AclEntry(TCP, cidr, port, port)


def _ports(cidr: str, low: int, high: int) -> AclEntry:
    return AclEntry(TCP, cidr, low, high)


def tier_acls(
    *,
    vpc_cidr: str,
    public_cidr: str,
    private_cidr: str,
    isolated_cidr: str,
    listener_ports: Sequence[int],
    store_ports: Sequence[int],
    egress_ports: Sequence[int],
) -> dict[str, TierAcl]:
    """Tier → its ACL. `*_cidr` are the tiers' blocks (every zone's subnet lies in its tier's
    block, and no other tier's does), so a zone added later needs no new entry."""
    world_return = [_ports(WORLD, low, high) for low, high in WORLD_RETURN]
    replies_to = [_ports(private_cidr, *EPHEMERAL)]
    egress = sorted(set(egress_ports))
    return {
        "public": TierAcl(
            ingress=(
                *(_port(WORLD, p) for p in sorted(set(listener_ports))),
                *world_return,
                *(_port(private_cidr, p) for p in egress),
                _ports(private_cidr, *EPHEMERAL),
            ),
            egress=(
                _ports(WORLD, *EPHEMERAL),
                *(_port(WORLD, p) for p in egress),
                *replies_to,
            ),
        ),
        "private": TierAcl(
            ingress=(AclEntry(ALL, vpc_cidr), *world_return),
            egress=(AclEntry(ALL, vpc_cidr), *(_port(WORLD, p) for p in egress)),
        ),
        "isolated": TierAcl(
            ingress=(
                *(_port(private_cidr, p) for p in sorted(set(store_ports))),
                AclEntry(ALL, isolated_cidr),
            ),
            egress=(*replies_to, AclEntry(ALL, isolated_cidr)),
        ),
    }


def entries(acl_entries: Sequence[AclEntry]) -> list[dict[str, object]]:
    """The entries as aws.ec2.NetworkAcl's inline `ingress`/`egress` items, numbered."""
    return [
        {
            "protocol": entry.protocol,
            "rule_no": FIRST_RULE + index * RULE_STEP,
            "action": "allow",
            "from_port": entry.from_port,
            "to_port": entry.to_port,
            "cidr_block": entry.cidr,
        }
        for index, entry in enumerate(acl_entries)
    ]
