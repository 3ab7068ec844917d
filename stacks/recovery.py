"""Disaster recovery: AWS Backup of what holds student data, and its copies in the DR region.

primary region                                DR region (osp:dr.region)
  database, tables, data buckets ─► backup vault ─copy─► DR vault (its own key)
  data buckets ──────── S3 replication (re-encrypted) ────────► replica buckets (DR keys)
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from osp.components import (
    Backup,
    BackupArgs,
    Bucket,
    BucketArgs,
    BucketReplica,
    BucketReplicaArgs,
    KeyRing,
    KeyRingArgs,
    ProtectedKind,
    ProtectedResource,
)
from osp.components.storage import s3_access_log_statement
from osp.stacks.context import Context
from osp.stacks.foundation import Foundation
from osp.stacks.shared import Shared


@dataclass(frozen=True)
class Recovery:
    backup: Backup
    dr_provider: aws.Provider | None
    """The DR region's provider; None when the profile keeps nothing there (dev)."""
    dr_keys: KeyRing | None
    dr_log_bucket: Bucket | None
    replicas: dict[str, BucketReplica]
    """The replica of each data bucket, by the bucket's name in the catalogue."""


def build(ctx: Context, foundation: Foundation, shared: Shared) -> Recovery:
    spec, dr = ctx.spec, ctx.spec.dr
    provider = dr_keys = dr_logs = None
    replicas: dict[str, BucketReplica] = {}
    if dr.cross_region:
        # One provider for every resource in the DR region (as stacks/edge.py's for us-east-1).
        provider = aws.Provider(ctx.name(spec.dr_region), region=spec.dr_region)
        # Replicas are re-encrypted with a key of the DR region: KMS keys are regional.
        dr_keys = KeyRing(
            ctx.name("dr-keys"),
            KeyRingArgs(
                domains=("storage",),
                deletion_window_days=spec.keys.deletion_window_days,
                deletion_protection=ctx.protect,
                tags=ctx.tags("dr"),
            ),
            pulumi.ResourceOptions(providers=[provider]),
        )
        # The replicas always log their access, whatever the data buckets do: a copy of the
        # student data outside the primary region is read by no service, so any read is news.
        dr_logs = _dr_log_bucket(ctx, provider)
        replicas = {
            name: BucketReplica(
                ctx.name(f"{name}-replica"),
                BucketReplicaArgs(
                    source_bucket_name=bucket.bucket_name,
                    source_bucket_arn=bucket.arn,
                    source_kms_key_arn=foundation.keys.storage_key_arn,
                    source_dependencies=[bucket],
                    replica_bucket_name=ctx.bucket_name(f"{name}-dr"),
                    replica_kms_key_arn=dr_keys.storage_key_arn,
                    replica_provider=provider,
                    replica_access_log_bucket=dr_logs.bucket_name,
                    replication_time_control=dr.replication_time_control,
                    noncurrent_version_expiry_days=spec.storage.noncurrent_version_expiry_days,
                    deletion_protection=ctx.protect,
                    tags=ctx.tags("dr"),
                ),
            )
            for name, bucket in shared.buckets.items()
        }
    backup = Backup(
        ctx.name("backup"),
        BackupArgs(
            vault_name=ctx.name("backups"),
            resources=_protected(ctx, foundation, shared),
            daily_retention_days=dr.daily_retention_days,
            monthly_retention_days=dr.monthly_retention_days,
            continuous_retention_days=(
                dr.continuous_retention_days if dr.continuous_backup else None
            ),
            vault_lock_min_retention_days=dr.vault_lock_min_retention_days,
            copy_provider=provider,
            key_deletion_window_days=spec.keys.deletion_window_days,
            deletion_protection=ctx.protect,
            tags=ctx.tags("backup"),
        ),
    )
    return Recovery(
        backup=backup,
        dr_provider=provider,
        dr_keys=dr_keys,
        dr_log_bucket=dr_logs,
        replicas=replicas,
    )


def _protected(ctx: Context, foundation: Foundation, shared: Shared) -> list[ProtectedResource]:
    """What holds student data: the database, the tenant registry, the blueprint's tables
    (sessions, payment tokens …) and every data bucket (media, documents, reports, backups:
    seed 003 and 004 name each as student data or its backups)."""
    found: list[ProtectedResource] = []
    if foundation.database is not None:
        lookup = aws.get_caller_identity_output()
        partition = aws.get_partition_output().partition
        arn = pulumi.Output.all(partition, lookup.account_id, foundation.database.identifier).apply(
            lambda v: f"arn:{v[0]}:rds:{ctx.spec.region}:{v[1]}:db:{v[2]}"
        )
        found.append(ProtectedResource(kind=ProtectedKind.DATABASE, arn=arn))
    found.append(ProtectedResource(kind=ProtectedKind.TABLE, arn=shared.tenants.arn))
    found += [
        ProtectedResource(kind=ProtectedKind.TABLE, arn=table.arn)
        for table in shared.data.tables.values()
    ]
    found += [
        ProtectedResource(kind=ProtectedKind.BUCKET, arn=bucket.arn)
        for bucket in shared.buckets.values()
    ]
    return found


def _dr_log_bucket(ctx: Context, provider: aws.Provider) -> Bucket:
    """The replicas' access logs: S3 delivers server access logs only within a region.
    SSE-S3, as S3 server access logging requires of its target."""
    name = ctx.bucket_name("dr-logs")
    account = aws.get_caller_identity_output().account_id
    partition = aws.get_partition_output().partition
    return Bucket(
        ctx.name("dr-logs"),
        BucketArgs(
            bucket_name=name,
            expire_after_days=ctx.spec.edge.log_retention_days,
            noncurrent_version_expiry_days=ctx.spec.storage.noncurrent_version_expiry_days,
            policy_statements=[
                pulumi.Output.all(partition, account).apply(
                    lambda v: s3_access_log_statement(f"arn:{v[0]}:s3:::{name}", account=v[1])
                )
            ],
            deletion_protection=ctx.protect,
            tags=ctx.tags("dr"),
        ),
        pulumi.ResourceOptions(providers=[provider]),
    )
