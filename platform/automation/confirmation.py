"""When a real run must ask before it changes anything, and what answer it accepts.

- `osp up`: y/N; in an environment of profile prod, typing the environment's name. `--yes`
  skips the question (CI deploys prod with --yes).
- `osp destroy`: y/N; prod environments are refused unless `--allow-prod`, and then always need
  the typed name — `--yes` does not replace it, so no script destroys prod by accident.
- No terminal to ask on (stdin or stderr not a TTY) and no `--yes`: refused, nothing runs.

The CLI does the asking; this module only decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from osp.platform.errors import OspError
from osp.platform.spec import EnvironmentSpec, Profile


class ConfirmationError(OspError):
    """A destructive run that was not (or could not be) confirmed; nothing was changed."""


@dataclass(frozen=True)
class Confirmation:
    """A question to ask, and the answer that confirms it."""

    question: str
    #: The text to type (the environment's name); None for a y/N question.
    expected: str | None = None

    @property
    def prompt(self) -> str:
        if self.expected is None:
            return f"{self.question} [y/N] "
        return f"{self.question} Type the environment's name ({self.expected}) to confirm: "

    def accepts(self, answer: str | None) -> bool:
        if answer is None:
            return False
        if self.expected is None:
            return answer.strip().lower() in ("y", "yes")
        return answer.strip() == self.expected


def for_update(spec: EnvironmentSpec, *, yes: bool, interactive: bool) -> Confirmation | None:
    """What `osp up` must ask before updating `spec`'s stack; None: go ahead."""
    if yes:
        return None
    _require_terminal(interactive, f"update {spec.name}", "pass --yes to deploy without asking")
    question = f"Deploy these changes to {spec.name}?"
    if spec.profile is Profile.PROD:
        return Confirmation(question=question, expected=spec.name)
    return Confirmation(question=question)


def for_destroy(
    spec: EnvironmentSpec, *, yes: bool, allow_prod: bool, interactive: bool
) -> Confirmation | None:
    """What `osp destroy` must ask before destroying `spec`'s stack; None: go ahead."""
    question = f"Destroy every resource of {spec.name}?"
    if spec.profile is Profile.PROD:
        if not allow_prod:
            raise ConfirmationError(
                f"refusing to destroy {spec.name}: it is a prod environment (profile prod). "
                "If you really mean it, pass --allow-prod and type the environment's name "
                "when asked"
            )
        _require_terminal(
            interactive,
            f"destroy {spec.name}",
            "destroying a prod environment needs its name typed at a terminal; --yes is not enough",
        )
        return Confirmation(question=question, expected=spec.name)
    if yes:
        return None
    _require_terminal(interactive, f"destroy {spec.name}", "pass --yes to destroy without asking")
    return Confirmation(question=question)


def declined(action: str) -> ConfirmationError:
    return ConfirmationError(f"{action} not confirmed; nothing was changed")


def _require_terminal(interactive: bool, action: str, fix: str) -> None:
    if not interactive:
        raise ConfirmationError(
            f"refusing to {action} without confirmation: there is no terminal to ask on "
            f"(stdin is not a TTY); {fix}"
        )
