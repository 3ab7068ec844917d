"""The rendering model of an engine run: engine events folded into what a display shows.

`Progress.apply(event)` keeps one `ResourceProgress` per resource (operation, status, start and
end time, failure reasons) and returns the `Notice`s a renderer prints: a resource started,
finished or failed, a message, a policy violation, the end of the stream, the summary. The three
renderers of the CLI (live, plain, JSON lines) share it, so they never disagree about what
happened. `event_to_json` gives an event back in Pulumi's own engine-event JSON shape.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from osp.platform.automation.changes import clean, is_default_provider, name_of
from osp.platform.automation.stateful import is_stateful
from osp.platform.plan import STACK_TYPE

if TYPE_CHECKING:
    from pulumi.automation.events import EngineEvent, StepEventMetadata, StepEventStateMetadata

#: (while it runs, once it is done) for each step operation.
VERBS: Mapping[str, tuple[str, str]] = {
    "create": ("creating", "created"),
    "update": ("updating", "updated"),
    "delete": ("deleting", "deleted"),
    "replace": ("replacing", "replaced"),
    "create-replacement": ("creating replacement", "created replacement"),
    "delete-replaced": ("deleting original", "deleted original"),
    "read": ("reading", "read"),
    "read-replacement": ("reading replacement", "read replacement"),
    "refresh": ("refreshing", "refreshed"),
    "import": ("importing", "imported"),
    "import-replacement": ("importing replacement", "imported replacement"),
    "same": ("checking", "unchanged"),
    "discard": ("discarding", "discarded"),
    "discard-replaced": ("discarding original", "discarded original"),
    "remove-pending-replace": ("removing pending replacement", "removed pending replacement"),
}
#: Operations a live display does not list once done (they change nothing).
QUIET_OPS = frozenset({"same", "read", "refresh"})
_COLOR_DIRECTIVE = re.compile(r"<\{%[^%]*%\}>")


def plain_text(message: str) -> str:
    """An engine message without Pulumi's colour directives (`<{%fg 1%}>`) or trailing space."""
    return _COLOR_DIRECTIVE.sub("", message).rstrip()


class Status(Enum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass
class ResourceProgress:
    """One resource during a run."""

    urn: str
    type: str
    op: str
    started: float
    finished: float | None = None
    status: Status = Status.RUNNING
    reasons: list[str] = field(default_factory=list)
    #: The last ephemeral message the provider sent about it ("still creating…").
    note: str = ""
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    @property
    def name(self) -> str:
        return name_of(self.urn)

    @property
    def stateful(self) -> bool:
        return is_stateful(self.type)

    @property
    def quiet(self) -> bool:
        return self.op in QUIET_OPS and self.status is not Status.FAILED

    @property
    def verb(self) -> str:
        running, done = VERBS.get(self.op, (self.op, self.op))
        if self.status is Status.RUNNING:
            return running
        return done if self.status is Status.DONE else f"{self.op.replace('-', ' ')} failed"

    def elapsed(self, now: float | None = None) -> float:
        end = self.finished if self.finished is not None else (now or self.clock())
        return max(0.0, end - self.started)


@dataclass(frozen=True)
class Prelude:
    config_keys: tuple[str, ...]


@dataclass(frozen=True)
class Started:
    resource: ResourceProgress


@dataclass(frozen=True)
class Finished:
    resource: ResourceProgress


@dataclass(frozen=True)
class Failed:
    resource: ResourceProgress


@dataclass(frozen=True)
class Message:
    """A diagnostic or a line the engine printed; severity: info, info#err, warning, error."""

    severity: str
    text: str
    urn: str | None = None


@dataclass(frozen=True)
class PolicyViolation:
    policy: str
    pack: str
    enforcement: str
    text: str
    urn: str | None = None


@dataclass(frozen=True)
class StreamEnded:
    """Pulumi's CancelEvent: the last event of every run, completed or cancelled alike (so it
    says nothing about Ctrl-C; osp reports interruptions itself)."""


@dataclass(frozen=True)
class Summary:
    counts: Mapping[str, int]
    duration_seconds: int
    maybe_corrupt: bool


Notice = Prelude | Started | Finished | Failed | Message | PolicyViolation | StreamEnded | Summary


class Progress:
    """The state of one engine run. Thread-safe: events arrive on the engine's threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self.resources: dict[str, ResourceProgress] = {}
        self.errors: list[str] = []
        self.summary: Summary | None = None
        self.ended = False

    def running(self) -> list[ResourceProgress]:
        with self._lock:
            return [r for r in self.resources.values() if r.status is Status.RUNNING]

    def failed(self) -> list[ResourceProgress]:
        with self._lock:
            return [r for r in self.resources.values() if r.status is Status.FAILED]

    def apply(self, event: EngineEvent) -> list[Notice]:
        with self._lock:
            return self._apply(event)

    def _apply(self, event: EngineEvent) -> list[Notice]:
        now = self._clock()
        if event.prelude_event is not None:
            return [Prelude(tuple(sorted(event.prelude_event.config or {})))]
        if event.resource_pre_event is not None:
            metadata = event.resource_pre_event.metadata
            if is_default_provider(metadata.type, metadata.urn):
                return []
            resource = ResourceProgress(
                urn=metadata.urn,
                type=metadata.type,
                op=str(metadata.op.value),
                started=now,
                clock=self._clock,
            )
            self.resources[metadata.urn] = resource
            return [Started(resource)]
        if event.res_outputs_event is not None:
            resource = self._finish(event.res_outputs_event.metadata, now, Status.DONE)
            return [Finished(resource)] if resource else []
        if event.res_op_failed_event is not None:
            resource = self._finish(event.res_op_failed_event.metadata, now, Status.FAILED)
            return [Failed(resource)] if resource else []
        if event.diagnostic_event is not None:
            return self._diagnostic(event)
        if event.stdout_event is not None:
            text = plain_text(event.stdout_event.message)
            return [Message("info", text)] if text else []
        if event.policy_event is not None:
            policy = event.policy_event
            return [
                PolicyViolation(
                    policy=policy.policy_name,
                    pack=policy.policy_pack_name,
                    enforcement=policy.enforcement_level,
                    text=plain_text(policy.message),
                    urn=policy.resource_urn,
                )
            ]
        if event.cancel_event is not None:
            self.ended = True
            return [StreamEnded()]
        if event.summary_event is not None:
            summary = event.summary_event
            self.summary = Summary(
                counts={
                    str(getattr(op, "value", op)): int(count)
                    for op, count in (summary.resource_changes or {}).items()
                },
                duration_seconds=int(summary.duration_seconds or 0),
                maybe_corrupt=bool(summary.maybe_corrupt),
            )
            return [self.summary]
        if getattr(event, "start_debugging_event", None) is not None:
            return [Message("info", "a debugger is waiting to be attached")]
        return []

    def _finish(
        self, metadata: StepEventMetadata, now: float, status: Status
    ) -> ResourceProgress | None:
        if is_default_provider(metadata.type, metadata.urn):
            return None
        resource = self.resources.get(metadata.urn)
        if resource is None:  # an event for a step we never saw start: show it anyway
            resource = ResourceProgress(
                urn=metadata.urn,
                type=metadata.type,
                op=str(metadata.op.value),
                started=now,
                clock=self._clock,
            )
            self.resources[metadata.urn] = resource
        resource.finished = now
        resource.status = status
        return resource

    def _diagnostic(self, event: EngineEvent) -> list[Notice]:
        diagnostic = event.diagnostic_event
        assert diagnostic is not None
        text = plain_text(diagnostic.message)
        if not text:
            return []
        resource = self.resources.get(diagnostic.urn or "")
        if diagnostic.ephemeral:
            if resource is not None:
                resource.note = text
            return []
        if diagnostic.severity == "error":
            self.errors.append(text)
            # The reason a resource failed is shown under it, when its failure arrives.
            if resource is not None and resource.type != STACK_TYPE:
                resource.reasons.append(text)
                return []
        return [Message(diagnostic.severity, text, diagnostic.urn or None)]


def event_to_json(event: EngineEvent) -> dict[str, Any]:
    """`event` in Pulumi's engine-event JSON shape (as `pulumi up --json` and event logs write
    it), with secrets "<secret>" and unknowns "<unknown>"."""
    body: dict[str, Any] = {"sequence": event.sequence, "timestamp": event.timestamp}
    if event.cancel_event is not None:
        body["cancelEvent"] = {}
    if event.stdout_event is not None:
        body["stdoutEvent"] = {
            "message": event.stdout_event.message,
            "color": event.stdout_event.color,
        }
    if (d := event.diagnostic_event) is not None:
        body["diagnosticEvent"] = _without_none(
            {
                "urn": d.urn,
                "prefix": d.prefix,
                "message": d.message,
                "color": d.color,
                "severity": d.severity,
                "streamId": d.stream_id,
                "ephemeral": d.ephemeral,
            }
        )
    if event.prelude_event is not None:
        body["preludeEvent"] = {"config": clean(dict(event.prelude_event.config or {}))}
    if (s := event.summary_event) is not None:
        body["summaryEvent"] = {
            "maybeCorrupt": bool(s.maybe_corrupt),
            "durationSeconds": s.duration_seconds,
            "resourceChanges": {
                str(getattr(op, "value", op)): n for op, n in (s.resource_changes or {}).items()
            },
            "PolicyPacks": dict(s.policy_packs or {}),
        }
    if (pre := event.resource_pre_event) is not None:
        body["resourcePreEvent"] = _without_none(
            {"metadata": _metadata(pre.metadata), "planning": pre.planning}
        )
    if (out := event.res_outputs_event) is not None:
        body["resOutputsEvent"] = _without_none(
            {"metadata": _metadata(out.metadata), "planning": out.planning}
        )
    if (failed := event.res_op_failed_event) is not None:
        body["resOpFailedEvent"] = {
            "metadata": _metadata(failed.metadata),
            "status": failed.status,
            "steps": failed.steps,
        }
    if (p := event.policy_event) is not None:
        body["policyEvent"] = _without_none(
            {
                "resourceUrn": p.resource_urn,
                "message": p.message,
                "color": p.color,
                "policyName": p.policy_name,
                "policyPackName": p.policy_pack_name,
                "policyPackVersion": p.policy_pack_version,
                "policyPackVersionTag": p.policy_pack_version_tag,
                "enforcementLevel": p.enforcement_level,
            }
        )
    if (debug := getattr(event, "start_debugging_event", None)) is not None:
        body["startDebuggingEvent"] = {"config": dict(debug.config or {})}
    return body


def _metadata(metadata: StepEventMetadata) -> dict[str, Any]:
    return _without_none(
        {
            "op": str(metadata.op.value),
            "urn": metadata.urn,
            "type": metadata.type,
            "provider": metadata.provider,
            "old": _state(metadata.old),
            "new": _state(metadata.new),
            "keys": metadata.keys,
            "diffs": metadata.diffs,
            "detailedDiff": {
                path: {"diffKind": str(diff.diff_kind.value), "inputDiff": bool(diff.input_diff)}
                for path, diff in (metadata.detailed_diff or {}).items()
            }
            or None,
            "logical": metadata.logical,
        }
    )


def _state(state: StepEventStateMetadata | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return _without_none(
        {
            "type": state.type,
            "urn": state.urn,
            "custom": state.custom,
            "delete": state.delete,
            "id": state.id,
            "parent": state.parent,
            "protect": state.protect,
            "retainOnDelete": state.retain_on_delete,
            "inputs": clean(dict(state.inputs)) if state.inputs is not None else None,
            "outputs": clean(dict(state.outputs)) if state.outputs is not None else None,
            "provider": state.provider,
            "initErrors": state.init_errors,
            "taint": state.taint,
        }
    )


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
