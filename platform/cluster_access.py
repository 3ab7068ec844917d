"""Can this machine reach the cluster's Kubernetes API?

The estate's program installs Helm releases and Kubernetes objects through the cluster's own
API endpoint, in the same run that creates the cluster. A run from a machine that cannot reach
that endpoint creates the AWS half and then fails on the Kubernetes half, so `osp up` asks
here first, before anything is touched, and `osp doctor` asks too (then of the live endpoint
when the cluster exists).

Which networks reach the endpoint follows from the spec (`osp:cluster.api_access` and
`api_allowed_cidrs`); where this machine stands is learnt through a `Probe`: its public
address as the internet sees it, the local address it uses toward the VPC, and a TCP connect
to the endpoint. `NetworkProbe` asks the network; tests pass their own.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.request
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network
from typing import Protocol
from urllib.parse import urlsplit

from osp.platform.errors import OspError
from osp.platform.spec import EnvironmentSpec
from osp.platform.spec.models import ApiAccess

#: Answers with the caller's public address, one line of text (run by AWS, no account needed).
PUBLIC_ADDRESS_URL = "https://checkip.amazonaws.com"
#: The Kubernetes API's port on an EKS endpoint.
API_PORT = 443
TIMEOUT_SECONDS = 5.0
#: Where the docs say how to choose and set up the path to the API.
DOCS = "docs/real-runs.md#reaching-the-cluster"


class ClusterUnreachableError(OspError):
    """The cluster's API cannot be reached from this machine; nothing was touched."""


@dataclass(frozen=True)
class Connection:
    """What a connect to host:port found: the addresses the name resolved to, and the error
    that stopped it (None: the port answered)."""

    addresses: tuple[str, ...]
    error: str | None = None


class Probe(Protocol):
    """Where this machine stands on the network."""

    def public_address(self) -> IPv4Address | None:
        """The address the internet sees this machine's connections come from, or None."""

    def local_address_toward(self, address: IPv4Address) -> IPv4Address | None:
        """The local address this machine would send from toward `address`, or None."""

    def connect(self, host: str, port: int) -> Connection:
        """Resolve `host` and open a TCP connection to `port`."""


class NetworkProbe:
    """The real network, each question bounded by `timeout` seconds."""

    def __init__(self, timeout: float = TIMEOUT_SECONDS) -> None:
        self.timeout = timeout

    def public_address(self) -> IPv4Address | None:
        try:
            with urllib.request.urlopen(PUBLIC_ADDRESS_URL, timeout=self.timeout) as answer:
                text = answer.read(64).decode("ascii", "replace").strip()
            return IPv4Address(text)
        except (OSError, ValueError):
            return None

    def local_address_toward(self, address: IPv4Address) -> IPv4Address | None:
        # Connecting a UDP socket sends nothing: it only asks the kernel for the route.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect((str(address), 53))
                return IPv4Address(probe.getsockname()[0])
            except (OSError, ValueError):
                return None

    def connect(self, host: str, port: int) -> Connection:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            return Connection((), f"{host} does not resolve ({exc})")
        addresses = tuple(dict.fromkeys(str(entry[4][0]) for entry in found))
        errors = []
        for address in addresses:
            try:
                with socket.create_connection((address, port), timeout=self.timeout):
                    return Connection(addresses)
            except OSError as exc:
                errors.append(f"{address}: {exc}")
        return Connection(addresses, f"port {port} does not answer ({'; '.join(errors)})")


class Verdict(StrEnum):
    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"
    #: This machine's place could not be learnt (no route to the address service, …).
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Reach:
    verdict: Verdict
    detail: str
    fix: str = ""


def public_networks(spec: EnvironmentSpec) -> tuple[IPv4Network, ...]:
    """The blocks the public endpoint admits (none: the public endpoint is off)."""
    cluster = spec.cluster
    if cluster.api_access is ApiAccess.PUBLIC_RESTRICTED:
        return cluster.api_allowed_cidrs
    return ()


def deployer_networks(spec: EnvironmentSpec) -> tuple[IPv4Network, ...]:
    """The networks admitted to the private endpoint besides the nodes, with api_access
    private: the VPC's private subnets (where a deployer runs), then `api_allowed_cidrs`."""
    cluster = spec.cluster
    if cluster.api_access is not ApiAccess.PRIVATE:
        return ()
    subnets = spec.network.subnets
    private = (subnets.private.cidr,) if subnets is not None else (spec.network.cidr,)
    return tuple(dict.fromkeys((*private, *cluster.api_allowed_cidrs)))


def _key(spec: EnvironmentSpec, key: str) -> str:
    return f"osp:cluster.{key} in stacks/Pulumi.{spec.name}.yaml"


def _shown(networks: tuple[IPv4Network, ...]) -> str:
    return ", ".join(map(str, networks)) or "none"


def from_here(spec: EnvironmentSpec, probe: Probe) -> Reach:
    """Whether the endpoint the spec declares admits this machine, judged from the spec and
    where this machine stands (no cluster needed)."""
    if spec.cluster.api_access is ApiAccess.PRIVATE:
        return _private_from_here(spec, probe)
    allowed = public_networks(spec)
    address = probe.public_address()
    if not allowed:
        mine = f"{address}/32" if address else "this machine's public address (curl "
        mine += "" if address else f"{PUBLIC_ADDRESS_URL})"
        return Reach(
            Verdict.UNREACHABLE,
            f"{_key(spec, 'api_allowed_cidrs')} names no network: the public endpoint is off "
            "and the private one admits only the cluster's nodes",
            f"add {mine} to {_key(spec, 'api_allowed_cidrs')}, or set api_access: private and "
            f"deploy from inside the VPC ({DOCS})",
        )
    if address is None:
        return Reach(
            Verdict.UNKNOWN,
            f"could not learn this machine's public address from {PUBLIC_ADDRESS_URL}, so "
            f"cannot tell whether api_allowed_cidrs ({_shown(allowed)}) admits it",
            "check the network; if you know this machine's address is admitted, run `osp up "
            "--skip-api-check`",
        )
    inside = next((net for net in allowed if address in net), None)
    if inside is not None:
        return Reach(
            Verdict.REACHABLE,
            f"this machine reaches the internet as {address}, inside {inside} of api_allowed_cidrs",
        )
    return Reach(
        Verdict.UNREACHABLE,
        f"this machine reaches the internet as {address}, which is not in "
        f"{_key(spec, 'api_allowed_cidrs')} ({_shown(allowed)})",
        f"add {address}/32 to {_key(spec, 'api_allowed_cidrs')}, or run from a machine whose "
        f"address is listed ({DOCS})",
    )


def _private_from_here(spec: EnvironmentSpec, probe: Probe) -> Reach:
    allowed = deployer_networks(spec)
    # The VPC's DNS resolver: an address in the VPC that exists before any subnet does.
    resolver = spec.network.cidr.network_address + 2
    address = probe.local_address_toward(resolver)
    fix = (
        f"run osp up from inside the VPC's private subnets (a CI runner or CodeBuild project "
        f"there) or a network in {_key(spec, 'api_allowed_cidrs')}; for a first run from "
        f"outside, set api_access: public-restricted with your public address ({DOCS})"
    )
    if address is None:
        return Reach(
            Verdict.UNKNOWN,
            f"this machine has no route toward the VPC ({spec.network.cidr})",
            fix,
        )
    inside = next((net for net in allowed if address in net), None)
    if inside is None:
        return Reach(
            Verdict.UNREACHABLE,
            f"osp:cluster.api_access is private: the API admits only {_shown(allowed)}, and "
            f"this machine's address toward the VPC is {address}",
            fix,
        )
    return Reach(Verdict.REACHABLE, f"this machine's address {address} is in {inside}")


def endpoint(spec: EnvironmentSpec, url: str, probe: Probe) -> Reach:
    """Whether the live endpoint `url` (https://…) answers on its port from this machine."""
    host = urlsplit(url).hostname or url
    found = probe.connect(host, API_PORT)
    if found.error is None:
        return Reach(
            Verdict.REACHABLE,
            f"{host} ({', '.join(found.addresses)}) answers on port {API_PORT}",
        )
    private = [a for a in found.addresses if ipaddress.ip_address(a).is_private]
    where = " (private addresses: only the VPC resolves the name this way)" if private else ""
    expected = from_here(spec, probe)
    return Reach(
        Verdict.UNREACHABLE,
        f"{found.error}{where}",
        expected.fix or f"check {_key(spec, 'api_access')} and api_allowed_cidrs ({DOCS})",
    )


def require(spec: EnvironmentSpec, probe: Probe) -> Reach:
    """The verdict for a run from here; raises `ClusterUnreachableError` (with the fix) when
    the Kubernetes half could not be reached or it cannot be told."""
    reach = from_here(spec, probe)
    if reach.verdict is Verdict.REACHABLE:
        return reach
    head = (
        f"{spec.name}'s Kubernetes API cannot be reached from this machine"
        if reach.verdict is Verdict.UNREACHABLE
        else f"cannot tell whether {spec.name}'s Kubernetes API can be reached from here"
    )
    raise ClusterUnreachableError(
        f"{head}: {reach.detail}; the update would create the AWS half and fail on the "
        f"Kubernetes half, so nothing was started. Fix: {reach.fix}"
    )
