"""`ArgoCd`: Argo CD in the cluster, for a blueprint that chooses GitOps.

The argo-cd chart, pinned, in a namespace of its own under Pod Security `restricted`; highly
available where the environment asks (Redis HA, two of each stateless server); no local admin
(operators use `argocd --core` with their cluster credentials, or the SSO they configure); no
exec from the UI; the server reachable only inside the cluster; every component behind the
chart's NetworkPolicies with ingress denied by default; and one repository-credentials Secret
created empty for the operator to fill, which osp never overwrites.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from osp.app import pods
from osp.app.observability_stack import namespace_labels
from osp.components.helm import pinned_release
from osp.platform import limits
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:app:ArgoCd"

NAMESPACE = "argocd"
CHART = "argo-cd"
REPOSITORY = "https://argoproj.github.io/argo-helm"
#: Chart 10.1.1 is Argo CD v3.4.4.
VERSION = "10.1.1"

#: The repository-credentials Secret operators fill (`url`, then `username` and `password`,
#: or `sshPrivateKey`); Argo CD finds it by its label.
REPO_CREDENTIALS_SECRET = "repo-credentials"
SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"

_CHART_VERSION = limits.pattern(
    r"\d+\.\d+\.\d+", "a pinned chart version X.Y.Z such as 10.1.1 (no ranges, never 'latest')"
)

#: Redis HA's containers, made to pass Pod Security `restricted` (the chart's own contexts
#: only make the root filesystem read-only).
_RESTRICTED_CONTAINER = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@dataclass(frozen=True, kw_only=True)
class ArgoCdArgs:
    """Arguments of `ArgoCd`. Its Kubernetes objects go through the provider the caller gives
    in `opts` (`providers=[cluster.provider]`)."""

    high_availability: bool
    """Redis HA (three nodes, hard anti-affinity), two servers, repo servers and
    ApplicationSet controllers, a disruption budget each; otherwise one of each."""

    version: str = VERSION
    """The argo-cd chart version, pinned (`X.Y.Z`). Default: 10.1.1."""

    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on the namespace and the repository Secret. Default: none."""


def problems(name: str, args: ArgoCdArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("ArgoCd", name)
    check.against(_CHART_VERSION, "version", args.version)
    check.extend(pods.label_problems("labels", args.labels))
    for key in args.labels:
        if key.startswith("pod-security.kubernetes.io/") or key == SECRET_TYPE_LABEL:
            check.add("labels", key, "no Pod Security or Argo CD labels: osp sets them")
    return check.found


def _resources(cpu: str, memory: str, memory_limit: str) -> dict[str, object]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}


def values(args: ArgoCdArgs) -> dict[str, object]:
    """The chart's values."""
    ha = args.high_availability
    replicas = 2 if ha else 1
    budget = {"enabled": ha, "maxUnavailable": 1} if ha else {"enabled": False}
    return {
        "global": {"networkPolicy": {"create": True, "defaultDenyIngress": True}},
        "configs": {
            "cm": {"admin.enabled": False, "exec.enabled": False},
        },
        # No bundled identity provider: the operator adds SSO (OIDC) in argocd-cm.
        "dex": {"enabled": False},
        "controller": {
            # More replicas shard clusters between them; this estate has one cluster.
            "replicas": 1,
            "resources": _resources("250m", "512Mi", "2Gi"),
        },
        "server": {
            "replicas": replicas,
            "service": {"type": "ClusterIP"},
            "ingress": {"enabled": False},
            "pdb": budget,
            "resources": _resources("50m", "128Mi", "512Mi"),
        },
        "repoServer": {
            "replicas": replicas,
            "pdb": budget,
            "resources": _resources("100m", "256Mi", "1Gi"),
        },
        "applicationSet": {
            "replicas": replicas,
            "pdb": budget,
            "resources": _resources("50m", "64Mi", "256Mi"),
        },
        "redis": {"enabled": not ha},
        "redis-ha": {
            "enabled": ha,
            "containerSecurityContext": dict(_RESTRICTED_CONTAINER),
            "haproxy": {"containerSecurityContext": dict(_RESTRICTED_CONTAINER)},
        },
    }


class ArgoCd(pulumi.ComponentResource):
    """Argo CD: namespace `argocd` (Pod Security `restricted`), the argo-cd Helm release
    (pinned, atomic), and the repository-credentials Secret the operator fills.

    No local admin and no Dex: operators run `argocd --core` (it talks to the Kubernetes API
    with their own credentials) or `kubectl -n argocd port-forward svc/argo-cd-argocd-server
    8080:443` once they have configured SSO. The server's Service is ClusterIP.
    """

    namespace: pulumi.Output[str]

    def __init__(
        self, name: str, args: ArgoCdArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        child = pulumi.ResourceOptions(parent=self)
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": NAMESPACE, "labels": namespace_labels("restricted", args.labels)},
            opts=child,
        )
        release = pinned_release(
            f"{name}-release",
            chart=CHART,
            version=args.version,
            repository=REPOSITORY,
            namespace=NAMESPACE,
            values=values(args),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
        )
        k8s.core.v1.Secret(
            f"{name}-repo-credentials",
            metadata={
                "name": REPO_CREDENTIALS_SECRET,
                "namespace": NAMESPACE,
                "labels": {**args.labels, SECRET_TYPE_LABEL: "repo-creds"},
                "annotations": {
                    "kubernetes.io/description": (
                        "Filled by the operator, never by osp (kubectl -n argocd edit secret "
                        "repo-credentials): url, then username and password, or sshPrivateKey"
                    )
                },
            },
            type="Opaque",
            # The operator's values stay: osp created the Secret empty and never writes it.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[release], ignore_changes=["data", "stringData"]
            ),
        )
        self.namespace = namespace.metadata.name
        self.register_outputs({"namespace": self.namespace})
