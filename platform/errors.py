"""The one exception hierarchy of osp.

The CLI catches `OspError` once (in osp.cli.main), prints its message to stderr and exits
with `exit_code`; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class OspError(Exception):
    """A problem the user can fix; its message says what and how."""

    exit_code = 1


class ProjectError(OspError):
    """The osp project (the folder holding Pulumi.yaml) is missing or malformed."""


class SpecError(OspError):
    """A stack config file (or a blueprint) does not describe a valid environment.

    `problems` holds every problem found, one line each, so a user fixes them all in one go.
    """

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        if len(problems) == 1:
            super().__init__(problems[0])
        else:
            lines = [f"{source}: {len(problems)} problems:"] + [f"  {p}" for p in problems]
            super().__init__("\n".join(lines))


class UnknownEnvironmentError(OspError):
    """An environment was named that has no stack config file."""


class EngineError(OspError):
    """The Pulumi program failed while an engine ran it."""
