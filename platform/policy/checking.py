"""`osp policy check`: an environment's plan, checked against every rule, waivers applied.

    report = check(project, "prod", program=estate.build, offline=True, today=date.today())

The plan is the offline engine's, or a real preview's (the Pulumi engine, through the
automation layer `osp preview` uses); either way the same rules judge it. The waivers of the
stack file are checked against the catalogue before anything is planned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from osp.platform.plan import Plan, Program
from osp.platform.policy.evaluation import (
    Report,
    check_waivers,
    combine,
    context_of,
    evaluate,
)
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
    tenants: tuple[str, ...] = ()
    """The tenants whose stacks were judged too."""


def check(
    project: Project,
    environment: str,
    *,
    program: Program,
    offline: bool,
    today: date,
    blueprint: str | None = None,
    reporter: object = None,
    tenant_plans: Callable[[EnvironmentSpec, Plan], Mapping[str, Plan]] | None = None,
    cache: bool = True,
) -> Checked:
    """Plan `environment` (offline, or a real preview shown on `reporter`) and judge the plan.

    `blueprint`: another bundled blueprint for this one offline check. `tenant_plans`: gives
    the plans of the environment's tenant stacks (by slug), from its spec and plan; each is
    judged too, with all of them in the context, so the tenant isolation rules apply.
    `cache=False`: the offline plan is made afresh (`osp.platform.plan_cache`).
    """
    spec = load_environment(project, environment, blueprint=blueprint)
    source = project.relative(project.stack_file(environment))
    check_waivers(spec.policy.waivers, RULES, source)
    if offline:
        from osp.platform.plan_cache import offline_plan

        plan = offline_plan(spec, program, cache=cache)
    else:
        from osp.platform.automation import operations

        plan = operations.preview(project, spec, program, reporter).plan  # type: ignore[arg-type]
    tenants = dict(tenant_plans(spec, plan)) if tenant_plans is not None else {}
    context = context_of(spec, tenants)
    waivers = spec.policy.waivers
    report = combine(
        [evaluate(p, RULES, context, waivers, today=today) for p in (plan, *tenants.values())]
    )
    return Checked(spec, plan, report, source, tuple(sorted(tenants)))
