"""The edge: CloudFront distributions, WAF web ACLs and the internet-facing load balancer.
TLS to viewers and to origins, private S3 origins, security headers, access logs, and a web
ACL with AWS's managed rule groups and a rate limit in front of everything public."""

from __future__ import annotations

import re
from typing import Any

from osp.platform.plan import PlannedResource
from osp.platform.policy.model import Check, Rule, Scope, Severity
from osp.platform.policy.rules._reading import (
    as_list,
    at,
    referrers,
    truthy,
)

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
HEADERS_POLICY = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WEB_ACL_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"

#: Viewer TLS policies CloudFront recommends (TLS 1.2+ with modern ciphers), oldest first.
RECOMMENDED_VIEWER_TLS = ("TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025")
WEAK_ORIGIN_PROTOCOLS = ("SSLv3", "TLSv1", "TLSv1.1")
#: Load balancer policies offering only TLS 1.2 and 1.3 with forward secrecy.
_MODERN_ELB_POLICY = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]|FS-1-2|TLS-1-2-Ext)")
#: AWS managed rule groups every web ACL runs: common exploits, and known bad inputs (Log4j,
#: Java deserialization, …).
REQUIRED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")
#: The rules of KnownBadInputs that catch Log4Shell: counting them instead of blocking is off.
_LOG4J_RULES = re.compile(r"^Log4JRCE")
_S3_ORIGIN = re.compile(r"\.s3(\.[a-z0-9-]+)?\.amazonaws\.com$")


def _behaviors(inputs: Any) -> list[tuple[str, dict]]:
    found = [("defaultCacheBehavior", inputs.get("defaultCacheBehavior") or {})]
    for index, behavior in enumerate(as_list(inputs.get("orderedCacheBehaviors"))):
        found.append((f"orderedCacheBehaviors[{index}]", behavior or {}))
    return found


def _viewer_https(resource: PlannedResource, scope: Scope) -> Check | None:
    policies = {
        f"{path}.viewerProtocolPolicy": b.get("viewerProtocolPolicy")
        for path, b in _behaviors(resource.inputs)
    }
    bad = [
        path
        for path, policy in policies.items()
        if policy not in ("redirect-to-https", "https-only")
    ]
    return Check.of(not bad, f"{', '.join(bad)} serves plain HTTP" if bad else "", **policies)


def _viewer_tls(resource: PlannedResource, scope: Scope) -> Check | None:
    default_cert = truthy(at(resource.inputs, "viewerCertificate.cloudfrontDefaultCertificate"))
    version = at(resource.inputs, "viewerCertificate.minimumProtocolVersion")
    evidence = {
        "viewerCertificate.minimumProtocolVersion": version,
        "viewerCertificate.cloudfrontDefaultCertificate": default_cert,
    }
    if default_cert:
        return Check.of(
            False, "the default certificate allows TLSv1; use the domain's certificate", **evidence
        )
    ok = version in RECOMMENDED_VIEWER_TLS
    return Check.of(ok, "" if ok else f"viewers may connect with {version}", **evidence)


def _origins(resource: PlannedResource) -> list[tuple[int, dict]]:
    return list(enumerate(o or {} for o in as_list(resource.inputs.get("origins"))))


def _origin_access_control(resource: PlannedResource, scope: Scope) -> Check | None:
    s3 = [(i, o) for i, o in _origins(resource) if _S3_ORIGIN.search(str(o.get("domainName", "")))]
    if not s3:
        return None
    evidence: dict[str, Any] = {}
    bad = []
    for index, origin in s3:
        oac = origin.get("originAccessControlId")
        oai = at(origin, "s3OriginConfig.originAccessIdentity")
        evidence[f"origins[{index}].originAccessControlId"] = oac
        if not oac:
            bad.append(
                f"origin {origin.get('originId')}"
                + (" uses a legacy origin access identity" if oai else " is read without signing")
            )
    return Check.of(not bad, "; ".join(bad), **evidence)


def _origin_tls(resource: PlannedResource, scope: Scope) -> Check | None:
    custom = [(i, o) for i, o in _origins(resource) if o.get("customOriginConfig")]
    if not custom:
        return None
    evidence: dict[str, Any] = {}
    bad = []
    for index, origin in custom:
        config = origin["customOriginConfig"]
        policy = config.get("originProtocolPolicy")
        protocols = as_list(config.get("originSslProtocols"))
        evidence[f"origins[{index}].customOriginConfig.originProtocolPolicy"] = policy
        evidence[f"origins[{index}].customOriginConfig.originSslProtocols"] = protocols
        if policy != "https-only":
            bad.append(f"origin {origin.get('originId')} is reached with {policy}")
        weak = [p for p in protocols if p in WEAK_ORIGIN_PROTOCOLS]
        if weak:
            bad.append(f"origin {origin.get('originId')} allows {', '.join(weak)}")
    return Check.of(not bad, "; ".join(bad), **evidence)


def _headers_attached(resource: PlannedResource, scope: Scope) -> Check | None:
    ids = {
        f"{path}.responseHeadersPolicyId": b.get("responseHeadersPolicyId")
        for path, b in _behaviors(resource.inputs)
    }
    bad = [path for path, value in ids.items() if not value]
    return Check.of(not bad, f"{', '.join(bad)} adds no security headers" if bad else "", **ids)


MIN_HSTS_SECONDS = 31536000


def _headers_content(resource: PlannedResource, scope: Scope) -> Check | None:
    config = resource.inputs.get("securityHeadersConfig") or {}
    hsts = config.get("strictTransportSecurity") or {}
    evidence = {
        "securityHeadersConfig.strictTransportSecurity.accessControlMaxAgeSec": hsts.get(
            "accessControlMaxAgeSec"
        ),
        "securityHeadersConfig.contentTypeOptions": config.get("contentTypeOptions"),
        "securityHeadersConfig.frameOptions.frameOption": at(config, "frameOptions.frameOption"),
    }
    missing = []
    if (
        not isinstance(hsts.get("accessControlMaxAgeSec"), int)
        or hsts["accessControlMaxAgeSec"] < MIN_HSTS_SECONDS
    ):
        missing.append("Strict-Transport-Security of a year or more")
    if not config.get("contentTypeOptions"):
        missing.append("X-Content-Type-Options")
    if at(config, "frameOptions.frameOption") not in ("DENY", "SAMEORIGIN"):
        missing.append("X-Frame-Options")
    return Check.of(not missing, f"sets no {', '.join(missing)}" if missing else "", **evidence)


def _distribution_logging(resource: PlannedResource, scope: Scope) -> Check | None:
    bucket = at(resource.inputs, "loggingConfig.bucket")
    return Check.of(
        bool(bucket), "" if bucket else "access logs are off", **{"loggingConfig.bucket": bucket}
    )


def _web_acl_of_distribution(resource: PlannedResource, scope: Scope) -> Check | None:
    acl = resource.inputs.get("webAclId")
    return Check.of(bool(acl), "" if acl else "no WAF web ACL", webAclId=acl)


def _default_root_object(resource: PlannedResource, scope: Scope) -> Check | None:
    if not any(_S3_ORIGIN.search(str(o.get("domainName", ""))) for _, o in _origins(resource)):
        return None  # an API in front of a load balancer has no root object
    root = resource.inputs.get("defaultRootObject")
    return Check.of(
        bool(root), "" if root else "the bucket's listing is requested at /", defaultRootObject=root
    )


def _signed_with_key_groups(resource: PlannedResource, scope: Scope) -> Check | None:
    behaviors = _behaviors(resource.inputs)
    signers = {
        f"{path}.trustedSigners": b.get("trustedSigners")
        for path, b in behaviors
        if b.get("trustedSigners")
    }
    groups = {
        f"{path}.trustedKeyGroups": b.get("trustedKeyGroups")
        for path, b in behaviors
        if b.get("trustedKeyGroups")
    }
    if not signers and not groups:
        return None  # serves every viewer: no signed URLs to judge
    if signers:
        first = next(iter(signers))
        return Check.of(
            False, f"{first.rsplit('.', 1)[0]} trusts the account's root CloudFront keys", **signers
        )
    return Check.of(True, **groups)


# --- WAF ----------------------------------------------------------------------------------


def _rules(resource: PlannedResource) -> list[tuple[int, dict]]:
    return list(enumerate(r or {} for r in as_list(resource.inputs.get("rules"))))


def _managed_groups(resource: PlannedResource, scope: Scope) -> Check | None:
    present: dict[str, str] = {}
    problems = []
    for index, rule in _rules(resource):
        group = at(rule, "statement.managedRuleGroupStatement") or {}
        name = group.get("name")
        if name not in REQUIRED_RULE_GROUPS or group.get("vendorName") != "AWS":
            continue
        if at(rule, "overrideAction.count") is not None:
            problems.append(f"{name} only counts (overrideAction count)")
            continue
        counted = [
            o.get("name")
            for o in as_list(group.get("ruleActionOverrides"))
            if at(o, "actionToUse.count") is not None
            and name == "AWSManagedRulesKnownBadInputsRuleSet"
            and _LOG4J_RULES.match(str(o.get("name")))
        ]
        if counted:
            problems.append(f"{name} only counts {', '.join(counted)}")
            continue
        present[name] = f"rules[{index}]"
    missing = [
        g for g in REQUIRED_RULE_GROUPS if g not in present and not any(g in p for p in problems)
    ]
    problems += [f"{g} is missing" for g in missing]
    evidence = {
        "rules[*].statement.managedRuleGroupStatement.name": sorted(
            str(at(r, "statement.managedRuleGroupStatement.name"))
            for _, r in _rules(resource)
            if at(r, "statement.managedRuleGroupStatement.name")
        )
    }
    return Check.of(not problems, "; ".join(problems), **evidence)


def _rate_rule(resource: PlannedResource, scope: Scope) -> Check | None:
    limits = [
        (f"rules[{index}]", at(rule, "statement.rateBasedStatement.limit"))
        for index, rule in _rules(resource)
        if at(rule, "statement.rateBasedStatement") is not None
        and at(rule, "action.block") is not None
        and at(rule, "statement.rateBasedStatement.scopeDownStatement") is None
    ]
    if not limits:
        return Check.of(
            False,
            "no blocking rate-based rule covers every request",
            **{"rules[*].statement.rateBasedStatement": None},
        )
    path, limit = limits[0]
    return Check.of(True, **{f"{path}.statement.rateBasedStatement.limit": limit})


def _waf_logging(resource: PlannedResource, scope: Scope) -> Check | None:
    configs = referrers(scope, resource, (WEB_ACL_LOGGING,), "resourceArn")
    destinations = configs[0].inputs.get("logDestinationConfigs") if configs else None
    return Check.of(
        bool(configs),
        "" if configs else "requests are not logged",
        logDestinationConfigs=destinations,
    )


# --- load balancer ------------------------------------------------------------------------


def _internet_facing(resource: PlannedResource) -> bool:
    return (
        resource.inputs.get("internal") is not True
        and resource.inputs.get("loadBalancerType", "application") == "application"
    )


def _balancer_waf(resource: PlannedResource, scope: Scope) -> Check | None:
    if not _internet_facing(resource):
        return None
    associations = referrers(scope, resource, (WEB_ACL_ASSOCIATION,), "resourceArn")
    acl = associations[0].inputs.get("webAclArn") if associations else None
    return Check.of(
        bool(associations),
        "" if associations else "no WAF web ACL is associated",
        webAclAssociation=acl,
    )


def _listener_https(resource: PlannedResource, scope: Scope) -> Check | None:
    protocol = resource.inputs.get("protocol")
    if protocol == "HTTPS":
        policy = resource.inputs.get("sslPolicy")
        ok = isinstance(policy, str) and bool(_MODERN_ELB_POLICY.match(policy))
        return Check.of(
            ok,
            "" if ok else f"TLS policy {policy} allows old protocols or ciphers",
            protocol=protocol,
            sslPolicy=policy,
        )
    if protocol != "HTTP":
        return None
    actions = as_list(resource.inputs.get("defaultActions"))
    redirects = all(
        a.get("type") == "redirect" and at(a, "redirect.protocol") == "HTTPS" for a in actions
    ) and bool(actions)
    return Check.of(
        redirects,
        "" if redirects else "serves plain HTTP instead of redirecting to HTTPS",
        protocol=protocol,
        **{"defaultActions[*].type": [a.get("type") for a in actions]},
    )


def _balancer_headers(resource: PlannedResource, scope: Scope) -> Check | None:
    if resource.inputs.get("loadBalancerType", "application") != "application":
        return None
    drop = resource.inputs.get("dropInvalidHeaderFields")
    return Check.of(
        drop is True,
        "" if drop else "invalid HTTP headers reach the services",
        dropInvalidHeaderFields=drop,
    )


def _balancer_logs(resource: PlannedResource, scope: Scope) -> Check | None:
    on = at(resource.inputs, "accessLogs.enabled")
    bucket = at(resource.inputs, "accessLogs.bucket")
    ok = truthy(on) and bool(bucket)
    return Check.of(
        ok,
        "" if ok else "access logs are off",
        **{"accessLogs.enabled": on, "accessLogs.bucket": bucket},
    )


def _balancer_deletion(resource: PlannedResource, scope: Scope) -> Check | None:
    if not scope.context.production:
        return None
    on = resource.inputs.get("enableDeletionProtection")
    return Check.of(
        on is True, "" if on else "deletion protection is off", enableDeletionProtection=on
    )


RULES = (
    Rule(
        id="OSP-CF-1",
        title="Distributions serve viewers over HTTPS only",
        severity=Severity.HIGH,
        controls=("CloudFront.3",),
        rationale="A behaviour that allows HTTP lets anyone on the school's Wi-Fi read and "
        "change pages and session cookies.",
        fix="Set `viewerProtocolPolicy: redirect-to-https` on every cache behaviour.",
        types=(DISTRIBUTION,),
        check=_viewer_https,
    ),
    Rule(
        id="OSP-CF-2",
        title="Distributions use the recommended viewer TLS policy and the domain's certificate",
        severity=Severity.HIGH,
        controls=("CloudFront.7", "CloudFront.15"),
        rationale="Older policies accept TLS 1.0/1.1 and weak ciphers; the default "
        "*.cloudfront.net certificate forces TLSv1 support.",
        fix="Use the ACM certificate of the domain with `minimumProtocolVersion: TLSv1.2_2021` "
        "or newer (the cdn components do).",
        types=(DISTRIBUTION,),
        check=_viewer_tls,
    ),
    Rule(
        id="OSP-CF-3",
        title="S3 origins are read through origin access control",
        severity=Severity.HIGH,
        controls=("CloudFront.13",),
        rationale="Without OAC the bucket has to be readable by others than CloudFront; a "
        "legacy origin access identity cannot use SSE-KMS objects and is deprecated.",
        fix="Give each S3 origin an `originAccessControlId` (StaticSite creates one) and let "
        "the bucket policy admit only cloudfront.amazonaws.com for that distribution.",
        types=(DISTRIBUTION,),
        check=_origin_access_control,
    ),
    Rule(
        id="OSP-CF-4",
        title="Custom origins are reached over HTTPS with TLS 1.2",
        severity=Severity.HIGH,
        controls=("CloudFront.9", "CloudFront.10"),
        rationale="Between the edge and the load balancer, traffic crosses the internet; "
        "http-only or match-viewer origins, or SSLv3/TLS 1.0/1.1, expose it there.",
        fix="Set `originProtocolPolicy: https-only` and `originSslProtocols: [TLSv1.2]`.",
        types=(DISTRIBUTION,),
        check=_origin_tls,
    ),
    Rule(
        id="OSP-CF-5",
        title="Every cache behaviour adds security response headers",
        severity=Severity.MEDIUM,
        controls=("NIST.800-53.r5 SC-8", "NIST.800-53.r5 SI-10"),
        rationale="HSTS, nosniff and frame options stop downgrade, MIME confusion and "
        "clickjacking in every browser that loads the portals.",
        fix="Set `responseHeadersPolicyId` on every behaviour to the component's security "
        "headers policy.",
        types=(DISTRIBUTION,),
        check=_headers_attached,
    ),
    Rule(
        id="OSP-CF-6",
        title="Response headers policies set HSTS, nosniff and frame options",
        severity=Severity.MEDIUM,
        controls=("NIST.800-53.r5 SC-8", "NIST.800-53.r5 SI-10"),
        rationale="A headers policy without these three protects nothing the rule above counts on.",
        fix="Set strictTransportSecurity (max-age ≥ 31536000), contentTypeOptions and "
        "frameOptions (DENY or SAMEORIGIN) in `securityHeadersConfig`.",
        types=(HEADERS_POLICY,),
        check=_headers_content,
    ),
    Rule(
        id="OSP-CF-7",
        title="Distributions log access",
        severity=Severity.MEDIUM,
        controls=("CloudFront.5",),
        rationale="Edge access logs are the only record of requests WAF allowed and the cache "
        "answered.",
        fix="Set `loggingConfig.bucket` to the log bucket (the cdn components do).",
        types=(DISTRIBUTION,),
        check=_distribution_logging,
    ),
    Rule(
        id="OSP-CF-8",
        title="Distributions are behind a WAF web ACL",
        severity=Severity.HIGH,
        controls=("CloudFront.6",),
        rationale="Without a web ACL the edge forwards injection, known-bad inputs and floods "
        "straight to the origin.",
        fix="Set `webAclId` to the CLOUDFRONT-scope web ACL (osp:waf).",
        types=(DISTRIBUTION,),
        check=_web_acl_of_distribution,
    ),
    Rule(
        id="OSP-CF-9",
        title="Distributions in front of a bucket have a default root object",
        severity=Severity.LOW,
        controls=("CloudFront.1",),
        rationale="Without one, a request for / is passed to the bucket, which may answer "
        "with its listing.",
        fix="Set `defaultRootObject: index.html` (StaticSite does).",
        types=(DISTRIBUTION,),
        check=_default_root_object,
    ),
    Rule(
        id="OSP-CF-10",
        title="Signed URLs and cookies are verified with trusted key groups",
        severity=Severity.HIGH,
        controls=("NIST.800-53.r5 IA-5", "NIST.800-53.r5 AC-6"),
        rationale="Trusted signers are CloudFront key pairs of the AWS account's root user: only "
        "root can create or rotate them, and no IAM policy scopes them. Key groups hold public "
        "keys the estate manages and rotates, the private key in Secrets Manager.",
        fix="Set `trustedKeyGroups` on the private behaviours and drop `trustedSigners` (the "
        "signed-delivery component does).",
        types=(DISTRIBUTION,),
        check=_signed_with_key_groups,
    ),
    Rule(
        id="OSP-WAF-1",
        title="Web ACLs block with AWS's common and known-bad-inputs (Log4j) rule groups",
        severity=Severity.HIGH,
        controls=("WAF.10", "NIST.800-53.r5 SI-10"),
        rationale="The managed groups stop the OWASP top ten and Log4Shell-class payloads; a "
        "group that only counts, or a Log4JRCE rule set to count, stops nothing.",
        fix="Include AWSManagedRulesCommonRuleSet and AWSManagedRulesKnownBadInputsRuleSet "
        "with `overrideAction: none` and no count override on the Log4JRCE rules (WebAclArgs).",
        types=(WEB_ACL,),
        check=_managed_groups,
    ),
    Rule(
        id="OSP-WAF-2",
        title="Web ACLs rate-limit every client",
        severity=Severity.HIGH,
        controls=("NIST.800-53.r5 SC-5",),
        rationale="A blocking rate-based rule over all requests caps what one address can send "
        "(credential stuffing, scraping, floods) before it reaches the services.",
        fix="Keep a rate-based rule without a scope-down statement and with a block action "
        "(osp:waf.rate_limit).",
        types=(WEB_ACL,),
        check=_rate_rule,
    ),
    Rule(
        id="OSP-WAF-3",
        title="Web ACLs log requests",
        severity=Severity.MEDIUM,
        controls=("WAF.11",),
        rationale="WAF logs show what was blocked and why; without them a false positive or an "
        "attack cannot be investigated.",
        fix="Keep the WebAcl component's logging configuration (aws-waf-logs-* log group).",
        types=(WEB_ACL,),
        check=_waf_logging,
    ),
    Rule(
        id="OSP-ALB-1",
        title="Internet-facing load balancers are behind a WAF web ACL",
        severity=Severity.HIGH,
        controls=("NIST.800-53.r5 SC-7", "NIST.800-53.r5 SI-10"),
        rationale="The load balancer is reachable from the internet on its own address; the "
        "edge ACL does not see requests that bypass CloudFront.",
        fix="Associate the REGIONAL web ACL with the load balancer (osp:waf).",
        types=(LOAD_BALANCER,),
        check=_balancer_waf,
    ),
    Rule(
        id="OSP-ALB-2",
        title="Listeners use HTTPS with a TLS 1.2+ policy, or redirect HTTP to it",
        severity=Severity.HIGH,
        controls=("ELB.1", "ELB.17"),
        rationale="An HTTP listener that forwards serves the API in plaintext; an old TLS "
        "policy accepts TLS 1.0/1.1.",
        fix="Keep HTTP listeners as redirects to HTTPS and HTTPS listeners on an "
        "ELBSecurityPolicy-TLS13-1-2-* policy.",
        types=(LISTENER,),
        check=_listener_https,
    ),
    Rule(
        id="OSP-ALB-3",
        title="Load balancers drop invalid HTTP headers",
        severity=Severity.MEDIUM,
        controls=("ELB.4",),
        rationale="Malformed headers are how request smuggling reaches the services behind.",
        fix="Set `dropInvalidHeaderFields: true` (ApiLoadBalancer does).",
        types=(LOAD_BALANCER,),
        check=_balancer_headers,
    ),
    Rule(
        id="OSP-ALB-4",
        title="Load balancers log access",
        severity=Severity.MEDIUM,
        controls=("ELB.5",),
        rationale="Access logs record every request that reached the services, with the "
        "client's address.",
        fix="Set `accessLogs: {enabled: true, bucket: <log bucket>}`.",
        types=(LOAD_BALANCER,),
        check=_balancer_logs,
    ),
    Rule(
        id="OSP-ALB-5",
        title="Production load balancers have deletion protection",
        severity=Severity.MEDIUM,
        controls=("ELB.6",),
        rationale="Deleting the load balancer takes the API down and frees its DNS name.",
        fix="Set `osp:deletion_protection: true` in the stack file (the prod preset does).",
        types=(LOAD_BALANCER,),
        check=_balancer_deletion,
    ),
)
