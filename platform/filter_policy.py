"""SNS subscription filter policies: the subset of SNS's grammar osp accepts, checked once.

A filter policy lets a subscription receive only the messages it wants, decided by SNS
before delivery (seed 000 §12: "send SMS only for payments > $100"). The catalogue checks a
blueprint's policies with this module and `Queue` checks its argument with it too, so a
policy either both accept or both refuse.

The subset: a flat mapping of 1 to `limits.SNS_FILTER_POLICY_MAX_KEYS` attribute names (or
top-level body keys), each to a non-empty list of conditions, where a condition is

- a string or a number: an exact match (`"card"`, `100`);
- `{"prefix": "text"}`;
- `{"numeric": [">", 100]}` or a range `{"numeric": [">=", 0, "<", 100]}`;
- `{"anything-but": value}`, where value is a string, a number, a list of either, or
  `{"prefix": "text"}`;
- `{"exists": true}` or `{"exists": false}`.

The product of the keys' list lengths (SNS's "combinations") is at most
`limits.SNS_FILTER_POLICY_MAX_COMBINATIONS`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from osp.platform import limits

Problem = tuple[str, object, str]
"""(where in the policy, the value found there, what is allowed)."""


class FilterPolicyScope(StrEnum):
    """What a filter policy looks at."""

    #: The message attributes the publisher set (SNS's default).
    MESSAGE_ATTRIBUTES = "MessageAttributes"
    #: The top-level keys of a JSON message body.
    MESSAGE_BODY = "MessageBody"


_LOWER_OPERATORS = (">", ">=")
_UPPER_OPERATORS = ("<", "<=")
_OPERATORS = ("=", *_LOWER_OPERATORS, *_UPPER_OPERATORS)
_CONDITION = (
    "a string or number to match exactly, or one of {prefix: text}, {numeric: [op, n]} or "
    "{numeric: ['>' or '>=', low, '<' or '<=', high]} (op one of = < <= > >=), "
    "{anything-but: a string, a number, a list of them, or {prefix: text}}, "
    "{exists: true or false}"
)


def _number(value: object) -> bool:
    return (
        (limits.is_int(value) or isinstance(value, float))
        and math.isfinite(value)  # type: ignore[arg-type]
        and abs(value) <= limits.SNS_FILTER_POLICY_MAX_NUMBER  # type: ignore[arg-type,operator]
    )


def _numeric(value: object) -> bool:
    if not isinstance(value, list) or len(value) not in (2, 4):
        return False
    if len(value) == 2:
        return value[0] in _OPERATORS and _number(value[1])
    low_op, low, high_op, high = value
    return (
        low_op in _LOWER_OPERATORS
        and high_op in _UPPER_OPERATORS
        and _number(low)
        and _number(high)
        and low < high
    )


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _anything_but(value: object) -> bool:
    if isinstance(value, Mapping):
        return set(value) == {"prefix"} and _text(value["prefix"])
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, str) or _number(v) for v in value)
    return isinstance(value, str) or _number(value)


def _condition(value: object) -> bool:
    if isinstance(value, str) or _number(value):
        return True
    if not isinstance(value, Mapping) or len(value) != 1:
        return False
    (operator, operand), *_ = value.items()
    return {
        "prefix": _text,
        "numeric": _numeric,
        "anything-but": _anything_but,
        "exists": lambda v: isinstance(v, bool),
    }.get(operator, lambda _: False)(operand)


def problems(policy: object) -> list[Problem]:
    """Everything wrong with `policy`, each as (path inside it, value, expected); empty when
    SNS would take it and it lies in osp's subset."""
    most = limits.SNS_FILTER_POLICY_MAX_KEYS
    if not isinstance(policy, Mapping) or not 1 <= len(policy) <= most:
        return [("", policy, f"a mapping of 1 to {most} attribute names, each to a list")]
    found: list[Problem] = []
    combinations = 1
    for key, conditions in policy.items():
        if not _text(key) or not isinstance(key, str) or key.startswith("$"):
            found.append(("", key, "attribute names that are non-empty strings, not '$…'"))
            continue
        if not isinstance(conditions, list) or not conditions:
            found.append((f".{key}", conditions, "a non-empty list of conditions"))
            continue
        combinations *= len(conditions)
        for index, condition in enumerate(conditions):
            if not _condition(condition):
                found.append((f".{key}[{index}]", condition, _CONDITION))
    limit = limits.SNS_FILTER_POLICY_MAX_COMBINATIONS
    if combinations > limit:
        found.append(
            (
                "",
                combinations,
                f"at most {limit} combinations (the product of the keys' list lengths)",
            )
        )
    return found


def document(policy: Mapping[str, Any]) -> str:
    """The policy as SNS stores it: JSON, keys sorted, so that equal policies are equal text."""
    return json.dumps(policy, sort_keys=True, separators=(",", ":"))
