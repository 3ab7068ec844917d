"""A silo tenant's own copy of the environment's services, in its namespace `tenant-<slug>`.

The tenant program (osp.stacks.tenant) declares the namespace, key, bucket and database; this
module runs the environment's catalogue in it with the app layer the estate uses
(`ServiceIdentity`, `ServiceWorkload`, `ServiceDatabases`, `EventBus`), each given the tenant's
own things where the estate's service is given the estate's:

- its role is trusted only by `system:serviceaccount:tenant-<slug>:<service>`;
- its database user lives in the tenant's own instance (the same setup Job, signing in with
  that instance's master secret);
- the tenant's own bucket stands in for every shared bucket, a prefix `<purpose>/` each;
- its topics and queues are the tenant's own (an `EventBus` under the tenant's key);
- app secrets, the cache and the email identity are the estate's, shared (`_Given.shared`
  says why each is, and the plan's `sharedResources` output lists them for the auditor);
- its routed paths get a target group and a listener rule of the tenant's, ahead of the
  estate's on the estate's HTTPS listener.

Traffic. CloudFront forwards every viewer header to the load balancer except Host
(`Managed-AllViewerExceptHostHeader`): the load balancer sees `Host: api-origin.<domain>`
whatever name the viewer used, so a host-header condition cannot tell tenants apart. Browsers
do say where a call comes from: the portal served at `https://<slug>.<domain>` calls
`api.<domain>` cross-origin, and every cross-origin request carries `Origin:
https://<slug>.<domain>`, which the page's script cannot set, and CloudFront forwards. So each
routed service of a silo tenant gets a rule matching its paths, the origin-verify header (as
every estate rule) and `Origin` of the tenant's names, at a priority the load balancer
evaluates before the estate rule for the same paths. A request without that Origin (a
script, a server) reaches the estate's services, which serve pool tenants: routing is not
authorisation, and the services still check whose data a caller may see.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from osp.app import (
    BucketGrant,
    DbUserGrant,
    EventBus,
    EventBusArgs,
    Grants,
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
from osp.app.telemetry import trace_env
from osp.components import Postgres
from osp.components.cache import PORT as REDIS_PORT
from osp.components.database import PORT as POSTGRES_PORT
from osp.components.loadbalancer import (
    ServiceRoute,
    rule_priorities,
    service_conditions,
    service_target_group,
)
from osp.components.network import subnet_cidrs
from osp.platform.catalogue import Access, Catalogue, Database, Replicas, Service, Transport
from osp.platform.errors import OspError
from osp.platform.naming import NameKind, fit
from osp.platform.spec import EnvironmentSpec
from osp.platform.tenancy import Tier
from osp.platform.tenancy.tiers import ServiceReplicas
from osp.stacks.services import ANYWHERE, calls, egress, env_name, image

#: What a suspended tenant's API requests get instead of its services.
SUSPENDED_STATUS = "503"
SUSPENDED_BODY = json.dumps({"error": "tenant_suspended"}, separators=(",", ":"))

#: The header browsers set on a cross-origin request: the tenant's rules match it.
ORIGIN_HEADER = "Origin"

#: The load balancer controller's actions on a silo's target groups (TargetGroupBinding).


class SiloServicesError(OspError):
    """The environment's blueprint cannot be run in a silo tenant's namespace."""


@dataclass(frozen=True, kw_only=True)
class Silo:
    """What the tenant program has declared for a silo tenant, and how it names things."""

    spec: EnvironmentSpec
    slug: str
    domains: Sequence[str]
    """The tenant's names (`<slug>.<domain>`, its custom domain): its portal's origins."""
    suspended: bool
    catalogue: Catalogue
    replicas: ServiceReplicas
    needs: Callable[[str], Any]
    """An environment output, or TenantProgramError naming it."""
    name: Callable[..., str]
    """`name(role, kind)`: the tenant's resource name for `role`."""
    tags: Callable[[str], dict[str, str]]
    labels: Mapping[str, str]
    parent: pulumi.Resource
    provider: k8s.Provider
    namespace: str
    namespace_ready: Sequence[pulumi.Resource]
    """What must exist before anything runs in the namespace (it, its quota and policy)."""
    key_arn: pulumi.Input[str]
    bucket_name: str
    database: Postgres
    partition: pulumi.Input[str]


@dataclass(frozen=True)
class SiloServices:
    identities: dict[str, ServiceIdentity]
    workloads: dict[str, ServiceWorkload]
    databases: ServiceDatabases | None
    events: EventBus | None
    target_groups: dict[str, aws.lb.TargetGroup]
    priorities: dict[str, int]
    shared: dict[str, str]
    """ARN → why it is shared: the estate's resources the silo's services are given."""


def check_blueprint(catalogue: Catalogue) -> str | None:
    """Why `catalogue`'s services cannot run in a silo namespace, if they cannot."""
    if catalogue.transport is Transport.RABBITMQ and catalogue.events:
        return (
            f"the {catalogue.name} blueprint's events travel over RabbitMQ, and a silo tenant "
            "would need a broker (or virtual host) of its own: osp gives silo tenants their "
            "own events over SNS and SQS only; run silo tenants on an sns-sqs blueprint"
        )
    if catalogue.kafka_services:
        return (
            f"the {catalogue.name} blueprint's services write and read Kafka topics on the "
            "estate's MSK cluster, and osp gives silo tenants no Kafka of their own: run silo "
            "tenants on a blueprint whose transport is sns-sqs"
        )
    keeping = [s.name for s in catalogue.volume_services]
    if keeping:
        return (
            f"the {catalogue.name} blueprint's {', '.join(keeping)} keeps a volume "
            "(uses.volume) on the estate's EFS file system, and osp gives silo tenants no "
            "volumes of their own: run silo tenants on a blueprint without volumes"
        )
    return None


def topic_names(prefix: str, catalogue: Catalogue) -> list[str]:
    """The names `EventBus` gives the topics of `catalogue` under `prefix` (its rule)."""
    return [fit(f"{prefix}-{event}", NameKind.SQS_QUEUE) for event in catalogue.events]


def rule_priority(
    slug: str, service: str, estate: Mapping[str, int], taken: set[int]
) -> int | None:
    """The priority of tenant `slug`'s rule for `service`: below the estate's rule for the same
    paths (the load balancer evaluates the lowest number first), derived from the tenant and
    service so that it stays put when other tenants come and go, and clear of the estate's
    rules and the tenant's other ones. None when the estate's rule leaves no room below it.

    Tenants cannot see each other's rules: two tenants' rules may still land on one number,
    which the load balancer refuses for the later one (its stack fails to deploy, naming the
    priority); the chance is about n²/2k for n silo tenants and a room of k numbers."""
    ceiling = estate[service] - 1
    if ceiling < 1:
        return None
    room = [p for p in range(1, ceiling + 1) if p not in taken and p not in estate.values()]
    if not room:
        return None
    digest = int(hashlib.sha256(f"{slug}/{service}".encode()).hexdigest(), 16)
    return room[digest % len(room)]


@dataclass
class _Given:
    """What one service of the silo is given: grants, environment, and what is shared."""

    env: dict[str, pulumi.Input[str]]
    topics: list[pulumi.Input[str]] = field(default_factory=list)
    queues: list[pulumi.Input[str]] = field(default_factory=list)
    buckets: list[BucketGrant] = field(default_factory=list)
    secrets: list[pulumi.Input[str]] = field(default_factory=list)
    users: list[DbUserGrant] = field(default_factory=list)
    emails: list[pulumi.Input[str]] = field(default_factory=list)
    shared: dict[str, str] = field(default_factory=dict)
    sms: bool = False


def declare(silo: Silo) -> SiloServices:
    """Run `silo.catalogue`'s services in the tenant's namespace; route its API to them."""
    problem = check_blueprint(silo.catalogue)
    if problem:
        raise SiloServicesError(f"tenant {silo.slug}: {problem}")
    return _Declaration(silo).run()


class _Declaration:
    def __init__(self, silo: Silo) -> None:
        self.silo = silo
        spec = silo.spec
        cidrs = subnet_cidrs(spec.network.subnets, spec.zones)
        self.isolated = list(cidrs["isolated"])
        self.public = list(cidrs["public"])
        # As the estate's setup jobs: interface endpoints when the spec has them, else NAT.
        self.endpoints = list(cidrs["private"]) if spec.network.interface_endpoints else [ANYWHERE]
        self.oidc = {
            "oidc_provider_arn": silo.needs("oidcProviderArn"),
            "oidc_provider_url": silo.needs("oidcProviderUrl"),
        }
        self.labels = {**silo.labels, "app.kubernetes.io/part-of": silo.catalogue.name}
        self.aws_opts = pulumi.ResourceOptions(parent=silo.parent)
        self.k8s_opts = pulumi.ResourceOptions(
            parent=silo.parent, providers=[silo.provider], depends_on=list(silo.namespace_ready)
        )

    def run(self) -> SiloServices:
        silo = self.silo
        events = self._events()
        databases = self._databases()
        target_groups, priorities = self._routes()
        identities: dict[str, ServiceIdentity] = {}
        workloads: dict[str, ServiceWorkload] = {}
        shared: dict[str, str] = {}
        for service in silo.catalogue.services:
            given = self._given(service, events)
            grants = self._grants(given)
            shared |= given.shared
            identity = ServiceIdentity(
                silo.name(f"{service.name}-identity"),
                ServiceIdentityArgs(
                    service=service.name,
                    namespace=silo.namespace,
                    service_account=service.name,
                    role_name=silo.name(service.name, NameKind.IAM),
                    grants=grants,
                    tags=silo.tags(silo.name(service.name)),
                    **self.oidc,
                ),
                self.aws_opts,
            )
            ready: list[pulumi.Resource] = [*silo.namespace_ready, identity]
            if databases is not None and service.uses.database_access:
                ready.append(databases)
            group = target_groups.get(service.name)
            workloads[service.name] = ServiceWorkload(
                silo.name(f"{service.name}-workload"),
                ServiceWorkloadArgs(
                    service=service.name,
                    namespace=silo.namespace,
                    image=image(service, silo.needs("repositoryUrls")),
                    port=service.port,
                    role_arn=identity.role_arn,
                    replicas=Replicas(
                        min=silo.replicas.min, baseline=silo.replicas.min, max=silo.replicas.max
                    ),
                    resources=service.resources,
                    cpu_utilisation=service.autoscaling.cpu_percent,
                    memory_utilisation=service.autoscaling.memory_percent,
                    probes=service.probes,
                    env=given.env,
                    target_group_arn=group.arn if group is not None else None,
                    load_balancer_cidrs=self.public if group is not None else (),
                    callers=service.callers,
                    calls=calls(silo.catalogue, service),
                    egress=egress(
                        silo.catalogue,
                        service,
                        isolated_cidrs=self.isolated,
                        endpoint_cidrs=self.endpoints,
                        broker_user=False,
                    ),
                    telemetry=True,
                    labels=self.labels,
                    scaled_to_zero=silo.suspended,
                ),
                pulumi.ResourceOptions.merge(
                    self.k8s_opts, pulumi.ResourceOptions(depends_on=ready)
                ),
            )
            identities[service.name] = identity
        # The estate's load balancer controller registers the pods in these groups: its policy
        # admits every group tagged with this environment and the silo tier (app/identity.py).
        return SiloServices(
            identities=identities,
            workloads=workloads,
            databases=databases,
            events=events,
            target_groups=target_groups,
            priorities=priorities,
            shared=shared,
        )

    # -- what the namespace holds besides the services ----------------------------------

    def _events(self) -> EventBus | None:
        """The tenant's own topics and queues under its key: a silo's events stay in the silo
        (the estate's queues would hand them to the shared services, and a silo consumer on
        the estate's queue would take pool tenants' messages)."""
        silo = self.silo
        if not silo.catalogue.events:
            return None
        return EventBus(
            silo.name("events"),
            EventBusArgs(
                prefix=silo.name(),
                events=routes(silo.catalogue),
                kms_key_arn=silo.key_arn,
                tags=silo.tags(silo.name("events")),
            ),
            self.aws_opts,
        )

    def _databases(self) -> ServiceDatabases | None:
        """The Job creating each service's user and database in the tenant's own instance,
        signing in with that instance's master secret (encrypted with the tenant's key)."""
        silo = self.silo
        users = [postgres_name(s.name) for s in silo.catalogue.services if s.uses.database_access]
        if not users:
            return None
        database = silo.database
        return ServiceDatabases(
            silo.name("databases"),
            ServiceDatabasesArgs(
                namespace=silo.namespace,
                users=users,
                host=database.address,
                master_secret_arn=database.master_user_secret_arn,
                master_secret_kms_key_arn=silo.key_arn,
                role_name=silo.name("database-setup", NameKind.IAM),
                region=silo.spec.region,
                database_cidrs=self.isolated,
                endpoint_cidrs=self.endpoints,
                labels=self.labels,
                tags=silo.tags(silo.name("database-setup")),
                **self.oidc,
            ),
            self.k8s_opts,
        )

    # -- what each service is given -----------------------------------------------------

    def _given(self, service: Service, events: EventBus | None) -> _Given:
        silo, uses = self.silo, service.uses
        given = _Given(
            env={
                "SERVICE_NAME": service.name,
                "ENVIRONMENT": silo.spec.name,
                "AWS_REGION": silo.spec.region,
                "PORT": str(service.port),
                "TENANT_SLUG": silo.slug,
                **trace_env(service.name, silo.spec.name, Tier.SILO.value, silo.slug),
            }
        )
        if uses.database_access:
            self._give_database(service, given)
        if uses.cache:
            secret = silo.needs("redisAuthSecretArn")
            # Shared: a silo tier promises its own database, bucket and key, not its own
            # cache; the services key what they cache by tenant.
            given.shared[secret] = "the estate's Redis AUTH token (the cache is shared)"
            given.secrets.append(secret)
            if silo.spec.cache.cluster_mode:
                # As the estate's own services: the configuration endpoint, no reader.
                given.env["REDIS_HOST"] = silo.needs("redisConfigurationEndpoint")
                given.env["REDIS_CLUSTER_MODE"] = "true"
            else:
                given.env["REDIS_HOST"] = silo.needs("redisPrimaryEndpoint")
                given.env["REDIS_READER_HOST"] = silo.needs("redisReaderEndpoint")
            given.env |= {
                "REDIS_PORT": str(REDIS_PORT),
                "REDIS_TLS": "true",
                "REDIS_AUTH_SECRET_ARN": secret,
            }
        if events is not None:
            for event in uses.publishes:
                topic = events.topics[event]
                given.topics.append(topic.arn)
                given.env[env_name("topic", event, "arn")] = topic.arn
            for subscription in uses.consumes:
                queue = events.queues[(service.name, subscription.queue)]
                given.queues.append(queue.arn)
                given.env[env_name("queue", subscription.queue, "url")] = queue.url
        self._give_bucket(service, given)
        app_secrets = silo.needs("appSecretArns") if uses.secrets else {}
        for secret in uses.secrets:
            arn = app_secrets[secret]
            # Shared: one JWT signing key is one sign-in for the platform, and a payment
            # gateway credential is the platform's account with the gateway.
            given.shared[arn] = f"the estate's {secret} secret (one per platform)"
            given.secrets.append(arn)
            given.env[env_name("secret", secret, "arn")] = arn
        if uses.email:
            identity = silo.needs("emailIdentityArn")
            configuration = silo.needs("emailConfigurationSetArn")
            # Shared: mail goes out from the platform's verified domain.
            given.shared[identity] = "the platform's SES sending identity"
            given.shared[configuration] = "the platform's SES configuration set"
            given.emails += [identity, configuration]
            given.env["EMAIL_FROM_DOMAIN"] = silo.spec.domain
            given.env["EMAIL_IDENTITY_ARN"] = identity
            given.env["EMAIL_CONFIGURATION_SET_NAME"] = silo.needs("emailConfigurationSetName")
        if uses.sms:
            given.sms = True
            given.env["SMS_ENABLED"] = "true"
        for callee, port in calls(silo.catalogue, service).items():
            given.env[env_name("service", callee, "url")] = (
                f"http://{callee}.{silo.namespace}.svc.cluster.local:{port}"
            )
        return given

    def _give_database(self, service: Service, given: _Given) -> None:
        database, user = self.silo.database, postgres_name(service.name)
        given.users.append(DbUserGrant(database.resource_id, user))
        given.env |= {
            "DATABASE_HOST": database.address,
            "DATABASE_PORT": str(POSTGRES_PORT),
            "DATABASE_NAME": user,
            "DATABASE_USER": user,
            "DATABASE_IAM_AUTHENTICATION": "true",
        }
        if service.uses.database is Database.READ_REPLICA:
            # The tenant's instance has no replica: a service that reads from replicas reads
            # from the primary, through the same variable.
            given.env["DATABASE_READ_HOSTS"] = database.address

    def _give_bucket(self, service: Service, given: _Given) -> None:
        """The tenant's own bucket in place of every shared bucket the service uses, with a
        prefix per shared bucket's purpose; read-write if any of them is."""
        wanted = service.uses.buckets
        if not wanted:
            return
        silo = self.silo
        access = Access.READ_WRITE if Access.READ_WRITE in wanted.values() else Access.READ
        given.buckets.append(
            BucketGrant(
                pulumi.Output.concat("arn:", silo.partition, ":s3:::", silo.bucket_name), access
            )
        )
        for purpose in wanted:
            given.env[env_name("bucket", purpose, "name")] = silo.bucket_name
            given.env[env_name("bucket", purpose, "prefix")] = f"{purpose}/"

    def _grants(self, given: _Given) -> Grants:
        """The service's grants: the tenant's key for its topics, queues and bucket (through
        SNS, SQS and S3 only), the estate's secrets key for the shared secrets."""
        silo = self.silo
        grants = Grants(
            publish_topic_arns=given.topics,
            consume_queue_arns=given.queues,
            buckets=given.buckets,
            secret_arns=given.secrets,
            database_users=given.users,
            email_identity_arns=given.emails,
            sms=given.sms,
        )
        secrets_key = silo.needs("secretsKeyArn") if given.secrets else None
        if secrets_key is not None:
            given.shared[secrets_key] = "the estate's secrets key, for the shared secrets only"
        return with_key_grants(
            grants,
            data_key_arn=silo.key_arn,
            storage_key_arn=silo.key_arn,
            secrets_key_arn=secrets_key,
        )

    # -- traffic --------------------------------------------------------------------------

    def _routes(self) -> tuple[dict[str, aws.lb.TargetGroup], dict[str, int]]:
        """Per routed service: the tenant's target group, and a rule on the estate's HTTPS
        listener ahead of the estate's own for the same paths (forwarding, or answering 503
        while the tenant is suspended)."""
        silo = self.silo
        routed = silo.catalogue.routed
        if not routed:
            return {}, {}
        estate = rule_priorities(
            [ServiceRoute(s.name, s.port, s.route or "", s.probes.readiness.path) for s in routed]
        )
        listener = silo.needs("apiListenerArn")
        verify_value = pulumi.Output.secret(silo.needs("apiOriginVerifyValue"))
        origins = [f"https://{domain}" for domain in silo.domains]
        groups: dict[str, aws.lb.TargetGroup] = {}
        priorities: dict[str, int] = {}
        for service in routed:
            priority = rule_priority(silo.slug, service.name, estate, set(priorities.values()))
            if priority is None:
                raise SiloServicesError(
                    f"tenant {silo.slug}: the estate's rule for {service.name} has priority "
                    f"{estate[service.name]}, which leaves no free number below it for the "
                    "tenant's rule"
                )
            priorities[service.name] = priority
            groups[service.name] = self._route(service, priority, listener, verify_value, origins)
        return groups, priorities

    def _route(
        self,
        service: Service,
        priority: int,
        listener: str,
        verify_value: pulumi.Output[str],
        origins: list[str],
    ) -> aws.lb.TargetGroup:
        silo = self.silo
        assert service.route is not None
        tg_name = silo.name(f"tg-{service.name}")
        # As the estate's target groups (osp.components.loadbalancer), port in the name: a
        # port change replaces the group, which needs a new name while the old one lives.
        group = service_target_group(
            tg_name,
            name=silo.name(f"{service.name}-{service.port}", NameKind.LOAD_BALANCER),
            vpc_id=silo.needs("vpcId"),
            port=service.port,
            health_check_path=service.probes.readiness.path,
            tags=silo.tags(tg_name),
            opts=self.aws_opts,
        )
        if silo.suspended:
            # Not removed: without it the estate's rule would send the tenant's requests to
            # the shared services. The data and the target group stay.
            action = aws.lb.ListenerRuleActionArgs(
                type="fixed-response",
                fixed_response=aws.lb.ListenerRuleActionFixedResponseArgs(
                    status_code=SUSPENDED_STATUS,
                    content_type="application/json",
                    message_body=SUSPENDED_BODY,
                ),
            )
        else:
            action = aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=group.arn)
        rule_name = silo.name(f"rule-{service.name}")
        aws.lb.ListenerRule(
            rule_name,
            listener_arn=listener,
            priority=priority,
            conditions=[
                *service_conditions(service.route, verify_value),
                aws.lb.ListenerRuleConditionArgs(
                    http_header=aws.lb.ListenerRuleConditionHttpHeaderArgs(
                        http_header_name=ORIGIN_HEADER, values=origins
                    )
                ),
            ],
            actions=[action],
            tags=silo.tags(rule_name),
            opts=self.aws_opts,
        )
        return group


def key_statements(
    *, partition: str, account: str, region: str, topics: Sequence[str]
) -> list[dict[str, Any]]:
    """What the tenant's key policy adds for its own events: SNS encrypts and delivers with
    the key for exactly the tenant's topics (its queues are encrypted with it too)."""
    if not topics:
        return []
    return [
        {
            "Sid": "SnsDeliversTenantEvents",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnEquals": {
                    "aws:SourceArn": [
                        f"arn:{partition}:sns:{region}:{account}:{topic}" for topic in topics
                    ]
                },
            },
        }
    ]
