"""Onboarding over both registry backends (`registry`: a folder, a moto table) with a fake
provisioner: the lifecycle, repeats, conflicts, races, injected failures; and the offline
provisioner over a small tenant program of the test's own."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pulumi
import pulumi_aws as aws
import pytest

from osp.platform.errors import EngineError, OspError
from osp.platform.tenancy import (
    Tenant,
    TenantConflictError,
    TenantExistsError,
    TenantInputError,
    TenantRequest,
    TenantState,
    TenantStateError,
    Tier,
    UnknownTenantError,
)
from osp.platform.tenancy.offline_provisioner import OfflineProvisioner
from osp.platform.tenancy.onboarding import (
    CreateResult,
    NotSuspendedError,
    TenantProvisioningError,
    TenantStackError,
    create,
    create_command,
    delete,
    list_tenants,
    resume,
    show,
    suspend,
    tenant_urls,
)
from osp.platform.tenancy.provisioning import Provisioned
from osp.platform.validation import InvalidArguments
from tests.support import spec_of

START = datetime(2026, 5, 9, 10, 0, tzinfo=UTC)
ENV = "dev"


class Clock:
    """A clock that moves a minute each time it is read."""

    def __init__(self, start: datetime = START):
        self.at = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self.at += timedelta(minutes=1)
            return self.at


class FakeProvisioner:
    """Records every call (with the tenant's state as it was passed); `fail_with` makes the
    next calls raise it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, TenantState]] = []
        self.fail_with: BaseException | None = None
        self._lock = threading.Lock()

    def apply(self, tenant: Tenant) -> Provisioned:
        with self._lock:
            self.calls.append(("apply", tenant.slug, tenant.state))
        if self.fail_with is not None:
            raise self.fail_with
        stack = f"{ENV}.tenant-{tenant.slug}"
        return Provisioned(stack=stack, blueprint_version=f"{tenant.tier}-3")

    def destroy(self, tenant: Tenant, *, delete_data: bool) -> None:
        with self._lock:
            self.calls.append(("destroy", tenant.slug, tenant.state))
        if self.fail_with is not None:
            raise self.fail_with


def request(slug: str = "springfield", **changes) -> TenantRequest:
    arguments = {
        "slug": slug,
        "name": "Springfield Elementary",
        "tier": "pool",
        "admin_email": "it@springfield.example.org",
    }
    return TenantRequest(**(arguments | changes))


@pytest.fixture
def provisioner() -> FakeProvisioner:
    return FakeProvisioner()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fleet(registry, provisioner, clock):
    """The keyword arguments every onboarding function shares."""
    return {
        "environment": ENV,
        "registry": registry,
        "provisioner": provisioner,
        "actor": "al@laptop",
        "now": clock,
    }


def states(tenant: Tenant) -> list[str]:
    return [t.to_state.value for t in tenant.history]


# --- the lifecycle -------------------------------------------------------------------------


def test_create_registers_provisions_and_activates(fleet, registry, provisioner):
    outcome = create(request(), **fleet)
    assert outcome.result is CreateResult.CREATED
    tenant = outcome.tenant
    assert tenant.state is TenantState.ACTIVE
    assert tenant.blueprint_version == "pool-3"
    assert states(tenant) == ["provisioning", "active"]
    assert [t.actor for t in tenant.history] == ["al@laptop", "al@laptop"]
    # The stack was provisioned for the registered (provisioning) record.
    assert provisioner.calls == [("apply", "springfield", TenantState.PROVISIONING)]
    assert registry.get("springfield") == tenant
    assert outcome.provisioned.stack == "dev.tenant-springfield"


def test_the_whole_lifecycle(fleet, registry, provisioner):
    create(request(), **fleet)
    suspended = suspend("springfield", "unpaid invoice", **fleet)
    assert suspended.state is TenantState.SUSPENDED
    assert suspended.history[-1].reason == "unpaid invoice"
    resumed = resume("springfield", "paid", **fleet)
    assert resumed.state is TenantState.ACTIVE
    deleted = delete("springfield", delete_data=True, **fleet)
    assert deleted.state is TenantState.DELETED
    assert states(deleted) == [
        "provisioning", "active", "suspended", "active", "offboarding", "deleted",
    ]  # fmt: skip
    assert registry.get("springfield") == deleted  # the record stays, with its history
    # Suspension takes effect: the stack is re-applied with the tenant's new state.
    assert provisioner.calls == [
        ("apply", "springfield", TenantState.PROVISIONING),
        ("apply", "springfield", TenantState.SUSPENDED),
        ("apply", "springfield", TenantState.ACTIVE),
        ("destroy", "springfield", TenantState.OFFBOARDING),
    ]
    assert show("springfield", environment=ENV, registry=registry) == deleted


def test_list_filters_by_state_and_tier(fleet, registry):
    create(request("springfield"), **fleet)
    create(request("shelbyville", tier="silo"), **fleet)
    create(request("ogdenville"), **fleet)
    suspend("ogdenville", "audit", **fleet)
    assert [t.slug for t in list_tenants(registry=registry)] == [
        "ogdenville", "shelbyville", "springfield",
    ]  # fmt: skip
    assert [t.slug for t in list_tenants(registry=registry, state="active")] == [
        "shelbyville", "springfield",
    ]  # fmt: skip
    assert [t.slug for t in list_tenants(registry=registry, tier=Tier.SILO)] == ["shelbyville"]
    assert list_tenants(registry=registry, state="suspended", tier="silo") == []


def test_urls_and_the_resume_command():
    tenant = create_tenant_in_memory(domain="learn.springfield.org")
    assert tenant_urls(tenant, "osp.example.com") == [
        "https://springfield.osp.example.com",
        "https://learn.springfield.org",
    ]
    assert create_command("prod", request(domain="learn.springfield.org"), ["--offline"]) == (
        "osp tenant create springfield --env prod --name 'Springfield Elementary' --tier pool "
        "--admin-email it@springfield.example.org --domain learn.springfield.org --offline"
    )


def create_tenant_in_memory(**changes) -> Tenant:
    from osp.platform.tenancy import new_tenant

    return new_tenant(request(**changes), actor="al@laptop", now=START)


# --- repeats and conflicts -----------------------------------------------------------------


def test_an_identical_repeat_of_an_active_tenant_does_nothing(fleet, registry, provisioner):
    first = create(request(), **fleet).tenant
    again = create(request(), **fleet)
    assert again.result is CreateResult.UNCHANGED
    assert again.tenant == first == registry.get("springfield")
    assert len(provisioner.calls) == 1


def test_a_conflicting_repeat_names_the_differences(fleet, registry):
    first = create(request(), **fleet).tenant
    with pytest.raises(TenantConflictError) as refused:
        create(request(tier="silo", admin_email="ops@springfield.example.org"), **fleet)
    assert str(refused.value).splitlines()[1:] == [
        "  --tier: registered 'pool', requested 'silo'",
        "  --admin-email: registered 'it@springfield.example.org', requested "
        "'ops@springfield.example.org'",
    ]
    assert registry.get("springfield") == first


@pytest.mark.parametrize(
    "domain",
    ["dev.osp.example.com", "student.dev.osp.example.com", "shelbyville.dev.osp.example.com"],
)  # fmt: skip
def test_a_custom_domain_under_the_estates_domain_is_refused_before_anything_is_written(
    fleet, registry, provisioner, domain
):
    with pytest.raises(InvalidArguments) as refused:
        create(request(domain=domain), **fleet, estate_domain="dev.osp.example.com")
    (problem,) = refused.value.problems
    assert f"--domain: got '{domain}'; expected a domain of the school's own, not " in problem
    assert "dev.osp.example.com or a name under it" in problem
    assert registry.list() == [] and provisioner.calls == []


def test_a_custom_domain_another_tenant_has_is_refused_until_that_tenant_is_deleted(
    fleet, registry, provisioner
):
    create(request("shelbyville", domain="learn.example.org"), **fleet)
    with pytest.raises(InvalidArguments) as refused:
        create(request(domain="learn.example.org"), **fleet)
    assert "a domain no other tenant has (tenant shelbyville has it)" in str(refused.value)
    assert [t.slug for t in registry.list()] == ["shelbyville"]
    delete("shelbyville", delete_data=False, **fleet)
    assert create(request(domain="learn.example.org"), **fleet).tenant.state.value == "active"


def test_an_injected_failure_leaves_the_tenant_failed_and_resumable(fleet, registry, provisioner):
    provisioner.fail_with = EngineError("the tenant program failed: no quota")
    with pytest.raises(TenantProvisioningError) as failed:
        create(request(domain="learn.springfield.org"), **fleet)
    resume_command = (
        "osp tenant create springfield --env dev --name 'Springfield Elementary' --tier pool "
        "--admin-email it@springfield.example.org --domain learn.springfield.org"
    )
    assert str(failed.value) == (
        "tenant springfield: provisioning failed: the tenant program failed: no quota\n"
        f"The tenant is recorded as failed; resume with: {resume_command}"
    )
    recorded = registry.get("springfield")
    assert recorded.state is TenantState.FAILED
    assert recorded.failure.reason == "the tenant program failed: no quota"
    assert recorded.failure.resume_command == resume_command
    assert [t.slug for t in registry.list()] == ["springfield"]  # one record, no orphan

    provisioner.fail_with = None
    resumed = create(request(domain="learn.springfield.org"), **fleet)
    assert resumed.result is CreateResult.RESUMED
    assert resumed.tenant.state is TenantState.ACTIVE
    assert resumed.tenant.failure is None
    assert states(resumed.tenant) == ["provisioning", "failed", "provisioning", "active"]
    assert registry.get("springfield") == resumed.tenant


def test_a_bug_in_provisioning_still_leaves_the_tenant_failed(fleet, registry, provisioner):
    provisioner.fail_with = ZeroDivisionError("division by zero")
    with pytest.raises(ZeroDivisionError):  # a bug keeps its traceback
        create(request(), **fleet)
    assert registry.get("springfield").failure.reason == "ZeroDivisionError: division by zero"


def test_an_interrupted_create_leaves_the_tenant_failed_and_resumable(fleet, registry, provisioner):
    provisioner.fail_with = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C stays Ctrl-C (the CLI exits 130)
        create(request(), **fleet)
    failed = registry.get("springfield")
    assert (failed.state, failed.failure.reason) == (TenantState.FAILED, "interrupted")
    provisioner.fail_with = None
    assert create(request(), **fleet).result is CreateResult.RESUMED


def test_a_provisioning_record_is_resumed_only_after_its_lease(fleet, registry, provisioner, clock):
    from osp.platform.tenancy import new_tenant

    # A run that died without a word (killed): its record is left provisioning.
    registry.create(new_tenant(request(), actor="bo@ci", now=clock()))
    with pytest.raises(TenantExistsError, match=r"provisioning since .*, by bo@ci"):
        create(request(), **fleet)
    assert provisioner.calls == []
    clock.at += timedelta(hours=2)
    resumed = create(request(), **fleet)
    assert resumed.result is CreateResult.RESUMED
    assert resumed.tenant.state is TenantState.ACTIVE


class SlowProvisioner(FakeProvisioner):
    """Provisioning takes a while (real stacks take minutes): apply returns once `done` is
    set (or after 30 s, so that a broken test fails instead of hanging)."""

    def __init__(self) -> None:
        super().__init__()
        self.done = threading.Event()

    def apply(self, tenant: Tenant) -> Provisioned:
        self.done.wait(timeout=30)
        return super().apply(tenant)


def test_twenty_concurrent_creates_give_one_tenant_and_nineteen_answers(registry, clock):
    # Another school is onboarded first. (It also warms botocore's lazily built exception
    # classes: two threads building them at once can each get their own class, and the
    # registry's `except client.exceptions.ConditionalCheckFailedException` then misses the
    # one raised. A process onboards one tenant at a time, so only a threaded test meets it.)
    create(request("shelbyville"), environment=ENV, registry=registry,
           provisioner=FakeProvisioner(), actor="bo@ci", now=clock)  # fmt: skip
    provisioner = SlowProvisioner()
    barrier = threading.Barrier(20)
    outcomes: list[object] = [None] * 20
    answered = threading.Semaphore(0)

    def onboard(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = create(
                request(),
                environment=ENV,
                registry=registry,
                provisioner=provisioner,
                actor=f"ops-{index}@laptop",
                now=clock,
            )
        except OspError as exc:
            outcomes[index] = exc
            answered.release()

    threads = [threading.Thread(target=onboard, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for _ in range(19):  # every loser answers while the winner is still provisioning
        assert answered.acquire(timeout=30)
    provisioner.done.set()
    for thread in threads:
        thread.join()

    won = [o for o in outcomes if not isinstance(o, OspError)]
    lost = [o for o in outcomes if isinstance(o, OspError)]
    assert len(won) == 1 and len(lost) == 19
    winner = won[0].tenant.history[0].actor
    for answer in lost:
        assert isinstance(answer, TenantExistsError)
        assert str(answer).startswith("tenant springfield already exists: provisioning since")
        assert f"by {winner}" in str(answer)
    assert provisioner.calls == [("apply", "springfield", TenantState.PROVISIONING)]
    assert registry.get("springfield").state is TenantState.ACTIVE
    assert [t.slug for t in registry.list()] == ["shelbyville", "springfield"]


# --- dry run and bad input -----------------------------------------------------------------


def test_a_dry_run_plans_and_writes_nothing(fleet, registry, provisioner, tmp_path):
    outcome = create(request(), dry_run=True, **fleet)
    assert outcome.result is CreateResult.PLANNED
    assert outcome.tenant.state is TenantState.PROVISIONING
    assert outcome.provisioned.blueprint_version == "pool-3"
    assert provisioner.calls == [("apply", "springfield", TenantState.PROVISIONING)]
    assert registry.get("springfield") is None
    assert not (tmp_path / "tenants").exists()


def test_a_dry_run_still_refuses_a_conflict_and_a_tenant_it_cannot_create(fleet, provisioner):
    create(request(), **fleet)
    with pytest.raises(TenantConflictError):
        create(request(name="Shelbyville"), dry_run=True, **fleet)
    suspend("springfield", "audit", **fleet)
    calls = len(provisioner.calls)
    with pytest.raises(TenantStateError, match="suspended: it cannot become provisioning"):
        create(request(), dry_run=True, **fleet)
    assert len(provisioner.calls) == calls


def test_bad_input_is_refused_before_anything_is_written(registry, tmp_path):
    with pytest.raises(TenantInputError) as refused:
        request(slug="Springfield", tier="gold", admin_email="nobody")
    assert [p.split(":")[1].strip() for p in refused.value.problems] == [
        "slug", "--tier", "--admin-email",
    ]  # fmt: skip
    assert registry.list() == []
    assert not (tmp_path / "tenants").exists()


# --- refused transitions -------------------------------------------------------------------


def test_suspend_of_a_deleted_tenant_is_refused(fleet, registry, provisioner):
    create(request(), **fleet)
    deleted = delete("springfield", delete_data=False, **fleet)
    calls = len(provisioner.calls)
    with pytest.raises(TenantStateError, match="deleted: it cannot become suspended"):
        suspend("springfield", "late", **fleet)
    with pytest.raises(TenantStateError, match="deleted is final"):
        delete("springfield", delete_data=False, **fleet)
    with pytest.raises(TenantStateError, match="cannot become provisioning"):
        create(request(), **fleet)
    assert registry.get("springfield") == deleted
    assert len(provisioner.calls) == calls


def test_an_unknown_tenant_is_named(fleet, registry):
    for action in (
        lambda: delete("nowhere", delete_data=False, **fleet),
        lambda: suspend("nowhere", "x", **fleet),
        lambda: show("nowhere", environment=ENV, registry=registry),
    ):
        with pytest.raises(UnknownTenantError, match="no tenant nowhere in the tenant registry"):
            action()
    assert registry.list() == []


def test_resume_does_not_finish_an_onboarding(fleet, registry, provisioner):
    provisioner.fail_with = EngineError("boom")
    with pytest.raises(TenantProvisioningError):
        create(request(), **fleet)
    with pytest.raises(TenantStateError, match="failed: it cannot become active"):
        resume("springfield", "try", **fleet)
    from osp.platform.tenancy import new_tenant

    fleet["registry"].create(new_tenant(request("shelbyville"), actor="bo@ci", now=START))
    with pytest.raises(NotSuspendedError, match="shelbyville is provisioning, not suspended"):
        resume("shelbyville", "try", **fleet)


def test_a_suspension_whose_stack_failed_is_recorded_and_finished_by_a_repeat(
    fleet, registry, provisioner
):
    create(request(), **fleet)
    provisioner.fail_with = EngineError("throttled")
    with pytest.raises(TenantStackError) as failed:
        suspend("springfield", "unpaid", **fleet)
    assert str(failed.value) == (
        "tenant springfield is recorded suspended, but its stack was not updated: throttled\n"
        "Run it again to finish: osp tenant suspend springfield --env dev --reason unpaid"
    )
    assert registry.get("springfield").state is TenantState.SUSPENDED
    provisioner.fail_with = None
    again = suspend("springfield", "unpaid", **fleet)
    assert states(again).count("suspended") == 1  # the repeat re-applies, records nothing new
    assert provisioner.calls[-1] == ("apply", "springfield", TenantState.SUSPENDED)


def test_a_failed_offboarding_is_resumable(fleet, registry, provisioner):
    create(request(), **fleet)
    provisioner.fail_with = EngineError("bucket not empty")
    with pytest.raises(TenantProvisioningError, match="offboarding failed: bucket not empty"):
        delete("springfield", delete_data=True, command_options=["--offline"], **fleet)
    failed = registry.get("springfield")
    assert failed.state is TenantState.FAILED
    assert failed.failure.resume_command == (
        "osp tenant delete springfield --env dev --delete-data --offline"
    )
    provisioner.fail_with = None
    deleted = delete("springfield", delete_data=True, **fleet)
    assert states(deleted)[-4:] == ["offboarding", "failed", "offboarding", "deleted"]


# --- the offline provisioner ---------------------------------------------------------------


def small_program(spec, tenant, environment, *, delete_data=None):
    """A tenant program of the test's own: one bucket under the environment's prefix,
    emptied by a destroy only when offboarding with `delete_data`."""
    bucket = aws.s3.BucketV2(
        f"osp-{spec.name}-tenant-{tenant.slug}",
        bucket=f"{environment['prefix']}-{tenant.slug}",
        force_destroy=bool(delete_data),
        tags={"osp:tenant": tenant.slug, "osp:tier": tenant.tier.value,
              "osp:state": tenant.state.value},
    )  # fmt: skip
    pulumi.export("bucket", bucket.bucket)


def test_the_offline_provisioner_plans_the_tenant_program():
    asked = []

    def outputs():
        asked.append(True)
        return {"prefix": "osp-dev"}

    provisioner = OfflineProvisioner(
        spec_of("dev"), small_program, outputs, version=lambda tier: f"{tier.value}-7"
    )
    tenant = create_tenant_in_memory()
    provisioned = provisioner.apply(tenant)
    assert provisioned.stack == "dev.tenant-springfield"
    assert provisioned.blueprint_version == "pool-7"
    assert provisioned.outputs == {"bucket": "osp-dev-springfield"}
    assert provisioned.plan.stack == "dev.tenant-springfield"
    (bucket,) = provisioned.plan.of_type("aws:s3/bucketV2:BucketV2")
    assert bucket.name == "osp-dev-tenant-springfield"
    assert bucket.inputs["tags"] == {
        "osp:state": "provisioning", "osp:tenant": "springfield", "osp:tier": "pool",
    }  # fmt: skip
    provisioner.apply(tenant)
    assert asked == [True]  # the environment's outputs are read once

    provisioner.destroy(tenant, delete_data=True)
    (destroyed,) = provisioner.destroyed
    assert (destroyed.stack, destroyed.delete_data) == ("dev.tenant-springfield", True)
    (bucket,) = destroyed.release.of_type("aws:s3/bucketV2:BucketV2")
    assert bucket.inputs["forceDestroy"] is True  # the program was given delete_data


def test_a_failing_tenant_program_is_an_osp_error():
    def broken(spec, tenant, environment):
        raise RuntimeError("no such tier file")

    provisioner = OfflineProvisioner(spec_of("dev"), broken, {}, version=lambda tier: "1")
    with pytest.raises(EngineError, match="no such tier file"):
        provisioner.apply(create_tenant_in_memory())


# --- who is acting -------------------------------------------------------------------------


def test_offline_the_actor_is_the_local_user(monkeypatch):
    from osp.platform.tenancy import actor

    monkeypatch.setattr(actor.getpass, "getuser", lambda: "al")
    monkeypatch.setattr(actor.socket, "gethostname", lambda: "laptop")
    assert actor.current(offline=True) == "al@laptop"


def test_for_real_the_actor_is_the_aws_caller_identity(aws):
    from osp.platform.tenancy import actor

    assert actor.current(offline=False, region="us-east-1").startswith("arn:aws:")
    assert actor.current(offline=False, region="us-east-1").endswith(":user/moto")


def test_an_unknown_aws_identity_is_a_clear_error():
    from osp.platform.tenancy import actor

    class NoCredentials:
        def get_caller_identity(self):
            raise RuntimeError("Unable to locate credentials")

    with pytest.raises(actor.ActorError, match=r"Unable to locate credentials\).*--offline"):
        actor.aws(NoCredentials())


# --- the registry an environment's outputs name --------------------------------------------


def test_the_environment_registry_is_the_table_its_stack_exports(dynamodb):
    from osp.platform.tenancy import DynamoDbRegistry
    from osp.platform.tenancy.onboarding import environment_registry
    from tests.platform.tenancy.conftest import REGION, TABLE

    registry = environment_registry("dev", {"tenantsTable": TABLE}, region=REGION)
    assert isinstance(registry, DynamoDbRegistry) and registry.table_name == TABLE
    create(request(), environment="dev", registry=registry, provisioner=FakeProvisioner(),
           actor="al@laptop")  # fmt: skip
    # A second client (the default one) reads what the first wrote: the same table.
    assert DynamoDbRegistry(TABLE, dynamodb).get("springfield").state is TenantState.ACTIVE


def test_a_stack_without_a_tenants_table_is_a_clear_error():
    from osp.platform.tenancy.onboarding import NoTenantsTableError, environment_registry

    with pytest.raises(NoTenantsTableError, match=r"the dev stack has no tenantsTable output"):
        environment_registry("dev", {"vpcId": "vpc-1"}, region="us-east-1")
