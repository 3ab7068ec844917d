"""Shared fixtures: the repository's own project, its specs, and their offline plans."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from osp.platform.project import Project, find_project
from osp.platform.spec import EnvironmentSpec, load_environment

REPO = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("dev", "staging", "prod")


@pytest.fixture(scope="session")
def project() -> Project:
    return find_project(REPO)


@functools.cache
def spec_of(environment: str) -> EnvironmentSpec:
    return load_environment(find_project(REPO), environment)


@functools.cache
def plan_of(environment: str):
    """The offline plan of one of the repository's environments (computed once per run)."""
    from osp.platform.engine import offline

    return offline.run(spec_of(environment))


@pytest.fixture(params=ENVIRONMENTS)
def environment(request) -> str:
    return request.param
