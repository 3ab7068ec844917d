"""`EventBus` through the offline engine: a topic per event, a queue per consumer and event."""

from __future__ import annotations

import pytest

from osp.app.events import EventBus, EventBusArgs, EventRoute, routes
from osp.platform.catalogue import load_catalogue
from osp.platform.validation import InvalidArguments
from tests.support import plan_component

KEY = "arn:aws:kms:eu-west-2:123456789012:key/data-key"
TOPIC = "osp:messaging:Topic"
QUEUE = "osp:messaging:Queue"


def bus_args(*events: EventRoute) -> EventBusArgs:
    return EventBusArgs(prefix="osp-prod", events=events, kms_key_arn=KEY)


def test_a_topic_per_event_and_a_queue_per_consumer():
    plan = plan_component(
        EventBus,
        bus_args(
            EventRoute("enrollment-created", "enrollment", ("fee", "reporting")),
            EventRoute("fee-paid", "payment", ()),
        ),
        name="osp-prod-events",
    )
    (bus,) = plan.of_type("osp:app:EventBus")
    children = plan.children(bus.urn)
    assert sorted(c.name for c in children if c.type == TOPIC) == [
        "osp-prod-events-enrollment-created",
        "osp-prod-events-fee-paid",
    ]
    assert sorted(c.name for c in children if c.type == QUEUE) == [
        "osp-prod-events-fee-enrollment-created",
        "osp-prod-events-reporting-enrollment-created",
    ]
    queues = {q.inputs["name"] for q in plan.of_type("aws:sqs/queue:Queue")}
    assert queues == {
        "osp-prod-fee-enrollment-created",
        "osp-prod-fee-enrollment-created-dlq",
        "osp-prod-reporting-enrollment-created",
        "osp-prod-reporting-enrollment-created-dlq",
    }
    topics = {t.inputs["name"] for t in plan.of_type("aws:sns/topic:Topic")}
    assert topics == {"osp-prod-enrollment-created", "osp-prod-fee-paid"}


def test_refuses_an_event_twice():
    route = EventRoute("enrollment-created", "enrollment", ("fee",))
    with pytest.raises(InvalidArguments) as refused:
        plan_component(EventBus, bus_args(route, route), name="osp-prod-events")
    assert str(refused.value) == (
        "EventBus osp-prod-events: events: got ['enrollment-created', 'enrollment-created']; "
        "expected each event once"
    )


def test_routes_are_the_catalogues_events():
    catalogue = load_catalogue("osp")
    found = routes(catalogue)
    assert found
    assert [r.event for r in found] == list(catalogue.events)
    for route in found:
        assert route.publisher == catalogue.events[route.event].publisher
        assert route.consumers == catalogue.consumers_of(route.event)
