"""Benchmarks, run on demand (never collected by pytest):
`python tests/benchmarks/bench_tenants.py`.

Prints, for each registry backend, the median time of one create (the median of 50, in each
of 3 rounds) with 1, 100 and 1 000 tenants already registered (it must not grow with the
fleet), and the time of `list` at 10 000 tenants: every tenant, and one state and tier. The
DynamoDB backend runs against moto in this process, so its numbers are moto's cost plus the
registry's, not the service's; the last line is the registry's own share of a list.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from osp.platform.tenancy import (  # noqa: E402 (the repository first, for tests.*)
    DynamoDbRegistry,
    FileRegistry,
    Tenant,
    TenantRegistry,
    TenantRequest,
    TenantState,
    Tier,
    from_dict,
    new_tenant,
    to_dict,
    transition,
)
from osp.platform.tenancy.registry.dynamodb import from_item, to_item  # noqa: E402

FLEETS = (1, 100, 1_000)
LIST_FLEET = 10_000
CREATES = 50
ROUNDS = 3
LIST_RUNS = 3
NOW = datetime(2026, 5, 9, 10, 0, tzinfo=UTC)
STATES = (TenantState.ACTIVE, TenantState.ACTIVE, TenantState.ACTIVE, TenantState.SUSPENDED,
          TenantState.PROVISIONING)  # fmt: skip


def fleet(count: int, prefix: str = "school") -> Iterator[Tenant]:
    """`count` tenants, mostly active, a third of them silo."""
    for i in range(count):
        request = TenantRequest(
            slug=f"{prefix}-{i:05d}",
            name=f"School {i}",
            tier=Tier.SILO if i % 3 == 0 else Tier.POOL,
            admin_email=f"it{i}@school.example.org",
        )
        tenant = new_tenant(request, actor="bench", now=NOW)
        state = STATES[i % len(STATES)]
        if state is not TenantState.PROVISIONING:
            tenant = transition(tenant, "active", actor="bench", reason="up", now=NOW)
        if state is TenantState.SUSPENDED:
            tenant = transition(tenant, state, actor="bench", reason="unpaid", now=NOW)
        yield tenant


def seed_files(root: Path, tenants: Iterator[Tenant]) -> None:
    """Write records the way FileRegistry does, without its fsyncs (setup, not measured)."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    for tenant in tenants:
        (root / f"{tenant.slug}.json").write_text(json.dumps(to_dict(tenant), indent=2) + "\n")
    # Flushed now, or the first measured fsync would pay for the whole seed.
    os.sync()


def seed_table(client, table: str, tenants: Iterator[Tenant]) -> None:
    batch: list[dict] = []
    for tenant in tenants:
        batch.append({"PutRequest": {"Item": to_item(tenant)}})
        if len(batch) == 25:
            client.batch_write_item(RequestItems={table: batch})
            batch = []
    if batch:
        client.batch_write_item(RequestItems={table: batch})


def median_create(registry: TenantRegistry) -> float:
    times = []
    for tenant in fleet(CREATES, prefix="new"):
        start = time.perf_counter()
        registry.create(tenant)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def median_list(registry: TenantRegistry, **filters) -> tuple[float, int]:
    times, found = [], 0
    for _ in range(LIST_RUNS):
        start = time.perf_counter()
        found = len(registry.list(**filters))
        times.append(time.perf_counter() - start)
    return statistics.median(times), found


def measure(
    name: str, fresh: Callable[[], TenantRegistry], seed: Callable[[TenantRegistry, int], None]
) -> None:
    # Fleet sizes interleaved over rounds: a disk shared with other work makes fsync's cost
    # drift, and the drift must not pass for growth with the fleet.
    samples: dict[int, list[float]] = {count: [] for count in FLEETS}
    for _ in range(ROUNDS):
        for count in FLEETS:
            registry = fresh()
            seed(registry, count)
            samples[count].append(median_create(registry))
    for count, times in samples.items():
        shown = " ".join(f"{t * 1e3:.2f}" for t in times)
        print(
            f"{name:<9} create, {count:>6} registered: {statistics.median(times) * 1e3:8.2f} ms"
            f"  (rounds: {shown})"
        )
    registry = fresh()
    seed(registry, LIST_FLEET)
    every, n = median_list(registry)
    print(f"{name:<9} list,   {LIST_FLEET:>6} registered: {every * 1e3:8.1f} ms ({n} tenants)")
    some, n = median_list(registry, state=TenantState.ACTIVE, tier=Tier.SILO)
    print(f"{name:<9} list --state active --tier silo:   {some * 1e3:8.1f} ms ({n} tenants)")


def file_backend(work: Path) -> None:
    folders = iter(range(1_000_000))

    def fresh() -> TenantRegistry:
        return FileRegistry(work / f"registry-{next(folders)}")

    def seed(registry: TenantRegistry, count: int) -> None:
        assert isinstance(registry, FileRegistry)
        seed_files(registry.root, fleet(count))

    measure("file", fresh, seed)


def dynamodb_backend() -> None:
    import boto3
    from moto import mock_aws

    from tests.platform.tenancy.conftest import create_tenants_table

    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ.pop("AWS_PROFILE", None)
    tables = iter(range(1_000_000))
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")

        def fresh() -> TenantRegistry:
            name = f"osp-bench-tenants-{next(tables)}"
            create_tenants_table(client, name)
            return DynamoDbRegistry(name, client)

        def seed(registry: TenantRegistry, count: int) -> None:
            assert isinstance(registry, DynamoDbRegistry)
            seed_table(client, registry.table_name, fleet(count))

        measure("dynamodb", fresh, seed)
    # moto spends nearly all of a query's time serialising its response: the registry's own
    # share of a list is turning the items into tenants.
    items = [to_item(tenant) for tenant in fleet(LIST_FLEET)]
    start = time.perf_counter()
    for item in items:
        from_dict(from_item(item))
    decode = time.perf_counter() - start
    print(f"{'dynamodb':<9} of which the registry's, {LIST_FLEET} items: {decode * 1e3:8.1f} ms")


def main() -> None:
    print(f"create: median of {CREATES} creates per round; list: median of {LIST_RUNS} runs")
    with tempfile.TemporaryDirectory(prefix="osp-bench-tenants-") as work:
        file_backend(Path(work))
    dynamodb_backend()


if __name__ == "__main__":
    main()
