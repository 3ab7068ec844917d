"""Rendering for people: a plan (a tree of components, counts by type, one summary line) and
the changes a real preview found."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from osp.cli.output import PROTECTED_STYLE, escape

if TYPE_CHECKING:
    from osp.platform.automation.changes import Change, ChangeSet
    from osp.platform.callouts import Callout
    from osp.platform.plan import Plan, PlannedResource
    from osp.platform.spec import EnvironmentSpec


def _label(resource: PlannedResource, plan: Plan) -> str:
    # Names and type tokens come from the program (and so from stack files and catalogues):
    # always escaped, so `[...]` in a name is text, never markup.
    flags = f" [{PROTECTED_STYLE}]protected[/]" if resource.options.protect else ""
    name, type_token = escape(resource.name), escape(resource.type)
    if resource.custom:
        return f"{name} [dim]{type_token}[/]{flags}"
    inside = sum(1 for r in plan.descendants(resource.urn) if r.custom)
    return f"[bold]{name}[/] [cyan]{type_token}[/] [dim]({inside} resources)[/]{flags}"


def _grow(tree: Tree, plan: Plan, urn: str) -> None:
    # Components first, then resources, each alphabetical, so the tree reads top-down.
    children = sorted(plan.children(urn), key=lambda r: (r.custom, r.name))
    for child in children:
        _grow(tree.add(_label(child, plan)), plan, child.urn)


def render_plan(console: Console, plan: Plan, spec: EnvironmentSpec) -> None:
    for root in plan.children(None):
        tree = Tree(f"[bold]{escape(root.name)}[/] [dim]{escape(root.type)}[/]")
        _grow(tree, plan, root.urn)
        console.print(tree)

    counts = Table(title="Resources by type", title_justify="left", show_edge=False)
    counts.add_column("type")
    counts.add_column("count", justify="right")
    for type_token, count in sorted(plan.type_counts().items()):
        counts.add_row(Text(type_token), str(count))
    console.print(counts)

    protected = sum(1 for r in plan.resources if r.options.protect)
    console.print(
        f"[bold]Plan:[/] {_count(plan.custom_count, 'resource')} in "
        f"{_count(plan.component_count, 'component')} "
        f"({protected} protected) for [bold]{escape(plan.environment)}[/] · {escape(spec.region)} "
        f"· profile {spec.profile.value} · blueprint {escape(plan.blueprint)} · {plan.engine} "
        "engine — "
        "nothing was created."
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


#: How each operation is marked in a list of changes: symbol, colour.
_OP_MARKS = {
    "create": ("+", "green"),
    "update": ("~", "yellow"),
    "replace": ("+-", "magenta"),
    "delete": ("-", "red"),
    "import": ("=", "cyan"),
}


def render_changes(
    console: Console, changes: ChangeSet, environment: str, *, diff: bool = False
) -> None:
    """The changes a preview found: one line per changed resource, stateful replacements and
    deletions in red, property diffs under each resource with `diff`, then the counts."""
    changed = changes.changed
    if changed:
        console.print(f"[bold]Changes to {escape(environment)}:[/]")
    for change in changed:
        symbol, colour = _OP_MARKS.get(change.op, ("?", "white"))
        if change.dangerous:
            colour = "bold red"
        notes = []
        if change.dangerous:
            notes.append("stateful: its data goes with it")
        if change.protected:
            notes.append("protected")
        if change.replace_keys:
            notes.append("replaced because of " + ", ".join(change.replace_keys))
        suffix = f" [dim]({escape('; '.join(notes))})[/]" if notes else ""
        console.print(
            f"  [{colour}]{symbol} {change.op:<7}[/] {escape(change.type)} "
            f"[{colour}]{escape(change.name)}[/]{suffix}",
            soft_wrap=True,
        )
        if diff:
            for line in _property_diffs(change):
                console.print(f"      {line}", soft_wrap=True, markup=False)
    dangerous = changes.dangerous
    if dangerous:
        console.print(
            f"[bold red]{_count(len(dangerous), 'stateful resource')} would be replaced or "
            "deleted, and the data in it with it.[/]"
        )
    console.print(f"[bold]Plan:[/] {changes.summary()} ({escape(environment)}).")


def render_callouts(console: Console, callouts: list[Callout]) -> None:
    """What a reviewer must not miss (osp.platform.callouts), one line each, after the
    changes: data loss in red, the widenings and protect removed in yellow."""
    from osp.platform.callouts import TITLES, Kind

    for callout in callouts:
        colour = "bold red" if callout.kind is Kind.DATA_LOSS else "yellow"
        console.print(
            f"[{colour}]{escape(TITLES[callout.kind])}:[/] {escape(callout.name)} "
            f"[dim]{escape(callout.type)}[/] {escape(callout.text.replace('`', ''))}",
            soft_wrap=True,
        )


def _property_diffs(change: Change) -> list[str]:
    from osp.platform.automation.changes import lookup

    paths = dict(change.detailed) or dict.fromkeys(change.diffs, "update")
    lines = []
    for path, kind in sorted(paths.items()):
        old = lookup(change.old_inputs, path)
        new = lookup(change.new_inputs, path)
        forces = " (forces replacement)" if kind.endswith("-replace") else ""
        if kind.startswith("add"):
            lines.append(f"+ {path}: {_value(new)}{forces}")
        elif kind.startswith("delete"):
            lines.append(f"- {path}: {_value(old)}{forces}")
        else:
            lines.append(f"~ {path}: {_value(old)} → {_value(new)}{forces}")
    return lines


def _value(value: object) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "…"
