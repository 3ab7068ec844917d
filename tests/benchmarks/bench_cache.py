"""Benchmarks, run on demand (never collected by pytest):
`python tests/benchmarks/bench_cache.py [ENV …] [--runs N]` (default prod, 5 runs).

Prints the wall time of `osp preview --env ENV --offline` as a user runs it (a fresh process
each time, imports included) and, in brackets, its CPU time (user + system: what the wall
time would be on an idle machine; the machine is shared), the median of N runs of each of:

- `cold`: an empty cache (the plan is made, then written to the cache);
- `cached`: the same preview again (the plan read from the cache);
- `--no-cache`: the cache bypassed (the plan made, nothing read or written);

once with `--json` (the plan JSON on stdout) and once rendered (the tree, counts and summary),
and the time the cache key takes in-process. Each run has its own osp home under a temporary
folder; the user's ~/.osp is never touched.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def osp_command() -> str:
    return shutil.which("osp", path=str(Path(sys.executable).parent)) or "osp"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def preview_seconds(environment: str, home: Path, *options: str) -> tuple[float, float, str]:
    """Wall and CPU seconds of one preview, and what it printed."""
    env = {**os.environ, "OSP_HOME": str(home), "OSP_PROJECT_DIR": str(REPO)}
    env.pop("OSP_NO_CACHE", None)
    cpu, start = _children_cpu(), time.perf_counter()
    done = subprocess.run(
        [osp_command(), "preview", "--env", environment, "--offline", *options],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    return time.perf_counter() - start, _children_cpu() - cpu, done.stdout


def key_seconds(environment: str, runs: int) -> float:
    from osp.platform.plan_cache import plan_key
    from osp.platform.project import find_project
    from osp.platform.spec import load_environment

    spec = load_environment(find_project(REPO), environment)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        plan_key(spec, "osp.stacks.estate:build")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("environments", nargs="*", default=["prod"])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(
        f"osp preview --offline: wall seconds (CPU seconds), median of {args.runs} fresh processes"
    )
    print(f"{'env':<6} {'output':<9} {'cold':>13} {'cached':>13} {'--no-cache':>13} {'ratio':>6}")
    for environment in args.environments:
        for label, options in (("--json", ("--json",)), ("rendered", ())):
            cold, cached, bypassed = [], [], []
            for _ in range(args.runs):
                with tempfile.TemporaryDirectory(prefix="osp-bench-cache-") as folder:
                    home = Path(folder) / "home"
                    *seconds, fresh = preview_seconds(environment, home, *options)
                    cold.append(seconds)
                    *seconds, again = preview_seconds(environment, home, *options)
                    cached.append(seconds)
                    if again != fresh:
                        raise SystemExit(f"{environment} {label}: the cached output differs")
                    *seconds, _ = preview_seconds(environment, home, "--no-cache", *options)
                    bypassed.append(seconds)
            c, h, n = (
                (statistics.median(w for w, _ in x), statistics.median(u for _, u in x))
                for x in (cold, cached, bypassed)
            )
            shown = " ".join(f"{w:>6.2f} ({u:>4.2f})" for w, u in (c, h, n))
            print(f"{environment:<6} {label:<9} {shown} {c[0] / h[0]:>5.1f}x")
        print(f"{environment:<8} the cache key, in-process: {key_seconds(environment, 20):.4f} s")


if __name__ == "__main__":
    main()
