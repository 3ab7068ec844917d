"""Bad input at the CLI (issue 14, items 2, 3, 5, 6, 7, 16): exit code, the message naming
the thing, and nothing written — neither in the project nor in the osp home."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from osp.cli.main import app
from tests.platform.test_spec_safety import LAUGHS
from tests.support import REPO

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A throwaway copy of the repository's project files (Pulumi.yaml, stack files)."""
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True)
    shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    for stack_file in (REPO / "stacks").glob("Pulumi.*.yaml"):
        shutil.copy(stack_file, root / "stacks" / stack_file.name)
    return root


def osp(project: Path, *args: str, env: dict[str, str] | None = None):
    home = project.parent / "home"
    return runner.invoke(
        app,
        list(args),
        env={"OSP_PROJECT_DIR": str(project), "OSP_HOME": str(home), **(env or {})},
    )


def snapshot(project: Path) -> dict[str, bytes]:
    return {str(p.relative_to(project)): p.read_bytes() for p in project.rglob("*") if p.is_file()}


def assert_nothing_written(project: Path, before: dict[str, bytes]) -> None:
    assert snapshot(project) == before
    assert not (project.parent / "home").exists()
    assert sorted(p.name for p in project.parent.iterdir()) == ["project"]


def test_prod_with_the_dev_profile_is_refused(project):
    stack = project / "stacks" / "Pulumi.prod.yaml"
    stack.write_text(stack.read_text() + "  osp:profile: dev\n")
    before = snapshot(project)
    result = osp(project, "preview", "--env", "prod", "--offline", "--out", "plan.json")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: stacks/Pulumi.prod.yaml:18: osp:profile: got 'dev'; expected 'prod' or no "
        "osp:profile: an environment named after a profile takes that profile"
    )
    assert_nothing_written(project, before)


def test_weakened_stances_are_warned_by_envs_and_preview(project, monkeypatch):
    stack = project / "stacks" / "Pulumi.prod.yaml"
    stack.write_text(
        stack.read_text() + "  osp:deletion_protection: false\n  osp:database: {multi_az: false}\n"
    )
    before = snapshot(project)
    warnings = [
        "warning: stacks/Pulumi.prod.yaml:18: osp:deletion_protection: weakens the prod "
        "profile's protection: got False; the preset (blueprints/presets/prod.yaml (bundled)) "
        "has True",
        "warning: stacks/Pulumi.prod.yaml:19: osp:database.multi_az: weakens the prod profile's "
        "protection: got False; the preset (blueprints/presets/prod.yaml (bundled)) has True",
    ]
    result = osp(project, "envs")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == warnings

    from osp.platform.engine import offline

    def refuse(*_args, **_kwargs):
        raise AssertionError("the warnings come before the plan; this test stops there")

    monkeypatch.setattr(offline, "run", refuse)
    result = osp(project, "preview", "--env", "prod", "--offline")
    assert result.stderr.splitlines()[:2] == warnings
    assert_nothing_written(project, before)


def test_a_billion_laughs_stack_file_is_refused_fast_by_every_reader(project):
    (project / "stacks" / "Pulumi.dev.yaml").write_text(LAUGHS)
    before = snapshot(project)
    started = time.monotonic()
    envs = osp(project, "envs")
    preview = osp(project, "preview", "--env", "dev", "--offline")
    assert time.monotonic() - started < 5
    refused = "stacks/Pulumi.dev.yaml:6: refused: the document expands to more than 20,000 values"
    assert envs.exit_code == preview.exit_code == 1
    assert refused in envs.stderr and preview.stderr.startswith(f"Error: {refused}")
    assert_nothing_written(project, before)


def test_an_oversized_stack_file_is_refused(project):
    stack = project / "stacks" / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text() + "# padding\n" * 100_000)
    before = snapshot(project)
    result = osp(project, "preview", "--env", "dev", "--offline")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: stacks/Pulumi.dev.yaml: refused: the file is 1,")
    assert_nothing_written(project, before)


def test_every_missing_key_at_once_and_an_empty_file(project):
    (project / "stacks" / "Pulumi.dev.yaml").write_text("config:\n  osp:profile: dev\n")
    (project / "stacks" / "Pulumi.qa.yaml").write_text("")
    before = snapshot(project)
    result = osp(project, "envs")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: stacks/Pulumi.dev.yaml: 3 problems:",
        "  stacks/Pulumi.dev.yaml: aws:region: required key is missing; expected an AWS region "
        "such as eu-west-2",
        "  stacks/Pulumi.dev.yaml: osp:domain: required key is missing; expected the DNS name "
        "the portals and the API live under, such as school.example.com",
        "  stacks/Pulumi.dev.yaml: osp:cluster.admin_role_arns: required key is missing; "
        "expected a list of at least one IAM role ARN: the cluster grants its creator nothing, "
        "so without one nobody can administer it",
        "Error: stacks/Pulumi.qa.yaml: the file is empty; expected a Pulumi stack file whose "
        "'config:' section states at least aws:region, osp:domain, osp:cluster.admin_role_arns, "
        "osp:profile",
    ]
    assert_nothing_written(project, before)


def test_an_unknown_blueprint_argument_is_reported_as_the_argument(project):
    (project / "stacks" / "Pulumi.dev.yaml").write_text("")  # not even read
    before = snapshot(project)
    result = osp(project, "preview", "--env", "dev", "--offline", "--blueprint", "nosuch")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: --blueprint: got 'nosuch'; expected one of the blueprints available: "
        "code-learn, learning-hub, learning-platform, lms, osp\n"
    )
    assert_nothing_written(project, before)


def test_a_bad_project_dir_variable_is_named_as_the_variable(project):
    nope = project.parent / "nope"
    result = osp(project, "envs", env={"OSP_PROJECT_DIR": str(nope)})
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: OSP_PROJECT_DIR: '{nope}' holds no Pulumi.yaml")
    option = osp(project, "envs", "--project-dir", str(nope))
    assert option.exit_code == 1
    assert option.stderr.startswith(f"Error: --project-dir: '{nope}' holds no Pulumi.yaml")
    assert not nope.exists() and not (project.parent / "home").exists()


def test_colliding_environments_are_warned_naming_both_files(project):
    staging = (project / "stacks" / "Pulumi.staging.yaml").read_text()
    (project / "stacks" / "Pulumi.qa.yaml").write_text(
        staging.replace("  osp:network:\n    cidr: 10.20.0.0/16\n", "  osp:profile: staging\n")
    )
    before = snapshot(project)
    result = osp(project, "envs")
    assert result.exit_code == 0, result.output
    assert (
        "warning: stacks/Pulumi.qa.yaml:5: osp:domain: 'staging.osp.example.com' is also the "
        "domain of stacks/Pulumi.staging.yaml; expected a domain of its own per environment"
    ) in result.stderr
    assert (
        "warning: stacks/Pulumi.staging.yaml:5: osp:domain: 'staging.osp.example.com' is also "
        "the domain of stacks/Pulumi.qa.yaml"
    ) in result.stderr
    assert_nothing_written(project, before)


def test_envs_names_the_file_of_each_blueprint_and_preset(project):
    own = project / "blueprints" / "presets"
    own.mkdir(parents=True)
    shutil.copy(REPO / "blueprints" / "presets" / "prod.yaml", own / "prod.yaml")
    result = osp(project, "envs", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = {
        cells[0]: cells[1:]
        for line in result.stdout.splitlines()
        if (cells := [c.strip() for c in line.split("│")[1:-1]]) and "yaml" in line
    }
    assert rows["dev"] == [
        "blueprints/osp/blueprint.yaml (bundled)",
        "blueprints/presets/dev.yaml (bundled)",
    ]
    assert rows["prod"] == [
        "blueprints/osp/blueprint.yaml (bundled)",
        "blueprints/presets/prod.yaml",
    ]
    repo = runner.invoke(app, ["envs"], env={"OSP_PROJECT_DIR": str(REPO), "COLUMNS": "200"})
    assert "blueprints/presets/prod.yaml (bundled)" not in repo.stdout
    assert "blueprints/presets/prod.yaml" in repo.stdout
