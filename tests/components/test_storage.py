"""`Bucket` and `LogBucket` through the offline engine: exact children, access, encryption,
lifecycle, TLS-only policies, log deliveries, protection."""

from __future__ import annotations

import json
import re

import pulumi
import pytest

from osp.components.storage import (
    Bucket,
    BucketArgs,
    LogBucket,
    LogBucketArgs,
    ObjectOwnership,
    OnDelete,
    alb_log_delivery_statement,
    bucket_policy,
    lifecycle_rules,
    problems,
)
from osp.platform.engine import offline
from osp.platform.validation import InvalidArguments
from tests.support import plan_component, spec_of

ACCOUNT = "123456789012"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0f0e0d0c-0b0a-0908-0706-050403020100"
TAGS = {"osp:environment": "t", "osp:component": "storage", "osp:blueprint": "osp",
        "osp:managed-by": "osp"}  # fmt: skip
CLOUDFRONT_LOG_DELIVERY = "c4c1ede66af53448b93c283ce9448c4ba468c9432aa01d700d3878632f77d2d0"
US_EAST_1_ELB_ACCOUNT = "arn:aws:iam::127311923021:root"

S3 = "aws:s3/"
BUCKET = S3 + "bucket:Bucket"
OWNERSHIP = S3 + "bucketOwnershipControls:BucketOwnershipControls"
PUBLIC_ACCESS_BLOCK = S3 + "bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION = S3 + "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = S3 + "bucketVersioning:BucketVersioning"
LIFECYCLE = S3 + "bucketLifecycleConfiguration:BucketLifecycleConfiguration"
LOGGING = S3 + "bucketLogging:BucketLogging"
POLICY = S3 + "bucketPolicy:BucketPolicy"
ACL = S3 + "bucketAcl:BucketAcl"


def bucket_args(**overrides) -> BucketArgs:
    return BucketArgs(
        **{"bucket_name": "osp-t-media", "deletion_protection": False, "tags": TAGS, **overrides}
    )


BUCKET_OUTPUTS = ("bucket_name", "arn", "regional_domain_name", "domain_name")


def plan_bucket(name: str = "osp-t-media", **overrides):
    return plan_component(Bucket, bucket_args(**overrides), name=name, exports=BUCKET_OUTPUTS)


def log_args(**overrides) -> LogBucketArgs:
    return LogBucketArgs(
        **{
            "bucket_name": "osp-t-logs",
            "retention_days": 90,
            "deletion_protection": True,
            "tags": TAGS,
            **overrides,
        }
    )


def plan_logs(name: str = "osp-t-logs", **overrides):
    return plan_component(
        LogBucket, log_args(**overrides), name=name, exports=("domain_name", "bucket_name")
    )


#: A plain bucket: every default.
@pytest.fixture(scope="module")
def plain():
    return plan_bucket()


#: A documents bucket as prod has it: KMS, archive, access logs, extra statements, protected.
@pytest.fixture(scope="module")
def documents():
    extra = {
        "Sid": "ServiceReads",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/documents"},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::osp-t-documents/*",
    }
    return plan_bucket(
        "osp-t-documents",
        bucket_name="osp-t-documents",
        kms_key_arn=KEY,
        archive=True,
        noncurrent_version_expiry_days=90,
        access_log_bucket="osp-t-logs",
        policy_statements=[extra],
        deletion_protection=True,
    )


@pytest.fixture(scope="module")
def logs():
    return plan_logs()


def policy_of(plan, name):
    return json.loads(plan.named(name).inputs["policy"])


def statements(plan, name):
    return {s["Sid"]: s for s in policy_of(plan, name)["Statement"]}


def rules(plan, name):
    return {r["id"]: r for r in plan.named(name).inputs["rules"]}


# -- children --------------------------------------------------------------------------


def test_plain_bucket_children(plain):
    assert plain.type_counts() == {
        "osp:storage:Bucket": 1,
        BUCKET: 1,
        OWNERSHIP: 1,
        PUBLIC_ACCESS_BLOCK: 1,
        ENCRYPTION: 1,
        VERSIONING: 1,
        LIFECYCLE: 1,
        POLICY: 1,
    }
    component = plain.named("osp-t-media")
    assert component.type == "osp:storage:Bucket"
    assert {r.name for r in plain.children(component.urn)} == {
        "osp-t-media-bucket",
        "osp-t-media-ownership",
        "osp-t-media-public-access-block",
        "osp-t-media-encryption",
        "osp-t-media-versioning",
        "osp-t-media-lifecycle",
        "osp-t-media-policy",
    }


def test_documents_bucket_adds_access_logging(documents):
    assert documents.type_counts()[LOGGING] == 1
    component = documents.named("osp-t-documents")
    assert all(r.parent == component.urn for r in documents.resources if r.custom)


def test_every_child_configures_this_bucket(documents):
    bucket = documents.named("osp-t-documents-bucket")
    assert bucket.inputs["bucket"] == "osp-t-documents"
    configuration = [r for r in documents.resources if r.custom and r.type != BUCKET]
    assert len(configuration) == 7  # ownership … policy, access logging among them
    for resource in configuration:
        assert resource.inputs["bucket"] == "osp-t-documents", resource.name
        assert resource.property_dependencies["bucket"] == (bucket.urn,), resource.name


def test_outputs(plain):
    assert plain.outputs == {
        "bucket_name": "osp-t-media",
        "arn": "arn:aws:s3:::osp-t-media",
        "regional_domain_name": "osp-t-media.s3.us-east-1.amazonaws.com",
        "domain_name": "osp-t-media.s3.amazonaws.com",
    }


# -- access ----------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["plain", "documents", "logs"])
def test_public_access_is_blocked_on_all_four_flags(fixture, request):
    plan = request.getfixturevalue(fixture)
    (block,) = plan.of_type(PUBLIC_ACCESS_BLOCK)
    for flag in ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy",
                 "restrictPublicBuckets"):  # fmt: skip
        assert block.inputs[flag] is True, flag


@pytest.mark.parametrize("fixture", ["plain", "documents"])
def test_acls_are_off_by_default(fixture, request):
    (ownership,) = request.getfixturevalue(fixture).of_type(OWNERSHIP)
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_acls_can_be_honoured_for_log_deliveries():
    plan = plan_bucket(object_ownership=ObjectOwnership.BUCKET_OWNER_PREFERRED)
    (ownership,) = plan.of_type(OWNERSHIP)
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerPreferred"}


@pytest.mark.parametrize("fixture", ["plain", "documents", "logs"])
def test_not_force_destroyed_nor_retained_by_default(fixture, request):
    plan = request.getfixturevalue(fixture)
    (bucket,) = plan.of_type(BUCKET)
    assert bucket.inputs["forceDestroy"] is False
    assert not [r.name for r in plan.resources if r.options.retain_on_delete]


def test_on_delete_empty_force_destroys_the_bucket_only():
    plan = plan_bucket(on_delete=OnDelete.EMPTY, access_log_bucket="osp-t-logs")
    (bucket,) = plan.of_type(BUCKET)
    assert bucket.inputs["forceDestroy"] is True
    assert not [r.name for r in plan.resources if r.options.retain_on_delete]


def test_on_delete_retain_leaves_the_bucket_and_all_its_configuration():
    plan = plan_bucket(on_delete=OnDelete.RETAIN, access_log_bucket="osp-t-logs")
    (bucket,) = plan.of_type(BUCKET)
    assert bucket.inputs["forceDestroy"] is False
    children = [r for r in plan.resources if r.custom]
    assert {r.type for r in children} >= {BUCKET, POLICY, ENCRYPTION, PUBLIC_ACCESS_BLOCK, LOGGING}
    assert [r.name for r in children if not r.options.retain_on_delete] == []


# -- encryption and versioning ---------------------------------------------------------


def test_kms_key_gives_sse_kms_with_a_bucket_key(documents):
    (encryption,) = documents.of_type(ENCRYPTION)
    assert encryption.inputs["rules"] == [
        {
            "applyServerSideEncryptionByDefault": {
                "sseAlgorithm": "aws:kms",
                "kmsMasterKeyId": KEY,
            },
            "bucketKeyEnabled": True,
        }
    ]


@pytest.mark.parametrize("fixture", ["plain", "logs"])
def test_no_key_gives_sse_s3(fixture, request):
    (encryption,) = request.getfixturevalue(fixture).of_type(ENCRYPTION)
    assert encryption.inputs["rules"] == [
        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}
    ]


@pytest.mark.parametrize("fixture", ["plain", "documents", "logs"])
def test_versioning_is_on_by_default(fixture, request):
    (versioning,) = request.getfixturevalue(fixture).of_type(VERSIONING)
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}


def test_versioning_can_be_suspended():
    (versioning,) = plan_bucket(versioning=False).of_type(VERSIONING)
    assert versioning.inputs["versioningConfiguration"] == {"status": "Suspended"}


# -- lifecycle -------------------------------------------------------------------------


def test_plain_lifecycle_aborts_uploads_and_expires_old_versions(plain):
    assert rules(plain, "osp-t-media-lifecycle") == {
        "abort-incomplete-multipart-uploads": {
            "id": "abort-incomplete-multipart-uploads",
            "status": "Enabled",
            "filter": {},
            "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7},
        },
        "expire-noncurrent-versions": {
            "id": "expire-noncurrent-versions",
            "status": "Enabled",
            "filter": {},
            "noncurrentVersionExpiration": {"noncurrentDays": 30},
            "expiration": {"expiredObjectDeleteMarker": True},
        },
    }


def test_archive_moves_to_standard_ia_then_glacier(documents):
    found = rules(documents, "osp-t-documents-lifecycle")
    assert found["archive"] == {
        "id": "archive",
        "status": "Enabled",
        "filter": {},
        "transitions": [
            {"days": 90, "storageClass": "STANDARD_IA"},
            {"days": 365, "storageClass": "GLACIER"},
        ],
    }
    assert found["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {
        "noncurrentDays": 90
    }
    assert "expire-objects" not in found


def test_expiry_for_logs():
    found = rules(plan_bucket(expire_after_days=30), "osp-t-media-lifecycle")
    assert found["expire-objects"]["expiration"] == {"days": 30}
    assert found["expire-objects"]["filter"] == {}
    assert "archive" not in found


def test_lifecycle_waits_for_versioning(plain):
    lifecycle = plain.named("osp-t-media-lifecycle")
    assert plain.named("osp-t-media-versioning").urn in lifecycle.dependencies


def test_lifecycle_rules_archive_then_expire():
    found = lifecycle_rules(bucket_args(archive=True, expire_after_days=400))
    assert [r["id"] for r in found] == [
        "abort-incomplete-multipart-uploads",
        "expire-noncurrent-versions",
        "archive",
        "expire-objects",
    ]


# -- server access logging -------------------------------------------------------------


def test_access_logs_go_to_the_log_bucket_by_date(documents):
    (logging,) = documents.of_type(LOGGING)
    assert logging.inputs["targetBucket"] == "osp-t-logs"
    assert logging.inputs["targetPrefix"] == "s3-access-logs/osp-t-documents/"
    assert logging.inputs["targetObjectKeyFormat"] == {
        "partitionedPrefix": {"partitionDateSource": "EventTime"}
    }


def test_access_log_prefix_can_be_chosen():
    plan = plan_bucket(access_log_bucket="osp-t-logs", access_log_prefix="s3-access-logs/m/")
    (logging,) = plan.of_type(LOGGING)
    assert logging.inputs["targetPrefix"] == "s3-access-logs/m/"


def test_no_access_logging_without_a_log_bucket(plain):
    assert plain.of_type(LOGGING) == []


# -- the bucket policy -----------------------------------------------------------------


def assert_tls_only(statement, bucket):
    assert statement == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def test_policy_denies_requests_without_tls(plain):
    policy = policy_of(plain, "osp-t-media-policy")
    assert policy["Version"] == "2012-10-17"
    (statement,) = policy["Statement"]
    assert_tls_only(statement, "osp-t-media")


def test_extra_statements_follow_the_tls_deny(documents):
    first, extra = policy_of(documents, "osp-t-documents-policy")["Statement"]
    assert_tls_only(first, "osp-t-documents")
    assert extra["Sid"] == "ServiceReads"
    assert extra["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:role/documents"}


def test_policy_waits_for_the_public_access_block(plain):
    policy = plain.named("osp-t-media-policy")
    assert plain.named("osp-t-media-public-access-block").urn in policy.dependencies
    assert policy.property_dependencies["policy"] == (plain.named("osp-t-media-bucket").urn,)


def test_statements_may_be_outputs():
    def program(spec):
        statement = pulumi.Output.from_input("arn:aws:s3:::osp-t-media/*").apply(
            lambda arn: {
                "Sid": "Later",
                "Effect": "Allow",
                "Principal": {"AWS": "x"},
                "Action": "s3:GetObject",
                "Resource": arn,
            }
        )
        Bucket("b", bucket_args(policy_statements=[statement]))

    plan = offline.run(spec_of("prod"), program)
    assert [s["Sid"] for s in policy_of(plan, "b-policy")["Statement"]] == [
        "DenyInsecureTransport",
        "Later",
    ]


def test_no_policy_when_the_caller_attaches_it():
    assert plan_bucket(manage_policy=False).of_type(POLICY) == []


def test_bucket_policy_always_holds_the_tls_deny():
    text = bucket_policy("arn:aws:s3:::b", {"Sid": "A", "Effect": "Allow"})
    document = json.loads(text)
    assert [s["Sid"] for s in document["Statement"]] == ["DenyInsecureTransport", "A"]
    assert_tls_only(document["Statement"][0], "b")
    assert json.loads(bucket_policy("arn:aws:s3:::b"))["Statement"][0]["Effect"] == "Deny"
    assert text == bucket_policy("arn:aws:s3:::b", {"Effect": "Allow", "Sid": "A"})  # stable


# -- protection and tags ---------------------------------------------------------------


def test_plain_bucket_is_not_protected(plain):
    assert not any(r.options.protect for r in plain.resources)


def test_protection_guards_the_bucket_only(documents):
    assert {r.name for r in documents.resources if r.options.protect} == {"osp-t-documents-bucket"}


@pytest.mark.parametrize("fixture", ["plain", "documents", "logs"])
def test_the_bucket_is_tagged(fixture, request):
    (bucket,) = request.getfixturevalue(fixture).of_type(BUCKET)
    assert bucket.inputs["tags"] == {"Name": bucket.name, **TAGS}


# -- LogBucket -------------------------------------------------------------------------


def test_log_bucket_children(logs):
    assert logs.type_counts() == {
        "osp:storage:LogBucket": 1,
        BUCKET: 1,
        OWNERSHIP: 1,
        PUBLIC_ACCESS_BLOCK: 1,
        ENCRYPTION: 1,
        VERSIONING: 1,
        LIFECYCLE: 1,
        POLICY: 1,
        ACL: 1,
    }
    component = logs.named("osp-t-logs")
    assert component.type == "osp:storage:LogBucket"
    assert all(r.parent == component.urn for r in logs.resources if r.custom)
    # It does not log its own access: that would log into itself.
    assert logs.of_type(LOGGING) == []


def test_log_bucket_honours_acls_for_cloudfront(logs):
    (ownership,) = logs.of_type(OWNERSHIP)
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerPreferred"}


def test_log_bucket_acl_grants_owner_and_cloudfront_log_delivery(logs):
    acl = logs.named("osp-t-logs-acl")
    policy = acl.inputs["accessControlPolicy"]
    owner = policy["owner"]["id"]
    assert re.fullmatch(r"[0-9a-f]{64}", owner)
    assert owner != CLOUDFRONT_LOG_DELIVERY
    assert policy["grants"] == [
        {"grantee": {"type": "CanonicalUser", "id": owner}, "permission": "FULL_CONTROL"},
        {
            "grantee": {"type": "CanonicalUser", "id": CLOUDFRONT_LOG_DELIVERY},
            "permission": "FULL_CONTROL",
        },
    ]
    assert "acl" not in acl.inputs  # no canned ACL: never public-read or log-delivery-write
    assert logs.named("osp-t-logs-ownership").urn in acl.dependencies


def test_log_bucket_policy(logs):
    found = statements(logs, "osp-t-logs-policy")
    assert set(found) == {"DenyInsecureTransport", "LoadBalancerAccessLogs", "S3ServerAccessLogs"}
    assert_tls_only(found["DenyInsecureTransport"], "osp-t-logs")
    assert found["LoadBalancerAccessLogs"] == {
        "Sid": "LoadBalancerAccessLogs",
        "Effect": "Allow",
        "Principal": {
            "AWS": US_EAST_1_ELB_ACCOUNT,
            "Service": "logdelivery.elasticloadbalancing.amazonaws.com",
        },
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::osp-t-logs/alb/AWSLogs/{ACCOUNT}/*",
    }
    assert found["S3ServerAccessLogs"] == {
        "Sid": "S3ServerAccessLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::osp-t-logs/s3-access-logs/*",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    }


def test_no_allow_reaches_the_whole_bucket(logs, documents):
    for plan, name in ((logs, "osp-t-logs-policy"), (documents, "osp-t-documents-policy")):
        for statement in policy_of(plan, name)["Statement"]:
            if statement["Effect"] == "Allow":
                assert statement["Resource"] not in ("*", "arn:aws:s3:::osp-t-logs")
                assert statement["Principal"] != "*"


def test_log_bucket_is_sse_s3_and_expires_logs(logs):
    (encryption,) = logs.of_type(ENCRYPTION)
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "AES256"
    }
    found = rules(logs, "osp-t-logs-lifecycle")
    assert found["expire-objects"]["expiration"] == {"days": 90}
    assert found["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {
        "noncurrentDays": 30
    }
    assert found["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {
        "daysAfterInitiation": 7
    }
    assert "archive" not in found


def test_log_bucket_protection_and_outputs(logs):
    assert {r.name for r in logs.resources if r.options.protect} == {"osp-t-logs-bucket"}
    assert logs.outputs == {
        "domain_name": "osp-t-logs.s3.amazonaws.com",
        "bucket_name": "osp-t-logs",
    }


def test_alb_prefix_can_be_chosen():
    found = statements(plan_logs(alb_log_prefix="edge/alb", deletion_protection=False),
                       "osp-t-logs-policy")  # fmt: skip
    assert found["LoadBalancerAccessLogs"]["Resource"] == (
        f"arn:aws:s3:::osp-t-logs/edge/alb/AWSLogs/{ACCOUNT}/*"
    )


def test_alb_statement_in_regions_without_an_elb_account():
    statement = alb_log_delivery_statement(
        "arn:aws:s3:::l", prefix="", account=ACCOUNT, elb_account_arn=""
    )
    assert statement["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    assert statement["Resource"] == f"arn:aws:s3:::l/AWSLogs/{ACCOUNT}/*"


# -- bad args --------------------------------------------------------------------------


NAME_RULES = "3-63 lower-case letters, digits and hyphens"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"bucket_name": "Media"}, f"bucket_name: got 'Media'; expected {NAME_RULES}"),
        ({"bucket_name": "ab"}, "bucket_name: got 'ab'"),
        ({"bucket_name": "osp.media"}, "bucket_name: got 'osp.media'; expected 3-63"),
        ({"bucket_name": "-media"}, "bucket_name: got '-media'"),
        ({"bucket_name": "media-"}, "bucket_name: got 'media-'"),
        ({"bucket_name": "m" * 64}, "bucket_name: got 'mmmm"),
        (
            {"bucket_name": "xn--media"},
            "bucket_name: got 'xn--media'; expected a name S3 does not reserve",
        ),
        ({"bucket_name": "media-s3alias"}, "bucket_name: got 'media-s3alias'; expected a name"),
        (
            {"kms_key_arn": "alias/storage"},
            "kms_key_arn: got 'alias/storage'; expected a KMS key or alias ARN",
        ),
        (
            {"object_ownership": "ObjectWriter"},
            "object_ownership: got 'ObjectWriter'; expected one of BucketOwnerEnforced, "
            "BucketOwnerPreferred",
        ),
        (
            {"noncurrent_version_expiry_days": 0},
            "noncurrent_version_expiry_days: got 0; expected a whole number of days, at least 1",
        ),
        ({"expire_after_days": 0}, "expire_after_days: got 0; expected a whole number"),
        (
            {"archive": True, "expire_after_days": 365},
            "expire_after_days: got 365; expected more than 365 with archive",
        ),
        (
            {"access_log_prefix": "logs/"},
            "access_log_prefix: got 'logs/' without access_log_bucket; give both or neither",
        ),
        (
            {"access_log_bucket": "osp-t-logs", "access_log_prefix": "/logs/"},
            "access_log_prefix: got '/logs/'; expected a key prefix",
        ),
        (
            {"manage_policy": False, "policy_statements": [{"Sid": "A"}]},
            "policy_statements: got 1 with manage_policy=False; expected none",
        ),
        (
            {"policy_statements": {"Sid": "A"}},
            "policy_statements: got 'dict'; expected a sequence of policy statements",
        ),
    ],
)
def test_bucket_refuses_bad_args(overrides, message):
    with pytest.raises(InvalidArguments, match=f"Bucket osp-t-media: {re.escape(message)}"):
        plan_bucket(**overrides)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"retention_days": 0}, "retention_days: got 0; expected a whole number of days"),
        ({"retention_days": True}, "retention_days: got True"),
        ({"bucket_name": "Logs"}, f"bucket_name: got 'Logs'; expected {NAME_RULES}"),
        ({"alb_log_prefix": "/alb"}, "alb_log_prefix: got '/alb'; expected a key prefix"),
        ({"alb_log_prefix": "alb/"}, "alb_log_prefix: got 'alb/'"),
        ({"alb_log_prefix": "alb/AWSLogs"}, "alb_log_prefix: got 'alb/AWSLogs'"),
        ({"noncurrent_version_expiry_days": -1}, "noncurrent_version_expiry_days: got -1"),
    ],
)
def test_log_bucket_refuses_bad_args(overrides, message):
    with pytest.raises(InvalidArguments, match=f"LogBucket osp-t-logs: {re.escape(message)}"):
        plan_logs(**overrides)


def test_reports_every_problem_at_once():
    found = problems(
        "b", bucket_args(bucket_name="B", kms_key_arn="k", noncurrent_version_expiry_days=0)
    )
    assert [p.split(":")[1].strip() for p in found] == [
        "bucket_name",
        "noncurrent_version_expiry_days",
        "kms_key_arn",
    ]


def test_valid_args_have_no_problems():
    assert problems("b", bucket_args(kms_key_arn=KEY, archive=True, expire_after_days=400)) == []
    assert problems("l", log_args(alb_log_prefix="")) == []


@pytest.mark.parametrize(
    "make",
    [
        lambda: Bucket("bad", bucket_args(bucket_name="Bad")),
        lambda: LogBucket("bad", log_args(retention_days=0)),
    ],
)
def test_nothing_is_created_from_bad_args(make):
    def program(spec):
        with pytest.raises(InvalidArguments):
            make()

    plan = offline.run(spec_of("prod"), program)
    assert plan.custom_count == 0
