"""What every command's output guarantees: `--out` never clobbers what osp reads, user-derived
text is never markup or emoji, no wrapping or trailing spaces off a terminal, colour options
anywhere, the offline preview's progress and next step, `osp version` and completion."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from osp.cli import output, progress
from osp.cli.main import app, hoist_global_options
from osp.cli.render import render_plan
from osp.platform.plan import Plan, PlannedResource, ResourceOptions
from tests.support import ENVIRONMENTS, REPO, plan_of, project_copy, shipped_project, spec_of

runner = CliRunner()
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def osp(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env={"OSP_PROJECT_DIR": None, **(env or {})})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A throwaway project: Pulumi.yaml, the stack files, and an osp home beside it."""
    return project_copy(tmp_path / "project")


@pytest.fixture
def no_engine(monkeypatch) -> list[str]:
    """The offline engine, replaced by one that records what it was asked to plan (so a
    refusal can be shown to come before any planning) and answers with the cached plan."""
    from osp.platform.engine import offline

    asked: list[str] = []
    engine = offline.run

    def run(spec, program, **options):
        asked.append(spec.name)
        monkeypatch.setattr(offline, "run", engine)  # plan_of plans with the real one
        try:
            return plan_of(spec.name)
        finally:
            monkeypatch.setattr(offline, "run", run)

    monkeypatch.setattr(offline, "run", run)
    return asked


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


# --- 1: --out never overwrites what osp reads ---------------------------------------------


@pytest.mark.parametrize(
    "out",
    [
        "stacks/Pulumi.dev.yaml",
        "stacks/Pulumi.prod.yaml",
        "stacks/../stacks/Pulumi.staging.yaml",
        "stacks/Pulumi.qa.yaml",  # not there yet: it would become an environment
        "Pulumi.yaml",
        "link-to-stack-file.json",
    ],
)
def test_out_refuses_project_and_stack_files_before_planning(
    out, project, tmp_path, monkeypatch, no_engine
):
    monkeypatch.chdir(project)
    monkeypatch.setenv("OSP_HOME", str(tmp_path / "home"))
    (project / "link-to-stack-file.json").symlink_to(project / "stacks" / "Pulumi.dev.yaml")
    before = snapshot(project)
    result = osp("preview", "--env", "dev", "--offline", "--out", out)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"Error: --out {out!r}: ")
    assert "is a Pulumi project or stack file, which osp reads" in result.stderr
    assert no_engine == []
    assert snapshot(project) == before
    assert not (tmp_path / "home").exists()
    assert result.stdout == ""


def test_out_refuses_the_blueprints_and_the_osp_home(project, tmp_path, monkeypatch, no_engine):
    from importlib.resources import files

    home = tmp_path / "home"
    home.mkdir()
    (home / "passphrase").write_text("secret")
    monkeypatch.setenv("OSP_HOME", str(home))
    bundled = Path(str(files("osp.blueprints"))) / "osp" / "blueprint.yaml"
    own = project / "blueprints" / "osp" / "blueprint.yaml"
    for target, what in (
        (bundled, "the bundled blueprints"),
        (own, "the project's blueprints"),
        (home / "passphrase", "the osp home (OSP_HOME)"),
        (home / "tenants" / "dev" / "x.json", "the osp home (OSP_HOME)"),
    ):
        result = osp(
            "preview", "-e", "dev", "--offline", "--out", str(target),
            "--project-dir", str(project),
        )  # fmt: skip
        assert result.exit_code == 2, result.output
        assert f"is inside {what}" in result.stderr and "which osp reads" in result.stderr
    assert no_engine == []
    assert (home / "passphrase").read_text() == "secret"
    assert not own.exists()


def test_out_refuses_a_folder(project, no_engine, tmp_path):
    result = osp(
        "preview", "-e", "dev", "--offline", "--out", str(tmp_path), "--project-dir", str(project)
    )
    assert result.exit_code == 2
    assert f"{tmp_path} is a folder; name a file" in result.stderr
    assert no_engine == []


def test_out_creates_missing_parent_folders(project, no_engine, tmp_path):
    target = tmp_path / "plans" / "ci" / "dev.json"
    result = osp(
        "preview", "-e", "dev", "--offline", "--out", str(target), "--project-dir", str(project)
    )
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text())["environment"] == "dev"


def test_out_dash_is_stdout_and_only_the_json(project, no_engine, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = osp("preview", "-e", "dev", "--offline", "--out", "-", "--project-dir", str(project))
    assert result.exit_code == 0, result.output
    assert result.stdout == plan_of("dev").dumps()
    assert not (tmp_path / "-").exists()


def test_out_is_checked_before_the_pulumi_cli(project, tmp_path, monkeypatch):
    monkeypatch.chdir(project)
    monkeypatch.setenv("PATH", str(tmp_path))  # no pulumi
    monkeypatch.setenv("OSP_HOME", str(tmp_path / "home"))
    result = osp(
        "preview", "-e", "dev", "--out", "stacks/Pulumi.dev.yaml", "--project-dir", str(project)
    )
    assert result.exit_code == 2
    assert "which osp reads" in result.stderr and "pulumi CLI" not in result.stderr
    assert not (tmp_path / "home").exists()


def test_preview_help_says_what_out_does():
    text = " ".join(osp("preview", "--help").stdout.split())
    assert "missing parent folders are created" in text
    assert "`--out -` writes it to stdout" in text


# --- 10: user-derived text is text ------------------------------------------------------------


def _render(plan: Plan, environment: str = "dev", color: bool = False) -> str:
    buffer = io.StringIO()
    console = Console(
        file=output.TrailingSpaceTrimmer(buffer),
        width=output.UNWRAPPED_WIDTH,
        emoji=False,
        highlight=False,
        soft_wrap=True,
        color_system="standard" if color else None,
    )
    render_plan(console, plan, spec_of(environment))
    return buffer.getvalue()


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_type_token_and_name_of_the_real_plans_renders_verbatim(environment):
    plan = plan_of(environment)
    text = _render(plan, environment)
    lines = set(text.splitlines())
    words = set(text.split())
    for resource in plan.resources:
        assert resource.type in words, resource.type
        assert resource.name in words, resource.name
    # the counts table: one row per type token, the token whole
    for type_token, count in plan.type_counts().items():
        assert any(
            line.split()[:1] == [type_token] and line.endswith(f" {count}") for line in lines
        )
    assert "osp:email:EmailDomain" in words and "✉" not in text


def _resource(urn_name: str, type_token: str, *, parent=None, custom=True, protect=False):
    return PlannedResource(
        urn=f"urn:pulumi:dev::osp::{type_token}::{urn_name}",
        type=type_token,
        name=urn_name,
        parent=parent,
        custom=custom,
        provider=None,
        dependencies=(),
        property_dependencies={},
        options=ResourceOptions(protect=protect),
        inputs={},
    )


def _hostile_plan() -> Plan:
    stack = _resource("osp-dev", "pulumi:pulumi:Stack", custom=False)
    box = _resource("[bold red]box[/]", "osp:email:Box", parent=stack.urn, custom=False)
    leaf = _resource(
        ":smile: [link=x]y[/link]", "aws:s3/bucket:Bucket", parent=box.urn, protect=True
    )
    return Plan(
        project="osp", environment="dev", stack="dev", blueprint="osp", engine="offline",
        resources=(stack, box, leaf), outputs={},
    )  # fmt: skip


def test_markup_and_emoji_codes_in_names_are_printed_as_they_are():
    text = _render(_hostile_plan())
    assert "[bold red]box[/] osp:email:Box" in text
    assert ":smile: [link=x]y[/link] aws:s3/bucket:Bucket protected" in text
    assert "😄" not in text and "✉" not in text


# --- 12: protected is neutral -----------------------------------------------------------------


def test_protected_is_not_red():
    text = _render(_hostile_plan(), color=True)
    (line,) = [line for line in text.splitlines() if "protected" in line and "Bucket" in line]
    style = re.search(r"((?:\x1b\[[0-9;]*m)+)protected", line)
    assert style is not None
    codes = set(re.findall(r"\d+", style.group(1)))
    assert not codes & {"31", "91"}, style.group(1)
    assert output.PROTECTED_STYLE == "blue"


# --- 11: no wrapping off a terminal, no trailing spaces, errors wrapped on one ---------------


def test_off_a_terminal_nothing_is_wrapped_or_cut_and_no_line_ends_in_a_space(no_engine):
    result = osp("preview", "-e", "prod", "--offline", "--project-dir", str(shipped_project()))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert all(line == line.rstrip() for line in lines)
    longest = (
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert any(line.split()[:1] == [longest] for line in lines)
    assert "…" not in result.stdout
    envs = osp("envs", "--project-dir", str(shipped_project()))
    assert "stacks/Pulumi.staging.yaml" in envs.stdout
    assert all(line == line.rstrip() for line in envs.stdout.splitlines())


def test_the_trimmer_keeps_spaces_inside_a_line_and_holds_back_only_trailing_ones():
    buffer = io.StringIO()
    trimmer = output.TrailingSpaceTrimmer(buffer)
    trimmer.write("Error: ")
    trimmer.write("a  b   \nc \x1b[0m\n")
    trimmer.write("prompt ")
    assert buffer.getvalue() == "Error: a  b\nc\x1b[0m\nprompt"


def test_a_long_error_wraps_at_word_boundaries_on_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(output, "_isatty", lambda stream: True)
    monkeypatch.setenv("COLUMNS", "40")
    message = (
        "stacks/Pulumi.prod.yaml: osp:network.cidr: got '10.30.0.0/33'; expected an IPv4 CIDR "
        "block with no host bits set, such as 10.0.0.0/16"
    )
    output.set_color(output.ColorMode.NEVER)
    try:
        output.error(message)
    finally:
        output.set_color(output.ColorMode.AUTO)
    lines = ANSI.sub("", capsys.readouterr().err).splitlines()
    assert len(lines) > 2 and all(len(line) <= 40 for line in lines)
    assert " ".join(line.strip() for line in lines) == f"Error: {message}"


def test_off_a_terminal_an_error_is_one_line(capsys):
    output.error("x " * 100)
    assert len(capsys.readouterr().err.splitlines()) == 1


# --- 13: colour options anywhere ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "hoisted"),
    [
        (["preview", "--env", "dev", "--no-color"], ["--no-color", "preview", "--env", "dev"]),
        (["envs", "--color", "never"], ["--color", "never", "envs"]),
        (["tenant", "list", "--color=always"], ["--color=always", "tenant", "list"]),
        (["x", "--", "--no-color"], ["x", "--", "--no-color"]),
    ],
)
def test_global_options_are_hoisted_to_the_root(args, hoisted):
    assert hoist_global_options(args) == hoisted


@pytest.mark.parametrize("where", ["before", "after"])
def test_color_options_work_before_and_after_the_command(where, no_engine):
    command = ["preview", "--env", "dev", "--offline", "--project-dir", str(shipped_project())]
    always = (
        ["--color", "always", *command] if where == "before" else [*command, "--color", "always"]
    )
    coloured = osp(*always)
    assert coloured.exit_code == 0, coloured.output
    assert ANSI.search(coloured.stdout)
    never = ["--no-color", *command] if where == "before" else [*command, "--no-color"]
    plain = osp(*never, env={"FORCE_COLOR": None})
    assert plain.exit_code == 0 and not ANSI.search(plain.stdout)


def test_a_bad_color_is_a_usage_error():
    result = osp("envs", "--color", "sometimes")
    assert result.exit_code == 2
    assert "'sometimes' is not one of 'auto', 'always', 'never'" in result.stderr


# --- 9: the offline preview's progress --------------------------------------------------------


@pytest.mark.parametrize(
    ("terminal", "ci", "as_json", "stdout_terminal", "shown"),
    [
        (True, None, False, False, True),
        (True, None, True, True, True),
        (True, None, True, False, False),  # --json into a pipe
        (True, "true", False, True, False),  # CI
        (False, None, False, True, False),  # stderr not a terminal
    ],
)
def test_progress_is_shown_only_where_someone_watches(
    monkeypatch, terminal, ci, as_json, stdout_terminal, shown
):
    monkeypatch.setattr(output, "_isatty", lambda stream: terminal)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: stdout_terminal, raising=False)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    assert progress.planning("dev", as_json=as_json).visible is shown


def test_the_preview_counts_registrations_when_shown(monkeypatch, no_engine):
    from osp.platform.engine import offline

    seen: list[tuple[str, int]] = []

    class Watching(progress.Planning):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            seen.append((self.current, self.count))

    def run(spec, program, *, on_register):
        for count in (1, 2, 3):
            on_register(count)
        return plan_of(spec.name)

    monkeypatch.setattr(progress, "planning", lambda env, **kw: Watching(env, visible=True))
    monkeypatch.setattr(offline, "run", run)
    result = osp(
        "preview", "-e", "dev", "--offline", "--json", "--project-dir", str(shipped_project())
    )
    assert result.exit_code == 0, result.output
    assert seen == [("running the program", 3)]
    assert result.stdout == plan_of("dev").dumps()


def test_progress_renders_the_phase_and_the_count():
    planning = progress.Planning("prod", visible=False)
    planning.phase("running the program")
    planning.registered(412)
    buffer = io.StringIO()
    Console(file=buffer, width=200).print(planning)
    assert "Planning prod offline, running the program: 412 resources registered" in (
        buffer.getvalue()
    )


# --- 15: next steps, version, completion ------------------------------------------------------


def test_the_offline_preview_ends_with_the_next_steps(no_engine):
    result = osp("preview", "-e", "staging", "--offline", "--project-dir", str(shipped_project()))
    assert result.exit_code == 0
    tail = " ".join(result.stdout.split()[-60:])
    assert "Next: osp policy check --env staging --offline checks this plan" in tail
    assert "osp preview --env staging --offline --out plan.json" in tail


def test_version_command():
    result = osp("version")
    assert result.exit_code == 0
    first, python, platform = result.stdout.splitlines()
    assert first.startswith("osp 0.") and python.startswith("python 3.")
    assert platform.startswith("platform ")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish", "powershell"])
def test_completion_prints_a_script_for_the_shell(shell):
    result = osp("completion", shell)
    assert result.exit_code == 0
    assert "_OSP_COMPLETE" in result.stdout and "osp" in result.stdout


def test_completion_refuses_an_unknown_shell():
    result = osp("completion", "tcsh")
    assert result.exit_code == 2
    assert "'tcsh' is not one of" in result.stderr


def test_completion_completes_commands_and_options():
    code = "from osp.cli.main import main; main()"
    env = {
        **os.environ,
        "_OSP_COMPLETE": "complete_bash",
        "COMP_WORDS": "osp pre",
        "COMP_CWORD": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert "preview" in done.stdout.split()


# --- 15: osp envs --json -----------------------------------------------------------------------


def test_envs_json_lists_every_environment(project):
    result = osp("envs", "--json", "--project-dir", str(project))
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["project"] == "osp" and body["root"] == str(project.resolve())
    by_name = {e["name"]: e for e in body["environments"]}
    assert list(by_name) == ["dev", "prod", "staging"]
    assert by_name["prod"] == {
        "name": "prod", "valid": True, "profile": "prod", "region": "us-east-1",
        "zones": by_name["prod"]["zones"], "blueprint": "osp",
        "stackFile": "stacks/Pulumi.prod.yaml",
        "blueprintFile": "blueprints/osp/blueprint.yaml (bundled)",
        "presetFile": "blueprints/presets/prod.yaml (bundled)",
    }  # fmt: skip
    assert len(by_name["prod"]["zones"]) == 3


def test_envs_json_marks_an_invalid_file_and_exits_1(project):
    (project / "stacks" / "Pulumi.qa.yaml").write_text("config:\n  osp:domain: x\n")
    result = osp("envs", "--json", "--project-dir", str(project))
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    (qa,) = [e for e in body["environments"] if e["name"] == "qa"]
    assert qa == {
        "name": "qa", "valid": False, "stackFile": "stacks/Pulumi.qa.yaml"
    }  # fmt: skip
    assert result.stderr.startswith("Error: stacks/Pulumi.qa.yaml: ")


def test_envs_prints_names_with_brackets_as_they_are(project):
    shutil.copy(project / "stacks" / "Pulumi.dev.yaml", project / "stacks" / "Pulumi.[b]x.yaml")
    result = osp("envs", "--project-dir", str(project))
    assert "stacks/Pulumi.[b]x.yaml" in result.stdout


def test_force_color_colours_a_pipe_unless_told_never(no_engine):
    command = ["preview", "--env", "dev", "--offline", "--project-dir", str(shipped_project())]
    assert ANSI.search(osp(*command, env={"FORCE_COLOR": "1"}).stdout)
    assert not ANSI.search(osp(*command, "--color", "never", env={"FORCE_COLOR": "1"}).stdout)
