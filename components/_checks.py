"""Argument checks several components share, on top of osp.platform.limits."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from osp.platform import limits

__all__ = ["common", "security_groups"]


def security_groups(value: object) -> str | None:
    """What is wrong with a list of security group ids (None if nothing)."""
    if isinstance(value, str):
        return "a list of security group ids, not one string"
    if not isinstance(value, Sequence):
        return "a list of security group ids"
    literal = [group for group in value if isinstance(group, str)]  # type: ignore[union-attr]
    if len(set(literal)) != len(literal):
        return "each security group at most once"
    return None


def common(args: object) -> Iterator[tuple[str, object, str]]:
    """(arg, value, expected) for the shared arguments `args` has that are wrong."""
    for arg, check in (
        ("log_retention_days", limits.LOG_RETENTION.problem),
        ("secret_recovery_window_days", limits.SECRET_RECOVERY_WINDOW.problem),
        ("client_security_group_ids", security_groups),
    ):
        if hasattr(args, arg):
            value = getattr(args, arg)
            expected = check(value)
            if expected:
                shown = value if isinstance(value, str | int | float | None) else list(value)
                yield arg, shown, expected
