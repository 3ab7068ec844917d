"""The learning-platform blueprint (seed 001) and its estate, beyond what every blueprint's
estate is held to (tests/stacks/test_services.py, tests/platform/policy/test_estate.py): the
seed's services and ports, Redis for all twelve, its three RabbitMQ flows, the Stripe keys,
and the media service's EFS volume."""

from __future__ import annotations

import json

import pytest

from osp.platform.catalogue import Database, SecretKind, Volume, load_catalogue
from osp.stacks.services import NAMESPACE
from tests.support import plan_of, spec_of, statements

BLUEPRINT = "learning-platform"
CATALOGUE = load_catalogue(BLUEPRINT)
#: Seed 001's diagram, in its order, with its ports.
SEED_SERVICES = {
    "user": 3001,
    "auth": 3002,
    "course": 3003,
    "enrollment": 3004,
    "payment": 3005,
    "media": 3006,
    "notification": 3007,
    "content": 3008,
    "assessment": 3009,
    "review": 3010,
    "certificate": 3011,
    "gamification": 3012,
}
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CLAIM = "kubernetes:core/v1:PersistentVolumeClaim"
VOLUME = "kubernetes:core/v1:PersistentVolume"


# --- the catalogue ---------------------------------------------------------------------------


def test_the_gateway_and_the_twelve_services_on_the_seeds_ports():
    assert [(s.name, s.port) for s in CATALOGUE.services] == [
        ("api-gateway", 3000),
        *SEED_SERVICES.items(),
    ]
    assert [s.name for s in CATALOGUE.routed] == ["api-gateway"]
    for name in SEED_SERVICES:
        assert "api-gateway" in CATALOGUE.callers_of(name), name


def test_all_twelve_use_redis_and_their_own_database_and_the_gateway_neither():
    for name in SEED_SERVICES:
        uses = CATALOGUE.service(name).uses
        assert uses.cache and uses.database is Database.OWN, name
    gateway = CATALOGUE.service("api-gateway").uses
    assert not gateway.cache and gateway.database is Database.NONE


def test_the_seeds_three_flows_over_rabbitmq():
    assert CATALOGUE.transport == "rabbitmq"
    assert {e.name: (e.publisher, set(e.consumers)) for e in CATALOGUE.events.values()} == {
        "user-created": ("auth", {"notification", "user"}),
        "enrollment-created": ("enrollment", {"payment", "notification", "course"}),
        "content-uploaded": ("media", {"course", "notification"}),
    }


def test_ses_stripe_jwt_and_the_media_volume_go_where_the_seed_says():
    assert [s.name for s in CATALOGUE.services if s.uses.email] == ["notification"]
    holders = {
        secret.name: [s.name for s in CATALOGUE.services if secret.name in s.uses.secrets]
        for secret in CATALOGUE.secrets
    }
    assert holders == {
        "jwt-signing-key": ["api-gateway", "auth"],
        "stripe": ["payment"],
        "stripe-verification": ["auth"],
    }
    assert CATALOGUE.secret_map["stripe"].kind is SecretKind.PLACEHOLDER
    assert [(s.name, s.uses.volume) for s in CATALOGUE.volume_services] == [
        ("media", Volume(path="/data"))
    ]


# --- the estate ------------------------------------------------------------------------------


@pytest.fixture(params=["dev", "prod"])
def estate(request):
    return spec_of(request.param, BLUEPRINT), plan_of(request.param, BLUEPRINT)


def test_only_media_gets_a_claim_on_its_own_efs_volume(estate):
    spec, plan = estate
    (claim,) = plan.of_type(CLAIM)
    assert claim.inputs["metadata"]["namespace"] == NAMESPACE
    assert claim.inputs["metadata"]["name"] == "media-data"
    (volume,) = plan.of_type(VOLUME)
    assert volume.inputs["metadata"]["name"] == claim.inputs["spec"]["volumeName"]
    assert volume.inputs["spec"]["claimRef"] == {"namespace": NAMESPACE, "name": "media-data"}
    assert volume.inputs["spec"]["csi"]["driver"] == "efs.csi.aws.com"
    mounted = {}
    for deployment in plan.of_type(DEPLOYMENT):
        if deployment.inputs["metadata"]["namespace"] != NAMESPACE:
            continue
        (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
        paths = [m["mountPath"] for m in container["volumeMounts"] if m["name"] == "data"]
        if paths:
            mounted[deployment.inputs["metadata"]["name"]] = paths
    assert mounted == {"media": ["/data"]}
    waits = set(plan.named(f"osp-{spec.name}-media-workload").dependencies)
    assert {r.urn for r in plan.of_type("aws:eks/addon:Addon") if "files" in r.name} <= waits
    assert volume.urn in waits


def test_the_file_system_is_encrypted_with_the_data_key_in_every_zone(estate):
    spec, plan = estate
    (fs,) = plan.of_type("aws:efs/fileSystem:FileSystem")
    assert fs.inputs["encrypted"] is True
    assert fs.inputs["kmsKeyId"].startswith(f"arn:aws:kms:{spec.region}:")
    assert fs.options.protect is spec.deletion_protection
    targets = plan.of_type("aws:efs/mountTarget:MountTarget")
    private = {
        s.name.removeprefix(f"osp-{spec.name}-network-private-")
        for s in plan.of_type("aws:ec2/subnet:Subnet")
        if s.name.startswith(f"osp-{spec.name}-network-private-")
    }
    assert len(targets) == len(spec.zones) == len(private)
    (backup,) = plan.of_type("aws:efs/backupPolicy:BackupPolicy")
    assert backup.inputs["backupPolicy"] == {"status": "ENABLED"}


def test_nfs_is_open_to_the_nodes_only_and_the_policy_requires_tls(estate):
    spec, plan = estate
    rules = {r.name: r.inputs for r in plan.of_type(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")}  # fmt: skip
    nfs = [r for n, r in rules.items() if n.startswith(f"osp-{spec.name}-files-")]
    (only,) = nfs
    # The same group the data stores admit: the nodes'.
    assert (
        only["referencedSecurityGroupId"]
        == (rules[f"osp-{spec.name}-redis-from-client-0"]["referencedSecurityGroupId"])
    )
    assert (only["fromPort"], only["toPort"]) == (2049, 2049)
    (policy,) = plan.of_type("aws:efs/fileSystemPolicy:FileSystemPolicy")
    by_sid = statements(policy.inputs["policy"])
    assert by_sid["DenyWithoutTls"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert by_sid["MountThroughAccessPoints"]["Principal"] == {
        "AWS": f"arn:aws:iam::123456789012:role/osp-{spec.name}-files-efs-csi"
    }


def test_the_media_service_is_granted_nothing_on_efs(estate):
    """The driver mounts on the node with its own role; the service's role needs no EFS
    permission, and gets none."""
    spec, plan = estate
    role = plan.named(f"osp-{spec.name}-media-identity-role")
    (policy,) = [
        p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.parent == role.parent
    ]
    actions = {a for s in json.loads(policy.inputs["policy"])["Statement"] for a in s["Action"]}
    assert not {a for a in actions if a.startswith("elasticfilesystem:")}


def test_rabbitmq_queues_are_the_seeds_flows(estate):
    _, plan = estate
    (config,) = [
        c
        for c in plan.of_type("kubernetes:core/v1:ConfigMap")
        if c.inputs["metadata"]["name"].startswith("rabbitmq-topology-")
    ]
    topology = json.loads(config.inputs["data"]["topology.json"])
    queues = {q["name"] for q in topology["queues"] if not q["name"].endswith(".dlq")}
    assert queues == {
        "user.user-created",
        "notification.user-created",
        "payment.enrollment-created",
        "notification.enrollment-created",
        "course.enrollment-created",
        "course.content-uploaded",
        "notification.content-uploaded",
    }
    # A broker user only for a service with an event: seven of the thirteen.
    assert {u["name"] for u in topology["users"]} == {
        "auth", "user", "enrollment", "payment", "course", "media", "notification",
    }  # fmt: skip


def test_the_estate_exports_the_file_system_and_other_blueprints_have_none(estate):
    spec, plan = estate
    assert plan.outputs["fileSystemId"].startswith("fs-")
    for other in ("osp", "learning-hub"):
        other_plan = plan_of(spec.name, other)
        assert not [r for r in other_plan.resources if r.type.startswith("aws:efs/")]
        assert "fileSystemId" not in other_plan.outputs
