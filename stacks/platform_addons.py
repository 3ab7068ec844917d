"""The optional cluster add-ons an environment chooses (`osp:cluster.addons`): the in-cluster
observability stack and Argo CD. Nothing is declared for a choice left at `none`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from osp.app.gitops import ArgoCd, ArgoCdArgs
from osp.app.observability_stack import ObservabilityStack, ObservabilityStackArgs
from osp.components import Bucket, BucketArgs
from osp.platform.spec import Profile
from osp.platform.spec.addons import GitOps, Observability
from osp.stacks.context import Context
from osp.stacks.foundation import Foundation
from osp.stacks.shared import Shared


@dataclass(frozen=True)
class Sizing:
    """What the observability stack keeps, and on how much disk, in one kind of environment."""

    metrics_retention_days: int
    metrics_storage_gib: int
    logs_retention_days: int
    logs_storage_gib: int
    replicas: int


#: Per profile, in one place: dev keeps a week on one replica; staging two weeks and prod a
#: month, each on two Prometheus and Alertmanager replicas and three of Loki.
SIZING = {
    Profile.DEV: Sizing(
        metrics_retention_days=7,
        metrics_storage_gib=20,
        logs_retention_days=7,
        logs_storage_gib=10,
        replicas=1,
    ),
    Profile.STAGING: Sizing(
        metrics_retention_days=15,
        metrics_storage_gib=50,
        logs_retention_days=14,
        logs_storage_gib=20,
        replicas=2,
    ),
    Profile.PROD: Sizing(
        metrics_retention_days=30,
        metrics_storage_gib=100,
        logs_retention_days=30,
        logs_storage_gib=50,
        replicas=2,
    ),
}


@dataclass(frozen=True)
class PlatformAddons:
    observability: ObservabilityStack | None
    """Prometheus, Alertmanager, Grafana, Loki and Promtail, when chosen."""
    logs_bucket: Bucket | None
    """Loki's bucket, with the observability stack."""
    gitops: ArgoCd | None
    """Argo CD, when chosen."""


def build(ctx: Context, foundation: Foundation, shared: Shared) -> PlatformAddons:
    chosen = ctx.spec.cluster.addons
    observability, bucket = (
        _observability(ctx, foundation, shared)
        if chosen.observability is Observability.IN_CLUSTER
        else (None, None)
    )
    gitops = _argocd(ctx, foundation) if chosen.gitops is GitOps.ARGOCD else None
    return PlatformAddons(observability=observability, logs_bucket=bucket, gitops=gitops)


def _observability(
    ctx: Context, foundation: Foundation, shared: Shared
) -> tuple[ObservabilityStack, Bucket]:
    spec, keys, cluster = ctx.spec, foundation.keys, foundation.cluster
    sizing = SIZING[spec.profile]
    # Loki keeps its chunks and index in S3 in every environment, dev included: one code
    # path, no volume to lose with a node, and the compactor's retention applies the same.
    # The lifecycle rule is a backstop a day past Loki's own retention.
    bucket = Bucket(
        ctx.name("loki"),
        BucketArgs(
            bucket_name=ctx.bucket_name("loki"),
            kms_key_arn=keys.storage_key_arn,
            # Loki rewrites its index and deletes chunks itself: old versions are only cost.
            noncurrent_version_expiry_days=1,
            expire_after_days=sizing.logs_retention_days + 1,
            access_log_bucket=(
                shared.log_bucket.bucket_name if spec.storage.access_logging else None
            ),
            deletion_protection=ctx.protect,
            tags=ctx.tags("observability"),
        ),
    )
    stack = ObservabilityStack(
        ctx.name("observability"),
        ObservabilityStackArgs(
            region=spec.region,
            volume_kms_key_arn=keys.data_key_arn,
            secrets_kms_key_arn=keys.secrets_key_arn,
            storage_kms_key_arn=keys.storage_key_arn,
            loki_bucket_name=bucket.bucket_name,
            loki_bucket_arn=bucket.arn,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_provider_url=cluster.oidc_provider_url,
            name_prefix=ctx.prefix,
            metrics_retention_days=sizing.metrics_retention_days,
            metrics_storage_gib=sizing.metrics_storage_gib,
            logs_retention_days=sizing.logs_retention_days,
            logs_storage_gib=sizing.logs_storage_gib,
            replicas=sizing.replicas,
            recovery_window_days=spec.secrets.recovery_window_days,
            deletion_protection=ctx.protect,
            labels={"app.kubernetes.io/part-of": ctx.catalogue.name},
            tags=ctx.tags("observability"),
        ),
        pulumi.ResourceOptions(providers=[cluster.provider]),
    )
    return stack, bucket


def _argocd(ctx: Context, foundation: Foundation) -> ArgoCd:
    return ArgoCd(
        ctx.name("argocd"),
        ArgoCdArgs(
            high_availability=ctx.spec.profile is Profile.PROD,
            labels={"app.kubernetes.io/part-of": ctx.catalogue.name},
        ),
        pulumi.ResourceOptions(providers=[foundation.cluster.provider]),
    )


def exports(addons: PlatformAddons) -> Mapping[str, pulumi.Input[object]]:
    """The stack outputs of the chosen add-ons (none when nothing is chosen)."""
    out: dict[str, pulumi.Input[object]] = {}
    if addons.observability is not None and addons.logs_bucket is not None:
        out["grafanaAdminSecretArn"] = addons.observability.grafana_admin_secret_arn
        out["lokiBucket"] = addons.logs_bucket.bucket_name
    if addons.gitops is not None:
        out["argocdNamespace"] = addons.gitops.namespace
    return out
