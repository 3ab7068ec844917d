"""A blueprint's own infrastructure defaults: the `infrastructure:` section of its
`blueprint.yaml`.

A design document names some of its infrastructure (seed 003: PostgreSQL 15 on 100 GiB of gp3,
a Redis cluster of cache.t3.medium nodes, t3.medium and m5.large workers); the profile's preset
cannot know it, and every stack file deploying the blueprint should not have to repeat it. The
section holds stack-file keys, layered between the two:

    profile preset  <  blueprint `infrastructure:`  <  stack file

mappings merging key by key, as a stack file merges onto its preset. Two kinds of key stay out
of it: a preset's protective stances (Multi-AZ, backups, replicas, spot …: the profile's
promise, `PROTECTIVE_STANCES`) and what only an environment can know (who administers and
reaches its cluster). Each section is validated here, merged with the preset, so a problem
names the blueprint file and its line rather than the stack file that never said it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from osp.platform import blueprints
from osp.platform.errors import SpecError
from osp.platform.spec.models import EnvironmentSpec
from osp.platform.spec.positions import Positions, load_document
from osp.platform.spec.problems import (
    Problem,
    display_path,
    from_validation_error,
    got_expected,
    unknown_key,
)

#: The blueprint file's key that holds the section.
SECTION = "infrastructure"

#: The stack-file keys a blueprint may give defaults for: the shape of its data stores and
#: nodes.
KEYS = ("osp:broker", "osp:cache", "osp:cluster", "osp:database", "osp:kafka")

#: Keys an environment alone states: its administrators and who reaches its API.
ENVIRONMENT_ONLY = (
    "osp:cluster.admin_role_arns",
    "osp:cluster.api_access",
    "osp:cluster.api_allowed_cidrs",
)


def blueprint_defaults(
    library: blueprints.Library, blueprint: str, preset: Mapping[str, Any]
) -> dict[str, Any]:
    """The validated `infrastructure:` section of `blueprint` (empty when it has none, or when
    `library` has no such blueprint: the spec reports the unknown name). SpecError naming
    the blueprint file, each line and key, when the section is invalid."""
    found = library.catalogue_file(blueprint)
    if found is None:
        return {}
    document, where = load_document(found.read_text(), found.source)
    section = document.get(SECTION) if isinstance(document, Mapping) else None
    if section is None:
        return {}
    problems = section_problems(section, preset, where)
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise SpecError(found.source, [p.render(found.source) for p in problems])
    return dict(section)


def section_problems(section: Any, preset: Mapping[str, Any], where: Positions) -> list[Problem]:
    """Everything wrong with an `infrastructure:` section, each at its path in the file."""
    if not isinstance(section, Mapping):
        return [
            Problem(
                SECTION,
                got_expected(section, f"a mapping of stack-file keys: {', '.join(KEYS)}"),
                where.line((SECTION,)),
            )
        ]
    # Imported here: warnings reads environments through the loader, which imports this.
    from osp.platform.spec.warnings import PROTECTIVE_STANCES

    refusals = [
        (key, "a protective stance of the profile: its preset states it, a stack file may "
         "override it")
        for key, _ in PROTECTIVE_STANCES
    ] + [
        (key, "the environment's own (its stack file states it): a blueprint cannot know it")
        for key in ENVIRONMENT_ONLY
    ]  # fmt: skip
    problems: list[Problem] = []
    refused_sections = set()
    for key, why in refusals:
        if _states(section, key):
            path = (SECTION, *key.split("."))
            problems.append(
                Problem(
                    display_path(path), f"not a blueprint's to state; {why}", _line(where, path)
                )
            )
            refused_sections.add(key.split(".")[0])
    for key, value in section.items():
        path: tuple[str | int, ...] = (SECTION, str(key))
        if key not in KEYS:
            problems.append(
                Problem(display_path(path), unknown_key(str(key), KEYS), _line(where, path))
            )
        elif not isinstance(value, Mapping):
            problems.append(
                Problem(display_path(path), got_expected(value, "a mapping"), _line(where, path))
            )
        elif key not in refused_sections:
            problems += _model_problems(key, layer(preset.get(key) or {}, value), where)
    return problems


def _model_problems(key: str, merged: Mapping[str, Any], where: Positions) -> list[Problem]:
    model = _section_model(key)
    try:
        model.model_validate(merged)
    except ValidationError as exc:
        out = []
        for loc, message in from_validation_error(exc, model):
            # A cross-field problem comes with its stack-file key in front; others without.
            path = (SECTION, *loc) if loc and loc[0] == key else (SECTION, key, *loc)
            out.append(Problem(display_path(path), message, _line(where, path)))
        return out
    return []


def _section_model(key: str) -> type[BaseModel]:
    (field,) = [f for f in EnvironmentSpec.model_fields.values() if f.alias == key]
    assert isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    return field.annotation


def _states(section: Mapping[str, Any], key: str) -> bool:
    """Whether `section` holds the stack-file key `key` (`osp:cache.replicas`)."""
    head, *rest = key.split(".")
    if head not in section:
        return False
    value: Any = section[head]
    for part in rest:
        if not isinstance(value, Mapping) or part not in value:
            return False
        value = value[part]
    return True


def layer(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` on top of `base`: mappings merge key by key, anything else replaces. How a
    blueprint's section lies on its preset, and a stack file on both."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = layer(merged[key], value)
        else:
            merged[key] = value
    return merged


def _line(where: Positions, path: tuple[str | int, ...]) -> int | None:
    for end in range(len(path), 0, -1):
        line = where.line(path[:end])
        if line is not None:
            return line
    return None
