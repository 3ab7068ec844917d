"""The cache of offline plans (osp.platform.plan_cache): a cached plan is the fresh one, byte
for byte; every input of the plan is in its key (each changed alone is a miss); unreadable
entries are replaced; the cache stays within its size; --no-cache plans afresh.

The engine is replaced by one that counts its runs (`engine`), so a hit and a miss are told
apart without planning an estate; the round trips use the session's real estate plans.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from osp.platform import limits, plan_cache
from osp.platform.plan import Plan
from osp.platform.plan_cache import NamedProgram, PlanCache, offline_plan
from osp.platform.project import find_project
from osp.platform.spec import EnvironmentSpec, load_environment
from tests.support import REPO, plan_of, project_copy, shipped_project, spec_of

ESTATE = NamedProgram("osp.stacks.estate", "build")
#: A whole plan's JSON, as the engine stand-in below would make it.
PLAN = Plan("osp", "dev", "dev", "osp", "offline", (), {"run": 1}).dumps().encode()


@pytest.fixture
def engine(monkeypatch) -> list[str]:
    """The offline engine, replaced by one that records each run and answers with a tiny plan
    numbered by the run (so a plan read back says which run made it)."""
    from osp.platform.engine import offline

    runs: list[str] = []

    def run(spec, program, **options):
        runs.append(spec.name)
        return Plan("osp", spec.name, spec.name, spec.blueprint, "offline", (), {"run": len(runs)})

    monkeypatch.setattr(offline, "run", run)
    return runs


def planned(spec: EnvironmentSpec, engine: list[str], program=ESTATE, **options) -> bool:
    """Whether getting the plan of `spec` ran the engine (a miss) rather than reading it."""
    before = len(engine)
    offline_plan(spec, program, **options)
    return len(engine) > before


def dev_of(root: Path) -> EnvironmentSpec:
    return load_environment(find_project(root), "dev")


def entries(home: Path) -> list[Path]:
    folder = home / "cache" / "plans"
    return sorted(folder.iterdir()) if folder.is_dir() else []


# --- a cached plan is the fresh one ----------------------------------------------------------


@pytest.mark.parametrize(("environment", "blueprint"), [("prod", None), ("dev", "learning-hub")])
def test_a_cached_plan_is_the_fresh_one_byte_for_byte(tmp_path, environment, blueprint):
    fresh = plan_of(environment, blueprint)
    cache = PlanCache(tmp_path)
    cache.put("k", fresh)
    cached = cache.get("k")
    assert cached is not None
    assert cached.dumps() == fresh.dumps()
    assert cached == fresh
    assert cached.outputs == fresh.outputs
    assert cached.warnings == fresh.warnings
    assert [r.options for r in cached.resources] == [r.options for r in fresh.resources]


@pytest.mark.parametrize(
    ("environment", "blueprint"), [("staging", None), ("prod", "learning-hub")]
)
def test_a_plan_read_back_from_its_json_is_the_same_plan(environment, blueprint):
    fresh = plan_of(environment, blueprint)
    assert Plan.from_json(json.loads(fresh.dumps())) == fresh
    again = Plan.loads(fresh.dumps())
    assert again == fresh and again.dumps() == fresh.dumps()
    assert again.to_json() == fresh.to_json()


def test_a_plan_of_another_schema_is_refused():
    data = json.loads(PLAN)
    data["schemaVersion"] = 2
    with pytest.raises(ValueError, match="schema version 2"):
        Plan.from_json(data)


def test_secret_markers_survive_the_cache(tmp_path):
    """The engine masks every secret before anything is kept: the cache holds the mask, in
    the inputs and in the outputs alike, and never a value."""
    fresh = plan_of("prod")
    assert fresh.outputs["apiOriginVerifyValue"] == "<secret>"
    cache = PlanCache(tmp_path)
    cache.put("k", fresh)
    cached = cache.get("k")
    assert cached is not None
    assert cached.outputs["apiOriginVerifyValue"] == "<secret>"
    written = (tmp_path / "k.json").read_text(encoding="utf-8")
    assert written.count('"<secret>"') == fresh.dumps().count('"<secret>"') > 1


def test_the_warnings_of_the_run_are_cached_with_its_plan(tmp_path):
    fresh = Plan("osp", "dev", "dev", "osp", "offline", (), {}, warnings=("careful", "twice"))
    cache = PlanCache(tmp_path)
    cache.put("k", fresh)
    cached = cache.get("k")
    assert cached is not None
    assert cached.warnings == ("careful", "twice")


def test_a_repeat_is_read_from_the_cache(engine, osp_home):
    spec = spec_of("dev")
    first = offline_plan(spec, ESTATE)
    again = offline_plan(spec, ESTATE)
    assert engine == ["dev"]
    assert again == first and again.outputs == {"run": 1}
    (entry,) = entries(osp_home)
    assert entry.name == f"{plan_cache.plan_key(spec, 'osp.stacks.estate:build')}.json"


def test_the_named_program_and_the_function_share_their_entries(engine):
    from osp.stacks.estate import build

    spec = spec_of("dev")
    assert planned(spec, engine, build)
    assert not planned(spec, engine, ESTATE)


# --- every input is in the key ---------------------------------------------------------------


def test_a_changed_stack_file_value_is_a_miss(tmp_path, engine):
    root = project_copy(tmp_path)
    assert planned(dev_of(root), engine)
    assert not planned(dev_of(root), engine)
    stack = root / "stacks" / "Pulumi.dev.yaml"
    text = stack.read_text(encoding="utf-8")
    stack.write_text(text.replace("platform-dev", "platform-qa"), encoding="utf-8")
    assert planned(dev_of(root), engine)
    assert not planned(dev_of(root), engine)


def test_a_changed_preset_is_a_miss(tmp_path, engine):
    root = project_copy(tmp_path)
    presets = root / "blueprints" / "presets"
    presets.mkdir(parents=True)
    bundled = (REPO / "blueprints" / "presets" / "dev.yaml").read_text(encoding="utf-8")
    (presets / "dev.yaml").write_text(bundled, encoding="utf-8")
    assert planned(dev_of(root), engine)
    assert not planned(dev_of(root), engine)
    edited = bundled.replace("audit_retention_days: 30", "audit_retention_days: 60")
    assert edited != bundled
    (presets / "dev.yaml").write_text(edited, encoding="utf-8")
    assert dev_of(root).network.flow_log_retention_days == 60
    assert planned(dev_of(root), engine)


def test_a_changed_catalogue_of_the_project_is_a_miss(tmp_path, engine):
    root = project_copy(tmp_path)
    catalogue = root / "blueprints" / "osp" / "blueprint.yaml"
    catalogue.parent.mkdir(parents=True)
    bundled = (REPO / "blueprints" / "osp" / "blueprint.yaml").read_text(encoding="utf-8")
    catalogue.write_text(bundled, encoding="utf-8")
    assert planned(dev_of(root), engine)
    assert not planned(dev_of(root), engine)
    catalogue.write_text(bundled + "# edited\n", encoding="utf-8")
    assert planned(dev_of(root), engine)


def test_a_changed_file_of_the_projects_blueprints_folder_is_a_miss(tmp_path, engine):
    """Any file there: the program may read more of the folder than the spec names."""
    root = project_copy(tmp_path)
    other = root / "blueprints" / "presets" / "staging.yaml"
    other.parent.mkdir(parents=True)
    other.write_text("osp:deletion_protection: false\n", encoding="utf-8")
    assert planned(dev_of(root), engine)
    assert not planned(dev_of(root), engine)
    other.write_text("osp:deletion_protection: true\n", encoding="utf-8")
    assert planned(dev_of(root), engine)


def edited_copy_of(name: str, monkeypatch, tmp_path: Path) -> Path:
    """The key made to read osp's file `name` from a copy the test may edit."""
    real = plan_cache.source_files()
    (original,) = [path for found, path in real if found == name]
    copy = tmp_path / "copy" / original.name
    copy.parent.mkdir()
    copy.write_bytes(original.read_bytes())
    swapped = [(found, copy if found == name else path) for found, path in real]
    monkeypatch.setattr(plan_cache, "source_files", lambda: swapped)
    return copy


@pytest.mark.parametrize(
    "name",
    [
        "osp.stacks/estate.py",
        "osp.platform/engine/fake_aws.py",
        "osp.components/network.py",
        "osp.app/jobs/rabbitmq_topology.py",
        "osp.blueprints/osp/blueprint.yaml",
        "osp.blueprints/presets/dev.yaml",
    ],
)
def test_a_changed_file_of_osp_is_a_miss(name, monkeypatch, tmp_path, engine):
    copy = edited_copy_of(name, monkeypatch, tmp_path)
    spec = spec_of("dev")
    assert planned(spec, engine)
    assert not planned(spec, engine)
    copy.write_bytes(copy.read_bytes() + b"\n")
    assert planned(spec, engine)


def test_the_key_reads_every_file_of_osp_a_plan_can_depend_on():
    """Every module of the layers below the CLI and every blueprint file: a file added to
    osp is in the key without anyone listing it."""
    names = {name for name, _ in plan_cache.source_files()}
    expected = set()
    for folder, package in [
        ("platform", "osp.platform"),
        ("components", "osp.components"),
        ("app", "osp.app"),
        ("stacks", "osp.stacks"),
        ("blueprints", "osp.blueprints"),
    ]:
        for path in (REPO / folder).rglob("*"):
            if path.suffix in (".py", ".yaml", ".j2") and "__pycache__" not in path.parts:
                expected.add(f"{package}/{path.relative_to(REPO / folder).as_posix()}")
    assert "osp.platform/plan_cache.py" in expected
    assert expected <= names, sorted(expected - names)
    assert not any(name.startswith("osp.cli/") for name in names)


@pytest.mark.parametrize("distribution", ["pulumi", "pulumi-aws", "pulumi-kubernetes", "protobuf"])
def test_another_version_of_the_sdk_is_a_miss(distribution, monkeypatch, engine):
    spec = spec_of("dev")
    assert planned(spec, engine)
    assert not planned(spec, engine)
    real = plan_cache.importlib.metadata.version

    def version(name: str) -> str:
        return "0.0.1" if name == distribution else real(name)

    monkeypatch.setattr(plan_cache.importlib.metadata, "version", version)
    assert planned(spec, engine)


def test_another_python_is_a_miss(monkeypatch, engine):
    spec = spec_of("dev")
    assert planned(spec, engine)
    monkeypatch.setattr(plan_cache.sys, "version", "3.99.0 (elsewhere)")
    assert planned(spec, engine)


@pytest.mark.parametrize("constant", ["SCHEMA_VERSION", "FORMAT"])
def test_another_plan_schema_or_cache_format_is_a_miss(constant, monkeypatch, engine):
    spec = spec_of("dev")
    assert planned(spec, engine)
    monkeypatch.setattr(plan_cache, constant, getattr(plan_cache, constant) + 1)
    assert planned(spec, engine)


def test_another_environment_blueprint_or_program_is_a_miss(engine):
    assert planned(spec_of("dev"), engine)
    assert planned(spec_of("staging"), engine)
    assert planned(spec_of("dev", "learning-hub"), engine)
    assert planned(spec_of("dev"), engine, NamedProgram("osp.stacks.tenant", "build"))
    assert not planned(spec_of("dev"), engine)


def test_only_osps_own_named_programs_are_cached(engine, osp_home):
    """A lambda, a local function or a program outside osp: the key cannot hold its code."""

    def local(spec):
        return None

    for program in (lambda spec: None, local, json.dumps):
        assert plan_cache.program_identity(program) is None
        assert planned(spec_of("dev"), engine, program)
        assert planned(spec_of("dev"), engine, program)
    assert plan_cache.program_identity(NamedProgram("elsewhere", "build")) is None
    assert plan_cache.program_identity(NamedProgram("osp.cli.preview", "preview")) is None
    assert plan_cache.program_identity(NamedProgram("osp.stacksx", "build")) is None
    assert entries(osp_home) == []


def test_the_versions_name_python_the_sdk_and_the_providers():
    found = plan_cache.versions()
    for name in ("python", "osp", "pulumi", "pulumi-aws", "pulumi-kubernetes", "protobuf"):
        assert found[name] not in ("", "absent"), name


# --- --no-cache, broken entries, size ---------------------------------------------------------


def test_without_the_cache_nothing_is_read_or_written(engine, osp_home):
    spec = spec_of("dev")
    assert planned(spec, engine, cache=False)
    assert planned(spec, engine, cache=False)
    assert entries(osp_home) == []
    assert planned(spec, engine)
    assert planned(spec, engine, cache=False)  # an entry exists, and is not read


@pytest.mark.parametrize(
    "broken",
    [
        b"",
        b'{"format": 1, "key": "',  # cut short
        b"\xff\xfe not json",
        b"[]",
        b'{"format": 1, "key": "KEY", "warnings": []}',  # no plan
        b'{"format": 1, "key": "another", "warnings": []}\n' + PLAN,
        b'{"format": 999, "key": "KEY", "warnings": []}\n' + PLAN,
        b'{"format": 1, "key": "KEY", "warnings": []}\n' + PLAN[: len(PLAN) // 2],
        b'{"format": 1, "key": "KEY", "warnings": []}\n{"schemaVersion": 1}',
        b'{"format": 1, "key": "KEY", "warnings": []}\n' + PLAN.replace(b": 1,", b": 2,", 1),
    ],
)
def test_an_unreadable_entry_is_ignored_and_replaced(broken, engine, osp_home):
    spec = spec_of("dev")
    assert planned(spec, engine)
    (entry,) = entries(osp_home)
    entry.write_bytes(broken.replace(b"KEY", entry.stem.encode()))
    assert planned(spec, engine)
    assert not planned(spec, engine)
    assert offline_plan(spec, ESTATE).outputs == {"run": 2}


def test_an_osp_home_that_cannot_be_written_plans_without_the_cache(engine, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("OSP_HOME", str(blocker / "home"))
    spec = spec_of("dev")
    assert planned(spec, engine)
    assert planned(spec, engine)


def test_the_cache_is_made_owner_only_on_its_first_write(engine, osp_home):
    assert planned(spec_of("dev"), engine)
    for folder in (osp_home, osp_home / "cache", osp_home / "cache" / "plans"):
        assert folder.stat().st_mode & 0o777 == 0o700, folder


def test_reading_the_cache_leaves_nothing_behind(monkeypatch, osp_home):
    """A plan that fails after the cache was looked in: the osp home is not even made."""
    from osp.platform.engine import offline

    def fail(spec, program, **options):
        raise RuntimeError("the program failed")

    monkeypatch.setattr(offline, "run", fail)
    with pytest.raises(RuntimeError):
        offline_plan(spec_of("dev"), ESTATE)
    assert not osp_home.exists()


def test_a_file_that_cannot_be_read_for_the_key_plans_without_the_cache(
    engine, osp_home, monkeypatch, tmp_path
):
    real = plan_cache.source_files()
    gone = tmp_path / "deleted-while-listed.py"
    monkeypatch.setattr(plan_cache, "source_files", lambda: [*real, ("osp.app/gone.py", gone)])
    assert planned(spec_of("dev"), engine)
    assert planned(spec_of("dev"), engine)
    assert entries(osp_home) == []


def test_writes_are_atomic_and_leave_no_temporary_file(tmp_path):
    cache = PlanCache(tmp_path)
    cache.put("k", plan_of("dev"))
    assert [p.name for p in tmp_path.iterdir()] == ["k.json"]
    header, body = (tmp_path / "k.json").read_text(encoding="utf-8").split("\n", 1)
    assert json.loads(header) == {"format": plan_cache.FORMAT, "key": "k", "warnings": []}
    assert body == plan_of("dev").dumps()


def test_the_temporary_file_of_a_writer_that_died_is_removed_later(tmp_path):
    cache = PlanCache(tmp_path)
    recent, abandoned = tmp_path / ".a.1.1.tmp", tmp_path / ".b.2.2.tmp"
    for path in (recent, abandoned):
        path.write_text("{", encoding="utf-8")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(abandoned, (two_days_ago, two_days_ago))
    cache.evict()
    assert recent.exists() and not abandoned.exists()


def test_beyond_its_size_the_least_recently_used_entries_go_first(tmp_path):
    plan = Plan("osp", "dev", "dev", "osp", "offline", (), {"x": "y" * 1000})
    size = len(json.dumps({"plan": plan.to_json()}))
    cache = PlanCache(tmp_path, max_bytes=3 * size + size // 2)
    for age, key in enumerate(["a", "b", "c"]):
        cache.put(key, plan)
        stamp = time.time() - 100 + age  # a oldest, c newest
        os.utime(tmp_path / f"{key}.json", (stamp, stamp))
    assert cache.get("a") is not None  # read: now the most recently used
    cache.put("d", plan)
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == ["a", "c", "d"]


def test_the_cache_limit_is_a_limit():
    assert limits.PLAN_CACHE_MAX_BYTES >= 100 * 1024 * 1024


# --- a hit needs neither the program nor the SDK ----------------------------------------------


def test_a_cached_preview_imports_neither_the_program_nor_the_sdk(tmp_path):
    """What makes a repeat quick: the second preview reads the plan and renders it."""
    spec = spec_of("dev")
    home = tmp_path / "home"
    folder = home / "cache" / "plans"
    folder.mkdir(parents=True)
    PlanCache(folder).put(plan_cache.plan_key(spec, "osp.stacks.estate:build"), plan_of("dev"))
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from osp.cli.main import app\n"
        "result = CliRunner().invoke(app, sys.argv[1:])\n"
        "sys.stdout.write(result.stdout)\n"
        "heavy = sorted(m for m in ('pulumi', 'pulumi_aws', 'osp.stacks.estate') "
        "if m in sys.modules)\n"
        "sys.stderr.write(repr((result.exit_code, heavy)))\n"
    )
    env = {**os.environ, "OSP_HOME": str(home), "OSP_PROJECT_DIR": str(shipped_project())}
    env.pop("OSP_NO_CACHE", None)
    done = subprocess.run(
        [sys.executable, "-c", script, "preview", "--env", "dev", "--offline", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.stderr == repr((0, [])), done.stderr
    assert done.stdout == plan_of("dev").dumps()
