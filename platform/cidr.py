"""The VPC address plan: which CIDR block each subnet tier and zone gets.

Every tier owns a fixed block, and zone *i* always gets the *i*-th subnet of that block, so
adding a zone later appends a subnet and never renumbers the existing ones.
"""

from __future__ import annotations

from ipaddress import IPv4Network

#: The most zones a tier's block holds in the default plan.
ZONE_SLOTS = 4
#: Smallest and largest VPC the default plan can carve (AWS allows /16 to /28).
MIN_VPC_PREFIX = 16
MAX_VPC_PREFIX = 20
#: AWS's smallest subnet.
MAX_SUBNET_PREFIX = 28

TIERS = ("public", "private", "isolated")


def default_plan(vpc: IPv4Network) -> dict[str, dict[str, object]]:
    """The default plan for a VPC of /16–/20, as spec data (tier → block and zone prefix).

    For 10.0.0.0/16: private (workloads, where EKS pods take their addresses) gets the first
    half as four /19s; public and isolated get a /19 each as four /21s; the last quarter,
    10.0.192.0/18, stays free for what comes later.
    """
    n = vpc.prefixlen
    first_half, second_half = vpc.subnets(new_prefix=n + 1)
    public_block, isolated_block, _free, _free2 = second_half.subnets(new_prefix=n + 3)
    return {
        "private": {"cidr": str(first_half), "prefix_length": n + 3},
        "public": {"cidr": str(public_block), "prefix_length": n + 5},
        "isolated": {"cidr": str(isolated_block), "prefix_length": n + 5},
    }


def slots(block: IPv4Network, prefix_length: int) -> int:
    """How many zone subnets of `prefix_length` fit in `block`."""
    return 2 ** (prefix_length - block.prefixlen)


def zone_subnet(block: IPv4Network, prefix_length: int, zone_index: int) -> IPv4Network:
    """The subnet of the zone in slot `zone_index`: the slot-th /prefix_length of `block`."""
    if not 0 <= zone_index < slots(block, prefix_length):
        raise ValueError(f"zone slot {zone_index} is outside {block} split into /{prefix_length}")
    size = 2 ** (32 - prefix_length)
    return IPv4Network((int(block.network_address) + zone_index * size, prefix_length))
