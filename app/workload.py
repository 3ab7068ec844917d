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

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import pulumi
import pulumi_kubernetes as k8s

from osp.app.pods import (
    NAME_LABEL,
    cidr_egress,
    cidr_problem,
    claim_volume,
    container_security_context,
    dns_egress,
    image_problem,
    irsa_service_account,
    label_problems,
    namespace_problem,
    pod_security_context,
    workload_pool,
)
from osp.app.telemetry import agent_egress
from osp.platform import limits
from osp.platform.catalogue import Probe, Probes, Replicas, Resources, memory_bytes
from osp.platform.catalogue.models import mount_path_problem
from osp.platform.limits import is_int
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:app:ServiceWorkload"

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

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Whole words between underscores: AUTH_TOKEN and DB_PASSWORD, not AUTHORIZED_ORIGINS.
_SECRET_WORD = re.compile(
    r"(^|_)(PASSWORD|PASSWD|PASS|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIALS?"
    r"|AUTH)(_|$)",
    re.I,
)
_REFERENCE_SUFFIX = re.compile(r"_(ARN|ID|NAME|URL|URI|ENDPOINT|HOST|FILE|PATH)$", re.I)
_KEY_MATERIAL = re.compile(r"-----BEGIN|(AKIA|ASIA)[0-9A-Z]{16}")
_SERVICE_PORT = limits.whole_range(
    1024,
    65535,
    "a port from 1024 to 65535 (the container runs as a non-root user without capabilities, "
    "so it cannot bind a privileged port)",
)
_CALLEE_PORT = limits.whole_range(1, 65535, "the callee's port, 1 to 65535")
_DEREGISTRATION_DELAY = limits.whole_range(0, 3600, "0 to 3600 (the target group's setting)")
_SHUTDOWN_SECONDS = limits.whole_range(1, 600, "1 to 600")
_UTILISATION = limits.whole_range(1, 100, "a percentage of the requests, 1 to 100")
_SERVICE_NAMES = "service names (DNS-1035 labels)"


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


#: Name of the pod volume holding the service's persistent directory.
DATA_VOLUME = "data"


def claim_name(service: str) -> str:
    """The PersistentVolumeClaim of a service's persistent directory: `<service>-data`. A
    volume provisioned for the service is bound to this claim in advance."""
    return f"{service}-{DATA_VOLUME}"


@dataclass(frozen=True, kw_only=True)
class PersistentMount:
    """A persistent directory for every pod of the service: a claim (`<service>-data`) on a
    volume provisioned for it in advance, mounted read-write."""

    path: str
    """Where the pods see it (the catalogue's `uses.volume.path`): an absolute directory, not
    / and not at or under /tmp, /proc, /sys, /dev, /etc or /var/run/secrets."""

    volume_name: str
    """The PersistentVolume the claim binds (and no other): the one bound to it in advance,
    such as a `FileSystem` access point's."""

    storage_class: str
    """The volume's StorageClass, which the claim names too (so no default class steps in)."""

    storage: str
    """What the claim requests; at most the volume's capacity (a Kubernetes quantity)."""


@dataclass(frozen=True, kw_only=True)
class ServiceWorkloadArgs:
    """Arguments of `ServiceWorkload`."""

    service: str
    """The service's name (a catalogue name, a DNS-1035 label): names every object, the
    container and its pods' `app.kubernetes.io/name` label."""

    namespace: str
    """Namespace of every object: the estate's services namespace (see `ClusterAddons`) or a
    silo tenant's own, never `default` or a `kube-*` one."""

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

    cpu_utilisation: int = CPU_UTILISATION
    """The autoscaler's target average CPU, % of requests (1-100)."""

    memory_utilisation: int | None = MEMORY_UTILISATION
    """The autoscaler's target average memory, % of requests (1-100); None: CPU alone."""

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

    telemetry: bool = False
    """Pods may send traces and metrics to the cluster's CloudWatch agent (namespace
    amazon-cloudwatch, OTLP 4316 and X-Ray 2000); `osp.app.telemetry.trace_env` gives the
    variables that point the SDKs at it. Default: off."""

    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on every object and pod (such as `app.kubernetes.io/part-of`). Cannot
    set `app.kubernetes.io/name`."""

    node_selector: Mapping[str, str] = field(default_factory=workload_pool)
    """Nodes the pods may run on. Default: the workload pool (`osp.io/pool: workload`),
    leaving the system pool to the cluster add-ons."""

    deregistration_delay_seconds: int = 30
    """The target group's deregistration delay (osp's load balancer uses 30). A terminating
    pod keeps serving this long plus 5 s (a preStop sleep) before it gets SIGTERM, so the
    load balancer has stopped sending to it first. 0–3600."""

    shutdown_seconds: int = 15
    """Time the process gets between SIGTERM and SIGKILL to finish in-flight work, 1–600.
    terminationGracePeriodSeconds is the preStop sleep plus this."""

    volume: PersistentMount | None = None
    """A persistent directory shared by the service's pods (read-write, many pods at once):
    a PersistentVolumeClaim `<service>-data` on `volume_name`, mounted at `path`; the pods
    start only once it exists. Default: none (the pods keep nothing but their /tmp)."""

    scaled_to_zero: bool = False
    """Run no pods (a suspended tenant's services): no autoscaler, and a forced patch holding
    the Deployment at 0 replicas. Everything else (account, Service, policies, binding) stays,
    so that switching back is a scale-up, not a rebuild. Default: False."""


# --- checks -------------------------------------------------------------------------------


def _secret_like(env_name: str) -> bool:
    return bool(_SECRET_WORD.search(env_name)) and not _REFERENCE_SUFFIX.search(env_name)


def _pod_problems(check: Problems, args: ServiceWorkloadArgs) -> None:
    """What the pods are: the service's name and namespace, image, port, role and sizes."""
    check.against(limits.DNS_1035_LABEL, "service", args.service)
    expected = namespace_problem(args.namespace)
    if expected:
        check.add("namespace", args.namespace, expected)
    if isinstance(args.image, str):
        expected = image_problem(args.image)
        if expected:
            check.add("image", args.image, expected)
    else:
        check.check(
            isinstance(args.image, pulumi.Output),
            "image",
            args.image,
            "an image reference (str or Output[str])",
        )
    check.against(_SERVICE_PORT, "port", args.port)
    check.against(_UTILISATION, "cpu_utilisation", args.cpu_utilisation)
    if args.memory_utilisation is not None:
        check.against(_UTILISATION, "memory_utilisation", args.memory_utilisation)
    if isinstance(args.role_arn, str):
        check.against(limits.IAM_ROLE_ARN, "role_arn", args.role_arn)
    if not isinstance(args.replicas, Replicas):
        check.add("replicas", args.replicas, "a Replicas(min, baseline, max)")
    elif args.replicas.min < 1:
        check.add(
            "replicas.min",
            args.replicas.min,
            "at least 1 (the autoscaler never scales to zero; dev may pass min=baseline=max=1)",
        )
    check.check(
        isinstance(args.resources, Resources),
        "resources",
        args.resources,
        "a Resources(requests, limits)",
    )
    check.check(
        isinstance(args.probes, Probes),
        "probes",
        args.probes,
        "a Probes(startup, readiness, liveness)",
    )


def _env_problems(check: Problems, env: Mapping[str, object]) -> None:
    """Configuration that points at things: no secret by name or by look, no IRSA variable."""
    for key, value in env.items():
        where = f"env[{key!r}]"
        if not isinstance(key, str) or not _ENV_NAME.fullmatch(key):
            check.add(
                "env", key, "variable names of letters, digits and '_', not starting with a digit"
            )
            continue
        if key in RESERVED_ENV:
            check.add(
                "env",
                key,
                "no AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE or static AWS credentials: the "
                "pod's role comes from its service account (IRSA)",
            )
        elif _secret_like(key):
            check.add(
                "env",
                key,
                "a reference, not a secret: name it …_ARN (the secret's ARN, read from Secrets "
                "Manager at run time) or …_NAME/_ID/_URL/_ENDPOINT/_HOST/_FILE/_PATH",
            )
        if isinstance(value, str):
            if _KEY_MATERIAL.search(value):
                check.add(
                    where,
                    "<redacted>",
                    "configuration, not key material (an AWS access key or a PEM block "
                    "belongs in Secrets Manager)",
                )
        elif not isinstance(value, pulumi.Output):
            check.add(where, value, "a str or Output[str]")


def _ingress_problems(check: Problems, args: ServiceWorkloadArgs) -> None:
    """Who reaches the pods: the load balancer (with its target group) and the callers."""
    arn = args.target_group_arn
    if isinstance(arn, str):
        check.against(limits.TARGET_GROUP_ARN, "target_group_arn", arn)
    if arn is not None and not args.load_balancer_cidrs:
        check.add(
            "load_balancer_cidrs",
            [],
            "the public subnets' CIDRs when target_group_arn is given: otherwise the "
            "NetworkPolicy keeps the load balancer out",
        )
    if isinstance(args.load_balancer_cidrs, str):
        check.add(
            "load_balancer_cidrs", args.load_balancer_cidrs, "a list of CIDRs, not one string"
        )
    else:
        for cidr in args.load_balancer_cidrs:
            expected = cidr_problem(
                cidr, whole_space="the load balancer's subnets, not the whole address space"
            )
            if expected:
                check.add("load_balancer_cidrs", cidr, expected)
    if isinstance(args.callers, str):
        check.add("callers", args.callers, "a list of service names, not one string")
        return
    seen: set[str] = set()
    for caller in args.callers:
        if not limits.DNS_1035_LABEL.accepts(caller):
            check.add("callers", caller, _SERVICE_NAMES)
        elif caller == args.service:
            check.add(
                "callers", caller, "other services (a service needs no permission to call itself)"
            )
        elif caller in seen:
            check.add("callers", caller, "each caller once")
        seen.add(caller)


def _egress_problems(check: Problems, args: ServiceWorkloadArgs) -> None:
    """What the pods reach: the services they call, and the CIDR rules."""
    if not isinstance(args.calls, Mapping):
        check.add("calls", args.calls, "a mapping of service name to its port")
    else:
        for callee, callee_port in args.calls.items():
            if not limits.DNS_1035_LABEL.accepts(callee):
                check.add("calls", callee, _SERVICE_NAMES)
            elif callee == args.service:
                check.add("calls", callee, "other services (a pod reaches itself without a rule)")
            check.against(_CALLEE_PORT, f"calls[{callee!r}]", callee_port)
    for index, rule in enumerate(args.egress):
        where = f"egress[{index}]"
        if not isinstance(rule, EgressRule):
            check.add(where, rule, "an EgressRule(cidr, ports, protocol)")
            continue
        expected = cidr_problem(rule.cidr)
        if expected:
            check.add(f"{where}.cidr", rule.cidr, expected)
        ports = rule.ports
        if isinstance(ports, int) or not ports:
            check.add(f"{where}.ports", ports, "a tuple of at least one port (never every port)")
        elif any(not is_int(p) or not 1 <= p <= 65535 for p in ports) or len(set(ports)) != len(
            ports
        ):
            check.add(f"{where}.ports", ports, "distinct ports from 1 to 65535")
        if rule.protocol not in set(NetworkProtocol):
            check.add(f"{where}.protocol", rule.protocol, "TCP, UDP or SCTP")


def _volume_problems(check: Problems, volume: object) -> None:
    if volume is None:
        return
    if not isinstance(volume, PersistentMount):
        check.add("volume", volume, "a PersistentMount(path, volume_name, storage_class, storage)")
        return
    expected = mount_path_problem(volume.path)
    if expected:
        check.add("volume.path", volume.path, expected)
    check.against(limits.DNS_LABEL, "volume.volume_name", volume.volume_name)
    check.against(limits.DNS_LABEL, "volume.storage_class", volume.storage_class)
    try:
        ok = memory_bytes(volume.storage) > 0
    except (ValueError, TypeError, ArithmeticError):
        ok = False
    check.check(ok, "volume.storage", volume.storage, "a Kubernetes quantity such as 100Gi")


def problems(name: str, args: ServiceWorkloadArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("ServiceWorkload", name)
    _pod_problems(check, args)
    _volume_problems(check, args.volume)
    _env_problems(check, args.env)
    _ingress_problems(check, args)
    _egress_problems(check, args)
    check.extend(label_problems("labels", args.labels))
    if NAME_LABEL in args.labels:
        check.add("labels", NAME_LABEL, f"no {NAME_LABEL}: osp sets it to the service's name")
    check.extend(label_problems("node_selector", args.node_selector))
    check.against(
        _DEREGISTRATION_DELAY, "deregistration_delay_seconds", args.deregistration_delay_seconds
    )
    check.against(_SHUTDOWN_SECONDS, "shutdown_seconds", args.shutdown_seconds)
    check.check(
        isinstance(args.scaled_to_zero, bool),
        "scaled_to_zero",
        args.scaled_to_zero,
        "True or False",
    )
    return check.found


# --- what the pods look like --------------------------------------------------------------


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
            refused = Problems("ServiceWorkload", name)
            # Not `add`: the value is a secret, and is never shown.
            refused.note(
                f"env[{key!r}]",
                "got a secret Output; expected configuration that points at the secret (its "
                "ARN), never its value",
            )
            refused.raise_if_any()
        return value

    return pulumi.Output.from_input(value.is_secret()).apply(check)


def _checked_image(name: str, image: pulumi.Input[str]) -> pulumi.Input[str]:
    if not isinstance(image, pulumi.Output):
        return image

    def check(reference: str) -> str:
        refused = Problems("ServiceWorkload", name)
        expected = image_problem(reference)
        if expected:
            refused.add("image", reference, expected)
        refused.raise_if_any()
        return reference

    return image.apply(check)


def _metadata(args: ServiceWorkloadArgs) -> dict[str, object]:
    """Every object's: named after the service, in its namespace, with its labels."""
    labels = {**args.labels, NAME_LABEL: args.service}
    return {"name": args.service, "namespace": args.namespace, "labels": labels}


def container_spec(name: str, args: ServiceWorkloadArgs) -> dict[str, object]:
    """The service's one container: hardened, sized, probed, and drained before SIGTERM."""
    sizes = args.resources
    return {
        "name": args.service,
        "image": _checked_image(name, args.image),
        # Tags are immutable in the estate's registry: a present tag is the right image.
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": PORT_NAME, "containerPort": args.port, "protocol": "TCP"}],
        "env": [
            {"name": key, "value": _without_secret(name, key, value)}
            for key, value in sorted(args.env.items())
        ],
        "resources": {
            "requests": {"cpu": sizes.requests.cpu, "memory": sizes.requests.memory},
            "limits": {"cpu": sizes.limits.cpu, "memory": sizes.limits.memory},
        },
        "startupProbe": http_probe(args.probes.startup),
        "readinessProbe": http_probe(args.probes.readiness),
        "livenessProbe": http_probe(args.probes.liveness),
        "lifecycle": {
            # The kubelet's own sleep: distroless images have no `sleep` to exec. The pod
            # leaves the Service and target group when termination starts, but the load
            # balancer keeps sending for a while; serving on until it has stopped, and
            # only then getting SIGTERM, drops no request.
            "preStop": {"sleep": {"seconds": pre_stop_seconds(args.deregistration_delay_seconds)}},
        },
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            *([{"name": DATA_VOLUME, "mountPath": args.volume.path}] if args.volume else []),
        ],
    }


def topology_spread(service: str) -> list[dict[str, object]]:
    """Spread the pods across zones, then hosts, as far as capacity allows."""
    return [
        {
            "topologyKey": key,
            "maxSkew": 1,
            # ScheduleAnyway: with a zone down (or short of capacity), DoNotSchedule would
            # leave replacement pods pending exactly when they are needed.
            "whenUnsatisfiable": "ScheduleAnyway",
            # Tainted nodes (the system pool, nodes going away) do not count as domains.
            "nodeTaintsPolicy": "Honor",
            "labelSelector": {"matchLabels": {NAME_LABEL: service}},
        }
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]


def deployment_spec(name: str, args: ServiceWorkloadArgs) -> dict[str, object]:
    """Rolling updates that never take a serving pod away first, of hardened pods."""
    pre_stop = pre_stop_seconds(args.deregistration_delay_seconds)
    return {
        "replicas": args.replicas.baseline,
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": {NAME_LABEL: args.service}},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"},
        },
        "template": {
            "metadata": {"labels": _metadata(args)["labels"]},
            "spec": {
                "serviceAccountName": args.service,
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "securityContext": pod_security_context(),
                "terminationGracePeriodSeconds": pre_stop + args.shutdown_seconds,
                "nodeSelector": dict(args.node_selector),
                "topologySpreadConstraints": topology_spread(args.service),
                "containers": [container_spec(name, args)],
                "volumes": [
                    {"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}},
                    *([claim_volume(DATA_VOLUME, claim_name(args.service))] if args.volume else []),
                ],
            },
        },
    }


def claim_spec(volume: PersistentMount) -> dict[str, object]:
    """The claim on the service's own volume, by name: it binds that volume or stays pending,
    never a freshly provisioned one."""
    return {
        "accessModes": ["ReadWriteMany"],
        "storageClassName": volume.storage_class,
        "volumeName": volume.volume_name,
        "resources": {"requests": {"storage": volume.storage}},
    }


def service_spec(args: ServiceWorkloadArgs) -> dict[str, object]:
    """A ClusterIP Service on the port."""
    return {
        "type": "ClusterIP",
        "selector": {NAME_LABEL: args.service},
        "ports": [
            {"name": PORT_NAME, "port": args.port, "targetPort": PORT_NAME, "protocol": "TCP"}
        ],
    }


def _utilisation(resource: str, percent: int) -> dict[str, object]:
    return {
        "type": "Resource",
        "resource": {
            "name": resource,
            "target": {"type": "Utilization", "averageUtilization": percent},
        },
    }


def autoscaler_spec(args: ServiceWorkloadArgs) -> dict[str, object]:
    """Between `replicas.min` and `replicas.max`, at the target CPU (and memory, unless None)
    utilisation of requests: 70 % and 80 % by default."""
    metrics = [_utilisation("cpu", args.cpu_utilisation)]
    if args.memory_utilisation is not None:
        metrics.append(_utilisation("memory", args.memory_utilisation))
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": args.service},
        "minReplicas": args.replicas.min,
        "maxReplicas": args.replicas.max,
        "metrics": metrics,
    }


def disruption_budget_spec(args: ServiceWorkloadArgs) -> dict[str, object]:
    return {
        # One pod at a time, whatever the autoscaler has made of the count: never
        # blocks a node drain at one replica, never lets a drain empty the service.
        "maxUnavailable": 1,
        "selector": {"matchLabels": {NAME_LABEL: args.service}},
        # A pod that is not ready serves nothing: evicting it must not wait.
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
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
        egress.append(cidr_egress([rule.cidr], rule.ports, str(rule.protocol)))
    if args.telemetry:
        egress.append(agent_egress())
    return {
        "podSelector": {"matchLabels": {NAME_LABEL: args.service}},
        # Both types, even with no rules of a kind: an empty list then denies it all.
        "policyTypes": ["Ingress", "Egress"],
        "ingress": ingress,
        "egress": egress,
    }


def target_group_binding_spec(args: ServiceWorkloadArgs) -> dict[str, object]:
    """Keeps the pods registered (as IP targets) in the service's target group."""
    return {
        "serviceRef": {"name": args.service, "port": args.port},
        "targetGroupARN": args.target_group_arn,
        "targetType": "ip",
        # No `networking`: the estate's Pulumi program owns the one security group rule
        # (load balancer → nodes on the services' ports), where plans and reviews see it;
        # the controller edits no security group.
    }


#: Lets a patch take a field another field manager owns (Pulumi's Patch resources).
PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce"


def _hold_at_zero(
    name: str,
    args: ServiceWorkloadArgs,
    deployment: k8s.apps.v1.Deployment,
    child: pulumi.ResourceOptions,
) -> None:
    """A server-side-apply patch of the Deployment to 0 replicas, with its own field manager.

    Not `replicas: 0` in the Deployment itself: the Deployment ignores changes to its count
    (the autoscaler owns it), so Pulumi would neither scale it down nor, on the way back, up.
    The patch takes `spec.replicas` by force; deleting it (switching back) relinquishes the
    field, which then has no manager and returns to its default of 1, from which the
    re-created autoscaler scales to `replicas.min` (an autoscaler never scales up from 0).
    """
    metadata = _metadata(args)
    k8s.apps.v1.DeploymentPatch(
        f"{name}-scaled-to-zero",
        metadata={
            "name": metadata["name"],
            "namespace": metadata["namespace"],
            "labels": metadata["labels"],
            "annotations": {PATCH_FORCE_ANNOTATION: "true"},
        },
        spec={"replicas": 0},
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[deployment])),
    )


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
    - With a `volume`: the PersistentVolumeClaim `<service>-data` on the volume provisioned
      for it, mounted read-write in every pod.
    - `scaled_to_zero`: no autoscaler, and a forced patch holding the Deployment at 0.
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
            raise InvalidArguments(found)
        child = pulumi.ResourceOptions(parent=self)
        account = irsa_service_account(
            f"{name}-service-account",
            **_metadata(args),
            role_arn=args.role_arn,
            opts=child,
        )
        before_pods: list[pulumi.Resource] = [account]
        if args.volume is not None:
            before_pods.append(
                k8s.core.v1.PersistentVolumeClaim(
                    f"{name}-claim",
                    metadata={**_metadata(args), "name": claim_name(args.service)},
                    spec=claim_spec(args.volume),
                    opts=child,
                )
            )
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=_metadata(args),
            spec=deployment_spec(name, args),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=before_pods,
                # The autoscaler owns the count once the Deployment exists; an update must not
                # put it back to the baseline in the middle of a peak.
                ignore_changes=["spec.replicas"],
            ),
        )
        service = k8s.core.v1.Service(
            f"{name}-service", metadata=_metadata(args), spec=service_spec(args), opts=child
        )
        if args.scaled_to_zero:
            _hold_at_zero(name, args, deployment, child)
        self._scaling_and_reach(name, args, deployment, service)
        self.service_account_name = account.metadata.name
        self.deployment_name = deployment.metadata.name
        self.service_name = service.metadata.name
        namespace, port = args.namespace, args.port
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

    def _scaling_and_reach(
        self,
        name: str,
        args: ServiceWorkloadArgs,
        deployment: k8s.apps.v1.Deployment,
        service: k8s.core.v1.Service,
    ) -> None:
        """The autoscaler, the disruption budget, the NetworkPolicy and, when routed, the
        TargetGroupBinding."""
        child = pulumi.ResourceOptions(parent=self)
        if not args.scaled_to_zero:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-autoscaler",
                metadata=_metadata(args),
                spec=autoscaler_spec(args),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[deployment]),
            )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-disruption-budget",
            metadata=_metadata(args),
            spec=disruption_budget_spec(args),
            opts=child,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata=_metadata(args),
            spec=network_policy_spec(args),
            opts=child,
        )
        if args.target_group_arn is not None:
            k8s.apiextensions.CustomResource(
                f"{name}-target-group-binding",
                api_version="elbv2.k8s.aws/v1beta1",
                kind="TargetGroupBinding",
                metadata=_metadata(args),
                spec=target_group_binding_spec(args),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[service]),
            )
