"""The edge and storage components judge names, zone ids and key ARNs by the shared rules of
osp.platform.limits: each sample gets the same verdict from the component as from the rule."""

from __future__ import annotations

import pytest

from osp.components import cdn, dns, email, firewall, loadbalancer, storage
from osp.platform import limits

DOMAINS = (
    "osp.example.com",
    "example.edu",
    "dev.osp.school.example.org",
    "x.y",
    "a1.b2",
    "localhost",
    "OSP.example.com",
    "osp.example.com.",
    "osp..example.com",
    "-osp.example.com",
    "osp-.example.com",
    "10.0.0.1",
    "10.0.0.1:443",
    "bad_domain",
    ("a" * 62 + ".") * 4 + "com",
    "",
    None,
)
LABELS = ("mail", "m-1", "a" * 63, "a" * 64, "Mail", "-mail", "mail-", "mail.bounce", "_dmarc", "")
ZONE_IDS = ("Z0123456789ABCDEFGHIJ", "Z1", "Z" + "A" * 31, "Z" + "A" * 32, "z01", "zone-1", "")
KEYS = (
    "arn:aws:kms:us-east-1:123456789012:key/0f0e0d0c-0b0a-0908-0706-050403020100",
    "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-1234abcd",
    "arn:aws:kms:us-east-1:123456789012:alias/osp-storage",
    "arn:aws:kms:us-east-1:12345678901:key/0f0e0d0c",
    "arn:aws:kms:us-east-1:123456789012:key/",
    "arn:aws:kms:us-east-1:123456789012:key/a_b",
    "alias/osp-storage",
    "0f0e0d0c-0b0a-0908-0706-050403020100",
)
ALIASES = (
    "arn:aws:kms:us-east-1:123456789012:alias/osp-storage",
    "arn:aws:kms:eu-west-2:123456789012:alias/osp/storage_v2",
)


def flagged(found: list[str], arg: str) -> bool:
    return any(f": {arg}: " in problem for problem in found)


def zone(**overrides) -> dns.ZoneArgs:
    return dns.ZoneArgs(**{"domain": "osp.example.com", "edge_provider": None, **overrides})


def email_domain(**overrides) -> email.EmailDomainArgs:
    return email.EmailDomainArgs(
        **{"domain": "osp.example.com", "zone_id": "Z0123456789ABCDEFGHIJ", **overrides}
    )


def site(**overrides) -> cdn.StaticSiteArgs:
    return cdn.StaticSiteArgs(
        **{
            "domain_name": "student.example.com",
            "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/6c1d7b7e",
            "web_acl_arn": "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/0c1b",
            "bucket_name": "osp-t-portal",
            "kms_key_arn": KEYS[0],
            "deletion_protection": False,
            **overrides,
        }
    )


def api(**overrides) -> cdn.ApiDistributionArgs:
    return cdn.ApiDistributionArgs(
        **{
            "domain_name": "api.example.com",
            "origin_domain_name": "api-origin.example.com",
            "origin_custom_headers": {"X-Origin-Verify": "s3cr3t-0r1g1n-v4lu3"},
            "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/6c1d7b7e",
            "web_acl_arn": "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/0c1b",
            **overrides,
        }
    )


def route(name: str) -> loadbalancer.ServiceRoute:
    return loadbalancer.ServiceRoute(name, 8080, "/api/x", "/health/ready")


def balancer(**overrides) -> loadbalancer.ApiLoadBalancerArgs:
    return loadbalancer.ApiLoadBalancerArgs(
        **{
            "vpc_id": "vpc-1",
            "vpc_cidr": "10.30.0.0/16",
            "public_subnet_ids": ("subnet-a", "subnet-b"),
            "certificate_arn": "arn:aws:acm:eu-west-2:123456789012:certificate/1",
            "web_acl_arn": "arn:aws:wafv2:eu-west-2:123456789012:regional/webacl/x/1",
            "access_log_bucket": "osp-t-logs",
            "services": (route("identity"),),
            "deletion_protection": False,
            **overrides,
        }
    )


@pytest.mark.parametrize("domain", DOMAINS)
def test_domains(domain):
    refused = not limits.DOMAIN_NAME.accepts(domain)
    assert flagged(dns.problems("z", zone(domain=domain)), "domain") is refused
    assert flagged(email.problems("e", email_domain(domain=domain)), "domain") is refused
    assert flagged(cdn.problems("s", site(domain_name=domain)), "domain_name") is refused
    assert flagged(cdn.problems("s", site(api_domain_name=domain)), "api_domain_name") is (
        refused and domain is not None  # None: the default API name
    )
    assert flagged(cdn.problems("a", api(origin_domain_name=domain)), "origin_domain_name") is (
        refused
    )


@pytest.mark.parametrize("label", LABELS)
def test_dns_labels(label):
    refused = not limits.DNS_LABEL.accepts(label)
    found = email.problems("e", email_domain(mail_from_label=label))
    assert flagged(found, "mail_from_label") is refused
    found = loadbalancer.problems("a", balancer(services=(route(label),)))
    assert flagged(found, "services[0].name") is refused


@pytest.mark.parametrize("zone_id", ZONE_IDS)
def test_hosted_zone_ids(zone_id):
    refused = not limits.HOSTED_ZONE_ID.accepts(zone_id)
    assert flagged(dns.problems("z", zone(existing_zone_id=zone_id)), "existing_zone_id") is (
        refused
    )
    assert flagged(email.problems("e", email_domain(zone_id=zone_id)), "zone_id") is refused


@pytest.mark.parametrize("key", KEYS)
def test_kms_key_arns(key):
    refused = not limits.KMS_KEY_ARN.accepts(key)
    args = firewall.WebAclArgs(scope=firewall.WafScope.REGIONAL, logs_kms_key_arn=key)
    assert flagged(firewall.problems("w", args), "logs_kms_key_arn") is refused
    # S3 default encryption also takes an alias ARN.
    accepted = not refused or key in ALIASES
    assert (storage.expected_kms_key_arn(key) is None) is accepted
    found = storage.problems(
        "b", storage.BucketArgs(bucket_name="osp-t-b", deletion_protection=False, kms_key_arn=key)
    )
    assert flagged(found, "kms_key_arn") is not accepted


@pytest.mark.parametrize("alias", ALIASES)
def test_buckets_take_alias_arns(alias):
    assert not limits.KMS_KEY_ARN.accepts(alias)
    assert storage.expected_kms_key_arn(alias) is None
