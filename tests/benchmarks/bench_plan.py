"""Benchmarks, run on demand (never collected by pytest): `python tests/benchmarks/bench_plan.py`.

Prints, per environment, the wall time and peak memory of an offline plan — cold (a fresh
interpreter: imports included) and warm (a second plan in the same process) — and the start
time of `osp --help`.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("dev", "staging", "prod")
RUNS = 5


def measure(environment: str) -> None:
    """One sample, in this (fresh) interpreter: printed as JSON for `plan_numbers`."""
    import resource

    start = time.perf_counter()
    from osp.platform.engine import offline
    from osp.platform.project import find_project
    from osp.platform.spec import load_environment
    from osp.stacks.estate import build

    spec = load_environment(find_project(REPO), environment)
    plan = offline.run(spec, build)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    offline.run(spec, build)
    warm = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"cold": cold, "warm": warm, "resources": len(plan.resources),
                      "peak_mib": peak_mib}))  # fmt: skip


def plan_numbers(environment: str) -> dict[str, float]:
    samples = [
        json.loads(
            subprocess.run(
                [sys.executable, __file__, "--measure", environment],
                capture_output=True, text=True, check=True,
            ).stdout
        )
        for _ in range(RUNS)
    ]  # fmt: skip
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def help_start_seconds() -> float:
    osp = shutil.which("osp", path=str(Path(sys.executable).parent)) or "osp"
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([osp, "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    print(f"offline plan, median of {RUNS} runs in fresh interpreters")
    print(f"{'env':<8} {'resources':>9} {'cold s':>8} {'warm s':>8} {'peak MiB':>9}")
    for environment in ENVIRONMENTS:
        n = plan_numbers(environment)
        print(
            f"{environment:<8} {n['resources']:>9.0f} {n['cold']:>8.2f} {n['warm']:>8.3f} "
            f"{n['peak_mib']:>9.0f}"
        )
    print(f"osp --help start: {help_start_seconds():.3f} s (median of {RUNS})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        measure(sys.argv[2])
    else:
        main()
