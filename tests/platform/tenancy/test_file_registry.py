"""What only the file registry has: its files, their permissions, its lock across processes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from osp.platform.tenancy import (
    FileRegistry,
    TenantRegistryError,
    TenantRequest,
    new_tenant,
    to_dict,
    transition,
)
from osp.platform.tenancy.registry import default_root
from tests.support import REPO

NOW = datetime(2026, 5, 9, 10, 0, tzinfo=UTC)


def tenant(slug: str = "springfield"):
    request = TenantRequest(slug=slug, name="S", tier="pool", admin_email="it@s.example.org")
    return new_tenant(request, actor="al", now=NOW)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_one_owner_only_file_per_tenant_in_owner_only_folders(tmp_path):
    root = tmp_path / "home" / "tenants" / "dev"
    registry = FileRegistry(root)
    registry.create(tenant("springfield"))
    registry.create(tenant("shelbyville"))
    assert sorted(p.name for p in root.iterdir()) == [
        ".locks",
        "shelbyville.json",
        "springfield.json",
    ]
    assert sorted(p.name for p in (root / ".locks").iterdir()) == [
        "shelbyville.lock",
        "springfield.lock",
    ]
    for folder in (tmp_path / "home", tmp_path / "home" / "tenants", root, root / ".locks"):
        assert mode(folder) == 0o700, folder
    for file in [*root.glob("*.json"), *(root / ".locks").iterdir()]:
        assert mode(file) == 0o600, file


def test_the_record_is_the_dict_form_as_json(tmp_path):
    registry = FileRegistry(tmp_path)
    created = registry.create(tenant())
    assert json.loads((tmp_path / "springfield.json").read_text()) == to_dict(created)


def test_an_update_replaces_the_file_and_leaves_no_temporary_file(tmp_path):
    registry = FileRegistry(tmp_path / "tenants")
    created = registry.create(tenant())
    before = (tmp_path / "tenants" / "springfield.json").stat().st_ino
    active = transition(created, "active", actor="al", reason="done", now=NOW)
    registry.update(active, expected_version=1)
    record = tmp_path / "tenants" / "springfield.json"
    # A rename, not a rewrite in place: a reader sees the old record or the new, never half.
    assert record.stat().st_ino != before
    assert mode(record) == 0o600
    assert sorted(p.name for p in record.parent.iterdir()) == [".locks", "springfield.json"]


def test_a_registry_folder_others_can_read_is_refused_with_the_fix(tmp_path):
    root = tmp_path / "tenants"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    with pytest.raises(TenantRegistryError) as refused:
        FileRegistry(root).create(tenant())
    assert str(refused.value) == (
        f"{root}: the tenant registry is open to other users (mode 0755); expected 0700. "
        f"Fix: chmod 700 {root}"
    )
    assert list(root.iterdir()) == []


def test_the_default_root_is_under_the_osp_home(tmp_path, monkeypatch):
    monkeypatch.setenv("OSP_HOME", str(tmp_path / "osp-home"))
    assert default_root("prod") == tmp_path / "osp-home" / "tenants" / "prod"
    FileRegistry(default_root("prod")).create(tenant())
    assert mode(tmp_path / "osp-home") == 0o700
    assert (tmp_path / "osp-home" / "tenants" / "prod" / "springfield.json").is_file()


def test_a_damaged_record_is_named(tmp_path):
    registry = FileRegistry(tmp_path)
    registry.create(tenant())
    (tmp_path / "springfield.json").write_text("{not json")
    with pytest.raises(TenantRegistryError, match=r"springfield\.json: not a tenant record: "):
        registry.get("springfield")
    with pytest.raises(TenantRegistryError, match=r"springfield\.json: not a tenant record: "):
        registry.list()


def test_a_record_under_another_name_is_refused(tmp_path):
    registry = FileRegistry(tmp_path)
    registry.create(tenant())
    (tmp_path / "springfield.json").rename(tmp_path / "shelbyville.json")
    with pytest.raises(TenantRegistryError) as refused:
        registry.get("shelbyville")
    assert str(refused.value) == (
        f"{tmp_path / 'shelbyville.json'}: holds the record of springfield; expected the "
        "file's own tenant"
    )


def test_a_slug_that_would_name_another_path_is_never_written(tmp_path):
    from dataclasses import replace

    registry = FileRegistry(tmp_path / "tenants")
    with pytest.raises(ValueError, match=r"slug: got '\.\./escape'"):
        registry.create(replace(tenant(), slug="../escape"))
    assert list(tmp_path.iterdir()) == []


#: Run by each contender process: create springfield, print who won or who holds it.
CONTENDER = """
import sys
from datetime import UTC, datetime
from osp.platform.tenancy import FileRegistry, TenantExistsError, TenantRequest, new_tenant

root, actor = sys.argv[1], sys.argv[2]
request = TenantRequest(slug="springfield", name="S", tier="pool", admin_email="a@b.org")
tenant = new_tenant(request, actor=actor, now=datetime.now(UTC))
try:
    FileRegistry(root).create(tenant)
    print("won", actor)
except TenantExistsError as exc:
    print("refused", exc.existing.history[0].actor)
"""


def test_processes_racing_to_create_one_slug_give_one_winner(tmp_path):
    root = tmp_path / "tenants"
    contenders = [
        subprocess.Popen(
            [sys.executable, "-c", CONTENDER, str(root), f"process-{i}"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    answers = [p.communicate(timeout=60)[0].split() for p in contenders]
    assert all(p.returncode == 0 for p in contenders)
    winners = [actor for outcome, actor in answers if outcome == "won"]
    assert len(winners) == 1
    assert sorted(answers) == sorted(
        [["won", winners[0]]] + [["refused", winners[0]]] * (len(contenders) - 1)
    )
    assert FileRegistry(root).get("springfield").history[0].actor == winners[0]
