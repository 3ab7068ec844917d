"""`AccountAudit`: the account-level record and detection: a CloudTrail trail, GuardDuty with
EKS protection, and an AWS Config recorder."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from osp.components.storage import Bucket, BucketArgs, expected_bucket_name
from osp.platform import iam, limits
from osp.platform.naming import NameKind, fit
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:audit:AccountAudit"

#: Key prefixes in the audit bucket: CloudTrail's log files and Config's snapshots/history.
TRAIL_PREFIX = "cloudtrail"
CONFIG_PREFIX = "config"

#: GuardDuty's EKS protection: the clusters' audit logs, and runtime monitoring of the nodes
#: through the GuardDuty agent add-on, which GuardDuty installs and updates itself.
GUARDDUTY_FEATURES = {
    "EKS_AUDIT_LOGS": (),
    "RUNTIME_MONITORING": ("EKS_ADDON_MANAGEMENT",),
}

#: How often GuardDuty publishes updated findings (to EventBridge and Security Hub).
FINDING_PUBLISHING_FREQUENCY = "FIFTEEN_MINUTES"

_DAYS = limits.Constraint(
    "a whole number of days from 1 to 3650",
    lambda v: limits.is_int(v) and 1 <= v <= 3650,  # type: ignore[operator]
)


@dataclass(frozen=True, kw_only=True)
class AccountAuditArgs:
    """Arguments of `AccountAudit`. Each of the three is one per account and region (a trail
    may be more, but one multi-region trail is what an account needs): turn them on in one
    environment of an account."""

    bucket_name: str
    """Physical name of the audit bucket that receives the trail's log files and Config's
    deliveries (the rules of `BucketArgs.bucket_name`)."""

    retention_days: int
    """Days the audit bucket keeps a log file or snapshot (1-3650) before it expires."""

    deletion_window_days: int
    """Days a deleted audit key waits before it is gone (7-30)."""

    deletion_protection: bool
    """Pulumi `protect` on the bucket and the key."""

    trail: bool = True
    """A multi-region CloudTrail trail of management events, with log file validation,
    encrypted with the audit key, into the audit bucket under `cloudtrail/`. False when the
    account's organisation trail already records it."""

    guardduty: bool = True
    """A GuardDuty detector with EKS protection (audit logs and runtime monitoring)."""

    config_recorder: bool = True
    """An AWS Config recorder of every supported resource type (global ones too), delivering
    to the audit bucket under `config/`, and turned on."""

    access_log_bucket: pulumi.Input[str] | None = None
    """Name of the bucket that receives the audit bucket's S3 server access logs (the
    estate's `LogBucket`). Default: none."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every taggable resource (osp's tag set)."""


def problems(name: str, args: AccountAuditArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("AccountAudit", name)
    expected = expected_bucket_name(args.bucket_name)
    if expected:
        check.add("bucket_name", args.bucket_name, expected)
    check.against(_DAYS, "retention_days", args.retention_days)
    check.against(
        limits.KMS_DELETION_WINDOW_DAYS, "deletion_window_days", args.deletion_window_days
    )
    switches = {"trail": args.trail, "guardduty": args.guardduty}
    switches["config_recorder"] = args.config_recorder
    for arg, value in switches.items():
        check.check(isinstance(value, bool), arg, value, "True or False")
    if not any(v is True for v in switches.values()):
        check.note("trail", "got False with guardduty and config_recorder False; expected one on")
    return check.found


def trail_arn(*, partition: str, region: str, account: str, trail_name: str) -> str:
    return f"arn:{partition}:cloudtrail:{region}:{account}:trail/{trail_name}"


def key_policy(*, partition: str, account: str, trail: str | None) -> str:
    """The audit key's policy: the account administers it (and so its IAM policies decide
    who reads the logs); CloudTrail may encrypt with it for `trail` only."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if trail is not None:
        statements += [
            {
                "Sid": "CloudTrailEncryptsLogFiles",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceArn": trail},
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": (
                            f"arn:{partition}:cloudtrail:*:{account}:trail/*"
                        )
                    },
                },
            },
            {
                "Sid": "CloudTrailDescribesKey",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:DescribeKey",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceArn": trail}},
            },
        ]
    return iam.policy(*statements)


def trail_bucket_statements(*, bucket_arn: str, account: str, trail: str) -> list[dict]:
    """What CloudTrail needs of the audit bucket, for `trail` only: read its ACL, and write
    under `cloudtrail/AWSLogs/<account>/` handing the objects to the bucket owner."""
    return [
        {
            "Sid": "CloudTrailChecksAcl",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": {"StringEquals": {"aws:SourceArn": trail}},
        },
        {
            "Sid": "CloudTrailWrites",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/{TRAIL_PREFIX}/AWSLogs/{account}/*",
            "Condition": {
                "StringEquals": {
                    "aws:SourceArn": trail,
                    "s3:x-amz-acl": "bucket-owner-full-control",
                }
            },
        },
    ]


def config_role_policy(*, bucket_arn: str, account: str, key_arn: str) -> str:
    """What Config's role may do besides AWS_ConfigRole: deliver into `config/` of the audit
    bucket, encrypted with the audit key."""
    return iam.policy(
        {
            "Sid": "DeliverToAuditBucket",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/{CONFIG_PREFIX}/AWSLogs/{account}/Config/*",
            "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
        },
        {
            "Sid": "CheckAuditBucketAcl",
            "Effect": "Allow",
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
        },
        {
            "Sid": "EncryptWithAuditKey",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": key_arn,
        },
    )


class AccountAudit(pulumi.ComponentResource):
    """The account's audit record and threat detection, each behind its switch.

    An audit KMS key (rotating) and an audit bucket (a `Bucket`: private, TLS-only,
    versioned, SSE-KMS with the audit key, its own lifecycle: objects expire after
    `retention_days`, server access logs into the log bucket); a multi-region CloudTrail
    trail of management events with global service events and log file validation,
    encrypted with the audit key, into `cloudtrail/`; a GuardDuty detector with EKS audit
    log monitoring and EKS runtime monitoring (the agent add-on managed by GuardDuty); an
    AWS Config recorder of all supported and global resource types with its own role,
    delivering to `config/` daily, turned on.
    """

    trail_arn: pulumi.Output[str] | None
    detector_id: pulumi.Output[str] | None
    bucket_name: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: AccountAuditArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        if found := problems(name, args):
            raise InvalidArguments(found)
        self._name, self._args = name, args
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self))
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self))
        trail_name = fit(f"{name}-trail", NameKind.GENERIC)
        trail = (
            pulumi.Output.all(partition.partition, region.region, account.account_id).apply(
                lambda v: trail_arn(
                    partition=v[0], region=v[1], account=v[2], trail_name=trail_name
                )
            )
            if args.trail
            else None
        )
        self.trail_arn = self.detector_id = self.bucket_name = None
        if args.trail or args.config_recorder:
            key = aws.kms.Key(
                f"{name}-key",
                description=f"osp: {name}: CloudTrail log files and Config deliveries",
                enable_key_rotation=True,
                deletion_window_in_days=args.deletion_window_days,
                policy=pulumi.Output.all(partition.partition, account.account_id, trail).apply(
                    lambda v: key_policy(partition=v[0], account=v[1], trail=v[2])
                ),
                tags={"Name": f"{name}-key", **args.tags},
                opts=pulumi.ResourceOptions(parent=self, protect=args.deletion_protection),
            )
            bucket = self._bucket(key, account.account_id, trail)
            self.bucket_name = bucket.bucket_name
            if trail is not None:
                self.trail_arn = self._trail(trail_name, key, bucket)
            if args.config_recorder:
                self._config_recorder(key, bucket, partition.partition, account.account_id)
        if args.guardduty:
            self.detector_id = self._guardduty(child)
        outputs = {
            "trailArn": self.trail_arn,
            "detectorId": self.detector_id,
            "bucketName": self.bucket_name,
        }
        self.register_outputs({k: v for k, v in outputs.items() if v is not None})

    def _bucket(
        self, key: aws.kms.Key, account: pulumi.Output[str], trail: pulumi.Output[str] | None
    ) -> Bucket:
        args = self._args
        statements = []
        if trail is not None:
            bucket_arn = aws.get_partition_output().partition.apply(
                lambda p: f"arn:{p}:s3:::{args.bucket_name}"
            )
            documents = pulumi.Output.all(bucket_arn, account, trail).apply(
                lambda v: trail_bucket_statements(bucket_arn=v[0], account=v[1], trail=v[2])
            )
            statements = [documents.apply(lambda s, i=i: s[i]) for i in range(2)]
        return Bucket(
            f"{self._name}-logs",
            BucketArgs(
                bucket_name=args.bucket_name,
                kms_key_arn=key.arn,
                deletion_protection=args.deletion_protection,
                expire_after_days=args.retention_days,
                noncurrent_version_expiry_days=min(args.retention_days, 30),
                access_log_bucket=args.access_log_bucket,
                policy_statements=statements,
                tags=args.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _trail(self, trail_name: str, key: aws.kms.Key, bucket: Bucket) -> pulumi.Output[str]:
        resource_name = f"{self._name}-trail"
        trail = aws.cloudtrail.Trail(
            resource_name,
            name=trail_name,
            s3_bucket_name=bucket.bucket_name,
            s3_key_prefix=TRAIL_PREFIX,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            kms_key_id=key.arn,
            enable_logging=True,
            tags={"Name": resource_name, **self._args.tags},
            # CloudTrail checks the bucket policy and the key when the trail is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[bucket, key]),
        )
        return trail.arn

    def _guardduty(self, child: pulumi.ResourceOptions) -> pulumi.Output[str]:
        resource_name = f"{self._name}-guardduty"
        detector = aws.guardduty.Detector(
            resource_name,
            enable=True,
            finding_publishing_frequency=FINDING_PUBLISHING_FREQUENCY,
            tags={"Name": resource_name, **self._args.tags},
            opts=child,
        )
        for feature, additional in GUARDDUTY_FEATURES.items():
            aws.guardduty.DetectorFeature(
                f"{resource_name}-{feature.lower().replace('_', '-')}",
                detector_id=detector.id,
                name=feature,
                status="ENABLED",
                additional_configurations=[
                    aws.guardduty.DetectorFeatureAdditionalConfigurationArgs(
                        name=extra, status="ENABLED"
                    )
                    for extra in additional
                ],
                opts=child,
            )
        return detector.id

    def _config_recorder(
        self,
        key: aws.kms.Key,
        bucket: Bucket,
        partition: pulumi.Output[str],
        account: pulumi.Output[str],
    ) -> None:
        name, args = self._name, self._args
        child = pulumi.ResourceOptions(parent=self)
        role_name = f"{name}-config"
        role = aws.iam.Role(
            role_name,
            name=fit(role_name, NameKind.IAM),
            description=f"{name}: AWS Config records the account's resources",
            assume_role_policy=iam.service_trust("config.amazonaws.com"),
            tags={"Name": role_name, **args.tags},
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{role_name}-managed",
            role=role.name,
            policy_arn=partition.apply(
                lambda p: f"arn:{p}:iam::aws:policy/service-role/AWS_ConfigRole"
            ),
            opts=child,
        )
        delivery_policy = aws.iam.RolePolicy(
            f"{role_name}-delivery",
            role=role.id,
            policy=pulumi.Output.all(bucket.arn, account, key.arn).apply(
                lambda v: config_role_policy(bucket_arn=v[0], account=v[1], key_arn=v[2])
            ),
            opts=child,
        )
        recorder = aws.cfg.Recorder(
            f"{name}-config-recorder",
            name=fit(f"{name}-config", NameKind.GENERIC),
            role_arn=role.arn,
            recording_group=aws.cfg.RecorderRecordingGroupArgs(
                all_supported=True, include_global_resource_types=True
            ),
            opts=child,
        )
        channel = aws.cfg.DeliveryChannel(
            f"{name}-config-channel",
            name=fit(f"{name}-config", NameKind.GENERIC),
            s3_bucket_name=bucket.bucket_name,
            s3_key_prefix=CONFIG_PREFIX,
            s3_kms_key_arn=key.arn,
            snapshot_delivery_properties=aws.cfg.DeliveryChannelSnapshotDeliveryPropertiesArgs(
                delivery_frequency="TwentyFour_Hours"
            ),
            # Config checks it may deliver when the channel is created, and needs a recorder.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[recorder, delivery_policy]),
        )
        aws.cfg.RecorderStatus(
            f"{name}-config-status",
            name=recorder.name,
            is_enabled=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[channel]),
        )
