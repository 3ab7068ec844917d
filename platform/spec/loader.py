"""Reading an environment's stack config file into an `EnvironmentSpec`.

This is the one place YAML enters osp. The stack file is Pulumi's own
(`stacks/Pulumi.<env>.yaml`), so `pulumi` and osp read the same settings: keys under the
`osp:` namespace and `aws:region` make the spec; other namespaced keys (`aws:profile`,
`kubernetes:context`, …) are provider configuration that osp leaves to Pulumi.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from osp.platform import blueprints
from osp.platform.errors import SpecError
from osp.platform.project import Project
from osp.platform.spec.infrastructure import blueprint_defaults, layer
from osp.platform.spec.models import ENVIRONMENT_NAME, EnvironmentSpec, Profile
from osp.platform.spec.positions import Positions, load_document
from osp.platform.spec.problems import (
    Problem,
    display_path,
    from_validation_error,
    got_expected,
    unknown_key,
)

#: Top-level keys Pulumi itself writes into a stack file.
_STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
_SPEC_KEYS = tuple(
    info.alias for info in EnvironmentSpec.model_fields.values() if info.alias is not None
)


#: Keys every environment must state (its profile's preset cannot know them). osp:profile is
#: required too, of an environment not named after a profile.
REQUIRED_KEYS: tuple[tuple[str, str], ...] = (
    ("aws:region", "an AWS region such as eu-west-2"),
    ("osp:domain", "the DNS name the portals and the API live under, such as school.example.com"),
    (
        "osp:cluster.admin_role_arns",
        "a list of at least one IAM role ARN: the cluster grants its creator nothing, so "
        "without one nobody can administer it",
    ),
)


def load_environment(
    project: Project, environment: str, *, blueprint: str | None = None
) -> EnvironmentSpec:
    """The validated spec of `environment`, or SpecError listing every problem in its file.

    `blueprint` replaces the stack's blueprint for this one load (the --blueprint of an
    offline preview): UnknownBlueprintError naming --blueprint when the project has no such
    blueprint, before the stack file is read. Blueprints and presets come from the project's
    own `blueprints/` folder first, then osp's.
    """
    library = blueprints.library(project.root)
    if blueprint is not None:
        check_blueprint_argument(blueprint, library)
    path = project.require_environment(environment)
    return parse_stack_file(
        path.read_text(encoding="utf-8"),
        environment=environment,
        source=project.relative(path),
        blueprint=blueprint,
        library=library,
    )


def check_blueprint_argument(blueprint: str, library: blueprints.Library) -> None:
    """UnknownBlueprintError naming the --blueprint argument when `library` lacks it."""
    known = library.names()
    if blueprint not in known:
        raise blueprints.UnknownBlueprintError(
            f"--blueprint: {got_expected(blueprint, 'one of the blueprints available: ')}"
            f"{', '.join(known)}"
            + (
                ""
                if library.folder is None
                else " (the project's blueprints/ folder, then osp's own)"
            )
        )


def parse_stack_file(
    text: str,
    *,
    environment: str,
    source: str,
    blueprint: str | None = None,
    library: blueprints.Library | None = None,
) -> EnvironmentSpec:
    """Validate the text of a stack file; `source` is how messages name the file.

    `library` is where the blueprint and the profile's preset are looked up (default: osp's
    own). `blueprint` replaces the file's: UnknownBlueprintError naming --blueprint when
    `library` lacks it.
    """
    library = library or blueprints.Library()
    if blueprint is not None:
        check_blueprint_argument(blueprint, library)
    document, where = load_document(text, source)

    problems: list[Problem] = []
    for dup_path, line in where.duplicates:
        problems.append(
            Problem(
                display_path(dup_path[1:]) or str(dup_path[0]),
                "key appears twice; expected each key once",
                line,
            )
        )
    if not ENVIRONMENT_NAME.match(environment):
        problems.append(
            Problem(
                "",
                got_expected(
                    environment,
                    "an environment name of 1-16 lower-case letters, digits and hyphens, "
                    "starting with a letter (it becomes part of every resource name)",
                ),
            )
        )
    if document is None:
        problems.append(Problem("", _empty_file(environment)))
        raise SpecError(source, [p.render(source) for p in problems])

    config = _config_section(document, where, problems)
    if config is None:
        raise SpecError(source, [p.render(source) for p in problems])
    data, profile = _spec_input(config, environment, where, problems)
    if blueprint is not None:
        data["osp:blueprint"] = blueprint

    spec: EnvironmentSpec | None = None
    if profile is not None:
        defaults = preset_of(library, profile)
        network = data.get("osp:network")
        if isinstance(network, dict) and "availability_zones" in network:
            # Naming the zones is the stack's own answer to how many: the preset's zone
            # count does not apply, so it cannot contradict the list.
            preset_network = {
                k: v for k, v in defaults.get("osp:network", {}).items() if k != "zone_count"
            }
            defaults = {**defaults, "osp:network": preset_network}
        # The blueprint's own infrastructure lies between its profile's preset and the file.
        chosen = data.get("osp:blueprint", defaults.get("osp:blueprint", "osp"))
        if isinstance(chosen, str) and chosen in library.names():
            defaults = layer(defaults, blueprint_defaults(library, chosen, defaults))
        merged = layer(defaults, data)
        missing = _missing_keys(merged)
        try:
            spec = EnvironmentSpec.model_validate(
                {"name": environment, **merged},
                context={"blueprints": library.names()},
            )
        except ValidationError as exc:
            reported = {key for key, _ in missing}
            for loc, message in from_validation_error(exc, EnvironmentSpec):
                path = display_path(loc)
                if path not in reported:
                    problems.append(Problem(path, message, where.line(("config", *loc))))
    else:
        # No profile, no defaults to validate against; the keys no preset supplies are
        # missing all the same: say so now, not after the profile is fixed.
        missing = _missing_keys(data)
    problems += [
        Problem(key, f"required key is missing; expected {expected}", where.config_line(key))
        for key, expected in missing
    ]
    if problems or spec is None:
        problems.sort(key=lambda p: p.line or 0)
        raise SpecError(source, [p.render(source) for p in problems])
    spec._library = library
    return spec


def _empty_file(environment: str) -> str:
    keys = [key for key, _ in REQUIRED_KEYS]
    if environment not in {p.value for p in Profile}:
        keys.append("osp:profile")
    return (
        "the file is empty; expected a Pulumi stack file whose 'config:' section states at "
        f"least {', '.join(keys)}"
    )


def _missing_keys(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The REQUIRED_KEYS absent from the merged stack input `data`."""
    missing = []
    for key, expected in REQUIRED_KEYS:
        head, _, rest = key.partition(".")
        value = data.get(head)
        if rest:
            value = value.get(rest) if isinstance(value, Mapping) else None
        if value is None:
            missing.append((key, expected))
    return missing


def preset_of(library: blueprints.Library, profile: str) -> dict[str, Any]:
    """The defaults of `profile`: the project's own preset when `library` has one."""
    found = library.preset_file(profile)
    return blueprints.preset(profile) if found.bundled else blueprints.parse_preset(found)


def _config_section(
    document: Any, where: Positions, problems: list[Problem]
) -> dict[str, Any] | None:
    """The `config:` mapping, or None when the document has no usable one."""
    if document is None:
        return {}
    if not isinstance(document, dict):
        problems.append(
            Problem(
                "",
                got_expected(
                    type(document).__name__,
                    "a mapping with a 'config:' section (a Pulumi stack file)",
                ),
                1,
            )
        )
        return None
    for key in document:
        if key not in _STACK_FILE_KEYS:
            problems.append(
                Problem(str(key), unknown_key(str(key), _STACK_FILE_KEYS), where.line((key,)))
            )
    config = document.get("config") or {}
    if not isinstance(config, dict):
        problems.append(
            Problem(
                "config",
                got_expected(config, "a mapping of keys to values"),
                where.line(("config",)),
            )
        )
        return None
    return config


def _spec_input(
    config: Mapping[str, Any], environment: str, where: Positions, problems: list[Problem]
) -> tuple[dict[str, Any], str | None]:
    """The keys the spec owns, and the profile whose preset applies."""
    data: dict[str, Any] = {}
    for key, value in config.items():
        key = str(key)
        namespace, sep, _ = key.partition(":")
        if key in _SPEC_KEYS:
            data[key] = value
        elif not sep:
            problems.append(
                Problem(
                    key,
                    unknown_key(key, _SPEC_KEYS)
                    + (
                        ""
                        if f"osp:{key}" not in _SPEC_KEYS
                        else " (stack config keys carry a namespace)"
                    ),
                    where.line(("config", key)),
                )
            )
        elif namespace == "osp":
            problems.append(
                Problem(
                    key,
                    unknown_key(key, [k for k in _SPEC_KEYS if k.startswith("osp:")]),
                    where.line(("config", key)),
                )
            )
        # Keys of other namespaces configure Pulumi providers; they are not osp's to judge.

    profiles = [p.value for p in Profile]
    stated = data.get("osp:profile")
    if stated is None:
        if environment in profiles:
            data["osp:profile"] = environment
            return data, environment
        problems.append(
            Problem(
                "osp:profile",
                (
                    f"required for environment {environment!r}: "
                    f"expected one of {', '.join(profiles)} "
                    "(only environments named after a profile may leave it out)"
                ),
            )
        )
        return data, None
    if stated not in profiles:
        problems.append(
            Problem(
                "osp:profile",
                got_expected(stated, f"one of {', '.join(repr(p) for p in profiles)}"),
                where.line(("config", "osp:profile")),
            )
        )
        return data, None
    if environment in profiles and stated != environment:
        # `prod` with dev's defaults is a prod without protection: a name is a promise.
        problems.append(
            Problem(
                "osp:profile",
                got_expected(
                    stated,
                    f"{environment!r} or no osp:profile: an environment named after a profile "
                    f"takes that profile (name the environment otherwise, such as "
                    f"{environment}-{stated}, to give it the {stated} defaults)",
                ),
                where.line(("config", "osp:profile")),
            )
        )
        return data, None
    return data, stated


def provider_config(project: Project, environment: str) -> dict[str, str]:
    """The provider configuration of `environment`'s stack file (every key outside `osp:`),
    as the plain strings `pulumi config set` takes: what the environment's other stacks (its
    tenants') need to reach the same account and region. Structured values become JSON.

    A secret (`secure:`) value is encrypted for the environment's stack alone and cannot be
    copied: SpecError naming the key.
    """
    path = project.require_environment(environment)
    source = project.relative(path)
    document, where = load_document(path.read_text(encoding="utf-8"), source)
    problems: list[Problem] = []
    config = _config_section(document, where, problems)
    found: dict[str, str] = {}
    for key, value in (config or {}).items():
        key = str(key)
        if key.startswith("osp:"):
            continue
        if isinstance(value, dict) and set(value) == {"secure"}:
            problems.append(
                Problem(
                    key,
                    "is a secret, which cannot be copied into the environment's tenant stacks; "
                    "expected a plain value (give the provider its secret through the "
                    "environment instead, such as AWS_PROFILE or AWS_SECRET_ACCESS_KEY)",
                    where.line(("config", key)),
                )
            )
            continue
        found[key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if problems:
        raise SpecError(source, [p.render(source) for p in problems])
    return found
