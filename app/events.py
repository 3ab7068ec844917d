"""`EventBus`: a blueprint's events over SNS and SQS — a topic per event, a queue per consumer.

Seed 000's fan-out: the enrollment service publishes `enrollment-created` once, and fee,
notification and reporting each receive every one through a queue of their own (with its
dead-letter queue), so a slow or failing consumer never costs another one a message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from osp.components import Queue, QueueArgs, Topic, TopicArgs
from osp.platform.catalogue import Catalogue
from osp.platform.naming import NameKind, fit
from osp.platform.validation import Problems

TOKEN = "osp:app:EventBus"


@dataclass(frozen=True)
class EventRoute:
    """An event, the service that publishes it and the services that consume it."""

    event: str
    publisher: str
    consumers: tuple[str, ...]


def routes(catalogue: Catalogue) -> list[EventRoute]:
    """The catalogue's events, as the event components take them."""
    return [
        EventRoute(event=e.name, publisher=e.publisher, consumers=e.consumers)
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
    """Topic `<prefix>-<event>` per event; queue `<prefix>-<consumer>-<event>` (and its
    `-dlq`) per consumer, subscribed to the event's topic with raw delivery."""

    topics: dict[str, Topic]
    """Event → its topic."""

    queues: dict[tuple[str, str], Queue]
    """(consumer, event) → the consumer's queue for the event."""

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
            topic = Topic(
                f"{name}-{route.event}",
                TopicArgs(name=topic_name, kms_key_arn=args.kms_key_arn, tags=args.tags),
                child,
            )
            self.topics[route.event] = topic
            for consumer in route.consumers:
                queue_name = fit(f"{args.prefix}-{consumer}-{route.event}", NameKind.SQS_QUEUE)
                self.queues[(consumer, route.event)] = Queue(
                    f"{name}-{consumer}-{route.event}",
                    QueueArgs(
                        name=queue_name,
                        kms_key_arn=args.kms_key_arn,
                        subscribe_to=[topic.arn],
                        tags=args.tags,
                    ),
                    child,
                )
        self.register_outputs(
            {
                "topicArns": {event: topic.arn for event, topic in self.topics.items()},
                "queueUrls": {
                    f"{consumer}/{event}": queue.url
                    for (consumer, event), queue in self.queues.items()
                },
            }
        )

    @property
    def dead_letter_queue_names(self) -> list[pulumi.Output[str]]:
        return [queue.dlq_name for queue in self.queues.values()]
