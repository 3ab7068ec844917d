"""A tenant's own stack (`<env>.tenant-<slug>`): exactly what its tier's blueprint gives it.

    build(spec, tenant, environment)      # an osp.platform.tenancy.provisioning.TenantProgram

`environment` is the environment stack's outputs (what the Automation API reads from it, or
the environment's offline plan's outputs): the program reads the VPC, the subnets, the
shared data buckets, the services' roles, the portals, the load balancer's listener, the
tenant gate's store and the cluster's kubeconfig there. It changes no resource of the
environment stack; what it adds to the environment's shared things are resources of its own:
its key in the tenant gate's store, and (silo) its rules on the load balancer's listener.

Every tenant: its DNS name `<slug>.<domain>` on the tier's portal, its names in the tenant
gate, a role confined to its prefix `tenants/<slug>/` in the shared data buckets, and its
configuration parameter. A silo tenant also gets its own KMS key, bucket, PostgreSQL
instance and namespace `tenant-<slug>` (ResourceQuota, LimitRange, default-deny
NetworkPolicy) running its own copy of the environment's services, reached through its own
listener rules (osp.stacks.tenant_services). Every AWS resource is tagged
`osp:tenant=<slug>` and `osp:tier=<tier>` besides osp's standard tags; every Kubernetes
object is labelled `osp.io/tenant` and `osp.io/tier`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from osp.app.pods import cidr_egress, dns_egress
from osp.components import Bucket, BucketArgs, OnDelete, Postgres, PostgresArgs
from osp.components.database import PORT as POSTGRES_PORT
from osp.components.network import subnet_cidrs
from osp.platform import iam, naming
from osp.platform.catalogue import Catalogue, load_catalogue
from osp.platform.errors import OspError
from osp.platform.naming import NameKind
from osp.platform.spec import EnvironmentSpec
from osp.platform.tenancy import Tenant
from osp.platform.tenancy.tiers import (
    LABEL_TENANT,
    LABEL_TIER,
    TAG_TENANT,
    TAG_TIER,
    TierBlueprint,
    TrustedBy,
    config_parameter,
    load_tier,
    namespace,
    prefix,
    quota_problem,
    resource_name,
)
from osp.stacks import tenant_services
from osp.stacks.foundation import master_password_schedule
from osp.stacks.tenant_gate import declare_gate

TOKEN = "osp:tenant:Tenant"

#: What a tenant's role and key users may do with its key.
KEY_USE = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
]
HTTPS = 443
ANYWHERE = "0.0.0.0/0"


class TenantProgramError(OspError):
    """The environment's outputs lack what the tenant's tier needs."""


def build(
    spec: EnvironmentSpec,
    tenant: Tenant,
    environment: Mapping[str, Any],
    *,
    delete_data: bool | None = None,
    blueprint: TierBlueprint | None = None,
) -> None:
    """Declare `tenant`'s resources in environment `spec` and export its URLs and names.

    `delete_data` (given only to offboard the tenant): the form of the stack a destroy goes
    through. Protection is lifted; the database leaves its final snapshot; the bucket is
    emptied by the destroy with `delete_data`, and otherwise left in AWS with its data; the
    key stays either way (the snapshot, and a kept bucket, are encrypted with it).

    `blueprint`: the tier blueprint to declare (default: the shipped one of the tenant's tier,
    `load_tier(tenant.tier)`); it must be of the tenant's tier.

    A suspended tenant keeps every resource and its data, but its configuration says
    `suspended` (the services refuse its requests), the estate's tenant gate refuses its
    names at the edge, and a silo's namespace no longer admits the load balancer, its
    services run no pods and its listener rules answer 503.
    """
    blueprint = blueprint or load_tier(tenant.tier)
    if blueprint.tier is not tenant.tier:
        raise TenantProgramError(
            f"tenant {tenant.slug} is {tenant.tier.value}: it cannot be given the "
            f"{blueprint.tier.value} tier's blueprint"
        )
    _Program(spec, tenant, blueprint, environment, delete_data).declare()


class _Program:
    def __init__(
        self,
        spec: EnvironmentSpec,
        tenant: Tenant,
        blueprint: TierBlueprint,
        environment: Mapping[str, Any],
        delete_data: bool | None = None,
    ) -> None:
        self.spec, self.tenant, self.blueprint, self.env = spec, tenant, blueprint, environment
        self.slug = tenant.slug
        self.offboarding = delete_data is not None
        self.delete_data = bool(delete_data)
        # Offboarding lifts what protects the tenant's resources, so the destroy can pass.
        self.protected = spec.deletion_protection and not self.offboarding
        self.component = pulumi.ComponentResource(TOKEN, self.name())
        self.child = pulumi.ResourceOptions(parent=self.component)
        lookup = pulumi.InvokeOutputOptions(parent=self.component)
        self.partition = aws.get_partition_output(opts=lookup).partition
        self.account = aws.get_caller_identity_output(opts=lookup).account_id

    # -- names and tags ---------------------------------------------------------------

    def name(self, role: str = "", kind: NameKind = NameKind.GENERIC) -> str:
        return resource_name(self.spec.name, self.slug, role, kind)

    def tags(self, name: str) -> dict[str, str]:
        spec = self.spec
        return {
            "Name": name,
            **naming.standard_tags(
                environment=spec.name,
                component="tenant",
                blueprint=spec.blueprint,
                extra={**spec.tags, TAG_TENANT: self.slug, TAG_TIER: self.tenant.tier.value},
            ),
        }

    def labels(self) -> dict[str, str]:
        return {
            LABEL_TENANT: self.slug,
            LABEL_TIER: self.tenant.tier.value,
            "app.kubernetes.io/managed-by": naming.PROJECT,
        }

    def needs(self, key: str) -> Any:
        try:
            return self.env[key]
        except KeyError:
            raise TenantProgramError(
                f"tenant {self.slug}: the environment {self.spec.name}'s outputs have no "
                f"{key!r}, which the {self.tenant.tier.value} tier needs; run `osp up --env "
                f"{self.spec.name}` to bring the environment up to date"
            ) from None

    # -- the program ------------------------------------------------------------------

    def declare(self) -> None:
        blueprint, spec = self.blueprint, self.spec
        hostname = self.dns()
        # The edge refuses a suspended tenant's names (a 503 from the portal's gate).
        declare_gate(
            self.name("gate"),
            store_arn=self.needs("tenantGateStoreArn"),
            hosts=self.domains(hostname),
            suspended=self.tenant.state.closed,
            opts=self.child,
        )
        shared = {
            purpose: bucket
            for purpose, bucket in sorted(self.needs("dataBuckets").items())
            if purpose not in blueprint.storage.exclude_buckets
        }
        silo = blueprint.namespace is not None
        catalogue = load_catalogue(spec.blueprint, spec.library) if silo else None
        # An offboarding goes through whatever the tier says today: the checks of what may
        # be onboarded must never stop a tenant from leaving.
        if catalogue is not None and not self.offboarding:
            problem = quota_problem(blueprint, catalogue) or tenant_services.check_blueprint(
                catalogue
            )
            if problem:
                raise TenantProgramError(f"tenant {self.slug}: {problem}")
        own_bucket = self.bucket_name() if blueprint.bucket is not None else None
        parameter = self.configuration(hostname, own_bucket)
        role = self.role(shared, own_bucket, parameter)
        outputs: dict[str, Any] = {
            "tenant": self.slug,
            "tier": self.tenant.tier.value,
            "blueprintVersion": (
                blueprint.version if catalogue is None else blueprint.stack_version(catalogue)
            ),
            "hostname": hostname,
            "urls": [f"https://{d}" for d in self.domains(hostname)],
            "roleName": role.name,
            "roleArn": role.arn,
            "configParameter": config_parameter(spec.name, self.slug),
            "configParameterArn": parameter.arn,
            "storagePrefixes": {
                purpose: f"s3://{bucket}/{prefix(self.slug)}" for purpose, bucket in shared.items()
            },
        }
        if catalogue is not None:
            assert own_bucket is not None
            topics = tenant_services.topic_names(self.name(), catalogue)
            key = self.key(role, topics)
            bucket = self.bucket(own_bucket, key)
            database = self.database(key)
            master_password_schedule(self.name("db-master-rotation"), database, self.child)
            ns, provider, ready = self.namespace()
            services = self.services(catalogue, key, own_bucket, database, ns, provider, ready)
            outputs |= {
                "keyArn": key.arn,
                "bucketName": bucket.bucket_name,
                "databaseIdentifier": database.identifier,
                "databaseEndpoint": database.endpoint,
                "databaseResourceId": database.resource_id,
                "databaseMasterSecretArn": database.master_user_secret_arn,
                "namespace": ns,
                "serviceRoleArns": {n: i.role_arn for n, i in services.identities.items()},
                "serviceUrls": {n: w.url for n, w in services.workloads.items()},
                "targetGroupArns": {n: g.arn for n, g in services.target_groups.items()},
                "listenerRulePriorities": services.priorities,
                "sharedResources": dict(sorted(services.shared.items())),
            }
        self.component.register_outputs({})
        for name, value in outputs.items():
            pulumi.export(name, value)

    def domains(self, hostname: str) -> list[str]:
        return [hostname, *([self.tenant.domain] if self.tenant.domain else [])]

    def dns(self) -> str:
        """`<slug>.<domain>`, pointing at the tier's portal."""
        spec, wanted = self.spec, self.blueprint.dns.portals
        portals = self.needs("portalUrls")
        portal = next((p for p in wanted if p in portals), None)
        if portal is None:
            raise TenantProgramError(
                f"tenant {self.slug}: the {self.tenant.tier.value} tier puts tenants on the "
                f"{' or '.join(wanted)} portal, which environment {spec.name} does not have "
                f"(portals: {', '.join(sorted(portals)) or 'none'})"
            )
        zone_id: pulumi.Input[str] | None = spec.dns.zone_id
        if zone_id is None:
            lookup = pulumi.InvokeOutputOptions(parent=self.component)
            zone_id = aws.route53.get_zone_output(
                name=spec.domain, private_zone=False, opts=lookup
            ).zone_id
        hostname = f"{self.slug}.{spec.domain}"
        aws.route53.Record(
            self.name("dns"),
            zone_id=zone_id,
            name=hostname,
            type="CNAME",
            ttl=self.blueprint.dns.ttl_seconds,
            records=[f"{portal}.{spec.domain}"],
            opts=self.child,
        )
        return hostname

    def configuration(self, hostname: str, own_bucket: str | None) -> aws.ssm.Parameter:
        """The tenant's configuration, which the services read."""
        tenant = self.tenant
        config: dict[str, Any] = {
            "slug": tenant.slug,
            "name": tenant.name,
            "tier": tenant.tier.value,
            "state": tenant.state.value,
            "domains": self.domains(hostname),
            "prefix": prefix(tenant.slug),
        }
        if own_bucket is not None:
            config |= {"bucket": own_bucket, "namespace": namespace(tenant.slug)}
        name = self.name("config")
        return aws.ssm.Parameter(
            name,
            name=config_parameter(self.spec.name, tenant.slug),
            type="String",
            # Not a secret: `insecure_value` keeps it readable in plans and diffs.
            insecure_value=json.dumps(config, sort_keys=True),
            description=f"Configuration of tenant {tenant.slug} ({tenant.tier.value})",
            tags=self.tags(name),
            opts=self.child,
        )

    def role(
        self, shared: Mapping[str, str], own_bucket: str | None, parameter: aws.ssm.Parameter
    ) -> aws.iam.Role:
        """The role tenant-scoped requests run as: its prefix, its bucket, its configuration."""
        settings = self.blueprint.role
        name = self.name(kind=NameKind.IAM)
        if settings.trusted_by is TrustedBy.SERVICES:
            trusted: pulumi.Input[Any] = sorted(self.needs("serviceRoleArns").values())
        else:
            trusted = pulumi.Output.format("arn:{0}:iam::{1}:root", self.partition, self.account)
        role = aws.iam.Role(
            self.name("role"),
            name=name,
            description=f"Tenant {self.slug}: its own prefix, bucket and configuration only",
            assume_role_policy=pulumi.Output.from_input(trusted).apply(
                lambda principals: iam.policy(
                    {
                        "Sid": "AssumedBy",
                        "Effect": "Allow",
                        "Principal": {"AWS": principals},
                        "Action": ["sts:AssumeRole", "sts:TagSession"],
                    }
                )
            ),
            max_session_duration=settings.max_session_seconds,
            tags=self.tags(name),
            opts=self.child,
        )
        aws.iam.RolePolicy(
            self.name("access"),
            role=role.id,
            policy=pulumi.Output.all(self.partition, parameter.arn).apply(
                lambda v: self.access_policy(v[0], shared, own_bucket, v[1])
            ),
            opts=self.child,
        )
        return role

    def access_policy(
        self, partition: str, shared: Mapping[str, str], own_bucket: str | None, parameter: str
    ) -> str:
        tenant_prefix = prefix(self.slug)
        objects = [f"arn:{partition}:s3:::{b}/{tenant_prefix}*" for b in shared.values()]
        statements: list[dict[str, Any]] = []
        if shared:
            statements += [
                {
                    "Sid": "TenantPrefixObjects",
                    "Effect": "Allow",
                    "Action": list(self.blueprint.storage.object_actions),
                    "Resource": objects,
                },
                {
                    "Sid": "TenantPrefixListing",
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": [f"arn:{partition}:s3:::{b}" for b in shared.values()],
                    "Condition": {"StringLike": {"s3:prefix": [f"{tenant_prefix}*"]}},
                },
            ]
        if own_bucket is not None:
            statements += [
                {
                    "Sid": "OwnBucketObjects",
                    "Effect": "Allow",
                    "Action": list(self.blueprint.storage.object_actions),
                    "Resource": f"arn:{partition}:s3:::{own_bucket}/*",
                },
                {
                    "Sid": "OwnBucketListing",
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": f"arn:{partition}:s3:::{own_bucket}",
                },
            ]
        statements.append(
            {
                "Sid": "TenantConfiguration",
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": parameter,
            }
        )
        return iam.policy(*statements)

    # -- silo -------------------------------------------------------------------------

    def key(self, role: aws.iam.Role, topics: list[str]) -> aws.kms.Key:
        """The tenant's own key: the account administers it; its role, CloudWatch Logs for
        its database's log groups only, and SNS for its own `topics` only, use it (its
        services' roles through the grants of their own policies)."""
        settings = self.blueprint.key
        assert settings is not None
        name = self.name("key")
        region = self.spec.region
        database = naming.fit(self.name("db"), NameKind.RDS_IDENTIFIER)

        def policy(values: list[str]) -> str:
            partition, account, role_arn = values
            return iam.policy(
                {
                    "Sid": "AccountAdministers",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "TenantRoleUses",
                    "Effect": "Allow",
                    "Principal": {"AWS": role_arn},
                    "Action": KEY_USE,
                    "Resource": "*",
                },
                {
                    "Sid": "CloudWatchLogsEncryptsTenantDatabaseLogs",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                    "Action": KEY_USE,
                    "Resource": "*",
                    "Condition": {
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": (
                                f"arn:{partition}:logs:{region}:{account}:log-group:"
                                f"/aws/rds/instance/{database}/*"
                            )
                        }
                    },
                },
                *tenant_services.key_statements(
                    partition=partition, account=account, region=region, topics=topics
                ),
            )

        key = aws.kms.Key(
            name,
            description=f"Tenant {self.slug}: its bucket, database and database logs",
            enable_key_rotation=True,
            deletion_window_in_days=settings.deletion_window_days,
            policy=pulumi.Output.all(self.partition, self.account, role.arn).apply(policy),
            tags=self.tags(name),
            opts=pulumi.ResourceOptions(
                parent=self.component,
                protect=self.protected,
                # Its final database snapshot (and a kept bucket) cannot be read without it.
                retain_on_delete=self.offboarding or None,
            ),
        )
        aws.kms.Alias(
            f"{name}-alias", name=f"alias/{name}", target_key_id=key.key_id, opts=self.child
        )
        return key

    def bucket_name(self) -> str:
        """`osp-<env>-tenant-<slug>-<8 hex>`: the estate's suffix (from the domain)."""
        suffix = hashlib.sha256(self.spec.domain.encode()).hexdigest()[:8]
        return self.name(suffix, NameKind.S3_BUCKET)

    def bucket_on_delete(self) -> OnDelete:
        """Kept while the tenant is served; offboarding empties it only with delete_data."""
        if not self.offboarding:
            return OnDelete.REFUSE_IF_NOT_EMPTY
        return OnDelete.EMPTY if self.delete_data else OnDelete.RETAIN

    def bucket(self, bucket_name: str | None, key: aws.kms.Key) -> Bucket:
        settings = self.blueprint.bucket
        assert settings is not None and bucket_name is not None
        name = self.name("bucket")
        return Bucket(
            name,
            BucketArgs(
                bucket_name=bucket_name,
                deletion_protection=self.protected,
                on_delete=self.bucket_on_delete(),
                kms_key_arn=key.arn,
                versioning=settings.versioning,
                archive=settings.archive,
                noncurrent_version_expiry_days=settings.noncurrent_version_expiry_days,
                access_log_bucket=self.env.get("logBucket"),
                tags=self.tags(name),
            ),
            self.child,
        )

    def database(self, key: aws.kms.Key) -> Postgres:
        settings = self.blueprint.database
        assert settings is not None
        spec = self.spec
        profile = settings.profiles[spec.profile]
        name = self.name("db")
        subnets = aws.rds.SubnetGroup(
            self.name("db-subnets"),
            name=self.name("db-subnets", NameKind.RDS_IDENTIFIER),
            description=f"Tenant {self.slug}: the environment's isolated subnets",
            subnet_ids=list(self.needs("isolatedSubnetIds")),
            tags=self.tags(self.name("db-subnets")),
            opts=self.child,
        )
        # The cluster's nodes (where the services run) reach it on 5432; nothing else does.
        clients = [self.needs("nodeSecurityGroupId")]
        return Postgres(
            name,
            PostgresArgs(
                vpc_id=self.needs("vpcId"),
                db_subnet_group_name=subnets.name,
                client_security_group_ids=clients,
                kms_key_arn=key.arn,
                logs_kms_key_arn=key.arn,
                engine_version=settings.engine_version,
                instance_class=profile.instance_class,
                allocated_storage_gib=profile.allocated_storage_gib,
                max_allocated_storage_gib=profile.max_allocated_storage_gib,
                multi_az=profile.multi_az,
                backup_retention_days=profile.backup_retention_days,
                performance_insights_enabled=spec.database.performance_insights,
                monitoring_interval_seconds=spec.database.monitoring_interval_seconds,
                log_retention_days=spec.database.log_retention_days,
                deletion_protection=self.protected,
                tags=self.tags(name),
            ),
            self.child,
        )

    def namespace(self) -> tuple[str, k8s.Provider, list[pulumi.Resource]]:
        """`tenant-<slug>`: its quota, its limit range, and a default-deny policy admitting the
        load balancer (as the services' policies do) and its own namespace only."""
        settings = self.blueprint.namespace
        assert settings is not None
        spec = self.spec
        name = namespace(self.slug)
        labels = self.labels()
        provider = k8s.Provider(
            self.name("k8s"), kubeconfig=self.needs("kubeconfig"), opts=self.child
        )
        opts = pulumi.ResourceOptions(parent=self.component, provider=provider)
        ns = k8s.core.v1.Namespace(
            self.name("namespace"),
            metadata={
                "name": name,
                "labels": {
                    **labels,
                    **{
                        f"pod-security.kubernetes.io/{mode}": "restricted"
                        for mode in ("enforce", "audit", "warn")
                    },
                },
            },
            opts=opts,
        )
        inside = pulumi.ResourceOptions(parent=self.component, provider=provider, depends_on=[ns])
        metadata = {"namespace": name, "labels": labels}
        quota = k8s.core.v1.ResourceQuota(
            self.name("quota"),
            metadata={"name": "tenant-quota", **metadata},
            spec={"hard": settings.quota.hard()},
            opts=inside,
        )
        limits = settings.limit_range
        limit_range = k8s.core.v1.LimitRange(
            self.name("limits"),
            metadata={"name": "tenant-limits", **metadata},
            spec={
                "limits": [
                    {
                        "type": "Container",
                        "defaultRequest": limits.default_request.model_dump(),
                        "default": limits.default.model_dump(),
                        "max": limits.max.model_dump(),
                    }
                ]
            },
            opts=inside,
        )
        cidrs = subnet_cidrs(spec.network.subnets, spec.zones)
        ports = sorted({s.port for s in load_catalogue(spec.blueprint, spec.library).routed})
        own = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}
        ingress: list[dict[str, Any]] = [{"from": [own]}]
        if ports and not self.tenant.state.closed:
            ingress.append(
                {
                    "from": [{"ipBlock": {"cidr": cidr}} for cidr in cidrs["public"]],
                    "ports": [{"protocol": "TCP", "port": port} for port in ports],
                }
            )
        default_deny = k8s.networking.v1.NetworkPolicy(
            self.name("default-deny"),
            metadata={"name": "default-deny", **metadata},
            spec={
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": ingress,
                "egress": [
                    {"to": [own]},
                    dns_egress(),
                    cidr_egress(cidrs["isolated"], [POSTGRES_PORT]),
                    cidr_egress([ANYWHERE], [HTTPS]),
                ],
            },
            opts=inside,
        )
        return name, provider, [ns, quota, limit_range, default_deny]

    def services(
        self,
        catalogue: Catalogue,
        key: aws.kms.Key,
        bucket_name: str,
        database: Postgres,
        ns: str,
        provider: k8s.Provider,
        ready: list[pulumi.Resource],
    ) -> tenant_services.SiloServices:
        """The environment's services, the tenant's own copy, in its namespace."""
        settings = self.blueprint.services
        assert settings is not None
        hostname = f"{self.slug}.{self.spec.domain}"
        return tenant_services.declare(
            tenant_services.Silo(
                spec=self.spec,
                slug=self.slug,
                domains=self.domains(hostname),
                suspended=self.tenant.state.closed,
                catalogue=catalogue,
                replicas=settings.replicas[self.spec.profile],
                needs=self.needs,
                name=self.name,
                tags=self.tags,
                labels=self.labels(),
                parent=self.component,
                provider=provider,
                namespace=ns,
                namespace_ready=ready,
                key_arn=key.arn,
                bucket_name=bucket_name,
                database=database,
                partition=self.partition,
            )
        )
