"""What the tests share: the repository's specs and plans, planning one building block, and
project folders of the tests' own.

    plan = plan_component(Postgres, PostgresArgs(**PROD), exports=("identifier",))

`spec_of` / `plan_of` compute once per test run, and so does `estate_plan` for any spec of
osp's own blueprints (a weakened stack file: one plan however many tests check it;
`share_estate_plans` gives the CLI the same plans); `plan_component` runs the offline engine
over a program that builds one component (or app block) and exports what a test names.

Tests never point osp at the repository's own project: adding an environment as docs/spec.md
describes (a new stacks/Pulumi.<env>.yaml) must not change what any test sees. `project_copy`
builds a project folder holding exactly the environments a test names; `shipped_project` is
one such folder with the shipped environments, shared by the tests that only read it.
"""

from __future__ import annotations

import atexit
import fcntl
import functools
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import pulumi

from osp.platform.plan import Plan
from osp.platform.project import find_project
from osp.platform.spec import EnvironmentSpec, load_environment

REPO = Path(__file__).resolve().parent.parent
#: The environments the repository ships, and so the ones `shipped_project` holds.
ENVIRONMENTS = ("dev", "staging", "prod")


def project_copy(folder: Path, environments: Iterable[str] = ENVIRONMENTS) -> Path:
    """`folder` made an osp project of its own: the repository's Pulumi.yaml and the stack files
    of `environments`, and nothing else, whatever the repository's stacks/ holds. Returns
    `folder` (created if need be); the copy is the test's to edit or break."""
    repository = find_project(REPO)
    stacks = folder / repository.stacks_dir.relative_to(repository.root)
    stacks.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "Pulumi.yaml", folder / "Pulumi.yaml")
    for environment in environments:
        shutil.copy(repository.stack_file(environment), stacks)
    return folder


@functools.cache
def shipped_project() -> Path:
    """A project holding the shipped environments (`ENVIRONMENTS`), made once per test process
    for the tests that only read it; a test that writes makes its own with `project_copy`."""
    folder = Path(tempfile.mkdtemp(prefix="osp-project-")).resolve()
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return project_copy(folder)


@functools.cache
def spec_of(environment: str, blueprint: str | None = None) -> EnvironmentSpec:
    """The spec of one of the shipped environments; `blueprint`: another bundled blueprint
    instead of the stack file's."""
    return load_environment(find_project(shipped_project()), environment, blueprint=blueprint)


@functools.cache
def plan_of(environment: str, blueprint: str | None = None) -> Plan:
    """The offline plan of `spec_of(environment, blueprint)`, computed once per test run."""
    return estate_plan(spec_of(environment, blueprint))


_ESTATE_PLANS: dict[str, Plan] = {}
#: Where the processes of one test run (pytest-xdist's workers) share the estate plans they
#: make (`share_estate_plans_in`); None: this process keeps its plans to itself.
_SHARED_PLANS: Path | None = None


def share_estate_plans_in(folder: Path) -> None:
    """From now on, `estate_plan` reads and writes the estate plans of this test run through
    osp's plan cache in `folder`, a folder every process of the run is given: each estate
    is then planned once for the whole run, not once per process."""
    global _SHARED_PLANS
    _SHARED_PLANS = folder


def _estate_key(spec: EnvironmentSpec) -> str | None:
    """What the estate's plan is a function of, or None when that is more than the spec: a
    project's own blueprints are files a test may edit between two runs."""
    return spec.model_dump_json() if spec.library.folder is None else None


def estate_plan(spec: EnvironmentSpec, run: Callable[..., Plan] | None = None) -> Plan:
    """The offline plan of the estate (`osp.stacks.estate.build`) for `spec`, computed (by
    `run`, default the offline engine's) once per test run for each distinct spec of osp's own
    blueprints (plans are immutable)."""
    from osp.platform.engine import offline
    from osp.stacks.estate import build

    run = run or offline.run
    key = _estate_key(spec)
    if key is None:
        return run(spec, build)
    if key not in _ESTATE_PLANS:
        if _SHARED_PLANS is None:
            _ESTATE_PLANS[key] = run(spec, build)
        else:
            _ESTATE_PLANS[key] = _shared_plan(_SHARED_PLANS, spec, lambda: run(spec, build))
    return _ESTATE_PLANS[key]


def _shared_plan(folder: Path, spec: EnvironmentSpec, make: Callable[[], Plan]) -> Plan:
    """The estate plan of `spec` from the run's shared plan cache in `folder`, made by
    `make` and cached there by the first process that asks for it. A lock per plan makes the
    other processes wait for that one rather than plan the same estate at the same time."""
    from osp.platform.plan_cache import PlanCache, plan_key, program_identity
    from osp.stacks.estate import build

    identity = program_identity(build)
    assert identity is not None, "the estate program is one of osp's own"
    key = plan_key(spec, identity)
    store = PlanCache(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        plan = store.get(key)
        if plan is None:
            plan = make()
            store.put(key, plan)
    return plan


def share_estate_plans(monkeypatch) -> None:
    """For the rest of the test, the offline engine answers a run of the estate program with
    `estate_plan`: a test driving the CLI (several runs of the same weakened stack file, or of
    the shipped ones) plans each estate once per test run. Use it only where nothing the
    estate program reads is patched; another program, or a run with `on_register` (the
    progress display), still runs."""
    from osp.platform.engine import offline
    from osp.stacks.estate import build

    run = offline.run

    def shared(spec, program, **options):
        if program is build and not options and _estate_key(spec) is not None:
            return estate_plan(spec, run)
        return run(spec, program, **options)

    monkeypatch.setattr(offline, "run", shared)


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
