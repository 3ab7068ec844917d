"""The plan: every resource a program registers, as an object and as JSON (schema version 1).

Both engines run a `Program` and produce a `Plan`; the CLI, diffs, policy checks and reports
consume it. The JSON form is a public interface (docs/plan-json.md): the same spec gives
byte-identical JSON.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from osp.platform.spec import EnvironmentSpec

SCHEMA_VERSION = 1
STACK_TYPE = "pulumi:pulumi:Stack"

#: What an engine runs: a function that declares an environment's resources from its spec
#: (`osp.stacks.estate.build`, a tenant program, one component in a test). The caller passes
#: it: `osp.platform` never imports the layers that define programs.
Program = Callable[["EnvironmentSpec"], object]


@dataclass(frozen=True)
class ResourceOptions:
    """The resource options that change what an update may do to a resource."""

    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: tuple[str, ...] = ()
    delete_before_replace: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "ignoreChanges": list(self.ignore_changes),
            "deleteBeforeReplace": self.delete_before_replace,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResourceOptions:
        return cls(
            protect=data["protect"],
            retain_on_delete=data["retainOnDelete"],
            ignore_changes=tuple(data["ignoreChanges"]),
            delete_before_replace=data["deleteBeforeReplace"],
        )


@dataclass(frozen=True)
class PlannedResource:
    """One registered resource. `inputs` uses the camelCase keys the engine saw."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    provider: str | None
    dependencies: tuple[str, ...]
    property_dependencies: Mapping[str, tuple[str, ...]]
    options: ResourceOptions
    inputs: Mapping[str, Any]

    @property
    def is_component(self) -> bool:
        return not self.custom and self.type != STACK_TYPE

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "provider": self.provider,
            "dependencies": list(self.dependencies),
            "propertyDependencies": {k: list(v) for k, v in self.property_dependencies.items()},
            "options": self.options.to_json(),
            "inputs": dict(self.inputs),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlannedResource:
        return cls(
            urn=data["urn"],
            type=data["type"],
            name=data["name"],
            parent=data["parent"],
            custom=data["custom"],
            provider=data["provider"],
            dependencies=tuple(data["dependencies"]),
            property_dependencies={
                key: tuple(urns) for key, urns in data["propertyDependencies"].items()
            },
            options=ResourceOptions.from_json(data["options"]),
            inputs=data["inputs"],
        )


@dataclass(frozen=True)
class Plan:
    """What a program declares for one environment."""

    project: str
    environment: str
    stack: str
    blueprint: str
    engine: str
    resources: tuple[PlannedResource, ...]
    outputs: Mapping[str, Any]
    #: Warnings the program or providers logged while it ran (not part of the JSON).
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        by_urn = {r.urn: r for r in self.resources}
        children: dict[str | None, list[PlannedResource]] = {}
        for resource in self.resources:
            children.setdefault(resource.parent, []).append(resource)
        object.__setattr__(self, "_by_urn", by_urn)
        object.__setattr__(self, "_children", children)

    def get(self, urn: str) -> PlannedResource:
        return self._by_urn[urn]  # type: ignore[attr-defined]

    def children(self, urn: str | None) -> list[PlannedResource]:
        """Direct children of `urn` (None: the roots), in URN order."""
        return list(self._children.get(urn, ()))  # type: ignore[attr-defined]

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_token]

    def named(self, name: str) -> PlannedResource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def descendants(self, urn: str) -> Iterator[PlannedResource]:
        for child in self.children(urn):
            yield child
            yield from self.descendants(child.urn)

    def type_counts(self) -> Counter[str]:
        return Counter(r.type for r in self.resources if r.type != STACK_TYPE)

    @property
    def custom_count(self) -> int:
        return sum(1 for r in self.resources if r.custom)

    @property
    def component_count(self) -> int:
        return sum(1 for r in self.resources if r.is_component)

    def to_json(self) -> dict[str, Any]:
        return {
            "schemaVersion": SCHEMA_VERSION,
            "project": self.project,
            "environment": self.environment,
            "stack": self.stack,
            "blueprint": self.blueprint,
            "engine": self.engine,
            "resources": [r.to_json() for r in self.resources],
            "outputs": dict(self.outputs),
        }

    def dumps(self) -> str:
        """The plan as JSON text: two-space indented, newline-terminated, byte-stable.

        Encoded once per plan (a plan is immutable): indented JSON is encoded in pure
        Python, a tenth of a second for a prod plan, and the CLI, the cache and a report
        may each ask for it."""
        text = self.__dict__.get("_text")
        if text is None:
            text = json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"
            object.__setattr__(self, "_text", text)
        return text

    @classmethod
    def loads(cls, text: str, warnings: tuple[str, ...] = ()) -> Plan:
        """The plan that `dumps()` wrote as `text`, whose `dumps()` is `text` again.

        KeyError, TypeError or ValueError when `text` is not such a plan."""
        plan = cls.from_json(json.loads(text), warnings)
        object.__setattr__(plan, "_text", text)
        return plan

    @classmethod
    def from_json(cls, data: Mapping[str, Any], warnings: tuple[str, ...] = ()) -> Plan:
        """The plan whose `to_json()` is `data` (schema version 1): equal to the one that wrote
        it, and `dumps()` byte-identical. `warnings` are not part of the JSON.

        KeyError, TypeError or ValueError when `data` is not such a plan."""
        if data["schemaVersion"] != SCHEMA_VERSION:
            raise ValueError(
                f"plan schema version {data['schemaVersion']!r}; expected {SCHEMA_VERSION}"
            )
        return cls(
            project=data["project"],
            environment=data["environment"],
            stack=data["stack"],
            blueprint=data["blueprint"],
            engine=data["engine"],
            resources=tuple(PlannedResource.from_json(r) for r in data["resources"]),
            outputs=data["outputs"],
            warnings=tuple(warnings),
        )
