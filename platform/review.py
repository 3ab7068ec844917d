"""The pull-request review comment of one environment's preview, as Markdown for GitHub.

    review = Review(environment="prod", changes=diff(base, head), guardrails=report)
    text = to_markdown(review, Footer(commit, version, seconds, source))

What a reviewer reads, top first: a hidden marker (`<!-- osp-preview:prod -->`: the workflow
edits the comment holding it instead of adding one per push), a one-line verdict (error,
policy failure, N changes, no changes), the count per operation, the call-outs
(osp.platform.callouts), the changed resources grouped by component with their property
diffs folded in `<details>`, the guardrail results, and a footer (commit, osp version,
duration). GitHub refuses a comment over 65 536 characters: the comment is trimmed to fit,
property diffs first, then the guardrail details, then the list of resources, so the verdict
and the call-outs always survive. The Markdown comes from blueprints/review/comment.md.j2.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from osp.platform.automation.changes import CHANGE_OPS, Change, ChangeSet
from osp.platform.callouts import TITLES, Callout, callouts, shown
from osp.platform.diff import property_changes
from osp.platform.policy.evaluation import Report
from osp.platform.policy.formats import to_markdown as guardrails_markdown
from osp.platform.policy.model import Severity

if TYPE_CHECKING:
    from osp.platform.plan import Plan
    from osp.platform.spec import EnvironmentSpec

#: GitHub's limit on the body of an issue or pull-request comment, in characters.
GITHUB_COMMENT_LIMIT = 65_536
TEMPLATES = "review"
_SYMBOLS = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "import": "="}


def marker(environment: str) -> str:
    """The hidden line that identifies the comment of `environment`'s preview."""
    return f"<!-- osp-preview:{environment} -->"


@dataclass(frozen=True)
class Footer:
    """What the comment ends with: which commit, which osp, how long it took, and what was
    compared (`offline plan against base.json`, `real preview`)."""

    commit: str
    version: str
    seconds: float
    source: str


@dataclass(frozen=True)
class Review:
    """One environment's preview, for a reviewer: its changes (None when it failed, with
    `error` saying why) and the guardrail report of the head's plan (None: not run)."""

    environment: str
    changes: ChangeSet | None
    guardrails: Report | None = None
    error: str | None = None
    fail_on: Severity = Severity.HIGH
    callouts: tuple[Callout, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.changes is not None and not self.callouts:
            object.__setattr__(self, "callouts", tuple(callouts(self.changes)))

    @property
    def failing(self) -> int:
        return len(self.guardrails.failing(self.fail_on)) if self.guardrails else 0

    @property
    def verdict(self) -> tuple[str, str]:
        """(kind, one line): kind is error, policy-failure, changes or no-changes."""
        if self.error is not None or self.changes is None:
            return "error", f"**Error**: the preview failed: {_line(self.error or 'no changes')}"
        changed = len(self.changes.changed)
        what = f"{changed} change{'s' * (changed != 1)}" if changed else "no changes"
        risky = sum(1 for c in self.callouts if c.kind.value == "data-loss")
        if risky:
            what += f", {risky} with a data loss risk"
        if self.failing:
            rules = f"{self.failing} guardrail finding{'s' * (self.failing != 1)}"
            return "policy-failure", (
                f"**Policy failure**: {rules} at or above {self.fail_on.value} · {what}"
            )
        if changed:
            return "changes", f"**{what[0].upper() + what[1:]}**"
        return "no-changes", "**No changes**"

    def to_json(self) -> dict[str, Any]:
        """The review as data (`osp preview --against FILE --json`)."""
        kind, _ = self.verdict
        data: dict[str, Any] = {
            "environment": self.environment,
            "verdict": kind,
            "error": self.error,
        }
        if self.changes is not None:
            data["counts"] = dict(self.changes.counts)
            data["changes"] = [_change_data(c) for c in self.changes.changed]
            data["callouts"] = [c.to_json() for c in self.callouts]
        if self.guardrails is not None:
            data["guardrails"] = {
                "failOn": self.fail_on.value,
                "failing": [
                    {
                        "rule": f.rule.id,
                        "severity": f.rule.severity.value,
                        "resource": f.resource.name,
                    }
                    for f in self.guardrails.failing(self.fail_on)
                ],
            }
        return data


def _change_data(change: Change) -> dict[str, Any]:
    return {
        "urn": change.urn,
        "oldUrn": change.old_urn,
        "pairedBy": change.paired_by,
        "type": change.type,
        "name": change.name,
        "op": change.op,
        "stateful": change.stateful,
        "protected": change.protected,
        "protectRemoved": change.protect_removed,
        "replaceKeys": list(change.replace_keys),
        "properties": [
            {"path": p.path, "kind": p.kind, "old": p.old, "new": p.new}
            for p in property_changes(change)
        ],
    }


def _line(text: str) -> str:
    return " ".join(text.split())


# --- the comment ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cut:
    """How much of the comment is shown: property diffs of the first `details` resources,
    the first `resources` resources, the first `callouts` call-outs, guardrails in full."""

    details: int
    resources: int
    callouts: int
    guardrails: bool


def to_markdown(review: Review, footer: Footer, *, budget: int = GITHUB_COMMENT_LIMIT) -> str:
    """The comment, at most `budget` characters."""
    listed = len(_listed(review.changes))
    full = _Cut(listed, listed, len(review.callouts), True)
    text = _render(review, footer, full, budget)
    if len(text) <= budget:
        return text
    fits: Callable[[_Cut], bool] = lambda cut: len(_render(review, footer, cut, budget)) <= budget  # noqa: E731
    cut = _Cut(0, full.resources, full.callouts, True)
    if fits(cut):
        best = _largest(lambda n: _Cut(n, full.resources, full.callouts, True), full.details, fits)
        return _render(review, footer, best, budget)
    cut = _Cut(0, full.resources, full.callouts, False)
    if not fits(cut):
        cut = _largest(lambda n: _Cut(0, n, full.callouts, False), full.resources, fits)
    if not fits(cut):
        cut = _largest(lambda n: _Cut(0, 0, n, False), full.callouts, fits)
    text = _render(review, footer, cut, budget)
    if len(text) > budget:
        # Only a verdict or a footer longer than the budget gets here.
        text = text[: budget - 1] + "…"
    return text


def _largest(make: Callable[[int], _Cut], high: int, fits: Callable[[_Cut], bool]) -> _Cut:
    """make(n) for the largest n in 0..high that fits (make(0) when none does)."""
    low = 0
    while low < high:
        middle = (low + high + 1) // 2
        if fits(make(middle)):
            low = middle
        else:
            high = middle - 1
    return make(low)


def _render(review: Review, footer: Footer, cut: _Cut, budget: int) -> str:
    kind, verdict = review.verdict
    changes = review.changes
    counts = changes.counts if changes else None
    listed = len(_listed(changes))
    view: dict[str, Any] = {
        "marker": marker(review.environment),
        "environment": review.environment,
        "kind": kind,
        "verdict": verdict,
        "counts": [{"op": op, "n": counts[op]} for op in CHANGE_OPS if op != "import" or counts[op]]
        if counts
        else [],
        "unchanged": counts["same"] if counts else 0,
        "callouts": [
            {"title": TITLES[c.kind], "name": c.name, "type": c.type, "text": c.text}
            for c in review.callouts[: cut.callouts]
        ],
        "callouts_left": len(review.callouts) - cut.callouts,
        "groups": _groups(changes, cut) if changes else [],
        "resources_left": listed - cut.resources,
        "details_left": max(0, min(cut.resources, listed) - cut.details),
        "guardrails": _guardrails(review, full=cut.guardrails),
        "trimmed": cut != _Cut(listed, listed, len(review.callouts), True),
        "limit": budget,
        "footer": footer,
        "seconds": f"{footer.seconds:.1f}",
    }
    return _environment().get_template("comment.md.j2").render(r=view)


def _guardrails(review: Review, *, full: bool) -> str | None:
    if review.guardrails is None:
        return None
    text = guardrails_markdown(review.guardrails, fail_on=review.fail_on, title="Guardrails")
    if full:
        return text.rstrip("\n")
    # Trimmed: the verdict and the summary table only (the first blank-line-separated parts).
    return "\n\n".join(text.split("\n\n")[:3]).rstrip("\n")


def _listed(changes: ChangeSet | None) -> list[Change]:
    """The changed resources the comment lists: cloud resources (components head groups)."""
    return [c for c in changes.changed if c.custom] if changes else []


def _top_component(change: Change, by_urn: dict[str, Change]) -> Change | None:
    """The component directly under the stack that holds `change` (None: the stack does)."""
    top = None
    parent = change.parent
    while parent is not None and parent in by_urn:
        holder = by_urn[parent]
        if holder.custom:
            break
        top = holder
        parent = holder.parent
    return top


def _groups(changes: ChangeSet, cut: _Cut) -> list[dict[str, Any]]:
    """The listed resources by component (the stack's own first, then by component name),
    the first `cut.resources` of them in that order, property diffs for the first
    `cut.details`."""
    by_urn = {c.urn: c for c in changes.changes}
    held = [(_top_component(c, by_urn), c) for c in _listed(changes)]
    held.sort(key=lambda pair: (pair[0] is not None, pair[0].name if pair[0] else ""))
    groups: dict[str, dict[str, Any]] = {}
    for index, (top, change) in enumerate(held[: cut.resources]):
        group = groups.setdefault(
            top.urn if top else "",
            {
                "name": top.name if top else "the stack",
                "type": top.type if top else "",
                "op": top.op if top and top.changes else None,
                "renamed_from": top.old_urn.rsplit("::", 1)[-1] if top and top.old_urn else None,
                "resources": [],
            },
        )
        properties = property_changes(change) if index < cut.details else []
        lines = [_property_line(p) for p in properties]
        group["resources"].append(
            {
                "symbol": _SYMBOLS.get(change.op, "?"),
                "op": change.op,
                "name": change.name,
                "type": change.type,
                "notes": _notes(change),
                "properties": lines,
                "fence": _fence(lines),
            }
        )
    return list(groups.values())


def _notes(change: Change) -> str:
    notes = []
    if change.dangerous:
        notes.append("holds data")
    if change.protected:
        notes.append("protected")
    if change.protect_removed:
        notes.append("protect removed")
    if change.old_urn:
        notes.append(f"renamed from {change.old_urn.rsplit('::', 1)[-1]}")
    forcing = [k for k in change.replace_keys if k != "urn"]
    if forcing:
        notes.append("replaced because of " + ", ".join(forcing))
    return "; ".join(notes)


def _property_line(p) -> str:
    forces = "  (forces replacement)" if p.forces_replacement else ""
    if p.kind.startswith("add"):
        return f"+ {p.path}: {shown(p.new, 200)}{forces}"
    if p.kind.startswith("delete"):
        return f"- {p.path}: {shown(p.old, 200)}{forces}"
    return f"~ {p.path}: {shown(p.old, 200)} → {shown(p.new, 200)}{forces}"


def _fence(lines: list[str]) -> str:
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def _code(value: Any) -> str:
    """`value` as inline code, whatever backticks it holds."""
    text = str(value)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


@cache
def _environment() -> jinja2.Environment:
    from importlib.resources import files

    folder = files("osp.blueprints").joinpath(TEMPLATES)
    environment = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: folder.joinpath(name).read_text(encoding="utf-8")
        ),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["code"] = _code
    return environment


# --- the footer's facts -----------------------------------------------------------------------


def current_commit(root: Path) -> str:
    """The commit being previewed: GITHUB_SHA in GitHub Actions, else git's HEAD in `root`,
    else "unknown"."""
    sha = os.environ.get("GITHUB_SHA", "").strip()
    if sha:
        return sha
    try:
        found = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() else "unknown"


# --- a review from a preview ----------------------------------------------------------------


def review(
    spec: EnvironmentSpec,
    plan: Plan,
    changes: ChangeSet,
    *,
    source: str,
    today: date,
    fail_on: Severity = Severity.HIGH,
) -> Review:
    """The review of `changes` (a diff of two plans, or a real preview's), with the guardrails
    judged on `plan` (the head's) and the waivers of `spec`'s stack file (`source`), as `osp
    policy check` judges them."""
    from osp.platform.policy import RULES, check_waivers, context_of, evaluate

    check_waivers(spec.policy.waivers, RULES, source)
    report = evaluate(plan, RULES, context_of(spec), spec.policy.waivers, today=today)
    return Review(spec.name, changes, guardrails=report, fail_on=fail_on)
