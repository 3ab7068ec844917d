"""`ServiceWorkload` with a persistent directory: the claim on its own volume, the mount, the
order of creation, valid manifests, refused arguments — and nothing of it without one."""

from __future__ import annotations

import pytest

from osp.app.workload import PersistentMount, ServiceWorkload, claim_name, problems
from tests.app import k8s as manifests_of
from tests.app.test_workload import DEPLOYMENT, KUBERNETES_VERSION, NAMESPACE, fee_args
from tests.support import plan_component

CLAIM = "kubernetes:core/v1:PersistentVolumeClaim"
MOUNT = PersistentMount(
    path="/data", volume_name="osp-t-files-fee", storage_class="efs", storage="100Gi"
)


@pytest.fixture(scope="module")
def plan():
    return plan_component(ServiceWorkload, fee_args(volume=MOUNT), name="osp-t-fee-workload")


def pod_of(plan):
    (deployment,) = plan.of_type(DEPLOYMENT)
    return deployment, deployment.inputs["spec"]["template"]["spec"]


def test_the_claim_binds_exactly_the_services_volume(plan):
    (claim,) = plan.of_type(CLAIM)
    assert claim_name("fee") == "fee-data"
    assert claim.inputs["metadata"]["name"] == "fee-data"
    assert claim.inputs["metadata"]["namespace"] == NAMESPACE
    assert claim.inputs["metadata"]["labels"]["app.kubernetes.io/name"] == "fee"
    assert claim.inputs["spec"] == {
        "accessModes": ["ReadWriteMany"],
        "storageClassName": "efs",
        "volumeName": "osp-t-files-fee",
        "resources": {"requests": {"storage": "100Gi"}},
    }


def test_every_pod_mounts_it_beside_tmp_and_waits_for_it(plan):
    deployment, pod = pod_of(plan)
    assert pod["volumes"] == [
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "fee-data"}},
    ]
    (container,) = pod["containers"]
    assert container["volumeMounts"] == [
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "data", "mountPath": "/data"},
    ]
    # The root filesystem stays read-only: only the mounts are writable.
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    (claim,) = plan.of_type(CLAIM)
    assert claim.urn in deployment.dependencies


def test_without_a_volume_there_is_no_claim_and_only_tmp():
    plan = plan_component(ServiceWorkload, fee_args(), name="osp-t-fee-workload")
    assert plan.of_type(CLAIM) == []
    _, pod = pod_of(plan)
    assert [v["name"] for v in pod["volumes"]] == ["tmp"]


def test_the_manifests_are_valid(plan):
    manifests_of.validate_all(plan, KUBERNETES_VERSION)
    kinds = {m["kind"] for m in manifests_of.manifests(plan)}
    assert "PersistentVolumeClaim" in kinds


@pytest.mark.parametrize(
    ("volume", "expected"),
    [
        (
            PersistentMount(path="/tmp", volume_name="v", storage_class="efs", storage="1Gi"),
            "ServiceWorkload w: volume.path: got '/tmp'; expected an absolute directory such as "
            "/data: segments of letters, digits, '.', '_' and '-', no '..', no trailing slash, at "
            "most 200 characters, not / and not at or under /tmp, /proc, /sys, /dev, /etc, "
            "/var/run/secrets",
        ),
        (
            PersistentMount(path="/data", volume_name="V_1", storage_class="efs", storage="1Gi"),
            "ServiceWorkload w: volume.volume_name: got 'V_1'; expected ",
        ),
        (
            PersistentMount(path="/data", volume_name="v", storage_class="efs", storage="lots"),
            "ServiceWorkload w: volume.storage: got 'lots'; expected a Kubernetes quantity such "
            "as 100Gi",
        ),
        ("/data", "ServiceWorkload w: volume: got '/data'; expected a PersistentMount("),
    ],
)
def test_a_bad_volume_is_refused_naming_the_argument(volume, expected):
    (found,) = problems("w", fee_args(volume=volume))
    assert found.startswith(expected)
