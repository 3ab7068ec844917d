"""The blueprint's services on the cluster: add-ons, and per service its identity and workload.

Everything a catalogue service declares under `uses` becomes two things that say the same
thing twice, on purpose: an IAM grant (what its role may touch) and an environment variable
(where that thing is). A service reaches nothing it was not given an address for, and can use
nothing it was given an address for but not a grant — the tests compare the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from osp.app import (
    BucketGrant,
    ClusterAddons,
    ClusterAddonsArgs,
    DbUserGrant,
    EgressRule,
    EventBus,
    Grants,
    LoadBalancerControllerIdentity,
    LoadBalancerControllerIdentityArgs,
    RabbitMqTopology,
    RabbitMqTopologyArgs,
    ServiceDatabases,
    ServiceDatabasesArgs,
    ServiceIdentity,
    ServiceIdentityArgs,
    ServiceWorkload,
    ServiceWorkloadArgs,
    postgres_name,
    with_key_grants,
)
from osp.app.events import routes
from osp.components import EmailDomain, EmailDomainArgs
from osp.components.broker import AMQPS_PORT
from osp.components.cache import PORT as REDIS_PORT
from osp.components.database import PORT as POSTGRES_PORT
from osp.platform.catalogue import Database, Replicas, SecretKind, Service, Transport
from osp.platform.naming import NameKind
from osp.platform.spec import Profile
from osp.stacks.context import Context
from osp.stacks.edge import Edge
from osp.stacks.foundation import Foundation
from osp.stacks.shared import Shared

#: The namespace every service of the blueprint runs in (one cluster per environment).
NAMESPACE = "osp-services"

#: AWS's public endpoints are reached on 443 only.
HTTPS = 443
ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class Services:
    addons: ClusterAddons
    controller: LoadBalancerControllerIdentity
    identities: dict[str, ServiceIdentity]
    workloads: dict[str, ServiceWorkload]
    databases: ServiceDatabases | None
    """The job that creates each service's logical database and user, if any service has one."""
    email: EmailDomain | None
    """The SES sending domain, if any service sends email."""
    broker: RabbitMqTopology | None
    """Exchanges, queues and per-service users, for a blueprint whose transport is RabbitMQ."""


def replicas(ctx: Context, service: Service) -> Replicas:
    """The service's replicas in this environment: dev runs the catalogue's minimum and does
    not scale; staging and prod start at the seed's baseline, never go below it, and scale to
    the catalogue's maximum."""
    wanted = service.replicas
    if ctx.spec.profile is Profile.DEV:
        fewest = max(1, wanted.min)
        return Replicas(min=fewest, baseline=fewest, max=fewest)
    return Replicas(min=wanted.baseline, baseline=wanted.baseline, max=wanted.max)


def env_name(*parts: str) -> str:
    """`env_name("queue", "enrollment-created", "url")` → `QUEUE_ENROLLMENT_CREATED_URL`."""
    return "_".join(part.upper().replace("-", "_") for part in parts)


def build(
    ctx: Context, base: Foundation, shared: Shared, edge: Edge, events: EventBus | None
) -> Services:
    spec, catalogue, cluster, network = ctx.spec, ctx.catalogue, base.cluster, base.network
    # One pod of each add-on in dev; elsewhere two, so each survives the loss of a node.
    addon_replicas = 1 if spec.profile is Profile.DEV else 2
    labels = {"app.kubernetes.io/part-of": catalogue.name}
    oidc = {
        "oidc_provider_arn": cluster.oidc_provider_arn,
        "oidc_provider_url": cluster.oidc_provider_url,
    }

    controller = LoadBalancerControllerIdentity(
        ctx.name("lb-controller"),
        LoadBalancerControllerIdentityArgs(
            role_name=ctx.name("lb-controller", NameKind.IAM),
            target_group_arns=edge.load_balancer.target_group_arns,
            tags=ctx.tags("services"),
            **oidc,
        ),
    )
    addons = ClusterAddons(
        ctx.name("addons"),
        ClusterAddonsArgs(
            namespace=NAMESPACE,
            cluster_name=cluster.cluster_name,
            region=spec.region,
            vpc_id=network.vpc_id,
            load_balancer_controller_role_arn=controller.role_arn,
            replicas=addon_replicas,
            labels=labels,
        ),
        pulumi.ResourceOptions(providers=[cluster.provider]),
    )
    # Everything in the namespace waits for it and for the controller's webhook.
    on_cluster = pulumi.ResourceOptions(providers=[cluster.provider], depends_on=[addons])

    subnets = network.subnet_cidrs
    # STS (IRSA), Secrets Manager, SQS, SNS, ECR and Logs have interface endpoints in the
    # private subnets when the spec asks for them; otherwise they are reached through NAT.
    endpoints = list(subnets["private"]) if spec.network.interface_endpoints else [ANYWHERE]

    users = [postgres_name(s.name) for s in catalogue.services if s.uses.database_access]
    databases = None
    if users:
        databases = ServiceDatabases(
            ctx.name("databases"),
            ServiceDatabasesArgs(
                namespace=NAMESPACE,
                users=users,
                host=base.database.address,
                master_secret_arn=base.database.master_user_secret_arn,
                master_secret_kms_key_arn=base.keys.data_key_arn,
                role_name=ctx.name("database-setup", NameKind.IAM),
                region=spec.region,
                database_cidrs=list(subnets["isolated"]),
                endpoint_cidrs=endpoints,
                labels=labels,
                tags=ctx.tags("services"),
                **oidc,
            ),
            on_cluster,
        )

    email = None
    if any(s.uses.email for s in catalogue.services):
        email = EmailDomain(
            ctx.name("email"),
            EmailDomainArgs(
                domain=spec.domain,
                zone_id=edge.zone.zone_id,
                deletion_protection=ctx.protect,
                tags=ctx.tags("email"),
            ),
        )

    broker = None
    if catalogue.transport is Transport.RABBITMQ and catalogue.events:
        broker = RabbitMqTopology(
            ctx.name("broker-topology"),
            RabbitMqTopologyArgs(
                namespace=NAMESPACE,
                events=routes(catalogue),
                admin_secret_arn=base.broker.credentials_secret_arn,
                secrets_kms_key_arn=base.keys.secrets_key_arn,
                secret_name_prefix=ctx.name("broker"),
                management_url=base.broker.console_url,
                amqps_endpoint=base.broker.amqps_endpoints.apply(lambda e: e[0]),
                role_name=ctx.name("broker-setup", NameKind.IAM),
                broker_cidrs=list(subnets["isolated"]),
                endpoint_cidrs=endpoints,
                recovery_window_days=spec.secrets.recovery_window_days,
                labels=labels,
                tags=ctx.tags("services"),
                **oidc,
            ),
            on_cluster,
        )

    wiring = _Wiring(ctx, base, shared, edge, events, email, broker, endpoints)
    identities: dict[str, ServiceIdentity] = {}
    workloads: dict[str, ServiceWorkload] = {}
    for service in catalogue.services:
        grants, env = wiring.of(service)
        identity = ServiceIdentity(
            ctx.name(f"{service.name}-identity"),
            ServiceIdentityArgs(
                service=service.name,
                namespace=NAMESPACE,
                service_account=service.name,
                role_name=ctx.name(service.name, NameKind.IAM),
                grants=grants,
                tags=ctx.tags("services"),
                **oidc,
            ),
        )
        # A service starts once its role's policy, its database and its broker user exist:
        # before, it would only crash-loop on access denied.
        ready = [addons, identity]
        if databases is not None and service.uses.database_access:
            ready.append(databases)
        if broker is not None and service.name in broker.credentials_secret_arns:
            ready.append(broker)
        workloads[service.name] = ServiceWorkload(
            ctx.name(f"{service.name}-workload"),
            ServiceWorkloadArgs(
                service=service.name,
                namespace=NAMESPACE,
                image=wiring.image(service),
                port=service.port,
                role_arn=identity.role_arn,
                replicas=replicas(ctx, service),
                resources=service.resources,
                probes=service.probes,
                env=env,
                target_group_arn=wiring.target_group_arn(service),
                load_balancer_cidrs=list(subnets["public"]) if service.route else (),
                callers=service.callers,
                calls=wiring.calls(service),
                egress=wiring.egress(service),
                labels=labels,
            ),
            pulumi.ResourceOptions(providers=[cluster.provider], depends_on=ready),
        )
        identities[service.name] = identity
    return Services(
        addons=addons,
        controller=controller,
        identities=identities,
        workloads=workloads,
        databases=databases,
        email=email,
        broker=broker,
    )


class _Wiring:
    """What one catalogue service is given: its grants, its configuration, its reach."""

    def __init__(
        self,
        ctx: Context,
        base: Foundation,
        shared: Shared,
        edge: Edge,
        events: EventBus | None,
        email: EmailDomain | None,
        broker: RabbitMqTopology | None,
        endpoints: list[str],
    ) -> None:
        self.ctx, self.base, self.shared, self.edge = ctx, base, shared, edge
        self.events, self.email, self.broker, self.endpoints = events, email, broker, endpoints

    def of(self, service: Service) -> tuple[Grants, dict[str, pulumi.Input[str]]]:
        ctx, base, uses = self.ctx, self.base, service.uses
        env: dict[str, pulumi.Input[str]] = {
            "SERVICE_NAME": service.name,
            "ENVIRONMENT": ctx.spec.name,
            "AWS_REGION": ctx.spec.region,
            "PORT": str(service.port),
        }
        topics: list[pulumi.Input[str]] = []
        queues: list[pulumi.Input[str]] = []
        secrets: list[pulumi.Input[str]] = []
        users: list[DbUserGrant] = []

        if uses.database_access:
            user = postgres_name(service.name)
            database = base.database
            users.append(DbUserGrant(database.resource_id, user))
            env |= {
                "DATABASE_HOST": database.address,
                "DATABASE_PORT": str(POSTGRES_PORT),
                "DATABASE_NAME": user,
                "DATABASE_USER": user,
                # No password anywhere: the service signs a token with its role
                # (rds-db:connect) and connects over TLS.
                "DATABASE_IAM_AUTHENTICATION": "true",
            }
            if uses.database is Database.READ_REPLICA:
                # Roles and databases replicate: the same user signs in on each replica.
                users += [DbUserGrant(rid, user) for rid in database.replica_resource_ids]
                env["DATABASE_READ_HOSTS"] = pulumi.Output.all(*database.replica_addresses).apply(
                    ",".join
                )

        if uses.cache:
            cache = base.cache
            secrets.append(cache.auth_secret_arn)
            env |= {
                "REDIS_HOST": cache.primary_endpoint,
                "REDIS_READER_HOST": cache.reader_endpoint,
                "REDIS_PORT": str(REDIS_PORT),
                "REDIS_TLS": "true",
                "REDIS_AUTH_SECRET_ARN": cache.auth_secret_arn,
            }

        if self.events is not None:
            for event in uses.publishes:
                topic = self.events.topics[event]
                topics.append(topic.arn)
                env[env_name("topic", event, "arn")] = topic.arn
            for subscription in uses.consumes:
                queue = self.events.queues[(service.name, subscription.event)]
                queues.append(queue.arn)
                env[env_name("queue", subscription.event, "url")] = queue.url
        if self.broker is not None and service.name in self.broker.credentials_secret_arns:
            credentials = self.broker.credentials_secret_arns[service.name]
            secrets.append(credentials)
            env["RABBITMQ_ENDPOINT"] = base.broker.amqps_endpoints.apply(lambda e: e[0])
            env["RABBITMQ_CREDENTIALS_SECRET_ARN"] = credentials
            for event in uses.publishes:
                env[env_name("exchange", event, "name")] = self.broker.exchanges[event]
            for subscription in uses.consumes:
                queue_name = self.broker.queues[(service.name, subscription.event)]
                env[env_name("queue", subscription.event, "name")] = queue_name

        buckets = []
        for bucket, access in uses.buckets.items():
            store = self.shared.buckets[bucket]
            buckets.append(BucketGrant(store.arn, access))
            env[env_name("bucket", bucket, "name")] = store.bucket_name

        app_secrets = self.shared.secrets
        for secret in uses.secrets:
            assert app_secrets is not None  # the catalogue guarantees the secret exists
            arn = app_secrets.secret_arns.apply(lambda arns, s=secret: arns[s])
            secrets.append(arn)
            env[env_name("secret", secret, "arn")] = arn

        emails: list[pulumi.Input[str]] = []
        if uses.email:
            assert self.email is not None  # created whenever a service sends email
            emails += [self.email.identity_arn, self.email.configuration_set_arn]
            env["EMAIL_FROM_DOMAIN"] = ctx.spec.domain
            env["EMAIL_IDENTITY_ARN"] = self.email.identity_arn
            env["EMAIL_CONFIGURATION_SET_NAME"] = self.email.configuration_set_name
        if uses.sms:
            env["SMS_ENABLED"] = "true"

        for callee, port in self.calls(service).items():
            env[env_name("service", callee, "url")] = (
                f"http://{callee}.{NAMESPACE}.svc.cluster.local:{port}"
            )

        keys = base.keys
        grants = with_key_grants(
            Grants(
                publish_topic_arns=topics,
                consume_queue_arns=queues,
                buckets=buckets,
                secret_arns=secrets,
                database_users=users,
                email_identity_arns=emails,
                sms=uses.sms,
            ),
            data_key_arn=keys.data_key_arn,
            storage_key_arn=keys.storage_key_arn,
            secrets_key_arn=keys.secrets_key_arn,
        )
        return grants, env

    def image(self, service: Service) -> pulumi.Input[str]:
        image = service.image
        if not image.in_estate_registry:
            return image.reference()
        return self.shared.registry.repository_urls.apply(
            lambda urls: image.reference(urls[image.repository])
        )

    def target_group_arn(self, service: Service) -> pulumi.Input[str] | None:
        if service.route is None:
            return None
        return self.edge.load_balancer.target_group_arns.apply(lambda arns: arns[service.name])

    def calls(self, service: Service) -> dict[str, int]:
        """The services that admit this one as a caller, and their ports."""
        return {
            other.name: other.port
            for other in self.ctx.catalogue.services
            if service.name in other.callers
        }

    def egress(self, service: Service) -> list[EgressRule]:
        """Data stores on the isolated subnets, on their ports; AWS's APIs on 443."""
        uses = service.uses
        stores = []
        if uses.database_access:
            stores.append(POSTGRES_PORT)
        if uses.cache:
            stores.append(REDIS_PORT)
        if self.broker is not None and service.name in self.broker.credentials_secret_arns:
            stores.append(AMQPS_PORT)
        rules = [
            EgressRule(cidr=cidr, ports=tuple(stores))
            for cidr in (self.base.network.subnet_cidrs["isolated"] if stores else ())
        ]
        # S3 (through the gateway endpoint, at S3's public addresses, which a NetworkPolicy
        # cannot name by prefix list) and the SES API have no address inside the VPC, and a
        # third-party credential (a placeholder secret) means a third party's API: those
        # services need 443 to the internet. Everyone else reaches only the interface
        # endpoints (STS for IRSA, Secrets Manager, SQS, SNS for events and SMS).
        catalogue = self.ctx.catalogue
        third_party = any(
            catalogue.secret_map[s].kind is SecretKind.PLACEHOLDER for s in uses.secrets
        )
        public = bool(uses.buckets) or uses.email or third_party
        for cidr in [ANYWHERE] if public else self.endpoints:
            rules.append(EgressRule(cidr=cidr, ports=(HTTPS,)))
        return rules


def exports(services: Services) -> Mapping[str, pulumi.Input[object]]:
    """The stack outputs of the services layer."""
    out: dict[str, pulumi.Input[object]] = {
        "servicesNamespace": services.addons.namespace,
        "serviceRoleArns": {name: i.role_arn for name, i in services.identities.items()},
        "serviceUrls": {name: w.url for name, w in services.workloads.items()},
        "loadBalancerControllerRoleArn": services.controller.role_arn,
    }
    if services.email is not None:
        out["emailIdentityArn"] = services.email.identity_arn
    return out
