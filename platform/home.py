"""The osp home: where osp keeps what belongs to the user rather than to a project.

`~/.osp` unless `OSP_HOME` names another folder. It holds the embedded Pulumi state backend
(`state/`, used when a stack file sets no `osp:backend`), the passphrase that encrypts the
secrets in that state (`passphrase`, generated once, mode 0600), the workspace folders of
the tenant stacks (`workspaces/<project>/<environment>/`: their Pulumi.yaml and stack files),
the offline tenant registry (`tenants/<environment>/`, osp.platform.tenancy.registry), and
the cache of offline plans (`cache/plans/`, osp.platform.plan_cache).
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from osp.platform.errors import OspError

HOME_ENV = "OSP_HOME"
PASSPHRASE_ENV = "PULUMI_CONFIG_PASSPHRASE"
PASSPHRASE_FILE_ENV = "PULUMI_CONFIG_PASSPHRASE_FILE"
STATE_DIR = "state"
WORKSPACES_DIR = "workspaces"
PASSPHRASE_FILE = "passphrase"
PLAN_CACHE_DIR = "cache/plans"


class HomeError(OspError):
    """The osp home, or something in it, cannot be used safely."""


def home() -> Path:
    """The osp home folder (not created)."""
    configured = os.environ.get(HOME_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".osp"


def state_dir(*, create: bool = True) -> Path:
    """The folder of the embedded file backend, created owner-only on first use."""
    path = home() / STATE_DIR
    if create:
        _private_dir(home())
        _private_dir(path)
    return path


def state_url() -> str:
    """The embedded backend as Pulumi names it: `file://<osp home>/state`."""
    return f"file://{state_dir().resolve()}"


def workspace_dir(project: str, environment: str) -> Path:
    """The workspace folder of `environment`'s other stacks (its tenants'), created owner-only:
    their stack files live here, not among the project's own stack files."""
    path = home() / WORKSPACES_DIR / project / environment
    for folder in (home(), path.parent.parent, path.parent, path):
        _private_dir(folder)
    return path


def plan_cache_dir() -> Path:
    """The folder of cached offline plans (not created: the cache makes it, owner-only, when
    it first writes, so that reading the cache leaves nothing behind)."""
    return home() / PLAN_CACHE_DIR


def passphrase_path() -> Path:
    """Where the generated passphrase lives (it may not exist yet)."""
    return home() / PASSPHRASE_FILE


def passphrase_file() -> Path:
    """The passphrase file, generated on first use; refused when others may read it.

    A passphrase that anyone else on the machine can read protects nothing, so a file that
    is group- or world-accessible is an error with the fix, never silently used.
    """
    path = passphrase_path()
    _private_dir(home())
    try:
        # O_EXCL: two osp processes racing here cannot both write a passphrase.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        require_private(path)
        return path
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        # No newline: `PULUMI_CONFIG_PASSPHRASE=$(cat …)` must give the very same passphrase.
        handle.write(secrets.token_urlsafe(32))
    return path


def require_private(path: Path) -> None:
    """Raise HomeError unless only the owner may read `path`."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise HomeError(
            f"{path}: the Pulumi passphrase file is readable by others (mode "
            f"{stat.S_IMODE(mode):04o}); expected 0600. Fix: chmod 600 {path}"
        )


def _private_dir(path: Path) -> None:
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise HomeError(
            f"cannot create the osp home {path}: {exc.strerror}; point {HOME_ENV} at a "
            "writable folder"
        ) from None
