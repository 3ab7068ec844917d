"""The tenant: its request, its record, its lifecycle, and the errors about it. Pure: no I/O.

    request = TenantRequest(slug="springfield", name="Springfield Elementary", tier="pool",
                            admin_email="it@springfield.example.org")
    tenant = new_tenant(request, actor="al@laptop", now=now)              # provisioning, v1
    tenant = transition(tenant, TenantState.ACTIVE, actor="al@laptop", reason="provisioned",
                        now=later)                                          # active, v2

Every change gives a new `Tenant` whose `version` is one more than the last, so a registry
can refuse a writer that read an older one (`StaleTenantError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from osp.platform import limits
from osp.platform.errors import OspError
from osp.platform.validation import InvalidArguments, Problems

#: The version of the record's dict form (`to_dict`); `from_dict` refuses any other.
RECORD_SCHEMA = 1


class Tier(StrEnum):
    """How a tenant is isolated (the SaaS pool / silo model)."""

    POOL = "pool"
    """Shares the estate's services, namespace and data stores."""
    SILO = "silo"
    """Also gets its own namespace, database, bucket and KMS key."""


class TenantState(StrEnum):
    """Where a tenant is in its life; `TRANSITIONS` says where it may go next."""

    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    OFFBOARDING = "offboarding"
    DELETED = "deleted"
    FAILED = "failed"

    @property
    def closed(self) -> bool:
        """The tenant's traffic is refused and a silo's services run no pods: it is
        suspended, or on its way out (an offboarding's release must not serve it again)."""
        return self in (TenantState.SUSPENDED, TenantState.OFFBOARDING)


#: The lifecycle, the one place it is stated: each state and the states it may become.
#: `failed` is left by resuming (→ provisioning) or by giving up (→ offboarding).
TRANSITIONS: Mapping[TenantState, tuple[TenantState, ...]] = MappingProxyType(
    {
        TenantState.PROVISIONING: (TenantState.ACTIVE, TenantState.FAILED),
        TenantState.ACTIVE: (TenantState.SUSPENDED, TenantState.OFFBOARDING),
        TenantState.SUSPENDED: (TenantState.ACTIVE, TenantState.OFFBOARDING),
        TenantState.OFFBOARDING: (TenantState.DELETED, TenantState.FAILED),
        TenantState.FAILED: (TenantState.PROVISIONING, TenantState.OFFBOARDING),
        TenantState.DELETED: (),
    }
)

# --- The slug ----------------------------------------------------------------------------

SLUG_MIN_LENGTH = 3
SLUG_MAX_LENGTH = 32

#: Names a tenant may not take, because the estate answers them itself under its domain
#: (tests/platform/tenancy/test_reserved_slugs.py checks every name the estate plans), or
#: because users and mail clients expect the operator to own them.
RESERVED_SLUGS: frozenset[str] = frozenset(
    {
        # The estate's own names under the domain: the API, its origin, the portals of the
        # bundled blueprints, the MAIL FROM domain.
        "api", "api-origin", "www", "student", "admin", "school", "mail",
        # The bundled blueprints' delivered buckets (media.<domain>, CloudFront).
        "media",
        # Names the estate is expected to grow or that point at the operator.
        "static", "cdn", "status", "assets", "auth", "login", "sso", "app", "docs", "help",
        "support", "billing",
        # Other environments live under the production domain (dev.osp.example.com).
        "dev", "staging", "prod",
        # Looked up by mail clients and servers: a tenant holding them could capture mail.
        "smtp", "imap", "pop", "autoconfig", "autodiscover", "mta-sts",
    }
)  # fmt: skip

#: The shape of a slug, reserved names aside: records keep being readable under it even if
#: a name becomes reserved later.
SLUG_FORMAT = limits.pattern(
    rf"(?=.{{{SLUG_MIN_LENGTH},{SLUG_MAX_LENGTH}}}\Z)[a-z][a-z0-9]*(?:-[a-z0-9]+)*",
    f"a tenant slug: a DNS label of {SLUG_MIN_LENGTH}-{SLUG_MAX_LENGTH} lower-case letters, "
    "digits and single hyphens, starting with a letter and not ending with a hyphen, "
    "such as springfield-elementary",
)
_RESERVED_EXPECTED = (
    "a name the estate does not use itself (reserved: " + ", ".join(sorted(RESERVED_SLUGS)) + ")"
)

#: A slug a new tenant may take: the shape, and not reserved.
SLUG = limits.Constraint(
    f"{SLUG_FORMAT.expected}, and {_RESERVED_EXPECTED}",
    lambda v: SLUG_FORMAT.accepts(v) and v not in RESERVED_SLUGS,
)

NAME_MAX_LENGTH = 128
#: A display name: printable, not blank, at most NAME_MAX_LENGTH characters.
TENANT_NAME = limits.Constraint(
    f"a display name of 1-{NAME_MAX_LENGTH} printable characters, such as 'Springfield "
    "Elementary School'",
    lambda v: isinstance(v, str) and bool(v.strip()) and len(v) <= NAME_MAX_LENGTH
    and v.isprintable(),
)  # fmt: skip
TIER = limits.one_of(tuple(Tier))

# --- Errors ------------------------------------------------------------------------------


class TenantInputError(InvalidArguments):
    """A tenant request (or a transition's reason) is not valid; `problems` lists each one.

    Nothing is written when it is raised: validation happens before any registry call.
    """


class TenantStateError(OspError):
    """A transition the lifecycle does not allow from the tenant's current state."""

    def __init__(self, slug: str, current: TenantState, requested: TenantState):
        self.slug = slug
        self.current = current
        self.requested = requested
        allowed = TRANSITIONS[current]
        if allowed:
            options = " or ".join(state.value for state in allowed)
            can = f"from {current.value} it can only become {options}"
        else:
            can = f"{current.value} is final"
        super().__init__(
            f"tenant {slug} is {current.value}: it cannot become {requested.value}; {can}"
        )


class TenantExistsError(OspError):
    """A create found the slug taken; `existing` is the record that holds it."""

    def __init__(self, existing: Tenant):
        self.existing = existing
        super().__init__(f"tenant {existing.slug} already exists: {existing.describe_state()}")


class TenantConflictError(OspError):
    """A request for an existing slug differs from the registered tenant."""

    def __init__(self, existing: Tenant, found: list[Difference]):
        self.existing = existing
        self.differences = found
        lines = "\n".join(f"  {difference}" for difference in found)
        super().__init__(
            f"tenant {existing.slug} already exists with different arguments "
            f"({existing.describe_state()}):\n{lines}"
        )


class StaleTenantError(OspError):
    """An update was based on an older version of the record than the registry holds."""

    def __init__(self, slug: str, expected: int, actual: int):
        self.slug = slug
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"tenant {slug} changed while this command ran: it was read at version {expected} "
            f"and the registry now holds version {actual}; run the command again"
        )


class TenantRegistryError(OspError):
    """The registry's storage cannot be used safely (unreadable record, loose permissions)."""


class UnknownTenantError(OspError):
    """A tenant was named that the registry does not hold."""

    def __init__(self, slug: str, where: str):
        self.slug = slug
        super().__init__(
            f"no tenant {slug} in {where}; `osp tenant list --env ENV` shows the tenants"
        )


# --- The records -------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """One entry of a tenant's history: who moved it from which state to which, and why."""

    at: datetime
    actor: str
    """The AWS caller identity (an ARN), or the local user (`user@host`) offline."""
    from_state: TenantState | None
    """None for the registration that created the tenant."""
    to_state: TenantState
    reason: str


@dataclass(frozen=True)
class Failure:
    """Why a tenant is `failed`, and the exact command that picks it up again."""

    reason: str
    resume_command: str


class RolloutOutcome(StrEnum):
    """How the last rollout of a tenant's stack ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class RolloutResult:
    """The last time a rollout reached this tenant's stack."""

    at: datetime
    blueprint_version: str
    """The tier blueprint version the rollout applied (or tried to)."""
    outcome: RolloutOutcome
    detail: str = ""
    """The failure's reason, or a summary of the changes."""


@dataclass(frozen=True)
class TenantRequest:
    """What onboarding a tenant asks for, checked as a whole on construction.

    Every problem is collected and one `TenantInputError` names each argument (`slug`,
    `--name`, `--tier`, `--admin-email`, `--domain`), the value and what is allowed. `tier`
    may be given as its string (`"pool"`); it is kept as a `Tier`. Surrounding blanks of
    `name` are dropped.
    """

    slug: str
    name: str
    tier: Tier
    admin_email: str
    domain: str | None = None
    """A custom domain the school brings, besides `<slug>.<estate domain>`."""

    def __post_init__(self) -> None:
        subject = self.slug if isinstance(self.slug, str) and self.slug else repr(self.slug)
        check = Problems("tenant", subject)
        if check.against(SLUG_FORMAT, "slug", self.slug):
            check.check(self.slug not in RESERVED_SLUGS, "slug", self.slug, _RESERVED_EXPECTED)
        check.against(TENANT_NAME, "--name", self.name)
        check.against(TIER, "--tier", self.tier)
        check.against(limits.EMAIL_ADDRESS, "--admin-email", self.admin_email)
        if self.domain is not None:
            check.against(limits.DOMAIN_NAME, "--domain", self.domain)
        if check:
            raise TenantInputError(check.found)
        object.__setattr__(self, "tier", Tier(self.tier))
        object.__setattr__(self, "name", self.name.strip())


@dataclass(frozen=True)
class Tenant:
    """A school or district: its registered record. Build with `new_tenant`, change with
    `transition` / `record_rollout`; each change is a new Tenant one version up."""

    slug: str
    name: str
    tier: Tier
    admin_email: str
    domain: str | None
    state: TenantState
    version: int
    """1 at registration, one more with every change: the registry's optimistic lock."""
    created_at: datetime
    updated_at: datetime
    history: tuple[Transition, ...]
    """Every transition, oldest first; the first is the registration."""
    failure: Failure | None = None
    """Set exactly when `state` is failed."""
    blueprint_version: str | None = None
    """The tier blueprint version the tenant's stack was last brought to; None before."""
    last_rollout: RolloutResult | None = field(default=None)

    def describe_state(self) -> str:
        """`provisioning since 2026-05-09 10:00:00 UTC, by al@laptop (registered …)`."""
        last = self.history[-1]
        text = f"{self.state.value} since {_shown(last.at)}, by {last.actor}"
        if len(self.history) > 1:
            first = self.history[0]
            text += f" (registered {_shown(first.at)} by {first.actor})"
        if self.failure is not None:
            text += f": {self.failure.reason}; resume with `{self.failure.resume_command}`"
        return text


@dataclass(frozen=True)
class Difference:
    """One argument in which a request differs from the registered tenant."""

    argument: str
    registered: object
    requested: object

    def __str__(self) -> str:
        return f"{self.argument}: registered {self.registered!r}, requested {self.requested!r}"


# --- The lifecycle -----------------------------------------------------------------------


def new_tenant(request: TenantRequest, *, actor: str, now: datetime) -> Tenant:
    """The tenant `request` registers: provisioning, version 1, its registration in history."""
    at = _utc(now)
    _require_actor(actor)
    return Tenant(
        slug=request.slug,
        name=request.name,
        tier=request.tier,
        admin_email=request.admin_email,
        domain=request.domain,
        state=TenantState.PROVISIONING,
        version=1,
        created_at=at,
        updated_at=at,
        history=(Transition(at, actor, None, TenantState.PROVISIONING, "registered"),),
    )


def allowed(state: TenantState) -> tuple[TenantState, ...]:
    """The states a tenant in `state` may become."""
    return TRANSITIONS[state]


def transition(
    tenant: Tenant,
    to: TenantState,
    *,
    actor: str,
    reason: str,
    now: datetime,
    failure: Failure | None = None,
) -> Tenant:
    """`tenant` moved to `to`, one version up, the move appended to its history.

    Raises TenantStateError when the lifecycle does not allow the move and TenantInputError
    when `reason` is blank. `failure` is required for, and only for, a move to failed;
    leaving failed clears it.
    """
    to = TenantState(to)
    if to not in TRANSITIONS[tenant.state]:
        raise TenantStateError(tenant.slug, tenant.state, to)
    if not isinstance(reason, str) or not reason.strip():
        raise TenantInputError(
            [f"tenant {tenant.slug}: --reason: got {reason!r}; expected a non-blank reason"]
        )
    if (to is TenantState.FAILED) != (failure is not None):
        raise ValueError(f"a Failure is given with, and only with, a move to failed (to {to})")
    at = _utc(now)
    _require_actor(actor)
    return replace(
        tenant,
        state=to,
        version=tenant.version + 1,
        updated_at=at,
        history=(*tenant.history, Transition(at, actor, tenant.state, to, reason.strip())),
        failure=failure,
    )


def record_rollout(tenant: Tenant, result: RolloutResult) -> Tenant:
    """`tenant` after a rollout reached it, one version up; a success moves its
    `blueprint_version` to the one applied."""
    return replace(
        tenant,
        version=tenant.version + 1,
        updated_at=_utc(result.at),
        last_rollout=replace(result, at=_utc(result.at)),
        blueprint_version=(
            result.blueprint_version
            if result.outcome is RolloutOutcome.SUCCEEDED
            else tenant.blueprint_version
        ),
    )


def require_next_version(tenant: Tenant, expected_version: int) -> None:
    """What every registry checks before an update: `tenant` is the one change after
    `expected_version`. A write that kept the version would let a second stale writer pass."""
    if tenant.version != expected_version + 1:
        raise ValueError(
            f"tenant {tenant.slug}: an update to version {tenant.version} cannot be based on "
            f"version {expected_version}; expected version {expected_version + 1} (use "
            "transition or record_rollout)"
        )


def differences(existing: Tenant, request: TenantRequest) -> list[Difference]:
    """The arguments in which `request` asks for something other than `existing` holds
    (empty: the request is a repeat, and onboarding may resume)."""
    pairs = (
        ("--name", existing.name, request.name),
        ("--tier", existing.tier, request.tier),
        ("--admin-email", existing.admin_email, request.admin_email),
        ("--domain", existing.domain, request.domain),
    )
    return [
        Difference(argument, _plain(registered), _plain(requested))
        for argument, registered, requested in pairs
        if registered != requested
    ]


# --- The dict form (JSON file, DynamoDB item) --------------------------------------------


def to_dict(tenant: Tenant) -> dict[str, Any]:
    """The record as plain data: strings, one int (`version`), None, lists and dicts; times
    as ISO-8601 UTC (`2026-05-09T10:00:00.000000Z`)."""
    return {
        "schema": RECORD_SCHEMA,
        "slug": tenant.slug,
        "name": tenant.name,
        "tier": tenant.tier.value,
        "admin_email": tenant.admin_email,
        "domain": tenant.domain,
        "state": tenant.state.value,
        "version": tenant.version,
        "created_at": _stamp(tenant.created_at),
        "updated_at": _stamp(tenant.updated_at),
        "history": [
            {
                "at": _stamp(t.at),
                "actor": t.actor,
                "from_state": t.from_state.value if t.from_state is not None else None,
                "to_state": t.to_state.value,
                "reason": t.reason,
            }
            for t in tenant.history
        ],
        "failure": (
            {"reason": tenant.failure.reason, "resume_command": tenant.failure.resume_command}
            if tenant.failure is not None
            else None
        ),
        "blueprint_version": tenant.blueprint_version,
        "last_rollout": (
            {
                "at": _stamp(tenant.last_rollout.at),
                "blueprint_version": tenant.last_rollout.blueprint_version,
                "outcome": tenant.last_rollout.outcome.value,
                "detail": tenant.last_rollout.detail,
            }
            if tenant.last_rollout is not None
            else None
        ),
    }


def from_dict(data: Mapping[str, Any]) -> Tenant:
    """The Tenant `to_dict` gave; ValueError (naming the field) when `data` is not one."""
    try:
        if data.get("schema") != RECORD_SCHEMA:
            raise ValueError(f"schema: got {data.get('schema')!r}; expected {RECORD_SCHEMA}")
        failure = data.get("failure")
        rollout = data.get("last_rollout")
        return Tenant(
            slug=_slug(data["slug"]),
            name=data["name"],
            tier=Tier(data["tier"]),
            admin_email=data["admin_email"],
            domain=data.get("domain"),
            state=TenantState(data["state"]),
            version=int(data["version"]),
            created_at=_parse_time(data["created_at"]),
            updated_at=_parse_time(data["updated_at"]),
            history=tuple(
                Transition(
                    at=_parse_time(t["at"]),
                    actor=t["actor"],
                    from_state=TenantState(t["from_state"]) if t["from_state"] else None,
                    to_state=TenantState(t["to_state"]),
                    reason=t["reason"],
                )
                for t in data["history"]
            ),
            failure=Failure(failure["reason"], failure["resume_command"]) if failure else None,
            blueprint_version=data.get("blueprint_version"),
            last_rollout=(
                RolloutResult(
                    at=_parse_time(rollout["at"]),
                    blueprint_version=rollout["blueprint_version"],
                    outcome=RolloutOutcome(rollout["outcome"]),
                    detail=rollout.get("detail", ""),
                )
                if rollout
                else None
            ),
        )
    except KeyError as missing:
        raise ValueError(f"a tenant record needs {missing.args[0]!r}") from None


# --- Helpers -----------------------------------------------------------------------------


def _slug(value: object) -> str:
    if not SLUG_FORMAT.accepts(value):
        raise ValueError(f"slug: got {value!r}; expected {SLUG_FORMAT.expected}")
    return value  # type: ignore[return-value]


def _utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive time is a bug (whose clock would it be?)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a time with its time zone is needed, got the naive {moment!r}")
    return moment.astimezone(UTC)


def _require_actor(actor: str) -> None:
    if not isinstance(actor, str) or not actor.strip():
        raise ValueError(f"a transition needs its actor (a caller identity), got {actor!r}")


def _stamp(moment: datetime) -> str:
    return _utc(moment).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _parse_time(text: str) -> datetime:
    return _utc(datetime.fromisoformat(text))


def _shown(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC")


def _plain(value: object) -> object:
    """Enum members as their value, so a Difference reads `'pool'`, not `<Tier.POOL>`."""
    return value.value if isinstance(value, StrEnum) else value
