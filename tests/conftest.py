"""Shared fixtures; the helpers themselves live in tests/support.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from osp.platform.project import Project, find_project
from tests import support
from tests.support import ENVIRONMENTS


@pytest.fixture(scope="session")
def project() -> Project:
    """The shipped environments' project (read only; see `support.shipped_project`)."""
    return find_project(support.shipped_project())


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A throwaway project with the shipped environments, safe to edit or break."""
    return support.project_copy(tmp_path)


@pytest.fixture(params=ENVIRONMENTS)
def environment(request) -> str:
    return request.param
