"""`osp policy check | list` through typer's CliRunner, offline.

A weakened environment is a temporary project: this repository's Pulumi.yaml and prod stack
file, with one setting changed. The rules themselves are tested in tests/platform/policy/.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from osp.cli.main import app
from osp.platform.policy import RULES
from tests.support import REPO, share_estate_plans, shipped_project

runner = CliRunner()


@pytest.fixture(autouse=True)
def _shared_estate_plans(monkeypatch):
    # Every check here plans an estate (the same weakened prod, each shipped environment) that
    # another test, or the policy tests over plan_of, planned already: the command's own work is
    # the checking and the output, which each test still runs end to end.
    share_estate_plans(monkeypatch)


SARIF_SCHEMA = json.loads((REPO / "tests" / "fixtures" / "sarif-2.1.0-rtm.5.json").read_text())


def osp(*args: str, project: Path | None = None):
    project = project or shipped_project()
    return runner.invoke(app, [*args, "--project-dir", str(project)], env={"OSP_PROJECT_DIR": None})


def project_with(tmp_path: Path, environment: str, config: str) -> Path:
    """A project whose `environment` stack file has `config` (YAML lines under `config:`)."""
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    text = (REPO / "stacks" / f"Pulumi.{environment}.yaml").read_text()
    assert "\nconfig:\n" in text
    (tmp_path / "stacks" / f"Pulumi.{environment}.yaml").write_text(
        text.replace("\nconfig:\n", "\nconfig:\n" + config, 1)
    )
    return tmp_path


SINGLE_AZ = "  osp:database:\n    multi_az: false\n"


def waiver(expires: date, rule: str = "OSP-RDS-1", resource: str = "osp-prod-postgres-*") -> str:
    return (
        "  osp:policy:\n    waivers:\n"
        f"      - rule: {rule}\n        resource: {resource}\n"
        "        reason: Single-AZ until the migration window of the spring term\n"
        f"        expires: {expires.isoformat()}\n        approved_by: security@example.org\n"
    )


@pytest.fixture(scope="module")
def single_az(tmp_path_factory) -> Path:
    return project_with(tmp_path_factory.mktemp("single-az"), "prod", SINGLE_AZ)


# --- check -----------------------------------------------------------------------------------


def test_a_weakened_prod_fails_with_exit_3_naming_rule_resource_and_value(single_az):
    result = osp("policy", "check", "--env", "prod", "--offline", project=single_az)
    assert result.exit_code == 3, result.output
    out = result.stdout
    assert "FAILED OSP-RDS-1 [high] Production databases are Multi-AZ" in out
    assert "resource: osp-prod-postgres-primary (aws:rds/instance:Instance)" in out
    assert "evidence: multiAz = false" in out
    assert "controls: RDS.5" in out and "fix: Set `multi_az: true`" in out
    assert "failing at or above high: exit 3" in out


def test_the_exit_code_follows_the_failures_at_or_above_fail_on(single_az):
    """Exit 3 exactly when some failure is at least --fail-on; the JSON says the same."""
    for threshold in ("critical", "high", "medium", "low"):
        result = osp(
            "policy", "check", "--env", "prod", "--offline", "--json", "--fail-on", threshold,
            project=single_az,
        )  # fmt: skip
        data = json.loads(result.stdout)
        rank = ["low", "medium", "high", "critical"].index
        failing = [
            f for f in data["findings"]
            if f["outcome"] == "failed" and rank(f["severity"]) >= rank(threshold)
        ]  # fmt: skip
        assert result.exit_code == (3 if failing else 0), threshold
        assert data["passed"] is (not failing)


def test_fail_on_critical_lets_a_high_failure_through(single_az):
    result = osp(
        "policy", "check", "--env", "prod", "--offline", "--fail-on", "critical", project=single_az
    )
    assert result.exit_code == 0, result.output
    assert "FAILED OSP-RDS-1" in result.stdout  # still shown
    assert "Passed: nothing fails at or above critical." in result.stdout


def test_an_active_waiver_accepts_the_failure_and_is_listed(tmp_path):
    project = project_with(tmp_path, "prod", SINGLE_AZ + waiver(date.today() + timedelta(30)))
    result = osp("policy", "check", "--env", "prod", "--offline", "--json", project=project)
    data = json.loads(result.stdout)
    assert data["summary"]["high"]["waived"] == 1
    assert not [
        f for f in data["findings"] if f["rule"] == "OSP-RDS-1" and f["outcome"] == "failed"
    ]
    (finding,) = [f for f in data["findings"] if f["rule"] == "OSP-RDS-1"]
    assert (finding["rule"], finding["outcome"], finding["resource"]) == (
        "OSP-RDS-1", "waived", "osp-prod-postgres-primary",
    )  # fmt: skip
    (listed,) = data["waivers"]
    assert listed["matched"] == 1 and listed["expired"] is False
    assert listed["approvedBy"] == "security@example.org"


def test_an_expired_waiver_fails_and_says_it_expired(tmp_path):
    expired = date.today() - timedelta(days=1)
    project = project_with(tmp_path, "prod", SINGLE_AZ + waiver(expired))
    result = osp("policy", "check", "--env", "prod", "--offline", project=project)
    assert result.exit_code == 3, result.output
    assert f"waiver expired on {expired.isoformat()}" in result.stdout
    assert "EXPIRED, 1 matched" in result.stdout


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            waiver(date(2030, 1, 1), rule="OSP-NOPE-1"),
            "osp:policy.waivers[0].rule: got 'OSP-NOPE-1'; expected one of the rules",
        ),
        (
            waiver(date(2030, 1, 1), rule="rds"),
            "osp:policy.waivers[0].rule: got 'rds'; expected a rule id such as OSP-RDS-1",
        ),
        (
            waiver(date(2030, 1, 1)).replace(
                "        reason: Single-AZ until the migration window of the spring term\n",
                "        reason: legacy\n",
            ),
            "osp:policy.waivers[0].reason: got 'legacy'; expected a reason of at least 20",
        ),
        (
            waiver(date(2030, 1, 1)).replace("        expires: 2030-01-01\n", ""),
            "osp:policy.waivers[0].expires: required key is missing",
        ),
    ],
    ids=["unknown-rule", "malformed-rule", "no-reason", "no-expiry"],
)
def test_a_bad_waiver_is_refused_before_anything_is_planned(tmp_path, config, expected):
    project = project_with(tmp_path, "prod", config)
    result = osp("policy", "check", "--env", "prod", "--offline", project=project)
    assert result.exit_code == 1
    assert "stacks/Pulumi.prod.yaml" in result.stderr and expected in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
@pytest.mark.parametrize("blueprint", ["osp", "learning-hub"])
def test_every_environment_and_blueprint_is_checked(environment, blueprint):
    result = osp(
        "policy", "check", "--env", environment, "--offline", "--blueprint", blueprint, "--json"
    )
    assert result.exit_code in (0, 3), result.output
    data = json.loads(result.stdout)
    assert data["environment"] == environment
    counted = sum(sum(c.values()) for c in data["summary"].values())
    assert counted >= len(RULES)
    assert data["passed"] is (result.exit_code == 0)


def test_sarif_validates_against_the_sarif_2_1_0_schema(tmp_path):
    project = project_with(tmp_path, "prod", SINGLE_AZ + waiver(date(2000, 1, 1)))
    result = osp("policy", "check", "--env", "prod", "--offline", "-f", "sarif", project=project)
    assert result.exit_code == 3, result.output
    sarif = json.loads(result.stdout)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    (run,) = sarif["runs"]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [r.id for r in RULES]
    (result_,) = [r for r in run["results"] if r["ruleId"] == "OSP-RDS-1"]
    assert result_["level"] == "error"
    location = result_["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "stacks/Pulumi.prod.yaml"
    assert location["logicalLocations"][0]["name"] == "osp-prod-postgres-primary"
    assert "suppressions" not in result_  # the waiver expired


def test_a_waived_finding_is_an_accepted_suppression_in_sarif(tmp_path):
    project = project_with(tmp_path, "prod", SINGLE_AZ + waiver(date(2999, 1, 1)))
    result = osp("policy", "check", "--env", "prod", "--offline", "-f", "sarif", project=project)
    sarif = json.loads(result.stdout)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    (waived,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "OSP-RDS-1"]
    (suppression,) = waived["suppressions"]
    assert suppression["status"] == "accepted"
    assert "approved by security@example.org" in suppression["justification"]


def test_the_schema_check_would_catch_a_broken_sarif():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(SARIF_SCHEMA).validate({"version": "2.1.0", "runs": [{}]})


def test_markdown_is_a_page_section_with_the_failures(single_az):
    result = osp(
        "policy", "check", "--env", "prod", "--offline", "-f", "markdown", project=single_az
    )
    assert result.exit_code == 3
    text = result.stdout
    assert text.startswith("### Guardrails: prod\n")
    assert "| high | " in text
    assert (
        "| OSP-RDS-1 Production databases are Multi-AZ | high | `osp-prod-postgres-primary` |"
        in (text)
    )


def test_usage_errors_exit_2():
    both = osp("policy", "check", "--env", "prod", "--offline", "--json", "-f", "sarif")
    assert both.exit_code == 2 and "--json and --format sarif" in both.stderr
    real = osp("policy", "check", "--env", "prod", "--blueprint", "learning-hub")
    assert real.exit_code == 2 and "only with --offline" in real.stderr
    bad = osp("policy", "check", "--env", "prod", "--offline", "--fail-on", "severe")
    assert bad.exit_code == 2


def test_an_unknown_environment_is_one_clear_error():
    result = osp("policy", "check", "--env", "no-such-env", "--offline")
    assert result.exit_code == 1
    assert "unknown environment 'no-such-env'" in result.stderr and "Traceback" not in result.output


# --- list ------------------------------------------------------------------------------------


def test_list_is_the_catalogue():
    result = runner.invoke(app, ["policy", "list", "--json"])
    assert result.exit_code == 0, result.output
    catalogue = json.loads(result.stdout)
    assert [r["id"] for r in catalogue] == [r.id for r in RULES]
    for rule in catalogue:
        assert rule["severity"] in {"critical", "high", "medium", "low"}
        assert rule["controls"] and rule["rationale"] and rule["fix"] and rule["title"]
    table = runner.invoke(app, ["policy", "list"])
    assert "OSP-RDS-1" in table.stdout and f"{len(RULES)} rules." in table.stdout


# --- with the tenants' stacks ----------------------------------------------------------------


def test_tenants_are_judged_with_the_isolation_rules(two_schools):
    result = osp(
        "policy", "check", "--env", "dev", "--offline", "--tenants", "--json",
        "--fail-on", "critical",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "OSP-TENANT-1" not in data["notApplicable"]
    assert not [f for f in data["findings"] if f["rule"].startswith("OSP-TENANT")]


def test_a_tenant_policy_reaching_another_school_fails_critical(two_schools, monkeypatch):
    import pulumi_aws as aws

    from osp.cli import tenant as tenant_cli
    from osp.stacks.tenant import build

    def leaky(spec, tenant, environment, **options):
        build(spec, tenant, environment, **options)
        if tenant.slug == "springfield":
            role = aws.iam.Role("leak-role", assume_role_policy="{}")
            aws.iam.RolePolicy(
                "leak",
                role=role.id,
                policy=json.dumps({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow", "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::osp-dev-*/tenants/shelbyville/*",
                    }],
                }),
            )  # fmt: skip

    monkeypatch.setattr(tenant_cli, "tenant_program", lambda: leaky)
    result = osp("policy", "check", "--env", "dev", "--offline", "--tenants")
    assert result.exit_code == 3, result.output
    assert "FAILED OSP-TENANT-1 [critical]" in result.stdout
    assert "resource: leak (aws:iam/rolePolicy:RolePolicy)" in result.stdout
    assert "shelbyville" in result.stdout
