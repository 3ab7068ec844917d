"""Kubernetes workloads: every container runs as non-root, with a read-only root
filesystem, no privilege escalation, CPU and memory limits, and a pinned image; no pod shares
the node's namespaces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from osp.platform.plan import PlannedResource
from osp.platform.policy.model import Check, Rule, Scope, Severity
from osp.platform.policy.rules._reading import as_list, at

#: Where each workload kind keeps its pod spec.
POD_SPEC_PATHS = {
    "kubernetes:core/v1:Pod": "spec",
    "kubernetes:apps/v1:Deployment": "spec.template.spec",
    "kubernetes:apps/v1:StatefulSet": "spec.template.spec",
    "kubernetes:apps/v1:DaemonSet": "spec.template.spec",
    "kubernetes:apps/v1:ReplicaSet": "spec.template.spec",
    "kubernetes:batch/v1:Job": "spec.template.spec",
    "kubernetes:batch/v1:CronJob": "spec.jobTemplate.spec.template.spec",
}
WORKLOADS = tuple(POD_SPEC_PATHS)
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def _pod(resource: PlannedResource) -> tuple[str, dict]:
    path = POD_SPEC_PATHS[resource.type]
    return path, at(resource.inputs, path) or {}


def _containers(resource: PlannedResource) -> Iterator[tuple[str, dict]]:
    path, pod = _pod(resource)
    for kind in _CONTAINER_LISTS:
        for index, container in enumerate(as_list(pod.get(kind))):
            if isinstance(container, dict):
                yield f"{path}.{kind}[{index}]", container


def _effective(container: dict, pod: dict, key: str) -> tuple[str, Any]:
    """A security setting as Kubernetes applies it: the container's, else the pod's."""
    own = at(container, f"securityContext.{key}")
    if own is not None:
        return "securityContext", own
    return "pod", at(pod, f"securityContext.{key}")


def _per_container(resource: PlannedResource, judge) -> Check | None:
    containers = list(_containers(resource))
    if not containers:
        return None
    _, pod = _pod(resource)
    evidence: dict[str, Any] = {}
    bad = []
    for path, container in containers:
        problem, shown = judge(container, pod, path)
        evidence.update(shown)
        if problem:
            bad.append(f"container {container.get('name')} {problem}")
    return Check.of(not bad, "; ".join(bad), **evidence)


def _non_root(container: dict, pod: dict, path: str):
    pod_path = _pod_path(path)
    where, non_root = _effective(container, pod, "runAsNonRoot")
    _, user = _effective(container, pod, "runAsUser")
    at_path = (
        f"{path}.securityContext.runAsNonRoot"
        if where == "securityContext"
        else f"{pod_path}.securityContext.runAsNonRoot"
    )
    if user == 0:
        return "runs as root (runAsUser 0)", {f"{path}.securityContext.runAsUser": user}
    return ("" if non_root is True else "may run as root (runAsNonRoot not true)"), {
        at_path: non_root
    }


def _pod_path(container_path: str) -> str:
    return container_path.rsplit(".", 1)[0]


def _read_only_root(container: dict, pod: dict, path: str):
    value = at(container, "securityContext.readOnlyRootFilesystem")
    return ("" if value is True else "has a writable root filesystem"), {
        f"{path}.securityContext.readOnlyRootFilesystem": value
    }


def _no_escalation(container: dict, pod: dict, path: str):
    escalation = at(container, "securityContext.allowPrivilegeEscalation")
    privileged = at(container, "securityContext.privileged")
    shown = {
        f"{path}.securityContext.allowPrivilegeEscalation": escalation,
        f"{path}.securityContext.privileged": privileged,
    }
    if privileged is True:
        return "is privileged", shown
    # Kubernetes defaults allowPrivilegeEscalation to true.
    return ("" if escalation is False else "may escalate privileges"), shown


def _limits(container: dict, pod: dict, path: str):
    limits = at(container, "resources.limits") or {}
    missing = [r for r in ("cpu", "memory") if not limits.get(r)]
    return (f"has no {' or '.join(missing)} limit" if missing else ""), {
        f"{path}.resources.limits": limits or None
    }


def image_pinned(image: Any) -> bool:
    """An image reference with a digest, or a tag other than `latest`."""
    if not isinstance(image, str) or not image:
        return False
    if "@sha256:" in image:
        return True
    name = image.rsplit("/", 1)[-1]
    if ":" not in name:
        return False
    return name.rsplit(":", 1)[1] != "latest"


def _pinned(container: dict, pod: dict, path: str):
    image = container.get("image")
    return ("" if image_pinned(image) else "runs an unpinned image (no tag, or latest)"), {
        f"{path}.image": image
    }


def _host_namespaces(resource: PlannedResource, scope: Scope) -> Check | None:
    path, pod = _pod(resource)
    if not pod:
        return None
    shared = {f"{path}.{key}": pod.get(key) for key in ("hostNetwork", "hostPID", "hostIPC")}
    bad = [key.rsplit(".", 1)[1] for key, value in shared.items() if value is True]
    return Check.of(not bad, f"shares the node's {', '.join(bad)}" if bad else "", **shared)


def _rule(rule_id, title, severity, controls, rationale, fix, judge) -> Rule:
    return Rule(
        id=rule_id,
        title=title,
        severity=severity,
        controls=controls,
        rationale=rationale,
        fix=fix,
        types=WORKLOADS,
        check=lambda resource, scope: _per_container(resource, judge),
    )


RULES = (
    _rule(
        "OSP-K8S-1",
        "Containers run as non-root",
        Severity.HIGH,
        ("CIS Kubernetes 5.2.7", "NSA-CISA Kubernetes Hardening: non-root containers"),
        "A process running as root in a container is one kernel bug away from root on the "
        "node and every pod on it.",
        "Set `runAsNonRoot: true` and a non-zero `runAsUser` in the pod or container security "
        "context (ServiceWorkload does).",
        _non_root,
    ),
    _rule(
        "OSP-K8S-2",
        "Containers have a read-only root filesystem",
        Severity.MEDIUM,
        ("NSA-CISA Kubernetes Hardening: immutable container file systems",),
        "An attacker who gets code execution cannot drop tools or alter the binaries of a "
        "read-only container; writable paths are explicit emptyDir volumes.",
        "Set `securityContext.readOnlyRootFilesystem: true` and mount an emptyDir where the "
        "service writes.",
        _read_only_root,
    ),
    _rule(
        "OSP-K8S-3",
        "Containers are not privileged and cannot escalate privileges",
        Severity.HIGH,
        ("CIS Kubernetes 5.2.2", "CIS Kubernetes 5.2.6"),
        "A privileged container is root on the node; allowPrivilegeEscalation (true by "
        "default) lets setuid binaries regain what was dropped.",
        "Set `allowPrivilegeEscalation: false` and never `privileged: true`.",
        _no_escalation,
    ),
    _rule(
        "OSP-K8S-4",
        "Containers have CPU and memory limits",
        Severity.MEDIUM,
        ("NSA-CISA Kubernetes Hardening: resource policies", "CIS Kubernetes 5.7"),
        "One runaway or attacked container without limits starves every tenant's pods on its node.",
        "Set `resources.limits.cpu` and `resources.limits.memory` (the catalogue's resources).",
        _limits,
    ),
    _rule(
        "OSP-K8S-5",
        "Container images are pinned (a version tag or digest, never latest)",
        Severity.MEDIUM,
        ("NSA-CISA Kubernetes Hardening: image scanning and provenance", "CIS Kubernetes 5.5.1"),
        "`latest` or no tag runs whatever was pushed last: an unreviewed build, or an "
        "attacker's, on the next pod restart.",
        "Give every image an explicit version tag (the catalogue's image.tag) or a digest.",
        _pinned,
    ),
    Rule(
        id="OSP-K8S-6",
        title="Pods do not share the node's network, PID or IPC namespaces",
        severity=Severity.HIGH,
        controls=("CIS Kubernetes 5.2.3", "CIS Kubernetes 5.2.4", "CIS Kubernetes 5.2.5"),
        rationale="A pod on the host network bypasses network policy and sees node traffic; "
        "host PID/IPC let it inspect and signal other pods' processes.",
        fix="Leave hostNetwork, hostPID and hostIPC unset or false.",
        types=WORKLOADS,
        check=_host_namespaces,
    ),
)
