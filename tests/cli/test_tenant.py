"""`osp tenant …` through typer's CliRunner, offline: the local registry under a temporary
OSP_HOME, tenant stacks planned by the offline engine.

The tenant program, the tier versions and the environment's outputs are the test's own
(`offline_tenants`): what is tested here is the CLI over osp.platform.tenancy.onboarding;
the real tenant program and its tiers are tested where they live.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.automation import OutputValue
from typer.testing import CliRunner

from osp.cli import tenant as tenant_cli
from osp.cli.main import app
from osp.platform.tenancy import actor
from tests.support import REPO, shipped_project

runner = CliRunner()

CREATE = (
    "tenant", "create", "springfield", "--env", "dev", "--name", "Springfield Elementary",
    "--tier", "pool", "--admin-email", "it@springfield.example.org",
)  # fmt: skip
OUTPUTS = {"environment": "dev", "dataBuckets": {"documents": "osp-dev-documents-1"}}


def small_program(spec, tenant, environment, *, delete_data=None):
    """One object under the tenant's prefix of a shared bucket, tagged, and its key."""
    key = f"tenants/{tenant.slug}/README"
    aws.s3.BucketObjectv2(
        f"osp-{spec.name}-tenant-{tenant.slug}-readme",
        bucket=environment["dataBuckets"]["documents"],
        key=key,
        content=f"{tenant.name} ({tenant.state.value})",
        tags={"osp:tenant": tenant.slug, "osp:tier": tenant.tier.value},
    )
    pulumi.export("prefix", f"tenants/{tenant.slug}/")


@pytest.fixture
def offline_tenants(monkeypatch, tmp_path) -> Path:
    """The CLI wired to the test's program, tier versions and environment outputs, acting
    as al@laptop, with OSP_HOME in a temporary folder (returned; not created)."""
    home = tmp_path / "osp-home"
    monkeypatch.setenv("OSP_HOME", str(home))
    monkeypatch.setattr(tenant_cli, "tenant_program", lambda: small_program)
    monkeypatch.setattr(tenant_cli, "tier_version", lambda tier, spec: f"{tier.value}-1")
    monkeypatch.setattr(tenant_cli, "offline_environment_outputs", lambda spec, **_: OUTPUTS)
    monkeypatch.setattr(actor, "local", lambda: "al@laptop")
    return home


def osp(*args: str, input: str | None = None):
    return runner.invoke(
        app,
        [*args, "--project-dir", str(shipped_project())],
        input=input,
        env={"OSP_PROJECT_DIR": None},
    )


def files(home: Path) -> dict[str, bytes]:
    """Every file under the osp home, with its bytes."""
    if not home.exists():
        return {}
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}


# --- the round trip ------------------------------------------------------------------------


def test_create_list_show_suspend_resume_delete(offline_tenants):
    created = osp(*CREATE, "--offline")
    assert created.exit_code == 0, created.output
    out = created.stdout
    assert "dev.tenant-springfield (tier pool): 1 resources" in out
    assert "+ osp-dev-tenant-springfield-readme aws:s3/bucketObjectv2:BucketObjectv2" in out
    assert "Tenant springfield is onboarded in dev. Its URLs:" in out
    assert "https://springfield.dev.osp.example.com" in out
    record = offline_tenants / "tenants" / "dev" / "springfield.json"
    assert json.loads(record.read_text())["state"] == "active"

    listed = osp("tenant", "list", "--env", "dev", "--offline", "--json")
    assert listed.exit_code == 0, listed.output
    (only,) = json.loads(listed.stdout)
    assert (only["slug"], only["state"], only["blueprint_version"]) == (
        "springfield", "active", "pool-1",
    )  # fmt: skip
    table = osp("tenant", "list", "--env", "dev", "--offline")
    assert "springfield" in table.stdout and "1 tenant in dev" in table.stdout

    suspended = osp(
        "tenant", "suspend", "springfield", "--env", "dev", "--offline", "--reason", "unpaid"
    )
    assert suspended.exit_code == 0, suspended.output
    assert suspended.stdout.strip() == "Tenant springfield is suspended in dev."
    assert osp("tenant", "list", "--env", "dev", "--offline", "--state", "active").stdout == (
        "No active tenants in dev.\n"
    )
    resumed = osp(
        "tenant", "resume", "springfield", "--env", "dev", "--offline", "--reason", "paid"
    )
    assert resumed.stdout.strip() == "Tenant springfield is active in dev."

    deleted = osp("tenant", "delete", "springfield", "--env", "dev", "--offline", "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert "Tenant springfield is deleted from dev; its record stays." in deleted.stdout

    shown = osp("tenant", "show", "springfield", "--env", "dev", "--offline", "--json")
    data = json.loads(shown.stdout)
    assert data["state"] == "deleted"
    assert data["stack"] == "dev.tenant-springfield"
    assert data["urls"] == ["https://springfield.dev.osp.example.com"]
    assert [(h["to_state"], h["actor"], h["reason"]) for h in data["history"]] == [
        ("provisioning", "al@laptop", "registered"),
        ("active", "al@laptop", "provisioned"),
        ("suspended", "al@laptop", "unpaid"),
        ("active", "al@laptop", "paid"),
        ("offboarding", "al@laptop", "offboarded"),
        ("deleted", "al@laptop", "offboarded"),
    ]
    text = osp("tenant", "show", "springfield", "--env", "dev", "--offline").stdout
    assert "springfield Springfield Elementary (dev)" in text
    assert "suspended → active by al@laptop: paid" in text


def test_create_json_is_data_only_and_a_repeat_changes_nothing(offline_tenants):
    first = osp(*CREATE, "--offline", "--json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert data["result"] == "created"
    assert data["tenant"]["state"] == "active"
    assert data["tenant"]["urls"] == ["https://springfield.dev.osp.example.com"]
    (readme,) = [r for r in data["plan"]["resources"] if r["custom"]]
    assert readme["inputs"]["tags"] == {"osp:tenant": "springfield", "osp:tier": "pool"}
    before = files(offline_tenants)
    again = osp(*CREATE, "--offline", "--json")
    assert json.loads(again.stdout)["result"] == "unchanged"
    assert files(offline_tenants) == before


def test_a_conflicting_create_names_the_differences(offline_tenants):
    assert osp(*CREATE, "--offline").exit_code == 0
    before = files(offline_tenants)
    result = osp(*CREATE[:-4], "--tier", "silo", "--admin-email", "ops@x.org", "--offline")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: tenant springfield already exists with different")
    assert "  --tier: registered 'pool', requested 'silo'\n" in result.stderr
    assert "  --admin-email: registered 'it@springfield.example.org', requested 'ops@x.org'" in (
        result.stderr
    )
    assert files(offline_tenants) == before


def test_dry_run_shows_the_plan_and_writes_nothing(offline_tenants):
    result = osp(*CREATE, "--domain", "learn.springfield.org", "--offline", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "+ osp-dev-tenant-springfield-readme" in result.stdout
    assert "Dry run: nothing was written." in result.stdout
    assert "https://learn.springfield.org" in result.stdout
    assert files(offline_tenants) == {}


def test_a_failed_create_is_recorded_with_the_command_that_resumes(offline_tenants, monkeypatch):
    def broken(spec, tenant, environment):
        raise RuntimeError("quota exceeded")

    monkeypatch.setattr(tenant_cli, "tenant_program", lambda: broken)
    failed = osp(*CREATE, "--offline")
    assert failed.exit_code == 1
    assert "provisioning failed: the dev program failed under the offline engine" in failed.stderr
    assert (
        "resume with: osp tenant create springfield --env dev --name 'Springfield Elementary' "
        "--tier pool --admin-email it@springfield.example.org --offline\n"
    ) in failed.stderr
    listed = json.loads(osp("tenant", "list", "--env", "dev", "--offline", "--json").stdout)
    assert [t["state"] for t in listed] == ["failed"]

    monkeypatch.setattr(tenant_cli, "tenant_program", lambda: small_program)
    resumed = osp(*CREATE, "--offline", "--json")
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["result"] == "resumed"


# --- bad input: one clear message, non-zero, nothing written -------------------------------

SLUG_RULE = "expected a tenant slug: a DNS label of 3-32 lower-case letters"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("ab",), f"tenant ab: slug: got 'ab'; {SLUG_RULE}"),
        (("a" * 33,), f"slug: got '{'a' * 33}'; {SLUG_RULE}"),
        (("Springfield",), f"tenant Springfield: slug: got 'Springfield'; {SLUG_RULE}"),
        (("1springfield",), f"slug: got '1springfield'; {SLUG_RULE}"),
        (("spring--field",), f"slug: got 'spring--field'; {SLUG_RULE}"),
        (("springfield-",), f"slug: got 'springfield-'; {SLUG_RULE}"),
        (("admin",), "slug: got 'admin'; expected a name the estate does not use itself"),
        (("--tier", "gold"), "--tier: got 'gold'; expected one of pool, silo"),
        (("--admin-email", "it-at"), "--admin-email: got 'it-at'; expected an e-mail address"),
        (("--domain", "learn_springfield"), "--domain: got 'learn_springfield'; expected a "),
        (
            ("--env", "no-such-env"),
            "unknown environment 'no-such-env': there is no stacks/Pulumi.no-such-env.yaml",
        ),
    ],
    ids=[
        "too-short", "too-long", "upper-case", "leading-digit", "double-hyphen",
        "trailing-hyphen", "reserved", "unknown-tier", "bad-email", "bad-domain",
        "unknown-environment",
    ],
)  # fmt: skip
def test_bad_input_is_one_clear_message_and_writes_nothing(offline_tenants, arguments, message):
    command = list(CREATE)
    if arguments[0] in command:
        command[command.index(arguments[0]) + 1] = arguments[1]
    elif arguments[0].startswith("--"):
        command += arguments
    else:
        command[2] = arguments[0]
    for mode in ("--offline", "--dry-run"):
        result = osp(*command, mode)
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith("Error: ")
        assert message in result.stderr
        assert result.stderr.count("Error:") == 1 and result.stdout == ""
    assert files(offline_tenants) == {}
    assert not offline_tenants.exists()


def test_suspend_of_a_deleted_tenant_is_refused(offline_tenants):
    assert osp(*CREATE, "--offline").exit_code == 0
    assert osp("tenant", "delete", "springfield", "--env", "dev", "--offline", "-y").exit_code == 0
    before = files(offline_tenants)
    result = osp("tenant", "suspend", "springfield", "--env", "dev", "--offline", "--reason", "x")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: tenant springfield is deleted: it cannot become suspended; deleted is final\n"
    )
    assert files(offline_tenants) == before
    again = osp("tenant", "delete", "springfield", "--env", "dev", "--offline")  # no --yes
    assert again.stderr == (
        "Error: tenant springfield is deleted: it cannot become offboarding; deleted is final\n"
    )  # refused before it asks
    assert files(offline_tenants) == before


def test_delete_of_an_unknown_tenant_is_refused(offline_tenants):
    result = osp("tenant", "delete", "nowhere", "--env", "dev", "--offline", "--yes")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: no tenant nowhere in the tenant registry of dev; `osp tenant list --env ENV` "
        "shows the tenants\n"
    )
    assert files(offline_tenants) == {}


def test_list_refuses_an_unknown_state_and_tier(offline_tenants):
    result = osp("tenant", "list", "--env", "dev", "--offline", "--state", "gone", "--tier", "x")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: tenant list --env dev: --state: got 'gone'; expected one of provisioning, "
        "active, suspended, offboarding, deleted, failed",
        "tenant list --env dev: --tier: got 'x'; expected one of pool, silo",
    ]


# --- delete asks ---------------------------------------------------------------------------


def test_delete_without_a_terminal_and_without_yes_is_refused(offline_tenants):
    assert osp(*CREATE, "--offline").exit_code == 0
    before = files(offline_tenants)
    result = osp("tenant", "delete", "springfield", "--env", "dev", "--offline")
    assert result.exit_code == 1
    assert "refusing to delete tenant springfield without confirmation" in result.stderr
    assert "pass --yes" in result.stderr
    assert files(offline_tenants) == before


def test_delete_asks_for_the_slug_typed(offline_tenants, monkeypatch):
    from osp.cli import progress

    assert osp(*CREATE, "--offline").exit_code == 0
    monkeypatch.setattr(progress, "interactive", lambda: True)
    before = files(offline_tenants)
    wrong = osp("tenant", "delete", "springfield", "--env", "dev", "--offline", input="yes\n")
    assert wrong.exit_code == 1
    assert "Type the slug (springfield) to confirm" in wrong.stderr
    assert "delete tenant springfield not confirmed; nothing was changed" in wrong.stderr
    assert files(offline_tenants) == before
    typed = osp(
        "tenant", "delete", "springfield", "--env", "dev", "--offline", "--delete-data",
        input="springfield\n",
    )  # fmt: skip
    assert typed.exit_code == 0, typed.output
    assert "Delete tenant springfield and its data from dev?" in typed.stderr


# --- the wiring ----------------------------------------------------------------------------


def test_offline_the_environment_outputs_are_the_estate_plan_outputs(monkeypatch):
    from osp.platform.engine import offline
    from osp.platform.plan import Plan
    from osp.stacks.estate import build
    from tests.support import spec_of

    Planned = Plan("osp", "dev", "dev", "osp", "offline", (), {"tenantsTable": "osp-dev-tenants"})
    asked = []

    def run(spec, program, **options):
        asked.append((spec.name, program))
        return Planned

    monkeypatch.setattr(offline, "run", run)
    assert tenant_cli.offline_environment_outputs(spec_of("dev")) == Planned.outputs
    assert asked == [("dev", build)]


def test_tenant_help_imports_nothing_heavy():
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import sys
        from typer.testing import CliRunner
        from osp.cli.main import app
        for command in ([], ["create"], ["list"], ["show"], ["suspend"], ["resume"], ["delete"]):
            result = CliRunner().invoke(app, ["tenant", *command, "--help"])
            assert result.exit_code == 0, command
        heavy = [m for m in ("pulumi", "pulumi_aws", "boto3", "botocore", "osp.stacks.estate",
                             "osp.platform.engine.offline", "osp.platform.tenancy")
                 if m in sys.modules]
        print(",".join(heavy))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == ""


# --- against the estate's table (moto) -----------------------------------------------------


@pytest.fixture
def estate_table(monkeypatch, offline_tenants):
    """The dev stack's outputs name a moto DynamoDB table (the real read of the outputs needs
    the pulumi CLI: `operations.outputs` is replaced, after checking what it is asked)."""
    import boto3
    from moto import mock_aws

    from osp.platform.automation import operations
    from osp.stacks.estate import build
    from tests.platform.tenancy.conftest import create_tenants_table

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)

    def outputs(project, spec, program):
        assert (project.root, spec.name, program) == (shipped_project(), "dev", build)
        return {
            "tenantsTable": operations.Output("osp-dev-tenants", secret=False),
            "dataBuckets": operations.Output({"documents": "osp-dev-documents-9"}, secret=False),
        }

    monkeypatch.setattr(operations, "outputs", outputs)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_tenants_table(client, "osp-dev-tenants")
        yield client


def test_against_the_estate_table_a_dry_run_reads_it_and_writes_nothing(estate_table):
    from osp.platform.tenancy import DynamoDbRegistry

    result = osp(*CREATE, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["result"] == "planned"
    assert data["tenant"]["history"][0]["actor"].endswith(":user/moto")  # the STS identity
    # Planned against the stack's own outputs, not the offline ones.
    (readme,) = [r for r in data["plan"]["resources"] if r["custom"]]
    assert readme["inputs"]["bucket"] == "osp-dev-documents-9"
    assert DynamoDbRegistry("osp-dev-tenants", estate_table).list() == []


def test_against_the_estate_table_list_and_show_read_it(estate_table, tenant_engine):
    from datetime import UTC, datetime

    from osp.platform.tenancy import DynamoDbRegistry, TenantRequest, new_tenant

    registry = DynamoDbRegistry("osp-dev-tenants", estate_table)
    registry.create(
        new_tenant(
            TenantRequest("shelbyville", "Shelbyville High", "silo", "it@shelbyville.org"),
            actor="arn:aws:iam::123456789012:user/ops",
            now=datetime(2026, 5, 9, tzinfo=UTC),
        )
    )
    listed = osp("tenant", "list", "--env", "dev", "--state", "provisioning", "--json")
    assert listed.exit_code == 0, listed.output
    assert [t["slug"] for t in json.loads(listed.stdout)] == ["shelbyville"]
    shown = osp("tenant", "show", "shelbyville", "--env", "dev")
    assert "provisioning since 2026-05-09 00:00:00 UTC, by arn:aws:iam::123456789012:user/ops" in (
        shown.stdout
    )
    unknown = osp("tenant", "show", "nowhere", "--env", "dev")
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("Error: no tenant nowhere in the tenant registry of dev")


# --- real runs: tenant stacks through the Automation API ----------------------------------


@pytest.fixture
def tenant_engine(estate_table, tmp_path, monkeypatch):
    """Real runs against the moto table, each tenant stack opened through a fake engine
    (tests/cli/test_run_commands.py's): a stand-in `pulumi` on PATH for osp's own CLI check,
    `open_stack` (the one seam into the Automation API) recording every stack it opens."""
    import os

    from osp.platform.automation import stack as stacks
    from tests.cli.test_run_commands import Engine
    from tests.platform.test_automation_layer import standin

    fake = standin(tmp_path / "cli")
    monkeypatch.setenv("PATH", f"{fake.bin}{os.pathsep}{os.environ['PATH']}")
    engine = Engine()
    engine.stack.values = {"hostname": OutputValue("springfield.dev.osp.example.com", False)}
    engine.stack.removed = []
    engine.stack.workspace = SimpleNamespace(remove_stack=engine.stack.removed.append)
    monkeypatch.setattr(stacks, "open_stack", engine.open_stack)
    return engine


def test_a_real_create_brings_up_the_tenants_own_stack_and_registers_it(
    tenant_engine, offline_tenants
):
    from osp.platform.engine import offline
    from osp.platform.tenancy import DynamoDbRegistry
    from tests.support import spec_of

    created = osp(*CREATE, "--json")
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout)["result"] == "created"
    target, create = tenant_engine.opened[-1]
    assert (target.stack_name, create) == ("dev.tenant-springfield", True)
    assert target.project_name == "osp"
    # Its stack file lives in the osp home, with the environment's provider configuration.
    assert target.work_dir == offline_tenants / "workspaces" / "osp" / "dev"
    assert (target.work_dir / "Pulumi.yaml").read_text() == "name: osp\nruntime: python\n"
    assert target.config == {"aws:region": "us-east-1"}
    assert target.backend_url == f"file://{(offline_tenants / 'state').resolve()}"
    assert tenant_engine.stack.ops() == ["up"]
    # The inline program is the tenant program against the environment stack's outputs.
    plan = offline.run(spec_of("dev"), lambda spec: tenant_engine.program())
    (readme,) = [r for r in plan.resources if r.custom]
    assert readme.inputs["bucket"] == "osp-dev-documents-9"
    assert readme.inputs["content"] == "Springfield Elementary (provisioning)"
    tenant = DynamoDbRegistry("osp-dev-tenants", tenant_engine_client()).get("springfield")
    assert (tenant.state.value, tenant.blueprint_version) == ("active", "pool-1")

    shown = osp("tenant", "show", "springfield", "--env", "dev", "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["outputs"] == {"hostname": "springfield.dev.osp.example.com"}

    suspended = osp("tenant", "suspend", "springfield", "--env", "dev", "--reason", "unpaid")
    assert suspended.exit_code == 0, suspended.output
    assert tenant_engine.stack.ops()[-1] == "up"
    plan = offline.run(spec_of("dev"), lambda spec: tenant_engine.program())
    (readme,) = [r for r in plan.resources if r.custom]
    assert readme.inputs["content"] == "Springfield Elementary (suspended)"


def test_a_real_delete_releases_destroys_and_removes_the_tenant_stack(tenant_engine):
    from osp.platform.engine import offline
    from tests.support import spec_of

    assert osp(*CREATE).exit_code == 0
    deleted = osp("tenant", "delete", "springfield", "--env", "dev", "--delete-data", "--yes")
    assert deleted.exit_code == 0, deleted.output
    # Read (the stack exists), update to the offboarding form, destroy, remove.
    assert tenant_engine.stack.ops() == ["up", "outputs", "up", "destroy"]
    assert tenant_engine.stack.removed == ["dev.tenant-springfield"]
    plan = offline.run(spec_of("dev"), lambda spec: tenant_engine.program())
    assert [r.name for r in plan.resources if r.custom] == ["osp-dev-tenant-springfield-readme"]
    assert "Tenant springfield is deleted from dev" in deleted.stdout


def test_a_failed_real_create_leaves_the_tenant_failed_with_the_command_that_resumes(
    tenant_engine,
):
    from pulumi.automation import CommandError, CommandResult

    tenant_engine.stack.errors["up"] = CommandError(
        CommandResult("", "error: AccessDenied: not authorized to perform iam:CreateRole", 255)
    )
    failed = osp(*CREATE)
    assert failed.exit_code == 1
    assert "the update of dev.tenant-springfield failed" in failed.stderr
    assert "not authorized to perform iam:CreateRole" in failed.stderr
    assert "resume with: osp tenant create springfield --env dev" in failed.stderr
    assert "osp up --env" not in failed.stderr  # a tenant stack is not resumed by `osp up`
    listed = json.loads(osp("tenant", "list", "--env", "dev", "--json").stdout)
    assert [(t["slug"], t["state"]) for t in listed] == [("springfield", "failed")]

    del tenant_engine.stack.errors["up"]
    resumed = osp(*CREATE)
    assert resumed.exit_code == 0, resumed.output
    assert "is onboarded (resumed)" in resumed.stdout


def tenant_engine_client():
    import boto3

    return boto3.client("dynamodb", region_name="us-east-1")


# --- rollout -------------------------------------------------------------------------------


def _onboard(*slugs: str) -> None:
    for slug in slugs:
        created = osp(
            "tenant", "create", slug, "--env", "dev", "--name", slug.title(), "--tier", "pool",
            "--admin-email", f"it@{slug}.example.org", "--offline",
        )  # fmt: skip
        assert created.exit_code == 0, created.output


def test_rollout_brings_tenants_to_the_new_version_and_a_rerun_skips_them(
    offline_tenants, monkeypatch
):
    _onboard("springfield", "shelbyville", "ogdenville")
    monkeypatch.setattr(tenant_cli, "tier_version", lambda tier, spec: f"{tier.value}-2")
    dry = osp("tenant", "rollout", "--env", "dev", "--offline", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    before = json.loads(osp("tenant", "list", "--env", "dev", "--offline", "--json").stdout)
    assert {t["blueprint_version"] for t in before} == {"pool-1"}

    done = osp("tenant", "rollout", "--env", "dev", "--offline", "--parallel", "2")
    assert done.exit_code == 0, done.output
    assert "3 updated" in done.stdout
    after = json.loads(osp("tenant", "list", "--env", "dev", "--offline", "--json").stdout)
    assert {t["blueprint_version"] for t in after} == {"pool-2"}
    again = osp("tenant", "rollout", "--env", "dev", "--offline")
    assert again.exit_code == 0 and "0 updated, 3 already current" in again.stdout


def test_rollout_exits_1_naming_the_tenant_that_failed(offline_tenants, monkeypatch):
    _onboard("springfield", "shelbyville")

    def fails_for_shelbyville(spec, tenant, environment):
        if tenant.slug == "shelbyville":
            raise RuntimeError("quota exceeded")
        small_program(spec, tenant, environment)

    monkeypatch.setattr(tenant_cli, "tenant_program", lambda: fails_for_shelbyville)
    monkeypatch.setattr(tenant_cli, "tier_version", lambda tier, spec: f"{tier.value}-2")
    failed = osp("tenant", "rollout", "--env", "dev", "--offline")
    assert failed.exit_code == 1
    assert "shelbyville: " in failed.stdout and "quota exceeded" in failed.stdout
    assert "1 updated" in failed.stdout and "1 failed" in failed.stdout


def test_rollout_refuses_a_bad_shard_before_reading_anything(offline_tenants):
    refused = osp("tenant", "rollout", "--env", "dev", "--offline", "--shard", "4/3")
    assert refused.exit_code == 1
    assert "--shard: got '4/3'; expected I/N with 1 <= I <= N" in refused.stderr
    assert files(offline_tenants) == {}


def test_the_rollout_workflow_uses_only_options_the_command_has():
    import re

    import typer.main
    import yaml

    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "tenant-rollout.yml").read_text())
    runs = [
        step["run"]
        for job in workflow["jobs"].values()
        for step in job.get("steps", ())
        if "osp tenant rollout" in step.get("run", "")
    ]
    used = {option for run in runs for option in re.findall(r"(--[a-z][a-z-]*)", run)}
    group = typer.main.get_command(app)
    rollout = group.commands["tenant"].commands["rollout"]  # type: ignore[attr-defined]
    known = {o for p in rollout.params for o in p.opts if o.startswith("--")}
    assert {"--env", "--shard", "--parallel", "--max-failures"} <= used
    assert used <= known, used - known


# --- verify: the real tenant program, offline -------------------------------------------------


@pytest.fixture
def real_tenants(offline_tenants, monkeypatch) -> Path:
    """The CLI with the real tenant program and tier versions, against dev's offline outputs
    (the cached estate plan: the program reads them before the engine runs it)."""
    from osp.platform.tenancy.tiers import tenant_version
    from osp.stacks import tenant as tenant_stack
    from tests.support import plan_of

    monkeypatch.setattr(tenant_cli, "tenant_program", lambda: tenant_stack.build)
    monkeypatch.setattr(tenant_cli, "tier_version", lambda tier, spec: tenant_version(tier, spec))
    monkeypatch.setattr(
        tenant_cli, "offline_environment_outputs", lambda s, **_: plan_of(s.name).outputs
    )
    return offline_tenants


def test_verify_proves_real_pool_and_silo_tenants_isolated(real_tenants):
    _onboard("springfield")
    silo = osp(
        "tenant", "create", "shelbyville", "--env", "dev", "--name", "Shelbyville", "--tier",
        "silo", "--admin-email", "it@shelbyville.example.org", "--offline",
    )  # fmt: skip
    assert silo.exit_code == 0, silo.output
    checked = osp("tenant", "verify", "--all", "--env", "dev", "--offline", "--json")
    assert checked.exit_code == 0, checked.output
    report = json.loads(checked.stdout)
    assert report == {"tenants": ["shelbyville", "springfield"], "isolated": True, "findings": []}


def test_verify_exits_3_naming_the_leak(real_tenants, monkeypatch):
    from osp.stacks import tenant as tenant_stack

    def leaky(spec, tenant, environment):
        tenant_stack.build(spec, tenant, environment)
        if tenant.slug == "shelbyville":  # reads every school's files, not only its own
            bucket = environment["dataBuckets"]["documents"]
            aws.iam.RolePolicy(
                f"osp-{spec.name}-tenant-shelbyville-extra",
                role=f"osp-{spec.name}-tenant-shelbyville",
                policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                    "Sid": "Everything", "Effect": "Allow", "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/tenants/*",
                }]}),
            )  # fmt: skip

    _onboard("springfield", "shelbyville")
    monkeypatch.setattr(tenant_cli, "tenant_program", lambda: leaky)
    broken = osp("tenant", "verify", "--all", "--env", "dev", "--offline")
    assert broken.exit_code == 3, broken.output
    assert "tenant shelbyville: cross-tenant-access: osp-dev-tenant-shelbyville-extra" in (
        broken.stdout
    )
    assert "reaches tenant springfield's prefix tenants/springfield/" in broken.stdout
    assert "2 tenants in dev: NOT isolated" in broken.stdout
    # The victim's own stack is clean: verifying it alone passes.
    alone = osp("tenant", "verify", "springfield", "--env", "dev", "--offline")
    assert alone.exit_code == 0, alone.output


@pytest.mark.parametrize("arguments", [(), ("springfield", "--all")])
def test_verify_takes_one_slug_or_all(offline_tenants, arguments):
    refused = osp("tenant", "verify", *arguments, "--env", "dev", "--offline")
    assert refused.exit_code == 1
    assert "SLUG / --all: got" in refused.stderr and "expected one tenant's slug or --all" in (
        refused.stderr
    )


def test_verify_of_an_unknown_tenant_is_refused(offline_tenants):
    refused = osp("tenant", "verify", "springfield", "--env", "dev", "--offline")
    assert refused.exit_code == 1
    assert "springfield" in refused.stderr and "tenant registry of dev" in refused.stderr
