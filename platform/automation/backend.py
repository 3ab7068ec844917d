"""Where a stack's state lives and how its secrets are encrypted, for one environment.

Default: Pulumi's file backend in the osp home with a passphrase secrets provider whose
passphrase osp generates once (so a user needs only the CLI and AWS credentials to start).
Teams set `osp:backend` / `osp:secrets_provider` in the stack file (see `osp bootstrap`).

osp always names the backend explicitly (PULUMI_BACKEND_URL): whatever `pulumi login` last
chose on this machine never decides where an environment's state goes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from osp.platform import home
from osp.platform.spec import EnvironmentSpec

PASSPHRASE = "passphrase"


@dataclass(frozen=True)
class Backend:
    """The state backend and secrets provider of one environment, as the workspace gets them."""

    url: str
    #: The secrets provider `pulumi stack init` gets; None leaves the backend's default.
    secrets_provider: str | None
    #: Environment variables every `pulumi` invocation of this environment receives.
    env_vars: Mapping[str, str] = field(default_factory=dict)
    #: True when the URL came from the stack file rather than osp's default.
    explicit: bool = False

    @property
    def kind(self) -> str:
        """`file`, `s3` or `cloud` (Pulumi Cloud or a self-hosted service)."""
        scheme = urlsplit(self.url).scheme
        return {"file": "file", "s3": "s3"}.get(scheme, "cloud")

    @property
    def local_dir(self) -> Path | None:
        """The state folder of a file backend."""
        if self.kind != "file":
            return None
        return Path(os.path.expanduser(self.url.removeprefix("file://")))

    @property
    def bucket(self) -> tuple[str, str, str | None] | None:
        """(bucket, key prefix, region) of an S3 backend."""
        if self.kind != "s3":
            return None
        parts = urlsplit(self.url)
        region = parse_qs(parts.query).get("region", [None])[0]
        return parts.netloc, parts.path.strip("/"), region


def for_spec(spec: EnvironmentSpec | None, *, prepare: bool = True) -> Backend:
    """The backend of `spec`: its own settings, else osp's embedded default.

    `prepare`: create the embedded state folder and the passphrase when they are missing (a
    real run); without it nothing is touched (`osp doctor`).
    """
    explicit = spec is not None and spec.backend is not None
    if spec is not None and spec.backend is not None:
        url = spec.backend
    elif prepare:
        url = home.state_url()
    else:
        # The URL a real run would use (`state_url`), without creating the folder.
        url = f"file://{home.state_dir(create=False).expanduser().absolute().resolve()}"
    # Pulumi's own default: a passphrase for file and S3 backends, the service's key otherwise.
    provider = (spec.secrets_provider if spec else None) or (
        None if url.startswith("https://") else PASSPHRASE
    )
    env: dict[str, str] = {"PULUMI_BACKEND_URL": url, "PULUMI_SKIP_UPDATE_CHECK": "true"}
    if prepare and provider == PASSPHRASE and not passphrase_given():
        # The file, not its content: the passphrase stays out of every child's environment.
        env[home.PASSPHRASE_FILE_ENV] = str(home.passphrase_file())
    return Backend(url=url, secrets_provider=provider, env_vars=env, explicit=explicit)


def passphrase_given() -> bool:
    """Did the user choose the passphrase (PULUMI_CONFIG_PASSPHRASE or …_FILE)?"""
    return home.PASSPHRASE_ENV in os.environ or home.PASSPHRASE_FILE_ENV in os.environ
