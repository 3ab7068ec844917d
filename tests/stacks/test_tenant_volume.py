"""A silo tenant runs its own copy of the services: a blueprint whose services keep a volume
is refused for silos, naming the services, rather than run without their directories."""

from __future__ import annotations

from osp.platform.catalogue import parse_catalogue_text
from osp.stacks.tenant_services import check_blueprint
from tests.platform.test_catalogue import BASE, ORDERS_USES, variant


def test_a_blueprint_with_a_volume_is_refused_for_silo_tenants():
    text = variant((ORDERS_USES, "    uses:\n      volume: {path: /data}\n      publishes"))
    catalogue = parse_catalogue_text(text, source="blueprint.yaml")
    assert check_blueprint(catalogue) == (
        "the demo blueprint's orders keeps a volume (uses.volume) on the estate's EFS file "
        "system, and osp gives silo tenants no volumes of their own: run silo tenants on a "
        "blueprint without volumes"
    )


def test_without_volumes_an_sns_sqs_blueprint_may_run_in_silos():
    assert check_blueprint(parse_catalogue_text(BASE, source="blueprint.yaml")) is None
