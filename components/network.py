"""`Network`: the VPC of an environment, three subnet tiers per zone, and its egress."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network

import pulumi
import pulumi_aws as aws

from osp.components import _acls
from osp.components._discovery import DISCOVERY_TAG
from osp.components._log_groups import log_group
from osp.platform import cidr as addressing
from osp.platform import iam, limits
from osp.platform.naming import NameKind, fit
from osp.platform.spec import NatStrategy, SubnetPlan
from osp.platform.validation import InvalidArguments, Problems

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


_ENDPOINT_SERVICE = re.compile(r"[a-z0-9]+([.-][a-z0-9]+)*")

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
    """EKS cluster that may use the subnets: tags them `kubernetes.io/cluster/<name>=shared`,
    and the private ones `karpenter.sh/discovery=<name>` (where Karpenter launches nodes)."""

    flow_logs_kms_key_arn: pulumi.Input[str]
    """KMS key of the flow-log group (its key policy must let CloudWatch Logs use it)."""

    flow_log_retention_days: int = 365
    """Days the VPC flow logs (all traffic) are kept. Default: a year."""

    interface_endpoints: bool = True
    """Interface endpoints for ECR (api, dkr), STS, Secrets Manager, CloudWatch Logs, SQS and SNS in
    the private subnets, so that traffic to them never leaves the VPC. The S3 gateway endpoint
    is always created (it is free)."""

    extra_interface_endpoints: Sequence[str] = ()
    """Further services reached through interface endpoints when `interface_endpoints` is on,
    such as `ssm` for an estate whose services read parameters. Default: none."""

    listener_ports: Sequence[int] = (443,)
    """TCP ports the public tier admits from the internet: the internet-facing load
    balancer's listeners, never 22 or 3389. Default: 443."""

    store_ports: Sequence[int] = ()
    """TCP ports the isolated tier admits from the private tier: the data stores' client
    ports. Default: none (the isolated tier then admits only its own block)."""

    egress_ports: Sequence[int] = (443,)
    """TCP ports the private tier may reach on the internet, through NAT or the S3 gateway
    endpoint. Default: 443 (AWS APIs, image registries, HTTPS services)."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource (osp's tag set, from osp.platform.naming.standard_tags)."""


def subnet_plan(args: NetworkArgs) -> SubnetPlan:
    """The tiers' blocks: `args.subnet_plan`, or the default plan carved from `cidr_block`."""
    return args.subnet_plan or SubnetPlan.model_validate(
        addressing.default_plan(IPv4Network(args.cidr_block))
    )


def subnet_cidrs(plan: SubnetPlan, zones: Sequence[str]) -> dict[str, list[str]]:
    """Tier → the CIDR block of its subnet in each zone, in zone order."""
    cidrs: dict[str, list[str]] = {}
    for tier in addressing.TIERS:
        layout = getattr(plan, tier)
        cidrs[tier] = [
            str(addressing.zone_subnet(layout.cidr, layout.prefix_length, index))
            for index in range(len(zones))
        ]
    return cidrs


def problems(name: str, args: NetworkArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("Network", name)
    zones = list(args.availability_zones)
    distinct = len(zones) >= 2 and len(set(zones)) == len(zones)
    check.check(distinct, "availability_zones", zones, "at least 2 distinct zones")
    retention = args.flow_log_retention_days
    check.against(limits.LOG_RETENTION, "flow_log_retention_days", retention)
    for port in args.listener_ports:
        check.against(limits.LISTENER_PORT, "listener_ports", port)
    for arg in ("store_ports", "egress_ports"):
        for port in getattr(args, arg):
            check.against(limits.PORT, arg, port)
    extra = list(args.extra_interface_endpoints)
    for position, service in enumerate(extra):
        check.check(
            isinstance(service, str)
            and _ENDPOINT_SERVICE.fullmatch(service) is not None
            and service not in INTERFACE_ENDPOINT_SERVICES
            and extra.index(service) == position,
            f"extra_interface_endpoints[{position}]",
            service,
            "an AWS service name such as ssm, once, and not one of the default endpoints ("
            + ", ".join(INTERFACE_ENDPOINT_SERVICES)
            + ")",
        )
    try:
        vpc = IPv4Network(args.cidr_block)
    except ValueError:
        check.add("cidr_block", args.cidr_block, "an IPv4 CIDR block such as 10.0.0.0/16")
        return check.found
    if args.subnet_plan is None and not (
        addressing.MIN_VPC_PREFIX <= vpc.prefixlen <= addressing.MAX_VPC_PREFIX
    ):
        check.add(
            "cidr_block",
            args.cidr_block,
            f"a /{addressing.MIN_VPC_PREFIX} to "
            f"/{addressing.MAX_VPC_PREFIX} block, or a subnet_plan for the tiers",
        )
        return check.found
    plan = subnet_plan(args)
    for tier in addressing.TIERS:
        layout = getattr(plan, tier)
        room = addressing.slots(layout.cidr, layout.prefix_length)
        if len(zones) > room:
            check.add(
                "availability_zones",
                zones,
                f"at most {room} zones: the {tier} tier's "
                f"block {layout.cidr} holds {room} /{layout.prefix_length} subnets",
            )
    if not check.found:
        most = limits.NACL_ENTRIES_PER_DIRECTION
        for tier, acl in acls(args).items():
            for direction in ("ingress", "egress"):
                count = len(getattr(acl, direction))
                if count > most:
                    check.note(
                        "listener_ports, store_ports, egress_ports",
                        f"the {tier} tier's ACL would hold {count} {direction} entries; "
                        f"expected at most {most} (the ACL quota per direction)",
                    )
    return check.found


def acls(args: NetworkArgs) -> dict[str, _acls.TierAcl]:
    """Tier → the entries of its network ACL (osp.components._acls)."""
    plan = subnet_plan(args)
    return _acls.tier_acls(
        vpc_cidr=args.cidr_block,
        public_cidr=str(plan.public.cidr),
        private_cidr=str(plan.private.cidr),
        isolated_cidr=str(plan.isolated.cidr),
        listener_ports=args.listener_ports,
        store_ports=args.store_ports,
        egress_ports=args.egress_ports,
    )


_Tags = Callable[..., dict[str, str]]


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
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        zones = list(args.availability_zones)
        self.subnet_cidrs = subnet_cidrs(subnet_plan(args), zones)

        def tags(resource_name: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
            return {"Name": resource_name, **(extra or {}), **args.tags}

        vpc, igw = self._vpc(name, args, tags)
        subnets = self._subnets(name, args, vpc, zones, tags)
        public_rt = self._public_routing(name, vpc, igw, zones, subnets["public"], tags)
        nat_gateways, eips = self._nat_gateways(name, args, igw, zones, subnets["public"], tags)
        private_rts = self._private_routing(
            name, args, vpc, zones, subnets["private"], nat_gateways, tags
        )
        isolated_rt = self._isolated_routing(name, vpc, zones, subnets["isolated"], tags)
        self._network_acls(name, args, vpc, subnets, tags)
        self._flow_logs(name, args, vpc, tags)
        route_tables = [public_rt, *private_rts, isolated_rt]
        self.endpoint_security_group_id = self._endpoints(
            name, args, vpc, route_tables, subnets["private"], tags
        )
        db_subnets, cache_subnets = self._subnet_groups(name, subnets["isolated"], tags)

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

    def _vpc(
        self, name: str, args: NetworkArgs, tags: _Tags
    ) -> tuple[aws.ec2.Vpc, aws.ec2.InternetGateway]:
        """The VPC, its default security group and route table emptied, its internet gateway."""
        child = pulumi.ResourceOptions(parent=self)
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
        return vpc, igw

    def _subnets(
        self, name: str, args: NetworkArgs, vpc: aws.ec2.Vpc, zones: list[str], tags: _Tags
    ) -> dict[str, list[aws.ec2.Subnet]]:
        """Tier → its subnet in each zone, tagged with the tier and for load balancers."""
        cluster_tags = (
            {f"kubernetes.io/cluster/{args.cluster_name}": "shared"} if args.cluster_name else {}
        )
        # Karpenter launches the cluster's nodes into the private subnets it finds by tag.
        discovery = {DISCOVERY_TAG: args.cluster_name} if args.cluster_name else {}
        subnets: dict[str, list[aws.ec2.Subnet]] = {tier: [] for tier in addressing.TIERS}
        for tier in addressing.TIERS:
            for zone, cidr in zip(zones, self.subnet_cidrs[tier], strict=True):
                subnet_name = f"{name}-{tier}-{zone}"
                subnets[tier].append(
                    aws.ec2.Subnet(
                        subnet_name,
                        vpc_id=vpc.id,
                        availability_zone=zone,
                        cidr_block=cidr,
                        map_public_ip_on_launch=False,
                        tags=tags(
                            subnet_name,
                            {
                                TIER_TAG: tier,
                                **_ELB_ROLE_TAGS[tier],
                                **cluster_tags,
                                **(discovery if tier == "private" else {}),
                            },
                        ),
                        opts=pulumi.ResourceOptions(parent=self),
                    )
                )
        return subnets

    def _associate(
        self, name: str, zones: list[str], subnets: list[aws.ec2.Subnet], table: aws.ec2.RouteTable
    ) -> None:
        """`<name>-<zone>`: each zone's subnet bound to `table`."""
        for subnet, zone in zip(subnets, zones, strict=True):
            aws.ec2.RouteTableAssociation(
                f"{name}-{zone}",
                subnet_id=subnet.id,
                route_table_id=table.id,
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _public_routing(
        self,
        name: str,
        vpc: aws.ec2.Vpc,
        igw: aws.ec2.InternetGateway,
        zones: list[str],
        public_subnets: list[aws.ec2.Subnet],
        tags: _Tags,
    ) -> aws.ec2.RouteTable:
        """One route table for the public subnets, its default route to the internet gateway."""
        child = pulumi.ResourceOptions(parent=self)
        table = aws.ec2.RouteTable(
            f"{name}-public", vpc_id=vpc.id, tags=tags(f"{name}-public"), opts=child
        )
        aws.ec2.Route(
            f"{name}-public-internet",
            route_table_id=table.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )
        self._associate(f"{name}-public", zones, public_subnets, table)
        return table

    def _nat_gateways(
        self,
        name: str,
        args: NetworkArgs,
        igw: aws.ec2.InternetGateway,
        zones: list[str],
        public_subnets: list[aws.ec2.Subnet],
        tags: _Tags,
    ) -> tuple[list[aws.ec2.NatGateway], list[aws.ec2.Eip]]:
        """An Elastic IP and a NAT gateway in each zone's public subnet, or in the first only."""
        nat_zones = zones if args.nat_strategy is NatStrategy.PER_AZ else zones[:1]
        gateways: list[aws.ec2.NatGateway] = []
        eips: list[aws.ec2.Eip] = []
        for zone, subnet in zip(nat_zones, public_subnets, strict=False):
            eip = aws.ec2.Eip(
                f"{name}-nat-{zone}",
                domain="vpc",
                tags=tags(f"{name}-nat-{zone}"),
                opts=pulumi.ResourceOptions(parent=self),
            )
            eips.append(eip)
            gateways.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{zone}",
                    allocation_id=eip.id,
                    subnet_id=subnet.id,
                    connectivity_type="public",
                    tags=tags(f"{name}-nat-{zone}"),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
            )
        return gateways, eips

    def _private_routing(
        self,
        name: str,
        args: NetworkArgs,
        vpc: aws.ec2.Vpc,
        zones: list[str],
        private_subnets: list[aws.ec2.Subnet],
        nat_gateways: list[aws.ec2.NatGateway],
        tags: _Tags,
    ) -> list[aws.ec2.RouteTable]:
        """A route table per zone's private subnet, its default route to a NAT gateway: the
        zone's own, or the one gateway of the `single` strategy."""
        child = pulumi.ResourceOptions(parent=self)
        tables: list[aws.ec2.RouteTable] = []
        for index, (subnet, zone) in enumerate(zip(private_subnets, zones, strict=True)):
            nat = nat_gateways[index if args.nat_strategy is NatStrategy.PER_AZ else 0]
            table = aws.ec2.RouteTable(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                tags=tags(f"{name}-private-{zone}"),
                opts=child,
            )
            aws.ec2.Route(
                f"{name}-private-{zone}-egress",
                route_table_id=table.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat.id,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{zone}", subnet_id=subnet.id, route_table_id=table.id, opts=child
            )
            tables.append(table)
        return tables

    def _isolated_routing(
        self,
        name: str,
        vpc: aws.ec2.Vpc,
        zones: list[str],
        isolated_subnets: list[aws.ec2.Subnet],
        tags: _Tags,
    ) -> aws.ec2.RouteTable:
        """One route table for the isolated subnets, holding only the VPC's local route."""
        table = aws.ec2.RouteTable(
            f"{name}-isolated",
            vpc_id=vpc.id,
            tags=tags(f"{name}-isolated"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._associate(f"{name}-isolated", zones, isolated_subnets, table)
        return table

    def _subnet_groups(
        self, name: str, isolated_subnets: list[aws.ec2.Subnet], tags: _Tags
    ) -> tuple[aws.rds.SubnetGroup, aws.elasticache.SubnetGroup]:
        """The DB and cache subnet groups of the isolated tier, where data stores live."""
        child = pulumi.ResourceOptions(parent=self)
        isolated_ids = [s.id for s in isolated_subnets]
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
        return db_subnets, cache_subnets

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
        for tier, acl in acls(args).items():
            aws.ec2.NetworkAcl(
                f"{name}-{tier}-acl",
                vpc_id=vpc.id,
                subnet_ids=[s.id for s in subnets[tier]],
                ingress=_acls.entries(acl.ingress),
                egress=_acls.entries(acl.egress),
                tags=tags(f"{name}-{tier}"),
                opts=child,
            )

    def _flow_logs(self, name, args, vpc, tags) -> None:
        child = pulumi.ResourceOptions(parent=self)
        group = log_group(
            f"{name}-flow-logs",
            log_group_name=f"/aws/vpc/{name}/flow-logs",
            retention_days=args.flow_log_retention_days,
            kms_key_arn=args.flow_logs_kms_key_arn,
            tags=args.tags,
            parent=self,
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
        for service in (*INTERFACE_ENDPOINT_SERVICES, *args.extra_interface_endpoints):
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
