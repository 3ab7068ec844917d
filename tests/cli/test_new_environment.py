"""Adding an environment as docs/spec.md's "Adding an environment" describes: a new
stacks/Pulumi.<env>.yaml, and nothing else.

The walk-through runs in a project copy (tests never add files to the repository); the stack
file is the page's own example, read from docs/spec.md, so the two cannot drift apart. The
other tests check that an extra environment changes nothing the CLI says about the shipped
ones: what once broke when a `qa` stack file was added to the repository (tests read the
repository's stacks/ and took `qa` for a name that does not exist).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from osp.cli.main import app
from osp.platform.project import find_project
from tests.support import ENVIRONMENTS, REPO, plan_of, project_copy, shipped_project, spec_of

runner = CliRunner()
NEW = "qa"


def osp(project: Path, *args: str):
    return runner.invoke(
        app, [*args, "--project-dir", str(project)], env={"OSP_PROJECT_DIR": None, "CI": "1"}
    )


def documented_stack_file() -> str:
    """The stack file docs/spec.md's "Adding an environment" shows (its one YAML block)."""
    page = (REPO / "docs" / "spec.md").read_text(encoding="utf-8")
    section = page.split("## Adding an environment\n", 1)[1].split("\n#", 1)[0]
    (block,) = re.findall(r"\n( *)```yaml\n(.*?)\n\1```", section, flags=re.DOTALL)
    indent, text = block
    return "".join(line.removeprefix(indent) + "\n" for line in text.splitlines())


@pytest.fixture
def with_new_environment(tmp_path) -> Path:
    """A project with the shipped environments and the documented example as `qa`."""
    project = project_copy(tmp_path / "project")
    (project / "stacks" / f"Pulumi.{NEW}.yaml").write_text(documented_stack_file())
    return project


def rows(envs_stdout: str) -> dict[str, list[str]]:
    """`osp envs`'s table: each environment's cells (environment, profile, region, zones …),
    up to the second table (where each environment's defaults come from)."""
    found = {}
    for line in envs_stdout.splitlines():
        if line.startswith("Where each environment's defaults come from"):
            break
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells and re.fullmatch(r"[a-z][a-z0-9-]*", cells[0]):
            found[cells[0]] = cells
    return found


def test_the_documented_walk_through_lists_and_plans_the_new_environment(with_new_environment):
    before = sorted(p.relative_to(with_new_environment) for p in with_new_environment.rglob("*"))

    envs = osp(with_new_environment, "envs")
    assert envs.exit_code == 0, envs.output
    listed = rows(envs.stdout)
    assert sorted(listed) == sorted([*ENVIRONMENTS, NEW])
    assert listed[NEW][1:4] == ["staging", "eu-west-2", "3"]  # profile, region, zones

    preview = osp(with_new_environment, "preview", "--env", NEW, "--offline")
    assert preview.exit_code == 0, preview.output
    summary = " ".join(preview.stdout.split())
    assert re.search(
        rf"Plan: \d+ resources in \d+ components \(\d+ protected\) for {NEW} ", summary
    )
    assert f"osp-{NEW}-network-vpc aws:ec2/vpc:Vpc" in preview.stdout
    assert "eu-west-2" in summary and "profile staging" in summary

    after = sorted(p.relative_to(with_new_environment) for p in with_new_environment.rglob("*"))
    assert after == before, "an offline preview writes nothing into the project"


def test_the_shipped_environments_are_listed_as_before(with_new_environment):
    shipped = osp(shipped_project(), "envs")
    extended = osp(with_new_environment, "envs")
    assert (shipped.exit_code, extended.exit_code) == (0, 0), extended.output
    assert sorted(rows(shipped.stdout)) == sorted(ENVIRONMENTS)
    assert {env: rows(extended.stdout)[env] for env in ENVIRONMENTS} == rows(shipped.stdout)
    assert (shipped.stderr, extended.stderr) == ("", "")


@pytest.mark.parametrize(
    "command",
    [
        ("preview", "--env", "dev", "--offline"),
        ("preview", "--env", "dev", "--offline", "--json"),
        ("policy", "check", "--env", "dev", "--offline", "--json"),
    ],
    ids=["preview", "preview-json", "policy-check"],
)
def test_commands_about_a_shipped_environment_say_the_same(
    with_new_environment, monkeypatch, command
):
    from osp.platform.engine import offline
    from osp.stacks.estate import build

    # Every run here plans dev; the cached plan stands in for the engine once the spec the
    # CLI read is known to be the shipped one, so what is compared is everything around it.
    def run(spec, program, **options):
        assert (spec, program, options) == (spec_of("dev"), build, {})
        return cached

    cached = plan_of("dev")
    monkeypatch.setattr(offline, "run", run)
    shipped = osp(shipped_project(), *command)
    extended = osp(with_new_environment, *command)
    # 0, or 3 for a policy check that finds today's failures: the same either way.
    assert shipped.exit_code in (0, 3) and shipped.stdout, shipped.output
    assert (extended.exit_code, extended.stdout, extended.stderr) == (
        shipped.exit_code, shipped.stdout, shipped.stderr,
    )  # fmt: skip


def test_an_unknown_environment_lists_the_new_one_too(with_new_environment):
    result = osp(with_new_environment, "preview", "--env", "no-such-env", "--offline")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: unknown environment 'no-such-env': there is no stacks/Pulumi.no-such-env.yaml; "
        "environments in this project: dev, prod, qa, staging\n"
    )


def test_the_tests_own_project_holds_exactly_the_shipped_environments():
    assert find_project(shipped_project()).environments() == sorted(ENVIRONMENTS)


def test_a_project_copy_holds_only_the_environments_named(tmp_path):
    project = find_project(project_copy(tmp_path, ["prod"]))
    assert (project.root, project.environments()) == (tmp_path.resolve(), ["prod"])
    assert (
        project.stack_file("prod").read_bytes() == (REPO / "stacks/Pulumi.prod.yaml").read_bytes()
    )
