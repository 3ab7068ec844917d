"""Reading a blueprint's service catalogue (`blueprints/<name>/blueprint.yaml`).

The catalogue is package data of `osp.blueprints`, read through importlib.resources as the
presets are. Problems come out as the environment spec's do — every one at once, sorted by
line, each as `<file>:<line>: <key.path>: got X; expected Y` — in one SpecError.
"""

from __future__ import annotations

import os
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from osp.platform import blueprints
from osp.platform.catalogue.models import Catalogue
from osp.platform.errors import OspError, SpecError
from osp.platform.spec.positions import Positions, load_document
from osp.platform.spec.problems import (
    Problem,
    display_path,
    from_validation_error,
    got_expected,
)

#: The file of a blueprint folder that holds its catalogue.
CATALOGUE_FILE = "blueprint.yaml"


class UnknownBlueprintError(OspError):
    """A blueprint was named that osp does not ship."""


@cache
def load_catalogue(blueprint: str) -> Catalogue:
    """The validated catalogue of a bundled blueprint (read once per process).

    UnknownBlueprintError when osp ships no such blueprint; SpecError naming the file and
    listing every problem when its catalogue is invalid.
    """
    known = blueprints.available()
    if blueprint not in known:
        raise UnknownBlueprintError(
            f"unknown blueprint {blueprint!r}; expected one of: {', '.join(known)}"
        )
    resource = blueprints.root().joinpath(blueprint, CATALOGUE_FILE)
    return parse_catalogue(
        resource, source=f"blueprints/{blueprint}/{CATALOGUE_FILE}", blueprint=blueprint
    )


def parse_catalogue(
    path: str | os.PathLike[str] | Traversable,
    *,
    source: str | None = None,
    blueprint: str | None = None,
) -> Catalogue:
    """Validate the catalogue file at `path`; `source` is how messages name it (default: the
    path). `blueprint`, when given, is the folder name the catalogue's `name` must match."""
    resource = path if isinstance(path, Traversable) else Path(path)
    return parse_catalogue_text(
        resource.read_text(encoding="utf-8"),
        source=source if source is not None else str(path),
        blueprint=blueprint,
    )


def parse_catalogue_text(text: str, *, source: str, blueprint: str | None = None) -> Catalogue:
    """Validate the text of a catalogue; `source` is how messages name the file."""
    document, where = load_document(text, source)

    problems = [
        Problem(display_path(path), "key appears twice; expected each key once", line)
        for path, line in where.duplicates
    ]
    order: dict[Problem, tuple[str | int, ...]] = {}
    if not isinstance(document, dict):
        expected = "a mapping with name, description, transport and services"
        problems.append(
            Problem(
                "",
                f"got an empty document; expected {expected}"
                if document is None
                else got_expected(type(document).__name__, expected),
                1,
            )
        )
        raise SpecError(source, [p.render(source) for p in problems])
    name = document.get("name")
    if blueprint is not None and isinstance(name, str) and name != blueprint:
        problems.append(
            Problem(
                "name",
                got_expected(name, f"{blueprint!r}, the name of the blueprint's folder"),
                _line(where, ("name",)),
            )
        )

    catalogue: Catalogue | None = None
    try:
        catalogue = Catalogue.model_validate(document)
    except ValidationError as exc:
        for loc, message in from_validation_error(exc, Catalogue):
            loc = _yaml_path(loc)
            problem = Problem(display_path(loc), message, _line(where, loc))
            problems.append(problem)
            order.setdefault(problem, loc)
    if problems or catalogue is None:
        # By line, then (for problems on one line, as in a flow list) by their place in it.
        problems.sort(key=lambda p: (p.line or 0, _sortable(order.get(p, ()))))
        raise SpecError(source, [p.render(source) for p in problems])
    return catalogue


def _yaml_path(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """A pydantic location as a path into the document (a mapping key's own problem is
    reported at the key, not at pydantic's `[key]` marker)."""
    return tuple(part for part in loc if part != "[key]")


def _sortable(path: tuple[str | int, ...]) -> tuple[tuple[int, str | int], ...]:
    return tuple((0, part) if isinstance(part, int) else (1, part) for part in path)


def _line(where: Positions, path: tuple[str | int, ...]) -> int | None:
    """The line of `path`, or of its nearest ancestor in the file (a missing key's mapping)."""
    for end in range(len(path), 0, -1):
        line = where.line(path[:end])
        if line is not None:
            return line
    return None
