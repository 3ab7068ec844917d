"""`Zone` through the offline engine: zone, CAA, certificates in the right regions, records."""

from __future__ import annotations

import json
import re
from collections import Counter
from types import SimpleNamespace

import pulumi
import pulumi_aws as aws
import pytest

from osp.components.dns import AMAZON_CAS, Zone, ZoneArgs, _check_adopted, problems
from osp.platform.engine import offline
from osp.platform.validation import InvalidArguments
from tests.support import spec_of

TAGS = {"osp:environment": "t", "osp:component": "dns", "osp:blueprint": "osp",
        "osp:managed-by": "osp"}  # fmt: skip
DOMAIN = "osp.example.com"
# A stack outside us-east-1, so that the two certificates' regions can be told apart.
REGION = "eu-west-1"
SPEC = spec_of("prod").model_copy(update={"region": REGION})
ZONE_ID = "Z0123456789ABCDEFGHIJ"
ALB = ("osp-t-alb-1234.eu-west-1.elb.amazonaws.com", "Z32O12XQLNTSW2")
CDN = ("d111111abcdef8.cloudfront.net", "Z2FDTNDATAQYW2")

CERT = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
ZONE = "aws:route53/zone:Zone"
PARAMETER = "aws:ssm/parameter:Parameter"


def plan_zone(name: str = "osp-t-dns", *, aliases: bool = True, spec=SPEC, **overrides):
    """Plan a Zone; besides it, the program holds the us-east-1 provider and SSM parameters
    that consume the outputs (to show what they depend on)."""

    def program(_spec):
        edge = aws.Provider("use1", region="us-east-1")
        args = ZoneArgs(**{"domain": DOMAIN, "edge_provider": edge, "tags": TAGS, **overrides})
        zone = Zone(name, args)
        if aliases:
            zone.alias("api", target_dns_name=ALB[0], target_zone_id=ALB[1],
                       evaluate_target_health=True)  # fmt: skip
            zone.alias("student", target_dns_name=CDN[0], target_zone_id=CDN[1])
        for output in ("zone_id", "edge_certificate_arn", "regional_certificate_arn"):
            aws.ssm.Parameter(
                f"consumer-{output}", type="String", insecure_value=getattr(zone, output)
            )
        pulumi.export("nameServers", zone.name_servers)
        pulumi.export("zoneId", zone.zone_id)
        if zone.ds_record is not None:
            pulumi.export("dsRecord", zone.ds_record)

    return offline.run(spec, program)


# The zone and its certificates alone; DNSSEC and query logging have tests of their own.
@pytest.fixture(scope="module")
def prod():
    return plan_zone(deletion_protection=True, dnssec=False)


@pytest.fixture(scope="module")
def dev():
    return plan_zone(deletion_protection=False, aliases=False, dnssec=False)


@pytest.fixture(scope="module")
def adopted():
    return plan_zone(existing_zone_id=ZONE_ID, dnssec=False)


def children(plan):
    component = plan.named("osp-t-dns")
    return [r for r in plan.resources if r.parent == component.urn]


def provider_urn(plan):
    return plan.named("use1").urn


# -- children --------------------------------------------------------------------------


def test_children(prod):
    component = prod.named("osp-t-dns")
    assert component.type == "osp:dns:Zone"
    kids = children(prod)
    assert all(r.custom for r in kids)
    assert Counter(r.type for r in kids) == {
        ZONE: 1,
        RECORD: 6,  # CAA, the one validation CNAME, A + AAAA for api and student
        CERT: 2,
        VALIDATION: 2,
    }
    assert {r.name for r in kids} == {
        "osp-t-dns-zone",
        "osp-t-dns-caa",
        "osp-t-dns-edge-certificate",
        "osp-t-dns-regional-certificate",
        "osp-t-dns-validation",
        "osp-t-dns-edge-certificate-validation",
        "osp-t-dns-regional-certificate-validation",
        "osp-t-dns-api-a",
        "osp-t-dns-api-aaaa",
        "osp-t-dns-student-a",
        "osp-t-dns-student-aaaa",
    }


def test_without_aliases_there_are_no_address_records(dev):
    assert {r.inputs["type"] for r in dev.of_type(RECORD)} == {"CAA", "CNAME"}


# -- the zone --------------------------------------------------------------------------


def test_creates_a_public_zone_for_the_domain(prod):
    zone = prod.named("osp-t-dns-zone")
    assert zone.inputs["name"] == DOMAIN
    assert zone.inputs["forceDestroy"] is False
    assert "vpcs" not in zone.inputs  # public: no VPC association
    for record in prod.of_type(RECORD):
        assert record.property_dependencies["zoneId"] == (zone.urn,), record.name
    assert re.fullmatch(r"Z[0-9A-F]{20}", prod.outputs["zoneId"])
    assert prod.named("consumer-zone_id").property_dependencies["insecureValue"] == (zone.urn,)
    assert len(prod.outputs["nameServers"]) == 4


def test_adopted_zone_is_used_and_not_created(adopted):
    assert adopted.of_type(ZONE) == []
    assert {r.inputs["zoneId"] for r in adopted.of_type(RECORD)} == {ZONE_ID}
    assert adopted.outputs["zoneId"] == ZONE_ID
    assert adopted.outputs["nameServers"]
    # Still the full set of certificates and records.
    assert len(adopted.of_type(CERT)) == 2 and len(adopted.of_type(VALIDATION)) == 2


def test_adopted_zone_of_another_domain_is_refused():
    # The offline cloud's zone is the spec's domain (osp.example.com).
    message = (
        f"Zone osp-t-dns: existing_zone_id: got '{ZONE_ID}'; expected the public zone of "
        "'school.example.net' or of a parent of it, not the public zone 'osp.example.com'"
    )
    # Raised inside an apply: the engine reports it as itself, wrapped by the SDK or not.
    with pytest.raises(InvalidArguments, match=re.escape(message)):
        plan_zone(domain="school.example.net", existing_zone_id=ZONE_ID, aliases=False)


@pytest.mark.parametrize(
    ("zone_name", "private", "domain", "ok"),
    [
        ("osp.example.com", False, "osp.example.com", True),
        ("example.com.", False, "osp.example.com", True),  # a parent zone
        ("Example.COM", False, "dev.osp.example.com", True),
        ("osp.example.com", True, "osp.example.com", False),  # private
        ("other.example.com", False, "osp.example.com", False),
        ("sp.example.com", False, "osp.example.com", False),  # a suffix, not a parent
    ],
)
def test_check_adopted(zone_name, private, domain, ok):
    zone = SimpleNamespace(name=zone_name, private_zone=private, zone_id=ZONE_ID)
    if ok:
        assert _check_adopted("z", zone, domain) == ZONE_ID
    else:
        with pytest.raises(InvalidArguments) as raised:
            _check_adopted("z", zone, domain)
        kind = "private" if private else "public"
        assert str(raised.value) == (
            f"Zone z: existing_zone_id: got '{ZONE_ID}'; expected the public zone of {domain!r} "
            f"or of a parent of it, not the {kind} zone {zone_name.rstrip('.').lower()!r}"
        )


# -- CAA -------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["prod", "adopted"])
def test_caa_lets_only_amazon_issue(fixture, request):
    caa = request.getfixturevalue(fixture).named("osp-t-dns-caa")
    assert (caa.inputs["name"], caa.inputs["type"]) == (DOMAIN, "CAA")
    assert sorted(caa.inputs["records"]) == sorted(
        f'0 {tag} "{ca}"'
        for tag in ("issue", "issuewild")
        for ca in ("amazon.com", "amazontrust.com", "awstrust.com", "amazonaws.com")
    )
    assert set(AMAZON_CAS) == {"amazon.com", "amazontrust.com", "awstrust.com", "amazonaws.com"}


# -- certificates ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["edge", "regional"])
def test_certificates_cover_the_domain_and_its_wildcard(prod, role):
    cert = prod.named(f"osp-t-dns-{role}-certificate")
    assert cert.inputs["domainName"] == DOMAIN
    assert cert.inputs["subjectAlternativeNames"] == [f"*.{DOMAIN}"]
    assert cert.inputs["validationMethod"] == "DNS"
    assert cert.inputs["keyAlgorithm"] == "RSA_2048"
    assert cert.inputs["options"] == {"certificateTransparencyLoggingPreference": "ENABLED"}
    assert cert.options.delete_before_replace is False
    assert "privateKey" not in cert.inputs and "certificateBody" not in cert.inputs


def test_edge_certificate_is_in_us_east_1_through_the_edge_provider(prod):
    use1 = provider_urn(prod)
    for name in ("osp-t-dns-edge-certificate", "osp-t-dns-edge-certificate-validation"):
        assert prod.named(name).provider == use1, name
    validation = prod.named("osp-t-dns-edge-certificate-validation")
    assert re.fullmatch(r"arn:aws:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}",
                        validation.inputs["certificateArn"])  # fmt: skip
    assert validation.property_dependencies["certificateArn"] == (
        prod.named("osp-t-dns-edge-certificate").urn,
    )


def test_regional_certificate_is_in_the_stacks_region(prod):
    for name in ("osp-t-dns-regional-certificate", "osp-t-dns-regional-certificate-validation"):
        assert prod.named(name).provider is None, name
    validation = prod.named("osp-t-dns-regional-certificate-validation")
    assert validation.inputs["certificateArn"].startswith(f"arn:aws:acm:{REGION}:")
    assert validation.property_dependencies["certificateArn"] == (
        prod.named("osp-t-dns-regional-certificate").urn,
    )


def test_only_the_edge_certificate_and_its_validation_use_the_edge_provider(prod):
    use1 = provider_urn(prod)
    assert {r.name for r in children(prod) if r.provider == use1} == {
        "osp-t-dns-edge-certificate",
        "osp-t-dns-edge-certificate-validation",
    }


def test_one_validation_record_serves_both_certificates(prod):
    cnames = [r for r in prod.of_type(RECORD) if r.inputs["type"] == "CNAME"]
    assert [r.name for r in cnames] == ["osp-t-dns-validation"]
    record = cnames[0]
    assert re.fullmatch(r"_[0-9a-f]{32}\.osp\.example\.com\.", record.inputs["name"])
    (value,) = record.inputs["records"]
    assert value.endswith(".acm-validations.aws.")
    assert record.inputs["ttl"] == 300
    edge = prod.named("osp-t-dns-edge-certificate")
    assert record.property_dependencies["name"] == (edge.urn,)
    assert record.property_dependencies["records"] == (edge.urn,)
    for role in ("edge", "regional"):
        validation = prod.named(f"osp-t-dns-{role}-certificate-validation")
        assert validation.inputs["validationRecordFqdns"] == [record.inputs["name"].rstrip(".")]
        assert validation.property_dependencies["validationRecordFqdns"] == (record.urn,)


def test_certificate_outputs_wait_for_validation(prod):
    for role in ("edge", "regional"):
        consumer = prod.named(f"consumer-{role}_certificate_arn")
        assert consumer.property_dependencies["insecureValue"] == (
            prod.named(f"osp-t-dns-{role}-certificate-validation").urn,
        )
    assert (
        prod.named("consumer-edge_certificate_arn")
        .inputs["insecureValue"]
        .startswith("arn:aws:acm:us-east-1:")
    )
    assert (
        prod.named("consumer-regional_certificate_arn")
        .inputs["insecureValue"]
        .startswith(f"arn:aws:acm:{REGION}:")
    )


# -- aliases ---------------------------------------------------------------------------


@pytest.mark.parametrize("record_type", ["A", "AAAA"])
def test_alias_records(prod, record_type):
    api = prod.named(f"osp-t-dns-api-{record_type.lower()}")
    assert (api.inputs["name"], api.inputs["type"]) == (f"api.{DOMAIN}", record_type)
    assert api.inputs["aliases"] == [
        {"name": ALB[0], "zoneId": ALB[1], "evaluateTargetHealth": True}
    ]
    student = prod.named(f"osp-t-dns-student-{record_type.lower()}")
    assert student.inputs["name"] == f"student.{DOMAIN}"
    assert student.inputs["aliases"] == [
        {"name": CDN[0], "zoneId": CDN[1], "evaluateTargetHealth": False}
    ]
    for record in (api, student):
        assert "records" not in record.inputs and "ttl" not in record.inputs
        assert record.parent == prod.named("osp-t-dns").urn


@pytest.mark.parametrize(
    ("label", "message"),
    [
        (
            "API",
            "alias label: got 'API'; expected a DNS label such as 'api' or 'student', relative "
            "to the domain",
        ),
        ("api.osp.example.com.", "alias label: got 'api.osp.example.com.'"),
        ("-api", "alias label: got '-api'"),
        ("", "alias label: got ''"),
    ],
)
def test_alias_refuses_bad_labels(label, message):
    def program(_spec):
        zone = Zone("z", ZoneArgs(domain=DOMAIN, edge_provider=aws.Provider("use1")))
        zone.alias(label, target_dns_name=CDN[0], target_zone_id=CDN[1])

    with pytest.raises(InvalidArguments, match=f"Zone z: {re.escape(message)}"):
        offline.run(SPEC, program)


def test_alias_refuses_a_label_twice():
    def program(_spec):
        zone = Zone("z", ZoneArgs(domain=DOMAIN, edge_provider=aws.Provider("use1")))
        zone.alias("api", target_dns_name=CDN[0], target_zone_id=CDN[1])
        zone.alias("api", target_dns_name=ALB[0], target_zone_id=ALB[1])

    message = (
        "Zone z: alias label: got 'api'; expected each label once (api.osp.example.com already "
        "has its alias records)"
    )
    with pytest.raises(InvalidArguments, match=re.escape(message)):
        offline.run(SPEC, program)


def test_nested_labels_are_allowed():
    def program(_spec):
        zone = Zone("z", ZoneArgs(domain=DOMAIN, edge_provider=aws.Provider("use1")))
        zone.alias("static.school", target_dns_name=CDN[0], target_zone_id=CDN[1])

    plan = offline.run(SPEC, program)
    assert plan.named("z-static.school-a").inputs["name"] == f"static.school.{DOMAIN}"


# -- protection and tags ---------------------------------------------------------------


def test_prod_protects_the_zone_only(prod):
    assert {r.name for r in prod.resources if r.options.protect} == {"osp-t-dns-zone"}


def test_dev_protects_nothing(dev):
    assert not any(r.options.protect for r in dev.resources)


def test_adopted_zone_protects_nothing(adopted):
    assert not any(r.options.protect for r in adopted.resources)


def test_every_taggable_resource_is_tagged(prod):
    untaggable = {RECORD, VALIDATION}
    tagged = [r for r in children(prod) if r.type not in untaggable]
    assert {r.type for r in tagged} == {ZONE, CERT}
    for resource in tagged:
        assert resource.inputs["tags"] == {"Name": resource.name, **TAGS}, resource.name


# -- bad args --------------------------------------------------------------------------


def zone_args(**overrides) -> ZoneArgs:
    return ZoneArgs(**{"domain": DOMAIN, "edge_provider": None, "tags": TAGS, **overrides})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"domain": "localhost"},
            "domain: got 'localhost'; expected a lower-case DNS name with at least two labels, "
            "such as school.example.com",
        ),
        ({"domain": "OSP.example.com"}, "domain: got 'OSP.example.com'"),
        ({"domain": "osp.example.com."}, "domain: got 'osp.example.com.'"),
        ({"domain": "osp..example.com"}, "domain: got 'osp..example.com'"),
        ({"domain": "10.0.0.1"}, "domain: got '10.0.0.1'"),
        (
            {"existing_zone_id": "zone-1"},
            "existing_zone_id: got 'zone-1'; expected a Route 53 hosted zone id such as "
            "Z0123456789ABCDEFGHIJ, or None to create a zone",
        ),
        ({"existing_zone_id": ""}, "existing_zone_id: got ''"),
        (
            {"edge_provider": None},
            "edge_provider: got None; expected an aws.Provider for us-east-1",
        ),
    ],
)
def test_refuses_bad_args(overrides, message):
    def program(_spec):
        provider = aws.Provider("use1", region="us-east-1")
        Zone("z", ZoneArgs(**{"domain": DOMAIN, "edge_provider": provider, **overrides}))

    with pytest.raises(InvalidArguments, match=f"Zone z: {re.escape(message)}"):
        offline.run(SPEC, program)


def test_reports_every_problem_at_once_and_creates_nothing():
    args = zone_args(domain="bad_domain", existing_zone_id="nope")
    assert [p.split(":")[1].strip() for p in problems("z", args)] == [
        "domain",
        "existing_zone_id",
        "edge_provider",
    ]

    def program(_spec):
        with pytest.raises(InvalidArguments, match="Zone z: domain"):
            Zone("z", args)

    plan = offline.run(SPEC, program)
    assert [r.type for r in plan.resources if r.custom] == []


def test_valid_args_have_no_problems():
    def program(_spec):
        args = zone_args(edge_provider=aws.Provider("use1"), existing_zone_id=ZONE_ID)
        assert problems("z", args) == []

    offline.run(SPEC, program)


# -- DNSSEC and query logging ----------------------------------------------------------------

LOGS_KEY = "arn:aws:kms:us-east-1:123456789012:key/0f0e0d0c-0b0a-0908-0706-050403020100"
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def signed():
    return plan_zone(
        deletion_protection=True,
        signing_key_deletion_window_days=30,
        query_log_kms_key_arn=LOGS_KEY,
        query_log_retention_days=365,
    )


def test_signing_and_query_logging_live_in_us_east_1(signed):
    edge = provider_urn(signed)
    new = {
        "osp-t-dns-dnssec-key": "aws:kms/key:Key",
        "osp-t-dns-ksk": "aws:route53/keySigningKey:KeySigningKey",
        "osp-t-dns-dnssec": "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec",
        "osp-t-dns-query-logs": "aws:cloudwatch/logGroup:LogGroup",
        "osp-t-dns-query-logs-policy": "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
        "osp-t-dns-query-log": "aws:route53/queryLog:QueryLog",
    }
    for name, token in new.items():
        resource = signed.named(name)
        assert resource.type == token
        assert resource.provider.startswith(edge), name
        assert resource.parent == signed.named("osp-t-dns").urn


def test_the_signing_key_is_an_ecdsa_p256_key_route_53_alone_may_sign_with(signed):
    key = signed.named("osp-t-dns-dnssec-key")
    assert key.inputs["customerMasterKeySpec"] == "ECC_NIST_P256"
    assert key.inputs["keyUsage"] == "SIGN_VERIFY"
    assert key.inputs["enableKeyRotation"] is False  # KMS rotates symmetric keys only
    assert key.inputs["deletionWindowInDays"] == 30
    assert key.options.protect is True
    policy = json.loads(key.inputs["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    zones = {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": "arn:aws:route53:::hostedzone/*"},
    }
    assert statements == {
        "AccountAdministers": {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        "Route53DnssecSigns": {
            "Sid": "Route53DnssecSigns",
            "Effect": "Allow",
            "Principal": {"Service": "dnssec-route53.amazonaws.com"},
            "Action": ["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign"],
            "Resource": "*",
            "Condition": zones,
        },
        "Route53DnssecGrants": {
            "Sid": "Route53DnssecGrants",
            "Effect": "Allow",
            "Principal": {"Service": "dnssec-route53.amazonaws.com"},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}, **zones},
        },
    }


def test_the_key_signing_key_signs_the_zone_and_yields_the_ds_record(signed):
    zone = signed.named("osp-t-dns-zone")
    ksk = signed.named("osp-t-dns-ksk")
    assert ksk.inputs["name"] == "osp-ksk" and ksk.inputs["status"] == "ACTIVE"
    assert ksk.property_dependencies["hostedZoneId"] == (zone.urn,)
    assert ksk.property_dependencies["keyManagementServiceArn"] == (
        signed.named("osp-t-dns-dnssec-key").urn,
    )
    dnssec = signed.named("osp-t-dns-dnssec")
    assert dnssec.inputs["signingStatus"] == "SIGNING"
    assert ksk.urn in dnssec.dependencies
    assert re.fullmatch(r"\d+ 13 2 [0-9A-F]{64}", signed.outputs["dsRecord"])


def test_queries_are_logged_to_an_encrypted_group_route_53_alone_may_write(signed):
    group = signed.named("osp-t-dns-query-logs")
    assert group.inputs["name"] == f"/aws/route53/{DOMAIN}"
    assert group.inputs["retentionInDays"] == 365
    assert group.inputs["kmsKeyId"] == LOGS_KEY
    policy = signed.named("osp-t-dns-query-logs-policy")
    (statement,) = json.loads(policy.inputs["policyDocument"])["Statement"]
    zone_id = signed.outputs["zoneId"]
    assert statement == {
        "Sid": "Route53WritesQueryLogs",
        "Effect": "Allow",
        "Principal": {"Service": "route53.amazonaws.com"},
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/route53/*",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": f"arn:aws:route53:::hostedzone/{zone_id}"},
        },
    }
    query_log = signed.named("osp-t-dns-query-log")
    assert query_log.property_dependencies["cloudwatchLogGroupArn"] == (group.urn,)
    assert query_log.inputs["cloudwatchLogGroupArn"] == (
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/route53/{DOMAIN}"
    )
    assert policy.urn in query_log.dependencies


def test_without_a_query_log_key_nothing_is_logged(prod):
    assert not prod.of_type("aws:route53/queryLog:QueryLog")
    assert not prod.of_type("aws:route53/keySigningKey:KeySigningKey")
    assert "dsRecord" not in prod.outputs


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"signing_key_deletion_window_days": 3},
            "Zone osp-t-dns: signing_key_deletion_window_days: got 3;",
        ),
        (
            {"query_log_retention_days": 42},
            "Zone osp-t-dns: query_log_retention_days: got 42;",
        ),
        (
            {"query_log_kms_key_arn": "alias/logs"},
            "Zone osp-t-dns: query_log_kms_key_arn: got 'alias/logs';",
        ),
        ({"dnssec": "yes"}, "Zone osp-t-dns: dnssec: got 'yes'; expected True or False"),
    ],
)
def test_signing_and_logging_arguments_are_checked(overrides, message):
    args = ZoneArgs(
        domain=DOMAIN, edge_provider=SimpleNamespace(), tags=TAGS, **overrides
    )  # the provider is refused too, separately
    assert any(line.startswith(message) for line in problems("osp-t-dns", args))
