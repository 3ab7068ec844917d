"""`osp bootstrap`: the S3 state bucket and KMS key a team's Pulumi state lives in.

Idempotent: each setting is read first and written only when it differs, and the result lists
what changed (nothing, on a second run). What it makes:

- a KMS key (symmetric, yearly rotation on) with an alias, for Pulumi's secrets and the bucket;
- an S3 bucket: versioned; SSE-KMS with that key and an S3 bucket key; Block Public Access (all
  four); object ownership BucketOwnerEnforced (no ACLs); a policy denying any request without
  TLS; a lifecycle rule expiring noncurrent state versions and abandoned multipart uploads.

The stack config lines it prints (`osp:backend`, `osp:secrets_provider`) point an environment
at them; `stack_file_with_backend` writes them into a stack file, comments kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from osp.platform import limits
from osp.platform.errors import OspError, SpecError
from osp.platform.naming import PROJECT, TAG_COMPONENT, TAG_MANAGED_BY

DEFAULT_KEY_ALIAS = "alias/osp-pulumi-secrets"
#: How long an overwritten state file stays recoverable (every update writes one).
NONCURRENT_DAYS = 90
ABORT_MULTIPART_DAYS = 7
LIFECYCLE_RULE_ID = "osp-expire-noncurrent-state"
POLICY_SID = "DenyInsecureTransport"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ALIAS = re.compile(r"^alias/[A-Za-z0-9/_-]{1,250}$")


class BootstrapError(OspError):
    """Bootstrap could not make or check the bucket or the key."""


@dataclass(frozen=True)
class BootstrapResult:
    """What bootstrap found or made, and what it had to change (empty: unchanged)."""

    region: str
    account: str
    bucket: str
    key_alias: str
    key_arn: str
    changes: tuple[str, ...]

    @property
    def unchanged(self) -> bool:
        return not self.changes

    @property
    def backend_url(self) -> str:
        return f"s3://{self.bucket}?region={self.region}"

    @property
    def secrets_provider_url(self) -> str:
        return f"awskms://{self.key_alias}?region={self.region}"

    def config_lines(self) -> list[str]:
        return [
            f"osp:backend: {self.backend_url}",
            f"osp:secrets_provider: {self.secrets_provider_url}",
        ]


def default_bucket(account: str, region: str) -> str:
    return f"{PROJECT}-pulumi-state-{account}-{region}"


def problems(region: str, bucket: str | None, key_alias: str) -> list[str]:
    found = []
    expected = limits.AWS_REGION.problem(region)
    if expected:
        found.append(f"--region: got {region!r}; expected {expected}")
    if bucket is not None and (not _BUCKET.match(bucket) or ".." in bucket):
        found.append(
            f"--bucket: got {bucket!r}; expected an S3 bucket name: 3-63 lower-case letters, "
            "digits, dots and hyphens, starting and ending with a letter or digit"
        )
    if not _ALIAS.match(key_alias) or key_alias.startswith("alias/aws/"):
        found.append(
            f"--key-alias: got {key_alias!r}; expected alias/<name> (letters, digits, / _ -), "
            "not under alias/aws/ (reserved for AWS)"
        )
    return found


def bootstrap(
    region: str,
    *,
    bucket: str | None = None,
    key_alias: str = DEFAULT_KEY_ALIAS,
    session: Any = None,
) -> BootstrapResult:
    """Make (or check) the key and the bucket; `session` is a boto3 Session (default: new)."""
    found = problems(region, bucket, key_alias)
    if found:
        raise BootstrapError("\n".join(found))
    import boto3

    session = session or boto3.Session(region_name=region)
    with _AwsErrors():
        identity = session.client("sts", region_name=region).get_caller_identity()
        account, partition = identity["Account"], identity["Arn"].split(":")[1]
        name = bucket or default_bucket(account, region)
        changes: list[str] = []
        key_arn = _ensure_key(session.client("kms", region_name=region), key_alias, changes)
        _ensure_bucket(
            session.client("s3", region_name=region), name, region, partition, key_arn, changes
        )
    return BootstrapResult(
        region=region,
        account=account,
        bucket=name,
        key_alias=key_alias,
        key_arn=key_arn,
        changes=tuple(changes),
    )


def describe(session: Any, region: str, bucket: str, key_alias: str) -> dict[str, Any]:
    """Everything bootstrap manages, as AWS reports it now (to show a rerun changes nothing)."""
    s3 = session.client("s3", region_name=region)
    kms = session.client("kms", region_name=region)
    key = kms.describe_key(KeyId=key_alias)["KeyMetadata"]
    return {
        "key": {
            "arn": key["Arn"],
            "state": key["KeyState"],
            "spec": key.get("KeySpec"),
            "description": key.get("Description"),
            "rotation": kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"],
            "tags": kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", []),
        },
        "versioning": s3.get_bucket_versioning(Bucket=bucket).get("Status"),
        "encryption": s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"],
        "publicAccessBlock": s3.get_public_access_block(Bucket=bucket)[
            "PublicAccessBlockConfiguration"
        ],
        "ownership": s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"],
        "policy": json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]),
        "lifecycle": s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"],
        "tags": s3.get_bucket_tagging(Bucket=bucket)["TagSet"],
    }


def tls_only_policy(bucket: str, partition: str = "aws") -> dict[str, Any]:
    arn = f"arn:{partition}:s3:::{bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": POLICY_SID,
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


# --- the key ---------------------------------------------------------------------------------


def _tags(name: str) -> dict[str, str]:
    return {"Name": name, TAG_MANAGED_BY: PROJECT, TAG_COMPONENT: "bootstrap"}


def _ensure_key(kms: Any, alias: str, changes: list[str]) -> str:
    try:
        key = kms.describe_key(KeyId=alias)["KeyMetadata"]
    except kms.exceptions.NotFoundException:
        key = kms.create_key(
            Description="osp: encrypts Pulumi secrets and the Pulumi state bucket",
            KeyUsage="ENCRYPT_DECRYPT",
            KeySpec="SYMMETRIC_DEFAULT",
            Tags=[{"TagKey": k, "TagValue": v} for k, v in _tags(alias).items()],
        )["KeyMetadata"]
        kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
        changes.append(f"KMS key {alias}: created")
    if key["KeyState"] != "Enabled":
        raise BootstrapError(
            f"the KMS key behind {alias} ({key['Arn']}) is {key['KeyState']}; expected Enabled. "
            f"Fix: enable it (or cancel its deletion), or pass another --key-alias"
        )
    if not kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"]:
        kms.enable_key_rotation(KeyId=key["KeyId"])
        changes.append(f"KMS key {alias}: rotation enabled")
    return key["Arn"]


# --- the bucket ------------------------------------------------------------------------------


def _ensure_bucket(
    s3: Any, bucket: str, region: str, partition: str, key_arn: str, changes: list[str]
) -> None:
    _create_bucket(s3, bucket, region, changes)
    settings = (
        ("versioning", _versioning),
        ("default encryption (SSE-KMS, bucket key)", _encryption),
        ("Block Public Access", _public_access_block),
        ("object ownership (BucketOwnerEnforced)", _ownership),
        ("TLS-only bucket policy", _policy),
        ("lifecycle (noncurrent versions expire)", _lifecycle),
        ("tags", _tagging),
    )
    for label, ensure in settings:
        if ensure(s3, bucket, partition=partition, key_arn=key_arn):
            changes.append(f"bucket {bucket}: {label} set")


def _create_bucket(s3: Any, bucket: str, region: str, changes: list[str]) -> None:
    from botocore.exceptions import ClientError

    try:
        head = s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code in ("403", "AccessDenied", "Forbidden"):
            raise BootstrapError(
                f"bucket {bucket} exists but this account cannot use it (bucket names are "
                "global; another account may own it); pass another --bucket"
            ) from None
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise
        location = {} if region == "us-east-1" else {"LocationConstraint": region}
        s3.create_bucket(
            Bucket=bucket,
            ObjectOwnership="BucketOwnerEnforced",
            **({"CreateBucketConfiguration": location} if location else {}),
        )
        changes.append(f"bucket {bucket}: created in {region}")
        return
    headers = head.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    actual = head.get("BucketRegion") or headers.get("x-amz-bucket-region")
    if actual and actual != region:
        raise BootstrapError(
            f"bucket {bucket} exists in {actual}, not {region}; pass --region {actual} or "
            "another --bucket"
        )


def _missing(exc: Exception, *codes: str) -> bool:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code")) in codes


def _versioning(s3: Any, bucket: str, **_: str) -> bool:
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled":
        return False
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return True


def _encryption(s3: Any, bucket: str, *, key_arn: str, **_: str) -> bool:
    from botocore.exceptions import ClientError

    wanted = {
        "ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": key_arn,
        },
        "BucketKeyEnabled": True,
    }
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"][
            "Rules"
        ]
    except ClientError as exc:
        if not _missing(exc, "ServerSideEncryptionConfigurationNotFoundError"):
            raise
        rules = []
    if rules == [wanted]:
        return False
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [wanted]})
    return True


_BLOCK_ALL = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def _public_access_block(s3: Any, bucket: str, **_: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        current = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except ClientError as exc:
        if not _missing(exc, "NoSuchPublicAccessBlockConfiguration"):
            raise
        current = {}
    if current == _BLOCK_ALL:
        return False
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=_BLOCK_ALL)
    return True


def _ownership(s3: Any, bucket: str, **_: str) -> bool:
    from botocore.exceptions import ClientError

    wanted = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    try:
        current = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    except ClientError as exc:
        if not _missing(exc, "OwnershipControlsNotFoundError"):
            raise
        current = {}
    if current == wanted:
        return False
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=wanted)
    return True


def _policy(s3: Any, bucket: str, *, partition: str, **_: str) -> bool:
    from botocore.exceptions import ClientError

    wanted = tls_only_policy(bucket, partition)
    try:
        current = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError as exc:
        if not _missing(exc, "NoSuchBucketPolicy"):
            raise
        current = {"Version": "2012-10-17", "Statement": []}
    statements = [s for s in current.get("Statement", []) if s.get("Sid") != POLICY_SID]
    ours = [s for s in current.get("Statement", []) if s.get("Sid") == POLICY_SID]
    if ours == wanted["Statement"]:
        return False
    # Statements others added to the policy are kept; only osp's own is (re)written.
    document = {**current, "Version": "2012-10-17", "Statement": statements + wanted["Statement"]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document, sort_keys=True))
    return True


def _lifecycle(s3: Any, bucket: str, **_: str) -> bool:
    from botocore.exceptions import ClientError

    wanted = {
        "ID": LIFECYCLE_RULE_ID,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_DAYS},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_MULTIPART_DAYS},
    }
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    except ClientError as exc:
        if not _missing(exc, "NoSuchLifecycleConfiguration"):
            raise
        rules = []
    ours = [r for r in rules if r.get("ID") == LIFECYCLE_RULE_ID]
    if len(ours) == 1 and _lifecycle_matches(ours[0], wanted):
        return False
    others = [r for r in rules if r.get("ID") != LIFECYCLE_RULE_ID]
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": [*others, wanted]}
    )
    return True


def _lifecycle_matches(rule: dict[str, Any], wanted: dict[str, Any]) -> bool:
    # AWS may echo an empty filter as {} or {"Prefix": ""}; the rest must match exactly.
    keys = ("Status", "NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload")
    return (
        all(rule.get(k) == wanted[k] for k in keys)
        and rule.get("Filter", {}).get("Prefix", "") == ""
        and set(rule.get("Filter", {})) <= {"Prefix"}
    )


def _tagging(s3: Any, bucket: str, **_: str) -> bool:
    from botocore.exceptions import ClientError

    wanted = _tags(bucket)
    try:
        current = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    except ClientError as exc:
        if not _missing(exc, "NoSuchTagSet"):
            raise
        current = {}
    if all(current.get(k) == v for k, v in wanted.items()):
        return False
    merged = {**current, **wanted}
    s3.put_bucket_tagging(
        Bucket=bucket,
        Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in sorted(merged.items())]},
    )
    return True


class _AwsErrors:
    """boto3's errors as BootstrapError: what failed and how to fix it, no traceback."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None or isinstance(error, OspError):
            return False
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        if isinstance(error, NoCredentialsError | PartialCredentialsError):
            raise BootstrapError(
                "no AWS credentials: configure them (`aws configure`, `aws sso login`, or "
                "AWS_PROFILE / AWS_ACCESS_KEY_ID) and run osp bootstrap again"
            ) from None
        if isinstance(error, ClientError):
            details = error.response.get("Error", {})
            operation = getattr(error, "operation_name", "an AWS call")
            raise BootstrapError(
                f"{operation} failed: {details.get('Code')}: {details.get('Message')}; "
                "check the credentials' permissions (s3, kms, sts) and run osp bootstrap again "
                "(it resumes where it stopped)"
            ) from None
        if isinstance(error, BotoCoreError):
            raise BootstrapError(f"AWS: {error}; run osp bootstrap again") from None
        return False


# --- writing the settings into a stack file ---------------------------------------------------


def stack_file_with_backend(
    text: str, *, environment: str, source: str, backend: str, secrets_provider: str
) -> str:
    """`text` (a stack file) with `osp:backend` and `osp:secrets_provider` set in its config
    section: existing lines replaced in place (their comments kept), missing ones added at the
    top of the section; every other line untouched. The result is validated as a spec."""
    from osp.platform.spec import parse_stack_file
    from osp.platform.spec.positions import positions

    where = positions(text)
    config_line = where.line(("config",))
    if config_line is None:
        raise BootstrapError(f"{source}: no config: section to write the backend into")
    lines = text.splitlines(keepends=True)
    children = [n for path, n in where.lines.items() if len(path) == 2 and path[0] == "config"]
    indent = "  "
    if children:
        first = lines[min(children) - 1]
        indent = first[: len(first) - len(first.lstrip())]
    additions = []
    for key, value in (("osp:backend", backend), ("osp:secrets_provider", secrets_provider)):
        line = where.line(("config", key))
        if line is None:
            additions.append(f"{indent}{key}: {value}\n")
            continue
        current = lines[line - 1]
        comment = re.search(r"\s+#.*$", current.rstrip("\n"))
        ending = "\n" if current.endswith("\n") else ""
        lead = current[: len(current) - len(current.lstrip())]
        lines[line - 1] = f"{lead}{key}: {value}{comment.group(0) if comment else ''}{ending}"
    lines[config_line:config_line] = additions
    result = "".join(lines)
    try:
        spec = parse_stack_file(result, environment=environment, source=source)
    except SpecError as exc:
        raise BootstrapError(
            f"{source}: could not write the backend settings into it ({exc}); add these lines "
            f"to its config: section by hand:\n  osp:backend: {backend}\n  "
            f"osp:secrets_provider: {secrets_provider}"
        ) from None
    if spec.backend != backend or spec.secrets_provider != secrets_provider:
        raise BootstrapError(
            f"{source}: the edited file does not say what was written (a multi-line value?); "
            "set osp:backend and osp:secrets_provider in it by hand"
        )
    return result
