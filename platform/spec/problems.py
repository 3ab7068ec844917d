"""Turning validation errors into messages a person can act on.

Each problem names the file and line, the key's path as written in the file, the value
received and what is allowed — for example
`stacks/Pulumi.prod.yaml:9: osp:network.nat: got 'double'; expected one of 'single', 'per-az'`.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from osp.platform.spec.models import CROSS_FIELD_ERROR

_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
    "list_type": "a list",
    "tuple_type": "a list",
    "ip_v4_network": "an IPv4 CIDR block with no host bits set, such as 10.0.0.0/16",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where (`path`, `line`) and what."""

    path: str
    message: str
    line: int | None = None

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


@dataclass(frozen=True)
class SpecWarning:
    """One thing a file says that is accepted but probably a mistake: where, and why."""

    source: str
    path: str
    message: str
    line: int | None = None

    def render(self) -> str:
        return Problem(self.path, self.message, self.line).render(self.source)


def display_path(loc: Sequence[str | int]) -> str:
    """`('osp:network', 'subnets', 'public')` → `osp:network.subnets.public`; items as `[i]`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def got_expected(value: object, expected: str) -> str:
    return f"got {_show(value)}; expected {expected}"


def unknown_key(key: str, allowed: Iterable[str]) -> str:
    allowed = sorted(allowed)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r}; did you mean {close[0]!r}?"
    return f"unknown key {key!r}; expected one of {', '.join(allowed)}"


def from_validation_error(
    error: ValidationError, model: type[BaseModel], prefix: tuple[str | int, ...] = ()
) -> list[tuple[tuple[str | int, ...], str]]:
    """(location, message) for every error pydantic found, in the order it found them.

    `prefix` is where the validated data sits in the file (e.g. `("config",)`), so that the
    locations returned are paths into the YAML document.
    """
    out: list[tuple[tuple[str | int, ...], str]] = []
    for err in error.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        ctx = err.get("ctx") or {}
        if kind == CROSS_FIELD_ERROR:
            for path, value, expected in ctx["problems"]:
                message = (
                    got_expected(value, expected) if value is not None else f"expected {expected}"
                )
                out.append(((*prefix, *path.split(".")), message))
            continue
        if kind == "extra_forbidden":
            message = unknown_key(str(loc[-1]), _keys_at(model, loc[:-1]))
        elif kind == "missing":
            message = "required key is missing"
        elif kind == "enum":
            options = ", ".join(repr(o.value) for o in _enum_at(model, loc) or ())
            message = got_expected(
                err["input"], f"one of {options}" if options else ctx["expected"]
            )
        elif kind in _EXPECTED:
            message = got_expected(err["input"], _EXPECTED[kind])
        elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            bound = {
                "greater_than_equal": ("ge", ">="),
                "less_than_equal": ("le", "<="),
                "greater_than": ("gt", ">"),
                "less_than": ("lt", "<"),
            }[kind]
            message = got_expected(err["input"], f"a number {bound[1]} {ctx[bound[0]]}")
        elif kind == "value_error":
            reason = str(ctx.get("error", err["msg"]))
            message = (
                got_expected(err["input"], reason.removeprefix("expected "))
                if reason.startswith("expected ") and not isinstance(err["input"], dict)
                else reason
            )
        else:
            message = got_expected(err["input"], err["msg"][0].lower() + err["msg"][1:])
        out.append((prefix + loc, message))
    return out


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _field_type(model: type[BaseModel], loc: Sequence[str | int]) -> object | None:
    """The annotation at `loc` inside `model` (by alias or name), or None when unknown."""
    current: object = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            for name, info in current.model_fields.items():
                if part in (name, info.alias):
                    current = info.annotation
                    break
            else:
                return None
        else:
            args = typing.get_args(current)
            current = args[-1] if args else None  # dict values, list/tuple items
    return _unwrap(current)


def _unwrap(tp: object) -> object:
    """Strip Optional/Annotated so the concrete type shows."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            rest = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(rest) != 1:
                return tp
            tp = rest[0]
        else:
            return tp


def _keys_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    target = _field_type(model, loc)
    if isinstance(target, type) and issubclass(target, BaseModel):
        return [info.alias or name for name, info in target.model_fields.items()]
    return []


def _enum_at(model: type[BaseModel], loc: Sequence[str | int]):
    target = _field_type(model, loc)
    return list(target) if isinstance(target, type) and hasattr(target, "__members__") else None
