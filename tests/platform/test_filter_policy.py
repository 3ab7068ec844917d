# ruff: noqa: E501 -- tables of policies and messages read best one case a line
"""SNS subscription filter policies: osp's subset of the grammar, its limits, and the
catalogue's mapping form of `consumes` that carries them."""

from __future__ import annotations

from pathlib import Path

import pytest

from osp.app.events import RouteSubscription, routes
from osp.platform import filter_policy, limits
from osp.platform.catalogue import load_catalogue, parse_catalogue
from osp.platform.errors import SpecError
from osp.platform.filter_policy import FilterPolicyScope

CONDITION = filter_policy._CONDITION


@pytest.mark.parametrize(
    "policy",
    [
        {"amount": [{"numeric": [">", 100]}]},
        {"amount": [{"numeric": [">=", 0, "<", 100]}], "currency": ["USD", "CAD"]},
        {"kind": [{"prefix": "payment."}]},
        {"kind": [{"anything-but": ["refund", "test"]}], "tenant": [{"exists": True}]},
        {"kind": [{"anything-but": {"prefix": "test-"}}], "priority": [1, 2.5]},
        {"a": ["x"], "b": ["x"], "c": ["x"], "d": ["x"], "e": ["x"]},
        # 5 × 5 × 6 = 150 combinations: the most SNS takes.
        {"a": list("abcde"), "b": list("abcde"), "c": list("abcdef")},
    ],
)
def test_policies_in_the_subset_pass(policy):
    assert filter_policy.problems(policy) == []


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ({}, [("", {}, "a mapping of 1 to 5 attribute names, each to a list")]),
        (
            {k: ["x"] for k in "abcdef"},
            [("", {k: ["x"] for k in "abcdef"}, "a mapping of 1 to 5 attribute names, each to a list")],
        ),
        ("amount > 100", [("", "amount > 100", "a mapping of 1 to 5 attribute names, each to a list")]),
        ({"amount": []}, [(".amount", [], "a non-empty list of conditions")]),
        ({"amount": {"numeric": [">", 1]}}, [(".amount", {"numeric": [">", 1]}, "a non-empty list of conditions")]),
        ({"$or": [["x"]]}, [("", "$or", "attribute names that are non-empty strings, not '$…'")]),
        ({"amount": [{"numeric": [">", "100"]}]}, [(".amount[0]", {"numeric": [">", "100"]}, CONDITION)]),
        ({"amount": [{"numeric": ["<", 5, ">", 1]}]}, [(".amount[0]", {"numeric": ["<", 5, ">", 1]}, CONDITION)]),
        ({"amount": [{"numeric": [">", 5, "<", 1]}]}, [(".amount[0]", {"numeric": [">", 5, "<", 1]}, CONDITION)]),
        ({"amount": [{"numeric": [">", 10**10]}]}, [(".amount[0]", {"numeric": [">", 10**10]}, CONDITION)]),
        ({"amount": [{"numeric": ["!=", 1]}]}, [(".amount[0]", {"numeric": ["!=", 1]}, CONDITION)]),
        ({"kind": [{"prefix": ""}]}, [(".kind[0]", {"prefix": ""}, CONDITION)]),
        ({"kind": [{"suffix": "x"}]}, [(".kind[0]", {"suffix": "x"}, CONDITION)]),
        ({"kind": [{"exists": "yes"}]}, [(".kind[0]", {"exists": "yes"}, CONDITION)]),
        ({"kind": [{"anything-but": []}]}, [(".kind[0]", {"anything-but": []}, CONDITION)]),
        ({"kind": [True]}, [(".kind[0]", True, CONDITION)]),
        ({"kind": [None]}, [(".kind[0]", None, CONDITION)]),
        ({"kind": [{"prefix": "a", "exists": True}]}, [(".kind[0]", {"prefix": "a", "exists": True}, CONDITION)]),
        (
            {"a": list("abcdef"), "b": list("abcde"), "c": list("abcdef")},
            [("", 180, "at most 150 combinations (the product of the keys' list lengths)")],
        ),
    ],
)  # fmt: skip
def test_each_problem_names_where_what_and_what_is_allowed(policy, expected):
    assert filter_policy.problems(policy) == expected


def test_limits_live_in_limits():
    assert limits.SNS_FILTER_POLICY_MAX_KEYS == 5
    assert limits.SNS_FILTER_POLICY_MAX_COMBINATIONS == 150


def test_document_is_canonical_json():
    assert filter_policy.document({"b": [1], "a": [{"numeric": [">", 100]}]}) == (
        '{"a":[{"numeric":[">",100]}],"b":[1]}'
    )


# --- the catalogue's mapping form ---------------------------------------------------------

BASE = """\
name: demo
description: A small catalogue for tests
transport: sns-sqs
services:
  payment:
    image: payment:1.0.0
    port: 8080
    replicas: {min: 1, baseline: 2, max: 4}
    uses:
      publishes: [payment-completed]
  notification:
    image: notification:1.0.0
    port: 8080
    replicas: {min: 1, baseline: 2, max: 4}
    uses:
      consumes:
        - payment-completed from payment
        - CONSUMES
"""
SMS = '{event: payment-completed, from: payment, channel: sms, filter: {amount: [{numeric: [">", 100]}]}}'


def parse(tmp_path: Path, entry: str, transport: str = "sns-sqs"):
    path = tmp_path / "blueprint.yaml"
    text = BASE.replace("CONSUMES", entry).replace("transport: sns-sqs", f"transport: {transport}")
    path.write_text(text, encoding="utf-8")
    return parse_catalogue(path), path


def problems(tmp_path: Path, entry: str, transport: str = "sns-sqs") -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse(tmp_path, entry, transport)
    path = str(tmp_path / "blueprint.yaml")
    return [p.removeprefix(f"{path}:") for p in caught.value.problems]


def test_a_channel_with_a_filter_is_a_second_queue(tmp_path):
    catalogue, _ = parse(tmp_path, SMS)
    plain, sms = catalogue.service("notification").uses.consumes
    assert (plain.queue, plain.filter_policy) == ("payment-completed", None)
    assert sms.queue == "payment-completed-sms"
    assert sms.filter_policy == {"amount": [{"numeric": [">", 100]}]}
    assert sms.filter_policy_scope == "MessageAttributes"
    assert catalogue.consumers_of("payment-completed") == ("notification",)
    (route,) = routes(catalogue)
    assert route.queues == (
        RouteSubscription("notification", "payment-completed"),
        RouteSubscription(
            "notification",
            "payment-completed-sms",
            {"amount": [{"numeric": [">", 100]}]},
            FilterPolicyScope.MESSAGE_ATTRIBUTES,
        ),
    )
    # The mapping form survives a round trip.
    dumped = catalogue.model_dump(by_alias=True, mode="json")
    assert type(catalogue).model_validate(dumped) == catalogue


def test_the_body_scope(tmp_path):
    catalogue, _ = parse(
        tmp_path,
        "{event: payment-completed, from: payment, channel: big, filter: {amount: "
        '[{numeric: [">", 100]}]}, filter_scope: MessageBody}',
    )
    assert catalogue.service("notification").uses.consumes[1].filter_policy_scope == "MessageBody"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            '{event: payment-completed, from: payment, channel: sms, filter: {amount: [{numeric: [">", "100"]}]}}',
            [f"18: services.notification.uses.consumes[1].filter.amount[0]: expected {CONDITION}"],
        ),
        (
            "{event: payment-completed, from: payment, channel: sms, filter: {}}",
            ["18: services.notification.uses.consumes[1].filter: expected a mapping of 1 to 5 attribute names, each to a list"],
        ),
        (
            "{event: payment-completed, from: payment, channel: sms, filter: {a: [x]}, filter_scope: Body}",
            ["18: services.notification.uses.consumes[1].filter_scope: got 'Body'; expected 'MessageAttributes' or 'MessageBody'"],
        ),
        (
            '{event: payment-completed, from: payment, filter: {amount: [{numeric: [">", 100]}]}}',
            ["18: services.notification.uses.consumes[1]: got 'payment-completed from payment'; expected a subscription with a queue of its own: entry 0 already makes queue 'payment-completed' (give this one a channel)"],
        ),
        (
            "{event: payment-completed, from: payment, channel: SMS}",
            ["18: services.notification.uses.consumes[1].channel: got 'SMS'; expected a name of 1-40 lower-case letters, digits and hyphens, starting with a letter"],
        ),
        (
            "{event: payment-completed, from: billing, channel: sms}",
            ["18: services.notification.uses.consumes[1]: got 'payment-completed from billing'; expected a publisher that is a service of this catalogue; 'billing' is not"],
        ),
        (
            "{event: payment-completed, channel: sms}",
            ["18: services.notification.uses.consumes[1].from: required key is missing"],
        ),
        (
            "{event: payment-completed, from: payment, channel: sms, when: always}",
            ["18: services.notification.uses.consumes[1].when: got 'when'; expected a key of event, from, channel, filter, filter_scope"],
        ),
    ],
)  # fmt: skip
def test_each_mistake_is_named_on_its_line(tmp_path, entry, expected):
    assert problems(tmp_path, entry) == expected


def test_filters_need_sns(tmp_path):
    found = problems(tmp_path, SMS, transport="rabbitmq")
    assert found == [
        "18: services.notification.uses.consumes[1]: expected '<event> from <publisher>' on "
        "the rabbitmq transport (channel and filter are "
        "SNS subscriptions'; they need transport: sns-sqs)"
    ]


def test_the_osp_blueprint_texts_sms_only_for_payments_over_100():
    notification = load_catalogue("osp").service("notification")
    filtered = [s for s in notification.uses.consumes if s.filter_policy is not None]
    assert [(s.queue, s.filter_policy) for s in filtered] == [
        ("payment-completed-sms", {"amount": [{"numeric": [">", 100]}]})
    ]
    # Email confirmations still get every payment.
    assert any(
        s.queue == "payment-completed" and s.filter_policy is None
        for s in notification.uses.consumes
    )
