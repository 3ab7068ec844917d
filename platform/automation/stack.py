"""Workspace construction and stack selection: the one place osp calls into the Automation API.

`open_stack(target, program, create=...)` is the seam: everything above it (operations, the
CLI) works on the object it returns, and tests replace it with a fake stack.

The program is inline (the caller's program for the spec: `estate.build(spec)` from the CLI),
run in this process by the Automation API's language server, rather than the local program
`Pulumi.yaml` points at: it is the same Python, with the same spec object the offline engine
plans, and no guessing which virtualenv `pulumi` would start for `stacks/__main__.py`. The
workspace's work_dir is still the project root, so the `pulumi` CLI reads this project's own
`Pulumi.yaml` (name, `stackConfigDir: stacks/`) and takes the stack's configuration from the
very stack file the spec came from — `aws:region` (which the spec requires) and any provider
keys (`aws:profile`, …) reach the providers exactly as with plain `pulumi`. osp sets no config;
the only thing written to the stack file is what `pulumi stack init` itself adds for the
secrets provider (`encryptionsalt`, or `secretsprovider` and `encryptedkey`), as with plain
`pulumi`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi.automation import (
    CommandResult,
    ConfigValue,
    LocalWorkspaceOptions,
    PulumiCommand,
    StackNotFoundError,
    create_or_select_stack,
    select_stack,
)
from pulumi.automation.errors import create_command_error
from semver import VersionInfo

from osp.platform.automation.interrupt import Stop
from osp.platform.automation.pulumi_cli import PulumiCli
from osp.platform.errors import OspError


class NoStackError(OspError):
    """The environment has no stack in its backend yet."""


@dataclass(frozen=True)
class StackTarget:
    """Everything osp passes to the Automation API to reach one environment's stack."""

    stack_name: str
    project_name: str
    work_dir: Path
    backend_url: str
    secrets_provider: str | None
    env_vars: Mapping[str, str]
    cli: PulumiCli
    command: TrackedPulumiCommand = field(compare=False, repr=False)
    #: Plain configuration osp sets on the stack each time it opens it: empty for an
    #: environment's stack (its stack file in the project is the user's), the provider keys of
    #: the environment for a tenant stack (whose stack file lives in osp's workspace folder).
    config: Mapping[str, str] = field(default_factory=dict)


class TrackedPulumiCommand(PulumiCommand):
    """The SDK's `PulumiCommand`, running each `pulumi` in its own process group and keeping
    the running processes, so that Ctrl-C can be forwarded once per press (see interrupt.py).

    The version was checked when osp found the CLI; this does not run `pulumi version` again.
    """

    def __init__(self, cli: PulumiCli) -> None:
        self.command = str(cli.path)
        self.version = VersionInfo.parse(cli.version)
        self._running: set[subprocess.Popen[str]] = set()
        self._guard = threading.Lock()

    def stop(self, kind: Stop) -> int:
        """Signal every running `pulumi`; returns how many were running."""
        with self._guard:
            processes = list(self._running)
        for process in processes:
            try:
                if kind is Stop.KILL:
                    process.kill()
                else:
                    process.send_signal(signal.SIGINT)
            except ProcessLookupError:
                continue
        return len(processes)

    def run(
        self,
        args: list[str],
        cwd: str,
        additional_env: Mapping[str, str],
        on_output: Callable[[str], Any] | None = None,
        on_error: Callable[[str], Any] | None = None,
    ) -> CommandResult:
        # As PulumiCommand.run (SDK 3.x), plus process_group=0 and the bookkeeping.
        separator = args.index("--") if "--" in args else len(args)
        if "--non-interactive" not in args[:separator]:
            args.insert(0, "--non-interactive")
        env = {**os.environ, **additional_env, "PULUMI_AUTOMATION_API": "true"}
        # Plugins bundled next to the binary come first, as the SDK arranges it.
        env["PATH"] = os.pathsep.join([os.path.dirname(self.command), env.get("PATH", "")])
        stdout_lines: list[str] = []
        stderr_lines: list[str] = []

        def consume(stream, callback, lines: list[str]) -> None:
            for line in iter(stream.readline, ""):
                stripped = line.rstrip()
                if callback:
                    callback(stripped)
                lines.append(stripped)
            stream.close()

        with subprocess.Popen(
            [self.command, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            encoding="utf-8",
            process_group=0,
        ) as process:
            with self._guard:
                self._running.add(process)
            try:
                readers = [
                    threading.Thread(target=consume, args=(stream, callback, lines))
                    for stream, callback, lines in (
                        (process.stdout, on_output, stdout_lines),
                        (process.stderr, on_error, stderr_lines),
                    )
                ]
                for reader in readers:
                    reader.start()
                for reader in readers:
                    reader.join()
                code = process.wait()
            finally:
                with self._guard:
                    self._running.discard(process)
        result = CommandResult(
            stdout="\n".join(stdout_lines), stderr="\n".join(stderr_lines), code=code
        )
        if code != 0:
            raise create_command_error(result)
        return result


def target_for(
    *,
    stack_name: str,
    project_name: str,
    work_dir: Path,
    backend_url: str,
    secrets_provider: str | None,
    env_vars: Mapping[str, str],
    cli: PulumiCli,
    config: Mapping[str, str] | None = None,
) -> StackTarget:
    return StackTarget(
        stack_name=stack_name,
        project_name=project_name,
        work_dir=work_dir,
        backend_url=backend_url,
        secrets_provider=secrets_provider,
        env_vars=dict(env_vars),
        cli=cli,
        command=TrackedPulumiCommand(cli),
        config=dict(config or {}),
    )


def prepare_workspace(folder: Path, project_name: str) -> Path:
    """Write `folder`'s Pulumi.yaml for `project_name` (an inline Python program) unless it
    is there already; returns the folder. Written whole or not at all: stacks of a rollout
    open the same folder at once."""
    project_file = folder / "Pulumi.yaml"
    text = f"name: {project_name}\nruntime: python\n"
    if not project_file.exists() or project_file.read_text(encoding="utf-8") != text:
        partial = folder / f".Pulumi.yaml.{os.getpid()}.{threading.get_ident()}"
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, project_file)
    return folder


def no_stack_message(target: StackTarget) -> str:
    return (
        f"there is no {target.stack_name} stack in {target.backend_url} yet; create it with "
        f"`osp up --env {target.stack_name}`"
    )


def open_stack(target: StackTarget, program: Callable[[], None], *, create: bool) -> Any:
    """The `pulumi.automation.Stack` of `target`; created first when `create` and missing."""
    options = LocalWorkspaceOptions(
        work_dir=str(target.work_dir),
        env_vars={**target.env_vars, "PULUMI_BACKEND_URL": target.backend_url},
        secrets_provider=target.secrets_provider,
        pulumi_command=target.command,
    )
    if create:
        stack = create_or_select_stack(
            stack_name=target.stack_name,
            project_name=target.project_name,
            program=program,
            opts=options,
        )
    else:
        try:
            stack = select_stack(
                stack_name=target.stack_name,
                project_name=target.project_name,
                program=program,
                opts=options,
            )
        except StackNotFoundError:
            raise NoStackError(no_stack_message(target)) from None
    if target.config:
        # `pulumi config set-all` edits the stack file in place, keeping what `stack init`
        # wrote there (the passphrase provider's salt).
        stack.set_all_config({key: ConfigValue(value) for key, value in target.config.items()})
    return stack
