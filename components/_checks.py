"""Argument checks several components share. Each returns what is expected, or None if fine."""

from __future__ import annotations

from collections.abc import Iterator

from osp.platform.limits import LOG_RETENTION_DAYS


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def log_retention(value: object) -> str | None:
    if is_int(value) and value in LOG_RETENTION_DAYS:
        return None
    return "one of " + ", ".join(map(str, LOG_RETENTION_DAYS))


def recovery_window(value: object) -> str | None:
    if is_int(value) and (value == 0 or 7 <= value <= 30):  # type: ignore[operator]
        return None
    return "0 (delete at once) or 7 to 30"


def security_groups(value: object) -> str | None:
    if isinstance(value, str):
        return "a list of security group ids, not one string"
    literal = [group for group in value if isinstance(group, str)]  # type: ignore[union-attr]
    if len(set(literal)) != len(literal):
        return "each security group at most once"
    return None


def common(args: object) -> Iterator[tuple[str, object, str]]:
    """(arg, value, expected) for the shared arguments `args` has that are wrong."""
    for arg, check in (
        ("log_retention_days", log_retention),
        ("secret_recovery_window_days", recovery_window),
        ("client_security_group_ids", security_groups),
    ):
        if hasattr(args, arg):
            value = getattr(args, arg)
            expected = check(value)
            if expected:
                shown = value if isinstance(value, str | int) else list(value)
                yield arg, shown, expected
