"""The argument checks several components share: a wrong value is reported, never a crash."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from osp.components import _checks
from osp.platform import limits


@dataclass
class Shared:
    log_retention_days: object = 30
    secret_recovery_window_days: object = 7
    client_security_group_ids: object = ("sg-1",)


def test_valid_arguments_give_nothing():
    assert list(_checks.common(Shared())) == []


@pytest.mark.parametrize(
    ("arg", "value", "expected"),
    [
        ("log_retention_days", None, limits.LOG_RETENTION.expected),
        ("log_retention_days", 30.0, limits.LOG_RETENTION.expected),
        ("secret_recovery_window_days", 3, limits.SECRET_RECOVERY_WINDOW.expected),
        ("client_security_group_ids", None, "a list of security group ids"),
        ("client_security_group_ids", "sg-1", "a list of security group ids, not one string"),
        ("client_security_group_ids", ["sg-1", "sg-1"], "each security group at most once"),
    ],
)
def test_each_wrong_value_is_reported(arg, value, expected):
    shown = list(value) if isinstance(value, list) else value
    assert list(_checks.common(Shared(**{arg: value}))) == [(arg, shown, expected)]


def test_arguments_a_component_lacks_are_not_checked():
    @dataclass
    class Bare:
        tags: object = None

    assert list(_checks.common(Bare())) == []
