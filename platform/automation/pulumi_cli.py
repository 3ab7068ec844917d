"""Finding the `pulumi` CLI that real runs need, and saying how to get it when it is missing.

The Automation API drives the `pulumi` executable; osp never downloads it. Versions older than
`MIN_VERSION` are refused: osp runs the estate as an inline program, and `pulumi refresh` and
`pulumi destroy` accept an inline program (`--client`) only from 3.181.0 on (the Automation API
itself refuses older CLIs for those two commands).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from osp.platform.errors import OspError

MIN_VERSION = (3, 181, 0)
MIN_VERSION_TEXT = ".".join(map(str, MIN_VERSION))
UPGRADE = (
    f"upgrade it to {MIN_VERSION_TEXT} or newer: `curl -fsSL https://get.pulumi.com | sh` (or "
    "`brew upgrade pulumi`)"
)
INSTALL = (
    "install it with `curl -fsSL https://get.pulumi.com | sh` (or "
    "`brew install pulumi/tap/pulumi`) "
    f"— version {MIN_VERSION_TEXT} or newer — and make sure `pulumi` is on PATH"
)
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(\S*)$")


class PulumiCliMissingError(OspError):
    """Real runs need the `pulumi` CLI and it is not there (or cannot run, or is too old)."""

    def __init__(self, message: str, reason: str, *, too_old: bool = False):
        super().__init__(message)
        #: What is wrong, in a few words (`osp doctor` shows it next to the fix).
        self.reason = reason
        #: The CLI runs but is older than MIN_VERSION: upgrade it, rather than install it.
        self.too_old = too_old


@dataclass(frozen=True)
class PulumiCli:
    """A usable `pulumi` executable and its version (without a leading "v")."""

    path: Path
    version: str

    @property
    def version_tuple(self) -> tuple[int, int, int]:
        return parse_version(self.version) or (0, 0, 0)


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = _VERSION.match(text.strip())
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def missing_message(what: str = "osp needs the pulumi CLI for real runs") -> str:
    return (
        f"{what}, and it is not installed (no `pulumi` on PATH): {INSTALL}. "
        "Without it, `osp preview --env ENV --offline` plans an environment with the offline "
        "engine (no Pulumi CLI or AWS account needed)."
    )


def find(path_env: str | None = None) -> PulumiCli:
    """The `pulumi` on PATH, checked to run and to be recent enough; else a message saying how.

    `path_env` replaces $PATH for the search (tests).
    """
    search = path_env if path_env is not None else os.environ.get("PATH")
    found = shutil.which("pulumi", path=search)
    if found is None:
        raise PulumiCliMissingError(missing_message(), "not installed (no `pulumi` on PATH)")
    try:
        completed = subprocess.run(
            [found, "version"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PulumiCliMissingError(
            f"{found} does not run (`pulumi version`: {exc}); reinstall the CLI: {INSTALL}",
            f"{found} does not run",
        ) from None
    text = completed.stdout.strip()
    version = parse_version(text)
    if completed.returncode != 0 or version is None:
        raise PulumiCliMissingError(
            f"{found}: `pulumi version` printed {text or completed.stderr.strip()!r}; expected a "
            f"version such as v3.140.0. Reinstall the CLI: {INSTALL}",
            f"{found}: unreadable version {text!r}",
        )
    if version < MIN_VERSION:
        raise PulumiCliMissingError(
            f"{found} is pulumi {text}; osp needs {MIN_VERSION_TEXT} or newer. Upgrade: "
            "`curl -fsSL https://get.pulumi.com | sh` (or `brew upgrade pulumi`)",
            f"{text} at {found}; osp needs {MIN_VERSION_TEXT} or newer",
            too_old=True,
        )
    return PulumiCli(path=Path(found), version=text.removeprefix("v"))
