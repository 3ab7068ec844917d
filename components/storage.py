"""`Bucket` and `LogBucket`: private, encrypted, TLS-only S3 buckets."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pulumi
import pulumi_aws as aws

from osp.platform import iam, limits
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:storage:Bucket"
LOG_BUCKET_TOKEN = "osp:storage:LogBucket"

#: Days after which an upload that was started and never completed is removed.
ABORT_INCOMPLETE_UPLOAD_DAYS = 7

#: Where `archive` moves objects: (days after creation, storage class), in order.
ARCHIVE_TRANSITIONS = ((90, "STANDARD_IA"), (365, "GLACIER"))

#: Key prefix in the log bucket under which S3 server access logs are delivered; a `Bucket`
#: logging to it writes below `<this>/<bucket name>/` unless told otherwise.
S3_ACCESS_LOG_PREFIX = "s3-access-logs"

#: Key prefix in the log bucket under which the load balancer writes its access logs.
ALB_LOG_PREFIX = "alb"

_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
# Names S3 keeps for its own features (access point aliases, Object Lambda, directory and
# table buckets, multi-region access points, documentation examples).
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3")
# S3 default encryption takes an alias ARN as well as a key ARN (AWS recommends the key
# ARN: an alias is resolved in the account of whoever writes the object).
_KMS_ALIAS_ARN = limits.pattern(
    r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:alias/[A-Za-z0-9/_-]+", "a KMS alias ARN"
)
_KMS_KEY_OR_ALIAS_ARN = limits.Constraint(
    "a KMS key or alias ARN such as arn:aws:kms:us-east-1:123456789012:key/<id>",
    lambda v: limits.KMS_KEY_ARN.accepts(v) or _KMS_ALIAS_ARN.accepts(v),
)
_KEY_PREFIX = re.compile(r"[A-Za-z0-9!_.*'()/-]+")
_DAYS = limits.Constraint(
    "a whole number of days, at least 1",
    lambda v: limits.is_int(v) and v >= 1,  # type: ignore[operator]
)


class ObjectOwnership(StrEnum):
    """S3 Object Ownership: whether ACLs still mean anything on the bucket."""

    #: ACLs are disabled: the bucket owner owns every object, access is by policy only.
    BUCKET_OWNER_ENFORCED = "BucketOwnerEnforced"
    #: ACLs are honoured (needed by log deliveries that write with ACLs, such as CloudFront
    #: standard logging); objects written with `bucket-owner-full-control` become the owner's.
    BUCKET_OWNER_PREFERRED = "BucketOwnerPreferred"


_OBJECT_OWNERSHIP = limits.one_of(tuple(o.value for o in ObjectOwnership))


class OnDelete(StrEnum):
    """What deleting the bucket from its stack does to it."""

    #: The delete fails while the bucket holds objects: data never vanishes with an update.
    REFUSE_IF_NOT_EMPTY = "refuse-if-not-empty"
    #: The delete empties the bucket first (`force_destroy`): offboarding a tenant together
    #: with its data, on the operator's explicit word.
    EMPTY = "empty"
    #: The bucket, its objects and its configuration (encryption, policy…) stay in AWS and
    #: only leave the stack: offboarding a tenant whose data is kept.
    RETAIN = "retain"


@dataclass(frozen=True, kw_only=True)
class BucketArgs:
    """Arguments of `Bucket`."""

    bucket_name: str
    """Physical bucket name, chosen by the caller (global across AWS): 3-63 lower-case
    letters, digits and hyphens. osp refuses dots: they break TLS on virtual-hosted
    endpoints."""

    deletion_protection: bool
    """Pulumi `protect` on the bucket: an update that would delete or replace it fails until
    this is turned off. Unless `on_delete` says otherwise, a bucket with objects in it cannot
    be deleted by Pulumi either way."""

    on_delete: OnDelete = OnDelete.REFUSE_IF_NOT_EMPTY
    """What deleting it does: fail while it holds objects (the default), empty it, or leave
    it and its configuration in AWS (see `OnDelete`)."""

    kms_key_arn: pulumi.Input[str] | None = None
    """Customer KMS key for default encryption (SSE-KMS, with an S3 Bucket Key so that KMS is
    called per bucket, not per object). Default: none, and SSE-S3 (AES-256) is used."""

    versioning: bool = True
    """Keep every version of every object, so an overwrite or delete can be undone. False
    suspends versioning (S3 cannot turn it off once on)."""

    object_ownership: ObjectOwnership = ObjectOwnership.BUCKET_OWNER_ENFORCED
    """`BucketOwnerEnforced` (ACLs off). `BucketOwnerPreferred` only for a bucket that a
    service delivers to with ACLs."""

    archive: bool = False
    """Move objects to Standard-IA after 90 days and to Glacier Flexible Retrieval after 365
    (documents and reports: written once, rarely read after the first months)."""

    noncurrent_version_expiry_days: int = 30
    """Days an overwritten or deleted object version is kept before it is removed for good."""

    expire_after_days: int | None = None
    """Delete objects this many days after they were written (logs). Default: kept until
    deleted. With `archive`, more than 365."""

    access_log_bucket: pulumi.Input[str] | None = None
    """Name of the bucket that receives this bucket's S3 server access logs (the estate's
    `LogBucket`). Default: no server access logging."""

    access_log_prefix: str | None = None
    """Key prefix of the access logs in `access_log_bucket`. Default:
    `s3-access-logs/<bucket_name>/`, the path `LogBucket` admits deliveries to."""

    policy_statements: Sequence[pulumi.Input[dict[str, Any]]] = ()
    """Extra statements for the bucket policy, after osp's TLS-only deny."""

    manage_policy: bool = True
    """Attach the bucket policy here. False: the caller attaches it (when a statement needs
    something created after the bucket, such as a CloudFront distribution's ARN), and must
    build it with `bucket_policy()` so the TLS-only deny is kept."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the bucket (osp's tag set, from osp.platform.naming.standard_tags)."""


@dataclass(frozen=True, kw_only=True)
class LogBucketArgs:
    """Arguments of `LogBucket`."""

    bucket_name: str
    """Physical bucket name (the rules of `BucketArgs.bucket_name`)."""

    retention_days: int
    """Days a log object is kept before it expires."""

    deletion_protection: bool
    """Pulumi `protect` on the bucket."""

    noncurrent_version_expiry_days: int = 30
    """Days an expired or overwritten log object stays recoverable as a noncurrent version."""

    alb_log_prefix: str = ALB_LOG_PREFIX
    """Key prefix the load balancer writes under (its `access_logs.prefix`). Deliveries are
    admitted to `<alb_log_prefix>/AWSLogs/<account>/` only."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the bucket."""


def tls_only_statement(bucket_arn: str) -> dict[str, Any]:
    """The statement that refuses every request to the bucket or its objects made without
    TLS, whoever makes it."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def bucket_policy(bucket_arn: str, *statements: Mapping[str, Any]) -> str:
    """The policy of the bucket `bucket_arn`: the TLS-only deny, then `statements`."""
    return iam.policy(tls_only_statement(bucket_arn), *(dict(s) for s in statements))


def alb_log_delivery_statement(
    bucket_arn: str, *, prefix: str, account: str, elb_account_arn: str
) -> dict[str, Any]:
    """Lets Elastic Load Balancing write access logs of `account`'s load balancers.

    Regions opened before August 2022 deliver as the region's ELB account
    (`elb_account_arn`); newer ones as the log-delivery service principal, and have no ELB
    account (`elb_account_arn` empty)."""
    principal: dict[str, Any] = {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    if elb_account_arn:
        principal["AWS"] = elb_account_arn
    path = f"{prefix}/AWSLogs/{account}/*" if prefix else f"AWSLogs/{account}/*"
    return {
        "Sid": "LoadBalancerAccessLogs",
        "Effect": "Allow",
        "Principal": principal,
        "Action": "s3:PutObject",
        "Resource": f"{bucket_arn}/{path}",
    }


def s3_access_log_statement(bucket_arn: str, *, account: str) -> dict[str, Any]:
    """Lets S3 server access logging of `account`'s buckets write under
    `s3-access-logs/`."""
    return {
        "Sid": "S3ServerAccessLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"{bucket_arn}/{S3_ACCESS_LOG_PREFIX}/*",
        "Condition": {"StringEquals": {"aws:SourceAccount": account}},
    }


def lifecycle_rules(args: BucketArgs) -> list[dict[str, Any]]:
    """The lifecycle rules of a bucket made from `args`, each on the whole bucket."""
    rules: list[dict[str, Any]] = [
        {
            "id": "abort-incomplete-multipart-uploads",
            "status": "Enabled",
            "filter": {},
            "abort_incomplete_multipart_upload": {
                "days_after_initiation": ABORT_INCOMPLETE_UPLOAD_DAYS
            },
        },
        {
            # Also on a suspended bucket: versions kept from before still cost money.
            "id": "expire-noncurrent-versions",
            "status": "Enabled",
            "filter": {},
            "noncurrent_version_expiration": {
                "noncurrent_days": args.noncurrent_version_expiry_days
            },
            # A delete marker with no versions left behind it is clutter that slows listing.
            "expiration": {"expired_object_delete_marker": True},
        },
    ]
    if args.archive:
        rules.append(
            {
                "id": "archive",
                "status": "Enabled",
                "filter": {},
                "transitions": [
                    {"days": days, "storage_class": storage_class}
                    for days, storage_class in ARCHIVE_TRANSITIONS
                ],
            }
        )
    if args.expire_after_days is not None:
        rules.append(
            {
                "id": "expire-objects",
                "status": "Enabled",
                "filter": {},
                "expiration": {"days": args.expire_after_days},
            }
        )
    return rules


def expected_bucket_name(value: object) -> str | None:
    """What a bucket name must be, or None when `value` is one."""
    if not isinstance(value, str) or not _BUCKET_NAME.fullmatch(value):
        return (
            "3-63 lower-case letters, digits and hyphens, starting and ending with a letter "
            "or digit (no dots: they break TLS on virtual-hosted endpoints)"
        )
    if value.startswith(_RESERVED_PREFIXES) or value.endswith(_RESERVED_SUFFIXES):
        return (
            "a name S3 does not reserve: not starting with "
            + ", ".join(_RESERVED_PREFIXES)
            + " nor ending with "
            + ", ".join(_RESERVED_SUFFIXES)
        )
    return None


def expected_kms_key_arn(value: object) -> str | None:
    """What a literal KMS key ARN must look like, or None when `value` is one (or an
    `Output`, which only the cloud can check)."""
    if isinstance(value, pulumi.Output):
        return None
    return _KMS_KEY_OR_ALIAS_ARN.problem(value)


def problems(name: str, args: BucketArgs | LogBucketArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    log_bucket = isinstance(args, LogBucketArgs)
    check = Problems("LogBucket" if log_bucket else "Bucket", name)
    expected = expected_bucket_name(args.bucket_name)
    if expected:
        check.add("bucket_name", args.bucket_name, expected)
    check.against(_DAYS, "noncurrent_version_expiry_days", args.noncurrent_version_expiry_days)
    if isinstance(args, LogBucketArgs):
        _check_log_bucket(check, args)
    else:
        _check_bucket(check, args)
    return check.found


def _check_log_bucket(check: Problems, args: LogBucketArgs) -> None:
    check.against(_DAYS, "retention_days", args.retention_days)
    prefix = args.alb_log_prefix
    if not isinstance(prefix, str) or (
        prefix
        and (
            not _KEY_PREFIX.fullmatch(prefix)
            or prefix.startswith("/")
            or prefix.endswith("/")
            or "AWSLogs" in prefix
        )
    ):
        check.add(
            "alb_log_prefix",
            prefix,
            "a key prefix such as 'alb', without leading or "
            "trailing '/' and without 'AWSLogs' (the load balancer adds it)",
        )


def _check_bucket(check: Problems, args: BucketArgs) -> None:
    if args.kms_key_arn is not None:
        expected = expected_kms_key_arn(args.kms_key_arn)
        if expected:
            check.add("kms_key_arn", args.kms_key_arn, expected)
    check.against(_OBJECT_OWNERSHIP, "object_ownership", args.object_ownership)
    expiry = args.expire_after_days
    if expiry is not None and check.check(
        _DAYS.accepts(expiry),
        "expire_after_days",
        expiry,
        "a whole number of days, at least 1, or None",
    ):
        check.check(
            not args.archive or expiry > ARCHIVE_TRANSITIONS[-1][0],
            "expire_after_days",
            expiry,
            "more than 365 with archive (objects reach Glacier after 365 days); or archive=False",
        )
    prefix = args.access_log_prefix
    if prefix is not None:
        if args.access_log_bucket is None:
            check.note(
                "access_log_prefix",
                f"got {prefix!r} without access_log_bucket; give both or neither",
            )
        elif not isinstance(prefix, str) or not _KEY_PREFIX.fullmatch(prefix) or prefix[0] == "/":
            check.add(
                "access_log_prefix",
                prefix,
                "a key prefix such as 's3-access-logs/media/' (not starting with '/')",
            )
    if isinstance(args.policy_statements, Mapping | str):
        check.add(
            "policy_statements",
            type(args.policy_statements).__name__,
            "a sequence of policy statements (dicts), not one",
        )
    elif not args.manage_policy and args.policy_statements:
        check.note(
            "policy_statements",
            f"got {len(args.policy_statements)} with manage_policy=False; expected none: the "
            "caller attaches the policy (build it with bucket_policy())",
        )


def encryption_default(
    kms_key_arn: pulumi.Input[str] | None,
) -> aws.s3.BucketServerSideEncryptionConfigurationRuleArgs:
    """The default encryption rule: SSE-KMS under `kms_key_arn` with an S3 Bucket Key (KMS is
    called per bucket, not per object), or SSE-S3 (AES-256) without a key."""
    by_default = (
        aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs
    )
    if kms_key_arn is None:
        return aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=by_default(sse_algorithm="AES256"),
        )
    return aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
        apply_server_side_encryption_by_default=by_default(
            sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn
        ),
        bucket_key_enabled=True,
    )


@dataclass(frozen=True)
class _Parts:
    bucket: aws.s3.Bucket
    ownership: aws.s3.BucketOwnershipControls
    public_access_block: aws.s3.BucketPublicAccessBlock


class _BucketComponent(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    arn: pulumi.Output[str]
    regional_domain_name: pulumi.Output[str]
    domain_name: pulumi.Output[str]

    _retain = False

    def _child(self, **options: Any) -> pulumi.ResourceOptions:
        """Options of a resource of the bucket: retained with it when it is retained (Pulumi
        does not pass `retain_on_delete` from a component to its children)."""
        if self._retain:
            options["retain_on_delete"] = True
        return pulumi.ResourceOptions(parent=self, **options)

    def _provision(self, name: str, args: BucketArgs) -> _Parts:
        """The bucket of `args` and its configuration, as children of this component."""
        self._retain = args.on_delete is OnDelete.RETAIN
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=args.bucket_name,
            # Only on the caller's explicit word: data must not vanish with an update.
            force_destroy=args.on_delete is OnDelete.EMPTY,
            tags={"Name": f"{name}-bucket", **args.tags},
            opts=self._child(protect=args.deletion_protection),
        )
        parts = _Parts(bucket, *self._access_controls(name, bucket, args.object_ownership))
        child = self._child()
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[encryption_default(args.kms_key_arn)],
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled" if args.versioning else "Suspended"
            ),
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=lifecycle_rules(args),  # type: ignore[arg-type]
            # Noncurrent-version rules only mean something once versioning is settled.
            opts=self._child(depends_on=[versioning]),
        )
        if args.access_log_bucket is not None:
            self._access_logging(name, bucket, args)
        if args.manage_policy:
            self._policy(name, parts, args.policy_statements)
        return parts

    def _access_controls(
        self, name: str, bucket: aws.s3.Bucket, object_ownership: ObjectOwnership
    ) -> tuple[aws.s3.BucketOwnershipControls, aws.s3.BucketPublicAccessBlock]:
        """Object Ownership (ACLs on or off) and Block Public Access with all four flags."""
        child = self._child()
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(
                object_ownership=ObjectOwnership(object_ownership).value
            ),
            opts=child,
        )
        public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            ignore_public_acls=True,
            block_public_policy=True,
            restrict_public_buckets=True,
            opts=child,
        )
        return ownership, public_access_block

    def _access_logging(self, name: str, bucket: aws.s3.Bucket, args: BucketArgs) -> None:
        aws.s3.BucketLogging(
            f"{name}-access-logging",
            bucket=bucket.id,
            target_bucket=args.access_log_bucket,
            target_prefix=args.access_log_prefix or f"{S3_ACCESS_LOG_PREFIX}/{args.bucket_name}/",
            # Date-partitioned keys: queryable by day without listing the whole prefix.
            target_object_key_format=aws.s3.BucketLoggingTargetObjectKeyFormatArgs(
                partitioned_prefix=aws.s3.BucketLoggingTargetObjectKeyFormatPartitionedPrefixArgs(
                    partition_date_source="EventTime"
                )
            ),
            opts=self._child(),
        )

    def _policy(
        self, name: str, parts: _Parts, statements: Sequence[pulumi.Input[dict[str, Any]]]
    ) -> None:
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=parts.bucket.id,
            policy=pulumi.Output.all(parts.bucket.arn, *statements).apply(
                lambda v: bucket_policy(v[0], *v[1:])
            ),
            # S3 refuses concurrent changes to a bucket's access settings.
            opts=self._child(depends_on=[parts.public_access_block]),
        )

    def _expose(self, bucket: aws.s3.Bucket) -> None:
        self.bucket_name = bucket.id
        self.arn = bucket.arn
        self.regional_domain_name = bucket.bucket_regional_domain_name
        self.domain_name = bucket.bucket_domain_name
        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "arn": self.arn,
                "regionalDomainName": self.regional_domain_name,
                "domainName": self.domain_name,
            }
        )


class Bucket(_BucketComponent):
    """A private S3 bucket for the estate's data (media, documents, reports, backups).

    Block Public Access is on with all four flags; ACLs are off (BucketOwnerEnforced) unless
    a log delivery needs them; default encryption is SSE-KMS with a Bucket Key when a key is
    given, SSE-S3 otherwise; the bucket policy denies any request made without TLS. Versions
    are kept and expire after `noncurrent_version_expiry_days`; incomplete multipart uploads
    are removed after 7 days; documents can be archived (Standard-IA, then Glacier) and logs
    expired. S3 server access logs go to the log bucket when one is given. A delete empties
    it (`force_destroy`) or leaves it in AWS only when `on_delete` says so.

    Outputs: `bucket_name`, `arn`, `regional_domain_name` (what CloudFront origins use) and
    `domain_name` (`<bucket>.s3.amazonaws.com`, what CloudFront standard logging takes).
    """

    def __init__(
        self, name: str, args: BucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        if found := problems(name, args):
            raise InvalidArguments(found)
        self._expose(self._provision(name, args).bucket)


def _log_delivery_statements(args: LogBucketArgs) -> list[pulumi.Output[dict[str, Any]]]:
    """The log bucket's Allow statements: the load balancer's and S3 server access logging's
    deliveries, each under its own prefix."""
    partition = aws.get_partition_output().partition
    account = aws.get_caller_identity_output().account_id
    elb_account_arn = aws.elb.get_service_account_output().arn
    arn = partition.apply(lambda p: f"arn:{p}:s3:::{args.bucket_name}")
    return [
        pulumi.Output.all(arn, account, elb_account_arn).apply(
            lambda v: alb_log_delivery_statement(
                v[0], prefix=args.alb_log_prefix, account=v[1], elb_account_arn=v[2]
            )
        ),
        pulumi.Output.all(arn, account).apply(
            lambda v: s3_access_log_statement(v[0], account=v[1])
        ),
    ]


class LogBucket(_BucketComponent):
    """The estate's log bucket: CloudFront standard logs, load balancer access logs and S3
    server access logs of the data buckets.

    A `Bucket` with what those deliveries require: SSE-S3 (load balancer access logs and S3
    server access logs cannot be written to an SSE-KMS bucket); ACLs on
    (BucketOwnerPreferred) with an ACL granting the bucket owner and CloudFront's
    `awslogsdelivery` account FULL_CONTROL, which CloudFront standard logging needs; a policy
    that, besides denying requests without TLS, admits the load balancer only under
    `<alb_log_prefix>/AWSLogs/<account>/` (as the region's ELB account and as the
    log-delivery service) and S3 server access logging of this account only under
    `s3-access-logs/`. Objects expire after `retention_days`; versioning keeps them
    recoverable for `noncurrent_version_expiry_days` more. The log bucket does not log its
    own access (it would log into itself).
    """

    def __init__(
        self, name: str, args: LogBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(LOG_BUCKET_TOKEN, name, None, opts)
        if found := problems(name, args):
            raise InvalidArguments(found)
        parts = self._provision(
            name,
            BucketArgs(
                bucket_name=args.bucket_name,
                deletion_protection=args.deletion_protection,
                object_ownership=ObjectOwnership.BUCKET_OWNER_PREFERRED,
                versioning=True,
                noncurrent_version_expiry_days=args.noncurrent_version_expiry_days,
                expire_after_days=args.retention_days,
                policy_statements=_log_delivery_statements(args),
                tags=args.tags,
            ),
        )
        self._acl(name, parts)
        self._expose(parts.bucket)

    def _acl(self, name: str, parts: _Parts) -> None:
        """FULL_CONTROL for the bucket owner and CloudFront's log delivery account."""
        owner_id = aws.s3.get_canonical_user_id_output().id
        log_delivery_id = aws.cloudfront.get_log_delivery_canonical_user_id_output().id
        aws.s3.BucketAcl(
            f"{name}-acl",
            bucket=parts.bucket.id,
            # The whole ACL is replaced, so the owner's own grant must be in it.
            access_control_policy=aws.s3.BucketAclAccessControlPolicyArgs(
                owner=aws.s3.BucketAclAccessControlPolicyOwnerArgs(id=owner_id),
                grants=[
                    aws.s3.BucketAclAccessControlPolicyGrantArgs(
                        grantee=aws.s3.BucketAclAccessControlPolicyGrantGranteeArgs(
                            type="CanonicalUser", id=grantee
                        ),
                        permission="FULL_CONTROL",
                    )
                    for grantee in (owner_id, log_delivery_id)
                ],
            ),
            # S3 refuses ACLs until Object Ownership allows them.
            opts=self._child(depends_on=[parts.ownership]),
        )
