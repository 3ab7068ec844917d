"""A service's autoscaling targets (`autoscaling` in the catalogue): the HorizontalPodAutoscaler
aims at them, CPU alone when memory is null; out-of-range targets are refused."""

from __future__ import annotations

import pytest

from osp.app.workload import autoscaler_spec, problems
from osp.platform.catalogue import Autoscaling
from tests.app.test_workload import fee_args
from tests.platform.test_catalogue import ORDERS_REPLICAS, variant
from tests.platform.test_catalogue import problems as catalogue_problems


def targets(spec: dict) -> dict[str, int]:
    return {
        m["resource"]["name"]: m["resource"]["target"]["averageUtilization"]
        for m in spec["metrics"]
    }


def test_the_default_is_70_percent_cpu_and_80_percent_memory():
    assert Autoscaling() == Autoscaling(cpu_percent=70, memory_percent=80)
    assert targets(autoscaler_spec(fee_args())) == {"cpu": 70, "memory": 80}


def test_cpu_alone_when_memory_is_none():
    spec = autoscaler_spec(fee_args(cpu_utilisation=60, memory_utilisation=None))
    assert targets(spec) == {"cpu": 60}
    assert [m["resource"]["name"] for m in spec["metrics"]] == ["cpu"]


@pytest.mark.parametrize(("cpu", "memory"), [(0, 80), (70, 101), (101, None)])
def test_targets_out_of_range_are_refused(cpu, memory):
    found = problems("t", fee_args(cpu_utilisation=cpu, memory_utilisation=memory))
    bad = [("cpu_utilisation", cpu)] if not 1 <= cpu <= 100 else []
    if memory is not None and not 1 <= memory <= 100:
        bad.append(("memory_utilisation", memory))
    assert found == [
        f"ServiceWorkload t: {arg}: got {value!r}; expected a percentage of the requests, 1 to 100"
        for arg, value in bad
    ]


def test_the_catalogue_takes_targets_and_refuses_bad_ones(tmp_path):
    good = variant(
        (ORDERS_REPLICAS, "{min: 1, baseline: 2, max: 4}\n    autoscaling: {cpu_percent: 60, "
         "memory_percent: null}\n    uses:\n      publishes"),
    )  # fmt: skip
    from osp.platform.catalogue import parse_catalogue
    from tests.platform.test_catalogue import write

    orders = parse_catalogue(write(tmp_path, good)).service("orders")
    assert orders.autoscaling == Autoscaling(cpu_percent=60, memory_percent=None)
    (found,) = catalogue_problems(
        tmp_path,
        variant(
            (
                ORDERS_REPLICAS,
                "{min: 1, baseline: 2, max: 4}\n    autoscaling: {cpu_percent: 0}"
                "\n    uses:\n      publishes",
            ),
        ),
    )
    assert found.startswith("14: services.orders.autoscaling.cpu_percent: ")
