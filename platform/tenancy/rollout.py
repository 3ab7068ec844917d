"""Bring every tenant stack to its tier's current blueprint: `osp tenant rollout`'s engine.

    report = rollout(registry=registry, provisioner=provisioner, versions=blueprint_version,
                     parallel=4, shard=parse_shard("2/3"), max_failures=5,
                     actor="ops@ci", now=lambda: datetime.now(UTC))
    print(report.summary)          # 29 updated, 0 already current, 1 failed, 0 not started
    raise SystemExit(report.exit_code)

Which tenants: those `active` or `suspended`, the states in which a tenant has a stack that
serves (or will serve again) a school (`ROLLOUT_STATES`). A suspended school is updated too:
a tier change must reach every school that has a stack, and resuming must not bring back an
old blueprint; the provisioner receives the tenant, suspended, and keeps it so. Tenants
`provisioning` or `failed` are onboarding's (`osp tenant create` resumes them, onto the
current blueprint); `offboarding` and `deleted` are going or gone.

Resumable: a tenant whose `blueprint_version` is already its tier's current version is
skipped, so a rerun after a failure, an interruption or a limit reached only does what is
left. Each tenant's result is written to its record (`record_rollout`) with a conditional
update; a record changed by someone else meanwhile is reported, never overwritten.

Sharding: `--shard I/N` keeps the tenants whose slug hashes (SHA-256) to shard I of N, so N
machines given 1/N … N/N cover every tenant exactly once, however the registry lists them and
without talking to each other.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

from osp.platform import limits
from osp.platform.errors import OspError
from osp.platform.tenancy.model import (
    TIER,
    RolloutOutcome,
    RolloutResult,
    StaleTenantError,
    Tenant,
    TenantState,
    Tier,
    UnknownTenantError,
    record_rollout,
)
from osp.platform.validation import InvalidArguments, Problems

if TYPE_CHECKING:  # typing only: importing tenancy must not load the spec and plan modules
    from osp.platform.tenancy.provisioning import Provisioner
    from osp.platform.tenancy.registry import TenantRegistry

#: The states whose tenants a rollout brings to the current blueprint, in the order listed.
ROLLOUT_STATES: tuple[TenantState, ...] = (TenantState.ACTIVE, TenantState.SUSPENDED)

#: At most this many stacks at once: each real apply runs a Pulumi engine and its provider
#: plugins (hundreds of MB), and a fleet bigger than one machine is spread with `--shard`.
MAX_PARALLEL = 32
PARALLEL = limits.whole_range(1, MAX_PARALLEL)
MAX_FAILURES = limits.optional(
    limits.Constraint("an integer of at least 1", lambda v: limits.is_int(v) and v >= 1),
    " for no limit",
)
SHARD_EXPECTED = "I/N with 1 <= I <= N, such as 2/3"
_SHARD = re.compile(r"([1-9][0-9]*)/([1-9][0-9]*)")


# --- Shards ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shard:
    """Slice `index` of `count` (1-based) of the fleet; `holds(slug)` says whose it is."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not (
            limits.is_int(self.index)
            and limits.is_int(self.count)
            and 1 <= self.index <= self.count
        ):
            _refuse("--shard", f"{self.index}/{self.count}", SHARD_EXPECTED)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, slug: str) -> bool:
        return shard_of(slug, self.count) == self.index


def parse_shard(text: str) -> Shard:
    """`"2/3"` → `Shard(2, 3)`; InvalidArguments naming `--shard`, the value and the form
    otherwise (`'4/3'`, `'0/3'`, `'2'`, `'a/b'`)."""
    match = _SHARD.fullmatch(text) if isinstance(text, str) else None
    if match is None or int(match[1]) > int(match[2]):
        _refuse("--shard", text, SHARD_EXPECTED)
    return Shard(int(match[1]), int(match[2]))


def shard_of(slug: str, count: int) -> int:
    """The shard (1 to `count`) that holds `slug`: the first 8 bytes of the slug's SHA-256,
    modulo `count`. Stable across processes and machines (Python's `hash` is salted)."""
    digest = hashlib.sha256(slug.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def _refuse(argument: str, value: object, expected: str) -> NoReturn:
    check = Problems("tenant", "rollout")
    check.add(argument, value, expected)
    raise InvalidArguments(check.found)


# --- The report --------------------------------------------------------------------------


@dataclass(frozen=True)
class RolloutUpdate:
    """One tenant a rollout brought (or, in a dry run, would bring) to a new blueprint."""

    slug: str
    tier: Tier
    from_version: str | None
    """The blueprint version the stack had; None for a stack never rolled out."""
    to_version: str


@dataclass(frozen=True)
class RolloutProblem:
    """One tenant a rollout could not bring up to date, and why."""

    slug: str
    reason: str


@dataclass(frozen=True)
class RolloutReport:
    """What a rollout did, tenant by tenant; each tuple is in slug order."""

    versions: Mapping[Tier, str]
    """The current blueprint version of each tier the selected tenants are on."""
    updated: tuple[RolloutUpdate, ...] = ()
    skipped: tuple[str, ...] = ()
    """Already at their tier's current version."""
    failed: tuple[RolloutProblem, ...] = ()
    """Their stack failed to apply (recorded as the tenant's last rollout), or their result
    could not be written."""
    conflicted: tuple[RolloutProblem, ...] = ()
    """Their record changed while the rollout ran (another command, another machine): the
    rollout left it as the other writer wrote it. A rerun picks them up."""
    not_started: tuple[str, ...] = ()
    """Left alone because `max_failures` was reached."""
    would_update: tuple[RolloutUpdate, ...] = ()
    """A dry run's work list (nothing applied, nothing written)."""
    dry_run: bool = False
    tier: Tier | None = None
    shard: Shard | None = None
    max_failures: int | None = None

    @property
    def ok(self) -> bool:
        """Every selected tenant is (or, in a dry run, can be) at its tier's current version."""
        return not (self.failed or self.conflicted or self.not_started)

    @property
    def exit_code(self) -> int:
        """What `osp tenant rollout` exits with: 0 when all is well, 1 otherwise."""
        return 0 if self.ok else 1

    @property
    def summary(self) -> str:
        """One line: `shard 2/3, tier pool: 29 updated, 0 already current, 1 failed, …`."""
        scope = [f"shard {self.shard}"] if self.shard else []
        scope += [f"tier {self.tier.value}"] if self.tier else []
        if self.dry_run:
            counts = [f"{len(self.would_update)} would be updated"]
        else:
            counts = [f"{len(self.updated)} updated"]
        counts.append(f"{len(self.skipped)} already current")
        if not self.dry_run:
            counts.append(f"{len(self.failed)} failed")
            if self.conflicted:
                counts.append(f"{len(self.conflicted)} changed meanwhile")
            not_started = f"{len(self.not_started)} not started"
            if self.not_started:
                not_started += f" (stopped after {self.max_failures} failures)"
            counts.append(not_started)
        text = ", ".join(counts)
        if self.dry_run:
            text = f"dry run: {text}"
        return f"{', '.join(scope)}: {text}" if scope else text

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data, for `--json`."""
        return {
            "dry_run": self.dry_run,
            "tier": self.tier.value if self.tier else None,
            "shard": str(self.shard) if self.shard else None,
            "max_failures": self.max_failures,
            "versions": {tier.value: version for tier, version in sorted(self.versions.items())},
            "updated": [_update_dict(u) for u in self.updated],
            "would_update": [_update_dict(u) for u in self.would_update],
            "skipped": list(self.skipped),
            "failed": [{"slug": p.slug, "reason": p.reason} for p in self.failed],
            "conflicted": [{"slug": p.slug, "reason": p.reason} for p in self.conflicted],
            "not_started": list(self.not_started),
            "summary": self.summary,
            "exit_code": self.exit_code,
        }


def _update_dict(update: RolloutUpdate) -> dict[str, Any]:
    return {
        "slug": update.slug,
        "tier": update.tier.value,
        "from_version": update.from_version,
        "to_version": update.to_version,
    }


# --- The rollout -------------------------------------------------------------------------


def rollout(
    *,
    registry: TenantRegistry,
    provisioner: Provisioner,
    versions: Callable[[Tier], str],
    tier: Tier | str | None = None,
    parallel: int = 4,
    shard: Shard | None = None,
    max_failures: int | None = None,
    dry_run: bool = False,
    actor: str,
    now: Callable[[], datetime] | datetime,
) -> RolloutReport:
    """Bring the active and suspended tenants (of `tier`, in `shard`) to their tier's current
    blueprint (`versions(tier)`), `parallel` stacks at a time.

    Once `max_failures` tenants have failed no new one is started (those running finish);
    None: no limit. Each result is written to the tenant's record (`last_rollout`; on success
    also `blueprint_version`) by a conditional update. `dry_run` only lists what would be
    updated: no stack is touched and nothing is written. `now` is the clock that stamps each
    result (a fixed time is accepted too); `actor` is named in each result's detail.

    Arguments are checked before anything is read (InvalidArguments naming each); `versions`
    is asked once per tier before any stack is touched, so a tier without a blueprint stops
    the rollout before it starts.
    """
    check = Problems("tenant", "rollout")
    if tier is not None:
        check.against(TIER, "--tier", tier)
    check.against(PARALLEL, "--parallel", parallel)
    check.against(MAX_FAILURES, "--max-failures", max_failures)
    if shard is not None and not isinstance(shard, Shard):
        check.add("--shard", shard, SHARD_EXPECTED)
    check.raise_if_any()
    if not isinstance(actor, str) or not actor.strip():
        raise ValueError(f"a rollout needs its actor (a caller identity), got {actor!r}")
    clock = now if callable(now) else (lambda: now)
    started = clock()
    if not isinstance(started, datetime) or started.utcoffset() is None:
        raise ValueError(f"a rollout's clock must give times with their zone, got {started!r}")
    tier = Tier(tier) if tier is not None else None

    selected = sorted(
        (
            tenant
            for state in ROLLOUT_STATES
            for tenant in registry.list(state=state, tier=tier)
            if shard is None or shard.holds(tenant.slug)
        ),
        key=lambda t: t.slug,
    )
    current = {t: versions(t) for t in sorted({tenant.tier for tenant in selected})}
    for each, version in current.items():
        if not isinstance(version, str) or not version.strip():
            raise ValueError(f"the {each.value} tier's blueprint version is {version!r}")
    skipped = tuple(t.slug for t in selected if t.blueprint_version == current[t.tier])
    work = [t for t in selected if t.blueprint_version != current[t.tier]]
    scope = {"versions": current, "tier": tier, "shard": shard, "max_failures": max_failures}

    if dry_run:
        planned = tuple(
            RolloutUpdate(t.slug, t.tier, t.blueprint_version, current[t.tier]) for t in work
        )
        return RolloutReport(skipped=skipped, would_update=planned, dry_run=True, **scope)

    run = _Run(registry, provisioner, current, max_failures, actor.strip(), clock, deque(work))
    if work:
        with ThreadPoolExecutor(max_workers=min(parallel, len(work))) as pool:
            workers = [pool.submit(run.work) for _ in range(min(parallel, len(work)))]
            try:
                for worker in workers:
                    worker.result()  # a bug in one worker surfaces here, with its traceback
            except BaseException:
                # Ctrl-C, or a bug: the stacks being applied finish (and are recorded), no
                # new one starts; a rerun picks up the rest.
                run.stop = True
                raise
    return RolloutReport(
        updated=tuple(sorted(run.updated, key=lambda u: u.slug)),
        skipped=tuple(sorted((*skipped, *run.skipped))),
        failed=tuple(sorted(run.failed, key=lambda p: p.slug)),
        conflicted=tuple(sorted(run.conflicted, key=lambda p: p.slug)),
        not_started=tuple(t.slug for t in run.pending),
        **scope,
    )


@dataclass
class _Run:
    """One rollout's shared state: the queue its workers take tenants from, and the results.

    Workers take the next tenant under the lock, and take none once `max_failures` have
    failed: the tenants left in the queue are the ones not started.
    """

    registry: TenantRegistry
    provisioner: Provisioner
    versions: Mapping[Tier, str]
    max_failures: int | None
    actor: str
    clock: Callable[[], datetime]
    pending: deque[Tenant]
    updated: list[RolloutUpdate] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[RolloutProblem] = field(default_factory=list)
    conflicted: list[RolloutProblem] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: bool = False
    """Set when the rollout is interrupted or a worker hit a bug: take no new tenant."""

    def work(self) -> None:
        try:
            for tenant in self._queue():
                self._bring_up_to_date(tenant)
        except BaseException:
            self.stop = True
            raise

    def _queue(self) -> Iterator[Tenant]:
        while True:
            with self.lock:
                limit = self.max_failures is not None and len(self.failed) >= self.max_failures
                if limit or self.stop or not self.pending:
                    return
                tenant = self.pending.popleft()
            yield tenant

    def _bring_up_to_date(self, listed: Tenant) -> None:
        target = self.versions[listed.tier]
        # Read the record again just before touching the stack: another machine or command
        # may have moved it since the list (a rerun brought it up to date, a delete began).
        tenant = self.registry.get(listed.slug)
        if tenant is None or tenant.state not in ROLLOUT_STATES or tenant.tier != listed.tier:
            now = "no longer registered" if tenant is None else tenant.describe_state()
            self._conflict(listed.slug, f"changed since the rollout listed it: {now}")
            return
        if tenant.blueprint_version == target:
            with self.lock:
                self.skipped.append(tenant.slug)
            return
        try:
            applied = self.provisioner.apply(tenant)
        except Exception as exc:  # one tenant's failure, whatever it is, touches no other
            reason = str(exc) if isinstance(exc, OspError) else f"{type(exc).__name__}: {exc}"
            result = RolloutResult(
                self.clock(), target, RolloutOutcome.FAILED, f"{reason} (rollout by {self.actor})"
            )
            self._record(tenant, result, failure=reason)
            return
        result = RolloutResult(
            self.clock(),
            applied.blueprint_version,
            RolloutOutcome.SUCCEEDED,
            f"{applied.stack} brought to {applied.blueprint_version} by {self.actor}",
        )
        # What the provisioner applied, which is the target unless the blueprint changed
        # since the rollout began (then the next rollout brings it further).
        update = RolloutUpdate(
            tenant.slug, tenant.tier, tenant.blueprint_version, applied.blueprint_version
        )
        self._record(tenant, result, update=update)

    def _record(
        self,
        tenant: Tenant,
        result: RolloutResult,
        *,
        update: RolloutUpdate | None = None,
        failure: str | None = None,
    ) -> None:
        try:
            self.registry.update(record_rollout(tenant, result), expected_version=tenant.version)
        except (StaleTenantError, UnknownTenantError) as exc:
            outcome = "its stack was updated" if failure is None else f"it failed: {failure}"
            self._conflict(tenant.slug, f"{outcome}, but the result was not recorded: {exc}")
            return
        except OspError as exc:
            applied = "its stack was updated" if failure is None else f"it failed: {failure}"
            failure = f"{applied}, but the registry refused the result: {exc}"
        with self.lock:
            if failure is not None:
                self.failed.append(RolloutProblem(tenant.slug, failure))
            elif update is not None:
                self.updated.append(update)

    def _conflict(self, slug: str, reason: str) -> None:
        with self.lock:
            self.conflicted.append(RolloutProblem(slug, reason))
