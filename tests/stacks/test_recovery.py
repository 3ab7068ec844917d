"""Disaster recovery in the estate: AWS Backup of what holds student data, copies in the DR
region, S3 replication of the data buckets (osp.stacks.recovery)."""

from __future__ import annotations

import json

import pytest

from osp.components.backup import SERVICE_ROLE_POLICIES
from osp.platform.plan import Plan, PlannedResource
from tests.support import plan_of, spec_of, statements

BLUEPRINTS = ("osp", "learning-hub")
DATA_BUCKETS = {
    "osp": ("media", "documents", "reports", "backups"),
    "learning-hub": ("media", "backups"),
}
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"


def _region(plan: Plan, resource: PlannedResource) -> str:
    """The region a resource is planned in: its provider's, or the environment's."""
    if resource.provider and "pulumi:providers:aws" in resource.provider:
        return plan.get(resource.provider).inputs["region"]
    return "us-east-1"


def _bucket_arn(plan: Plan, name: str) -> str:
    return f"arn:aws:s3:::{plan.named(f'osp-prod-{name}-bucket').inputs['bucket']}"


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_prod_backs_up_daily_for_35_days_and_monthly_for_a_year_with_copies(blueprint):
    plan = plan_of("prod", blueprint)
    rules = {r["ruleName"]: r for r in plan.named("osp-prod-backup-plan").inputs["rules"]}
    assert sorted(rules) == ["daily", "monthly"]
    copy_vault = "arn:aws:backup:us-west-2:123456789012:backup-vault:osp-prod-backups"
    for rule, days, schedule in (
        ("daily", 35, "cron(0 5 * * ? *)"),
        ("monthly", 365, "cron(0 5 1 * ? *)"),
    ):
        assert rules[rule]["schedule"] == schedule
        assert rules[rule]["targetVaultName"] == "osp-prod-backups"
        assert rules[rule]["lifecycle"] == {"deleteAfter": days}
        assert rules[rule]["copyActions"] == [
            {"destinationVaultArn": copy_vault, "lifecycle": {"deleteAfter": days}}
        ]


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_the_plan_selects_the_database_the_tenant_registry_and_every_data_bucket(blueprint):
    plan = plan_of("prod", blueprint)
    selected = plan.named("osp-prod-backup-selection").inputs["resources"]
    buckets = [_bucket_arn(plan, b) for b in DATA_BUCKETS[blueprint]]
    assert selected == [
        "arn:aws:rds:us-east-1:123456789012:db:osp-prod-postgres",
        "arn:aws:dynamodb:us-east-1:123456789012:table/osp-prod-tenants",
        *buckets,
    ]
    # Continuous backup (point-in-time restore) for the kinds that have it: not the table.
    continuous = plan.named("osp-prod-backup-continuous")
    (rule,) = continuous.inputs["rules"]
    assert rule["enableContinuousBackup"] is True and rule["lifecycle"] == {"deleteAfter": 35}
    assert plan.named("osp-prod-backup-continuous-selection").inputs["resources"] == [
        selected[0],
        *buckets,
    ]


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_both_vaults_are_encrypted_with_their_own_regions_keys_and_locked(blueprint):
    plan = plan_of("prod", blueprint)
    for prefix, region in (("osp-prod-backup", "us-east-1"), ("osp-prod-backup-copy", "us-west-2")):
        vault = plan.named(f"{prefix}-vault")
        key = plan.named(f"{prefix}-key")
        assert _region(plan, vault) == _region(plan, key) == region
        assert vault.inputs["kmsKeyArn"].startswith(f"arn:aws:kms:{region}:123456789012:key/")
        assert key.inputs["enableKeyRotation"] is True
        assert vault.options.protect and key.options.protect
        use = statements(key.inputs["policy"])["UseThroughBackup"]
        assert (
            use["Condition"]["StringEquals"]["kms:ViaService"] == f"backup.{region}.amazonaws.com"
        )
        lock = plan.named(f"{prefix}-lock").inputs
        assert lock == {
            "backupVaultName": "osp-prod-backups",
            "minRetentionDays": 35,
            "changeableForDays": 3,
        }


def test_the_backup_role_has_the_managed_backup_and_restore_policies():
    plan = plan_of("prod")
    role = plan.named("osp-prod-backup-role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "backup.amazonaws.com"
    }
    attached = sorted(
        r.inputs["policyArn"]
        for r in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if r.name.startswith("osp-prod-backup-role-")
    )
    assert attached == sorted(f"arn:aws:iam::aws:policy/{p}" for p in SERVICE_ROLE_POLICIES)


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_every_data_bucket_replicates_to_the_dr_region_with_rtc_in_prod(blueprint):
    plan = plan_of("prod", blueprint)
    dr_key = plan.named("osp-prod-dr-keys-storage")
    assert _region(plan, dr_key) == "us-west-2" and dr_key.inputs["enableKeyRotation"] is True
    configs = {r.inputs["bucket"]: r for r in plan.of_type(REPLICATION)}
    assert len(configs) == len(DATA_BUCKETS[blueprint])
    for name in DATA_BUCKETS[blueprint]:
        source = plan.named(f"osp-prod-{name}-bucket").inputs["bucket"]
        replica = plan.named(f"osp-prod-{name}-replica-bucket-bucket")
        assert _region(plan, replica) == "us-west-2"
        assert replica.inputs["bucket"] == source.replace(f"-{name}-", f"-{name}-dr-")
        (rule,) = configs[source].inputs["rules"]
        assert rule["status"] == "Enabled" and rule["filter"] == {"prefix": ""}
        assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
        assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
        destination = rule["destination"]
        assert destination["bucket"] == f"arn:aws:s3:::{replica.inputs['bucket']}"
        assert destination["encryptionConfiguration"] == {"replicaKmsKeyId": _arn(plan, dr_key)}
        assert destination["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
        assert destination["metrics"] == {"status": "Enabled", "eventThreshold": {"minutes": 15}}
        # The replica has the protections of a data bucket, with the DR region's key.
        encryption = plan.named(f"osp-prod-{name}-replica-bucket-encryption").inputs
        default = encryption["rules"][0]["applyServerSideEncryptionByDefault"]
        assert default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": _arn(plan, dr_key)}
        assert plan.named(f"osp-prod-{name}-replica-bucket-versioning").inputs[
            "versioningConfiguration"
        ] == {"status": "Enabled"}
        block = plan.named(f"osp-prod-{name}-replica-bucket-public-access-block").inputs
        assert all(
            block[k]
            for k in (
                "blockPublicAcls",
                "blockPublicPolicy",
                "ignorePublicAcls",
                "restrictPublicBuckets",
            )
        )
        logging = plan.named(f"osp-prod-{name}-replica-bucket-access-logging").inputs
        assert logging["targetBucket"] == plan.named("osp-prod-dr-logs-bucket").inputs["bucket"]


def _arn(plan: Plan, key: PlannedResource) -> str:
    region = _region(plan, key)
    selection = [
        r.inputs["targetKeyId"]
        for r in plan.of_type("aws:kms/alias:Alias")
        if r.name == f"{key.name}-alias"
    ]
    assert selection, key.name
    return f"arn:aws:kms:{region}:123456789012:key/{selection[0]}"


def test_the_replication_role_may_only_replicate_between_the_two_buckets():
    plan = plan_of("prod")
    source = plan.named("osp-prod-media-bucket").inputs["bucket"]
    policy = statements(plan.named("osp-prod-media-replica-role-policy").inputs["policy"])
    assert policy["ReadSourceVersions"]["Resource"] == f"arn:aws:s3:::{source}/*"
    assert (
        policy["WriteReplicas"]["Resource"]
        == f"arn:aws:s3:::{source.replace('-media-', '-media-dr-')}/*"
    )
    assert policy["WriteReplicas"]["Action"] == [
        "s3:ReplicateObject",
        "s3:ReplicateDelete",
        "s3:ReplicateTags",
    ]
    decrypt = policy["DecryptSource"]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    encrypt = policy["EncryptReplicas"]["Condition"]["StringEquals"]
    assert encrypt == {"kms:ViaService": "s3.us-west-2.amazonaws.com"}
    assert all(s["Resource"] != "*" for s in policy.values())


def test_staging_replicates_without_rtc_and_keeps_its_vault_unlocked():
    plan = plan_of("staging")
    (rule,) = plan.of_type(REPLICATION)[0].inputs["rules"]
    assert "replicationTime" not in rule["destination"] and "metrics" not in rule["destination"]
    assert not plan.of_type("aws:backup/vaultLockConfiguration:VaultLockConfiguration")
    # The replicas log their access into the DR region's own log bucket.
    logs = plan.named("osp-staging-dr-logs-bucket").inputs["bucket"]
    for name in DATA_BUCKETS["osp"]:
        logging = plan.named(f"osp-staging-{name}-replica-bucket-access-logging").inputs
        assert logging["targetBucket"] == logs


def test_dev_backs_up_in_its_own_region_only():
    plan = plan_of("dev")
    assert spec_of("dev").dr.cross_region is False
    (rule,) = plan.named("osp-dev-backup-plan").inputs["rules"]
    assert rule["ruleName"] == "daily" and rule["lifecycle"] == {"deleteAfter": 7}
    assert "copyActions" not in rule
    assert not plan.of_type(REPLICATION)
    assert not [
        r for r in plan.resources if r.type == "pulumi:providers:aws" and "us-west-2" in r.name
    ]
    assert not plan.of_type("aws:backup/vaultLockConfiguration:VaultLockConfiguration")
    assert [r.name for r in plan.of_type("aws:backup/plan:Plan")] == ["osp-dev-backup-plan"]
