"""Bucket media through CloudFront: a distribution per delivered bucket at
`<bucket>.<domain>`, its DNS name, and the bucket policy's statement that admits it.

viewer ─► CloudFront media.<domain> (WAF, TLS) ─► S3 data bucket (OAC; served prefixes only)
          public prefixes: anyone; signed prefixes: signed URLs of the key group only
"""

from __future__ import annotations

from typing import Any

import pulumi

from osp.components import MediaDistribution, MediaDistributionArgs, Zone
from osp.components.cdn import media_access_statement
from osp.stacks.context import Context
from osp.stacks.foundation import Foundation
from osp.stacks.shared import Shared

#: The signing key's secret, under the distribution's name (`osp-prod-media-cdn/…`).
SIGNING_KEY_SECRET = "url-signing-key"


def build(
    ctx: Context,
    foundation: Foundation,
    shared: Shared,
    zone: Zone,
    settings: dict[str, Any],
) -> dict[str, MediaDistribution]:
    """Bucket → its distribution, for every bucket of the blueprint with a `delivery`."""
    out = {}
    for bucket in ctx.catalogue.delivered_buckets:
        delivery = bucket.delivery
        assert delivery is not None  # delivered_buckets holds only those
        name = ctx.name(f"{bucket.name}-cdn")
        args = MediaDistributionArgs(
            domain_name=ctx.hostname(bucket.name),
            bucket_regional_domain_name=shared.buckets[bucket.name].regional_domain_name,
            public_path_prefixes=delivery.public,
            signed_path_prefixes=delivery.signed,
            url_signing_public_key=ctx.spec.edge.url_signing_public_key,
            signing_key_secret_name=f"{name}/{SIGNING_KEY_SECRET}" if delivery.signed else None,
            secrets_kms_key_arn=foundation.keys.secrets_key_arn if delivery.signed else None,
            secret_recovery_window_days=ctx.spec.secrets.recovery_window_days,
            deletion_protection=ctx.protect,
            tags=ctx.tags("media"),
            **settings,
        )
        media = MediaDistribution(name, args)
        zone.alias(
            bucket.name, target_dns_name=media.domain_name, target_zone_id=media.hosted_zone_id
        )
        served = args.served_prefixes()
        shared.delivery_statements[bucket.name](
            pulumi.Output.all(shared.buckets[bucket.name].arn, media.distribution_arn).apply(
                lambda v, served=served: media_access_statement(v[0], v[1], served)
            )
        )
        out[bucket.name] = media
    return out
