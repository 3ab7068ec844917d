"""The blueprints shipped in `osp.blueprints`: one folder each, holding blueprint.yaml."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

import yaml

_PACKAGE = "osp.blueprints"
#: Folders of osp.blueprints that hold shared data rather than a blueprint.
_NOT_BLUEPRINTS = frozenset({"presets"})


def root() -> Traversable:
    return files(_PACKAGE)


@cache
def available() -> tuple[str, ...]:
    """Names of the blueprints osp ships, sorted."""
    return tuple(
        sorted(
            entry.name
            for entry in root().iterdir()
            if entry.is_dir()
            and entry.name not in _NOT_BLUEPRINTS
            and entry.joinpath("blueprint.yaml").is_file()
        )
    )


@cache
def preset(profile: str) -> dict:
    """The environment preset of a profile: stack config defaults, keyed as in a stack file."""
    data = yaml.safe_load(root().joinpath("presets", f"{profile}.yaml").read_text("utf-8"))
    return data or {}
