"""`BucketReplica`: a copy of a data bucket in another region, kept by S3 replication."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from osp.components.storage import Bucket, BucketArgs, expected_bucket_name
from osp.platform import iam
from osp.platform.naming import NameKind, fit
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:replication:BucketReplica"

#: The id of the one replication rule on a source bucket.
RULE_ID = "to-dr-region"
#: S3 Replication Time Control's one threshold: 99.99% of objects within 15 minutes.
RTC_MINUTES = 15


@dataclass(frozen=True, kw_only=True)
class BucketReplicaArgs:
    """Arguments of `BucketReplica`."""

    source_bucket_name: pulumi.Input[str]
    """The bucket replicated (versioned: S3 replicates versions)."""

    source_bucket_arn: pulumi.Input[str]
    source_kms_key_arn: pulumi.Input[str]
    """The key the source's objects are encrypted with: replication decrypts with it."""

    source_dependencies: Sequence[pulumi.Resource] = ()
    """What must exist before replication is configured (the source bucket's component:
    S3 refuses replication on a bucket before its versioning is on)."""

    replica_bucket_name: str
    """Physical name of the replica (the rules of `BucketArgs.bucket_name`)."""

    replica_kms_key_arn: pulumi.Input[str]
    """A key of the replica's region: replicas are re-encrypted with it (KMS keys are
    regional; losing the source region must not lose the key that opens the copies)."""

    replica_provider: aws.Provider
    """Provider of the replica's region."""

    replica_access_log_bucket: pulumi.Input[str] | None = None
    """A log bucket in the replica's region for its server access logs (S3 logs only within
    a region). Default: no access logging."""

    replication_time_control: bool = False
    """S3 Replication Time Control (99.99% of objects within 15 minutes) and replication
    metrics. Default: plain replication (most objects within minutes, no guarantee)."""

    noncurrent_version_expiry_days: int = 30
    """Days an overwritten or deleted version is kept in the replica."""

    deletion_protection: bool = False
    """Pulumi `protect` on the replica bucket."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource."""


def problems(name: str, args: BucketReplicaArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("BucketReplica", name)
    expected = expected_bucket_name(args.replica_bucket_name)
    if expected is not None:
        check.add("replica_bucket_name", args.replica_bucket_name, expected)
    check.check(
        args.noncurrent_version_expiry_days >= 1,
        "noncurrent_version_expiry_days",
        args.noncurrent_version_expiry_days,
        "a whole number of days, at least 1",
    )
    return check.found


def replication_policy(
    *,
    source_arn: str,
    replica_arn: str,
    source_key_arn: str,
    replica_key_arn: str,
    source_region: str,
    replica_region: str,
) -> str:
    """What the replication role may do, and nothing more: read the source's versions,
    write replicas, decrypt with the source key and encrypt with the replica key, each only
    through S3 for those two buckets."""
    return iam.policy(
        {
            "Sid": "ReadSourceConfiguration",
            "Effect": "Allow",
            "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
            "Resource": source_arn,
        },
        {
            "Sid": "ReadSourceVersions",
            "Effect": "Allow",
            "Action": [
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging",
            ],
            "Resource": f"{source_arn}/*",
        },
        {
            "Sid": "WriteReplicas",
            "Effect": "Allow",
            "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
            "Resource": f"{replica_arn}/*",
        },
        {
            "Sid": "DecryptSource",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": source_key_arn,
            "Condition": {
                "StringEquals": {"kms:ViaService": f"s3.{source_region}.amazonaws.com"},
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": f"{source_arn}/*"},
            },
        },
        {
            "Sid": "EncryptReplicas",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
            "Resource": replica_key_arn,
            "Condition": {
                "StringEquals": {"kms:ViaService": f"s3.{replica_region}.amazonaws.com"},
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": f"{replica_arn}/*"},
            },
        },
    )


class BucketReplica(pulumi.ComponentResource):
    """A replica of a bucket in another region, with the protections of `Bucket` (SSE-KMS
    with the replica region's key, versioning, Block Public Access, TLS-only policy, access
    logs to that region's log bucket), and the source's replication to it: every object
    version, delete markers included, KMS-encrypted objects re-encrypted with the replica key,
    by a role that can do only that; with Replication Time Control and metrics when asked."""

    bucket_name: pulumi.Output[str]
    arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: BucketReplicaArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        if found := problems(name, args):
            raise InvalidArguments(found)
        replica = Bucket(
            f"{name}-bucket",
            BucketArgs(
                bucket_name=args.replica_bucket_name,
                kms_key_arn=args.replica_kms_key_arn,
                noncurrent_version_expiry_days=args.noncurrent_version_expiry_days,
                access_log_bucket=args.replica_access_log_bucket,
                deletion_protection=args.deletion_protection,
                tags=args.tags,
            ),
            pulumi.ResourceOptions(parent=self, provider=args.replica_provider),
        )
        role = self._role(name, args, replica)
        aws.s3.BucketReplicationConfig(
            f"{name}-replication",
            bucket=args.source_bucket_name,
            role=role.arn,
            rules=[self._rule(args, replica)],
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[replica, *args.source_dependencies]
            ),
        )
        self.bucket_name = replica.bucket_name
        self.arn = replica.arn
        self.role_arn = role.arn
        self.register_outputs(
            {"bucketName": self.bucket_name, "arn": self.arn, "roleArn": self.role_arn}
        )

    def _rule(
        self, args: BucketReplicaArgs, replica: Bucket
    ) -> aws.s3.BucketReplicationConfigRuleArgs:
        timed = args.replication_time_control
        return aws.s3.BucketReplicationConfigRuleArgs(
            id=RULE_ID,
            status="Enabled",
            # An empty filter: the whole bucket (and the V2 schema delete markers need).
            filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
            delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                status="Enabled"
            ),
            source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                sse_kms_encrypted_objects=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                    status="Enabled"
                )
            ),
            destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                bucket=replica.arn,
                storage_class="STANDARD",
                encryption_configuration=aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                    replica_kms_key_id=args.replica_kms_key_arn
                ),
                replication_time=(
                    aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeArgs(
                        status="Enabled",
                        time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeTimeArgs(
                            minutes=RTC_MINUTES
                        ),
                    )
                    if timed
                    else None
                ),
                # Replication Time Control requires its metrics.
                metrics=(
                    aws.s3.BucketReplicationConfigRuleDestinationMetricsArgs(
                        status="Enabled",
                        event_threshold=aws.s3.BucketReplicationConfigRuleDestinationMetricsEventThresholdArgs(
                            minutes=RTC_MINUTES
                        ),
                    )
                    if timed
                    else None
                ),
            ),
        )

    def _role(self, name: str, args: BucketReplicaArgs, replica: Bucket) -> aws.iam.Role:
        source_region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self))
        replica_region = aws.get_region_output(
            opts=pulumi.InvokeOutputOptions(parent=self, provider=args.replica_provider)
        )
        role = aws.iam.Role(
            f"{name}-role",
            name=fit(f"{name}-role", NameKind.IAM),
            assume_role_policy=iam.service_trust("s3.amazonaws.com"),
            tags={"Name": f"{name}-role", **args.tags},
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=role.id,
            policy=pulumi.Output.all(
                args.source_bucket_arn,
                replica.arn,
                args.source_kms_key_arn,
                args.replica_kms_key_arn,
                source_region.region,
                replica_region.region,
            ).apply(
                lambda v: replication_policy(
                    source_arn=v[0],
                    replica_arn=v[1],
                    source_key_arn=v[2],
                    replica_key_arn=v[3],
                    source_region=v[4],
                    replica_region=v[5],
                )
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role
