import re

import pytest

from osp.platform import naming
from osp.platform.naming import NameKind, dns_label, fit, physical_name, standard_tags

LONG_ROLE = "enrollment-created-notification-consumer-dead-letter-queue-for-springfield-district"


def test_physical_name_is_osp_env_role():
    assert physical_name("prod", "network") == "osp-prod-network"


@pytest.mark.parametrize(
    ("kind", "limit"),
    [
        (NameKind.S3_BUCKET, 63),
        (NameKind.RDS_IDENTIFIER, 63),
        (NameKind.ELASTICACHE_ID, 40),
        (NameKind.IAM, 64),
        (NameKind.LOAD_BALANCER, 32),
        (NameKind.K8S_LABEL, 63),
        (NameKind.MQ_BROKER, 50),
        (NameKind.SQS_QUEUE, 75),
    ],
)
def test_long_names_fit_their_service_limit_and_stay_unique(kind, limit):
    a = physical_name("staging", LONG_ROLE, kind)
    b = physical_name("staging", LONG_ROLE + "-2", kind)
    assert len(a) <= limit and len(b) <= limit
    assert a != b
    assert a.startswith("osp-staging-")
    assert physical_name("staging", LONG_ROLE, kind) == a  # deterministic


@pytest.mark.parametrize(
    "kind",
    [NameKind.S3_BUCKET, NameKind.RDS_IDENTIFIER, NameKind.K8S_LABEL, NameKind.ELASTICACHE_ID],
)
def test_lower_case_kinds_are_lower_case_dns_style(kind):
    name = physical_name("prod", "Media_Assets..Bucket", kind)
    assert re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", name), name
    assert "--" not in name


def test_letter_first_kinds_never_start_with_a_digit():
    assert fit("2024-reports", NameKind.RDS_IDENTIFIER) == "osp-2024-reports"
    assert fit("2024-reports", NameKind.GENERIC) == "2024-reports"


def test_iam_keeps_its_extra_characters():
    assert fit("osp-prod-role+admin@x", NameKind.IAM) == "osp-prod-role+admin@x"


def test_invalid_characters_become_single_hyphens_and_trailing_ones_go():
    assert fit("osp prod//cache--", NameKind.ELASTICACHE_ID) == "osp-prod-cache"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Springfield High School", "springfield-high-school"),
        ("  St. Mary's  ", "st-mary-s"),
        ("ÉCOLE 42", "ecole-42"),
    ],
)
def test_dns_label(text, label):
    assert dns_label(text) == label


def test_dns_label_limits_length_with_a_hash():
    label = dns_label("x" * 100)
    assert len(label) <= 63 and re.fullmatch(r"[a-z0-9-]+", label)
    assert dns_label("x" * 100) != dns_label("x" * 101)


def test_dns_label_refuses_text_without_letters_or_digits():
    with pytest.raises(ValueError, match="no letters or digits"):
        dns_label("--- !!")


def test_standard_tags_carry_osps_keys_and_win_over_spec_tags():
    tags = standard_tags(
        environment="prod",
        component="network",
        blueprint="osp",
        extra={"team": "platform", naming.TAG_COMPONENT: "spoofed"},
    )
    assert tags == {
        "team": "platform",
        "osp:environment": "prod",
        "osp:component": "network",
        "osp:blueprint": "osp",
        "osp:managed-by": "osp",
    }
