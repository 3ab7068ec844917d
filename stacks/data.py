"""The blueprint's own data: its DynamoDB tables and its SSM parameter hierarchy."""

from __future__ import annotations

from dataclasses import dataclass

from osp.components import (
    AttributeType,
    BillingMode,
    GlobalSecondaryIndex,
    ParameterHierarchy,
    ParameterHierarchyArgs,
    ParameterValue,
    ProjectionType,
    ScalingBounds,
    Table,
    TableArgs,
    TableAutoscaling,
)
from osp.components.parameters import ParameterType
from osp.platform import naming
from osp.platform.catalogue.tables import Billing, Key, KeyType, Projection
from osp.platform.catalogue.tables import Table as TableEntry
from osp.stacks.context import Context
from osp.stacks.foundation import Foundation

_TYPES = {
    KeyType.STRING: AttributeType.STRING,
    KeyType.NUMBER: AttributeType.NUMBER,
    KeyType.BINARY: AttributeType.BINARY,
}
_PROJECTIONS = {Projection.ALL: ProjectionType.ALL, Projection.KEYS_ONLY: ProjectionType.KEYS_ONLY}


@dataclass(frozen=True)
class Data:
    tables: dict[str, Table]
    """Each catalogue table, by its name in the catalogue."""
    parameters: ParameterHierarchy | None
    """The environment's parameters, when the catalogue declares any."""
    parameter_root: str
    """`/osp/<env>`: the root of the environment's hierarchy."""


def parameter_root(ctx: Context) -> str:
    """`/osp/<env>`, the root the tenant program's `/osp/<env>/tenants/` also lives under."""
    return f"/{naming.PROJECT}/{ctx.spec.name}"


def build(ctx: Context, foundation: Foundation) -> Data:
    tables = {entry.name: _table(ctx, foundation, entry) for entry in ctx.catalogue.tables}
    root = parameter_root(ctx)
    values = [
        ParameterValue(
            owner=owner,
            name=name,
            type=ParameterType(parameter.type.value),
            value=parameter.value(ctx.spec.profile.value),
            description=parameter.description,
        )
        for owner, parameters in ctx.catalogue.parameters.items()
        for name, parameter in parameters.items()
    ]
    hierarchy = (
        ParameterHierarchy(
            ctx.name("parameters"),
            ParameterHierarchyArgs(root=root, parameters=values, tags=ctx.tags("parameters")),
        )
        if values
        else None
    )
    return Data(tables=tables, parameters=hierarchy, parameter_root=root)


def _table(ctx: Context, foundation: Foundation, entry: TableEntry) -> Table:
    attributes: dict[str, AttributeType] = {}

    def declare(key: Key | None) -> str | None:
        if key is None:
            return None
        attributes[key.name] = _TYPES[key.type]
        return key.name

    hash_key = declare(entry.partition_key)
    range_key = declare(entry.sort_key)
    indexes = [
        GlobalSecondaryIndex(
            name=index_name,
            hash_key=declare(index.partition_key),  # type: ignore[arg-type]
            range_key=declare(index.sort_key),
            projection=_PROJECTIONS[index.projection],
        )
        for index_name, index in entry.indexes.items()
    ]
    capacity = entry.capacity
    provisioned = entry.billing is Billing.PROVISIONED and capacity is not None
    return Table(
        ctx.name(f"table-{entry.name}"),
        TableArgs(
            table_name=ctx.name(entry.name),
            attributes=attributes,
            hash_key=hash_key,  # type: ignore[arg-type]
            range_key=range_key,
            global_secondary_indexes=indexes,
            billing_mode=BillingMode.PROVISIONED if provisioned else BillingMode.PAY_PER_REQUEST,
            autoscaling=TableAutoscaling(
                read=ScalingBounds(
                    min_units=capacity.read.min,
                    max_units=capacity.read.max,
                    target_utilization_percent=capacity.read.target,
                ),
                write=ScalingBounds(
                    min_units=capacity.write.min,
                    max_units=capacity.write.max,
                    target_utilization_percent=capacity.write.target,
                ),
            )
            if provisioned
            else None,
            point_in_time_recovery=True,
            ttl_attribute=entry.ttl_attribute,
            # No stream: nothing in the catalogue consumes one yet, and a stream nobody
            # reads only costs.
            kms_key_arn=foundation.keys.data_key_arn,
            deletion_protection=ctx.protect,
            tags=ctx.tags("tables"),
        ),
    )
