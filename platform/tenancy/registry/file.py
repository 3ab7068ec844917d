"""The file registry: the tenants of one environment as files under the osp home, for offline
use and local trials, with the DynamoDB registry's behaviour.

    <root>/<slug>.json         one record each (0600): a create touches one file, whatever
                               the size of the fleet
    <root>/.locks/<slug>.lock  flock'd around every write of that slug, so two processes (or
                               threads) can never both create it, nor both update one version

Writes are atomic (a temporary file, fsync, rename): a crash leaves the old record or the new
one, never half of one. The folders are the owner's only (0700): records hold e-mail addresses.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from osp.platform import home
from osp.platform.tenancy.model import (
    SLUG_FORMAT,
    StaleTenantError,
    Tenant,
    TenantExistsError,
    TenantRegistryError,
    TenantState,
    Tier,
    UnknownTenantError,
    from_dict,
    require_next_version,
    to_dict,
)

#: The folder of the osp home that holds one registry folder per environment.
TENANTS_DIR = "tenants"
LOCKS_DIR = ".locks"
RECORD_SUFFIX = ".json"


def default_root(environment: str) -> Path:
    """Where the file registry of `environment` lives: `<osp home>/tenants/<environment>`."""
    return home.home() / TENANTS_DIR / environment


class FileRegistry:
    """A `TenantRegistry` in a folder: one JSON file per tenant, a lock per slug."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"FileRegistry({str(self.root)!r})"

    def get(self, slug: str) -> Tenant | None:
        # A value that is no slug names no record, and never a path outside the root.
        if not SLUG_FORMAT.accepts(slug):
            return None
        path = self._record(slug)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return self._parse(path, text)

    def create(self, tenant: Tenant) -> Tenant:
        self._record(tenant.slug)  # refuses a slug that would name a path elsewhere
        self._prepare()
        with self._locked(tenant.slug):
            existing = self.get(tenant.slug)
            if existing is not None:
                raise TenantExistsError(existing)
            self._write(tenant)
        return tenant

    def update(self, tenant: Tenant, *, expected_version: int) -> Tenant:
        require_next_version(tenant, expected_version)
        if self.get(tenant.slug) is None:  # before _prepare: an unknown slug writes nothing
            raise UnknownTenantError(tenant.slug, f"the file registry {self.root}")
        self._prepare()
        with self._locked(tenant.slug):
            current = self.get(tenant.slug)
            if current is None:
                raise UnknownTenantError(tenant.slug, f"the file registry {self.root}")
            if current.version != expected_version:
                raise StaleTenantError(tenant.slug, expected_version, current.version)
            self._write(tenant)
        return tenant

    def list(
        self, *, state: TenantState | None = None, tier: Tier | None = None
    ) -> builtins.list[Tenant]:
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.glob(f"*{RECORD_SUFFIX}"):
            tenant = self._parse(path, path.read_text(encoding="utf-8"))
            if (state is None or tenant.state == state) and (tier is None or tenant.tier == tier):
                found.append(tenant)
        return sorted(found, key=lambda t: t.slug)

    # --- storage ---------------------------------------------------------------------------

    def _record(self, slug: str) -> Path:
        if not SLUG_FORMAT.accepts(slug):
            raise ValueError(f"slug: got {slug!r}; expected {SLUG_FORMAT.expected}")
        return self.root / f"{slug}{RECORD_SUFFIX}"

    def _parse(self, path: Path, text: str) -> Tenant:
        try:
            tenant = from_dict(json.loads(text))
        except (ValueError, TypeError, AttributeError) as exc:
            raise TenantRegistryError(f"{path}: not a tenant record: {exc}") from None
        if path.name != f"{tenant.slug}{RECORD_SUFFIX}":
            raise TenantRegistryError(
                f"{path}: holds the record of {tenant.slug}; expected the file's own tenant"
            )
        return tenant

    def _prepare(self) -> None:
        """Create the root (and the lock folder) owner-only; refuse one others can read."""
        _private_dirs(self.root)
        mode = stat.S_IMODE(self.root.stat().st_mode)
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise TenantRegistryError(
                f"{self.root}: the tenant registry is open to other users (mode {mode:04o}); "
                f"expected 0700. Fix: chmod 700 {self.root}"
            )
        _private_dirs(self.root / LOCKS_DIR)

    @contextlib.contextmanager
    def _locked(self, slug: str) -> Iterator[None]:
        # flock conflicts between separate open()s, so it excludes threads of one process as
        # well as other processes. Lock files are never removed: removing one lets a waiter
        # lock a file that a newcomer no longer sees.
        path = self.root / LOCKS_DIR / f"{slug}.lock"
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)

    def _write(self, tenant: Tenant) -> None:
        text = json.dumps(to_dict(tenant), indent=2, ensure_ascii=False) + "\n"
        # mkstemp creates the file 0600, in the root so that the rename stays on one disk.
        descriptor, temporary = tempfile.mkstemp(dir=self.root, prefix=f".{tenant.slug}.")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self._record(tenant.slug))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        _fsync_dir(self.root)


def _private_dirs(path: Path) -> None:
    """Create `path` and its missing parents, each 0700 (mkdir's `parents` would give the
    parents the default mode)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass  # another process made it first
        except OSError as exc:
            raise TenantRegistryError(
                f"cannot create the tenant registry folder {folder}: {exc.strerror}; point "
                f"{home.HOME_ENV} at a writable folder"
            ) from None


def _fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
