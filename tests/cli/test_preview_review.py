"""`osp preview --offline --against FILE`: the diff as text, as data (--json), as the review
comment (--format markdown), --expect-no-changes, and every refusal before planning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from osp.cli.main import app
from tests.support import plan_of, share_estate_plans, shipped_project

runner = CliRunner()


def osp(*args: str):
    return runner.invoke(app, [*args, "--project-dir", str(shipped_project())])


@pytest.fixture
def saved(tmp_path: Path, monkeypatch) -> Path:
    """The dev plan saved, with the primary database's instance class edited."""
    share_estate_plans(monkeypatch)
    monkeypatch.setenv("GITHUB_SHA", "feedface")
    data = json.loads(plan_of("dev").dumps())
    for resource in data["resources"]:
        if resource["name"] == "osp-dev-postgres-primary":
            resource["inputs"]["instanceClass"] = "db.t4g.small"
    path = tmp_path / "base.json"
    path.write_text(json.dumps(data))
    return path


def test_the_diff_as_text_and_expect_no_changes(saved):
    result = osp("preview", "--env", "dev", "--offline", "--against", str(saved))
    assert result.exit_code == 0, result.output
    assert "~ update  aws:rds/instance:Instance osp-dev-postgres-primary" in result.output
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete" in result.output
    strict = osp(
        "preview", "--env", "dev", "--offline", "--against", str(saved), "--expect-no-changes"
    )
    assert strict.exit_code == 2


def test_no_changes_exits_0_with_expect_no_changes(tmp_path, monkeypatch):
    share_estate_plans(monkeypatch)
    path = tmp_path / "same.json"
    path.write_text(plan_of("dev").dumps())
    result = osp(
        "preview",
        "--env",
        "dev",
        "--offline",
        "--against",
        str(path),
        "--expect-no-changes",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["verdict"] == "no-changes" and data["changes"] == []


def test_the_diff_as_data(saved):
    result = osp("preview", "--env", "dev", "--offline", "--against", str(saved), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (change,) = data["changes"]
    assert change["name"] == "osp-dev-postgres-primary" and change["op"] == "update"
    assert change["properties"][0]["path"] == "instanceClass"
    assert data["counts"]["update"] == 1 and data["callouts"] == []


def test_the_review_comment(saved):
    result = osp(
        "preview", "--env", "dev", "--offline", "--against", str(saved), "--format", "markdown"
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("<!-- osp-preview:dev -->\n")
    assert "`~ update` `osp-dev-postgres-primary`" in text
    assert "### Guardrails" in text
    assert "commit `feedface`" in text and "offline plan compared with base.json" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--against", "base.json"], "--against base.json: only with --offline"),
        (["--offline", "--format", "markdown"], "--format markdown shows changes: add --against"),
        (["--offline", "--expect-no-changes"], "--expect-no-changes needs changes to look at"),
        (
            ["--offline", "--against", "b.json", "--format", "markdown", "--json"],
            "--format markdown and --json",
        ),
        (["--offline", "--against", "b.json", "--out", "-"], "--out - with --against"),
        (["--offline", "--against", "missing.json"], "--against missing.json: no such file"),
    ],
)
def test_bad_usage_is_refused_before_planning(args, message, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)

    def never(*_args, **_options):
        raise AssertionError("planned")

    from osp.platform.engine import offline

    monkeypatch.setattr(offline, "run", never)
    result = osp("preview", "--env", "dev", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
