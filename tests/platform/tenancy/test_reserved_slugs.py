"""No tenant can take a name the estate uses under its domain.

`<slug>.<domain>` is a tenant's address, so every label the estate itself answers under the
domain must be refused as a slug. osp.platform may not import the stacks that choose those
labels (the layering), so the list lives in osp.platform.tenancy and these tests hold it to
the estate: the labels' sources one by one, and every name in the planned estates.
"""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from osp.components import EmailDomainArgs
from osp.platform import blueprints
from osp.platform.catalogue import load_catalogue
from osp.platform.tenancy import RESERVED_SLUGS, SLUG, SLUG_FORMAT
from osp.stacks.edge import API_ORIGIN_LABEL
from tests.support import ENVIRONMENTS, plan_of, spec_of


def refused_as_slug(label: str) -> bool:
    return not SLUG.accepts(label)


def test_the_api_and_its_origin_are_reserved():
    # stacks/edge.py: api.<domain> (CloudFront) and api-origin.<domain> (the load balancer).
    assert {"api", API_ORIGIN_LABEL} <= RESERVED_SLUGS


def test_the_mail_from_label_is_reserved():
    (field,) = [f for f in dataclasses.fields(EmailDomainArgs) if f.name == "mail_from_label"]
    assert field.default in RESERVED_SLUGS


@pytest.mark.parametrize("blueprint", blueprints.available())
def test_every_portal_of_every_bundled_blueprint_is_reserved(blueprint):
    portals = load_catalogue(blueprint).portals
    # lms serves none: seed 002 leaves a CDN for later (its §13).
    assert bool(portals) is (blueprint != "lms"), f"{blueprint}: {portals}"
    assert [p for p in portals if p not in RESERVED_SLUGS] == []


def test_an_environment_nested_under_another_holds_its_label():
    # dev.osp.example.com lives under prod's osp.example.com: a prod tenant named dev would
    # take the dev environment's name.
    domains = {env: spec_of(env).domain for env in ENVIRONMENTS}
    nested = [
        domain.removesuffix(f".{parent}").rsplit(".", 1)[-1]
        for domain in domains.values()
        for parent in domains.values()
        if domain.endswith(f".{parent}")
    ]
    assert nested, "no environment domain is nested under another: nothing to check"
    assert [label for label in nested if label not in RESERVED_SLUGS] == []


def labels_under(domain: str, text: str) -> set[str]:
    """Each label directly under `domain` in the names `text` mentions."""
    name = re.compile(rf"(?<![A-Za-z0-9_*-])([A-Za-z0-9_*-]+)\.{re.escape(domain)}(?![A-Za-z0-9-])")
    return set(name.findall(text))


@pytest.mark.parametrize("blueprint", blueprints.available())
def test_every_name_the_planned_estate_uses_under_its_domain_is_refused(blueprint):
    plan = plan_of("prod", blueprint)
    domain = spec_of("prod", blueprint).domain
    used = set()
    for resource in plan.resources:
        used |= labels_under(domain, json.dumps(resource.inputs))
    used |= labels_under(domain, json.dumps(plan.outputs))
    catalogue = load_catalogue(blueprint)
    portals = set(catalogue.portals)
    # SES's MAIL FROM domain exists only where a service sends email (code-learn's do not).
    mail = {"mail"} if any(s.uses.email for s in catalogue.services) else set()
    # The plan names what the test expects it to (so the search itself is not broken) ...
    assert {"api", API_ORIGIN_LABEL, *mail, *portals} <= used
    # ... and no tenant can take any of them: reserved, or no slug's shape (`_domainkey`,
    # ACM's `_<token>` validation records, the certificate's `*`).
    assert sorted(label for label in used if not refused_as_slug(label)) == []
    assert {label for label in used if SLUG_FORMAT.accepts(label)} <= RESERVED_SLUGS


def test_the_label_search_finds_names_in_urls_and_records():
    text = json.dumps(
        {
            "a": "https://api.osp.example.com/v1",
            "b": ["x._domainkey.osp.example.com", "*.osp.example.com", "osp.example.com."],
            "c": "student.osp.example.com.",
            "d": "other.example.com and ops@osp.example.com and osp.example.community",
        }
    )
    assert labels_under("osp.example.com", text) == {"api", "_domainkey", "*", "student"}
