"""Where each key of a YAML document sits, so a problem can name its line."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from typing import Any, NoReturn

import yaml

from osp.platform import limits
from osp.platform.errors import SpecError

Path = tuple[str | int, ...]


@dataclass
class Positions:
    """Line numbers (1-based) of the keys and items of one YAML document, by path."""

    lines: dict[Path, int] = field(default_factory=dict)
    duplicates: list[tuple[Path, int]] = field(default_factory=list)

    def line(self, path: Path) -> int | None:
        """The line of `path`, or None when the document does not have it."""
        return self.lines.get(path)

    def config_line(self, key: str) -> int | None:
        """The line of a stack file's `key` under `config:` (`osp:cluster.admin_role_arns`),
        or of the stack key it belongs in; None when the file has neither."""
        path: tuple[str, ...] = ("config", *key.split("."))
        for end in range(len(path), 1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, but a scalar that looks like a date and is not one (2027-13-01)
    is a YAML error at its line, not a bare ValueError from the date constructor."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a date: {exc}", node.start_mark
            ) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def load_document(text: str, source: str) -> tuple[Any, Positions]:
    """The YAML document in `text` and where its keys sit; a SpecError naming `source` (and
    the line) when `text` is not YAML, or is larger, deeper or expands to more nodes than any
    osp file needs (osp.platform.limits): such a file is refused before it is parsed.

    The document is the caller's own to change; the positions are shared, read-only."""
    document, found = _parsed(text, source)
    return copy.deepcopy(document), found


# One command reads the same few files several times (a blueprint is read for its
# infrastructure defaults once per environment, then for its catalogue and its warnings), and
# PyYAML in pure Python is most of a cached preview's time: each text is parsed once per
# process. Keyed by the text itself, so a changed file is parsed afresh; a refused one raises
# every time.
@functools.lru_cache(maxsize=32)
def _parsed(text: str, source: str) -> tuple[Any, Positions]:
    try:
        _check_shape(text, source)
        loader = _Loader(text)  # a SafeLoader
        try:
            root = loader.get_single_node()
            document = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise SpecError(source, [f"{source}{line}: not valid YAML: {reason}"]) from None
    found = Positions()
    if root is not None:
        _walk(root, (), found)
    return document, found


def _check_shape(text: str, source: str) -> None:
    """Refuse a document too large, too deep, or whose aliases expand to too many nodes.

    Reads the parser's events, which cost memory in proportion to the text, and counts the
    nodes each anchor stands for: the walk that follows (and any consumer of the data) would
    expand every alias, and a few hundred bytes of nested aliases expand to a billion nodes.
    """
    size = len(text.encode("utf-8"))
    if size > limits.YAML_MAX_BYTES:
        _refuse(
            source,
            None,
            f"the file is {size:,} bytes; expected at most {limits.YAML_MAX_BYTES:,} "
            "(osp's own files are a few KiB)",
        )
    anchored: dict[str, int] = {}
    open_nodes: list[list[Any]] = []  # [nodes so far, anchor] of each unclosed collection
    expanded = 0

    def add(nodes: int, mark: yaml.Mark) -> None:
        nonlocal expanded
        expanded += nodes
        if expanded > limits.YAML_MAX_NODES:
            _refuse(
                source,
                mark.line + 1,
                f"the document expands to more than {limits.YAML_MAX_NODES:,} values "
                "(nested aliases repeat what they name); expected a document that states "
                "its values, with few aliases",
            )
        if open_nodes:
            open_nodes[-1][0] += nodes

    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            if len(open_nodes) >= limits.YAML_MAX_DEPTH:
                _refuse(
                    source,
                    event.start_mark.line + 1,
                    f"mappings and lists are nested more than {limits.YAML_MAX_DEPTH} deep; "
                    f"expected at most {limits.YAML_MAX_DEPTH} levels",
                )
            add(1, event.start_mark)
            open_nodes.append([1, event.anchor])
        elif isinstance(event, yaml.CollectionEndEvent):
            nodes, anchor = open_nodes.pop()
            if anchor is not None:
                anchored[anchor] = nodes
        elif isinstance(event, yaml.ScalarEvent):
            add(1, event.start_mark)
            if event.anchor is not None:
                anchored[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            if any(anchor == event.anchor for _, anchor in open_nodes):
                _refuse(
                    source,
                    event.start_mark.line + 1,
                    f"alias *{event.anchor} lies inside the value it names, which would "
                    "repeat without end; expected aliases of finished values only",
                )
            # An undefined alias counts as one value here; the composer reports it.
            add(anchored.get(event.anchor, 1), event.start_mark)


def _refuse(source: str, line: int | None, reason: str) -> NoReturn:
    where = f"{source}:{line}" if line else source
    raise SpecError(source, [f"{where}: refused: {reason}"])


def positions(text: str) -> Positions:
    """Map every key path of `text` to its line. `text` must already parse as YAML."""
    found = Positions()
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        _walk(root, (), found)
    return found


def _walk(node: yaml.Node, path: Path, found: Positions) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            line = key_node.start_mark.line + 1
            if key in seen:
                found.duplicates.append((child, line))
            seen.add(key)
            found.lines[child] = line
            _walk(value_node, child, found)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            found.lines[child] = item.start_mark.line + 1
            _walk(item, child, found)
