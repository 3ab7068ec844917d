"""How the rules read a planned resource: property paths, policy documents, key references,
port ranges and the resources that refer to one another.

Plans come from the offline engine, a real preview or a CrossGuard run, so every reader
accepts what any of them may hold: a value not known before the update ("<unknown>"), a
policy document given as JSON text or as a mapping, a statement's `Action` or `Resource` as a
string or a list, and a boolean sent as the string "true".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from osp.platform.plan import PlannedResource
from osp.platform.policy.model import Check, Scope

UNKNOWN = "<unknown>"
"""What an engine shows for a value only the cloud knows (an id, an ARN) before the update."""

_MISSING = object()
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def at(inputs: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """The value at `path` (`viewerCertificate.minimumProtocolVersion`,
    `spec.template.spec.containers[0].image`) in `inputs`, or `default` when any step is
    missing."""
    value: Any = inputs
    for name, index in _STEP.findall(path):
        if name:
            value = value.get(name, _MISSING) if isinstance(value, Mapping) else _MISSING
        else:
            position = int(index)
            value = (
                value[position]
                if isinstance(value, list | tuple) and position < len(value)
                else _MISSING
            )
        if value is _MISSING:
            return default
    return value


def unknown(value: Any) -> bool:
    return value == UNKNOWN


def truthy(value: Any) -> bool:
    """A boolean input as the provider reads it: `True` or the string "true"."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


# --- keys ---------------------------------------------------------------------------------

_AWS_MANAGED_ALIAS = re.compile(r"(^|:)alias/aws/")


def customer_key(reference: Any) -> bool:
    """Whether a KMS key reference names a customer-managed key: a key id, key ARN, or alias
    of one (`alias/osp-prod-data`), or a value only the update will know (a key this program
    creates). An AWS-managed alias (`alias/aws/s3`) or nothing is not one."""
    if not isinstance(reference, str) or not reference.strip():
        return False
    return not _AWS_MANAGED_ALIAS.search(reference)


def encrypted_at_rest(inputs: Mapping[str, Any], switch: str, off: str) -> Check:
    """A store encrypted at rest when its boolean `switch` is on (`off` says so when it is
    not), under a customer key (`kmsKeyId`), with both properties as evidence."""
    on, key = inputs.get(switch), inputs.get("kmsKeyId")
    if not truthy(on):
        return Check.of(False, off, **{switch: on})
    if not customer_key(key):
        return Check.of(
            False,
            "encrypted with the AWS-managed key, not the environment's",
            **{switch: on},
            kmsKeyId=key,
        )
    return Check.of(True, **{switch: on}, kmsKeyId=key)


# --- policy documents ---------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """One statement of a policy document, with its lists normalised."""

    index: int
    sid: str | None
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...]
    not_resources: tuple[str, ...] | None
    principals: tuple[tuple[str, str], ...]
    """(kind, value): ("AWS", "*") for `"Principal": "*"`, ("Service", name) …"""
    condition: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"Statement[{self.index}]" + (f" ({self.sid})" if self.sid else "")


def document(value: Any) -> Mapping[str, Any] | None:
    """A policy document given as JSON text or a mapping; None when it cannot be read."""
    if isinstance(value, Mapping):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def statements(value: Any) -> list[Statement] | None:
    """The statements of a policy document (text or mapping); None when it cannot be read."""
    parsed = document(value)
    if parsed is None:
        return None
    found = []
    for index, raw in enumerate(as_list(parsed.get("Statement"))):
        if not isinstance(raw, Mapping):
            continue
        principal = raw.get("Principal")
        if principal == "*":
            principals: tuple[tuple[str, str], ...] = (("AWS", "*"),)
        elif isinstance(principal, Mapping):
            principals = tuple(
                (kind, str(v)) for kind, values in principal.items() for v in as_list(values)
            )
        else:
            principals = ()
        found.append(
            Statement(
                index=index,
                sid=raw.get("Sid"),
                effect=str(raw.get("Effect", "")),
                actions=tuple(str(a) for a in as_list(raw.get("Action"))),
                not_actions=(
                    tuple(str(a) for a in as_list(raw["NotAction"])) if "NotAction" in raw else None
                ),
                resources=tuple(str(r) for r in as_list(raw.get("Resource"))),
                not_resources=(
                    tuple(str(r) for r in as_list(raw["NotResource"]))
                    if "NotResource" in raw
                    else None
                ),
                principals=principals,
                condition=raw.get("Condition") or {},
            )
        )
    return found


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    """An IAM pattern (`*` any run, `?` one character), case-insensitive as actions are."""
    parts = re.split(r"(\*|\?)", pattern)
    body = "".join(".*" if p == "*" else "." if p == "?" else re.escape(p) for p in parts)
    return re.compile(body, re.IGNORECASE | re.DOTALL)


def iam_matches(pattern: str, value: str) -> bool:
    return bool(_pattern(pattern).fullmatch(value))


def grants(statement: Statement, action: str) -> bool:
    """Whether an Allow statement's Action (or NotAction) covers `action`."""
    if statement.not_actions is not None:
        return not any(iam_matches(p, action) for p in statement.not_actions)
    return any(iam_matches(p, action) for p in statement.actions)


def _probe(action: str) -> str:
    """An ARN of some resource `action` acts on, to test a NotResource against."""
    service = action.split(":", 1)[0].lower()
    if service == "s3":
        return "arn:aws:s3:::osp-probe/osp-probe"
    if service == "iam":
        return "arn:aws:iam::000000000000:role/osp-probe"
    return f"arn:aws:{service}:us-east-1:000000000000:osp-probe"


def unscoped(statement: Statement, action: str) -> str | None:
    """How a statement reaches every resource `action` may act on (`*`, `arn:aws:s3:::*`,
    `arn:aws:sqs:*:*:*`, or a NotResource that leaves that service's resources in), or None
    when it names them."""
    if statement.not_resources is not None:
        if any(iam_matches(p, _probe(action)) for p in statement.not_resources):
            return None  # every resource of the action's service is excluded
        return f"NotResource {list(statement.not_resources)}"
    for pattern in statement.resources:
        if pattern == "*":
            return pattern
        parts = pattern.split(":", 5)
        if len(parts) == 6 and parts[5] in ("*", "*/*"):
            return pattern
    return None


def denies_insecure_transport(statement: Statement, action: str) -> bool:
    """A Deny for every principal, covering `action`, when aws:SecureTransport is false."""
    if statement.effect != "Deny" or ("AWS", "*") not in statement.principals:
        return False
    if not grants(statement, action):
        return False
    for operator, conditions in statement.condition.items():
        if operator not in ("Bool", "BoolIfExists") or not isinstance(conditions, Mapping):
            continue
        for key, value in conditions.items():
            if key.lower() == "aws:securetransport" and [
                str(v).lower() for v in as_list(value)
            ] == ["false"]:
                return True
    return False


# --- ports --------------------------------------------------------------------------------

WORLD = ("0.0.0.0/0", "::/0")


def port_range(protocol: Any, from_port: Any, to_port: Any) -> tuple[int, int]:
    """The ports a rule opens: every port for protocol "-1"/"all" (or ports not given)."""
    if str(protocol).lower() in ("-1", "all"):
        return (0, 65535)
    try:
        low, high = int(from_port), int(to_port)
    except (TypeError, ValueError):
        return (0, 65535)
    if low == -1 or high == -1 or (low == 0 and high in (0, 65535)):
        return (0, 65535)
    return (low, high)


def shown_ports(ports: tuple[int, int]) -> str:
    low, high = ports
    if (low, high) == (0, 65535):
        return "every port"
    return f"port {low}" if low == high else f"ports {low}-{high}"


# --- relations ----------------------------------------------------------------------------


def referrers(
    scope: Scope,
    resource: PlannedResource,
    types: Iterable[str],
    prop: str,
    values: Iterable[Any] = (),
) -> list[PlannedResource]:
    """Resources of `types` whose input `prop` refers to `resource`: it depends on it (the
    property's dependencies name its URN) or holds one of `values` (its name, its ARN)."""
    wanted = set(types)
    known = {v for v in values if isinstance(v, str) and v and not unknown(v)}
    found = []
    for other in scope.plan.resources:
        if other.type not in wanted:
            continue
        value = other.inputs.get(prop)
        if resource.urn in other.property_dependencies.get(prop, ()) or (
            isinstance(value, str) and value in known
        ):
            found.append(other)
    return found


def referenced(
    scope: Scope, resource: PlannedResource, prop: str, types: Iterable[str]
) -> list[PlannedResource]:
    """Resources of `types` that `resource`'s input `prop` depends on."""
    wanted = set(types)
    found = []
    for urn in resource.property_dependencies.get(prop, ()):
        try:
            other = scope.plan.get(urn)
        except KeyError:
            continue
        if other.type in wanted:
            found.append(other)
    return found


def of_types(scope: Scope, types: Iterable[str]) -> Iterator[PlannedResource]:
    wanted = set(types)
    return (r for r in scope.plan.resources if r.type in wanted)
