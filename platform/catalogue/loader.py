"""Reading a blueprint's service catalogue (`blueprints/<name>/blueprint.yaml`).

A catalogue comes from the project's own `blueprints/` folder, else from osp's bundled ones
(osp.platform.blueprints finds it). Problems come out as the environment spec's do — every
one at once, sorted by line, each as `<file>:<line>: <key.path>: got X; expected Y` — in one
SpecError.
"""

from __future__ import annotations

import os
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from osp.platform import blueprints
from osp.platform.blueprints import UnknownBlueprintError as UnknownBlueprintError
from osp.platform.catalogue.models import Catalogue
from osp.platform.errors import SpecError
from osp.platform.spec.positions import Positions, load_document
from osp.platform.spec.problems import (
    Problem,
    SpecWarning,
    display_path,
    from_validation_error,
    got_expected,
)

#: The file of a blueprint folder that holds its catalogue.
CATALOGUE_FILE = blueprints.CATALOGUE_FILE


def load_catalogue(blueprint: str, library: blueprints.Library | None = None) -> Catalogue:
    """The validated catalogue of `blueprint`, from `library` (default: osp's own blueprints;
    an environment's is `spec.library`, its project's blueprints first). Read once per
    process while the file is unchanged.

    UnknownBlueprintError when neither the project nor osp has such a blueprint; SpecError
    naming the file and listing every problem when its catalogue is invalid.
    """
    return _load(blueprint, library or blueprints.Library())[0]


def catalogue_warnings(
    blueprint: str, library: blueprints.Library | None = None
) -> list[SpecWarning]:
    """What is accepted in `blueprint`'s catalogue but is probably a mistake: today, events
    that no service consumes."""
    return list(_load(blueprint, library or blueprints.Library())[1])


def _load(blueprint: str, library: blueprints.Library) -> tuple[Catalogue, tuple[SpecWarning, ...]]:
    found = library.catalogue_file(blueprint)
    if found is None:
        raise UnknownBlueprintError(
            f"unknown blueprint {blueprint!r}; expected one of: {', '.join(library.names())}"
        )
    # A project's own file may change between two loads of one process (a test, an editor):
    # its size and time are part of what the cache remembers.
    stamp = (0, 0) if found.bundled else _stamp(found.file)
    return _parsed(found.file, found.source, blueprint, stamp)


def _stamp(file: Any) -> tuple[int, int]:
    stat = Path(file).stat()
    return stat.st_mtime_ns, stat.st_size


@cache
def _parsed(
    file: Traversable, source: str, blueprint: str, _stamp: tuple[int, int]
) -> tuple[Catalogue, tuple[SpecWarning, ...]]:
    text = file.read_text(encoding="utf-8")
    catalogue = parse_catalogue_text(text, source=source, blueprint=blueprint)
    _, where = load_document(text, source)
    return catalogue, tuple(_unconsumed_events(catalogue, where, source))


def _unconsumed_events(catalogue: Catalogue, where: Positions, source: str) -> list[SpecWarning]:
    warnings = []
    for event in catalogue.events.values():
        if event.consumers:
            continue
        publishes = catalogue.service(event.publisher).uses.publishes
        path = ("services", event.publisher, "uses", "publishes", publishes.index(event.name))
        warning = SpecWarning(
            source,
            display_path(path),
            f"event {event.name!r} is published by {event.publisher} and consumed by no "
            f"service; expected a consumer stating '{event.name} from {event.publisher}' "
            "(a consumer's misspelt event, or an event nobody needs)",
            _line(where, path),
        )
        warnings.append(warning)
    return warnings


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
