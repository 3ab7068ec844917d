"""Durability of the data stores: what a production environment must never lose."""

from __future__ import annotations

from osp.platform.plan import PlannedResource
from osp.platform.policy.model import Check, Rule, Scope, Severity

RDS_INSTANCE = "aws:rds/instance:Instance"


def _multi_az(resource: PlannedResource, scope: Scope) -> Check | None:
    if not scope.context.production or resource.inputs.get("replicateSourceDb"):
        return None  # replicas take their durability from their primary
    multi_az = resource.inputs.get("multiAz")
    return Check.of(multi_az is True, "" if multi_az else "Multi-AZ is off", multiAz=multi_az)


RULES = (
    Rule(
        id="OSP-RDS-1",
        title="Production databases are Multi-AZ",
        severity=Severity.HIGH,
        controls=("RDS.5",),
        rationale="A single-AZ instance is down for the whole of a zone outage or a host "
        "failure, and a restore loses everything since the last backup.",
        fix="Set `multi_az: true` for the environment's database (osp:database.multi_az).",
        types=(RDS_INSTANCE,),
        check=_multi_az,
    ),
)
