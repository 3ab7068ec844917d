"""What every pod of the application layer is made of, and what it may be given.

Three kinds of pods run on the estate's cluster: the services' (`ServiceWorkload`) and two Jobs
that run once per change (`ServiceDatabases`, `RabbitMqTopology`). All of them are built from
the pieces here, so they are hardened the same way and refuse the same arguments in the same
words:

- the Pod Security `restricted` contexts, a fixed non-root user, the workload node pool;
- NetworkPolicy pieces: CoreDNS (the one thing every pod reaches), CIDR blocks on named ports,
  the policy of a pod that takes no traffic at all;
- a ServiceAccount bound to an IAM role (IRSA) that mounts no Kubernetes API token;
- for the Jobs: the pod, its volumes (memory-backed for credentials), the Job itself (replaced,
  so re-run, on any change and after a failure), and the programs they run, which ship as files
  under `app/jobs/` (linted and tested here; never imported by osp);
- the checks of what these take: namespace, labels, image references, CIDR blocks.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import ipaddress
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from osp.components.cluster import POOL_LABEL
from osp.platform import limits

#: Label naming the pods of a service or a Job; selectors and NetworkPolicy peers use it.
NAME_LABEL = "app.kubernetes.io/name"

#: Numeric user and group the containers run as (distroless's `nonroot`): non-root is
#: enforced by the kubelet, which can only check a numeric user.
RUN_AS = 65532

#: Where AWS's APIs (STS for IRSA, Secrets Manager …) listen, through the interface endpoints.
HTTPS_PORT = 443

#: CoreDNS pods, the one thing every pod must reach.
DNS_NAMESPACE = "kube-system"
DNS_POD_LABELS = {"k8s-app": "kube-dns"}

#: The ServiceAccount annotation the EKS pod identity webhook reads (IRSA).
ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"

#: Namespaces that do not enforce Pod Security `restricted`: no osp pod runs in one.
SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


# --- checks of what pods are given ---------------------------------------------------------


def namespace_problem(namespace: object) -> str | None:
    """What the services' namespace should have been, or None: a DNS-1123 label of the estate's
    own — default and kube-* do not enforce Pod Security `restricted`."""
    if not limits.DNS_LABEL.accepts(namespace):
        return "a DNS-1123 label such as osp-services"
    if namespace in SYSTEM_NAMESPACES:
        return (
            "the estate's services namespace, not default or a kube-* namespace (they do not "
            "enforce Pod Security restricted)"
        )
    return None


def label_problems(where: str, labels: Mapping[str, str]) -> list[tuple[str, object, str]]:
    """(arg, value, expected) for every malformed Kubernetes label in `labels`."""
    out: list[tuple[str, object, str]] = []
    for key, value in labels.items():
        expected = limits.K8S_LABEL_KEY.problem(key)
        if expected:
            out.append((where, key, expected))
        expected = limits.K8S_LABEL_VALUE.problem(value)
        if expected:
            out.append((f"{where}[{key!r}]", value, expected))
    return out


def image_problem(image: object) -> str | None:
    """What is wrong with an image reference, or None: a tag is required, never `latest`."""
    if not isinstance(image, str):
        return "an image reference"
    reference, _, digest = image.partition("@")
    if digest and not limits.IMAGE_DIGEST.accepts(digest):
        return "a digest of the form sha256:<64 hex digits> after '@'"
    slash, colon = reference.rfind("/"), reference.rfind(":")
    if colon <= slash or not reference[:colon]:
        return "a full image reference with an explicit tag, <repository url>:<tag>"
    tag = reference[colon + 1 :]
    if not limits.IMAGE_TAG.accepts(tag):
        return "a tag of letters, digits, '_', '.' and '-', at most 128 characters"
    if tag.lower() == "latest":
        return (
            "an explicit version tag, never 'latest': a moving tag makes a rollout "
            "unrepeatable and a rollback impossible"
        )
    return None


def image_problems(**images: object) -> Iterator[tuple[str, object, str]]:
    """(arg, value, expected) for each image argument (`arg=value`) that `image_problem`
    refuses."""
    for arg, image in images.items():
        expected = image_problem(image)
        if expected:
            yield arg, image, expected


def cidr_problem(cidr: object, *, whole_space: str | None = None) -> str | None:
    """What an IPv4 CIDR block should have been, or None. `whole_space`, when given, is what
    to expect instead of 0.0.0.0/0 (which is then refused)."""
    if not isinstance(cidr, str):
        return "an IPv4 CIDR block such as 10.0.0.0/24"
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        return "an IPv4 CIDR block such as 10.0.0.0/24 (no host bits set)"
    if network.version != 4:
        return "an IPv4 CIDR block (the VPC is IPv4)"
    if whole_space is not None and network.prefixlen == 0:
        return whole_space
    return None


def cidr_list_problems(
    arg: str, cidrs: object, *, whole_space: str | None = None
) -> Iterator[tuple[str, object, str]]:
    """(arg, value, expected) for a list of IPv4 CIDR blocks a pod may reach: at least one,
    each once, each valid (and not 0.0.0.0/0 when `whole_space` says what to expect instead)."""
    if isinstance(cidrs, str) or not isinstance(cidrs, Sequence):
        yield arg, cidrs, "a list of CIDRs, not one string"
        return
    if not cidrs:
        yield arg, [], "at least one CIDR (otherwise the pods can reach nothing there)"
    for index, cidr in enumerate(cidrs):
        expected = cidr_problem(cidr, whole_space=whole_space)
        if expected:
            yield f"{arg}[{index}]", cidr, expected
    if len(set(map(str, cidrs))) != len(cidrs):
        yield arg, list(cidrs), "each CIDR once"


# --- what the pods look like ---------------------------------------------------------------


def workload_pool() -> dict[str, str]:
    """The node selector of the workload pool, leaving the system pool to the add-ons."""
    return {POOL_LABEL: "workload"}


def pod_security_context() -> dict[str, object]:
    """Pod-level: a fixed non-root user and group, volumes owned by that group, seccomp."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        # The IRSA token is a projected volume: fsGroup makes it readable by the user.
        "fsGroup": RUN_AS,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, object]:
    """Container-level: Pod Security `restricted`, plus a read-only root filesystem."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "privileged": False,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def dns_egress() -> dict[str, object]:
    """The NetworkPolicy egress rule every pod needs: CoreDNS, on 53 over UDP and TCP."""
    return {
        "to": [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": DNS_NAMESPACE}
                },
                "podSelector": {"matchLabels": dict(DNS_POD_LABELS)},
            }
        ],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }


def cidr_egress(
    cidrs: Sequence[str], ports: Sequence[int], protocol: str = "TCP"
) -> dict[str, object]:
    """A NetworkPolicy egress rule: to `cidrs`, on `ports` only, over `protocol`."""
    return {
        "to": [{"ipBlock": {"cidr": cidr}} for cidr in cidrs],
        "ports": [{"protocol": protocol, "port": port} for port in ports],
    }


def no_ingress_policy_spec(
    pod_labels: Mapping[str, str], egress: Sequence[Mapping[str, object]]
) -> dict[str, object]:
    """A NetworkPolicy for pods that take no traffic: no ingress; egress to CoreDNS and then
    `egress` only."""
    return {
        "podSelector": {"matchLabels": dict(pod_labels)},
        # Both types: the empty ingress list then denies all of it.
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [],
        "egress": [dns_egress(), *egress],
    }


def irsa_service_account(
    resource_name: str,
    *,
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    role_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.ServiceAccount:
    """A ServiceAccount bound to `role_arn` (IRSA) that mounts no Kubernetes API token: the
    pods never call the Kubernetes API, and IRSA does not need that token — the EKS pod
    identity webhook projects a separate, audience-bound token for STS into the pod."""
    return k8s.core.v1.ServiceAccount(
        resource_name,
        metadata={
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": {ROLE_ANNOTATION: role_arn},
        },
        automount_service_account_token=False,
        opts=opts,
    )


# --- Jobs that run once per change ----------------------------------------------------------


def job_file(name: str) -> str:
    """The text of a program a Job runs, shipped as package data under `app/jobs/`."""
    return importlib.resources.files("osp.app").joinpath(f"jobs/{name}").read_text("utf-8")


def memory_volume(name: str, size_limit: str) -> dict[str, object]:
    """A memory-backed emptyDir (tmpfs): what a Job's credentials live in, never a disk."""
    return {"name": name, "emptyDir": {"medium": "Memory", "sizeLimit": size_limit}}


def scratch_volume(name: str, size_limit: str) -> dict[str, object]:
    """A size-capped emptyDir: the writable /tmp of a read-only root filesystem."""
    return {"name": name, "emptyDir": {"sizeLimit": size_limit}}


def claim_volume(name: str, claim: str) -> dict[str, object]:
    """A PersistentVolumeClaim as a pod volume: storage that outlives the pod."""
    return {"name": name, "persistentVolumeClaim": {"claimName": claim}}


def config_map_volume(name: str, config_map: str) -> dict[str, object]:
    """A ConfigMap mounted read-only for everyone (it holds no secret)."""
    return {"name": name, "configMap": {"name": config_map, "defaultMode": 0o444}}


#: Hex digits of a setup Job's content hash in its (and its ConfigMap's) name.
JOB_HASH_LENGTH = 10


def fingerprint(value: object) -> str:
    """A short stable hash of `value` (JSON-serialisable), part of a setup Job's name: a Job's
    pod template cannot change and a finished Job never runs again, so new content is a new
    Job."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:JOB_HASH_LENGTH]


def job_container(
    name: str,
    image: str,
    command: list[str],
    env: list[dict[str, Any]],
    *,
    resources: dict[str, Any],
    mounts: list[dict[str, Any]],
    termination_message_policy: str | None = None,
) -> dict[str, Any]:
    """One container of a setup Job: its command, hardened (restricted Pod Security), pulled
    only when missing."""
    container: dict[str, Any] = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "env": env,
        "resources": resources,
        "securityContext": container_security_context(),
        "volumeMounts": mounts,
    }
    if termination_message_policy is not None:
        container["terminationMessagePolicy"] = termination_message_policy
    return container


def job_pod_spec(
    *,
    service_account: str,
    node_selector: Mapping[str, str],
    init_containers: Sequence[Mapping[str, object]],
    containers: Sequence[Mapping[str, object]],
    volumes: Sequence[Mapping[str, object]],
) -> dict[str, object]:
    """A Job's pod: run once, never restarted in place (the Job retries with a new pod), with
    its own ServiceAccount and no API token, no service links, Pod Security `restricted`."""
    return {
        "restartPolicy": "Never",
        "serviceAccountName": service_account,
        # IRSA does not need the API token (the webhook projects its own, for STS only).
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(),
        "nodeSelector": dict(node_selector),
        "initContainers": list(init_containers),
        "containers": list(containers),
        "volumes": list(volumes),
    }


def run_once_job(
    resource_name: str,
    *,
    metadata: Mapping[str, object],
    spec: Mapping[str, object],
    timeout: str,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource],
) -> k8s.batch.v1.Job:
    """A Job Pulumi waits for, named after what it runs (`<name>-<hash>`): any change to it is
    a new Job, the old (finished) one deleted first, as a Job's pod template cannot change and
    two Jobs cannot share a name. A Job that failed (a broker or an instance not yet serving,
    a role IAM has not yet propagated) is replaced, so re-run, by the next update
    (`pulumi.com/replaceUnready`) instead of being awaited again for ever. `timeout` outlasts
    the Job's own deadline, so the Job's failure is what is reported. No
    ttlSecondsAfterFinished belongs in `spec`: Pulumi owns the Job, and one that deleted itself
    would be created, so run, again by the next update."""
    return k8s.batch.v1.Job(
        resource_name,
        metadata={**metadata, "annotations": {"pulumi.com/replaceUnready": "true"}},
        spec=spec,
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=list(depends_on),
            replace_on_changes=["spec"],
            delete_before_replace=True,
            custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout),
        ),
    )
