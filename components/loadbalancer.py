"""`ApiLoadBalancer`: the application load balancer behind `api.<domain>`, one rule per service."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from osp.platform import limits
from osp.platform.naming import NameKind, fit
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:loadbalancer:ApiLoadBalancer"

#: The header CloudFront adds to every origin request; the listener rules require it.
ORIGIN_VERIFY_HEADER = "X-Origin-Verify"

#: Hybrid post-quantum key exchange, TLS 1.3 and TLS 1.2 with AEAD (GCM) ciphers only: AWS's
#: recommended policy, and the console's default, since 2025-09.
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"

#: AWS's list of CloudFront's origin-facing addresses: the only source the listeners admit.
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"

#: Listener rules an application load balancer holds besides its listeners' defaults.
MAX_RULES = 100

#: What the HTTPS listener answers when no service rule matches (or the request did not come
#: through osp's CloudFront distribution): nothing about what lies behind it.
NOT_FOUND_BODY = json.dumps({"error": "not_found"}, separators=(",", ":"))

_MAX_PRIORITY = 50_000
# Segments of plain path characters: no ALB wildcards (* ?), no empty segment, no trailing "/".
_PATH_PREFIX = re.compile(r"(/[A-Za-z0-9._~-]+)+")
# "<prefix>/*" must fit the 128 characters of a path-pattern value.
_MAX_PATH_PREFIX = 126
_HEALTH_PATH = re.compile(r"/[\x21-\x7e]{0,1023}")
_PORT = limits.whole_range(1, 65535)
#: The one port the load balancer listens on: HTTPS, from CloudFront only (the origin
#: protocol is HTTPS-only, so nothing listens on 80).
LISTENER_PORT = 443
_IDLE_TIMEOUT = limits.whole_range(1, 4000)


@dataclass(frozen=True)
class ServiceRoute:
    """One service behind the load balancer: its requests, its pods' port and readiness."""

    name: str
    """The service's name, a DNS label (`identity`): names its target group and rule."""

    port: int
    """Port the service's pods listen on (1–65535); their target group sends there."""

    path_prefix: str
    """Path the service owns, such as `/api/identity`: it gets `<prefix>` and `<prefix>/*`."""

    health_check_path: str
    """Path of the pods' readiness check, such as `/health/ready`."""


@dataclass(frozen=True, kw_only=True)
class ApiLoadBalancerArgs:
    """Arguments of `ApiLoadBalancer`."""

    vpc_id: pulumi.Input[str]
    """VPC of the load balancer's security groups and target groups."""

    vpc_cidr: str
    """The VPC's IPv4 block (/16 to /28): the only place the load balancer sends to."""

    public_subnet_ids: Sequence[pulumi.Input[str]]
    """Public subnets to place the load balancer in, at least two (in different zones)."""

    certificate_arn: pulumi.Input[str]
    """ACM certificate of `api.<domain>` in the load balancer's own region."""

    web_acl_arn: pulumi.Input[str]
    """REGIONAL WAFv2 web ACL associated with the load balancer."""

    access_log_bucket: pulumi.Input[str]
    """Name of the S3 bucket that receives access logs. Its policy must let Elastic Load
    Balancing write under `<access_log_prefix>/AWSLogs/<account>/`, and it must be encrypted
    with SSE-S3: load balancers cannot write to SSE-KMS buckets."""

    services: Sequence[ServiceRoute]
    """The services behind the load balancer, 1–100 (one listener rule each), with paths
    that do not overlap."""

    deletion_protection: bool
    """The load balancer's own deletion protection, and Pulumi's `protect` on it."""

    access_log_prefix: str = "alb"
    """Key prefix of the access logs in the bucket: no leading or trailing `/`, never
    `AWSLogs`. Default: `alb`."""

    idle_timeout_seconds: int = 60
    """Seconds a connection may stay idle before the load balancer closes it, 1–4000.
    Default: 60, the AWS default, well above CloudFront's origin keep-alive (5 s unless the
    distribution raises it), so the load balancer never closes a connection CloudFront is
    about to reuse."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource (osp's tag set, from osp.platform.naming.standard_tags)."""


def rule_priorities(services: Sequence[ServiceRoute]) -> dict[str, int]:
    """The listener-rule priority of each service, taken from a hash of its name.

    Paths never overlap, so the order in which rules are evaluated does not matter. Deriving
    each priority from the name (rather than the position in `services`) keeps it when other
    services are added or removed: an update never asks for a priority a sibling still holds,
    which the ELB API refuses. A collision moves the later service to the next free number.
    """
    taken: set[int] = set()
    out: dict[str, int] = {}
    for service in services:
        digest = int(hashlib.sha256(service.name.encode()).hexdigest(), 16)
        priority = 1 + digest % _MAX_PRIORITY
        while priority in taken:
            priority = priority % _MAX_PRIORITY + 1
        taken.add(priority)
        out[service.name] = priority
    return out


def target_group_name(name: str, service: ServiceRoute) -> str:
    """The target group's physical name (32 characters at most).

    The port is part of it: a port change replaces the target group, and the new one must be
    created, and the rule moved to it, before the old one can go — so the names must differ.
    """
    return fit(f"{name}-{service.name}-{service.port}", NameKind.LOAD_BALANCER)


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/")


def _overlap(path: str, other: str) -> bool:
    """Whether one path lies under the other (or both are the same), segment by segment."""
    shorter, longer = sorted((_segments(other), _segments(path)), key=len)
    return longer[: len(shorter)] == shorter


def problems(name: str, args: ApiLoadBalancerArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("ApiLoadBalancer", name)
    _check_network(check, args)
    check.against(_IDLE_TIMEOUT, "idle_timeout_seconds", args.idle_timeout_seconds)
    prefix = args.access_log_prefix
    if not isinstance(prefix, str) or prefix.startswith("/") or prefix.endswith("/"):
        check.add(
            "access_log_prefix",
            prefix,
            "a key prefix such as alb, without a leading or trailing '/'",
        )
    elif "AWSLogs" in prefix:
        check.add(
            "access_log_prefix",
            prefix,
            "a key prefix without 'AWSLogs', which Elastic Load Balancing adds itself",
        )
    _check_services(check, list(args.services))
    return check.found


def _check_network(check: Problems, args: ApiLoadBalancerArgs) -> None:
    try:
        block: ipaddress.IPv4Network | None = ipaddress.IPv4Network(args.vpc_cidr)
    except (ValueError, TypeError):
        block = None
    check.check(
        block is not None and 16 <= block.prefixlen <= 28,
        "vpc_cidr",
        args.vpc_cidr,
        "the VPC's IPv4 block, /16 to /28, such as 10.30.0.0/16",
    )
    if isinstance(args.public_subnet_ids, str):
        check.add(
            "public_subnet_ids", args.public_subnet_ids, "a list of subnet ids, not one string"
        )
        return
    subnets = list(args.public_subnet_ids)
    literal = [s for s in subnets if isinstance(s, str)]
    if check.check(
        len(set(literal)) == len(literal), "public_subnet_ids", subnets, "each subnet at most once"
    ):
        check.check(
            len(subnets) >= 2,
            "public_subnet_ids",
            subnets,
            "at least 2 public subnets in different zones (an ALB needs two)",
        )


def _check_services(check: Problems, services: list[ServiceRoute]) -> None:
    if not services:
        check.add("services", services, "at least one service")
    elif len(services) > MAX_RULES:
        check.add(
            "services",
            f"{len(services)} services",
            f"at most {MAX_RULES}: an application load balancer holds {MAX_RULES} rules, one "
            "per service",
        )
    names: dict[str, int] = {}
    paths: list[tuple[int, str]] = []
    for index, service in enumerate(services):
        at = f"services[{index}]"
        if check.against(limits.DNS_LABEL, f"{at}.name", service.name):
            if service.name in names:
                check.add(
                    f"{at}.name",
                    service.name,
                    f"a name no other service has (services[{names[service.name]}] has it)",
                )
            else:
                names[service.name] = index
        check.against(_PORT, f"{at}.port", service.port)
        if _check_path_prefix(check, at, service.path_prefix, paths):
            paths.append((index, service.path_prefix))
        check.check(
            isinstance(service.health_check_path, str)
            and bool(_HEALTH_PATH.fullmatch(service.health_check_path)),
            f"{at}.health_check_path",
            service.health_check_path,
            "a path starting with '/', such as /health/ready (no spaces, at most 1024 characters)",
        )


def _check_path_prefix(
    check: Problems, at: str, path: object, taken: list[tuple[int, str]]
) -> bool:
    """Check one service's path against the rule and the paths of the services before it;
    returns whether it is valid and its own."""
    if not (
        isinstance(path, str) and _PATH_PREFIX.fullmatch(path) and len(path) <= _MAX_PATH_PREFIX
    ):
        check.add(
            f"{at}.path_prefix",
            path,
            "a path such as /api/identity: starting with '/', not ending with '/', segments of "
            f"letters, digits, '.', '_', '~' or '-', at most {_MAX_PATH_PREFIX} characters",
        )
        return False
    for other, other_path in taken:
        if _overlap(path, other_path):
            check.add(
                f"{at}.path_prefix",
                path,
                f"a path outside services[{other}].path_prefix {other_path!r}: each request must "
                "belong to one service",
            )
            return False
    return True


def _not_found() -> aws.lb.ListenerDefaultActionArgs:
    """What the HTTPS listener answers when no service rule matches: a bare JSON 404."""
    return aws.lb.ListenerDefaultActionArgs(
        type="fixed-response",
        fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
            status_code="404",
            content_type="application/json",
            message_body=NOT_FOUND_BODY,
        ),
    )


def _by_service(outputs: dict[str, pulumi.Output[str]]) -> pulumi.Output[dict[str, str]]:
    """One output holding each service's value."""
    return pulumi.Output.all(**outputs).apply(dict)


def service_target_group(
    resource_name: str,
    *,
    name: str,
    vpc_id: pulumi.Input[str],
    port: int,
    health_check_path: str,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.lb.TargetGroup:
    """A service's target group: its pods by IP (the Load Balancer Controller's
    TargetGroupBinding fills it), checked on the service's readiness path. The estate's
    services and a silo tenant's copies of them are built alike."""
    return aws.lb.TargetGroup(
        resource_name,
        name=name,
        vpc_id=vpc_id,
        target_type="ip",
        protocol="HTTP",
        port=port,
        ip_address_type="ipv4",
        deregistration_delay=30,
        health_check=aws.lb.TargetGroupHealthCheckArgs(
            enabled=True,
            protocol="HTTP",
            port="traffic-port",
            path=health_check_path,
            matcher="200-399",
            interval=15,
            timeout=5,
            healthy_threshold=2,
            unhealthy_threshold=3,
        ),
        tags=dict(tags),
        opts=opts,
    )


def service_conditions(
    path_prefix: str, verify_value: pulumi.Input[str]
) -> list[aws.lb.ListenerRuleConditionArgs]:
    """A service rule's conditions: its paths, and the origin-verify secret CloudFront adds
    (a request that did not come through CloudFront matches no service)."""
    return [
        aws.lb.ListenerRuleConditionArgs(
            path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(
                values=[path_prefix, f"{path_prefix}/*"]
            )
        ),
        aws.lb.ListenerRuleConditionArgs(
            http_header=aws.lb.ListenerRuleConditionHttpHeaderArgs(
                http_header_name=ORIGIN_VERIFY_HEADER, values=[verify_value]
            )
        ),
    ]


class ApiLoadBalancer(pulumi.ComponentResource):
    """The internet-facing application load balancer behind `api.<domain>`.

    Only CloudFront reaches it: its security group admits HTTPS solely from AWS's CloudFront
    origin-facing prefix list, and every service rule also requires the `X-Origin-Verify`
    header, whose random value only osp's distribution sends — so another CloudFront
    distribution pointed at it gets the listener's bare 404. HTTPS uses the regional
    certificate with a TLS 1.3/1.2 policy; there is no HTTP listener and port 80 is closed:
    CloudFront reaches the origin over HTTPS only, so nothing would use one. Requests with invalid
    header fields are dropped, HTTP desync is mitigated strictly, the WAF fails closed, access
    logs go to the log bucket, and a REGIONAL WAFv2 web ACL is associated with it. It sends
    only to the VPC's block, on the services' ports.

    Each service gets a target group of IP targets (its pods, attached by the AWS Load Balancer
    Controller's `TargetGroupBinding`) checked on its readiness path, and a rule forwarding
    `<prefix>` and `<prefix>/*` to it.

    CloudFront's prefix list counts as 55 of the 60 rules a security group holds by default;
    the one group (`security_group_id`) holds that rule and the egress rules: the pods'
    security group should admit it on their ports.

    From the load balancer to the pods the traffic is plain HTTP inside the VPC, never
    leaving it: the target groups' protocol is HTTP. TLS ends at the load balancer because
    the pods have no certificates a load balancer would verify (an ALB accepts any target
    certificate, so re-encrypting would add cost and no authentication), and the path is
    confined to the VPC's private subnets by the egress rules above and the nodes' security
    group (see docs/components.md).
    """

    arn: pulumi.Output[str]
    arn_suffix: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    zone_id: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    target_group_arns: pulumi.Output[dict[str, str]]
    target_group_arn_suffixes: pulumi.Output[dict[str, str]]
    listener_arn: pulumi.Output[str]
    origin_verify_header_name: str
    origin_verify_value: pulumi.Output[str]

    def __init__(
        self, name: str, args: ApiLoadBalancerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        if found := problems(name, args):
            raise InvalidArguments(found)
        self._name = name
        self._args = args
        services = list(args.services)

        https_sg = self._security_group_of(services)
        lb = self._load_balancer(https_sg)
        https = self._listener(
            lb,
            "https",
            LISTENER_PORT,
            _not_found(),
            ssl_policy=SSL_POLICY,
            certificate_arn=args.certificate_arn,
        )
        verify = random.RandomPassword(
            f"{name}-origin-verify",
            length=48,
            # Header values are matched literally, except * and ?; letters and digits alone
            # need no escaping anywhere (CloudFront, the ALB API, logs).
            special=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        verify_value = pulumi.Output.secret(verify.result)
        priorities = rule_priorities(services)
        target_groups = {
            service.name: self._route(service, priorities[service.name], https, verify_value)
            for service in services
        }
        aws.wafv2.WebAclAssociation(
            f"{name}-waf",
            resource_arn=lb.arn,
            web_acl_arn=args.web_acl_arn,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._publish(lb, https_sg, target_groups, https, verify_value)

    def _tagged(self, resource_name: str) -> dict[str, str]:
        return {"Name": resource_name, **self._args.tags}

    def _security_group_of(self, services: list[ServiceRoute]) -> aws.ec2.SecurityGroup:
        """The load balancer's group: HTTPS from CloudFront's origin-facing servers only, and
        out to the services' ports in the VPC. It has no inline rules, so the provider removes
        AWS's default allow-all egress."""
        name = self._name
        cloudfront = aws.ec2.get_managed_prefix_list_output(
            name=CLOUDFRONT_PREFIX_LIST, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        https_sg = self._security_group(
            f"{name}-sg", f"ALB {name}: HTTPS from CloudFront, to the services in the VPC"
        )
        self._port_rule(
            aws.vpc.SecurityGroupIngressRule,
            f"{name}-https-from-cloudfront",
            https_sg,
            LISTENER_PORT,
            "HTTPS from CloudFront origin-facing servers",
            prefix_list_id=cloudfront.id,
        )
        for port in sorted({s.port for s in services}):
            self._port_rule(
                aws.vpc.SecurityGroupEgressRule,
                f"{name}-to-services-{port}",
                https_sg,
                port,
                f"Service pods and their health checks on TCP {port}",
                cidr_ipv4=self._args.vpc_cidr,
            )
        return https_sg

    def _security_group(self, resource_name: str, description: str) -> aws.ec2.SecurityGroup:
        return aws.ec2.SecurityGroup(
            resource_name,
            vpc_id=self._args.vpc_id,
            name=fit(resource_name),
            description=description,
            tags=self._tagged(resource_name),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _port_rule(
        self,
        kind: type[aws.vpc.SecurityGroupIngressRule | aws.vpc.SecurityGroupEgressRule],
        resource_name: str,
        group: aws.ec2.SecurityGroup,
        port: int,
        description: str,
        **peer: pulumi.Input[str],
    ) -> None:
        """An ingress or egress rule of `group` for TCP `port`, to or from `peer` (a prefix
        list or a CIDR block)."""
        kind(
            resource_name,
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=description,
            tags=self._tagged(resource_name),
            opts=pulumi.ResourceOptions(parent=self),
            **peer,
        )

    def _load_balancer(self, https_sg: aws.ec2.SecurityGroup) -> aws.lb.LoadBalancer:
        args = self._args
        return aws.lb.LoadBalancer(
            f"{self._name}-alb",
            name=fit(self._name, NameKind.LOAD_BALANCER),
            load_balancer_type="application",
            internal=False,
            # CloudFront reaches custom origins over IPv4.
            ip_address_type="ipv4",
            subnets=list(args.public_subnet_ids),
            security_groups=[https_sg.id],
            drop_invalid_header_fields=True,
            desync_mitigation_mode="strictest",
            enable_http2=True,
            enable_waf_fail_open=False,
            xff_header_processing_mode="append",
            idle_timeout=args.idle_timeout_seconds,
            enable_deletion_protection=args.deletion_protection,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                bucket=args.access_log_bucket,
                prefix=args.access_log_prefix,
                enabled=True,
            ),
            tags=self._tagged(f"{self._name}-alb"),
            opts=pulumi.ResourceOptions(parent=self, protect=args.deletion_protection),
        )

    def _listener(
        self,
        lb: aws.lb.LoadBalancer,
        scheme: str,
        port: int,
        default_action: aws.lb.ListenerDefaultActionArgs,
        **tls: pulumi.Input[str],
    ) -> aws.lb.Listener:
        """A listener for `scheme` (http or https; its TLS settings in `tls`) on `port`, with
        no Server header in the answers it makes itself."""
        resource_name = f"{self._name}-{scheme}"
        return aws.lb.Listener(
            resource_name,
            load_balancer_arn=lb.arn,
            port=port,
            protocol=scheme.upper(),
            routing_http_response_server_enabled=False,
            default_actions=[default_action],
            tags=self._tagged(resource_name),
            opts=pulumi.ResourceOptions(parent=self),
            **tls,
        )

    def _route(
        self,
        service: ServiceRoute,
        priority: int,
        https: aws.lb.Listener,
        verify_value: pulumi.Output[str],
    ) -> aws.lb.TargetGroup:
        """The service's target group, and the HTTPS listener's rule that forwards its paths
        there when the request carries the origin-verify secret."""
        tg_name = f"{self._name}-tg-{service.name}"
        target_group = service_target_group(
            tg_name,
            name=target_group_name(self._name, service),
            vpc_id=self._args.vpc_id,
            port=service.port,
            health_check_path=service.health_check_path,
            tags=self._tagged(tg_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        rule_name = f"{self._name}-rule-{service.name}"
        aws.lb.ListenerRule(
            rule_name,
            listener_arn=https.arn,
            priority=priority,
            conditions=service_conditions(service.path_prefix, verify_value),
            actions=[
                aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=target_group.arn)
            ],
            tags=self._tagged(rule_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return target_group

    def _publish(
        self,
        lb: aws.lb.LoadBalancer,
        https_sg: aws.ec2.SecurityGroup,
        target_groups: dict[str, aws.lb.TargetGroup],
        https: aws.lb.Listener,
        verify_value: pulumi.Output[str],
    ) -> None:
        self.arn = lb.arn
        self.arn_suffix = lb.arn_suffix
        self.dns_name = lb.dns_name
        self.zone_id = lb.zone_id
        self.security_group_id = https_sg.id
        self.target_group_arns = _by_service({s: tg.arn for s, tg in target_groups.items()})
        self.target_group_arn_suffixes = _by_service(
            {s: tg.arn_suffix for s, tg in target_groups.items()}
        )
        self.listener_arn = https.arn
        self.origin_verify_header_name = ORIGIN_VERIFY_HEADER
        self.origin_verify_value = verify_value
        self.register_outputs(
            {
                "arn": self.arn,
                "arnSuffix": self.arn_suffix,
                "dnsName": self.dns_name,
                "zoneId": self.zone_id,
                "securityGroupId": self.security_group_id,
                "targetGroupArns": self.target_group_arns,
                "targetGroupArnSuffixes": self.target_group_arn_suffixes,
                "listenerArn": self.listener_arn,
                "originVerifyHeaderName": self.origin_verify_header_name,
                "originVerifyValue": self.origin_verify_value,
            }
        )
