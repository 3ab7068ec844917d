"""The guardrail catalogue: every rule osp checks, one module per area.

`RULES` is the catalogue (a tuple of osp.platform.policy.model.Rule) in id order; `osp policy
list` prints it, `osp policy check` and the CrossGuard pack (policy/) run it.
"""

from __future__ import annotations

import re

from osp.platform.policy.rules import (
    cluster,
    data_stores,
    edge,
    filesystems,
    identity,
    log_groups,
    messaging,
    network,
    parameters,
    releases,
    secrets,
    serverless,
    storage,
    streaming,
    tagging,
    tenancy,
    workloads,
)


def _order(rule_id: str) -> tuple[str, int]:
    """`OSP-S3-10` after `OSP-S3-9`."""
    area, number = re.fullmatch(r"OSP-([A-Z0-9]+)-(\d+)", rule_id).groups()  # type: ignore[union-attr]
    return area, int(number)


RULES = tuple(
    sorted(
        (
            *cluster.RULES,
            *data_stores.RULES,
            *edge.RULES,
            *filesystems.RULES,
            *identity.RULES,
            *log_groups.RULES,
            *messaging.RULES,
            *network.RULES,
            *parameters.RULES,
            *releases.RULES,
            *secrets.RULES,
            *serverless.RULES,
            *storage.RULES,
            *streaming.RULES,
            *tagging.RULES,
            *tenancy.RULES,
            *workloads.RULES,
        ),
        key=lambda rule: _order(rule.id),
    )
)

__all__ = ["RULES"]
