"""Benchmarks, run on demand (never collected by pytest):
`python tests/benchmarks/bench_scaling.py [--env ENV] [--sizes 1,2,4,8] [--runs N]`
(default prod, sizes 1, 2, 4 and 8, one run each).

How the offline plan grows with the catalogue. For each size N, a temporary project holds the
repository's Pulumi.yaml, the ENV stack file and its own `blueprints/osp/blueprint.yaml`: the
bundled `osp` catalogue copied N times, each copy's services, events, routes and images
renamed (`identity`, `identity-c2`, … with `enrollment-created-c2` published by
`enrollment-c2`), so N copies are N× the services with the same shape. Prints, per size, the
process CPU (user + system; the machine is shared, so never wall) and peak RSS of one plan in
a fresh interpreter, for osp (`offline.run` of the estate, as `osp preview --offline` runs it)
and for the Pulumi SDK floor (bench_engine.py's: the same resources re-registered with bare
SDK classes under the same mocks, after importing the provider SDK modules they use); then
the cost of each added service and each added resource from size to size, and the ratio.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BENCH_ENGINE = Path(__file__).with_name("bench_engine.py")


def renamed(name: str, copy: int) -> str:
    return name if copy == 1 else f"{name}-c{copy}"


def _event(reference: str | dict, copy: int) -> str | dict:
    """`enrollment-created from enrollment` (or its mapping form, with a channel and a
    filter) in copy `copy`."""
    if isinstance(reference, dict):
        return {
            **reference,
            "event": renamed(reference["event"], copy),
            "from": renamed(reference["from"], copy),
        }
    event, _, publisher = reference.partition(" from ")
    return f"{renamed(event, copy)} from {renamed(publisher, copy)}"


def catalogue_copied(times: int) -> dict:
    """The bundled `osp` catalogue with its services copied `times` times: each copy with its
    own events, queues and parameters; the buckets, secrets, functions and schedules stay the
    first copy's."""
    catalogue = yaml.safe_load((REPO / "blueprints" / "osp" / "blueprint.yaml").read_text())
    services, queues, parameters = {}, {}, {}
    for copy in range(1, times + 1):
        for name, queue in catalogue.get("queues", {}).items():
            queues[renamed(name, copy)] = queue
        for name, service in catalogue["services"].items():
            service = json.loads(json.dumps(service))  # a deep copy of plain data
            service["route"] = f"/api/{renamed(name, copy)}"
            image, _, tag = service["image"].partition(":")
            service["image"] = f"{renamed(image, copy)}:{tag}"
            if "callers" in service:
                service["callers"] = [renamed(c, copy) for c in service["callers"]]
            uses = service.get("uses", {})
            if "publishes" in uses:
                uses["publishes"] = [renamed(e, copy) for e in uses["publishes"]]
            if "consumes" in uses:
                uses["consumes"] = [_event(e, copy) for e in uses["consumes"]]
            if "queues" in uses:
                uses["queues"] = {renamed(q, copy): a for q, a in uses["queues"].items()}
            if name in catalogue.get("parameters", {}):
                parameters[renamed(name, copy)] = catalogue["parameters"][name]
            services[renamed(name, copy)] = service
    copied = {**catalogue, "services": services}
    if queues:
        copied["queues"] = queues
    if parameters:
        copied["parameters"] = parameters
    return copied


def project_of(folder: Path, environment: str, times: int) -> Path:
    (folder / "stacks").mkdir(parents=True)
    shutil.copy(REPO / "Pulumi.yaml", folder / "Pulumi.yaml")
    shutil.copy(REPO / "stacks" / f"Pulumi.{environment}.yaml", folder / "stacks")
    blueprint = folder / "blueprints" / "osp" / "blueprint.yaml"
    blueprint.parent.mkdir(parents=True)
    blueprint.write_text(yaml.safe_dump(catalogue_copied(times), sort_keys=False))
    return folder


def measure_osp(project: str, environment: str, out: str) -> None:
    """One sample, in this (fresh) interpreter: printed as JSON."""
    import resource
    import time

    from osp.platform.engine import offline
    from osp.platform.project import find_project
    from osp.platform.spec import load_environment
    from osp.stacks.estate import build

    spec = load_environment(find_project(project), environment)
    start = time.process_time()
    plan = offline.run(spec, build)
    plan_cpu = time.process_time() - start
    Path(out).write_text(plan.dumps())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "cpu": usage.ru_utime + usage.ru_stime,
                "plan": plan_cpu,
                "peak_mib": usage.ru_maxrss / 1024,
                "resources": len(plan.resources),
            }
        )
    )


def _json_line(command: list[str]) -> dict[str, float]:
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(samples: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", default="prod")
    parser.add_argument("--sizes", default="1,2,4,8")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    per_copy = len(catalogue_copied(1)["services"])
    rows = []
    with tempfile.TemporaryDirectory(prefix="osp-bench-scaling-") as folder:
        for size in sizes:
            project = project_of(Path(folder) / f"x{size}", args.env, size)
            plan_file = str(Path(folder) / f"x{size}.json")
            osp, floor = [], []
            for _ in range(args.runs):
                osp.append(
                    _json_line(
                        [sys.executable, __file__, "--measure", str(project), args.env, plan_file]
                    )
                )
                floor.append(
                    _json_line([sys.executable, str(BENCH_ENGINE), "--measure", "floor", plan_file])
                )
            rows.append((size, size * per_copy, _median(osp), _median(floor)))
            print(f"measured x{size}", file=sys.stderr)
    print(
        f"{args.env} offline plan with the osp catalogue copied N times: process CPU (user+sys) "
        f"and peak RSS, median of {args.runs} fresh interpreter(s)"
    )
    print(
        f"{'N':>2} {'services':>8} {'resources':>9} {'osp cpu s':>9} {'plan s':>7} {'MiB':>5} "
        f"{'floor cpu s':>11} {'plan s':>7} {'MiB':>5} {'cpu ×':>6} {'MiB ×':>6}"
    )
    for size, services, o, f in rows:
        print(
            f"{size:>2} {services:>8} {o['resources']:>9.0f} {o['cpu']:>9.2f} {o['plan']:>7.2f} "
            f"{o['peak_mib']:>5.0f} {f['cpu']:>11.2f} {f['plan']:>7.2f} {f['peak_mib']:>5.0f} "
            f"{o['cpu'] / f['cpu']:>6.2f} {o['peak_mib'] / f['peak_mib']:>6.2f}"
        )
    print("per added service (and per added resource), from one size to the next:")
    print(f"{'from→to':>8} {'osp s/svc':>9} {'floor s/svc':>11} {'osp ms/res':>10} "
          f"{'floor ms/res':>12} {'osp MiB/svc':>11} {'floor MiB/svc':>13}")  # fmt: skip
    for (s0, n0, o0, f0), (s1, n1, o1, f1) in itertools.pairwise(rows):
        services, resources = n1 - n0, o1["resources"] - o0["resources"]
        print(
            f"{f'{s0}→{s1}':>8} {(o1['cpu'] - o0['cpu']) / services:>9.3f} "
            f"{(f1['cpu'] - f0['cpu']) / services:>11.3f} "
            f"{1000 * (o1['cpu'] - o0['cpu']) / resources:>10.2f} "
            f"{1000 * (f1['cpu'] - f0['cpu']) / resources:>12.2f} "
            f"{(o1['peak_mib'] - o0['peak_mib']) / services:>11.2f} "
            f"{(f1['peak_mib'] - f0['peak_mib']) / services:>13.2f}"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        measure_osp(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
