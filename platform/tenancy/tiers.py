"""Tier blueprints: what each tier gives a tenant, as declarative YAML in `blueprints/tenants/`.

    blueprint = load_tier(Tier.SILO)
    blueprint.version                          # 'a1b2c3d4e5f6': what a rollout compares
    blueprint.database.profiles["prod"].multi_az

A tier's file holds the numbers and choices (the portal its DNS name rides on, the actions a
tenant's role may take on its prefix, quotas, limit ranges, instance classes per profile);
osp.stacks.tenant turns them into resources. What the isolation proof depends on is fixed
here, not in the files: the tenant's prefix, namespace, configuration parameter and names
(`prefix`, `namespace`, `config_parameter`, `resource_name`).

Every model refuses unknown keys; problems come out as the catalogue's do, every one at once,
each as `<file>:<line>: <key.path>: got X; expected Y`, in one SpecError.
"""

from __future__ import annotations

import hashlib
import math
import os
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from osp.platform import blueprints, limits
from osp.platform.catalogue import Catalogue, Quantities, cpu_millicores, memory_bytes
from osp.platform.errors import OspError, SpecError
from osp.platform.naming import NameKind, physical_name
from osp.platform.spec import EnvironmentSpec, Profile
from osp.platform.spec.positions import Positions, load_document
from osp.platform.spec.problems import (
    Problem,
    display_path,
    from_validation_error,
    got_expected,
)
from osp.platform.tenancy.model import Tier

#: The folder of osp.blueprints holding one `<tier>.yaml` per tier.
TIERS_FOLDER = "tenants"

#: Hex digits of the file's sha256 that make a tier blueprint's version.
VERSION_LENGTH = 12


# --- what osp fixes, whatever the files say -----------------------------------------------

#: Tags every tenant resource carries (cost allocation), besides osp's standard set.
TAG_TENANT = "osp:tenant"
TAG_TIER = "osp:tier"
#: The same, as Kubernetes labels (a label key cannot hold a colon).
LABEL_TENANT = "osp.io/tenant"
LABEL_TIER = "osp.io/tier"


def prefix(slug: str) -> str:
    """The tenant's key prefix in the shared data buckets: `tenants/<slug>/`."""
    return f"tenants/{slug}/"


def namespace(slug: str) -> str:
    """A silo tenant's Kubernetes namespace: `tenant-<slug>`."""
    return f"tenant-{slug}"


def config_parameter(environment: str, slug: str) -> str:
    """The SSM parameter holding the tenant's configuration, which the services read."""
    return f"/osp/{environment}/tenants/{slug}/config"


def resource_name(
    environment: str, slug: str, role: str = "", kind: NameKind = NameKind.GENERIC
) -> str:
    """`osp-<env>-tenant-<slug>[-<role>]`, valid for `kind`."""
    return physical_name(environment, f"tenant-{slug}" + (f"-{role}" if role else ""), kind)


# --- the models ---------------------------------------------------------------------------


def _limit(constraint: limits.Constraint) -> AfterValidator:
    """A pydantic check by one of osp.platform.limits' rules (the components ask the same)."""

    def check(value: Any) -> Any:
        expected = constraint.problem(value)
        if expected is not None:
            raise ValueError(f"expected {expected}")
        return value

    return AfterValidator(check)


def _as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _cpu(value: str) -> str:
    try:
        ok = cpu_millicores(value) >= 1
    except (ValueError, ArithmeticError):
        ok = False
    if not ok:
        raise ValueError("expected a Kubernetes CPU quantity of at least 1m, such as 500m or 2")
    return value


def _memory(value: str) -> str:
    try:
        ok = memory_bytes(value) >= 2**20
    except (ValueError, ArithmeticError):
        ok = False
    if not ok:
        raise ValueError("expected a Kubernetes memory quantity of at least 1Mi, such as 8Gi")
    return value


def _s3_action(value: str) -> str:
    if not (value.startswith("s3:") and value[3:].isalpha()):
        raise ValueError(
            "expected one S3 object action such as s3:GetObject (no wildcards: a tenant's "
            "role is granted exactly what its tier names)"
        )
    return value


def _some(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        raise ValueError("expected at least one")
    return value


Cpu = Annotated[str, BeforeValidator(_as_text), AfterValidator(_cpu)]
Memory = Annotated[str, BeforeValidator(_as_text), AfterValidator(_memory)]
Count = Annotated[int, Field(ge=0)]
S3ObjectAction = Annotated[str, AfterValidator(_s3_action)]
Label = Annotated[str, _limit(limits.DNS_1035_LABEL)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Dns(_Model):
    """`<slug>.<domain>`: a name pointing at one of the estate's portals."""

    portals: Annotated[tuple[Label, ...], AfterValidator(_some)] = Field(
        description="The portals whose distribution answers for the tenant, in preference "
        "order: the first one the environment's blueprint has."
    )
    ttl_seconds: int = Field(300, ge=60, le=86400, description="TTL of the tenant's record.")


class Storage(_Model):
    """The tenant's prefix `tenants/<slug>/` in the shared data buckets."""

    exclude_buckets: tuple[Label, ...] = Field(
        (), description="Shared buckets the tenant gets no prefix in."
    )
    object_actions: Annotated[tuple[S3ObjectAction, ...], AfterValidator(_some)] = Field(
        description="What the tenant's role may do to objects under its prefix."
    )


class TrustedBy(StrEnum):
    """Who may assume a tenant's role."""

    SERVICES = "services"
    """The services' IRSA roles (the estate's `serviceRoleArns`)."""
    ACCOUNT = "account"
    """Any principal of the account that its own IAM policy allows to."""


class Role(_Model):
    """The role tenant-scoped requests run as, confined to the tenant's resources."""

    trusted_by: TrustedBy
    max_session_seconds: int = Field(3600, ge=3600, le=43200)


class Key(_Model):
    """A silo tenant's own KMS key."""

    deletion_window_days: Annotated[int, _limit(limits.KMS_DELETION_WINDOW_DAYS)] = 30


class BucketSettings(_Model):
    """A silo tenant's own bucket (osp.components.Bucket)."""

    versioning: bool = True
    archive: bool = False
    noncurrent_version_expiry_days: int = Field(30, ge=1)


class DatabaseProfile(_Model):
    """A silo tenant's PostgreSQL instance in environments of one profile."""

    instance_class: Annotated[str, _limit(limits.RDS_INSTANCE_CLASS)]
    allocated_storage_gib: Annotated[int, _limit(limits.RDS_STORAGE_GIB)]
    max_allocated_storage_gib: Annotated[int, _limit(limits.RDS_STORAGE_GIB)]
    multi_az: bool
    backup_retention_days: Annotated[int, _limit(limits.RDS_BACKUP_RETENTION_DAYS)]

    @model_validator(mode="after")
    def _ceiling(self) -> DatabaseProfile:
        if self.max_allocated_storage_gib < self.allocated_storage_gib:
            raise ValueError(
                f"max_allocated_storage_gib {self.max_allocated_storage_gib} is below "
                f"allocated_storage_gib {self.allocated_storage_gib}; expected at least it"
            )
        return self


class Database(_Model):
    """A silo tenant's own PostgreSQL instance (osp.components.Postgres)."""

    engine_version: Annotated[str, BeforeValidator(_as_text), _limit(limits.POSTGRES_VERSION)]
    profiles: dict[Profile, DatabaseProfile]

    @model_validator(mode="after")
    def _every_profile(self) -> Database:
        missing = [p.value for p in Profile if p not in self.profiles]
        if missing:
            raise ValueError(
                f"profiles has no {', '.join(missing)}; expected one entry per profile "
                f"({', '.join(p.value for p in Profile)})"
            )
        return self


class Quota(_Model):
    """A ResourceQuota's `hard` limits, by their Kubernetes names."""

    requests_cpu: Cpu | None = Field(None, alias="requests.cpu")
    requests_memory: Memory | None = Field(None, alias="requests.memory")
    limits_cpu: Cpu | None = Field(None, alias="limits.cpu")
    limits_memory: Memory | None = Field(None, alias="limits.memory")
    requests_storage: Memory | None = Field(None, alias="requests.storage")
    pods: Count | None = None
    services: Count | None = None
    persistentvolumeclaims: Count | None = None
    configmaps: Count | None = None
    secrets: Count | None = None
    services_loadbalancers: Count | None = Field(None, alias="services.loadbalancers")
    services_nodeports: Count | None = Field(None, alias="services.nodeports")

    @model_validator(mode="after")
    def _bounded(self) -> Quota:
        missing = [
            alias
            for alias in ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "pods")
            if self.hard().get(alias) is None
        ]
        if missing:
            raise ValueError(
                f"quota sets no {', '.join(missing)}; expected at least requests.cpu, "
                "requests.memory, limits.cpu, limits.memory and pods (a quota that leaves "
                "one open does not bound the tenant)"
            )
        return self

    def hard(self) -> dict[str, str]:
        """The quota as a ResourceQuota's `spec.hard` (every value a string)."""
        return {
            key: str(value)
            for key, value in self.model_dump(by_alias=True, exclude_none=True).items()
        }


class LimitRange(_Model):
    """A LimitRange's container defaults and ceiling."""

    default_request: Quantities
    default: Quantities
    max: Quantities

    @model_validator(mode="after")
    def _ordered(self) -> LimitRange:
        for what, measure in (("cpu", cpu_millicores), ("memory", memory_bytes)):
            low, mid, high = (
                getattr(self.default_request, what),
                getattr(self.default, what),
                getattr(self.max, what),
            )
            if not measure(low) <= measure(mid) <= measure(high):
                raise ValueError(
                    f"{what}: default_request {low}, default {mid}, max {high}; expected "
                    "default_request <= default <= max"
                )
        return self


class Namespace(_Model):
    """A silo tenant's own namespace `tenant-<slug>`."""

    quota: Quota
    limit_range: LimitRange


class ServiceReplicas(_Model):
    """How many pods each of a silo tenant's services runs in environments of one profile:
    it starts at `min` and its autoscaler keeps it between `min` and `max`."""

    min: int = Field(ge=1, le=100)
    max: int = Field(ge=1, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> ServiceReplicas:
        if self.max < self.min:
            raise ValueError(f"max {self.max} is below min {self.min}; expected at least it")
        return self


class Services(_Model):
    """A silo tenant's own copy of the environment's services, in its namespace."""

    replicas: dict[Profile, ServiceReplicas] = Field(
        description="Pods per service, per environment profile (a school's own copy runs "
        "fewer than the estate's, which serve every pool tenant)."
    )

    @model_validator(mode="after")
    def _every_profile(self) -> Services:
        missing = [p.value for p in Profile if p not in self.replicas]
        if missing:
            raise ValueError(
                f"replicas has no {', '.join(missing)}; expected one entry per profile "
                f"({', '.join(p.value for p in Profile)})"
            )
        return self


_SILO_ONLY = ("key", "bucket", "database", "namespace", "services")


class TierBlueprint(_Model):
    """What one tier gives a tenant. `version` is the file's, not a key of it."""

    tier: Tier
    description: str = Field(min_length=1)
    dns: Dns
    storage: Storage
    role: Role
    key: Key | None = None
    bucket: BucketSettings | None = None
    database: Database | None = None
    namespace: Namespace | None = None
    services: Services | None = None

    _version: str = PrivateAttr(default="")

    @property
    def version(self) -> str:
        """First 12 hex digits of the sha256 of the file's text."""
        return self._version

    def stack_version(self, catalogue: Catalogue) -> str:
        """What a tenant's stack of this tier is brought to, in `catalogue`'s environment:
        the tier's version, and for a tier that runs the environment's services (silo) the
        services' catalogue too, so that a new image or service reaches every silo on the
        next rollout, not only a change of this file."""
        if self.services is None:
            return self.version
        text = f"{self.version}\0{catalogue.model_dump_json()}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:VERSION_LENGTH]

    @model_validator(mode="after")
    def _tier_shape(self) -> TierBlueprint:
        present = [name for name in _SILO_ONLY if getattr(self, name) is not None]
        if self.tier is Tier.SILO and len(present) < len(_SILO_ONLY):
            missing = [name for name in _SILO_ONLY if name not in present]
            raise ValueError(
                f"a silo tier has no {', '.join(missing)}; expected its own "
                + ", ".join(_SILO_ONLY)
            )
        if self.tier is Tier.POOL and present:
            raise ValueError(
                f"a pool tier has {', '.join(present)}; expected none: a pool tenant shares "
                "the estate's key, buckets, database and namespace"
            )
        return self


# --- what a silo's namespace must hold -------------------------------------------------------

#: A rolling update adds up to this share of a Deployment's pods (ServiceWorkload's maxSurge).
ROLLING_SURGE = 0.25

#: Pods a namespace holds besides the services': the database setup Job's.
SETUP_PODS = 1


def namespace_demand(
    services: Services, catalogue: Catalogue, profile: Profile
) -> dict[str, Decimal]:
    """What the catalogue's services take from a silo namespace at their busiest in `profile`:
    every service at its `max` replicas plus a rolling update's surge, in the quota's units
    (millicores, bytes, pods)."""
    replicas = services.replicas[profile]
    pods = replicas.max + math.ceil(replicas.max * ROLLING_SURGE)
    demand = dict.fromkeys(
        ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory"), Decimal(0)
    )
    for service in catalogue.services:
        sizes = service.resources
        demand["requests.cpu"] += pods * cpu_millicores(sizes.requests.cpu)
        demand["requests.memory"] += pods * memory_bytes(sizes.requests.memory)
        demand["limits.cpu"] += pods * cpu_millicores(sizes.limits.cpu)
        demand["limits.memory"] += pods * memory_bytes(sizes.limits.memory)
    demand["pods"] = Decimal(pods * len(catalogue.services) + SETUP_PODS)
    return demand


def quota_problem(blueprint: TierBlueprint, catalogue: Catalogue) -> str | None:
    """Why `blueprint`'s namespace quota cannot hold `catalogue`'s services in some profile
    (one message naming each profile and quota key that falls short), or None when it can.

    The Job that creates the databases is counted as a pod, not by its (small) sizes: the
    quota is meant to leave room for it, not to be cut to the millicore."""
    if blueprint.namespace is None or blueprint.services is None:
        return None
    hard = blueprint.namespace.quota.hard()
    measures = {
        "requests.cpu": cpu_millicores,
        "limits.cpu": cpu_millicores,
        "requests.memory": memory_bytes,
        "limits.memory": memory_bytes,
        "pods": Decimal,
    }
    short: list[str] = []
    for profile in Profile:
        demand = namespace_demand(blueprint.services, catalogue, profile)
        for key, measure in measures.items():
            if measure(hard[key]) < demand[key]:
                short.append(f"{profile.value}: {key} {hard[key]} < {_shown(key, demand[key])}")
    if not short:
        return None
    return (
        f"the {blueprint.tier.value} tier's namespace quota cannot hold the {catalogue.name} "
        f"blueprint's {len(catalogue.services)} services at their busiest (max replicas plus "
        f"a rolling update's surge): {'; '.join(short)}; raise namespace.quota or lower "
        "services.replicas"
    )


def _shown(key: str, value: Decimal) -> str:
    if key.endswith("cpu"):
        return f"{value.normalize():f}m needed"
    if key.endswith("memory"):
        return f"{(value / 2**20).to_integral_value(rounding='ROUND_CEILING')}Mi needed"
    return f"{value} needed"


# --- loading ------------------------------------------------------------------------------


class UnknownTierError(OspError):
    """A tier was named that osp has no blueprint for."""


def tier_source(tier: Tier) -> str:
    """How messages name a tier's file: `blueprints/tenants/<tier>.yaml`."""
    return f"blueprints/{TIERS_FOLDER}/{tier.value}.yaml"


@cache
def load_tier(tier: Tier) -> TierBlueprint:
    """The validated blueprint of `tier` (read once per process).

    UnknownTierError for a tier osp does not know; SpecError naming the file and listing every
    problem when its blueprint is invalid.
    """
    try:
        tier = Tier(tier)
    except ValueError:
        known = ", ".join(t.value for t in Tier)
        raise UnknownTierError(f"unknown tier {tier!r}; expected one of: {known}") from None
    resource = blueprints.root().joinpath(TIERS_FOLDER, f"{tier.value}.yaml")
    return parse_tier(resource, source=tier_source(tier), tier=tier)


def parse_tier(
    path: str | os.PathLike[str] | Traversable,
    *,
    source: str | None = None,
    tier: Tier | None = None,
) -> TierBlueprint:
    """Validate the tier blueprint at `path`; `tier`, when given, is the tier it must state."""
    resource = path if isinstance(path, Traversable) else Path(path)
    return parse_tier_text(
        resource.read_text(encoding="utf-8"),
        source=source if source is not None else str(path),
        tier=tier,
    )


def parse_tier_text(text: str, *, source: str, tier: Tier | None = None) -> TierBlueprint:
    """Validate the text of a tier blueprint; `source` is how messages name the file."""
    document, where = load_document(text, source)

    problems = [
        Problem(display_path(path), "key appears twice; expected each key once", line)
        for path, line in where.duplicates
    ]
    if not isinstance(document, dict):
        expected = "a mapping with tier, description, dns, storage and role"
        message = (
            f"got an empty document; expected {expected}"
            if document is None
            else got_expected(type(document).__name__, expected)
        )
        raise SpecError(source, [Problem("", message, 1).render(source)])
    stated = document.get("tier")
    if tier is not None and isinstance(stated, str) and stated != tier.value:
        problems.append(
            Problem(
                "tier",
                got_expected(stated, f"{tier.value!r}, the tier the file is named after"),
                _line(where, ("tier",)),
            )
        )
    blueprint: TierBlueprint | None = None
    try:
        blueprint = TierBlueprint.model_validate(document)
    except ValidationError as exc:
        for loc, message in from_validation_error(exc, TierBlueprint):
            path = tuple(part for part in loc if part != "[key]")
            problems.append(Problem(display_path(path), message, _line(where, path)))
    if problems or blueprint is None:
        problems.sort(key=lambda p: p.line or 0)
        raise SpecError(source, [p.render(source) for p in problems])
    blueprint._version = hashlib.sha256(text.encode("utf-8")).hexdigest()[:VERSION_LENGTH]
    return blueprint


def _line(where: Positions, path: tuple[str | int, ...]) -> int | None:
    """The line of `path`, or of its nearest ancestor in the file (a missing key's mapping)."""
    for end in range(len(path), 0, -1):
        line = where.line(path[:end])
        if line is not None:
            return line
    return None


def tenant_version(tier: Tier, spec: EnvironmentSpec) -> str:
    """The version a tenant of `tier` is brought to in `spec`'s environment (what `osp tenant
    rollout` compares with each tenant's recorded version)."""
    from osp.platform.catalogue import load_catalogue

    return load_tier(tier).stack_version(load_catalogue(spec.blueprint, spec.library))
