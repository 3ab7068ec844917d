"""Shared fixtures; the helpers themselves live in tests/support.py."""

from __future__ import annotations

import gc
import shutil
import tempfile
from pathlib import Path

import pytest

from osp.platform.project import Project, find_project
from tests import support
from tests.support import ENVIRONMENTS

#: The key of the folder a run's processes share their estate plans in (pytest-xdist).
_SHARED_PLANS = "osp_shared_estate_plans"
#: The oldest generation's threshold in the test processes (default 10). A worker ends up
#: holding the provider SDKs, every estate plan it read and thousands of collected tests, and
#: with the default a full collection walks all of it every ten collections of the middle
#: generation: measured (gc.callbacks), 95 of the suite's 280 CPU seconds. At 100 the suite
#: takes about 210 CPU seconds (the offline runs still make their own collection at the end).
_OLDEST_THRESHOLD = 100


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """pytest-xdist, in the controlling process: each worker is given the run's one folder of
    shared estate plans (made with the first worker, removed when the run ends)."""
    config = node.config
    if not hasattr(config, _SHARED_PLANS):
        uid = node.workerinput["testrunuid"]
        setattr(config, _SHARED_PLANS, tempfile.mkdtemp(prefix=f"osp-estate-plans-{uid}-"))
    node.workerinput[_SHARED_PLANS] = getattr(config, _SHARED_PLANS)


def pytest_configure(config) -> None:
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, _OLDEST_THRESHOLD)
    workerinput = getattr(config, "workerinput", None)  # set in pytest-xdist's workers only
    if workerinput is not None and _SHARED_PLANS in workerinput:
        support.share_estate_plans_in(Path(workerinput[_SHARED_PLANS]))


def pytest_unconfigure(config) -> None:
    folder = getattr(config, _SHARED_PLANS, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


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
