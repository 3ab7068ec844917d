"""The real-run commands: preview, up, destroy, refresh, outputs of one environment's stack.

Each function takes the project, the spec and the program that declares the environment's
resources (the caller's: the CLI passes `osp.stacks.estate.build`; `osp.platform` never imports
the layers above it), and works in one order: first it checks its own arguments (targets, the
confirmation a destroy or an update needs), then the tools (finds the `pulumi` CLI or says how
to get it), for an update whether this machine can reach the cluster's API at all
(`osp.platform.cluster_access`), and only then touches state — the osp home's state folder
and passphrase, `pulumi stack init` — when it opens the stack through `stack.open_stack`. A
command that only reads a stack (outputs, refresh, destroy) creates nothing: a stack that was
never deployed is an error before anything is written. Progress goes to a `Reporter` — the
CLI's live, plain or JSON-lines display. Decisions (what to ask, what counts as dangerous, how a
failure or a lock or a Ctrl-C is reported and which exit code it gets) are made here; the
CLI parses, calls one of these, and renders what comes back.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from osp.platform import cluster_access, home, limits
from osp.platform.automation import backend as backends
from osp.platform.automation import confirmation, pulumi_cli
from osp.platform.automation import stack as stacks
from osp.platform.automation.changes import Change, ChangeRecorder, ChangeSet, is_default_provider
from osp.platform.automation.interrupt import InterruptedRunError, Interrupts, Stop
from osp.platform.automation.locks import StackLockedError, parse_conflict, read_lock_files
from osp.platform.automation.progress import Notice, Progress, Summary, plain_text
from osp.platform.errors import OspError
from osp.platform.plan import STACK_TYPE, Plan, Program
from osp.platform.project import Project
from osp.platform.spec import EnvironmentSpec

if TYPE_CHECKING:
    from pulumi.automation.events import EngineEvent

#: Pulumi's own output is never shown (osp renders the events), so it is asked for without
#: colour: what osp quotes from it in an error message is plain text.
COLOR = "never"
_MAX_REASONS = 12


class RunFailedError(OspError):
    """The engine ran and the operation failed (a provider error, a program error)."""


class InvalidTargetError(OspError):
    """`--target` is not a URN of the environment's stack; nothing ran."""

    exit_code = 2


class ProtectedResourcesError(OspError):
    """`osp destroy` would stop at protected resources; nothing was changed."""


class Reporter(Protocol):
    """What the CLI's displays implement."""

    def stage(self, stage: str, environment: str) -> None:
        """A stage begins: "preview", "update", "destroy" or "refresh"."""

    def event(self, event: EngineEvent, notices: list[Notice]) -> None:
        """An engine event and what it means for the display (called on engine threads)."""

    def changes(self, changes: ChangeSet, environment: str) -> None:
        """What the preview (or, for destroy, the state) says will change."""

    def confirm(self, question: confirmation.Confirmation) -> bool:
        """Ask; True when the answer confirms."""

    def interrupting(self, kind: Stop, reached: int) -> None:
        """Ctrl-C was pressed; `reached` pulumi processes were signalled."""


@dataclass(frozen=True)
class Output:
    value: Any
    secret: bool


@dataclass(frozen=True)
class PreviewOutcome:
    changes: ChangeSet
    plan: Plan


@dataclass(frozen=True)
class RunOutcome:
    """How an up, destroy or refresh ended (failures raise instead)."""

    command: str
    environment: str
    #: "succeeded", or "no-changes" when there was nothing to do.
    result: str
    counts: Mapping[str, int] = field(default_factory=dict)
    duration_seconds: float = 0.0
    outputs: Mapping[str, Output] = field(default_factory=dict)
    changes: ChangeSet | None = None
    next_command: str = ""
    maybe_corrupt: bool = False


@dataclass(frozen=True)
class Environment:
    """One environment, connected: its spec, project, program, backend and the stack target."""

    project: Project
    spec: EnvironmentSpec
    #: What declares the environment's resources, run for `spec` by `inline_program`.
    program: Program
    backend: backends.Backend
    target: stacks.StackTarget

    @property
    def name(self) -> str:
        """The stack's name: the environment's own, or a stack of it (`prod.tenant-x`)."""
        return self.target.stack_name

    @property
    def is_environment_stack(self) -> bool:
        """The environment's own stack (what `osp up --env` updates), not a tenant's."""
        return self.target.stack_name == self.spec.name

    def inline_program(self) -> None:
        """The Automation API's inline program: `program` for this environment's spec."""
        self.program(self.spec)


def connect(
    project: Project,
    spec: EnvironmentSpec,
    program: Program,
    *,
    stack: str | None = None,
    work_dir: Path | None = None,
    config: Mapping[str, str] | None = None,
) -> Environment:
    """Find the CLI (exit 1 with how to install it when missing) and describe the stack;
    nothing is created (opening the stack prepares the backend, see `_open`).

    By default the environment's own stack, in the project root. `stack`, `work_dir` and
    `config`: another stack of the environment (a tenant's) in the same backend, whose
    workspace folder is `work_dir` and whose stack file osp keeps with `config` in it.
    """
    cli = pulumi_cli.find()
    backend = backends.for_spec(spec, prepare=False)
    target = stacks.target_for(
        stack_name=stack or spec.name,
        project_name=project.name,
        work_dir=work_dir or project.root,
        backend_url=backend.url,
        secrets_provider=backend.secrets_provider,
        env_vars=backend.env_vars,
        cli=cli,
        config=config,
    )
    return Environment(project=project, spec=spec, program=program, backend=backend, target=target)


def preview(
    project: Project,
    spec: EnvironmentSpec,
    program: Program,
    reporter: Reporter,
    *,
    targets: Sequence[str] = (),
    refresh: bool = False,
) -> PreviewOutcome:
    """A real preview: what `osp up` would change, and the plan the program declares."""
    check_targets(targets, spec.name)
    env = connect(project, spec, program)
    stack = _open(env, create=True)
    recorder = _preview(env, stack, reporter, targets=targets, refresh=refresh)
    plan = recorder.plan(
        project=project.name, environment=spec.name, stack=spec.name, blueprint=spec.blueprint
    )
    return PreviewOutcome(changes=recorder.change_set(), plan=plan)


def up(
    project: Project,
    spec: EnvironmentSpec,
    program: Program,
    reporter: Reporter,
    *,
    yes: bool,
    interactive: bool,
    targets: Sequence[str] = (),
    refresh: bool = False,
    probe: cluster_access.Probe | None = None,
    check_api: bool = True,
) -> RunOutcome:
    """Preview, show the changes, confirm, update; the outcome has counts and outputs.

    Before the stack is opened, the cluster's API must admit this machine (`probe`, default
    the real network; `check_api=False` skips it): otherwise the run would create the AWS
    half and fail on the Kubernetes half (`cluster_access.ClusterUnreachableError`)."""
    check_targets(targets, spec.name)
    question = confirmation.for_update(spec, yes=yes, interactive=interactive)
    env = connect(project, spec, program)
    if check_api:
        cluster_access.require(spec, probe or cluster_access.NetworkProbe())
    stack = _open(env, create=True)
    changes = _preview(env, stack, reporter, targets=targets, refresh=refresh).change_set()
    reporter.changes(changes, spec.name)
    if not changes.has_changes:
        return RunOutcome(
            command="up",
            environment=spec.name,
            result="no-changes",
            changes=changes,
            outputs=_read_outputs(env, stack),
            next_command=f"osp outputs --env {spec.name}",
        )
    if question is not None and not reporter.confirm(question):
        raise confirmation.declined(f"the update of {spec.name}")

    return _engine_stage(
        env,
        "update",
        reporter,
        lambda on_event: stack.up(
            target=list(targets) or None,
            refresh=refresh or None,
            color=COLOR,
            on_event=on_event,
        ),
        changes=changes,
        next_command=f"osp outputs --env {spec.name}",
    )


def destroy(
    project: Project,
    spec: EnvironmentSpec,
    program: Program,
    reporter: Reporter,
    *,
    yes: bool,
    allow_prod: bool,
    interactive: bool,
) -> RunOutcome:
    """Destroy every resource of the stack, after listing protected ones up front."""
    question = confirmation.for_destroy(
        spec, yes=yes, allow_prod=allow_prod, interactive=interactive
    )
    env = connect(project, spec, program)
    stack = _open(env, create=False)
    with _EngineRun(env, "state", Progress(), None):
        resources = _state_resources(stack)
    protected = [r for r in resources if r.protected]
    if protected:
        raise _protected_error(env, protected)
    changes = ChangeSet(changes=tuple(resources))
    reporter.changes(changes, spec.name)
    if not changes.has_changes:
        return RunOutcome(
            command="destroy",
            environment=spec.name,
            result="no-changes",
            changes=changes,
            next_command=f"osp up --env {spec.name}",
        )
    if question is not None and not reporter.confirm(question):
        raise confirmation.declined(f"destroying {spec.name}")

    return _engine_stage(
        env,
        "destroy",
        reporter,
        lambda on_event: stack.destroy(color=COLOR, on_event=on_event),
        changes=changes,
        next_command=f"osp up --env {spec.name}",
    )


def refresh(
    project: Project, spec: EnvironmentSpec, program: Program, reporter: Reporter
) -> RunOutcome:
    """Bring the stack's state in line with what exists in the cloud (changes no resource)."""
    env = connect(project, spec, program)
    stack = _open(env, create=False)
    return _engine_stage(
        env,
        "refresh",
        reporter,
        lambda on_event: stack.refresh(color=COLOR, on_event=on_event),
        next_command=f"osp preview --env {spec.name}",
    )


def outputs(project: Project, spec: EnvironmentSpec, program: Program) -> dict[str, Output]:
    """The stack's outputs (secret values included; the caller masks them)."""
    env = connect(project, spec, program)
    return _read_outputs(env, _open(env, create=False))


def check_targets(targets: Sequence[str], environment: str) -> None:
    """Refuse (exit 2) any `--target` that is not a URN of `environment`'s stack, all at once."""
    problems = []
    for urn in targets:
        expected = limits.PULUMI_URN.problem(urn)
        if expected is not None:
            problems.append(f"--target: got {urn!r}; expected {expected}")
        elif limits.urn_stack(urn) != environment:
            problems.append(
                f"--target: got {urn!r}; expected a URN of the {environment} stack "
                f"(urn:pulumi:{environment}::…), not of {limits.urn_stack(urn)}"
            )
    if problems:
        raise InvalidTargetError("\n".join(problems) + "\nNothing ran.")


def mask(outputs: Mapping[str, Output], *, show_secrets: bool) -> dict[str, Any]:
    """Outputs as plain values, secrets "<secret>" unless `show_secrets`."""
    return {
        key: (out.value if show_secrets or not out.secret else "<secret>")
        for key, out in sorted(outputs.items())
    }


# --- the stacks of an environment's tenants -------------------------------------------------
# A tenant command has decided and confirmed before it calls these: they neither preview for
# a question nor ask one, and their failures name the stack, not an `osp up` to run.


def update_stack(env: Environment, reporter: Reporter) -> RunOutcome:
    """Create the stack if it is missing and bring it to its program (`pulumi up`)."""
    stack = _open(env, create=True)
    return _engine_stage(
        env, "update", reporter, lambda on_event: stack.up(color=COLOR, on_event=on_event)
    )


def preview_stack(env: Environment, reporter: Reporter) -> Plan | None:
    """The plan of an existing stack's program (a real preview); None when there is no stack
    (nothing is created to preview one)."""
    try:
        stack = _open(env, create=False)
    except stacks.NoStackError:
        return None
    recorder = _preview(env, stack, reporter, targets=(), refresh=False)
    spec = env.spec
    return recorder.plan(
        project=env.project.name, environment=spec.name, stack=env.name, blueprint=spec.blueprint
    )


def stack_outputs(env: Environment) -> dict[str, Output] | None:
    """The outputs of the stack; None when there is no stack."""
    try:
        stack = _open(env, create=False)
    except stacks.NoStackError:
        return None
    return _read_outputs(env, stack)


def remove_stack(env: Environment, reporter: Reporter) -> RunOutcome:
    """Destroy every resource of the stack, then the stack itself (its history goes with it).

    Protected resources stop the destroy: the caller first updates the stack to a program
    that releases them. A missing stack is already removed ("no-changes").
    """
    try:
        stack = _open(env, create=False)
    except stacks.NoStackError:
        return RunOutcome(command="destroy", environment=env.name, result="no-changes")
    outcome = _engine_stage(
        env, "destroy", reporter, lambda on_event: stack.destroy(color=COLOR, on_event=on_event)
    )
    with _EngineRun(env, "remove", Progress(), None):
        stack.workspace.remove_stack(env.name)
    return outcome


# --- internals ------------------------------------------------------------------------------

#: What each engine stage is called in messages.
_STAGE_LABELS = {
    "open": "the selection of the {name} stack",
    "preview": "the preview of {name}",
    "update": "the update of {name}",
    "destroy": "the destroy of {name}",
    "refresh": "the refresh of {name}",
    "outputs": "the read of {name}'s outputs",
    "state": "the read of {name}'s state",
    "remove": "the removal of the {name} stack",
}
#: Stages that change the stack; an interruption of any other leaves nothing half-done.
_CHANGING = ("update", "destroy", "refresh", "remove")


def _open(env: Environment, *, create: bool) -> Any:
    """The stack; state is touched here and only here. `create`: the backend is prepared (the
    osp home's state folder and passphrase) and the stack initialised when missing. Without
    it nothing is created: no state folder means no stack, and the passphrase is used only
    if it exists (a new one could not decrypt an existing stack anyway)."""
    target = _prepared(env, create=create)
    with _EngineRun(env, "open", Progress(), None):
        return stacks.open_stack(target, env.inline_program, create=create)


def _prepared(env: Environment, *, create: bool) -> stacks.StackTarget:
    if create:
        backend = backends.for_spec(env.spec)
        return replace(env.target, backend_url=backend.url, env_vars=dict(backend.env_vars))
    local = env.backend.local_dir
    if local is not None and not local.is_dir():
        raise stacks.NoStackError(stacks.no_stack_message(env.target))
    env_vars = dict(env.target.env_vars)
    passphrase = home.passphrase_path()
    if (
        env.backend.secrets_provider == backends.PASSPHRASE
        and not backends.passphrase_given()
        and passphrase.is_file()
    ):
        home.require_private(passphrase)
        env_vars[home.PASSPHRASE_FILE_ENV] = str(passphrase)
    return replace(env.target, env_vars=env_vars)


def _read_outputs(env: Environment, stack: Any) -> dict[str, Output]:
    with _EngineRun(env, "outputs", Progress(), None):
        return _outputs(stack.outputs())


def _preview(
    env: Environment,
    stack: Any,
    reporter: Reporter,
    *,
    targets: Sequence[str],
    refresh: bool,
) -> ChangeRecorder:
    recorder = ChangeRecorder()
    progress = Progress()
    reporter.stage("preview", env.name)
    with _EngineRun(env, "preview", progress, reporter, recorder.record) as on_event:
        stack.preview(
            target=list(targets) or None,
            refresh=refresh or None,
            color=COLOR,
            on_event=on_event,
        )
    return recorder


class _EngineRun:
    """Runs one engine operation: wires events to the display, routes Ctrl-C to the running
    `pulumi`, and turns what can go wrong into osp errors with their exit codes."""

    def __init__(
        self,
        env: Environment,
        stage: str,
        progress: Progress,
        reporter: Reporter | None,
        also: Callable[[EngineEvent], None] | None = None,
    ) -> None:
        self.env = env
        self.stage = stage
        self.progress = progress
        self.reporter = reporter
        self.also = also
        self.interrupts = Interrupts(
            env.target.command.stop,
            reporter.interrupting if reporter is not None else lambda kind, reached: None,
        )
        self._installed = self.interrupts.installed()

    def on_event(self, event: EngineEvent) -> None:
        if self.also is not None:
            self.also(event)
        notices = self.progress.apply(event)
        if self.reporter is not None:
            self.reporter.event(event, notices)

    def __enter__(self) -> Callable[[EngineEvent], None]:
        self._installed.__enter__()
        return self.on_event

    def __exit__(self, kind, error, traceback) -> bool:
        self._installed.__exit__(None, None, None)
        if error is None:  # the engine finished before a Ctrl-C could stop it: it succeeded
            return False
        if isinstance(error, OspError):
            return False
        if os.environ.get("OSP_DEBUG") and not isinstance(error, KeyboardInterrupt):
            return False
        from pulumi.automation import CommandError, ConcurrentUpdateError

        if isinstance(error, KeyboardInterrupt) or (
            self.interrupts.interrupted and isinstance(error, CommandError)
        ):
            raise self._interrupted() from None
        if isinstance(error, ConcurrentUpdateError):
            raise self._locked(str(error)) from None
        if isinstance(error, CommandError):
            raise self._failed(str(error)) from None
        if isinstance(error, Exception):
            raise RunFailedError(
                f"{self.label} failed: {type(error).__name__}: {error} (set OSP_DEBUG=1 for the "
                "traceback)"
            ) from None
        return False

    @property
    def label(self) -> str:
        return _STAGE_LABELS[self.stage].format(name=self.env.name)

    def _interrupted(self) -> InterruptedRunError:
        name = self.env.name
        if self.stage not in _CHANGING:
            return InterruptedRunError(f"interrupted during {self.label}; nothing was changed")
        how = {
            Stop.GRACEFUL: "Pulumi stopped after the operations in flight finished",
            Stop.FORCE: "Pulumi was told to terminate at once",
            Stop.KILL: "osp killed the pulumi process",
        }[self.interrupts.strongest or Stop.GRACEFUL]
        if not self.env.is_environment_stack:  # a tenant command says how to resume itself
            return InterruptedRunError(
                f"{self.label} was interrupted ({how}); some resources may be half-done. If "
                f"the stack is then reported locked, remove the lock with {self._cancel_hint()}."
            )
        return InterruptedRunError(
            f"{self.label} was interrupted ({how}); some resources may be "
            f"half-done. Recover: run `osp refresh --env {name}` to bring the state in line "
            f"with what exists in AWS, then `osp up --env {name}`. If osp then reports the "
            f"stack locked by this interrupted run, remove the lock first with "
            f"{self._cancel_hint()}."
        )

    def _cancel_hint(self) -> str:
        work_dir = self.env.target.work_dir
        where = "the project root" if self.env.is_environment_stack else str(work_dir)
        return (
            f"`PULUMI_BACKEND_URL={self.env.backend.url} pulumi cancel --yes --stack "
            f"{self.env.name}` (from {where})"
        )

    def _locked(self, text: str) -> StackLockedError:
        holders = parse_conflict(text)
        local = self.env.backend.local_dir
        if not holders and local is not None:
            holders = read_lock_files(local, self.env.project.name, self.env.name)
        return StackLockedError(self.env.name, holders, self._cancel_hint())

    def _failed(self, text: str) -> RunFailedError:
        name = self.env.name
        lines = []
        for resource in self.progress.failed():
            reasons = "; ".join(resource.reasons) or "see the messages above"
            lines.append(f"{resource.type} {resource.name}: {resource.verb}: {reasons}")
        if not lines:
            lines = list(dict.fromkeys(self.progress.errors))
        if not lines:
            lines = [plain_text(line) for line in _stderr_of(text) if line.strip()]
        shown = lines[:_MAX_REASONS]
        if len(lines) > len(shown):
            shown.append(f"… and {len(lines) - len(shown)} more")
        detail = "".join(f"\n  {line}" for line in shown)
        retry = {
            "preview": f"fix the cause and run `osp preview --env {name}` again",
            "update": f"fix the cause and run `osp up --env {name}` again (`osp refresh --env "
            f"{name}` first if resources changed outside osp)",
            "destroy": f"fix the cause and run `osp destroy --env {name}` again",
            "refresh": f"check the credentials and region, then `osp refresh --env {name}`",
        }.get(self.stage, f"check `osp doctor --env {name}`")
        if not self.env.is_environment_stack:  # a tenant command says how to resume itself
            return RunFailedError(f"{self.label} failed:{detail}")
        return RunFailedError(f"{self.label} failed:{detail}\nNext: {retry}")


def _stderr_of(text: str) -> list[str]:
    """The stderr part of a CommandError's text (`code: … stdout: … stderr: …`)."""
    _, _, stderr = text.partition(" stderr: ")
    return (stderr or text).strip().splitlines()[-_MAX_REASONS:]


def _outputs(raw: Mapping[str, Any] | None) -> dict[str, Output]:
    return {
        key: Output(value=getattr(value, "value", value), secret=bool(getattr(value, "secret", 0)))
        for key, value in (raw or {}).items()
    }


#: The command each changing stage reports itself as.
_COMMANDS = {"update": "up", "destroy": "destroy", "refresh": "refresh"}


def _engine_stage(
    env: Environment,
    stage: str,
    reporter: Reporter,
    operation: Callable[[Callable[[EngineEvent], None]], Any],
    *,
    next_command: str = "",
    changes: ChangeSet | None = None,
) -> RunOutcome:
    """Run one changing engine stage (`operation(on_event)`: the stack's up, destroy or
    refresh), shown on `reporter`, and say how it ended; an update's outcome carries the
    stack's outputs."""
    progress = Progress()
    reporter.stage(stage, env.name)
    started = time.monotonic()
    with _EngineRun(env, stage, progress, reporter) as on_event:
        result = operation(on_event)
    raw_outputs = getattr(result, "outputs", None) if stage == "update" else None
    return _outcome(
        _COMMANDS[stage],
        env,
        progress,
        started,
        fallback_counts=getattr(result.summary, "resource_changes", None),
        outputs=_outputs(raw_outputs) if raw_outputs is not None else None,
        changes=changes,
        next_command=next_command,
    )


def _outcome(
    command: str,
    env: Environment,
    progress: Progress,
    started: float,
    *,
    fallback_counts: Mapping[Any, int] | None,
    next_command: str,
    outputs: Mapping[str, Output] | None = None,
    changes: ChangeSet | None = None,
) -> RunOutcome:
    summary: Summary | None = progress.summary
    counts = (
        dict(summary.counts)
        if summary
        else {str(getattr(op, "value", op)): int(n) for op, n in (fallback_counts or {}).items()}
    )
    return RunOutcome(
        command=command,
        environment=env.name,
        result="succeeded",
        counts=counts,
        duration_seconds=(
            summary.duration_seconds
            if summary and summary.duration_seconds
            else round(time.monotonic() - started, 1)
        ),
        outputs=dict(outputs or {}),
        changes=changes,
        next_command=next_command,
        maybe_corrupt=bool(summary and summary.maybe_corrupt),
    )


def _state_resources(stack: Any) -> list[Change]:
    """The resources in the stack's state, as deletions (root stack and default providers out).

    Only URNs, types and protect flags are kept from the exported state.
    """
    deployment = getattr(stack.export_stack(), "deployment", None) or {}
    found = []
    for resource in deployment.get("resources") or []:
        urn, type_token = str(resource.get("urn", "")), str(resource.get("type", ""))
        if type_token == STACK_TYPE or is_default_provider(type_token, urn):
            continue
        found.append(
            Change(
                urn=urn,
                type=type_token,
                op="delete",
                protected=bool(resource.get("protect")),
                parent=resource.get("parent") or None,
                custom=bool(resource.get("custom", True)),
            )
        )
    return found


def _protected_error(env: Environment, protected: list[Change]) -> ProtectedResourcesError:
    name = env.name
    listed = "".join(f"\n  {c.type} {c.name}" for c in protected)
    stack_file = env.project.relative(env.project.stack_file(name))
    return ProtectedResourcesError(
        f"{name} has {len(protected)} protected resource(s); destroy would stop at them:"
        f"{listed}\nNothing was changed. To destroy them, set `osp:deletion_protection: false` "
        f"in {stack_file}, run `osp up --env {name}` (which also lifts the services' own "
        f"deletion protection), then `osp destroy --env {name}` again."
    )
