"""A queue's subscription filter policy: exactly what SNS receives, and every refusal."""

from __future__ import annotations

import json
import re

import pytest

from osp.components.messaging import Queue, QueueArgs, queue_problems
from osp.platform.filter_policy import FilterPolicyScope
from osp.platform.validation import InvalidArguments
from tests.support import plan_component, plan_of, statements

KEY = "arn:aws:kms:us-east-1:123456789012:key/data"
TOPIC = "arn:aws:sns:us-east-1:123456789012:osp-t-payment-completed"
OVER_100 = {"amount": [{"numeric": [">", 100]}]}
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


def args(**overrides) -> QueueArgs:
    return QueueArgs(
        **{"name": "osp-t-sms", "kms_key_arn": KEY, "subscribe_to": (TOPIC,), **overrides}
    )


def test_the_subscription_carries_the_policy_and_its_scope():
    plan = plan_component(Queue, args(filter_policy=OVER_100), name="osp-t-sms")
    (sub,) = plan.of_type(SUBSCRIPTION)
    assert sub.inputs == {
        "topic": TOPIC,
        "protocol": "sqs",
        "endpoint": "arn:aws:sqs:us-east-1:123456789012:osp-t-sms",
        "rawMessageDelivery": True,
        "filterPolicy": '{"amount":[{"numeric":[">",100]}]}',
        "filterPolicyScope": "MessageAttributes",
    }


def test_the_body_scope():
    plan = plan_component(
        Queue,
        args(filter_policy=OVER_100, filter_policy_scope=FilterPolicyScope.MESSAGE_BODY),
        name="osp-t-sms",
    )
    (sub,) = plan.of_type(SUBSCRIPTION)
    assert sub.inputs["filterPolicyScope"] == "MessageBody"


def test_no_policy_no_filter_inputs():
    plan = plan_component(Queue, args(), name="osp-t-sms")
    (sub,) = plan.of_type(SUBSCRIPTION)
    assert "filterPolicy" not in sub.inputs and "filterPolicyScope" not in sub.inputs


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"filter_policy": {"amount": [{"numeric": [">", "100"]}]}},
            "Queue q: filter_policy.amount[0]: got {'numeric': ['>', '100']}; expected a string "
            "or number to match exactly",
        ),
        (
            {"filter_policy": {k: ["x"] for k in "abcdef"}},
            "Queue q: filter_policy: got {'a': ['x'], 'b': ['x'], 'c': ['x'], 'd': ['x'], "
            "'e': ['x'], 'f': ['x']}; expected a mapping of 1 to 5 attribute names",
        ),
        (
            {"filter_policy": OVER_100, "subscribe_to": ()},
            "Queue q: filter_policy: got {'amount': [{'numeric': ['>', 100]}]}; expected None "
            "for a queue that subscribes to no topic",
        ),
        (
            {"filter_policy_scope": "Body"},
            "Queue q: filter_policy_scope: got 'Body'; expected one of MessageAttributes, "
            "MessageBody",
        ),
    ],
)
def test_refusals(overrides, expected):
    (found,) = queue_problems("q", args(**overrides))
    assert found.startswith(expected)
    with pytest.raises(InvalidArguments, match=re.escape(expected)):
        plan_component(Queue, args(**overrides), name="q")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_osp_estate_texts_only_payments_over_100(env):
    plan = plan_of(env)
    prefix = f"osp-{env}"
    sms = plan.named(f"{prefix}-events-notification-payment-completed-sms-subscription-0")
    assert sms.inputs["topic"].endswith(f":{prefix}-payment-completed")
    assert sms.inputs["endpoint"].endswith(f":{prefix}-notification-payment-completed-sms")
    assert json.loads(sms.inputs["filterPolicy"]) == OVER_100
    assert sms.inputs["filterPolicyScope"] == "MessageAttributes"
    # The email path still receives every payment; no other subscription is filtered.
    plain = plan.named(f"{prefix}-events-notification-payment-completed-subscription-0")
    assert "filterPolicy" not in plain.inputs
    filtered = [r.name for r in plan.of_type(SUBSCRIPTION) if "filterPolicy" in r.inputs]
    assert filtered == [sms.name]
    # The notification service consumes exactly its queues, the SMS one among them.
    policy = statements(plan.named(f"{prefix}-notification-identity-policy").inputs["policy"])
    consumed = {arn.rsplit(":", 1)[1] for s in policy.values() for arn in _resources(s)}
    assert f"{prefix}-notification-payment-completed-sms" in consumed
    env_vars = {
        e["name"]
        for c in plan.named(f"{prefix}-notification-workload-deployment").inputs["spec"][
            "template"
        ]["spec"]["containers"]
        for e in c.get("env", [])
    }
    assert {"QUEUE_PAYMENT_COMPLETED_URL", "QUEUE_PAYMENT_COMPLETED_SMS_URL"} <= env_vars


def _resources(statement: dict) -> list[str]:
    found = statement.get("Resource", [])
    return [found] if isinstance(found, str) else found
