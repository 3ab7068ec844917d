"""`AccountAudit` through the offline engine: the trail, GuardDuty, the Config recorder, the
audit key and bucket, each switch, and the arguments it refuses."""

from __future__ import annotations

import json

import pytest

from osp.components.audit import AccountAudit, AccountAuditArgs, problems
from osp.platform.validation import InvalidArguments
from tests.support import custom_counts, plan_component

NAME = "osp-t-audit"
ACCOUNT = "123456789012"
TAGS = {"osp:environment": "t", "osp:component": "audit", "osp:blueprint": "osp",
        "osp:managed-by": "osp"}  # fmt: skip
TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{NAME}-trail"


def args(**overrides) -> AccountAuditArgs:
    return AccountAuditArgs(
        **{
            "bucket_name": "osp-t-audit-775194b8",
            "retention_days": 365,
            "deletion_window_days": 30,
            "deletion_protection": True,
            "access_log_bucket": "osp-t-logs-775194b8",
            "tags": TAGS,
            **overrides,
        }
    )


@pytest.fixture(scope="module")
def full():
    return plan_component(AccountAudit, args(), name=NAME)


def test_children(full):
    assert custom_counts(full) == {
        "cloudtrail/trail": 1,
        "guardduty/detector": 1,
        "guardduty/detectorFeature": 2,
        "cfg/recorder": 1,
        "cfg/deliveryChannel": 1,
        "cfg/recorderStatus": 1,
        "iam/role": 1,
        "iam/rolePolicy": 1,
        "iam/rolePolicyAttachment": 1,
        "kms/key": 1,
        "s3/bucket": 1,
        "s3/bucketOwnershipControls": 1,
        "s3/bucketPublicAccessBlock": 1,
        "s3/bucketServerSideEncryptionConfiguration": 1,
        "s3/bucketVersioning": 1,
        "s3/bucketLifecycleConfiguration": 1,
        "s3/bucketLogging": 1,
        "s3/bucketPolicy": 1,
    }


def test_the_trail_is_multi_region_validated_and_encrypted_into_the_audit_bucket(full):
    trail = full.named(f"{NAME}-trail")
    key = full.named(f"{NAME}-key")
    bucket = full.named(f"{NAME}-logs-bucket")
    assert trail.inputs["name"] == f"{NAME}-trail"
    assert trail.inputs["isMultiRegionTrail"] is True
    assert trail.inputs["includeGlobalServiceEvents"] is True
    assert trail.inputs["enableLogFileValidation"] is True
    assert trail.inputs["enableLogging"] is True
    assert trail.inputs["s3KeyPrefix"] == "cloudtrail"
    assert trail.property_dependencies["kmsKeyId"] == (key.urn,)
    assert trail.inputs["s3BucketName"] == "osp-t-audit-775194b8"
    assert full.named(f"{NAME}-logs-policy").urn in trail.dependencies
    assert bucket.urn in trail.property_dependencies["s3BucketName"]


def test_the_audit_key_rotates_and_lets_cloudtrail_encrypt_for_this_trail_only(full):
    key = full.named(f"{NAME}-key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    assert key.options.protect is True
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    assert set(statements) == {
        "AccountAdministers",
        "CloudTrailEncryptsLogFiles",
        "CloudTrailDescribesKey",
    }
    encrypt = statements["CloudTrailEncryptsLogFiles"]
    assert encrypt["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert encrypt["Action"] == "kms:GenerateDataKey*"
    assert encrypt["Condition"] == {
        "StringEquals": {"aws:SourceArn": TRAIL},
        "StringLike": {
            "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
        },
    }
    assert statements["CloudTrailDescribesKey"]["Condition"] == {
        "StringEquals": {"aws:SourceArn": TRAIL}
    }


def test_the_audit_bucket_has_its_own_lifecycle_and_admits_only_this_trail(full):
    lifecycle = {r["id"]: r for r in full.named(f"{NAME}-logs-lifecycle").inputs["rules"]}
    assert lifecycle["expire-objects"]["expiration"] == {"days": 365}
    encryption = full.named(f"{NAME}-logs-encryption").inputs["rules"][0]
    assert encryption["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    logging = full.named(f"{NAME}-logs-access-logging").inputs
    assert logging["targetBucket"] == "osp-t-logs-775194b8"
    policy = json.loads(full.named(f"{NAME}-logs-policy").inputs["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert set(statements) == {"DenyInsecureTransport", "CloudTrailChecksAcl", "CloudTrailWrites"}
    write = statements["CloudTrailWrites"]
    assert write["Resource"] == (
        f"arn:aws:s3:::osp-t-audit-775194b8/cloudtrail/AWSLogs/{ACCOUNT}/*"
    )
    assert write["Condition"] == {
        "StringEquals": {"aws:SourceArn": TRAIL, "s3:x-amz-acl": "bucket-owner-full-control"}
    }
    assert statements["CloudTrailChecksAcl"]["Action"] == "s3:GetBucketAcl"


def test_guardduty_protects_eks(full):
    detector = full.named(f"{NAME}-guardduty")
    assert detector.inputs["enable"] is True
    assert detector.inputs["findingPublishingFrequency"] == "FIFTEEN_MINUTES"
    features = {
        f.inputs["name"]: f for f in full.of_type("aws:guardduty/detectorFeature:DetectorFeature")
    }
    assert set(features) == {"EKS_AUDIT_LOGS", "RUNTIME_MONITORING"}
    for feature in features.values():
        assert feature.inputs["status"] == "ENABLED"
        assert feature.property_dependencies["detectorId"] == (detector.urn,)
    assert features["RUNTIME_MONITORING"].inputs["additionalConfigurations"] == [
        {"name": "EKS_ADDON_MANAGEMENT", "status": "ENABLED"}
    ]


def test_the_config_recorder_records_everything_and_delivers_to_the_audit_bucket(full):
    recorder = full.named(f"{NAME}-config-recorder")
    assert recorder.inputs["recordingGroup"] == {
        "allSupported": True,
        "includeGlobalResourceTypes": True,
    }
    role = full.named(f"{NAME}-config")
    assert recorder.property_dependencies["roleArn"] == (role.urn,)
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "config.amazonaws.com"}
    managed = full.named(f"{NAME}-config-managed").inputs["policyArn"]
    assert managed == "arn:aws:iam::aws:policy/service-role/AWS_ConfigRole"
    channel = full.named(f"{NAME}-config-channel")
    assert channel.type == "aws:cfg/deliveryChannel:DeliveryChannel"
    assert channel.inputs["s3KeyPrefix"] == "config"
    assert channel.inputs["s3BucketName"] == "osp-t-audit-775194b8"
    assert channel.property_dependencies["s3KmsKeyArn"] == (full.named(f"{NAME}-key").urn,)
    assert recorder.urn in channel.dependencies
    status = full.named(f"{NAME}-config-status")
    assert status.inputs["isEnabled"] is True
    assert channel.urn in status.dependencies
    delivery = json.loads(full.named(f"{NAME}-config-delivery").inputs["policy"])
    (put,) = [s for s in delivery["Statement"] if s["Action"] == "s3:PutObject"]
    assert put["Resource"] == (
        f"arn:aws:s3:::osp-t-audit-775194b8/config/AWSLogs/{ACCOUNT}/Config/*"
    )


def test_an_organisation_trail_leaves_out_the_trail_and_its_statements():
    plan = plan_component(AccountAudit, args(trail=False), name=NAME)
    assert not plan.of_type("aws:cloudtrail/trail:Trail")
    key = plan.named(f"{NAME}-key")
    assert [s["Sid"] for s in json.loads(key.inputs["policy"])["Statement"]] == [
        "AccountAdministers"
    ]
    policy = json.loads(plan.named(f"{NAME}-logs-policy").inputs["policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["DenyInsecureTransport"]


def test_guardduty_alone_needs_no_key_or_bucket():
    plan = plan_component(AccountAudit, args(trail=False, config_recorder=False), name=NAME)
    assert custom_counts(plan) == {"guardduty/detector": 1, "guardduty/detectorFeature": 2}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"retention_days": 0}, "AccountAudit osp-t-audit: retention_days: got 0;"),
        ({"deletion_window_days": 3}, "AccountAudit osp-t-audit: deletion_window_days: got 3;"),
        ({"bucket_name": "Audit.Logs"}, "AccountAudit osp-t-audit: bucket_name: got 'Audit.Logs';"),
        ({"guardduty": "yes"}, "AccountAudit osp-t-audit: guardduty: got 'yes'; expected True or"),
        (
            {"trail": False, "guardduty": False, "config_recorder": False},
            "AccountAudit osp-t-audit: trail: got False with guardduty and config_recorder False",
        ),
    ],
)
def test_refuses_bad_arguments_naming_them(overrides, expected):
    found = problems(NAME, args(**overrides))
    assert any(line.startswith(expected) for line in found), found
    with pytest.raises(InvalidArguments):
        plan_component(AccountAudit, args(**overrides), name=NAME)
