"""`osp doctor`: is this machine ready for real runs? One check per prerequisite, each with a fix.

Read-only: doctor creates nothing (not even the osp home) and changes no state. A check passes,
fails, or is skipped when what it needs is missing (no CLI: no plugin check). A failure says
which of the look-alike causes it is — a CLI to install or one to upgrade, no credentials or
an endpoint that cannot be reached (which says nothing about the credentials) — because the
fixes differ.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import Any

from osp.platform import cluster_access, home, naming
from osp.platform.automation import backend as backends
from osp.platform.automation import locks, pulumi_cli
from osp.platform.automation.backend import PASSPHRASE, Backend
from osp.platform.errors import OspError
from osp.platform.naming import NameKind
from osp.platform.project import Project
from osp.platform.spec import EnvironmentSpec

MIN_PYTHON = (3, 11)
#: Resource plugins the estate's programs use, by the Python SDK that pins their version.
PLUGIN_SDKS = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes", "random": "pulumi_random"}


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def healthy(checks: list[Check]) -> bool:
    return all(c.status is not Status.FAIL for c in checks)


def summary(checks: list[Check]) -> str:
    """One line: "all 9 checks passed" or "2 of 9 checks failed" (skipped ones counted)."""
    failed = sum(c.status is Status.FAIL for c in checks)
    skipped = sum(c.status is Status.SKIP for c in checks)
    noun = "check" if len(checks) == 1 else "checks"
    head = (
        f"{failed} of {len(checks)} {noun} failed"
        if failed
        else (
            f"all {len(checks) - skipped} {noun} passed"
            if not skipped
            else f"{len(checks) - skipped} of {len(checks)} {noun} passed"
        )
    )
    return head + (f", {skipped} skipped" if skipped else "")


def to_json(checks: list[Check]) -> dict[str, Any]:
    """What `osp doctor --json` prints."""
    return {
        "healthy": healthy(checks),
        "summary": summary(checks),
        "checks": [
            {"name": c.name, "status": c.status.value, "detail": c.detail, "fix": c.fix}
            for c in checks
        ],
    }


def run(
    project: Project | None,
    spec: EnvironmentSpec | None,
    *,
    session: Any = None,
    version_info: tuple[int, ...] = tuple(sys.version_info[:3]),
    probe: cluster_access.Probe | None = None,
) -> list[Check]:
    """Every check, in the order a user fixes them. `session`: a boto3 Session, `probe`:
    where this machine stands on the network (both for tests)."""
    checks = [python(version_info)]
    cli_check, cli = pulumi()
    checks.append(cli_check)
    checks.append(aws_cli())
    if session is None:
        import boto3

        session = boto3.Session(region_name=spec.region if spec else None)
    region_check, region = region_of(session, spec)
    checks.append(credentials(session, spec, region))
    checks.append(region_check)
    backend = backends.for_spec(spec, prepare=False)
    backend_check = reachable(backend, session, region)
    checks.append(backend_check)
    checks.append(secrets(backend, session, region))
    if backend_check.status is Status.PASS:
        checks.append(lock(backend, session, region, project, spec))
    else:
        checks.append(Check("state lock", Status.SKIP, "the backend is not reachable"))
    checks.append(plugins(cli))
    if spec is not None:
        checks.append(cluster_api(spec, session, probe or cluster_access.NetworkProbe()))
    return checks


def python(version_info: tuple[int, ...]) -> Check:
    text = ".".join(map(str, version_info[:3]))
    if tuple(version_info[:2]) >= MIN_PYTHON:
        return Check("Python", Status.PASS, text)
    return Check(
        "Python",
        Status.FAIL,
        f"{text}; osp needs {'.'.join(map(str, MIN_PYTHON))} or newer",
        "install Python 3.11+ and recreate the virtualenv",
    )


def pulumi() -> tuple[Check, pulumi_cli.PulumiCli | None]:
    try:
        cli = pulumi_cli.find()
    except pulumi_cli.PulumiCliMissingError as exc:
        fix = pulumi_cli.UPGRADE if exc.too_old else pulumi_cli.INSTALL
        return (
            Check(
                "pulumi CLI",
                Status.FAIL,
                exc.reason,
                f"{fix}; meanwhile `osp preview --env ENV --offline` works",
            ),
            None,
        )
    return Check("pulumi CLI", Status.PASS, f"v{cli.version} at {cli.path}"), cli


def aws_cli(path_env: str | None = None) -> Check:
    """The `aws` CLI: the Kubernetes provider's kubeconfig runs `aws eks get-token`."""
    found = shutil.which("aws", path=path_env if path_env is not None else os.environ.get("PATH"))
    install = (
        "install the AWS CLI v2 (https://docs.aws.amazon.com/cli/latest/userguide/"
        "getting-started-install.html): the cluster's kubeconfig runs `aws eks get-token`"
    )
    if found is None:
        return Check("aws CLI", Status.FAIL, "not installed (no `aws` on PATH)", install)
    try:
        completed = subprocess.run(
            [found, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("aws CLI", Status.FAIL, f"{found} does not run: {exc}", f"re{install}")
    text = (completed.stdout or completed.stderr).strip()
    if completed.returncode != 0 or not text.startswith("aws-cli/"):
        return Check(
            "aws CLI",
            Status.FAIL,
            f"{found}: `aws --version` printed {text[:80]!r}",
            f"re{install}",
        )
    version = text.split()[0].removeprefix("aws-cli/")
    if not version.startswith("2."):
        return Check(
            "aws CLI",
            Status.FAIL,
            f"aws-cli {version} at {found}; `aws eks get-token` needs v2",
            "upgrade to the AWS CLI v2 (https://docs.aws.amazon.com/cli/latest/userguide/"
            "getting-started-install.html)",
        )
    return Check("aws CLI", Status.PASS, f"{version} at {found}")


#: STS error codes that mean the credentials themselves were refused.
_REJECTED = frozenset(
    {"InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "AccessDenied",
     "UnrecognizedClientException", "ExpiredTokenException"}
)  # fmt: skip


def credentials(session: Any, spec: EnvironmentSpec | None, region: str | None) -> Check:
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        ReadTimeoutError,
    )

    fix = "configure AWS credentials: `aws configure`, `aws sso login`, or AWS_PROFILE"
    try:
        identity = _client(session, "sts", region).get_caller_identity()
    except NoCredentialsError:
        return Check("AWS credentials", Status.FAIL, "no credentials found", fix)
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as exc:
        return Check(
            "AWS credentials",
            Status.FAIL,
            f"cannot reach the STS endpoint ({exc}); the credentials were not checked",
            "check the network, the proxy (HTTPS_PROXY) and AWS_ENDPOINT_URL, then run "
            "`osp doctor` again",
        )
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code in _REJECTED:
            return Check(
                "AWS credentials",
                Status.FAIL,
                f"credentials rejected by STS ({code})",
                "renew or replace them: `aws sso login`, `aws configure`, or another AWS_PROFILE",
            )
        return Check("AWS credentials", Status.FAIL, f"STS GetCallerIdentity: {exc}", fix)
    except BotoCoreError as exc:
        return Check("AWS credentials", Status.FAIL, f"STS GetCallerIdentity: {exc}", fix)
    account, arn = identity["Account"], identity["Arn"]
    if spec is not None and spec.account_id and spec.account_id != account:
        return Check(
            "AWS credentials",
            Status.FAIL,
            f"{arn}: account {account}, but {spec.name}'s osp:account_id is {spec.account_id}",
            f"use credentials for account {spec.account_id} (AWS_PROFILE=…)",
        )
    return Check("AWS credentials", Status.PASS, f"{arn} (account {account})")


def region_of(session: Any, spec: EnvironmentSpec | None) -> tuple[Check, str | None]:
    if spec is not None:
        return Check("region", Status.PASS, f"{spec.region} (aws:region of {spec.name})"), (
            spec.region
        )
    region = session.region_name
    if region:
        return Check("region", Status.PASS, f"{region} (AWS configuration)"), region
    return (
        Check(
            "region",
            Status.FAIL,
            "no region: no --env, and no region in the AWS configuration",
            "run `osp doctor --env ENV`, or set AWS_REGION",
        ),
        None,
    )


def reachable(backend: Backend, session: Any, region: str | None) -> Check:
    if backend.kind == "file":
        folder = backend.local_dir
        assert folder is not None
        existing = next(p for p in (folder, *folder.parents) if p.exists())
        if os.access(existing, os.W_OK | os.X_OK) and existing.is_dir():
            note = "" if existing == folder else " (created on the first run)"
            return Check("backend", Status.PASS, f"{backend.url}: writable{note}")
        return Check(
            "backend",
            Status.FAIL,
            f"{backend.url}: {existing} is not a writable folder",
            f"make {existing} writable, or set {home.HOME_ENV} to a writable folder",
        )
    if backend.kind == "s3":
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectTimeoutError,
            EndpointConnectionError,
        )

        bucket, _, bucket_region = backend.bucket or ("", "", None)
        try:
            _client(session, "s3", bucket_region or region).head_bucket(Bucket=bucket)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            missing = code in ("404", "NoSuchBucket", "NotFound")
            return Check(
                "backend",
                Status.FAIL,
                f"{backend.url}: {'no such bucket' if missing else f'HeadBucket: {code}'}",
                f"osp bootstrap --region {bucket_region or region or 'REGION'}"
                if missing
                else "grant s3:ListBucket, s3:GetObject, s3:PutObject on the bucket",
            )
        except (EndpointConnectionError, ConnectTimeoutError) as exc:
            return Check(
                "backend",
                Status.FAIL,
                f"{backend.url}: cannot reach the S3 endpoint ({exc})",
                "check the network, the proxy (HTTPS_PROXY) and the bucket's region",
            )
        except BotoCoreError as exc:
            return Check("backend", Status.FAIL, f"{backend.url}: {exc}", "check the credentials")
        return Check("backend", Status.PASS, f"{backend.url}: reachable")
    return Check("backend", Status.SKIP, f"{backend.url}: a Pulumi service (`pulumi whoami`)")


def secrets(backend: Backend, session: Any, region: str | None) -> Check:
    provider = backend.secrets_provider
    if provider == PASSPHRASE:
        if backends.passphrase_given():
            return Check("secrets", Status.PASS, "passphrase from the environment")
        path = home.passphrase_path()
        if not path.exists():
            return Check("secrets", Status.PASS, f"passphrase: {path} is generated on first run")
        try:
            home.require_private(path)
        except OspError as exc:
            return Check("secrets", Status.FAIL, str(exc).split("; ")[0], f"chmod 600 {path}")
        return Check("secrets", Status.PASS, f"passphrase in {path} (0600)")
    if provider and provider.startswith("awskms://"):
        from urllib.parse import parse_qs, urlsplit

        from botocore.exceptions import BotoCoreError, ClientError

        parts = urlsplit(provider)
        key = f"{parts.netloc}{parts.path}"
        key_region = parse_qs(parts.query).get("region", [region])[0]
        try:
            state = _client(session, "kms", key_region).describe_key(KeyId=key)["KeyMetadata"][
                "KeyState"
            ]
        except (ClientError, BotoCoreError) as exc:
            return Check("secrets", Status.FAIL, f"{provider}: {exc}", "osp bootstrap")
        if state != "Enabled":
            return Check("secrets", Status.FAIL, f"{provider}: key is {state}", "enable the key")
        return Check("secrets", Status.PASS, f"{provider}: key enabled")
    return Check("secrets", Status.SKIP, f"{provider or 'the service default'}: not checked")


def lock(
    backend: Backend,
    session: Any,
    region: str | None,
    project: Project | None,
    spec: EnvironmentSpec | None,
) -> Check:
    project_name = project.name if project else "osp"
    stack = spec.name if spec else None
    scope = f"the {stack} stack" if stack else "any stack"
    if backend.kind == "file":
        folder = backend.local_dir
        assert folder is not None
        holders = locks.read_lock_files(folder, project_name, stack)
    elif backend.kind == "s3":
        bucket, prefix, bucket_region = backend.bucket or ("", "", None)
        holders = locks.read_s3_locks(
            _client(session, "s3", bucket_region or region), bucket, prefix, project_name, stack
        )
    else:
        return Check("state lock", Status.SKIP, "the service manages its own locks")
    if not holders:
        return Check("state lock", Status.PASS, f"no lock held on {scope}")
    who = "; ".join(h.describe() for h in holders)
    return Check(
        "state lock",
        Status.FAIL,
        f"{scope} is locked by {who}",
        f"wait for that update; if it is dead: PULUMI_BACKEND_URL={backend.url} pulumi cancel "
        f"--yes --stack {stack or 'STACK'} (from the project root)",
    )


def cluster_api(spec: EnvironmentSpec, session: Any, probe: cluster_access.Probe) -> Check:
    """The cluster's Kubernetes API from this machine: the live endpoint when the cluster
    exists (resolve, connect to 443), else what the spec declares against where this machine
    stands (its public address, its address toward the VPC)."""
    from botocore.exceptions import BotoCoreError, ClientError

    name = naming.physical_name(spec.name, "eks", NameKind.EKS_CLUSTER)
    try:
        found = _client(session, "eks", spec.region).describe_cluster(name=name)["cluster"]
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        note = (
            f"no cluster {name} yet"
            if code == "ResourceNotFoundException"
            else f"cluster {name} not read ({code})"
        )
        return _reach_check(cluster_access.from_here(spec, probe), f"{note}; ")
    except BotoCoreError as exc:
        return _reach_check(cluster_access.from_here(spec, probe), f"cluster not read ({exc}); ")
    url = found.get("endpoint")
    if not url:
        return _reach_check(cluster_access.from_here(spec, probe), f"{name} has no endpoint yet; ")
    return _reach_check(cluster_access.endpoint(spec, url, probe), f"{url}: ")


def _reach_check(reach: cluster_access.Reach, prefix: str) -> Check:
    status = {
        cluster_access.Verdict.REACHABLE: Status.PASS,
        cluster_access.Verdict.UNREACHABLE: Status.FAIL,
        cluster_access.Verdict.UNKNOWN: Status.FAIL,
    }[reach.verdict]
    return Check("cluster API", status, prefix + reach.detail, reach.fix)


def required_plugins() -> dict[str, str]:
    """Plugin name → the version the installed Python SDK was built for (read, not imported)."""
    found = {}
    for name, package in PLUGIN_SDKS.items():
        try:
            dist = metadata.distribution(package)
        except metadata.PackageNotFoundError:
            continue
        manifest = Path(str(dist.locate_file(f"{package}/pulumi-plugin.json")))
        try:
            found[name] = json.loads(manifest.read_text(encoding="utf-8"))["version"]
        except (OSError, ValueError, KeyError):
            found[name] = dist.version
    return found


def plugins(
    cli: pulumi_cli.PulumiCli | None,
    run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run,
) -> Check:
    if cli is None:
        return Check("plugins", Status.SKIP, "needs the pulumi CLI")
    wanted = required_plugins()
    try:
        completed = run(
            [str(cli.path), "plugin", "ls", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
        )
        listed = json.loads(completed.stdout or "[]")
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        return Check("plugins", Status.FAIL, f"`pulumi plugin ls --json`: {exc}", "reinstall")
    installed = {
        (p.get("name"), str(p.get("version", "")).removeprefix("v"))
        for p in listed
        if isinstance(p, dict) and p.get("kind") == "resource"
    }
    missing = {n: v for n, v in sorted(wanted.items()) if (n, v) not in installed}
    if not missing:
        shown = ", ".join(f"{n} {v}" for n, v in sorted(wanted.items()))
        return Check("plugins", Status.PASS, shown)
    return Check(
        "plugins",
        Status.FAIL,
        "missing: " + ", ".join(f"{n} {v}" for n, v in missing.items()),
        " && ".join(f"pulumi plugin install resource {n} {v}" for n, v in missing.items())
        + " (or let the first `osp up` download them)",
    )


def _client(session: Any, service: str, region: str | None) -> Any:
    from botocore.config import Config

    return session.client(
        service,
        region_name=region or "us-east-1",
        config=Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 2}),
    )
