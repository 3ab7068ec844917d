"""The Automation API layer without the real CLI: finding `pulumi`, the osp home and its
passphrase, the backend of an environment, the workspace and stack osp opens, and — through a
stand-in `pulumi` executable driven by the real Automation API — exactly what osp invokes.

`standin()` (used by the CLI and doctor tests too) writes a fake `pulumi` into a folder: it
records every invocation (arguments, working directory, the environment osp sets) and answers
from a script: a version, per-command output and exit code, engine events written to the
`--event-log` file, or a wait that ends on SIGINT like Pulumi's graceful stop.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pulumi.automation import CommandResult, StackNotFoundError

from osp.platform import home
from osp.platform.automation import backend as backends
from osp.platform.automation import pulumi_cli
from osp.platform.automation import stack as stacks
from osp.platform.automation.changes import ChangeRecorder
from osp.platform.automation.interrupt import Stop
from osp.platform.automation.progress import event_to_json
from tests.platform.test_automation_events import BUCKET_URN, DB_URN, cancel, preview_events
from tests.support import REPO, spec_of

_STANDIN = """#!{python}
import json, os, signal, sys, time
folder = {folder!r}
argv = sys.argv[1:]
watched = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_CONFIG_PASSPHRASE",
           "PULUMI_AUTOMATION_API", "PULUMI_SKIP_UPDATE_CHECK")
with open(os.path.join(folder, "calls.jsonl"), "a") as log:
    log.write(json.dumps({{"argv": argv, "cwd": os.getcwd(),
                          "env": {{k: os.environ.get(k) for k in watched}}}}) + "\\n")
with open(os.path.join(folder, "script.json")) as handle:
    script = json.load(handle)
if argv == ["version"]:
    print(script["version"])
    sys.exit(0)
words = [a for a in argv if not a.startswith("-")]
key = " ".join(words[:2]) if words[:1] in (["plugin"], ["stack"]) else (words[:1] or [""])[0]
answer = script["commands"].get(key, {{}})
if answer.get("events") and "--event-log" in argv:
    with open(argv[argv.index("--event-log") + 1], "a") as events:
        for event in answer["events"]:
            events.write(json.dumps(event) + "\\n")
if answer.get("wait_for_sigint"):
    def stop(signum, frame):
        sys.stderr.write("error: update canceled\\n")
        sys.exit(255)
    signal.signal(signal.SIGINT, stop)
    with open(os.path.join(folder, "waiting"), "w"):
        pass
    time.sleep(30)
sys.stdout.write(answer.get("stdout", ""))
sys.stderr.write(answer.get("stderr", ""))
sys.exit(answer.get("code", 0))
"""


class Standin:
    """A fake `pulumi` in `folder/bin`, and what it was asked to do."""

    def __init__(self, folder: Path, version: str = "v3.190.0") -> None:
        self.folder = folder
        self.bin = folder / "bin"
        self.bin.mkdir(parents=True, exist_ok=True)
        self.path = self.bin / "pulumi"
        self.path.write_text(_STANDIN.format(python=sys.executable, folder=str(folder)))
        self.path.chmod(0o755)
        self.script: dict[str, Any] = {"version": version, "commands": {}}
        self.save()

    def save(self) -> None:
        (self.folder / "script.json").write_text(json.dumps(self.script))

    def answer(self, command: str, **answer: Any) -> None:
        self.script["commands"][command] = answer
        self.save()

    def calls(self) -> list[dict[str, Any]]:
        """Every invocation but `pulumi version` (osp's own check when it finds the CLI)."""
        log = self.folder / "calls.jsonl"
        if not log.exists():
            return []
        calls = [json.loads(line) for line in log.read_text().splitlines()]
        return [call for call in calls if call["argv"] != ["version"]]


def standin(folder: Path, version: str = "v3.190.0") -> Standin:
    return Standin(folder, version)


@pytest.fixture
def osp_home(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "osp-home"
    monkeypatch.setenv("OSP_HOME", str(folder))
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    return folder


# --- the pulumi CLI ------------------------------------------------------------------------


def test_without_pulumi_on_path_the_message_says_how_to_install_and_about_offline(tmp_path):
    with pytest.raises(pulumi_cli.PulumiCliMissingError) as caught:
        pulumi_cli.find(path_env=str(tmp_path))
    message = str(caught.value)
    assert "not installed (no `pulumi` on PATH)" in message
    assert "curl -fsSL https://get.pulumi.com | sh" in message
    assert "brew install pulumi/tap/pulumi" in message
    assert "version 3.181.0 or newer" in message
    assert "`osp preview --env ENV --offline`" in message
    assert caught.value.exit_code == 1


def test_a_supported_cli_is_found_with_its_version(tmp_path):
    fake = standin(tmp_path, "v3.190.0")
    cli = pulumi_cli.find(path_env=str(fake.bin))
    assert cli.path == fake.path and cli.version == "3.190.0"
    assert cli.version_tuple == (3, 190, 0)


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("v3.120.0", "is pulumi v3.120.0; osp needs 3.181.0 or newer"),
        ("nonsense", "printed 'nonsense'; expected a version such as v3.140.0"),
    ],
)
def test_an_old_or_broken_cli_is_refused(tmp_path, printed, expected):
    fake = standin(tmp_path, printed)
    with pytest.raises(pulumi_cli.PulumiCliMissingError) as caught:
        pulumi_cli.find(path_env=str(fake.bin))
    assert expected in str(caught.value)


# --- the osp home --------------------------------------------------------------------------


def test_the_home_is_osp_home_or_dot_osp(monkeypatch, tmp_path):
    monkeypatch.delenv("OSP_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert home.home() == tmp_path / ".osp"
    monkeypatch.setenv("OSP_HOME", str(tmp_path / "elsewhere"))
    assert home.home() == tmp_path / "elsewhere"


def test_the_state_folder_is_private_and_named_as_a_file_backend(osp_home):
    assert home.state_url() == f"file://{osp_home.resolve()}/state"
    assert stat.S_IMODE((osp_home / "state").stat().st_mode) == 0o700
    assert stat.S_IMODE(osp_home.stat().st_mode) == 0o700


def test_the_passphrase_is_generated_once_into_a_0600_file(osp_home):
    path = home.passphrase_file()
    assert path == osp_home / "passphrase"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_text()
    assert len(first) >= 43 and "\n" not in first
    assert home.passphrase_file() == path and path.read_text() == first


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_passphrase_others_can_read_is_refused(osp_home, mode):
    home.passphrase_file().chmod(mode)
    with pytest.raises(home.HomeError) as caught:
        home.passphrase_file()
    assert str(caught.value) == (
        f"{osp_home / 'passphrase'}: the Pulumi passphrase file is readable by others (mode "
        f"{mode:04o}); expected 0600. Fix: chmod 600 {osp_home / 'passphrase'}"
    )


# --- backends ------------------------------------------------------------------------------


def test_the_default_backend_is_the_osp_home_with_the_generated_passphrase(osp_home):
    backend = backends.for_spec(spec_of("dev"))
    assert backend.url == f"file://{osp_home.resolve()}/state"
    assert backend.kind == "file" and backend.local_dir == osp_home.resolve() / "state"
    assert backend.secrets_provider == "passphrase" and not backend.explicit
    assert backend.env_vars == {
        "PULUMI_BACKEND_URL": backend.url,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_CONFIG_PASSPHRASE_FILE": str(osp_home / "passphrase"),
    }
    assert (osp_home / "passphrase").exists()


@pytest.mark.parametrize("variable", ["PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"])
def test_a_passphrase_from_the_environment_wins(osp_home, monkeypatch, variable):
    monkeypatch.setenv(variable, "mine")
    backend = backends.for_spec(spec_of("dev"))
    assert "PULUMI_CONFIG_PASSPHRASE_FILE" not in backend.env_vars
    assert not (osp_home / "passphrase").exists()


def test_the_stack_file_backend_and_secrets_provider_override(osp_home):
    spec = spec_of("prod").model_copy(
        update={
            "backend": "s3://osp-state-123?region=eu-west-1",
            "secrets_provider": "awskms://alias/osp-pulumi-secrets?region=eu-west-1",
        }
    )
    backend = backends.for_spec(spec)
    assert backend.url == "s3://osp-state-123?region=eu-west-1" and backend.explicit
    assert backend.kind == "s3" and backend.bucket == ("osp-state-123", "", "eu-west-1")
    assert backend.secrets_provider == "awskms://alias/osp-pulumi-secrets?region=eu-west-1"
    assert backend.env_vars == {
        "PULUMI_BACKEND_URL": "s3://osp-state-123?region=eu-west-1",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    assert not osp_home.exists()


def test_pulumis_default_secrets_provider_for_a_backend_without_one(osp_home):
    s3 = backends.for_spec(spec_of("dev").model_copy(update={"backend": "s3://b/prefix"}))
    assert s3.secrets_provider == "passphrase" and s3.bucket == ("b", "prefix", None)
    cloud = backends.for_spec(
        spec_of("dev").model_copy(update={"backend": "https://api.pulumi.com"})
    )
    assert cloud.secrets_provider is None and cloud.kind == "cloud"


def test_without_prepare_nothing_is_created(osp_home):
    backend = backends.for_spec(spec_of("dev"), prepare=False)
    assert backend.url.endswith("/osp-home/state")
    assert not osp_home.exists()


# --- the workspace and the stack -----------------------------------------------------------


def a_target(fake: Standin, spec_name: str = "dev") -> stacks.StackTarget:
    backend = backends.for_spec(spec_of(spec_name))
    return stacks.target_for(
        stack_name=spec_name,
        project_name="osp",
        work_dir=REPO,
        backend_url=backend.url,
        secrets_provider=backend.secrets_provider,
        env_vars=backend.env_vars,
        cli=pulumi_cli.find(path_env=str(fake.bin)),
    )


def test_open_stack_passes_the_project_the_backend_and_the_inline_program(
    osp_home, tmp_path, monkeypatch
):
    target = a_target(standin(tmp_path))
    seen: dict[str, Any] = {}

    def create_or_select_stack(**kwargs):
        seen.update(kwargs)
        return "the stack"

    monkeypatch.setattr(stacks, "create_or_select_stack", create_or_select_stack)

    def program() -> None:
        return None

    assert stacks.open_stack(target, program, create=True) == "the stack"
    options = seen.pop("opts")
    assert seen == {"stack_name": "dev", "project_name": "osp", "program": program}
    # The project root: Pulumi reads Pulumi.yaml (stackConfigDir: stacks/) and so takes the
    # config (aws:region …) from the very stack file the spec came from.
    assert options.work_dir == str(REPO)
    assert options.secrets_provider == "passphrase"
    assert options.env_vars["PULUMI_BACKEND_URL"] == f"file://{osp_home.resolve()}/state"
    assert options.env_vars["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(osp_home / "passphrase")
    assert options.pulumi_command is target.command
    assert options.project_settings is None and options.stack_settings is None


def test_a_missing_stack_is_not_created_when_only_selecting(osp_home, tmp_path, monkeypatch):
    target = a_target(standin(tmp_path))

    def select_stack(**kwargs):
        raise StackNotFoundError(CommandResult("", "error: no stack named 'dev' found", 255))

    monkeypatch.setattr(stacks, "select_stack", select_stack)
    with pytest.raises(stacks.NoStackError) as caught:
        stacks.open_stack(target, lambda: None, create=False)
    assert str(caught.value) == (
        f"there is no dev stack in {target.backend_url} yet; create it with `osp up --env dev`"
    )


def test_the_real_automation_api_drives_the_cli_as_osp_configured_it(osp_home, tmp_path):
    """Through the real SDK: stack selection, then a preview whose engine events the stand-in
    writes to the event log; osp's recorder sees them and builds the plan."""
    fake = standin(tmp_path)
    # Pulumi ends every event log with a CancelEvent (the SDK stops reading there).
    events = [*preview_events(), cancel()]
    fake.answer("preview", events=[event_to_json(e) for e in events])
    target = a_target(fake)
    stack = stacks.open_stack(target, lambda: None, create=True)
    recorder = ChangeRecorder()
    stack.preview(color="never", on_event=recorder.record, target=[DB_URN], refresh=True)

    select, preview = fake.calls()
    assert select["argv"] == ["--non-interactive", "stack", "select", "--stack", "dev"]
    argv = preview["argv"]
    assert argv[:2] == ["--non-interactive", "preview"]
    assert argv[argv.index("--color") + 1] == "never"
    assert argv[argv.index("--target") + 1] == DB_URN and "--refresh" in argv
    assert argv[argv.index("--exec-kind") + 1] == "auto.inline"
    assert any(a.startswith("--client=127.0.0.1:") for a in argv)
    assert argv[-2:] == ["--stack", "dev"]
    for call in (select, preview):
        assert call["cwd"] == str(REPO)
        assert call["env"] == {
            "PULUMI_BACKEND_URL": f"file://{osp_home.resolve()}/state",
            "PULUMI_CONFIG_PASSPHRASE_FILE": str(osp_home / "passphrase"),
            "PULUMI_CONFIG_PASSPHRASE": None,
            "PULUMI_AUTOMATION_API": "true",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }
    changes = recorder.change_set()
    assert changes.summary() == "1 to create, 1 to update, 1 to replace, 1 to delete, 3 unchanged"
    assert [c.urn for c in changes.dangerous] == [BUCKET_URN]


def test_a_missing_stack_is_created_with_the_secrets_provider(osp_home, tmp_path):
    fake = standin(tmp_path)
    fake.answer("stack select", code=255, stderr="error: no stack named 'dev' found")
    stacks.open_stack(a_target(fake), lambda: None, create=True)
    select, init = fake.calls()
    assert select["argv"][1:3] == ["stack", "select"]
    assert init["argv"] == [
        "--non-interactive", "stack", "init", "dev", "--secrets-provider", "passphrase",
    ]  # fmt: skip


def test_each_pulumi_runs_in_its_own_process_group_and_stops_on_sigint(osp_home, tmp_path):
    """First Ctrl-C → one SIGINT to the running pulumi (its graceful stop)."""
    fake = standin(tmp_path)
    fake.answer("up", wait_for_sigint=True)
    command = a_target(fake).command
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            command.run(["up", "--yes"], str(REPO), {})
        except Exception as exc:  # the CommandError Pulumi's canceled update gives
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 20
    while not (tmp_path / "waiting").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    (process,) = command._running
    assert os.getpgid(process.pid) == process.pid != os.getpgid(0)
    assert command.stop(Stop.GRACEFUL) == 1
    worker.join(20)
    assert "update canceled" in str(outcome["error"])
    assert command.stop(Stop.GRACEFUL) == 0 and not command._running


def test_sigint_is_not_sent_to_processes_that_already_ended(osp_home, tmp_path):
    fake = standin(tmp_path)
    command = a_target(fake).command
    result = command.run(["whoami"], str(REPO), {})
    assert result.code == 0 and command.stop(Stop.KILL) == 0


# --- the stacks of an environment's tenants --------------------------------------------------


def test_a_tenant_stack_opens_in_its_workspace_with_the_environments_provider_config(
    osp_home, tmp_path
):
    """Through the real SDK: the stack is created in osp's workspace folder, then osp sets the
    provider configuration on it with `pulumi config set-all` (which keeps what `stack init`
    wrote into the stack file)."""
    fake = standin(tmp_path)
    fake.answer("stack select", code=255, stderr="error: no stack named 'dev.tenant-x' found")
    work_dir = stacks.prepare_workspace(home.workspace_dir("osp", "dev"), "osp")
    backend = backends.for_spec(spec_of("dev"))
    target = stacks.target_for(
        stack_name="dev.tenant-x",
        project_name="osp",
        work_dir=work_dir,
        backend_url=backend.url,
        secrets_provider=backend.secrets_provider,
        env_vars=backend.env_vars,
        cli=pulumi_cli.find(path_env=str(fake.bin)),
        config={"aws:region": "eu-west-1", "aws:profile": "school-ops"},
    )
    stacks.open_stack(target, lambda: None, create=True)
    select, init, config = fake.calls()
    assert init["argv"][1:4] == ["stack", "init", "dev.tenant-x"]
    assert config["argv"][1:3] == ["config", "set-all"]
    assert config["argv"][config["argv"].index("--stack") + 1] == "dev.tenant-x"
    assert {"aws:region=eu-west-1", "aws:profile=school-ops"} <= set(config["argv"])
    assert {call["cwd"] for call in (select, init, config)} == {str(work_dir)}
    assert work_dir == osp_home / "workspaces" / "osp" / "dev"
    assert (work_dir / "Pulumi.yaml").read_text() == "name: osp\nruntime: python\n"
    assert oct(work_dir.stat().st_mode & 0o777) == "0o700"


def test_the_workspace_project_file_is_written_once_and_whole(osp_home):
    folder = home.workspace_dir("osp", "prod")
    stacks.prepare_workspace(folder, "osp")
    written = (folder / "Pulumi.yaml").stat().st_mtime_ns
    stacks.prepare_workspace(folder, "osp")
    assert (folder / "Pulumi.yaml").stat().st_mtime_ns == written
    assert sorted(p.name for p in folder.iterdir()) == ["Pulumi.yaml"]  # no partial left
