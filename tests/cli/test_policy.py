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
from tests.support import REPO, shipped_project

runner = CliRunner()
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
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["passed"] is True and data["summary"]["high"]["waived"] == 1
    (finding,) = data["findings"]
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
    assert result.exit_code == 0, result.output
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
