"""`osp preview/up/destroy/refresh/outputs` through CliRunner, on a fake stack.

The `pulumi` on PATH is a stand-in (tests/platform/test_automation_layer.py) so osp's own CLI
detection runs for real; `osp.platform.automation.stack.open_stack` — the one seam into the
Automation API — is replaced by a fake stack that records what osp asks of it, replays engine
events into osp's displays and raises the Automation API's own errors.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pulumi.automation import (
    CommandError,
    CommandResult,
    ConcurrentUpdateError,
    Deployment,
    OutputValue,
)
from typer.testing import CliRunner

from osp.cli import progress as display
from osp.cli.main import app
from osp.platform import cluster_access
from osp.platform.automation import stack as stacks
from tests.platform.test_automation_events import (
    BUCKET,
    BUCKET_URN,
    DB,
    DB_URN,
    SG,
    SG_URN,
    diagnostic,
    done,
    failed,
    pre,
    preview_events,
    stack_urn,
    state,
    step,
    summary,
)
from tests.platform.test_automation_layer import standin
from tests.support import REPO, shipped_project

runner = CliRunner()
INSTALL = "curl -fsSL https://get.pulumi.com | sh"


def osp(*args: str, input: str | None = None):
    return runner.invoke(
        app,
        [*args, "--project-dir", str(shipped_project())],
        input=input,
        env={"OSP_PROJECT_DIR": None},
    )


class FakeStack:
    """Records each call; replays `events[op]` into on_event; raises `errors[op]`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.events: dict[str, list] = {"preview": preview_events(), "up": an_update()}
        self.errors: dict[str, BaseException] = {}
        self.during: dict[str, Any] = {}
        self.values = {
            "vpcId": OutputValue("vpc-0abc", False),
            "dbPassword": OutputValue("hunter2", True),
        }
        self.state = [
            {"urn": stack_urn(), "type": "pulumi:pulumi:Stack", "custom": False},
            {"urn": SG_URN, "type": SG, "custom": True},
            {"urn": BUCKET_URN, "type": BUCKET, "custom": True},
        ]
        self.target: stacks.StackTarget | None = None

    def _run(self, op: str, kwargs: dict[str, Any]) -> None:
        self.calls.append((op, kwargs))
        for event in self.events.get(op, []):
            kwargs["on_event"](event)
        if op in self.during:
            self.during[op](self)
        if op in self.errors:
            raise self.errors[op]

    def preview(self, **kwargs):
        self._run("preview", kwargs)
        return SimpleNamespace(change_summary={})

    def up(self, **kwargs):
        self._run("up", kwargs)
        return SimpleNamespace(
            outputs=self.values, summary=SimpleNamespace(resource_changes={"create": 1})
        )

    def destroy(self, **kwargs):
        self._run("destroy", kwargs)
        return SimpleNamespace(summary=SimpleNamespace(resource_changes={"delete": 2}))

    def refresh(self, **kwargs):
        self._run("refresh", kwargs)
        return SimpleNamespace(summary=SimpleNamespace(resource_changes={"same": 2, "update": 1}))

    def outputs(self):
        self.calls.append(("outputs", {}))
        return self.values

    def export_stack(self):
        self.calls.append(("export_stack", {}))
        return Deployment(version=3, deployment={"resources": self.state})

    def ops(self) -> list[str]:
        return [op for op, _ in self.calls]

    def kwargs(self, op: str) -> dict[str, Any]:
        return next(kwargs for name, kwargs in self.calls if name == op)


def an_update() -> list:
    create = step("create", SG, SG_URN, new=state(SG, SG_URN))
    return [pre(create), done(create), summary({"create": 1, "same": 4}, 75)]


class Engine:
    def __init__(self) -> None:
        self.stack = FakeStack()
        self.opened: list[tuple[stacks.StackTarget, bool]] = []
        self.program = None

    def open_stack(self, target, program, *, create):
        self.opened.append((target, create))
        self.program = program
        self.stack.target = target
        if self.stack.errors.get("open"):
            raise self.stack.errors["open"]
        return self.stack


@pytest.fixture
def engine(tmp_path, monkeypatch) -> Engine:
    fake = standin(tmp_path / "cli")
    monkeypatch.setenv("PATH", f"{fake.bin}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("OSP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    monkeypatch.delenv("CI", raising=False)
    # The embedded backend of a deployed environment: a stack is read only where state is.
    (tmp_path / "home" / "state").mkdir(parents=True)
    monkeypatch.setattr(display, "interactive", lambda: False)
    state = Engine()
    monkeypatch.setattr(stacks, "open_stack", state.open_stack)
    # The shipped stacks name no network for the API: tests/cli/test_up_api_check.py covers it.
    monkeypatch.setattr(cluster_access, "require", lambda spec, probe: None)
    return state


def interactive(monkeypatch) -> None:
    monkeypatch.setattr(display, "interactive", lambda: True)


# --- without the CLI -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["preview", "--env", "dev"],
        ["up", "--env", "dev", "--yes"],
        ["destroy", "--env", "dev", "--yes"],
        ["refresh", "--env", "dev"],
        ["outputs", "--env", "dev"],
    ],
)
def test_without_the_pulumi_cli_every_real_run_exits_1_saying_how_to_get_it(
    command, tmp_path, monkeypatch
):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("OSP_HOME", str(tmp_path / "home"))
    result = osp(*command)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(
        "Error: osp needs the pulumi CLI for real runs, and it is not installed"
    )
    assert INSTALL in result.stderr and "`osp preview --env ENV --offline`" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


# --- the order: arguments, then tools, then state ------------------------------------------


@pytest.mark.parametrize("with_cli", [True, False], ids=["cli", "no-cli"])
@pytest.mark.parametrize(
    ("command", "exit_code", "message"),
    [
        (
            ["destroy", "--env", "prod", "--yes"],
            1,
            "Error: refusing to destroy prod: it is a prod environment (profile prod).",
        ),
        (
            ["up", "--env", "dev"],
            1,
            "Error: refusing to update dev without confirmation: there is no terminal",
        ),
        (
            ["up", "--env", "dev", "--yes", "--target", "not-a-urn"],
            2,
            "Error: --target: got 'not-a-urn'; expected a Pulumi URN, "
            "urn:pulumi:<stack>::<project>::<type>::<name>",
        ),
        (
            ["preview", "--env", "dev", "--out", "stacks/Pulumi.dev.yaml"],
            2,
            "Error: --out 'stacks/Pulumi.dev.yaml': ",
        ),
    ],
)
def test_arguments_are_refused_before_the_cli_is_looked_for_or_state_is_touched(
    command, exit_code, message, with_cli, tmp_path, monkeypatch
):
    home = tmp_path / "home"
    monkeypatch.setenv("OSP_HOME", str(home))
    monkeypatch.setattr(display, "interactive", lambda: False)
    opened = []
    monkeypatch.setattr(stacks, "open_stack", lambda *a, **k: opened.append(a))
    if with_cli:
        monkeypatch.setenv(
            "PATH", f"{standin(tmp_path / 'cli').bin}{os.pathsep}{os.environ['PATH']}"
        )
    else:
        monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.chdir(REPO)
    before = (REPO / "stacks" / "Pulumi.dev.yaml").read_bytes()
    result = osp(*command)
    assert result.exit_code == exit_code, result.output
    assert result.stderr.startswith(message)
    assert "pulumi CLI" not in result.stderr
    assert opened == [] and not home.exists()
    assert (REPO / "stacks" / "Pulumi.dev.yaml").read_bytes() == before


def test_every_bad_target_is_named_at_once(engine, tmp_path):
    other = "urn:pulumi:prod::osp::aws:s3/bucket:Bucket::osp-prod-assets"
    result = osp("up", "--env", "dev", "--yes", "-t", "x", "-t", DB_URN, "-t", other)
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --target: got 'x'; expected a Pulumi URN, "
        "urn:pulumi:<stack>::<project>::<type>::<name>, as `osp preview --json` lists them\n"
        f"--target: got {other!r}; expected a URN of the dev stack (urn:pulumi:dev::…), not of "
        "prod\nNothing ran.\n"
    )
    assert engine.opened == []


@pytest.mark.parametrize(
    "command",
    [
        ["outputs", "--env", "dev"],
        ["refresh", "--env", "dev"],
        ["destroy", "--env", "dev", "--yes"],
    ],
)
def test_reading_a_stack_never_deployed_creates_nothing(command, engine, tmp_path):
    home = tmp_path / "home"
    (home / "state").rmdir()
    (home).rmdir()
    result = osp(*command)
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"Error: there is no dev stack in file://{home.resolve()}/state yet; create it with "
        "`osp up --env dev`\n"
    )
    assert engine.opened == [] and not home.exists()


def test_reading_a_stack_never_creates_a_passphrase(engine, tmp_path):
    assert osp("outputs", "--env", "dev").exit_code == 0
    ((target, create),) = engine.opened
    assert create is False
    assert "PULUMI_CONFIG_PASSPHRASE_FILE" not in target.env_vars
    assert tree(tmp_path / "home") == ["state"]


def test_reading_a_stack_uses_the_passphrase_that_exists(engine, tmp_path):
    passphrase = tmp_path / "home" / "passphrase"
    passphrase.write_text("p")
    passphrase.chmod(0o600)
    assert osp("outputs", "--env", "dev").exit_code == 0
    ((target, _),) = engine.opened
    assert target.env_vars["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(passphrase)


def test_an_old_cli_is_refused(engine, tmp_path, monkeypatch):
    old = standin(tmp_path / "old", "v3.150.2")
    monkeypatch.setenv("PATH", str(old.bin))
    result = osp("preview", "--env", "dev")
    assert result.exit_code == 1
    assert "is pulumi v3.150.2; osp needs 3.181.0 or newer" in result.stderr
    assert engine.opened == []


# --- preview -------------------------------------------------------------------------------


def test_preview_runs_a_real_preview_and_lists_the_changes(engine, tmp_path):
    result = osp("preview", "--env", "dev")
    assert result.exit_code == 0, result.output
    ((target, create),) = engine.opened
    assert create is True
    assert (target.stack_name, target.project_name) == ("dev", "osp")
    assert target.work_dir == shipped_project()
    home = (tmp_path / "home").resolve()
    assert target.backend_url == f"file://{home}/state"
    assert target.secrets_provider == "passphrase"
    assert target.env_vars["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(home / "passphrase")
    assert oct((home / "passphrase").stat().st_mode & 0o777) == "0o600"
    assert target.cli.version == "3.190.0"
    (call,) = engine.stack.calls
    assert call[0] == "preview"
    assert call[1]["color"] == "never" and callable(call[1]["on_event"])
    assert call[1]["target"] is None and call[1]["refresh"] is None
    out = " ".join(result.stdout.split())
    assert f"+- replace {BUCKET} osp-dev-assets (stateful: its data goes with it" in out
    assert "Plan: 1 to create, 1 to update, 1 to replace, 1 to delete, 3 unchanged (dev)." in out
    assert "Preview only: nothing was changed. Next: osp up --env dev" in out
    assert "Previewing dev…" in result.stderr  # progress goes to stderr


def test_the_program_is_the_estate_of_the_spec(engine, monkeypatch):
    import osp.stacks.estate as estate

    built = []
    monkeypatch.setattr(estate, "build", built.append)
    assert osp("preview", "--env", "dev").exit_code == 0
    engine.program()
    (spec,) = built
    assert spec.name == "dev" and spec.region == "us-east-1"


def test_preview_json_is_the_plan_schema_with_engine_pulumi(engine, tmp_path):
    target = tmp_path / "plan.json"
    result = osp("preview", "--env", "dev", "--json", "--out", str(target))
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["schemaVersion"] == 1 and plan["engine"] == "pulumi"
    assert plan["environment"] == plan["stack"] == "dev" and plan["blueprint"] == "osp"
    assert [r["urn"] for r in plan["resources"]] == sorted(r["urn"] for r in plan["resources"])
    assert DB_URN in {r["urn"] for r in plan["resources"]}
    assert "hunter2" not in result.stdout
    assert target.read_text() == result.stdout


def test_preview_diff_shows_old_and_new_values(engine):
    result = osp("preview", "--env", "dev", "--diff")
    assert result.exit_code == 0, result.output
    assert "~ instanceClass: db.t4g.medium → db.t4g.large" in result.stdout
    assert "~ bucket: old → new (forces replacement)" in result.stdout


def test_diff_with_offline_is_a_usage_error(engine):
    result = osp("preview", "--env", "dev", "--offline", "--diff")
    assert result.exit_code == 2
    assert result.stderr == "Error: --diff needs the Pulumi engine: leave out --offline\n"


def test_the_spec_backend_and_secrets_provider_reach_the_workspace(engine, tmp_path):
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    text = (REPO / "stacks" / "Pulumi.dev.yaml").read_text()
    text = text.replace(
        "config:\n",
        "config:\n  osp:backend: s3://osp-state-1?region=eu-west-1\n"
        "  osp:secrets_provider: awskms://alias/osp-pulumi-secrets?region=eu-west-1\n",
    )
    (project / "stacks" / "Pulumi.dev.yaml").write_text(text)
    result = runner.invoke(app, ["preview", "--env", "dev", "--project-dir", str(project)])
    assert result.exit_code == 0, result.output
    ((target, _),) = engine.opened
    assert target.work_dir == project
    assert target.backend_url == "s3://osp-state-1?region=eu-west-1"
    assert target.secrets_provider == "awskms://alias/osp-pulumi-secrets?region=eu-west-1"
    assert target.env_vars["PULUMI_BACKEND_URL"] == "s3://osp-state-1?region=eu-west-1"
    assert "PULUMI_CONFIG_PASSPHRASE_FILE" not in target.env_vars
    assert not (tmp_path / "home" / "passphrase").exists()


# --- up ------------------------------------------------------------------------------------


def test_up_with_yes_previews_then_updates_with_targets_and_refresh(engine):
    result = osp("up", "--env", "dev", "--yes", "--target", DB_URN, "-t", SG_URN, "--refresh")
    assert result.exit_code == 0, result.output
    assert engine.stack.ops() == ["preview", "up"]
    for op in ("preview", "up"):
        kwargs = engine.stack.kwargs(op)
        assert kwargs["target"] == [DB_URN, SG_URN]
        assert kwargs["refresh"] is True
        assert kwargs["color"] == "never"
        assert callable(kwargs["on_event"])
    out = result.stdout
    assert "Changes to dev:" in out
    assert "1 stateful resource would be replaced or deleted" in out
    assert "Updating dev…" in out
    assert f"created {SG} osp-dev-database-sg" in out
    assert "✓ Updated dev in 1m15s: 1 created, 4 unchanged." in out
    lines = [line.split() for line in out.splitlines()]
    assert ["dbPassword", "<secret>"] in lines and ["vpcId", "vpc-0abc"] in lines
    assert "hunter2" not in result.output
    assert out.rstrip().endswith("Next: osp outputs --env dev")


def test_up_without_targets_passes_none(engine):
    assert osp("up", "--env", "dev", "--yes").exit_code == 0
    assert engine.stack.kwargs("up")["target"] is None
    assert engine.stack.kwargs("up")["refresh"] is None


def test_up_without_a_terminal_and_without_yes_is_refused_before_anything_runs(engine):
    result = osp("up", "--env", "dev")
    assert result.exit_code == 1
    assert "refusing to update dev without confirmation" in result.stderr
    assert "pass --yes" in result.stderr
    assert engine.opened == [] and engine.stack.calls == []


@pytest.mark.parametrize(("answer", "updated"), [("y\n", True), ("n\n", False), ("\n", False)])
def test_up_asks_y_n_in_dev(engine, monkeypatch, answer, updated):
    interactive(monkeypatch)
    result = osp("up", "--env", "dev", input=answer)
    assert "Deploy these changes to dev? [y/N]" in result.stderr
    assert ("up" in engine.stack.ops()) is updated
    if updated:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 1
        assert "the update of dev not confirmed; nothing was changed" in result.stderr


@pytest.mark.parametrize(
    ("answer", "updated"), [("prod\n", True), ("y\n", False), ("yes\n", False)]
)
def test_up_in_prod_needs_the_name_typed(engine, monkeypatch, answer, updated):
    interactive(monkeypatch)
    result = osp("up", "--env", "prod", input=answer)
    assert "Type the environment's name (prod) to confirm:" in result.stderr
    assert ("up" in engine.stack.ops()) is updated
    assert result.exit_code == (0 if updated else 1), result.output


def test_up_with_nothing_to_change_does_not_update(engine):
    same = step("same", DB, DB_URN, new=state(DB, DB_URN))
    engine.stack.events["preview"] = [pre(same), done(same)]
    result = osp("up", "--env", "dev", "--yes")
    assert result.exit_code == 0, result.output
    assert engine.stack.ops() == ["preview", "outputs"]
    assert "No changes to dev: nothing to do." in result.stdout


def test_up_json_prints_one_json_event_per_line(engine):
    result = osp("up", "--env", "dev", "--yes", "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    firsts = [next(iter(line)) for line in lines]
    assert firsts[0] == "ospStageEvent" and lines[0]["ospStageEvent"]["stage"] == "preview"
    assert "ospChangesEvent" in firsts
    assert {"ospStageEvent": {"stage": "update", "environment": "dev"}} in lines
    assert lines[-1]["ospResultEvent"]["outputs"] == {"dbPassword": "<secret>", "vpcId": "vpc-0abc"}
    assert lines[-1]["ospResultEvent"]["counts"] == {"create": 1, "same": 4}
    assert (
        sum(1 for line in lines if "resourcePreEvent" in line)
        == len([e for e in preview_events() if e.resource_pre_event]) + 1
    )
    assert "hunter2" not in result.output


def test_a_failed_update_exits_1_with_the_reason_under_the_resource(engine):
    broken = step("create", DB, DB_URN, new=state(DB, DB_URN))
    engine.stack.events["up"] = [
        pre(broken),
        diagnostic("creating RDS instance: InvalidParameterCombination: no", "error", DB_URN),
        failed(broken),
        diagnostic("update failed", "error", stack_urn()),
    ]
    engine.stack.errors["up"] = CommandError(CommandResult("", "error: update failed", 255))
    result = osp("up", "--env", "dev", "--yes")
    assert result.exit_code == 1
    assert f"create failed {DB} osp-dev-database" in result.stdout
    assert "    creating RDS instance: InvalidParameterCombination: no" in result.stdout
    assert result.stderr.startswith(
        "Error: the update of dev failed:\n"
        f"  {DB} osp-dev-database: create failed: creating RDS instance: "
        "InvalidParameterCombination: no\n"
        "Next: fix the cause and run `osp up --env dev` again"
    )


def test_a_failure_without_engine_events_shows_pulumis_stderr(engine):
    engine.stack.events["preview"] = []
    engine.stack.errors["preview"] = CommandError(
        CommandResult("", "error: <{%fg 1%}>could not load plugin<{%reset%}>", 255)
    )
    result = osp("preview", "--env", "dev")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[1:] == [
        "Error: the preview of dev failed:",
        "  error: could not load plugin",
        "Next: fix the cause and run `osp preview --env dev` again",
    ]


def test_a_backend_that_cannot_be_opened_is_an_error_with_the_next_step(engine):
    engine.stack.errors["open"] = CommandError(
        CommandResult("", "error: incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE", 255)
    )
    result = osp("outputs", "--env", "dev")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the selection of the dev stack failed:\n"
        "  error: incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE\n"
        "Next: check `osp doctor --env dev`\n"
    )


def test_an_unexpected_sdk_error_is_reported_without_a_traceback(engine):
    engine.stack.errors["preview"] = RuntimeError("summary event never found")
    result = osp("preview", "--env", "dev")
    assert result.exit_code == 1
    assert (
        "Error: the preview of dev failed: RuntimeError: summary event never found (set "
        "OSP_DEBUG=1 for the traceback)"
    ) in result.stderr
    assert "Traceback" not in result.output


# --- locks ---------------------------------------------------------------------------------


def test_a_locked_stack_exits_4_with_who_and_since_when(engine):
    engine.stack.errors["up"] = ConcurrentUpdateError(
        CommandResult(
            "",
            "error: the stack is currently locked by 1 lock(s). Either wait for the other "
            "process(es) to end or delete the lock file with `pulumi cancel`.\n"
            "  file:///x/.pulumi/locks/organization/osp/dev/1.json: created by alice@ci-7 "
            "(pid 4242) at 2025-03-01T09:12:44Z",
            255,
        )
    )
    result = osp("up", "--env", "dev", "--yes")
    assert result.exit_code == 4, result.output
    assert result.stderr.startswith(
        "Error: the dev stack is locked by another update: alice@ci-7 (pid 4242) since "
        "2025-03-01 09:12:44 UTC ("
    )
    assert "pulumi cancel --yes --stack dev` (from the project root)" in result.stderr
    assert "PULUMI_BACKEND_URL=file://" in result.stderr


def test_the_lock_holder_comes_from_the_lock_file_when_the_message_names_nobody(engine, tmp_path):
    locks = tmp_path / "home" / "state" / ".pulumi" / "locks" / "organization" / "osp" / "dev"
    locks.mkdir(parents=True)
    (locks / "9.json").write_text(
        json.dumps(
            {"pid": 77, "username": "bob", "hostname": "box", "timestamp": "2025-01-02T03:04:05Z"}
        )
    )
    engine.stack.errors["preview"] = ConcurrentUpdateError(
        CommandResult("", "error: the stack is currently locked by 1 lock(s).", 255)
    )
    result = osp("preview", "--env", "dev")
    assert result.exit_code == 4
    assert "locked by another update: bob@box (pid 77) since 2025-01-02 03:04:05 UTC" in (
        result.stderr
    )


# --- Ctrl-C --------------------------------------------------------------------------------


def interrupt_when_waiting(stack: FakeStack) -> None:
    """Run a real `pulumi up` (the stand-in, which waits for SIGINT) and press Ctrl-C."""
    assert stack.target is not None
    command = stack.target.command
    folder = Path(stack.target.cli.path).parent.parent

    def press() -> None:
        deadline = time.monotonic() + 20
        while not (folder / "waiting").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=press, daemon=True).start()
    try:
        command.run(["up", "--yes", "--stack", "dev"], str(REPO), {})
    except CommandError as error:  # what the SDK raises when Pulumi stops on SIGINT
        stack.calls.append(("pulumi stopped", {"error": str(error)}))
        raise


def test_ctrl_c_during_an_update_stops_gracefully_and_says_how_to_recover(engine, tmp_path):
    standin(tmp_path / "cli").answer("up", wait_for_sigint=True)
    engine.stack.during["up"] = interrupt_when_waiting
    result = osp("up", "--env", "dev", "--yes")
    assert result.exit_code == 130, result.output
    # The SIGINT reached the running pulumi, which stopped (its graceful stop).
    assert "update canceled" in engine.stack.kwargs("pulumi stopped")["error"]
    assert "Stopping: Pulumi finishes the operations in flight" in result.stderr
    assert (
        "Error: the update of dev was interrupted (Pulumi stopped after the operations in "
        "flight finished); some resources may be half-done. Recover: run `osp refresh --env "
        "dev` to bring the state in line with what exists in AWS, then `osp up --env dev`."
    ) in result.stderr
    assert "pulumi cancel --yes --stack dev" in result.stderr


def test_ctrl_c_when_nothing_runs_exits_130_at_once(engine):
    def press(stack: FakeStack) -> None:
        os.kill(os.getpid(), signal.SIGINT)

    engine.stack.during["preview"] = press
    result = osp("up", "--env", "dev", "--yes")
    assert result.exit_code == 130
    assert "Error: interrupted during the preview of dev; nothing was changed" in result.stderr
    assert engine.stack.ops() == ["preview"]


def test_ctrl_c_at_the_question_exits_130(engine, monkeypatch):
    interactive(monkeypatch)

    def no_answer(question):
        raise KeyboardInterrupt

    monkeypatch.setattr(display, "ask", no_answer)
    result = osp("up", "--env", "dev")
    assert result.exit_code == 130 and result.stderr.endswith("Error: interrupted\n")
    assert "up" not in engine.stack.ops()


# --- destroy -------------------------------------------------------------------------------


def test_destroy_lists_what_goes_and_destroys(engine):
    result = osp("destroy", "--env", "dev", "--yes")
    assert result.exit_code == 0, result.output
    assert engine.opened[0][1] is False  # never creates a stack to destroy it
    assert engine.stack.ops() == ["export_stack", "destroy"]
    assert engine.stack.kwargs("destroy")["color"] == "never"
    out = " ".join(result.stdout.split())
    assert f"- delete {SG} osp-dev-database-sg" in out
    assert f"- delete {BUCKET} osp-dev-assets (stateful: its data goes with it)" in out
    assert "Plan: 0 to create, 0 to update, 0 to replace, 2 to delete, 0 unchanged (dev)." in out
    assert "✓ Destroyed dev in" in out and "2 deleted" in out
    assert "Next: osp up --env dev" in out


def test_destroy_reports_protected_resources_before_touching_anything(engine):
    engine.stack.state[2]["protect"] = True
    result = osp("destroy", "--env", "dev", "--yes")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: dev has 1 protected resource(s); destroy would stop at them:\n"
        f"  {BUCKET} osp-dev-assets\n"
        "Nothing was changed. To destroy them, set `osp:deletion_protection: false` in "
        "stacks/Pulumi.dev.yaml, run `osp up --env dev` (which also lifts the services' own "
        "deletion protection), then `osp destroy --env dev` again.\n"
    )
    assert "destroy" not in engine.stack.ops()


def test_destroying_prod_needs_allow_prod(engine):
    result = osp("destroy", "--env", "prod", "--yes")
    assert result.exit_code == 1
    assert "refusing to destroy prod: it is a prod environment" in result.stderr
    assert engine.stack.calls == []


def test_destroying_prod_needs_the_typed_name_even_with_yes(engine, monkeypatch):
    result = osp("destroy", "--env", "prod", "--allow-prod", "--yes")
    assert result.exit_code == 1 and "--yes is not enough" in result.stderr
    interactive(monkeypatch)
    declined = osp("destroy", "--env", "prod", "--allow-prod", input="y\n")
    assert declined.exit_code == 1 and "destroying prod not confirmed" in declined.stderr
    assert "destroy" not in engine.stack.ops()
    confirmed = osp("destroy", "--env", "prod", "--allow-prod", input="prod\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert "destroy" in engine.stack.ops()


def test_destroying_an_empty_stack_does_nothing(engine):
    engine.stack.state = engine.stack.state[:1]
    result = osp("destroy", "--env", "dev", "--yes")
    assert result.exit_code == 0
    assert "No changes to dev: nothing to destroy." in result.stdout
    assert "destroy" not in engine.stack.ops()


# --- refresh and outputs -------------------------------------------------------------------


def test_refresh_selects_the_stack_and_refreshes(engine):
    result = osp("refresh", "--env", "dev")
    assert result.exit_code == 0, result.output
    assert engine.opened[0][1] is False
    assert engine.stack.ops() == ["refresh"]
    assert engine.stack.kwargs("refresh")["color"] == "never"
    assert "✓ Refreshed dev in" in result.stdout and "1 updated, 2 unchanged" in result.stdout
    assert "Next: osp preview --env dev" in result.stdout


def test_a_stack_that_does_not_exist_yet(engine):
    engine.stack.errors["open"] = stacks.NoStackError(
        "there is no dev stack in file:///x yet; create it with `osp up --env dev`"
    )
    result = osp("refresh", "--env", "dev")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: there is no dev stack in file:///x yet; create it with `osp up --env dev`\n"
    )


def test_outputs_mask_secrets(engine):
    result = osp("outputs", "--env", "dev")
    assert result.exit_code == 0, result.output
    assert engine.opened[0][1] is False
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert rows == [["dbPassword", "<secret>"], ["vpcId", "vpc-0abc"]]
    assert "hunter2" not in result.output


def test_outputs_json_and_show_secrets(engine):
    masked = osp("outputs", "--env", "dev", "--json")
    assert json.loads(masked.stdout) == {"dbPassword": "<secret>", "vpcId": "vpc-0abc"}
    shown = osp("outputs", "--env", "dev", "--json", "--show-secrets")
    assert json.loads(shown.stdout) == {"dbPassword": "hunter2", "vpcId": "vpc-0abc"}


# --- help stays light ----------------------------------------------------------------------


def test_help_of_the_run_commands_imports_nothing_heavy():
    code = textwrap.dedent(
        """
        import sys
        from typer.testing import CliRunner
        from osp.cli.main import app
        for command in ("up", "destroy", "refresh", "outputs", "bootstrap", "doctor", "preview"):
            assert CliRunner().invoke(app, [command, "--help"]).exit_code == 0, command
        heavy = [m for m in ("pulumi", "pulumi_aws", "boto3", "botocore", "osp.stacks.estate",
                             "osp.platform.automation.stack", "osp.platform.bootstrap")
                 if m in sys.modules]
        print(",".join(heavy))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == ""
