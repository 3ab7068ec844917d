"""The cluster add-ons an environment chooses beyond the ones every estate runs:
`osp:cluster.addons` in a stack file, or in a blueprint's `infrastructure:` section.

A blueprint that wants an in-cluster metrics and logs stack or GitOps says so in its
`infrastructure:` section (seed 002 does); each environment may still turn either off, or on,
in its stack file. Nothing is created for a choice left at `none`, the default.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Observability(StrEnum):
    """Metrics and logs inside the cluster, besides CloudWatch's Container Insights."""

    #: Nothing in the cluster (CloudWatch only).
    NONE = "none"
    #: Prometheus, Alertmanager and Grafana (kube-prometheus-stack), Loki and Promtail.
    IN_CLUSTER = "in-cluster"


class GitOps(StrEnum):
    """Who keeps the cluster's workloads in step with a Git repository."""

    #: Nobody: osp deploys the workloads itself.
    NONE = "none"
    #: Argo CD, for the teams' own applications.
    ARGOCD = "argocd"


class ClusterAddonsSpec(BaseModel):
    """`osp:cluster.addons`: the optional add-ons. Default: none of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    observability: Observability = Field(
        Observability.NONE,
        description="in-cluster: Prometheus, Alertmanager, Grafana, Loki and Promtail; none: "
        "CloudWatch only (the default).",
    )
    gitops: GitOps = Field(
        GitOps.NONE, description="argocd: Argo CD in the cluster; none: no GitOps (the default)."
    )

    @property
    def chosen(self) -> bool:
        """Whether any optional add-on is chosen."""
        return self.observability is not Observability.NONE or self.gitops is not GitOps.NONE
