"""The estate: the one Pulumi program, composing osp's components from an environment spec.

`pulumi up` runs it through stacks/__main__.py; osp's engines run `build` directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from osp.components import KeyRing, KeyRingArgs, Network, NetworkArgs
from osp.platform import naming
from osp.platform.spec import EnvironmentSpec


@dataclass(frozen=True)
class Estate:
    """The components of one environment, for programs that build on top of it."""

    keys: KeyRing
    network: Network


def build(spec: EnvironmentSpec) -> Estate:
    """Declare the whole environment described by `spec` and export its outputs."""

    def tags(component: str) -> dict[str, str]:
        return naming.standard_tags(
            environment=spec.name, component=component, blueprint=spec.blueprint, extra=spec.tags
        )

    keys = KeyRing(
        naming.physical_name(spec.name, "keys"),
        KeyRingArgs(
            deletion_window_days=spec.keys.deletion_window_days,
            deletion_protection=spec.deletion_protection,
            tags=tags("keys"),
        ),
    )
    network = Network(
        naming.physical_name(spec.name, "network"),
        NetworkArgs(
            cidr_block=str(spec.network.cidr),
            availability_zones=spec.zones,
            subnet_plan=spec.network.subnets,
            nat_strategy=spec.network.nat,
            cluster_name=naming.physical_name(spec.name, "eks", naming.NameKind.EKS_CLUSTER),
            flow_logs_kms_key_arn=keys.logs_key_arn,
            flow_log_retention_days=spec.network.flow_log_retention_days,
            interface_endpoints=spec.network.interface_endpoints,
            tags=tags("network"),
        ),
    )

    pulumi.export("environment", spec.name)
    pulumi.export("region", spec.region)
    pulumi.export("availabilityZones", _verified_zones(spec))
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("publicSubnetIds", network.public_subnet_ids)
    pulumi.export("privateSubnetIds", network.private_subnet_ids)
    pulumi.export("isolatedSubnetIds", network.isolated_subnet_ids)
    pulumi.export("natPublicIps", network.nat_public_ips)
    return Estate(keys=keys, network=network)


def _verified_zones(spec: EnvironmentSpec) -> pulumi.Output[list[str]]:
    """The spec's zones, after checking that the account can use every one of them."""

    def check(available: list[str]) -> list[str]:
        missing = [zone for zone in spec.zones if zone not in available]
        if missing:
            raise ValueError(
                f"osp:network.availability_zones: {', '.join(missing)} not available in this "
                f"account; available zones in {spec.region}: {', '.join(available)}"
            )
        return list(spec.zones)

    found = aws.get_availability_zones_output(state="available")
    return found.names.apply(check)
