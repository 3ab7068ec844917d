"""Service catalogues: the two bundled blueprints as the seeds draw them, and every kind of
bad catalogue, each with its exact message and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from osp.platform import blueprints
from osp.platform.catalogue import (
    Access,
    Catalogue,
    Database,
    SecretKind,
    Subscription,
    Transport,
    UnknownBlueprintError,
    load_catalogue,
    parse_catalogue,
)
from osp.platform.errors import SpecError
from osp.platform.spec import parse_stack_file

OSP = load_catalogue("osp")
HUB = load_catalogue("learning-hub")
PLATFORM = load_catalogue("learning-platform")
LMS = load_catalogue("lms")

OSP_SERVICES = (
    "identity",
    "school",
    "fee",
    "payment",
    "enrollment",
    "activity",
    "notification",
    "reporting",
    "admin",
)
HUB_SERVICES = (
    "api-gateway",
    "user",
    "auth",
    "course",
    "enrollment",
    "payment",
    "media",
    "notification",
    "content",
    "assessment",
    "review",
    "certificate",
    "gamification",
)


# --- the bundled blueprints ---------------------------------------------------------------


def test_both_blueprints_ship_and_a_stack_may_select_either():
    assert blueprints.available() == (
        "code-learn",
        "learning-hub",
        "learning-platform",
        "lms",
        "osp",
    )
    text = textwrap.dedent(
        """\
        config:
          aws:region: eu-west-2
          osp:domain: learn.example.com
          osp:blueprint: learning-hub
          osp:cluster: {admin_role_arns: [arn:aws:iam::123456789012:role/platform-admin]}
        """
    )
    spec = parse_stack_file(text, environment="prod", source="stacks/Pulumi.prod.yaml")
    assert spec.blueprint == "learning-hub"


def test_osp_is_the_nine_services_of_seed_000():
    assert OSP.name == "osp"
    assert OSP.transport is Transport.SNS_SQS
    assert tuple(s.name for s in OSP.services) == OSP_SERVICES
    assert {s.name: s.port for s in OSP.services} == dict.fromkeys(OSP_SERVICES, 8080)
    assert {s.name: s.route for s in OSP.services} == {n: f"/api/{n}" for n in OSP_SERVICES}
    assert OSP.routed == OSP.services
    assert {s.name: s.replicas.baseline for s in OSP.services} == {
        "identity": 2,
        "school": 2,
        "fee": 3,
        "payment": 3,
        "enrollment": 4,
        "activity": 2,
        "notification": 3,
        "reporting": 2,
        "admin": 2,
    }
    enrollment = OSP.service("enrollment").replicas
    assert (enrollment.min, enrollment.baseline, enrollment.max) == (1, 4, 10)


def test_osp_portals_buckets_and_secrets():
    assert OSP.portals == ("student", "admin", "school")
    assert [(b.name, b.archive) for b in OSP.buckets] == [
        ("media", False),
        ("documents", True),
        ("reports", True),
        ("backups", False),
    ]
    jwt, gateway = OSP.secrets
    assert (jwt.name, jwt.kind, jwt.keys) == ("jwt-signing-key", SecretKind.GENERATED, ())
    assert (gateway.name, gateway.kind, gateway.keys) == (
        "payment-gateway",
        SecretKind.PLACEHOLDER,
        ("publishable_key", "secret_key", "webhook_secret"),
    )


def test_osp_events_fan_out_as_seed_000_draws_them():
    assert {e.name: (e.publisher, e.consumers) for e in OSP.events.values()} == {
        "enrollment-created": ("enrollment", ("fee", "notification", "reporting")),
        "fee-calculated": ("fee", ("notification", "reporting")),
        "payment-completed": ("payment", ("notification", "reporting")),
        "order-placed": ("activity", ("payment", "notification", "reporting")),
    }
    # Each of fee, notification and reporting receives every enrollment (its own queue).
    assert OSP.consumers_of("enrollment-created") == ("fee", "notification", "reporting")
    assert OSP.service("fee").uses.consumes == (Subscription("enrollment-created", "enrollment"),)
    assert OSP.service("fee").uses.publishes == ("fee-calculated",)


def test_osp_notification_sends_email_and_sms_and_touches_no_s3_or_rds():
    uses = OSP.service("notification").uses
    assert (uses.email, uses.sms) == (True, True)
    assert uses.database is Database.NONE and not uses.database_access
    assert uses.buckets == {} and uses.secrets == () and uses.cache is False
    assert [s.name for s in OSP.services if s.uses.email or s.uses.sms] == ["notification"]


def test_osp_data_access_per_service():
    assert {s.name: s.uses.database for s in OSP.services} == {
        **dict.fromkeys(OSP_SERVICES, Database.OWN),
        "notification": Database.NONE,
        "reporting": Database.READ_REPLICA,
    }
    assert [s.name for s in OSP.services if s.uses.cache] == [
        "identity",
        "school",
        "fee",
        "enrollment",
        "activity",
        "reporting",
    ]
    assert {s.name: s.uses.buckets for s in OSP.services if s.uses.buckets} == {
        "school": {"media": Access.READ_WRITE},
        "payment": {"documents": Access.READ_WRITE},
        "enrollment": {"documents": Access.READ_WRITE, "media": Access.READ_WRITE},
        "activity": {"media": Access.READ_WRITE},
        "reporting": {"reports": Access.READ_WRITE},
    }
    # Only identity holds the JWT key; only payment the gateway's credentials.
    assert {s.name: s.uses.secrets for s in OSP.services if s.uses.secrets} == {
        "identity": ("jwt-signing-key",),
        "payment": ("payment-gateway",),
    }


def test_osp_callers():
    assert OSP.callers_of("identity") == tuple(n for n in OSP_SERVICES if n != "identity")
    assert OSP.callers_of("fee") == ("enrollment",)
    assert OSP.callers_of("activity") == ("enrollment",)
    assert OSP.callers_of("notification") == ("identity",)
    assert OSP.callers_of("admin") == ()


def test_learning_hub_is_the_thirteen_services_of_seed_004():
    assert HUB.name == "learning-hub"
    assert HUB.transport is Transport.RABBITMQ
    assert tuple(s.name for s in HUB.services) == HUB_SERVICES
    assert tuple(s.port for s in HUB.services) == tuple(range(3000, 3013))
    # The load balancer reaches the gateway alone; the gateway may call every service.
    assert [(s.name, s.route) for s in HUB.routed] == [("api-gateway", "/api")]
    for name in HUB_SERVICES[1:]:
        assert "api-gateway" in HUB.callers_of(name)
    assert HUB.callers_of("api-gateway") == ()
    assert HUB.callers_of("user") == ("api-gateway", "auth")
    assert HUB.callers_of("payment") == ("api-gateway", "enrollment")
    assert HUB.portals == ("www",)


def test_learning_hub_data_and_events():
    assert [s.name for s in HUB.services if s.uses.database is Database.READ_REPLICA] == [
        "course",
        "review",
    ]
    assert HUB.service("api-gateway").uses.database is Database.NONE
    assert HUB.uses_read_replica and OSP.uses_read_replica
    assert [b.name for b in HUB.buckets] == ["media", "backups"]
    assert HUB.service("media").uses.buckets == {"media": Access.READ_WRITE}
    assert [s.name for s in HUB.services if s.uses.cache] == [
        "user",
        "auth",
        "course",
        "enrollment",
    ]
    assert {e.name: (e.publisher, e.consumers) for e in HUB.events.values()} == {
        "enrollment-completed": ("enrollment", ("notification",)),
        "course-completed": ("enrollment", ("certificate",)),
        "payment-completed": ("payment", ("enrollment",)),
    }
    publishers = {e.publisher for e in HUB.events.values()}
    subscribers = {c for e in HUB.events.values() for c in e.consumers}
    assert publishers == {"enrollment", "payment"}
    assert subscribers == {"notification", "certificate", "enrollment"}
    assert [s.name for s in HUB.services if s.uses.email] == ["notification"]
    assert not any(s.uses.sms for s in HUB.services)


@pytest.mark.parametrize(
    "catalogue",
    [OSP, HUB, PLATFORM, LMS],
    ids=["osp", "learning-hub", "learning-platform", "lms"],
)
def test_images_are_pinned_in_the_estates_own_repositories(catalogue: Catalogue):
    for service in catalogue.services:
        image = service.image
        assert image.in_estate_registry and image.repository == service.name
        assert image.tag == "1.0.0"
        assert image.reference("123.dkr.ecr.eu-west-2.amazonaws.com/x") == (
            "123.dkr.ecr.eu-west-2.amazonaws.com/x:1.0.0"
        )
    # Then one per function of the blueprint's (the osp blueprint's thumbnails).
    assert catalogue.repositories == tuple(s.name for s in catalogue.services) + tuple(
        f.name for f in catalogue.functions
    )


@pytest.mark.parametrize(
    "catalogue",
    [OSP, HUB, PLATFORM, LMS],
    ids=["osp", "learning-hub", "learning-platform", "lms"],
)
def test_probes_default_and_resources_hold(catalogue: Catalogue):
    for service in catalogue.services:
        probes = service.probes
        assert (probes.startup.path, probes.readiness.path, probes.liveness.path) == (
            "/healthz",
            "/readyz",
            "/healthz",
        )
        assert (probes.startup.period_seconds, probes.startup.failure_threshold) == (5, 30)
        assert 0 <= service.replicas.min <= service.replicas.baseline <= service.replicas.max


def test_lookups_name_what_exists():
    with pytest.raises(KeyError, match="no service 'fees' in blueprint 'osp'; expected one of"):
        OSP.service("fees")
    with pytest.raises(KeyError, match="no service of blueprint 'osp' publishes 'grade-posted'"):
        OSP.consumers_of("grade-posted")


def test_loading_is_cached_deterministic_and_round_trips():
    assert load_catalogue("osp") is OSP
    again = parse_catalogue(blueprints.root().joinpath("osp", "blueprint.yaml"))
    assert again == OSP and again is not OSP
    assert (
        list(again.events)
        == list(OSP.events)
        == [
            "fee-calculated",
            "payment-completed",
            "enrollment-created",
            "order-placed",
        ]
    )
    dumped = OSP.model_dump(by_alias=True, mode="json")
    assert list(dumped["services"]) == list(OSP_SERVICES)
    assert dumped["services"]["fee"]["uses"]["consumes"] == ["enrollment-created from enrollment"]
    assert Catalogue.model_validate(dumped) == OSP
    # Frozen and hashable by value, so services can key mappings and sets.
    assert hash(again) == hash(OSP) and len(set(OSP.services)) == len(OSP_SERVICES)


def test_an_unknown_blueprint_lists_the_shipped_ones():
    with pytest.raises(UnknownBlueprintError) as caught:
        load_catalogue("moodle")
    assert str(caught.value) == (
        "unknown blueprint 'moodle'; expected one of: code-learn, learning-hub, "
        "learning-platform, lms, osp"
    )


# --- bad catalogues -----------------------------------------------------------------------

# Line numbers are referred to in the tests below.
BASE = """\
name: demo
description: A small catalogue for tests
transport: sns-sqs
buckets:
  media: {archive: false}
secrets:
  api-key: {kind: placeholder, keys: [token]}
services:
  orders:
    image: orders:1.0.0
    port: 8080
    route: /api/orders
    replicas: {min: 1, baseline: 2, max: 4}
    uses:
      publishes: [order-placed]
  billing:
    image: billing:1.0.0
    port: 8080
    route: /api/billing
    replicas: {min: 1, baseline: 2, max: 4}
    uses:
      consumes: [order-placed from orders]
      buckets: {media: read}
      secrets: [api-key]
    callers: [orders]
"""


#: Where the orders service's `uses:` starts (line 14): insert keys above it.
ORDERS_USES = "    uses:\n      publishes"
#: The orders service's replicas (line 13; billing's read the same but sit above another uses).
ORDERS_REPLICAS = "{min: 1, baseline: 2, max: 4}\n" + ORDERS_USES


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "blueprint.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def variant(*changes: tuple[str, str]) -> str:
    text = BASE
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def problems(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as caught:
        parse_catalogue(path)
    assert caught.value.source == str(path)
    return [p.removeprefix(f"{path}:") for p in caught.value.problems]


def test_the_base_document_is_valid(tmp_path):
    catalogue = parse_catalogue(write(tmp_path, BASE))
    assert catalogue.consumers_of("order-placed") == ("billing",)
    assert catalogue.callers_of("billing") == ("orders",)
    assert catalogue.service("billing").uses.buckets == {"media": Access.READ}
    assert catalogue.portals == ()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            [("[order-placed from orders]", "[order-placed from order]")],
            "22: services.billing.uses.consumes[0]: got 'order-placed from order'; expected a "
            "publisher that is a service of this catalogue; 'order' is not (did you mean "
            "'orders'?)",
            id="unknown-publisher",
        ),
        pytest.param(
            [("callers: [orders]", "callers: [orders, shipping]")],
            "25: services.billing.callers[1]: got 'shipping'; expected a service of this catalogue",
            id="unknown-caller",
        ),
        pytest.param(
            [("callers: [orders]", "callers: [billing]")],
            "25: services.billing.callers[0]: got 'billing'; expected another service (a "
            "service needs no permission to call itself)",
            id="self-caller",
        ),
        pytest.param(
            [("callers: [orders]", "callers: [orders, orders]")],
            "25: services.billing.callers[1]: got 'orders'; expected each caller once",
            id="duplicate-caller",
        ),
        pytest.param(
            [("route: /api/billing", "route: /api/orders")],
            "19: services.billing.route: got '/api/orders'; expected a route of its own "
            "(service 'orders' has /api/orders)",
            id="route-clash",
        ),
        pytest.param(
            [("route: /api/billing", "route: /api/orders/billing")],
            "19: services.billing.route: got '/api/orders/billing'; expected a route not "
            "under /api/orders, the route of service 'orders'",
            id="route-under-another",
        ),
        pytest.param(
            [("route: /api/billing", "route: /api")],
            "19: services.billing.route: got '/api'; expected a route no other route lies "
            "under (/api/orders, the route of service 'orders', does)",
            id="route-over-another",
        ),
        pytest.param(
            [("route: /api/billing", "route: /api/billing/")],
            "19: services.billing.route: got '/api/billing/'; expected a URL path prefix such "
            "as /api/fee: lower-case segments of letters, digits, '.', '_' and '-', no trailing "
            "slash, at most 100 characters",
            id="route-malformed",
        ),
        pytest.param(
            [
                (
                    "    port: 8080\n    route: /api/billing",
                    "    port: 65536\n    route: /api/billing",
                )
            ],
            "18: services.billing.port: got 65536; expected a number <= 65535",
            id="port-too-high",
        ),
        pytest.param(
            [("    port: 8080\n    route: /api/orders", "    port: 0\n    route: /api/orders")],
            "11: services.orders.port: got 0; expected a number >= 1",
            id="port-zero",
        ),
        pytest.param(
            [("[order-placed from orders]", "[order-shipped from orders]")],
            "22: services.billing.uses.consumes[0]: got 'order-shipped from orders'; expected "
            "an event some service publishes: order-placed",
            id="event-nobody-publishes",
        ),
        pytest.param(
            [
                ("publishes: [order-placed]", "publishes: [order-placed, invoice-sent]"),
                ("[order-placed from orders]", "[invoice-sent from billing]"),
            ],
            "22: services.billing.uses.consumes[0]: got 'invoice-sent from billing'; expected "
            "an event of another service: a service does not consume its own events (it "
            "handles them in-process)",
            id="consumes-own-event",
        ),
        pytest.param(
            [
                (
                    "publishes: [order-placed]",
                    "publishes: [order-placed]\n      consumes: [order-placed from billing]",
                )
            ],
            "16: services.orders.uses.consumes[0]: got 'order-placed from billing'; expected "
            "'order-placed from orders': 'orders' publishes 'order-placed'",
            id="wrong-publisher",
        ),
        pytest.param(
            [("uses:\n      consumes", "uses:\n      publishes: [order-placed]\n      consumes")],
            "22: services.billing.uses.publishes[0]: got 'order-placed'; expected an event no "
            "other service publishes ('orders' already does; an event has one publisher, which "
            "owns its topic)",
            id="two-publishers",
        ),
        pytest.param(
            [("publishes: [order-placed]", "publishes: [order-placed, order-placed]")],
            "15: services.orders.uses.publishes[1]: got 'order-placed'; expected each event once",
            id="event-published-twice",
        ),
        pytest.param(
            [("[order-placed from orders]", "[order-placed]")],
            "22: services.billing.uses.consumes[0]: got 'order-placed'; expected '<event> from "
            "<publisher>', such as 'enrollment-created from enrollment'",
            id="consumes-without-publisher",
        ),
        pytest.param(
            [
                (
                    ORDERS_REPLICAS,
                    "{min: -1, baseline: 2, max: 4}\n" + ORDERS_USES,
                )
            ],
            "13: services.orders.replicas.min: got -1; expected a number >= 0",
            id="negative-replicas",
        ),
        pytest.param(
            [
                (
                    ORDERS_REPLICAS,
                    "{min: 3, baseline: 2, max: 4}\n" + ORDERS_USES,
                )
            ],
            "13: services.orders.replicas.min: got 3; expected a number <= baseline (2)",
            id="min-above-baseline",
        ),
        pytest.param(
            [
                (
                    ORDERS_REPLICAS,
                    "{min: 1, baseline: 5, max: 4}\n" + ORDERS_USES,
                )
            ],
            "13: services.orders.replicas.max: got 4; expected a number >= baseline (5)",
            id="max-below-baseline",
        ),
        pytest.param(
            [
                (
                    ORDERS_REPLICAS,
                    "{min: 0, baseline: 0, max: 4}\n" + ORDERS_USES,
                )
            ],
            "13: services.orders.replicas.baseline: got 0; expected a number >= 1",
            id="zero-baseline",
        ),
        pytest.param(
            [("image: orders:1.0.0", "image: orders:latest")],
            "10: services.orders.image: got 'orders:latest'; expected an explicit version tag "
            "such as 1.0.0, never 'latest': a moving tag makes a rollout unrepeatable and a "
            "rollback impossible",
            id="latest",
        ),
        pytest.param(
            [("image: orders:1.0.0", "image: ghcr.io/acme/orders:Latest")],
            "10: services.orders.image: got 'ghcr.io/acme/orders:Latest'; expected an explicit "
            "version tag such as 1.0.0, never 'latest': a moving tag makes a rollout "
            "unrepeatable and a rollback impossible",
            id="latest-any-case",
        ),
        pytest.param(
            [("image: orders:1.0.0", "image: orders")],
            "10: services.orders.image: got 'orders'; expected an image with an explicit tag, "
            "<repository>:<tag>, such as fee:1.0.0 or ghcr.io/acme/fee:1.0.0",
            id="missing-tag",
        ),
        pytest.param(
            [("image: orders:1.0.0", "image: localhost:5000/orders")],
            "10: services.orders.image: got 'localhost:5000/orders'; expected an image with an "
            "explicit tag, <repository>:<tag>, such as fee:1.0.0 or ghcr.io/acme/fee:1.0.0",
            id="missing-tag-after-registry-port",
        ),
        pytest.param(
            [("image: orders:1.0.0", "image: Orders:1.0.0")],
            "10: services.orders.image: got 'Orders:1.0.0'; expected an image reference "
            "<repository>:<tag>, such as fee:1.0.0 or ghcr.io/acme/fee:1.0.0",
            id="malformed-image",
        ),
        pytest.param(
            [("image: orders:1.0.0", "image: billing:1.0.0")],
            "10: services.orders.image: got 'billing:1.0.0'; expected the service's own ECR "
            "repository, orders:<tag> (the estate creates one per service), or a full "
            "reference with a registry host",
            id="someone-elses-repository",
        ),
        pytest.param(
            [("buckets: {media: read}", "buckets: {photos: read}")],
            "23: services.billing.uses.buckets.photos: got 'photos'; expected one of the "
            "blueprint's buckets: media",
            id="unknown-bucket",
        ),
        pytest.param(
            [("buckets: {media: read}", "buckets: {media: write}")],
            "23: services.billing.uses.buckets.media: got 'write'; expected one of 'read', "
            "'read-write'",
            id="bad-bucket-access",
        ),
        pytest.param(
            [("secrets: [api-key]", "secrets: [stripe-key]")],
            "24: services.billing.uses.secrets[0]: got 'stripe-key'; expected one of the "
            "blueprint's secrets: api-key",
            id="unknown-secret",
        ),
        pytest.param(
            [("    uses:\n      consumes", "    uses:\n      database: shared\n      consumes")],
            "22: services.billing.uses.database: got 'shared'; expected one of 'none', 'own', "
            "'read-replica'",
            id="bad-database",
        ),
        pytest.param(
            [("route: /api/orders", "rout: /api/orders")],
            "12: services.orders.rout: unknown key 'rout'; did you mean 'route'?",
            id="unknown-key",
        ),
        pytest.param(
            [("    image: orders:1.0.0\n", "")],
            "9: services.orders.image: required key is missing",
            id="missing-key-points-at-its-mapping",
        ),
        pytest.param(
            [("  billing:\n", "  Billing:\n"), ("image: billing:1.0.0", "image: ghcr.io/a/b:1")],
            "16: services.Billing: got 'Billing'; expected a name of 1-40 lower-case letters, "
            "digits and hyphens, starting with a letter",
            id="bad-service-name",
        ),
        pytest.param(
            [
                (
                    "    callers: [orders]\n",
                    "    callers: [orders]\n"
                    + BASE[BASE.index("  orders:") : BASE.index("  billing:")],
                )
            ],
            "26: services.orders: key appears twice; expected each key once",
            id="duplicate-service",
        ),
        pytest.param(
            [("  billing:\n    image", "  billing:\n    name: invoices\n    image")],
            "17: services.billing.name: got 'invoices'; expected 'billing' or no name at all: "
            "an entry's name is its key",
            id="name-differs-from-key",
        ),
        pytest.param(
            [("transport: sns-sqs", "transport: nats")],
            "3: transport: got 'nats'; expected one of 'sns-sqs', 'rabbitmq', 'kafka'",
            id="bad-transport",
        ),
        pytest.param(
            [("transport: sns-sqs", "transport: sns-sqs\nportals: [www, api]")],
            "4: portals[1]: got 'api'; expected a portal name other than 'api' (api.<domain> is "
            "the API's entry)",
            id="portal-api",
        ),
        pytest.param(
            [("{kind: placeholder, keys: [token]}", "{kind: placeholder}")],
            "7: secrets.api-key.keys: got []; expected at least one key the operator fills in",
            id="placeholder-without-keys",
        ),
        pytest.param(
            [("{kind: placeholder, keys: [token]}", "{kind: generated, keys: [token]}")],
            "7: secrets.api-key.keys: got ['token']; expected no keys: a generated secret is "
            "one random value (use kind: placeholder for a set of keys)",
            id="generated-with-keys",
        ),
        pytest.param(
            [
                (
                    ORDERS_USES,
                    "    resources: {requests: {cpu: '2', memory: 256Mi}}\n" + ORDERS_USES,
                )
            ],
            "14: services.orders.resources.limits.cpu: got '1'; expected at least the request (2)",
            id="limit-below-request",
        ),
        pytest.param(
            [
                (
                    ORDERS_USES,
                    "    resources:\n      limits: {cpu: 1, memory: 512m}\n" + ORDERS_USES,
                )
            ],
            "15: services.orders.resources.limits.memory: got '512m'; expected a Kubernetes "
            "memory quantity of at least 1Mi with a binary or decimal unit, such as 256Mi or "
            "1Gi ('m' would mean millibytes)",
            id="memory-in-millibytes",
        ),
        pytest.param(
            [
                (
                    ORDERS_USES,
                    "    resources:\n      requests: {cpu: 1core, memory: 256Mi}\n" + ORDERS_USES,
                )
            ],
            "15: services.orders.resources.requests.cpu: got '1core'; expected a Kubernetes CPU "
            "quantity of at least 1m, such as 250m or 1",
            id="bad-cpu",
        ),
        pytest.param(
            [
                (
                    ORDERS_USES,
                    "    probes: {readiness: {path: ready, period_seconds: 10}}\n" + ORDERS_USES,
                )
            ],
            "14: services.orders.probes.readiness.path: got 'ready'; expected an absolute URL "
            "path such as /healthz",
            id="bad-probe-path",
        ),
    ],
)
def test_each_problem_has_its_path_line_and_message(tmp_path, changes, expected):
    assert problems(tmp_path, variant(*changes)) == [expected]


def test_events_in_both_directions_are_fine(tmp_path):
    text = variant(
        ("publishes: [order-placed]", "publishes: [order-placed]\n"
         "      consumes: [invoice-sent from billing]"),
        ("    uses:\n      consumes", "    uses:\n      publishes: [invoice-sent]\n      consumes"),
        ("callers: [orders]", "callers: []"),
    )  # fmt: skip
    catalogue = parse_catalogue(write(tmp_path, text))
    assert catalogue.consumers_of("invoice-sent") == ("orders",)
    # An event nobody consumes is fine: publishing it is the publisher's business.
    lonely = variant(("publishes: [order-placed]", "publishes: [order-placed, order-audited]"))
    assert parse_catalogue(write(tmp_path, lonely)).consumers_of("order-audited") == ()


def test_a_full_image_reference_is_used_as_written(tmp_path):
    text = variant(("image: orders:1.0.0", "image: registry.example.com:5000/team/orders:2.3.1"))
    image = parse_catalogue(write(tmp_path, text)).service("orders").image
    assert (image.registry, image.repository, image.tag) == (
        "registry.example.com:5000",
        "team/orders",
        "2.3.1",
    )
    assert not image.in_estate_registry
    assert image.reference() == "registry.example.com:5000/team/orders:2.3.1"
    catalogue = parse_catalogue(write(tmp_path, text))
    assert catalogue.repositories == ("billing",)


def test_every_problem_at_once_sorted_by_line(tmp_path):
    text = variant(
        ("image: orders:1.0.0", "image: orders:latest"),
        (ORDERS_REPLICAS,
         "{min: -1, baseline: 2, max: 4}\n" + ORDERS_USES),
        ("route: /api/billing", "route: /api/orders"),
        ("[order-placed from orders]", "[order-placed from orders, refund-issued from orders]"),
        ("callers: [orders]", "callers: [shipping]"),
    )  # fmt: skip
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as caught:
        parse_catalogue(path)
    lines = [int(p.removeprefix(f"{path}:").split(":")[0]) for p in caught.value.problems]
    assert lines == [10, 13, 19, 22, 25]
    message = str(caught.value)
    assert message.startswith(f"{path}: 5 problems:\n  {path}:10: services.orders.image: ")
    assert "22: services.billing.uses.consumes[1]: got 'refund-issued from orders'" in message


def test_a_blueprint_must_be_named_after_its_folder(tmp_path):
    path = write(tmp_path, BASE)
    with pytest.raises(SpecError) as caught:
        parse_catalogue(path, source="blueprints/shop/blueprint.yaml", blueprint="shop")
    assert caught.value.problems == [
        "blueprints/shop/blueprint.yaml:1: name: got 'demo'; expected 'shop', the name of the "
        "blueprint's folder"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "1: got an empty document; expected a mapping with name, description, transport "
             "and services"),
        ("- a\n", "1: got 'list'; expected a mapping with name, description, transport and "
                  "services"),
        ("name: [\n", "2: not valid YAML: expected the node content, but found '<stream end>'"),
    ],
)  # fmt: skip
def test_not_a_catalogue_at_all(tmp_path, text, expected):
    assert problems(tmp_path, text) == [expected]


def test_models_check_references_without_the_loader():
    # The app layer may build a catalogue in code; the same cross-checks apply.
    data = {
        "name": "demo",
        "description": "d",
        "transport": "rabbitmq",
        "services": {
            "a": {
                "image": "a:1.0.0",
                "port": 70000,
                "replicas": {"min": 1, "baseline": 1, "max": 1},
                "uses": {"consumes": ["x-happened from b"]},
            }
        },
    }
    with pytest.raises(ValidationError) as caught:
        Catalogue.model_validate(data)
    assert [(e["loc"], e["input"]) for e in caught.value.errors()] == [
        (("services", "a", "port"), 70000),
        (("services", "a", "uses", "consumes", 0), "x-happened from b"),
    ]
