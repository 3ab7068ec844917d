"""The rules for EFS, MSK, Managed Flink, Lambda, EventBridge Scheduler, SSM parameters, Helm
releases, provisioned DynamoDB capacity and signed CloudFront delivery: each with a resource
that passes and one that fails (naming the evidence), then the other ways a setting can be
written and the cases where a rule does not apply."""

from __future__ import annotations

import json
from typing import Any

import pytest

from osp.platform import limits
from tests.platform.policy.fixtures import KEY_ARN, resource, verdict

R = resource
FS = "aws:efs/fileSystem:FileSystem"
EFS_BACKUP = "aws:efs/backupPolicy:BackupPolicy"
EFS_POLICY = "aws:efs/fileSystemPolicy:FileSystemPolicy"
AP = "aws:efs/accessPoint:AccessPoint"
MT = "aws:efs/mountTarget:MountTarget"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
MSK = "aws:msk/cluster:Cluster"
MSK_SERVERLESS = "aws:msk/serverlessCluster:ServerlessCluster"
FLINK = "aws:kinesisanalyticsv2/application:Application"
FN = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
URL = "aws:lambda/functionUrl:FunctionUrl"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
SCHEDULE = "aws:scheduler/schedule:Schedule"
ROLE, ROLE_POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
PARAMETER = "aws:ssm/parameter:Parameter"
RELEASE = "kubernetes:helm.sh/v3:Release"
DDB = "aws:dynamodb/table:Table"
TARGET, SCALING = "aws:appautoscaling/target:Target", "aws:appautoscaling/policy:Policy"
CF = "aws:cloudfront/distribution:Distribution"

TLS_DENY = {
    "Sid": "DenyWithoutTls",
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": "*",
    "Resource": "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-1",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def file_system() -> Any:
    return R(FS, {"encrypted": True, "kmsKeyId": KEY_ARN}, name="media")


def with_fs(type_token: str, inputs: dict) -> tuple:
    target = file_system()
    return target, R(
        type_token, {"fileSystemId": "<unknown>", **inputs}, refs={"fileSystemId": target}
    )


def mount_target(*ingress: dict, separate: dict | None = None) -> tuple:
    group = R(SG, {"ingress": list(ingress)}, name="media-sg")
    target = R(MT, {"securityGroups": ["<unknown>"]}, refs={"securityGroups": group})
    extra = (
        (R(INGRESS, {"securityGroupId": "<unknown>", **separate}, refs={"securityGroupId": group}),)
        if separate
        else ()
    )
    return target, group, *extra


def msk(**inputs: Any) -> Any:
    base = {
        "encryptionInfo": {
            "encryptionAtRestKmsKeyArn": KEY_ARN,
            "encryptionInTransit": {"clientBroker": "TLS", "inCluster": True},
        },
        "clientAuthentication": {"sasl": {"iam": True}, "unauthenticated": False},
        "brokerNodeGroupInfo": {"connectivityInfo": {"publicAccess": {"type": "DISABLED"}}},
        "loggingInfo": {"brokerLogs": {"cloudwatchLogs": {"enabled": True, "logGroup": "g"}}},
    }
    return R(MSK, base | inputs, name="events")


def flink(**configuration: Any) -> Any:
    base = {
        "vpcConfiguration": {"subnetIds": ["subnet-a", "subnet-b"], "securityGroupIds": ["sg"]},
        "flinkApplicationConfiguration": {
            "checkpointConfiguration": {"configurationType": "DEFAULT"}
        },
        "applicationSnapshotConfiguration": {"snapshotsEnabled": True},
        "applicationEncryptionConfiguration": {"keyType": "CUSTOMER_MANAGED_KEY", "keyId": KEY_ARN},
    }
    return R(
        FLINK,
        {
            "runtimeEnvironment": "FLINK-1_20",
            "cloudwatchLoggingOptions": {"logStreamArn": "arn:aws:logs:stream"},
            "applicationConfiguration": base | configuration,
        },
        name="analytics",
    )


def function(**inputs: Any) -> Any:
    base = {
        "name": "thumbnails",
        "runtime": "python3.13",
        "tracingConfig": {"mode": "Active"},
        "reservedConcurrentExecutions": 5,
        "deadLetterConfig": {"targetArn": "arn:aws:sqs:us-east-1:123456789012:thumbnails-dlq"},
        "environment": {"variables": {"PREFIX": "photos/"}},
        "kmsKeyArn": KEY_ARN,
    }
    return R(FN, base | inputs, name="thumbnails")


def permission(target: Any, **inputs: Any) -> Any:
    return R(
        PERMISSION,
        {"action": "lambda:InvokeFunction", "function": "thumbnails", **inputs},
        refs={"function": target},
    )


def reaching_database(**inputs: Any) -> tuple:
    role = R(ROLE, {"name": "thumbnails"}, name="thumbnails-role")
    target = function(role="<unknown>", **inputs)
    target = R(FN, target.inputs, name="thumbnails", refs={"role": role})
    grant = R(
        ROLE_POLICY,
        {
            "role": "thumbnails",
            "policy": json.dumps(
                {"Statement": [{"Effect": "Allow", "Action": "rds-db:connect", "Resource": "arn"}]}
            ),
        },
    )
    return target, role, grant


def schedule(**target: Any) -> Any:
    base = {
        "arn": "arn:aws:sqs:us-east-1:123456789012:reminders",
        "roleArn": "arn:aws:iam::123456789012:role/scheduler",
        "deadLetterConfig": {"arn": "arn:aws:sqs:us-east-1:123456789012:reminders-dlq"},
        "retryPolicy": {"maximumRetryAttempts": 3, "maximumEventAgeInSeconds": 3600},
    }
    return R(
        SCHEDULE,
        {"name": "fee-reminders", "kmsKeyArn": KEY_ARN, "target": base | target},
        name="fee-reminders",
    )


def release(version: Any = "61.3.2", **values: Any) -> Any:
    return R(
        RELEASE,
        {"chart": "kube-prometheus-stack", "version": version, "values": values},
        name="monitoring",
    )


def provisioned_table(*dimensions: str) -> tuple:
    table = R(DDB, {"name": "sessions", "billingMode": "PROVISIONED"}, name="sessions")
    others = []
    for dimension in dimensions:
        full = f"dynamodb:table:{dimension}"
        target = R(
            TARGET,
            {"resourceId": "<unknown>", "scalableDimension": full},
            refs={"resourceId": table},
        )
        others += [
            target,
            R(
                SCALING,
                {"resourceId": "<unknown>", "scalableDimension": full},
                refs={"resourceId": target},
            ),
        ]
    return table, *others


def signed_distribution(**behavior: Any) -> Any:
    return R(
        CF,
        {
            "defaultCacheBehavior": {"viewerProtocolPolicy": "redirect-to-https"},
            "orderedCacheBehaviors": [{"pathPattern": "/photos/*", **behavior}],
        },
        name="media-cdn",
    )


#: rule id → (passing case, failing case, the evidence path the failure names).
CASES: dict[str, tuple[Any, Any, str]] = {
    # --- EFS -----------------------------------------------------------------------------
    "OSP-EFS-1": (
        lambda: (file_system(),),
        lambda: (R(FS, {"encrypted": True, "kmsKeyId": "alias/aws/elasticfilesystem"}),),
        "kmsKeyId",
    ),
    "OSP-EFS-2": (
        lambda: with_fs(EFS_BACKUP, {"backupPolicy": {"status": "ENABLED"}}),
        lambda: with_fs(EFS_BACKUP, {"backupPolicy": {"status": "DISABLED"}}),
        "backupPolicy.status",
    ),
    "OSP-EFS-3": (
        lambda: (R(AP, {"rootDirectory": {"path": "/media"}}),),
        lambda: (R(AP, {"rootDirectory": {"path": "/"}}),),
        "rootDirectory.path",
    ),
    "OSP-EFS-4": (
        lambda: (R(AP, {"posixUser": {"uid": 65532, "gid": 65532}}),),
        lambda: (R(AP, {"posixUser": {"uid": 0, "gid": 0}}),),
        "posixUser.uid",
    ),
    "OSP-EFS-5": (
        lambda: with_fs(EFS_POLICY, {"policy": json.dumps({"Statement": [TLS_DENY]})}),
        lambda: with_fs(
            EFS_POLICY, {"policy": json.dumps({"Statement": [TLS_DENY | {"Effect": "Allow"}]})}
        ),
        "policy",
    ),
    "OSP-EFS-6": (
        lambda: mount_target(
            {"protocol": "tcp", "fromPort": 2049, "toPort": 2049, "securityGroups": ["sg-nodes"]}
        ),
        lambda: mount_target(
            {"protocol": "tcp", "fromPort": 2049, "toPort": 2049, "cidrBlocks": ["0.0.0.0/0"]}
        ),
        "securityGroups(media-sg).ingress[0].cidrBlocks",
    ),
    "OSP-EFS-7": (
        lambda: (R(FS, {}, protect=True),),
        lambda: (R(FS, {}),),
        "protect",
    ),
    # --- MSK -----------------------------------------------------------------------------
    "OSP-MSK-1": (
        lambda: (msk(),),
        lambda: (msk(encryptionInfo={"encryptionInTransit": {"clientBroker": "TLS"}}),),
        "encryptionInfo.encryptionAtRestKmsKeyArn",
    ),
    "OSP-MSK-2": (
        lambda: (msk(),),
        lambda: (
            msk(
                encryptionInfo={
                    "encryptionAtRestKmsKeyArn": KEY_ARN,
                    "encryptionInTransit": {"clientBroker": "TLS_PLAINTEXT", "inCluster": True},
                }
            ),
        ),
        "encryptionInfo.encryptionInTransit.clientBroker",
    ),
    "OSP-MSK-3": (
        lambda: (msk(),),
        lambda: (msk(clientAuthentication={"sasl": {"iam": True}, "unauthenticated": True}),),
        "clientAuthentication.unauthenticated",
    ),
    "OSP-MSK-4": (
        lambda: (msk(),),
        lambda: (
            msk(
                brokerNodeGroupInfo={
                    "connectivityInfo": {"publicAccess": {"type": "SERVICE_PROVIDED_EIPS"}}
                }
            ),
        ),
        "brokerNodeGroupInfo.connectivityInfo.publicAccess.type",
    ),
    "OSP-MSK-5": (
        lambda: (msk(),),
        lambda: (msk(loggingInfo={"brokerLogs": {"cloudwatchLogs": {"enabled": False}}}),),
        "loggingInfo.brokerLogs",
    ),
    "OSP-MSK-6": (lambda: (R(MSK, {}, protect=True),), lambda: (R(MSK, {}),), "protect"),
    # --- Managed Flink -------------------------------------------------------------------
    "OSP-FLINK-1": (
        lambda: (flink(),),
        lambda: (flink(vpcConfiguration=None),),
        "applicationConfiguration.vpcConfiguration.subnetIds",
    ),
    "OSP-FLINK-2": (
        lambda: (flink(),),
        lambda: (R(FLINK, {"runtimeEnvironment": "FLINK-1_20"}),),
        "cloudwatchLoggingOptions.logStreamArn",
    ),
    "OSP-FLINK-3": (
        lambda: (flink(),),
        lambda: (flink(applicationSnapshotConfiguration={"snapshotsEnabled": False}),),
        "applicationConfiguration.applicationSnapshotConfiguration.snapshotsEnabled",
    ),
    "OSP-FLINK-4": (
        lambda: (flink(),),
        lambda: (flink(applicationEncryptionConfiguration={"keyType": "AWS_OWNED_KEY"}),),
        "applicationConfiguration.applicationEncryptionConfiguration.keyType",
    ),
    # --- Lambda --------------------------------------------------------------------------
    "OSP-LAMBDA-1": (
        lambda: (
            permission(
                function(),
                principal="s3.amazonaws.com",
                sourceArn="arn:aws:s3:::photos",
                sourceAccount="123456789012",
            ),
        ),
        lambda: (permission(function(), principal="*"),),
        "principal",
    ),
    "OSP-LAMBDA-2": (
        lambda: (function(),),
        lambda: (function(runtime="python3.8"),),
        "runtime",
    ),
    "OSP-LAMBDA-3": (
        lambda: reaching_database(vpcConfig={"subnetIds": ["subnet-a", "subnet-b"]}),
        lambda: reaching_database(),
        "vpcConfig.subnetIds",
    ),
    "OSP-LAMBDA-4": (
        lambda: (function(),),
        lambda: (function(tracingConfig={"mode": "PassThrough"}),),
        "tracingConfig.mode",
    ),
    "OSP-LAMBDA-5": (
        lambda: (function(),),
        lambda: (function(reservedConcurrentExecutions=-1),),
        "reservedConcurrentExecutions",
    ),
    "OSP-LAMBDA-6": (
        lambda: (
            target := function(),
            permission(target, principal="s3.amazonaws.com", sourceArn="arn:aws:s3:::photos"),
        ),
        lambda: (
            target := function(deadLetterConfig=None),
            permission(target, principal="s3.amazonaws.com", sourceArn="arn:aws:s3:::photos"),
        ),
        "deadLetterConfig.targetArn",
    ),
    "OSP-LAMBDA-7": (
        lambda: (function(),),
        lambda: (function(kmsKeyArn=None),),
        "kmsKeyArn",
    ),
    # --- Scheduler -----------------------------------------------------------------------
    "OSP-SCHED-1": (
        lambda: (schedule(),),
        lambda: (schedule(deadLetterConfig=None),),
        "target.deadLetterConfig.arn",
    ),
    "OSP-SCHED-2": (
        lambda: (schedule(),),
        lambda: (R(SCHEDULE, {"name": "s", "target": {}}),),
        "kmsKeyArn",
    ),
    # --- SSM -----------------------------------------------------------------------------
    "OSP-SSM-1": (
        lambda: (R(PARAMETER, {"name": "/osp/prod/web/flags", "type": "String"}),),
        lambda: (R(PARAMETER, {"name": "/osp/prod/web/key", "type": "SecureString"}),),
        "type",
    ),
    "OSP-SSM-2": (
        lambda: (R(PARAMETER, {"name": "/osp/prod/shared/settings", "type": "String"}),),
        lambda: (R(PARAMETER, {"name": "/osp/staging/web/flags", "type": "String"}),),
        "name",
    ),
    # --- Helm ----------------------------------------------------------------------------
    "OSP-HELM-1": (lambda: (release(),), lambda: (release("latest"),), "version"),
    "OSP-HELM-2": (
        lambda: (release(grafana={"service": {"type": "ClusterIP"}}),),
        lambda: (release(grafana={"service": {"type": "LoadBalancer"}}),),
        "values.grafana.service.type",
    ),
    # --- DynamoDB capacity -----------------------------------------------------------------
    "OSP-DDB-5": (
        lambda: provisioned_table("ReadCapacityUnits", "WriteCapacityUnits"),
        lambda: provisioned_table("ReadCapacityUnits"),
        "autoscaling",
    ),
    # --- CloudFront signed delivery ----------------------------------------------------------
    "OSP-CF-10": (
        lambda: (signed_distribution(trustedKeyGroups=["<unknown>"]),),
        lambda: (signed_distribution(trustedSigners=["self"]),),
        "orderedCacheBehaviors[0].trustedSigners",
    ),
}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_passes(rule_id):
    target, *others = CASES[rule_id][0]()
    check = verdict(rule_id, target, *others)
    assert check is not None and check.passed, check


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_fails_naming_the_property(rule_id):
    target, *others = CASES[rule_id][1]()
    check = verdict(rule_id, target, *others)
    assert check is not None and not check.passed, check
    assert check.detail
    assert CASES[rule_id][2] in {e.path for e in check.evidence}, check.evidence


# --- the other ways a setting is written, and where a rule does not apply ----------------------


def test_a_mount_target_open_through_a_separate_ingress_rule_fails():
    target, *others = mount_target(
        separate={"ipProtocol": "tcp", "fromPort": 2049, "toPort": 2049, "cidrIpv4": "0.0.0.0/0"}
    )
    check = verdict("OSP-EFS-6", target, *others)
    assert not check.passed and check.detail == "admits 0.0.0.0/0 on port 2049"
    assert [e.path for e in check.evidence] == [
        f"securityGroups(media-sg).{others[1].name}.cidrIpv4"
    ]


def test_a_file_system_without_a_backup_policy_or_a_policy_fails():
    assert not verdict("OSP-EFS-2", file_system()).passed
    check = verdict("OSP-EFS-5", file_system())
    assert check.detail == "no file system policy denies requests without TLS"


def test_an_access_point_without_a_posix_user_fails():
    check = verdict("OSP-EFS-4", R(AP, {"rootDirectory": {"path": "/media"}}))
    assert check.detail == "no POSIX user: every client acts as the user it claims"


def test_msk_defaults_are_tls_but_no_authentication_is_open():
    assert verdict("OSP-MSK-2", msk(encryptionInfo={"encryptionAtRestKmsKeyArn": KEY_ARN})).passed
    check = verdict("OSP-MSK-3", msk(clientAuthentication=None))
    assert check.detail == "clients may connect without authenticating"
    iam_off = verdict("OSP-MSK-3", msk(clientAuthentication={"sasl": {"scram": True}}))
    assert iam_off.detail == "IAM access control is off"
    inside = msk(
        encryptionInfo={
            "encryptionAtRestKmsKeyArn": KEY_ARN,
            "encryptionInTransit": {"clientBroker": "TLS", "inCluster": False},
        }
    )
    assert verdict("OSP-MSK-2", inside).detail == "brokers replicate to one another in plaintext"


def test_msk_serverless_needs_iam():
    good = R(MSK_SERVERLESS, {"clientAuthentication": {"sasl": {"iam": {"enabled": True}}}})
    bad = R(MSK_SERVERLESS, {"clientAuthentication": {"sasl": {"iam": {"enabled": False}}}})
    assert verdict("OSP-MSK-3", good).passed
    assert [e.path for e in verdict("OSP-MSK-3", bad).evidence] == [
        "clientAuthentication.sasl.iam.enabled"
    ]


def test_flink_custom_checkpoints_off_fails_and_sql_applications_are_not_judged():
    custom = flink(
        flinkApplicationConfiguration={
            "checkpointConfiguration": {
                "configurationType": "CUSTOM",
                "checkpointingEnabled": False,
            }
        }
    )
    assert verdict("OSP-FLINK-3", custom).detail == "checkpointing is off"
    sql = R(FLINK, {"runtimeEnvironment": "SQL-1_0"})
    for rule_id in ("OSP-FLINK-1", "OSP-FLINK-2", "OSP-FLINK-3", "OSP-FLINK-4"):
        assert verdict(rule_id, sql) is None


@pytest.mark.parametrize(
    ("inputs", "passed"),
    [
        ({"principal": "s3.amazonaws.com"}, False),
        ({"principal": "sns.amazonaws.com", "sourceAccount": "123456789012"}, True),
        ({"principal": "123456789012"}, True),
        ({"principal": "*", "principalOrgId": "o-abc"}, True),
    ],
)
def test_invoke_permissions(inputs, passed):
    assert verdict("OSP-LAMBDA-1", permission(function(), **inputs)).passed is passed


def test_function_urls_need_iam():
    assert verdict("OSP-LAMBDA-1", R(URL, {"authorizationType": "AWS_IAM"})).passed
    check = verdict("OSP-LAMBDA-1", R(URL, {"authorizationType": "NONE"}))
    assert not check.passed and check.detail == "anyone on the internet may invoke it"


@pytest.mark.parametrize("runtime", sorted(limits.LAMBDA_DEPRECATED_RUNTIMES))
def test_every_deprecated_runtime_fails(runtime):
    assert not verdict("OSP-LAMBDA-2", function(runtime=runtime)).passed


@pytest.mark.parametrize("runtime", limits.LAMBDA_RUNTIMES)
def test_every_runtime_a_catalogue_accepts_passes(runtime):
    # One list each in osp.platform.limits: a runtime the catalogue lets an author choose
    # must not be one the guardrail then fails.
    assert verdict("OSP-LAMBDA-2", function(runtime=runtime)).passed


def test_image_functions_bring_their_runtime():
    assert verdict("OSP-LAMBDA-2", function(runtime=None, packageType="Image")) is None


def test_functions_reaching_no_in_vpc_store_need_no_vpc_and_one_subnet_is_not_enough():
    assert verdict("OSP-LAMBDA-3", function()) is None
    target, *others = reaching_database(vpcConfig={"subnetIds": ["subnet-a"]})
    check = verdict("OSP-LAMBDA-3", target, *others)
    assert check.detail == "in one subnet only: one zone's outage stops it"


def test_failed_async_events_may_go_to_an_on_failure_destination():
    target = function(deadLetterConfig=None)
    trigger = permission(target, principal="s3.amazonaws.com", sourceArn="arn:aws:s3:::photos")
    destination = R(
        INVOKE_CONFIG,
        {
            "functionName": "thumbnails",
            "destinationConfig": {"onFailure": {"destination": "arn:aws:sqs:::failed"}},
        },
    )
    assert verdict("OSP-LAMBDA-6", target, trigger, destination).passed


def test_a_function_a_schedule_invokes_is_asynchronous_and_a_synchronous_one_is_not_judged():
    target = function(deadLetterConfig=None)
    invoked = schedule(arn="arn:aws:lambda:us-east-1:123456789012:function:thumbnails")
    check = verdict("OSP-LAMBDA-6", target, invoked)
    assert check.detail == (
        "invoked asynchronously by fee-reminders (schedule), and failed events are dropped"
    )
    rotation = permission(target, principal="secretsmanager.amazonaws.com", sourceArn="arn:s")
    assert verdict("OSP-LAMBDA-6", target, rotation) is None


def test_a_function_without_environment_variables_has_nothing_to_encrypt():
    assert verdict("OSP-LAMBDA-7", function(environment=None, kmsKeyArn=None)) is None


def test_a_schedule_without_its_own_retry_policy_fails():
    check = verdict("OSP-SCHED-1", schedule(retryPolicy=None))
    assert check.detail == "no retry policy of its own"


@pytest.mark.parametrize("version", ["", None, "latest", "^61.0.0", "61.x", "x", ">=61", "*"])
def test_unpinned_chart_versions_fail(version):
    assert not verdict("OSP-HELM-1", release(version)).passed


@pytest.mark.parametrize("version", ["1.14.1", "v3.13.0", "0.0.0-nightly.xyz", "61.3.2+build"])
def test_exact_chart_versions_pass(version):
    assert verdict("OSP-HELM-1", release(version)).passed


def test_service_types_are_found_wherever_the_chart_keeps_them():
    check = verdict("OSP-HELM-2", release(server={"serviceType": "NodePort"}))
    assert [e.path for e in check.evidence] == ["values.server.serviceType"]
    # a `type` that is not a service's (a persistence or secret type) is not judged
    assert verdict("OSP-HELM-2", release(persistence={"type": "LoadBalancer"})).passed


def test_on_demand_tables_scale_themselves_and_targets_are_found_by_table_name():
    assert verdict("OSP-DDB-5", R(DDB, {"billingMode": "PAY_PER_REQUEST"})) is None
    table = R(DDB, {"name": "sessions", "billingMode": "PROVISIONED"})
    others = [
        item
        for d in ("ReadCapacityUnits", "WriteCapacityUnits")
        for item in (
            R(TARGET, {"resourceId": "table/sessions", "scalableDimension": f"dynamodb:table:{d}"}),
            R(
                SCALING,
                {"resourceId": "table/sessions", "scalableDimension": f"dynamodb:table:{d}"},
            ),
        )
    ]
    assert verdict("OSP-DDB-5", table, *others).passed
    check = verdict("OSP-DDB-5", table, others[0])
    assert check.detail == "provisioned ReadCapacityUnits, WriteCapacityUnits do not scale"


def test_distributions_without_signed_behaviours_are_not_judged():
    assert verdict("OSP-CF-10", signed_distribution()) is None
