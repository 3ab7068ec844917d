"""The pull-request workflows, .github/workflows/preview.yml and deploy.yml: linted with zizmor
(security, offline) and check-jsonschema (GitHub's workflow schema), and checked as data:
least privilege per job, every action pinned by a full commit SHA, the commands they run, and
the comment marker they look for being the one osp writes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from osp.platform.review import marker
from tests.support import REPO

WORKFLOWS = REPO / ".github" / "workflows"
LINTED = (WORKFLOWS / "preview.yml", WORKFLOWS / "deploy.yml")
SHA = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")


def _tool(name: str) -> str:
    found = Path(sys.executable).parent / name
    return str(found) if found.exists() else (shutil.which(name) or name)


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _trigger(workflow: dict) -> dict:
    return workflow.get("on", workflow.get(True))


def test_zizmor_finds_nothing():
    found = subprocess.run(
        [_tool("zizmor"), "--offline", "--no-progress", *map(str, LINTED)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0, found.stdout + found.stderr
    assert "No findings to report" in found.stdout


def test_the_workflows_follow_githubs_schema():
    found = subprocess.run(
        [
            _tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, LINTED),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0, found.stdout + found.stderr


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_every_action_is_pinned_by_a_full_commit_sha(path):
    workflow = _load(path)
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert SHA.match(step["uses"]), step["uses"]


@pytest.mark.parametrize("path", LINTED, ids=lambda p: p.name)
def test_nothing_by_default_and_permissions_per_job(path):
    workflow = _load(path)
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, name
        assert "write-all" not in str(job["permissions"])
        assert set(job["permissions"]) <= {"contents", "pull-requests", "id-token"}
        assert job["permissions"].get("contents") == "read"


def test_the_preview_runs_on_pull_requests_for_staging_and_prod():
    workflow = _load(WORKFLOWS / "preview.yml")
    assert list(_trigger(workflow)) == ["pull_request"]
    tests, preview = workflow["jobs"]["tests"], workflow["jobs"]["preview"]
    assert any(s.get("run") == "python -m pytest -n auto" for s in tests["steps"])
    assert preview["strategy"]["matrix"]["env"] == ["staging", "prod"]
    assert preview["permissions"] == {
        "contents": "read",
        "pull-requests": "write",
        "id-token": "write",
    }
    runs = "\n".join(s.get("run", "") for s in preview["steps"])
    # Both plans, each by its own branch's osp; the comparison offline, or a real preview.
    assert '.osp-base/bin/osp preview --env "$OSP_ENV" --offline --project-dir base --out' in runs
    assert '.osp-head/bin/osp preview --env "$OSP_ENV" --offline --project-dir head --out' in runs
    assert '--against "plans/base-$OSP_ENV.json" --format markdown > comment.md' in runs
    assert '.osp-head/bin/osp preview --env "$OSP_ENV" --project-dir head --format markdown' in runs
    assert "vars.OSP_PREVIEW_ROLE_ARN" in preview["env"]["REAL"]
    # The comment is found by the marker osp writes, and edited rather than added.
    assert marker("$OSP_ENV") in runs
    assert "--method PATCH" in runs and "--method POST" in runs
    uploads = [
        s for s in preview["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")
    ]
    assert len(uploads) == 1 and "plans/" in uploads[0]["with"]["path"]


def test_the_deploy_runs_osp_up_for_staging_behind_its_environment():
    workflow = _load(WORKFLOWS / "deploy.yml")
    assert _trigger(workflow) == {"push": {"branches": ["main"]}}
    (job,) = workflow["jobs"].values()
    assert job["environment"] == "staging"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert job["steps"][-1]["run"] == "osp up --env staging --yes"
    assert workflow["concurrency"]["cancel-in-progress"] is False
