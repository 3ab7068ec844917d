"""The one way components and application building blocks check their arguments.

Every check runs, every problem is collected, and one `InvalidArguments` is raised naming the
building block and each argument — "report every problem at once", as the spec does for files:

    check = Problems("Postgres", name)
    check.against(limits.RDS_INSTANCE_CLASS, "instance_class", args.instance_class)
    if args.max_allocated_storage_gib < args.allocated_storage_gib:
        check.add("max_allocated_storage_gib", args.max_allocated_storage_gib,
                  f"at least allocated_storage_gib ({args.allocated_storage_gib})")
    check.raise_if_any()

Each problem reads `<Kind> <name>: <argument>: got <value>; expected <what is allowed>`.
"""

from __future__ import annotations

from collections.abc import Iterable

from osp.platform.errors import OspError
from osp.platform.limits import Constraint


class InvalidArguments(OspError):
    """A building block was given arguments it cannot build from; `problems` lists each one.

    Deliberately not a ValueError: the Pulumi SDK re-wraps ValueErrors raised while it resolves
    an input ("While processing input …"), which would turn this user error into an engine
    failure on some runs and not others.
    """

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class Problems:
    """Collects what is wrong with one building block's arguments, then raises them together."""

    def __init__(self, kind: str, name: str) -> None:
        self.subject = f"{kind} {name}"
        self.found: list[str] = []

    def __bool__(self) -> bool:
        return bool(self.found)

    def add(self, arg: str, value: object, expected: str) -> None:
        """`arg` holds `value`, where `expected` is what is allowed."""
        self.found.append(f"{self.subject}: {arg}: got {value!r}; expected {expected}")

    def note(self, arg: str, message: str) -> None:
        """A problem that is not one value against a rule (two arguments that conflict)."""
        self.found.append(f"{self.subject}: {arg}: {message}")

    def check(self, ok: bool, arg: str, value: object, expected: str) -> bool:
        """Record the problem unless `ok`; returns `ok`, to guard checks that build on it."""
        if not ok:
            self.add(arg, value, expected)
        return ok

    def against(self, constraint: Constraint, arg: str, value: object) -> bool:
        """Check `value` against one of `osp.platform.limits`' rules; returns whether it met it."""
        expected = constraint.problem(value)
        if expected is not None:
            self.add(arg, value, expected)
        return expected is None

    def extend(self, problems: Iterable[tuple[str, object, str]]) -> None:
        """Add (argument, value, expected) triples found by a shared check."""
        for arg, value, expected in problems:
            self.add(arg, value, expected)

    def raise_if_any(self) -> None:
        if self.found:
            raise InvalidArguments(list(self.found))
