"""The rollout engine, against both registry backends (`registry` runs each test against a
folder and a moto DynamoDB table) and a fake provisioner: parallel runs, failures recorded
and retried, the failure limit, dry runs, tier filters, shards, concurrent writers."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from osp.platform.errors import OspError
from osp.platform.tenancy import (
    ROLLOUT_STATES,
    Failure,
    RolloutOutcome,
    RolloutProblem,
    RolloutReport,
    RolloutResult,
    RolloutUpdate,
    Shard,
    Tenant,
    TenantRegistry,
    TenantRequest,
    TenantState,
    Tier,
    new_tenant,
    parse_shard,
    record_rollout,
    rollout,
    shard_of,
    to_dict,
    transition,
)
from osp.platform.tenancy.provisioning import Provisioned, tenant_stack_name
from osp.platform.validation import InvalidArguments

NOW = datetime(2026, 5, 9, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
#: The tiers' current blueprints; every test fleet starts one version behind.
CURRENT = {Tier.POOL: "pool-2", Tier.SILO: "silo-5"}
PREVIOUS = {Tier.POOL: "pool-1", Tier.SILO: "silo-4"}


class StackError(OspError):
    """What a real provisioner raises when a tenant's stack fails to apply."""


class FakeProvisioner:
    """Applies nothing; records every call, how many ran at once, and fails on request."""

    def __init__(self, fail: set[str] = frozenset(), barrier: int = 0, during=None) -> None:
        self.fail = set(fail)
        self.applied: list[Tenant] = []
        self.running = 0
        self.most_at_once = 0
        self.lock = threading.Lock()
        # The first `barrier` applies wait for each other: they only get through if that many
        # run at the same time.
        self.barrier = threading.Barrier(barrier, timeout=10) if barrier else None
        self.during = during

    def apply(self, tenant: Tenant) -> Provisioned:
        with self.lock:
            self.applied.append(tenant)
            first = len(self.applied) <= (self.barrier.parties if self.barrier else 0)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            if first:
                self.barrier.wait()
            if self.during is not None:
                self.during(tenant)
            if tenant.slug in self.fail:
                raise StackError(f"stack {tenant.slug}: aws:rds:Instance creating failed")
            return Provisioned(tenant_stack_name("dev", tenant.slug), CURRENT[tenant.tier])
        finally:
            with self.lock:
                self.running -= 1

    def destroy(self, tenant: Tenant, *, delete_data: bool) -> None:
        raise AssertionError("a rollout never destroys")

    @property
    def slugs(self) -> list[str]:
        return sorted(t.slug for t in self.applied)


def register(
    registry: TenantRegistry,
    slug: str,
    tier: str = "pool",
    state: TenantState = TenantState.ACTIVE,
    version: str | None = "previous",
) -> Tenant:
    """A tenant as onboarding leaves it: `state`, its stack at `version` (the tier's previous
    blueprint by default; None: never rolled out)."""
    request = TenantRequest(slug, slug.title(), tier, f"it@{slug}.example.org")
    current = registry.create(new_tenant(request, actor="al@laptop", now=NOW))
    path = {
        TenantState.PROVISIONING: [],
        TenantState.ACTIVE: [TenantState.ACTIVE],
        TenantState.SUSPENDED: [TenantState.ACTIVE, TenantState.SUSPENDED],
        TenantState.FAILED: [TenantState.FAILED],
        TenantState.OFFBOARDING: [TenantState.ACTIVE, TenantState.OFFBOARDING],
        TenantState.DELETED: [TenantState.ACTIVE, TenantState.OFFBOARDING, TenantState.DELETED],
    }[state]
    for step in path:
        failure = Failure("boom", f"osp tenant create {slug}") if step == "failed" else None
        moved = transition(current, step, actor="al@laptop", reason="setup", now=NOW,
                           failure=failure)  # fmt: skip
        current = registry.update(moved, expected_version=current.version)
    if version is not None:
        applied = PREVIOUS[current.tier] if version == "previous" else version
        result = RolloutResult(NOW, applied, RolloutOutcome.SUCCEEDED)
        current = registry.update(record_rollout(current, result), expected_version=current.version)
    return current


def fleet(registry: TenantRegistry, count: int, tier: str = "pool") -> list[str]:
    slugs = [f"school-{n:03d}" for n in range(count)]
    for slug in slugs:
        register(registry, slug, tier)
    return slugs


def roll(registry: TenantRegistry, provisioner: FakeProvisioner, **options) -> RolloutReport:
    arguments = {"versions": CURRENT.__getitem__, "actor": "ops@ci", "now": LATER} | options
    return rollout(registry=registry, provisioner=provisioner, **arguments)


def snapshot(registry: TenantRegistry) -> list[dict]:
    return [to_dict(t) for t in registry.list()]


# --- the check: 30 tenants, 4 at a time, one failure, a rerun --------------------


def test_thirty_tenants_four_at_a_time_one_failing_then_a_rerun_retries_only_it(registry):
    slugs = fleet(registry, 30)
    broken = "school-017"
    provisioner = FakeProvisioner(fail={broken}, barrier=4)

    report = roll(registry, provisioner, parallel=4)

    # Four stacks ran at once (the barrier lets none through otherwise), never more.
    assert provisioner.most_at_once == 4
    assert provisioner.slugs == slugs
    assert [u.slug for u in report.updated] == [s for s in slugs if s != broken]
    assert report.updated[0] == RolloutUpdate("school-000", Tier.POOL, "pool-1", "pool-2")
    assert report.failed == (
        RolloutProblem(broken, f"stack {broken}: aws:rds:Instance creating failed"),
    )
    assert (report.skipped, report.conflicted, report.not_started) == ((), (), ())
    assert report.exit_code == 1
    assert report.summary == "29 updated, 0 already current, 1 failed, 0 not started"

    # The registry after: 29 at the current blueprint, each with its result; the failure
    # recorded on a tenant that stays active on the old blueprint.
    for tenant in registry.list():
        assert tenant.state is TenantState.ACTIVE
        assert tenant.last_rollout.at == LATER
        if tenant.slug == broken:
            assert tenant.blueprint_version == "pool-1"
            assert tenant.last_rollout.outcome is RolloutOutcome.FAILED
            assert tenant.last_rollout.blueprint_version == "pool-2"
            assert tenant.last_rollout.detail == (
                f"stack {broken}: aws:rds:Instance creating failed (rollout by ops@ci)"
            )
        else:
            assert tenant.blueprint_version == "pool-2"
            assert tenant.last_rollout.outcome is RolloutOutcome.SUCCEEDED
            assert tenant.last_rollout.detail == (
                f"dev.tenant-{tenant.slug} brought to pool-2 by ops@ci"
            )

    # Fixed, the rerun touches only the tenant that failed.
    again = FakeProvisioner()
    rerun = roll(registry, again, parallel=4, now=LATER + timedelta(minutes=5))
    assert again.slugs == [broken]
    assert [u.slug for u in rerun.updated] == [broken]
    assert rerun.skipped == tuple(s for s in slugs if s != broken)
    assert rerun.exit_code == 0
    assert rerun.summary == "1 updated, 29 already current, 0 failed, 0 not started"
    fixed = registry.get(broken)
    assert fixed.blueprint_version == "pool-2"
    assert fixed.last_rollout.outcome is RolloutOutcome.SUCCEEDED
    assert {t.blueprint_version for t in registry.list()} == {"pool-2"}

    # A third run has nothing to do and writes nothing.
    before = snapshot(registry)
    idle = FakeProvisioner()
    assert roll(registry, idle).summary == "0 updated, 30 already current, 0 failed, 0 not started"
    assert idle.applied == []
    assert snapshot(registry) == before


def test_a_tenant_never_rolled_out_is_brought_up_and_reported_from_none(registry):
    register(registry, "springfield", version=None)
    report = roll(registry, FakeProvisioner())
    assert report.updated == (RolloutUpdate("springfield", Tier.POOL, None, "pool-2"),)
    assert registry.get("springfield").blueprint_version == "pool-2"


def test_a_fixed_clock_and_a_running_clock_both_stamp_each_result(registry):
    fleet(registry, 3)
    ticks = iter(LATER + timedelta(seconds=n) for n in range(100))
    roll(registry, FakeProvisioner(), parallel=1, now=lambda: next(ticks))
    stamps = [t.last_rollout.at for t in registry.list()]
    # One tick checks the clock, then one per tenant, in the order they finished.
    assert stamps == [LATER + timedelta(seconds=n) for n in (1, 2, 3)]


# --- which tenants -----------------------------------------------------------------------


def test_active_and_suspended_tenants_are_rolled_out_and_keep_their_state(registry):
    assert ROLLOUT_STATES == (TenantState.ACTIVE, TenantState.SUSPENDED)
    for state in TenantState:
        register(registry, f"{state.value}-school", state=state)
    provisioner = FakeProvisioner()
    report = roll(registry, provisioner)
    assert provisioner.slugs == ["active-school", "suspended-school"]
    # The provisioner sees the suspension, so the stack keeps the school suspended.
    assert {t.slug: t.state for t in provisioner.applied}["suspended-school"] == "suspended"
    assert [u.slug for u in report.updated] == ["active-school", "suspended-school"]
    for state in TenantState:
        stored = registry.get(f"{state.value}-school")
        assert stored.state is state
        expected = "pool-2" if state in ROLLOUT_STATES else "pool-1"
        assert stored.blueprint_version == expected, state


def test_a_tier_filter_rolls_out_that_tier_only(registry):
    for n in range(4):
        register(registry, f"pool-school-{n}", "pool")
        register(registry, f"silo-school-{n}", "silo")
    asked = []

    def versions(tier: Tier) -> str:
        asked.append(tier)
        return CURRENT[tier]

    provisioner = FakeProvisioner()
    report = roll(registry, provisioner, tier="silo", versions=versions)
    assert asked == [Tier.SILO]  # the pool blueprint is not even read
    assert provisioner.slugs == [f"silo-school-{n}" for n in range(4)]
    assert report.tier is Tier.SILO
    assert report.versions == {Tier.SILO: "silo-5"}
    assert report.summary == "tier silo: 4 updated, 0 already current, 0 failed, 0 not started"
    versions_after = {t.slug: t.blueprint_version for t in registry.list()}
    assert versions_after == {
        **{f"pool-school-{n}": "pool-1" for n in range(4)},
        **{f"silo-school-{n}": "silo-5" for n in range(4)},
    }
    # Without a filter, each tier goes to its own current blueprint.
    rest = roll(registry, FakeProvisioner())
    assert [u.slug for u in rest.updated] == [f"pool-school-{n}" for n in range(4)]
    assert {t.blueprint_version for t in registry.list(tier=Tier.POOL)} == {"pool-2"}


def test_a_blueprint_that_cannot_be_read_stops_the_rollout_before_any_stack(registry):
    fleet(registry, 3)
    before = snapshot(registry)

    def versions(tier: Tier) -> str:
        raise OspError(f"blueprints/tenants/{tier.value}.yaml: not found")

    provisioner = FakeProvisioner()
    with pytest.raises(OspError, match=r"pool\.yaml: not found"):
        roll(registry, provisioner, versions=versions)
    assert provisioner.applied == []
    assert snapshot(registry) == before


# --- the failure limit -------------------------------------------------------------------


def test_max_failures_stops_new_starts_one_at_a_time(registry):
    slugs = fleet(registry, 10)
    provisioner = FakeProvisioner(fail={"school-001", "school-003", "school-004"})
    report = roll(registry, provisioner, parallel=1, max_failures=2)
    assert provisioner.slugs == slugs[:4]
    assert [u.slug for u in report.updated] == ["school-000", "school-002"]
    assert [p.slug for p in report.failed] == ["school-001", "school-003"]
    assert report.not_started == tuple(slugs[4:])
    assert report.exit_code == 1
    assert report.summary == (
        "2 updated, 0 already current, 2 failed, 6 not started (stopped after 2 failures)"
    )
    # Tenants not started are untouched: no result written.
    for slug in slugs[4:]:
        assert registry.get(slug).last_rollout.at == NOW
    # The rerun picks up the failed and the not started, and only them.
    again = FakeProvisioner()
    assert [u.slug for u in roll(registry, again).updated] == again.slugs
    assert again.slugs == ["school-001", "school-003", *slugs[4:]]


def test_max_failures_with_parallel_lets_running_stacks_finish_and_starts_no_more(registry):
    slugs = fleet(registry, 20)
    provisioner = FakeProvisioner(fail=set(slugs))
    report = roll(registry, provisioner, parallel=3, max_failures=2)
    started = len(provisioner.applied)
    # Once two have failed no worker takes another: at most the two that failed and the two
    # others already running.
    assert 2 <= started <= 2 + 3 - 1
    assert len(report.failed) == started
    assert len(report.not_started) == 20 - started
    assert set(report.not_started) | {p.slug for p in report.failed} == set(slugs)


def test_without_a_limit_every_tenant_is_tried(registry):
    slugs = fleet(registry, 6)
    provisioner = FakeProvisioner(fail=set(slugs[:4]))
    report = roll(registry, provisioner, parallel=2)
    assert provisioner.slugs == slugs
    assert (len(report.failed), len(report.updated), report.not_started) == (4, 2, ())


def test_an_unexpected_exception_is_that_tenants_failure_named_by_its_type(registry):
    fleet(registry, 2)

    def crash(tenant: Tenant) -> None:
        if tenant.slug == "school-000":
            raise KeyError("vpcId")

    report = roll(registry, FakeProvisioner(during=crash))
    assert report.failed == (RolloutProblem("school-000", "KeyError: 'vpcId'"),)
    assert [u.slug for u in report.updated] == ["school-001"]


# --- dry runs ----------------------------------------------------------------------------


def test_a_dry_run_lists_the_work_and_writes_nothing(registry, tmp_path):
    slugs = fleet(registry, 5)
    register(registry, "current-school", version="pool-2")
    register(registry, "silo-school", "silo", version=None)
    before = snapshot(registry)
    provisioner = FakeProvisioner()
    report = roll(registry, provisioner, dry_run=True)
    assert provisioner.applied == []
    assert snapshot(registry) == before
    assert report.dry_run
    assert report.updated == ()
    assert report.would_update == (
        *(RolloutUpdate(slug, Tier.POOL, "pool-1", "pool-2") for slug in slugs),
        RolloutUpdate("silo-school", Tier.SILO, None, "silo-5"),
    )
    assert report.skipped == ("current-school",)
    assert report.exit_code == 0
    assert report.summary == "dry run: 6 would be updated, 1 already current"
    data = report.to_dict()
    assert data["would_update"][-1] == {
        "slug": "silo-school", "tier": "silo", "from_version": None, "to_version": "silo-5",
    }  # fmt: skip
    assert data["updated"] == [] and data["exit_code"] == 0


# --- shards ------------------------------------------------------------------------------


def test_shards_one_two_three_of_three_cover_every_tenant_exactly_once(registry):
    slugs = fleet(registry, 30)
    applied: Counter[str] = Counter()
    for index in (1, 2, 3):
        provisioner = FakeProvisioner()
        report = roll(registry, provisioner, parallel=4, shard=parse_shard(f"{index}/3"))
        assert report.shard == Shard(index, 3)
        assert report.summary.startswith(f"shard {index}/3: ")
        assert report.exit_code == 0
        # Each shard is a real slice, not the whole fleet or nothing.
        assert 0 < len(provisioner.applied) < 30
        applied.update(provisioner.slugs)
    assert applied == Counter(slugs)
    assert {t.blueprint_version for t in registry.list()} == {"pool-2"}


def test_a_shard_depends_on_the_slug_only_not_on_the_order_or_the_fleet():
    slugs = [f"school-{n:03d}" for n in range(300)]
    shuffled = random.Random(12).sample(slugs, len(slugs))
    for count in (1, 2, 3, 7, 256):
        by_order = {s: shard_of(s, count) for s in slugs}
        assert {s: shard_of(s, count) for s in shuffled} == by_order
        # Every tenant lands in exactly one shard of the N.
        for slug in slugs:
            holders = [i for i in range(1, count + 1) if Shard(i, count).holds(slug)]
            assert holders == [by_order[slug]]
    # Fixed values: the same on every machine and Python (sha256, not the salted hash()):
    # the first 8 bytes of sha256(slug), big-endian, mod 3, plus 1.
    fixed = {"springfield": 1, "ogdenville": 2, "waverly-hills": 3}
    assert {slug: shard_of(slug, 3) for slug in fixed} == fixed
    # Spread: 300 slugs over 3 shards, none near empty.
    assert min(Counter(shard_of(s, 3) for s in slugs).values()) > 70


@pytest.mark.parametrize("text, shard", [("1/1", Shard(1, 1)), ("2/3", Shard(2, 3)),
                                         ("12/12", Shard(12, 12))])  # fmt: skip
def test_parse_shard(text, shard):
    assert parse_shard(text) == shard
    assert str(shard) == text


@pytest.mark.parametrize("text", ["4/3", "0/3", "1/0", "3", "a/b", "-1/3", "1/3/4", " 1/3",
                                  "1 / 3", "", "01/3", None, 3])  # fmt: skip
def test_a_bad_shard_is_refused_naming_the_option_and_the_form(text):
    with pytest.raises(InvalidArguments) as refused:
        parse_shard(text)
    assert str(refused.value) == (
        f"tenant rollout: --shard: got {text!r}; expected I/N with 1 <= I <= N, such as 2/3"
    )


def test_a_shard_cannot_be_built_out_of_range():
    with pytest.raises(InvalidArguments, match=r"--shard: got '4/3'; expected I/N"):
        Shard(4, 3)


# --- concurrent writers ------------------------------------------------------------------


def test_a_record_changed_during_the_apply_is_reported_and_not_overwritten(registry):
    fleet(registry, 3)

    def suspend(tenant: Tenant) -> None:
        if tenant.slug == "school-001":  # an operator suspends it while its stack applies
            moved = transition(tenant, "suspended", actor="head@school", reason="unpaid",
                               now=LATER)  # fmt: skip
            registry.update(moved, expected_version=tenant.version)

    report = roll(registry, FakeProvisioner(during=suspend))
    assert [u.slug for u in report.updated] == ["school-000", "school-002"]
    assert [p.slug for p in report.conflicted] == ["school-001"]
    assert report.conflicted[0].reason.startswith(
        "its stack was updated, but the result was not recorded: tenant school-001 changed "
        "while this command ran"
    )
    assert report.exit_code == 1
    assert report.summary == (
        "2 updated, 0 already current, 0 failed, 1 changed meanwhile, 0 not started"
    )
    stored = registry.get("school-001")
    assert stored.state is TenantState.SUSPENDED  # the operator's write stands
    assert stored.history[-1].actor == "head@school"
    assert stored.blueprint_version == "pool-1"
    # The rerun brings it up to date, suspended as it is.
    assert [u.slug for u in roll(registry, FakeProvisioner()).updated] == ["school-001"]
    assert registry.get("school-001").state is TenantState.SUSPENDED


def test_a_tenant_brought_up_to_date_or_offboarded_since_the_listing_is_not_applied(registry):
    fleet(registry, 3)
    provisioner = FakeProvisioner()

    class Moving:
        """The registry, with two tenants changing between the list and their turn."""

        def __getattr__(self, name):
            return getattr(registry, name)

        def list(self, **query):
            listed = registry.list(**query)
            for tenant in listed:
                if tenant.slug == "school-000":  # another machine rolled it out
                    done = RolloutResult(NOW, "pool-2", RolloutOutcome.SUCCEEDED)
                    registry.update(record_rollout(tenant, done), expected_version=tenant.version)
                if tenant.slug == "school-002":  # an operator began deleting it
                    going = transition(tenant, "offboarding", actor="ops", reason="left",
                                       now=NOW)  # fmt: skip
                    registry.update(going, expected_version=tenant.version)
            return listed

    report = rollout(registry=Moving(), provisioner=provisioner, versions=CURRENT.__getitem__,
                     actor="ops@ci", now=LATER)  # fmt: skip
    assert provisioner.slugs == ["school-001"]
    assert report.skipped == ("school-000",)
    assert report.conflicted == (
        RolloutProblem(
            "school-002",
            "changed since the rollout listed it: " + registry.get("school-002").describe_state(),
        ),
    )
    assert registry.get("school-002").state is TenantState.OFFBOARDING
    assert registry.get("school-002").blueprint_version == "pool-1"


# --- arguments ---------------------------------------------------------------------------


def test_bad_arguments_are_refused_together_before_anything_is_read(registry):
    fleet(registry, 2)
    before = snapshot(registry)
    provisioner = FakeProvisioner()
    with pytest.raises(InvalidArguments) as refused:
        roll(registry, provisioner, tier="campus", parallel=0, max_failures=0, shard="2/3")
    assert refused.value.problems == [
        "tenant rollout: --tier: got 'campus'; expected one of pool, silo",
        "tenant rollout: --parallel: got 0; expected an integer from 1 to 32",
        "tenant rollout: --max-failures: got 0; expected an integer of at least 1, or None "
        "for no limit",
        "tenant rollout: --shard: got '2/3'; expected I/N with 1 <= I <= N, such as 2/3",
    ]
    assert provisioner.applied == []
    assert snapshot(registry) == before


@pytest.mark.parametrize("parallel", [33, True, 2.0])
def test_parallel_is_a_whole_number_up_to_the_limit(registry, parallel):
    with pytest.raises(InvalidArguments, match="--parallel: got"):
        roll(registry, FakeProvisioner(), parallel=parallel)


def test_an_empty_fleet_is_a_clean_no_op(registry):
    report = roll(registry, FakeProvisioner(), shard=Shard(2, 3))
    assert report == RolloutReport(versions={}, shard=Shard(2, 3))
    assert report.summary == "shard 2/3: 0 updated, 0 already current, 0 failed, 0 not started"
    assert report.exit_code == 0


def test_a_naive_clock_is_refused_before_anything_runs(registry):
    fleet(registry, 1)
    with pytest.raises(ValueError, match="times with their zone"):
        roll(registry, FakeProvisioner(), now=LATER.replace(tzinfo=None))


def test_a_blank_blueprint_version_is_refused_before_any_stack(registry):
    fleet(registry, 2)
    provisioner = FakeProvisioner()
    with pytest.raises(ValueError, match="the pool tier's blueprint version is ''"):
        roll(registry, provisioner, versions=lambda tier: "")
    assert provisioner.applied == []


def test_the_version_recorded_is_the_one_the_provisioner_applied(registry):
    fleet(registry, 1)

    class Newer(FakeProvisioner):
        """The blueprint moved on after the rollout read its version."""

        def apply(self, tenant: Tenant) -> Provisioned:
            return replace(super().apply(tenant), blueprint_version="pool-3")

    report = roll(registry, Newer())
    assert report.updated == (RolloutUpdate("school-000", Tier.POOL, "pool-1", "pool-3"),)
    stored = registry.get("school-000")
    assert stored.blueprint_version == "pool-3"
    assert stored.last_rollout.blueprint_version == "pool-3"


def test_a_bug_stops_new_starts_and_surfaces_with_its_traceback(registry):
    slugs = fleet(registry, 5)

    class Broken:
        def __getattr__(self, name):
            return getattr(registry, name)

        def get(self, slug):
            if slug == "school-001":
                raise RuntimeError("a bug in the registry")
            return registry.get(slug)

    provisioner = FakeProvisioner()
    with pytest.raises(RuntimeError, match="a bug in the registry"):
        rollout(registry=Broken(), provisioner=provisioner, versions=CURRENT.__getitem__,
                parallel=1, actor="ops@ci", now=LATER)  # fmt: skip
    # The first was done (and recorded); nothing started after the bug.
    assert provisioner.slugs == slugs[:1]
    assert registry.get("school-000").blueprint_version == "pool-2"
    assert {registry.get(s).blueprint_version for s in slugs[1:]} == {"pool-1"}
