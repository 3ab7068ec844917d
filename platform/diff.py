"""A diff of two plans (the base branch's, saved as plan JSON, and the head's): the changes
`osp up` would make going from one to the other, in the model a real preview uses (`ChangeSet`
of `Change`s), so the same renderers, call-outs and review comment serve both.

    base = read_plan(Path("base.json"), environment="prod")
    changes = diff(base, head)

- A resource in both plans whose inputs differ is updated in place, or replaced when one of
  the changed inputs forces it (osp.platform.replacement).
- A URN only in the base is deleted, one only in the head created — unless the two are the same
  thing renamed: a component whose type and children (by the part of their names after the
  component's own name) are the same, a resource whose component was renamed and whose name
  ends the same, or a resource of the same type and parent whose inputs differ only in its
  names. Pulumi deletes and creates such a pair (no alias): a replacement, shown with the URN
  it had (`old_urn`) and why the two were paired (`paired_by`).
- Values are compared as the plans hold them: the engines already mask secrets ("<secret>"),
  and an input whose name says it holds one is masked here too, whatever a file says.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from osp.platform.automation.changes import SECRET, Change, ChangeSet
from osp.platform.errors import OspError
from osp.platform.plan import (
    SCHEMA_VERSION,
    STACK_TYPE,
    Plan,
    PlannedResource,
    ResourceOptions,
)
from osp.platform.replacement import NAME_PROPERTIES, replacing

#: Input names whose values are secrets wherever they appear: masked in every diff even if a
#: saved plan holds them in clear (a plan osp writes never does).
SECRET_INPUTS = frozenset(
    {"password", "masterPassword", "authToken", "secretString", "secretBinary", "privateKey"}
)


class SavedPlanError(OspError):
    """The plan to compare with (`--against FILE`) cannot be used: a usage error."""

    exit_code = 2


# --- reading a saved plan -------------------------------------------------------------------

_RESOURCE_FIELDS = {
    "urn": str,
    "type": str,
    "name": str,
    "custom": bool,
    "dependencies": list,
    "propertyDependencies": dict,
    "options": dict,
    "inputs": dict,
}


def read_plan(path: Path, *, environment: str, option: str = "--against") -> Plan:
    """The plan JSON (schema version 1) in `path`, for `environment`; a `SavedPlanError`
    naming `option`, the file, what was found and what is expected otherwise."""
    where = f"{option} {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SavedPlanError(
            f"{where}: no such file; expected a plan JSON file written by "
            "`osp preview --offline --out FILE`"
        ) from None
    except IsADirectoryError:
        raise SavedPlanError(f"{where}: is a folder; expected a plan JSON file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SavedPlanError(f"{where}: cannot read it ({reason})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SavedPlanError(
            f"{where}: not JSON ({exc}); expected a plan JSON file written by "
            "`osp preview --offline --out FILE`"
        ) from None
    plan = plan_from_json(data, where)
    if plan.environment != environment:
        raise SavedPlanError(
            f"{where}: a plan of environment {plan.environment!r}; expected one of "
            f"{environment!r} (the --env being previewed)"
        )
    return plan


def plan_from_json(data: Any, where: str) -> Plan:
    """A `Plan` from its JSON form (docs/plan-json.md), every field checked."""
    if not isinstance(data, dict) or "resources" not in data:
        raise SavedPlanError(
            f"{where}: not a plan (expected an object with schemaVersion, environment and "
            "resources, as `osp preview --json` prints)"
        )
    version = data.get("schemaVersion")
    if version != SCHEMA_VERSION:
        raise SavedPlanError(
            f"{where}: schemaVersion: got {version!r}; expected {SCHEMA_VERSION} (this osp "
            "reads plan JSON schema version 1; write the plan again with this osp)"
        )
    for key in ("project", "environment", "stack", "blueprint", "engine"):
        if not isinstance(data.get(key), str):
            raise SavedPlanError(f"{where}: {key}: got {data.get(key)!r}; expected a string")
    if not isinstance(data["resources"], list) or not isinstance(data.get("outputs", {}), dict):
        raise SavedPlanError(f"{where}: resources: expected a list, outputs an object")
    resources = [
        _resource(raw, f"{where}: resources[{i}]") for i, raw in enumerate(data["resources"])
    ]
    urns = [r.urn for r in resources]
    if len(set(urns)) != len(urns):
        raise SavedPlanError(f"{where}: resources: a URN appears twice")
    return Plan(
        project=data["project"],
        environment=data["environment"],
        stack=data["stack"],
        blueprint=data["blueprint"],
        engine=data["engine"],
        resources=tuple(resources),
        outputs=data.get("outputs", {}),
    )


def _resource(raw: Any, where: str) -> PlannedResource:
    if not isinstance(raw, dict):
        raise SavedPlanError(f"{where}: got {type(raw).__name__}; expected a resource object")
    for key, kind in _RESOURCE_FIELDS.items():
        if not isinstance(raw.get(key), kind):
            raise SavedPlanError(f"{where}.{key}: got {raw.get(key)!r}; expected a {kind.__name__}")
    for key in ("parent", "provider"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise SavedPlanError(f"{where}.{key}: got {raw[key]!r}; expected a URN or null")
    # Options a plan leaves out take their defaults, as the engine records them.
    options = {**ResourceOptions().to_json(), **raw["options"]}
    return PlannedResource.from_json(
        {**raw, "parent": raw.get("parent"), "provider": raw.get("provider"), "options": options}
    )


# --- comparing ------------------------------------------------------------------------------


def masked(value: Any, key: str | None = None) -> Any:
    """`value` with every input named in SECRET_INPUTS replaced by "<secret>"."""
    if key in SECRET_INPUTS and value is not None:
        return SECRET
    if isinstance(value, Mapping):
        return {k: masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_:/@-]+$")


def _step(prefix: str, key: str) -> str:
    part = key if _PLAIN_KEY.match(key) else f'["{key}"]'
    if part.startswith("["):
        return f"{prefix}{part}"
    return f"{prefix}.{part}" if prefix else part


def _container(value: Any) -> Any:
    """A JSON document held as text (an IAM policy, a container definition) as data; anything
    else as it is."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(path, "add" | "delete" | "update") for every difference between two input values:
    objects key by key, JSON documents held as text inside them, lists of the same length
    element by element and other lists by the elements only one of them holds (an "add" at
    its index in `new`, a "delete" at its index in `old`)."""
    if old == new:
        return []
    old, new = _container(old), _container(new)
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        found: list[tuple[str, str]] = []
        for key in sorted(set(old) | set(new)):
            path = _step(prefix, str(key))
            if key not in old:
                found.append((path, "add"))
            elif key not in new:
                found.append((path, "delete"))
            else:
                found += changed_paths(old[key], new[key], path)
        return found
    if isinstance(old, list) and isinstance(new, list) and prefix:
        found = []
        if len(old) == len(new):
            for index, (a, b) in enumerate(zip(old, new, strict=True)):
                found += changed_paths(a, b, f"{prefix}[{index}]")
            return found
        found += [(f"{prefix}[{i}]", "delete") for i, item in enumerate(old) if item not in new]
        found += [(f"{prefix}[{i}]", "add") for i, item in enumerate(new) if item not in old]
        if found:
            return found
    return [(prefix, "update")]


_PATH_STEP = re.compile(r'([^.\[\]"]+)|\[(\d+)\]|\["([^"]+)"\]')


def value_at(inputs: Mapping[str, Any] | None, path: str) -> Any:
    """The value at a path of `changed_paths` (JSON documents held as text read as data)."""
    value: Any = inputs
    for key, index, quoted in _PATH_STEP.findall(path):
        value = _container(value)
        if isinstance(value, Mapping):
            value = value.get(key or quoted)
        elif isinstance(value, list) and index:
            position = int(index)
            value = value[position] if position < len(value) else None
        else:
            return None
    return value


def _top(path: str) -> str:
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _compared(
    type_token: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]:
    """(detailed diff, top-level keys changed, paths forcing a replacement)."""
    paths = changed_paths(old, new)
    forcing = replacing(type_token, [p for p, _ in paths])
    detailed = {p: f"{kind}-replace" if p in forcing else kind for p, kind in paths}
    diffs = tuple(dict.fromkeys(_top(p) for p, _ in paths))
    return detailed, diffs, forcing


@dataclass(frozen=True)
class _Pair:
    old: PlannedResource
    new: PlannedResource
    why: str


def _qualified_type(urn: str) -> str:
    """The type part of a URN, qualified by its parents' types."""
    return urn.split("::")[2] if urn.count("::") >= 3 else urn


def _tail(resource: PlannedResource, plan: Plan) -> str | None:
    """The part of `resource`'s name after its component's name (`-primary` for
    `osp-prod-postgres-primary` in `osp-prod-postgres`); None outside a component."""
    if resource.parent is None:
        return None
    try:
        parent = plan.get(resource.parent)
    except KeyError:
        return None
    if not parent.is_component or not resource.name.startswith(parent.name):
        return None
    return resource.name[len(parent.name) :]


def _signature(component: PlannedResource, plan: Plan) -> tuple[str, frozenset] | None:
    children = frozenset(
        (_qualified_type(c.urn), _tail(c, plan)) for c in plan.children(component.urn)
    )
    if not children or any(tail is None for _, tail in children):
        return None
    return _qualified_type(component.urn), children


def _without_names(inputs: Mapping[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in inputs.items() if k not in NAME_PROPERTIES}
    tags = kept.get("tags")
    if isinstance(tags, Mapping):
        kept["tags"] = {k: v for k, v in tags.items() if k != "Name"}
    metadata = kept.get("metadata")
    if isinstance(metadata, Mapping):
        kept["metadata"] = {k: v for k, v in metadata.items() if k not in ("name", "namespace")}
    return kept


def _unique_matches(
    removed: Iterable[PlannedResource],
    added: Iterable[PlannedResource],
    key,
) -> list[tuple[PlannedResource, PlannedResource]]:
    """Pairs whose `key` (None: no key) is held by exactly one removed and one added."""
    by_key: dict[Any, tuple[list, list]] = {}
    for side, resources in enumerate((removed, added)):
        for resource in resources:
            k = key(resource, side)
            if k is not None:
                by_key.setdefault(k, ([], []))[side].append(resource)
    return [(olds[0], news[0]) for olds, news in by_key.values() if len(olds) == len(news) == 1]


def _pairs(base: Plan, head: Plan) -> list[_Pair]:
    head_urns = {r.urn for r in head.resources}
    base_urns = {r.urn for r in base.resources}
    removed = [r for r in base.resources if r.urn not in head_urns]
    added = [r for r in head.resources if r.urn not in base_urns]
    plans = (base, head)
    pairs: list[_Pair] = []
    renamed: dict[str, str] = {}

    # Components first: their children's names follow theirs, so the children pair after.
    for old, new in _unique_matches(
        [r for r in removed if r.is_component],
        [r for r in added if r.is_component],
        lambda r, side: _signature(r, plans[side]),
    ):
        count = len(head.children(new.urn))
        why = f"renamed component: same type and the same {count} children, renamed with it"
        pairs.append(_Pair(old, new, why))
        renamed[old.urn] = new.urn
    # Nested components move with their parents: repeat until nothing new pairs.
    while True:
        found = _unique_matches(
            [r for r in removed if r.urn not in renamed],
            [r for r in added if r.urn not in renamed.values()],
            lambda r, side: (
                (
                    _qualified_type(r.urn),
                    renamed.get(r.parent, r.parent) if side == 0 else r.parent,
                    _tail(r, plans[side]),
                )
                if _tail(r, plans[side]) is not None
                else None
            ),
        )
        if not found:
            break
        for old, new in found:
            parent = base.get(old.parent).name if old.parent else ""
            why = (
                f"its component {parent} was renamed; same type and name ending "
                f"{_tail(new, head)!r}"
            )
            pairs.append(_Pair(old, new, why))
            renamed[old.urn] = new.urn
    # A resource renamed on its own: same type and parent, the same inputs but for names.
    for old, new in _unique_matches(
        [r for r in removed if r.urn not in renamed and r.custom],
        [r for r in added if r.urn not in renamed.values() and r.custom],
        lambda r, side: (
            _qualified_type(r.urn),
            renamed.get(r.parent, r.parent) if side == 0 else r.parent,
            json.dumps(_without_names(r.inputs), sort_keys=True, default=str),
        ),
    ):
        pairs.append(_Pair(old, new, "renamed: same type, parent and inputs but for its name"))
        renamed[old.urn] = new.urn
    return pairs


def _change(
    old: PlannedResource | None, new: PlannedResource | None, *, pair: _Pair | None = None
) -> Change:
    current = new or old
    assert current is not None
    old_inputs = masked(dict(old.inputs)) if old else None
    new_inputs = masked(dict(new.inputs)) if new else None
    detailed: dict[str, str] = {}
    diffs: tuple[str, ...] = ()
    forcing: tuple[str, ...] = ()
    if old is not None and new is not None:
        detailed, diffs, forcing = _compared(current.type, old_inputs or {}, new_inputs or {})
    if old is None:
        op = "create"
    elif new is None:
        op = "delete"
    elif pair is not None or forcing:
        op = "replace"
    elif detailed or old.options.protect != new.options.protect:
        op = "update"
    else:
        op = "same"
    return Change(
        urn=current.urn,
        type=current.type,
        op=op,
        protected=current.options.protect,
        diffs=diffs,
        replace_keys=(("urn",) if pair else ()) + forcing,
        detailed=detailed,
        old_inputs=old_inputs,
        new_inputs=new_inputs,
        parent=current.parent,
        custom=current.custom,
        provider=current.provider,
        retain_on_delete=current.options.retain_on_delete,
        old_protected=old.options.protect if old else None,
        old_urn=pair.old.urn if pair else None,
        paired_by=pair.why if pair else None,
    )


def diff(base: Plan, head: Plan) -> ChangeSet:
    """What changes from `base` to `head`: one `Change` per resource of either plan (the
    root stack and the default providers left out, as a real preview leaves them), in the
    head's order, then what only the base holds."""
    pairs = {p.new.urn: p for p in _pairs(base, head)}
    paired_old = {p.old.urn for p in pairs.values()}
    base_by_urn = {r.urn: r for r in base.resources}
    changes = []
    for resource in head.resources:
        if resource.type == STACK_TYPE:
            continue
        pair = pairs.get(resource.urn)
        old = pair.old if pair else base_by_urn.get(resource.urn)
        changes.append(_change(old, resource, pair=pair))
    head_urns = {r.urn for r in head.resources}
    for resource in base.resources:
        if resource.type == STACK_TYPE or resource.urn in head_urns or resource.urn in paired_old:
            continue
        changes.append(_change(resource, None))
    return ChangeSet(changes=tuple(changes), outputs=dict(head.outputs))


# --- the diff as data -------------------------------------------------------------------------


@dataclass(frozen=True)
class PropertyChange:
    """One changed input: its path, the kind of change (Pulumi's words: add, delete, update;
    `-replace` when it forces a replacement), and the values before and after."""

    path: str
    kind: str
    old: Any
    new: Any

    @property
    def forces_replacement(self) -> bool:
        return self.kind.endswith("-replace")


def property_changes(change: Change) -> list[PropertyChange]:
    """The changed inputs of `change` (secrets masked), replacement-forcing ones first."""
    found = [
        PropertyChange(
            path,
            kind,
            None if kind.startswith("add") else masked(value_at(change.old_inputs, path)),
            None if kind.startswith("delete") else masked(value_at(change.new_inputs, path)),
        )
        for path, kind in change.detailed.items()
    ]
    return sorted(found, key=lambda p: (not p.forces_replacement, p.path))
