"""osp:dr and osp:database.restore_from_snapshot: defaults per profile, and exact messages."""

from __future__ import annotations

import pytest

from osp.platform.errors import SpecError
from osp.platform.spec import parse_stack_file
from tests.support import spec_of

SOURCE = "stacks/Pulumi.prod.yaml"
ADMIN = "arn:aws:iam::123456789012:role/platform-admin"


def parse(extra: str = "", region: str = "eu-west-2", environment: str = "prod"):
    text = (
        f"config:\n  aws:region: {region}\n  osp:domain: school.example.com\n"
        f"  osp:cluster: {{admin_role_arns: [{ADMIN}]}}\n" + extra
    )
    return parse_stack_file(text, environment=environment, source=SOURCE)


def problems(extra: str, region: str = "eu-west-2") -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse(extra, region)
    return caught.value.problems


@pytest.mark.parametrize(
    ("environment", "cross_region", "rtc", "monthly", "continuous", "lock"),
    [
        ("dev", False, False, None, False, None),
        ("staging", True, False, 90, True, None),
        ("prod", True, True, 365, True, 35),
    ],
)
def test_profiles_choose_how_much_is_kept_and_where(
    environment, cross_region, rtc, monthly, continuous, lock
):
    dr = spec_of(environment).dr
    assert (dr.cross_region, dr.replication_time_control) == (cross_region, rtc)
    assert (dr.monthly_retention_days, dr.continuous_backup) == (monthly, continuous)
    assert dr.vault_lock_min_retention_days == lock


def test_prod_keeps_daily_backups_35_days_and_monthly_a_year():
    dr = spec_of("prod").dr
    assert (dr.daily_retention_days, dr.monthly_retention_days) == (35, 365)


def test_the_dr_region_defaults_to_the_primary_regions_pair():
    assert spec_of("prod").dr_region == "us-west-2"
    assert parse().dr_region == "eu-west-1"
    assert parse("  osp:dr: {region: eu-central-1}\n").dr_region == "eu-central-1"


def test_the_dr_region_must_differ_from_the_primary():
    assert problems("  osp:dr: {region: eu-west-2}\n") == [
        f"{SOURCE}:5: osp:dr.region: got 'eu-west-2'; expected a region other than aws:region "
        "(eu-west-2): a copy in the same region goes down with it"
    ]


def test_a_region_without_a_known_pair_names_its_dr_region():
    found = problems("", region="me-south-1")
    assert found == [
        f"{SOURCE}: osp:dr.region: expected a DR region other than me-south-1 (osp knows no "
        "pair for it), such as us-west-2"
    ]


def test_the_dr_region_is_a_region():
    assert problems("  osp:dr: {region: mars-1}\n") == [
        f"{SOURCE}:5: osp:dr.region: got 'mars-1'; expected an AWS region such as us-east-1 "
        "or eu-west-2"
    ]


def test_a_vault_lock_longer_than_the_shortest_retention_is_refused():
    found = problems("  osp:dr: {daily_retention_days: 10, vault_lock_min_retention_days: 30}\n")
    assert len(found) == 1
    assert (
        "vault_lock_min_retention_days (30) <= the shortest retention of the plan (10 days)"
        in (found[0])
    )


def test_continuous_backup_keeps_at_most_35_days():
    found = problems("  osp:dr: {continuous_retention_days: 36}\n")
    assert len(found) == 1 and "osp:dr.continuous_retention_days: got 36" in found[0]


@pytest.mark.parametrize(
    "snapshot",
    [
        "osp-prod-postgres-2025-01-31",
        "rds:osp-prod-postgres-2025-01-31-03-10",
        "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-0a1b2c3d-4e5f",
    ],
)
def test_the_database_restores_from_a_snapshot_id_or_arn(snapshot):
    spec = parse(f"  osp:database: {{restore_from_snapshot: '{snapshot}'}}\n")
    assert spec.database.restore_from_snapshot == snapshot


@pytest.mark.parametrize("snapshot", ["1abc", "two--hyphens", "ends-", "arn:aws:s3:::bucket"])
def test_a_malformed_snapshot_is_refused_with_the_key(snapshot):
    found = problems(f"  osp:database: {{restore_from_snapshot: '{snapshot}'}}\n")
    assert found == [
        f"{SOURCE}:5: osp:database.restore_from_snapshot: got '{snapshot}'; expected an RDS "
        "snapshot identifier or ARN, such as osp-prod-db-2025-01-31 or "
        "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-<id>"
    ]
