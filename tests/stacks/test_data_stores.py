"""Paying only for what runs: the estate creates a shared data store only when the
blueprint's catalogue uses it (`Catalogue.data_stores`, one place), and with it everything
that exists only for that store (its Lambda, secrets, security group, alarms, outputs)."""

from __future__ import annotations

import pytest

from osp.platform.catalogue import Catalogue, DataStore, load_catalogue
from osp.platform.engine import offline
from osp.stacks.estate import build
from tests.support import ENVIRONMENTS, plan_of, spec_of

BROKER = "aws:mq/broker:Broker"
DATABASE = "aws:rds/instance:Instance"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
#: What exists only for the broker: its component, the function that claims its log groups
#: (with its role, invocation and log group), its admin secret, its security group.
#: What only the broker brings: itself and the function that claims its log groups (the
#: secret rotators are functions too, so that one is told by the invocation it alone has).
BROKER_ONLY = (
    "osp:broker:RabbitMq",
    BROKER,
    "aws:lambda/invocation:Invocation",
)


def _service(uses: dict | None = None) -> dict:
    return {"port": 8080, "replicas": {"min": 1, "baseline": 1, "max": 1}, "uses": uses or {}}


def _catalogue(transport: str, **services: dict) -> Catalogue:
    return Catalogue.model_validate(
        {
            "name": "demo",
            "description": "d",
            "transport": transport,
            "services": {n: {"image": f"{n}:1.0.0", **s} for n, s in services.items()},
        }
    )


@pytest.mark.parametrize(
    ("catalogue", "stores"),
    [
        (load_catalogue("osp"), {DataStore.POSTGRES, DataStore.REDIS}),
        (
            load_catalogue("learning-hub"),
            {DataStore.POSTGRES, DataStore.REDIS, DataStore.RABBITMQ},
        ),
        (load_catalogue("lms"), {DataStore.POSTGRES, DataStore.KAFKA}),
        (_catalogue("sns-sqs", a=_service()), set()),
        (_catalogue("sns-sqs", a=_service({"database": "own"})), {DataStore.POSTGRES}),
        (_catalogue("sns-sqs", a=_service({"database": "read-replica"})), {DataStore.POSTGRES}),
        (_catalogue("sns-sqs", a=_service({"cache": True})), {DataStore.REDIS}),
        # A RabbitMQ blueprint without events has nothing to carry: no broker.
        (_catalogue("rabbitmq", a=_service({"cache": True})), {DataStore.REDIS}),
        (
            _catalogue(
                "rabbitmq",
                a=_service({"publishes": ["x-happened"]}),
                b=_service({"consumes": ["x-happened from a"]}),
            ),
            {DataStore.RABBITMQ},
        ),
        # Events over SNS and SQS need no broker.
        (
            _catalogue(
                "sns-sqs",
                a=_service({"publishes": ["x-happened"]}),
                b=_service({"consumes": ["x-happened from a"]}),
            ),
            set(),
        ),
    ],
    ids=[
        "osp",
        "learning-hub",
        "lms",
        "nothing",
        "database",
        "replica",
        "cache",
        "rabbitmq-no-events",
        "rabbitmq-events",
        "sns-sqs-events",
    ],
)
def test_the_catalogue_says_which_data_stores_it_needs(catalogue, stores):
    assert catalogue.data_stores == stores
    assert {s for s in DataStore if catalogue.needs(s)} == stores


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_osp_blueprint_has_no_broker_and_nothing_only_a_broker_uses(environment):
    plan = plan_of(environment)
    for token in BROKER_ONLY:
        assert not plan.of_type(token), token
    names = [r.name for r in plan.resources]
    assert not [n for n in names if "rabbitmq" in n or "-broker" in n]
    assert not {"rabbitmqEndpoints", "rabbitmqCredentialsSecretArn"} & set(plan.outputs)
    # Its data stores are still there: every service that has a database or cache uses them.
    assert len(plan.of_type(DATABASE)) >= 1 and len(plan.of_type(CACHE)) == 1


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_learning_hub_keeps_its_broker(environment):
    plan = plan_of(environment, "learning-hub")
    (broker,) = plan.of_type(BROKER)
    assert broker.name == f"osp-{environment}-rabbitmq-broker"
    assert len(plan.of_type("osp:broker:RabbitMq")) == 1
    assert {"rabbitmqEndpoints", "rabbitmqCredentialsSecretArn"} <= set(plan.outputs)
    alarms = {a.name for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert {f"osp-{environment}-monitoring-broker-{a}" for a in ("memory", "disk-free")} <= alarms


def test_a_blueprint_without_a_database_or_cache_gets_neither():
    catalogue = _catalogue("sns-sqs", web=_service() | {"route": "/api/web"})
    plan = offline.run(spec_of("dev"), lambda spec: build(spec, catalogue))
    for token in (DATABASE, CACHE, BROKER, "osp:database:Postgres", "osp:cache:Redis"):
        assert not plan.of_type(token), token
    outputs = set(plan.outputs)
    assert not {o for o in outputs if o.startswith(("postgres", "redis", "rabbitmq"))}
    alarms = {a.name for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert not {a for a in alarms if "-db-" in a or "-redis-" in a or "-broker-" in a}
    # The rest of the estate stands: the cluster, and the service's workload.
    assert plan.of_type("aws:eks/cluster:Cluster")
    assert "osp-dev-web-identity" in {r.name for r in plan.of_type("osp:app:ServiceIdentity")}
