"""Specs and plans of the repository's environments under either bundled blueprint.

Each is computed once per test run; under the stacks' own blueprint they are the very specs
and plans `tests.support` caches (`spec_of`, `plan_of`), so no estate is planned twice.
"""

from __future__ import annotations

import functools

from osp.platform.engine import offline
from osp.platform.plan import Plan
from osp.platform.project import find_project
from osp.platform.spec import EnvironmentSpec, load_environment
from osp.stacks.estate import build
from tests.support import REPO, plan_of, spec_of


@functools.cache
def spec_for(blueprint: str, environment: str) -> EnvironmentSpec:
    """The spec of `environment` with `blueprint` as its blueprint."""
    if blueprint == spec_of(environment).blueprint:
        return spec_of(environment)
    return load_environment(find_project(REPO), environment, blueprint=blueprint)


@functools.cache
def plan_for(blueprint: str, environment: str) -> Plan:
    """The offline plan of `environment` with `blueprint` as its blueprint."""
    if blueprint == spec_of(environment).blueprint:
        return plan_of(environment)
    return offline.run(spec_for(blueprint, environment), build)
