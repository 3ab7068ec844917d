"""Shared fixtures; the helpers themselves live in tests/support.py."""

from __future__ import annotations

import pytest

from osp.platform.project import Project, find_project
from tests.support import ENVIRONMENTS, REPO


@pytest.fixture(scope="session")
def project() -> Project:
    return find_project(REPO)


@pytest.fixture(params=ENVIRONMENTS)
def environment(request) -> str:
    return request.param
