"""`WebAcl` through the offline engine: rules, rate limits, region, logging and its policy."""

from __future__ import annotations

import json
import re
from collections import Counter

import pulumi
import pulumi_aws as aws
import pytest

from osp.components.firewall import (
    DEFAULT_LOGIN_PATH_PREFIXES,
    WafScope,
    WebAcl,
    WebAclArgs,
    delivery_policy,
    problems,
)
from osp.platform.engine import offline
from osp.platform.validation import InvalidArguments
from tests.support import plan_component, spec_of

TAGS = {"osp:environment": "t", "osp:component": "firewall", "osp:blueprint": "osp",
        "osp:managed-by": "osp"}  # fmt: skip
ACCOUNT = "123456789012"
# A stack outside us-east-1, so that a CLOUDFRONT ACL's region is visibly its own.
REGION = "eu-west-1"
SPEC = spec_of("prod").model_copy(update={"region": REGION})
EDGE_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0f0e0d0c-logs"
REGIONAL_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0a0b0c0d-logs"

ACL = "aws:wafv2/webAcl:WebAcl"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
POLICY = "aws:cloudwatch/logResourcePolicy:LogResourcePolicy"
LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
PATH_TRANSFORMATIONS = [
    {"priority": 0, "type": "URL_DECODE"},
    {"priority": 1, "type": "NORMALIZE_PATH"},
    {"priority": 2, "type": "LOWERCASE"},
]


def edge_acl(name: str, args: WebAclArgs, opts: pulumi.ResourceOptions | None = None) -> WebAcl:
    """A WebAcl created through a us-east-1 provider, as the estate creates a CLOUDFRONT one."""
    provider = aws.Provider("use1", region="us-east-1")
    return WebAcl(
        name, args, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers=[provider]))
    )


def plan_acl(name: str = "osp-t-waf", *, edge: bool = False, **overrides):
    """Plan a WebAcl: a CLOUDFRONT one (`edge`) through a us-east-1 provider, a REGIONAL one
    in the stack's region."""
    scope = WafScope.CLOUDFRONT if edge else WafScope.REGIONAL
    args = WebAclArgs(
        **{
            "scope": scope,
            "logs_kms_key_arn": EDGE_KEY if edge else REGIONAL_KEY,
            "tags": TAGS,
            **overrides,
        }
    )
    return plan_component(edge_acl if edge else WebAcl, args, name=name, spec=SPEC)


@pytest.fixture(scope="module")
def edge():
    return plan_acl(edge=True)


@pytest.fixture(scope="module")
def regional():
    return plan_acl()


def acl(plan):
    (resource,) = plan.of_type(ACL)
    return resource


def rules(plan):
    return {rule["name"]: rule for rule in acl(plan).inputs["rules"]}


def statement(plan, rule):
    return rules(plan)[rule]["statement"]


# -- children --------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["edge", "regional"])
def test_children(fixture, request):
    plan = request.getfixturevalue(fixture)
    component = plan.named("osp-t-waf")
    assert component.type == "osp:firewall:WebAcl"
    kids = [r for r in plan.resources if r.parent == component.urn]
    assert Counter(r.type for r in kids) == {ACL: 1, LOG_GROUP: 1, POLICY: 1, LOGGING: 1}
    assert {r.name for r in kids} == {
        "osp-t-waf-web-acl",
        "osp-t-waf-logs",
        "osp-t-waf-logs-policy",
        "osp-t-waf-logging",
    }
    # Nothing else: no association (the load balancer and CloudFront attach the ACL).
    assert {r.type for r in plan.resources if r.custom} - {"pulumi:providers:aws"} == {
        ACL,
        LOG_GROUP,
        POLICY,
        LOGGING,
    }


# -- scope and region ------------------------------------------------------------------


def test_cloudfront_acl_lives_in_us_east_1(edge):
    use1 = edge.named("use1").urn
    for resource in (edge.of_type(ACL) + edge.of_type(LOG_GROUP) + edge.of_type(LOGGING)
                     + edge.of_type(POLICY)):  # fmt: skip
        assert resource.provider == use1, resource.name
    assert acl(edge).inputs["scope"] == "CLOUDFRONT"
    logging = edge.named("osp-t-waf-logging")
    assert re.fullmatch(
        rf"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/osp-t-waf/[0-9a-f-]{{36}}",
        logging.inputs["resourceArn"],
    )
    (destination,) = logging.inputs["logDestinationConfigs"]
    assert destination.startswith(f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:")


def test_regional_acl_lives_in_the_stacks_region(regional):
    for resource in regional.resources:
        assert resource.provider is None, resource.name
    assert acl(regional).inputs["scope"] == "REGIONAL"
    logging = regional.named("osp-t-waf-logging")
    assert logging.inputs["resourceArn"].startswith(
        f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/osp-t-waf/"
    )


def test_acl_identity(regional):
    inputs = acl(regional).inputs
    assert inputs["name"] == "osp-t-waf"
    assert inputs["defaultAction"] == {"allow": {}}


# -- rules -----------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["edge", "regional"])
def test_rules_in_priority_order(fixture, request):
    found = acl(request.getfixturevalue(fixture)).inputs["rules"]
    assert [(r["priority"], r["name"]) for r in found] == list(
        enumerate(
            [
                "rate-limit-login",
                "rate-limit",
                "aws-ip-reputation",
                "aws-common",
                "aws-known-bad-inputs",
                "aws-sqli",
            ]
        )
    )


def test_managed_rule_groups_keep_their_own_actions(regional):
    groups = {
        "aws-ip-reputation": "AWSManagedRulesAmazonIpReputationList",
        "aws-common": "AWSManagedRulesCommonRuleSet",
        "aws-known-bad-inputs": "AWSManagedRulesKnownBadInputsRuleSet",
        "aws-sqli": "AWSManagedRulesSQLiRuleSet",
    }
    found = rules(regional)
    for rule, group in groups.items():
        managed = found[rule]["statement"]["managedRuleGroupStatement"]
        assert (managed["vendorName"], managed["name"]) == ("AWS", group)
        assert "scopeDownStatement" not in managed
        assert found[rule]["overrideAction"] == {"none": {}}
        assert "action" not in found[rule]


def test_only_the_body_size_rule_is_counted(regional):
    overrides = {
        rule: rules(regional)[rule]["statement"]["managedRuleGroupStatement"].get(
            "ruleActionOverrides"
        )
        for rule in ("aws-ip-reputation", "aws-common", "aws-known-bad-inputs", "aws-sqli")
    }
    assert overrides == {
        "aws-ip-reputation": None,
        "aws-common": [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}],
        "aws-known-bad-inputs": None,
        "aws-sqli": None,
    }


@pytest.mark.parametrize("fixture", ["edge", "regional"])
def test_rate_limit_per_client_ip(fixture, request):
    plan = request.getfixturevalue(fixture)
    rule = rules(plan)["rate-limit"]
    assert rule["action"] == {"block": {}}
    assert "overrideAction" not in rule
    assert rule["statement"] == {
        "rateBasedStatement": {
            "aggregateKeyType": "IP",
            "evaluationWindowSec": 300,
            "limit": 5000,  # seed 000: 1 000 requests/minute per user
        }
    }


@pytest.mark.parametrize("fixture", ["edge", "regional"])
def test_tighter_rate_limit_on_login_paths(fixture, request):
    rule = rules(request.getfixturevalue(fixture))["rate-limit-login"]
    assert rule["action"] == {"block": {}}
    rate = rule["statement"]["rateBasedStatement"]
    assert (rate["aggregateKeyType"], rate["evaluationWindowSec"], rate["limit"]) == (
        "IP",
        300,
        100,
    )
    assert rate["scopeDownStatement"] == {
        "orStatement": {
            "statements": [
                {
                    "byteMatchStatement": {
                        "fieldToMatch": {"uriPath": {}},
                        "positionalConstraint": "STARTS_WITH",
                        "searchString": prefix,
                        "textTransformations": PATH_TRANSFORMATIONS,
                    }
                }
                for prefix in ("/api/identity/login", "/api/identity/token")
            ]
        }
    }
    assert DEFAULT_LOGIN_PATH_PREFIXES == ("/api/identity/login", "/api/identity/token")


def test_one_login_prefix_needs_no_or_statement():
    plan = plan_acl(login_path_prefixes=("/api/identity/",))
    scope_down = statement(plan, "rate-limit-login")["rateBasedStatement"]["scopeDownStatement"]
    assert scope_down == {
        "byteMatchStatement": {
            "fieldToMatch": {"uriPath": {}},
            "positionalConstraint": "STARTS_WITH",
            "searchString": "/api/identity/",
            "textTransformations": PATH_TRANSFORMATIONS,
        }
    }


def test_limits_come_from_args():
    plan = plan_acl(rate_limit_per_5min=20000, login_rate_limit_per_5min=10)
    assert statement(plan, "rate-limit")["rateBasedStatement"]["limit"] == 20000
    assert statement(plan, "rate-limit-login")["rateBasedStatement"]["limit"] == 10


def test_forwarded_ip_header_keys_both_rate_rules_on_it():
    plan = plan_acl(forwarded_ip_header="X-Forwarded-For")
    for rule in ("rate-limit", "rate-limit-login"):
        rate = statement(plan, rule)["rateBasedStatement"]
        assert rate["aggregateKeyType"] == "FORWARDED_IP"
        assert rate["forwardedIpConfig"] == {
            "headerName": "X-Forwarded-For",
            "fallbackBehavior": "NO_MATCH",
        }


@pytest.mark.parametrize("fixture", ["edge", "regional"])
def test_metrics_and_sampling_everywhere(fixture, request):
    inputs = acl(request.getfixturevalue(fixture)).inputs
    assert inputs["visibilityConfig"] == {
        "cloudwatchMetricsEnabled": True,
        "metricName": "osp-t-waf",
        "sampledRequestsEnabled": True,
    }
    for rule in inputs["rules"]:
        assert rule["visibilityConfig"] == {
            "cloudwatchMetricsEnabled": True,
            "metricName": f"osp-t-waf-{rule['name']}",
            "sampledRequestsEnabled": True,
        }


# -- logging ---------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["edge", "regional"])
def test_logs_go_to_an_encrypted_waf_log_group(fixture, request):
    plan = request.getfixturevalue(fixture)
    group = plan.named("osp-t-waf-logs")
    assert group.inputs["name"] == "aws-waf-logs-osp-t-waf"
    assert group.inputs["retentionInDays"] == 365
    assert group.inputs["kmsKeyId"] == (EDGE_KEY if fixture == "edge" else REGIONAL_KEY)
    logging = plan.named("osp-t-waf-logging")
    assert logging.property_dependencies["logDestinationConfigs"] == (group.urn,)
    assert logging.property_dependencies["resourceArn"] == (acl(plan).urn,)


def test_log_retention_comes_from_args():
    plan = plan_acl(log_retention_days=90)
    assert plan.named("osp-t-waf-logs").inputs["retentionInDays"] == 90


@pytest.mark.parametrize("fixture", ["edge", "regional"])
def test_authorization_and_cookie_are_redacted(fixture, request):
    logging = request.getfixturevalue(fixture).named("osp-t-waf-logging")
    assert logging.inputs["redactedFields"] == [
        {"singleHeader": {"name": "authorization"}},
        {"singleHeader": {"name": "cookie"}},
    ]
    assert "loggingFilter" not in logging.inputs  # every request is logged


@pytest.mark.parametrize(("fixture", "region"), [("edge", "us-east-1"), ("regional", REGION)])
def test_only_log_delivery_of_this_account_writes_to_this_log_group(fixture, region, request):
    plan = request.getfixturevalue(fixture)
    group_arn = f"arn:aws:logs:{region}:{ACCOUNT}:log-group:aws-waf-logs-osp-t-waf"
    policy = plan.named("osp-t-waf-logs-policy")
    assert policy.inputs["resourceArn"] == group_arn
    assert "policyName" not in policy.inputs  # scoped to the log group, not account-wide
    document = json.loads(policy.inputs["policyDocument"])
    assert document["Version"] == "2012-10-17"
    (only,) = document["Statement"]
    assert only == {
        "Sid": "WafLogDelivery",
        "Effect": "Allow",
        "Principal": {"Service": "delivery.logs.amazonaws.com"},
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": f"{group_arn}:log-stream:*",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": f"arn:aws:logs:{region}:{ACCOUNT}:*"},
        },
    }


@pytest.mark.parametrize("fixture", ["edge", "regional"])
def test_logging_starts_after_the_policy_exists(fixture, request):
    plan = request.getfixturevalue(fixture)
    logging = plan.named("osp-t-waf-logging")
    assert plan.named("osp-t-waf-logs-policy").urn in logging.dependencies


def test_delivery_policy_accepts_the_log_groups_wildcard_arn():
    document = json.loads(
        delivery_policy("arn:aws-cn:logs:cn-north-1:210987654321:log-group:aws-waf-logs-x:*")
    )
    (only,) = document["Statement"]
    assert only["Resource"] == (
        "arn:aws-cn:logs:cn-north-1:210987654321:log-group:aws-waf-logs-x:log-stream:*"
    )
    assert only["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "210987654321"},
        "ArnLike": {"aws:SourceArn": "arn:aws-cn:logs:cn-north-1:210987654321:*"},
    }


# -- protection and tags ---------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["edge", "regional"])
def test_nothing_is_protected(fixture, request):
    assert not any(r.options.protect for r in request.getfixturevalue(fixture).resources)


@pytest.mark.parametrize("fixture", ["edge", "regional"])
def test_every_taggable_resource_is_tagged(fixture, request):
    plan = request.getfixturevalue(fixture)
    for resource in plan.of_type(ACL) + plan.of_type(LOG_GROUP):
        assert resource.inputs["tags"] == {"Name": resource.name, **TAGS}, resource.name
    # The policy and the logging configuration take no tags.
    assert "tags" not in plan.named("osp-t-waf-logs-policy").inputs
    assert "tags" not in plan.named("osp-t-waf-logging").inputs


# -- bad args --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"scope": "GLOBAL"}, "scope: got 'GLOBAL'; expected one of CLOUDFRONT, REGIONAL"),
        (
            {"rate_limit_per_5min": 9},
            "rate_limit_per_5min: got 9; expected an integer from 10 to 2000000000",
        ),
        ({"rate_limit_per_5min": 2_000_000_001}, "rate_limit_per_5min: got 2000000001"),
        ({"rate_limit_per_5min": "5000"}, "rate_limit_per_5min: got '5000'"),
        ({"login_rate_limit_per_5min": True}, "login_rate_limit_per_5min: got True"),
        ({"login_rate_limit_per_5min": 5}, "login_rate_limit_per_5min: got 5; expected an integer"),
        (
            {"login_rate_limit_per_5min": 5000},
            "login_rate_limit_per_5min: got 5000; expected less than rate_limit_per_5min (5000)",
        ),
        (
            {"login_path_prefixes": "/api/identity/login"},
            "login_path_prefixes: got '/api/identity/login'; expected a non-empty tuple",
        ),
        ({"login_path_prefixes": ()}, "login_path_prefixes: got (); expected a non-empty tuple"),
        (
            {"login_path_prefixes": ("api/identity/login",)},
            "login_path_prefixes: got 'api/identity/login'; expected lower-case URI path "
            "prefixes starting with '/'",
        ),
        (
            {"login_path_prefixes": ("/API/Identity/Login",)},
            "login_path_prefixes: got '/API/Identity/Login'",
        ),
        (
            {"login_path_prefixes": ("/api/identity%2flogin",)},
            "login_path_prefixes: got '/api/identity%2flogin'",
        ),
        (
            {"login_path_prefixes": ("/" + "a" * 200,)},
            f"login_path_prefixes: got '/{'a' * 200}'; expected lower-case URI path prefixes "
            "starting with '/', at most 200 bytes each",
        ),
        (
            {"login_path_prefixes": ("/login", "/login")},
            "login_path_prefixes: got ['/login', '/login']; expected each prefix at most once",
        ),
        (
            {"forwarded_ip_header": "X Forwarded For"},
            "forwarded_ip_header: got 'X Forwarded For'; expected an HTTP header name",
        ),
        (
            {"logs_kms_key_arn": None},
            "logs_kms_key_arn: got None; expected a KMS key ARN (the log group is always "
            "encrypted)",
        ),
        (
            {"logs_kms_key_arn": "alias/osp-logs"},
            "logs_kms_key_arn: got 'alias/osp-logs'; expected a KMS key ARN (not an alias) such "
            "as arn:aws:kms:us-east-1:123456789012:key/<id>",
        ),
        (
            {"logs_kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/osp-logs"},
            f"logs_kms_key_arn: got 'arn:aws:kms:{REGION}:{ACCOUNT}:alias/osp-logs'; expected a "
            "KMS key ARN (not an alias) such as arn:aws:kms:us-east-1:123456789012:key/<id>",
        ),
        (
            {"log_retention_days": 10},
            "log_retention_days: got 10; expected a CloudWatch Logs retention period: 1, 3, 5, "
            "7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, "
            "3288, 3653",
        ),
    ],
)
def test_refuses_bad_args(overrides, message):
    with pytest.raises(InvalidArguments, match=f"WebAcl osp-t-waf: {re.escape(message)}"):
        plan_acl(**overrides)


def test_cloudfront_logs_key_must_be_in_us_east_1():
    with pytest.raises(
        InvalidArguments,
        match=re.escape(
            f"WebAcl osp-t-waf: logs_kms_key_arn: got '{REGIONAL_KEY}'; expected a key in "
            "us-east-1: a CLOUDFRONT ACL logs to a log group there"
        ),
    ):
        plan_acl(edge=True, logs_kms_key_arn=REGIONAL_KEY)


def test_refuses_names_too_long_for_waf():
    message = f"WebAcl {'x' * 129}: name: got '{'x' * 129}'; expected at most 128 characters"
    with pytest.raises(InvalidArguments, match=re.escape(message)):
        plan_acl("x" * 129)


def test_reports_every_problem_at_once_and_creates_nothing():
    args = WebAclArgs(
        scope="EDGE",
        logs_kms_key_arn=REGIONAL_KEY,
        rate_limit_per_5min=1,
        login_path_prefixes=(),
        log_retention_days=2,
    )
    assert [p.split(":")[1].strip() for p in problems("w", args)] == [
        "scope",
        "rate_limit_per_5min",
        "login_path_prefixes",
        "log_retention_days",
    ]

    def program(_spec):
        with pytest.raises(InvalidArguments, match="WebAcl w: scope"):
            WebAcl("w", args)

    plan = offline.run(SPEC, program)
    assert [r.type for r in plan.resources if r.custom] == []


def test_outputs_are_usable_by_cloudfront_and_the_load_balancer():
    outputs = plan_component(
        edge_acl,
        WebAclArgs(scope=WafScope.CLOUDFRONT, logs_kms_key_arn=EDGE_KEY),
        name="w",
        exports=("web_acl_arn", "web_acl_id", "log_group_name"),
        spec=SPEC,
    ).outputs
    assert re.fullmatch(r"arn:aws:wafv2:us-east-1:\d{12}:global/webacl/w/[0-9a-f-]{36}",
                        outputs["web_acl_arn"])  # fmt: skip
    assert outputs["web_acl_arn"].endswith("/" + outputs["web_acl_id"])
    assert outputs["log_group_name"] == "aws-waf-logs-w"
