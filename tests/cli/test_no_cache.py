"""The plan cache through the CLI: every command that makes an offline plan reads a repeat
from the cache, and `--no-cache` (or OSP_NO_CACHE) plans afresh. The engine answers with the
session's estate plans and counts what it is asked (`engine`); each test has its own osp home
(tests/conftest.py), so its cache starts empty."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from osp.cli import tenant as tenant_cli
from osp.cli.main import app
from tests.support import plan_of, shipped_project, spec_of

runner = CliRunner()
PROJECT = str(shipped_project())


def osp(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(
        app, [*args, "--project-dir", PROJECT], env={"OSP_PROJECT_DIR": None, **(env or {})}
    )


@pytest.fixture
def engine(monkeypatch) -> list[str]:
    from osp.platform.engine import offline

    asked: list[str] = []
    answers = {name: plan_of(name) for name in ("dev", "prod")}  # before the engine is replaced

    def run(spec, program, **options):
        asked.append(spec.name)
        return answers[spec.name]

    monkeypatch.setattr(offline, "run", run)
    return asked


def test_a_repeat_preview_is_read_from_the_cache_and_no_cache_plans_afresh(engine):
    preview = ("preview", "--env", "dev", "--offline", "--json")
    first, again = osp(*preview), osp(*preview)
    assert engine == ["dev"]
    bypassed = osp(*preview, "--no-cache")
    assert engine == ["dev", "dev"]
    from_the_variable = osp(*preview, env={"OSP_NO_CACHE": "1"})
    assert engine == ["dev", "dev", "dev"]
    assert osp(*preview, env={"OSP_NO_CACHE": "0"}).exit_code == 0
    assert engine == ["dev", "dev", "dev"]
    outputs = {r.stdout for r in (first, again, bypassed, from_the_variable)}
    assert outputs == {plan_of("dev").dumps()}
    assert all(r.exit_code == 0 for r in (first, again, bypassed, from_the_variable))


def test_a_rendered_preview_from_the_cache_prints_what_a_fresh_one_does(engine):
    fresh = osp("preview", "--env", "dev", "--offline", "--no-color")
    cached = osp("preview", "--env", "dev", "--offline", "--no-color")
    assert engine == ["dev"]
    assert cached.exit_code == 0 and cached.stdout == fresh.stdout
    assert "Plan: " in cached.stdout


def test_a_bad_osp_no_cache_is_a_usage_error_naming_it(engine):
    result = osp("preview", "--env", "dev", "--offline", env={"OSP_NO_CACHE": "maybe"})
    assert result.exit_code == 2
    assert "Error: OSP_NO_CACHE: got 'maybe'; expected 1, true, yes or on" in result.stderr
    assert "Traceback" not in result.output
    assert engine == []


def test_the_preview_and_the_policy_check_share_the_cached_plan(engine):
    assert osp("preview", "--env", "prod", "--offline", "--json").exit_code == 0
    checked = osp("policy", "check", "--env", "prod", "--offline", "--json")
    assert checked.exit_code in (0, 3), checked.output
    assert engine == ["prod"]
    again = osp("policy", "check", "--env", "prod", "--offline", "--json", "--no-cache")
    assert again.exit_code == checked.exit_code and again.stdout == checked.stdout
    assert engine == ["prod", "prod"]


def test_the_report_reads_the_cached_plan_and_no_cache_plans_afresh(engine, tmp_path):
    def report(*options: str):
        out = tmp_path / f"report-{len(engine)}"
        result = osp("report", "--env", "dev", "--offline", "-f", "md", "--out", str(out), *options)
        assert result.exit_code == 0, result.output
        return (out / "report.md").read_text(encoding="utf-8")

    first = report()
    second = report()
    assert engine == ["dev"]
    report("--no-cache")
    assert engine == ["dev", "dev"]
    drop_time = [line for line in first.splitlines() if "generated at" not in line]
    assert drop_time == [line for line in second.splitlines() if "generated at" not in line]


@pytest.mark.parametrize(
    "command", ["create", "show", "suspend", "resume", "delete", "rollout", "verify"]
)
def test_every_tenant_command_that_plans_offline_takes_no_cache(command):
    result = runner.invoke(app, ["tenant", command, "--help"])
    assert result.exit_code == 0
    assert "--no-cache" in result.stdout


def test_the_tenant_commands_get_the_environment_outputs_through_the_cache(engine):
    spec = spec_of("dev")
    assert tenant_cli.offline_environment_outputs(spec) == plan_of("dev").outputs
    assert tenant_cli.offline_environment_outputs(spec) == plan_of("dev").outputs
    assert engine == ["dev"]
    tenant_cli.offline_environment_outputs(spec, cache=False)
    assert engine == ["dev", "dev"]


@pytest.mark.parametrize("cache", [True, False])
def test_tenant_no_cache_reaches_the_environment_plan(cache, monkeypatch):
    seen = []

    def outputs(spec, *, cache):
        seen.append(cache)
        return {}

    monkeypatch.setattr(tenant_cli, "offline_environment_outputs", outputs)
    target = tenant_cli.connect_environment("dev", shipped_project(), True, no_cache=not cache)
    assert dict(target.offline_provisioner().environment_outputs) == {}
    assert seen == [cache]
