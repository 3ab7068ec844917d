"""What the tests share: the repository's specs and plans, and planning one building block.

    plan = plan_component(Postgres, PostgresArgs(**PROD), exports=("identifier",))

`spec_of` / `plan_of` compute once per test run; `plan_component` runs the offline engine
over a program that builds one component (or app block) and exports what a test names.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import pulumi

from osp.platform.plan import Plan
from osp.platform.project import find_project
from osp.platform.spec import EnvironmentSpec, load_environment

REPO = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("dev", "staging", "prod")


@functools.cache
def spec_of(environment: str, blueprint: str | None = None) -> EnvironmentSpec:
    """The spec of one of the repository's own environments; `blueprint`: another bundled
    blueprint instead of the stack file's."""
    return load_environment(find_project(REPO), environment, blueprint=blueprint)


@functools.cache
def plan_of(environment: str, blueprint: str | None = None) -> Plan:
    """The offline plan of `spec_of(environment, blueprint)`, computed once per test run."""
    from osp.platform.engine import offline
    from osp.stacks.estate import build

    if blueprint is not None and blueprint == spec_of(environment).blueprint:
        return plan_of(environment)
    return offline.run(spec_of(environment, blueprint), build)


def plan_component(
    factory: Callable[..., pulumi.Resource],
    args: object,
    *,
    name: str = "t",
    exports: Iterable[str] = (),
    opts: pulumi.ResourceOptions | None = None,
    environment: str = "prod",
    spec: EnvironmentSpec | None = None,
) -> Plan:
    """The offline plan of `factory(name, args, opts)`, exporting each attribute in `exports`.

    It holds at least one cloud resource (every plan holds the stack itself): a factory that
    creates nothing fails here rather than letting a test pass on nothing.
    """
    exports = tuple(exports)

    def program(_spec: EnvironmentSpec) -> None:
        built = factory(name, args, opts)
        for attribute in exports:
            pulumi.export(attribute, getattr(built, attribute))

    from osp.platform.engine import offline

    plan = offline.run(spec or spec_of(environment), program)
    assert any(r.custom for r in plan.resources), f"{factory.__name__} {name} created nothing"
    return plan


def statements(document: str) -> dict[str, dict]:
    """An IAM policy document's statements by Sid (each Sid once, the 2012-10-17 grammar)."""
    parsed = json.loads(document)
    assert parsed["Version"] == "2012-10-17"
    by_sid = {s["Sid"]: s for s in parsed["Statement"]}
    assert len(by_sid) == len(parsed["Statement"])
    return by_sid


def custom_counts(plan: Plan) -> Counter[str]:
    """How many cloud resources of each module (`rds`, `ec2` …) the plan holds."""
    return Counter(r.type.split(":")[1] for r in plan.resources if r.custom)
