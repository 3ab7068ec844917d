"""The `osp` CLI through typer's CliRunner: exit codes, messages, JSON on stdout.

The rendering tests take the offline engine's plan from `tests.support.plan_of` (`planned`):
what they check is the CLI's rendering of a plan, and a whole estate takes seconds to plan.
`test_preview_blueprint_previews_another_catalogue_for_one_run` runs the real engine end to end.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from osp.cli.main import app
from osp.platform.errors import OspError
from tests.support import REPO, plan_of, shipped_project, spec_of

runner = CliRunner()
PROJECT = shipped_project()


def osp(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env={"OSP_PROJECT_DIR": None, **(env or {})})


@pytest.fixture
def planned(monkeypatch) -> Callable[[str], list[str]]:
    """`planned(env)`: from then on the offline engine answers with the cached plan of `env`,
    after checking that the CLI asked for the estate program and the repository's spec of
    `env`. Returns the list of the environments the CLI asks for, in order."""
    from osp.platform.engine import offline
    from osp.stacks.estate import build

    def answer_with(environment: str) -> list[str]:
        cached = plan_of(environment)  # planned by the real engine, before it is replaced
        asked: list[str] = []

        def run(spec, program, **options):
            assert program is build
            assert not options
            assert spec == spec_of(environment)
            asked.append(spec.name)
            return cached

        monkeypatch.setattr(offline, "run", run)
        return asked

    return answer_with


def test_help_lists_commands_and_exit_codes():
    result = osp("--help")
    assert result.exit_code == 0
    for text in ("preview", "envs", "Exit codes: 0 success; 1 error", "2 usage"):
        assert text in result.stdout


def test_version():
    result = osp("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("osp 0.")


def test_envs_lists_environments_with_region_and_profile():
    result = osp("envs", "--project-dir", str(PROJECT))
    assert result.exit_code == 0, result.output
    rows = [line.split("│") for line in result.stdout.splitlines() if "us-east-1" in line]
    assert [[cell.strip() for cell in row[1:3]] for row in rows] == [
        ["dev", "dev"], ["prod", "prod"], ["staging", "staging"],
    ]  # fmt: skip


def test_envs_flags_an_invalid_file_and_exits_1(project_copy):
    (project_copy / "stacks" / "Pulumi.qa.yaml").write_text(
        "config:\n  osp:profile: dev\n  osp:domain: x\n"
    )
    result = osp("envs", "--project-dir", str(project_copy))
    assert result.exit_code == 1
    assert "invalid" in result.stdout
    assert result.stderr == (
        "Error: stacks/Pulumi.qa.yaml: 3 problems:\n"
        "  stacks/Pulumi.qa.yaml: aws:region: required key is missing; expected an AWS region "
        "such as eu-west-2\n"
        "  stacks/Pulumi.qa.yaml: osp:cluster.admin_role_arns: required key is missing; expected "
        "a list of at least one IAM role ARN: the cluster grants its creator nothing, so without "
        "one nobody can administer it\n"
        "  stacks/Pulumi.qa.yaml:3: osp:domain: got 'x'; expected a lower-case DNS name with at "
        "least two labels, such as school.example.com\n"
    )
    assert next(r for r in result.stdout.splitlines() if "us-east-1" in r).split()[1] == "dev"


def test_preview_offline_prints_the_tree_counts_and_summary(planned):
    asked = planned("prod")
    result = osp("preview", "--env", "prod", "--offline", "--project-dir", str(PROJECT))
    assert result.exit_code == 0, result.output
    assert asked == ["prod"]
    out = result.stdout
    assert "osp-prod-network osp:network:Network" in out
    assert "osp-prod-network-vpc aws:ec2/vpc:Vpc" in out
    assert "aws:ec2/subnet:Subnet" in out and "Resources by type" in out
    plan = plan_of("prod")
    protected = sum(r.options.protect for r in plan.resources)
    assert (
        f"Plan: {plan.custom_count} resources in {plan.component_count} components "
        f"({protected} protected) for prod"
    ) in " ".join(out.split())
    assert protected > 0


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_preview_json_is_the_plan_and_nothing_else(environment, planned):
    asked = planned(environment)
    result = osp("preview", "-e", environment, "--offline", "--json", "--project-dir", str(PROJECT))
    assert result.exit_code == 0, result.stderr
    assert asked == [environment]
    plan = json.loads(result.stdout)
    assert plan["environment"] == environment and plan["engine"] == "offline"
    by_urn = {r["urn"]: r for r in plan["resources"]}
    (vpc,) = [r for r in plan["resources"] if r["type"] == "aws:ec2/vpc:Vpc"]
    assert by_urn[vpc["parent"]]["type"] == "osp:network:Network"


def test_preview_out_writes_the_same_json(tmp_path, planned):
    target = tmp_path / "plans" / "dev.json"
    asked = planned("dev")
    printed = osp("preview", "-e", "dev", "--offline", "--json", "--project-dir", str(PROJECT))
    written = osp(
        "preview", "-e", "dev", "--offline", "--out", str(target), "--project-dir", str(PROJECT)
    )
    assert written.exit_code == 0
    assert asked == ["dev"]  # the second preview reads the plan from the cache
    assert f"Plan JSON written to {target}" in written.stdout
    assert target.read_text() == printed.stdout
    assert [p.name for p in target.parent.iterdir()] == ["dev.json"]  # no temporary left


def test_project_is_found_from_a_subdirectory(monkeypatch, planned):
    asked = planned("dev")
    monkeypatch.chdir(PROJECT / "stacks")
    result = osp("preview", "--env", "dev", "--offline", "--json")
    assert result.exit_code == 0, result.stderr
    assert asked == ["dev"]


def test_project_dir_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = osp("envs", env={"OSP_PROJECT_DIR": str(PROJECT)})
    assert result.exit_code == 0, result.stderr


def test_unknown_environment_names_the_ones_that_exist():
    result = osp("preview", "--env", "no-such-env", "--offline", "--project-dir", str(PROJECT))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: unknown environment 'no-such-env': there is no stacks/Pulumi.no-such-env.yaml; "
        "environments in this project: dev, prod, staging\n"
    )


def test_bad_stack_file_lists_every_problem_and_creates_nothing(project_copy, tmp_path):
    stack = project_copy / "stacks" / "Pulumi.prod.yaml"
    stack.write_text(
        textwrap.dedent(
            """\
            config:
              aws:region: us-east-1
              osp:domain: osp.example.com
              osp:network:
                cidr: 10.30.0.0/33
                nat: both
            """
        )
    )
    target = tmp_path / "plan.json"
    result = osp(
        "preview", "-e", "prod", "--offline", "--out", str(target),
        "--project-dir", str(project_copy),
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: stacks/Pulumi.prod.yaml: 3 problems:\n"
        "  stacks/Pulumi.prod.yaml: osp:cluster.admin_role_arns: required key is missing; expected "
        "a list of at least one IAM role ARN: the cluster grants its creator nothing, so without "
        "one nobody can administer it\n"
        "  stacks/Pulumi.prod.yaml:5: osp:network.cidr: got '10.30.0.0/33'; expected an IPv4 "
        "CIDR block with no host bits set, such as 10.0.0.0/16\n"
        "  stacks/Pulumi.prod.yaml:6: osp:network.nat: got 'both'; expected one of 'single', "
        "'per-az'\n"
    )
    assert "Traceback" not in result.output
    assert not target.exists()


def test_malformed_yaml_names_file_and_line(project_copy):
    (project_copy / "stacks" / "Pulumi.dev.yaml").write_text("config:\n  osp:tags: {a: 1\n")
    result = osp("preview", "-e", "dev", "--offline", "--project-dir", str(project_copy))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: stacks/Pulumi.dev.yaml:3: not valid YAML: ")


def test_project_dir_without_pulumi_yaml(tmp_path):
    result = osp("preview", "-e", "dev", "--offline", "--project-dir", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: --project-dir: {str(tmp_path)!r} holds no Pulumi.yaml; expected the root of an "
        "osp project (the folder with Pulumi.yaml)\n"
    )


def test_no_project_above_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = osp("envs")
    assert result.exit_code == 1
    assert f"Error: no Pulumi.yaml in {tmp_path.resolve()} or any folder above it" in result.stderr


def test_preview_without_offline_and_without_the_pulumi_cli_says_how_to_get_it(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = osp("preview", "--env", "dev", "--project-dir", str(PROJECT))
    assert result.exit_code == 1
    assert "the pulumi CLI for real runs, and it is not installed" in result.stderr
    assert "curl -fsSL https://get.pulumi.com | sh" in result.stderr
    assert "`osp preview --env ENV --offline`" in result.stderr


def test_unknown_option_is_a_usage_error():
    result = osp("preview", "--env", "dev", "--offlne")
    assert result.exit_code == 2


def test_an_out_under_a_file_is_refused_before_anything_is_planned(tmp_path, planned):
    blocker = tmp_path / "file"
    blocker.write_text("")
    asked = planned("dev")
    result = osp(
        "preview", "-e", "dev", "--offline", "--out", str(blocker / "plan.json"),
        "--project-dir", str(PROJECT),
    )  # fmt: skip
    assert result.exit_code == 2
    assert asked == []
    assert result.stderr == (
        f"Error: --out {str(blocker / 'plan.json')!r}: {blocker} is a file, not a folder\n"
    )


def test_help_imports_nothing_heavy():
    """`osp --help` must stay instant: no cloud SDKs, no components, not even pulumi."""
    code = textwrap.dedent(
        """
        import sys
        from typer.testing import CliRunner
        from osp.cli.main import app
        for args in (["--help"], ["preview", "--help"], ["envs", "--help"], ["--version"]):
            assert CliRunner().invoke(app, args).exit_code == 0, args
        heavy = [m for m in ("pulumi", "pulumi_aws", "pulumi_kubernetes", "pulumi_eks",
                             "osp.components", "osp.stacks.estate", "osp.platform.engine.offline",
                             "boto3")
                 if m in sys.modules]
        print(",".join(heavy))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == ""


def test_preview_blueprint_previews_another_catalogue_for_one_run():
    result = osp("preview", "--env", "dev", "--offline", "--blueprint", "learning-hub", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["blueprint"] == "learning-hub"
    groups = [r for r in plan["resources"] if r["type"] == "aws:lb/targetGroup:TargetGroup"]
    assert [g["name"] for g in groups] == ["osp-dev-api-tg-api-gateway"]


def test_preview_blueprint_refuses_an_unknown_one_and_real_runs():
    unknown = osp("preview", "--env", "dev", "--offline", "--blueprint", "moodle")
    assert unknown.exit_code == 1
    assert unknown.stderr == (
        "Error: --blueprint: got 'moodle'; expected one of the blueprints available: code-learn, "
        "learning-hub, learning-platform, lms, osp (the project's blueprints/ folder, then osp's "
        "own)\n"
    )
    real = osp("preview", "--env", "dev", "--blueprint", "learning-hub")
    assert real.exit_code == 2
    assert "--blueprint learning-hub: only with --offline" in real.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["envs"],
        ["preview", "--env", "dev", "--offline"],
        ["preview", "--env", "dev"],
        ["up", "--env", "dev", "--yes"],
        ["destroy", "--env", "dev", "--yes"],
        ["refresh", "--env", "dev"],
        ["outputs", "--env", "dev"],
        ["doctor", "--env", "dev"],
        ["bootstrap", "--region", "us-east-1", "--write", "--env", "dev"],
    ],
)
def test_every_command_reports_an_osp_error_once_with_its_exit_code(command, monkeypatch):
    from osp.platform import project as projects

    class Refused(OspError):
        exit_code = 7

    def refuse(project_dir=None):
        raise Refused("no project here\nsecond line")

    monkeypatch.setattr(projects, "find_project", refuse)
    result = osp(*command)
    assert result.exit_code == 7, result.output
    assert result.stdout == ""
    assert result.stderr == "Error: no project here\nsecond line\n"


def test_anything_else_is_a_bug_and_keeps_its_traceback(monkeypatch):
    from osp.platform import project as projects

    def broken(project_dir=None):
        raise RuntimeError("a bug")

    monkeypatch.setattr(projects, "find_project", broken)
    result = osp("envs")
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)
    assert "Error:" not in result.stderr
