"""The optional cluster add-ons in the estate: a temporary copy of the code-learn blueprint that
chooses both (`osp:cluster.addons` in its `infrastructure:` section), in dev and prod; and the
bundled blueprints, which choose neither and get none of it."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from osp.platform import blueprints
from osp.platform.policy.evaluation import context_of, evaluate
from osp.platform.policy.rules import RULES
from osp.platform.project import find_project
from osp.platform.spec import load_environment
from tests.support import estate_plan, plan_of, project_copy

BLUEPRINT = "code-learn"
RELEASE = "kubernetes:helm.sh/v3:Release"
ADDON_TYPES = ("osp:app:ObservabilityStack", "osp:app:ArgoCd")
ADDON_OUTPUTS = ("grafanaAdminSecretArn", "lokiBucket", "argocdNamespace")
TODAY = date(2026, 12, 3)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project whose own code-learn blueprint is the bundled one choosing both add-ons."""
    folder = project_copy(tmp_path_factory.mktemp("addons"))
    bundled = blueprints.Library().catalogue_file(BLUEPRINT)
    document = yaml.safe_load(bundled.read_text())
    document["infrastructure"]["osp:cluster"]["addons"] = {
        "observability": "in-cluster",
        "gitops": "argocd",
    }
    own = folder / "blueprints" / BLUEPRINT
    own.mkdir(parents=True)
    (own / "blueprint.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return find_project(folder)


@pytest.fixture(scope="module", params=["dev", "prod"])
def chosen(request, project):
    spec = load_environment(project, request.param, blueprint=BLUEPRINT)
    return spec, estate_plan(spec)


def test_the_releases_are_in_the_plan_pinned(chosen):
    spec, plan = chosen
    prefix = f"osp-{spec.name}"
    releases = {
        r.name: (r.inputs["chart"], r.inputs["version"], r.inputs["namespace"])
        for r in plan.of_type(RELEASE)
        if r.inputs["namespace"] != "kube-system"
    }
    assert releases == {
        f"{prefix}-observability-prometheus-stack": (
            "kube-prometheus-stack", "88.5.3", "observability",
        ),
        f"{prefix}-observability-loki": ("loki", "18.11.0", "observability"),
        f"{prefix}-observability-promtail": ("promtail", "6.17.1", "observability-agents"),
        f"{prefix}-argocd-release": ("argo-cd", "10.1.1", "argocd"),
    }  # fmt: skip


def test_sizes_and_high_availability_follow_the_environment(chosen):
    spec, plan = chosen
    prefix = f"osp-{spec.name}"
    stack = plan.named(f"{prefix}-observability-prometheus-stack").inputs["values"]
    prometheus = stack["prometheus"]["prometheusSpec"]
    loki = plan.named(f"{prefix}-observability-loki").inputs["values"]
    argocd = plan.named(f"{prefix}-argocd-release").inputs["values"]
    if spec.name == "prod":
        assert (prometheus["retention"], prometheus["replicas"]) == ("30d", 2)
        assert loki["singleBinary"]["replicas"] == 3
        assert argocd["redis-ha"]["enabled"] is True
    else:
        assert (prometheus["retention"], prometheus["replicas"]) == ("7d", 1)
        assert loki["singleBinary"]["replicas"] == 1
        assert argocd["redis-ha"]["enabled"] is False


def test_the_storage_class_uses_the_key_the_ebs_driver_may_use(chosen):
    spec, plan = chosen
    (storage_class,) = plan.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    assert storage_class.inputs["metadata"]["name"] == "gp3-encrypted"
    key = plan.named(f"osp-{spec.name}-keys-data")
    # The volumes' key is the data key, which the EBS CSI driver's role is granted.
    assert key.urn in storage_class.property_dependencies["parameters"]
    ebs_grant = plan.named(f"osp-{spec.name}-eks-ebs-csi-role-kms")
    assert key.urn in ebs_grant.property_dependencies["policy"]


def test_lokis_bucket_is_its_own_encrypted_and_logged(chosen):
    spec, plan = chosen
    prefix = f"osp-{spec.name}"
    bucket = plan.named(f"{prefix}-loki-bucket")
    loki = plan.named(f"{prefix}-observability-loki").inputs["values"]
    assert loki["loki"]["storage"]["bucketNames"]["chunks"] == bucket.inputs["bucket"]
    encryption = plan.named(f"{prefix}-loki-encryption").inputs
    (rule,) = encryption["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    policy = plan.named(f"{prefix}-observability-loki-identity-policy").inputs["policy"]
    assert bucket.inputs["bucket"] in policy
    assert "*" not in policy.replace(f"{bucket.inputs['bucket']}/*", "")


def test_the_outputs_name_the_secret_the_bucket_and_argocd(chosen):
    _spec, plan = chosen
    assert set(ADDON_OUTPUTS) <= set(plan.outputs)
    assert plan.outputs["argocdNamespace"] == "argocd"


def test_policy_finds_only_the_unrotated_grafana_secret(chosen):
    """The bundled code-learn blueprint fails no rule but OSP-EKS-2 in dev; the add-ons add one
    medium finding: Grafana reads its admin password only when its database is new, so a
    rotated secret would no longer be the password (docs/components.md, ObservabilityStack)."""
    spec, plan = chosen
    report = evaluate(plan, RULES, context_of(spec), today=TODAY)
    failed = {(f.rule.id, f.resource.name) for f in report.failing()}
    e = f"osp-{spec.name}-"
    expected = {("OSP-SM-2", f"{e}observability-grafana-admin")}
    if spec.name == "dev":
        expected.add(("OSP-EKS-2", f"{e}eks-cluster"))
    assert failed == expected
    assert all(f.rule.severity.value == "medium" for f in report.failing())


@pytest.mark.parametrize("blueprint", [None, "learning-hub", "learning-platform", "code-learn"])
@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_blueprints_that_choose_nothing_get_nothing(environment, blueprint):
    plan = plan_of(environment, blueprint)
    assert not [r for r in plan.resources if r.type in ADDON_TYPES]
    assert not plan.of_type("kubernetes:storage.k8s.io/v1:StorageClass") or all(
        r.inputs["metadata"]["name"] == "efs"
        for r in plan.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    )
    assert {r.inputs["namespace"] for r in plan.of_type(RELEASE)} <= {"kube-system"}
    assert not set(ADDON_OUTPUTS) & set(plan.outputs)
