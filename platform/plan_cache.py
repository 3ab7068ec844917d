"""The offline plan, cached: `offline_plan(spec, program)` is how every caller gets one.

    plan = offline_plan(spec, NamedProgram("osp.stacks.estate", "build"))

An offline plan is a pure function of what it is made from: the spec (the stack file as
loaded, presets applied), the blueprint (its catalogue, and every file of the project's own
`blueprints/` folder), osp's own files (its code, and the blueprints, handlers and Job
programs it ships), the versions of the distributions it runs on (the Pulumi SDK and
providers above all) and of Python, and the plan's JSON schema. The cache keys a plan by the
SHA-256 of all of them, so a key never names a stale plan: whatever changes gives another
key, and the entry of the old one ages out.

Entries live under the osp home (`<osp home>/cache/plans/<key>.json`), are written
atomically, and an unreadable one is ignored and replaced. Beyond
`limits.PLAN_CACHE_MAX_BYTES` the least recently used go first. Only osp's own named
programs are cached (`osp.stacks.estate.build`): for them the key holds all of the code
that runs; any other program (a lambda, a test's, a user's module) is planned every time.
When the cache cannot be used (an osp home that is not writable), plans are made as if
there were none: a cache never makes a plan fail.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from osp.platform import home, limits
from osp.platform.plan import SCHEMA_VERSION, Plan, Program

if TYPE_CHECKING:
    from osp.platform.spec import EnvironmentSpec

#: The layout of an entry; a change here makes every older entry a miss.
FORMAT = 1
#: osp's packages whose files a plan can depend on: the engine and everything the program
#: imports or reads (the CLI, which only renders, is not one of them).
SOURCE_PACKAGES = ("osp.platform", "osp.components", "osp.app", "osp.stacks", "osp.blueprints")
#: Distributions the plan depends on beyond osp's own requirements: the SDK's wire format
#: (the engine reads registrations through protobuf's JSON mapping) and its RPC layer.
ENGINE_DISTRIBUTIONS = ("protobuf", "grpcio")
#: A temporary file of a writer that died before renaming it is removed after this long.
_ABANDONED_SECONDS = 24 * 3600
_REQUIREMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class NamedProgram:
    """A program named by where it lives, imported only when it has to run: a cached plan
    needs neither the program nor the SDK it imports, so a repeat preview is quick."""

    module: str
    function: str

    def load(self) -> Program:
        """The program itself (its module imported)."""
        return getattr(importlib.import_module(self.module), self.function)


def offline_plan(
    spec: EnvironmentSpec,
    program: Program | NamedProgram,
    *,
    cache: bool = True,
    on_phase: Callable[[str], None] | None = None,
    on_register: Callable[[int], None] | None = None,
) -> Plan:
    """The offline engine's plan of `program` for `spec`: from the cache when it holds it,
    otherwise planned (and then cached). `cache=False` (`--no-cache`) plans afresh and
    neither reads nor writes the cache.

    For a progress display: `on_phase(name)` is called as each phase starts ("reading the
    cache", "loading the components", "running the program"); `on_register` is the
    engine's (`osp.platform.engine.offline.run`), and a plan from the cache registers
    nothing."""
    phase = on_phase or (lambda name: None)
    identity = program_identity(program)
    store = open_cache() if cache and identity is not None else None
    key = None
    if store is not None and identity is not None:
        phase("reading the cache")
        try:
            key = plan_key(spec, identity)
        except OSError:  # a file that went away while it was read: plan without the cache
            store = None
        cached = store.get(key) if store is not None and key is not None else None
        if cached is not None:
            return cached

    phase("loading the components")
    from osp.platform.engine import offline

    runnable = program.load() if isinstance(program, NamedProgram) else program
    phase("running the program")
    # Options only when given: a caller that passes none gets the engine's defaults.
    options = {"on_register": on_register} if on_register is not None else {}
    plan = offline.run(spec, runnable, **options)
    if store is not None and key is not None:
        store.put(key, plan)
    return plan


def program_identity(program: Program | NamedProgram) -> str | None:
    """`module:function` of a program named in one of `SOURCE_PACKAGES`; None for any other
    program, which is never cached (the key could not hold its code)."""
    if isinstance(program, NamedProgram):
        module, name = program.module, program.function
    else:
        module = getattr(program, "__module__", None) or ""
        name = getattr(program, "__qualname__", None) or ""
    if not module.startswith(tuple(f"{p}." for p in SOURCE_PACKAGES)) or not name.isidentifier():
        return None
    return f"{module}:{name}"


def plan_key(spec: EnvironmentSpec, identity: str) -> str:
    """The SHA-256 (hex) of everything the plan of `identity` for `spec` is made from."""
    digest = hashlib.sha256()

    def part(label: str, data: bytes) -> None:
        # Length-prefixed: no two different sequences of parts hash the same bytes.
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    part("format", str(FORMAT).encode())
    part("schema", str(SCHEMA_VERSION).encode())
    part("program", identity.encode())
    part("spec", spec.model_dump_json().encode())
    part("versions", json.dumps(versions(), sort_keys=True).encode())
    for name, path in source_files():
        part(f"osp/{name}", path.read_bytes())
    folder = spec.library.folder
    if folder is not None:
        for name, path in _files_under(folder):
            part(f"project/{name}", path.read_bytes())
    return digest.hexdigest()


def versions() -> dict[str, str]:
    """Python's version and those of osp, its requirements and the engine's own
    (`ENGINE_DISTRIBUTIONS`); "absent" for one that is not installed."""
    try:
        required = importlib.metadata.requires("osp") or []
    except importlib.metadata.PackageNotFoundError:
        required = []
    names = [
        match[0]
        for requirement in required
        if "extra ==" not in requirement
        and (match := _REQUIREMENT_NAME.match(requirement)) is not None
    ]
    found = {"python": f"{sys.implementation.name} {sys.version}"}
    for name in ("osp", *names, *ENGINE_DISTRIBUTIONS):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def source_files() -> list[tuple[str, Path]]:
    """Every file of osp's `SOURCE_PACKAGES` (compiled bytecode aside), as
    (`<package>/<path inside it>`, where it is), in a stable order. Found without importing
    the packages: importing osp.components would import the provider SDKs."""
    files = []
    for package in SOURCE_PACKAGES:
        found = importlib.util.find_spec(package)
        roots = found.submodule_search_locations if found is not None else None
        for root in roots or ():
            if os.path.isdir(root):
                files.extend((f"{package}/{name}", path) for name, path in _files_under(root))
    return files


def _files_under(root: str | os.PathLike[str]) -> Iterator[tuple[str, Path]]:
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(names):
            if not name.endswith((".pyc", ".pyo")):
                path = Path(folder, name)
                yield path.relative_to(root).as_posix(), path


def open_cache() -> PlanCache:
    """The cache under the osp home."""
    return PlanCache(home.plan_cache_dir())


class PlanCache:
    """Plans by key, one file each in `folder`, at most `max_bytes` of them in all."""

    def __init__(self, folder: Path, max_bytes: int = limits.PLAN_CACHE_MAX_BYTES) -> None:
        self.folder = folder
        self.max_bytes = max_bytes

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str) -> Plan | None:
        """The plan cached under `key`, or None. An entry that cannot be read back as the
        plan of that key (cut short, edited, another format) is removed."""
        path = self.path(key)
        try:
            text = path.read_bytes()
        except OSError:
            return None
        try:
            header, newline, body = text.decode("utf-8").partition("\n")
            entry = json.loads(header)
            if entry["format"] != FORMAT or entry["key"] != key or not newline:
                raise ValueError("another format or key")
            plan = Plan.loads(body, tuple(entry["warnings"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            path.unlink(missing_ok=True)
            return None
        with contextlib.suppress(OSError):  # recently used: eviction goes by modification time
            os.utime(path)
        return plan

    def put(self, key: str, plan: Plan) -> None:
        """Cache `plan` under `key` (replacing what was there), then evict beyond the
        limit. The folder is made on the first write, owner-only like the osp home. A write
        that fails (a home that cannot be written) leaves the cache as it was."""
        # One line of what the plan's JSON does not hold, then the plan as `dumps()` wrote it:
        # read back, it needs no encoding again (`Plan.loads`), and the CLI prints it as is.
        header = {"format": FORMAT, "key": key, "warnings": list(plan.warnings)}
        text = json.dumps(header, ensure_ascii=False) + "\n" + plan.dumps()
        # Unique per writer: two processes (or threads) caching one key never share a file,
        # and the rename makes a reader see a whole entry or none.
        temporary = self.folder / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            _make_private(self.folder)
            temporary.write_text(text, encoding="utf-8")
            temporary.replace(self.path(key))
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
        self.evict()

    def evict(self) -> None:
        """Remove the least recently used entries until the rest fit in `max_bytes`, and
        the temporary files of writers that died."""
        entries = []
        now = time.time()
        for path in self.folder.iterdir():
            try:
                status = path.stat()
            except OSError:
                continue
            if path.name.endswith(".tmp"):
                if now - status.st_mtime > _ABANDONED_SECONDS:
                    path.unlink(missing_ok=True)
            elif path.suffix == ".json":
                entries.append((status.st_mtime_ns, path.name, status.st_size, path))
        total = sum(size for _, _, size, _ in entries)
        for _, _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size


def _make_private(folder: Path) -> None:
    """`folder` and each missing folder above it, made owner-only (what osp keeps in its
    home is nobody else's to read)."""
    missing = [path for path in (folder, *folder.parents) if not path.is_dir()]
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)
