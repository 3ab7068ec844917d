"""`osp bootstrap` against moto: the state bucket, the secrets key, idempotency, --write."""

from __future__ import annotations

import json

import boto3
import pytest
import yaml
from moto import mock_aws
from typer.testing import CliRunner

from osp.cli.main import app
from osp.platform import bootstrap as setup
from osp.platform.spec import parse_stack_file
from tests.support import REPO, project_copy

ACCOUNT = "123456789012"  # moto's account
BUCKET = f"osp-pulumi-state-{ACCOUNT}-us-east-1"
ALIAS = "alias/osp-pulumi-secrets"


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
        yield boto3.Session(region_name="us-east-1")


@pytest.fixture
def first(aws) -> setup.BootstrapResult:
    return setup.bootstrap("us-east-1", session=aws)


def test_the_first_run_creates_the_key_and_the_bucket(first):
    assert first.bucket == BUCKET and first.account == ACCOUNT
    assert first.changes == (
        f"KMS key {ALIAS}: created",
        f"KMS key {ALIAS}: rotation enabled",
        f"bucket {BUCKET}: created in us-east-1",
        f"bucket {BUCKET}: versioning set",
        f"bucket {BUCKET}: default encryption (SSE-KMS, bucket key) set",
        f"bucket {BUCKET}: Block Public Access set",
        f"bucket {BUCKET}: TLS-only bucket policy set",
        f"bucket {BUCKET}: lifecycle (noncurrent versions expire) set",
        f"bucket {BUCKET}: tags set",
    )
    # Ownership was set by create_bucket itself (ObjectOwnership=BucketOwnerEnforced).
    assert not first.unchanged


def test_the_config_lines_point_at_them(first):
    assert first.config_lines() == [
        f"osp:backend: s3://{BUCKET}?region=us-east-1",
        f"osp:secrets_provider: awskms://{ALIAS}?region=us-east-1",
    ]


def test_the_key_rotates_and_has_the_alias(aws, first):
    kms = aws.client("kms")
    key = kms.describe_key(KeyId=ALIAS)["KeyMetadata"]
    assert key["Arn"] == first.key_arn
    assert key["KeyState"] == "Enabled" and key["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert key["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert aliases[ALIAS] == key["KeyId"]
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key["KeyId"])["Tags"]}
    assert tags == {"Name": ALIAS, "osp:managed-by": "osp", "osp:component": "bootstrap"}


def test_the_bucket_is_versioned_encrypted_private_and_owner_enforced(aws, first):
    s3 = aws.client("s3")
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": first.key_arn,
    }
    assert rule["BucketKeyEnabled"] is True
    assert s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    assert s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
    }


def test_the_bucket_policy_denies_every_request_without_tls(aws, first):
    policy = json.loads(aws.client("s3").get_bucket_policy(Bucket=BUCKET)["Policy"])
    (statement,) = policy["Statement"]
    assert statement == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def test_noncurrent_state_versions_expire(aws, first):
    (rule,) = aws.client("s3").get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert rule["ID"] == "osp-expire-noncurrent-state" and rule["Status"] == "Enabled"
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert rule.get("Filter", {}).get("Prefix", "") == ""


def test_a_second_run_changes_nothing(aws, first):
    before = setup.describe(aws, "us-east-1", BUCKET, ALIAS)
    again = setup.bootstrap("us-east-1", session=aws)
    assert again.unchanged and again.changes == ()
    assert (again.bucket, again.key_arn) == (first.bucket, first.key_arn)
    assert setup.describe(aws, "us-east-1", BUCKET, ALIAS) == before
    assert len(aws.client("kms").list_keys()["Keys"]) == 1


def test_a_drifted_bucket_is_repaired_and_foreign_policy_statements_kept(aws, first):
    s3 = aws.client("s3")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    s3.delete_public_access_block(Bucket=BUCKET)
    other = {
        "Sid": "AllowAuditRead",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/audit"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }
    s3.put_bucket_policy(
        Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [other]})
    )
    repaired = setup.bootstrap("us-east-1", session=aws)
    assert repaired.changes == (
        f"bucket {BUCKET}: versioning set",
        f"bucket {BUCKET}: Block Public Access set",
        f"bucket {BUCKET}: TLS-only bucket policy set",
    )
    statements = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["AllowAuditRead", "DenyInsecureTransport"]
    assert setup.bootstrap("us-east-1", session=aws).unchanged


def test_rotation_turned_off_is_turned_on_again(aws, first):
    kms = aws.client("kms")
    key_id = kms.describe_key(KeyId=ALIAS)["KeyMetadata"]["KeyId"]
    kms.disable_key_rotation(KeyId=key_id)
    assert setup.bootstrap("us-east-1", session=aws).changes == (
        f"KMS key {ALIAS}: rotation enabled",
    )


def test_a_disabled_key_is_an_error_with_the_fix(aws, first):
    kms = aws.client("kms")
    kms.disable_key(KeyId=kms.describe_key(KeyId=ALIAS)["KeyMetadata"]["KeyId"])
    with pytest.raises(setup.BootstrapError, match=r"is Disabled; expected Enabled\. Fix: enable"):
        setup.bootstrap("us-east-1", session=aws)


def test_another_region_bucket_and_alias(aws):
    result = setup.bootstrap(
        "eu-west-1", bucket="team-state", key_alias="alias/team/pulumi", session=aws
    )
    s3 = aws.client("s3", region_name="eu-west-1")
    location = s3.get_bucket_location(Bucket="team-state")["LocationConstraint"]
    assert location == "eu-west-1"
    assert result.backend_url == "s3://team-state?region=eu-west-1"
    assert result.secrets_provider_url == "awskms://alias/team/pulumi?region=eu-west-1"
    kms = aws.client("kms", region_name="eu-west-1")
    assert kms.describe_key(KeyId="alias/team/pulumi")["KeyMetadata"]["Arn"] == result.key_arn


def test_the_default_bucket_name_fits_s3s_limit():
    assert setup.default_bucket(ACCOUNT, "ap-southeast-4") == (
        "osp-pulumi-state-123456789012-ap-southeast-4"
    )
    assert len(setup.default_bucket(ACCOUNT, "ap-southeast-4")) <= 63


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"region": "moon-1"}, "--region: got 'moon-1'; expected an AWS region such as us-east-1"),
        ({"bucket": "Bad_Bucket"}, "--bucket: got 'Bad_Bucket'; expected an S3 bucket name"),
        ({"bucket": "a..b"}, "--bucket: got 'a..b'"),
        ({"key_alias": "osp"}, "--key-alias: got 'osp'; expected alias/<name>"),
        ({"key_alias": "alias/aws/s3"}, "not under alias/aws/ (reserved for AWS)"),
    ],
)
def test_bad_arguments_are_refused_before_any_call(args, problem):
    region = args.pop("region", "us-east-1")
    with pytest.raises(setup.BootstrapError) as caught:
        setup.bootstrap(region, session=object(), **args)
    assert problem in str(caught.value)


def test_without_credentials_the_error_says_how_to_fix_it(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(setup.BootstrapError, match=r"^no AWS credentials: configure them"):
        setup.bootstrap("us-east-1")


# --- writing the settings into a stack file -------------------------------------------------

BACKEND = f"s3://{BUCKET}?region=us-east-1"
PROVIDER = f"awskms://{ALIAS}?region=us-east-1"


def test_the_settings_are_added_and_every_other_line_is_kept():
    text = (REPO / "stacks" / "Pulumi.prod.yaml").read_text()
    edited = setup.stack_file_with_backend(
        text, environment="prod", source="stacks/Pulumi.prod.yaml",
        backend=BACKEND, secrets_provider=PROVIDER,
    )  # fmt: skip
    lines, before = edited.splitlines(), text.splitlines()
    at = before.index("config:") + 1
    assert lines[at : at + 2] == [
        f"  osp:backend: {BACKEND}",
        f"  osp:secrets_provider: {PROVIDER}",
    ]
    assert lines[:at] + lines[at + 2 :] == before
    spec = parse_stack_file(edited, environment="prod", source="x")
    assert (spec.backend, spec.secrets_provider) == (BACKEND, PROVIDER)


def test_existing_settings_are_replaced_in_place_with_their_comments():
    text = (
        "# the team's stack\n"
        "config:\n"
        "  aws:region: us-east-1\n"
        "  osp:backend: file:///old   # where state lives\n"
        "  osp:domain: dev.osp.example.com\n"
        "  osp:secrets_provider: passphrase\n"
        "  osp:cluster:\n"
        "    admin_role_arns: [arn:aws:iam::123456789012:role/admin]\n"
    )
    edited = setup.stack_file_with_backend(
        text, environment="dev", source="s", backend=BACKEND, secrets_provider=PROVIDER
    )
    assert edited == text.replace("file:///old", BACKEND).replace(
        "osp:secrets_provider: passphrase", f"osp:secrets_provider: {PROVIDER}"
    )


def test_a_file_that_cannot_be_edited_safely_is_left_alone():
    text = "config: {aws:region: us-east-1}\n"
    with pytest.raises(setup.BootstrapError) as caught:
        setup.stack_file_with_backend(
            text, environment="dev", source="s", backend=BACKEND, secrets_provider=PROVIDER
        )
    assert "add these lines to its config: section by hand" in str(caught.value)


# --- the command ---------------------------------------------------------------------------

runner = CliRunner()


def test_the_command_prints_the_lines_then_reports_unchanged(aws):
    result = runner.invoke(app, ["bootstrap", "--region", "us-east-1"])
    assert result.exit_code == 0, result.output
    assert f"✓ bucket {BUCKET}: created in us-east-1" in result.stdout
    assert f"  osp:backend: {BACKEND}" in result.stdout
    assert f"  osp:secrets_provider: {PROVIDER}" in result.stdout
    again = runner.invoke(app, ["bootstrap", "--region", "us-east-1"])
    assert again.exit_code == 0
    assert again.stdout.startswith(
        f"Unchanged: bucket {BUCKET} and key {ALIAS} are already set up in us-east-1 "
        f"(account {ACCOUNT})."
    )


def test_write_puts_the_lines_into_the_stack_file(aws, tmp_path):
    project_copy(tmp_path, ["dev"])
    before = (tmp_path / "stacks" / "Pulumi.dev.yaml").read_text()
    result = runner.invoke(
        app,
        ["bootstrap", "--region", "us-east-1", "--write", "--env", "dev",
         "--project-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    after = (tmp_path / "stacks" / "Pulumi.dev.yaml").read_text()
    assert after != before and "# The dev environment" in after
    config = yaml.safe_load(after)["config"]
    assert (config["osp:backend"], config["osp:secrets_provider"]) == (BACKEND, PROVIDER)
    assert "Wrote to stacks/Pulumi.dev.yaml:" in result.stdout


@pytest.mark.parametrize("args", [["--write"], ["--env", "dev"]])
def test_write_and_env_go_together(args):
    result = runner.invoke(app, ["bootstrap", "--region", "us-east-1", *args])
    assert result.exit_code == 2
    assert "--write and --env go together" in result.stderr


def test_write_to_an_unknown_environment_fails_before_any_aws_call(tmp_path):
    project_copy(tmp_path, environments=())
    result = runner.invoke(
        app,
        ["bootstrap", "--region", "us-east-1", "--write", "--env", "qa",
         "--project-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "unknown environment 'qa'" in result.stderr
