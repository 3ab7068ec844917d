"""Shared fixtures; the helpers themselves live in tests/support.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from osp.platform.project import Project, find_project
from tests import support
from tests.support import ENVIRONMENTS


@pytest.fixture(autouse=True)
def osp_home(tmp_path: Path, monkeypatch) -> Path:
    """Each test's own osp home (not created): what osp keeps there — the cache of offline
    plans above all — never comes from, or outlives, another test or the user's ~/.osp."""
    home = tmp_path / "osp-home-of-the-test"
    monkeypatch.setenv("OSP_HOME", str(home))
    monkeypatch.delenv("OSP_NO_CACHE", raising=False)
    return home


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
