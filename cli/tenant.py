"""`osp tenant …`: onboard, list, show, suspend, resume and offboard schools (tenants).

Each command parses, calls one function of `osp.platform.tenancy.onboarding`, and renders.
`--offline` works on the local registry under the osp home (`<OSP_HOME>/tenants/<env>`) and
plans tenant stacks with the offline engine; without it, the registry is the DynamoDB table
the environment's stack exports (`tenantsTable`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from osp.cli import output

if TYPE_CHECKING:
    from osp.platform.automation.operations import Output, Reporter
    from osp.platform.plan import Plan
    from osp.platform.project import Project
    from osp.platform.spec import EnvironmentSpec
    from osp.platform.tenancy import CreateOutcome, Tenant, TenantRegistry, Tier
    from osp.platform.tenancy.fleet import Fleet
    from osp.platform.tenancy.offline_provisioner import OfflineProvisioner
    from osp.platform.tenancy.provisioning import Provisioner, TenantProgram

app = typer.Typer(
    name="tenant",
    help="Onboard, list, show, suspend, resume, offboard and roll out tenants (schools, "
    "districts).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

SlugArgument = Annotated[
    str, typer.Argument(help="The tenant's slug: its DNS label, such as springfield.")
]
OfflineOption = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Use the local tenant registry under the osp home and plan tenant stacks with the "
        "offline engine: no AWS, nothing created.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON, only it.")]
ReasonOption = Annotated[
    str, typer.Option("--reason", help="Why (kept in the tenant's history).", show_default=False)
]


# --- what the CLI wires in (tests replace these) ---------------------------------------------


def tenant_program() -> TenantProgram:
    """The program that declares one tenant's resources (osp.stacks.tenant)."""
    from osp.stacks.tenant import build

    return build


def tier_version(tier: Tier, spec: EnvironmentSpec) -> str:
    """The version a tenant of `tier` is brought to in `spec`'s environment: its tier's
    blueprint (blueprints/tenants/), with the services' catalogue for a silo."""
    from osp.platform.tenancy.tiers import tenant_version

    return tenant_version(tier, spec)


def offline_environment_outputs(spec: EnvironmentSpec, *, cache: bool = True) -> Mapping[str, Any]:
    """The environment's outputs under the offline engine: its estate plan's outputs."""
    from osp.platform.plan_cache import NamedProgram, offline_plan

    return offline_plan(spec, NamedProgram("osp.stacks.estate", "build"), cache=cache).outputs


# --- commands ------------------------------------------------------------------------------


@app.command("create")
def create(
    slug: SlugArgument,
    env: output.EnvOption,
    name: Annotated[
        str, typer.Option("--name", help="Display name of the school.", show_default=False)
    ],
    tier: Annotated[
        str,
        typer.Option(
            "--tier",
            help="pool (shares the estate's services and stores) or silo (its own namespace, "
            "database, bucket and key).",
            show_default=False,
        ),
    ],
    admin_email: Annotated[
        str,
        typer.Option("--admin-email", help="The school's administrator.", show_default=False),
    ],
    domain: Annotated[
        str | None,
        typer.Option("--domain", help="A custom domain the school brings.", show_default=False),
    ] = None,
    offline: OfflineOption = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Validate and show the tenant's plan, resource by resource; write nothing.",
        ),
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Onboard without asking (a real create in a prod environment asks first).",
        ),
    ] = False,
    as_json: JsonOption = False,
    project_dir: output.ProjectDirOption = None,
    no_cache: output.NoCacheOption = False,
) -> None:
    """Onboard a tenant: register it, provision its stack, mark it active; print its URLs.

    Run it again with the same arguments to resume an onboarding that stopped; an active
    tenant is left as it is.
    """
    from osp.platform.tenancy import TenantRequest, onboarding

    request = TenantRequest(
        slug=slug, name=name, tier=tier, admin_email=admin_email, domain=domain
    )  # every problem at once, before anything is read or written
    target = connect_environment(env, project_dir, offline, no_cache=no_cache)
    with _engine_display(offline or dry_run) as display:
        provisioner = target.provisioner(offline=offline or dry_run, reporter=display)
        if not (offline or dry_run):
            _confirm_create(target.spec, request.slug, yes=yes)
        outcome = onboarding.create(
            request,
            environment=target.spec.name,
            registry=target.registry,
            provisioner=provisioner,
            actor=target.actor,
            command_options=_repeated(offline),
            dry_run=dry_run,
            estate_domain=target.spec.domain,
        )
    _render_create(outcome, target.spec, as_json=as_json)


@app.command("list")
def list_(
    env: output.EnvOption,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            help="Only tenants in this state: provisioning, active, suspended, offboarding, "
            "deleted or failed.",
            show_default=False,
        ),
    ] = None,
    tier: Annotated[
        str | None,
        typer.Option("--tier", help="Only tenants of this tier: pool or silo.", show_default=False),
    ] = None,
    offline: OfflineOption = False,
    as_json: JsonOption = False,
    project_dir: output.ProjectDirOption = None,
) -> None:
    """List the tenants of an environment, by slug."""
    from osp.platform.tenancy import TenantState, Tier, onboarding, to_dict
    from osp.platform.validation import InvalidArguments, Problems

    check = Problems("tenant list", f"--env {env}")
    if state is not None and state not in {s.value for s in TenantState}:
        check.add("--state", state, "one of " + ", ".join(s.value for s in TenantState))
    if tier is not None and tier not in {t.value for t in Tier}:
        check.add("--tier", tier, "one of " + ", ".join(t.value for t in Tier))
    if check:
        raise InvalidArguments(check.found)
    target = connect_environment(env, project_dir, offline, actor=False)
    spec = target.spec
    tenants = onboarding.list_tenants(registry=target.registry, state=state, tier=tier)
    if as_json:
        typer.echo(json.dumps([to_dict(t) for t in tenants], indent=2, ensure_ascii=False))
        return
    console = output.stdout()
    if not tenants:
        which = " ".join(f"{w} " for w in (state, tier) if w)
        console.print(f"No {which}tenants in {spec.name}.")
        return
    from rich.table import Table

    table = Table(show_edge=False)
    for column in ("slug", "state", "tier", "name", "updated"):
        table.add_column(column)
    for t in tenants:
        table.add_row(
            t.slug, t.state.value, t.tier.value, t.name, t.updated_at.strftime("%Y-%m-%d %H:%M")
        )
    console.print(table)
    console.print(f"{len(tenants)} tenant{'s' if len(tenants) != 1 else ''} in {spec.name}")


@app.command("show")
def show(
    slug: SlugArgument,
    env: output.EnvOption,
    offline: OfflineOption = False,
    as_json: JsonOption = False,
    project_dir: output.ProjectDirOption = None,
    no_cache: output.NoCacheOption = False,
) -> None:
    """Show a tenant: its record, URLs, history and its stack's outputs.

    Offline there is no stack: the outputs shown are what its plan exports.
    """
    from osp.platform.tenancy import onboarding

    target = connect_environment(env, project_dir, offline, actor=False, no_cache=no_cache)
    spec = target.spec
    described = onboarding.describe(
        slug,
        environment=spec.name,
        registry=target.registry,
        provisioner=target.provisioner(offline=offline),
    )
    tenant, outputs = described.tenant, described.outputs
    if as_json:
        data = _tenant_data(tenant, spec) | {"outputs": outputs}
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        return
    _render_tenant(tenant, spec)
    console = output.stdout()
    if outputs is None:
        console.print("  outputs:     - (no stack)")
        return
    console.print("  outputs:" + (" (offline plan)" if offline else ""))
    for name, value in sorted(outputs.items()):
        shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
        console.print(f"    {name}: {shown}", markup=False, soft_wrap=True)


@app.command("suspend")
def suspend(
    slug: SlugArgument,
    env: output.EnvOption,
    reason: ReasonOption,
    offline: OfflineOption = False,
    project_dir: output.ProjectDirOption = None,
    no_cache: output.NoCacheOption = False,
) -> None:
    """Suspend an active tenant: its configuration says so and a silo stops admitting traffic."""
    _set_running("suspend", slug, env, reason, offline, project_dir, no_cache=no_cache)


@app.command("resume")
def resume(
    slug: SlugArgument,
    env: output.EnvOption,
    reason: ReasonOption,
    offline: OfflineOption = False,
    project_dir: output.ProjectDirOption = None,
    no_cache: output.NoCacheOption = False,
) -> None:
    """Bring a suspended tenant back."""
    _set_running("resume", slug, env, reason, offline, project_dir, no_cache=no_cache)


@app.command("delete")
def delete(
    slug: SlugArgument,
    env: output.EnvOption,
    delete_data: Annotated[
        bool,
        typer.Option(
            "--delete-data",
            help="Also empty a silo tenant's bucket (its database always leaves a final snapshot).",
        ),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete without typing the slug to confirm.")
    ] = False,
    offline: OfflineOption = False,
    project_dir: output.ProjectDirOption = None,
    no_cache: output.NoCacheOption = False,
) -> None:
    """Offboard a tenant: destroy its stack; the record stays, as deleted, with its history.

    Asks for the slug to be typed, unless --yes.
    """
    from osp.platform.tenancy import onboarding

    target = connect_environment(env, project_dir, offline, no_cache=no_cache)
    spec = target.spec
    onboarding.deletable(slug, environment=spec.name, registry=target.registry)  # before asking
    with _engine_display(offline) as display:
        provisioner = target.provisioner(offline=offline, reporter=display)
        _confirm_delete(spec, slug, delete_data=delete_data, yes=yes)
        tenant = onboarding.delete(
            slug,
            delete_data=delete_data,
            environment=spec.name,
            registry=target.registry,
            provisioner=provisioner,
            actor=target.actor,
            command_options=_repeated(offline),
        )
    output.stdout().print(f"Tenant {tenant.slug} is deleted from {spec.name}; its record stays.")


@app.command("rollout")
def rollout(
    env: output.EnvOption,
    tier: Annotated[
        str | None,
        typer.Option("--tier", help="Only tenants of this tier: pool or silo.", show_default=False),
    ] = None,
    parallel: Annotated[
        int, typer.Option("--parallel", help="Tenant stacks updated at the same time (1-32).")
    ] = 4,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            help="I/N: only this machine's deterministic slice of the fleet, so N machines "
            "(a CI matrix) share a rollout; see docs/tenant-rollout.md.",
            show_default=False,
        ),
    ] = None,
    max_failures: Annotated[
        int | None,
        typer.Option(
            "--max-failures",
            help="Start no new tenant once this many have failed.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be updated; change nothing.")
    ] = False,
    offline: OfflineOption = False,
    as_json: JsonOption = False,
    project_dir: output.ProjectDirOption = None,
    no_cache: output.NoCacheOption = False,
) -> None:
    """Bring every active and suspended tenant's stack to its tier's current blueprint.

    Tenants already at the current version are skipped, so a rerun retries only what failed.
    Exit 0 when every selected tenant is current; 1 when any failed or was not started.
    """
    from datetime import UTC, datetime

    from osp.platform.tenancy import parse_shard
    from osp.platform.tenancy import rollout as run_rollout

    chosen = parse_shard(shard) if shard is not None else None  # before anything is read
    target = connect_environment(env, project_dir, offline, no_cache=no_cache)
    report = run_rollout(
        registry=target.registry,
        provisioner=target.provisioner(offline=offline),
        versions=target.versions,
        tier=tier,
        parallel=parallel,
        shard=chosen,
        max_failures=max_failures,
        dry_run=dry_run,
        actor=target.actor,
        now=lambda: datetime.now(UTC),
    )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        console = output.stdout()
        for problem in (*report.failed, *report.conflicted):
            console.print(f"{problem.slug}: {problem.reason}")
        console.print(report.summary)
    raise typer.Exit(report.exit_code)


#: `osp tenant verify`'s exit code when isolation is broken (the CLI's codes: 1 error, 2 usage).
ISOLATION_BROKEN = 3


@app.command("verify")
def verify(
    env: output.EnvOption,
    slug: Annotated[
        str | None,
        typer.Argument(
            help="One tenant's stack (default: with --all, every tenant's).", show_default=False
        ),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every tenant that has a stack.")] = False,
    offline: OfflineOption = False,
    as_json: JsonOption = False,
    project_dir: output.ProjectDirOption = None,
    no_cache: output.NoCacheOption = False,
) -> None:
    """Prove from the tenant stacks' plans that no tenant reaches another's resources.

    Checks every IAM, bucket and key policy against the other tenants' ARNs and prefixes
    (wildcards included), every silo namespace's quota, limit range and default-deny policy,
    and every silo key policy's principals. Exit 0 when isolation holds, 3 when it is broken
    (each leak named).
    """
    from osp.platform.tenancy import onboarding
    from osp.platform.validation import InvalidArguments

    if (slug is None) == (not every):
        got = f"{slug} and --all" if slug else "neither"
        raise InvalidArguments(
            [f"tenant verify: SLUG / --all: got {got}; expected one tenant's slug or --all"]
        )
    target = connect_environment(env, project_dir, offline, actor=False, no_cache=no_cache)
    if slug is not None:  # an unknown tenant is refused before anything is planned
        onboarding.show(slug, environment=target.spec.name, registry=target.registry)
    report = target.fleet(slug=slug).isolation
    if as_json:
        typer.echo(json.dumps({
            "tenants": list(report.tenants),
            "isolated": report.isolated,
            "findings": [
                {"tenant": f.tenant, "rule": f.rule, "resource": f.resource,
                 "evidence": f.evidence} for f in report.findings
            ],
        }, indent=2))  # fmt: skip
    else:
        console = output.stdout()
        for finding in report.findings:
            console.print(finding.message, markup=False, soft_wrap=True)  # one line: greppable
        which = slug or f"{len(report.tenants)} tenant{'s' if len(report.tenants) != 1 else ''}"
        leaks = len(report.findings)
        verdict = "isolated" if not leaks else f"NOT isolated: {leaks} leak{'s' * (leaks != 1)}"
        console.print(f"{which} in {target.spec.name}: {verdict}", markup=False)
    if not report.isolated:
        raise typer.Exit(ISOLATION_BROKEN)


# --- helpers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """The environment a command acts on: its project and spec, its tenant registry, who is
    acting, and (real runs) its stack's outputs."""

    project: Project
    spec: EnvironmentSpec
    registry: TenantRegistry
    actor: str
    stack_outputs: Mapping[str, Output] | None = None
    cache: bool = True

    def offline_provisioner(self, estate_plan: Plan | None = None) -> OfflineProvisioner:
        """The offline engine over the tenant program, against the environment stack's
        outputs (real runs: a dry run plans against the stack it read the registry of), else
        `estate_plan`'s outputs (the estate is not planned again), else the environment's
        offline plan outputs."""
        from osp.platform.tenancy.offline_provisioner import OfflineProvisioner

        spec, outputs = self.spec, self.stack_outputs
        if outputs is None and estate_plan is not None:
            outputs = estate_plan.outputs
        return OfflineProvisioner(
            spec,
            tenant_program(),
            outputs
            if outputs is not None
            else (lambda: offline_environment_outputs(spec, cache=self.cache)),
            self.versions,
        )

    def fleet(self, *, estate_plan: Plan | None = None, slug: str | None = None) -> Fleet:
        """The environment's tenants, their stacks' plans and the isolation proof over them
        (`osp.platform.tenancy.fleet.survey`). Offline: each stack planned by the offline
        engine against `estate_plan` (or the estate's offline plan); otherwise each tenant
        stack's preview, against the environment stack's outputs. `slug`: that tenant's
        isolation findings only (every stack is planned all the same)."""
        from osp.platform.tenancy import isolation
        from osp.platform.tenancy.fleet import survey

        if self.stack_outputs is None:
            planner = self.offline_provisioner(estate_plan)
            provisioner, outputs = planner, planner.environment_outputs
        else:
            provisioner, outputs = self.provisioner(offline=False), self.stack_outputs
        return survey(
            slug,
            environment=self.spec.name,
            registry=self.registry,
            provisioner=provisioner,
            shareable_arns=isolation.shareable(outputs),
        )

    def versions(self, tier: Tier) -> str:
        """The version a tenant of `tier` is brought to in this environment."""
        return tier_version(tier, self.spec)

    def provisioner(self, *, offline: bool, reporter: Reporter | None = None) -> Provisioner:
        """Offline: the offline engine. Otherwise each tenant's own stack through the
        Automation API, its engine events shown on `reporter` (default: not shown)."""
        if offline or self.stack_outputs is None:
            return self.offline_provisioner()
        from osp.platform.tenancy.stack_provisioner import StackProvisioner

        return StackProvisioner(
            self.project,
            self.spec,
            tenant_program(),
            self.stack_outputs,
            self.versions,
            reporter=reporter,
            unprovisioned=self.offline_provisioner(),
        )


def connect_environment(
    env: str, project_dir: Path | None, offline: bool, *, actor: bool = True, no_cache: bool = False
) -> _Target:
    """The environment's spec, its tenant registry, and who is acting; `no_cache` (or
    OSP_NO_CACHE): its offline plan (for its outputs) is made afresh."""
    from osp.platform.project import find_project
    from osp.platform.spec import load_environment

    cache = output.plan_cache(no_cache)
    project = find_project(project_dir)
    spec = load_environment(project, env)
    output.spec_warnings(project, spec)
    return _connect(project, spec, offline, actor=actor, cache=cache)


def fleet(project: Project, spec: EnvironmentSpec, plan: Plan, *, offline: bool) -> Fleet:
    """The tenants of `spec`'s environment, their stacks' plans and the isolation proof, for
    a command that has just planned the environment (`plan`): `osp policy check --tenants`
    and `osp report --tenants`. Offline: the local registry, each tenant stack planned
    against `plan`'s outputs; otherwise the environment's registry and each tenant stack's
    preview. `spec` is the one the command planned (its blueprint, too)."""
    return _connect(project, spec, offline, actor=False).fleet(estate_plan=plan)


def _connect(
    project: Project, spec: EnvironmentSpec, offline: bool, *, actor: bool, cache: bool = True
) -> _Target:
    from osp.platform.tenancy import FileRegistry, onboarding
    from osp.platform.tenancy import actor as actors
    from osp.platform.tenancy.registry import default_root

    who = actors.current(offline=offline, region=spec.region) if actor else ""
    if offline:
        return _Target(project, spec, FileRegistry(default_root(spec.name)), who, cache=cache)
    outputs = _stack_outputs(project, spec)
    registry = onboarding.environment_registry(spec.name, outputs, region=spec.region)
    return _Target(project, spec, registry, who, outputs, cache=cache)


def _stack_outputs(project: Project, spec: EnvironmentSpec) -> Mapping[str, Output]:
    """The environment stack's outputs, through the automation layer `osp outputs` uses."""
    from osp.platform.automation import operations
    from osp.stacks.estate import build

    return operations.outputs(project, spec, build)


@contextmanager
def _engine_display(offline: bool) -> Iterator[Reporter | None]:
    """Where a real run shows a tenant stack's engine events: stderr, so that stdout keeps
    the command's result (and its --json) alone. Offline there are none (None)."""
    if offline:
        yield None
        return
    from osp.cli import progress

    with progress.reporter(as_json=False, console=output.stderr()) as display:
        yield display


def _set_running(
    verb: str,
    slug: str,
    env: str,
    reason: str,
    offline: bool,
    project_dir: Path | None,
    *,
    no_cache: bool,
) -> None:
    from osp.platform.tenancy import onboarding

    target = connect_environment(env, project_dir, offline, no_cache=no_cache)
    spec = target.spec
    onboarding.show(slug, environment=spec.name, registry=target.registry)  # unknown: first
    act: Callable[..., Tenant] = onboarding.suspend if verb == "suspend" else onboarding.resume
    with _engine_display(offline) as display:
        tenant = act(
            slug,
            reason,
            environment=spec.name,
            registry=target.registry,
            provisioner=target.provisioner(offline=offline, reporter=display),
            actor=target.actor,
            command_options=_repeated(offline),
        )
    output.stdout().print(f"Tenant {tenant.slug} is {tenant.state.value} in {spec.name}.")


def _repeated(offline: bool) -> tuple[str, ...]:
    """The options a printed resume command must repeat."""
    return ("--offline",) if offline else ()


def _confirm_create(spec: EnvironmentSpec, slug: str, *, yes: bool) -> None:
    from osp.platform.spec import Profile

    if yes or spec.profile is not Profile.PROD:
        return
    _require_answer(
        f"Onboard tenant {slug} onto {spec.name} (prod)? Type the slug ({slug}) to confirm: ",
        slug,
        f"onboard {slug} onto {spec.name}",
    )


def _confirm_delete(spec: EnvironmentSpec, slug: str, *, delete_data: bool, yes: bool) -> None:
    if yes:
        return
    data = " and its data" if delete_data else ""
    _require_answer(
        f"Delete tenant {slug}{data} from {spec.name}? Type the slug ({slug}) to confirm: ",
        slug,
        f"delete tenant {slug}",
    )


def _require_answer(prompt: str, expected: str, action: str) -> None:
    from osp.cli import progress
    from osp.platform.automation.confirmation import ConfirmationError, declined

    if not progress.interactive():
        raise ConfirmationError(
            f"refusing to {action} without confirmation: there is no terminal to ask on "
            "(stdin is not a TTY); pass --yes"
        )
    try:
        answer = output.stderr().input(prompt, markup=False)
    except EOFError:
        answer = ""
    if answer.strip() != expected:
        raise declined(action)


def _tenant_data(tenant: Tenant, spec: EnvironmentSpec) -> dict[str, Any]:
    from osp.platform.tenancy import tenant_urls, to_dict
    from osp.platform.tenancy.provisioning import tenant_stack_name

    return to_dict(tenant) | {
        "stack": tenant_stack_name(spec.name, tenant.slug),
        "urls": tenant_urls(tenant, spec.domain),
    }


def _render_create(outcome: CreateOutcome, spec: EnvironmentSpec, *, as_json: bool) -> None:
    from osp.platform.tenancy import CreateResult, tenant_urls

    tenant, provisioned = outcome.tenant, outcome.provisioned
    plan = provisioned.plan if provisioned is not None else None
    if as_json:
        data = {"result": outcome.result.value, "tenant": _tenant_data(tenant, spec)}
        if plan is not None:
            data["plan"] = json.loads(plan.dumps())
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    console = output.stdout()
    if plan is not None:
        _render_tenant_plan(console, plan, tenant)
    if outcome.result is CreateResult.PLANNED:
        console.print(f"Dry run: nothing was written. Tenant {tenant.slug} would answer at:")
    else:
        said = {
            CreateResult.CREATED: "is onboarded",
            CreateResult.RESUMED: "is onboarded (resumed)",
            CreateResult.UNCHANGED: "was already active: nothing to do",
        }[outcome.result]
        console.print(f"Tenant {tenant.slug} {said} in {spec.name}. Its URLs:")
    for url in tenant_urls(tenant, spec.domain):
        console.print(f"  {url}", soft_wrap=True)


def _render_tenant_plan(console: Any, plan: Plan, tenant: Tenant) -> None:
    """What the tier adds, resource by resource."""
    resources = [r for r in plan.resources if r.custom]
    console.print(f"[bold]{plan.stack}[/] (tier {tenant.tier.value}): {len(resources)} resources")
    for resource in sorted(resources, key=lambda r: (r.type, r.name)):
        console.print(f"  + {resource.name} [dim]{resource.type}[/]", soft_wrap=True)


def _render_tenant(tenant: Tenant, spec: EnvironmentSpec) -> None:
    from osp.platform.tenancy import tenant_urls

    console = output.stdout()
    console.print(f"[bold]{tenant.slug}[/] {tenant.name} ({spec.name})")
    rows = [
        ("state", tenant.describe_state()),
        ("tier", tenant.tier.value),
        ("admin email", tenant.admin_email),
        ("domain", tenant.domain or "-"),
        ("blueprint", tenant.blueprint_version or "-"),
        ("urls", ", ".join(tenant_urls(tenant, spec.domain))),
        ("version", str(tenant.version)),
    ]
    for label, value in rows:
        console.print(f"  {label + ':':<13}{value}", markup=False, soft_wrap=True)
    console.print("  history:")
    for t in tenant.history:
        move = f"{t.from_state.value} → " if t.from_state else ""
        console.print(
            f"    {t.at:%Y-%m-%d %H:%M:%S} {move}{t.to_state.value} by {t.actor}: {t.reason}",
            markup=False,
            soft_wrap=True,
        )
