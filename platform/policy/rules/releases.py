"""Helm releases: a pinned chart version (the plan says exactly what will run), and no chart
values that expose a service on the nodes or a load balancer of its own, outside the ALB and
its WAF."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from osp.platform.plan import PlannedResource
from osp.platform.policy.model import Check, Rule, Scope, Severity

RELEASE = "kubernetes:helm.sh/v3:Release"

#: Service types that reach the pods from outside the cluster network.
EXPOSED_SERVICE_TYPES = frozenset({"LoadBalancer", "NodePort"})

#: A version that is not one version: empty, `latest`, or a semver range.
_UNPINNED = re.compile(r"^\s*$|^latest$|[*^~<>=| ]|(^|\.)[xX](\.|$)")


def pinned(version: Any) -> bool:
    return isinstance(version, str) and not _UNPINNED.search(version)


def _pinned(resource: PlannedResource, scope: Scope) -> Check | None:
    version = resource.inputs.get("version")
    ok = pinned(version)
    return Check.of(
        ok,
        "" if ok else "the chart version is not pinned: each update may install another",
        version=version,
    )


def exposed_services(values: Any, path: str = "values") -> Iterator[tuple[str, str]]:
    """(values key, type) of every service type in chart values that exposes pods outside
    the cluster: a `type` under a key naming a service (`service.type`,
    `server.service.type`) or a `serviceType`."""
    if isinstance(values, Mapping):
        for key, value in values.items():
            where = f"{path}.{key}"
            if isinstance(value, str) and value in EXPOSED_SERVICE_TYPES:
                if key == "serviceType" or (key == "type" and "service" in path.lower()):
                    yield where, value
            else:
                yield from exposed_services(value, where)
    elif isinstance(values, list):
        for index, value in enumerate(values):
            yield from exposed_services(value, f"{path}[{index}]")


def _not_exposed(resource: PlannedResource, scope: Scope) -> Check | None:
    found = list(exposed_services(resource.inputs.get("values") or {}))
    if found:
        path, kind = found[0]
        return Check.of(False, f"a {kind} service is exposed outside the cluster", **{path: kind})
    return Check.of(True, detail="no LoadBalancer or NodePort service in the values")


RULES = (
    Rule(
        id="OSP-HELM-1",
        title="Helm releases pin their chart version",
        severity=Severity.MEDIUM,
        controls=("NIST.800-53.r5 CM-2", "NIST.800-53.r5 CM-14"),
        rationale="An unpinned chart installs whatever was published last: a change nobody "
        "reviewed, and a plan that no longer says what runs.",
        fix="Set `version` to an exact chart version (the add-on's own constant).",
        types=(RELEASE,),
        check=_pinned,
    ),
    Rule(
        id="OSP-HELM-2",
        title="Helm releases expose no service outside the cluster",
        severity=Severity.HIGH,
        controls=("NSA-CISA Kubernetes Hardening: network separation", "NIST.800-53.r5 SC-7"),
        rationale="A LoadBalancer or NodePort service puts Grafana, ArgoCD or Prometheus in "
        "reach of the network without the ALB's TLS, WAF and authentication in front.",
        fix="Keep chart services ClusterIP and reach them through the ALB (an Ingress or "
        "TargetGroupBinding) or `kubectl port-forward`.",
        types=(RELEASE,),
        check=_not_exposed,
    ),
)
