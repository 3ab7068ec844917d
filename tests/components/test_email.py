"""`EmailDomain` through the offline engine: identity, DKIM, MAIL FROM, configuration set."""

from __future__ import annotations

import re
from collections import Counter

import pulumi
import pulumi_aws as aws
import pytest

from osp.components.email import (
    DEFAULT_DKIM_DOMAIN,
    REGIONAL_DKIM_DOMAINS,
    EmailDomain,
    EmailDomainArgs,
    dkim_domain,
    easy_dkim_tokens,
    problems,
)
from osp.platform.engine import fake_aws, offline
from osp.platform.validation import InvalidArguments
from tests.support import spec_of

TAGS = {"osp:environment": "t", "osp:component": "services", "osp:blueprint": "osp",
        "osp:managed-by": "osp"}  # fmt: skip
DOMAIN = "osp.example.com"
ZONE_ID = "Z0123456789ABCDEFGHIJ"
ACCOUNT = "123456789012"
# Not us-east-1, so that the region in the MX record and the ARNs is seen to be the stack's.
REGION = "eu-west-1"
NAME = "osp-t-email"

IDENTITY = "aws:sesv2/emailIdentity:EmailIdentity"
MAIL_FROM = "aws:sesv2/emailIdentityMailFromAttributes:EmailIdentityMailFromAttributes"
CONFIGURATION_SET = "aws:sesv2/configurationSet:ConfigurationSet"
RECORD = "aws:route53/record:Record"

OUTPUTS = (
    "identity_arn",
    "identity_name",
    "mail_from_domain",
    "configuration_set_name",
    "configuration_set_arn",
)


def spec_in(region: str):
    return spec_of("prod").model_copy(update={"region": region})


def plan_email(name: str = NAME, *, region: str = REGION, **overrides):
    """Plan an EmailDomain; beside it, SSM parameters consume its outputs (to show what
    they depend on), and every output is exported."""

    def program(_spec):
        args = EmailDomainArgs(**{"domain": DOMAIN, "zone_id": ZONE_ID, "tags": TAGS,
                                  **overrides})  # fmt: skip
        email = EmailDomain(name, args)
        for output in OUTPUTS:
            value = getattr(email, output)
            aws.ssm.Parameter(f"consumer-{output}", type="String", insecure_value=value)
            pulumi.export(output, value)

    return offline.run(spec_in(region), program)


@pytest.fixture(scope="module")
def prod():
    return plan_email()


def children(plan, name: str = NAME):
    return plan.children(plan.named(name).urn)


def expected_tokens(domain: str = DOMAIN) -> list[str]:
    """The Easy DKIM tokens the offline cloud issues for `domain`."""
    return [fake_aws.digest("dkim", domain, str(n), length=32) for n in range(3)]


def dkim_records(plan):
    return [plan.named(f"{NAME}-dkim-{n}") for n in (1, 2, 3)]


# -- structure --------------------------------------------------------------------------


def test_children(prod):
    component = prod.named(NAME)
    assert component.type == "osp:email:EmailDomain"
    assert component.parent == prod.named("osp-prod").urn
    kids = children(prod)
    assert all(r.custom for r in kids)
    assert Counter(r.type for r in kids) == {
        IDENTITY: 1,
        MAIL_FROM: 1,
        CONFIGURATION_SET: 1,
        RECORD: 5,  # three DKIM CNAMEs, the MAIL FROM MX and SPF TXT
    }
    assert {r.name for r in kids} == {
        f"{NAME}-identity",
        f"{NAME}-configuration-set",
        f"{NAME}-mail-from",
        f"{NAME}-dkim-1",
        f"{NAME}-dkim-2",
        f"{NAME}-dkim-3",
        f"{NAME}-mail-from-mx",
        f"{NAME}-mail-from-spf",
    }
    # Nothing is nested under a sibling, and the component creates nothing else.
    assert {r.name for r in prod.resources if r.type.startswith("aws:")} == {
        r.name for r in kids
    } | {f"consumer-{output}" for output in OUTPUTS}


def test_every_resource_uses_the_stacks_provider(prod):
    assert all(r.provider is None for r in children(prod))


# -- the identity -----------------------------------------------------------------------


def test_identity_is_the_domain_with_easy_dkim_2048(prod):
    identity = prod.named(f"{NAME}-identity")
    assert identity.inputs["emailIdentity"] == DOMAIN
    # Easy DKIM: SES keeps the keys (no BYODKIM private key or selector in the inputs).
    assert identity.inputs["dkimSigningAttributes"] == {"nextSigningKeyLength": "RSA_2048_BIT"}


def test_identity_uses_the_configuration_set_by_default(prod):
    identity = prod.named(f"{NAME}-identity")
    configuration_set = prod.named(f"{NAME}-configuration-set")
    assert identity.inputs["configurationSetName"] == NAME
    assert configuration_set.inputs["configurationSetName"] == NAME
    assert identity.property_dependencies["configurationSetName"] == (configuration_set.urn,)


# -- DKIM -------------------------------------------------------------------------------


def test_three_dkim_cnames_for_the_identitys_tokens(prod):
    identity = prod.named(f"{NAME}-identity")
    records = dkim_records(prod)
    assert [(r.inputs["name"], r.inputs["records"]) for r in records] == [
        (f"{token}._domainkey.{DOMAIN}", [f"{token}.dkim.amazonses.com"])
        for token in expected_tokens()
    ]
    assert len({r.inputs["name"] for r in records}) == 3
    for record in records:
        assert record.inputs["type"] == "CNAME"
        assert record.inputs["ttl"] == 1800
        # Each record is built from the identity's own tokens.
        assert record.property_dependencies["name"] == (identity.urn,)
        assert record.property_dependencies["records"] == (identity.urn,)


@pytest.mark.parametrize(
    ("region", "target"),
    [
        ("us-east-1", "dkim.amazonses.com"),
        ("eu-west-1", "dkim.amazonses.com"),
        ("eu-south-1", "dkim.eu-south-1.amazonses.com"),
        ("af-south-1", "dkim.af-south-1.amazonses.com"),
        ("us-gov-east-1", "dkim.us-gov-east-1.amazonses.com"),
    ],
)
def test_dkim_domain_of_a_region(region, target):
    assert dkim_domain(region) == target


def test_regional_dkim_domains_are_each_their_regions():
    assert DEFAULT_DKIM_DOMAIN == "dkim.amazonses.com"
    assert len(REGIONAL_DKIM_DOMAINS) == 11
    for region, domain in REGIONAL_DKIM_DOMAINS.items():
        assert domain == f"dkim.{region}.amazonses.com"


def test_dkim_and_mx_follow_a_region_with_its_own_dkim_domain():
    plan = plan_email(region="eu-south-1")
    for token, record in zip(expected_tokens(), dkim_records(plan), strict=True):
        assert record.inputs["records"] == [f"{token}.dkim.eu-south-1.amazonses.com"]
    mx = plan.named(f"{NAME}-mail-from-mx")
    assert mx.inputs["records"] == ["10 feedback-smtp.eu-south-1.amazonses.com"]
    assert plan.outputs["identity_arn"] == f"arn:aws:ses:eu-south-1:{ACCOUNT}:identity/{DOMAIN}"


@pytest.mark.parametrize("tokens", [["a", "b"], ["a", "b", "c", "d"], [], None, ["a", "", "c"]])
def test_easy_dkim_tokens_refuses_anything_but_three(tokens):
    with pytest.raises(InvalidArguments) as raised:
        easy_dkim_tokens("e", DOMAIN, tokens)
    found = list(tokens or ())
    assert str(raised.value) == (
        f"EmailDomain e: domain: SES returned {len(found)} Easy DKIM tokens for osp.example.com "
        f"({found!r}); expected exactly 3, one per DKIM CNAME record. Check the identity in the "
        "SES console: it must use Easy DKIM, not BYODKIM"
    )


def test_easy_dkim_tokens_keeps_three():
    assert easy_dkim_tokens("e", DOMAIN, ("a", "b", "c")) == ["a", "b", "c"]


def test_a_token_count_other_than_three_fails_the_deployment(monkeypatch):
    real = fake_aws._OUTPUTS[IDENTITY]

    def two_tokens(c, i, inputs, r):
        state = real(c, i, inputs, r)
        state["dkimSigningAttributes"]["tokens"] = state["dkimSigningAttributes"]["tokens"][:2]
        return state

    monkeypatch.setitem(fake_aws._OUTPUTS, IDENTITY, two_tokens)
    message = f"EmailDomain {NAME}: domain: SES returned 2 Easy DKIM tokens for osp.example.com"
    # Raised inside an apply: the engine reports it as itself, wrapped by the SDK or not.
    with pytest.raises(InvalidArguments, match=re.escape(message)):
        plan_email()


# -- MAIL FROM --------------------------------------------------------------------------


def test_custom_mail_from_domain(prod):
    mail_from = prod.named(f"{NAME}-mail-from")
    assert mail_from.inputs == {
        "emailIdentity": DOMAIN,
        "mailFromDomain": f"mail.{DOMAIN}",
        "behaviorOnMxFailure": "USE_DEFAULT_VALUE",
    }
    assert mail_from.property_dependencies["emailIdentity"] == (prod.named(f"{NAME}-identity").urn,)


def test_mail_from_mx_and_spf(prod):
    mx = prod.named(f"{NAME}-mail-from-mx")
    assert (mx.inputs["name"], mx.inputs["type"]) == (f"mail.{DOMAIN}", "MX")
    assert mx.inputs["records"] == [f"10 feedback-smtp.{REGION}.amazonses.com"]
    spf = prod.named(f"{NAME}-mail-from-spf")
    assert (spf.inputs["name"], spf.inputs["type"]) == (f"mail.{DOMAIN}", "TXT")
    assert spf.inputs["records"] == ["v=spf1 include:amazonses.com ~all"]
    assert mx.inputs["ttl"] == spf.inputs["ttl"] == 1800


def test_another_mail_from_label():
    plan = plan_email(mail_from_label="bounce")
    assert plan.named(f"{NAME}-mail-from").inputs["mailFromDomain"] == f"bounce.{DOMAIN}"
    for role in ("mx", "spf"):
        assert plan.named(f"{NAME}-mail-from-{role}").inputs["name"] == f"bounce.{DOMAIN}"
    assert plan.outputs["mail_from_domain"] == f"bounce.{DOMAIN}"


def test_no_dmarc_and_nothing_at_the_apex(prod):
    names = {r.inputs["name"] for r in prod.of_type(RECORD)}
    assert not any(name.startswith("_dmarc.") for name in names)
    assert DOMAIN not in names  # the apex's SPF, MX and DMARC stay the domain owner's
    assert all(r.inputs.get("allowOverwrite") in (None, False) for r in prod.of_type(RECORD))


# -- records in the zone ----------------------------------------------------------------


def test_every_record_is_in_the_given_zone(prod):
    records = prod.of_type(RECORD)
    assert len(records) == 5
    assert {r.inputs["zoneId"] for r in records} == {ZONE_ID}


def test_a_zone_id_from_another_resource():
    def program(_spec):
        zone = aws.route53.Zone("zone", name=DOMAIN)
        EmailDomain(NAME, EmailDomainArgs(domain=DOMAIN, zone_id=zone.zone_id))

    plan = offline.run(spec_in(REGION), program)
    zone = plan.named("zone")
    records = plan.of_type(RECORD)
    assert len(records) == 5
    for record in records:
        assert record.property_dependencies["zoneId"] == (zone.urn,), record.name
        assert re.fullmatch(r"Z[0-9A-F]{20}", record.inputs["zoneId"])


# -- the configuration set --------------------------------------------------------------


def test_configuration_set_suppresses_requires_tls_and_tracks_reputation(prod):
    configuration_set = prod.named(f"{NAME}-configuration-set")
    assert configuration_set.inputs["suppressionOptions"] == {
        "suppressedReasons": ["BOUNCE", "COMPLAINT"]
    }
    assert configuration_set.inputs["deliveryOptions"] == {"tlsPolicy": "REQUIRE"}
    assert configuration_set.inputs["reputationOptions"] == {"reputationMetricsEnabled": True}
    assert configuration_set.inputs["sendingOptions"] == {"sendingEnabled": True}
    # No open or click tracking: it would rewrite links in password-reset mail.
    assert "trackingOptions" not in configuration_set.inputs


def test_tls_can_be_made_optional():
    plan = plan_email(require_tls=False)
    configuration_set = plan.named(f"{NAME}-configuration-set")
    assert configuration_set.inputs["deliveryOptions"] == {"tlsPolicy": "OPTIONAL"}


def test_a_long_name_gives_a_valid_configuration_set_name():
    name = "osp-" + "a-very-long-environment-name-" * 4 + "email"
    plan = plan_email(name)
    configuration_set_name = plan.named(f"{name}-configuration-set").inputs["configurationSetName"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", configuration_set_name)
    assert configuration_set_name.startswith("osp-a-very-long-environment-name-")
    assert plan.named(f"{name}-identity").inputs["configurationSetName"] == (configuration_set_name)


# -- outputs ----------------------------------------------------------------------------


def test_outputs(prod):
    assert prod.outputs == {
        "identity_arn": f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{DOMAIN}",
        "identity_name": DOMAIN,
        "mail_from_domain": f"mail.{DOMAIN}",
        "configuration_set_name": NAME,
        "configuration_set_arn": f"arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/{NAME}",
    }


@pytest.mark.parametrize(
    ("output", "source"),
    [
        ("identity_arn", "identity"),
        ("identity_name", "identity"),
        ("mail_from_domain", "mail-from"),
        ("configuration_set_name", "configuration-set"),
        ("configuration_set_arn", "configuration-set"),
    ],
)
def test_outputs_come_from_their_resources(prod, output, source):
    consumer = prod.named(f"consumer-{output}")
    assert consumer.property_dependencies["insecureValue"] == (prod.named(f"{NAME}-{source}").urn,)


# -- protection and tags ----------------------------------------------------------------


def test_only_the_identity_is_protected(prod):
    assert {r.name for r in prod.resources if r.options.protect} == {f"{NAME}-identity"}


def test_protection_can_be_turned_off():
    plan = plan_email(deletion_protection=False)
    assert not any(r.options.protect for r in plan.resources)


def test_every_taggable_resource_is_tagged(prod):
    untaggable = {RECORD, MAIL_FROM}
    tagged = [r for r in children(prod) if r.type not in untaggable]
    assert {r.type for r in tagged} == {IDENTITY, CONFIGURATION_SET}
    for resource in tagged:
        assert resource.inputs["tags"] == {"Name": resource.name, **TAGS}, resource.name


# -- bad args ---------------------------------------------------------------------------


def email_args(**overrides) -> EmailDomainArgs:
    return EmailDomainArgs(**{"domain": DOMAIN, "zone_id": ZONE_ID, "tags": TAGS, **overrides})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"domain": "localhost"},
            "domain: got 'localhost'; expected a lower-case DNS name with at least two "
            "labels, such as school.example.com",
        ),
        ({"domain": "OSP.example.com"}, "domain: got 'OSP.example.com'"),
        ({"domain": "osp.example.com."}, "domain: got 'osp.example.com.'"),
        ({"domain": "osp..example.com"}, "domain: got 'osp..example.com'"),
        ({"domain": "10.0.0.1"}, "domain: got '10.0.0.1'"),
        ({"domain": "-osp.example.com"}, "domain: got '-osp.example.com'"),
        ({"domain": ("a" * 62 + ".") * 4 + "com"}, "domain: got 'aaaa"),
        (
            {"mail_from_label": "Mail"},
            "mail_from_label: got 'Mail'; expected a DNS label (1-63 lower-case letters, "
            "digits and hyphens, not starting or ending with a hyphen)",
        ),
        ({"mail_from_label": "mail.bounce"}, "mail_from_label: got 'mail.bounce'"),
        ({"mail_from_label": ""}, "mail_from_label: got ''"),
        ({"mail_from_label": "_dmarc"}, "mail_from_label: got '_dmarc'"),
        ({"mail_from_label": "a" * 64}, "mail_from_label: got 'aaaa"),
        (
            # A 250-character domain: valid itself, but not with "bounce." in front.
            {"domain": ("a" * 62 + ".") * 3 + "b" * 57 + ".com", "mail_from_label": "bounce"},
            "mail_from_label: got 'bounce'; expected a label short enough that '<label>.aaaa",
        ),
        (
            {"zone_id": "zone-1"},
            "zone_id: got 'zone-1'; expected a Route 53 hosted zone id such as "
            "Z0123456789ABCDEFGHIJ",
        ),
        ({"zone_id": ""}, "zone_id: got ''"),
        ({"zone_id": "z0123456789ABCDEFGHIJ"}, "zone_id: got 'z0123456789ABCDEFGHIJ'"),
        ({"zone_id": "Z" + "A" * 32}, "zone_id: got 'ZAAAA"),
    ],
)
def test_refuses_bad_args(overrides, message):
    def program(_spec):
        EmailDomain("e", email_args(**overrides))

    with pytest.raises(InvalidArguments, match=f"EmailDomain e: {re.escape(message)}"):
        offline.run(spec_in(REGION), program)


def test_reports_every_problem_at_once_and_creates_nothing():
    args = email_args(domain="bad_domain", mail_from_label="-", zone_id="nope")
    assert [p.split(":")[1].strip() for p in problems("e", args)] == [
        "domain",
        "mail_from_label",
        "zone_id",
    ]

    def program(_spec):
        with pytest.raises(InvalidArguments, match="EmailDomain e: domain") as raised:
            EmailDomain("e", args)
        assert str(raised.value).count("\n") == 2

    plan = offline.run(spec_in(REGION), program)
    assert [r.type for r in plan.resources if r.custom] == []


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"zone_id": "Z1"},
        {"domain": "example.edu", "mail_from_label": "m-1"},
        {"domain": "dev.osp.school.example.org", "mail_from_label": "a" * 63},
    ],
)
def test_valid_args_have_no_problems(overrides):
    assert problems("e", email_args(**overrides)) == []


def test_a_zone_id_output_is_not_checked():
    def program(_spec):
        args = email_args(zone_id=pulumi.Output.from_input("not-checked-here"))
        assert problems("e", args) == []

    offline.run(spec_in(REGION), program)
