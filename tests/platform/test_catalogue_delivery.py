# ruff: noqa: E501 -- tables of catalogue entries and messages read best one case a line
"""A bucket's `delivery:` in the catalogue: what is accepted, and each refusal on its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from osp.platform.catalogue import load_catalogue, parse_catalogue
from osp.platform.errors import SpecError
from osp.platform.tenancy import RESERVED_SLUGS

BASE = """\
name: demo
description: A small catalogue for tests
transport: sns-sqs
portals: [student]
buckets:
  media:
    delivery: DELIVERY
services:
  enrollment:
    image: enrollment:1.0.0
    port: 8080
    replicas: {min: 1, baseline: 2, max: 4}
    uses:
      buckets: {media: read-write}
  fee:
    image: fee:1.0.0
    port: 8080
    replicas: {min: 1, baseline: 2, max: 4}
"""


def parse(tmp_path: Path, delivery: str, base: str = BASE):
    path = tmp_path / "blueprint.yaml"
    path.write_text(base.replace("DELIVERY", delivery), encoding="utf-8")
    return parse_catalogue(path)


def problems(tmp_path: Path, delivery: str, base: str = BASE) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse(tmp_path, delivery, base)
    path = str(tmp_path / "blueprint.yaml")
    return [p.removeprefix(f"{path}:") for p in caught.value.problems]


def test_public_signed_and_signers(tmp_path):
    catalogue = parse(
        tmp_path, "{public: [branding/], signed: [photos/, ids/scans/], signers: [enrollment]}"
    )
    (bucket,) = catalogue.delivered_buckets
    assert bucket.delivery.public == ("branding/",)
    assert bucket.delivery.signed == ("photos/", "ids/scans/")
    assert bucket.delivery.signers == ("enrollment",)
    dumped = catalogue.model_dump(by_alias=True, mode="json")
    assert type(catalogue).model_validate(dumped) == catalogue


def test_no_delivery_is_not_delivered(tmp_path):
    catalogue = parse(tmp_path, "null")
    assert catalogue.delivered_buckets == ()


@pytest.mark.parametrize(
    ("delivery", "expected"),
    [
        ("{public: [Branding/]}", "7: buckets.media.delivery.public[0]: got 'Branding/'; expected a key prefix such as photos/ or branding/logos/: lower-case segments of letters, digits, '.', '_' and '-', each ending in '/', at most 100 characters"),
        ("{public: [branding]}", "7: buckets.media.delivery.public[0]: got 'branding'; expected a key prefix such as photos/"),
        ("{public: [branding/, branding/]}", "7: buckets.media.delivery.public[1]: got 'branding/'; expected each prefix once"),
        ("{}", "7: buckets.media.delivery: expected 1 to 24 prefixes in public and signed together (a CloudFront behaviour each, beside the default one)"),
        ("{public: [photos/], signed: [photos/thumbs/], signers: [enrollment]}", "7: buckets.media.delivery.signed[0]: got 'photos/thumbs/'; expected a prefix neither under nor above a public one (photos/): one object is either public or signed"),
        ("{signed: [photos/]}", "7: buckets.media.delivery.signers: got []; expected at least one service that signs the signed prefixes"),
        ("{public: [branding/], signers: [enrollment]}", "7: buckets.media.delivery.signers: got ['enrollment']; expected no signers without signed prefixes (they would read a key for nothing)"),
        ("{signed: [photos/], signers: [fee]}", "7: buckets.media.delivery.signers[0]: got 'fee'; expected a service that uses bucket 'media': enrollment"),
        ("{signed: [photos/], signers: [nobody]}", "7: buckets.media.delivery.signers[0]: got 'nobody'; expected a service that uses bucket 'media': enrollment"),
        ("{public: [a/], cached: true}", "7: buckets.media.delivery.cached: unknown key 'cached'; expected one of public, signed, signers"),
    ],
)  # fmt: skip
def test_each_mistake_is_named_on_its_line(tmp_path, delivery, expected):
    found = problems(tmp_path, delivery)
    assert [p for p in found if p.startswith(expected)], found


def test_too_many_prefixes(tmp_path):
    prefixes = ", ".join(f"p{i}/" for i in range(25))
    found = problems(tmp_path, f"{{public: [{prefixes}]}}")
    assert found[0].startswith("7: buckets.media.delivery: expected 1 to 24 prefixes")


def test_a_delivered_bucket_may_not_take_a_portals_host(tmp_path):
    base = BASE.replace("portals: [student]", "portals: [student, media]")
    assert problems(tmp_path, "{public: [a/]}", base) == [
        "7: buckets.media.delivery: got 'media'; expected a bucket whose name is no portal's or the estate's own host: it is served at media.<domain>"
    ]


def test_the_bundled_blueprints_deliver_as_their_seeds_say():
    (media,) = load_catalogue("osp").delivered_buckets
    assert media.name == "media"
    assert (media.delivery.public, media.delivery.signed, media.delivery.signers) == (
        ("branding/",),
        ("photos/",),
        ("enrollment",),
    )
    (hub,) = load_catalogue("learning-hub").delivered_buckets
    assert (hub.name, hub.delivery.public, hub.delivery.signed) == ("media", ("courses/",), ())


@pytest.mark.parametrize("blueprint", ["osp", "learning-hub", "learning-platform", "code-learn"])
def test_every_delivered_buckets_host_is_no_tenants(blueprint):
    delivered = [b.name for b in load_catalogue(blueprint).delivered_buckets]
    assert [b for b in delivered if b not in RESERVED_SLUGS] == []
