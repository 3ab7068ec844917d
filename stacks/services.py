"""The blueprint's services on the cluster: add-ons, and per service its identity and workload.

Everything a catalogue service declares under `uses` becomes two things that say the same
thing twice, on purpose: an IAM grant (what its role may touch) and an environment variable
(where that thing is). A service reaches nothing it was not given an address for, and can use
nothing it was given an address for but not a grant — the tests compare the two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from osp.app import (
    BucketGrant,
    ClusterAddons,
    ClusterAddonsArgs,
    DbUserGrant,
    EgressRule,
    EventBus,
    Grants,
    KafkaGrant,
    LoadBalancerControllerIdentity,
    LoadBalancerControllerIdentityArgs,
    PersistentMount,
    RabbitMqTopology,
    RabbitMqTopologyArgs,
    ServiceDatabases,
    ServiceDatabasesArgs,
    ServiceIdentity,
    ServiceIdentityArgs,
    ServiceWorkload,
    ServiceWorkloadArgs,
    TableGrant,
    postgres_name,
    with_key_grants,
)
from osp.app.events import routes
from osp.app.telemetry import trace_env
from osp.app.workload import claim_name
from osp.components import (
    AccessPoint,
    EmailDomain,
    EmailDomainArgs,
    FileSystem,
    FileSystemArgs,
    Queue,
)
from osp.components.broker import AMQPS_PORT, CONSOLE_PORT
from osp.components.cache import PORT as REDIS_PORT
from osp.components.database import PORT as POSTGRES_PORT
from osp.components.filesystem import NOMINAL_CAPACITY
from osp.components.parameters import SHARED
from osp.components.rotation import RotationTarget, SecretRotator, rotator_args
from osp.components.streaming import IAM_PORT as KAFKA_PORT
from osp.platform.catalogue import (
    Catalogue,
    Database,
    QueueAccess,
    Replicas,
    SecretKind,
    Service,
    Transport,
)
from osp.platform.naming import TAG_ENVIRONMENT, NameKind
from osp.platform.spec import Profile
from osp.platform.tenancy import Tier
from osp.platform.tenancy.tiers import TAG_TIER
from osp.stacks.context import Context
from osp.stacks.edge import Edge
from osp.stacks.foundation import Foundation, rotation
from osp.stacks.shared import Shared
from osp.stacks.streaming import Streaming

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
    file_system: FileSystem | None = None
    """The EFS file system of the services' volumes, if any service has one."""


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
    ctx: Context,
    foundation: Foundation,
    shared: Shared,
    edge: Edge,
    events: EventBus | None,
    queues: Mapping[str, Queue] | None = None,
    streaming: Streaming | None = None,
) -> Services:
    """`queues`: the blueprint's own queues (osp.stacks.functions.build_queues), which
    services send to or receive from as their `uses.queues` say."""
    cluster = foundation.cluster
    labels = {"app.kubernetes.io/part-of": ctx.catalogue.name}
    oidc = {
        "oidc_provider_arn": cluster.oidc_provider_arn,
        "oidc_provider_url": cluster.oidc_provider_url,
    }
    controller = _load_balancer_controller(ctx, edge, oidc)
    addons = _cluster_addons(ctx, foundation, controller, labels)
    setup = _SetupJob(
        labels=labels,
        oidc=oidc,
        endpoint_cidrs=_endpoint_cidrs(ctx, foundation),
        # Everything in the namespace waits for it and for the controller's webhook.
        opts=pulumi.ResourceOptions(providers=[cluster.provider], depends_on=[addons]),
    )
    databases = _service_databases(ctx, foundation, setup)
    email = _email_domain(ctx, edge)
    broker = _broker_topology(ctx, foundation, setup)
    file_system = _file_system(ctx, foundation)

    wiring = _Wiring(
        ctx, foundation, shared, edge, events, email, broker, setup.endpoint_cidrs, streaming
    )
    wiring.queues = dict(queues or {})
    # The load balancer reaches the pods of routed services from the public subnets.
    public_cidrs = list(foundation.network.subnet_cidrs["public"])
    identities: dict[str, ServiceIdentity] = {}
    workloads: dict[str, ServiceWorkload] = {}
    for service in ctx.catalogue.services:
        grants, env = wiring.grants_and_env(service)
        identity = _service_identity(ctx, service, grants, oidc)
        if identity.tenant_data_role_arn is not None:
            env["TENANT_DATA_ROLE_ARN"] = identity.tenant_data_role_arn
        # A service starts once its role's policy, its database and its broker user exist:
        # before, it would only crash-loop on access denied.
        ready = [addons, identity]
        if databases is not None and service.uses.database_access:
            ready.append(databases)
        if broker is not None and service.name in broker.credentials_secret_arns:
            ready.append(broker)
        if file_system is not None and service.uses.volume is not None:
            ready.append(file_system)
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
                cpu_utilisation=service.autoscaling.cpu_percent,
                memory_utilisation=service.autoscaling.memory_percent,
                probes=service.probes,
                env=env,
                target_group_arn=wiring.target_group_arn(service),
                load_balancer_cidrs=public_cidrs if service.route else (),
                callers=service.callers,
                calls=wiring.calls(service),
                egress=wiring.egress(service),
                telemetry=True,
                labels=labels,
                volume=_mount(service, file_system),
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
        file_system=file_system,
    )


def _file_system(ctx: Context, foundation: Foundation) -> FileSystem | None:
    """The EFS file system of the services' volumes, if any service has one: mount targets in
    the private subnets (where the nodes are), an access point and volume per service."""
    owners = ctx.catalogue.volume_services
    if not owners:
        return None
    network, cluster = foundation.network, foundation.cluster
    return FileSystem(
        ctx.name("files"),
        FileSystemArgs(
            vpc_id=network.vpc_id,
            subnets=dict(zip(ctx.spec.zones, network.private_subnet_ids, strict=True)),
            client_security_group_ids=[cluster.node_security_group_id],
            kms_key_arn=foundation.keys.data_key_arn,
            cluster_name=cluster.cluster_name,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_provider_url=cluster.oidc_provider_url,
            access_points=[
                AccessPoint(name=s.name, claim_namespace=NAMESPACE, claim_name=claim_name(s.name))
                for s in owners
            ],
            deletion_protection=ctx.protect,
            tags=ctx.tags("filesystem"),
        ),
        pulumi.ResourceOptions(providers=[cluster.provider]),
    )


def _mount(service: Service, file_system: FileSystem | None) -> PersistentMount | None:
    """The service's volume, mounted where the catalogue says."""
    volume = service.uses.volume
    if volume is None:
        return None
    assert file_system is not None  # created whenever a service has a volume
    return PersistentMount(
        path=volume.path,
        volume_name=file_system.volume_names[service.name],
        storage_class=file_system.storage_class_name,
        storage=NOMINAL_CAPACITY,
    )


def _load_balancer_controller(
    ctx: Context, edge: Edge, oidc: Mapping[str, pulumi.Output[str]]
) -> LoadBalancerControllerIdentity:
    return LoadBalancerControllerIdentity(
        ctx.name("lb-controller"),
        LoadBalancerControllerIdentityArgs(
            role_name=ctx.name("lb-controller", NameKind.IAM),
            target_group_arns=edge.load_balancer.target_group_arns,
            # The silo tenants' own target groups (stacks/tenant_services.py), by their tags.
            tagged_target_groups={TAG_ENVIRONMENT: ctx.spec.name, TAG_TIER: Tier.SILO.value},
            tags=ctx.tags("services"),
            **oidc,
        ),
    )


def _cluster_addons(
    ctx: Context,
    foundation: Foundation,
    controller: LoadBalancerControllerIdentity,
    labels: dict[str, str],
) -> ClusterAddons:
    cluster = foundation.cluster
    return ClusterAddons(
        ctx.name("addons"),
        ClusterAddonsArgs(
            namespace=NAMESPACE,
            cluster_name=cluster.cluster_name,
            region=ctx.spec.region,
            vpc_id=foundation.network.vpc_id,
            load_balancer_controller_role_arn=controller.role_arn,
            # One pod of each add-on in dev; elsewhere two, so each survives the loss of a node.
            replicas=1 if ctx.spec.profile is Profile.DEV else 2,
            labels=labels,
        ),
        pulumi.ResourceOptions(providers=[cluster.provider]),
    )


def _endpoint_cidrs(ctx: Context, foundation: Foundation) -> list[str]:
    """Where the pods reach AWS's APIs: STS (IRSA), Secrets Manager, SQS, SNS, ECR, Logs (and
    SSM when the blueprint has parameters) have interface endpoints in the private subnets
    when the spec asks for them; otherwise they are reached through NAT."""
    if ctx.spec.network.interface_endpoints:
        return list(foundation.network.subnet_cidrs["private"])
    return [ANYWHERE]


@dataclass(frozen=True)
class _SetupJob:
    """What each setup job in the services' namespace (databases, broker topology) shares."""

    labels: dict[str, str]
    oidc: dict[str, pulumi.Output[str]]
    """The cluster's OIDC provider, which the job's IRSA role trusts."""
    endpoint_cidrs: list[str]
    """Where the job reaches AWS's APIs."""
    opts: pulumi.ResourceOptions


def _service_databases(
    ctx: Context, foundation: Foundation, setup: _SetupJob
) -> ServiceDatabases | None:
    """The job creating each service's database and user, if any service has one."""
    users = [postgres_name(s.name) for s in ctx.catalogue.services if s.uses.database_access]
    if not users:
        return None
    database = foundation.database
    return ServiceDatabases(
        ctx.name("databases"),
        ServiceDatabasesArgs(
            namespace=NAMESPACE,
            users=users,
            host=database.address,
            master_secret_arn=database.master_user_secret_arn,
            master_secret_kms_key_arn=foundation.keys.data_key_arn,
            role_name=ctx.name("database-setup", NameKind.IAM),
            region=ctx.spec.region,
            database_cidrs=list(foundation.network.subnet_cidrs["isolated"]),
            endpoint_cidrs=setup.endpoint_cidrs,
            labels=setup.labels,
            tags=ctx.tags("services"),
            **setup.oidc,
        ),
        setup.opts,
    )


def _email_domain(ctx: Context, edge: Edge) -> EmailDomain | None:
    """The SES sending domain, if any service sends email."""
    catalogue = ctx.catalogue
    if not any(x.uses.email for x in (*catalogue.services, *catalogue.functions)):
        return None
    return EmailDomain(
        ctx.name("email"),
        EmailDomainArgs(
            domain=ctx.spec.domain,
            zone_id=edge.zone.zone_id,
            deletion_protection=ctx.protect,
            tags=ctx.tags("email"),
        ),
    )


def _broker_topology(
    ctx: Context, foundation: Foundation, setup: _SetupJob
) -> RabbitMqTopology | None:
    """Exchanges, queues and a user per service, for a blueprint whose events travel over
    RabbitMQ."""
    catalogue = ctx.catalogue
    if catalogue.transport is not Transport.RABBITMQ or not catalogue.events:
        return None
    broker, keys = foundation.broker, foundation.keys
    topology = RabbitMqTopology(
        ctx.name("broker-topology"),
        RabbitMqTopologyArgs(
            namespace=NAMESPACE,
            events=routes(catalogue),
            admin_secret_arn=broker.credentials_secret_arn,
            secrets_kms_key_arn=keys.secrets_key_arn,
            secret_name_prefix=ctx.name("broker"),
            management_url=broker.console_url,
            amqps_endpoint=broker.amqps_endpoints.apply(lambda e: e[0]),
            role_name=ctx.name("broker-setup", NameKind.IAM),
            broker_cidrs=list(foundation.network.subnet_cidrs["isolated"]),
            endpoint_cidrs=setup.endpoint_cidrs,
            recovery_window_days=ctx.spec.secrets.recovery_window_days,
            labels=setup.labels,
            tags=ctx.tags("services"),
            **setup.oidc,
        ),
        setup.opts,
    )
    # Each service's broker password rotates like the admin's: changed by the admin through
    # the management API, tested as the user, then made current.
    SecretRotator(
        ctx.name("broker-credentials-rotation"),
        rotator_args(
            rotation(ctx, keys, foundation.network),
            target=RotationTarget.RABBITMQ,
            secret_arns=topology.credentials_secret_arns,
            secrets_kms_key_arn=keys.secrets_key_arn,
            tags=ctx.tags("services"),
            store_security_group_id=broker.security_group_id,
            store_port=CONSOLE_PORT,
            admin_secret_arn=broker.credentials_secret_arn,
        ),
    )
    return topology


def _service_identity(
    ctx: Context, service: Service, grants: Grants, oidc: Mapping[str, pulumi.Output[str]]
) -> ServiceIdentity:
    return ServiceIdentity(
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


@dataclass
class Given:
    """What one service has been given so far: the resources its role may use, and the
    environment variables that point at them."""

    env: dict[str, pulumi.Input[str]]
    topics: list[pulumi.Input[str]] = field(default_factory=list)
    queues: list[pulumi.Input[str]] = field(default_factory=list)
    buckets: list[BucketGrant] = field(default_factory=list)
    secrets: list[pulumi.Input[str]] = field(default_factory=list)
    users: list[DbUserGrant] = field(default_factory=list)
    emails: list[pulumi.Input[str]] = field(default_factory=list)
    tables: list[TableGrant] = field(default_factory=list)
    parameter_paths: list[str] = field(default_factory=list)
    sends: list[pulumi.Input[str]] = field(default_factory=list)


class _Wiring:
    """What one catalogue service is given: its grants, its configuration, its reach."""

    def __init__(
        self,
        ctx: Context,
        foundation: Foundation,
        shared: Shared,
        edge: Edge,
        events: EventBus | None,
        email: EmailDomain | None,
        broker: RabbitMqTopology | None,
        endpoints: list[str],
        streaming: Streaming | None = None,
    ) -> None:
        self.ctx, self.foundation, self.shared, self.edge = ctx, foundation, shared, edge
        self.events, self.email, self.broker, self.endpoints = events, email, broker, endpoints
        self.queues: dict[str, Queue] = {}
        self.streaming = streaming

    def grants_and_env(self, service: Service) -> tuple[Grants, dict[str, pulumi.Input[str]]]:
        """The service's grants, and its environment variables naming what they grant."""
        spec = self.ctx.spec
        given = Given(
            env={
                "SERVICE_NAME": service.name,
                "ENVIRONMENT": spec.name,
                "AWS_REGION": spec.region,
                "PORT": str(service.port),
                **trace_env(service.name, spec.name, Tier.POOL.value),
            }
        )
        self._give_database(service, given)
        self._give_cache(service, given)
        self._give_events(service, given)
        self._give_broker_user(service, given)
        self._give_buckets(service, given)
        self._give_app_secrets(service, given)
        self._give_email_and_sms(service, given)
        self._give_tables(service, given)
        self._give_parameters(service, given)
        self._give_queues(service, given)
        kafka = self._give_kafka(service, given)
        for callee, port in self.calls(service).items():
            given.env[env_name("service", callee, "url")] = (
                f"http://{callee}.{NAMESPACE}.svc.cluster.local:{port}"
            )
        keys = self.foundation.keys
        grants = with_key_grants(
            Grants(
                publish_topic_arns=given.topics,
                consume_queue_arns=given.queues,
                send_queue_arns=given.sends,
                buckets=given.buckets,
                secret_arns=given.secrets,
                database_users=given.users,
                email_identity_arns=given.emails,
                sms=service.uses.sms,
                tables=given.tables,
                parameter_paths=given.parameter_paths,
                kafka=kafka,
            ),
            data_key_arn=keys.data_key_arn,
            storage_key_arn=keys.storage_key_arn,
            secrets_key_arn=keys.secrets_key_arn,
        )
        return grants, given.env

    def _give_database(self, service: Service, given: Given) -> None:
        uses = service.uses
        if not uses.database_access:
            return
        user = postgres_name(service.name)
        database = self.foundation.database
        given.users.append(DbUserGrant(database.resource_id, user))
        given.env |= {
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
            given.users += [DbUserGrant(rid, user) for rid in database.replica_resource_ids]
            given.env["DATABASE_READ_HOSTS"] = pulumi.Output.all(*database.replica_addresses).apply(
                ",".join
            )

    def _give_cache(self, service: Service, given: Given) -> None:
        if not service.uses.cache:
            return
        cache = self.foundation.cache
        given.secrets.append(cache.auth_secret_arn)
        given.env["REDIS_HOST"] = cache.address
        if cache.cluster_mode:
            # One configuration endpoint, no reader endpoint: a cluster client finds every
            # shard (and reads replicas with READONLY) from it.
            given.env["REDIS_CLUSTER_MODE"] = "true"
        else:
            given.env["REDIS_READER_HOST"] = cache.reader_endpoint
        given.env |= {
            "REDIS_PORT": str(REDIS_PORT),
            "REDIS_TLS": "true",
            "REDIS_AUTH_SECRET_ARN": cache.auth_secret_arn,
        }

    def _give_events(self, service: Service, given: Given) -> None:
        """Its topics and queues, when events travel over SNS and SQS."""
        if self.events is None:
            return
        for event in service.uses.publishes:
            topic = self.events.topics[event]
            given.topics.append(topic.arn)
            given.env[env_name("topic", event, "arn")] = topic.arn
        for subscription in service.uses.consumes:
            queue = self.events.queues[(service.name, subscription.queue)]
            given.queues.append(queue.arn)
            given.env[env_name("queue", subscription.queue, "url")] = queue.url

    def _give_queues(self, service: Service, given: Given) -> None:
        """The blueprint's queues it receives from or sends to (catalogue `queues:`)."""
        for name, access in service.uses.queues.items():
            queue = self.queues[name]
            if access is QueueAccess.RECEIVE:
                given.queues.append(queue.arn)
            else:
                given.sends.append(queue.arn)
            given.env[env_name("queue", name, "url")] = queue.url

    def _give_broker_user(self, service: Service, given: Given) -> None:
        """Its RabbitMQ user, exchanges and queues, when events travel over RabbitMQ."""
        broker = self.broker
        if broker is None or service.name not in broker.credentials_secret_arns:
            return
        credentials = broker.credentials_secret_arns[service.name]
        given.secrets.append(credentials)
        given.env["RABBITMQ_ENDPOINT"] = self.foundation.broker.amqps_endpoints.apply(
            lambda e: e[0]
        )
        given.env["RABBITMQ_CREDENTIALS_SECRET_ARN"] = credentials
        for event in service.uses.publishes:
            given.env[env_name("exchange", event, "name")] = broker.exchanges[event]
        for subscription in service.uses.consumes:
            queue_name = broker.queues[(service.name, subscription.event)]
            given.env[env_name("queue", subscription.event, "name")] = queue_name

    def _give_buckets(self, service: Service, given: Given) -> None:
        for bucket, access in service.uses.buckets.items():
            store = self.shared.buckets[bucket]
            given.buckets.append(BucketGrant(store.arn, access))
            given.env[env_name("bucket", bucket, "name")] = store.bucket_name
            self._give_media(service, bucket, given)

    def _give_media(self, service: Service, bucket: str, given: Given) -> None:
        """A delivered bucket's CloudFront name; to its signers, the URL-signing key."""
        media = self.edge.media.get(bucket)
        if media is None:
            return
        given.env[env_name("bucket", bucket, "cdn_domain")] = self.ctx.hostname(bucket)
        delivery = self.ctx.catalogue.bucket_map[bucket].delivery
        if delivery is None or service.name not in delivery.signers:
            return
        assert media.signing_key_secret_arn is not None  # signers imply signed prefixes
        given.secrets.append(media.signing_key_secret_arn)
        given.env[env_name("bucket", bucket, "cdn_signing_key_secret_arn")] = (
            media.signing_key_secret_arn
        )
        if media.key_pair_id is not None:
            given.env[env_name("bucket", bucket, "cdn_key_pair_id")] = media.key_pair_id

    def _give_app_secrets(self, service: Service, given: Given) -> None:
        app_secrets = self.shared.secrets
        for secret in service.uses.secrets:
            assert app_secrets is not None  # the catalogue guarantees the secret exists
            arn = app_secrets.secret_arns.apply(lambda arns, s=secret: arns[s])
            given.secrets.append(arn)
            given.env[env_name("secret", secret, "arn")] = arn

    def _give_email_and_sms(self, service: Service, given: Given) -> None:
        if service.uses.email:
            assert self.email is not None  # created whenever a service sends email
            given.emails += [self.email.identity_arn, self.email.configuration_set_arn]
            given.env["EMAIL_FROM_DOMAIN"] = self.ctx.spec.domain
            given.env["EMAIL_IDENTITY_ARN"] = self.email.identity_arn
            given.env["EMAIL_CONFIGURATION_SET_NAME"] = self.email.configuration_set_name
        if service.uses.sms:
            given.env["SMS_ENABLED"] = "true"

    def _give_tables(self, service: Service, given: Given) -> None:
        for name, access in service.uses.tables.items():
            entry, table = self.ctx.catalogue.table_map[name], self.shared.data.tables[name]
            given.tables.append(
                TableGrant(
                    table.arn,
                    access,
                    index_names=tuple(entry.indexes),
                    tenant_partitioned=entry.tenant_partitioned,
                )
            )
            given.env[env_name("table", name, "name")] = table.table_name

    def _give_parameters(self, service: Service, given: Given) -> None:
        """Its own branch of the parameter hierarchy, and the shared one, where they exist."""
        data = self.shared.data
        if data.parameters is None:
            return
        for owner, variable in (
            (service.name, "PARAMETERS_PATH"),
            (SHARED, "SHARED_PARAMETERS_PATH"),
        ):
            path = data.parameters.paths.get(owner)
            if path is not None:
                given.parameter_paths.append(path)
                given.env[variable] = path

    def _give_kafka(self, service: Service, given: Given) -> KafkaGrant | None:
        """Its topics on the MSK cluster, and its own consumer group (IAM authentication:
        no credential to hand out, the role's policy is the whole grant)."""
        use = service.uses.kafka
        if self.streaming is None or use is None or not (use.produces or use.consumes):
            return None
        cluster = self.streaming.cluster
        given.env |= {
            "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_brokers,
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": "AWS_MSK_IAM",
        }
        for topic in (*use.produces, *use.consumes):
            given.env[env_name("kafka", "topic", topic)] = topic
        if use.consumes:
            given.env["KAFKA_CONSUMER_GROUP"] = service.name
        return KafkaGrant(
            cluster.arn,
            produces=use.produces,
            consumes=use.consumes,
            group=service.name if use.consumes else None,
        )

    def image(self, service: Service) -> pulumi.Input[str]:
        return image(service, self.shared.registry.repository_urls)

    def target_group_arn(self, service: Service) -> pulumi.Input[str] | None:
        if service.route is None:
            return None
        return self.edge.load_balancer.target_group_arns.apply(lambda arns: arns[service.name])

    def calls(self, service: Service) -> dict[str, int]:
        """The services that admit this one as a caller, and their ports."""
        return calls(self.ctx.catalogue, service)

    def egress(self, service: Service) -> list[EgressRule]:
        """Data stores on the isolated subnets, on their ports; AWS's APIs on 443."""
        broker = self.broker
        return egress(
            self.ctx.catalogue,
            service,
            isolated_cidrs=self.foundation.network.subnet_cidrs["isolated"],
            endpoint_cidrs=self.endpoints,
            broker_user=broker is not None and service.name in broker.credentials_secret_arns,
            kafka=self.streaming is not None and service in self.ctx.catalogue.kafka_services,
        )


# What the estate's services and a silo tenant's copy of them (osp.stacks.tenant_services)
# are given alike.


def image(service: Service, repository_urls: pulumi.Input[Mapping[str, str]]) -> pulumi.Input[str]:
    """The service's image: from the estate's registry (`repository_urls`) or its own."""
    wanted = service.image
    if not wanted.in_estate_registry:
        return wanted.reference()
    return pulumi.Output.from_input(repository_urls).apply(
        lambda urls: wanted.reference(urls[wanted.repository])
    )


def calls(catalogue: Catalogue, service: Service) -> dict[str, int]:
    """The services that admit `service` as a caller, and their ports."""
    return {other.name: other.port for other in catalogue.services if service.name in other.callers}


def egress(
    catalogue: Catalogue,
    service: Service,
    *,
    isolated_cidrs: Sequence[str],
    endpoint_cidrs: Sequence[str],
    broker_user: bool,
    kafka: bool = False,
) -> list[EgressRule]:
    """Data stores on the isolated subnets, on their ports; AWS's APIs on 443 (through
    `endpoint_cidrs`, or the internet when the service needs a public endpoint)."""
    uses = service.uses
    stores = []
    if uses.database_access:
        stores.append(POSTGRES_PORT)
    if uses.cache:
        stores.append(REDIS_PORT)
    if broker_user:
        stores.append(AMQPS_PORT)
    if kafka:
        stores.append(KAFKA_PORT)
    rules = [
        EgressRule(cidr=cidr, ports=tuple(stores)) for cidr in (isolated_cidrs if stores else ())
    ]
    # S3 (through the gateway endpoint, at S3's public addresses, which a NetworkPolicy
    # cannot name by prefix list) and the SES API have no address inside the VPC, and a
    # third-party credential (a placeholder secret) means a third party's API: those
    # services need 443 to the internet. Everyone else reaches only the interface
    # endpoints (STS for IRSA, Secrets Manager, SQS, SNS for events and SMS).
    third_party = any(catalogue.secret_map[s].kind is SecretKind.PLACEHOLDER for s in uses.secrets)
    # DynamoDB, like S3, is reached through a gateway endpoint at its public addresses at
    # best. (SSM has an interface endpoint whenever the blueprint has parameters.)
    public = bool(uses.buckets) or uses.email or third_party or bool(uses.tables)
    for cidr in [ANYWHERE] if public else endpoint_cidrs:
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
    if services.file_system is not None:
        out["fileSystemId"] = services.file_system.file_system_id
    return out
