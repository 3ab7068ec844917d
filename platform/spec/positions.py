"""Where each key of a YAML document sits, so a problem can name its line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

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
    """The YAML document in `text` and where its keys sit; a SpecError naming `source` and
    the line when `text` is not YAML."""
    try:
        return yaml.load(text, Loader=_Loader), positions(text)  # _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise SpecError(source, [f"{source}{line}: not valid YAML: {reason}"]) from None


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
