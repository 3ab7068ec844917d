"""`ObservabilityStack`: metrics and logs inside the cluster, for a blueprint that chooses them.

kube-prometheus-stack (the Prometheus Operator, Prometheus, Alertmanager, Grafana,
kube-state-metrics, node-exporter), Loki (logs, chunks and index in an S3 bucket of its own) and
Promtail (ships every pod's log to Loki), as Helm releases at pinned chart versions, on an
encrypted gp3 StorageClass. Grafana's admin password is a generated Secrets Manager secret that
an init container reads with Grafana's own IAM role into memory; no value passes through Helm,
Kubernetes Secrets or the chart values. Nothing is exposed outside the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from osp.app import pods
from osp.app.identity import (
    BucketGrant,
    Grants,
    ServiceIdentity,
    ServiceIdentityArgs,
    with_key_grants,
)
from osp.app.images import AWS_CLI_IMAGE
from osp.components.helm import pinned_release
from osp.platform import limits
from osp.platform.catalogue import Access
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:app:ObservabilityStack"

#: Namespace of Prometheus, Alertmanager, Grafana and Loki: Pod Security `restricted`.
NAMESPACE = "observability"
#: Namespace of the node agents (node-exporter, Promtail), which read the node itself (host
#: network and PID namespace, /var/log): Pod Security `privileged` enforced, `restricted`
#: audited and warned about, so that nothing else belongs there.
AGENTS_NAMESPACE = "observability-agents"

#: The StorageClass of every volume of the stack: gp3, encrypted with the estate's key.
STORAGE_CLASS = "gp3-encrypted"
EBS_CSI_PROVISIONER = "ebs.csi.aws.com"

PROMETHEUS_STACK = "kube-prometheus-stack"
PROMETHEUS_STACK_REPOSITORY = "https://prometheus-community.github.io/helm-charts"
#: Chart 88.5.3 is the Prometheus Operator v0.93.1, with the grafana chart 12.11.1.
PROMETHEUS_STACK_VERSION = "88.5.3"

LOKI = "loki"
#: The loki chart moved from Grafana's repository to the Grafana community's.
LOKI_REPOSITORY = "https://grafana-community.github.io/helm-charts"
#: Chart 18.11.0 is Loki 3.7.6.
LOKI_VERSION = "18.11.0"

PROMTAIL = "promtail"
PROMTAIL_REPOSITORY = "https://grafana.github.io/helm-charts"
#: Chart 6.17.1 (Promtail 3.5.1) is the last: Grafana has deprecated Promtail for Alloy.
PROMTAIL_VERSION = "6.17.1"

#: Service accounts the IAM roles trust (`<namespace>/<name>`), named in the chart values.
GRAFANA_SERVICE_ACCOUNT = "grafana"
LOKI_SERVICE_ACCOUNT = "loki"

GRAFANA_ADMIN_USER = "admin"
#: The grafana image's own user and group.
GRAFANA_USER = 472
#: Where the init container leaves the password (memory-backed) and Grafana reads it.
GRAFANA_ADMIN_DIR = "/etc/grafana-admin"
GRAFANA_ADMIN_PASSWORD_FILE = f"{GRAFANA_ADMIN_DIR}/password"
FETCH_ADMIN_PASSWORD = pods.job_file("fetch_grafana_admin.sh").format(
    password_file=GRAFANA_ADMIN_PASSWORD_FILE
)

#: Where Promtail pushes: Loki's own service (no gateway), inside the cluster.
LOKI_PUSH_URL = f"http://{LOKI}.{NAMESPACE}.svc.cluster.local:3100/loki/api/v1/push"
LOKI_QUERY_URL = f"http://{LOKI}.{NAMESPACE}.svc.cluster.local:3100"

_CHART_VERSION = limits.pattern(
    r"\d+\.\d+\.\d+", "a pinned chart version X.Y.Z such as 88.5.3 (no ranges, never 'latest')"
)
_RETENTION_DAYS = limits.whole_range(1, 365)
_STORAGE_GIB = limits.whole_range(1, 16384)
_REPLICAS = limits.whole_range(1, 5)


@dataclass(frozen=True, kw_only=True)
class ObservabilityStackArgs:
    """Arguments of `ObservabilityStack`. Its Kubernetes objects go through the provider the
    caller gives in `opts` (`providers=[cluster.provider]`)."""

    region: str
    """AWS region of the bucket and the secret, such as us-east-1 (pods cannot ask IMDS)."""

    volume_kms_key_arn: pulumi.Input[str]
    """Customer key of every EBS volume of the StorageClass (the estate's EBS key, which the
    EBS CSI driver's role may use)."""

    secrets_kms_key_arn: pulumi.Input[str]
    """Customer key of Grafana's admin secret (the estate's secrets key)."""

    storage_kms_key_arn: pulumi.Input[str]
    """Customer key the Loki bucket's objects are encrypted with (the estate's storage key)."""

    loki_bucket_name: pulumi.Input[str]
    """Loki's own bucket (chunks, index, rules): the only one its role may touch."""

    loki_bucket_arn: pulumi.Input[str]
    """That bucket's ARN."""

    oidc_provider_arn: pulumi.Input[str]
    """The cluster's IAM OIDC provider: the Grafana and Loki roles trust it."""

    oidc_provider_url: pulumi.Input[str]
    """The provider's issuer without `https://`."""

    name_prefix: str
    """Prefix of the roles' and the secret's names, such as `osp-prod`."""

    metrics_retention_days: int
    """Days Prometheus keeps samples (1-365)."""

    metrics_storage_gib: int
    """Each Prometheus replica's volume, GiB; Prometheus also stops at 90 % of it."""

    logs_retention_days: int
    """Days Loki keeps log lines (1-365); the compactor deletes older ones."""

    logs_storage_gib: int
    """Each Loki replica's volume (write-ahead log and index cache), GiB."""

    replicas: int = 2
    """Prometheus, Alertmanager and Loki replicas (1-5). Default: 2 (Loki 3 from 2: its
    replication factor is 3)."""

    recovery_window_days: int = 30
    """Days the deleted admin secret can still be restored: 0 or 7-30."""

    deletion_protection: bool = True
    """Pulumi `protect` on the admin secret."""

    prometheus_stack_version: str = PROMETHEUS_STACK_VERSION
    loki_version: str = LOKI_VERSION
    promtail_version: str = PROMTAIL_VERSION

    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on the namespaces. Default: none."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the AWS resources (roles, secret)."""


def problems(name: str, args: ObservabilityStackArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("ObservabilityStack", name)
    check.against(limits.AWS_REGION, "region", args.region)
    check.against(_RETENTION_DAYS, "metrics_retention_days", args.metrics_retention_days)
    check.against(_RETENTION_DAYS, "logs_retention_days", args.logs_retention_days)
    check.against(_STORAGE_GIB, "metrics_storage_gib", args.metrics_storage_gib)
    check.against(_STORAGE_GIB, "logs_storage_gib", args.logs_storage_gib)
    check.against(_REPLICAS, "replicas", args.replicas)
    for arg in ("prometheus_stack_version", "loki_version", "promtail_version"):
        check.against(_CHART_VERSION, arg, getattr(args, arg))
    check.extend(pods.label_problems("labels", args.labels))
    for key in args.labels:
        if key.startswith("pod-security.kubernetes.io/"):
            check.add("labels", key, "no Pod Security labels: osp sets them")
    return check.found


def namespace_labels(level: str, labels: Mapping[str, str]) -> dict[str, str]:
    """Pod Security `level` enforced; `restricted` audited and warned about in every case."""
    out = dict(labels)
    out["pod-security.kubernetes.io/enforce"] = level
    out["pod-security.kubernetes.io/enforce-version"] = "latest"
    for mode in ("audit", "warn"):
        out[f"pod-security.kubernetes.io/{mode}"] = "restricted"
        out[f"pod-security.kubernetes.io/{mode}-version"] = "latest"
    return out


def storage_class_parameters(kms_key_arn: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    """The EBS CSI driver's parameters: gp3, encrypted with the customer key."""
    return {"type": "gp3", "encrypted": "true", "kmsKeyId": kms_key_arn, "fsType": "ext4"}


def _claim(size_gib: int) -> dict[str, object]:
    return {
        "spec": {
            "storageClassName": STORAGE_CLASS,
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{size_gib}Gi"}},
        }
    }


def _resources(cpu: str, memory: str, memory_limit: str) -> dict[str, object]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}


def grafana_values(
    args: ObservabilityStackArgs, secret_arn: pulumi.Input[str], role_arn: pulumi.Input[str]
) -> dict[str, object]:
    """The grafana sub-chart's values: ClusterIP only, a volume on the encrypted class, the
    admin password from Secrets Manager through an init container (so the chart makes no
    admin Secret of its own), non-root everywhere."""
    return {
        "serviceAccount": {
            "create": True,
            "name": GRAFANA_SERVICE_ACCOUNT,
            "annotations": {pods.ROLE_ANNOTATION: role_arn},
        },
        "service": {"type": "ClusterIP"},
        "ingress": {"enabled": False},
        "persistence": {
            "enabled": True,
            "type": "pvc",
            "storageClassName": STORAGE_CLASS,
            "size": "10Gi",
        },
        # The chown init container runs as root: fsGroup already gives Grafana its volume.
        "initChownData": {"enabled": False},
        "env": {
            "GF_SECURITY_ADMIN_USER": GRAFANA_ADMIN_USER,
            "GF_SECURITY_ADMIN_PASSWORD__FILE": GRAFANA_ADMIN_PASSWORD_FILE,
        },
        "extraInitContainers": [
            {
                "name": "fetch-admin-password",
                "image": AWS_CLI_IMAGE,
                "command": ["sh", "-c", FETCH_ADMIN_PASSWORD],
                "env": [
                    {"name": "ADMIN_SECRET_ARN", "value": secret_arn},
                    {"name": "AWS_REGION", "value": args.region},
                    {"name": "AWS_DEFAULT_REGION", "value": args.region},
                    # The CLI writes its cache under $HOME: the root filesystem is read-only.
                    {"name": "HOME", "value": "/tmp"},
                ],
                "volumeMounts": [
                    {"name": "admin-password", "mountPath": GRAFANA_ADMIN_DIR},
                    {"name": "tmp", "mountPath": "/tmp"},
                ],
                # As Grafana's own user: the file it writes (0600) is Grafana's to read.
                "securityContext": {
                    **pods.container_security_context(),
                    "runAsUser": GRAFANA_USER,
                    "runAsGroup": GRAFANA_USER,
                },
                "resources": _resources("50m", "64Mi", "128Mi"),
            }
        ],
        "extraVolumes": [
            {"name": "admin-password", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
        ],
        "extraVolumeMounts": [
            {"name": "admin-password", "mountPath": GRAFANA_ADMIN_DIR, "readOnly": True}
        ],
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": GRAFANA_USER,
            "runAsGroup": GRAFANA_USER,
            "fsGroup": GRAFANA_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "resources": _resources("100m", "256Mi", "512Mi"),
        "additionalDataSources": [
            {"name": "Loki", "type": "loki", "access": "proxy", "url": LOKI_QUERY_URL}
        ],
    }


def prometheus_stack_values(
    args: ObservabilityStackArgs, secret_arn: pulumi.Input[str], role_arn: pulumi.Input[str]
) -> dict[str, object]:
    """kube-prometheus-stack's values: every service ClusterIP, Prometheus and Alertmanager on
    the encrypted class, retention by time and by size, node-exporter among the agents."""
    return {
        "prometheus": {
            "service": {"type": "ClusterIP"},
            "ingress": {"enabled": False},
            "prometheusSpec": {
                "replicas": args.replicas,
                "retention": f"{args.metrics_retention_days}d",
                # Stop before the volume fills: Prometheus cannot compact a full disk.
                "retentionSize": f"{args.metrics_storage_gib * 9 // 10}GB",
                "storageSpec": {"volumeClaimTemplate": _claim(args.metrics_storage_gib)},
                "resources": _resources("500m", "2Gi", "4Gi"),
            },
        },
        "alertmanager": {
            "service": {"type": "ClusterIP"},
            "ingress": {"enabled": False},
            "alertmanagerSpec": {
                "replicas": args.replicas,
                "storage": {"volumeClaimTemplate": _claim(2)},
                "resources": _resources("50m", "64Mi", "256Mi"),
            },
        },
        "prometheusOperator": {"resources": _resources("100m", "128Mi", "512Mi")},
        "kube-state-metrics": {"resources": _resources("50m", "128Mi", "512Mi")},
        "prometheus-node-exporter": {
            "namespaceOverride": AGENTS_NAMESPACE,
            "resources": _resources("50m", "32Mi", "128Mi"),
        },
        "grafana": grafana_values(args, secret_arn, role_arn),
    }


def loki_replicas(replicas: int) -> int:
    """Loki's replicas: one, or three for its replication factor of three."""
    return 1 if replicas == 1 else 3


def loki_values(
    args: ObservabilityStackArgs, role_arn: pulumi.Input[str], bucket: pulumi.Input[str]
) -> dict[str, object]:
    """Loki's values: one binary, chunks and index in its S3 bucket through its IAM role (no
    access keys), retention enforced by the compactor, no gateway, caches, canary or tests."""
    count = loki_replicas(args.replicas)
    return {
        "deploymentMode": "Monolithic",
        "serviceAccount": {
            "create": True,
            "name": LOKI_SERVICE_ACCOUNT,
            "annotations": {pods.ROLE_ANNOTATION: role_arn},
        },
        "loki": {
            # One tenant: the estate's own logs (the services' tenants are schools, not
            # Loki's).
            "auth_enabled": False,
            "commonConfig": {"replication_factor": count},
            "storage": {
                "type": "s3",
                "bucketNames": {"chunks": bucket, "ruler": bucket, "admin": bucket},
                "s3": {"region": args.region},
            },
            "schemaConfig": {
                "configs": [
                    {
                        "from": "2026-01-01",
                        "store": "tsdb",
                        "object_store": "s3",
                        "schema": "v13",
                        "index": {"prefix": "index_", "period": "24h"},
                    }
                ]
            },
            "limits_config": {"retention_period": f"{args.logs_retention_days * 24}h"},
            "compactor": {"retention_enabled": True, "delete_request_store": "s3"},
        },
        "singleBinary": {
            "replicas": count,
            "persistence": {
                "enabled": True,
                "storageClass": STORAGE_CLASS,
                "size": f"{args.logs_storage_gib}Gi",
            },
            "resources": _resources("250m", "512Mi", "2Gi"),
        },
        "gateway": {"enabled": False},
        "chunksCache": {"enabled": False},
        "resultsCache": {"enabled": False},
        "lokiCanary": {"enabled": False},
        "test": {"enabled": False},
    }


def promtail_values() -> dict[str, object]:
    """Promtail's values: every node's pod logs to Loki inside the cluster."""
    return {
        "config": {"clients": [{"url": LOKI_PUSH_URL}]},
        "resources": _resources("50m", "64Mi", "256Mi"),
        # Prometheus selects the ServiceMonitors of its own release's label only.
        "serviceMonitor": {"enabled": True, "labels": {"release": PROMETHEUS_STACK}},
    }


class ObservabilityStack(pulumi.ComponentResource):
    """Prometheus, Alertmanager, Grafana, Loki and Promtail in the cluster.

    - StorageClass `gp3-encrypted` (EBS CSI, gp3, encrypted with `volume_kms_key_arn`, volumes
      retained when their claim goes, bound where the pod lands).
    - Namespaces `observability` (Pod Security `restricted`) and `observability-agents`
      (`privileged` for node-exporter and Promtail, which read the node).
    - Grafana's admin password: a generated Secrets Manager secret under the secrets key;
      Grafana's IAM role (IRSA, `observability/grafana` only) may read exactly that secret.
    - Loki's IAM role (`observability/loki` only) may read and write exactly its bucket.
    - Helm releases kube-prometheus-stack, loki and promtail, pinned, atomic.

    Every Service is ClusterIP: operators reach Grafana with
    `kubectl -n observability port-forward svc/kube-prometheus-stack-grafana 3000:80`.
    """

    grafana_admin_secret_arn: pulumi.Output[str]
    grafana_role_arn: pulumi.Output[str]
    loki_role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ObservabilityStackArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        child = pulumi.ResourceOptions(parent=self)
        oidc = {
            "oidc_provider_arn": args.oidc_provider_arn,
            "oidc_provider_url": args.oidc_provider_url,
        }

        password = random.RandomPassword(
            f"{name}-grafana-admin-password", length=40, special=False, opts=child
        )
        secret = aws.secretsmanager.Secret(
            f"{name}-grafana-admin",
            name=f"{args.name_prefix}/grafana/admin-password",
            description="Grafana's admin password (user admin), read at start by Grafana's "
            "init container",
            kms_key_id=args.secrets_kms_key_arn,
            recovery_window_in_days=args.recovery_window_days,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.deletion_protection),
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-grafana-admin-version",
            secret_id=secret.id,
            # The bare password (no JSON): the init container writes it as Grafana's file.
            secret_string=pulumi.Output.secret(password.result),
            opts=child,
        )
        grafana = ServiceIdentity(
            f"{name}-grafana-identity",
            ServiceIdentityArgs(
                service="grafana",
                namespace=NAMESPACE,
                service_account=GRAFANA_SERVICE_ACCOUNT,
                role_name=f"{args.name_prefix}-grafana",
                grants=with_key_grants(
                    Grants(secret_arns=[secret.arn]), secrets_key_arn=args.secrets_kms_key_arn
                ),
                tags=args.tags,
                **oidc,
            ),
            child,
        )
        loki = ServiceIdentity(
            f"{name}-loki-identity",
            ServiceIdentityArgs(
                service="loki",
                namespace=NAMESPACE,
                service_account=LOKI_SERVICE_ACCOUNT,
                role_name=f"{args.name_prefix}-loki",
                grants=with_key_grants(
                    Grants(buckets=[BucketGrant(args.loki_bucket_arn, Access.READ_WRITE)]),
                    storage_key_arn=args.storage_kms_key_arn,
                ),
                tags=args.tags,
                **oidc,
            ),
            child,
        )

        storage_class = k8s.storage.v1.StorageClass(
            f"{name}-storage-class",
            metadata={"name": STORAGE_CLASS, "labels": dict(args.labels)},
            provisioner=EBS_CSI_PROVISIONER,
            parameters=storage_class_parameters(args.volume_kms_key_arn),
            # Metrics and logs outlive a deleted claim: an operator removes the volume.
            reclaim_policy="Retain",
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            opts=child,
        )
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": NAMESPACE, "labels": namespace_labels("restricted", args.labels)},
            opts=child,
        )
        agents = k8s.core.v1.Namespace(
            f"{name}-agents-namespace",
            metadata={
                "name": AGENTS_NAMESPACE,
                "labels": namespace_labels("privileged", args.labels),
            },
            opts=child,
        )
        ready = pulumi.ResourceOptions(
            parent=self, depends_on=[storage_class, namespace, agents, grafana, loki]
        )
        stack = pinned_release(
            f"{name}-prometheus-stack",
            chart=PROMETHEUS_STACK,
            version=args.prometheus_stack_version,
            repository=PROMETHEUS_STACK_REPOSITORY,
            namespace=NAMESPACE,
            values=prometheus_stack_values(args, secret.arn, grafana.role_arn),
            opts=ready,
        )
        pinned_release(
            f"{name}-loki",
            chart=LOKI,
            version=args.loki_version,
            repository=LOKI_REPOSITORY,
            namespace=NAMESPACE,
            values=loki_values(args, loki.role_arn, args.loki_bucket_name),
            opts=ready,
        )
        pinned_release(
            f"{name}-promtail",
            chart=PROMTAIL,
            version=args.promtail_version,
            repository=PROMTAIL_REPOSITORY,
            namespace=AGENTS_NAMESPACE,
            values=promtail_values(),
            # Its ServiceMonitor needs the operator's CRDs.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[agents, stack]),
        )

        self.grafana_admin_secret_arn = secret.arn
        self.grafana_role_arn = grafana.role_arn
        self.loki_role_arn = loki.role_arn
        self.register_outputs(
            {
                "grafanaAdminSecretArn": self.grafana_admin_secret_arn,
                "grafanaRoleArn": self.grafana_role_arn,
                "lokiRoleArn": self.loki_role_arn,
            }
        )
