"""Displays of a real run: live (a terminal), plain (CI, pipes), JSON lines (`--json`).

All three implement `osp.platform.automation.operations.Reporter` over the same rendering model
(`osp.platform.automation.progress`), so they never disagree about what happened:

- live: the resources in flight with their operation and elapsed time, redrawn in place;
  each finished resource printed once above them; failure reasons under the failing resource.
- plain: one line per event, no animation — chosen when `CI` is set or stdout is no terminal.
- JSON: one JSON object per line on stdout — Pulumi's engine events as Pulumi writes them, and
  osp's own `ospStageEvent`, `ospChangesEvent`, `ospInterruptEvent`, `ospResultEvent`.

Questions are asked on stderr, so that stdout stays clean for `--json`.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from osp.cli import output

if TYPE_CHECKING:
    from pulumi.automation.events import EngineEvent

    from osp.platform.automation.changes import ChangeSet
    from osp.platform.automation.confirmation import Confirmation
    from osp.platform.automation.interrupt import Stop
    from osp.platform.automation.operations import RunOutcome
    from osp.platform.automation.progress import Notice, ResourceProgress

_STAGES = {
    "preview": "Previewing",
    "update": "Updating",
    "destroy": "Destroying",
    "refresh": "Refreshing",
}
_PAST = {
    "create": "created",
    "update": "updated",
    "replace": "replaced",
    "delete": "deleted",
    "import": "imported",
    "same": "unchanged",
}
_DONE = {"up": "Updated", "destroy": "Destroyed", "refresh": "Refreshed"}
_INTERRUPT = {
    "graceful": "Stopping: Pulumi finishes the operations in flight, saves the state and "
    "stops. Press Ctrl-C again to force it to terminate now.",
    "force": "Forcing Pulumi to terminate now; operations in flight are abandoned. Press "
    "Ctrl-C again to kill it.",
    "kill": "Killing the pulumi process.",
}
_PLAIN_HIDDEN_OPS = frozenset({"same", "read"})


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def interactive() -> bool:
    """Can osp ask a question (stdin and stderr are terminals)?"""
    return sys.stdin.isatty() and sys.stderr.isatty()


def ask(question: Confirmation) -> bool:
    try:
        answer = output.stderr().input(question.prompt, markup=False)
    except EOFError:
        return False
    return question.accepts(answer)


def duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def counts_text(counts: Mapping[str, int]) -> str:
    order = [op for op in _PAST if op in counts] + sorted(set(counts) - set(_PAST))
    shown = [f"{counts[op]} {_PAST.get(op, op)}" for op in order if counts[op] or op in _PAST]
    return ", ".join(shown) or "nothing changed"


class Planning:
    """The offline engine's progress on stderr: the phase, then a live count of the resources
    the program has registered. Shown only where someone watches: stderr a terminal, `CI`
    unset, and not `--json` into a pipe. Transient: nothing of it stays on the screen."""

    def __init__(self, environment: str, *, visible: bool) -> None:
        self.environment = environment
        self.visible = visible
        self.current = ""
        self.count = 0
        self.started = time.monotonic()
        self.spinner = Spinner("dots")
        self.live: Live | None = None

    def phase(self, name: str) -> None:
        self.current = name

    def registered(self, count: int) -> None:
        """Called by the offline engine (on its threads) after each registration."""
        self.count = count

    def __rich__(self) -> Spinner:
        elapsed = duration(time.monotonic() - self.started)
        counted = f": {self.count} resources registered" if self.count else ""
        self.spinner.update(
            text=Text(f"Planning {self.environment} offline, {self.current}{counted} ({elapsed})")
        )
        return self.spinner

    def __enter__(self) -> Planning:
        if self.visible:
            self.live = Live(
                self, console=output.stderr(), refresh_per_second=8, transient=True,
                redirect_stdout=False, redirect_stderr=False,
            )  # fmt: skip
            self.live.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def planning(environment: str, *, as_json: bool) -> Planning:
    """The offline preview's progress display (invisible unless someone watches)."""
    watched = (
        output.stderr().is_terminal and not in_ci() and not (as_json and not sys.stdout.isatty())
    )
    return Planning(environment, visible=watched)


def reporter(*, as_json: bool, console: Console | None = None) -> PlainReporter:
    """The display for this terminal: JSON lines, live (a terminal outside CI) or plain.

    `console`: where the display goes (default stdout)."""
    if as_json:
        return JsonReporter()
    console = console or output.stdout()
    if console.is_terminal and not in_ci():
        return LiveReporter(console)
    return PlainReporter(console)


class PlainReporter:
    """One line per event, no animation."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or output.stdout()
        self.lock = threading.RLock()
        self.stage_name = ""
        self.environment = ""
        self.stage_started = time.monotonic()

    # --- the Reporter protocol ---

    def stage(self, stage: str, environment: str) -> None:
        with self.lock:
            self.stage_name, self.environment = stage, environment
            self.stage_started = time.monotonic()
            self.console.print(f"[bold]{_STAGES.get(stage, stage)} {escape(environment)}…[/]")

    def event(self, event: EngineEvent, notices: list[Notice]) -> None:
        with self.lock:
            for notice in notices:
                self.notice(notice)

    def changes(self, changes: ChangeSet, environment: str) -> None:
        from osp.cli.render import render_changes

        with self.lock:
            render_changes(self.console, changes, environment)

    def confirm(self, question: Confirmation) -> bool:
        return ask(question)

    def interrupting(self, kind: Stop, reached: int) -> None:
        output.stderr().print(f"[yellow]{_INTERRUPT[kind.value]}[/]")

    # --- rendering ---

    def line(self, text: str) -> None:
        elapsed = duration(time.monotonic() - self.stage_started)
        self.console.print(f"[dim]\\[{elapsed:>6}][/] {text}", soft_wrap=True)

    def notice(self, notice: Notice) -> None:
        from osp.platform.automation import progress as p

        preview = self.stage_name == "preview"
        match notice:
            case p.Prelude(config_keys=keys):
                self.line(f"[dim]engine started ({len(keys)} configuration keys)[/]")
            case p.Started(resource=r) if not preview and r.op not in _PLAIN_HIDDEN_OPS:
                if r.op != "refresh":
                    self.line(f"{r.verb} {_resource(r)}")
            case p.Finished(resource=r) if not preview and r.op not in _PLAIN_HIDDEN_OPS:
                self.line(f"[green]{r.verb}[/] {_resource(r)} [dim]({duration(r.elapsed())})[/]")
            case p.Failed(resource=r):
                self.line(f"[bold red]{r.verb}[/] {_resource(r)} [dim]({duration(r.elapsed())})[/]")
                for reason in r.reasons:
                    self.console.print(_indented(reason, "red"), soft_wrap=True)
            case p.Message(severity=severity, text=text):
                self.line(_message(severity, text))
            case p.PolicyViolation() as v:
                self.line(_policy(v))
            case p.StreamEnded():
                pass  # sent at the end of every run; interruptions are reported by osp
            case p.Summary(maybe_corrupt=corrupt, counts=counts, duration_seconds=seconds):
                if not preview:  # a preview's counts come next, as the list of changes
                    self.line(f"engine finished: {counts_text(counts)} in {duration(seconds)}")
                if corrupt:
                    self.line(_CORRUPT.format(env=escape(self.environment)))

    def result(self, outcome: RunOutcome) -> None:
        render_outcome(self.console, outcome)

    def close(self) -> None:
        return None

    def __enter__(self) -> PlainReporter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class LiveReporter(PlainReporter):
    """A terminal display: resources in flight redrawn in place, finished ones printed above."""

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self.live: Live | None = None
        self.running: dict[str, ResourceProgress] = {}
        self.spinners: dict[str, Spinner] = {}
        self.seen = 0
        self.spinner = Spinner("dots")

    def stage(self, stage: str, environment: str) -> None:
        self._stop()
        with self.lock:
            self.running.clear()
            self.spinners.clear()
            self.seen = 0
            super().stage(stage, environment)
            self.live = Live(
                self, console=self.console, refresh_per_second=8, transient=True,
                redirect_stdout=False, redirect_stderr=False,
            )  # fmt: skip
            self.live.start()

    def changes(self, changes: ChangeSet, environment: str) -> None:
        self._stop()
        super().changes(changes, environment)

    def confirm(self, question: Confirmation) -> bool:
        self._stop()
        return super().confirm(question)

    def line(self, text: str) -> None:
        self.console.print(text, soft_wrap=True)

    def notice(self, notice: Notice) -> None:
        from osp.platform.automation import progress as p

        preview = self.stage_name == "preview"
        match notice:
            case p.Started(resource=r):
                self.seen += 1
                if not preview:
                    self.running[r.urn] = r
            case p.Finished(resource=r):
                self.running.pop(r.urn, None)
                if not preview and not r.quiet:
                    self.line(
                        f"[green]✓ {r.verb}[/] {_resource(r)} [dim]({duration(r.elapsed())})[/]"
                    )
            case p.Failed(resource=r):
                self.running.pop(r.urn, None)
                self.line(
                    f"[bold red]✗ {r.verb}[/] {_resource(r)} [dim]({duration(r.elapsed())})[/]"
                )
                for reason in r.reasons:
                    self.line(_indented(reason, "red"))
            case p.Prelude():
                pass  # the stage line already says what runs
            case p.Summary(maybe_corrupt=corrupt):
                if corrupt:
                    self.line(_CORRUPT.format(env=escape(self.environment)))
            case _:
                super().notice(notice)

    def __rich__(self) -> Group:
        # No self.lock here: Live renders this on its own thread while holding its lock, and
        # the event threads hold self.lock while printing (which takes Live's lock) — taking
        # both in opposite orders would deadlock. A snapshot of the dict is enough.
        running = sorted(dict(self.running).values(), key=lambda r: r.started)
        elapsed = duration(time.monotonic() - self.stage_started)
        verb = _STAGES.get(self.stage_name, self.stage_name)
        if self.stage_name == "preview":
            self.spinner.update(
                text=Text(f"{verb} {self.environment}: {self.seen} resources ({elapsed})")
            )
            return Group(self.spinner)
        table = Table.grid(padding=(0, 1))
        for resource in running:
            spinner = self.spinners.setdefault(resource.urn, Spinner("dots", style="cyan"))
            table.add_row(
                spinner,
                Text(resource.verb, style="cyan"),
                Text(resource.type, style="dim"),
                Text(resource.name),
                Text(duration(resource.elapsed()), style="dim"),
                Text(resource.note, style="dim", overflow="ellipsis", no_wrap=True),
            )
        self.spinner.update(
            text=Text(f"{verb} {self.environment}: {len(running)} in flight ({elapsed})")
        )
        return Group(table, self.spinner)

    def _stop(self) -> None:
        # Never called with self.lock held: Live.stop renders a last frame (see __rich__).
        with self.lock:
            live, self.live = self.live, None
        if live is not None:
            live.stop()

    def close(self) -> None:
        self._stop()


class JsonReporter(PlainReporter):
    """One JSON object per line on stdout; questions on stderr."""

    def __init__(self) -> None:
        super().__init__(output.stderr())

    def emit(self, body: Mapping[str, Any]) -> None:
        with self.lock:
            sys.stdout.write(json.dumps(body, ensure_ascii=False, default=str) + "\n")
            sys.stdout.flush()

    def stage(self, stage: str, environment: str) -> None:
        self.stage_name, self.environment = stage, environment
        self.emit({"ospStageEvent": {"stage": stage, "environment": environment}})

    def event(self, event: EngineEvent, notices: list[Notice]) -> None:
        from osp.platform.automation.progress import event_to_json

        self.emit(event_to_json(event))

    def changes(self, changes: ChangeSet, environment: str) -> None:
        self.emit({"ospChangesEvent": {"environment": environment, **changes.to_json()}})

    def interrupting(self, kind: Stop, reached: int) -> None:
        self.emit({"ospInterruptEvent": {"kind": kind.value, "signalled": reached}})
        super().interrupting(kind, reached)

    def result(self, outcome: RunOutcome) -> None:
        self.emit({"ospResultEvent": outcome_json(outcome)})


def outcome_json(outcome: RunOutcome) -> dict[str, Any]:
    from osp.platform.automation.operations import mask

    return {
        "command": outcome.command,
        "environment": outcome.environment,
        "result": outcome.result,
        "counts": dict(outcome.counts),
        "durationSeconds": outcome.duration_seconds,
        "outputs": mask(outcome.outputs, show_secrets=False),
        "maybeCorrupt": outcome.maybe_corrupt,
        "next": outcome.next_command,
    }


def render_outcome(console: Console, outcome: RunOutcome) -> None:
    """The end of a run: counts, duration, outputs (secrets masked), the next command."""
    from osp.platform.automation.operations import mask

    env = escape(outcome.environment)
    if outcome.result == "no-changes":
        nothing = "nothing to destroy" if outcome.command == "destroy" else "nothing to do"
        console.print(f"[bold]No changes to {env}:[/] {nothing}.")
    else:
        console.print(
            f"[bold green]✓ {_DONE.get(outcome.command, outcome.command)} {env}[/] in "
            f"{duration(outcome.duration_seconds)}: {counts_text(outcome.counts)}."
        )
    if outcome.maybe_corrupt:
        console.print(_CORRUPT.format(env=env))
    values = mask(outcome.outputs, show_secrets=False)
    if values:
        console.print("[bold]Outputs[/] [dim](secrets masked; `osp outputs --show-secrets`)[/]")
        render_outputs(console, values)
    if outcome.next_command:
        console.print(f"Next: [bold]{escape(outcome.next_command)}[/]")


def render_outputs(console: Console, values: Mapping[str, Any]) -> None:
    table = Table.grid(padding=(0, 2))
    for key, value in values.items():
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        table.add_row(Text(f"  {key}", style="bold"), Text(text))
    console.print(table)


_CORRUPT = (
    "[bold red]Pulumi reports the state of {env} may be inconsistent: run "
    "`osp refresh --env {env}` before the next update.[/]"
)


def _resource(resource: ResourceProgress) -> str:
    style = "bold red" if resource.stateful and resource.op in ("replace", "delete") else ""
    name = f"[{style}]{escape(resource.name)}[/]" if style else escape(resource.name)
    return f"[dim]{escape(resource.type)}[/] {name}"


def _indented(text: str, style: str) -> str:
    return "\n".join(f"    [{style}]{escape(line)}[/]" for line in text.splitlines())


def _message(severity: str, text: str) -> str:
    first, *rest = text.splitlines() or [""]
    label = {"error": "[bold red]error:[/] ", "warning": "[yellow]warning:[/] "}.get(severity, "")
    style = "dim" if severity.startswith("info") else ""
    body = f"[{style}]{escape(first)}[/]" if style else escape(first)
    tail = "".join(f"\n    {escape(line)}" for line in rest)
    return f"{label}{body}{tail}"


def _policy(violation: Any) -> str:
    colour = "red" if violation.enforcement == "mandatory" else "yellow"
    return (
        f"[{colour}]policy {escape(violation.enforcement)}:[/] "
        f"{escape(violation.pack)}/{escape(violation.policy)}: {escape(violation.text)}"
    )
