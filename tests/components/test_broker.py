"""`RabbitMq` through the offline engine: exact children, encryption, reach, logs, protection."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from osp.components.broker import (
    LOG_KINDS,
    BrokerDeploymentMode,
    RabbitMq,
    RabbitMqArgs,
    amqps_endpoints,
    claim_event,
    credentials_document,
    log_group_names,
    problems,
)
from osp.platform.engine.fake_aws import digest
from osp.platform.validation import InvalidArguments
from tests.support import custom_counts, plan_component

TAGS = {"osp:environment": "t", "osp:component": "broker", "osp:blueprint": "osp",
        "osp:managed-by": "osp"}  # fmt: skip
KEY = "arn:aws:kms:us-east-1:123456789012:key/"
ACCOUNT, REGION = "123456789012", "us-east-1"
SUBNETS = ("subnet-0isolated00000000a", "subnet-0isolated00000000b", "subnet-0isolated00000000c")
CLIENTS = ("sg-0eks0nodes000000a", "sg-0eks0pods0000000b")
NAME = "osp-t-broker"

BROKER = "aws:mq/broker:Broker"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LOGS_POLICY = "aws:cloudwatch/logResourcePolicy:LogResourcePolicy"
INVOCATION = "aws:lambda/invocation:Invocation"

DEV = {
    "deployment_mode": BrokerDeploymentMode.SINGLE_INSTANCE,
    "host_instance_type": "mq.t3.micro",
    "deletion_protection": False,
    "log_retention_days": 30,
    "secret_recovery_window_days": 0,
}
PROD = {
    "deployment_mode": BrokerDeploymentMode.CLUSTER_MULTI_AZ,
    "host_instance_type": "mq.m5.large",
    "deletion_protection": True,
    "log_retention_days": 365,
    "secret_recovery_window_days": 30,
}


def broker_args(**overrides) -> RabbitMqArgs:
    return RabbitMqArgs(
        **{
            "vpc_id": "vpc-0123456789abcdef0",
            "subnet_ids": SUBNETS,
            "client_security_group_ids": CLIENTS,
            "kms_key_arn": KEY + "data",
            "logs_kms_key_arn": KEY + "logs",
            "secrets_kms_key_arn": KEY + "secrets",
            "tags": TAGS,
            **DEV,
            **overrides,
        }
    )


def plan_broker(name: str = NAME, **overrides):
    exports = ("broker_id", "amqps_endpoints", "console_url", "credentials_secret_arn",
               "security_group_id")  # fmt: skip
    return plan_component(RabbitMq, broker_args(**overrides), name=name, exports=exports)


def broker_inputs(plan):
    (broker,) = plan.of_type(BROKER)
    return broker.inputs


def urn_of(plan, name):
    return plan.named(name).urn


@pytest.fixture(scope="module")
def dev():
    return plan_broker()


@pytest.fixture(scope="module")
def prod():
    return plan_broker(**PROD)


# -- children --------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_children(fixture, request):
    plan = request.getfixturevalue(fixture)
    assert custom_counts(plan) == {
        "cloudwatch/logResourcePolicy": 1,
        "ec2/securityGroup": 1,
        "vpc/securityGroupIngressRule": 4,  # AMQPS and console, per client group
        "index/randomPassword": 1,
        "mq/broker": 1,
        "secretsmanager/secret": 1,
        "secretsmanager/secretVersion": 1,
        # what holds Amazon MQ's own log groups to retention, key and tags
        "cloudwatch/logGroup": 1,  # the function's own
        "iam/role": 1,
        "iam/rolePolicy": 1,
        "lambda/function": 1,
        "lambda/invocation": 1,
        "sqs/queue": 1,  # the function's dead letters
        "sqs/queuePolicy": 1,
    }
    component = plan.named(NAME)
    assert component.type == "osp:broker:RabbitMq"
    assert all(r.parent == component.urn for r in plan.resources if r.custom)
    assert {r.name for r in plan.resources if r.custom} == {
        f"{NAME}-logs-policy",
        f"{NAME}-sg",
        f"{NAME}-amqps-from-client-0",
        f"{NAME}-console-from-client-0",
        f"{NAME}-amqps-from-client-1",
        f"{NAME}-console-from-client-1",
        f"{NAME}-admin-password",
        f"{NAME}-broker",
        f"{NAME}-admin-secret",
        f"{NAME}-admin-secret-version",
        f"{NAME}-log-groups-fn-logs",
        f"{NAME}-log-groups",  # role, role policy and invocation
        f"{NAME}-log-groups-fn",
        f"{NAME}-log-groups-dlq",
        f"{NAME}-log-groups-dlq-policy",
    }


def test_no_clients_means_no_rules():
    plan = plan_broker(client_security_group_ids=())
    assert custom_counts(plan)["vpc/securityGroupIngressRule"] == 0
    assert custom_counts(plan)["mq/broker"] == 1


# -- the broker ------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_broker_is_private_encrypted_and_upgraded(fixture, request):
    broker = broker_inputs(request.getfixturevalue(fixture))
    assert broker["brokerName"] == NAME
    assert broker["engineType"] == "RabbitMQ"
    assert broker["engineVersion"] == "3.13"
    assert broker["autoMinorVersionUpgrade"] is True
    assert broker["publiclyAccessible"] is False
    assert broker["encryptionOptions"] == {"useAwsOwnedKey": False, "kmsKeyId": KEY + "data"}
    assert broker["storageType"] == "ebs"
    assert broker["authenticationStrategy"] == "simple"
    assert broker["maintenanceWindowStartTime"] == {
        "dayOfWeek": "SUNDAY",
        "timeOfDay": "05:00",
        "timeZone": "UTC",
    }


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_general_logs_only_never_audit(fixture, request):
    logs = broker_inputs(request.getfixturevalue(fixture))["logs"]
    assert logs["general"] is True
    # Amazon MQ rejects audit logs for RabbitMQ ("Audit logs are not supported").
    assert not logs.get("audit")
    assert set(logs) == {"general"}


def test_dev_is_a_single_instance_in_the_first_subnet(dev):
    broker = broker_inputs(dev)
    assert broker["deploymentMode"] == "SINGLE_INSTANCE"
    assert broker["hostInstanceType"] == "mq.t3.micro"
    assert broker["subnetIds"] == [SUBNETS[0]]


def test_prod_is_a_cluster_across_every_subnet(prod):
    broker = broker_inputs(prod)
    assert broker["deploymentMode"] == "CLUSTER_MULTI_AZ"
    assert broker["hostInstanceType"] == "mq.m5.large"
    assert broker["subnetIds"] == list(SUBNETS)


def test_maintenance_window_and_version_from_args():
    plan = plan_broker(
        engine_version="4.2",
        maintenance_day_of_week="WEDNESDAY",
        maintenance_time_of_day="22:30",
        maintenance_time_zone="Europe/Berlin",
    )
    broker = broker_inputs(plan)
    assert broker["engineVersion"] == "4.2"
    assert broker["maintenanceWindowStartTime"] == {
        "dayOfWeek": "WEDNESDAY",
        "timeOfDay": "22:30",
        "timeZone": "Europe/Berlin",
    }


def test_broker_sits_in_its_own_security_group(dev):
    broker = dev.named(f"{NAME}-broker")
    assert broker.property_dependencies["securityGroups"] == (urn_of(dev, f"{NAME}-sg"),)


# -- credentials -----------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_admin_password_is_generated_and_never_shown(fixture, request):
    plan = request.getfixturevalue(fixture)
    password = plan.named(f"{NAME}-admin-password").inputs
    # RabbitMQ passwords: 12-250 characters, no ',' ':' or '='.
    assert password["length"] == 32 and password["special"] is False
    assert broker_inputs(plan)["users"] == [{"username": "osp_admin", "password": "<secret>"}]
    version = plan.named(f"{NAME}-admin-secret-version")
    assert version.inputs["secretString"] == "<secret>"
    assert urn_of(plan, f"{NAME}-admin-secret") in version.property_dependencies["secretId"]
    token = "random:index/randomPassword:RandomPassword"
    ident = f"{NAME}-admin-password-{digest(token, f'{NAME}-admin-password', length=8)}"
    assert digest("password", ident, length=32) not in plan.dumps()  # the offline stand-in


def test_admin_username_from_args():
    plan = plan_broker(admin_username="events.admin")
    assert broker_inputs(plan)["users"][0]["username"] == "events.admin"


@pytest.mark.parametrize(("fixture", "window"), [("dev", 0), ("prod", 30)])
def test_secret_is_encrypted_with_the_secrets_key(fixture, window, request):
    secret = request.getfixturevalue(fixture).named(f"{NAME}-admin-secret").inputs
    assert secret["kmsKeyId"] == KEY + "secrets"
    assert secret["recoveryWindowInDays"] == window
    assert secret["name"] == f"{NAME}-admin-credentials"


def test_credentials_document():
    document = json.loads(
        credentials_document(
            username="osp_admin",
            password="pw",
            endpoint="amqps://b-1.mq.us-east-1.amazonaws.com:5671",
            console_url="https://b-1.mq.us-east-1.amazonaws.com",
        )
    )
    assert document == {
        "engine": "rabbitmq",
        "username": "osp_admin",
        "password": "pw",
        "host": "b-1.mq.us-east-1.amazonaws.com",
        "port": 5671,
        "endpoint": "amqps://b-1.mq.us-east-1.amazonaws.com:5671",
        "tls": True,
        "console_url": "https://b-1.mq.us-east-1.amazonaws.com",
    }


# -- reach -----------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_only_clients_reach_amqps_and_the_console(fixture, request):
    plan = request.getfixturevalue(fixture)
    sg = plan.named(f"{NAME}-sg")
    assert sg.inputs["vpcId"] == "vpc-0123456789abcdef0"
    assert "ingress" not in sg.inputs and "egress" not in sg.inputs
    assert plan.of_type(EGRESS) == []
    rules = {
        (r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"], r.inputs["toPort"])
        for r in plan.of_type(INGRESS)
    }
    assert rules == {(c, p, p) for c in CLIENTS for p in (5671, 443)}
    for rule in plan.of_type(INGRESS):
        assert rule.inputs["ipProtocol"] == "tcp"
        assert sg.urn in rule.property_dependencies["securityGroupId"]
        assert not {"cidrIpv4", "cidrIpv6", "prefixListId"} & set(rule.inputs)


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_nothing_is_open_to_the_world(fixture, request):
    text = request.getfixturevalue(fixture).dumps()
    assert "0.0.0.0/0" not in text and "::/0" not in text


# -- protection ------------------------------------------------------------------------


def test_prod_protects_the_broker_and_its_credentials(prod):
    protected = {r.name for r in prod.resources if r.options.protect}
    assert protected == {f"{NAME}-broker", f"{NAME}-admin-secret"}


def test_dev_protects_nothing(dev):
    assert not any(r.options.protect for r in dev.resources)


# -- tags ------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_every_taggable_resource_is_tagged(fixture, request):
    plan = request.getfixturevalue(fixture)
    untaggable = {
        LOGS_POLICY,
        SECRET_VERSION,
        INVOCATION,
        "aws:iam/rolePolicy:RolePolicy",
        "aws:sqs/queuePolicy:QueuePolicy",
        "random:index/randomPassword:RandomPassword",
    }
    for resource in plan.resources:
        if resource.custom and resource.type not in untaggable:
            tags = resource.inputs["tags"]
            assert tags["Name"] == resource.name, resource.name
            assert tags.items() >= TAGS.items(), resource.name


# -- logs ------------------------------------------------------------------------------


def test_amazon_mq_may_write_broker_logs_before_the_broker_exists(dev):
    policy = dev.named(f"{NAME}-logs-policy")
    assert policy.inputs["policyName"] == f"{NAME}-amazonmq-logs"
    (statement,) = json.loads(policy.inputs["policyDocument"])["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "mq.amazonaws.com"}
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/amazonmq/*")
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:mq:{REGION}:{ACCOUNT}:broker:{NAME}:*"},
    }
    assert policy.urn in dev.named(f"{NAME}-broker").dependencies


def test_no_log_group_is_created_under_amazon_mqs_names(prod):
    # Amazon MQ creates those itself; a LogGroup resource of the same name would fail.
    names = [g.inputs["name"] for g in prod.of_type(LOG_GROUP)]
    assert names == [f"/aws/lambda/{NAME}-log-groups"]


@pytest.mark.parametrize(("fixture", "days"), [("dev", 30), ("prod", 365)])
def test_broker_log_groups_are_claimed_with_retention_key_and_tags(fixture, days, request):
    plan = request.getfixturevalue(fixture)
    broker = plan.named(f"{NAME}-broker")
    (invocation,) = plan.of_type(INVOCATION)
    assert invocation.inputs["functionName"] == f"{NAME}-log-groups"
    event = json.loads(invocation.inputs["input"])
    broker_id = NAME  # the offline engine's broker id
    assert event == {
        "logGroups": [
            {
                "name": f"/aws/amazonmq/broker/{broker_id}/{kind}",
                "tags": {"Name": f"{NAME}-{kind}-logs", **TAGS},
            }
            for kind in ("general", "connection")
        ],
        "kmsKeyId": KEY + "logs",
        "retentionInDays": days,
    }
    assert broker.urn in invocation.property_dependencies["input"]
    (role_policy,) = plan.of_type("aws:iam/rolePolicy:RolePolicy")
    assert role_policy.urn in invocation.dependencies


def test_the_claiming_function_may_touch_only_this_brokers_log_groups(prod):
    role_policy = prod.of_type("aws:iam/rolePolicy:RolePolicy")[0]
    claim, own, traces, dead_letters, key = json.loads(role_policy.inputs["policy"])["Statement"]
    assert sorted(claim["Action"]) == [
        "logs:AssociateKmsKey",
        "logs:CreateLogGroup",
        "logs:PutRetentionPolicy",
        "logs:TagResource",
    ]
    assert claim["Resource"] == (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/amazonmq/broker/{NAME}/*"
    )
    assert own["Resource"] == (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{NAME}-log-groups:*"
    )
    assert sorted(own["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert traces == {
        "Sid": "WriteOwnTraces",
        "Effect": "Allow",
        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
        "Resource": "*",
    }
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{NAME}-log-groups-dlq"
    assert (dead_letters["Action"], dead_letters["Resource"]) == ("sqs:SendMessage", queue_arn)
    assert (key["Action"], key["Resource"]) == (
        ["kms:GenerateDataKey", "kms:Decrypt"],
        KEY + "logs",
    )
    trust = json.loads(prod.of_type("aws:iam/role:Role")[0].inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}


@pytest.mark.parametrize(("fixture", "days"), [("dev", 30), ("prod", 365)])
def test_the_claiming_function_logs_to_an_encrypted_group(fixture, days, request):
    plan = request.getfixturevalue(fixture)
    group = plan.named(f"{NAME}-log-groups-fn-logs")
    assert group.inputs["kmsKeyId"] == KEY + "logs"
    assert group.inputs["retentionInDays"] == days
    function = plan.named(f"{NAME}-log-groups-fn").inputs
    assert function["runtime"] == "python3.13"
    assert function["handler"] == "index.handler"
    assert function["loggingConfig"]["logGroup"] == f"/aws/lambda/{NAME}-log-groups"
    assert "vpcConfig" not in function  # it calls only the CloudWatch Logs API
    assert function["reservedConcurrentExecutions"] == 1
    assert function["tracingConfig"] == {"mode": "Active"}
    queue = plan.named(f"{NAME}-log-groups-dlq")
    assert plan.named(f"{NAME}-log-groups-fn").property_dependencies["deadLetterConfig"] == (
        queue.urn,
    )
    assert function["deadLetterConfig"]["targetArn"].endswith(f":{NAME}-log-groups-dlq")


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_the_claiming_functions_dead_letters_are_kept_encrypted_and_tls_only(fixture, request):
    plan = request.getfixturevalue(fixture)
    queue = plan.named(f"{NAME}-log-groups-dlq")
    assert queue.inputs["name"] == f"{NAME}-log-groups-dlq"
    assert queue.inputs["kmsMasterKeyId"] == KEY + "logs"
    assert queue.inputs["messageRetentionSeconds"] == 14 * 24 * 60 * 60
    policy = plan.named(f"{NAME}-log-groups-dlq-policy")
    assert policy.property_dependencies["queueUrl"] == (queue.urn,)
    (deny,) = json.loads(policy.inputs["policy"])["Statement"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "sqs:*")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_log_group_names():
    assert log_group_names("b-1") == [
        "/aws/amazonmq/broker/b-1/general",
        "/aws/amazonmq/broker/b-1/connection",
    ]
    assert LOG_KINDS == ("general", "connection")


def test_claim_event_tags_each_group_as_its_own():
    assert claim_event("b-1", {"osp:x": "1"}, NAME) == [
        {"name": "/aws/amazonmq/broker/b-1/general",
         "tags": {"Name": f"{NAME}-general-logs", "osp:x": "1"}},
        {"name": "/aws/amazonmq/broker/b-1/connection",
         "tags": {"Name": f"{NAME}-connection-logs", "osp:x": "1"}},
    ]  # fmt: skip


# -- outputs ---------------------------------------------------------------------------


def test_outputs(prod):
    outputs = prod.outputs
    host = outputs["console_url"].removeprefix("https://")
    assert host.startswith("b-") and host.endswith(".mq.us-east-1.amazonaws.com")
    assert outputs["broker_id"] == NAME
    assert outputs["amqps_endpoints"] == [f"amqps://{host}:5671"]
    assert outputs["credentials_secret_arn"].startswith(
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{NAME}-admin-credentials-"
    )
    assert outputs["security_group_id"].startswith("sg-")


def test_amqps_endpoints_skip_other_protocols():
    instances = [
        SimpleNamespace(
            endpoints=[
                "amqps://b-1.mq.us-east-1.amazonaws.com:5671",
                "https://b-1.mq.us-east-1.amazonaws.com:16001",
            ]
        ),
        {"endpoints": ["amqps://b-2.mq.us-east-1.amazonaws.com:5671"]},
    ]
    assert amqps_endpoints(instances) == [
        "amqps://b-1.mq.us-east-1.amazonaws.com:5671",
        "amqps://b-2.mq.us-east-1.amazonaws.com:5671",
    ]
    assert amqps_endpoints(None) == []


# -- validation ------------------------------------------------------------------------

LOG_PERIODS = ("1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, "
               "2557, 2922, 3288, 3653")  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"deployment_mode": "ACTIVE_STANDBY_MULTI_AZ"},
         "deployment_mode: got 'ACTIVE_STANDBY_MULTI_AZ'; expected one of SINGLE_INSTANCE, "
         "CLUSTER_MULTI_AZ"),
        ({"subnet_ids": ()},
         "subnet_ids: got []; expected at least one subnet (SINGLE_INSTANCE uses the first)"),
        ({"subnet_ids": "subnet-1"},
         "subnet_ids: got 'subnet-1'; expected a list of subnet ids, not one string"),
        ({"subnet_ids": ("subnet-1", "subnet-1")},
         "subnet_ids: got ['subnet-1', 'subnet-1']; expected each subnet at most once"),
        ({**PROD, "subnet_ids": SUBNETS[:1]},
         "subnet_ids: got ['subnet-0isolated00000000a']; expected at least 2 subnets in "
         "different zones for CLUSTER_MULTI_AZ: the cluster's nodes span three zones, but "
         "clients reach it only through endpoints in these subnets, so one subnet makes a "
         "single zone's outage cut every client off"),
        ({"host_instance_type": "m5.large"},
         "host_instance_type: got 'm5.large'; expected an Amazon MQ instance type such as "
         "mq.m5.large"),
        ({**PROD, "host_instance_type": "mq.t3.micro"},
         "host_instance_type: got 'mq.t3.micro'; expected an mq.m5.large or larger instance "
         "type: mq.t3 brokers run as SINGLE_INSTANCE only, never CLUSTER_MULTI_AZ"),
        ({**PROD, "host_instance_type": "mq.t3.small"},
         "host_instance_type: got 'mq.t3.small'; expected an mq.m5.large or larger instance "
         "type: mq.t3 brokers run as SINGLE_INSTANCE only, never CLUSTER_MULTI_AZ"),
        ({"engine_version": "3.12"}, "engine_version: got '3.12'; expected a RabbitMQ "
         "major.minor version, 3.13 or later, such as 3.13"),
        ({"engine_version": "3.13.6"}, "engine_version: got '3.13.6'; expected a RabbitMQ "
         "major.minor version, 3.13 or later, such as 3.13"),
        ({"admin_username": "a"},
         "admin_username: got 'a'; expected 2-100 letters, digits, '-', '.', '_' or '~'"),
        ({"admin_username": "admin:root"},
         "admin_username: got 'admin:root'; expected 2-100 letters, digits, '-', '.', '_' or '~'"),
        ({"maintenance_day_of_week": "sunday"},
         "maintenance_day_of_week: got 'sunday'; expected one of MONDAY, TUESDAY, WEDNESDAY, "
         "THURSDAY, FRIDAY, SATURDAY, SUNDAY"),
        ({"maintenance_time_of_day": "5:00"},
         "maintenance_time_of_day: got '5:00'; expected a 24-hour time hh:mm such as 05:00"),
        ({"maintenance_time_of_day": "24:00"},
         "maintenance_time_of_day: got '24:00'; expected a 24-hour time hh:mm such as 05:00"),
        ({"maintenance_time_zone": ""}, "maintenance_time_zone: got ''; expected a time zone "
         "such as UTC, CET or America/New_York"),
        ({"log_retention_days": 45},
         f"log_retention_days: got 45; expected a CloudWatch Logs retention period: {LOG_PERIODS}"),
        ({"secret_recovery_window_days": 3},
         "secret_recovery_window_days: got 3; expected 0 (delete at once) or 7 to 30"),
        ({"secret_recovery_window_days": 31},
         "secret_recovery_window_days: got 31; expected 0 (delete at once) or 7 to 30"),
        ({"deletion_protection": "yes"}, "deletion_protection: got 'yes'; expected True or False"),
        ({"client_security_group_ids": ("sg-1", "sg-1")},
         "client_security_group_ids: got ['sg-1', 'sg-1']; expected each security group at "
         "most once"),
    ],
)  # fmt: skip
def test_problems(overrides, message):
    assert problems(NAME, broker_args(**overrides)) == [f"RabbitMq {NAME}: {message}"]


@pytest.mark.parametrize("overrides", [DEV, PROD, {**PROD, "engine_version": "4.2"}])
def test_good_args_have_no_problems(overrides):
    assert problems(NAME, broker_args(**overrides)) == []


def test_every_problem_is_reported_at_once():
    bad = {**PROD, "subnet_ids": SUBNETS[:1], "host_instance_type": "mq.t3.micro",
           "log_retention_days": 2}  # fmt: skip
    found = problems(NAME, broker_args(**bad))
    assert [p.split(":")[1].strip() for p in found] == [
        "subnet_ids",
        "host_instance_type",
        "log_retention_days",
    ]


def test_bad_args_fail_the_program_before_anything_is_declared():
    with pytest.raises(InvalidArguments) as caught:
        plan_broker(**{**PROD, "host_instance_type": "mq.t3.micro"})
    assert caught.value.problems == [
        f"RabbitMq {NAME}: host_instance_type: got 'mq.t3.micro'; expected an mq.m5.large or "
        "larger instance type: mq.t3 brokers run as SINGLE_INSTANCE only, never CLUSTER_MULTI_AZ"
    ]
