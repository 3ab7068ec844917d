"""Shared services: the log bucket, the data buckets, the image registry, the app secrets, the
tenant registry table, and the blueprint's own tables and parameters (osp.stacks.data)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi

from osp.components import (
    AccountAudit,
    AccountAuditArgs,
    AttributeType,
    BillingMode,
    Bucket,
    BucketArgs,
    GeneratedSecret,
    GlobalSecondaryIndex,
    LogBucket,
    LogBucketArgs,
    PlaceholderSecret,
    ProjectionType,
    Registry,
    RegistryArgs,
    ServiceSecrets,
    ServiceSecretsArgs,
    Table,
    TableArgs,
)
from osp.platform.catalogue.models import SecretKind
from osp.platform.tenancy.registry import (
    STATE_INDEX,
    STATE_INDEX_HASH_KEY,
    STATE_INDEX_RANGE_KEY,
    TABLE_HASH_KEY,
)
from osp.stacks.context import Context
from osp.stacks.data import Data
from osp.stacks.data import build as build_data
from osp.stacks.foundation import Foundation, rotation


@dataclass(frozen=True)
class Shared:
    log_bucket: LogBucket
    buckets: dict[str, Bucket]
    registry: Registry
    secrets: ServiceSecrets | None
    tenants: Table
    audit: AccountAudit | None
    """The account's trail, GuardDuty and Config recorder, where the profile asks for any."""
    data: Data
    """The blueprint's DynamoDB tables and SSM parameters."""
    delivery_statements: dict[str, Callable[[pulumi.Output[dict[str, Any]]], None]] = field(
        default_factory=dict
    )
    """Delivered bucket → settles its policy's CloudFront statement (called once, by
    osp.stacks.delivery)."""


def build(ctx: Context, foundation: Foundation) -> Shared:
    spec, catalogue, keys = ctx.spec, ctx.catalogue, foundation.keys
    # Every environment has one: the load balancer always logs; CloudFront and the data
    # buckets add theirs where the profile asks for them.
    log_bucket = LogBucket(
        ctx.name("logs"),
        LogBucketArgs(
            bucket_name=ctx.bucket_name("logs"),
            retention_days=spec.edge.log_retention_days,
            noncurrent_version_expiry_days=spec.storage.noncurrent_version_expiry_days,
            deletion_protection=ctx.protect,
            tags=ctx.tags("logs"),
        ),
    )
    # A delivered bucket's policy admits its CloudFront distribution, which the edge creates
    # later: its statement is settled there (osp.stacks.delivery).
    deferred = {b.name: pulumi.deferred_output() for b in catalogue.delivered_buckets}
    buckets = {
        bucket.name: Bucket(
            ctx.name(bucket.name),
            BucketArgs(
                bucket_name=ctx.bucket_name(bucket.name),
                kms_key_arn=keys.storage_key_arn,
                archive=bucket.archive,
                noncurrent_version_expiry_days=spec.storage.noncurrent_version_expiry_days,
                access_log_bucket=log_bucket.bucket_name if spec.storage.access_logging else None,
                policy_statements=[deferred[bucket.name][0]] if bucket.name in deferred else (),
                deletion_protection=ctx.protect,
                tags=ctx.tags("storage"),
            ),
        )
        for bucket in catalogue.buckets
    }
    registry = Registry(
        ctx.name("registry"),
        RegistryArgs(
            prefix=ctx.name("services"),
            services=catalogue.repositories,
            kms_key_arn=keys.storage_key_arn,
            keep_tagged_images=spec.registry.keep_tagged_images,
            untagged_expiry_days=spec.registry.untagged_expiry_days,
            deletion_protection=ctx.protect,
            tags=ctx.tags("registry"),
        ),
    )
    generated = [
        GeneratedSecret(name=s.name, description=s.description or s.name)
        for s in catalogue.secrets
        if s.kind is SecretKind.GENERATED
    ]
    placeholders = [
        PlaceholderSecret(name=s.name, description=s.description or s.name, keys=s.keys)
        for s in catalogue.secrets
        if s.kind is SecretKind.PLACEHOLDER
    ]
    secrets = (
        ServiceSecrets(
            ctx.name("app-secrets"),
            ServiceSecretsArgs(
                prefix=ctx.name("app"),
                kms_key_arn=keys.secrets_key_arn,
                generated=generated,
                placeholders=placeholders,
                recovery_window_days=spec.secrets.recovery_window_days,
                rotation=rotation(ctx, keys, foundation.network),
                deletion_protection=ctx.protect,
                tags=ctx.tags("secrets"),
            ),
        )
        if generated or placeholders
        else None
    )
    return Shared(
        log_bucket=log_bucket,
        buckets=buckets,
        registry=registry,
        secrets=secrets,
        tenants=_tenants(ctx, foundation),
        audit=_audit(ctx, log_bucket),
        data=build_data(ctx, foundation),
        delivery_statements={name: resolve for name, (_, resolve) in deferred.items()},
    )


def _audit(ctx: Context, log_bucket: LogBucket) -> AccountAudit | None:
    audit = ctx.spec.audit
    if not (audit.trail or audit.guardduty or audit.config_recorder):
        return None
    return AccountAudit(
        ctx.name("audit"),
        AccountAuditArgs(
            bucket_name=ctx.bucket_name("audit"),
            retention_days=audit.retention_days,
            deletion_window_days=ctx.spec.keys.deletion_window_days,
            deletion_protection=ctx.protect,
            trail=audit.trail,
            guardduty=audit.guardduty,
            config_recorder=audit.config_recorder,
            access_log_bucket=log_bucket.bucket_name if ctx.spec.storage.access_logging else None,
            tags=ctx.tags("audit"),
        ),
    )


def _tenants(ctx: Context, foundation: Foundation) -> Table:
    """The tenant registry: one item per tenant, listed by state through `STATE_INDEX`."""
    return Table(
        ctx.name("tenants"),
        TableArgs(
            table_name=ctx.name("tenants"),
            attributes={
                TABLE_HASH_KEY: AttributeType.STRING,
                STATE_INDEX_HASH_KEY: AttributeType.STRING,
                STATE_INDEX_RANGE_KEY: AttributeType.STRING,
            },
            hash_key=TABLE_HASH_KEY,
            global_secondary_indexes=[
                GlobalSecondaryIndex(
                    name=STATE_INDEX,
                    hash_key=STATE_INDEX_HASH_KEY,
                    range_key=STATE_INDEX_RANGE_KEY,
                    projection=ProjectionType.ALL,
                )
            ],
            billing_mode=BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery=True,
            kms_key_arn=foundation.keys.data_key_arn,
            deletion_protection=ctx.protect,
            tags=ctx.tags("tenants"),
        ),
    )
