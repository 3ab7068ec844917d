"""Benchmarks, run on demand (never collected by pytest):
`python tests/benchmarks/bench_engine.py [ENV] [--runs N]` (default prod, 5 runs).

Prints the CPU time (user + system, never wall: the machine is shared) and peak RSS of one
offline plan in a fresh interpreter — the whole process: imports, spec, plan — the median of N
runs of each of:

- `sdk defaults`: osp's engine with the SDK as it ships (no `offline_runtime()` tuning);
- `gc only`: only the garbage-collector tuning of `offline_runtime()`;
- `sdk fns only`: only its three SDK function replacements (outputs waited for at once, no
  stack traces, one future per resource property);
- `osp`: the offline engine as it runs (`osp preview --offline`);
- `sdk floor`: a plain Pulumi program under the same mocks (`FakeAws`), default settings, that
  imports the provider SDK modules of the plan's resource types and re-registers every resource
  of the plan with the bare `CustomResource` / `ComponentResource` / `ProviderResource` classes
  (same types, names, parents, providers, dependencies and inputs): what the SDK itself costs
  for this plan, with none of osp's code;
- `typed floor`: the same program, each cloud resource also given every output property of its
  provider SDK class (unset), as that generated class gives them: an Output (and its futures)
  per property, read or not. Its distance from `sdk floor` is what the typed classes cost of
  themselves, which any program using them pays; its distance from `osp` is osp's own.

`plan s` is the CPU of the run alone (after imports and the spec), for the rows that have one.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[2]
MODES = ("sdk defaults", "gc only", "sdk fns only", "osp", "sdk floor", "typed floor")


def _usage() -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024}


def measure_osp(mode: str, environment: str, out: str | None) -> None:
    import gc

    from osp.platform.engine import offline, runtime
    from osp.platform.project import find_project
    from osp.platform.spec import load_environment
    from osp.stacks.estate import build

    if mode == "sdk defaults":
        offline.offline_runtime = contextlib.nullcontext
    elif mode == "gc only":
        runtime.REPLACEMENTS = ()
    elif mode == "sdk fns only":
        # A gc that someone else has frozen and whose thresholds do not move.
        runtime.gc = SimpleNamespace(
            get_threshold=gc.get_threshold,
            set_threshold=lambda *_: None,
            get_freeze_count=lambda: 1,
        )
    spec = load_environment(find_project(REPO), environment)
    start = time.process_time()
    plan = offline.run(spec, build)
    plan_cpu = time.process_time() - start
    if out:
        Path(out).write_text(plan.dumps())
    print(json.dumps({**_usage(), "plan": plan_cpu, "resources": len(plan.resources)}))


def _sdk_module(token: str) -> str | None:
    """The provider SDK module that defines a resource type's class."""
    package, module, _ = token.split(":")
    if package == "pulumi" or importlib.util.find_spec(f"pulumi_{package}") is None:
        return None  # the SDK's own types, and components (osp:…): no provider SDK
    python = f"pulumi_{package}"
    if module == "index" or module.startswith("index/"):
        return python
    parts = module.split("/")
    if package == "kubernetes":  # apps/v1, networking.k8s.io/v1, helm.sh/v3
        module = f"{python}.{parts[0].split('.')[0]}.{parts[1]}"
        # A custom resource definition's kind (elbv2.k8s.aws/v1beta1) has no module of its own.
        try:
            return module if importlib.util.find_spec(module) else f"{python}.apiextensions"
        except ModuleNotFoundError:
            return f"{python}.apiextensions"
    module = f"{python}.{parts[0]}"
    return module if importlib.util.find_spec(module) else f"{module}_"  # lambda → lambda_


def _output_properties(token: str) -> list[str]:
    """The properties of the provider SDK class of a resource type (each an Output on every
    instance), or none when it has no class of its own."""
    name = _sdk_module(token)
    module = importlib.import_module(name) if name else None
    sdk_class = getattr(module, token.rsplit(":", 1)[1], None)
    return [n for n, v in vars(sdk_class or object).items() if isinstance(v, property)]


def measure_floor(plan_file: str, typed: bool = False) -> None:
    plan = json.loads(Path(plan_file).read_text())
    start_imports = time.process_time()
    import pulumi
    from pulumi.runtime import mocks, settings
    from pulumi.runtime.stack import run_in_stack
    from pulumi.runtime.sync_await import _sync_await

    from osp.platform.engine.fake_aws import FakeAws
    from osp.platform.project import find_project
    from osp.platform.spec import load_environment

    for resource_ in plan["resources"]:
        name = _sdk_module(resource_["type"])
        if name is not None:
            module = importlib.import_module(name)
            getattr(module, resource_["type"].rsplit(":", 1)[1], None)
    spec = load_environment(find_project(REPO), plan["environment"])
    by_urn = {r["urn"]: r for r in plan["resources"]}
    types = {r["type"] for r in by_urn.values()}
    unset = {t: _output_properties(t) if typed else [] for t in types}
    imports_cpu = time.process_time() - start_imports

    def program() -> None:
        made: dict[str, pulumi.Resource] = {}

        def make(urn: str) -> pulumi.Resource | None:
            if urn in made or urn not in by_urn:
                return made.get(urn)
            r = by_urn[urn]
            if r["type"] == "pulumi:pulumi:Stack":
                return None
            opts = pulumi.ResourceOptions(
                parent=make(r["parent"]) if r["parent"] else None,
                provider=make(r["provider"]) if r["provider"] else None,
                depends_on=[d for d in map(make, r["dependencies"]) if d is not None],
                protect=r["options"]["protect"],
            )
            if r["type"].startswith("pulumi:providers:"):
                made[urn] = pulumi.ProviderResource(
                    r["type"].split(":")[2], r["name"], r["inputs"], opts
                )
            elif r["custom"]:
                inputs = {**dict.fromkeys(unset[r["type"]]), **r["inputs"]}
                made[urn] = pulumi.CustomResource(r["type"], r["name"], inputs, opts)
            else:
                component = pulumi.ComponentResource(r["type"], r["name"], None, opts)
                component.register_outputs({})
                made[urn] = component
            return made[urn]

        for urn in by_urn:
            make(urn)

    monitor = mocks.MockMonitor(FakeAws(spec))
    settings.configure(
        mocks.MockSettings(
            monitor=monitor,
            monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
            engine=mocks.MockEngine(None),
            project=plan["project"],
            stack=plan["stack"],
            dry_run=False,
            organization="organization",
            callbacks=None,
        )
    )
    settings.ROOT.set(None)
    start = time.process_time()
    _sync_await(run_in_stack(program))
    plan_cpu = time.process_time() - start
    print(
        json.dumps({**_usage(), "plan": plan_cpu, "imports": imports_cpu, "resources": len(by_urn)})
    )


def _sample(*args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", *args], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("environment", nargs="?", default="prod")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--modes", default=",".join(MODES))
    options = parser.parse_args()
    modes = options.modes.split(",")
    with tempfile.TemporaryDirectory() as folder:
        plan_file = str(Path(folder) / "plan.json")
        _sample("osp", options.environment, plan_file)
        samples: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
        for _ in range(options.runs):  # interleaved: a load spike hits every mode alike
            for mode in modes:
                args = (
                    ("floor", plan_file, mode)
                    if mode.endswith("floor")
                    else (mode, options.environment)
                )
                samples[mode].append(_sample(*args))
    print(
        f"{options.environment} offline plan: process CPU (user+sys) and peak RSS, "
        f"median of {options.runs} fresh interpreters"
    )
    print(f"{'':<14} {'resources':>9} {'cpu s':>7} {'plan s':>7} {'peak MiB':>9} {'× floor':>8}")
    median = {
        m: {k: statistics.median(s[k] for s in samples[m]) for k in samples[m][0]} for m in modes
    }
    floor = median.get("sdk floor")
    for mode in modes:
        n = median[mode]
        ratio = f"{n['cpu'] / floor['cpu']:.2f}" if floor else "-"
        print(
            f"{mode:<14} {n['resources']:>9.0f} {n['cpu']:>7.2f} {n['plan']:>7.2f} "
            f"{n['peak_mib']:>9.0f} {ratio:>8}"
        )
    if floor and "osp" in median:
        print(f"peak RSS osp / floor: {median['osp']['peak_mib'] / floor['peak_mib']:.2f}")
    if "typed floor" in median and "osp" in median:
        typed = median["typed floor"]
        print(f"peak RSS osp / typed floor: {median['osp']['peak_mib'] / typed['peak_mib']:.2f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        if sys.argv[2] == "floor":
            measure_floor(sys.argv[3], typed=sys.argv[4:5] == ["typed floor"])
        else:
            measure_osp(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
    else:
        main()
