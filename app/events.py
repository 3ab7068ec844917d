"""`EventBus`: a blueprint's events over SNS and SQS — a topic per event, a queue per consumer.

Seed 000's fan-out: the enrollment service publishes `enrollment-created` once, and fee,
notification and reporting each receive every one through a queue of their own (with its
dead-letter queue), so a slow or failing consumer never costs another one a message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from osp.components import Queue, QueueArgs, Topic, TopicArgs
from osp.platform.catalogue import Catalogue
from osp.platform.filter_policy import FilterPolicyScope
from osp.platform.naming import NameKind, fit
from osp.platform.validation import Problems

TOKEN = "osp:app:EventBus"


@dataclass(frozen=True)
class RouteSubscription:
    """One queue of a consumer on an event's topic, and what SNS lets through to it."""

    consumer: str
    queue: str
    """The queue's part of its name and key: the event, or `<event>-<channel>` for a
    consumer's second subscription (such as `payment-completed-sms`)."""
    filter_policy: Mapping[str, Any] | None = None
    filter_policy_scope: FilterPolicyScope = FilterPolicyScope.MESSAGE_ATTRIBUTES


@dataclass(frozen=True)
class EventRoute:
    """An event, the service that publishes it and the services that consume it."""

    event: str
    publisher: str
    consumers: tuple[str, ...]
    subscriptions: tuple[RouteSubscription, ...] = ()
    """Each consumer's queues on the event, with their filters. Default: one unfiltered
    queue per consumer (`queue` = the event)."""

    @property
    def queues(self) -> tuple[RouteSubscription, ...]:
        """The queues the event gets: `subscriptions`, or one unfiltered queue per consumer."""
        return self.subscriptions or tuple(
            RouteSubscription(consumer=consumer, queue=self.event) for consumer in self.consumers
        )


def routes(catalogue: Catalogue) -> list[EventRoute]:
    """The catalogue's events, as the event components take them."""
    return [
        EventRoute(
            event=e.name,
            publisher=e.publisher,
            consumers=e.consumers,
            subscriptions=tuple(
                RouteSubscription(
                    consumer=service.name,
                    queue=sub.queue,
                    filter_policy=sub.filter_policy,
                    filter_policy_scope=sub.filter_policy_scope,
                )
                for service in catalogue.services
                for sub in service.uses.consumes
                if sub.event == e.name
            ),
        )
        for e in catalogue.events.values()
    ]


@dataclass(frozen=True, kw_only=True)
class EventBusArgs:
    prefix: str
    """Start of every topic and queue name (`osp-<env>`)."""

    events: Sequence[EventRoute]
    """The catalogue's events; one with no consumers still gets its topic."""

    kms_key_arn: pulumi.Input[str]
    """Key of every topic and queue (the data key: events carry student records)."""

    tags: Mapping[str, str] = field(default_factory=dict)


class EventBus(pulumi.ComponentResource):
    """Topic `<prefix>-<event>` per event; queue `<prefix>-<consumer>-<queue>` (and its
    `-dlq`) per consumer's subscription (`<queue>` is the event, or `<event>-<channel>`),
    subscribed to the event's topic with raw delivery and the subscription's filter policy."""

    topics: dict[str, Topic]
    """Event → its topic."""

    queues: dict[tuple[str, str], Queue]
    """(consumer, queue) → the consumer's queue: `queue` is the event, or `<event>-<channel>`
    for a consumer's second subscription to it."""

    def __init__(
        self, name: str, args: EventBusArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        check = Problems("EventBus", name)
        events = [route.event for route in args.events]
        check.check(len(set(events)) == len(events), "events", events, "each event once")
        check.raise_if_any()
        child = pulumi.ResourceOptions(parent=self)
        self.topics = {}
        self.queues = {}
        for route in args.events:
            topic_name = fit(f"{args.prefix}-{route.event}", NameKind.SQS_QUEUE)
            self.topics[route.event] = Topic(
                f"{name}-{route.event}",
                TopicArgs(name=topic_name, kms_key_arn=args.kms_key_arn, tags=args.tags),
                child,
            )
            for sub in route.queues:
                if sub.queue == route.event:
                    self._queue(name, args, route, sub)
        # Channels' queues come after every plain one: what is numbered by queue (the
        # dead-letter alarms) keeps its numbers when a channel is added.
        for route in args.events:
            for sub in route.queues:
                if sub.queue != route.event:
                    self._queue(name, args, route, sub)
        self.register_outputs(
            {
                "topicArns": {event: topic.arn for event, topic in self.topics.items()},
                "queueUrls": {
                    f"{consumer}/{queue_key}": queue.url
                    for (consumer, queue_key), queue in self.queues.items()
                },
            }
        )

    def _queue(
        self, name: str, args: EventBusArgs, route: EventRoute, sub: RouteSubscription
    ) -> None:
        queue_name = fit(f"{args.prefix}-{sub.consumer}-{sub.queue}", NameKind.SQS_QUEUE)
        self.queues[(sub.consumer, sub.queue)] = Queue(
            f"{name}-{sub.consumer}-{sub.queue}",
            QueueArgs(
                name=queue_name,
                kms_key_arn=args.kms_key_arn,
                subscribe_to=[self.topics[route.event].arn],
                filter_policy=sub.filter_policy,
                filter_policy_scope=sub.filter_policy_scope,
                tags=args.tags,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    @property
    def dead_letter_queue_names(self) -> list[pulumi.Output[str]]:
        return [queue.dlq_name for queue in self.queues.values()]
