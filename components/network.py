"""`Network`: the VPC of an environment, three subnet tiers per zone, and its egress."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network

import pulumi
import pulumi_aws as aws

from osp.platform import cidr as addressing
from osp.platform.spec import NatStrategy, SubnetPlan

TOKEN = "osp:network:Network"

#: Tag on each subnet naming its tier, so tools can find "the private subnets" by tag.
TIER_TAG = "osp:subnet-tier"

# Which load balancers the AWS Load Balancer Controller may place in a tier.
_ELB_ROLE_TAGS = {
    "public": {"kubernetes.io/role/elb": "1"},
    "private": {"kubernetes.io/role/internal-elb": "1"},
    "isolated": {},
}


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    """Arguments of `Network`."""

    cidr_block: str
    """VPC IPv4 CIDR block, such as 10.0.0.0/16."""

    availability_zones: Sequence[str]
    """Zones, in slot order: zone i gets the i-th subnet of each tier. At least 2."""

    subnet_plan: SubnetPlan | None = None
    """Blocks and zone prefix lengths of the public, private and isolated tiers.
    Default: carved from `cidr_block` (osp.platform.cidr.default_plan)."""

    nat_strategy: NatStrategy = NatStrategy.PER_AZ
    """`per-az`: a NAT gateway and Elastic IP per zone. `single`: one, in the first zone."""

    cluster_name: str | None = None
    """EKS cluster that may use the subnets: tags them `kubernetes.io/cluster/<name>=shared`."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource (osp's tag set, from osp.platform.naming.standard_tags)."""


class Network(pulumi.ComponentResource):
    """A VPC with public, private and isolated subnets in every zone.

    Public subnets hold load balancers and NAT gateways and route to the internet gateway;
    private subnets hold workloads and reach the internet only through NAT; isolated
    subnets hold data stores and have no route out of the VPC. Nothing launched in a public
    subnet gets a public IP unless it asks for one. The VPC's default security group and
    default route table are taken over and emptied, so nothing that lands in them by
    accident can talk to anything.
    """

    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    isolated_subnet_ids: list[pulumi.Output[str]]
    nat_public_ips: list[pulumi.Output[str]]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        zones = list(args.availability_zones)
        if len(zones) < 2 or len(set(zones)) != len(zones):
            raise ValueError(f"Network {name}: expected at least 2 distinct zones, got {zones}")
        plan = args.subnet_plan or SubnetPlan.model_validate(
            addressing.default_plan(IPv4Network(args.cidr_block))
        )
        child = pulumi.ResourceOptions(parent=self)

        def tags(resource_name: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
            return {"Name": resource_name, **(extra or {}), **args.tags}

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr_block,
            enable_dns_support=True,
            enable_dns_hostnames=True,  # interface endpoints and EKS need private DNS names
            tags=tags(name),
            opts=child,
        )
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            revoke_rules_on_delete=True,
            tags=tags(f"{name}-default-locked"),
            opts=child,
        )
        aws.ec2.DefaultRouteTable(
            f"{name}-default-rtb",
            default_route_table_id=vpc.default_route_table_id,
            routes=[],
            tags=tags(f"{name}-default-locked"),
            opts=child,
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags=tags(f"{name}-igw"), opts=child
        )

        cluster_tags = (
            {f"kubernetes.io/cluster/{args.cluster_name}": "shared"} if args.cluster_name else {}
        )
        subnets: dict[str, list[aws.ec2.Subnet]] = {tier: [] for tier in addressing.TIERS}
        for tier in addressing.TIERS:
            layout = getattr(plan, tier)
            for index, zone in enumerate(zones):
                subnet_name = f"{name}-{tier}-{zone}"
                subnets[tier].append(
                    aws.ec2.Subnet(
                        subnet_name,
                        vpc_id=vpc.id,
                        availability_zone=zone,
                        cidr_block=str(
                            addressing.zone_subnet(layout.cidr, layout.prefix_length, index)
                        ),
                        map_public_ip_on_launch=False,
                        tags=tags(
                            subnet_name,
                            {TIER_TAG: tier, **_ELB_ROLE_TAGS[tier], **cluster_tags},
                        ),
                        opts=child,
                    )
                )

        public_rt = aws.ec2.RouteTable(
            f"{name}-public", vpc_id=vpc.id, tags=tags(f"{name}-public"), opts=child
        )
        aws.ec2.Route(
            f"{name}-public-internet",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )
        for subnet, zone in zip(subnets["public"], zones, strict=True):
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{zone}",
                subnet_id=subnet.id,
                route_table_id=public_rt.id,
                opts=child,
            )

        nat_zones = zones if args.nat_strategy is NatStrategy.PER_AZ else zones[:1]
        nat_gateways: list[aws.ec2.NatGateway] = []
        eips: list[aws.ec2.Eip] = []
        for index, zone in enumerate(nat_zones):
            eip = aws.ec2.Eip(
                f"{name}-nat-{zone}",
                domain="vpc",
                tags=tags(f"{name}-nat-{zone}"),
                opts=child,
            )
            eips.append(eip)
            nat_gateways.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{zone}",
                    allocation_id=eip.id,
                    subnet_id=subnets["public"][index].id,
                    connectivity_type="public",
                    tags=tags(f"{name}-nat-{zone}"),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
            )

        for index, (subnet, zone) in enumerate(zip(subnets["private"], zones, strict=True)):
            nat = nat_gateways[index if args.nat_strategy is NatStrategy.PER_AZ else 0]
            rt = aws.ec2.RouteTable(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                tags=tags(f"{name}-private-{zone}"),
                opts=child,
            )
            aws.ec2.Route(
                f"{name}-private-{zone}-egress",
                route_table_id=rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat.id,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{zone}", subnet_id=subnet.id, route_table_id=rt.id, opts=child
            )

        # Isolated subnets share one route table holding only the VPC's local route.
        isolated_rt = aws.ec2.RouteTable(
            f"{name}-isolated", vpc_id=vpc.id, tags=tags(f"{name}-isolated"), opts=child
        )
        for subnet, zone in zip(subnets["isolated"], zones, strict=True):
            aws.ec2.RouteTableAssociation(
                f"{name}-isolated-{zone}",
                subnet_id=subnet.id,
                route_table_id=isolated_rt.id,
                opts=child,
            )

        self.vpc_id = vpc.id
        self.public_subnet_ids = [s.id for s in subnets["public"]]
        self.private_subnet_ids = [s.id for s in subnets["private"]]
        self.isolated_subnet_ids = [s.id for s in subnets["isolated"]]
        self.nat_public_ips = [e.public_ip for e in eips]
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
                "isolatedSubnetIds": self.isolated_subnet_ids,
                "natPublicIps": self.nat_public_ips,
            }
        )
