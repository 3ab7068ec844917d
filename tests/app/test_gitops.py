"""`ArgoCd` through the offline engine: the namespace, the pinned release and its values, the
repository-credentials Secret the operator fills."""

from __future__ import annotations

from collections import Counter

import pulumi
import pulumi_kubernetes as k8s
import pytest

from osp.app.gitops import ArgoCd, ArgoCdArgs, problems, values
from osp.platform.limits import KUBERNETES_VERSIONS
from osp.platform.validation import InvalidArguments
from tests.app import k8s as manifests_of
from tests.support import plan_component

NAME = "osp-t-argocd"
LABELS = {"app.kubernetes.io/part-of": "lms"}


def on_a_cluster(name, args, opts):
    provider = k8s.Provider("k8s", kubeconfig="{}")
    return ArgoCd(name, args, pulumi.ResourceOptions(providers=[provider]))


@pytest.fixture(scope="module")
def prod():
    return plan_component(
        on_a_cluster, ArgoCdArgs(high_availability=True, labels=LABELS), name=NAME
    )


def test_children_exactly(prod):
    (component,) = prod.of_type("osp:app:ArgoCd")
    assert Counter(r.type for r in prod.descendants(component.urn)) == {
        "kubernetes:core/v1:Namespace": 1,
        "kubernetes:helm.sh/v3:Release": 1,
        "kubernetes:core/v1:Secret": 1,
    }


def test_release_is_pinned_and_atomic(prod):
    (release,) = prod.of_type("kubernetes:helm.sh/v3:Release")
    assert release.inputs["chart"] == "argo-cd"
    assert release.inputs["version"] == "10.1.1"
    assert release.inputs["repositoryOpts"] == {"repo": "https://argoproj.github.io/argo-helm"}
    assert release.inputs["namespace"] == "argocd"
    assert release.inputs["atomic"] is True


def test_namespace_enforces_restricted(prod):
    (namespace,) = prod.of_type("kubernetes:core/v1:Namespace")
    labels = namespace.inputs["metadata"]["labels"]
    assert namespace.inputs["metadata"]["name"] == "argocd"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["app.kubernetes.io/part-of"] == "lms"


def test_no_admin_no_exec_no_public_server():
    for ha in (True, False):
        chart = values(ArgoCdArgs(high_availability=ha))
        assert chart["configs"]["cm"] == {"admin.enabled": False, "exec.enabled": False}
        assert chart["dex"] == {"enabled": False}
        assert chart["server"]["service"] == {"type": "ClusterIP"}
        assert chart["server"]["ingress"] == {"enabled": False}
        assert chart["global"]["networkPolicy"] == {"create": True, "defaultDenyIngress": True}
        assert chart["controller"]["resources"] == {
            "requests": {"cpu": "250m", "memory": "512Mi"},
            "limits": {"memory": "2Gi"},
        }


def test_high_availability_in_prod_only():
    ha, single = (
        values(ArgoCdArgs(high_availability=True)),
        values(ArgoCdArgs(high_availability=False)),
    )
    for component in ("server", "repoServer", "applicationSet"):
        assert ha[component]["replicas"] == 2
        assert ha[component]["pdb"] == {"enabled": True, "maxUnavailable": 1}
        assert single[component]["replicas"] == 1
        assert single[component]["pdb"] == {"enabled": False}
    assert (ha["redis"], ha["redis-ha"]["enabled"]) == ({"enabled": False}, True)
    assert (single["redis"], single["redis-ha"]["enabled"]) == ({"enabled": True}, False)
    restricted = {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert ha["redis-ha"]["containerSecurityContext"] == restricted
    assert ha["redis-ha"]["haproxy"]["containerSecurityContext"] == restricted


def test_repository_credentials_are_the_operators(prod):
    (secret,) = prod.of_type("kubernetes:core/v1:Secret")
    metadata = secret.inputs["metadata"]
    assert metadata["name"] == "repo-credentials"
    assert metadata["namespace"] == "argocd"
    assert metadata["labels"]["argocd.argoproj.io/secret-type"] == "repo-creds"
    # Created empty; what the operator stores is never overwritten nor read into state.
    assert "data" not in secret.inputs and "stringData" not in secret.inputs
    assert set(secret.options.ignore_changes) == {"data", "stringData"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ArgoCdArgs(high_availability=True, version="7.x"),
            "ArgoCd osp-t-argocd: version: got '7.x'; expected a pinned chart version X.Y.Z "
            "such as 10.1.1 (no ranges, never 'latest')",
        ),
        (
            ArgoCdArgs(high_availability=True, labels={"argocd.argoproj.io/secret-type": "x"}),
            "ArgoCd osp-t-argocd: labels: got 'argocd.argoproj.io/secret-type'; expected no Pod "
            "Security or Argo CD labels: osp sets them",
        ),
    ],
)
def test_bad_arguments_are_refused_by_name(args, message):
    assert problems(NAME, args) == [message]
    with pytest.raises(InvalidArguments):
        plan_component(on_a_cluster, args, name=NAME)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_namespace_and_secret_validate_strictly(prod, version):
    checked = manifests_of.validate_all(prod, version)
    assert sorted(m["kind"] for m in checked) == ["Namespace", "Secret"]
