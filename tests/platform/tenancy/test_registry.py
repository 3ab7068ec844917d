"""One suite, both registry backends (`registry` runs each test against a folder and against a
moto DynamoDB table): the lifecycle, conditional creates and updates, listing, races."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest

from osp.platform.tenancy import (
    TRANSITIONS,
    DynamoDbRegistry,
    Failure,
    FileRegistry,
    RolloutOutcome,
    RolloutResult,
    StaleTenantError,
    Tenant,
    TenantExistsError,
    TenantInputError,
    TenantRegistry,
    TenantRequest,
    TenantState,
    TenantStateError,
    Tier,
    UnknownTenantError,
    new_tenant,
    record_rollout,
    transition,
)

NOW = datetime(2026, 5, 9, 10, 0, tzinfo=UTC)


def tenant(slug: str = "springfield", tier: str = "pool", **changes) -> Tenant:
    arguments = {
        "slug": slug,
        "name": slug.title(),
        "tier": tier,
        "admin_email": f"it@{slug}.example.org",
    }
    return new_tenant(TenantRequest(**(arguments | changes)), actor="al@laptop", now=NOW)


def move(registry: TenantRegistry, current: Tenant, to: TenantState, step: int) -> Tenant:
    """Write `current` moved to `to` through the registry, as a command would."""
    failure = Failure(f"step {step} failed", "osp tenant create springfield --env prod")
    moved = transition(
        current,
        to,
        actor="ops@school",
        reason=f"step {step}",
        now=NOW + timedelta(minutes=step),
        failure=failure if to is TenantState.FAILED else None,
    )
    assert registry.update(moved, expected_version=current.version) == moved
    assert registry.get(current.slug) == moved
    return moved


def test_each_backend_is_a_tenant_registry(registry):
    assert isinstance(registry, TenantRegistry)


def test_an_unknown_slug_is_none(registry):
    assert registry.get("springfield") is None
    # Values that are no slug name no record (and, for the folder, no path).
    assert registry.get("../springfield") is None
    assert registry.get("") is None
    assert registry.list() == []


def test_a_created_tenant_reads_back_equal(registry):
    created = tenant()
    assert registry.create(created) == created
    assert registry.get("springfield") == created


# --- the lifecycle -----------------------------------------------------------------------

#: Two walks that take every allowed transition at least once.
WALKS = (
    ("failed", "provisioning", "active", "suspended", "active", "offboarding", "failed",
     "offboarding", "deleted"),
    ("active", "suspended", "offboarding", "deleted"),
)  # fmt: skip


def test_the_walks_cover_every_allowed_transition():
    taken = set()
    for walk in WALKS:
        states = ("provisioning", *walk)
        taken |= set(itertools.pairwise(states))
    table = {(current, to) for current, allowed in TRANSITIONS.items() for to in allowed}
    assert taken == table


@pytest.mark.parametrize("walk", WALKS)
def test_the_lifecycle_through_the_registry(registry, walk):
    current = registry.create(tenant())
    for step, to in enumerate(walk, start=1):
        current = move(registry, current, TenantState(to), step)
    stored = registry.get("springfield")
    assert stored.state is TenantState.DELETED
    assert stored.version == len(walk) + 1
    assert [(t.from_state, t.to_state) for t in stored.history] == [
        (None, "provisioning"),
        *itertools.pairwise(("provisioning", *walk)),
    ]
    # The record stays, as deleted, with its history; nothing may move it any more.
    with pytest.raises(TenantStateError, match="deleted is final"):
        transition(stored, "suspended", actor="ops", reason="again", now=NOW)
    assert registry.list(state=TenantState.DELETED) == [stored]


def test_a_refused_transition_leaves_the_record_as_it_was(registry):
    created = registry.create(tenant())
    with pytest.raises(TenantStateError, match="from provisioning it can only become"):
        transition(created, "suspended", actor="ops", reason="no", now=NOW)
    assert registry.get("springfield") == created


def test_a_failed_tenant_keeps_its_reason_and_resume_command(registry):
    created = registry.create(tenant())
    failed = move(registry, created, TenantState.FAILED, 1)
    assert registry.get("springfield").failure == Failure(
        "step 1 failed", "osp tenant create springfield --env prod"
    )
    resumed = move(registry, failed, TenantState.PROVISIONING, 2)
    assert registry.get("springfield").failure is None
    assert resumed.history[-1].reason == "step 2"


def test_a_rollout_result_is_stored(registry):
    active = move(registry, registry.create(tenant()), TenantState.ACTIVE, 1)
    rolled = record_rollout(active, RolloutResult(NOW, "pool-3", RolloutOutcome.SUCCEEDED))
    registry.update(rolled, expected_version=active.version)
    stored = registry.get("springfield")
    assert stored == rolled
    assert stored.blueprint_version == "pool-3"


# --- conditional writes ------------------------------------------------------------------


def test_creating_an_existing_slug_raises_with_the_existing_record(registry):
    first = registry.create(tenant())
    second = tenant(name="Another Springfield", tier="silo")
    with pytest.raises(TenantExistsError) as refused:
        registry.create(second)
    assert refused.value.existing == first
    assert str(refused.value) == (
        "tenant springfield already exists: provisioning since 2026-05-09 10:00:00 UTC, by "
        "al@laptop"
    )
    assert registry.get("springfield") == first


def test_a_slug_stays_taken_after_its_tenant_is_deleted(registry):
    current = registry.create(tenant())
    for step, to in enumerate(("active", "offboarding", "deleted"), start=1):
        current = move(registry, current, TenantState(to), step)
    with pytest.raises(TenantExistsError, match="already exists: deleted since"):
        registry.create(tenant())


def test_a_stale_update_is_refused_naming_the_versions(registry):
    created = registry.create(tenant())
    mine = transition(created, "active", actor="me", reason="done", now=NOW)
    theirs = transition(
        created, "failed", actor="them", reason="x", now=NOW, failure=Failure("x", "y")
    )
    registry.update(theirs, expected_version=1)
    with pytest.raises(StaleTenantError) as refused:
        registry.update(mine, expected_version=1)
    assert (refused.value.expected, refused.value.actual) == (1, 2)
    assert str(refused.value) == (
        "tenant springfield changed while this command ran: it was read at version 1 and the "
        "registry now holds version 2; run the command again"
    )
    assert registry.get("springfield") == theirs


def test_an_update_must_be_the_next_version(registry):
    created = registry.create(tenant())
    with pytest.raises(ValueError, match="expected version 2"):
        registry.update(created, expected_version=1)
    assert registry.get("springfield") == created


def test_updating_an_unknown_tenant_is_refused(registry):
    ghost = transition(tenant(), "active", actor="me", reason="x", now=NOW)
    with pytest.raises(UnknownTenantError, match=r"^no tenant springfield in the "):
        registry.update(ghost, expected_version=1)
    assert registry.get("springfield") is None


def test_twenty_concurrent_creates_of_one_slug_give_one_tenant_and_nineteen_answers(registry):
    contenders = [
        new_tenant(
            TenantRequest(
                slug="springfield",
                name=f"Springfield {i}",
                tier="pool",
                admin_email=f"it{i}@springfield.example.org",
            ),
            actor=f"worker-{i}",
            now=NOW,
        )
        for i in range(20)
    ]
    start = threading.Barrier(len(contenders))
    won: list[Tenant] = []
    refused: list[TenantExistsError] = []
    other: list[BaseException] = []

    def create(contender: Tenant) -> None:
        start.wait()
        try:
            won.append(registry.create(contender))
        except TenantExistsError as exc:
            refused.append(exc)
        except BaseException as exc:  # reported by the assertion below
            other.append(exc)

    threads = [threading.Thread(target=create, args=(c,)) for c in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert other == []
    assert len(won) == 1 and len(refused) == 19
    (winner,) = won
    assert registry.get("springfield") == winner
    holder = winner.history[0].actor
    for answer in refused:
        assert answer.existing == winner
        assert str(answer) == (
            "tenant springfield already exists: provisioning since 2026-05-09 10:00:00 UTC, "
            f"by {holder}"
        )


# --- listing -----------------------------------------------------------------------------


@pytest.fixture
def fleet(registry) -> dict[str, Tenant]:
    """Six tenants across states and tiers, created out of slug order."""
    states = {
        "oak": ("pool", ["active"]),
        "birch": ("silo", ["active"]),
        "cedar": ("pool", ["active", "suspended"]),
        "alder": ("silo", []),
        "elm": ("pool", []),
        "fir-two": ("silo", ["failed"]),
    }
    made = {}
    for slug, (tier, walk) in states.items():
        current = registry.create(tenant(slug, tier))
        for step, to in enumerate(walk, start=1):
            current = move(registry, current, TenantState(to), step)
        made[slug] = current
    return made


def slugs(tenants: list[Tenant]) -> list[str]:
    return [t.slug for t in tenants]


def test_list_is_every_tenant_sorted_by_slug(registry, fleet):
    assert slugs(registry.list()) == ["alder", "birch", "cedar", "elm", "fir-two", "oak"]
    assert registry.list() == [fleet[s] for s in sorted(fleet)]


@pytest.mark.parametrize(
    ("state", "tier", "expected"),
    [
        ("active", None, ["birch", "oak"]),
        ("provisioning", None, ["alder", "elm"]),
        ("suspended", None, ["cedar"]),
        ("failed", None, ["fir-two"]),
        ("deleted", None, []),
        (None, "silo", ["alder", "birch", "fir-two"]),
        (None, "pool", ["cedar", "elm", "oak"]),
        ("active", "pool", ["oak"]),
        ("provisioning", "silo", ["alder"]),
        ("suspended", "silo", []),
    ],
)
def test_list_by_state_and_tier(registry, fleet, state, tier, expected):
    found = registry.list(
        state=TenantState(state) if state else None, tier=Tier(tier) if tier else None
    )
    assert slugs(found) == expected
    assert found == [fleet[s] for s in expected]


def test_a_slug_that_prefixes_another_is_its_own_tenant(registry):
    # eks-saas-gitops decides existence by a substring match: tenant-1 matched tenant-10.
    registry.create(tenant("tenant-10"))
    assert registry.get("tenant-1") is None
    registry.create(tenant("tenant-1"))
    assert slugs(registry.list()) == ["tenant-1", "tenant-10"]


# --- refused input writes nothing --------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"slug": "ab"},
        {"slug": "x" * 33},
        {"slug": "Springfield"},
        {"slug": "1springfield"},
        {"slug": "spring--field"},
        {"slug": "springfield-"},
        {"slug": "api"},
        {"tier": "gold"},
        {"admin_email": "not-an-address"},
        {"domain": "Not A Domain"},
    ],
)
def test_refused_input_writes_nothing(registry, tmp_path, bad):
    arguments = {"slug": "springfield", "name": "S", "tier": "pool", "admin_email": "a@b.org"}
    with pytest.raises(TenantInputError):
        registry.create(new_tenant(TenantRequest(**(arguments | bad)), actor="al", now=NOW))
    assert registry.list() == []
    if isinstance(registry, FileRegistry):
        assert not registry.root.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_refused_update_writes_nothing(registry, tmp_path):
    if isinstance(registry, FileRegistry):
        ghost = transition(tenant(), "active", actor="me", reason="x", now=NOW)
        with pytest.raises(UnknownTenantError):
            registry.update(ghost, expected_version=1)
        assert list(tmp_path.iterdir()) == []
    else:
        assert isinstance(registry, DynamoDbRegistry)
        created = registry.create(tenant())
        stale = transition(created, "active", actor="me", reason="x", now=NOW)
        registry.update(stale, expected_version=1)
        with pytest.raises(StaleTenantError):
            registry.update(stale, expected_version=1)
        assert registry.get("springfield") == stale
