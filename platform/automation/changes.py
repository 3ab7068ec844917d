"""What a real preview says will change, folded from its engine events.

Each `ResourcePreEvent` of a preview carries one step: the URN, the type, the operation and the
old and new state (inputs included). `ChangeRecorder` collects them (thread-safe: the engine
delivers events on its own threads) into a `ChangeSet` — one `Change` per resource with its
operation, counts, the stateful resources a step would replace or delete — and into a `Plan`
(engine "pulumi") with the same JSON schema as the offline engine's.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from osp.platform.automation.stateful import is_stateful
from osp.platform.plan import STACK_TYPE, Plan, PlannedResource, ResourceOptions

if TYPE_CHECKING:
    from pulumi.automation.events import EngineEvent, StepEventMetadata

ENGINE = "pulumi"
SECRET = "<secret>"
UNKNOWN = "<unknown>"
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_ENGINE_SECRET = "[secret]"

#: Operations that change infrastructure, in the order a summary lists them.
CHANGE_OPS = ("create", "update", "replace", "delete", "import")
#: Several steps of one resource fold into its strongest operation.
_STEP_OP = {
    "create-replacement": "replace",
    "delete-replaced": "replace",
    "import-replacement": "replace",
    "read-replacement": "read",
    "discard-replaced": "same",
    "discard": "same",
    "remove-pending-replace": "same",
}
_STRENGTH = {"replace": 5, "delete": 4, "create": 3, "import": 3, "update": 2, "refresh": 1}


def clean(value: Any) -> Any:
    """An engine value as plain data: secrets "<secret>", unknowns "<unknown>", sorted keys."""
    if isinstance(value, dict):
        sig = value.get(_SIG_KEY)
        if sig == _SECRET_SIG:
            return SECRET
        if sig is not None:
            return {k: clean(v) for k, v in sorted(value.items()) if k != _SIG_KEY}
        return {k: clean(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if value == _UNKNOWN_VALUE:
        return UNKNOWN
    if value == _ENGINE_SECRET:
        return SECRET
    return value


def name_of(urn: str) -> str:
    """The logical name at the end of a URN (`urn:pulumi:<stack>::<project>::<type>::<name>`)."""
    return urn.split("::", 3)[-1]


def is_default_provider(type_token: str, urn: str) -> bool:
    return type_token.startswith("pulumi:providers:") and name_of(urn).startswith("default")


def provider_urn(reference: str | None) -> str | None:
    """`<urn>::<id>` → `<urn>`; the package's default provider (or none) → None, as offline."""
    if not reference:
        return None
    urn = reference.rsplit("::", 1)[0]
    return None if name_of(urn).startswith("default") else urn


@dataclass(frozen=True)
class Change:
    """One resource in a preview: what the engine will do to it."""

    urn: str
    type: str
    op: str
    protected: bool = False
    #: Top-level input names that differ (`diffs`), and those forcing a replacement (`keys`).
    diffs: tuple[str, ...] = ()
    replace_keys: tuple[str, ...] = ()
    #: Property path → diff kind ("update", "add-replace", …) when the provider reported one.
    detailed: Mapping[str, str] = field(default_factory=dict)
    old_inputs: Mapping[str, Any] | None = None
    new_inputs: Mapping[str, Any] | None = None
    parent: str | None = None
    custom: bool = True
    provider: str | None = None
    retain_on_delete: bool = False
    #: Whether the resource was protected before this step (None: not known).
    old_protected: bool | None = None
    #: A resource whose URN changed (a renamed component, a renamed resource): the URN it had.
    #: Pulumi, without an alias, deletes the old and creates the new: a replacement.
    old_urn: str | None = None
    #: Why a diff of two plans paired `old_urn` with `urn` (osp.platform.diff).
    paired_by: str | None = None

    @property
    def name(self) -> str:
        return name_of(self.urn)

    @property
    def protect_removed(self) -> bool:
        """`protect` was on before and is off now, the resource kept (so nothing stops its
        deletion any more)."""
        return bool(self.old_protected) and not self.protected and self.op != "delete"

    @property
    def stateful(self) -> bool:
        return is_stateful(self.type)

    @property
    def changes(self) -> bool:
        return self.op in CHANGE_OPS

    @property
    def dangerous(self) -> bool:
        """A replacement or deletion of a resource that holds data."""
        return self.stateful and self.op in ("replace", "delete")


@dataclass(frozen=True)
class ChangeSet:
    """Every resource of a preview with its operation (unchanged ones included)."""

    changes: tuple[Change, ...]
    outputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> Counter[str]:
        """Resources per operation; every CHANGE_OPS key and "same" are always present."""
        counts: Counter[str] = Counter({op: 0 for op in (*CHANGE_OPS, "same")})
        for change in self.changes:
            counts[change.op if change.changes else "same"] += 1
        return counts

    @property
    def changed(self) -> list[Change]:
        return [c for c in self.changes if c.changes]

    @property
    def dangerous(self) -> list[Change]:
        return [c for c in self.changes if c.dangerous]

    @property
    def has_changes(self) -> bool:
        return any(c.changes for c in self.changes)

    def summary(self) -> str:
        counts = self.counts
        parts = [f"{counts[op]} to {op}" for op in CHANGE_OPS if counts[op] or op != "import"]
        return ", ".join(parts) + f", {counts['same']} unchanged"

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "changes": [
                {
                    "urn": c.urn,
                    "type": c.type,
                    "op": c.op,
                    "stateful": c.stateful,
                    "protected": c.protected,
                    "diffs": list(c.diffs),
                    "replaceKeys": list(c.replace_keys),
                }
                for c in self.changed
            ],
        }


class ChangeRecorder:
    """Collects the steps of a preview from its engine events."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._steps: dict[str, Change] = {}
        self._order: list[str] = []
        self._outputs: dict[str, Any] = {}

    def record(self, event: EngineEvent) -> None:
        if event.resource_pre_event is not None:
            self._step(event.resource_pre_event.metadata)
        elif event.res_outputs_event is not None:
            metadata = event.res_outputs_event.metadata
            if metadata.type == STACK_TYPE and metadata.new is not None:
                with self._lock:
                    self._outputs = clean(dict(metadata.new.outputs or {}))

    def _step(self, metadata: StepEventMetadata) -> None:
        if is_default_provider(metadata.type, metadata.urn):
            return
        op = _STEP_OP.get(str(metadata.op.value), str(metadata.op.value))
        state = metadata.new or metadata.old
        change = Change(
            urn=metadata.urn,
            type=metadata.type,
            op=op,
            protected=bool(state.protect) if state else False,
            old_protected=bool(metadata.old.protect) if metadata.old else None,
            diffs=tuple(metadata.diffs or ()),
            replace_keys=tuple(metadata.keys or ()) if op == "replace" else (),
            detailed={k: str(v.diff_kind.value) for k, v in (metadata.detailed_diff or {}).items()},
            old_inputs=clean(dict(metadata.old.inputs or {})) if metadata.old else None,
            new_inputs=clean(dict(metadata.new.inputs or {})) if metadata.new else None,
            parent=(state.parent or None) if state else None,
            custom=bool(state.custom) if state and state.custom is not None else True,
            provider=provider_urn(state.provider if state else None),
            retain_on_delete=bool(state.retain_on_delete) if state else False,
        )
        with self._lock:
            previous = self._steps.get(change.urn)
            if previous is None:
                self._order.append(change.urn)
                self._steps[change.urn] = change
                return
            # A replacement arrives as several steps; keep the strongest, and the new inputs.
            strongest = max(previous, change, key=lambda c: _STRENGTH.get(c.op, 0))
            self._steps[change.urn] = dataclasses.replace(
                strongest,
                old_inputs=previous.old_inputs or change.old_inputs,
                new_inputs=change.new_inputs or previous.new_inputs,
                diffs=strongest.diffs or previous.diffs or change.diffs,
                replace_keys=strongest.replace_keys or previous.replace_keys,
            )

    def change_set(self) -> ChangeSet:
        with self._lock:
            return ChangeSet(
                changes=tuple(self._steps[urn] for urn in self._order),
                outputs=dict(self._outputs),
            )

    def plan(self, *, project: str, environment: str, stack: str, blueprint: str) -> Plan:
        """The preview as a Plan: every resource the program declares (deletions excluded).

        Engine events carry no dependencies, ignore-changes or delete-before-replace, so those
        fields stay empty in a plan from the Pulumi engine.
        """
        change_set = self.change_set()
        resources = [
            PlannedResource(
                urn=c.urn,
                type=c.type,
                name=c.name,
                parent=c.parent,
                custom=c.custom,
                provider=c.provider,
                dependencies=(),
                property_dependencies={},
                options=ResourceOptions(protect=c.protected, retain_on_delete=c.retain_on_delete),
                inputs=dict(c.new_inputs or {}),
            )
            for c in change_set.changes
            if c.op != "delete"
        ]
        return Plan(
            project=project,
            environment=environment,
            stack=stack,
            blueprint=blueprint,
            engine=ENGINE,
            resources=tuple(sorted(resources, key=lambda r: r.urn)),
            outputs=change_set.outputs,
        )


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]|\[\"([^\"]+)\"\]")


def lookup(inputs: Mapping[str, Any] | None, path: str) -> Any:
    """The value at a property path such as `tags.Name` or `ingress[0].cidrBlocks`."""
    value: Any = inputs
    for key, index, quoted in _PATH_PART.findall(path):
        if isinstance(value, Mapping):
            value = value.get(key or quoted)
        elif isinstance(value, list) and index:
            position = int(index)
            value = value[position] if position < len(value) else None
        else:
            return None
    return value
