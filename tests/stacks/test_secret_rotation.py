"""Secret rotation in the estate (issue 19, item 2; seed 000: every 30 days): each secret osp
generates has a schedule and a rotation function built for its store, the function is a
well-kept Lambda in the private subnets, and RDS's own rotation of the master password runs
on the same schedule."""

from __future__ import annotations

import pytest

from osp.platform.catalogue import load_catalogue
from osp.platform.plan import Plan, PlannedResource
from tests.support import plan_of, statements

BLUEPRINTS = ("osp", "learning-hub")
SECRET = "aws:secretsmanager/secret:Secret"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
FUNCTION = "aws:lambda/function:Function"
ROTATOR = "osp:rotation:SecretRotator"
TOPOLOGY = ("certificate", "enrollment", "notification", "payment")


def expected(blueprint: str) -> dict[str, tuple[str, str]]:
    """Secret → (its rotator, the rotator's target)."""
    e = "osp-prod-"
    found = {
        f"{e}app-secrets-jwt-signing-key": (f"{e}app-secrets-rotation", "jwt"),
        f"{e}redis-auth-secret": (f"{e}redis-rotation", "redis"),
    }
    # Only learning-hub's events travel over RabbitMQ: only its estate has the broker.
    if blueprint == "learning-hub":
        found[f"{e}rabbitmq-admin-secret"] = (f"{e}rabbitmq-rotation", "rabbitmq")
        found |= {
            f"{e}broker-topology-{s}-credentials": (f"{e}broker-credentials-rotation", "rabbitmq")
            for s in TOPOLOGY
        }
    return found


def _by_type(plan: Plan, type_token: str) -> dict[str, PlannedResource]:
    return {r.name: r for r in plan.of_type(type_token)}


def _rotator_of(plan: Plan, resource: PlannedResource) -> PlannedResource:
    parent = plan.get(resource.parent)
    assert parent.type == ROTATOR
    return parent


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_every_generated_secret_rotates_every_30_days_by_a_function_for_its_store(blueprint):
    plan = plan_of("prod", blueprint)
    secrets = _by_type(plan, SECRET)
    functions = {f.urn: f for f in plan.of_type(FUNCTION)}
    rotated = {}
    for rotation in plan.of_type(ROTATION):
        (secret_urn,) = rotation.property_dependencies["secretId"]
        secret = plan.get(secret_urn)
        if secret.type != SECRET:
            continue  # the RDS-managed master password: below
        assert rotation.inputs["rotationRules"] == {"automaticallyAfterDays": 30}
        (function_urn,) = rotation.property_dependencies["rotationLambdaArn"]
        function = functions[function_urn]
        target = function.inputs["environment"]["variables"]["ROTATION_TARGET"]
        rotated[secret.name] = (_rotator_of(plan, function).name, target)
    assert rotated == expected(blueprint)
    # The operator's payment-gateway keys are left: only the provider can issue new ones; and
    # osp's media URL-signing key, the operator's too (a new one is a new public key in the
    # key group, not a rotation function).
    unrotated = {"osp-prod-app-secrets-payment-gateway"}
    if load_catalogue(blueprint).bucket_map["media"].delivery.signed:
        unrotated.add("osp-prod-media-cdn-signing-key")
    assert set(secrets) - set(rotated) == unrotated


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_the_master_password_rotation_rds_manages_is_scheduled_every_30_days(blueprint):
    plan = plan_of("prod", blueprint)
    rotation = _by_type(plan, ROTATION)["osp-prod-postgres-master-rotation"]
    assert rotation.inputs["rotationRules"] == {"automaticallyAfterDays": 30}
    assert "rotationLambdaArn" not in rotation.inputs  # RDS rotates it itself
    (source,) = rotation.property_dependencies["secretId"]
    assert plan.get(source).name == "osp-prod-postgres-primary"
    assert rotation.inputs["secretId"].startswith(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-"
    )


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_rotation_functions_run_in_the_private_subnets_traced_with_a_dlq(blueprint):
    plan = plan_of("prod", blueprint)
    private = {
        s.urn
        for s in plan.of_type("aws:ec2/subnet:Subnet")
        if s.inputs["tags"]["osp:subnet-tier"] == "private"
    }
    queues = {q.urn: q for q in plan.of_type("aws:sqs/queue:Queue")}
    keys = {k.urn: k.name for k in plan.of_type("aws:kms/key:Key")}
    rotators = {name for name, _ in expected(blueprint).values()}
    secrets_per_rotator = {
        name: sum(1 for r, _ in expected(blueprint).values() if r == name) for name in rotators
    }
    timeouts = {"jwt": 60, "redis": 900, "rabbitmq": 120}
    for function in plan.of_type(FUNCTION):
        if function.name not in rotators:
            continue
        inputs, deps = function.inputs, function.property_dependencies
        target = inputs["environment"]["variables"]["ROTATION_TARGET"]
        assert inputs["name"] == function.name
        assert (inputs["runtime"], inputs["architectures"]) == ("python3.13", ["arm64"])
        assert inputs["timeout"] == timeouts[target]
        assert inputs["tracingConfig"] == {"mode": "Active"}
        assert inputs["reservedConcurrentExecutions"] == secrets_per_rotator[function.name]
        assert set(deps["vpcConfig"]) >= private
        assert len(inputs["vpcConfig"]["subnetIds"]) == 3
        (queue_urn,) = [u for u in deps["deadLetterConfig"] if u in queues]
        queue = queues[queue_urn]
        assert queue.name == f"{function.name}-dlq"
        (key,) = queue.property_dependencies["kmsMasterKeyId"]
        assert keys[key] == "osp-prod-keys-secrets"
        assert inputs["loggingConfig"] == {
            "logFormat": "JSON",
            "logGroup": f"/aws/lambda/{function.name}",
        }
        rotators.discard(function.name)
    assert rotators == set()


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_a_rotation_role_may_rotate_exactly_its_own_secrets(blueprint):
    plan = plan_of("prod", blueprint)
    secrets = _by_type(plan, SECRET)
    policies = _by_type(plan, "aws:iam/rolePolicy:RolePolicy")
    by_rotator: dict[str, set[str]] = {}
    for secret, (rotator, _) in expected(blueprint).items():
        by_rotator.setdefault(rotator, set()).add(secrets[secret].inputs["name"])
    for rotator, names in by_rotator.items():
        allowed = statements(policies[rotator].inputs["policy"])
        resources = allowed["RotateItsSecrets"]["Resource"]
        assert {arn.split(":secret:")[1].rsplit("-", 1)[0] for arn in resources} == names
        assert allowed["RotateItsSecrets"]["Action"] == [
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetSecretValue",
            "secretsmanager:PutSecretValue",
            "secretsmanager:UpdateSecretVersionStage",
        ]
        extra = set(allowed) - {
            "RotateItsSecrets",
            "GenerateValues",
            "UseTheSecretsKey",
            "WriteItsLogs",
            "DeadLetters",
            "NetworkInterfacesAndTraces",
        }
        assert extra == {
            "osp-prod-redis-rotation": {"ChangeTheAuthToken"},
            "osp-prod-broker-credentials-rotation": {"ReadTheAdmin"},
        }.get(rotator, set())
    permissions = _by_type(plan, "aws:lambda/permission:Permission")
    for secret, (rotator, _) in expected(blueprint).items():
        matching = [
            p
            for p in permissions.values()
            if p.name.startswith(f"{rotator}-")
            and secrets[secret].urn in p.property_dependencies["sourceArn"]
        ]
        (permission,) = matching
        assert permission.inputs["principal"] == "secretsmanager.amazonaws.com"
        assert permission.inputs["action"] == "lambda:InvokeFunction"


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_store_functions_reach_their_store_and_the_store_admits_them(blueprint):
    plan = plan_of("prod", blueprint)
    ingress = _by_type(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    groups = {g.urn: g.name for g in plan.of_type("aws:ec2/securityGroup:SecurityGroup")}
    stores = {"osp-prod-redis-rotation": ("osp-prod-redis-sg", 6379)}
    if blueprint == "learning-hub":
        stores["osp-prod-rabbitmq-rotation"] = ("osp-prod-rabbitmq-sg", 443)
        stores["osp-prod-broker-credentials-rotation"] = ("osp-prod-rabbitmq-sg", 443)
    for rotator, (store_group, port) in stores.items():
        rule = ingress[f"{rotator}-into-store"]
        assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (port, port)
        (into,) = rule.property_dependencies["securityGroupId"]
        (source,) = rule.property_dependencies["referencedSecurityGroupId"]
        assert (groups[into], groups[source]) == (store_group, f"{rotator}-sg")


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_pulumi_never_takes_a_rotated_value_back(blueprint):
    plan = plan_of("prod", blueprint)
    versions = _by_type(plan, "aws:secretsmanager/secretVersion:SecretVersion")
    for secret in expected(blueprint):
        if "broker-topology" in secret:
            continue  # the topology Job writes those values, not Pulumi
        version = versions[f"{secret}-version"]
        assert version.options.ignore_changes == ("secretString", "versionStages")
