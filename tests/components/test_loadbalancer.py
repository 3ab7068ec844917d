"""`ApiLoadBalancer` through the offline engine: CloudFront-only reach, TLS, rules, the secret."""

from __future__ import annotations

import json
import re

import pulumi
import pytest

from osp.components import loadbalancer
from osp.components.loadbalancer import (
    ApiLoadBalancer,
    ApiLoadBalancerArgs,
    ServiceRoute,
    problems,
    rule_priorities,
    target_group_name,
)
from osp.platform.engine import offline
from osp.platform.validation import InvalidArguments
from tests.support import plan_component, spec_of

TAGS = {"osp:environment": "t", "osp:component": "loadbalancer", "osp:blueprint": "osp",
        "osp:managed-by": "osp"}  # fmt: skip
NAME = "osp-t-api"
VPC_CIDR = "10.30.0.0/16"
CLOUDFRONT_LIST = "pl-3b927c52"  # the origin-facing list in us-east-1 (the prod spec's region)
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0c0ffee0-0000-4000-8000-000000000001"
WEB_ACL = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/osp-t-regional/0a1b2c3d"
SUBNETS = ("subnet-0public0000000000a", "subnet-0public0000000000b")

# Seed 000's nine services, each under /api/<service>; the seed gives no ports, so every pod
# listens on 8080 here.
SEED_SERVICES = ("identity", "school", "fee", "payment", "enrollment", "activity",
                 "notification", "reporting", "admin")  # fmt: skip
SERVICES = tuple(ServiceRoute(s, 8080, f"/api/{s}", "/health/ready") for s in SEED_SERVICES)

ALB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
RULE = "aws:lb/listenerRule:ListenerRule"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
PASSWORD = "random:index/randomPassword:RandomPassword"
WAF = "aws:wafv2/webAclAssociation:WebAclAssociation"


def lb_args(**overrides) -> ApiLoadBalancerArgs:
    return ApiLoadBalancerArgs(
        **{
            "vpc_id": "vpc-0123456789abcdef0",
            "vpc_cidr": VPC_CIDR,
            "public_subnet_ids": SUBNETS,
            "certificate_arn": CERT,
            "web_acl_arn": WEB_ACL,
            "access_log_bucket": "osp-t-logs",
            "services": SERVICES,
            "deletion_protection": False,
            "tags": TAGS,
            **overrides,
        }
    )


OUTPUTS = (
    "arn",
    "arn_suffix",
    "dns_name",
    "zone_id",
    "security_group_id",
    "target_group_arns",
    "target_group_arn_suffixes",
    "listener_arn",
    "origin_verify_header_name",
    "origin_verify_value",
)


def exporting_the_clear_secret(name, args, opts=None) -> ApiLoadBalancer:
    """An ApiLoadBalancer, and its origin-verify value in the clear, exported on purpose to
    prove it appears nowhere else."""
    lb = ApiLoadBalancer(name, args, opts)
    pulumi.export("clear_origin_verify", pulumi.Output.unsecret(lb.origin_verify_value))
    return lb


def plan_lb(name: str = NAME, **overrides):
    return plan_component(
        exporting_the_clear_secret, lb_args(**overrides), name=name, exports=OUTPUTS
    )


@pytest.fixture(scope="module")
def dev():
    return plan_lb()


@pytest.fixture(scope="module")
def prod():
    return plan_lb(deletion_protection=True, idle_timeout_seconds=120, access_log_prefix="api")


def alb(plan):
    (resource,) = plan.of_type(ALB)
    return resource


# -- children --------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_children(fixture, request):
    plan = request.getfixturevalue(fixture)
    assert plan.type_counts() == {
        "osp:loadbalancer:ApiLoadBalancer": 1,
        SG: 1,  # HTTPS from CloudFront, egress to the services; no port 80
        INGRESS: 1,
        EGRESS: 1,  # every seed service listens on 8080
        ALB: 1,
        LISTENER: 1,
        PASSWORD: 1,
        TARGET_GROUP: 9,
        RULE: 9,
        WAF: 1,
    }
    component = plan.named(NAME)
    assert component.type == "osp:loadbalancer:ApiLoadBalancer"
    assert all(r.parent == component.urn for r in plan.resources if r.custom)
    assert {r.name for r in plan.resources if r.custom} == {
        f"{NAME}-sg",
        f"{NAME}-https-from-cloudfront",
        f"{NAME}-to-services-8080",
        f"{NAME}-alb",
        f"{NAME}-https",
        f"{NAME}-origin-verify",
        f"{NAME}-waf",
        *(f"{NAME}-tg-{s}" for s in SEED_SERVICES),
        *(f"{NAME}-rule-{s}" for s in SEED_SERVICES),
    }


# -- network reach ---------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_only_cloudfront_reaches_it_and_only_on_443(fixture, request):
    plan = request.getfixturevalue(fixture)
    (sg,) = plan.of_type(SG)
    assert sg.name == f"{NAME}-sg"
    assert sg.inputs["vpcId"] == "vpc-0123456789abcdef0"
    assert "ingress" not in sg.inputs and "egress" not in sg.inputs
    # CloudFront reaches the origin over HTTPS only: port 80 is not opened at all.
    (rule,) = plan.of_type(INGRESS)
    assert rule.name == f"{NAME}-https-from-cloudfront"
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == (
        "tcp",
        443,
        443,
    )
    assert rule.inputs["prefixListId"] == CLOUDFRONT_LIST
    for other in ("cidrIpv4", "cidrIpv6", "referencedSecurityGroupId"):
        assert other not in rule.inputs, (rule.name, other)
    assert rule.property_dependencies["securityGroupId"] == (sg.urn,)


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_sends_only_to_the_vpc_on_service_ports(fixture, request):
    plan = request.getfixturevalue(fixture)
    (rule,) = plan.of_type(EGRESS)
    assert rule.inputs["cidrIpv4"] == VPC_CIDR
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == (
        "tcp",
        8080,
        8080,
    )
    assert "prefixListId" not in rule.inputs and "cidrIpv6" not in rule.inputs
    assert rule.property_dependencies["securityGroupId"] == (plan.named(f"{NAME}-sg").urn,)


def test_one_egress_rule_per_distinct_port():
    services = (
        ServiceRoute("identity", 8080, "/api/identity", "/health/ready"),
        ServiceRoute("school", 9090, "/api/school", "/health/ready"),
        ServiceRoute("fee", 8080, "/api/fee", "/health/ready"),
    )
    plan = plan_lb(services=services)
    rules = {r.name: r.inputs for r in plan.of_type(EGRESS)}
    assert set(rules) == {f"{NAME}-to-services-8080", f"{NAME}-to-services-9090"}
    assert [(r["fromPort"], r["toPort"], r["cidrIpv4"]) for r in rules.values()] == [
        (8080, 8080, VPC_CIDR),
        (9090, 9090, VPC_CIDR),
    ]
    assert plan.named(f"{NAME}-tg-school").inputs["port"] == 9090


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_nothing_is_open_to_the_world(fixture, request):
    for resource in request.getfixturevalue(fixture).resources:
        text = json.dumps(resource.inputs)
        assert "0.0.0.0/0" not in text and "::/0" not in text


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_load_balancer_wears_its_one_group(fixture, request):
    plan = request.getfixturevalue(fixture)
    lb = alb(plan)
    assert lb.property_dependencies["securityGroups"] == (plan.named(f"{NAME}-sg").urn,)
    assert len(lb.inputs["securityGroups"]) == 1


# -- the load balancer -----------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_load_balancer_is_hardened(fixture, request):
    lb = alb(request.getfixturevalue(fixture)).inputs
    assert lb["name"] == NAME
    assert lb["loadBalancerType"] == "application"
    assert lb["internal"] is False
    assert lb["ipAddressType"] == "ipv4"
    assert lb["subnets"] == list(SUBNETS)
    assert lb["dropInvalidHeaderFields"] is True
    assert lb["desyncMitigationMode"] == "strictest"
    assert lb["enableHttp2"] is True
    assert lb["enableWafFailOpen"] is False
    assert lb["xffHeaderProcessingMode"] == "append"


def test_dev_access_logs_and_idle_timeout(dev):
    lb = alb(dev).inputs
    assert lb["accessLogs"] == {"bucket": "osp-t-logs", "prefix": "alb", "enabled": True}
    assert lb["idleTimeout"] == 60


def test_prod_access_logs_and_idle_timeout(prod):
    lb = alb(prod).inputs
    assert lb["accessLogs"] == {"bucket": "osp-t-logs", "prefix": "api", "enabled": True}
    assert lb["idleTimeout"] == 120


def test_dev_is_not_protected(dev):
    assert alb(dev).inputs["enableDeletionProtection"] is False
    assert not any(r.options.protect for r in dev.resources)


def test_prod_protects_the_load_balancer_only(prod):
    assert alb(prod).inputs["enableDeletionProtection"] is True
    assert {r.name for r in prod.resources if r.options.protect} == {f"{NAME}-alb"}


def test_long_names_fit_the_32_character_limit():
    name = "osp-staging-tenant-springfield-high-school-api"
    plan = plan_lb(name)
    lb_name = alb(plan).inputs["name"]
    assert len(lb_name) <= 32 and lb_name.startswith("osp-staging-tenant")
    tg_names = [r.inputs["name"] for r in plan.of_type(TARGET_GROUP)]
    assert len(set(tg_names)) == 9
    assert all(len(n) <= 32 and re.fullmatch(r"[A-Za-z0-9-]+", n) for n in tg_names)
    assert not any(n.startswith("-") or n.endswith("-") for n in [lb_name, *tg_names])


# -- listeners -------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_https_listener_with_tls13_policy_and_a_bare_404(fixture, request):
    plan = request.getfixturevalue(fixture)
    listener = plan.named(f"{NAME}-https")
    assert listener.type == LISTENER
    assert (listener.inputs["port"], listener.inputs["protocol"]) == (443, "HTTPS")
    assert listener.inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
    assert listener.inputs["certificateArn"] == CERT
    assert listener.inputs["routingHttpResponseServerEnabled"] is False
    assert listener.inputs["defaultActions"] == [
        {
            "type": "fixed-response",
            "fixedResponse": {
                "statusCode": "404",
                "contentType": "application/json",
                "messageBody": '{"error":"not_found"}',
            },
        }
    ]
    assert listener.property_dependencies["loadBalancerArn"] == (alb(plan).urn,)


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_no_http_listener(fixture, request):
    plan = request.getfixturevalue(fixture)
    (listener,) = plan.of_type(LISTENER)
    assert (listener.name, listener.inputs["port"], listener.inputs["protocol"]) == (
        f"{NAME}-https",
        443,
        "HTTPS",
    )
    # Every rule hangs off the HTTPS listener.
    https = plan.named(f"{NAME}-https").urn
    assert all(r.property_dependencies["listenerArn"] == (https,) for r in plan.of_type(RULE))


# -- target groups and rules -----------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES, ids=SEED_SERVICES)
def test_target_group_of_each_service(dev, service):
    tg = dev.named(f"{NAME}-tg-{service.name}").inputs
    assert tg["name"] == f"{NAME}-{service.name}-8080"
    assert tg["vpcId"] == "vpc-0123456789abcdef0"
    assert (tg["targetType"], tg["protocol"], tg["port"]) == ("ip", "HTTP", 8080)
    assert tg["ipAddressType"] == "ipv4"
    assert tg["deregistrationDelay"] == 30
    assert tg["healthCheck"] == {
        "enabled": True,
        "protocol": "HTTP",
        "port": "traffic-port",
        "path": "/health/ready",
        "matcher": "200-399",
        "interval": 15,
        "timeout": 5,
        "healthyThreshold": 2,
        "unhealthyThreshold": 3,
    }


@pytest.mark.parametrize("service", SERVICES, ids=SEED_SERVICES)
def test_rule_of_each_service_requires_path_and_origin_header(dev, service):
    rule = dev.named(f"{NAME}-rule-{service.name}")
    prefix = f"/api/{service.name}"
    assert rule.inputs["conditions"] == [
        {"pathPattern": {"values": [prefix, f"{prefix}/*"]}},
        {"httpHeader": {"httpHeaderName": "X-Origin-Verify", "values": ["<secret>"]}},
    ]
    assert rule.property_dependencies["conditions"] == (dev.named(f"{NAME}-origin-verify").urn,)
    tg = dev.named(f"{NAME}-tg-{service.name}")
    assert rule.inputs["actions"] == [
        {"type": "forward", "targetGroupArn": rule.inputs["actions"][0]["targetGroupArn"]}
    ]
    assert rule.property_dependencies["actions"] == (tg.urn,)
    assert rule.inputs["actions"][0]["targetGroupArn"].split("/")[1] == tg.inputs["name"]
    assert rule.property_dependencies["listenerArn"] == (dev.named(f"{NAME}-https").urn,)


def test_rule_priorities_are_distinct_and_in_range(dev):
    priorities = [r.inputs["priority"] for r in dev.of_type(RULE)]
    assert len(set(priorities)) == 9
    assert all(1 <= p <= 50_000 for p in priorities)
    by_service = {
        r.name.removeprefix(f"{NAME}-rule-"): r.inputs["priority"] for r in dev.of_type(RULE)
    }
    assert by_service == rule_priorities(SERVICES)


def test_rule_priorities_survive_adding_and_removing_services():
    before = rule_priorities(SERVICES)
    extra = ServiceRoute("library", 8080, "/api/library", "/health/ready")
    after = rule_priorities((extra, *SERVICES[2:]))
    assert {s: after[s] for s in SEED_SERVICES[2:]} == {s: before[s] for s in SEED_SERVICES[2:]}


def test_rule_priorities_step_past_collisions(monkeypatch):
    monkeypatch.setattr(loadbalancer, "_MAX_PRIORITY", 3)
    assert sorted(rule_priorities(SERVICES[:3]).values()) == [1, 2, 3]


def test_target_group_name_changes_with_the_port():
    a = ServiceRoute("fee", 8080, "/api/fee", "/health/ready")
    b = ServiceRoute("fee", 9090, "/api/fee", "/health/ready")
    assert target_group_name(NAME, a) == "osp-t-api-fee-8080"
    assert target_group_name(NAME, a) != target_group_name(NAME, b)


# -- the origin-verify secret ----------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_origin_verify_value_is_random_and_never_in_the_clear(fixture, request):
    plan = request.getfixturevalue(fixture)
    assert plan.named(f"{NAME}-origin-verify").inputs == {"length": 48, "special": False}
    clear = plan.outputs["clear_origin_verify"]
    assert isinstance(clear, str) and len(clear) == 48 and clear.isalnum()
    for resource in plan.resources:
        assert clear not in json.dumps(resource.inputs), resource.name
    others = {k: v for k, v in plan.outputs.items() if k != "clear_origin_verify"}
    assert clear not in json.dumps(others)
    assert plan.outputs["origin_verify_value"] == "<secret>"
    assert plan.outputs["origin_verify_header_name"] == "X-Origin-Verify"


# -- WAF and outputs -------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_regional_web_acl_is_associated(fixture, request):
    plan = request.getfixturevalue(fixture)
    (association,) = plan.of_type(WAF)
    assert association.inputs["webAclArn"] == WEB_ACL
    assert association.property_dependencies["resourceArn"] == (alb(plan).urn,)
    assert association.inputs["resourceArn"] == plan.outputs["arn"]


def test_outputs(dev):
    out = dev.outputs
    assert out["arn"].startswith(
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/osp-t-api/"
    )
    assert out["arn_suffix"].startswith("app/osp-t-api/")
    assert out["dns_name"].endswith(".us-east-1.elb.amazonaws.com")
    assert out["zone_id"] == "Z35SXDOTRQ7X7K"
    assert out["listener_arn"] == dev.named(f"{NAME}-rule-fee").inputs["listenerArn"]
    assert set(out["target_group_arns"]) == set(SEED_SERVICES)
    assert set(out["target_group_arn_suffixes"]) == set(SEED_SERVICES)
    for service in SEED_SERVICES:
        rule = dev.named(f"{NAME}-rule-{service}")
        assert out["target_group_arns"][service] == rule.inputs["actions"][0]["targetGroupArn"]
        suffix = out["target_group_arn_suffixes"][service]
        assert suffix.startswith(f"targetgroup/{NAME}-{service}-8080/")


def test_security_group_output_is_the_https_group(dev):
    (egress,) = dev.of_type(EGRESS)
    assert dev.outputs["security_group_id"] == egress.inputs["securityGroupId"]
    (https_rule,) = [r for r in dev.of_type(INGRESS) if r.inputs["fromPort"] == 443]
    assert dev.outputs["security_group_id"] == https_rule.inputs["securityGroupId"]


# -- tags ------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_every_taggable_resource_is_tagged(fixture, request):
    plan = request.getfixturevalue(fixture)
    untaggable = {PASSWORD, WAF}
    for resource in plan.resources:
        if resource.custom and resource.type not in untaggable:
            assert resource.inputs["tags"] == {"Name": resource.name, **TAGS}, resource.name


# -- bad args --------------------------------------------------------------------------


def route(name="identity", port=8080, path=None, health="/health/ready") -> ServiceRoute:
    return ServiceRoute(name, port, path or f"/api/{name}", health)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"services": ()}, "services: got []; expected at least one service"),
        (
            {"services": tuple(route(f"s{i}") for i in range(101))},
            "services: got '101 services'; expected at most 100: an application load balancer "
            "holds 100 rules",
        ),
        (
            {"services": (route("fee"), route("fee", path="/api/fees"))},
            "services[1].name: got 'fee'; expected a name no other service has (services[0] "
            "has it)",
        ),
        (
            {"services": (route("Fee_Service"),)},
            "services[0].name: got 'Fee_Service'; expected a DNS label (1-63 lower-case "
            "letters, digits and hyphens, not starting or ending with a hyphen)",
        ),
        ({"services": (route("-fee"),)}, "services[0].name: got '-fee'"),
        ({"services": (route(port=0),)}, "services[0].port: got 0; expected an integer from 1"),
        ({"services": (route(port=65536),)}, "services[0].port: got 65536"),
        ({"services": (route(port="8080"),)}, "services[0].port: got '8080'"),
        (
            {"services": (route("fee"), route("billing", path="/api/fee"))},
            "services[1].path_prefix: got '/api/fee'; expected a path outside "
            "services[0].path_prefix '/api/fee': each request must belong to one service",
        ),
        (
            {"services": (route("fee"), route("feex", path="/api/fee/x"))},
            "services[1].path_prefix: got '/api/fee/x'; expected a path outside "
            "services[0].path_prefix '/api/fee'",
        ),
        (
            {"services": (route("feex", path="/api/fee/x"), route("fee"))},
            "services[1].path_prefix: got '/api/fee'; expected a path outside "
            "services[0].path_prefix '/api/fee/x'",
        ),
        (
            {"services": (route(path="api/identity"),)},
            "services[0].path_prefix: got 'api/identity'; expected a path such as "
            "/api/identity: starting with '/', not ending with '/'",
        ),
        (
            {"services": (route(path="/api/identity/"),)},
            "services[0].path_prefix: got '/api/identity/'",
        ),
        ({"services": (route(path="/"),)}, "services[0].path_prefix: got '/'"),
        ({"services": (route(path="/api/*"),)}, "services[0].path_prefix: got '/api/*'"),
        ({"services": (route(path="/" + "a" * 126),)}, "services[0].path_prefix: got '/aaaa"),
        (
            {"services": (route(health="health/ready"),)},
            "services[0].health_check_path: got 'health/ready'; expected a path starting with '/'",
        ),
        (
            {"idle_timeout_seconds": 0},
            "idle_timeout_seconds: got 0; expected an integer from 1 to 4000",
        ),
        ({"idle_timeout_seconds": 4001}, "idle_timeout_seconds: got 4001"),
        (
            {"vpc_cidr": "0.0.0.0/0"},
            "vpc_cidr: got '0.0.0.0/0'; expected the VPC's IPv4 block, /16 to /28",
        ),
        ({"vpc_cidr": "10.30.0.0"}, "vpc_cidr: got '10.30.0.0'"),
        (
            {"public_subnet_ids": ("subnet-a",)},
            "public_subnet_ids: got ['subnet-a']; expected at least 2 public subnets",
        ),
        (
            {"public_subnet_ids": ("subnet-a", "subnet-a")},
            "public_subnet_ids: got ['subnet-a', 'subnet-a']; expected each subnet at most once",
        ),
        (
            {"access_log_prefix": "alb/"},
            "access_log_prefix: got 'alb/'; expected a key prefix such as alb",
        ),
        (
            {"access_log_prefix": "x/AWSLogs"},
            "access_log_prefix: got 'x/AWSLogs'; expected a key prefix without 'AWSLogs'",
        ),
        ({"access_log_prefix": "/alb"}, "access_log_prefix: got '/alb'"),
    ],
)
def test_refuses_bad_args(overrides, message):
    with pytest.raises(InvalidArguments, match=f"ApiLoadBalancer {NAME}: {re.escape(message)}"):
        plan_lb(**overrides)


def test_bad_args_create_nothing():
    args = lb_args(services=(), idle_timeout_seconds=0)
    refused: list[str] = []

    def program(spec):
        try:
            ApiLoadBalancer(NAME, args)
        except InvalidArguments as error:
            refused.append(str(error))

    plan = offline.run(spec_of("prod"), program)
    assert refused == [
        f"ApiLoadBalancer {NAME}: idle_timeout_seconds: got 0; expected an integer from 1 to 4000\n"
        f"ApiLoadBalancer {NAME}: services: got []; expected at least one service"
    ]
    assert not any(r.custom for r in plan.resources)


def test_reports_every_problem_at_once():
    found = problems(
        "a",
        lb_args(
            vpc_cidr="nope",
            idle_timeout_seconds=0,
            services=(route("Bad", port=0, path="x", health="y"),),
        ),
    )
    assert [p.split(": ")[1] for p in found] == [
        "vpc_cidr",
        "idle_timeout_seconds",
        "services[0].name",
        "services[0].port",
        "services[0].path_prefix",
        "services[0].health_check_path",
    ]


@pytest.mark.parametrize(
    "paths",
    [
        ("/api/fee", "/api/fees"),  # a shared string prefix is not a shared path
        ("/api/fee", "/api/feedback/x"),
        ("/api/a", "/api/b", "/apix"),
    ],
)
def test_paths_that_do_not_clash(paths):
    services = tuple(route(f"s{i}", path=p) for i, p in enumerate(paths))
    assert problems("a", lb_args(services=services)) == []


def test_the_seed_services_are_valid():
    assert problems("a", lb_args()) == []
    assert problems("a", lb_args(services=tuple(route(f"s{i}") for i in range(100)))) == []
