"""`ObservabilityStack` through the offline engine: the encrypted StorageClass, the namespaces,
the pinned releases and the security-relevant values, the two IAM roles and the admin secret."""

from __future__ import annotations

import json
from collections import Counter

import pulumi
import pulumi_kubernetes as k8s
import pytest

from osp.app.images import AWS_CLI_IMAGE
from osp.app.observability_stack import (
    FETCH_ADMIN_PASSWORD,
    ObservabilityStack,
    ObservabilityStackArgs,
    problems,
)
from osp.platform.limits import KUBERNETES_VERSIONS
from osp.platform.validation import InvalidArguments
from tests.app import k8s as manifests_of
from tests.support import plan_component, statements

REGION = "eu-west-2"
DATA_KEY = "arn:aws:kms:eu-west-2:123456789012:key/data"
SECRETS_KEY = "arn:aws:kms:eu-west-2:123456789012:key/secrets"
STORAGE_KEY = "arn:aws:kms:eu-west-2:123456789012:key/storage"
BUCKET = "osp-t-loki-0123abcd"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
ISSUER = "oidc.eks.eu-west-2.amazonaws.com/id/EXAMPLE"
OIDC = f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"
RELEASE = "kubernetes:helm.sh/v3:Release"
NAME = "osp-t-observability"


def stack_args(**overrides) -> ObservabilityStackArgs:
    return ObservabilityStackArgs(
        **{
            "region": REGION,
            "volume_kms_key_arn": DATA_KEY,
            "secrets_kms_key_arn": SECRETS_KEY,
            "storage_kms_key_arn": STORAGE_KEY,
            "loki_bucket_name": BUCKET,
            "loki_bucket_arn": BUCKET_ARN,
            "oidc_provider_arn": OIDC,
            "oidc_provider_url": ISSUER,
            "name_prefix": "osp-t",
            "metrics_retention_days": 30,
            "metrics_storage_gib": 100,
            "logs_retention_days": 30,
            "logs_storage_gib": 50,
            "labels": {"app.kubernetes.io/part-of": "lms"},
            **overrides,
        }
    )


def on_a_cluster(name, args, opts):
    provider = k8s.Provider("k8s", kubeconfig="{}")
    return ObservabilityStack(name, args, pulumi.ResourceOptions(providers=[provider]))


@pytest.fixture(scope="module")
def prod():
    return plan_component(on_a_cluster, stack_args(), name=NAME)


@pytest.fixture(scope="module")
def dev():
    return plan_component(
        on_a_cluster,
        stack_args(
            replicas=1,
            metrics_retention_days=7,
            metrics_storage_gib=20,
            logs_retention_days=7,
            logs_storage_gib=10,
            deletion_protection=False,
        ),
        name=NAME,
        environment="dev",
    )


def release(plan, role):
    return plan.named(f"{NAME}-{role}")


def values(plan, role):
    return release(plan, role).inputs["values"]


def walk(value, path=()):
    """Every (path, leaf) of nested dicts and lists."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from walk(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from walk(inner, (*path, index))
    else:
        yield path, value


def test_children_exactly(prod):
    (component,) = prod.of_type("osp:app:ObservabilityStack")
    assert Counter(r.type for r in prod.descendants(component.urn)) == {
        "kubernetes:storage.k8s.io/v1:StorageClass": 1,
        "kubernetes:core/v1:Namespace": 2,
        RELEASE: 3,
        "random:index/randomPassword:RandomPassword": 1,
        "aws:secretsmanager/secret:Secret": 1,
        "aws:secretsmanager/secretVersion:SecretVersion": 1,
        "osp:app:ServiceIdentity": 2,
        "aws:iam/role:Role": 2,
        "aws:iam/rolePolicy:RolePolicy": 2,
    }


def test_storage_class_is_gp3_encrypted_with_the_estate_key(prod):
    (storage_class,) = prod.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    assert storage_class.inputs["metadata"]["name"] == "gp3-encrypted"
    assert storage_class.inputs["provisioner"] == "ebs.csi.aws.com"
    assert storage_class.inputs["parameters"] == {
        "type": "gp3",
        "encrypted": "true",
        "kmsKeyId": DATA_KEY,
        "fsType": "ext4",
    }
    assert storage_class.inputs["reclaimPolicy"] == "Retain"
    assert storage_class.inputs["volumeBindingMode"] == "WaitForFirstConsumer"
    assert storage_class.inputs["allowVolumeExpansion"] is True


def test_namespaces_carry_pod_security_labels(prod):
    labels = {
        r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"]
        for r in prod.of_type("kubernetes:core/v1:Namespace")
    }
    audit = {
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "latest",
        "app.kubernetes.io/part-of": "lms",
    }
    assert labels == {
        "observability": {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest",
            **audit,
        },
        # node-exporter and Promtail read the node: privileged, and nothing else there.
        "observability-agents": {
            "pod-security.kubernetes.io/enforce": "privileged",
            "pod-security.kubernetes.io/enforce-version": "latest",
            **audit,
        },
    }


def test_releases_are_pinned_to_exact_chart_versions(prod):
    found = {
        r.inputs["chart"]: (
            r.inputs["version"], r.inputs["repositoryOpts"]["repo"], r.inputs["namespace"]
        )
        for r in prod.of_type(RELEASE)
    }  # fmt: skip
    assert found == {
        "kube-prometheus-stack": (
            "88.5.3", "https://prometheus-community.github.io/helm-charts", "observability",
        ),
        "loki": ("18.11.0", "https://grafana-community.github.io/helm-charts", "observability"),
        "promtail": ("6.17.1", "https://grafana.github.io/helm-charts", "observability-agents"),
    }  # fmt: skip
    for r in prod.of_type(RELEASE):
        assert r.inputs["atomic"] is True and r.inputs["cleanupOnFail"] is True


def test_nothing_is_exposed_outside_the_cluster(prod):
    for r in prod.of_type(RELEASE):
        for path, leaf in walk(r.inputs["values"]):
            if path[-1] == "type" and "service" in path:
                assert leaf == "ClusterIP", (r.name, path)
            if path[-2:] == ("ingress", "enabled"):
                assert leaf is False, (r.name, path)
            assert leaf not in ("LoadBalancer", "NodePort"), (r.name, path)
    stack = values(prod, "prometheus-stack")
    assert stack["grafana"]["service"] == {"type": "ClusterIP"}
    assert stack["prometheus"]["service"] == {"type": "ClusterIP"}
    assert stack["alertmanager"]["service"] == {"type": "ClusterIP"}


def test_prometheus_and_alertmanager_persist_on_the_encrypted_class(prod):
    stack = values(prod, "prometheus-stack")
    spec = stack["prometheus"]["prometheusSpec"]
    assert spec["storageSpec"] == {
        "volumeClaimTemplate": {
            "spec": {
                "storageClassName": "gp3-encrypted",
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "100Gi"}},
            }
        }
    }
    assert (spec["retention"], spec["retentionSize"], spec["replicas"]) == ("30d", "90GB", 2)
    alertmanager = stack["alertmanager"]["alertmanagerSpec"]
    assert alertmanager["storage"]["volumeClaimTemplate"]["spec"]["storageClassName"] == (
        "gp3-encrypted"
    )
    assert stack["grafana"]["persistence"] == {
        "enabled": True,
        "type": "pvc",
        "storageClassName": "gp3-encrypted",
        "size": "10Gi",
    }


def test_dev_keeps_a_week_on_one_replica(dev):
    spec = values(dev, "prometheus-stack")["prometheus"]["prometheusSpec"]
    assert (spec["retention"], spec["retentionSize"], spec["replicas"]) == ("7d", "18GB", 1)
    loki = values(dev, "loki")
    assert loki["singleBinary"]["replicas"] == 1
    assert loki["loki"]["commonConfig"] == {"replication_factor": 1}
    assert loki["loki"]["limits_config"] == {"retention_period": "168h"}
    (secret,) = dev.of_type("aws:secretsmanager/secret:Secret")
    assert secret.options.protect is False


def test_grafana_admin_password_comes_from_secrets_manager_only(prod):
    grafana = values(prod, "prometheus-stack")["grafana"]
    # The chart makes its own admin Secret unless the password comes from a file: it does.
    assert grafana["env"] == {
        "GF_SECURITY_ADMIN_USER": "admin",
        "GF_SECURITY_ADMIN_PASSWORD__FILE": "/etc/grafana-admin/password",
    }
    assert "adminPassword" not in grafana and "admin" not in grafana
    (secret,) = prod.of_type("aws:secretsmanager/secret:Secret")
    assert secret.inputs["name"] == "osp-t/grafana/admin-password"
    assert secret.inputs["kmsKeyId"] == SECRETS_KEY
    assert secret.options.protect is True
    (version,) = prod.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert version.inputs["secretString"] == "<secret>"
    (init,) = grafana["extraInitContainers"]
    assert init["image"] == AWS_CLI_IMAGE
    assert init["command"] == ["sh", "-c", FETCH_ADMIN_PASSWORD]
    assert '--secret-id "$ADMIN_SECRET_ARN"' in FETCH_ADMIN_PASSWORD
    assert "> /etc/grafana-admin/password" in FETCH_ADMIN_PASSWORD
    env = {e["name"]: e["value"] for e in init["env"]}
    assert env["ADMIN_SECRET_ARN"].startswith(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:osp-t/grafana/admin-password-"
    )
    assert env["AWS_REGION"] == REGION
    assert init["securityContext"]["runAsUser"] == 472
    assert init["securityContext"]["allowPrivilegeEscalation"] is False
    assert init["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    volumes = {v["name"]: v for v in grafana["extraVolumes"]}
    assert volumes["admin-password"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "1Mi"}
    assert grafana["extraVolumeMounts"] == [
        {"name": "admin-password", "mountPath": "/etc/grafana-admin", "readOnly": True}
    ]


def test_grafana_runs_as_non_root_without_the_root_chown(prod):
    grafana = values(prod, "prometheus-stack")["grafana"]
    assert grafana["initChownData"] == {"enabled": False}
    assert grafana["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 472,
        "runAsGroup": 472,
        "fsGroup": 472,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def test_grafanas_role_reads_exactly_its_secret(prod):
    role = prod.named(f"{NAME}-grafana-identity-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Condition"]["StringEquals"][f"{ISSUER}:sub"] == (
        "system:serviceaccount:observability:grafana"
    )
    policy = statements(prod.named(f"{NAME}-grafana-identity-policy").inputs["policy"])
    assert set(policy) == {"ReadSecrets", "UseKey0"}
    (arn,) = policy["ReadSecrets"]["Resource"]
    assert arn.startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:osp-t/grafana/")
    assert policy["UseKey0"]["Resource"] == [SECRETS_KEY]
    sa = values(prod, "prometheus-stack")["grafana"]["serviceAccount"]
    assert sa["name"] == "grafana"
    assert sa["annotations"]["eks.amazonaws.com/role-arn"].endswith(":role/osp-t-grafana")


def test_loki_uses_exactly_its_bucket_through_its_role(prod):
    loki = values(prod, "loki")
    assert loki["deploymentMode"] == "Monolithic"
    assert loki["loki"]["storage"] == {
        "type": "s3",
        "bucketNames": {"chunks": BUCKET, "ruler": BUCKET, "admin": BUCKET},
        "s3": {"region": REGION},
    }
    # No access keys anywhere: the role (IRSA) signs every request.
    assert not any(p[-1] in ("accessKeyId", "secretAccessKey") for p, _ in walk(loki))
    assert loki["serviceAccount"]["name"] == "loki"
    assert loki["singleBinary"]["persistence"] == {
        "enabled": True,
        "storageClass": "gp3-encrypted",
        "size": "50Gi",
    }
    assert loki["singleBinary"]["replicas"] == 3
    assert loki["loki"]["limits_config"] == {"retention_period": "720h"}
    assert loki["loki"]["compactor"] == {"retention_enabled": True, "delete_request_store": "s3"}
    for off in ("gateway", "chunksCache", "resultsCache", "lokiCanary", "test"):
        assert loki[off] == {"enabled": False}
    policy = statements(prod.named(f"{NAME}-loki-identity-policy").inputs["policy"])
    resources = {r for s in policy.values() for r in s["Resource"]}
    assert resources == {BUCKET_ARN, f"{BUCKET_ARN}/*", STORAGE_KEY}
    trust = json.loads(prod.named(f"{NAME}-loki-identity-role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Condition"]["StringEquals"][f"{ISSUER}:sub"] == (
        "system:serviceaccount:observability:loki"
    )


def test_promtail_ships_to_loki_inside_the_cluster(prod):
    promtail = values(prod, "promtail")
    assert promtail["config"] == {
        "clients": [{"url": "http://loki.observability.svc.cluster.local:3100/loki/api/v1/push"}]
    }
    assert promtail["serviceMonitor"] == {
        "enabled": True,
        "labels": {"release": "kube-prometheus-stack"},
    }
    stack = values(prod, "prometheus-stack")
    assert stack["prometheus-node-exporter"]["namespaceOverride"] == "observability-agents"


def test_every_container_has_requests_and_a_memory_limit(prod):
    stack = values(prod, "prometheus-stack")
    found = [
        stack["prometheus"]["prometheusSpec"]["resources"],
        stack["alertmanager"]["alertmanagerSpec"]["resources"],
        stack["prometheusOperator"]["resources"],
        stack["kube-state-metrics"]["resources"],
        stack["prometheus-node-exporter"]["resources"],
        stack["grafana"]["resources"],
        stack["grafana"]["extraInitContainers"][0]["resources"],
        values(prod, "loki")["singleBinary"]["resources"],
        values(prod, "promtail")["resources"],
    ]
    for resources in found:
        assert set(resources["requests"]) == {"cpu", "memory"}
        assert set(resources["limits"]) == {"memory"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"loki_version": "latest"},
            "ObservabilityStack osp-t-observability: loki_version: got 'latest'; expected a "
            "pinned chart version X.Y.Z such as 88.5.3 (no ranges, never 'latest')",
        ),
        (
            {"metrics_retention_days": 0},
            "ObservabilityStack osp-t-observability: metrics_retention_days: got 0; expected "
            "an integer from 1 to 365",
        ),
        (
            {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}},
            "ObservabilityStack osp-t-observability: labels: got "
            "'pod-security.kubernetes.io/enforce'; expected no Pod Security labels: osp sets them",
        ),
    ],
)
def test_bad_arguments_are_refused_by_name(overrides, message):
    assert problems(NAME, stack_args(**overrides)) == [message]
    with pytest.raises(InvalidArguments):
        plan_component(on_a_cluster, stack_args(**overrides), name=NAME)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_storage_class_and_namespaces_validate_strictly(prod, version):
    # Helm releases are not manifests (their objects come from the charts): not validated.
    checked = manifests_of.validate_all(prod, version)
    assert sorted(m["kind"] for m in checked) == ["Namespace", "Namespace", "StorageClass"]
