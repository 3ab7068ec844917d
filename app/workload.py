"""`ServiceWorkload`: one catalogue service on EKS — its pods, identity, reach and scaling.

Every service gets the same shape: a ServiceAccount bound to its own IAM role (IRSA), a
Deployment of hardened pods, a ClusterIP Service, a HorizontalPodAutoscaler, a
PodDisruptionBudget, a NetworkPolicy naming exactly who may reach it and what it may reach, and,
when the load balancer routes to it, a TargetGroupBinding that keeps the pods registered in its
target group. Configuration reaches the pods as environment variables that *point at* things
(endpoints, queue URLs, topic and secret ARNs, bucket names); secret values never enter a
manifest or Pulumi's state: the service reads them from Secrets Manager with its own role.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import pulumi
import pulumi_kubernetes as k8s

from osp.components.cluster import POOL_LABEL
from osp.platform.catalogue import Probe, Probes, Replicas, Resources
from osp.platform.limits import is_int

TOKEN = "osp:app:ServiceWorkload"

#: Label naming a service's pods; selectors, NetworkPolicy peers and the PDB all use it.
NAME_LABEL = "app.kubernetes.io/name"

#: Numeric user and group the containers run as (distroless's `nonroot`): non-root is
#: enforced by the kubelet, which can only check a numeric user.
RUN_AS = 65532

#: Name of the container port; Service, probes and TargetGroupBinding refer to it.
PORT_NAME = "http"

#: Size cap of the writable /tmp (the root filesystem is read-only).
TMP_SIZE_LIMIT = "256Mi"

#: Seconds between the load balancer stopping new requests to a target and the target
#: really being out of rotation (deregistration reaching every ALB node).
DEREGISTRATION_PROPAGATION_SECONDS = 5

#: Utilisation of the requests the autoscaler keeps each pod at.
CPU_UTILISATION = 70
MEMORY_UTILISATION = 80

#: CoreDNS pods, the one thing every pod must reach.
DNS_NAMESPACE = "kube-system"
DNS_POD_LABELS = {"k8s-app": "kube-dns"}

#: Variables the EKS pod identity webhook sets, or static AWS credentials: never from args.
RESERVED_ENV = frozenset(
    {
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    }
)

_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_1123 = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_LABEL_PREFIX = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_KEY = re.compile(rf"({_LABEL_PREFIX}/)?{_LABEL_NAME}")
_LABEL_VALUE = re.compile(rf"({_LABEL_NAME})?")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Whole words between underscores: AUTH_TOKEN and DB_PASSWORD, not AUTHORIZED_ORIGINS.
_SECRET_WORD = re.compile(
    r"(^|_)(PASSWORD|PASSWD|PASS|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIALS?"
    r"|AUTH)(_|$)",
    re.I,
)
_REFERENCE_SUFFIX = re.compile(r"_(ARN|ID|NAME|URL|URI|ENDPOINT|HOST|FILE|PATH)$", re.I)
_KEY_MATERIAL = re.compile(r"-----BEGIN|(AKIA|ASIA)[0-9A-Z]{16}")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_ROLE_ARN = re.compile(r"arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
_TARGET_GROUP_ARN = re.compile(
    r"arn:aws(-cn|-us-gov)?:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup/[\w-]{1,32}/[0-9a-f]+"
)
_SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


class NetworkProtocol(StrEnum):
    """Transport protocol of a NetworkPolicy port (Kubernetes spelling)."""

    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"


@dataclass(frozen=True, kw_only=True)
class EgressRule:
    """Connections a service's pods may open: to `cidr`, on `ports`, over `protocol`."""

    cidr: str
    """IPv4 block, such as the isolated subnets (data stores) or the private subnets
    (interface endpoints). 0.0.0.0/0 is allowed for AWS's public endpoints (SNS, SES, S3
    through NAT or the gateway endpoint), and then only on the ports given."""

    ports: tuple[int, ...]
    """Destination ports, at least one (a rule never opens every port)."""

    protocol: NetworkProtocol = NetworkProtocol.TCP
    """TCP, UDP or SCTP. Default: TCP."""


def _default_node_selector() -> dict[str, str]:
    return {POOL_LABEL: "workload"}


@dataclass(frozen=True, kw_only=True)
class ServiceWorkloadArgs:
    """Arguments of `ServiceWorkload`."""

    service: str
    """The service's name (a catalogue name, a DNS-1035 label): names every object, the
    container and its pods' `app.kubernetes.io/name` label."""

    namespace: str
    """Namespace of every object: the estate's services namespace (see `ClusterAddons`), never
    `default` or a `kube-*` one."""

    image: pulumi.Input[str]
    """Full image reference `<repository url>:<tag>` (optionally `@sha256:<digest>` after the
    tag). A tag is required and `latest` is refused — checked here for a literal, and when
    the value resolves for an Output."""

    port: int
    """Container port the service listens on, 1024–65535 (the container has no capability to
    bind a lower one). Also the Service's port."""

    role_arn: pulumi.Input[str]
    """The service's own IAM role (IRSA), trusted only by `system:serviceaccount:<namespace>:
    <service>`; annotated on the ServiceAccount."""

    replicas: Replicas
    """min/baseline/max, resolved for the environment by the caller (dev may pass 1/1/1). The
    Deployment starts at `baseline`; the autoscaler then keeps it between `min` (at least 1)
    and `max`."""

    resources: Resources = field(default_factory=Resources)
    """CPU and memory requests and limits. Default: the catalogue's (250m/256Mi requested,
    1/512Mi limits). The autoscaler's utilisation targets are relative to the requests."""

    probes: Probes = field(default_factory=Probes)
    """Startup, readiness and liveness HTTP probes on the service port. Default: the
    catalogue's (/healthz, /readyz, /healthz)."""

    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Environment variables: configuration that points at things — endpoints, queue URLs,
    topic ARNs, bucket names, secret ARNs. Never a secret value: a name that suggests one
    (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …) must end in _ARN, _ID, _NAME, _URL, _URI,
    _ENDPOINT, _HOST, _FILE or _PATH; a literal that looks like key material is refused; an
    Output marked secret fails the deployment rather than reach the manifest. Names the IRSA
    webhook sets (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE) and static AWS credentials are
    refused. Default: none."""

    target_group_arn: pulumi.Input[str] | None = None
    """The service's target group on the estate's load balancer. Given: a TargetGroupBinding
    registers the pods in it and the NetworkPolicy admits `load_balancer_cidrs`. Default: none
    (an internal service, reached only by its callers)."""

    load_balancer_cidrs: Sequence[str] = ()
    """The public subnets' CIDRs, where the load balancer's nodes live; admitted to the port
    when `target_group_arn` is given (required then), ignored otherwise."""

    callers: Sequence[str] = ()
    """Services (by name) whose pods may call this one directly, on its port. Default: none."""

    calls: Mapping[str, int] = field(default_factory=dict)
    """Services (by name) this one calls directly, each with its port: egress to their pods
    on that port only (their own policy must list this service among its `callers`).
    Default: none."""

    egress: Sequence[EgressRule] = ()
    """Where the pods may connect besides DNS (always allowed, to CoreDNS only): the data
    stores' ports on the isolated subnets, 443 to the AWS endpoints. Default: nothing else."""

    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on every object and pod (such as `app.kubernetes.io/part-of`). Cannot
    set `app.kubernetes.io/name`."""

    node_selector: Mapping[str, str] = field(default_factory=_default_node_selector)
    """Nodes the pods may run on. Default: the workload pool (`osp.io/pool: workload`),
    leaving the system pool to the cluster add-ons."""

    deregistration_delay_seconds: int = 30
    """The target group's deregistration delay (osp's load balancer uses 30). A terminating
    pod keeps serving this long plus 5 s (a preStop sleep) before it gets SIGTERM, so the
    load balancer has stopped sending to it first. 0–3600."""

    shutdown_seconds: int = 15
    """Time the process gets between SIGTERM and SIGKILL to finish in-flight work, 1–600.
    terminationGracePeriodSeconds is the preStop sleep plus this."""


# --- checks -------------------------------------------------------------------------------


def label_problems(where: str, labels: Mapping[str, str]) -> list[tuple[str, object, str]]:
    """(arg, value, expected) for every malformed Kubernetes label in `labels`."""
    out: list[tuple[str, object, str]] = []
    for key, value in labels.items():
        if not isinstance(key, str) or len(key) > 317 or not _LABEL_KEY.fullmatch(key):
            out.append((where, key, "Kubernetes label keys such as example.com/team"))
        if not isinstance(value, str) or not _LABEL_VALUE.fullmatch(value):
            out.append(
                (
                    f"{where}[{key!r}]",
                    value,
                    "up to 63 letters, digits, '-', '_' or '.', starting and ending with a "
                    "letter or digit",
                )
            )
    return out


def namespace_problem(namespace: object) -> str | None:
    """What the services' namespace should have been, or None: a DNS-1123 label of the estate's
    own — default and kube-* do not enforce Pod Security `restricted`."""
    if not is_dns_label(namespace):
        return "a DNS-1123 label such as osp-services"
    if namespace in _SYSTEM_NAMESPACES:
        return (
            "the estate's services namespace, not default or a kube-* namespace (they do not "
            "enforce Pod Security restricted)"
        )
    return None


def is_dns_label(value: object) -> bool:
    """Whether `value` is a DNS-1123 label: a namespace or most object names."""
    return isinstance(value, str) and _DNS_1123.fullmatch(value) is not None


def image_problem(image: str) -> str | None:
    """What is wrong with an image reference, or None: a tag is required, never `latest`."""
    reference, _, digest = image.partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        return "a digest of the form sha256:<64 hex digits> after '@'"
    slash, colon = reference.rfind("/"), reference.rfind(":")
    if colon <= slash or not reference[:colon]:
        return "a full image reference with an explicit tag, <repository url>:<tag>"
    tag = reference[colon + 1 :]
    if not _TAG.fullmatch(tag):
        return "a tag of letters, digits, '_', '.' and '-', at most 128 characters"
    if tag.lower() == "latest":
        return (
            "an explicit version tag, never 'latest': a moving tag makes a rollout "
            "unrepeatable and a rollback impossible"
        )
    return None


def _secret_like(env_name: str) -> bool:
    return bool(_SECRET_WORD.search(env_name)) and not _REFERENCE_SUFFIX.search(env_name)


def cidr_problem(cidr: object) -> str | None:
    """What an IPv4 CIDR block should have been, or None."""
    if not isinstance(cidr, str):
        return "an IPv4 CIDR block such as 10.0.0.0/24"
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        return "an IPv4 CIDR block such as 10.0.0.0/24 (no host bits set)"
    if network.version != 4:
        return "an IPv4 CIDR block (the VPC is IPv4)"
    return None


def problems(name: str, args: ServiceWorkloadArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    out: list[str] = []

    def bad(arg: str, value: object, expected: str) -> None:
        out.append(f"ServiceWorkload {name}: {arg}: got {value!r}; expected {expected}")

    if not isinstance(args.service, str) or not _DNS_1035.fullmatch(args.service):
        bad("service", args.service, "a DNS-1035 label: lower-case letters, digits and '-', "
            "starting with a letter, at most 63 characters")  # fmt: skip
    expected = namespace_problem(args.namespace)
    if expected:
        bad("namespace", args.namespace, expected)

    if isinstance(args.image, str):
        expected = image_problem(args.image)
        if expected:
            bad("image", args.image, expected)
    elif not isinstance(args.image, pulumi.Output):
        bad("image", args.image, "an image reference (str or Output[str])")

    if not is_int(args.port) or not 1024 <= args.port <= 65535:
        bad("port", args.port, "a port from 1024 to 65535 (the container runs as a non-root "
            "user without capabilities, so it cannot bind a privileged port)")  # fmt: skip

    if isinstance(args.role_arn, str) and not _ROLE_ARN.fullmatch(args.role_arn):
        bad("role_arn", args.role_arn, "an IAM role ARN such as "
            "arn:aws:iam::123456789012:role/osp-prod-fee")  # fmt: skip

    if not isinstance(args.replicas, Replicas):
        bad("replicas", args.replicas, "a Replicas(min, baseline, max)")
    elif args.replicas.min < 1:
        bad("replicas.min", args.replicas.min, "at least 1 (the autoscaler never scales to "
            "zero; dev may pass min=baseline=max=1)")  # fmt: skip
    if not isinstance(args.resources, Resources):
        bad("resources", args.resources, "a Resources(requests, limits)")
    if not isinstance(args.probes, Probes):
        bad("probes", args.probes, "a Probes(startup, readiness, liveness)")

    for key, value in args.env.items():
        where = f"env[{key!r}]"
        if not isinstance(key, str) or not _ENV_NAME.fullmatch(key):
            bad("env", key, "variable names of letters, digits and '_', not starting with a "
                "digit")  # fmt: skip
            continue
        if key in RESERVED_ENV:
            bad("env", key, "no AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE or static AWS "
                "credentials: the pod's role comes from its service account (IRSA)")  # fmt: skip
        elif _secret_like(key):
            bad("env", key, "a reference, not a secret: name it …_ARN (the secret's ARN, "
                "read from Secrets Manager at run time) or …_NAME/_ID/_URL/_ENDPOINT/_HOST"
                "/_FILE/_PATH")  # fmt: skip
        if isinstance(value, str):
            if _KEY_MATERIAL.search(value):
                bad(where, "<redacted>", "configuration, not key material (an AWS access "
                    "key or a PEM block belongs in Secrets Manager)")  # fmt: skip
        elif not isinstance(value, pulumi.Output):
            bad(where, value, "a str or Output[str]")

    if isinstance(args.target_group_arn, str) and not _TARGET_GROUP_ARN.fullmatch(
        args.target_group_arn
    ):
        bad("target_group_arn", args.target_group_arn, "an ELBv2 target group ARN")
    if args.target_group_arn is not None and not args.load_balancer_cidrs:
        bad("load_balancer_cidrs", [], "the public subnets' CIDRs when target_group_arn is "
            "given: otherwise the NetworkPolicy keeps the load balancer out")  # fmt: skip
    if isinstance(args.load_balancer_cidrs, str):
        bad("load_balancer_cidrs", args.load_balancer_cidrs, "a list of CIDRs, not one string")
    else:
        for cidr in args.load_balancer_cidrs:
            expected = cidr_problem(cidr)
            if expected is None and ipaddress.ip_network(cidr).prefixlen == 0:
                expected = "the load balancer's subnets, not the whole address space"
            if expected:
                bad("load_balancer_cidrs", cidr, expected)

    if isinstance(args.callers, str):
        bad("callers", args.callers, "a list of service names, not one string")
    else:
        seen: set[str] = set()
        for caller in args.callers:
            if not isinstance(caller, str) or not _DNS_1035.fullmatch(caller):
                bad("callers", caller, "service names (DNS-1035 labels)")
            elif caller == args.service:
                bad("callers", caller, "other services (a service needs no permission to call "
                    "itself)")  # fmt: skip
            elif caller in seen:
                bad("callers", caller, "each caller once")
            seen.add(caller)

    if not isinstance(args.calls, Mapping):
        bad("calls", args.calls, "a mapping of service name to its port")
    else:
        for callee, callee_port in args.calls.items():
            if not isinstance(callee, str) or not _DNS_1035.fullmatch(callee):
                bad("calls", callee, "service names (DNS-1035 labels)")
            elif callee == args.service:
                bad("calls", callee, "other services (a pod reaches itself without a rule)")
            if not is_int(callee_port) or not 1 <= callee_port <= 65535:
                bad(f"calls[{callee!r}]", callee_port, "the callee's port, 1 to 65535")

    for index, rule in enumerate(args.egress):
        where = f"egress[{index}]"
        if not isinstance(rule, EgressRule):
            bad(where, rule, "an EgressRule(cidr, ports, protocol)")
            continue
        expected = cidr_problem(rule.cidr)
        if expected:
            bad(f"{where}.cidr", rule.cidr, expected)
        ports = rule.ports
        if isinstance(ports, int) or not ports:
            bad(f"{where}.ports", ports, "a tuple of at least one port (never every port)")
        elif any(not is_int(p) or not 1 <= p <= 65535 for p in ports) or len(set(ports)) != len(
            ports
        ):
            bad(f"{where}.ports", ports, "distinct ports from 1 to 65535")
        if rule.protocol not in set(NetworkProtocol):
            bad(f"{where}.protocol", rule.protocol, "TCP, UDP or SCTP")

    for arg, value, expected in label_problems("labels", args.labels):
        bad(arg, value, expected)
    if NAME_LABEL in args.labels:
        bad("labels", NAME_LABEL, f"no {NAME_LABEL}: osp sets it to the service's name")
    for arg, value, expected in label_problems("node_selector", args.node_selector):
        bad(arg, value, expected)

    delay = args.deregistration_delay_seconds
    if not is_int(delay) or not 0 <= delay <= 3600:
        bad("deregistration_delay_seconds", delay, "0 to 3600 (the target group's setting)")
    if not is_int(args.shutdown_seconds) or not 1 <= args.shutdown_seconds <= 600:
        bad("shutdown_seconds", args.shutdown_seconds, "1 to 600")
    return out


# --- what the pods look like --------------------------------------------------------------


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


def http_probe(probe: Probe) -> dict[str, object]:
    return {
        "httpGet": {"path": probe.path, "port": PORT_NAME, "scheme": "HTTP"},
        "periodSeconds": probe.period_seconds,
        "timeoutSeconds": probe.timeout_seconds,
        "failureThreshold": probe.failure_threshold,
    }


def pre_stop_seconds(deregistration_delay_seconds: int) -> int:
    """How long a terminating pod keeps serving before SIGTERM."""
    return deregistration_delay_seconds + DEREGISTRATION_PROPAGATION_SECONDS


def _without_secret(name: str, key: str, value: pulumi.Input[str]) -> pulumi.Input[str]:
    """`value`, or a failure if it is an Output marked secret: a secret value must never be
    written into a manifest (nor into state, where Pulumi would keep the Deployment)."""
    if not isinstance(value, pulumi.Output):
        return value

    def check(is_secret: bool) -> pulumi.Output[str]:
        if is_secret:
            raise ValueError(
                f"ServiceWorkload {name}: env[{key!r}]: got a secret Output; expected "
                "configuration that points at the secret (its ARN), never its value"
            )
        return value

    return pulumi.Output.from_input(value.is_secret()).apply(check)


def _checked_image(name: str, image: pulumi.Input[str]) -> pulumi.Input[str]:
    if not isinstance(image, pulumi.Output):
        return image

    def check(reference: str) -> str:
        expected = image_problem(reference)
        if expected:
            raise ValueError(
                f"ServiceWorkload {name}: image: got {reference!r}; expected {expected}"
            )
        return reference

    return image.apply(check)


class ServiceWorkload(pulumi.ComponentResource):
    """One service on the cluster, hardened and least-privileged.

    - ServiceAccount `<service>` annotated with the service's own IAM role (IRSA). It mounts
      no Kubernetes API token (`automountServiceAccountToken: false`): the services never
      call the Kubernetes API, and IRSA does not need that token — the EKS pod identity
      webhook projects a separate, audience-bound token for STS into the pod.
    - Deployment: non-root (uid/gid 65532), read-only root filesystem with a size-capped
      emptyDir at /tmp, no privilege escalation, every capability dropped, seccomp
      RuntimeDefault at pod and container level — Pod Security `restricted`; requests and
      limits; startup, readiness and liveness HTTP probes; spread across zones and hosts;
      rolling updates that never take a serving pod away first (maxUnavailable 0, maxSurge
      25 %); a preStop sleep outlasting the target group's deregistration delay; no service
      links; environment variables that point at things, never secret values.
    - Service (ClusterIP) on the port; HorizontalPodAutoscaler at 70 % CPU and 80 % memory
      of the requests; PodDisruptionBudget of one pod at a time.
    - NetworkPolicy: ingress only from the load balancer's subnets (when routed) and the
      declared callers, on the port; egress only to CoreDNS, the pods of the services it
      calls (on their ports) and the rules given. Together with the namespace's default
      deny, nothing else gets in or out.
    - TargetGroupBinding (IP targets) when the service has a target group.
    """

    service_account_name: pulumi.Output[str]
    deployment_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    url: pulumi.Output[str]
    """In-cluster base URL, `http://<service>.<namespace>.svc.cluster.local:<port>`."""

    def __init__(
        self, name: str, args: ServiceWorkloadArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise ValueError("\n".join(found))
        service, namespace, port = args.service, args.namespace, args.port
        child = pulumi.ResourceOptions(parent=self)
        selector = {NAME_LABEL: service}
        labels = {**args.labels, **selector}

        def metadata(**extra: object) -> dict[str, object]:
            return {"name": service, "namespace": namespace, "labels": labels, **extra}

        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=metadata(annotations={"eks.amazonaws.com/role-arn": args.role_arn}),
            automount_service_account_token=False,
            opts=child,
        )

        pre_stop = pre_stop_seconds(args.deregistration_delay_seconds)
        requests, limits = args.resources.requests, args.resources.limits
        container = {
            "name": service,
            "image": _checked_image(name, args.image),
            # Tags are immutable in the estate's registry: a present tag is the right image.
            "imagePullPolicy": "IfNotPresent",
            "ports": [{"name": PORT_NAME, "containerPort": port, "protocol": "TCP"}],
            "env": [
                {"name": key, "value": _without_secret(name, key, value)}
                for key, value in sorted(args.env.items())
            ],
            "resources": {
                "requests": {"cpu": requests.cpu, "memory": requests.memory},
                "limits": {"cpu": limits.cpu, "memory": limits.memory},
            },
            "startupProbe": http_probe(args.probes.startup),
            "readinessProbe": http_probe(args.probes.readiness),
            "livenessProbe": http_probe(args.probes.liveness),
            "lifecycle": {
                # The kubelet's own sleep: distroless images have no `sleep` to exec. The pod
                # leaves the Service and target group when termination starts, but the load
                # balancer keeps sending for a while; serving on until it has stopped, and
                # only then getting SIGTERM, drops no request.
                "preStop": {"sleep": {"seconds": pre_stop}},
            },
            "securityContext": container_security_context(),
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }
        spread = [
            {
                "topologyKey": key,
                "maxSkew": 1,
                # ScheduleAnyway: with a zone down (or short of capacity), DoNotSchedule would
                # leave replacement pods pending exactly when they are needed.
                "whenUnsatisfiable": "ScheduleAnyway",
                # Tainted nodes (the system pool, nodes going away) do not count as domains.
                "nodeTaintsPolicy": "Honor",
                "labelSelector": {"matchLabels": selector},
            }
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ]
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata(),
            spec={
                "replicas": args.replicas.baseline,
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": selector},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"},
                },
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": service,
                        "automountServiceAccountToken": False,
                        "enableServiceLinks": False,
                        "securityContext": pod_security_context(),
                        "terminationGracePeriodSeconds": pre_stop + args.shutdown_seconds,
                        "nodeSelector": dict(args.node_selector),
                        "topologySpreadConstraints": spread,
                        "containers": [container],
                        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}}],
                    },
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[account],
                # The autoscaler owns the count once the Deployment exists; an update must not
                # put it back to the baseline in the middle of a peak.
                ignore_changes=["spec.replicas"],
            ),
        )

        svc = k8s.core.v1.Service(
            f"{name}-service",
            metadata=metadata(),
            spec={
                "type": "ClusterIP",
                "selector": selector,
                "ports": [
                    {"name": PORT_NAME, "port": port, "targetPort": PORT_NAME, "protocol": "TCP"}
                ],
            },
            opts=child,
        )

        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-autoscaler",
            metadata=metadata(),
            spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": service},
                "minReplicas": args.replicas.min,
                "maxReplicas": args.replicas.max,
                "metrics": [
                    _utilisation("cpu", CPU_UTILISATION),
                    _utilisation("memory", MEMORY_UTILISATION),
                ],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[deployment]),
        )

        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-disruption-budget",
            metadata=metadata(),
            spec={
                # One pod at a time, whatever the autoscaler has made of the count: never
                # blocks a node drain at one replica, never lets a drain empty the service.
                "maxUnavailable": 1,
                "selector": {"matchLabels": selector},
                # A pod that is not ready serves nothing: evicting it must not wait.
                "unhealthyPodEvictionPolicy": "AlwaysAllow",
            },
            opts=child,
        )

        k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata=metadata(),
            spec=network_policy_spec(args),
            opts=child,
        )

        if args.target_group_arn is not None:
            k8s.apiextensions.CustomResource(
                f"{name}-target-group-binding",
                api_version="elbv2.k8s.aws/v1beta1",
                kind="TargetGroupBinding",
                metadata=metadata(),
                spec={
                    "serviceRef": {"name": service, "port": port},
                    "targetGroupARN": args.target_group_arn,
                    "targetType": "ip",
                    # No `networking`: the estate's Pulumi program owns the one security group
                    # rule (load balancer → nodes on the services' ports), where plans and
                    # reviews see it; the controller edits no security group.
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[svc]),
            )

        self.service_account_name = account.metadata.name
        self.deployment_name = deployment.metadata.name
        self.service_name = svc.metadata.name
        self.url = self.service_name.apply(
            lambda svc_name: f"http://{svc_name}.{namespace}.svc.cluster.local:{port}"
        )
        self.register_outputs(
            {
                "serviceAccountName": self.service_account_name,
                "deploymentName": self.deployment_name,
                "serviceName": self.service_name,
                "url": self.url,
            }
        )


def _utilisation(resource: str, percent: int) -> dict[str, object]:
    return {
        "type": "Resource",
        "resource": {
            "name": resource,
            "target": {"type": "Utilization", "averageUtilization": percent},
        },
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


def network_policy_spec(args: ServiceWorkloadArgs) -> dict[str, object]:
    """Who may reach the service's pods, and what they may reach."""
    port = [{"protocol": "TCP", "port": args.port}]
    ingress: list[dict[str, object]] = []
    if args.target_group_arn is not None:
        ingress.append(
            {
                "from": [{"ipBlock": {"cidr": cidr}} for cidr in args.load_balancer_cidrs],
                "ports": port,
            }
        )
    if args.callers:
        ingress.append(
            {
                "from": [
                    {"podSelector": {"matchLabels": {NAME_LABEL: caller}}}
                    for caller in args.callers
                ],
                "ports": port,
            }
        )
    egress: list[dict[str, object]] = [dns_egress()]
    for callee, callee_port in sorted(args.calls.items()):
        egress.append(
            {
                "to": [{"podSelector": {"matchLabels": {NAME_LABEL: callee}}}],
                "ports": [{"protocol": "TCP", "port": callee_port}],
            }
        )
    for rule in args.egress:
        egress.append(
            {
                "to": [{"ipBlock": {"cidr": rule.cidr}}],
                "ports": [{"protocol": str(rule.protocol), "port": p} for p in rule.ports],
            }
        )
    return {
        "podSelector": {"matchLabels": {NAME_LABEL: args.service}},
        # Both types, even with no rules of a kind: an empty list then denies it all.
        "policyTypes": ["Ingress", "Egress"],
        "ingress": ingress,
        "egress": egress,
    }
