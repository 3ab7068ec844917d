"""`osp dr …`: disaster recovery. The status is `osp.platform.dr.dr_status`; this module
parses and renders."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from osp.cli import output

if TYPE_CHECKING:
    from osp.platform.dr import DrStatus

app = typer.Typer(
    name="dr",
    help="Disaster recovery: what is backed up and replicated, and when it last was.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("status")
def status(
    env: output.EnvOption,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Only what the plan protects (no AWS). Default: also the last backup of "
            "each protected resource and each bucket's replication status, from AWS.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The status as JSON.")] = False,
    project_dir: output.ProjectDirOption = None,
    no_cache: output.NoCacheOption = False,
) -> None:
    """What the environment protects: the backup vaults and their locks, the backup rules
    (retention, copies to the DR region), each protected resource (database, tenant
    registry, data buckets) and each bucket's replication to the DR region; with AWS
    reachable, each resource's last completed backup and each replication rule's status.
    Runbook: docs/disaster-recovery.md."""
    from osp.platform.dr import dr_status
    from osp.platform.project import find_project
    from osp.stacks.estate import build

    found = dr_status(
        find_project(project_dir),
        env,
        program=build,
        offline=offline,
        cache=output.plan_cache(no_cache),
    )
    if as_json:
        typer.echo(json.dumps(found.to_json(), indent=2))
        return
    _render(found)


def _render(found: DrStatus) -> None:
    from rich.table import Table

    console = output.stdout()
    console.print(
        f"{found.environment}: primary {found.region}, DR region {found.dr_region}", markup=False
    )
    for arn, lock in found.vaults.items():
        locked = f"locked (compliance, min {lock} days)" if lock else "unlocked"
        console.print(f"vault {arn}: {locked}", markup=False)
    rules = Table(title="Backup rules", show_edge=False)
    for column in ("plan", "rule", "schedule", "kept (days)", "copied to"):
        rules.add_column(column)
    for r in found.rules:
        kept = f"{r.retention_days}" + (" continuous" if r.continuous else "")
        copies = ", ".join(f"{v} ({d} d)" for v, d in r.copies) or "-"
        rules.add_row(r.plan, r.rule, r.schedule, kept, copies)
    console.print(rules)
    protected = Table(title="Protected resources", show_edge=False)
    for column in ("resource", "plans", "last backup"):
        protected.add_column(column)
    for p in found.protected:
        last = (
            p.last_backup.isoformat()
            if p.last_backup
            else (p.problem or "-")
            if found.live
            else "(offline)"
        )
        protected.add_row(p.arn, ", ".join(p.plans), last)
    console.print(protected)
    replicated = Table(title="Replication to the DR region", show_edge=False)
    for column in ("bucket", "replica", "RTC", "status"):
        replicated.add_column(column)
    for r in found.replications:
        replicated.add_row(
            r.source_bucket,
            r.destination_bucket_arn,
            "15 min" if r.time_control else "-",
            r.live_status if found.live else "(offline)",
        )
    if found.replications:
        console.print(replicated)
    else:
        console.print("No bucket replicates to the DR region (osp:dr.cross_region off).")
    for note in found.notes:
        console.print(note, markup=False)
