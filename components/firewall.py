"""`WebAcl`: an AWS WAFv2 web ACL for CloudFront or a load balancer, with its logging."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import pulumi
import pulumi_aws as aws

from osp.components import _checks
from osp.platform import iam, limits
from osp.platform.naming import fit
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:firewall:WebAcl"


class WafScope(StrEnum):
    """Where a web ACL can be attached."""

    #: CloudFront distributions; the ACL (and its log group) must be in us-east-1.
    CLOUDFRONT = "CLOUDFRONT"
    #: Regional resources: application load balancers, API Gateway stages, …
    REGIONAL = "REGIONAL"


#: Headers whose values never reach the logs: bearer tokens and session cookies.
REDACTED_HEADERS = ("authorization", "cookie")

#: The identity service's sign-in routes (seed 000 routes /api/identity/* to it).
DEFAULT_LOGIN_PATH_PREFIXES = ("/api/identity/login", "/api/identity/token")

#: The requests-per-window limits WAF accepts on a rate-based rule.
RATE_LIMIT_MIN, RATE_LIMIT_MAX = 10, 2_000_000_000

#: The window the rate limits are counted over (WAF's default; the limits are "per 5 min").
EVALUATION_WINDOW_SECONDS = 300

# Rule names (also the suffix of their CloudWatch metric), by priority.
_RULE_NAMES = (
    "rate-limit-login",
    "rate-limit",
    "aws-ip-reputation",
    "aws-common",
    "aws-known-bad-inputs",
    "aws-sqli",
)

_MAX_NAME = 128  # a web ACL's name
_MAX_SEARCH_BYTES = 200  # a byte-match statement's search string
# Lower-case and already decoded, as the path is when it is compared.
_PATH_PREFIX = re.compile(r"/[a-z0-9._~!$&'()*+,;=:@/-]*")
_HEADER = re.compile(r"[A-Za-z0-9-]{1,255}")
_SCOPE = limits.one_of(tuple(s.value for s in WafScope))
_RATE_LIMIT = limits.whole_range(RATE_LIMIT_MIN, RATE_LIMIT_MAX)

# Applied to the URI path before the login prefixes are matched, so that the encodings and
# spellings the identity service (ASP.NET Core: case-insensitive, decoding routing) treats
# as the same route cannot slip past the tighter limit: %-escapes, `//` and `/./`, case.
_PATH_TRANSFORMATIONS = ("URL_DECODE", "NORMALIZE_PATH", "LOWERCASE")


@dataclass(frozen=True, kw_only=True)
class WebAclArgs:
    """Arguments of `WebAcl`."""

    scope: WafScope
    """CLOUDFRONT (for distributions; create the component through a us-east-1 provider) or
    REGIONAL (for the load balancer, in the stack's region)."""

    logs_kms_key_arn: pulumi.Input[str]
    """Customer KMS key of the log group. It must be in the ACL's region: us-east-1 for a
    CLOUDFRONT ACL, and its key policy must let CloudWatch Logs of that region use it."""

    rate_limit_per_5min: int = 5000
    """Requests one client IP may make in 5 minutes before it is blocked (10 to 2 000 000
    000). Default: 5000, seed 000's 1 000 requests/minute per user over WAF's window."""

    login_rate_limit_per_5min: int = 100
    """The tighter limit, per client IP, on requests to `login_path_prefixes` (from 10, below
    `rate_limit_per_5min`). WAF cannot count lower than 10 per window, so the seed's
    5 attempts per 15 minutes stays the identity service's own rule; this one stops
    credential stuffing at the edge. Default: 100."""

    login_path_prefixes: Sequence[str] = DEFAULT_LOGIN_PATH_PREFIXES
    """Lower-case URI path prefixes the tighter limit applies to (matched after URL-decoding,
    path normalisation and lower-casing). Default: the identity service's login and token
    routes."""

    forwarded_ip_header: str | None = None
    """Header that carries the client's IP when the ACL sits behind a proxy: set
    `X-Forwarded-For` on a REGIONAL ACL behind CloudFront, where every request comes from a
    CloudFront address and per-IP limits would throttle whole edge locations. WAF takes the
    first address in the header (clients can forge it, so the CloudFront ACL, which sees the
    real address, stays the binding limit); requests without a valid one are not counted.
    Default: none, the limits apply to the connection's source IP."""

    log_retention_days: int = 365
    """Days the log group keeps the request logs (a CloudWatch Logs period). Default: a year,
    as security logs are kept for audits."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the web ACL and the log group (osp's tag set)."""


def problems(name: str, args: WebAclArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("WebAcl", name)
    check.check(
        len(fit(name)) <= _MAX_NAME,
        "name",
        name,
        f"at most {_MAX_NAME} characters (the web ACL's name)",
    )
    scope = WafScope(args.scope) if check.against(_SCOPE, "scope", args.scope) else None
    _check_rate_limits(check, args)
    _check_login_paths(check, args.login_path_prefixes)
    header = args.forwarded_ip_header
    if header is not None:
        check.check(
            isinstance(header, str) and bool(_HEADER.fullmatch(header)),
            "forwarded_ip_header",
            header,
            "an HTTP header name such as X-Forwarded-For",
        )
    _check_logs_key(check, args.logs_kms_key_arn, scope)
    check.extend(_checks.common(args))
    return check.found


def _check_rate_limits(check: Problems, args: WebAclArgs) -> None:
    within = [
        check.against(_RATE_LIMIT, arg, getattr(args, arg))
        for arg in ("rate_limit_per_5min", "login_rate_limit_per_5min")
    ]
    if all(within):
        check.check(
            args.login_rate_limit_per_5min < args.rate_limit_per_5min,
            "login_rate_limit_per_5min",
            args.login_rate_limit_per_5min,
            f"less than rate_limit_per_5min ({args.rate_limit_per_5min}): it is the tighter limit",
        )


def _check_login_paths(check: Problems, prefixes: Sequence[str]) -> None:
    if isinstance(prefixes, str) or not prefixes:
        check.add(
            "login_path_prefixes",
            prefixes,
            "a non-empty tuple of URI path prefixes such as ('/api/identity/login',)",
        )
        return
    for prefix in prefixes:
        check.check(
            isinstance(prefix, str)
            and bool(_PATH_PREFIX.fullmatch(prefix))
            and len(prefix.encode()) <= _MAX_SEARCH_BYTES,
            "login_path_prefixes",
            prefix,
            f"lower-case URI path prefixes starting with '/', at most {_MAX_SEARCH_BYTES} bytes "
            "each",
        )
    literal = [p for p in prefixes if isinstance(p, str)]
    check.check(
        len(set(literal)) == len(literal),
        "login_path_prefixes",
        list(prefixes),
        "each prefix at most once",
    )


def _check_logs_key(check: Problems, key: pulumi.Input[str], scope: WafScope | None) -> None:
    if key is None:
        check.add("logs_kms_key_arn", key, "a KMS key ARN (the log group is always encrypted)")
    elif isinstance(key, str) and check.against(limits.KMS_KEY_ARN, "logs_kms_key_arn", key):
        region = key.split(":")[3]
        check.check(
            scope is not WafScope.CLOUDFRONT or region == limits.CLOUDFRONT_REGION,
            "logs_kms_key_arn",
            key,
            f"a key in {limits.CLOUDFRONT_REGION}: a CLOUDFRONT ACL logs to a log group there",
        )


def delivery_policy(log_group_arn: str) -> str:
    """The log group's resource policy: AWS log delivery (which WAF logs through) may write
    to this log group's streams, for this account's deliveries only (WAF developer guide,
    logging to CloudWatch Logs; the confused-deputy conditions of log delivery)."""
    arn = log_group_arn.removesuffix(":*")
    _, partition, _, region, account = arn.split(":")[:5]
    return iam.policy(
        {
            "Sid": "WafLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{arn}:log-stream:*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": f"arn:{partition}:logs:{region}:{account}:*"},
            },
        }
    )


def _visibility(metric_name: str) -> dict:
    return {
        "cloudwatch_metrics_enabled": True,
        "metric_name": metric_name,
        "sampled_requests_enabled": True,
    }


def _prefix_match(prefix: str) -> dict:
    return {
        "byte_match_statement": {
            "field_to_match": {"uri_path": {}},
            "positional_constraint": "STARTS_WITH",
            "search_string": prefix,
            "text_transformations": [
                {"priority": priority, "type": kind}
                for priority, kind in enumerate(_PATH_TRANSFORMATIONS)
            ],
        }
    }


def rules(args: WebAclArgs, metric_prefix: str) -> list[dict]:
    """The ACL's rules, in priority order."""

    def rate_based(limit: int, scope_down: dict | None = None) -> dict:
        statement: dict = {
            "limit": limit,
            "evaluation_window_sec": EVALUATION_WINDOW_SECONDS,
            "aggregate_key_type": "FORWARDED_IP" if args.forwarded_ip_header else "IP",
        }
        if args.forwarded_ip_header:
            statement["forwarded_ip_config"] = {
                "header_name": args.forwarded_ip_header,
                "fallback_behavior": "NO_MATCH",
            }
        if scope_down:
            statement["scope_down_statement"] = scope_down
        return {"rate_based_statement": statement}

    matches = [_prefix_match(p) for p in args.login_path_prefixes]
    login_paths = matches[0] if len(matches) == 1 else {"or_statement": {"statements": matches}}

    def managed(group: str, overrides: Sequence[str] = ()) -> dict:
        statement: dict = {"vendor_name": "AWS", "name": group}
        if overrides:
            statement["rule_action_overrides"] = [
                {"name": rule, "action_to_use": {"count": {}}} for rule in overrides
            ]
        return {"managed_rule_group_statement": statement}

    statements = {
        "rate-limit-login": rate_based(args.login_rate_limit_per_5min, login_paths),
        "rate-limit": rate_based(args.rate_limit_per_5min),
        "aws-ip-reputation": managed("AWSManagedRulesAmazonIpReputationList"),
        # SizeRestrictions_BODY blocks any body over 8 KB, which would break uploads of
        # photos and documents and large JSON payloads (bulk enrolment) through the API.
        # It only counts here: WAF still inspects the first 8 KB (16 KB at CloudFront) of
        # every body with the group's other rules, and the services bound body sizes.
        "aws-common": managed("AWSManagedRulesCommonRuleSet", ("SizeRestrictions_BODY",)),
        "aws-known-bad-inputs": managed("AWSManagedRulesKnownBadInputsRuleSet"),
        "aws-sqli": managed("AWSManagedRulesSQLiRuleSet"),
    }
    out = []
    # Rate rules come first: WAF counts only the requests that reach a rate-based rule, so
    # requests other rules block still count toward a client's limit.
    for priority, rule in enumerate(_RULE_NAMES):
        entry: dict = {
            "name": rule,
            "priority": priority,
            "statement": statements[rule],
            "visibility_config": _visibility(f"{metric_prefix}-{rule}"),
        }
        if rule.startswith("aws-"):
            # `none` keeps each managed rule's own action (block); `count` would disarm it.
            entry["override_action"] = {"none": {}}
        else:
            entry["action"] = {"block": {}}
        out.append(entry)
    return out


class WebAcl(pulumi.ComponentResource):
    """A WAFv2 web ACL: AWS managed protections, per-client rate limits and full logging.

    Requests from addresses on Amazon's IP reputation list, and those matching the common
    (OWASP), known-bad-input and SQL injection rule groups, are blocked; a client IP over
    `rate_limit_per_5min` requests in 5 minutes, or over `login_rate_limit_per_5min` on the
    login routes, is blocked until it slows down; everything else is allowed. Every rule and
    the ACL publish CloudWatch metrics and keep sampled requests. Every request is logged to
    a KMS-encrypted log group (`aws-waf-logs-<name>`) with the Authorization and Cookie
    headers redacted, and only AWS log delivery for this account may write to it.

    A CLOUDFRONT ACL must be created in us-east-1: pass
    `opts=pulumi.ResourceOptions(providers=[us_east_1_provider])` to the component, and
    give the distribution `web_acl_arn` as its `web_acl_id`. A REGIONAL ACL is attached by
    whoever owns the resource (the load balancer creates its `WebAclAssociation`).
    """

    web_acl_arn: pulumi.Output[str]
    web_acl_id: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: WebAclArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        if found := problems(name, args):
            raise InvalidArguments(found)
        scope = WafScope(args.scope)
        acl_name = fit(name)
        child = pulumi.ResourceOptions(parent=self)

        def tags(resource_name: str) -> dict[str, str]:
            return {"Name": resource_name, **args.tags}

        acl = aws.wafv2.WebAcl(
            f"{name}-web-acl",
            name=acl_name,
            scope=scope.value,
            description=f"osp {scope.value.lower()} web ACL: managed rules, rate limits",
            default_action={"allow": {}},
            rules=rules(args, acl_name),
            visibility_config=_visibility(acl_name),
            tags=tags(f"{name}-web-acl"),
            opts=child,
        )

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            # WAF refuses destinations whose name does not start with aws-waf-logs-.
            name=f"aws-waf-logs-{acl_name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.logs_kms_key_arn,
            tags=tags(f"{name}-logs"),
            opts=child,
        )

        # Scoped to the log group (not one of the account's 10 account-wide policies per
        # region), and created before logging is turned on: otherwise WAF writes a broader
        # policy of its own when it enables logging.
        policy = aws.cloudwatch.LogResourcePolicy(
            f"{name}-logs-policy",
            resource_arn=log_group.arn,
            policy_document=log_group.arn.apply(delivery_policy),
            opts=child,
        )

        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-logging",
            resource_arn=acl.arn,
            log_destination_configs=[log_group.arn],
            redacted_fields=[{"single_header": {"name": header}} for header in REDACTED_HEADERS],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )

        self.web_acl_arn = acl.arn
        self.web_acl_id = acl.id
        self.log_group_name = log_group.name
        self.register_outputs(
            {
                "webAclArn": self.web_acl_arn,
                "webAclId": self.web_acl_id,
                "logGroupName": self.log_group_name,
            }
        )
