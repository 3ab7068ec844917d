"""Where blueprints come from: a project's own `blueprints/` folder first, then those osp
ships in `osp.blueprints`.

Both have one layout: `<name>/blueprint.yaml` per blueprint (its service catalogue) and
`presets/<profile>.yaml` per environment profile. A project that keeps its own (or an
edited) blueprint or preset is planned with it; what it does not hold comes from osp.

    library = blueprints.library(project.root)
    library.names()                        # ('learning-hub', 'my-school', 'osp')
    library.catalogue_file("osp").source   # 'blueprints/osp/blueprint.yaml'
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from osp.platform.errors import OspError, SpecError

_PACKAGE = "osp.blueprints"
#: A project's folder of blueprints, beside its Pulumi.yaml: the layout of osp.blueprints.
PROJECT_FOLDER = "blueprints"
#: The file of a blueprint folder that holds its catalogue.
CATALOGUE_FILE = "blueprint.yaml"
PRESETS_FOLDER = "presets"
#: Folders of osp.blueprints that hold shared data rather than a blueprint.
_NOT_BLUEPRINTS = frozenset({PRESETS_FOLDER})


def root() -> Traversable:
    """osp's bundled blueprints."""
    return files(_PACKAGE)


@dataclass(frozen=True)
class BlueprintFile:
    """One file of a blueprint or preset, and where it was found."""

    file: Traversable
    #: How messages name it: its path from the project root (`blueprints/osp/blueprint.yaml`),
    #: or, for a bundled file, that same path inside osp.
    source: str
    #: True when the file is osp's own rather than the project's.
    bundled: bool

    def describe(self) -> str:
        """The file as `osp envs` shows it: bundled files are marked so."""
        return f"{self.source} (bundled)" if self.bundled else self.source

    def read_text(self) -> str:
        return self.file.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Library:
    """The blueprints one project sees: its own `blueprints/` folder (`folder`, None when it
    has none) searched before osp's bundled ones."""

    folder: Path | None = None

    def _roots(self) -> tuple[tuple[Traversable, bool], ...]:
        bundled = (root(), True)
        return ((self.folder, False), bundled) if self.folder is not None else (bundled,)

    def _find(self, *parts: str) -> BlueprintFile | None:
        for base, bundled in self._roots():
            candidate = base.joinpath(*parts)
            if candidate.is_file():
                return BlueprintFile(candidate, "/".join((PROJECT_FOLDER, *parts)), bundled)
        return None

    def names(self) -> tuple[str, ...]:
        """Names of every blueprint this project can deploy (its own and osp's), sorted."""
        return tuple(sorted({name for base, _ in self._roots() for name in _blueprints_in(base)}))

    def catalogue_file(self, blueprint: str) -> BlueprintFile | None:
        """The catalogue of `blueprint`, the project's own first; None when neither has it."""
        if blueprint in _NOT_BLUEPRINTS or "/" in blueprint or blueprint.startswith("."):
            return None
        return self._find(blueprint, CATALOGUE_FILE)

    def preset_file(self, profile: str) -> BlueprintFile:
        """The preset of `profile`, the project's own first (osp ships one per profile)."""
        found = self._find(PRESETS_FOLDER, f"{profile}.yaml")
        if found is None:
            raise LookupError(f"osp ships no preset {profile!r}")
        return found


def library(project_root: Path | None) -> Library:
    """The blueprints a project at `project_root` sees (None: osp's bundled ones only)."""
    if project_root is None:
        return Library()
    folder = Path(project_root) / PROJECT_FOLDER
    return Library(folder.resolve() if folder.is_dir() else None)


class UnknownBlueprintError(OspError):
    """A blueprint was named that neither the project nor osp holds."""


def _blueprints_in(base: Traversable) -> tuple[str, ...]:
    if not base.is_dir():
        return ()
    return tuple(
        entry.name
        for entry in base.iterdir()
        if entry.is_dir()
        and entry.name not in _NOT_BLUEPRINTS
        and entry.joinpath(CATALOGUE_FILE).is_file()
    )


@cache
def available() -> tuple[str, ...]:
    """Names of the blueprints osp ships, sorted."""
    return Library().names()


@cache
def preset(profile: str) -> dict:
    """The bundled environment preset of a profile: stack config defaults, keyed as in a
    stack file."""
    return parse_preset(Library().preset_file(profile))


def parse_preset(found: BlueprintFile) -> dict:
    """A preset's defaults (a project's own preset is refused as a stack file would be)."""
    # Imported here: osp.platform.spec imports this module.
    from osp.platform.spec.positions import load_document

    data, _ = load_document(found.read_text(), found.source)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(
            found.source,
            [f"{found.source}: got {type(data).__name__}; expected a mapping of stack keys"],
        )
    return data
