"""`StaticSite`, `ApiDistribution` and `MediaDistribution`: the CloudFront distributions of the
portals, the API and the buckets' media."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from osp.components.storage import (
    Bucket,
    BucketArgs,
    bucket_policy,
    expected_bucket_name,
    expected_kms_key_arn,
)
from osp.platform import limits
from osp.platform.naming import NameKind, fit
from osp.platform.spec.models import PriceClass
from osp.platform.validation import InvalidArguments, Problems

SITE_TOKEN = "osp:cdn:StaticSite"
API_TOKEN = "osp:cdn:ApiDistribution"
MEDIA_TOKEN = "osp:cdn:MediaDistribution"

#: Oldest TLS viewers may negotiate: TLS 1.2 with the 2021 cipher suites (no CBC-SHA1).
MINIMUM_PROTOCOL_VERSION = "TLSv1.2_2021"

#: HSTS max-age: two years, what the browsers' preload lists ask for (at least one).
HSTS_MAX_AGE_SECONDS = 2 * 365 * 24 * 60 * 60

#: Content-Security-Policy of the API: JSON responses never render, frame or load anything.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"

#: Content-Security-Policy of media: an uploaded SVG or HTML file opened directly runs no
#: script, loads nothing and cannot be framed (sandbox gives it an opaque origin).
MEDIA_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"

#: Methods media viewers need: reads only.
MEDIA_METHODS = ("GET", "HEAD")

#: Methods a portal's single-page app needs from its bucket.
SITE_METHODS = ("GET", "HEAD", "OPTIONS")

#: Every method CloudFront passes on: the API takes writes.
API_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")

# Errors a missing route produces from a private bucket (403 without s3:ListBucket, 404
# with it): both are the SPA's job to route, so they get index.html with 200.
_SPA_ERRORS = (403, 404)

# CloudFront's longest Content-Security-Policy value.
_MAX_CSP_LENGTH = 1783

# OAC names take up to 64 characters, response headers policy names up to 128 of letters,
# digits, '-' and '_'; a DNS label (63, [a-z0-9-]) is valid for both.
_CLOUDFRONT_NAME = NameKind.K8S_LABEL

_S3_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]\.s3(\.[a-z0-9-]+)?\.amazonaws\.com")
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]+")
# Headers CloudFront refuses to add to origin requests.
_FORBIDDEN_ORIGIN_HEADERS = frozenset(
    h.lower()
    for h in (
        "Cache-Control", "Connection", "Content-Length", "Cookie", "Host", "If-Match",
        "If-Modified-Since", "If-None-Match", "If-Range", "If-Unmodified-Since",
        "Max-Forwards", "Pragma", "Proxy-Authorization", "Proxy-Connection", "Range",
        "Request-Range", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Via", "X-Real-Ip",
    )
)  # fmt: skip
_FORBIDDEN_ORIGIN_HEADER_PREFIXES = ("x-amz-", "x-edge-")
_MIN_ORIGIN_SECRET_LENGTH = 16
_PRICE_CLASS = limits.one_of(tuple(p.value for p in PriceClass))
_API_DOMAIN_NAME = limits.optional(limits.DOMAIN_NAME)
_VIEWER_REQUEST_FUNCTION = limits.optional(limits.CLOUDFRONT_FUNCTION_ARN)
# A CloudFront alternate domain name: a DNS name, or a wildcard for its first label.
_ALIAS = limits.Constraint(
    "a DNS name such as school.example.com, or a wildcard for its first label such as "
    "*.example.com",
    lambda v: isinstance(v, str) and limits.DOMAIN_NAME.accepts(v.removeprefix("*.")),
)


@dataclass(frozen=True, kw_only=True)
class _DistributionArgs:
    """The arguments every osp distribution takes."""

    domain_name: str
    """The name viewers use (the distribution's only alias), such as student.example.com."""

    certificate_arn: pulumi.Input[str]
    """ACM certificate covering `domain_name`, in us-east-1 (the only region CloudFront
    takes certificates from)."""

    web_acl_arn: pulumi.Input[str]
    """WAFv2 web ACL of CLOUDFRONT scope (`…:global/webacl/…`) that inspects every request."""

    log_bucket_domain_name: pulumi.Input[str] | None = None
    """Domain name of the log bucket (`<bucket>.s3.amazonaws.com`, `LogBucket.domain_name`):
    standard logs go to `cloudfront/<domain_name>/` in it. Default: no standard logging."""

    price_class: PriceClass = PriceClass.NORTH_AMERICA_EUROPE
    """Edge locations that serve viewers: PriceClass_100, PriceClass_200 or PriceClass_All."""

    additional_domain_names: Sequence[str] = ()
    """More names the distribution answers for, each covered by `certificate_arn`: such as
    `*.<domain>` on the portal that serves tenants' own names (`<school>.<domain>`); more
    specific names on other distributions still win. Default: none."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every taggable resource (osp's tag set)."""


@dataclass(frozen=True, kw_only=True)
class StaticSiteArgs(_DistributionArgs):
    """Arguments of `StaticSite`."""

    bucket_name: str
    """Physical name of the private bucket holding the built site."""

    kms_key_arn: pulumi.Input[str]
    """The storage KMS key: the bucket's default encryption (SSE-KMS with a Bucket Key). Its
    key policy must let cloudfront.amazonaws.com decrypt for this account's distributions."""

    deletion_protection: bool
    """Pulumi `protect` on the bucket."""

    api_domain_name: str | None = None
    """The API the app calls, allowed in the Content-Security-Policy's connect-src. Default:
    `api.` + `domain_name` without its first label (student.example.com → api.example.com)."""

    content_security_policy: str | None = None
    """The Content-Security-Policy header. Default: `spa_content_security_policy()`, which
    allows the site's own scripts, styles (inline ones too, as Angular needs), images and
    fonts, calls to the API only, and no framing, plugins or foreign forms."""

    access_log_bucket: pulumi.Input[str] | None = None
    """Name of the bucket that receives the content bucket's S3 server access logs (the
    estate's `LogBucket`), under `s3-access-logs/<bucket_name>/`: who changed the site, and
    every read CloudFront made of it. Default: no server access logging."""

    viewer_request_function_arn: pulumi.Input[str] | None = None
    """A CloudFront Function (cloudfront-js-2.0, published) run on every viewer request, on
    every behaviour: such as `TenantGate.function_arn` on the portal that answers tenants'
    names. CloudFront takes one function per event type per behaviour, and the site has no
    other. Default: none."""


@dataclass(frozen=True, kw_only=True)
class ApiDistributionArgs(_DistributionArgs):
    """Arguments of `ApiDistribution`."""

    origin_domain_name: str
    """Name CloudFront connects to, over HTTPS only, such as api-origin.example.com: one the
    load balancer's certificate covers, so CloudFront's check of the origin's certificate
    passes, and not `domain_name` (which leads back to CloudFront)."""

    origin_custom_headers: Mapping[str, pulumi.Input[str]]
    """Headers CloudFront adds to every origin request, at least one: a secret value the load
    balancer requires, because CloudFront's origin-facing prefix list admits every
    distribution in AWS, not only this one. Values are stored as Pulumi secrets."""


@dataclass(frozen=True, kw_only=True)
class MediaDistributionArgs(_DistributionArgs):
    """Arguments of `MediaDistribution`."""

    bucket_regional_domain_name: pulumi.Input[str]
    """The private bucket's regional domain name (`Bucket.regional_domain_name`). Its policy
    must hold `media_access_statement(...)` for this distribution; its KMS key must let
    cloudfront.amazonaws.com decrypt for this account's distributions."""

    public_path_prefixes: Sequence[str] = ()
    """Key prefixes anyone with the URL may read (`branding/`): a behaviour each, cached."""

    signed_path_prefixes: Sequence[str] = ()
    """Key prefixes served only with a CloudFront signed URL or cookie of the key group
    (`photos/`). Without `url_signing_public_key` they get no behaviour, and the bucket's
    statement (`served_prefixes`) leaves them out: CloudFront cannot read them at all."""

    url_signing_public_key: str | None = None
    """The public half (PEM, RSA 2048) of the URL-signing key: a CloudFront public key in a
    key group that the signed behaviours, and the default one, trust. Default: none."""

    signing_key_secret_name: str | None = None
    """Name of the Secrets Manager secret that holds the private half, filled by an operator
    (never by osp: it is never in state). Required with signed prefixes."""

    secrets_kms_key_arn: pulumi.Input[str] | None = None
    """Customer key of that secret (the secrets key). Required with signed prefixes."""

    secret_recovery_window_days: int = 30
    """Days a deleted signing-key secret can be restored (7-30)."""

    deletion_protection: bool = False
    """Pulumi `protect` on the signing-key secret."""

    def served_prefixes(self) -> tuple[str, ...]:
        """The prefixes CloudFront reads: the public ones, and the signed ones once a key
        can verify their URLs."""
        signed = tuple(self.signed_path_prefixes) if self.url_signing_public_key else ()
        return (*self.public_path_prefixes, *signed)


def media_access_statement(
    bucket_arn: str, distribution_arn: str, prefixes: Sequence[str]
) -> dict[str, Any]:
    """Lets the distribution `distribution_arn`, and no other, read the objects under
    `prefixes` and nothing else of the bucket."""
    return {
        "Sid": "CloudFrontReadsDeliveredPrefixes",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": [f"{bucket_arn}/{prefix}*" for prefix in prefixes],
        "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
    }


def default_api_domain_name(domain_name: str) -> str:
    """`api.` + the parent of `domain_name` (the domain itself when it has two labels)."""
    parent = domain_name.partition(".")[2]
    return f"api.{parent if '.' in parent else domain_name}"


def spa_content_security_policy(api_domain_name: str) -> str:
    """A Content-Security-Policy for a single-page app that calls `api_domain_name`."""
    return "; ".join(
        (
            "default-src 'self'",
            "base-uri 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "script-src 'self'",
            # Angular puts component styles inline.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            f"connect-src 'self' https://{api_domain_name} wss://{api_domain_name}",
            "upgrade-insecure-requests",
        )
    )


def origin_access_statement(bucket_arn: str, distribution_arn: str) -> dict[str, Any]:
    """Lets the distribution `distribution_arn`, and no other, read the bucket's objects."""
    return {
        "Sid": "CloudFrontReadsThroughOriginAccessControl",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": f"{bucket_arn}/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
    }


def log_prefix(domain_name: str) -> str:
    """Where the standard logs of `domain_name` go in the log bucket."""
    return f"cloudfront/{domain_name}/"


def _literal_mismatch(value: object, pattern: re.Pattern[str]) -> bool:
    """Whether `value` is a literal that does not match (an Output is the cloud's to check)."""
    return not isinstance(value, pulumi.Output) and not (
        isinstance(value, str) and pattern.fullmatch(value)
    )


def problems(
    name: str, args: StaticSiteArgs | ApiDistributionArgs | MediaDistributionArgs
) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems(type(args).__name__.removesuffix("Args"), name)
    _check_distribution(check, args)
    if isinstance(args, StaticSiteArgs):
        _check_site(check, args)
    elif isinstance(args, MediaDistributionArgs):
        _check_media(check, args)
    else:
        _check_api(check, args)
    return check.found


def _check_media(check: Problems, args: MediaDistributionArgs) -> None:
    prefixes = [*args.public_path_prefixes, *args.signed_path_prefixes]
    for arg in ("public_path_prefixes", "signed_path_prefixes"):
        for index, prefix in enumerate(getattr(args, arg)):
            check.against(limits.CLOUDFRONT_PATH_PREFIX, f"{arg}[{index}]", prefix)
    most = limits.CLOUDFRONT_MAX_CACHE_BEHAVIORS - 1
    check.check(
        0 < len(prefixes) <= most and len(set(prefixes)) == len(prefixes),
        "public_path_prefixes",
        prefixes,
        f"1 to {most} distinct prefixes in public_path_prefixes and signed_path_prefixes together",
    )
    public = args.public_path_prefixes
    for prefix in args.signed_path_prefixes:
        check.check(
            not any(p.startswith(prefix) or prefix.startswith(p) for p in public),
            "signed_path_prefixes",
            prefix,
            "a prefix neither under nor above a public one",
        )
    if args.url_signing_public_key is not None:
        check.against(
            limits.CLOUDFRONT_PUBLIC_KEY, "url_signing_public_key", args.url_signing_public_key
        )
    if args.signed_path_prefixes:
        for arg in ("signing_key_secret_name", "secrets_kms_key_arn"):
            value = getattr(args, arg)
            check.check(value is not None, arg, value, "a value: there are signed prefixes")
        if args.signing_key_secret_name is not None:
            check.against(
                limits.SECRET_NAME_PREFIX,
                "signing_key_secret_name",
                args.signing_key_secret_name,
            )
        check.against(
            limits.SECRET_RECOVERY_WINDOW,
            "secret_recovery_window_days",
            args.secret_recovery_window_days,
        )


def _check_distribution(check: Problems, args: _DistributionArgs) -> None:
    """What every distribution's arguments must be."""
    check.against(limits.DOMAIN_NAME, "domain_name", args.domain_name)
    extra = args.additional_domain_names
    if check.check(not isinstance(extra, str), "additional_domain_names", extra, "a list of names"):
        for index, name in enumerate(extra):
            check.against(_ALIAS, f"additional_domain_names[{index}]", name)
        names = [args.domain_name, *extra]
        check.check(
            len(set(names)) == len(names),
            "additional_domain_names",
            list(extra),
            "each name once, and not domain_name again",
        )
    for arg, rule in (
        ("certificate_arn", limits.CLOUDFRONT_CERTIFICATE_ARN),
        ("web_acl_arn", limits.CLOUDFRONT_WEB_ACL_ARN),
    ):
        value = getattr(args, arg)
        if not isinstance(value, pulumi.Output):  # an Output is the cloud's to check
            check.against(rule, arg, value)
    if args.log_bucket_domain_name is not None:
        check.check(
            not _literal_mismatch(args.log_bucket_domain_name, _S3_DOMAIN),
            "log_bucket_domain_name",
            args.log_bucket_domain_name,
            "a bucket domain name such as osp-prod-logs.s3.amazonaws.com, or None",
        )
    check.against(_PRICE_CLASS, "price_class", args.price_class)


def _check_site(check: Problems, args: StaticSiteArgs) -> None:
    expected = expected_bucket_name(args.bucket_name)
    if expected:
        check.add("bucket_name", args.bucket_name, expected)
    expected = expected_kms_key_arn(args.kms_key_arn)
    if expected:
        check.add("kms_key_arn", args.kms_key_arn, expected)
    check.against(_API_DOMAIN_NAME, "api_domain_name", args.api_domain_name)
    function = args.viewer_request_function_arn
    if not isinstance(function, pulumi.Output):  # an Output is the cloud's to check
        check.against(_VIEWER_REQUEST_FUNCTION, "viewer_request_function_arn", function)
    csp = args.content_security_policy
    if csp is not None:
        check.check(
            isinstance(csp, str) and 0 < len(csp) <= _MAX_CSP_LENGTH,
            "content_security_policy",
            csp,
            f"a policy of 1 to {_MAX_CSP_LENGTH} characters, or None",
        )


def _check_api(check: Problems, args: ApiDistributionArgs) -> None:
    if check.against(limits.DOMAIN_NAME, "origin_domain_name", args.origin_domain_name):
        check.check(
            args.origin_domain_name != args.domain_name,
            "origin_domain_name",
            args.origin_domain_name,
            "a name other than domain_name (that one leads back to CloudFront)",
        )
    headers = args.origin_custom_headers
    if not isinstance(headers, Mapping) or not headers:
        check.note(
            "origin_custom_headers",
            "got none; expected at least one header with a secret value that the load balancer "
            "requires (CloudFront's prefix list admits every distribution in AWS)",
        )
    else:
        _check_origin_headers(check, headers)


def _check_origin_headers(check: Problems, headers: Mapping[str, pulumi.Input[str]]) -> None:
    seen: set[str] = set()
    for header, value in headers.items():
        lowered = header.lower() if isinstance(header, str) else ""
        if check.check(
            isinstance(header, str)
            and bool(_HEADER_NAME.fullmatch(header))
            and lowered not in _FORBIDDEN_ORIGIN_HEADERS
            and not lowered.startswith(_FORBIDDEN_ORIGIN_HEADER_PREFIXES),
            "origin_custom_headers",
            header,
            "header names CloudFront may add to origin requests, such as X-Origin-Verify (not "
            "Host, Cookie, X-Amz-*, …)",
        ):
            check.check(
                lowered not in seen,
                "origin_custom_headers",
                header,
                "each header once (names ignore case)",
            )
        seen.add(lowered)
        # The value is a secret: say how it is wrong, never what it is.
        at = f"origin_custom_headers[{header!r}]"
        if isinstance(value, str) and len(value) < _MIN_ORIGIN_SECRET_LENGTH:
            check.note(
                at,
                f"got a value of {len(value)} characters; expected a secret of at "
                f"least {_MIN_ORIGIN_SECRET_LENGTH}",
            )
        elif not isinstance(value, str | pulumi.Output):
            check.note(
                at, f"got a {type(value).__name__}; expected a str or a pulumi.Output of one"
            )


def _security_headers_policy(
    resource_name: str, *, domain_name: str, content_security_policy: str, parent: pulumi.Resource
) -> aws.cloudfront.ResponseHeadersPolicy:
    """The response headers policy both distributions use; only the CSP differs. Every header
    overrides what the origin sent, so a misconfigured origin cannot weaken it."""
    return aws.cloudfront.ResponseHeadersPolicy(
        resource_name,
        name=fit(resource_name, _CLOUDFRONT_NAME),
        comment=f"{domain_name}: security headers"[:128],
        security_headers_config={
            "strict_transport_security": {
                "access_control_max_age_sec": HSTS_MAX_AGE_SECONDS,
                "include_subdomains": True,
                "preload": True,
                "override": True,
            },
            "content_type_options": {"override": True},
            "frame_options": {"frame_option": "DENY", "override": True},
            "referrer_policy": {
                "referrer_policy": "strict-origin-when-cross-origin",
                "override": True,
            },
            "xss_protection": {"protection": True, "mode_block": True, "override": True},
            "content_security_policy": {
                "content_security_policy": content_security_policy,
                "override": True,
            },
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _cache_behavior(
    origin_id: str,
    *,
    methods: Sequence[str],
    cache_policy_id: pulumi.Input[str],
    headers_policy: aws.cloudfront.ResponseHeadersPolicy,
    compress: bool,
    origin_request_policy_id: pulumi.Input[str] | None = None,
    viewer_request_function_arn: pulumi.Input[str] | None = None,
) -> aws.cloudfront.DistributionDefaultCacheBehaviorArgs:
    """The one behaviour of an osp distribution: HTTPS only (HTTP redirects), GET and HEAD
    cached at most, the security headers on every response, and the viewer-request
    function when there is one."""
    functions = None
    if viewer_request_function_arn is not None:
        functions = [
            aws.cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArgs(
                event_type="viewer-request", function_arn=viewer_request_function_arn
            )
        ]
    return aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
        target_origin_id=origin_id,
        viewer_protocol_policy="redirect-to-https",
        allowed_methods=list(methods),
        cached_methods=["GET", "HEAD"],
        cache_policy_id=cache_policy_id,
        origin_request_policy_id=origin_request_policy_id,
        response_headers_policy_id=headers_policy.id,
        compress=compress,
        function_associations=functions,
    )


def _distribution(
    resource_name: str,
    args: _DistributionArgs,
    *,
    comment: str,
    origin: aws.cloudfront.DistributionOriginArgs,
    behavior: aws.cloudfront.DistributionDefaultCacheBehaviorArgs,
    parent: pulumi.Resource,
    **extra: Any,
) -> aws.cloudfront.Distribution:
    """A distribution with what every osp distribution shares: its one alias on an SNI
    certificate with TLS 1.2+, HTTP/2 and HTTP/3, IPv6, the web ACL and standard logging."""
    logging = None
    if args.log_bucket_domain_name is not None:
        logging = aws.cloudfront.DistributionLoggingConfigArgs(
            bucket=args.log_bucket_domain_name,
            prefix=log_prefix(args.domain_name),
            include_cookies=False,
        )
    return aws.cloudfront.Distribution(
        resource_name,
        enabled=True,
        comment=comment[:128],
        aliases=[args.domain_name, *args.additional_domain_names],
        origins=[origin],
        default_cache_behavior=behavior,
        http_version="http2and3",
        is_ipv6_enabled=True,
        price_class=PriceClass(args.price_class).value,
        web_acl_id=args.web_acl_arn,
        viewer_certificate=aws.cloudfront.DistributionViewerCertificateArgs(
            acm_certificate_arn=args.certificate_arn,
            ssl_support_method="sni-only",
            minimum_protocol_version=MINIMUM_PROTOCOL_VERSION,
        ),
        logging_config=logging,
        restrictions=aws.cloudfront.DistributionRestrictionsArgs(
            geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                restriction_type="none"
            )
        ),
        tags={"Name": resource_name, **args.tags},
        opts=pulumi.ResourceOptions(parent=parent),
        **extra,
    )


def _api_origin(origin_id: str, args: ApiDistributionArgs) -> aws.cloudfront.DistributionOriginArgs:
    """The load balancer, over HTTPS with TLS 1.2, with the secret headers it requires."""
    return aws.cloudfront.DistributionOriginArgs(
        origin_id=origin_id,
        domain_name=args.origin_domain_name,
        custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
            http_port=80,
            https_port=443,
            origin_protocol_policy="https-only",
            origin_ssl_protocols=["TLSv1.2"],
        ),
        custom_headers=[
            aws.cloudfront.DistributionOriginCustomHeaderArgs(
                name=header, value=pulumi.Output.secret(value)
            )
            for header, value in sorted(args.origin_custom_headers.items())
        ],
    )


class _Edge(pulumi.ComponentResource):
    distribution_id: pulumi.Output[str]
    distribution_arn: pulumi.Output[str]
    domain_name: pulumi.Output[str]
    hosted_zone_id: pulumi.Output[str]

    def _expose(self, distribution: aws.cloudfront.Distribution, **more: Any) -> None:
        self.distribution_id = distribution.id
        self.distribution_arn = distribution.arn
        self.domain_name = distribution.domain_name
        self.hosted_zone_id = distribution.hosted_zone_id
        self.register_outputs(
            {
                **more,
                "distributionId": self.distribution_id,
                "distributionArn": self.distribution_arn,
                "domainName": self.domain_name,
                "hostedZoneId": self.hosted_zone_id,
            }
        )


class StaticSite(_Edge):
    """A portal: a single-page app in a private S3 bucket, served by CloudFront.

    The bucket (a `Bucket`: Block Public Access, ACLs off, versioning, SSE-KMS with the
    storage key) is reached only through an Origin Access Control that signs every request
    (SigV4, always); its policy allows s3:GetObject to CloudFront for this distribution's
    ARN only, and denies any request without TLS. Viewers get HTTPS only (HTTP redirects),
    TLS 1.2+ on an SNI certificate, HTTP/2 and HTTP/3, compression, AWS's CachingOptimized
    cache policy, security headers (HSTS with preload, nosniff, DENY framing, a strict
    referrer policy, a CSP) and SPA routing (403 and 404 answer /index.html with 200). The
    CLOUDFRONT-scope web ACL inspects every request; standard logs go to the log bucket when
    one is given, and so do the content bucket's S3 server access logs (`access_log_bucket`).
    A viewer-request function, when given (such as a `TenantGate`'s), runs on every request
    before the cache. `domain_name` and `hosted_zone_id` are what a Route 53
    alias needs.
    """

    bucket_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: StaticSiteArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(SITE_TOKEN, name, None, opts)
        if found := problems(name, args):
            raise InvalidArguments(found)
        content = Bucket(
            f"{name}-content",
            BucketArgs(
                bucket_name=args.bucket_name,
                kms_key_arn=args.kms_key_arn,
                deletion_protection=args.deletion_protection,
                access_log_bucket=args.access_log_bucket,
                # Its statement names the distribution, which needs the bucket first.
                manage_policy=False,
                tags=args.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        distribution = self._distribution(name, args, content)
        aws.s3.BucketPolicy(
            f"{name}-bucket-policy",
            bucket=content.bucket_name,
            policy=pulumi.Output.all(content.arn, distribution.arn).apply(
                lambda v: bucket_policy(v[0], origin_access_statement(v[0], v[1]))
            ),
            # After the bucket's public access block: S3 refuses concurrent access changes.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[content]),
        )
        self.bucket_name = content.bucket_name
        self._expose(distribution, bucketName=self.bucket_name)

    def _distribution(
        self, name: str, args: StaticSiteArgs, content: Bucket
    ) -> aws.cloudfront.Distribution:
        """The distribution, reaching the bucket through an Origin Access Control, with the
        SPA's routing and its Content-Security-Policy."""
        oac = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            name=fit(f"{name}-oac", _CLOUDFRONT_NAME),
            description=f"{args.domain_name}: CloudFront signs every request to its bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=pulumi.ResourceOptions(parent=self),
        )
        api = args.api_domain_name or default_api_domain_name(args.domain_name)
        headers = _security_headers_policy(
            f"{name}-security-headers",
            domain_name=args.domain_name,
            content_security_policy=args.content_security_policy
            or spa_content_security_policy(api),
            parent=self,
        )
        caching = aws.cloudfront.get_cache_policy_output(name="Managed-CachingOptimized")
        origin_id = "content"
        return _distribution(
            f"{name}-distribution",
            args,
            comment=f"{args.domain_name}: portal",
            origin=aws.cloudfront.DistributionOriginArgs(
                origin_id=origin_id,
                domain_name=content.regional_domain_name,
                origin_access_control_id=oac.id,
            ),
            behavior=_cache_behavior(
                origin_id,
                methods=SITE_METHODS,
                cache_policy_id=caching.id,
                headers_policy=headers,
                compress=True,
                viewer_request_function_arn=args.viewer_request_function_arn,
            ),
            default_root_object="index.html",
            custom_error_responses=[
                aws.cloudfront.DistributionCustomErrorResponseArgs(
                    error_code=code,
                    response_code=200,
                    response_page_path="/index.html",
                    # Short, so that a page published after a miss is seen soon.
                    error_caching_min_ttl=10,
                )
                for code in _SPA_ERRORS
            ],
            parent=self,
        )


class ApiDistribution(_Edge):
    """CloudFront in front of the API's load balancer (`api.<domain>`).

    The origin is reached over HTTPS only (TLS 1.2), by a name the load balancer's
    certificate covers, with the secret headers the load balancer checks (stored as Pulumi
    secrets, never in the clear in state or plans). Nothing is cached (AWS's CachingDisabled
    cache policy): every request, authenticated or not, goes to the API. AWS's
    AllViewerExceptHostHeader origin request policy forwards query strings, cookies and
    every viewer header but Host — including Authorization, which CloudFront forwards only
    when all viewer headers are (an origin request policy cannot name it, and CachingDisabled
    has no cache key to put it in); the origin sees its own name as Host, which its
    certificate matches. Viewers get every method, HTTPS only (HTTP redirects), TLS 1.2+,
    HTTP/2 and HTTP/3, the same security headers as the portals (with a CSP for an API), and
    the CLOUDFRONT-scope web ACL; standard logs go to the log bucket when one is given.
    """

    def __init__(
        self, name: str, args: ApiDistributionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(API_TOKEN, name, None, opts)
        if found := problems(name, args):
            raise InvalidArguments(found)
        headers = _security_headers_policy(
            f"{name}-security-headers",
            domain_name=args.domain_name,
            content_security_policy=API_CONTENT_SECURITY_POLICY,
            parent=self,
        )
        caching = aws.cloudfront.get_cache_policy_output(name="Managed-CachingDisabled")
        forwarding = aws.cloudfront.get_origin_request_policy_output(
            name="Managed-AllViewerExceptHostHeader"
        )
        origin_id = "api"
        distribution = _distribution(
            f"{name}-distribution",
            args,
            comment=f"{args.domain_name}: API",
            origin=_api_origin(origin_id, args),
            behavior=_cache_behavior(
                origin_id,
                methods=API_METHODS,
                cache_policy_id=caching.id,
                origin_request_policy_id=forwarding.id,
                headers_policy=headers,
                # CloudFront compresses only what its cache policy lets it; CachingDisabled
                # does not, so the services compress their own responses.
                compress=False,
            ),
            parent=self,
        )
        self._expose(distribution)


class MediaDistribution(_Edge):
    """CloudFront for a data bucket's media (`<bucket>.<domain>`): some prefixes public, some
    only through signed URLs.

    The bucket stays private: CloudFront reaches it through an Origin Access Control that
    signs every request (SigV4, always), and the bucket's policy — the caller's, holding
    `media_access_statement(bucket, distribution, args.served_prefixes())` — lets this
    distribution read the served prefixes and nothing else of the bucket. Each public prefix
    is a behaviour of its own; each signed prefix is one that trusts only the key group of the
    URL-signing public key, and so does the default behaviour (every other path) once there is
    a key: an unsigned request gets 403 from CloudFront, and a path outside the served
    prefixes 403 from S3. Viewers get GET and HEAD only, HTTPS only (HTTP redirects), TLS 1.2+
    on an SNI certificate, HTTP/2 and HTTP/3, compression, AWS's CachingOptimized cache policy
    (signed URLs' query strings are not in its cache key: one photo is cached once, however
    many URLs sign it), the security headers of the other distributions with a CSP that lets
    no uploaded file run or load anything, the CLOUDFRONT-scope web ACL and standard logging.

    The private half of the signing key is never osp's to make: with signed prefixes this
    creates the Secrets Manager secret that holds it (customer key, no value — an operator
    puts it there), and the operator gives the public half as `url_signing_public_key`. A
    generated key pair would put the private key in Pulumi's state, encrypted or not; this
    way only the signers' own reads of the secret ever see it. Until the public key is given,
    signed prefixes are not served at all.
    """

    key_pair_id: pulumi.Output[str] | None
    """The CloudFront public key's id: the `Key-Pair-Id` of every signed URL (None without
    a public key)."""

    signing_key_secret_arn: pulumi.Output[str] | None
    """The secret the signers read the private key from (None without signed prefixes)."""

    def __init__(
        self, name: str, args: MediaDistributionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(MEDIA_TOKEN, name, None, opts)
        if found := problems(name, args):
            raise InvalidArguments(found)
        self.signing_key_secret_arn = self._signing_key_secret(name, args)
        key_group = self._key_group(name, args)
        self.key_pair_id = None if key_group is None else key_group[0].id
        trusted = None if key_group is None else [key_group[1].id]
        oac = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            name=fit(f"{name}-oac", _CLOUDFRONT_NAME),
            description=f"{args.domain_name}: CloudFront signs every request to its bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=pulumi.ResourceOptions(parent=self),
        )
        headers = _security_headers_policy(
            f"{name}-security-headers",
            domain_name=args.domain_name,
            content_security_policy=MEDIA_CONTENT_SECURITY_POLICY,
            parent=self,
        )
        caching = aws.cloudfront.get_cache_policy_output(name="Managed-CachingOptimized")
        origin_id = "media"
        behaviour = {
            "target_origin_id": origin_id,
            "viewer_protocol_policy": "redirect-to-https",
            "allowed_methods": list(MEDIA_METHODS),
            "cached_methods": list(MEDIA_METHODS),
            "cache_policy_id": caching.id,
            "response_headers_policy_id": headers.id,
            "compress": True,
        }
        ordered = [
            aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                path_pattern=f"{prefix}*", **behaviour
            )
            for prefix in args.public_path_prefixes
        ]
        if trusted is not None:
            ordered += [
                aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                    path_pattern=f"{prefix}*", trusted_key_groups=trusted, **behaviour
                )
                for prefix in args.signed_path_prefixes
            ]
        distribution = _distribution(
            f"{name}-distribution",
            args,
            comment=f"{args.domain_name}: media",
            origin=aws.cloudfront.DistributionOriginArgs(
                origin_id=origin_id,
                domain_name=args.bucket_regional_domain_name,
                origin_access_control_id=oac.id,
            ),
            behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                trusted_key_groups=trusted, **behaviour
            ),
            ordered_cache_behaviors=ordered,
            # `/` asks for this object, which no served prefix holds: S3 answers 403, and
            # never a listing of the bucket.
            default_root_object="index.html",
            parent=self,
        )
        self._expose(
            distribution,
            keyPairId=self.key_pair_id,
            signingKeySecretArn=self.signing_key_secret_arn,
        )

    def _signing_key_secret(
        self, name: str, args: MediaDistributionArgs
    ) -> pulumi.Output[str] | None:
        """The secret an operator puts the private key in: created empty, never given a
        value here."""
        if not args.signed_path_prefixes:
            return None
        secret = aws.secretsmanager.Secret(
            f"{name}-signing-key",
            name=args.signing_key_secret_name,
            description=f"{args.domain_name}: private key (PEM) that signs CloudFront URLs; "
            "filled in by an operator, never by osp",
            kms_key_id=args.secrets_kms_key_arn,
            recovery_window_in_days=args.secret_recovery_window_days,
            tags={"Name": f"{name}-signing-key", **args.tags},
            opts=pulumi.ResourceOptions(parent=self, protect=args.deletion_protection),
        )
        return secret.arn

    def _key_group(
        self, name: str, args: MediaDistributionArgs
    ) -> tuple[aws.cloudfront.PublicKey, aws.cloudfront.KeyGroup] | None:
        if not args.signed_path_prefixes or args.url_signing_public_key is None:
            return None
        public_key = aws.cloudfront.PublicKey(
            f"{name}-public-key",
            name=fit(f"{name}-public-key", _CLOUDFRONT_NAME),
            comment=f"{args.domain_name}: verifies signed URLs"[:128],
            encoded_key=args.url_signing_public_key,
            opts=pulumi.ResourceOptions(parent=self),
        )
        key_group = aws.cloudfront.KeyGroup(
            f"{name}-key-group",
            name=fit(f"{name}-key-group", _CLOUDFRONT_NAME),
            comment=f"{args.domain_name}: signers of its URLs"[:128],
            items=[public_key.id],
            opts=pulumi.ResourceOptions(parent=self),
        )
        return public_key, key_group
