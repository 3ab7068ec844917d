"""`ServiceWorkload` through the offline engine: every object, its security stance, its reach.

Also the shared manifest helper (tests/app/k8s.py) and every object validated against the
Kubernetes schema of each supported cluster version, strictly.
"""

from __future__ import annotations

import re
from collections import Counter

import pulumi
import pulumi_kubernetes as k8s
import pytest

from osp.app.pods import image_problem
from osp.app.workload import (
    NAME_LABEL,
    EgressRule,
    NetworkProtocol,
    ServiceWorkload,
    ServiceWorkloadArgs,
    problems,
)
from osp.platform.catalogue import (
    LivenessProbe,
    Probes,
    Quantities,
    ReadinessProbe,
    Replicas,
    Resources,
    StartupProbe,
    load_catalogue,
)
from osp.platform.engine import offline
from osp.platform.limits import KUBERNETES_VERSIONS
from osp.platform.validation import InvalidArguments
from tests.app import k8s as manifests_of
from tests.support import plan_component, spec_of

NAMESPACE = "osp-services"
ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/osp-t-fee"
TARGET_GROUP = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/osp-t-fee/0123abcd"
PUBLIC = ("10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24")
ISOLATED = "10.0.64.0/20"
PRIVATE = "10.0.16.0/20"
KUBERNETES_VERSION = "1.33"

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
ACCOUNT_TYPE = "kubernetes:core/v1:ServiceAccount"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
PER_SERVICE = {ACCOUNT_TYPE: 1, DEPLOYMENT: 1, SERVICE: 1, HPA: 1, PDB: 1, POLICY: 1}


def fee_args(**overrides) -> ServiceWorkloadArgs:
    """A routed service with callers, egress and configuration, as prod would pass it."""
    return ServiceWorkloadArgs(
        **{
            "service": "fee",
            "namespace": NAMESPACE,
            "image": f"{REGISTRY}/fee:1.4.2",
            "port": 8080,
            "role_arn": ROLE,
            "replicas": Replicas(min=3, baseline=3, max=6),
            "resources": Resources(
                requests=Quantities(cpu="500m", memory="512Mi"),
                limits=Quantities(cpu="2", memory="1Gi"),
            ),
            "probes": Probes(
                startup=StartupProbe(path="/started", period_seconds=3, failure_threshold=40),
                readiness=ReadinessProbe(path="/ready", timeout_seconds=3),
                liveness=LivenessProbe(path="/alive", period_seconds=15, failure_threshold=4),
            ),
            "env": {
                "QUEUE_URL": pulumi.Output.from_input("https://sqs.us-east-1.amazonaws.com/q"),
                "DATABASE_HOST": "osp-t-db.example.internal",
                "REDIS_AUTH_SECRET_ARN": pulumi.Output.from_input(
                    f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:redis-AbCdEf"
                ),
                "AWS_REGION": "us-east-1",
            },
            "target_group_arn": TARGET_GROUP,
            "load_balancer_cidrs": PUBLIC,
            "callers": ("enrollment", "admin"),
            "egress": (
                EgressRule(cidr=ISOLATED, ports=(5432, 6379)),
                EgressRule(cidr=PRIVATE, ports=(443,)),
            ),
            "labels": {"app.kubernetes.io/part-of": "osp"},
            **overrides,
        }
    )


def internal_args(**overrides) -> ServiceWorkloadArgs:
    """An internal service in dev: no target group, no callers, one replica, the defaults."""
    return ServiceWorkloadArgs(
        **{
            "service": "notification",
            "namespace": NAMESPACE,
            "image": f"{REGISTRY}/notification:2.0.0",
            "port": 8080,
            "role_arn": f"arn:aws:iam::{ACCOUNT}:role/osp-t-notification",
            "replicas": Replicas(min=1, baseline=1, max=1),
            **overrides,
        }
    )


def plan_workloads(*workloads: tuple[str, ServiceWorkloadArgs], version: str = "prod"):
    def program(spec):
        provider = k8s.Provider("k8s", kubeconfig="{}")
        for name, args in workloads:
            workload = ServiceWorkload(name, args, pulumi.ResourceOptions(providers=[provider]))
            pulumi.export(f"{name}-url", workload.url)

    return offline.run(spec_of(version), program)


def plan_one(args: ServiceWorkloadArgs, name: str = "osp-t-fee"):
    return plan_component(
        manifests_of.on_cluster(ServiceWorkload), args, name=name, exports=("url",)
    )


@pytest.fixture(scope="module")
def routed():
    return plan_one(fee_args())


@pytest.fixture(scope="module")
def internal():
    return plan_one(internal_args(), name="osp-t-notification")


def one(plan, token):
    (resource,) = plan.of_type(token)
    return resource


def pod_spec(plan):
    return one(plan, DEPLOYMENT).inputs["spec"]["template"]["spec"]


def container(plan):
    (only,) = pod_spec(plan)["containers"]
    return only


# --- the objects ---------------------------------------------------------------------------


def test_routed_service_gets_exactly_its_objects(routed):
    (component,) = routed.of_type("osp:app:ServiceWorkload")
    children = routed.children(component.urn)
    assert Counter(r.type for r in children) == Counter({**PER_SERVICE, BINDING: 1})
    assert {r.name for r in children} == {
        "osp-t-fee-service-account",
        "osp-t-fee-deployment",
        "osp-t-fee-service",
        "osp-t-fee-autoscaler",
        "osp-t-fee-disruption-budget",
        "osp-t-fee-network-policy",
        "osp-t-fee-target-group-binding",
    }
    assert all(r.custom for r in children)


def test_internal_service_has_no_target_group_binding(internal):
    (component,) = internal.of_type("osp:app:ServiceWorkload")
    assert Counter(r.type for r in internal.children(component.urn)) == Counter(PER_SERVICE)


def test_every_object_goes_through_the_given_provider(routed):
    (provider,) = routed.of_type("pulumi:providers:kubernetes")
    objects = [r for r in routed.resources if r.type.startswith("kubernetes:")]
    assert len(objects) == 7
    assert {r.provider for r in objects} == {provider.urn}


def test_every_object_is_named_after_the_service_in_the_namespace(routed):
    items = manifests_of.manifests(routed)
    assert len(items) == 7
    for item in items:
        assert item["metadata"]["name"] == "fee"
        assert item["metadata"]["namespace"] == NAMESPACE
        assert item["metadata"]["labels"] == {
            NAME_LABEL: "fee",
            "app.kubernetes.io/part-of": "osp",
        }


def test_service_account_carries_the_role_and_no_api_token(routed):
    account = one(routed, ACCOUNT_TYPE).inputs
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE}
    assert account["automountServiceAccountToken"] is False
    spec = pod_spec(routed)
    assert spec["serviceAccountName"] == "fee"
    assert spec["automountServiceAccountToken"] is False


# --- the pods ------------------------------------------------------------------------------


def test_pod_security_context(routed):
    assert pod_spec(routed)["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "fsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def test_container_security_context(routed):
    assert container(routed)["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "privileged": False,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def test_pods_meet_pod_security_restricted(routed, internal):
    """The rules of the `restricted` standard that the namespace enforces."""
    for plan in (routed, internal):
        spec = pod_spec(plan)
        assert not any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
        assert all("hostPath" not in v for v in spec["volumes"])
        assert set(spec["volumes"][0]) <= {
            "name",
            "emptyDir",
            "configMap",
            "secret",
            "projected",
            "persistentVolumeClaim",
        }
        for item in spec["containers"]:
            context = item["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["runAsNonRoot"] is True and context["runAsUser"] != 0
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert context["seccompProfile"]["type"] in ("RuntimeDefault", "Localhost")
            assert not any("hostPort" in p for p in item["ports"])


def test_read_only_root_with_a_writable_tmp(routed):
    assert container(routed)["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod_spec(routed)["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]


def test_image_port_and_resources(routed):
    item = container(routed)
    assert item["name"] == "fee"
    assert item["image"] == f"{REGISTRY}/fee:1.4.2"
    assert item["imagePullPolicy"] == "IfNotPresent"
    assert item["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert item["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "2", "memory": "1Gi"},
    }


def test_default_resources_and_probes_are_the_catalogues(internal):
    item = container(internal)
    assert item["resources"] == {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"cpu": "1", "memory": "512Mi"},
    }
    assert item["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert item["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert item["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_probes(routed):
    item = container(routed)

    def http(path):
        return {"path": path, "port": "http", "scheme": "HTTP"}

    assert item["startupProbe"] == {
        "httpGet": http("/started"),
        "periodSeconds": 3,
        "timeoutSeconds": 2,
        "failureThreshold": 40,
    }
    assert item["readinessProbe"] == {
        "httpGet": http("/ready"),
        "periodSeconds": 10,
        "timeoutSeconds": 3,
        "failureThreshold": 3,
    }
    assert item["livenessProbe"] == {
        "httpGet": http("/alive"),
        "periodSeconds": 15,
        "timeoutSeconds": 2,
        "failureThreshold": 4,
    }


def test_environment_points_at_things_and_holds_no_secret(routed):
    assert container(routed)["env"] == [
        {"name": "AWS_REGION", "value": "us-east-1"},
        {"name": "DATABASE_HOST", "value": "osp-t-db.example.internal"},
        {"name": "QUEUE_URL", "value": "https://sqs.us-east-1.amazonaws.com/q"},
        {
            "name": "REDIS_AUTH_SECRET_ARN",
            "value": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:redis-AbCdEf",
        },
    ]
    items = manifests_of.manifests(routed)
    assert len(items) == 7
    for item in items:
        assert manifests_of.secrets_in(item) == [], item["kind"]


def test_no_service_links_and_the_workload_pool(routed):
    spec = pod_spec(routed)
    assert spec["enableServiceLinks"] is False
    assert spec["nodeSelector"] == {"osp.io/pool": "workload"}


def test_spread_across_zones_and_hosts(routed):
    assert pod_spec(routed)["topologySpreadConstraints"] == [
        {
            "topologyKey": key,
            "maxSkew": 1,
            "whenUnsatisfiable": "ScheduleAnyway",
            "nodeTaintsPolicy": "Honor",
            "labelSelector": {"matchLabels": {NAME_LABEL: "fee"}},
        }
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]


def test_graceful_termination_outlasts_deregistration(routed):
    # 30 s deregistration delay + 5 s propagation, then 15 s for the process after SIGTERM.
    assert container(routed)["lifecycle"] == {"preStop": {"sleep": {"seconds": 35}}}
    assert pod_spec(routed)["terminationGracePeriodSeconds"] == 50


def test_graceful_termination_follows_its_args():
    plan = plan_one(fee_args(deregistration_delay_seconds=60, shutdown_seconds=30))
    assert container(plan)["lifecycle"]["preStop"]["sleep"]["seconds"] == 65
    assert pod_spec(plan)["terminationGracePeriodSeconds"] == 95


def test_rollout_and_replicas(routed, internal):
    deployment = one(routed, DEPLOYMENT)
    spec = deployment.inputs["spec"]
    assert spec["replicas"] == 3
    assert spec["revisionHistoryLimit"] == 5
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"},
    }
    assert spec["selector"] == {"matchLabels": {NAME_LABEL: "fee"}}
    assert spec["template"]["metadata"]["labels"][NAME_LABEL] == "fee"
    # The autoscaler owns the count after creation.
    assert deployment.options.ignore_changes == ("spec.replicas",)
    assert one(internal, DEPLOYMENT).inputs["spec"]["replicas"] == 1


def test_deployment_waits_for_its_service_account(routed):
    deployment = one(routed, DEPLOYMENT)
    assert one(routed, ACCOUNT_TYPE).urn in deployment.dependencies


# --- service, scaling, disruption ----------------------------------------------------------


def test_cluster_ip_service_on_the_port(routed):
    assert one(routed, SERVICE).inputs["spec"] == {
        "type": "ClusterIP",
        "selector": {NAME_LABEL: "fee"},
        "ports": [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}],
    }


def test_autoscaler_targets(routed, internal):
    def metric(name, percent):
        return {
            "type": "Resource",
            "resource": {
                "name": name,
                "target": {"type": "Utilization", "averageUtilization": percent},
            },
        }

    assert one(routed, HPA).inputs["spec"] == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "fee"},
        "minReplicas": 3,
        "maxReplicas": 6,
        "metrics": [metric("cpu", 70), metric("memory", 80)],
    }
    dev = one(internal, HPA).inputs["spec"]
    assert (dev["minReplicas"], dev["maxReplicas"]) == (1, 1)


@pytest.mark.parametrize("plan_name", ["routed", "internal"])
def test_disruption_budget_never_blocks_a_drain(plan_name, request):
    plan = request.getfixturevalue(plan_name)
    spec = one(plan, PDB).inputs["spec"]
    assert spec == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": {NAME_LABEL: spec["selector"]["matchLabels"][NAME_LABEL]}},
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }
    assert "minAvailable" not in spec


# --- network policy ------------------------------------------------------------------------


def test_network_policy_of_a_routed_service(routed):
    port = [{"protocol": "TCP", "port": 8080}]
    assert one(routed, POLICY).inputs["spec"] == {
        "podSelector": {"matchLabels": {NAME_LABEL: "fee"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {"from": [{"ipBlock": {"cidr": cidr}} for cidr in PUBLIC], "ports": port},
            {
                "from": [
                    {"podSelector": {"matchLabels": {NAME_LABEL: "enrollment"}}},
                    {"podSelector": {"matchLabels": {NAME_LABEL: "admin"}}},
                ],
                "ports": port,
            },
        ],
        "egress": [
            manifests_of.DNS_EGRESS,
            {
                "to": [{"ipBlock": {"cidr": ISOLATED}}],
                "ports": [{"protocol": "TCP", "port": 5432}, {"protocol": "TCP", "port": 6379}],
            },
            {"to": [{"ipBlock": {"cidr": PRIVATE}}], "ports": [{"protocol": "TCP", "port": 443}]},
        ],
    }


def test_network_policy_of_an_internal_service_admits_nobody(internal):
    spec = one(internal, POLICY).inputs["spec"]
    # Both types listed with no ingress rule: all ingress denied; egress only DNS.
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"] == []
    assert spec["egress"] == [manifests_of.DNS_EGRESS]


def test_load_balancer_cidrs_are_ignored_without_a_target_group():
    plan = plan_one(internal_args(load_balancer_cidrs=PUBLIC))
    assert one(plan, POLICY).inputs["spec"]["ingress"] == []


def test_callers_only_no_load_balancer():
    plan = plan_one(internal_args(callers=("identity",)))
    assert one(plan, POLICY).inputs["spec"]["ingress"] == [
        {
            "from": [{"podSelector": {"matchLabels": {NAME_LABEL: "identity"}}}],
            "ports": [{"protocol": "TCP", "port": 8080}],
        }
    ]


def test_calls_reach_only_the_callees_pods_on_their_ports():
    plan = plan_one(internal_args(calls={"identity": 8080, "activity": 3005}))
    egress = one(plan, POLICY).inputs["spec"]["egress"]
    assert egress[1:] == [
        {
            "to": [{"podSelector": {"matchLabels": {NAME_LABEL: "activity"}}}],
            "ports": [{"protocol": "TCP", "port": 3005}],
        },
        {
            "to": [{"podSelector": {"matchLabels": {NAME_LABEL: "identity"}}}],
            "ports": [{"protocol": "TCP", "port": 8080}],
        },
    ]


def test_udp_egress():
    plan = plan_one(
        internal_args(egress=(EgressRule(cidr="10.0.0.2/32", ports=(123,), protocol="UDP"),))
    )
    egress = one(plan, POLICY).inputs["spec"]["egress"]
    assert egress[1] == {
        "to": [{"ipBlock": {"cidr": "10.0.0.2/32"}}],
        "ports": [{"protocol": "UDP", "port": 123}],
    }


# --- target group binding ------------------------------------------------------------------


def test_target_group_binding(routed):
    binding = one(routed, BINDING)
    assert binding.inputs == {
        "apiVersion": "elbv2.k8s.aws/v1beta1",
        "kind": "TargetGroupBinding",
        "metadata": {
            "name": "fee",
            "namespace": NAMESPACE,
            "labels": {NAME_LABEL: "fee", "app.kubernetes.io/part-of": "osp"},
        },
        "spec": {
            "serviceRef": {"name": "fee", "port": 8080},
            "targetGroupARN": TARGET_GROUP,
            "targetType": "ip",
        },
    }
    # The security group rule is the estate's; the controller manages none.
    assert "networking" not in binding.inputs["spec"]
    assert one(routed, SERVICE).urn in binding.dependencies


def test_target_group_arn_from_an_output():
    arn = pulumi.Output.from_input(TARGET_GROUP)
    plan = plan_one(fee_args(target_group_arn=arn))
    assert one(plan, BINDING).inputs["spec"]["targetGroupARN"] == TARGET_GROUP


def test_url_output(routed):
    assert routed.outputs["url"] == "http://fee.osp-services.svc.cluster.local:8080"


# --- schema --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_strictly(routed, internal, version):
    checked = manifests_of.validate_all(routed, version) + manifests_of.validate_all(
        internal, version
    )
    # Everything but the TargetGroupBinding (a custom resource: no schema shipped).
    assert Counter(m["kind"] for m in checked) == Counter(
        {
            k: 2
            for k in (
                "ServiceAccount",
                "Deployment",
                "Service",
                "HorizontalPodAutoscaler",
                "PodDisruptionBudget",
                "NetworkPolicy",
            )
        }
    )
    assert [m["kind"] for m in manifests_of.custom_resources(routed)] == ["TargetGroupBinding"]


@pytest.fixture(scope="module", params=["osp", "learning-hub"])
def blueprint(request):
    """Every service of a bundled blueprint, as the app layer would deploy it in prod."""
    catalogue = load_catalogue(request.param)
    workloads = []
    for service in catalogue.services:
        routed_service = service.route is not None
        workloads.append(
            (
                f"osp-prod-{service.name}",
                ServiceWorkloadArgs(
                    service=service.name,
                    namespace=NAMESPACE,
                    image=service.image.reference(f"{REGISTRY}/{service.image.repository}"),
                    port=service.port,
                    role_arn=f"arn:aws:iam::{ACCOUNT}:role/osp-prod-{service.name}",
                    replicas=Replicas(
                        min=service.replicas.baseline,
                        baseline=service.replicas.baseline,
                        max=service.replicas.max,
                    ),
                    resources=service.resources,
                    probes=service.probes,
                    target_group_arn=(
                        f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/"
                        f"osp-prod-{service.name}/0123abcd"
                        if routed_service
                        else None
                    ),
                    load_balancer_cidrs=PUBLIC if routed_service else (),
                    callers=service.callers,
                    egress=(EgressRule(cidr=ISOLATED, ports=(5432, 6379, 5671)),),
                ),
            )
        )
    return catalogue, plan_workloads(*workloads)


def test_every_service_of_a_blueprint(blueprint):
    catalogue, plan = blueprint
    routed_count = len(catalogue.routed)
    services = len(catalogue.services)
    counts = Counter(r.type for r in plan.resources if r.type.startswith("kubernetes:"))
    assert counts == Counter({**{token: services for token in PER_SERVICE}, BINDING: routed_count})
    checked = manifests_of.validate_all(plan, KUBERNETES_VERSION)
    assert len(checked) == 6 * services
    for item in checked:
        assert manifests_of.secrets_in(item) == []
    for deployment in plan.of_type(DEPLOYMENT):
        (item,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
        assert not item["image"].lower().endswith(":latest")
        assert image_problem(item["image"]) is None


# --- refused args --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"service": "Fee"}, "service: got 'Fee'; expected a DNS-1035 label"),
        ({"service": "1fee"}, "service: got '1fee'"),
        ({"namespace": "Osp_Services"}, "namespace: got 'Osp_Services'; expected a DNS-1123"),
        ({"namespace": "default"}, "namespace: got 'default'; expected the estate's services"),
        ({"namespace": "kube-system"}, "namespace: got 'kube-system'"),
        (
            {"image": f"{REGISTRY}/fee"},
            "image: got '" + REGISTRY + "/fee'; expected a full "
            "image reference with an explicit tag",
        ),
        ({"image": "localhost:5000/fee"}, "image: got 'localhost:5000/fee'; expected a full"),
        (
            {"image": f"{REGISTRY}/fee:latest"},
            f"image: got '{REGISTRY}/fee:latest'; expected an explicit version tag, never 'latest'",
        ),
        ({"image": "fee:Latest"}, "image: got 'fee:Latest'; expected an explicit version tag"),
        ({"image": "fee:1.0@sha256:abc"}, "image: got 'fee:1.0@sha256:abc'; expected a digest"),
        ({"port": 80}, "port: got 80; expected a port from 1024 to 65535"),
        ({"port": 70000}, "port: got 70000"),
        ({"port": True}, "port: got True"),
        ({"role_arn": "arn:aws:iam::123456789012:user/fee"}, "role_arn: got 'arn:aws:iam::"),
        (
            {"replicas": Replicas(min=0, baseline=1, max=2)},
            "replicas.min: got 0; expected at least 1",
        ),
        ({"replicas": (1, 2, 3)}, "replicas: got (1, 2, 3)"),
        (
            {"env": {"DB_PASSWORD": "hunter2"}},
            "env: got 'DB_PASSWORD'; expected a reference, not a secret",
        ),
        ({"env": {"STRIPE_API_KEY": pulumi.Output.from_input("x")}}, "env: got 'STRIPE_API_KEY'"),
        ({"env": {"SESSION_TOKEN": "x"}}, "env: got 'SESSION_TOKEN'"),
        ({"env": {"AWS_ROLE_ARN": ROLE}}, "env: got 'AWS_ROLE_ARN'; expected no AWS_ROLE_ARN"),
        ({"env": {"AWS_ACCESS_KEY_ID": "x"}}, "env: got 'AWS_ACCESS_KEY_ID'"),
        ({"env": {"2FA": "on"}}, "env: got '2FA'; expected variable names"),
        (
            {"env": {"SIGNING": "-----BEGIN PRIVATE KEY-----"}},
            "env['SIGNING']: got '<redacted>'; expected configuration, not key material",
        ),
        ({"env": {"KEY_ID": "AKIAABCDEFGHIJKLMNOP"}}, "env['KEY_ID']: got '<redacted>'"),
        ({"env": {"PORT": 8080}}, "env['PORT']: got 8080; expected a str or Output[str]"),
        ({"target_group_arn": "tg-1"}, "target_group_arn: got 'tg-1'"),
        (
            {"load_balancer_cidrs": ()},
            "load_balancer_cidrs: got []; expected the public "
            "subnets' CIDRs when target_group_arn is given",
        ),
        ({"load_balancer_cidrs": ("10.0.0.1/24",)}, "load_balancer_cidrs: got '10.0.0.1/24'"),
        (
            {"load_balancer_cidrs": ("0.0.0.0/0",)},
            "load_balancer_cidrs: got '0.0.0.0/0'; expected "
            "the load balancer's subnets, not the whole address space",
        ),
        (
            {"load_balancer_cidrs": "10.0.0.0/24"},
            "load_balancer_cidrs: got '10.0.0.0/24'; expected a list of CIDRs, not one string",
        ),
        ({"callers": ("fee",)}, "callers: got 'fee'; expected other services"),
        ({"callers": ("admin", "admin")}, "callers: got 'admin'; expected each caller once"),
        ({"callers": ("Admin",)}, "callers: got 'Admin'"),
        ({"callers": "admin"}, "callers: got 'admin'; expected a list"),
        ({"calls": {"fee": 8080}}, "calls: got 'fee'; expected other services"),
        ({"calls": {"Admin": 8080}}, "calls: got 'Admin'; expected service names"),
        ({"calls": {"admin": 0}}, "calls['admin']: got 0; expected the callee's port"),
        ({"calls": ["admin"]}, "calls: got ['admin']; expected a mapping"),
        (
            {"egress": (EgressRule(cidr="10.0.0.0/8", ports=()),)},
            "egress[0].ports: got (); expected a tuple of at least one port",
        ),
        ({"egress": (EgressRule(cidr="10.0.0.0/8", ports=(0,)),)}, "egress[0].ports: got (0,)"),
        (
            {"egress": (EgressRule(cidr="10.0.0.0/8", ports=(443, 443)),)},
            "egress[0].ports: got (443, 443); expected distinct ports from 1 to 65535",
        ),
        (
            {"egress": (EgressRule(cidr="fd00::/8", ports=(443,)),)},
            "egress[0].cidr: got 'fd00::/8'; expected an IPv4 CIDR block (the VPC is IPv4)",
        ),
        (
            {"egress": (EgressRule(cidr="10.0.0.0/8", ports=(1,), protocol="ICMP"),)},
            "egress[0].protocol: got 'ICMP'",
        ),
        ({"egress": ("10.0.0.0/8:443",)}, "egress[0]: got '10.0.0.0/8:443'"),
        ({"labels": {NAME_LABEL: "x"}}, f"labels: got '{NAME_LABEL}'; expected no"),
        ({"labels": {"team": "a b"}}, "labels['team']: got 'a b'"),
        ({"labels": {"-bad": "x"}}, "labels: got '-bad'"),
        ({"node_selector": {"osp.io/pool": "work load"}}, "node_selector['osp.io/pool']"),
        ({"deregistration_delay_seconds": -1}, "deregistration_delay_seconds: got -1"),
        ({"shutdown_seconds": 0}, "shutdown_seconds: got 0; expected 1 to 600"),
    ],
)
def test_refuses_bad_args(overrides, message):
    with pytest.raises(InvalidArguments, match=f"ServiceWorkload osp-t-fee: {re.escape(message)}"):
        plan_one(fee_args(**overrides))


def test_reports_every_problem_at_once():
    found = problems("w", fee_args(port=80, callers=("fee",), shutdown_seconds=0))
    assert [p.split(":")[1].strip() for p in found] == ["port", "callers", "shutdown_seconds"]


def test_valid_args_have_no_problems():
    assert problems("w", fee_args()) == []
    assert problems("w", internal_args()) == []
    assert problems("w", fee_args(image=f"{REGISTRY}/fee:1.0@sha256:{'a' * 64}")) == []
    assert problems("w", fee_args(egress=(EgressRule(cidr="0.0.0.0/0", ports=(443,)),))) == []
    # Words that merely contain a secret-like one, and references to secrets, are fine.
    references = {"AUTHORIZED_ORIGINS": "*", "PASSPORT_URL": "x", "DB_PASSWORD_SECRET_ARN": "x"}
    assert problems("w", fee_args(env=references)) == []


def refused_when_resolved(args: ServiceWorkloadArgs, message: str) -> None:
    """The plan fails with `message` once an Output resolves (not at construction)."""
    with pytest.raises(InvalidArguments, match=re.escape(f"ServiceWorkload osp-t-fee: {message}")):
        plan_one(args)


def test_refuses_a_secret_output_in_the_environment():
    secret = pulumi.Output.secret("https://sqs.us-east-1.amazonaws.com/q")
    refused_when_resolved(
        fee_args(env={"QUEUE_URL": secret}),
        "env['QUEUE_URL']: got a secret Output; expected configuration that points at the "
        "secret (its ARN), never its value",
    )


@pytest.mark.parametrize("image", ["fee", f"{REGISTRY}/fee:latest"])
def test_refuses_an_untagged_or_latest_image_from_an_output(image):
    refused_when_resolved(
        fee_args(image=pulumi.Output.from_input(image)), f"image: got {image!r}; expected"
    )


def test_image_from_an_output():
    reference = pulumi.Output.concat(REGISTRY, "/fee", ":", "1.4.2")
    assert container(plan_one(fee_args(image=reference)))["image"] == f"{REGISTRY}/fee:1.4.2"


def test_protocols_are_the_kubernetes_spelling():
    assert [p.value for p in NetworkProtocol] == ["TCP", "UDP", "SCTP"]


# --- the manifest helper -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("kubernetes:core/v1:Service", ("v1", "Service")),
        ("kubernetes:apps/v1:Deployment", ("apps/v1", "Deployment")),
        (
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            ("networking.k8s.io/v1", "NetworkPolicy"),
        ),
        (
            "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding",
            ("elbv2.k8s.aws/v1beta1", "TargetGroupBinding"),
        ),
    ],
)
def test_api_version_and_kind_from_the_token(token, expected):
    assert manifests_of.api_version_and_kind(token) == expected


def test_builtin_and_custom_groups():
    assert manifests_of.is_builtin("v1")
    assert manifests_of.is_builtin("policy/v1")
    assert manifests_of.is_builtin("rbac.authorization.k8s.io/v1")
    assert not manifests_of.is_builtin("elbv2.k8s.aws/v1beta1")
    assert not manifests_of.is_builtin("monitoring.coreos.com/v1")


def test_the_helper_rejects_unknown_fields_and_removed_apis():
    typo = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"replica": 1, "selector": {}, "template": {}},
    }
    removed = {
        "apiVersion": "policy/v1beta1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "x"},
        "spec": {},
    }
    custom = {
        "apiVersion": "elbv2.k8s.aws/v1beta1",
        "kind": "TargetGroupBinding",
        "metadata": {"name": "x"},
        "spec": {"anything": True},
    }
    with pytest.raises(AssertionError) as caught:
        manifests_of.validate_manifests([typo, removed, custom], KUBERNETES_VERSION)
    text = str(caught.value)
    assert "2 Kubernetes object(s) invalid for 1.33 (strict)" in text
    assert "Deployment x: spec: Additional properties are not allowed ('replica'" in text
    assert "PodDisruptionBudget x: Couldn't find schema" in text


def test_the_helper_refuses_a_version_it_has_no_schema_for():
    with pytest.raises(LookupError, match=re.escape("has no schema for Kubernetes 1.99; it ships")):
        manifests_of.schema_version("1.99")
    assert manifests_of.schema_version("v1.33.4") == "1.33.0"


def test_the_helper_finds_recorded_secrets():
    assert manifests_of.secrets_in({"a": [{"b": "<secret>"}], "c": "x"}) == ["a[0].b"]
