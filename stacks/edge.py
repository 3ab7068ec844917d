"""The edge: DNS and certificates, the web ACLs, the portals, and the API's way in.

viewer ─► CloudFront (WAF, TLS) ─► S3 portal bucket (OAC)
          (the portal answering <school>.<domain> first runs the tenant gate: a suspended
          school's name gets 503, see osp.stacks.tenant_gate)
viewer ─► CloudFront api.<domain> (WAF) ─► api-origin.<domain> ─► ALB (WAF, CloudFront
          prefix list + origin-verify header) ─► pods (target groups, one per service)
viewer ─► CloudFront <bucket>.<domain> (WAF) ─► S3 data bucket (OAC), for each bucket the
          blueprint delivers (osp.stacks.delivery)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from osp.components import (
    ApiDistribution,
    ApiDistributionArgs,
    ApiLoadBalancer,
    ApiLoadBalancerArgs,
    KeyRing,
    KeyRingArgs,
    MediaDistribution,
    ServiceRoute,
    StaticSite,
    StaticSiteArgs,
    TenantGate,
    TenantGateArgs,
    WafScope,
    WebAcl,
    WebAclArgs,
    Zone,
    ZoneArgs,
)
from osp.platform import limits
from osp.platform.tenancy import Tier
from osp.platform.tenancy.tiers import load_tier
from osp.stacks.context import Context
from osp.stacks.delivery import build as build_delivery
from osp.stacks.foundation import Foundation
from osp.stacks.shared import Shared

#: The name CloudFront reaches the load balancer at: one label under the domain, so the
#: regional wildcard certificate covers it and CloudFront's TLS check of the origin passes.
API_ORIGIN_LABEL = "api-origin"


@dataclass(frozen=True)
class Edge:
    edge_provider: aws.Provider
    edge_keys: KeyRing | None
    """Keys in CloudFront's region, when the environment lives elsewhere (KMS is regional)."""
    zone: Zone
    cloudfront_acl: WebAcl
    regional_acl: WebAcl
    load_balancer: ApiLoadBalancer
    portals: dict[str, StaticSite]
    api: ApiDistribution
    tenant_gate: TenantGate | None
    """Refuses suspended tenants' names on the portal that answers them (None when the
    blueprint has no such portal)."""
    media: dict[str, MediaDistribution] = field(default_factory=dict)
    """Delivered bucket → its CloudFront distribution (osp.stacks.delivery)."""


def build(ctx: Context, foundation: Foundation, shared: Shared) -> Edge:
    keys = foundation.keys
    edge_provider = aws.Provider(
        ctx.name(limits.CLOUDFRONT_REGION), region=limits.CLOUDFRONT_REGION
    )
    edge_keys = _edge_keys(ctx, edge_provider)
    edge_logs_key = keys.logs_key_arn if edge_keys is None else edge_keys.logs_key_arn
    zone = Zone(
        ctx.name("dns"),
        ZoneArgs(
            domain=ctx.spec.domain,
            edge_provider=edge_provider,
            existing_zone_id=ctx.spec.dns.zone_id,
            deletion_protection=ctx.protect,
            dnssec=ctx.spec.dns.dnssec,
            signing_key_deletion_window_days=ctx.spec.keys.deletion_window_days,
            query_log_kms_key_arn=edge_logs_key if ctx.spec.dns.query_logging else None,
            query_log_retention_days=ctx.spec.dns.query_log_retention_days,
            tags=ctx.tags("dns"),
        ),
    )
    cloudfront_acl = _web_acl(ctx, "edge-waf", WafScope.CLOUDFRONT, edge_logs_key, edge_provider)
    # Behind CloudFront every request reaches the load balancer from an edge address: the
    # regional ACL counts per viewer through the header CloudFront sets (the edge ACL has
    # already counted per real address).
    regional_acl = _web_acl(
        ctx,
        "api-waf",
        WafScope.REGIONAL,
        keys.logs_key_arn,
        edge_provider,
        forwarded_ip_header="X-Forwarded-For",
    )
    load_balancer = _api_load_balancer(ctx, foundation, shared, zone, regional_acl)
    _admit_load_balancer(ctx, foundation, load_balancer)

    cloudfront_logs = shared.log_bucket.domain_name if ctx.spec.edge.access_logs else None
    # What every CloudFront distribution of the estate shares.
    distribution_settings = {
        "certificate_arn": zone.edge_certificate_arn,
        "web_acl_arn": cloudfront_acl.web_acl_arn,
        "log_bucket_domain_name": cloudfront_logs,
        "price_class": ctx.spec.edge.price_class,
    }
    portals = {}
    tenants_portal = tenant_portal(ctx.catalogue.portals)
    gate = None
    if tenants_portal is not None:
        gate = TenantGate(ctx.name("tenant-gate"), TenantGateArgs(tags=ctx.tags("portals")))
    for portal in ctx.catalogue.portals:
        settings = dict(distribution_settings)
        if portal == tenants_portal and gate is not None:
            # Tenants' own names, <school>.<domain>, are CNAMEs to this portal (the tenant
            # program's): the distribution answers for them; the wildcard certificate covers.
            # The gate refuses the names of suspended tenants (osp.stacks.tenant_gate).
            settings["additional_domain_names"] = (f"*.{ctx.spec.domain}",)
            settings["viewer_request_function_arn"] = gate.function_arn
        site = _portal(ctx, foundation, shared, portal, settings)
        zone.alias(portal, target_dns_name=site.domain_name, target_zone_id=site.hosted_zone_id)
        portals[portal] = site
    api = _api_distribution(ctx, zone, load_balancer, distribution_settings)
    media = build_delivery(ctx, foundation, shared, zone, distribution_settings)
    return Edge(
        edge_provider=edge_provider,
        edge_keys=edge_keys,
        zone=zone,
        cloudfront_acl=cloudfront_acl,
        regional_acl=regional_acl,
        load_balancer=load_balancer,
        portals=portals,
        api=api,
        tenant_gate=gate,
        media=media,
    )


def _edge_keys(ctx: Context, edge_provider: aws.Provider) -> KeyRing | None:
    """Keys in CloudFront's region, unless the environment lives there already."""
    if ctx.spec.region == limits.CLOUDFRONT_REGION:
        return None
    return KeyRing(
        ctx.name("edge-keys"),
        KeyRingArgs(
            domains=("logs", "data"),
            deletion_window_days=ctx.spec.keys.deletion_window_days,
            deletion_protection=ctx.protect,
            tags=ctx.tags("keys"),
        ),
        pulumi.ResourceOptions(providers=[edge_provider]),
    )


def _web_acl(
    ctx: Context,
    role: str,
    scope: WafScope,
    logs_key: pulumi.Input[str],
    edge_provider: aws.Provider,
    **extra: Any,
) -> WebAcl:
    waf = ctx.spec.waf
    return WebAcl(
        ctx.name(role),
        WebAclArgs(
            scope=scope,
            logs_kms_key_arn=logs_key,
            rate_limit_per_5min=waf.rate_limit,
            login_rate_limit_per_5min=waf.login_rate_limit,
            login_path_prefixes=waf.login_paths,
            log_retention_days=waf.log_retention_days,
            tags=ctx.tags("waf"),
            **extra,
        ),
        pulumi.ResourceOptions(providers=[edge_provider]) if scope is WafScope.CLOUDFRONT else None,
    )


def _api_load_balancer(
    ctx: Context, foundation: Foundation, shared: Shared, zone: Zone, regional_acl: WebAcl
) -> ApiLoadBalancer:
    network = foundation.network
    return ApiLoadBalancer(
        ctx.name("api"),
        ApiLoadBalancerArgs(
            vpc_id=network.vpc_id,
            vpc_cidr=str(ctx.spec.network.cidr),
            public_subnet_ids=network.public_subnet_ids,
            certificate_arn=zone.regional_certificate_arn,
            web_acl_arn=regional_acl.web_acl_arn,
            access_log_bucket=shared.log_bucket.bucket_name,
            services=[
                ServiceRoute(
                    name=service.name,
                    port=service.port,
                    path_prefix=service.route,
                    health_check_path=service.probes.readiness.path,
                )
                for service in ctx.catalogue.routed
            ],
            deletion_protection=ctx.protect,
            tags=ctx.tags("api"),
        ),
        # ELB checks that it may write to the bucket when access logs are switched on.
        pulumi.ResourceOptions(depends_on=[shared.log_bucket]),
    )


def _admit_load_balancer(
    ctx: Context, foundation: Foundation, load_balancer: ApiLoadBalancer
) -> None:
    """Targets are pod IPs on the nodes' network interfaces: the nodes admit the load
    balancer on the services' ports, and nothing else from outside the cluster."""
    for port in sorted({service.port for service in ctx.catalogue.routed}):
        rule = ctx.name(f"nodes-from-api-{port}")
        aws.vpc.SecurityGroupIngressRule(
            rule,
            security_group_id=foundation.cluster.node_security_group_id,
            referenced_security_group_id=load_balancer.security_group_id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=f"API load balancer to service pods on {port}",
            tags={"Name": rule, **ctx.tags("api")},
        )


def tenant_portal(portals: Sequence[str]) -> str | None:
    """The portal that serves tenants' names: the first of the pool tier's portals the
    blueprint has (blueprints/tenants/pool.yaml; the silo tier uses the same)."""
    wanted = load_tier(Tier.POOL).dns.portals
    return next((p for p in wanted if p in portals), None)


def _portal(
    ctx: Context, foundation: Foundation, shared: Shared, portal: str, settings: dict[str, Any]
) -> StaticSite:
    logs = shared.log_bucket.bucket_name if ctx.spec.storage.access_logging else None
    return StaticSite(
        ctx.name(f"{portal}-portal"),
        StaticSiteArgs(
            domain_name=ctx.hostname(portal),
            bucket_name=ctx.bucket_name(f"{portal}-portal"),
            kms_key_arn=foundation.keys.storage_key_arn,
            access_log_bucket=logs,
            api_domain_name=ctx.hostname("api"),
            deletion_protection=ctx.protect,
            tags=ctx.tags("portals"),
            **settings,
        ),
    )


def _api_distribution(
    ctx: Context, zone: Zone, load_balancer: ApiLoadBalancer, settings: dict[str, Any]
) -> ApiDistribution:
    """CloudFront for api.<domain>, reaching the load balancer at api-origin.<domain> with
    the origin-verify header only CloudFront sends."""
    zone.alias(
        API_ORIGIN_LABEL,
        target_dns_name=load_balancer.dns_name,
        target_zone_id=load_balancer.zone_id,
        evaluate_target_health=True,
    )
    api = ApiDistribution(
        ctx.name("api-cdn"),
        ApiDistributionArgs(
            domain_name=ctx.hostname("api"),
            origin_domain_name=ctx.hostname(API_ORIGIN_LABEL),
            origin_custom_headers={
                load_balancer.origin_verify_header_name: load_balancer.origin_verify_value
            },
            tags=ctx.tags("api"),
            **settings,
        ),
    )
    zone.alias("api", target_dns_name=api.domain_name, target_zone_id=api.hosted_zone_id)
    return api
