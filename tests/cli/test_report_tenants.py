"""`osp report --tenants` through typer's CliRunner, offline: the local registry of dev under
a temporary OSP_HOME (`two_schools`, tests/cli/conftest.py), each tenant stack planned by the
real tenant program against dev's offline outputs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pulumi_aws as aws
import pytest
from typer.testing import CliRunner

from osp.cli import tenant as tenant_cli
from osp.cli.main import app
from osp.platform.report.facts import TENANTS_LEFT_OUT
from osp.platform.report.rendering import schema
from osp.platform.tenancy import TenantState
from tests.cli.conftest import register
from tests.support import share_estate_plans, shipped_project

runner = CliRunner()


@pytest.fixture(autouse=True)
def _shared_estate_plans(monkeypatch):
    # dev's estate is the same in every test here (and elsewhere): planned once per run.
    share_estate_plans(monkeypatch)


@pytest.fixture
def fleet(two_schools):
    """The two schools, a suspended pool school and a deleted one."""
    register(two_schools, "ogdenville", "pool", TenantState.ACTIVE, TenantState.SUSPENDED)
    register(
        two_schools,
        "north-haverbrook",
        "pool",
        TenantState.ACTIVE,
        TenantState.OFFBOARDING,
        TenantState.DELETED,
    )
    return two_schools


def osp(*args: str):
    return runner.invoke(
        app,
        [*args, "--project-dir", str(shipped_project())],
        env={"OSP_PROJECT_DIR": None, "PATH": ""},  # no Graphviz: the diagram is not the test
    )


def report(out: Path, *options: str) -> dict:
    result = osp("report", "--env", "dev", "--offline", "--out", str(out), *options)
    assert result.exit_code == 0, result.output
    facts = json.loads((out / "report.json").read_text())
    jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker()).validate(
        facts
    )
    return facts


def leaky(spec, tenant, environment, **options):
    """The tenant program, with shelbyville also reading every school's documents."""
    from osp.stacks import tenant as tenant_stack

    tenant_stack.build(spec, tenant, environment, **options)
    if tenant.slug == "shelbyville":
        bucket = environment["dataBuckets"]["documents"]
        aws.iam.RolePolicy(
            f"osp-{spec.name}-tenant-shelbyville-extra",
            role=f"osp-{spec.name}-tenant-shelbyville",
            policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Sid": "Everything", "Effect": "Allow", "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/tenants/*",
            }]}),
        )  # fmt: skip


def test_without_tenants_the_section_says_how_to_include_them(tmp_path, fleet):
    facts = report(tmp_path, "-f", "json", "-f", "md")
    assert facts["tenants"] == {"included": False, "note": TENANTS_LEFT_OUT}
    markdown = (tmp_path / "report.md").read_text()
    assert f"## Tenants\n\n{TENANTS_LEFT_OUT}\n" in markdown
    assert "--tenants" in TENANTS_LEFT_OUT
    # The guardrails judged the estate alone: the tenant isolation rules had nothing to judge.
    assert "OSP-TENANT-1" in facts["guardrails"]["notApplicable"]


def test_with_tenants_counts_per_tier_and_state_and_each_isolation_verdict(tmp_path, fleet):
    facts = report(tmp_path, "--tenants")
    tenants = facts["tenants"]
    assert tenants["included"] and tenants["registry"] == "the local registry (offline)"
    assert tenants["total"] == 4
    assert tenants["byTier"] == {"pool": 3, "silo": 1}
    assert tenants["byState"] == {
        "provisioning": 0, "active": 2, "suspended": 1, "offboarding": 0, "deleted": 1,
        "failed": 0,
    }  # fmt: skip
    rows = {t["slug"]: t for t in tenants["tenants"]}
    assert list(rows) == ["north-haverbrook", "ogdenville", "shelbyville", "springfield"]
    assert rows["shelbyville"] == {
        "slug": "shelbyville",
        "name": "Shelbyville",
        "tier": "silo",
        "state": "active",
        "stack": "dev.tenant-shelbyville",
        "blueprintVersion": None,
        "isolation": "isolated",
        "violations": 0,
    }
    assert rows["ogdenville"]["state"] == "suspended"
    assert rows["ogdenville"]["isolation"] == "isolated"
    assert rows["north-haverbrook"]["isolation"] == "not verified"
    assert rows["north-haverbrook"]["stack"] is None
    assert tenants["isolation"] == {
        "verified": ["ogdenville", "shelbyville", "springfield"],
        "isolated": True,
        "findings": [],
    }
    assert not any("admin" in key.lower() for row in rows.values() for key in row)
    # The guardrails judged the tenant stacks too, with the tenant isolation rules.
    assert "OSP-TENANT-1" not in facts["guardrails"]["notApplicable"]
    markdown = (tmp_path / "report.md").read_text()
    assert "4 tenants in the local registry (offline)." in markdown
    assert "| silo | 1 |" in markdown and "| suspended | 1 |" in markdown
    assert "Isolated: the plans of 3 tenant stacks show no tenant reaching another's" in markdown
    assert (
        "| shelbyville | Shelbyville | silo | active | dev.tenant-shelbyville | – | isolated |"
        in markdown
    )
    assert "on the environment's plan and its 3 tenant stacks." in markdown
    html = (tmp_path / "report.html").read_text()
    assert "<h2>Tenants</h2>" in html and "<h3>Isolation</h3>" in html


def test_a_violation_is_named_as_osp_tenant_verify_names_it(tmp_path, fleet, monkeypatch):
    monkeypatch.setattr(tenant_cli, "tenant_program", lambda: leaky)
    facts = report(tmp_path, "--tenants", "-f", "json", "-f", "md")
    tenants = facts["tenants"]
    rows = {t["slug"]: t for t in tenants["tenants"]}
    assert rows["shelbyville"]["isolation"] == "not isolated"
    assert rows["springfield"]["isolation"] == "isolated"
    assert not tenants["isolation"]["isolated"]
    # One violation per school it reaches: the suspended pool school's files are still there.
    findings = tenants["isolation"]["findings"]
    assert rows["shelbyville"]["violations"] == len(findings) == 2
    assert {(f["tenant"], f["rule"], f["resource"]) for f in findings} == {
        ("shelbyville", "cross-tenant-access", "osp-dev-tenant-shelbyville-extra")
    }
    for finding, victim in zip(findings, ("ogdenville", "springfield"), strict=True):
        assert f"reaches tenant {victim}'s prefix tenants/{victim}/" in finding["evidence"]
    # The very findings `osp tenant verify` reports, from the same registry and plans.
    verified = osp("tenant", "verify", "--all", "--env", "dev", "--offline", "--json")
    assert verified.exit_code == 3, verified.output
    assert json.loads(verified.stdout) == {
        "tenants": tenants["isolation"]["verified"],
        "isolated": False,
        "findings": tenants["isolation"]["findings"],
    }
    # The guardrails judged the leaking stack too.
    failed = [f for f in facts["guardrails"]["findings"] if f["rule"] == "OSP-TENANT-1"]
    assert [f["resource"] for f in failed] == ["osp-dev-tenant-shelbyville-extra"]
    markdown = (tmp_path / "report.md").read_text()
    assert "NOT isolated: 2 violations in the plans of 3 tenant stacks." in markdown
    assert (
        "| shelbyville | Shelbyville | silo | active | dev.tenant-shelbyville | – | not isolated "
        "(2 violations) |" in markdown
    )
    assert "| shelbyville | cross-tenant-access | osp-dev-tenant-shelbyville-extra |" in markdown


def test_with_no_tenant_registered_the_section_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("OSP_HOME", str(tmp_path / "empty-home"))
    facts = report(tmp_path / "r", "--tenants", "-f", "json", "-f", "md")
    assert facts["tenants"]["total"] == 0 and facts["tenants"]["tenants"] == []
    assert facts["tenants"]["isolation"] == {"verified": [], "isolated": True, "findings": []}
    markdown = (tmp_path / "r" / "report.md").read_text()
    assert "0 tenants in the local registry (offline)." in markdown
    assert "No tenant has a stack: there is nothing to verify." in markdown
    # A report reads the registry, never writes it (the home holds at most the plan cache).
    home = tmp_path / "empty-home"
    assert not (home / "tenants").exists()
    if home.exists():
        assert [p.name for p in home.iterdir()] == ["cache"]


def test_tenants_is_in_the_help():
    result = runner.invoke(app, ["report", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--tenants" in result.stdout and "isolation" in result.stdout


# --- a real run: the environment's table (moto), each tenant stack's preview ----------------


@pytest.fixture
def real_environment(monkeypatch, tmp_path):
    """dev deployed, as far as a report reads it: its stack's outputs (dev's offline outputs,
    and `tenantsTable` naming a moto table), a real preview (its plan: dev's offline plan),
    and tenant stacks previewed through `operations.preview_stack`, which records each stack
    it is asked for and says it does not exist yet (so each is planned as its create would
    bring it up). The pulumi CLI is a stand-in on PATH; nothing reaches AWS."""
    import os

    import boto3
    from moto import mock_aws

    from osp.platform.automation import operations
    from osp.platform.automation.changes import ChangeSet
    from osp.stacks.estate import build
    from tests.platform.tenancy.conftest import create_tenants_table
    from tests.platform.test_automation_layer import standin
    from tests.support import plan_of

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("OSP_HOME", str(tmp_path / "home"))
    fake = standin(tmp_path / "cli")
    monkeypatch.setenv("PATH", f"{fake.bin}{os.pathsep}")  # no Graphviz either
    estate = plan_of("dev")
    stack_outputs = {k: operations.Output(v, secret=False) for k, v in estate.outputs.items()}
    stack_outputs["tenantsTable"] = operations.Output("osp-dev-tenants", secret=False)

    def outputs(project, spec, program):
        assert (spec.name, program) == ("dev", build)
        return stack_outputs

    def preview(project, spec, program, reporter, **options):
        assert (spec.name, program, reporter is not None) == ("dev", build, True)
        return operations.PreviewOutcome(ChangeSet(()), estate)

    previewed: list[str] = []

    def preview_stack(env, reporter):
        previewed.append(env.name)
        return None

    monkeypatch.setattr(operations, "outputs", outputs)
    monkeypatch.setattr(operations, "preview", preview)
    monkeypatch.setattr(operations, "preview_stack", preview_stack)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_tenants_table(client, "osp-dev-tenants")
        yield client, previewed


def test_a_real_report_reads_the_environments_table_and_previews_each_tenant_stack_once(
    tmp_path, real_environment
):
    from osp.platform.tenancy import DynamoDbRegistry

    client, previewed = real_environment
    registry = DynamoDbRegistry("osp-dev-tenants", client)
    register(registry, "springfield", "pool", TenantState.ACTIVE)
    register(registry, "shelbyville", "silo", TenantState.ACTIVE, TenantState.SUSPENDED)
    result = runner.invoke(
        app,
        ["report", "--env", "dev", "--tenants", "-f", "json", "--out", str(tmp_path / "r"),
         "--project-dir", str(shipped_project())],
        env={"OSP_PROJECT_DIR": None},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    facts = json.loads((tmp_path / "r" / "report.json").read_text())
    tenants = facts["tenants"]
    assert tenants["registry"] == "DynamoDB table osp-dev-tenants"
    assert (tenants["byTier"], tenants["byState"]["suspended"]) == ({"pool": 1, "silo": 1}, 1)
    assert tenants["isolation"] == {
        "verified": ["shelbyville", "springfield"],
        "isolated": True,
        "findings": [],
    }
    # Each tenant stack previewed once, for both the isolation proof and the guardrails.
    assert sorted(previewed) == ["dev.tenant-shelbyville", "dev.tenant-springfield"]
    assert "OSP-TENANT-1" not in facts["guardrails"]["notApplicable"]
