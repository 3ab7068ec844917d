"""`Postgres` restored from a snapshot (`restore_from_snapshot`), and the estate's key for it
(`osp:database.restore_from_snapshot`) on the prod plans of both blueprints."""

from __future__ import annotations

import pytest

from osp.components.database import PostgresArgs, problems
from osp.platform.spec.models import EnvironmentSpec
from tests.components.test_database import PROD, RDS, plan_postgres
from tests.support import estate_plan, plan_of, spec_of

SNAPSHOT = "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-0a1b2c3d-4e5f"


def test_a_restored_primary_starts_from_the_snapshot_and_its_master_user():
    plan = plan_postgres({**PROD, "restore_from_snapshot": SNAPSHOT})
    primary = plan.named("osp-t-db-primary")
    assert primary.inputs["snapshotIdentifier"] == SNAPSHOT
    assert "username" not in primary.inputs
    # Everything else is the primary's as ever: encrypted with the key, secret managed by RDS.
    assert primary.inputs["kmsKeyId"] == PROD["kms_key_arn"]
    assert primary.inputs["manageMasterUserPassword"] is True
    # The replicas follow the primary, not the snapshot.
    replicas = [r for r in plan.of_type(RDS) if r is not primary]
    assert replicas and all("snapshotIdentifier" not in r.inputs for r in replicas)


def test_a_new_primary_has_no_snapshot():
    primary = plan_postgres(PROD).named("osp-t-db-primary")
    assert "snapshotIdentifier" not in primary.inputs
    assert primary.inputs["username"] == "osp_admin"


def test_a_malformed_snapshot_argument_is_named():
    found = problems("db", PostgresArgs(**{**PROD, "restore_from_snapshot": "not--one"}))
    assert len(found) == 1 and "restore_from_snapshot" in found[0] and "'not--one'" in found[0]


@pytest.mark.parametrize("blueprint", ["osp", "learning-hub"])
def test_the_spec_key_restores_the_estates_database(blueprint):
    base = spec_of("prod", blueprint)
    data = base.model_dump(by_alias=True)
    data["osp:database"]["restore_from_snapshot"] = "osp-prod-postgres-2025-01-31"
    spec = EnvironmentSpec.model_validate(data)
    primary = estate_plan(spec).named("osp-prod-postgres-primary")
    assert primary.inputs["snapshotIdentifier"] == "osp-prod-postgres-2025-01-31"
    assert (
        "snapshotIdentifier"
        not in plan_of("prod", blueprint).named("osp-prod-postgres-primary").inputs
    )
