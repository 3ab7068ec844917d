"""Rendering a plan for people: a tree of components, counts by type, one summary line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

if TYPE_CHECKING:
    from osp.platform.plan import Plan, PlannedResource
    from osp.platform.spec import EnvironmentSpec


def _label(resource: PlannedResource, plan: Plan) -> str:
    flags = " [red]protected[/]" if resource.options.protect else ""
    if resource.custom:
        return f"{resource.name} [dim]{resource.type}[/]{flags}"
    inside = sum(1 for r in plan.descendants(resource.urn) if r.custom)
    return f"[bold]{resource.name}[/] [cyan]{resource.type}[/] [dim]({inside} resources)[/]{flags}"


def _grow(tree: Tree, plan: Plan, urn: str) -> None:
    # Components first, then resources, each alphabetical, so the tree reads top-down.
    children = sorted(plan.children(urn), key=lambda r: (r.custom, r.name))
    for child in children:
        _grow(tree.add(_label(child, plan)), plan, child.urn)


def render_plan(console: Console, plan: Plan, spec: EnvironmentSpec) -> None:
    for root in plan.children(None):
        tree = Tree(f"[bold]{root.name}[/] [dim]{root.type}[/]")
        _grow(tree, plan, root.urn)
        console.print(tree)

    counts = Table(title="Resources by type", title_justify="left", show_edge=False)
    counts.add_column("type")
    counts.add_column("count", justify="right")
    for type_token, count in sorted(plan.type_counts().items()):
        counts.add_row(type_token, str(count))
    console.print(counts)

    protected = sum(1 for r in plan.resources if r.options.protect)
    console.print(
        f"[bold]Plan:[/] {_count(plan.custom_count, 'resource')} in "
        f"{_count(plan.component_count, 'component')} "
        f"({protected} protected) for [bold]{plan.environment}[/] · {spec.region} · "
        f"profile {spec.profile.value} · blueprint {plan.blueprint} · {plan.engine} engine — "
        "nothing was created."
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
