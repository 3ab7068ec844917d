"""`Topic` and `Queue`: the SNS and SQS building blocks of the services' events."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from osp.platform import filter_policy, limits
from osp.platform.filter_policy import FilterPolicyScope
from osp.platform.iam import deny_insecure_transport, policy
from osp.platform.limits import pattern, whole_range
from osp.platform.validation import InvalidArguments, Problems

TOPIC_TOKEN = "osp:messaging:Topic"
QUEUE_TOKEN = "osp:messaging:Queue"

_DAY = 24 * 60 * 60

#: Suffix of every dead-letter queue's name.
DLQ_SUFFIX = "-dlq"

_TOPIC_NAME = pattern(
    r"[A-Za-z0-9_-]{1,256}", "1-256 letters, digits, '-' or '_' (a standard topic)"
)
# SQS allows 80 characters; the dead-letter queue's name adds DLQ_SUFFIX within them.
_QUEUE_NAME = pattern(
    rf"[A-Za-z0-9_-]{{1,{80 - len(DLQ_SUFFIX)}}}",
    f"1-{80 - len(DLQ_SUFFIX)} letters, digits, '-' or '_' (the dead-letter queue adds "
    f"{DLQ_SUFFIX!r} within SQS's 80)",
)
_SERVICE_PRINCIPAL = pattern(
    r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.amazonaws\.com",
    "AWS service principals such as cloudwatch.amazonaws.com",
)

# Every action a topic policy accepts: SNS refuses "sns:*" in a topic policy, so the
# TLS-only deny names them all (the list of SNS's own default topic policy).
TOPIC_ACTIONS = (
    "sns:AddPermission",
    "sns:DeleteTopic",
    "sns:GetTopicAttributes",
    "sns:ListSubscriptionsByTopic",
    "sns:Publish",
    "sns:Receive",
    "sns:RemovePermission",
    "sns:SetTopicAttributes",
    "sns:Subscribe",
)

# SQS's limits (seconds or counts), inclusive.
VISIBILITY_TIMEOUT_RANGE = (0, 12 * 60 * 60)
RETENTION_RANGE = (60, 14 * _DAY)
RECEIVE_WAIT_RANGE = (0, 20)
DATA_KEY_REUSE_RANGE = (60, _DAY)
MAX_RECEIVE_RANGE = (1, 1000)


# -- topics ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TopicArgs:
    """Arguments of `Topic`."""

    name: str
    """The topic's name in SNS (1-256 letters, digits, `-` and `_`), such as
    `osp-prod-enrollment-created`."""

    kms_key_arn: pulumi.Input[str]
    """Customer KMS key the messages are encrypted with at rest. Publishers need
    `kms:GenerateDataKey*` and `kms:Decrypt` on it, and so does SNS itself (through the key
    policy) to deliver into encrypted queues."""

    publisher_services: Sequence[str] = ()
    """AWS service principals that may publish, only on behalf of this account
    (`aws:SourceAccount`), such as `cloudwatch.amazonaws.com` for alarms. Default: none."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the topic (osp's tag set, from osp.platform.naming.standard_tags)."""


def topic_policy(
    *, topic_arn: str, account: str, partition: str, publisher_services: Sequence[str] = ()
) -> str:
    """The topic's access policy: the account's principals (as their IAM policies allow) may
    publish and subscribe, the named services may publish for this account, and nothing at
    all happens without TLS."""
    statements: list[dict] = [
        {
            "Sid": "AccountPublishesAndSubscribes",
            "Effect": "Allow",
            # The account, not "*": each principal still needs its own IAM permission.
            "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
            "Action": ["sns:Publish", "sns:Subscribe"],
            "Resource": topic_arn,
        }
    ]
    if publisher_services:
        statements.append(
            {
                "Sid": "ServicesPublishForThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": sorted(publisher_services)},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            }
        )
    statements.append(deny_insecure_transport(TOPIC_ACTIONS, topic_arn))
    return policy(*statements)


def topic_problems(name: str, args: TopicArgs) -> list[str]:
    """Everything wrong with the `Topic` args, one message per problem."""
    check = Problems("Topic", name)
    check.against(_TOPIC_NAME, "name", args.name)
    services = args.publisher_services
    if check.check(
        not isinstance(services, str),
        "publisher_services",
        services,
        "a list of service principals, not one string",
    ):
        for service in services:
            check.against(_SERVICE_PRINCIPAL, "publisher_services", service)
        check.check(
            len(set(services)) == len(services),
            "publisher_services",
            list(services),
            "each service at most once",
        )
    return check.found


class Topic(pulumi.ComponentResource):
    """A standard SNS topic encrypted at rest with the customer key, signing its deliveries
    with SHA256 (signature version 2).

    Its access policy lets only principals of this account publish and subscribe (each still
    needing its own IAM permission) plus, when named, AWS services publishing for this
    account; every request without TLS is denied.
    """

    arn: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(
        self, name: str, args: TopicArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOPIC_TOKEN, name, None, opts)
        found = topic_problems(name, args)
        if found:
            raise InvalidArguments(found)
        child = pulumi.ResourceOptions(parent=self)
        topic = aws.sns.Topic(
            f"{name}-topic",
            name=args.name,
            kms_master_key_id=args.kms_key_arn,
            signature_version=2,
            tags={"Name": f"{name}-topic", **args.tags},
            opts=child,
        )
        account = aws.get_caller_identity_output().account_id
        partition = aws.get_partition_output().partition
        services = tuple(args.publisher_services)
        aws.sns.TopicPolicy(
            f"{name}-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, account, partition).apply(
                lambda v: topic_policy(
                    topic_arn=v[0], account=v[1], partition=v[2], publisher_services=services
                )
            ),
            opts=child,
        )
        self.arn = topic.arn
        self.name = topic.name
        self.register_outputs({"arn": self.arn, "name": self.name})


# -- queues ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class QueueArgs:
    """Arguments of `Queue`."""

    name: str
    """The queue's name in SQS (1-76 letters, digits, `-` and `_`; the dead-letter queue is
    `<name>-dlq`), such as `osp-prod-fee-enrollment-created`."""

    kms_key_arn: pulumi.Input[str]
    """Customer KMS key the queue and its dead-letter queue are encrypted with. Producers
    and consumers need it, and SNS too (through the key policy) when the queue subscribes."""

    subscribe_to: Sequence[pulumi.Input[str]] = ()
    """ARNs of the SNS topics the queue receives from: one subscription each, raw message
    delivery (the body is the message as published). The position is the subscription's
    identity: add topics at the end. Default: none."""

    filter_policy: Mapping[str, Any] | None = None
    """An SNS filter policy on every subscription of the queue (osp.platform.filter_policy
    lists the grammar accepted): SNS delivers only the messages it matches, such as
    `{"amount": [{"numeric": [">", 100]}]}`. Default: None, every message."""

    filter_policy_scope: FilterPolicyScope = FilterPolicyScope.MESSAGE_ATTRIBUTES
    """What `filter_policy` looks at: the message attributes (SNS's default) or the top-level
    keys of a JSON body. Ignored without a filter policy."""

    max_receive_count: int = 3
    """Receives before a message moves to the dead-letter queue (1-1000). Default: 3, the
    seed's retry budget."""

    visibility_timeout_seconds: int = 60
    """Seconds a received message stays hidden from other consumers (0-43200): longer than
    a consumer takes to process one, or it is processed twice."""

    message_retention_seconds: int = 4 * _DAY
    """Seconds an unconsumed message is kept (60-1209600). Default: 4 days."""

    dlq_message_retention_seconds: int = 14 * _DAY
    """Seconds the dead-letter queue keeps a message (60-1209600, at least the queue's: a
    message's age counts from its first enqueue). Default: 14 days, the most SQS allows."""

    receive_wait_time_seconds: int = 20
    """Long-polling wait of a receive (0-20). Default: 20, fewest empty receives."""

    kms_data_key_reuse_period_seconds: int = 300
    """Seconds SQS reuses a data key before calling KMS again (60-86400). Default: 300."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on both queues (osp's tag set, from osp.platform.naming.standard_tags)."""


def queue_policy(*, queue_arn: str, topic_arns: Sequence[str] = ()) -> str:
    """The access policy of a queue: nothing without TLS; SNS may send only from `topic_arns`."""
    statements: list[dict] = [deny_insecure_transport("sqs:*", queue_arn)]
    if topic_arns:
        statements.append(
            {
                "Sid": "SubscribedTopicsSend",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": list(topic_arns)}},
            }
        )
    return policy(*statements)


def redrive_policy(*, dlq_arn: str, max_receive_count: int) -> str:
    """The queue's redrive policy: after `max_receive_count` receives, into `dlq_arn`."""
    return json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}, sort_keys=True
    )


def redrive_allow_policy(*, source_queue_arn: str) -> str:
    """The dead-letter queue's redrive allow policy: only `source_queue_arn` may use it."""
    return json.dumps(
        {"redrivePermission": "byQueue", "sourceQueueArns": [source_queue_arn]}, sort_keys=True
    )


#: The rule of each numeric `QueueArgs` field.
_QUEUE_RANGES = {
    arg: whole_range(low, high)
    for arg, (low, high) in {
        "max_receive_count": MAX_RECEIVE_RANGE,
        "visibility_timeout_seconds": VISIBILITY_TIMEOUT_RANGE,
        "message_retention_seconds": RETENTION_RANGE,
        "dlq_message_retention_seconds": RETENTION_RANGE,
        "receive_wait_time_seconds": RECEIVE_WAIT_RANGE,
        "kms_data_key_reuse_period_seconds": DATA_KEY_REUSE_RANGE,
    }.items()
}


def queue_problems(name: str, args: QueueArgs) -> list[str]:
    """Everything wrong with the `Queue` args, one message per problem."""
    check = Problems("Queue", name)
    check.against(_QUEUE_NAME, "name", args.name)
    valid = {
        arg for arg, rule in _QUEUE_RANGES.items() if check.against(rule, arg, getattr(args, arg))
    }
    if {"message_retention_seconds", "dlq_message_retention_seconds"} <= valid:
        check.check(
            args.dlq_message_retention_seconds >= args.message_retention_seconds,
            "dlq_message_retention_seconds",
            args.dlq_message_retention_seconds,
            f"at least message_retention_seconds ({args.message_retention_seconds}): a "
            "message's age counts from its first enqueue, so a shorter dead-letter retention "
            "loses failed messages on arrival",
        )
    topics = args.subscribe_to
    if check.check(
        not isinstance(topics, str), "subscribe_to", topics, "a list of topic ARNs, not one string"
    ):
        # Topics of the same program are Outputs; only literal ARNs can be checked.
        literal = [t for t in topics if isinstance(t, str)]
        for topic in literal:
            check.against(limits.SNS_TOPIC_ARN, "subscribe_to", topic)
        check.check(
            len(set(literal)) == len(literal), "subscribe_to", literal, "each topic at most once"
        )
    if args.filter_policy is not None:
        check.extend(
            (f"filter_policy{where}", value, expected)
            for where, value, expected in filter_policy.problems(args.filter_policy)
        )
        check.check(
            bool(args.subscribe_to),
            "filter_policy",
            args.filter_policy,
            "None for a queue that subscribes to no topic (a filter policy acts on a subscription)",
        )
    check.against(
        limits.one_of(tuple(FilterPolicyScope)), "filter_policy_scope", args.filter_policy_scope
    )
    return check.found


class Queue(pulumi.ComponentResource):
    """A standard SQS queue with its dead-letter queue `<name>-dlq`, both encrypted with the
    customer key.

    A message received `max_receive_count` times moves to the dead-letter queue, which only
    this queue may use (redrive allow policy `byQueue`) and which keeps messages longer.
    Receives long-poll; visibility timeout and retention are explicit. Both queue policies
    deny every request without TLS. For each subscribed SNS topic there is a subscription
    with raw message delivery (and the filter policy, when given: SNS then delivers only the
    messages it matches), and the queue policy lets SNS send only from those topics.
    """

    url: pulumi.Output[str]
    arn: pulumi.Output[str]
    name: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    dlq_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: QueueArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(QUEUE_TOKEN, name, None, opts)
        found = queue_problems(name, args)
        if found:
            raise InvalidArguments(found)
        dlq = self._sqs_queue(
            f"{name}-dlq", args, f"{args.name}{DLQ_SUFFIX}", args.dlq_message_retention_seconds
        )
        max_receive_count = args.max_receive_count
        queue = self._sqs_queue(
            f"{name}-queue",
            args,
            args.name,
            args.message_retention_seconds,
            redrive_policy=dlq.arn.apply(
                lambda arn: redrive_policy(dlq_arn=arn, max_receive_count=max_receive_count)
            ),
        )
        # A separate resource, after the queue: the queue's redrive policy needs the DLQ's
        # ARN, and this needs the queue's. Until it exists the DLQ allows any source.
        aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq-redrive-allow",
            queue_url=dlq.url,
            redrive_allow_policy=queue.arn.apply(
                lambda arn: redrive_allow_policy(source_queue_arn=arn)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._access(name, args, queue, dlq)

        self.url = queue.url
        self.arn = queue.arn
        self.name = queue.name
        self.dlq_url = dlq.url
        self.dlq_arn = dlq.arn
        self.dlq_name = dlq.name
        self.register_outputs(
            {
                "url": self.url,
                "arn": self.arn,
                "name": self.name,
                "dlqUrl": self.dlq_url,
                "dlqArn": self.dlq_arn,
                "dlqName": self.dlq_name,
            }
        )

    def _sqs_queue(
        self,
        resource_name: str,
        args: QueueArgs,
        queue_name: str,
        retention_seconds: int,
        redrive_policy: pulumi.Input[str] | None = None,
    ) -> aws.sqs.Queue:
        """The queue or its dead-letter queue: both share the key, timings and tags."""
        return aws.sqs.Queue(
            resource_name,
            name=queue_name,
            kms_master_key_id=args.kms_key_arn,
            kms_data_key_reuse_period_seconds=args.kms_data_key_reuse_period_seconds,
            message_retention_seconds=retention_seconds,
            visibility_timeout_seconds=args.visibility_timeout_seconds,
            receive_wait_time_seconds=args.receive_wait_time_seconds,
            redrive_policy=redrive_policy,
            tags={"Name": resource_name, **args.tags},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _access(self, name: str, args: QueueArgs, queue: aws.sqs.Queue, dlq: aws.sqs.Queue) -> None:
        """Both queue policies, then a subscription to each topic once SNS may send."""
        topics = list(args.subscribe_to)
        filtered: dict[str, Any] = {}
        if args.filter_policy is not None:
            filtered = {
                "filter_policy": filter_policy.document(args.filter_policy),
                "filter_policy_scope": FilterPolicyScope(args.filter_policy_scope).value,
            }
        child = pulumi.ResourceOptions(parent=self)
        queue_access = aws.sqs.QueuePolicy(
            f"{name}-policy",
            queue_url=queue.url,
            policy=pulumi.Output.all(queue.arn, *topics).apply(
                lambda v: queue_policy(queue_arn=v[0], topic_arns=v[1:])
            ),
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-dlq-policy",
            queue_url=dlq.url,
            policy=dlq.arn.apply(lambda arn: queue_policy(queue_arn=arn)),
            opts=child,
        )
        for index, topic_arn in enumerate(topics):
            aws.sns.TopicSubscription(
                f"{name}-subscription-{index}",
                topic=topic_arn,
                protocol="sqs",
                endpoint=queue.arn,
                raw_message_delivery=True,
                **filtered,
                # SNS may only deliver once the queue policy lets it; earlier messages
                # would be dropped.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[queue_access]),
            )
