"""`osp policy check`: an environment's plan, checked against every rule, waivers applied.

    report = check(project, "prod", program=estate.build, offline=True, today=date.today())

The plan is the offline engine's, or a real preview's (the Pulumi engine, through the
automation layer `osp preview` uses); either way the same rules judge it. The waivers of the
stack file are checked against the catalogue before anything is planned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from osp.platform.plan import Plan, Program
from osp.platform.policy.evaluation import Report, check_waivers, context_of, evaluate
from osp.platform.policy.rules import RULES
from osp.platform.project import Project
from osp.platform.spec import EnvironmentSpec, load_environment


@dataclass(frozen=True)
class Checked:
    """A check's report, and what it checked."""

    spec: EnvironmentSpec
    plan: Plan
    report: Report
    source: str
    """The stack file the environment (and its waivers) came from, relative to the project."""


def check(
    project: Project,
    environment: str,
    *,
    program: Program,
    offline: bool,
    today: date,
    blueprint: str | None = None,
    reporter: object = None,
) -> Checked:
    """Plan `environment` (offline, or a real preview shown on `reporter`) and judge the plan.

    `blueprint`: another bundled blueprint for this one offline check.
    """
    spec = load_environment(project, environment, blueprint=blueprint)
    source = project.relative(project.stack_file(environment))
    check_waivers(spec.policy.waivers, RULES, source)
    if offline:
        from osp.platform.engine import offline as engine

        plan = engine.run(spec, program)
    else:
        from osp.platform.automation import operations

        plan = operations.preview(project, spec, program, reporter).plan  # type: ignore[arg-type]
    report = evaluate(plan, RULES, context_of(spec), spec.policy.waivers, today=today)
    return Checked(spec, plan, report, source)
