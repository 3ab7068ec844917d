"""`StaticSite` and `ApiDistribution` through the offline engine: OAC (not OAI), the bucket
policy, TLS, the web ACL, security headers, SPA routing, the API's forwarding and its secret
origin header."""

from __future__ import annotations

import json
import re

import pulumi
import pytest

from osp.components.cdn import (
    ApiDistribution,
    ApiDistributionArgs,
    StaticSite,
    StaticSiteArgs,
    default_api_domain_name,
    problems,
    spa_content_security_policy,
)
from osp.platform.engine import offline
from osp.platform.spec.models import PriceClass
from osp.platform.validation import InvalidArguments
from tests.support import plan_component, spec_of

ACCOUNT = "123456789012"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0f0e0d0c-0b0a-0908-0706-050403020100"
CERT = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/6c1d7b7e-43a5-4f39-9f3c-2b0f3e0d9a11"
WEB_ACL = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/osp-t-edge/0c1b2a39"
LOGS = "osp-t-logs.s3.amazonaws.com"
ORIGIN_SECRET = "s3cr3t-0r1g1n-v4lu3-n0t-1n-pl4n5"
TAGS = {"osp:environment": "t", "osp:component": "cdn", "osp:blueprint": "osp",
        "osp:managed-by": "osp"}  # fmt: skip

# AWS managed CloudFront policies (the same ids in every account).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
OAC = "aws:cloudfront/originAccessControl:OriginAccessControl"
OAI = "aws:cloudfront/originAccessIdentity:OriginAccessIdentity"
HEADERS = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
BUCKET = "aws:s3/bucket:Bucket"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"


def site_args(**overrides) -> StaticSiteArgs:
    return StaticSiteArgs(
        **{
            "domain_name": "student.example.com",
            "bucket_name": "osp-t-student-portal",
            "kms_key_arn": KEY,
            "certificate_arn": CERT,
            "web_acl_arn": WEB_ACL,
            "deletion_protection": False,
            "tags": TAGS,
            **overrides,
        }
    )


#: What both distributions publish.
OUTPUTS = ("distribution_id", "distribution_arn", "domain_name", "hosted_zone_id")


def plan_site(name: str = "osp-t-student", **overrides):
    return plan_component(
        StaticSite, site_args(**overrides), name=name, exports=("bucket_name", *OUTPUTS)
    )


def api_args(**overrides) -> ApiDistributionArgs:
    return ApiDistributionArgs(
        **{
            "domain_name": "api.example.com",
            "origin_domain_name": "api-origin.example.com",
            "origin_custom_headers": {"X-Origin-Verify": ORIGIN_SECRET},
            "certificate_arn": CERT,
            "web_acl_arn": WEB_ACL,
            "tags": TAGS,
            **overrides,
        }
    )


def plan_api(name: str = "osp-t-api", **overrides):
    return plan_component(ApiDistribution, api_args(**overrides), name=name, exports=OUTPUTS)


#: A portal without logs, not protected.
@pytest.fixture(scope="module")
def dev_site():
    return plan_site()


#: A portal as prod has it: standard logs, protected bucket, all edge locations.
@pytest.fixture(scope="module")
def prod_site():
    return plan_site(
        log_bucket_domain_name=LOGS, deletion_protection=True, price_class=PriceClass.ALL
    )


@pytest.fixture(scope="module")
def dev_api():
    return plan_api()


@pytest.fixture(scope="module")
def prod_api():
    return plan_api(log_bucket_domain_name=LOGS, price_class=PriceClass.MOST)


def distribution(plan):
    (found,) = plan.of_type(DISTRIBUTION)
    return found


def behavior(plan):
    return distribution(plan).inputs["defaultCacheBehavior"]


def site_statements(plan):
    return json.loads(plan.named("osp-t-student-bucket-policy").inputs["policy"])["Statement"]


# -- StaticSite: children --------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev_site", "prod_site"])
def test_site_children(fixture, request):
    plan = request.getfixturevalue(fixture)
    site = plan.named("osp-t-student")
    assert site.type == "osp:cdn:StaticSite"
    assert {(r.type, r.name) for r in plan.children(site.urn)} == {
        ("osp:storage:Bucket", "osp-t-student-content"),
        (OAC, "osp-t-student-oac"),
        (HEADERS, "osp-t-student-security-headers"),
        (DISTRIBUTION, "osp-t-student-distribution"),
        (POLICY, "osp-t-student-bucket-policy"),
    }
    content = plan.named("osp-t-student-content")
    assert {r.name for r in plan.children(content.urn)} == {
        "osp-t-student-content-bucket",
        "osp-t-student-content-ownership",
        "osp-t-student-content-public-access-block",
        "osp-t-student-content-encryption",
        "osp-t-student-content-versioning",
        "osp-t-student-content-lifecycle",
    }
    assert plan.type_counts() == {
        "osp:cdn:StaticSite": 1,
        "osp:storage:Bucket": 1,
        BUCKET: 1,
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
        "aws:s3/bucketVersioning:BucketVersioning": 1,
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
        OAC: 1,
        HEADERS: 1,
        DISTRIBUTION: 1,
        POLICY: 1,
    }


def test_site_outputs(dev_site):
    outputs = dev_site.outputs
    assert outputs["bucket_name"] == "osp-t-student-portal"
    assert re.fullmatch(r"E[0-9A-F]{13}", outputs["distribution_id"])
    assert outputs["distribution_arn"] == (
        f"arn:aws:cloudfront::{ACCOUNT}:distribution/{outputs['distribution_id']}"
    )
    assert outputs["domain_name"].endswith(".cloudfront.net")
    assert outputs["hosted_zone_id"] == "Z2FDTNDATAQYW2"


# -- StaticSite: the bucket and how CloudFront reaches it ------------------------------


@pytest.mark.parametrize("fixture", ["dev_site", "prod_site"])
def test_bucket_is_private_and_encrypted_with_the_storage_key(fixture, request):
    plan = request.getfixturevalue(fixture)
    block = plan.named("osp-t-student-content-public-access-block").inputs
    assert all(
        block[flag] is True
        for flag in ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy",
                     "restrictPublicBuckets")
    )  # fmt: skip
    ownership = plan.named("osp-t-student-content-ownership").inputs
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    (rule,) = plan.named("osp-t-student-content-encryption").inputs["rules"]
    assert rule == {
        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY},
        "bucketKeyEnabled": True,
    }
    versioning = plan.named("osp-t-student-content-versioning").inputs
    assert versioning["versioningConfiguration"] == {"status": "Enabled"}
    assert plan.named("osp-t-student-content-bucket").inputs["bucket"] == "osp-t-student-portal"


@pytest.mark.parametrize("fixture", ["dev_site", "prod_site"])
def test_origin_access_control_not_identity(fixture, request):
    plan = request.getfixturevalue(fixture)
    assert plan.of_type(OAI) == []
    oac = plan.named("osp-t-student-oac")
    assert oac.inputs == {
        "name": "osp-t-student-oac",
        "description": "student.example.com: CloudFront signs every request to its bucket",
        "originAccessControlOriginType": "s3",
        "signingBehavior": "always",
        "signingProtocol": "sigv4",
    }
    dist = distribution(plan)
    (origin,) = dist.inputs["origins"]
    assert origin["domainName"] == "osp-t-student-portal.s3.us-east-1.amazonaws.com"
    assert re.fullmatch(r"E[0-9A-F]{13}", origin["originAccessControlId"])
    assert "s3OriginConfig" not in origin and "customOriginConfig" not in origin
    assert oac.urn in dist.property_dependencies["origins"]
    assert behavior(plan)["targetOriginId"] == origin["originId"]


@pytest.mark.parametrize("fixture", ["dev_site", "prod_site"])
def test_bucket_policy_admits_only_this_distribution_and_only_over_tls(fixture, request):
    plan = request.getfixturevalue(fixture)
    deny, allow = site_statements(plan)
    assert deny == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::osp-t-student-portal", "arn:aws:s3:::osp-t-student-portal/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert allow == {
        "Sid": "CloudFrontReadsThroughOriginAccessControl",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::osp-t-student-portal/*",
        "Condition": {
            "StringEquals": {
                "AWS:SourceArn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/"
                + plan.outputs["distribution_id"]
            }
        },
    }
    policy = plan.named("osp-t-student-bucket-policy")
    assert policy.inputs["bucket"] == "osp-t-student-portal"
    assert distribution(plan).urn in policy.property_dependencies["policy"]
    # After the public access block: S3 refuses concurrent changes to access settings.
    assert plan.named("osp-t-student-content-public-access-block").urn in policy.dependencies


# -- StaticSite: the distribution ------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev_site", "prod_site"])
def test_site_viewers_get_https_tls12_http3_and_the_web_acl(fixture, request):
    plan = request.getfixturevalue(fixture)
    dist = distribution(plan).inputs
    assert dist["aliases"] == ["student.example.com"]
    assert dist["enabled"] is True
    assert dist["viewerCertificate"] == {
        "acmCertificateArn": CERT,
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    }
    assert dist["httpVersion"] == "http2and3"
    assert dist["isIpv6Enabled"] is True
    assert dist["webAclId"] == WEB_ACL
    assert dist["restrictions"] == {"geoRestriction": {"restrictionType": "none"}}
    assert behavior(plan)["viewerProtocolPolicy"] == "redirect-to-https"


def test_site_serves_a_spa(dev_site):
    dist = distribution(dev_site).inputs
    assert dist["defaultRootObject"] == "index.html"
    assert dist["customErrorResponses"] == [
        {"errorCode": code, "responseCode": 200, "responsePagePath": "/index.html",
         "errorCachingMinTtl": 10}
        for code in (403, 404)
    ]  # fmt: skip
    cache = behavior(dev_site)
    assert cache["cachePolicyId"] == CACHING_OPTIMIZED
    assert cache["compress"] is True
    assert cache["allowedMethods"] == ["GET", "HEAD", "OPTIONS"]
    assert cache["cachedMethods"] == ["GET", "HEAD"]
    assert "originRequestPolicyId" not in cache


def test_site_standard_logs_in_prod(prod_site, dev_site):
    assert distribution(prod_site).inputs["loggingConfig"] == {
        "bucket": LOGS,
        "prefix": "cloudfront/student.example.com/",
        "includeCookies": False,
    }
    assert "loggingConfig" not in distribution(dev_site).inputs


def test_price_class(prod_site, dev_site):
    assert distribution(prod_site).inputs["priceClass"] == "PriceClass_All"
    assert distribution(dev_site).inputs["priceClass"] == "PriceClass_100"


# -- security headers ------------------------------------------------------------------

SECURITY_HEADERS = {
    "strictTransportSecurity": {
        "accessControlMaxAgeSec": 63072000,
        "includeSubdomains": True,
        "preload": True,
        "override": True,
    },
    "contentTypeOptions": {"override": True},
    "frameOptions": {"frameOption": "DENY", "override": True},
    "referrerPolicy": {"referrerPolicy": "strict-origin-when-cross-origin", "override": True},
    "xssProtection": {"protection": True, "modeBlock": True, "override": True},
}


@pytest.mark.parametrize(
    ("fixture", "name"),
    [("dev_site", "osp-t-student-security-headers"), ("dev_api", "osp-t-api-security-headers")],
)
def test_security_headers(fixture, name, request):
    plan = request.getfixturevalue(fixture)
    policy = plan.named(name)
    config = dict(policy.inputs["securityHeadersConfig"])
    csp = config.pop("contentSecurityPolicy")
    assert config == SECURITY_HEADERS
    assert csp["override"] is True
    assert policy.inputs["name"] == name
    assert behavior(plan)["responseHeadersPolicyId"]
    assert policy.urn in distribution(plan).property_dependencies["defaultCacheBehavior"]
    assert SECURITY_HEADERS["strictTransportSecurity"]["accessControlMaxAgeSec"] >= 31536000


def csp_of(plan, name):
    config = plan.named(name).inputs["securityHeadersConfig"]
    return config["contentSecurityPolicy"]["contentSecurityPolicy"]


def test_site_csp_lets_the_app_call_only_its_api(dev_site):
    csp = csp_of(dev_site, "osp-t-student-security-headers")
    directives = dict(d.split(" ", 1) for d in csp.split("; ") if " " in d)
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self' https://api.example.com wss://api.example.com"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "'unsafe-eval'" not in csp and "*" not in csp
    assert csp == spa_content_security_policy("api.example.com")


def test_site_csp_can_be_given():
    plan = plan_site(api_domain_name="gateway.example.org")
    assert "https://gateway.example.org" in csp_of(plan, "osp-t-student-security-headers")
    plan = plan_site(content_security_policy="default-src 'self'")
    assert csp_of(plan, "osp-t-student-security-headers") == "default-src 'self'"


def test_api_csp(dev_api):
    assert csp_of(dev_api, "osp-t-api-security-headers") == (
        "default-src 'none'; frame-ancestors 'none'"
    )


@pytest.mark.parametrize(
    ("domain", "api"),
    [
        ("student.example.com", "api.example.com"),
        ("admin.staging.example.com", "api.staging.example.com"),
        ("example.com", "api.example.com"),
    ],
)
def test_default_api_domain_name(domain, api):
    assert default_api_domain_name(domain) == api


# -- StaticSite: protection and tags ---------------------------------------------------


def test_dev_site_is_not_protected(dev_site):
    assert not any(r.options.protect for r in dev_site.resources)


def test_prod_site_protects_the_bucket_only(prod_site):
    assert {r.name for r in prod_site.resources if r.options.protect} == {
        "osp-t-student-content-bucket"
    }


@pytest.mark.parametrize(
    ("fixture", "taggable"),
    [("dev_site", 2), ("prod_site", 2), ("dev_api", 1), ("prod_api", 1)],
)
def test_taggable_resources_are_tagged(fixture, taggable, request):
    plan = request.getfixturevalue(fixture)
    tagged = plan.of_type(BUCKET) + plan.of_type(DISTRIBUTION)
    assert len(tagged) == taggable
    for resource in tagged:
        assert resource.inputs["tags"] == {"Name": resource.name, **TAGS}, resource.name


# -- ApiDistribution -------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev_api", "prod_api"])
def test_api_children(fixture, request):
    plan = request.getfixturevalue(fixture)
    api = plan.named("osp-t-api")
    assert api.type == "osp:cdn:ApiDistribution"
    assert {(r.type, r.name) for r in plan.children(api.urn)} == {
        (HEADERS, "osp-t-api-security-headers"),
        (DISTRIBUTION, "osp-t-api-distribution"),
    }
    assert plan.custom_count == 2
    assert not any(r.options.protect for r in plan.resources)


def test_api_outputs(dev_api):
    assert set(dev_api.outputs) == set(OUTPUTS)
    assert dev_api.outputs["hosted_zone_id"] == "Z2FDTNDATAQYW2"


@pytest.mark.parametrize("fixture", ["dev_api", "prod_api"])
def test_api_origin_is_https_only_with_tls12(fixture, request):
    (origin,) = distribution(request.getfixturevalue(fixture)).inputs["origins"]
    assert origin["domainName"] == "api-origin.example.com"
    assert origin["customOriginConfig"] == {
        "httpPort": 80,
        "httpsPort": 443,
        "originProtocolPolicy": "https-only",
        "originSslProtocols": ["TLSv1.2"],
    }
    assert "originAccessControlId" not in origin


@pytest.mark.parametrize("fixture", ["dev_api", "prod_api"])
def test_origin_header_is_a_secret(fixture, request):
    plan = request.getfixturevalue(fixture)
    (origin,) = distribution(plan).inputs["origins"]
    assert origin["customHeaders"] == [{"name": "X-Origin-Verify", "value": "<secret>"}]
    assert ORIGIN_SECRET not in plan.dumps()
    assert not any(ORIGIN_SECRET in warning for warning in plan.warnings)


def test_origin_header_may_come_from_another_resource():
    def program(spec):
        secret = pulumi.Output.from_input(ORIGIN_SECRET)
        ApiDistribution("a", api_args(origin_custom_headers={"X-Origin-Verify": secret}))

    plan = offline.run(spec_of("prod"), program)
    (origin,) = distribution(plan).inputs["origins"]
    assert origin["customHeaders"] == [{"name": "X-Origin-Verify", "value": "<secret>"}]
    assert ORIGIN_SECRET not in plan.dumps()


def test_api_is_never_cached_and_gets_what_it_needs(dev_api):
    cache = behavior(dev_api)
    assert cache["cachePolicyId"] == CACHING_DISABLED
    # All viewer headers but Host: Authorization, cookies and query strings reach the API.
    assert cache["originRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST
    assert cache["allowedMethods"] == ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    assert cache["cachedMethods"] == ["GET", "HEAD"]
    assert cache["viewerProtocolPolicy"] == "redirect-to-https"
    assert cache["compress"] is False
    assert "forwardedValues" not in cache  # no legacy cache settings


@pytest.mark.parametrize("fixture", ["dev_api", "prod_api"])
def test_api_viewers_get_tls12_http3_and_the_web_acl(fixture, request):
    dist = distribution(request.getfixturevalue(fixture)).inputs
    assert dist["aliases"] == ["api.example.com"]
    assert dist["viewerCertificate"] == {
        "acmCertificateArn": CERT,
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    }
    assert dist["httpVersion"] == "http2and3"
    assert dist["isIpv6Enabled"] is True
    assert dist["webAclId"] == WEB_ACL
    assert "defaultRootObject" not in dist and "customErrorResponses" not in dist


def test_api_standard_logs_in_prod(prod_api, dev_api):
    assert distribution(prod_api).inputs["loggingConfig"] == {
        "bucket": LOGS,
        "prefix": "cloudfront/api.example.com/",
        "includeCookies": False,
    }
    assert distribution(prod_api).inputs["priceClass"] == "PriceClass_200"
    assert "loggingConfig" not in distribution(dev_api).inputs


def test_distribution_settings_are_shared(dev_site, dev_api):
    shared = ("enabled", "httpVersion", "isIpv6Enabled", "priceClass", "restrictions", "webAclId")
    site, api = distribution(dev_site).inputs, distribution(dev_api).inputs
    assert {k: site[k] for k in shared} == {k: api[k] for k in shared}
    assert site["viewerCertificate"] == api["viewerCertificate"]


# -- bad args --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"domain_name": "Student.Example.com"},
            "domain_name: got 'Student.Example.com'; expected a lower-case DNS name with at least "
            "two labels, such as school.example.com",
        ),
        ({"domain_name": "localhost"}, "domain_name: got 'localhost'"),
        (
            {"certificate_arn": CERT.replace("us-east-1", "eu-west-1")},
            "certificate_arn: got 'arn:aws:acm:eu-west-1:",
        ),
        (
            {"certificate_arn": None},
            "certificate_arn: got None; expected an ACM certificate ARN in us-east-1",
        ),
        (
            {"web_acl_arn": WEB_ACL.replace("global", "regional")},
            "web_acl_arn: got 'arn:aws:wafv2:us-east-1:123456789012:regional/webacl/",
        ),
        (
            {"web_acl_arn": None},
            "web_acl_arn: got None; expected the ARN of a WAFv2 web ACL of CLOUDFRONT scope",
        ),
        (
            {"log_bucket_domain_name": "osp-t-logs"},
            "log_bucket_domain_name: got 'osp-t-logs'; expected a bucket domain name",
        ),
        (
            {"price_class": "PriceClass_300"},
            "price_class: got 'PriceClass_300'; expected one of PriceClass_100",
        ),
        ({"bucket_name": "Portal"}, "bucket_name: got 'Portal'; expected 3-63 lower-case"),
        ({"kms_key_arn": "storage"}, "kms_key_arn: got 'storage'; expected a KMS key"),
        (
            {"api_domain_name": "api"},
            "api_domain_name: got 'api'; expected a lower-case DNS name with at least two "
            "labels, such as school.example.com, or None",
        ),
        ({"content_security_policy": ""}, "content_security_policy: got ''; expected a policy"),
        (
            {"content_security_policy": "x" * 1784},
            "content_security_policy: got 'xxxx",
        ),
    ],
)
def test_site_refuses_bad_args(overrides, message):
    with pytest.raises(InvalidArguments, match=f"StaticSite osp-t-student: {re.escape(message)}"):
        plan_site(**overrides)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"origin_custom_headers": {}},
            "origin_custom_headers: got none; expected at least one header with a secret value",
        ),
        (
            {"origin_custom_headers": {"Host": ORIGIN_SECRET}},
            "origin_custom_headers: got 'Host'; expected header names CloudFront may add",
        ),
        (
            {"origin_custom_headers": {"X-Amz-Verify": ORIGIN_SECRET}},
            "origin_custom_headers: got 'X-Amz-Verify'",
        ),
        (
            {"origin_custom_headers": {"X Verify": ORIGIN_SECRET}},
            "origin_custom_headers: got 'X Verify'",
        ),
        (
            {"origin_custom_headers": {"X-Verify": ORIGIN_SECRET, "x-verify": ORIGIN_SECRET}},
            "origin_custom_headers: got 'x-verify'; expected each header once",
        ),
        (
            {"origin_custom_headers": {"X-Verify": "short"}},
            "origin_custom_headers['X-Verify']: got a value of 5 characters; expected a secret "
            "of at least 16",
        ),
        (
            {"origin_domain_name": "api.example.com"},
            "origin_domain_name: got 'api.example.com'; expected a name other than domain_name",
        ),
        (
            {"origin_domain_name": "10.0.0.1:443"},
            "origin_domain_name: got '10.0.0.1:443'; expected a lower-case DNS name with at "
            "least two labels, such as school.example.com",
        ),
        (
            {"web_acl_arn": f"arn:aws:wafv2:eu-west-1:{ACCOUNT}:regional/webacl/x/1"},
            "web_acl_arn: got 'arn:aws:wafv2:eu-west-1",
        ),
    ],
)
def test_api_refuses_bad_args(overrides, message):
    with pytest.raises(InvalidArguments, match=f"ApiDistribution osp-t-api: {re.escape(message)}"):
        plan_api(**overrides)


def test_a_short_secret_is_never_echoed():
    (message,) = problems("a", api_args(origin_custom_headers={"X-Verify": "hunter2hunter"}))
    assert "hunter2hunter" not in message


def test_reports_every_problem_at_once():
    found = problems("s", site_args(domain_name="x", bucket_name="B", web_acl_arn=None))
    assert [p.split(":")[1].strip() for p in found] == ["domain_name", "web_acl_arn", "bucket_name"]


def test_outputs_are_not_checked_as_literals():
    def program(spec):
        arn = pulumi.Output.from_input(CERT)
        StaticSite("s", site_args(certificate_arn=arn, web_acl_arn=pulumi.Output.from_input("x")))

    plan = offline.run(spec_of("prod"), program)
    assert distribution(plan).inputs["viewerCertificate"]["acmCertificateArn"] == CERT


@pytest.mark.parametrize(
    "make",
    [
        lambda: StaticSite("bad", site_args(web_acl_arn=None)),
        lambda: ApiDistribution("bad", api_args(origin_custom_headers={})),
    ],
)
def test_nothing_is_created_from_bad_args(make):
    def program(spec):
        with pytest.raises(InvalidArguments):
            make()

    assert offline.run(spec_of("prod"), program).custom_count == 0


def test_a_site_answers_for_additional_names_such_as_tenants_wildcard():
    plan = plan_site(additional_domain_names=("*.example.com",))
    assert distribution(plan).inputs["aliases"] == ["student.example.com", "*.example.com"]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (("*.com",), "additional_domain_names[0]: got '*.com'; expected a DNS name such as "
         "school.example.com, or a wildcard for its first label such as *.example.com"),
        (("a.*.example.com",), "additional_domain_names[0]: got 'a.*.example.com'; expected"),
        (("student.example.com",), "additional_domain_names: got ['student.example.com']; "
         "expected each name once, and not domain_name again"),
        ("*.example.com", "additional_domain_names: got '*.example.com'; expected a list of names"),
    ],
)  # fmt: skip
def test_additional_names_are_names(names, message):
    found = problems("osp-t-student", site_args(additional_domain_names=names))
    assert len(found) == 1 and message in found[0], found


GATE_FUNCTION = f"arn:aws:cloudfront::{ACCOUNT}:function/osp-t-tenant-gate-viewer-request"


def test_a_site_runs_its_viewer_request_function_on_every_behaviour():
    plan = plan_site(viewer_request_function_arn=GATE_FUNCTION)
    inputs = distribution(plan).inputs
    assert inputs["defaultCacheBehavior"]["functionAssociations"] == [
        {"eventType": "viewer-request", "functionArn": GATE_FUNCTION}
    ]
    # The default behaviour is the only one: no ordered behaviour escapes the function.
    assert not inputs.get("orderedCacheBehaviors")


def test_without_a_function_no_association_is_declared(dev_site, dev_api):
    for plan in (dev_site, dev_api):
        assert "functionAssociations" not in distribution(plan).inputs["defaultCacheBehavior"]


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:lambda:us-east-1:123456789012:function:gate",
        f"arn:aws:cloudfront:us-east-1:{ACCOUNT}:function/gate",
        f"arn:aws:cloudfront::{ACCOUNT}:function/gate.js",
        "",
    ],
)
def test_the_viewer_request_function_is_a_cloudfront_function(arn):
    (found,) = problems("osp-t-student", site_args(viewer_request_function_arn=arn))
    assert found.startswith(
        f"StaticSite osp-t-student: viewer_request_function_arn: got {arn!r}; expected a "
        "CloudFront Function ARN such as arn:aws:cloudfront::123456789012:function/"
    ), found


def test_the_content_bucket_logs_server_access_only_when_given_a_log_bucket(dev_site):
    assert not dev_site.of_type("aws:s3/bucketLogging:BucketLogging")
    plan = plan_site(access_log_bucket="osp-t-logs-775194b8")
    (logging,) = plan.of_type("aws:s3/bucketLogging:BucketLogging")
    assert logging.name == "osp-t-student-content-access-logging"
    assert logging.inputs["bucket"] == "osp-t-student-portal"
    assert logging.inputs["targetBucket"] == "osp-t-logs-775194b8"
    assert logging.inputs["targetPrefix"] == "s3-access-logs/osp-t-student-portal/"
