"""`Topic` and `Queue` through the offline engine: encryption, TLS-only and account-only
policies, dead-letter queues and their redrive rules, SNS→SQS subscriptions."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from osp.components.messaging import (
    TOPIC_ACTIONS,
    Queue,
    QueueArgs,
    Topic,
    TopicArgs,
    queue_policy,
    queue_problems,
    redrive_allow_policy,
    redrive_policy,
    topic_policy,
    topic_problems,
)
from osp.platform.engine import offline
from osp.platform.validation import InvalidArguments
from tests.support import plan_component, spec_of, statements

TAGS = {"osp:environment": "t", "osp:component": "messaging", "osp:blueprint": "osp",
        "osp:managed-by": "osp"}  # fmt: skip
ACCOUNT = "123456789012"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/data"
SNS = f"arn:aws:sns:us-east-1:{ACCOUNT}:"
SQS = f"arn:aws:sqs:us-east-1:{ACCOUNT}:"
QUEUE_URL = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/"
EXTERNAL_TOPIC = SNS + "osp-t-payment-completed"

TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
SQS_QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
REDRIVE_ALLOW = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy"
DAY = 86400


def topic_args(**overrides) -> TopicArgs:
    return TopicArgs(
        **{"name": "osp-t-enrollment-created", "kms_key_arn": KEY, "tags": TAGS, **overrides}
    )


def queue_args(**overrides) -> QueueArgs:
    return QueueArgs(**{"name": "osp-t-fee", "kms_key_arn": KEY, "tags": TAGS, **overrides})


def plan_topic(resource_name: str = "osp-t-events", **overrides):
    return plan_component(
        Topic, topic_args(**overrides), name=resource_name, exports=("arn", "name")
    )


def plan_queue(resource_name: str = "osp-t-fee", **overrides):
    return plan_component(
        Queue,
        queue_args(**overrides),
        name=resource_name,
        exports=("url", "arn", "name", "dlq_url", "dlq_arn", "dlq_name"),
    )


@pytest.fixture(scope="module")
def topic():
    return plan_topic()


@pytest.fixture(scope="module")
def alarm_topic():
    return plan_topic(
        "osp-t-alarms", name="osp-t-alarms", publisher_services=("cloudwatch.amazonaws.com",)
    )


@pytest.fixture(scope="module")
def queue():
    return plan_queue()


@pytest.fixture(scope="module")
def subscribed():
    """A queue subscribed to a topic of the same program and to one given by ARN."""

    def program(spec):
        events = Topic("osp-t-events", topic_args())
        Queue("osp-t-fee", queue_args(subscribe_to=(events.arn, EXTERNAL_TOPIC)))

    return offline.run(spec_of("prod"), program)


# == Topic ===============================================================================


def test_topic_children(topic):
    assert Counter(r.type for r in topic.resources if r.custom) == {TOPIC: 1, TOPIC_POLICY: 1}
    component = topic.named("osp-t-events")
    assert component.type == "osp:messaging:Topic"
    assert {r.name for r in topic.resources if r.parent == component.urn} == {
        "osp-t-events-topic",
        "osp-t-events-policy",
    }


def test_topic_is_standard_encrypted_and_signs_with_sha256(topic):
    inputs = topic.named("osp-t-events-topic").inputs
    assert inputs["name"] == "osp-t-enrollment-created"
    assert inputs["kmsMasterKeyId"] == KEY
    assert inputs["signatureVersion"] == 2
    assert "fifoTopic" not in inputs
    assert inputs["tags"] == {"Name": "osp-t-events-topic", **TAGS}


def test_topic_policy_is_attached_to_the_topic(topic):
    policy = topic.named("osp-t-events-policy")
    assert policy.inputs["arn"] == SNS + "osp-t-enrollment-created"
    assert policy.property_dependencies["arn"] == (topic.named("osp-t-events-topic").urn,)


def test_only_the_account_publishes_and_subscribes(topic):
    found = statements(topic.named("osp-t-events-policy").inputs["policy"])
    assert set(found) == {"AccountPublishesAndSubscribes", "DenyInsecureTransport"}
    allow = found["AccountPublishesAndSubscribes"]
    assert allow == {
        "Sid": "AccountPublishesAndSubscribes",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": ["sns:Publish", "sns:Subscribe"],
        "Resource": SNS + "osp-t-enrollment-created",
    }
    for statement in found.values():
        if statement["Effect"] == "Allow":
            assert statement["Principal"] != "*" and statement["Principal"] != {"AWS": "*"}


def test_topic_denies_everything_without_tls(topic):
    deny = statements(topic.named("osp-t-events-policy").inputs["policy"])["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == SNS + "osp-t-enrollment-created"
    # SNS refuses "sns:*" in a topic policy: every topic action is named instead.
    assert set(deny["Action"]) == set(TOPIC_ACTIONS)
    assert {"sns:Publish", "sns:Subscribe", "sns:Receive", "sns:SetTopicAttributes"} <= set(
        deny["Action"]
    )


def test_services_publish_only_for_this_account(alarm_topic):
    found = statements(alarm_topic.named("osp-t-alarms-policy").inputs["policy"])
    assert found["ServicesPublishForThisAccount"] == {
        "Sid": "ServicesPublishForThisAccount",
        "Effect": "Allow",
        "Principal": {"Service": ["cloudwatch.amazonaws.com"]},
        "Action": "sns:Publish",
        "Resource": SNS + "osp-t-alarms",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    }
    assert "DenyInsecureTransport" in found


def test_topic_outputs(topic):
    assert topic.outputs == {
        "arn": SNS + "osp-t-enrollment-created",
        "name": "osp-t-enrollment-created",
    }


def test_topic_policy_function_other_partition():
    found = statements(
        topic_policy(topic_arn="arn:aws-cn:sns:cn-north-1:1:t", account="1", partition="aws-cn")
    )
    assert found["AccountPublishesAndSubscribes"]["Principal"] == {"AWS": "arn:aws-cn:iam::1:root"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, "name: got ''; expected 1-256 letters, digits, '-' or '_'"),
        ({"name": "events.fifo"}, "name: got 'events.fifo'"),
        ({"name": "x" * 257}, "name: got 'xxx"),
        (
            {"publisher_services": ("cloudwatch",)},
            "publisher_services: got 'cloudwatch'; expected AWS service principals",
        ),
        (
            {"publisher_services": "cloudwatch.amazonaws.com"},
            "publisher_services: got 'cloudwatch.amazonaws.com'; expected a list",
        ),
        (
            {"publisher_services": ("events.amazonaws.com", "events.amazonaws.com")},
            "publisher_services: got ['events.amazonaws.com', 'events.amazonaws.com']; "
            "expected each service at most once",
        ),
    ],
)
def test_topic_refuses_bad_args(overrides, message):
    with pytest.raises(InvalidArguments, match=f"Topic osp-t-events: {re.escape(message)}"):
        plan_topic(**overrides)


def test_topic_valid_args():
    assert topic_problems("t", topic_args()) == []
    assert topic_problems("t", topic_args(name="A_b-1" * 10)) == []


# == Queue ===============================================================================


def test_queue_children(queue):
    assert Counter(r.type for r in queue.resources if r.custom) == {
        SQS_QUEUE: 2,
        QUEUE_POLICY: 2,
        REDRIVE_ALLOW: 1,
    }
    component = queue.named("osp-t-fee")
    assert component.type == "osp:messaging:Queue"
    assert all(r.parent == component.urn for r in queue.resources if r.custom)
    assert {r.name for r in queue.resources if r.custom} == {
        "osp-t-fee-queue",
        "osp-t-fee-dlq",
        "osp-t-fee-policy",
        "osp-t-fee-dlq-policy",
        "osp-t-fee-dlq-redrive-allow",
    }


def test_subscribed_children(subscribed):
    counts = Counter(r.type for r in subscribed.resources if r.custom)
    assert counts[SUBSCRIPTION] == 2
    queue = subscribed.named("osp-t-fee")
    assert {r.name for r in subscribed.of_type(SUBSCRIPTION)} == {
        "osp-t-fee-subscription-0",
        "osp-t-fee-subscription-1",
    }
    assert all(r.parent == queue.urn for r in subscribed.of_type(SUBSCRIPTION))


@pytest.mark.parametrize("child", ["osp-t-fee-queue", "osp-t-fee-dlq"])
def test_both_queues_are_encrypted_with_the_customer_key(child, queue):
    inputs = queue.named(child).inputs
    assert inputs["kmsMasterKeyId"] == KEY
    assert inputs["kmsDataKeyReusePeriodSeconds"] == 300
    assert "sqsManagedSseEnabled" not in inputs
    assert "fifoQueue" not in inputs


def test_queue_settings(queue):
    main = queue.named("osp-t-fee-queue").inputs
    assert main["name"] == "osp-t-fee"
    assert main["receiveWaitTimeSeconds"] == 20
    assert main["visibilityTimeoutSeconds"] == 60
    assert main["messageRetentionSeconds"] == 4 * DAY
    dlq = queue.named("osp-t-fee-dlq").inputs
    assert dlq["name"] == "osp-t-fee-dlq"
    assert dlq["messageRetentionSeconds"] == 14 * DAY
    assert dlq["receiveWaitTimeSeconds"] == 20
    assert dlq["visibilityTimeoutSeconds"] == 60


def test_settings_come_from_args():
    plan = plan_queue(
        max_receive_count=5,
        visibility_timeout_seconds=300,
        message_retention_seconds=DAY,
        dlq_message_retention_seconds=7 * DAY,
        receive_wait_time_seconds=10,
        kms_data_key_reuse_period_seconds=3600,
    )
    main = plan.named("osp-t-fee-queue").inputs
    assert json.loads(main["redrivePolicy"])["maxReceiveCount"] == 5
    assert (main["visibilityTimeoutSeconds"], main["messageRetentionSeconds"]) == (300, DAY)
    assert main["receiveWaitTimeSeconds"] == 10
    assert main["kmsDataKeyReusePeriodSeconds"] == 3600
    assert plan.named("osp-t-fee-dlq").inputs["messageRetentionSeconds"] == 7 * DAY


def test_failed_messages_move_to_the_dlq_after_three_receives(queue):
    main = queue.named("osp-t-fee-queue")
    assert json.loads(main.inputs["redrivePolicy"]) == {
        "deadLetterTargetArn": SQS + "osp-t-fee-dlq",
        "maxReceiveCount": 3,
    }
    assert main.property_dependencies["redrivePolicy"] == (queue.named("osp-t-fee-dlq").urn,)
    assert "redrivePolicy" not in queue.named("osp-t-fee-dlq").inputs


def test_only_the_queue_may_use_its_dlq(queue):
    allow = queue.named("osp-t-fee-dlq-redrive-allow")
    assert allow.inputs["queueUrl"] == QUEUE_URL + "osp-t-fee-dlq"
    assert json.loads(allow.inputs["redriveAllowPolicy"]) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [SQS + "osp-t-fee"],
    }
    assert set(allow.property_dependencies["redriveAllowPolicy"]) == {
        queue.named("osp-t-fee-queue").urn
    }
    assert "redriveAllowPolicy" not in queue.named("osp-t-fee-dlq").inputs


@pytest.mark.parametrize(
    ("policy_name", "queue_name"),
    [("osp-t-fee-policy", "osp-t-fee"), ("osp-t-fee-dlq-policy", "osp-t-fee-dlq")],
)
def test_both_queues_deny_everything_without_tls(policy_name, queue_name, queue):
    policy = queue.named(policy_name)
    assert policy.inputs["queueUrl"] == QUEUE_URL + queue_name
    deny = statements(policy.inputs["policy"])["DenyInsecureTransport"]
    assert deny == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": SQS + queue_name,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def test_policies_use_the_queue_url(queue):
    for policy, child in (
        ("osp-t-fee-policy", "osp-t-fee-queue"),
        ("osp-t-fee-dlq-policy", "osp-t-fee-dlq"),
    ):
        deps = queue.named(policy).property_dependencies["queueUrl"]
        assert deps == (queue.named(child).urn,)


def test_unsubscribed_queue_admits_no_sns(queue):
    for policy in ("osp-t-fee-policy", "osp-t-fee-dlq-policy"):
        assert set(statements(queue.named(policy).inputs["policy"])) == {"DenyInsecureTransport"}


def test_sns_may_send_only_from_the_subscribed_topics(subscribed):
    found = statements(subscribed.named("osp-t-fee-policy").inputs["policy"])
    assert set(found) == {"DenyInsecureTransport", "SubscribedTopicsSend"}
    assert found["SubscribedTopicsSend"] == {
        "Sid": "SubscribedTopicsSend",
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": SQS + "osp-t-fee",
        "Condition": {
            "ArnEquals": {"aws:SourceArn": [SNS + "osp-t-enrollment-created", EXTERNAL_TOPIC]}
        },
    }
    # The DLQ receives from the queue only, never from SNS.
    dlq = statements(subscribed.named("osp-t-fee-dlq-policy").inputs["policy"])
    assert set(dlq) == {"DenyInsecureTransport"}


def test_subscriptions_deliver_raw_messages_after_the_policy(subscribed):
    policy = subscribed.named("osp-t-fee-policy")
    queue = subscribed.named("osp-t-fee-queue")
    topics = {
        "osp-t-fee-subscription-0": SNS + "osp-t-enrollment-created",
        "osp-t-fee-subscription-1": EXTERNAL_TOPIC,
    }
    for name, topic_arn in topics.items():
        sub = subscribed.named(name)
        assert sub.inputs == {
            "topic": topic_arn,
            "protocol": "sqs",
            "endpoint": SQS + "osp-t-fee",
            "rawMessageDelivery": True,
        }
        assert sub.property_dependencies["endpoint"] == (queue.urn,)
        assert policy.urn in sub.dependencies
    first = subscribed.named("osp-t-fee-subscription-0")
    assert first.property_dependencies["topic"] == (subscribed.named("osp-t-events-topic").urn,)


def test_queue_outputs(queue):
    assert queue.outputs == {
        "url": QUEUE_URL + "osp-t-fee",
        "arn": SQS + "osp-t-fee",
        "name": "osp-t-fee",
        "dlq_url": QUEUE_URL + "osp-t-fee-dlq",
        "dlq_arn": SQS + "osp-t-fee-dlq",
        "dlq_name": "osp-t-fee-dlq",
    }


def test_queues_are_tagged(queue):
    for child in ("osp-t-fee-queue", "osp-t-fee-dlq"):
        assert queue.named(child).inputs["tags"] == {"Name": child, **TAGS}


def test_nothing_is_protected(queue, subscribed, topic):
    for plan in (queue, subscribed, topic):
        assert any(r.custom for r in plan.resources)
        assert not any(r.options.protect for r in plan.resources)


def test_nothing_is_open_to_other_accounts(subscribed):
    allows = [
        statement
        for resource in subscribed.resources
        if "policy" in resource.inputs
        for statement in json.loads(resource.inputs["policy"])["Statement"]
        if statement["Effect"] == "Allow"
    ]
    # The topic's account statement and the queue's statement for SNS.
    assert len(allows) == 2
    for statement in allows:
        assert statement["Principal"] not in ("*", {"AWS": "*"})
        assert statement.get("Condition") or "root" in str(statement["Principal"])


def test_policy_functions():
    assert json.loads(redrive_policy(dlq_arn="d", max_receive_count=3)) == {
        "deadLetterTargetArn": "d",
        "maxReceiveCount": 3,
    }
    assert json.loads(redrive_allow_policy(source_queue_arn="q")) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": ["q"],
    }
    assert set(statements(queue_policy(queue_arn="q"))) == {"DenyInsecureTransport"}


# -- bad queue args --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, "name: got ''; expected 1-76 letters, digits, '-' or '_'"),
        ({"name": "x" * 77}, "name: got 'xxx"),
        ({"name": "fee.fifo"}, "name: got 'fee.fifo'"),
        ({"name": "fee events"}, "name: got 'fee events'"),
        ({"max_receive_count": 0}, "max_receive_count: got 0; expected an integer from 1 to 1000"),
        ({"max_receive_count": 1001}, "max_receive_count: got 1001"),
        (
            {"visibility_timeout_seconds": 43201},
            "visibility_timeout_seconds: got 43201; expected an integer from 0 to 43200",
        ),
        ({"visibility_timeout_seconds": -1}, "visibility_timeout_seconds: got -1"),
        (
            {"message_retention_seconds": 59},
            "message_retention_seconds: got 59; expected an integer from 60 to 1209600",
        ),
        ({"message_retention_seconds": 1209601}, "message_retention_seconds: got 1209601"),
        ({"dlq_message_retention_seconds": 30}, "dlq_message_retention_seconds: got 30"),
        (
            {"message_retention_seconds": 7 * DAY, "dlq_message_retention_seconds": 6 * DAY},
            "dlq_message_retention_seconds: got 518400; expected at least "
            "message_retention_seconds (604800)",
        ),
        (
            {"receive_wait_time_seconds": 21},
            "receive_wait_time_seconds: got 21; expected an integer from 0 to 20",
        ),
        (
            {"kms_data_key_reuse_period_seconds": 59},
            "kms_data_key_reuse_period_seconds: got 59; expected an integer from 60 to 86400",
        ),
        ({"kms_data_key_reuse_period_seconds": 86401}, "kms_data_key_reuse_period_seconds: got"),
        ({"max_receive_count": 2.0}, "max_receive_count: got 2.0"),
        (
            {"subscribe_to": EXTERNAL_TOPIC},
            f"subscribe_to: got '{EXTERNAL_TOPIC}'; expected a list of topic ARNs",
        ),
        (
            {"subscribe_to": (EXTERNAL_TOPIC, EXTERNAL_TOPIC)},
            f"subscribe_to: got ['{EXTERNAL_TOPIC}', '{EXTERNAL_TOPIC}']; expected each topic "
            "at most once",
        ),
        (
            {"subscribe_to": (SQS + "osp-t-fee",)},
            f"subscribe_to: got '{SQS}osp-t-fee'; expected an SNS topic ARN such as "
            "arn:aws:sns:us-east-1:123456789012:osp-prod-order-placed",
        ),
    ],
)
def test_queue_refuses_bad_args(overrides, message):
    with pytest.raises(InvalidArguments, match=f"Queue osp-t-fee: {re.escape(message)}"):
        plan_queue(**overrides)


def test_queue_reports_every_problem_at_once():
    found = queue_problems(
        "q", queue_args(name="", max_receive_count=0, receive_wait_time_seconds=99)
    )
    assert [p.split(": ")[1] for p in found] == [
        "name",
        "max_receive_count",
        "receive_wait_time_seconds",
    ]


def test_queue_valid_args():
    assert queue_problems("q", queue_args()) == []
    assert queue_problems("q", queue_args(name="x" * 76)) == []
    equal = queue_args(message_retention_seconds=14 * DAY, dlq_message_retention_seconds=14 * DAY)
    assert queue_problems("q", equal) == []
    assert queue_problems("q", queue_args(receive_wait_time_seconds=0)) == []


def test_nothing_is_created_for_bad_args():
    refused = []

    def program(spec):
        for build in (
            lambda: Queue("q", queue_args(max_receive_count=0)),
            lambda: Topic("t", topic_args(name="")),
        ):
            try:
                build()
            except InvalidArguments as exc:
                refused.append(str(exc))

    plan = offline.run(spec_of("prod"), program)
    assert len(refused) == 2
    assert [r for r in plan.resources if r.custom] == []
