"""`osp preview --offline` of several environments in one run (repeated --env): every spec
and --out file checked before anything is planned, then each plan in turn — JSON lines on
stdout, <env>.json files under an --out folder, or each plan rendered. The engine answers
with the session's estate plans and records what it is asked (`engine`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from osp.cli.main import app
from tests.support import plan_of, project_copy, shipped_project

runner = CliRunner()
PROJECT = str(shipped_project())


def osp(*args: str, project: str = PROJECT):
    return runner.invoke(app, [*args, "--project-dir", project], env={"OSP_PROJECT_DIR": None})


@pytest.fixture
def engine(monkeypatch) -> list[str]:
    from osp.platform.engine import offline

    asked: list[str] = []
    answers = {name: plan_of(name) for name in ("dev", "staging", "prod")}

    def run(spec, program, **options):
        asked.append(spec.name)
        return answers[spec.name]

    monkeypatch.setattr(offline, "run", run)
    return asked


def test_json_is_one_plan_per_line_in_the_order_given(engine):
    result = osp("preview", "-e", "staging", "-e", "dev", "--env", "prod", "--offline", "--json")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [json.loads(line) for line in lines] == [
        plan_of(name).to_json() for name in ("staging", "dev", "prod")
    ]
    assert engine == ["staging", "dev", "prod"]


def test_out_dash_is_json_lines_too(engine):
    result = osp("preview", "-e", "dev", "-e", "prod", "--offline", "--out", "-")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["environment"] for line in result.stdout.splitlines()] == [
        "dev",
        "prod",
    ]


def test_out_names_a_folder_that_gets_each_environments_plan(engine, tmp_path):
    folder = tmp_path / "plans" / "ci"
    result = osp("preview", "-e", "dev", "-e", "prod", "--offline", "--out", str(folder))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == ["dev.json", "prod.json"]
    for name in ("dev", "prod"):
        assert (folder / f"{name}.json").read_text(encoding="utf-8") == plan_of(name).dumps()
        assert f"Plan JSON of {name} written to {folder / f'{name}.json'}" in result.stdout


def test_without_json_each_plan_is_rendered_in_turn(engine):
    result = osp("preview", "-e", "dev", "-e", "staging", "--offline", "--no-color")
    assert result.exit_code == 0, result.output
    dev = result.stdout.index("Plan: ")
    staging = result.stdout.index("Plan: ", dev + 1)
    assert " for dev · " in result.stdout[dev:staging]
    assert " for staging · " in result.stdout[staging:]


def test_one_environment_is_previewed_exactly_as_before(engine):
    """A single --env: the plan JSON as it always was, indented, not a JSON line."""
    result = osp("preview", "-e", "dev", "--offline", "--json")
    assert result.exit_code == 0
    assert result.stdout == plan_of("dev").dumps()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("-e", "dev", "-e", "prod"),
            "Error: --env dev, prod: several environments only with --offline; a real preview "
            "is of one stack at a time",
        ),
        (
            ("-e", "dev", "-e", "prod", "-e", "dev", "--offline"),
            "Error: --env dev: given twice; expected each environment once",
        ),
        (
            ("-e", "dev", "-e", "prod", "--offline", "--diff"),
            "Error: --diff needs the Pulumi engine: leave out --offline",
        ),
        (
            ("-e", "dev", "-e", "qa", "--offline"),
            "Error: unknown environment 'qa'",
        ),
    ],
)
def test_several_environments_are_refused_before_anything_is_planned(engine, args, message):
    result = osp("preview", *args)
    assert result.exit_code in (1, 2), result.output
    assert result.stderr.startswith(message), result.stderr
    assert engine == []


def test_an_out_that_is_a_file_is_refused_before_anything_is_planned(engine, tmp_path):
    existing = tmp_path / "plan.json"
    existing.write_text("{}", encoding="utf-8")
    result = osp("preview", "-e", "dev", "-e", "prod", "--offline", "--out", str(existing))
    assert result.exit_code == 2
    assert "a file; with several environments --out names a folder" in result.stderr
    assert engine == [] and existing.read_text(encoding="utf-8") == "{}"


def test_an_out_folder_osp_reads_is_refused_before_anything_is_planned(engine, osp_home):
    result = osp("preview", "-e", "dev", "-e", "prod", "--offline", "--out", str(osp_home))
    assert result.exit_code == 2
    assert "dev.json" in result.stderr and "inside the osp home" in result.stderr
    assert engine == []
    assert not osp_home.exists()


def test_every_environments_spec_warnings_come_before_the_plans(engine, tmp_path: Path):
    root = project_copy(tmp_path / "project")
    stack = root / "stacks" / "Pulumi.prod.yaml"
    stack.write_text(stack.read_text() + "  osp:deletion_protection: false\n", encoding="utf-8")
    result = osp("preview", "-e", "dev", "-e", "prod", "--offline", "--json", project=str(root))
    assert result.exit_code == 0, result.output
    assert "osp:deletion_protection: weakens the prod profile's protection" in result.stderr
    assert engine == ["dev", "prod"]
