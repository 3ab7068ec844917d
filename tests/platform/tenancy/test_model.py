"""The tenant model, pure: the slug rule, the request's checks, the lifecycle, the dict form."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from osp.platform.errors import OspError
from osp.platform.tenancy import (
    RESERVED_SLUGS,
    SLUG,
    SLUG_FORMAT,
    TRANSITIONS,
    Difference,
    Failure,
    RolloutOutcome,
    RolloutResult,
    StaleTenantError,
    Tenant,
    TenantConflictError,
    TenantExistsError,
    TenantInputError,
    TenantRequest,
    TenantState,
    TenantStateError,
    Tier,
    Transition,
    UnknownTenantError,
    allowed,
    differences,
    from_dict,
    new_tenant,
    record_rollout,
    to_dict,
    transition,
)
from osp.platform.tenancy.model import require_next_version
from osp.platform.validation import InvalidArguments

NOW = datetime(2026, 5, 9, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
SLUG_EXPECTED = (
    "a tenant slug: a DNS label of 3-32 lower-case letters, digits and single hyphens, "
    "starting with a letter and not ending with a hyphen, such as springfield-elementary"
)
RESERVED_EXPECTED = "a name the estate does not use itself (reserved: " + ", ".join(
    sorted(RESERVED_SLUGS)
) + ")"  # fmt: skip


def request(**changes) -> TenantRequest:
    arguments = {
        "slug": "springfield",
        "name": "Springfield Elementary",
        "tier": "pool",
        "admin_email": "it@springfield.example.org",
        "domain": None,
    }
    return TenantRequest(**(arguments | changes))


def registered(**changes) -> Tenant:
    return new_tenant(request(**changes), actor="al@laptop", now=NOW)


# --- the slug ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "slug",
    ["abc", "springfield", "a1b", "springfield-elementary", "a-b-c", "x" * 32, "d123", "a9-z"],
)
def test_slugs_that_are_accepted(slug):
    assert SLUG.accepts(slug) and SLUG_FORMAT.accepts(slug)
    assert request(slug=slug).slug == slug


@pytest.mark.parametrize(
    ("why", "slug"),
    [
        ("too short", "ab"),
        ("too long", "x" * 33),
        ("upper case", "Springfield"),
        ("leading digit", "1st-school"),
        ("leading hyphen", "-school"),
        ("double hyphen", "spring--field"),
        ("trailing hyphen", "springfield-"),
        ("underscore", "spring_field"),
        ("dot", "spring.field"),
        ("space", "spring field"),
        ("trailing newline", "springfield\n"),
        ("non-ASCII letter", "zürich"),
        ("empty", ""),
    ],
)
def test_slugs_of_the_wrong_shape_are_refused_with_the_rule(why, slug):
    assert SLUG_FORMAT.problem(slug) == SLUG_EXPECTED
    assert SLUG.problem(slug) == f"{SLUG_EXPECTED}, and {RESERVED_EXPECTED}"
    with pytest.raises(TenantInputError) as refused:
        request(slug=slug)
    subject = slug or "''"
    assert str(refused.value) == f"tenant {subject}: slug: got {slug!r}; expected {SLUG_EXPECTED}"


@pytest.mark.parametrize(
    "slug", ["www", "api", "admin", "student", "school", "static", "cdn", "mail", "status"]
)
def test_the_names_the_issue_reserves_are_refused_as_reserved(slug):
    assert slug in RESERVED_SLUGS and SLUG_FORMAT.accepts(slug) and not SLUG.accepts(slug)
    with pytest.raises(TenantInputError) as refused:
        request(slug=slug)
    assert str(refused.value) == (
        f"tenant {slug}: slug: got {slug!r}; expected {RESERVED_EXPECTED}"
    )


def test_every_reserved_name_has_the_shape_of_a_slug():
    # A reserved name that no slug could take would be a reservation that protects nothing
    # (and hides a typo).
    assert [name for name in sorted(RESERVED_SLUGS) if not SLUG_FORMAT.accepts(name)] == []


def test_a_non_string_slug_is_refused_not_crashed_on():
    with pytest.raises(TenantInputError) as refused:
        request(slug=None)
    assert str(refused.value) == f"tenant None: slug: got None; expected {SLUG_EXPECTED}"


# --- the request -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "value", "expected"),
    [
        ("--name", "", "a display name of 1-128 printable characters, such as 'Springfield "
         "Elementary School'"),
        ("--name", "   ", "a display name of 1-128 printable characters, such as "
         "'Springfield Elementary School'"),
        ("--name", "x" * 129, "a display name of 1-128 printable characters, such as "
         "'Springfield Elementary School'"),
        ("--name", "Spring\nfield", "a display name of 1-128 printable characters, such as "
         "'Springfield Elementary School'"),
        ("--tier", "gold", "one of pool, silo"),
        ("--tier", "POOL", "one of pool, silo"),
        ("--admin-email", "it.springfield.example.org",
         "an e-mail address such as platform@school.example.com"),
        ("--admin-email", "it@springfield",
         "an e-mail address such as platform@school.example.com"),
        ("--domain", "Springfield.example.org",
         "a lower-case DNS name with at least two labels, such as school.example.com"),
        ("--domain", "springfield", "a lower-case DNS name with at least two labels, such as "
         "school.example.com"),
        ("--domain", "", "a lower-case DNS name with at least two labels, such as "
         "school.example.com"),
    ],
)  # fmt: skip
def test_each_bad_argument_is_named_with_its_value_and_what_is_allowed(argument, value, expected):
    field = argument.removeprefix("--").replace("-", "_")
    with pytest.raises(TenantInputError) as refused:
        request(**{field: value})
    assert refused.value.problems == [
        f"tenant springfield: {argument}: got {value!r}; expected {expected}"
    ]
    assert refused.value.exit_code == 1


def test_every_problem_is_reported_at_once_in_argument_order():
    with pytest.raises(TenantInputError) as refused:
        TenantRequest(slug="API", name="", tier="gold", admin_email="x", domain="nope")
    assert [line.split(":")[1].strip() for line in refused.value.problems] == [
        "slug", "--name", "--tier", "--admin-email", "--domain",
    ]  # fmt: skip
    assert str(refused.value) == "\n".join(refused.value.problems)
    # One error, of the house's kind: the CLI prints it and exits 1.
    assert isinstance(refused.value, InvalidArguments) and isinstance(refused.value, OspError)


def test_a_valid_request_is_normalised():
    given = request(name="  Springfield Elementary ", tier="silo", domain="learn.springfield.org")
    assert given.name == "Springfield Elementary"
    assert given.tier is Tier.SILO
    assert given.domain == "learn.springfield.org"
    assert request(tier=Tier.POOL).tier is Tier.POOL


# --- registration and the lifecycle ------------------------------------------------------


def test_a_new_tenant_is_provisioning_at_version_1_with_its_registration_in_history():
    tenant = registered(domain="learn.springfield.org")
    assert tenant == Tenant(
        slug="springfield",
        name="Springfield Elementary",
        tier=Tier.POOL,
        admin_email="it@springfield.example.org",
        domain="learn.springfield.org",
        state=TenantState.PROVISIONING,
        version=1,
        created_at=NOW,
        updated_at=NOW,
        history=(Transition(NOW, "al@laptop", None, TenantState.PROVISIONING, "registered"),),
        failure=None,
        blueprint_version=None,
        last_rollout=None,
    )


def test_the_transition_table_is_the_lifecycle_of_the_issue():
    s = TenantState
    assert dict(TRANSITIONS) == {
        s.PROVISIONING: (s.ACTIVE, s.FAILED),
        s.ACTIVE: (s.SUSPENDED, s.OFFBOARDING),
        s.SUSPENDED: (s.ACTIVE, s.OFFBOARDING),
        s.OFFBOARDING: (s.DELETED, s.FAILED),
        s.FAILED: (s.PROVISIONING, s.OFFBOARDING),
        s.DELETED: (),
    }
    assert set(TRANSITIONS) == set(TenantState)
    assert allowed(s.SUSPENDED) == (s.ACTIVE, s.OFFBOARDING)


def in_state(state: TenantState) -> Tenant:
    """A tenant in `state`, reached through allowed transitions only."""
    route = {
        TenantState.PROVISIONING: [],
        TenantState.ACTIVE: [TenantState.ACTIVE],
        TenantState.SUSPENDED: [TenantState.ACTIVE, TenantState.SUSPENDED],
        TenantState.OFFBOARDING: [TenantState.ACTIVE, TenantState.OFFBOARDING],
        TenantState.DELETED: [TenantState.ACTIVE, TenantState.OFFBOARDING, TenantState.DELETED],
        TenantState.FAILED: [TenantState.FAILED],
    }[state]
    tenant = registered()
    for step in route:
        failure = Failure("boom", "osp tenant create springfield") if step == "failed" else None
        tenant = transition(tenant, step, actor="al", reason="test", now=LATER, failure=failure)
    assert tenant.state is state
    return tenant


@pytest.mark.parametrize(
    ("current", "to"),
    [(current, to) for current in TenantState for to in TRANSITIONS[current]],
)
def test_every_allowed_transition_gives_the_next_version_with_its_history(current, to):
    tenant = in_state(current)
    failure = (
        Failure("stack failed", "osp tenant create springfield --env prod")
        if to == "failed"
        else None
    )
    moved = transition(
        tenant, to, actor="ops@school", reason=" the reason ", now=LATER, failure=failure
    )
    assert moved.state is to
    assert moved.version == tenant.version + 1
    assert moved.updated_at == LATER and moved.created_at == NOW
    assert moved.history == (
        *tenant.history,
        Transition(LATER, "ops@school", current, to, "the reason"),
    )
    assert moved.failure == failure
    assert tenant.state is current  # the old record is untouched: Tenant is frozen


@pytest.mark.parametrize(
    ("current", "to"),
    [(c, t) for c in TenantState for t in TenantState if t not in TRANSITIONS[c]],
)
def test_every_other_transition_is_refused_naming_the_state_and_what_is_allowed(current, to):
    tenant = in_state(current)
    with pytest.raises(TenantStateError) as refused:
        transition(tenant, to, actor="ops", reason="r", now=LATER)
    options = " or ".join(s.value for s in TRANSITIONS[current])
    can = f"from {current} it can only become {options}" if options else f"{current} is final"
    assert str(refused.value) == f"tenant springfield is {current}: it cannot become {to}; {can}"
    assert (refused.value.current, refused.value.requested) == (current, to)


def test_suspending_a_deleted_tenant_says_deleted_is_final():
    with pytest.raises(TenantStateError, match=r"^tenant springfield is deleted: it cannot "
                       r"become suspended; deleted is final$"):  # fmt: skip
        transition(in_state(TenantState.DELETED), "suspended", actor="o", reason="r", now=LATER)


def test_a_failure_is_given_with_a_move_to_failed_and_cleared_on_leaving_it():
    with pytest.raises(ValueError, match="only with, a move to failed"):
        transition(registered(), TenantState.FAILED, actor="o", reason="r", now=LATER)
    with pytest.raises(ValueError, match="only with, a move to failed"):
        transition(registered(), "active", actor="o", reason="r", now=LATER,
                   failure=Failure("x", "y"))  # fmt: skip
    failed = in_state(TenantState.FAILED)
    assert failed.failure == Failure("boom", "osp tenant create springfield")
    resumed = transition(failed, "provisioning", actor="o", reason="resume", now=LATER)
    assert resumed.failure is None


@pytest.mark.parametrize("reason", ["", "  ", None])
def test_a_transition_needs_a_reason(reason):
    with pytest.raises(TenantInputError) as refused:
        transition(in_state(TenantState.ACTIVE), "suspended", actor="o", reason=reason, now=LATER)
    assert str(refused.value) == (
        f"tenant springfield: --reason: got {reason!r}; expected a non-blank reason"
    )


def test_times_must_say_their_zone_and_are_kept_in_utc():
    with pytest.raises(ValueError, match="naive"):
        new_tenant(request(), actor="al", now=datetime(2026, 5, 9, 10, 0))
    paris = timezone(timedelta(hours=2))
    tenant = new_tenant(request(), actor="al", now=datetime(2026, 5, 9, 12, 0, tzinfo=paris))
    assert tenant.created_at == NOW and tenant.created_at.tzinfo is UTC


def test_an_actor_is_required():
    with pytest.raises(ValueError, match="actor"):
        new_tenant(request(), actor=" ", now=NOW)


def test_a_rollout_is_recorded_and_only_a_success_moves_the_blueprint_version():
    tenant = in_state(TenantState.ACTIVE)
    done = record_rollout(tenant, RolloutResult(LATER, "v2", RolloutOutcome.SUCCEEDED))
    assert (done.version, done.blueprint_version, done.updated_at) == (
        tenant.version + 1,
        "v2",
        LATER,
    )
    assert done.last_rollout == RolloutResult(LATER, "v2", RolloutOutcome.SUCCEEDED)
    assert done.history == tenant.history  # a rollout is no change of state
    failed = record_rollout(done, RolloutResult(LATER, "v3", RolloutOutcome.FAILED, "quota"))
    assert failed.blueprint_version == "v2" and failed.last_rollout.detail == "quota"
    assert failed.state is TenantState.ACTIVE


def test_the_next_version_is_what_a_registry_writes():
    tenant = in_state(TenantState.ACTIVE)  # version 2
    require_next_version(tenant, 1)
    with pytest.raises(ValueError, match="cannot be based on version 2; expected version 3"):
        require_next_version(tenant, 2)


# --- differences, and the messages naming who holds a slug --------------------------------


def test_an_identical_request_has_no_differences():
    assert differences(registered(), request()) == []


def test_differences_name_each_argument_with_both_values():
    found = differences(
        registered(),
        request(name="Springfield High", tier="silo", domain="learn.springfield.org"),
    )
    assert found == [
        Difference("--name", "Springfield Elementary", "Springfield High"),
        Difference("--tier", "pool", "silo"),
        Difference("--domain", None, "learn.springfield.org"),
    ]
    assert [str(d) for d in found] == [
        "--name: registered 'Springfield Elementary', requested 'Springfield High'",
        "--tier: registered 'pool', requested 'silo'",
        "--domain: registered None, requested 'learn.springfield.org'",
    ]
    assert differences(registered(), request(admin_email="ops@springfield.example.org")) == [
        Difference("--admin-email", "it@springfield.example.org", "ops@springfield.example.org")
    ]


def test_a_conflict_names_the_tenant_its_state_and_the_differences():
    existing = registered()
    error = TenantConflictError(existing, differences(existing, request(tier="silo")))
    assert str(error) == (
        "tenant springfield already exists with different arguments (provisioning since "
        "2026-05-09 10:00:00 UTC, by al@laptop):\n  --tier: registered 'pool', requested 'silo'"
    )


def test_exists_names_who_is_provisioning_the_slug():
    assert str(TenantExistsError(registered())) == (
        "tenant springfield already exists: provisioning since 2026-05-09 10:00:00 UTC, "
        "by al@laptop"
    )
    failure = Failure("the stack failed", "osp tenant create x")
    later = transition(
        registered(), "failed", actor="ci@runner", reason="stack failed", now=LATER, failure=failure
    )
    assert str(TenantExistsError(later)) == (
        "tenant springfield already exists: failed since 2026-05-09 10:05:00 UTC, by "
        "ci@runner (registered 2026-05-09 10:00:00 UTC by al@laptop): the stack failed; "
        "resume with `osp tenant create x`"
    )


def test_stale_and_unknown_name_the_versions_and_the_registry():
    assert str(StaleTenantError("springfield", 3, 4)) == (
        "tenant springfield changed while this command ran: it was read at version 3 and the "
        "registry now holds version 4; run the command again"
    )
    assert str(UnknownTenantError("springfield", "the tenant table osp-prod-tenants")) == (
        "no tenant springfield in the tenant table osp-prod-tenants; `osp tenant list --env "
        "ENV` shows the tenants"
    )


# --- the dict form -----------------------------------------------------------------------


def everything() -> Tenant:
    """A tenant with every field set."""
    tenant = registered(tier="silo", domain="learn.springfield.org")
    failure = Failure("RDS quota", "osp tenant create springfield --env prod")
    actor = "arn:aws:iam::123456789012:user/al"
    tenant = transition(
        tenant, "failed", actor=actor, reason="stack failed", now=LATER, failure=failure
    )
    tenant = transition(tenant, "provisioning", actor="al", reason="resume", now=LATER)
    tenant = transition(tenant, "active", actor="al", reason="provisioned", now=LATER)
    return record_rollout(tenant, RolloutResult(LATER, "silo-7", RolloutOutcome.SUCCEEDED, "+3"))


def test_the_dict_form_is_plain_json_with_utc_times():
    data = to_dict(registered())
    assert data == {
        "schema": 1,
        "slug": "springfield",
        "name": "Springfield Elementary",
        "tier": "pool",
        "admin_email": "it@springfield.example.org",
        "domain": None,
        "state": "provisioning",
        "version": 1,
        "created_at": "2026-05-09T10:00:00.000000Z",
        "updated_at": "2026-05-09T10:00:00.000000Z",
        "history": [
            {
                "at": "2026-05-09T10:00:00.000000Z",
                "actor": "al@laptop",
                "from_state": None,
                "to_state": "provisioning",
                "reason": "registered",
            }
        ],
        "failure": None,
        "blueprint_version": None,
        "last_rollout": None,
    }
    assert json.loads(json.dumps(data)) == data


@pytest.mark.parametrize("tenant", [registered(), everything(), in_state(TenantState.FAILED)])
def test_the_dict_form_round_trips(tenant):
    assert from_dict(json.loads(json.dumps(to_dict(tenant)))) == tenant


def test_microseconds_survive_the_round_trip():
    tenant = new_tenant(request(), actor="al", now=NOW + timedelta(microseconds=123456))
    assert to_dict(tenant)["created_at"] == "2026-05-09T10:00:00.123456Z"
    assert from_dict(to_dict(tenant)) == tenant


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema": 2}, "schema: got 2; expected 1"),
        ({"slug": "../etc"}, "slug: got '../etc'; expected a tenant slug"),
        ({"state": "sleeping"}, "'sleeping' is not a valid TenantState"),
        ({"tier": "gold"}, "'gold' is not a valid Tier"),
    ],
)
def test_a_record_that_is_not_one_is_refused(change, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        from_dict(to_dict(registered()) | change)


def test_a_record_missing_a_field_names_it():
    data = to_dict(registered())
    del data["admin_email"]
    with pytest.raises(ValueError, match=r"^a tenant record needs 'admin_email'$"):
        from_dict(data)


def test_a_record_written_before_a_name_was_reserved_still_reads():
    data = to_dict(registered()) | {"slug": "status"}
    assert from_dict(data).slug == "status"
    assert replace(registered(), slug="status") == from_dict(data)
