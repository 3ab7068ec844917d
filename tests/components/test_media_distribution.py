# ruff: noqa: E501 -- tables of arguments and messages read best one case a line
"""`MediaDistribution` through the offline engine: OAC to a private bucket, public and signed
prefixes, the key group, the signing-key secret without a value, TLS, WAF, headers."""

from __future__ import annotations

import json
import re

import pytest

from osp.components.cdn import (
    MEDIA_CONTENT_SECURITY_POLICY,
    MINIMUM_PROTOCOL_VERSION,
    MediaDistribution,
    MediaDistributionArgs,
    media_access_statement,
    problems,
)
from osp.platform.validation import InvalidArguments
from tests.support import plan_component

ACCOUNT = "123456789012"
SECRETS_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/secrets"
CERT = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/6c1d7b7e-43a5-4f39-9f3c-2b0f3e0d9a11"
WEB_ACL = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/osp-t-edge/0c1b2a39"
ORIGIN = "osp-t-media.s3.us-east-1.amazonaws.com"
LOGS = "osp-t-logs.s3.amazonaws.com"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
#: A real RSA 2048 public key (its private half was thrown away).
PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAzZ7m5Sab5k3aXBpPqaWG
QKT833lTE3f5YfsLNPYB6djtmw3bsLBI/d9GxixlYYPF0CRm2mJznhi98fBvnzCL
xiQKdDfZsYhDDbFGY0coHZdTo9hGHfaMxXopqYBhncKvPlnuOyOUvfoX/TqcdUpR
TmDUHTcvjVU70Oh6xhUwJkxzPmzlsKTYpMD44qTSmIGWity0S4cwNhOoMMj1D5LK
BD/TqsyOqu7OZg6XLiIGE2bGtLSkdc/gqXbsRCIEq7s/dOrqSMOzoWOqcYv6Nq8d
AkjMsa127If4eAMrRbETz4QBu0KoA1tu2A3DXLMOJzDNxQEwtgsS7JGdHW6Z4ha0
uQIDAQAB
-----END PUBLIC KEY-----
"""

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
OAC = "aws:cloudfront/originAccessControl:OriginAccessControl"
HEADERS = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
PUBLIC_KEY_TYPE = "aws:cloudfront/publicKey:PublicKey"
KEY_GROUP = "aws:cloudfront/keyGroup:KeyGroup"
SECRET = "aws:secretsmanager/secret:Secret"


def args(**overrides) -> MediaDistributionArgs:
    return MediaDistributionArgs(
        **{
            "domain_name": "media.example.com",
            "certificate_arn": CERT,
            "web_acl_arn": WEB_ACL,
            "log_bucket_domain_name": LOGS,
            "bucket_regional_domain_name": ORIGIN,
            "public_path_prefixes": ("branding/",),
            "signed_path_prefixes": ("photos/",),
            "url_signing_public_key": PUBLIC_KEY,
            "signing_key_secret_name": "osp-t-media-cdn/url-signing-key",
            "secrets_kms_key_arn": SECRETS_KEY,
            "deletion_protection": True,
            "tags": {"osp:component": "media"},
            **overrides,
        }
    )


@pytest.fixture(scope="module")
def signed():
    return plan_component(MediaDistribution, args(), name="osp-t-media", exports=("key_pair_id",))


@pytest.fixture(scope="module")
def unkeyed():
    return plan_component(MediaDistribution, args(url_signing_public_key=None), name="osp-t-media")


@pytest.fixture(scope="module")
def public_only():
    return plan_component(
        MediaDistribution,
        args(signed_path_prefixes=(), signing_key_secret_name=None, secrets_kms_key_arn=None),
        name="osp-t-media",
    )


def one(plan, type_):
    (found,) = plan.of_type(type_)
    return found


def test_children(signed):
    component = signed.named("osp-t-media")
    assert component.type == "osp:cdn:MediaDistribution"
    assert {(r.type, r.name) for r in signed.children(component.urn)} == {
        (SECRET, "osp-t-media-signing-key"),
        (PUBLIC_KEY_TYPE, "osp-t-media-public-key"),
        (KEY_GROUP, "osp-t-media-key-group"),
        (OAC, "osp-t-media-oac"),
        (HEADERS, "osp-t-media-security-headers"),
        (DISTRIBUTION, "osp-t-media-distribution"),
    }
    # No bucket and no bucket policy of its own: the bucket is the caller's data bucket.
    assert not [r for r in signed.resources if r.type.startswith("aws:s3")]


def test_the_bucket_is_reached_through_oac_only(signed):
    oac = one(signed, OAC).inputs
    assert (
        oac["originAccessControlOriginType"],
        oac["signingBehavior"],
        oac["signingProtocol"],
    ) == (
        "s3",
        "always",
        "sigv4",
    )
    (origin,) = one(signed, DISTRIBUTION).inputs["origins"]
    assert origin["domainName"] == ORIGIN
    assert origin["originAccessControlId"]
    assert "s3OriginConfig" not in origin and "customOriginConfig" not in origin


def test_viewers_https_tls12_waf_logs(signed):
    inputs = one(signed, DISTRIBUTION).inputs
    assert inputs["aliases"] == ["media.example.com"]
    assert inputs["webAclId"] == WEB_ACL
    assert inputs["viewerCertificate"] == {
        "acmCertificateArn": CERT,
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": MINIMUM_PROTOCOL_VERSION,
    }
    assert MINIMUM_PROTOCOL_VERSION == "TLSv1.2_2021"
    assert inputs["loggingConfig"]["prefix"] == "cloudfront/media.example.com/"
    assert inputs["defaultRootObject"] == "index.html"
    behaviours = [inputs["defaultCacheBehavior"], *inputs["orderedCacheBehaviors"]]
    for behaviour in behaviours:
        assert behaviour["viewerProtocolPolicy"] == "redirect-to-https"
        assert behaviour["allowedMethods"] == ["GET", "HEAD"]
        assert behaviour["cachePolicyId"] == CACHING_OPTIMIZED


def test_public_and_signed_prefixes(signed):
    inputs = one(signed, DISTRIBUTION).inputs
    group = one(signed, KEY_GROUP)
    by_path = {b["pathPattern"]: b for b in inputs["orderedCacheBehaviors"]}
    assert list(by_path) == ["branding/*", "photos/*"]
    assert "trustedKeyGroups" not in by_path["branding/*"]
    trusted = by_path["photos/*"]["trustedKeyGroups"]
    assert len(trusted) == 1
    # Everything else needs a signed URL too: fail closed.
    assert inputs["defaultCacheBehavior"]["trustedKeyGroups"] == trusted
    assert len(group.inputs["items"]) == 1
    key = one(signed, PUBLIC_KEY_TYPE)
    assert key.inputs["encodedKey"] == PUBLIC_KEY
    assert group.property_dependencies["items"] == (key.urn,)
    assert signed.outputs["key_pair_id"]


def test_the_private_key_secret_has_no_value_and_is_protected(signed):
    secret = one(signed, SECRET)
    assert secret.inputs["name"] == "osp-t-media-cdn/url-signing-key"
    assert secret.inputs["kmsKeyId"] == SECRETS_KEY
    assert secret.inputs["recoveryWindowInDays"] == 30
    assert secret.options.protect
    assert not signed.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert "BEGIN" not in json.dumps([r.inputs for r in signed.resources]).replace(
        json.dumps(PUBLIC_KEY)[1:-1], ""
    )


def test_security_headers_let_no_upload_run(signed):
    config = one(signed, HEADERS).inputs["securityHeadersConfig"]
    assert config["contentSecurityPolicy"] == {
        "contentSecurityPolicy": MEDIA_CONTENT_SECURITY_POLICY,
        "override": True,
    }
    assert "sandbox" in MEDIA_CONTENT_SECURITY_POLICY
    assert config["strictTransportSecurity"]["override"] is True
    assert config["contentTypeOptions"] == {"override": True}


def test_without_a_public_key_signed_prefixes_are_not_served(unkeyed):
    inputs = one(unkeyed, DISTRIBUTION).inputs
    assert [b["pathPattern"] for b in inputs["orderedCacheBehaviors"]] == ["branding/*"]
    assert "trustedKeyGroups" not in inputs["defaultCacheBehavior"]
    assert not unkeyed.of_type(KEY_GROUP) and not unkeyed.of_type(PUBLIC_KEY_TYPE)
    # The secret exists for the operator to fill first.
    assert one(unkeyed, SECRET)
    assert args(url_signing_public_key=None).served_prefixes() == ("branding/",)
    assert args().served_prefixes() == ("branding/", "photos/")


def test_public_only_needs_no_key_and_no_secret(public_only):
    assert not public_only.of_type(SECRET) and not public_only.of_type(KEY_GROUP)


def test_the_bucket_statement_names_the_distribution_and_the_served_prefixes_only():
    statement = media_access_statement(
        "arn:aws:s3:::osp-t-media",
        f"arn:aws:cloudfront::{ACCOUNT}:distribution/E1",
        ("branding/", "photos/"),
    )
    assert statement == {
        "Sid": "CloudFrontReadsDeliveredPrefixes",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": ["arn:aws:s3:::osp-t-media/branding/*", "arn:aws:s3:::osp-t-media/photos/*"],
        "Condition": {
            "StringEquals": {"AWS:SourceArn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/E1"}
        },
    }


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"public_path_prefixes": ("Branding",)}, "MediaDistribution m: public_path_prefixes[0]: got 'Branding'; expected a key prefix"),
        ({"public_path_prefixes": (), "signed_path_prefixes": (), "signing_key_secret_name": None}, "MediaDistribution m: public_path_prefixes: got []; expected 1 to 24 distinct prefixes"),
        ({"public_path_prefixes": ("photos/",)}, "MediaDistribution m: public_path_prefixes: got ['photos/', 'photos/']; expected 1 to 24 distinct"),
        ({"public_path_prefixes": ("photos/thumbs/",)}, "MediaDistribution m: signed_path_prefixes: got 'photos/'; expected a prefix neither under nor above a public one"),
        ({"url_signing_public_key": "ssh-rsa AAAA"}, "MediaDistribution m: url_signing_public_key: got 'ssh-rsa AAAA'; expected an RSA 2048 public key in PEM"),
        ({"signing_key_secret_name": None}, "MediaDistribution m: signing_key_secret_name: got None; expected a value: there are signed prefixes"),
        ({"secrets_kms_key_arn": None}, "MediaDistribution m: secrets_kms_key_arn: got None; expected a value: there are signed prefixes"),
        ({"secret_recovery_window_days": 3}, "MediaDistribution m: secret_recovery_window_days: got 3; expected 0 (delete at once) or 7 to 30"),
        ({"domain_name": "Media"}, "MediaDistribution m: domain_name: got 'Media'; expected a lower-case DNS name"),
    ],
)  # fmt: skip
def test_refusals(overrides, expected):
    found = problems("m", args(**overrides))
    assert [p for p in found if p.startswith(expected)], found
    with pytest.raises(InvalidArguments, match=re.escape(expected)):
        plan_component(MediaDistribution, args(**overrides), name="m")
