"""The layout contract: one `osp` package assembled from the layer folders."""

from __future__ import annotations

import tomllib

import yaml

from tests.support import REPO

LAYERS = {
    "platform": "osp.platform",
    "components": "osp.components",
    "app": "osp.app",
    "stacks": "osp.stacks",
    "cli": "osp.cli",
    "blueprints": "osp.blueprints",
}


#: Folders of programs that run elsewhere (Lambda, a Job's container): package data, not
#: packages of osp.
PROGRAM_FOLDERS = {"components": "handlers", "app": "jobs"}


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_every_folder_with_python_code_is_a_listed_package():
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    found = set()
    for folder, package in LAYERS.items():
        for path in (REPO / folder).rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            relative = path.parent.relative_to(REPO / folder).parts
            if relative[:1] == (PROGRAM_FOLDERS.get(folder),):
                continue
            found.add(".".join((package, *relative)))
    assert found == listed


def test_program_folders_ship_as_package_data():
    data = _pyproject()["tool"]["setuptools"]["package-data"]
    for folder, programs in PROGRAM_FOLDERS.items():
        assert data[LAYERS[folder]] == [f"{programs}/*"]


def test_layer_folders_map_to_osp_subpackages():
    assert _pyproject()["tool"]["setuptools"]["package-dir"] == {
        package: folder for folder, package in LAYERS.items()
    }


def test_platform_never_shadows_the_standard_library():
    assert not (REPO / "platform" / "__init__.py").exists()
    import platform

    assert hasattr(platform, "python_version")


def test_pulumi_project_runs_the_stacks_program():
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    assert project["name"] == "osp" and project["runtime"] == "python"
    assert project["main"] == "stacks/" and project["stackConfigDir"] == "stacks/"
    assert (REPO / "stacks" / "__main__.py").is_file()


def test_dependency_ranges_are_pinned():
    deps = {
        d.split(">")[0].split("<")[0].split("[")[0]: d
        for d in _pyproject()["project"]["dependencies"]
    }
    assert deps["pulumi"].endswith("<4")
    assert deps["pulumi-aws"].endswith("<8")
    assert deps["pulumi-eks"].endswith("<5")
    assert deps["pulumi-kubernetes"].endswith("<5")
    assert deps["pydantic"].endswith("<3")
