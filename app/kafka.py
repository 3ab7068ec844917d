"""`KafkaGrant`: what one service may do on the estate's MSK cluster.

Kafka authorises IAM-authenticated clients by their role's policy alone, so a service's topics
and consumer group are granted where its queues and buckets are: in its IRSA role's policy
(osp.app.identity), by the statements `osp.components.streaming.kafka_statements` writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from osp.components import streaming


@dataclass(frozen=True)
class KafkaGrant:
    """Connect to one MSK cluster, write exactly `produces`, read exactly `consumes` in the
    consumer group `group` (the service's own)."""

    cluster_arn: pulumi.Input[str]
    """The cluster's ARN; topic and group ARNs are derived from it."""

    produces: Sequence[str] = ()
    consumes: Sequence[str] = ()
    group: str | None = None
    """The consumer group; required when the grant consumes."""

    def statements(self, cluster_arn: str) -> list[dict[str, Any]]:
        """The policy statements, once the cluster's ARN is known."""
        return streaming.kafka_statements(
            cluster_arn, produces=self.produces, consumes=self.consumes, group=self.group
        )


def kafka_grant_problems(grant: object) -> list[tuple[str, object, str]]:
    """(arg, value, expected) for each problem of a service's Kafka grant."""
    if grant is None:
        return []
    if not isinstance(grant, KafkaGrant):
        return [("grants.kafka", grant, "a KafkaGrant or None")]
    found: list[tuple[str, object, str]] = []
    if isinstance(grant.cluster_arn, str) and not streaming.CLUSTER_ARN.fullmatch(
        grant.cluster_arn
    ):
        found.append(("grants.kafka.cluster_arn", grant.cluster_arn, "an MSK cluster ARN"))
    for arg in ("produces", "consumes"):
        topics = getattr(grant, arg)
        if isinstance(topics, str) or len(set(topics)) != len(topics) or "*" in "".join(topics):
            found.append((f"grants.kafka.{arg}", topics, "a list of topic names, each once"))
    if not (grant.produces or grant.consumes):
        found.append(("grants.kafka", grant, "at least one topic produced or consumed"))
    if grant.consumes and not grant.group:
        found.append(("grants.kafka.group", grant.group, "the service's consumer group"))
    return found
