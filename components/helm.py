"""A pinned Helm release the way every release of the estate is installed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s


def pinned_release(
    resource_name: str,
    *,
    chart: str,
    version: str,
    namespace: str,
    opts: pulumi.ResourceOptions,
    name: str | None = None,
    repository: str | None = None,
    values: pulumi.Input[Mapping[str, Any]] | None = None,
    skip_crds: bool | None = None,
) -> k8s.helm.v3.Release:
    """`chart` at exactly `version`, released as `name` (default: the chart's name).

    A failed install or upgrade rolls back rather than leave a half-done release, and Helm
    keeps ten revisions to roll back to."""
    return k8s.helm.v3.Release(
        resource_name,
        name=name or chart,
        chart=chart,
        version=version,
        repository_opts=(
            k8s.helm.v3.RepositoryOptsArgs(repo=repository) if repository is not None else None
        ),
        namespace=namespace,
        skip_crds=skip_crds,
        values=values,
        atomic=True,
        cleanup_on_fail=True,
        max_history=10,
        opts=opts,
    )
