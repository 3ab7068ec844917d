"""Producing a report: planning and checking the environment, then rendering the facts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from osp.platform.plan import Plan, Program
from osp.platform.project import Project
from osp.platform.report.facts import collect
from osp.platform.spec import EnvironmentSpec
from osp.platform.tenancy.fleet import Fleet


class Format(StrEnum):
    HTML = "html"
    MARKDOWN = "md"
    JSON = "json"


#: What each format is written as.
FILE_NAMES = {Format.HTML: "report.html", Format.MARKDOWN: "report.md", Format.JSON: "report.json"}
DIAGRAM_FILES = ("architecture.png", "architecture.svg")


@dataclass(frozen=True)
class Produced:
    """A report: its facts, its files by name (none is ever a file osp reads), and what was
    left out and why (no Graphviz)."""

    facts: dict[str, Any]
    files: dict[str, bytes]
    notes: tuple[str, ...] = field(default=())


def render(facts: dict[str, Any], formats: Iterable[Format], *, diagram: bool = True) -> Produced:
    """The files of `formats` for `facts`, and the diagram when `diagram` and Graphviz allow."""
    from osp.platform.report import rendering
    from osp.platform.report.diagram import GraphvizMissing, draw

    wanted = set(formats)
    files: dict[str, bytes] = {}
    notes: list[str] = []
    png = None
    if diagram:
        summary = facts["summary"]
        try:
            drawing = draw(
                facts["architecture"], f"{summary['environment']} ({summary['blueprint']})"
            )
        except GraphvizMissing as missing:
            notes.append(str(missing))
        else:
            png = drawing.png
            files["architecture.png"] = drawing.png
            files["architecture.svg"] = drawing.svg.encode()
    if Format.JSON in wanted:
        files[FILE_NAMES[Format.JSON]] = rendering.to_json(facts).encode()
    if Format.MARKDOWN in wanted:
        files[FILE_NAMES[Format.MARKDOWN]] = rendering.to_markdown(facts).encode()
    if Format.HTML in wanted:
        note = notes[0] if notes else "The diagram was not drawn."
        files[FILE_NAMES[Format.HTML]] = rendering.to_html(facts, png, note).encode()
    return Produced(facts, files, tuple(notes))


def produce(
    project: Project,
    environment: str,
    *,
    program: Program,
    offline: bool,
    now: datetime,
    version: str,
    formats: Iterable[Format] = tuple(Format),
    blueprint: str | None = None,
    reporter: object = None,
    diagram: bool = True,
    tenants: Callable[[EnvironmentSpec, Plan], Fleet] | None = None,
    cache: bool = True,
) -> Produced:
    """Plan `environment` (offline, or a real preview shown on `reporter`), judge it against
    the guardrails with the stack file's waivers, and render the report. `now` and `version`
    are the report's only facts that are not the plan's.

    `tenants`: gives the environment's fleet from its spec and just-made plan (the caller
    knows where the registry is and how tenant stacks are planned). Given, the report has
    the Tenants section, and the guardrails judge the tenant stacks too, as `osp policy
    check --tenants` does; the stacks are planned once for both. `cache=False`: the offline
    plan is made afresh."""
    from osp.platform.policy.checking import check

    surveyed: list[Fleet] = []

    def tenant_plans(spec: EnvironmentSpec, plan: Plan) -> Mapping[str, Plan]:
        assert tenants is not None  # passed to check only then
        surveyed.append(tenants(spec, plan))
        return surveyed[0].plans

    checked = check(
        project,
        environment,
        program=program,
        offline=offline,
        today=now.date(),
        blueprint=blueprint,
        reporter=reporter,
        tenant_plans=tenant_plans if tenants is not None else None,
        cache=cache,
    )
    facts = collect(
        checked.plan,
        checked.spec,
        checked.report,
        version=version,
        generated_at=now,
        tenants=surveyed[0] if surveyed else None,
    )
    return render(facts, formats, diagram=diagram)
