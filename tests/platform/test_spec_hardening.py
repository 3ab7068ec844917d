"""The spec switches of issue 19's hardening: DNSSEC and query logging (`osp:dns`), the
account's audit trail, GuardDuty and Config (`osp:audit`), access logs on in every profile."""

from __future__ import annotations

import textwrap

import pytest

from osp.platform.errors import SpecError
from osp.platform.spec import parse_stack_file
from tests.support import spec_of

SOURCE = "stacks/Pulumi.prod.yaml"
STACK = """\
config:
  aws:region: eu-west-2
  osp:domain: school.example.com
  osp:cluster: {admin_role_arns: [arn:aws:iam::123456789012:role/platform-admin]}
"""


def parse(extra: str = "", environment: str = "prod"):
    return parse_stack_file(textwrap.dedent(STACK) + extra, environment=environment, source=SOURCE)


def problems(extra: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse(extra)
    return caught.value.problems


@pytest.mark.parametrize(
    ("environment", "trail", "guardduty", "config", "audit_days", "query_days"),
    [
        ("dev", False, False, False, 30, 30),
        ("staging", True, False, False, 90, 90),
        ("prod", True, True, True, 365, 365),
    ],
)
def test_the_presets_choose_what_each_profile_records(
    environment, trail, guardduty, config, audit_days, query_days
):
    spec = spec_of(environment)
    assert (spec.audit.trail, spec.audit.guardduty, spec.audit.config_recorder) == (
        trail,
        guardduty,
        config,
    )
    assert spec.audit.retention_days == audit_days
    assert spec.dns.dnssec is True and spec.dns.query_logging is True
    assert spec.dns.query_log_retention_days == query_days
    assert spec.storage.access_logging is True and spec.edge.access_logs is True


def test_an_organisation_trail_means_no_trail_of_its_own():
    spec = parse("  osp:audit: {organization_trail: true}\n")
    assert spec.audit.cloudtrail is True and spec.audit.trail is False
    assert spec.audit.guardduty is True and spec.audit.config_recorder is True


def test_each_switch_can_be_turned_off():
    spec = parse(
        "  osp:audit: {cloudtrail: false, guardduty: false, config_recorder: false}\n"
        "  osp:dns: {dnssec: false, query_logging: false}\n"
    )
    assert not (spec.audit.trail or spec.audit.guardduty or spec.audit.config_recorder)
    assert not (spec.dns.dnssec or spec.dns.query_logging)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "  osp:dns: {query_log_retention_days: 42}\n",
            f"{SOURCE}:5: osp:dns.query_log_retention_days: got 42; expected a CloudWatch Logs "
            "retention period",
        ),
        (
            "  osp:dns: {dnssec: sometimes}\n",
            f"{SOURCE}:5: osp:dns.dnssec: got 'sometimes'; expected",
        ),
        (
            "  osp:audit: {retention_days: 0}\n",
            f"{SOURCE}:5: osp:audit.retention_days: got 0; expected a number >= 1",
        ),
        (
            "  osp:audit: {guardduty: maybe}\n",
            f"{SOURCE}:5: osp:audit.guardduty: got 'maybe'; expected",
        ),
        (
            "  osp:audit: {cloudwatch: true}\n",
            f"{SOURCE}:5: osp:audit.cloudwatch: unknown key 'cloudwatch'; did you mean "
            "'cloudtrail'?",
        ),
    ],
)
def test_bad_values_are_refused_naming_the_key_and_the_value(extra, expected):
    found = problems(extra)
    assert any(line.startswith(expected) for line in found), found
