"""The logic behind every `osp tenant` command: registry and stack, kept in step.

Pure orchestration: the registry (`TenantRegistry`), the provisioner (`Provisioner`), who is
acting and the clock are passed in, so the same code runs offline (a folder and the offline
engine), against the estate's DynamoDB table, and under test (a fake provisioner, a fixed
clock).

    outcome = create(request, environment="prod", registry=registry, provisioner=provisioner,
                     actor="al@laptop")
    outcome.tenant.state          # active
    tenant_urls(outcome.tenant, spec.domain)

The record leads, the stack follows: a tenant is registered `provisioning` before its stack
is touched, and a stack that could not be brought up leaves the tenant `failed`, with the
reason and the exact command that resumes it. No step leaves a stack without its record.
"""

from __future__ import annotations

import builtins
import shlex
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from osp.platform.errors import OspError
from osp.platform.tenancy.isolation import Finding, verify
from osp.platform.tenancy.model import (
    TRANSITIONS,
    Failure,
    StaleTenantError,
    Tenant,
    TenantConflictError,
    TenantExistsError,
    TenantRequest,
    TenantState,
    TenantStateError,
    Tier,
    UnknownTenantError,
    differences,
    new_tenant,
    transition,
)
from osp.platform.tenancy.provisioning import Provisioned, Provisioner
from osp.platform.tenancy.registry import DynamoDbRegistry, TenantRegistry
from osp.platform.validation import Problems

Clock = Callable[[], datetime]

#: How long a `provisioning` record counts as someone's run in progress. A repeat of the
#: create within it is refused (TenantExistsError, naming who); after it, the run is taken to
#: have died (a killed process, a lost machine) and the repeat resumes. An interrupted run
#: (Ctrl-C) marks its tenant failed itself, so the lease only matters after a hard kill.
PROVISIONING_LEASE = timedelta(hours=1)

#: The states a create may find a slug in and carry on (no-op, wait, or resume).
_CREATABLE = (TenantState.ACTIVE, TenantState.PROVISIONING, TenantState.FAILED)


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


class CreateResult(StrEnum):
    """What a create did."""

    CREATED = "created"
    """A new tenant, registered and provisioned."""
    RESUMED = "resumed"
    """A tenant left provisioning or failed by an earlier run, now provisioned."""
    UNCHANGED = "unchanged"
    """An identical repeat of an active tenant: nothing to do."""
    PLANNED = "planned"
    """--dry-run: the plan, nothing written."""


@dataclass(frozen=True)
class CreateOutcome:
    """How `create` ended (failures raise instead)."""

    tenant: Tenant
    """The record as registered now; with --dry-run, the record a create would write."""
    result: CreateResult
    provisioned: Provisioned | None = None
    """What the provisioner did (None when nothing was provisioned)."""


class TenantProvisioningError(OspError):
    """A tenant's stack could not be brought to its tier (or destroyed); the tenant is
    recorded `failed`, with the command that resumes it."""

    def __init__(self, tenant: Tenant, action: str, cause: str):
        self.tenant = tenant
        resume = tenant.failure.resume_command if tenant.failure else ""
        super().__init__(
            f"tenant {tenant.slug}: {action} failed: {cause}\n"
            f"The tenant is recorded as failed; resume with: {resume}"
        )


class NotSuspendedError(TenantStateError):
    """A resume of a tenant still being onboarded (only a finished create makes it active)."""

    def __init__(self, tenant: Tenant):
        self.slug = tenant.slug
        self.current = tenant.state
        self.requested = TenantState.ACTIVE
        OspError.__init__(
            self,
            f"tenant {tenant.slug} is {tenant.state.value}, not suspended: resume brings back "
            "a suspended tenant; an onboarding finishes by running its create again",
        )


class TenantStackError(OspError):
    """A suspend or resume was recorded, but the tenant's stack was not brought to it."""


# --- commands ------------------------------------------------------------------------------


def create_command(
    environment: str, request: TenantRequest | Tenant, options: Sequence[str] = ()
) -> str:
    """The exact `osp tenant create` that registers (or resumes) this tenant; `options`: the
    ones the command must repeat (`--offline`)."""
    words = [
        "osp", "tenant", "create", request.slug, "--env", environment,
        "--name", request.name, "--tier", Tier(request.tier).value,
        "--admin-email", request.admin_email,
    ]  # fmt: skip
    if request.domain is not None:
        words += ["--domain", request.domain]
    return shlex.join([*words, *options])


def delete_command(
    environment: str, slug: str, *, delete_data: bool, options: Sequence[str] = ()
) -> str:
    """The exact `osp tenant delete` that offboards (or resumes offboarding) this tenant."""
    words = ["osp", "tenant", "delete", slug, "--env", environment]
    return shlex.join([*words, *(["--delete-data"] if delete_data else []), *options])


def tenant_urls(tenant: Tenant, domain: str) -> list[str]:
    """Where the tenant's school answers: `https://<slug>.<domain>` (the estate's domain,
    under its wildcard certificate), then its own domain if it brought one."""
    urls = [f"https://{tenant.slug}.{domain}"]
    if tenant.domain is not None:
        urls.append(f"https://{tenant.domain}")
    return urls


# --- create --------------------------------------------------------------------------------


def create(
    request: TenantRequest,
    *,
    environment: str,
    registry: TenantRegistry,
    provisioner: Provisioner,
    actor: str,
    now: Clock = utc_now,
    dry_run: bool = False,
    lease: timedelta = PROVISIONING_LEASE,
    command_options: Sequence[str] = (),
    estate_domain: str | None = None,
) -> CreateOutcome:
    """Register `request` as `provisioning`, provision its stack, mark it `active`.

    `request` was validated when it was built (TenantRequest refuses bad input before any
    registry call). An identical repeat resumes a tenant left `provisioning` (after `lease`)
    or `failed`, and is a no-op for an `active` one; different arguments for a registered slug
    raise TenantConflictError naming each difference; losing a race to another create (or
    repeating one still within its lease) raises TenantExistsError naming who is provisioning
    it. A provisioning failure marks the tenant `failed` with the reason and the command that
    resumes, then raises TenantProvisioningError.

    `dry_run`: the plan of the tenant's stack (give an offline provisioner), nothing written.
    `command_options`: what the resume command must repeat besides the request (the CLI's
    `--offline`).
    `estate_domain`: the environment's domain. A custom domain may not be it or a name under
    it (those are the estate's and the other tenants' names: taking one would route or
    suspend someone else's traffic), nor a domain another tenant already has.
    """
    resume = create_command(environment, request, command_options)
    if request.domain is not None and estate_domain is not None:
        _require_own_domain(request, estate_domain)
    existing = registry.get(request.slug)
    if existing is not None:
        _require_same(existing, request)
        if existing.state not in _CREATABLE:  # suspended, offboarding, deleted
            raise TenantStateError(existing.slug, existing.state, TenantState.PROVISIONING)
    if request.domain is not None and existing is None:
        _require_unclaimed_domain(request, registry)

    if dry_run:
        tenant = existing or new_tenant(request, actor=actor, now=now())
        return CreateOutcome(tenant, CreateResult.PLANNED, provisioner.apply(tenant))

    if existing is None:
        tenant = new_tenant(request, actor=actor, now=now())
        try:
            registry.create(tenant)
        except TenantExistsError as lost:  # another create registered it first
            _require_same(lost.existing, request)
            raise
        return _provision(tenant, CreateResult.CREATED, resume, registry, provisioner, actor, now)

    if existing.state is TenantState.ACTIVE:
        return CreateOutcome(existing, CreateResult.UNCHANGED)
    if existing.state is TenantState.PROVISIONING:
        if now() - existing.updated_at < lease:
            raise TenantExistsError(existing)  # someone's run is (likely) still going
        return _provision(existing, CreateResult.RESUMED, resume, registry, provisioner, actor, now)
    # failed: claim it back (failed → provisioning, a conditional write), then provision.
    claimed = transition(
        existing, TenantState.PROVISIONING, actor=actor, reason="resumed", now=now()
    )
    _claim(registry, claimed, existing)
    return _provision(claimed, CreateResult.RESUMED, resume, registry, provisioner, actor, now)


def _require_own_domain(request: TenantRequest, estate_domain: str) -> None:
    domain, estate = str(request.domain).lower(), estate_domain.lower()
    if domain == estate or domain.endswith(f".{estate}"):
        check = Problems("tenant create", request.slug)
        check.add(
            "--domain",
            request.domain,
            f"a domain of the school's own, not {estate} or a name under it (the estate's "
            f"and its tenants' names; the tenant already answers at {request.slug}.{estate})",
        )
        check.raise_if_any()


def _require_unclaimed_domain(request: TenantRequest, registry: TenantRegistry) -> None:
    """Refuse a custom domain another tenant holds (deleted tenants hold none). A check
    before the write, not a conditional one: two creates racing for one domain in the same
    moment could both pass it."""
    for other in registry.list():
        if other.domain == request.domain and other.state is not TenantState.DELETED:
            check = Problems("tenant create", request.slug)
            check.add(
                "--domain",
                request.domain,
                f"a domain no other tenant has (tenant {other.slug} has it)",
            )
            check.raise_if_any()


def _require_same(existing: Tenant, request: TenantRequest) -> None:
    found = differences(existing, request)
    if found:
        raise TenantConflictError(existing, found)


def _claim(registry: TenantRegistry, claimed: Tenant, read: Tenant) -> None:
    """Write `claimed` over `read`; a concurrent claimer that won first is named."""
    try:
        registry.update(claimed, expected_version=read.version)
    except StaleTenantError:
        current = registry.get(read.slug)
        if current is not None and current.state is TenantState.PROVISIONING:
            raise TenantExistsError(current) from None
        raise


def _provision(
    tenant: Tenant,
    result: CreateResult,
    resume: str,
    registry: TenantRegistry,
    provisioner: Provisioner,
    actor: str,
    now: Clock,
) -> CreateOutcome:
    try:
        provisioned = provisioner.apply(tenant)
    except (Exception, KeyboardInterrupt) as exc:
        failed = _fail(tenant, exc, resume, registry, actor, now)
        if isinstance(exc, OspError):
            raise TenantProvisioningError(failed, "provisioning", str(exc)) from exc
        raise  # a bug keeps its traceback (and Ctrl-C stays Ctrl-C); the record is failed
    active = transition(tenant, TenantState.ACTIVE, actor=actor, reason="provisioned", now=now())
    active = replace(active, blueprint_version=provisioned.blueprint_version)
    registry.update(active, expected_version=tenant.version)
    return CreateOutcome(active, result, provisioned)


def _fail(
    tenant: Tenant,
    exc: BaseException,
    resume: str,
    registry: TenantRegistry,
    actor: str,
    now: Clock,
) -> Tenant:
    reason = str(exc) if isinstance(exc, OspError) else f"{type(exc).__name__}: {exc}"
    if isinstance(exc, KeyboardInterrupt):
        reason = "interrupted"
    reason = reason.strip() or type(exc).__name__
    failed = transition(
        tenant,
        TenantState.FAILED,
        actor=actor,
        reason=reason,
        now=now(),
        failure=Failure(reason=reason, resume_command=resume),
    )
    registry.update(failed, expected_version=tenant.version)
    return failed


# --- suspend, resume -----------------------------------------------------------------------


def suspend(
    slug: str,
    reason: str,
    *,
    environment: str,
    registry: TenantRegistry,
    provisioner: Provisioner,
    actor: str,
    now: Clock = utc_now,
    command_options: Sequence[str] = (),
) -> Tenant:
    """Suspend an active tenant: recorded `suspended`, then its stack re-applied with that
    state (the tenant program marks its configuration suspended and closes a silo's
    namespace to the load balancer). Repeating it on a suspended tenant re-applies the stack
    only (the way to finish a suspension whose stack update failed)."""
    return _set_running(
        slug, reason, TenantState.SUSPENDED, "suspend", environment, registry, provisioner,
        actor, now, command_options,
    )  # fmt: skip


def resume(
    slug: str,
    reason: str,
    *,
    environment: str,
    registry: TenantRegistry,
    provisioner: Provisioner,
    actor: str,
    now: Clock = utc_now,
    command_options: Sequence[str] = (),
) -> Tenant:
    """Bring a suspended tenant back: recorded `active`, then its stack re-applied. Repeating
    it on an active tenant re-applies the stack only."""
    return _set_running(
        slug, reason, TenantState.ACTIVE, "resume", environment, registry, provisioner, actor,
        now, command_options,
    )  # fmt: skip


def _set_running(
    slug: str,
    reason: str,
    to: TenantState,
    verb: str,
    environment: str,
    registry: TenantRegistry,
    provisioner: Provisioner,
    actor: str,
    now: Clock,
    command_options: Sequence[str],
) -> Tenant:
    tenant = _require(registry, slug, environment)
    if to is TenantState.ACTIVE and tenant.state is TenantState.PROVISIONING:
        # The lifecycle lets provisioning become active, but only a finished create may.
        raise NotSuspendedError(tenant)
    if tenant.state is not to:
        moved = transition(tenant, to, actor=actor, reason=reason, now=now())
        registry.update(moved, expected_version=tenant.version)
        tenant = moved
    try:
        provisioner.apply(tenant)
    except OspError as exc:
        again = shlex.join(
            [
                "osp",
                "tenant",
                verb,
                slug,
                "--env",
                environment,
                "--reason",
                reason,
                *command_options,
            ]
        )
        raise TenantStackError(
            f"tenant {slug} is recorded {to.value}, but its stack was not updated: {exc}\n"
            f"Run it again to finish: {again}"
        ) from exc
    return tenant


# --- delete --------------------------------------------------------------------------------


def delete(
    slug: str,
    *,
    delete_data: bool,
    environment: str,
    registry: TenantRegistry,
    provisioner: Provisioner,
    actor: str,
    now: Clock = utc_now,
    command_options: Sequence[str] = (),
) -> Tenant:
    """Offboard a tenant: `offboarding`, its stack destroyed (data stores keep a final
    snapshot; a silo's bucket is emptied only with `delete_data`), then `deleted`, the record
    kept with its history. A failure leaves it `failed` with the command that resumes."""
    tenant = deletable(slug, environment=environment, registry=registry)
    reason = "offboarded, data deleted" if delete_data else "offboarded"
    if tenant.state is not TenantState.OFFBOARDING:  # an interrupted offboarding continues
        offboarding = transition(
            tenant, TenantState.OFFBOARDING, actor=actor, reason=reason, now=now()
        )
        registry.update(offboarding, expected_version=tenant.version)
        tenant = offboarding
    try:
        provisioner.destroy(tenant, delete_data=delete_data)
    except (Exception, KeyboardInterrupt) as exc:
        resume = delete_command(environment, slug, delete_data=delete_data, options=command_options)
        failed = _fail(tenant, exc, resume, registry, actor, now)
        if isinstance(exc, OspError):
            raise TenantProvisioningError(failed, "offboarding", str(exc)) from exc
        raise
    deleted = transition(tenant, TenantState.DELETED, actor=actor, reason=reason, now=now())
    registry.update(deleted, expected_version=tenant.version)
    return deleted


# --- the registry of an environment ------------------------------------------------------

#: The environment stack's output naming its tenants table (stacks/estate.py exports it).
TENANTS_TABLE_OUTPUT = "tenantsTable"


class NoTenantsTableError(OspError):
    """The environment's stack has no tenants table (not deployed, or deployed before it)."""


def environment_registry(
    environment: str, outputs: Mapping[str, Any], *, region: str, client: Any = None
) -> DynamoDbRegistry:
    """The DynamoDB registry an environment's stack outputs name (`tenantsTable`), through
    `client` (default: a boto3 DynamoDB client in `region`)."""
    table = outputs.get(TENANTS_TABLE_OUTPUT)
    table = getattr(table, "value", table)  # the automation layer's Output, or a plain value
    if not isinstance(table, str) or not table:
        raise NoTenantsTableError(
            f"the {environment} stack has no {TENANTS_TABLE_OUTPUT} output, so there is no "
            f"tenant registry to use: run `osp up --env {environment}` first, or pass "
            "--offline to use the local one"
        )
    if client is None:
        import boto3

        client = boto3.client("dynamodb", region_name=region)
    return DynamoDbRegistry(table, client)


def deletable(slug: str, *, environment: str, registry: TenantRegistry) -> Tenant:
    """The tenant `delete` would offboard, checked before anyone is asked to confirm:
    UnknownTenantError, or TenantStateError when its state cannot be offboarded."""
    tenant = _require(registry, slug, environment)
    # An offboarding tenant is one whose offboarding was interrupted: delete continues it.
    offboarding = TenantState.OFFBOARDING
    if tenant.state is not offboarding and offboarding not in TRANSITIONS[tenant.state]:
        raise TenantStateError(tenant.slug, tenant.state, offboarding)
    return tenant


# --- reading -------------------------------------------------------------------------------


def show(slug: str, *, environment: str, registry: TenantRegistry) -> Tenant:
    """The registered tenant; UnknownTenantError when there is none."""
    return _require(registry, slug, environment)


@dataclass(frozen=True)
class Described:
    """A tenant's record and what its stack exports (None: it has no stack)."""

    tenant: Tenant
    outputs: Mapping[str, Any] | None


def describe(
    slug: str, *, environment: str, registry: TenantRegistry, provisioner: Provisioner
) -> Described:
    """The registered tenant and its stack's outputs (a deleted tenant has no stack)."""
    tenant = _require(registry, slug, environment)
    if tenant.state is TenantState.DELETED:
        return Described(tenant, None)
    return Described(tenant, provisioner.outputs(tenant))


def list_tenants(
    *,
    registry: TenantRegistry,
    state: TenantState | str | None = None,
    tier: Tier | str | None = None,
) -> builtins.list[Tenant]:
    """The tenants in `state` and of `tier` (None: any), sorted by slug."""
    return registry.list(
        state=TenantState(state) if state is not None else None,
        tier=Tier(tier) if tier is not None else None,
    )


@dataclass(frozen=True)
class IsolationReport:
    """What `verify_isolation` looked at and what it found."""

    tenants: tuple[str, ...]
    findings: tuple[Finding, ...]

    @property
    def isolated(self) -> bool:
        return not self.findings


def verify_isolation(
    slug: str | None,
    *,
    environment: str,
    registry: TenantRegistry,
    provisioner: Provisioner,
    shareable_arns: Collection[str] | None = None,
) -> IsolationReport:
    """Plan the stacks of every tenant that has one (not deleted) and prove from those plans
    that none reaches beyond its own resources (isolation.verify). With `slug`, the findings
    of that tenant's own stack only; the others are planned all the same, since a leak is
    found by comparing with its victim's resources.
    `shareable_arns`: what the environment lets tenants share (isolation.shareable).
    """
    wanted = _require(registry, slug, environment) if slug is not None else None
    tenants = [t for t in registry.list() if t.state is not TenantState.DELETED]
    if wanted is not None and wanted.state is TenantState.DELETED:
        raise TenantStateError(wanted.slug, wanted.state, TenantState.ACTIVE)
    plans = {t.slug: provisioner.plan(t) for t in tenants}
    findings = verify(plans, shareable_arns=shareable_arns)
    if wanted is not None:
        findings = [f for f in findings if f.tenant == wanted.slug]
    return IsolationReport(tuple(sorted(plans)), tuple(findings))


def _require(registry: TenantRegistry, slug: str, environment: str) -> Tenant:
    tenant = registry.get(slug)
    if tenant is None:
        raise UnknownTenantError(slug, f"the tenant registry of {environment}")
    return tenant
