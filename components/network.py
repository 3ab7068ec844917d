"""`Network`: the VPC of an environment, three subnet tiers per zone, and its egress."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network

import pulumi
import pulumi_aws as aws

from osp.platform import cidr as addressing
from osp.platform import iam
from osp.platform.limits import LOG_RETENTION_DAYS
from osp.platform.naming import NameKind, fit
from osp.platform.spec import NatStrategy, SubnetPlan

TOKEN = "osp:network:Network"

#: Tag on each subnet naming its tier, so tools can find "the private subnets" by tag.
TIER_TAG = "osp:subnet-tier"

#: AWS services reached through interface endpoints when `interface_endpoints` is on.
#: SNS is among them so that publishing events and sending SMS stay inside the VPC too.
INTERFACE_ENDPOINT_SERVICES = (
    "ecr.api",
    "ecr.dkr",
    "sts",
    "secretsmanager",
    "logs",
    "sqs",
    "sns",
)


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

    flow_logs_kms_key_arn: pulumi.Input[str]
    """KMS key of the flow-log group (its key policy must let CloudWatch Logs use it)."""

    flow_log_retention_days: int = 365
    """Days the VPC flow logs (all traffic) are kept. Default: a year."""

    interface_endpoints: bool = True
    """Interface endpoints for ECR (api, dkr), STS, Secrets Manager, CloudWatch Logs, SQS and SNS in
    the private subnets, so that traffic to them never leaves the VPC. The S3 gateway endpoint
    is always created (it is free)."""

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
    subnet_cidrs: dict[str, list[str]]
    """Tier (public, private, isolated) → its subnets' CIDR blocks, zone by zone: plain values,
    known as soon as the program runs, for what must name addresses rather than ids
    (Kubernetes NetworkPolicies)."""
    db_subnet_group_name: pulumi.Output[str]
    cache_subnet_group_name: pulumi.Output[str]
    endpoint_security_group_id: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        zones = list(args.availability_zones)
        if len(zones) < 2 or len(set(zones)) != len(zones):
            raise ValueError(f"Network {name}: expected at least 2 distinct zones, got {zones}")
        if args.flow_log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"Network {name}: flow_log_retention_days: got {args.flow_log_retention_days}; "
                f"expected one of CloudWatch's retention periods {LOG_RETENTION_DAYS}"
            )
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
        self.subnet_cidrs = {tier: [] for tier in addressing.TIERS}
        for tier in addressing.TIERS:
            layout = getattr(plan, tier)
            for index, zone in enumerate(zones):
                subnet_name = f"{name}-{tier}-{zone}"
                cidr = str(addressing.zone_subnet(layout.cidr, layout.prefix_length, index))
                self.subnet_cidrs[tier].append(cidr)
                subnets[tier].append(
                    aws.ec2.Subnet(
                        subnet_name,
                        vpc_id=vpc.id,
                        availability_zone=zone,
                        cidr_block=cidr,
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

        private_rts: list[aws.ec2.RouteTable] = []
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
            private_rts.append(rt)

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

        self._network_acls(name, args, vpc, subnets, tags)
        self._flow_logs(name, args, vpc, tags)
        route_tables = [public_rt, *private_rts, isolated_rt]
        self.endpoint_security_group_id = self._endpoints(
            name, args, vpc, route_tables, subnets["private"], tags
        )
        isolated_ids = [s.id for s in subnets["isolated"]]
        db_subnets = aws.rds.SubnetGroup(
            f"{name}-db",
            name=fit(f"{name}-db", NameKind.RDS_IDENTIFIER),
            description=f"{name}: databases, isolated tier",
            subnet_ids=isolated_ids,
            tags=tags(f"{name}-db"),
            opts=child,
        )
        cache_subnets = aws.elasticache.SubnetGroup(
            f"{name}-cache",
            name=fit(f"{name}-cache", NameKind.RDS_IDENTIFIER),
            description=f"{name}: caches, isolated tier",
            subnet_ids=isolated_ids,
            tags=tags(f"{name}-cache"),
            opts=child,
        )

        self.vpc_id = vpc.id
        self.vpc_cidr_block = vpc.cidr_block
        self.db_subnet_group_name = db_subnets.name
        self.cache_subnet_group_name = cache_subnets.name
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
                "dbSubnetGroupName": self.db_subnet_group_name,
                "cacheSubnetGroupName": self.cache_subnet_group_name,
            }
        )

    def _network_acls(self, name, args, vpc, subnets, tags) -> None:
        child = pulumi.ResourceOptions(parent=self)
        aws.ec2.DefaultNetworkAcl(
            f"{name}-default-acl",
            default_network_acl_id=vpc.default_network_acl_id,
            ingress=[],
            egress=[],
            tags=tags(f"{name}-default-locked"),
            # Subnets move to their tier's ACL; AWS reports them here until they do.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["subnetIds"]),
        )
        everywhere = {"protocol": "-1", "rule_no": 100, "action": "allow", "from_port": 0,
                      "to_port": 0, "cidr_block": "0.0.0.0/0"}  # fmt: skip
        within_vpc = {**everywhere, "cidr_block": args.cidr_block}
        # Public and private tiers leave filtering to security groups (stateful, per
        # workload); the isolated tier never talks to anything outside the VPC.
        for tier, rule in (("public", everywhere), ("private", everywhere),
                           ("isolated", within_vpc)):  # fmt: skip
            aws.ec2.NetworkAcl(
                f"{name}-{tier}-acl",
                vpc_id=vpc.id,
                subnet_ids=[s.id for s in subnets[tier]],
                ingress=[rule],
                egress=[rule],
                tags=tags(f"{name}-{tier}"),
                opts=child,
            )

    def _flow_logs(self, name, args, vpc, tags) -> None:
        child = pulumi.ResourceOptions(parent=self)
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=f"/aws/vpc/{name}/flow-logs",
            retention_in_days=args.flow_log_retention_days,
            kms_key_id=args.flow_logs_kms_key_arn,
            tags=tags(f"{name}-flow-logs"),
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-flow-logs",
            name=fit(f"{name}-flow-logs", NameKind.IAM),
            assume_role_policy=iam.service_trust("vpc-flow-logs.amazonaws.com"),
            tags=tags(f"{name}-flow-logs"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=group.arn.apply(
                lambda arn: iam.policy(
                    {
                        "Sid": "WriteFlowLogs",
                        "Effect": "Allow",
                        "Action": [
                            "logs:CreateLogStream",
                            "logs:PutLogEvents",
                            "logs:DescribeLogStreams",
                        ],
                        "Resource": [arn, f"{arn}:*"],
                    }
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=tags(f"{name}-flow-logs"),
            opts=child,
        )

    def _endpoints(self, name, args, vpc, route_tables, private_subnets, tags):
        child = pulumi.ResourceOptions(parent=self)
        region = aws.get_region_output().region
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=region.apply(lambda r: f"com.amazonaws.{r}.s3"),
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in route_tables],
            tags=tags(f"{name}-s3"),
            opts=child,
        )
        if not args.interface_endpoints:
            return None
        group = aws.ec2.SecurityGroup(
            f"{name}-endpoints",
            vpc_id=vpc.id,
            description=f"{name}: interface endpoints, HTTPS from inside the VPC",
            tags=tags(f"{name}-endpoints"),
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoints-https",
            security_group_id=group.id,
            description="HTTPS from the VPC",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=args.cidr_block,
            tags=tags(f"{name}-endpoints-https"),
            opts=child,
        )
        for service in INTERFACE_ENDPOINT_SERVICES:
            role = service.replace(".", "-")
            aws.ec2.VpcEndpoint(
                f"{name}-{role}",
                vpc_id=vpc.id,
                service_name=region.apply(lambda r, s=service: f"com.amazonaws.{r}.{s}"),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in private_subnets],
                security_group_ids=[group.id],
                tags=tags(f"{name}-{role}"),
                opts=child,
            )
        return group.id
