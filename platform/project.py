"""Finding the osp project on disk: the folder with Pulumi.yaml and its stack config files."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from osp.platform.errors import ProjectError, UnknownEnvironmentError

PROJECT_FILE = "Pulumi.yaml"
PROJECT_DIR_ENV = "OSP_PROJECT_DIR"
_STACK_FILE = re.compile(r"^Pulumi\.(?P<env>[^.]+)\.yaml$")


@dataclass(frozen=True)
class Project:
    """An osp project: `root` holds Pulumi.yaml, `stacks_dir` the `Pulumi.<env>.yaml` files."""

    root: Path
    name: str
    stacks_dir: Path

    def stack_file(self, environment: str) -> Path:
        return self.stacks_dir / f"Pulumi.{environment}.yaml"

    def environments(self) -> list[str]:
        """The environments that have a stack config file, sorted."""
        found = (_STACK_FILE.match(p.name) for p in self.stacks_dir.glob("Pulumi.*.yaml"))
        return sorted(m["env"] for m in found if m)

    def require_environment(self, environment: str) -> Path:
        path = self.stack_file(environment)
        if not path.is_file():
            known = ", ".join(self.environments()) or "none"
            raise UnknownEnvironmentError(
                f"unknown environment {environment!r}: there is no {self.relative(path)}; "
                f"environments in this project: {known}"
            )
        return path

    def relative(self, path: Path) -> str:
        """`path` as the user should see it: relative to the project root when inside it."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)


def find_project(
    project_dir: str | os.PathLike[str] | None = None, start: Path | None = None
) -> Project:
    """Locate the project.

    An explicit `project_dir` (the CLI's --project-dir) wins, then $OSP_PROJECT_DIR; otherwise
    walk up from `start` (the current directory) to the first folder holding Pulumi.yaml.
    """
    explicit = project_dir or os.environ.get(PROJECT_DIR_ENV)
    if explicit:
        root = Path(explicit).expanduser().resolve()
        if not (root / PROJECT_FILE).is_file():
            origin = "--project-dir" if project_dir else PROJECT_DIR_ENV
            raise ProjectError(
                f"{origin}: {str(explicit)!r} holds no {PROJECT_FILE}; "
                "expected the root of an osp project (the folder with Pulumi.yaml)"
            )
        return _load(root)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return _load(folder)
    raise ProjectError(
        f"no {PROJECT_FILE} in {here} or any folder above it; run osp inside an osp project, "
        f"or point at one with --project-dir DIR or {PROJECT_DIR_ENV}"
    )


def _load(root: Path) -> Project:
    path = root / PROJECT_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ProjectError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise ProjectError(f"{path}: expected a mapping with a 'name' key (a Pulumi project file)")
    stacks_dir = root / str(data.get("stackConfigDir", "."))
    return Project(root=root, name=data["name"], stacks_dir=stacks_dir.resolve())
