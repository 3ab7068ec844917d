"""SSM parameters in the catalogue (`parameters:`): accepted, valued per profile, and every
refusal with its path and rule."""

from __future__ import annotations

import pytest

from osp.platform.catalogue import parse_catalogue
from osp.platform.catalogue.parameters import ParameterType
from tests.platform.test_catalogue import BASE, problems, write

PARAMETERS = """\
parameters:
  shared:
    support-email: {type: String, default: help@example.edu, description: Where people write}
  orders:
    feature-flags:
      type: StringList
      default: gift-cards,bundles
      values: {prod: gift-cards}
      description: Order features switched on
    retry-days:
      type: String
      values: {dev: 1, staging: 3, prod: 7}
      description: Days before a failed order is retried
"""


def test_parameters_by_owner_and_their_values_per_profile(tmp_path):
    catalogue = parse_catalogue(write(tmp_path, BASE + PARAMETERS))
    assert list(catalogue.parameters) == ["shared", "orders"]
    flags = catalogue.parameters["orders"]["feature-flags"]
    assert flags.type is ParameterType.STRING_LIST
    assert [flags.value(p) for p in ("dev", "staging", "prod")] == [
        "gift-cards,bundles",
        "gift-cards,bundles",
        "gift-cards",
    ]
    # YAML's numbers are a parameter's text.
    retry = catalogue.parameters["orders"]["retry-days"]
    assert [retry.value(p) for p in ("dev", "staging", "prod")] == ["1", "3", "7"]
    assert catalogue.parameters["shared"]["support-email"].value("dev") == "help@example.edu"


def replaced(old: str, new: str) -> str:
    assert PARAMETERS.count(old) == 1, old
    return BASE + PARAMETERS.replace(old, new)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            replaced("type: String,", "type: SecureString,"),
            "parameters.shared.support-email.type: got 'SecureString'; expected String or "
            "StringList: a secret belongs in the blueprint's `secrets:` (Secrets Manager, with "
            "rotation and its own key), not in a parameter",
        ),
        (
            replaced("  orders:\n", "  shipping:\n"),
            "parameters.shipping: got 'shipping'; expected 'shared' or a service of this "
            "catalogue: orders, billing",
        ),
        (
            replaced("values: {dev: 1, staging: 3, prod: 7}", "values: {dev: 1, prod: 7}"),
            "parameters.orders.retry-days.default: got None; expected a default, or a value for "
            "every profile (missing: staging)",
        ),
        (
            replaced("values: {prod: gift-cards}", "values: {qa: gift-cards}"),
            "parameters.orders.feature-flags.values.qa: got 'qa'; expected an environment "
            "profile: dev, staging or prod",
        ),
        (
            replaced("default: help@example.edu", "default: ''"),
            "parameters.shared.support-email.default: got ''; expected a non-empty value (SSM "
            "refuses empty parameters)",
        ),
        (
            replaced("default: help@example.edu", "default: '{{resolve:x}}'"),
            "parameters.shared.support-email.default: got '{{resolve:x}}'; expected a value "
            "without '{{' (SSM reads it as a parameter reference)",
        ),
        (
            replaced("default: help@example.edu", "default: " + "x" * 4097),
            "parameters.shared.support-email.default: got 'xxxxxxxx",
        ),
        (
            replaced(", description: Where people write", ""),
            "parameters.shared.support-email.description: ",
        ),
        (
            replaced("  shared:\n    support-email", "  shared:\n    Support_Email"),
            "parameters.shared.Support_Email: ",
        ),
        (
            replaced("type: StringList", "type: Number"),
            "parameters.orders.feature-flags.type: got 'Number'; expected one of 'String', "
            "'StringList'",
        ),
    ],
)
def test_refused_with_the_path_and_the_rule(tmp_path, text, expected):
    found = [p.split(": ", 1)[1] for p in problems(tmp_path, text)]
    assert len(found) == 1, found
    assert found[0].startswith(expected), found[0]


def test_a_service_named_shared_cannot_have_parameters(tmp_path):
    services = (
        BASE.replace("  orders:", "  shared:")
        .replace("image: orders:", "image: shared:")
        .replace("from orders", "from shared")
        .replace("callers: [orders]", "callers: [shared]")
    )
    text = services + "parameters:\n  shared:\n    x: {type: String, default: y, description: z}\n"
    (found,) = problems(tmp_path, text)
    assert found.endswith(
        "parameters.shared: got 'shared'; expected a service name other than 'shared' for a "
        "service with parameters ('shared' is the branch every service reads)"
    )
