"""`SecretRotator` through the offline engine, and the components that build one for their
secrets when given a `Rotation`: exact children, the function's settings, its network path
to the store, its permissions, the schedules, and what it refuses."""

from __future__ import annotations

import pytest

from osp.components import (
    RabbitMq,
    Redis,
    Rotation,
    RotationTarget,
    SecretRotator,
    SecretRotatorArgs,
    ServiceSecrets,
)
from osp.components.rotation import problems
from tests.components.test_broker import broker_args
from tests.components.test_cache import redis_args
from tests.components.test_secrets import secrets_args
from tests.support import custom_counts, plan_component, statements

KEY = "arn:aws:kms:us-east-1:123456789012:key/"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:osp-t-"
SUBNETS = ("subnet-0a", "subnet-0b")
PLACEMENT = Rotation(vpc_id="vpc-1", subnet_ids=SUBNETS, logs_kms_key_arn=KEY + "logs")


def rotator_args(**overrides) -> SecretRotatorArgs:
    return SecretRotatorArgs(
        **{
            "target": RotationTarget.JWT,
            "secret_arns": {"jwt": SECRET + "jwt-AbCdEf"},
            "vpc_id": "vpc-1",
            "subnet_ids": SUBNETS,
            "secrets_kms_key_arn": KEY + "secrets",
            "logs_kms_key_arn": KEY + "logs",
            "tags": {"osp:environment": "t"},
            **overrides,
        }
    )


def one(plan, type_token: str, name: str):
    (found,) = [r for r in plan.of_type(type_token) if r.name == name]
    return found.inputs


FUNCTION = "aws:lambda/function:Function"
SCHEDULE = "aws:secretsmanager/secretRotation:SecretRotation"


@pytest.fixture(scope="module")
def jwt():
    return plan_component(SecretRotator, rotator_args(), name="rot")


def test_a_jwt_rotator_is_a_function_a_schedule_and_nothing_into_a_store(jwt):
    assert custom_counts(jwt) == {
        "cloudwatch/logGroup": 1,
        "sqs/queue": 1,
        "sqs/queuePolicy": 1,
        "ec2/securityGroup": 1,
        "vpc/securityGroupEgressRule": 1,
        "iam/role": 1,
        "iam/rolePolicy": 1,
        "lambda/function": 1,
        "lambda/permission": 1,
        "secretsmanager/secretRotation": 1,
    }
    function = one(jwt, FUNCTION, "rot")
    assert function["environment"] == {"variables": {"ROTATION_TARGET": "jwt"}}
    assert function["vpcConfig"]["subnetIds"] == list(SUBNETS)
    assert function["tracingConfig"] == {"mode": "Active"}
    assert function["reservedConcurrentExecutions"] == 1
    assert function["timeout"] == 60
    rotation = one(jwt, SCHEDULE, "rot-jwt")
    assert rotation["secretId"] == SECRET + "jwt-AbCdEf"
    assert rotation["rotationRules"] == {"automaticallyAfterDays": 30}
    permission = one(jwt, "aws:lambda/permission:Permission", "rot-jwt")
    assert permission["principal"] == "secretsmanager.amazonaws.com"
    assert permission["sourceArn"] == SECRET + "jwt-AbCdEf"
    egress = jwt.named("rot-https").inputs
    assert (egress["ipProtocol"], egress["fromPort"], egress["cidrIpv4"]) == (
        "tcp",
        443,
        "0.0.0.0/0",
    )
    policy = jwt.of_type("aws:sqs/queuePolicy:QueuePolicy")[0].inputs["policy"]
    deny = statements(policy)["DenyInsecureTransport"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_a_redis_rotator_reaches_the_store_and_the_store_admits_it():
    plan = plan_component(
        SecretRotator,
        rotator_args(
            target=RotationTarget.REDIS,
            secret_arns={"auth": SECRET + "auth-AbCdEf"},
            store_security_group_id="sg-store",
            store_port=6379,
            replication_group_arn="arn:aws:elasticache:us-east-1:123456789012:replicationgroup:g",
            replication_group_id="g",
            rotation_days=7,
        ),
        name="rot",
    )
    out = plan.named("rot-to-store").inputs
    assert (out["referencedSecurityGroupId"], out["fromPort"], out["toPort"]) == (
        "sg-store",
        6379,
        6379,
    )
    into = plan.named("rot-into-store").inputs
    assert (into["securityGroupId"], into["fromPort"]) == ("sg-store", 6379)
    (role_policy,) = plan.of_type("aws:iam/rolePolicy:RolePolicy")
    change = statements(role_policy.inputs["policy"])["ChangeTheAuthToken"]
    assert change["Resource"].endswith(":replicationgroup:g")
    assert one(plan, SCHEDULE, "rot-auth")["rotationRules"] == {"automaticallyAfterDays": 7}
    function = one(plan, FUNCTION, "rot")
    assert function["environment"]["variables"] == {
        "ROTATION_TARGET": "redis",
        "REPLICATION_GROUP_ID": "g",
    }
    assert function["timeout"] == 900


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"secret_arns": {}}, "secret_arns: got {}; expected at least one"),
        ({"subnet_ids": ()}, "subnet_ids: got []; expected at least one"),
        ({"rotation_days": 0}, "rotation_days: got 0; expected days between rotations, 1 to 1000"),
        ({"target": RotationTarget.RABBITMQ, "store_security_group_id": "sg", "store_port": 443},
         "admin_secret_arn: got None; expected a value for target rabbitmq"),
        ({"target": RotationTarget.REDIS, "replication_group_arn": "a",
          "replication_group_id": "g", "store_security_group_id": "sg"},
         "store_port: got None; expected a value for target redis"),
        ({"store_port": 0}, "store_port: got 0; expected a port from 1 to 65535"),
    ],
)  # fmt: skip
def test_problems(overrides, message):
    assert problems("rot", rotator_args(**overrides)) == [f"SecretRotator rot: {message}"]


def test_redis_given_a_rotation_rotates_its_auth_secret():
    plan = plan_component(Redis, redis_args(rotation=PLACEMENT), name="c")
    (rotation,) = plan.of_type("aws:secretsmanager/secretRotation:SecretRotation")
    assert rotation.name == "c-rotation-auth"
    assert rotation.property_dependencies["secretId"] == (plan.named("c-auth-secret").urn,)
    (version,) = plan.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert version.options.ignore_changes == ("secretString", "versionStages")


def test_rabbitmq_given_a_rotation_rotates_its_admin_secret_as_the_admin():
    plan = plan_component(RabbitMq, broker_args(rotation=PLACEMENT), name="b")
    (rotation,) = plan.of_type("aws:secretsmanager/secretRotation:SecretRotation")
    assert rotation.name == "b-rotation-admin"
    (function,) = [f for f in plan.of_type(FUNCTION) if f.name == "b-rotation"]
    assert function.inputs["environment"]["variables"]["ROTATION_TARGET"] == "rabbitmq"
    secret = plan.named("b-admin-secret")
    assert function.property_dependencies["environment"] == (secret.urn,)


def test_service_secrets_rotate_the_generated_ones_and_never_the_placeholders():
    plan = plan_component(ServiceSecrets, secrets_args(rotation=PLACEMENT), name="s")
    rotations = plan.of_type("aws:secretsmanager/secretRotation:SecretRotation")
    assert [r.name for r in rotations] == ["s-rotation-jwt-signing-key"]
    assert rotations[0].property_dependencies["secretId"] == (plan.named("s-jwt-signing-key").urn,)


def test_without_a_rotation_nothing_rotates():
    for factory, args in (
        (Redis, redis_args()),
        (RabbitMq, broker_args()),
        (ServiceSecrets, secrets_args()),
    ):
        plan = plan_component(factory, args, name="n")
        assert plan.of_type("aws:secretsmanager/secretRotation:SecretRotation") == []
        for version in plan.of_type("aws:secretsmanager/secretVersion:SecretVersion"):
            assert version.options.ignore_changes == ()
    assert PLACEMENT.rotation_days == 30
