"""Dependencies point one way: cli → stacks → app → components → platform.

Every module of every layer is parsed (imports inside functions included): a layer imports
only itself and the layers after it in that chain (cli may import all of them; platform only
platform), never another layer's private module (a path segment starting with `_`, such as
`osp.components._checks`), and never a layer folder by its bare name (`import components`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import REPO

#: The layers, top first: each may import those after it, and itself.
LAYERS = ("cli", "stacks", "app", "components", "platform")
CHAIN = " → ".join(LAYERS)
#: osp's data package (blueprints/): no code, read through importlib.resources by any layer.
DATA = "blueprints"
#: What `platform.X` can name in the repository's own platform/ folder (as opposed to the
#: standard library's `platform` module, which is fine to import).
PLATFORM_MODULES = frozenset(
    path.stem
    for path in (REPO / "platform").iterdir()
    if path.suffix == ".py" or (path / "__init__.py").is_file()
)


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    statement: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.statement}: {self.why}"


def module_name(relative: Path) -> str:
    """`platform/spec/models.py` → `osp.platform.spec.models`; a package is its __init__."""
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["osp", *parts])


def _resolve(module: str | None, level: int, importer: str, is_package: bool) -> str:
    """The absolute module a `from … import` names (relative imports resolved)."""
    if level == 0:
        return module or ""
    package = importer.split(".") if is_package else importer.split(".")[:-1]
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, module] if module else base)


def imported_paths(
    tree: ast.AST, importer: str, is_package: bool
) -> Iterator[tuple[ast.stmt | ast.expr, str]]:
    """(node, dotted path) for each thing `tree` imports, wherever the import statement is.

    `import a.b` gives `a.b`; `from a.b import c` gives `a.b.c` (c may be a module or a name
    in a.b: a private name is as private as a private module); `import_module("a.b")` with a
    literal name gives `a.b`.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module, node.level, importer, is_package)
            for alias in node.names:
                yield node, base if alias.name == "*" else f"{base}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and (
                (
                    isinstance(node.func, ast.Name)
                    and node.func.id in ("import_module", "__import__")
                )
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node, node.args[0].value


def _private(segment: str) -> bool:
    return segment.startswith("_") and not (segment.startswith("__") and segment.endswith("__"))


def problem(layer: str, path: str) -> str | None:
    """Why a module of `layer` may not import `path`, or None when it may."""
    segments = path.split(".")
    head = segments[0]
    if head == "platform":  # the standard library's, unless it names a module of platform/
        bare = len(segments) > 1 and segments[1] in PLATFORM_MODULES
    else:
        bare = head in LAYERS
    if bare:
        return f"the layer folder {head}/ imported by its bare name; import osp.{path}"
    if head != "osp" or len(segments) < 2 or segments[1] == DATA:
        return None
    target = segments[1]
    if target not in LAYERS:
        return f"osp.{target} is not a layer of osp ({CHAIN})"
    if LAYERS.index(target) < LAYERS.index(layer):
        below = ", ".join(LAYERS[LAYERS.index(layer) + 1 :]) or "nothing else"
        return f"{layer} imports {target}, against {CHAIN} ({layer} may import {below})"
    if target != layer and any(_private(s) for s in segments[2:]):
        return f"a private part of {target}, imported from {layer}"
    return None


def violations(source: str, relative: Path) -> list[Violation]:
    """Every import in `source` (the module at `relative`, e.g. `app/identity.py`) against
    the layering."""
    layer = relative.parts[0]
    tree = ast.parse(source, filename=str(relative))
    found = []
    for node, path in imported_paths(tree, module_name(relative), relative.stem == "__init__"):
        why = problem(layer, path)
        if why is not None:
            found.append(Violation(relative.as_posix(), node.lineno, ast.unparse(node), why))
    return sorted(set(found), key=lambda v: (v.path, v.line, v.why))


def modules() -> list[Path]:
    """Every Python module of the layers, relative to the repository."""
    return sorted(
        path.relative_to(REPO) for layer in LAYERS for path in (REPO / layer).rglob("*.py")
    )


# --- the repository ---------------------------------------------------------------------


def test_every_layer_has_modules_to_check():
    checked = modules()
    for layer in LAYERS:
        assert any(path.parts[0] == layer for path in checked), layer
    assert Path("platform/engine/offline.py") in checked
    assert Path("stacks/__main__.py") in checked


def test_dependencies_point_one_way():
    found = [
        str(v)
        for path in modules()
        for v in violations((REPO / path).read_text(encoding="utf-8"), path)
    ]
    assert found == [], "imports against the layering:\n" + "\n".join(found)


# --- the checker itself -----------------------------------------------------------------


def check(source: str, path: str) -> list[str]:
    return [str(v) for v in violations(source, Path(path))]


def test_an_import_inside_a_function_is_found_with_its_line():
    source = (
        "def run(spec, program=None):\n"
        "    if program is None:\n"
        "        from osp.stacks.estate import build as program\n"
    )
    assert check(source, "platform/engine/offline.py") == [
        "platform/engine/offline.py:3: from osp.stacks.estate import build as program: "
        "platform imports stacks, against cli → stacks → app → components → platform "
        "(platform may import nothing else)"
    ]


@pytest.mark.parametrize(
    ("layer", "allowed", "refused"),
    [
        ("platform", [], ["components", "app", "stacks", "cli"]),
        ("components", ["platform"], ["app", "stacks", "cli"]),
        ("app", ["components", "platform"], ["stacks", "cli"]),
        ("stacks", ["app", "components", "platform"], ["cli"]),
        ("cli", ["stacks", "app", "components", "platform"], []),
    ],
)
def test_each_layer_imports_only_itself_and_the_layers_below(layer, allowed, refused):
    path = f"{layer}/module.py"
    for target in [layer, *allowed]:
        assert check(f"import osp.{target}.x\nfrom osp.{target} import y\n", path) == []
    for target in refused:
        (plain, from_import) = check(f"import osp.{target}.x\nfrom osp.{target} import y\n", path)
        assert plain.startswith(f"{path}:1: import osp.{target}.x: {layer} imports {target}, ")
        assert from_import.startswith(f"{path}:2: from osp.{target} import y: {layer} imports")


def test_a_private_module_or_name_of_another_layer_is_refused():
    source = (
        "from osp.components import _checks\n"
        "import osp.components._checks as checks\n"
        "from osp.components._checks import common\n"
        "from osp.platform.engine.offline import _RUN_LOCK\n"
    )
    assert check(source, "app/identity.py") == [
        "app/identity.py:1: from osp.components import _checks: a private part of components, "
        "imported from app",
        "app/identity.py:2: import osp.components._checks as checks: a private part of "
        "components, imported from app",
        "app/identity.py:3: from osp.components._checks import common: a private part of "
        "components, imported from app",
        "app/identity.py:4: from osp.platform.engine.offline import _RUN_LOCK: a private part "
        "of platform, imported from app",
    ]


def test_a_layer_uses_its_own_private_modules_and_anyones_dunders():
    source = "from osp.components import _checks, _windows\nimport osp.stacks.__main__\n"
    assert check(source, "components/cache.py") == [
        "components/cache.py:2: import osp.stacks.__main__: components imports stacks, against "
        "cli → stacks → app → components → platform (components may import platform)"
    ]
    assert check(source.splitlines()[0], "components/cache.py") == []
    assert check("import osp.stacks.__main__\n", "cli/main.py") == []


def test_bare_layer_folders_are_refused_and_the_standard_librarys_platform_is_not():
    source = (
        "import components\n"
        "from app.identity import ServiceIdentity\n"
        "import platform.spec\n"
        "from platform import naming\n"
        "import platform\n"
        "from platform import python_version\n"
    )
    assert check(source, "stacks/estate.py") == [
        "stacks/estate.py:1: import components: the layer folder components/ imported by its "
        "bare name; import osp.components",
        "stacks/estate.py:2: from app.identity import ServiceIdentity: the layer folder app/ "
        "imported by its bare name; import osp.app.identity.ServiceIdentity",
        "stacks/estate.py:3: import platform.spec: the layer folder platform/ imported by its "
        "bare name; import osp.platform.spec",
        "stacks/estate.py:4: from platform import naming: the layer folder platform/ imported "
        "by its bare name; import osp.platform.naming",
    ]


def test_relative_and_dynamic_imports_are_resolved():
    source = (
        "from . import events\n"
        "from ..stacks import estate\n"
        "from .._checks import common\n"
        "import importlib\n"
        "def later():\n"
        "    return importlib.import_module('osp.cli.main')\n"
    )
    assert check(source, "app/identity.py") == [
        "app/identity.py:2: from ..stacks import estate: app imports stacks, against "
        "cli → stacks → app → components → platform (app may import components, platform)",
        "app/identity.py:3: from .._checks import common: osp._checks is not a layer of osp "
        "(cli → stacks → app → components → platform)",
        "app/identity.py:6: importlib.import_module('osp.cli.main'): app imports cli, against "
        "cli → stacks → app → components → platform (app may import components, platform)",
    ]
    assert check("from . import _checks\n", "components/__init__.py") == []


def test_the_data_package_and_third_parties_are_anyones():
    source = "import pulumi\nimport pulumi_aws as aws\nimport osp.blueprints\nimport typer\n"
    assert check(source, "platform/catalogue/loader.py") == []
