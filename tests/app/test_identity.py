"""`ServiceIdentity` and `LoadBalancerControllerIdentity` through the offline engine: the trust
policy, and permission policies that name exactly the resources given and nothing else."""

from __future__ import annotations

import asyncio
import gc
import json
import re
from collections import Counter

import pulumi
import pulumi_aws as aws
import pytest

from osp.app.identity import (
    CONTROLLER_DESCRIBE_ACTIONS,
    KEY_ACTIONS,
    QUEUE_ACTIONS,
    BucketGrant,
    DbUserGrant,
    Grants,
    KeyGrant,
    LoadBalancerControllerIdentity,
    LoadBalancerControllerIdentityArgs,
    ServiceIdentity,
    ServiceIdentityArgs,
    arn_problem,
    controller_problems,
    permission_statements,
    problems,
    with_key_grants,
)
from osp.platform.engine import offline
from osp.platform.validation import InvalidArguments
from tests.support import plan_component, spec_of, statements

TAGS = {"osp:environment": "prod", "osp:component": "app", "osp:blueprint": "osp",
        "osp:managed-by": "osp"}  # fmt: skip
ACCOUNT = "123456789012"
REGION = "us-east-1"
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
OIDC_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"
SNS = f"arn:aws:sns:{REGION}:{ACCOUNT}:"
SQS = f"arn:aws:sqs:{REGION}:{ACCOUNT}:"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
KMS = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/"
SES_IDENTITY = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/springfield.edu"
SES_CONFIGURATION_SET = f"arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/osp-prod-email"
DATA_KEY, STORAGE_KEY, SECRETS_KEY = KMS + "data-key", KMS + "storage-key", KMS + "secrets-key"
TG = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/"

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SERVICE_TOKEN = "osp:app:ServiceIdentity"
CONTROLLER_TOKEN = "osp:app:LoadBalancerControllerIdentity"

#: Actions that touch data; none may ever be granted on "*".
DATA_PLANE = re.compile(r"^(sns|sqs|s3|secretsmanager|kms|rds-db|ses):")


def identity_args(**overrides) -> ServiceIdentityArgs:
    return ServiceIdentityArgs(
        **{
            "service": "fee",
            "namespace": "osp",
            "service_account": "fee",
            "oidc_provider_arn": OIDC_ARN,
            "oidc_provider_url": ISSUER,
            "role_name": "osp-prod-fee",
            "tags": TAGS,
            **overrides,
        }
    )


def controller_args(**overrides) -> LoadBalancerControllerIdentityArgs:
    return LoadBalancerControllerIdentityArgs(
        **{
            "oidc_provider_arn": OIDC_ARN,
            "oidc_provider_url": ISSUER,
            "role_name": "osp-prod-lb-controller",
            "target_group_arns": [TG + "osp-prod-fee-8080/0123456789abcdef"],
            "tags": TAGS,
            **overrides,
        }
    )


def plan_identity(name: str = "osp-t-fee", **overrides):
    return plan_component(
        ServiceIdentity, identity_args(**overrides), name=name, exports=("role_arn", "role_name")
    )


def plan_controller(**overrides):
    return plan_component(
        LoadBalancerControllerIdentity, controller_args(**overrides), name="osp-t-lbc"
    )


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def policy_of(plan, name: str) -> dict[str, dict]:
    return statements(plan.named(f"{name}-policy").inputs["policy"])


def trust_of(plan, name: str) -> dict:
    document = json.loads(plan.named(f"{name}-role").inputs["assumeRolePolicy"])
    [statement] = document["Statement"]
    return statement


def resources_by_action(by_sid: dict[str, dict]) -> dict[str, set[str]]:
    """Every action → every resource it is allowed on (NotResource shown as "not:<arn>")."""
    out: dict[str, set[str]] = {}
    for statement in by_sid.values():
        assert statement["Effect"] == "Allow"
        if "Resource" in statement:
            targets = set(as_list(statement["Resource"]))
        else:
            targets = {f"not:{arn}" for arn in as_list(statement["NotResource"])}
        for action in as_list(statement["Action"]):
            out.setdefault(action, set()).update(targets)
    return out


def assert_least_privilege(by_sid: dict[str, dict]) -> None:
    for sid, statement in by_sid.items():
        for action in as_list(statement["Action"]):
            assert "*" not in action and "?" not in action, (sid, action)
            if DATA_PLANE.match(action):
                assert "*" not in as_list(statement.get("Resource", [])), (sid, action)
        assert statement.get("NotResource") in (None, ["arn:aws:sns:*:*:*"]), sid
        assert "NotAction" not in statement and "Principal" not in statement, sid


# == a service with every kind of grant =================================================


@pytest.fixture(scope="module")
def full():
    """Every kind of grant; some ARNs literal, some from resources of the same program."""

    def program(spec):
        topic = aws.sns.Topic("t-topic", name="osp-prod-payment-completed")
        queue = aws.sqs.Queue("t-queue", name="osp-prod-fee-enrollment-created")
        bucket = aws.s3.Bucket("t-bucket", bucket="osp-prod-media")
        key = aws.kms.Key("t-data-key")
        primary = aws.rds.Instance("t-primary", identifier="osp-prod-pg", engine="postgres",
                                   instance_class="db.t4g.micro")  # fmt: skip
        grants = Grants(
            publish_topic_arns=[topic.arn, SNS + "osp-prod-fee-calculated"],
            consume_queue_arns=[queue.arn, SQS + "osp-prod-fee-order-placed"],
            buckets=[
                BucketGrant(bucket.arn, "read-write"),
                BucketGrant("arn:aws:s3:::osp-prod-reports", "read"),
            ],
            secret_arns=[SECRET + "osp-prod-fee-api-AbCdEf"],
            database_users=[DbUserGrant(primary.resource_id, "fee")],
            email_identity_arns=[SES_IDENTITY],
            sms=True,
        )
        grants = with_key_grants(
            grants, data_key_arn=key.arn, storage_key_arn=STORAGE_KEY, secrets_key_arn=SECRETS_KEY
        )
        ServiceIdentity("osp-t-fee", identity_args(grants=grants))
        pulumi.export("dataKeyArn", key.arn)
        pulumi.export("primaryResourceId", primary.resource_id)

    return offline.run(spec_of("prod"), program)


def test_children(full):
    [identity] = full.of_type(SERVICE_TOKEN)
    children = full.children(identity.urn)
    assert Counter(c.type for c in children) == {ROLE: 1, ROLE_POLICY: 1}
    role = full.named("osp-t-fee-role")
    assert role.inputs["name"] == "osp-prod-fee"
    assert role.inputs["tags"] == {"Name": "osp-t-fee-role", **TAGS}
    assert "maxSessionDuration" not in role.inputs
    assert "permissionsBoundary" not in role.inputs
    assert "managedPolicyArns" not in role.inputs
    policy = full.named("osp-t-fee-policy")
    assert policy.inputs["role"] == "osp-prod-fee"
    assert policy.inputs["name"] == "permissions"


def test_trust_only_the_service_account(full):
    statement = trust_of(full, "osp-t-fee")
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Federated": OIDC_ARN},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {
                f"{ISSUER}:sub": "system:serviceaccount:osp:fee",
                f"{ISSUER}:aud": "sts.amazonaws.com",
            }
        },
    }


def test_names_exactly_the_resources_given(full):
    by_sid = policy_of(full, "osp-t-fee")
    data_key, resource_id = full.outputs["dataKeyArn"], full.outputs["primaryResourceId"]
    assert data_key.startswith(KMS) and resource_id.startswith("db-")
    media, reports = "arn:aws:s3:::osp-prod-media", "arn:aws:s3:::osp-prod-reports"
    queues = {SQS + "osp-prod-fee-enrollment-created", SQS + "osp-prod-fee-order-placed"}
    assert resources_by_action(by_sid) == {
        "sns:Publish": {
            SNS + "osp-prod-payment-completed",
            SNS + "osp-prod-fee-calculated",
            "not:arn:aws:sns:*:*:*",
        },
        **{action: queues for action in QUEUE_ACTIONS},
        "s3:ListBucket": {media, reports},
        "s3:GetObject": {f"{media}/*", f"{reports}/*"},
        "s3:PutObject": {f"{media}/*"},
        "s3:DeleteObject": {f"{media}/*"},
        "s3:AbortMultipartUpload": {f"{media}/*"},
        "secretsmanager:GetSecretValue": {SECRET + "osp-prod-fee-api-AbCdEf"},
        "secretsmanager:DescribeSecret": {SECRET + "osp-prod-fee-api-AbCdEf"},
        "kms:Decrypt": {data_key, STORAGE_KEY, SECRETS_KEY},
        "kms:GenerateDataKey": {data_key, STORAGE_KEY},
        "rds-db:connect": {f"arn:aws:rds-db:{REGION}:{ACCOUNT}:dbuser:{resource_id}/fee"},
        "ses:SendEmail": {SES_IDENTITY},
        "ses:SendRawEmail": {SES_IDENTITY},
    }
    assert_least_privilege(by_sid)


def test_reads_do_not_write(full):
    by_sid = policy_of(full, "osp-t-fee")
    assert by_sid["ReadObjects"]["Action"] == ["s3:GetObject"]
    assert by_sid["ListBuckets"]["Action"] == ["s3:ListBucket"]
    assert sorted(by_sid["WriteObjects"]["Action"]) == [
        "s3:AbortMultipartUpload",
        "s3:DeleteObject",
        "s3:PutObject",
    ]
    # A consumer never sends into (or purges) its own queue: only its topic feeds it.
    assert not {"sqs:SendMessage", "sqs:PurgeQueue"} & set(by_sid["ConsumeEvents"]["Action"])


def test_keys_only_through_their_service(full):
    by_sid = policy_of(full, "osp-t-fee")
    data_key = full.outputs["dataKeyArn"]
    uses = {
        (s["Resource"][0], tuple(s["Condition"]["StringEquals"]["kms:ViaService"])): s["Action"]
        for sid, s in by_sid.items()
        if sid.startswith("UseKey")
    }
    assert uses == {
        (data_key, (f"sns.{REGION}.amazonaws.com",)): ["kms:Decrypt", "kms:GenerateDataKey"],
        (data_key, (f"sqs.{REGION}.amazonaws.com",)): ["kms:Decrypt"],
        (STORAGE_KEY, (f"s3.{REGION}.amazonaws.com",)): ["kms:Decrypt", "kms:GenerateDataKey"],
        (SECRETS_KEY, (f"secretsmanager.{REGION}.amazonaws.com",)): ["kms:Decrypt"],
    }
    for sid, statement in by_sid.items():
        if sid.startswith("UseKey"):
            assert set(statement["Condition"]) == {"StringEquals"}
            assert set(statement["Condition"]["StringEquals"]) == {"kms:ViaService"}


def test_sms_reaches_no_topic(full):
    statement = policy_of(full, "osp-t-fee")["SendSms"]
    assert statement == {
        "Sid": "SendSms",
        "Effect": "Allow",
        "Action": ["sns:Publish"],
        "NotResource": ["arn:aws:sns:*:*:*"],
    }


# == notification-like and reporting-like services =======================================


@pytest.fixture(scope="module")
def notification():
    return plan_identity(
        "osp-t-notification",
        service="notification",
        service_account="notification",
        role_name="osp-prod-notification",
        grants=Grants(email_identity_arns=[SES_IDENTITY, SES_CONFIGURATION_SET], sms=True),
    )


def test_notification_sends_email_and_sms_only(notification):
    by_sid = policy_of(notification, "osp-t-notification")
    assert set(by_sid) == {"SendEmail", "SendSms"}
    assert resources_by_action(by_sid) == {
        "ses:SendEmail": {SES_IDENTITY, SES_CONFIGURATION_SET},
        "ses:SendRawEmail": {SES_IDENTITY, SES_CONFIGURATION_SET},
        "sns:Publish": {"not:arn:aws:sns:*:*:*"},
    }
    actions = {a for s in by_sid.values() for a in as_list(s["Action"])}
    assert not [a for a in actions if a.startswith(("s3:", "rds", "kms:", "secretsmanager:"))]
    assert_least_privilege(by_sid)
    statement = trust_of(notification, "osp-t-notification")
    assert statement["Condition"]["StringEquals"][f"{ISSUER}:sub"] == (
        "system:serviceaccount:osp:notification"
    )


@pytest.fixture(scope="module")
def reporting():
    def program(spec):
        primary = aws.rds.Instance("t-primary", identifier="osp-prod-pg", engine="postgres",
                                   instance_class="db.t4g.micro")  # fmt: skip
        replica = aws.rds.Instance("t-replica", identifier="osp-prod-pg-replica-1",
                                   replicate_source_db="osp-prod-pg",
                                   instance_class="db.t4g.micro")  # fmt: skip
        grants = with_key_grants(
            Grants(
                consume_queue_arns=[SQS + "osp-prod-reporting-enrollment-created"],
                buckets=[BucketGrant("arn:aws:s3:::osp-prod-reports", "read")],
                database_users=[
                    DbUserGrant(primary.resource_id, "reporting"),
                    DbUserGrant(replica.resource_id, "reporting"),
                ],
            ),
            data_key_arn=DATA_KEY,
            storage_key_arn=STORAGE_KEY,
            secrets_key_arn=SECRETS_KEY,
        )
        ServiceIdentity(
            "osp-t-reporting",
            identity_args(
                service="reporting",
                service_account="reporting",
                role_name="osp-prod-reporting",
                grants=grants,
            ),
        )
        pulumi.export("primaryResourceId", primary.resource_id)
        pulumi.export("replicaResourceId", replica.resource_id)

    return offline.run(spec_of("prod"), program)


def test_reporting_reads_bucket_and_connects_to_primary_and_replica(reporting):
    by_sid = policy_of(reporting, "osp-t-reporting")
    assert set(by_sid) == {"ConsumeEvents", "ListBuckets", "ReadObjects", "UseKey0", "UseKey1",
                           "ConnectDatabase"}  # fmt: skip
    assert "WriteObjects" not in by_sid
    reports = "arn:aws:s3:::osp-prod-reports"
    assert by_sid["ListBuckets"]["Resource"] == [reports]
    assert by_sid["ReadObjects"]["Resource"] == [f"{reports}/*"]
    ids = (reporting.outputs["primaryResourceId"], reporting.outputs["replicaResourceId"])
    assert ids[0] != ids[1]  # each instance has its own resource id
    assert sorted(by_sid["ConnectDatabase"]["Resource"]) == sorted(
        f"arn:aws:rds-db:{REGION}:{ACCOUNT}:dbuser:{resource_id}/reporting" for resource_id in ids
    )
    # No secret was granted, so no key is usable through Secrets Manager; reads never write.
    via = {
        service
        for s in by_sid.values()
        if s["Sid"].startswith("UseKey")
        for service in s["Condition"]["StringEquals"]["kms:ViaService"]
    }
    assert via == {f"sqs.{REGION}.amazonaws.com", f"s3.{REGION}.amazonaws.com"}
    assert {a for s in by_sid.values() for a in s["Action"]} == {
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
        "s3:ListBucket",
        "s3:GetObject",
        "kms:Decrypt",
        "rds-db:connect",
    }
    assert_least_privilege(by_sid)


def test_a_service_without_grants_has_no_policy():
    plan = plan_identity("osp-t-admin", service="admin", service_account="admin",
                         role_name="osp-prod-admin")  # fmt: skip
    [identity] = plan.of_type(SERVICE_TOKEN)
    assert [c.type for c in plan.children(identity.urn)] == [ROLE]
    assert plan.of_type(ROLE_POLICY) == []
    assert plan.outputs["role_name"] == "osp-prod-admin"
    assert plan.outputs["role_arn"] == f"arn:aws:iam::{ACCOUNT}:role/osp-prod-admin"


def test_long_role_names_are_fitted():
    long_name = "osp-prod-" + "a-very-long-service-name-" * 3
    plan = plan_identity(role_name=long_name)
    name = plan.named("osp-t-fee-role").inputs["name"]
    assert len(name) == 64 and name.startswith("osp-prod-a-very-long")


def test_duplicates_from_outputs_are_named_once():
    def program(spec):
        topic = aws.sns.Topic("t-topic", name="osp-prod-order-placed")
        ServiceIdentity(
            "osp-t-fee",
            identity_args(
                grants=Grants(publish_topic_arns=[topic.arn, SNS + "osp-prod-order-placed"])
            ),
        )

    by_sid = policy_of(offline.run(spec_of("prod"), program), "osp-t-fee")
    assert by_sid["PublishEvents"]["Resource"] == [SNS + "osp-prod-order-placed"]


def test_an_output_that_resolves_to_a_wildcard_fails_the_run():
    def program(spec):
        wildcard = pulumi.Output.from_input("arn:aws:s3:::*")
        ServiceIdentity(
            "osp-t-fee", identity_args(grants=Grants(buckets=[BucketGrant(wildcard, "read")]))
        )

    message = (
        "ServiceIdentity osp-t-fee: grants.buckets[].arn: got 'arn:aws:s3:::*'; expected an S3 "
        "bucket ARN (the bucket, not its objects) such as arn:aws:s3:::osp-prod-media"
    )
    with pytest.raises(InvalidArguments) as failure:
        offline.run(spec_of("prod"), program)
    assert failure.value.problems == [message]
    # The Pulumi runtime leaves the failed registration's future unretrieved, and asyncio
    # would print it at exit: mark it retrieved (the failure is what this test expects).
    for obj in gc.get_objects():
        if isinstance(obj, asyncio.Future) and obj.done() and not obj.cancelled():
            obj.exception()


# == load balancer controller ============================================================


@pytest.fixture(scope="module")
def controller():
    """Target groups from resources (as a mapping, like ApiLoadBalancer's output)."""

    def program(spec):
        groups = {
            service: aws.lb.TargetGroup(
                f"t-{service}",
                name=f"osp-prod-{service}-8080",
                port=8080,
                protocol="HTTP",
                target_type="ip",
            )
            for service in ("fee", "school")
        }
        arns = pulumi.Output.all(**{s: g.arn for s, g in groups.items()})
        identity = LoadBalancerControllerIdentity(
            "osp-t-lbc", controller_args(target_group_arns=arns)
        )
        pulumi.export("roleArn", identity.role_arn)

    return offline.run(spec_of("prod"), program)


def test_controller_children_and_trust(controller):
    [identity] = controller.of_type(CONTROLLER_TOKEN)
    assert Counter(c.type for c in controller.children(identity.urn)) == {ROLE: 1, ROLE_POLICY: 1}
    role = controller.named("osp-t-lbc-role")
    assert role.inputs["name"] == "osp-prod-lb-controller"
    assert role.inputs["tags"] == {"Name": "osp-t-lbc-role", **TAGS}
    condition = trust_of(controller, "osp-t-lbc")["Condition"]
    assert condition == {
        "StringEquals": {
            f"{ISSUER}:sub": "system:serviceaccount:kube-system:aws-load-balancer-controller",
            f"{ISSUER}:aud": "sts.amazonaws.com",
        }
    }


def test_controller_registers_targets_in_the_estate_groups_only(controller):
    by_sid = policy_of(controller, "osp-t-lbc")
    assert set(by_sid) == {"Describe", "RegisterTargets"}
    groups = {r.inputs["name"]: r for r in controller.of_type("aws:lb/targetGroup:TargetGroup")}
    targets = by_sid["RegisterTargets"]
    assert sorted(targets["Action"]) == [
        "elasticloadbalancing:DeregisterTargets",
        "elasticloadbalancing:RegisterTargets",
    ]
    assert len(targets["Resource"]) == 2
    for arn, name in zip(sorted(targets["Resource"]), sorted(groups), strict=True):
        assert arn.startswith(f"{TG}{name}/"), (arn, name)
    assert "Condition" not in targets


def test_controller_may_also_register_in_groups_carrying_the_given_tags():
    """The silo tenants' groups, created later by their own stacks: one tag-conditioned
    statement, however many there are."""
    plan = plan_controller(
        target_group_arns=[f"{TG}osp-prod-fee-8080/0123456789abcdef"],
        tagged_target_groups={"osp:environment": "prod", "osp:tier": "silo"},
    )
    tagged = policy_of(plan, "osp-t-lbc")["RegisterTargetsInTaggedGroups"]
    assert (
        tagged["Resource"] == "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/*/*"
    )
    assert tagged["Condition"] == {
        "StringEquals": {
            "aws:ResourceTag/osp:environment": "prod",
            "aws:ResourceTag/osp:tier": "silo",
        }
    }
    assert sorted(tagged["Action"]) == [
        "elasticloadbalancing:DeregisterTargets",
        "elasticloadbalancing:RegisterTargets",
    ]


@pytest.mark.parametrize("tags", [{"osp:tier": ""}, {"": "silo"}])
def test_an_empty_tag_would_admit_every_group_and_is_refused(tags):
    found = controller_problems("osp-t-lbc", controller_args(tagged_target_groups=tags))
    assert any("tagged_target_groups" in f and "a non-empty tag key and value" in f for f in found)


def test_controller_can_only_describe_on_star(controller):
    by_sid = policy_of(controller, "osp-t-lbc")
    describe = by_sid["Describe"]
    assert describe["Resource"] == "*"
    assert describe["Action"] == list(CONTROLLER_DESCRIBE_ACTIONS)
    assert all(re.fullmatch(r"(ec2|elasticloadbalancing):Describe[A-Za-z]+", a)
               for a in describe["Action"])  # fmt: skip
    actions = {a for s in by_sid.values() for a in as_list(s["Action"])}
    # Nothing that creates or reshapes load balancers, listeners, rules, WAF or security groups.
    for forbidden in (
        "elasticloadbalancing:CreateLoadBalancer",
        "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:CreateRule",
        "elasticloadbalancing:SetWebAcl",
        "wafv2:DisassociateWebACL",
        "ec2:CreateSecurityGroup",
        "ec2:AuthorizeSecurityGroupIngress",
        "iam:CreateServiceLinkedRole",
    ):
        assert forbidden not in actions


def test_controller_security_groups_when_asked():
    plan = plan_controller(security_group_ids=["sg-0123456789abcdef0"])
    by_sid = policy_of(plan, "osp-t-lbc")
    assert by_sid["ManageSecurityGroupIngress"] == {
        "Sid": "ManageSecurityGroupIngress",
        "Effect": "Allow",
        "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
        "Resource": [f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0123456789abcdef0"],
    }
    assert by_sid["RegisterTargets"]["Resource"] == [TG + "osp-prod-fee-8080/0123456789abcdef"]


# == bad args ============================================================================


def test_nothing_is_created_when_args_are_wrong():
    errors: list[str] = []

    def program(spec):
        try:
            ServiceIdentity("osp-t-fee", identity_args(namespace=""))
        except InvalidArguments as exc:
            errors.append(str(exc))
        try:
            LoadBalancerControllerIdentity("osp-t-lbc", controller_args(target_group_arns=[]))
        except InvalidArguments as exc:
            errors.append(str(exc))

    plan = offline.run(spec_of("prod"), program)
    assert len(errors) == 2
    assert [r.type for r in plan.resources if r.custom] == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"service": "Fee_Service"}, "service: got 'Fee_Service'; expected a service name"),
        ({"namespace": ""}, "namespace: got ''; expected a Kubernetes namespace"),
        ({"namespace": "OSP"}, "namespace: got 'OSP'"),
        ({"service_account": ""}, "service_account: got ''; expected a Kubernetes service account"),
        ({"service_account": "fee:admin"}, "service_account: got 'fee:admin'"),
        ({"role_name": ""}, "role_name: got ''; expected an IAM role name"),
        ({"role_name": "osp prod fee"}, "role_name: got 'osp prod fee'"),
        (
            {"oidc_provider_url": "https://" + ISSUER},
            f"oidc_provider_url: got 'https://{ISSUER}'; expected the issuer without https://",
        ),
        (
            {"oidc_provider_arn": "arn:aws:iam::123456789012:role/eks"},
            "oidc_provider_arn: got 'arn:aws:iam::123456789012:role/eks'; expected an IAM OIDC",
        ),
        (
            {"grants": Grants(publish_topic_arns=[SNS + "a", SNS + "a"])},
            f"grants.publish_topic_arns[1]: got '{SNS}a'; expected each ARN once",
        ),
        (
            {"grants": Grants(publish_topic_arns=[SNS + "*"])},
            f"grants.publish_topic_arns[0]: got '{SNS}*'; expected an SNS topic ARN",
        ),
        (
            {"grants": Grants(publish_topic_arns=[SQS + "fee"])},
            f"grants.publish_topic_arns[0]: got '{SQS}fee'; expected an SNS topic ARN",
        ),
        (
            {"grants": Grants(publish_topic_arns=SNS + "a")},
            f"grants.publish_topic_arns: got '{SNS}a'; expected a list, not one value",
        ),
        (
            {"grants": Grants(consume_queue_arns=["*"])},
            "grants.consume_queue_arns[0]: got '*'; expected an SQS queue ARN",
        ),
        (
            {"grants": Grants(consume_queue_arns=[SQS + "q", SQS + "q"])},
            f"grants.consume_queue_arns[1]: got '{SQS}q'; expected each ARN once",
        ),
        (
            {"grants": Grants(secret_arns=[SECRET + "x", SECRET + "x"])},
            f"grants.secret_arns[1]: got '{SECRET}x'; expected each ARN once",
        ),
        (
            {"grants": Grants(secret_arns=[SECRET + "*"])},
            f"grants.secret_arns[0]: got '{SECRET}*'; expected a Secrets Manager secret ARN",
        ),
        (
            {"grants": Grants(email_identity_arns=[f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/*"])},
            "grants.email_identity_arns[0]: got 'arn:aws:ses:us-east-1:123456789012:identity/*'; "
            "expected an SES identity ARN",
        ),
        (
            {
                "grants": Grants(
                    email_identity_arns=[f"arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/*"]
                )
            },
            "grants.email_identity_arns[0]: got "
            "'arn:aws:ses:us-east-1:123456789012:configuration-set/*'; expected an SES identity",
        ),
        (
            {"grants": Grants(buckets=[BucketGrant("arn:aws:s3:::media/*", "read")])},
            "grants.buckets[0].arn: got 'arn:aws:s3:::media/*'; expected an S3 bucket ARN",
        ),
        (
            {"grants": Grants(buckets=[BucketGrant("arn:aws:s3:::media", "read"),
                                       BucketGrant("arn:aws:s3:::media", "read-write")])},
            "grants.buckets[1].arn: got 'arn:aws:s3:::media'; expected each bucket once",
        ),
        (
            {"grants": Grants(buckets=[BucketGrant("arn:aws:s3:::media", "write")])},
            "grants.buckets[0].access: got 'write'; expected read or read-write",
        ),
        (
            {"grants": Grants(keys=[KeyGrant(KMS.replace("key/", "alias/data"), ("s3",))])},
            "grants.keys[0].key_arn: got 'arn:aws:kms:us-east-1:123456789012:alias/data'; "
            "expected a KMS key ARN (not an alias) such as arn:aws:kms:us-east-1:123456789012:"
            "key/<id>",
        ),
        (
            {"grants": Grants(keys=[KeyGrant(DATA_KEY, ("rds",))])},
            "grants.keys[0].via_services: got ('rds',); expected a non-empty list of s3, "
            "secretsmanager, sns, sqs",
        ),
        (
            {"grants": Grants(keys=[KeyGrant(DATA_KEY, ())])},
            "grants.keys[0].via_services: got (); expected a non-empty list",
        ),
        (
            {"grants": Grants(keys=[KeyGrant(DATA_KEY, ("sqs",)), KeyGrant(DATA_KEY, ("sqs",))])},
            "grants.keys[1].via_services: got ('sqs',); expected sqs once per key",
        ),
        (
            {"grants": Grants(keys=[KeyGrant(DATA_KEY, ("sqs",), ("kms:*",))])},
            "grants.keys[0].actions: got ('kms:*',); expected a non-empty list of kms:Decrypt, "
            "kms:GenerateDataKey",
        ),
        (
            {"grants": Grants(database_users=[DbUserGrant("osp-prod-pg", "fee")])},
            "grants.database_users[0].resource_id: got 'osp-prod-pg'; expected an RDS instance "
            "resource id",
        ),
        (
            {"grants": Grants(database_users=[DbUserGrant("db-ABC", "Fee-Service")])},
            "grants.database_users[0].user: got 'Fee-Service'; expected a PostgreSQL name of the "
            "service's own",
        ),
        (
            {"grants": Grants(database_users=[DbUserGrant("db-ABC", "*")])},
            "grants.database_users[0].user: got '*'",
        ),
        (
            {"grants": Grants(database_users=[DbUserGrant("db-ABC", "rdsadmin")])},
            "grants.database_users[0].user: got 'rdsadmin'; expected a PostgreSQL name of the "
            "service's own",
        ),
        (
            {"grants": Grants(database_users=[DbUserGrant("db-ABC", "fee"),
                                              DbUserGrant("db-ABC", "fee")])},
            "grants.database_users[1]: got 'db-ABC/fee'; expected each instance and user once",
        ),
        ({"grants": Grants(sms="yes")}, "grants.sms: got 'yes'; expected True or False"),
    ],
)  # fmt: skip
def test_refuses_bad_args(overrides, message):
    with pytest.raises(InvalidArguments, match=f"ServiceIdentity osp-t-fee: {re.escape(message)}"):
        plan_identity(**overrides)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"target_group_arns": []}, "target_group_arns: got []; expected at least one"),
        (
            {"target_group_arns": [TG + "*"]},
            f"target_group_arns[0]: got '{TG}*'; expected a target group ARN",
        ),
        (
            {"target_group_arns": {"fee": TG + "a/0a", "school": TG + "a/0a"}},
            f"target_group_arns[1]: got '{TG}a/0a'; expected each ARN once",
        ),
        (
            {"security_group_ids": ["sg-0123456789abcdef0", "sg-0123456789abcdef0"]},
            "security_group_ids: got ['sg-0123456789abcdef0', 'sg-0123456789abcdef0']; "
            "expected each group once",
        ),
        ({"security_group_ids": ["*"]}, "security_group_ids[0]: got '*'; expected a security"),
        ({"security_group_ids": "sg-0123456789abcdef0"}, "security_group_ids: got "),
        ({"namespace": "Kube System"}, "namespace: got 'Kube System'"),
        ({"oidc_provider_url": "https://" + ISSUER}, "oidc_provider_url: got 'https://"),
    ],
)  # fmt: skip
def test_controller_refuses_bad_args(overrides, message):
    with pytest.raises(
        InvalidArguments, match=f"LoadBalancerControllerIdentity osp-t-lbc: {re.escape(message)}"
    ):
        plan_controller(**overrides)


def test_reports_every_problem_at_once():
    found = problems(
        "x",
        identity_args(namespace="", role_name="", grants=Grants(consume_queue_arns=["*"], sms=1)),
    )
    assert [p.split(":")[1].strip() for p in found] == [
        "namespace",
        "role_name",
        "grants.consume_queue_arns[0]",
        "grants.sms",
    ]
    assert controller_problems("y", controller_args()) == []
    assert problems("x", identity_args()) == []


def test_with_key_grants_derives_only_what_is_used():
    grants = with_key_grants(
        Grants(email_identity_arns=[SES_IDENTITY], sms=True),
        data_key_arn=DATA_KEY,
        storage_key_arn=STORAGE_KEY,
        secrets_key_arn=SECRETS_KEY,
    )
    assert grants.keys == ()
    grants = with_key_grants(
        Grants(buckets=[BucketGrant("arn:aws:s3:::media", "read")]), storage_key_arn=STORAGE_KEY
    )
    assert grants.keys == (KeyGrant(STORAGE_KEY, ("s3",), ("kms:Decrypt",)),)
    grants = with_key_grants(Grants(publish_topic_arns=[SNS + "t"]), data_key_arn=DATA_KEY)
    assert grants.keys == (KeyGrant(DATA_KEY, ("sns",), KEY_ACTIONS),)


def test_a_controller_whose_groups_resolve_to_none_fails_the_run():
    def program(spec):
        LoadBalancerControllerIdentity(
            "osp-t-lbc", controller_args(target_group_arns=pulumi.Output.from_input({}))
        )

    with pytest.raises(InvalidArguments) as failure:
        offline.run(spec_of("prod"), program)
    assert failure.value.problems == [
        "LoadBalancerControllerIdentity osp-t-lbc: target_group_arns: got []; expected at least "
        "one target group"
    ]
    for obj in gc.get_objects():
        if isinstance(obj, asyncio.Future) and obj.done() and not obj.cancelled():
            obj.exception()


# == the pure parts ======================================================================


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("topic", "arn:aws-us-gov:sns:us-gov-west-1:123456789012:osp-prod-order-placed"),
        ("queue", "arn:aws-cn:sqs:cn-north-1:123456789012:osp-prod-fee-order-placed.fifo"),
        ("bucket", "arn:aws:s3:::osp-prod-media"),
        ("secret", SECRET + "osp-prod/jwt-AbCdEf"),
        ("key", DATA_KEY),
        ("email", SES_CONFIGURATION_SET),
        ("oidc_provider", OIDC_ARN),
        ("target_group", TG + "osp-prod-fee/0123abcd"),
        ("resource_id", "db-ABCDEFGHIJ"),
        ("security_group", "sg-0123456789abcdef0"),
    ],
)
def test_arns_of_every_partition_and_kind_are_accepted(kind, value):
    assert arn_problem(kind, value) is None


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("topic", "arn:aws:sns:europe:123456789012:t"),  # no region
        ("topic", "arn:aws:sns:us-east-1:12345:t"),  # no account id
        ("topic", "arn:gcp:sns:us-east-1:123456789012:t"),  # no AWS partition
        ("topic", "arn:aws:sqs:us-east-1:123456789012:t"),  # another service's
        ("topic", "arn:aws:sns:us-east-1:123456789012:t:sub"),  # a subscription
        ("bucket", "arn:aws:s3:us-east-1::osp-prod-media"),  # buckets have no region
        ("bucket", "arn:aws:s3:::osp-prod-media/*"),  # the objects
        ("oidc_provider", f"arn:aws:iam:{REGION}:{ACCOUNT}:oidc-provider/{ISSUER}"),
        ("key", KMS.replace("key/", "alias/data")),
        ("secret", SECRET + "*"),
        ("resource_id", "osp-prod-pg"),
    ],
)
def test_arns_that_are_malformed_or_wildcards_are_refused(kind, value):
    assert arn_problem(kind, value)


def test_statements_come_in_one_order_and_each_resource_once():
    statements = permission_statements(
        partition="aws",
        region=REGION,
        account=ACCOUNT,
        topic_arns=[SNS + "b", SNS + "a", SNS + "b"],
        queue_arns=[SQS + "q"],
        buckets=[("arn:aws:s3:::m", "read-write"), ("arn:aws:s3:::r", "read")],
        secret_arns=[SECRET + "s"],
        keys=[(DATA_KEY, ("sqs",), ("kms:Decrypt",)), (DATA_KEY, ("sqs",), ("kms:Decrypt",))],
        database_users=[("db-A", "fee")],
        email_identity_arns=[SES_IDENTITY],
        sms=True,
    )
    assert [s["Sid"] for s in statements] == [
        "PublishEvents",
        "ConsumeEvents",
        "ListBuckets",
        "ReadObjects",
        "WriteObjects",
        "ReadSecrets",
        "UseKey0",
        "ConnectDatabase",
        "SendEmail",
        "SendSms",
    ]
    assert statements[0]["Resource"] == [SNS + "a", SNS + "b"]
    assert statements[4]["Resource"] == ["arn:aws:s3:::m/*"]
    assert permission_statements(partition="aws", region=REGION, account=ACCOUNT) == []
