"""Stack locks: who holds one, since when, and the exit code 4 that reports it.

Pulumi's file and S3 ("DIY") backends lock a stack for an update by writing
`.pulumi/locks/<org>/<project>/<stack>/<id>.json` (`<stack>/` for legacy, unscoped stacks)
holding `{"pid", "username", "hostname", "timestamp"}`; a second update fails with

    the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or
    delete the lock file with `pulumi cancel`.
      file:///…/prod/1b2c….json: created by al@ci-7 (pid 42) at 2025-03-01T09:12:44Z

Pulumi Cloud answers `[409] Conflict: Another update is currently in progress.` and names nobody.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from osp.platform.errors import OspError

EXIT_LOCKED = 4
LOCKS_DIR = ".pulumi/locks"
_HOLDER = re.compile(
    r"^\s*(?P<where>\S+): created by (?P<who>.*) \(pid (?P<pid>\d+)\) at (?P<at>\S+)\s*$"
)


@dataclass(frozen=True)
class LockHolder:
    """One lock on a stack: the process that took it and when."""

    username: str
    hostname: str
    pid: int | None
    since: datetime | None
    where: str = ""

    def describe(self, now: datetime | None = None) -> str:
        who = f"{self.username}@{self.hostname}" if self.hostname else self.username or "someone"
        pid = f" (pid {self.pid})" if self.pid is not None else ""
        if self.since is None:
            return f"{who}{pid}"
        stamp = self.since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{who}{pid} since {stamp} ({_age(self.since, now)})"


class StackLockedError(OspError):
    """Another update holds the stack's lock; exit code 4."""

    exit_code = EXIT_LOCKED

    def __init__(self, stack: str, holders: list[LockHolder], cancel_hint: str):
        self.stack = stack
        self.holders = holders
        if holders:
            who = "; ".join(h.describe() for h in holders)
            head = f"the {stack} stack is locked by another update: {who}"
        else:
            head = f"the {stack} stack is locked by another update in progress"
        super().__init__(
            f"{head}. Wait for it to finish and run the command again. If no update is running "
            f"any more (the process was killed), remove the lock with {cancel_hint}, then run "
            f"`osp refresh --env {stack}`."
        )


def parse_conflict(text: str) -> list[LockHolder]:
    """The lock holders a DIY backend's lock-conflict error names (none for Pulumi Cloud)."""
    holders = []
    for line in text.splitlines():
        match = _HOLDER.match(line)
        if match:
            username, _, hostname = match["who"].rpartition("@")
            holders.append(
                LockHolder(
                    username=username or match["who"],
                    hostname=hostname if username else "",
                    pid=int(match["pid"]),
                    since=_timestamp(match["at"]),
                    where=match["where"],
                )
            )
    return holders


def parse_lock_file(text: str, where: str = "") -> LockHolder:
    """One lock file's JSON as a LockHolder (fields Pulumi did not write stay empty)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    pid = data.get("pid")
    return LockHolder(
        username=str(data.get("username") or "unknown"),
        hostname=str(data.get("hostname") or ""),
        pid=pid if isinstance(pid, int) else None,
        since=_timestamp(str(data.get("timestamp") or "")),
        where=where,
    )


def lock_prefixes(project: str, stack: str) -> tuple[str, str]:
    """The lock folders of a stack, relative to the backend root (project-scoped, legacy)."""
    return f"{LOCKS_DIR}/organization/{project}/{stack}/", f"{LOCKS_DIR}/{stack}/"


def is_lock_of(key: str, project: str, stack: str | None) -> bool:
    """Is backend key `key` (relative to the backend root) a lock file of `stack` (None: any)?"""
    if not key.startswith(LOCKS_DIR + "/") or not key.endswith(".json"):
        return False
    if stack is None:
        return True
    folder = key.rsplit("/", 1)[0] + "/"
    return folder in lock_prefixes(project, stack)


def read_lock_files(state_dir: Path, project: str, stack: str | None) -> list[LockHolder]:
    """The locks held in a file backend rooted at `state_dir` (of `stack`, or of any stack)."""
    root = state_dir / LOCKS_DIR
    if not root.is_dir():
        return []
    holders = []
    for path in sorted(root.rglob("*.json")):
        key = path.relative_to(state_dir).as_posix()
        if is_lock_of(key, project, stack):
            try:
                holders.append(parse_lock_file(path.read_text(encoding="utf-8"), str(path)))
            except OSError:
                continue
    return holders


def read_s3_locks(
    client, bucket: str, prefix: str, project: str, stack: str | None
) -> list[LockHolder]:
    """The locks held in an S3 backend (`client`: a boto3 S3 client)."""
    base = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    holders = []
    for key in _s3_keys(client, bucket, f"{base}{LOCKS_DIR}/"):
        if is_lock_of(key[len(base) :], project, stack):
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
            holders.append(parse_lock_file(body, f"s3://{bucket}/{key}"))
    return holders


def _s3_keys(client, bucket: str, prefix: str) -> Iterable[str]:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"]


def _timestamp(text: str) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _age(since: datetime, now: datetime | None) -> str:
    seconds = int(((now or datetime.now(UTC)) - since).total_seconds())
    if seconds < 0:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return f"{seconds} seconds ago"
