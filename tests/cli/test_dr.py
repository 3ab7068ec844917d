"""`osp dr status`: what the plan protects (--offline), and what AWS says about it (boto3:
S3 replication against moto; AWS Backup through botocore's Stubber, as moto does not answer
backup:ListRecoveryPointsByResource)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from typer.testing import CliRunner

from osp.cli.main import app
from osp.platform.dr import dr_status, observe, protection
from osp.platform.project import find_project
from osp.stacks.estate import build
from tests.support import plan_of, share_estate_plans, shipped_project

runner = CliRunner()
DB = "arn:aws:rds:us-east-1:123456789012:db:osp-prod-postgres"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/osp-prod-tenants"


@pytest.fixture(autouse=True)
def _shared_estate_plans(monkeypatch):
    share_estate_plans(monkeypatch)


def osp(*args: str, project: Path | None = None):
    project = project or shipped_project()
    return runner.invoke(
        app, [*args, "--no-cache", "--project-dir", str(project)], env={"OSP_PROJECT_DIR": None}
    )


def _status(blueprint: str = "osp"):
    return protection(
        plan_of("prod", blueprint), environment="prod", region="us-east-1", dr_region="us-west-2"
    )


@pytest.mark.parametrize("blueprint", ["osp", "learning-hub"])
def test_the_plan_view_names_vault_locks_rules_resources_and_replications(blueprint):
    found = _status(blueprint)
    assert set(found.vaults.values()) == {35}
    assert len(found.vaults) == 2
    assert {(r.rule, r.retention_days) for r in found.rules} == {
        ("daily", 35),
        ("monthly", 365),
        ("continuous", 35),
    }
    by_arn = {p.arn: p.plans for p in found.protected}
    assert sorted(by_arn[DB]) == ["osp-prod-backups-continuous", "osp-prod-backups-plan"]
    assert by_arn[TABLE] == ("osp-prod-backups-plan",)
    buckets = {"osp": 4, "learning-hub": 2}[blueprint]
    assert len(found.replications) == buckets
    assert all(r.time_control for r in found.replications)
    assert all(
        r.replica_kms_key_arn.startswith("arn:aws:kms:us-west-2:") for r in found.replications
    )


def test_offline_json_is_the_plan_view():
    result = osp("dr", "status", "--env", "prod", "--offline", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["drRegion"] == "us-west-2" and data["live"] is False
    assert {p["arn"] for p in data["protected"]} >= {DB, TABLE}
    assert all(p["lastBackup"] is None for p in data["protected"])
    assert len(data["replications"]) == 4


def test_offline_text_shows_the_dr_region_and_the_lock():
    result = osp("dr", "status", "--env", "prod", "--offline")
    assert result.exit_code == 0, result.output
    assert "prod: primary us-east-1, DR region us-west-2" in result.output
    assert "locked (compliance, min 35 days)" in result.output


def test_dev_keeps_nothing_in_the_dr_region():
    result = osp("dr", "status", "--env", "dev", "--offline")
    assert result.exit_code == 0, result.output
    assert "No bucket replicates to the DR region" in result.output


def test_an_unknown_environment_is_named_and_exits_non_zero():
    result = osp("dr", "status", "--env", "nope", "--offline")
    assert result.exit_code != 0
    assert "nope" in result.output
    assert "Traceback" not in result.output


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


def _replicated_media(s3, status: dict) -> str:
    """Make the media bucket and its replication in moto as the plan declares them."""
    for replication in status.replications:
        s3.create_bucket(Bucket=replication.source_bucket)
    media = next(r for r in status.replications if "-media-" in r.source_bucket)
    s3.put_bucket_versioning(
        Bucket=media.source_bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    s3.put_bucket_replication(
        Bucket=media.source_bucket,
        ReplicationConfiguration={
            "Role": "arn:aws:iam::123456789012:role/replication",
            "Rules": [
                {
                    "ID": "to-dr-region",
                    "Status": "Enabled",
                    "Priority": 1,
                    "Filter": {"Prefix": ""},
                    "DeleteMarkerReplication": {"Status": "Enabled"},
                    "Destination": {"Bucket": media.destination_bucket_arn},
                }
            ],
        },
    )
    return media.source_bucket


def test_live_status_reads_last_backups_and_replication(aws):
    status = _status()
    s3 = boto3.client("s3", region_name="us-east-1")
    media = _replicated_media(s3, status)
    backup = boto3.client("backup", region_name="us-east-1")
    stub = Stubber(backup)
    newest = datetime(2026, 5, 9, 5, 10, tzinfo=UTC)
    for item in status.protected:
        if item.arn == DB:
            points = [
                {"RecoveryPointArn": "arn:aws:rds:us-east-1:123456789012:snapshot:a",
                 "CreationDate": datetime(2026, 5, 8, 5, 10, tzinfo=UTC), "Status": "COMPLETED"},
                {"RecoveryPointArn": "arn:aws:rds:us-east-1:123456789012:snapshot:b",
                 "CreationDate": newest, "Status": "COMPLETED"},
                {"RecoveryPointArn": "arn:aws:rds:us-east-1:123456789012:snapshot:c",
                 "CreationDate": datetime(2026, 5, 9, 6, 0, tzinfo=UTC), "Status": "PARTIAL"},
            ]  # fmt: skip
            stub.add_response(
                "list_recovery_points_by_resource", {"RecoveryPoints": points}, {"ResourceArn": DB}
            )
        elif item.arn == TABLE:
            stub.add_client_error(
                "list_recovery_points_by_resource",
                service_error_code="AccessDeniedException",
                service_message="not allowed",
                expected_params={"ResourceArn": TABLE},
            )
        else:
            stub.add_response(
                "list_recovery_points_by_resource",
                {"RecoveryPoints": []},
                {"ResourceArn": item.arn},
            )
    with stub:
        found = observe(status, backup=backup, s3=s3)
    stub.assert_no_pending_responses()
    by_arn = {p.arn: p for p in found.protected}
    assert found.live is True
    assert by_arn[DB].last_backup == newest and by_arn[DB].problem is None
    assert by_arn[TABLE].last_backup is None and "not allowed" in by_arn[TABLE].problem
    bucket = next(p for p in found.protected if p.arn.endswith(media))
    assert bucket.problem == "no completed recovery point yet"
    states = {r.source_bucket: r.live_status for r in found.replications}
    assert states[media] == "Enabled"
    assert {s for b, s in states.items() if b != media} == {"not configured"}


def test_dr_status_asks_aws_through_the_clients_it_is_given(aws):
    s3 = boto3.client("s3", region_name="us-east-1")
    backup = boto3.client("backup", region_name="us-east-1")
    stub = Stubber(backup)
    for _ in range(6):
        stub.add_response("list_recovery_points_by_resource", {"RecoveryPoints": []})
    asked = []

    def clients(service):
        asked.append(service)
        return {"s3": s3, "backup": backup}[service]

    with stub:
        found = dr_status(
            find_project(shipped_project()), "prod", program=build, offline=False, cache=False,
            clients=clients,
        )  # fmt: skip
    assert asked == ["backup", "s3"] and found.live
    assert {r.live_status for r in found.replications} == {"source bucket not found"}
