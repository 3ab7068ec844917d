"""`Table`: one DynamoDB table, encrypted with a customer key, recoverable to any second."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import pulumi
import pulumi_aws as aws

from osp.platform import limits
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:table:Table"


class AttributeType(StrEnum):
    """The type of a key attribute (DynamoDB's `ScalarAttributeType`)."""

    STRING = "S"
    NUMBER = "N"
    BINARY = "B"


class ProjectionType(StrEnum):
    """Which attributes a global secondary index copies from the table."""

    #: Every attribute: a query on the index never goes back to the table.
    ALL = "ALL"
    #: The table's and the index's keys only.
    KEYS_ONLY = "KEYS_ONLY"
    #: The keys and the `non_key_attributes` named.
    INCLUDE = "INCLUDE"


class BillingMode(StrEnum):
    """How the table's reads and writes are paid for."""

    #: On demand: per request, no capacity to plan, scales with the traffic.
    PAY_PER_REQUEST = "PAY_PER_REQUEST"
    #: Provisioned read and write capacity units, paid per hour whether used or not.
    PROVISIONED = "PROVISIONED"


class StreamViewType(StrEnum):
    """What a DynamoDB Streams record holds about the item that changed."""

    KEYS_ONLY = "KEYS_ONLY"
    NEW_IMAGE = "NEW_IMAGE"
    OLD_IMAGE = "OLD_IMAGE"
    NEW_AND_OLD_IMAGES = "NEW_AND_OLD_IMAGES"


#: DynamoDB's default quota of global secondary indexes per table.
MAX_GLOBAL_SECONDARY_INDEXES = 20
#: Attributes projected with INCLUDE, summed over every index of a table.
MAX_PROJECTED_ATTRIBUTES = 100

# Table and index names: 3-255 letters, digits, '_', '.' and '-'.
_TABLE_NAME = limits.pattern(
    r"[A-Za-z0-9_.-]{3,255}",
    "a DynamoDB table name: 3-255 letters, digits, '_', '.' or '-'",
)
_INDEX_NAME = limits.pattern(
    r"[A-Za-z0-9_.-]{3,255}",
    "a DynamoDB index name: 3-255 letters, digits, '_', '.' or '-'",
)
# Key attribute names (and osp's other named attributes): 1-255 bytes of UTF-8.
_ATTRIBUTE_NAME = limits.Constraint(
    "an attribute name of 1-255 bytes",
    lambda v: isinstance(v, str) and 1 <= len(v.encode()) <= 255,
)
_ATTRIBUTE_TYPE = limits.one_of(
    tuple(t.value for t in AttributeType), "S (string), N (number) or B (binary)"
)
_PROJECTION = limits.one_of(tuple(p.value for p in ProjectionType))
_BILLING = limits.one_of(tuple(b.value for b in BillingMode))
_STREAM_VIEW = limits.optional(
    limits.one_of(tuple(s.value for s in StreamViewType)), " (no stream)"
)
_CAPACITY = limits.Constraint(
    "a whole number of capacity units, at least 1",
    lambda v: limits.is_int(v) and v >= 1,  # type: ignore[operator]
)
# Application Auto Scaling's DynamoDB target tracking accepts 20-90 %.
_TARGET_UTILIZATION = limits.Constraint(
    "a whole percentage from 20 to 90",
    lambda v: limits.is_int(v) and 20 <= v <= 90,  # type: ignore[operator]
)


@dataclass(frozen=True, kw_only=True)
class GlobalSecondaryIndex:
    """A global secondary index: another key to query the table by."""

    name: str
    """Index name, unique in the table: 3-255 letters, digits, '_', '.' or '-'."""

    hash_key: str
    """Partition key of the index: an attribute declared in the table's `attributes`."""

    range_key: str | None = None
    """Sort key of the index, declared in `attributes`. Default: none (hash key only)."""

    projection: ProjectionType = ProjectionType.ALL
    """Which attributes the index holds. Default: ALL, so a query never reads the table."""

    non_key_attributes: Sequence[str] = ()
    """With `INCLUDE` (and only then): the attributes the index holds besides the keys."""

    read_capacity_units: int | None = None
    """With `PROVISIONED` billing: the index's read capacity. Default: the table's."""

    write_capacity_units: int | None = None
    """With `PROVISIONED` billing: the index's write capacity. Default: the table's."""


@dataclass(frozen=True, kw_only=True)
class ScalingBounds:
    """Where Application Auto Scaling keeps one kind of provisioned capacity."""

    min_units: int
    """Capacity units it never goes below (at least 1)."""

    max_units: int
    """Capacity units it never goes above (at least `min_units`)."""

    target_utilization_percent: int = 70
    """Consumed capacity, as a percentage of provisioned, that it steers towards (20-90).
    Default: 70."""


@dataclass(frozen=True, kw_only=True)
class TableAutoscaling:
    """Autoscaling of a provisioned table's reads and writes; every index of the table scales
    between the same bounds."""

    read: ScalingBounds
    write: ScalingBounds


@dataclass(frozen=True, kw_only=True)
class TableArgs:
    """Arguments of `Table`."""

    table_name: str
    """Physical table name, chosen by the caller (unique in the account and region): 3-255
    letters, digits, '_', '.' or '-'. Fixed at creation: changing it replaces the table."""

    attributes: Mapping[str, AttributeType]
    """Every key attribute, once, with its type: the table's keys and every index's keys
    name attributes declared here, and every attribute declared here is a key of the table
    or of an index (DynamoDB refuses definitions no key uses). Other attributes of the items
    need no declaration."""

    hash_key: str
    """Partition key of the table, declared in `attributes`."""

    kms_key_arn: pulumi.Input[str]
    """Customer KMS key the table, its indexes, streams and backups are encrypted with."""

    deletion_protection: bool
    """DynamoDB deletion protection (the table cannot be deleted by anyone until it is
    turned off) and Pulumi `protect` on the table."""

    range_key: str | None = None
    """Sort key of the table, declared in `attributes`. Default: none (hash key only)."""

    global_secondary_indexes: Sequence[GlobalSecondaryIndex] = ()
    """At most 20 global secondary indexes, each name once. Default: none."""

    billing_mode: BillingMode = BillingMode.PAY_PER_REQUEST
    """Default: on demand. `PROVISIONED` needs `read_capacity_units` and
    `write_capacity_units`."""

    read_capacity_units: int | None = None
    """With `PROVISIONED` billing (and only then): the table's read capacity units."""

    write_capacity_units: int | None = None
    """With `PROVISIONED` billing (and only then): the table's write capacity units."""

    autoscaling: TableAutoscaling | None = None
    """With `PROVISIONED` billing (and only then): a scalable target and a target-tracking
    policy for the reads and the writes of the table and of each index. The capacity units
    above (default: the bounds' minimums) are then only where it starts: Pulumi ignores the
    autoscaler's later changes to them. Default: fixed capacity."""

    point_in_time_recovery: bool = True
    """Continuous backups: the table can be restored to any second of the last 35 days.
    Default: on."""

    ttl_attribute: str | None = None
    """Attribute holding each item's expiry time (a Number, epoch seconds): DynamoDB deletes
    an item some time after it. Default: items never expire."""

    stream_view_type: StreamViewType | None = None
    """Turn on DynamoDB Streams, with records of this kind. Default: no stream."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the table (osp's tag set, from osp.platform.naming.standard_tags)."""


def problems(name: str, args: TableArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("Table", name)
    check.against(_TABLE_NAME, "table_name", args.table_name)
    declared = _check_attributes(check, args.attributes)
    used: set[str] = set()
    _check_keys(check, "", args.hash_key, args.range_key, declared, used)
    if not _check_indexes(check, args, declared, used):
        used = set(declared)  # which keys the indexes name is unknown: blame no attribute
    for attribute in declared:
        check.check(
            attribute in used,
            f"attributes[{attribute!r}]",
            attribute,
            "an attribute that is a key of the table or of an index (DynamoDB refuses "
            "definitions no key uses)",
        )
    _check_billing(check, args)
    _check_autoscaling(check, args)
    _check_key(check, args.kms_key_arn)
    if args.ttl_attribute is not None and check.against(
        _ATTRIBUTE_NAME, "ttl_attribute", args.ttl_attribute
    ):
        kind = declared.get(args.ttl_attribute) or AttributeType.NUMBER
        check.check(
            kind == AttributeType.NUMBER,
            "ttl_attribute",
            args.ttl_attribute,
            f"a Number attribute (TTL reads epoch seconds), not one declared {kind}",
        )
    check.against(_STREAM_VIEW, "stream_view_type", args.stream_view_type)
    return check.found


def _check_attributes(check: Problems, attributes: object) -> dict[str, AttributeType | None]:
    """The declared attributes with a valid name, each with its type (None if invalid)."""
    if not check.check(
        isinstance(attributes, Mapping) and bool(attributes),
        "attributes",
        attributes,
        "a mapping of every key attribute's name to its type, such as {'slug': "
        "AttributeType.STRING}",
    ):
        return {}
    declared: dict[str, AttributeType | None] = {}
    for attribute, kind in attributes.items():  # type: ignore[union-attr]
        where = f"attributes[{attribute!r}]"
        if not check.against(_ATTRIBUTE_NAME, where, attribute):
            continue
        type_ok = check.against(_ATTRIBUTE_TYPE, where, kind)
        declared[attribute] = AttributeType(kind) if type_ok else None
    return declared


def _check_keys(
    check: Problems,
    where: str,
    hash_key: object,
    range_key: object,
    declared: Mapping[str, object],
    used: set[str],
) -> None:
    """A hash key and an optional range key: declared, distinct."""
    for arg, key in (("hash_key", hash_key), ("range_key", range_key)):
        if key is None and arg == "range_key":
            continue
        if isinstance(key, str):
            used.add(key)
        if declared and isinstance(key, str):
            check.check(
                key in declared,
                f"{where}{arg}",
                key,
                "an attribute declared in attributes (" + ", ".join(sorted(declared)) + ")",
            )
        else:
            check.against(_ATTRIBUTE_NAME, f"{where}{arg}", key)
    if isinstance(range_key, str):
        check.check(
            range_key != hash_key,
            f"{where}range_key",
            range_key,
            f"an attribute other than the hash key {hash_key!r}",
        )


def _check_indexes(
    check: Problems, args: TableArgs, declared: Mapping[str, object], used: set[str]
) -> bool:
    """Check the indexes, adding the attributes their keys use to `used`; returns whether
    `global_secondary_indexes` is a list of indexes at all."""
    indexes = args.global_secondary_indexes
    if not check.check(
        not isinstance(indexes, str) and all(isinstance(i, GlobalSecondaryIndex) for i in indexes),
        "global_secondary_indexes",
        indexes,
        "a list of GlobalSecondaryIndex",
    ):
        return False
    indexes = list(indexes)
    check.check(
        len(indexes) <= MAX_GLOBAL_SECONDARY_INDEXES,
        "global_secondary_indexes",
        [i.name for i in indexes],
        f"at most {MAX_GLOBAL_SECONDARY_INDEXES} global secondary indexes",
    )
    provisioned = args.billing_mode == BillingMode.PROVISIONED
    names: set[str] = set()
    projected = 0
    for position, index in enumerate(indexes):
        where = f"global_secondary_indexes[{position}]."
        if check.against(_INDEX_NAME, f"{where}name", index.name):
            check.check(index.name not in names, f"{where}name", index.name, "each name once")
            names.add(index.name)
        _check_keys(check, where, index.hash_key, index.range_key, declared, used)
        projected += _check_projection(check, where, index)
        for arg in ("read_capacity_units", "write_capacity_units"):
            value = getattr(index, arg)
            if value is not None and check.check(
                provisioned,
                f"{where}{arg}",
                value,
                "None: PAY_PER_REQUEST billing has no capacity to set",
            ):
                check.against(_CAPACITY, f"{where}{arg}", value)
    check.check(
        projected <= MAX_PROJECTED_ATTRIBUTES,
        "global_secondary_indexes",
        f"{projected} non-key attributes",
        f"at most {MAX_PROJECTED_ATTRIBUTES} non-key attributes over all indexes",
    )
    return True


def _check_projection(check: Problems, where: str, index: GlobalSecondaryIndex) -> int:
    """Check the index's projection; returns how many non-key attributes it projects."""
    if not check.against(_PROJECTION, f"{where}projection", index.projection):
        return 0
    attributes = index.non_key_attributes
    if not check.check(
        not isinstance(attributes, str),
        f"{where}non_key_attributes",
        attributes,
        "a list of attribute names, not one string",
    ):
        return 0
    attributes = list(attributes)
    if index.projection != ProjectionType.INCLUDE:
        check.check(
            not attributes,
            f"{where}non_key_attributes",
            attributes,
            f"none with projection {ProjectionType(index.projection).value} (only INCLUDE "
            "names attributes)",
        )
        return 0
    check.check(
        bool(attributes),
        f"{where}non_key_attributes",
        attributes,
        "at least one attribute with projection INCLUDE",
    )
    seen: set[str] = set()
    for position, attribute in enumerate(attributes):
        arg = f"{where}non_key_attributes[{position}]"
        if check.against(_ATTRIBUTE_NAME, arg, attribute):
            check.check(attribute not in seen, arg, attribute, "each attribute once")
            seen.add(attribute)
    return len(attributes)


def _check_billing(check: Problems, args: TableArgs) -> None:
    if not check.against(_BILLING, "billing_mode", args.billing_mode):
        return
    provisioned = args.billing_mode == BillingMode.PROVISIONED
    for arg in ("read_capacity_units", "write_capacity_units"):
        value = getattr(args, arg)
        if provisioned:
            if value is not None or args.autoscaling is None:
                check.against(_CAPACITY, arg, value)
        else:
            check.check(
                value is None, arg, value, "None: PAY_PER_REQUEST billing has no capacity to set"
            )


def _check_autoscaling(check: Problems, args: TableArgs) -> None:
    scaling = args.autoscaling
    if scaling is None:
        return
    if not check.check(
        isinstance(scaling, TableAutoscaling), "autoscaling", scaling, "a TableAutoscaling"
    ):
        return
    check.check(
        args.billing_mode == BillingMode.PROVISIONED,
        "autoscaling",
        "set",
        "None: PAY_PER_REQUEST billing scales by itself (or billing_mode PROVISIONED)",
    )
    for kind in ("read", "write"):
        bounds = getattr(scaling, kind)
        where = f"autoscaling.{kind}"
        if not check.check(isinstance(bounds, ScalingBounds), where, bounds, "a ScalingBounds"):
            continue
        ok = check.against(_CAPACITY, f"{where}.min_units", bounds.min_units)
        if check.against(_CAPACITY, f"{where}.max_units", bounds.max_units) and ok:
            check.check(
                bounds.max_units >= bounds.min_units,
                f"{where}.max_units",
                bounds.max_units,
                f"at least min_units ({bounds.min_units})",
            )
        check.against(
            _TARGET_UTILIZATION,
            f"{where}.target_utilization_percent",
            bounds.target_utilization_percent,
        )
        start = getattr(args, f"{kind}_capacity_units")
        if ok and limits.is_int(start) and limits.is_int(bounds.max_units):
            check.check(
                bounds.min_units <= start <= bounds.max_units,
                f"{kind}_capacity_units",
                start,
                f"a number between autoscaling.{kind}'s bounds "
                f"({bounds.min_units}-{bounds.max_units}), or None to start at the minimum",
            )


def _check_key(check: Problems, key: object) -> None:
    if key is None:
        check.add("kms_key_arn", key, "a KMS key ARN (the table is always encrypted with it)")
    elif isinstance(key, str):
        check.against(limits.KMS_KEY_ARN, "kms_key_arn", key)


def _key_schema(hash_key: str, range_key: str | None) -> list[dict[str, str]]:
    schema = [{"attribute_name": hash_key, "key_type": "HASH"}]
    if range_key is not None:
        schema.append({"attribute_name": range_key, "key_type": "RANGE"})
    return schema


def _index(
    index: GlobalSecondaryIndex, args: TableArgs
) -> aws.dynamodb.TableGlobalSecondaryIndexArgs:
    include = index.projection == ProjectionType.INCLUDE
    read, write = None, None
    if args.billing_mode == BillingMode.PROVISIONED:
        read = index.read_capacity_units or _start(args, "read")
        write = index.write_capacity_units or _start(args, "write")
    return aws.dynamodb.TableGlobalSecondaryIndexArgs(
        name=index.name,
        # `key_schemas`, not the index's `hash_key`/`range_key`, which the provider deprecates.
        key_schemas=[
            aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(**part)
            for part in _key_schema(index.hash_key, index.range_key)
        ],
        projection_type=ProjectionType(index.projection).value,
        non_key_attributes=list(index.non_key_attributes) if include else None,
        read_capacity=read,
        write_capacity=write,
    )


def _start(args: TableArgs, kind: str) -> int | None:
    """The provisioned capacity the table starts with: as given, else autoscaling's minimum."""
    given = getattr(args, f"{kind}_capacity_units")
    if given is None and args.autoscaling is not None:
        return getattr(args.autoscaling, kind).min_units
    return given


#: What each scalable dimension is called, and the metric its policy tracks.
_SCALED = {
    "read": ("ReadCapacityUnits", "DynamoDBReadCapacityUtilization"),
    "write": ("WriteCapacityUnits", "DynamoDBWriteCapacityUtilization"),
}


class Table(pulumi.ComponentResource):
    """One DynamoDB table, secure by default.

    Encrypted at rest with the customer key given (the table, its indexes, its stream and its
    backups); point-in-time recovery on; on-demand billing unless capacity is provisioned;
    `deletion_protection` turns on DynamoDB's own deletion protection and Pulumi `protect`.
    Global secondary indexes, a TTL attribute and a stream when asked.
    """

    table_name: pulumi.Output[str]
    """The physical table name (for SDK calls and IAM policies)."""
    arn: pulumi.Output[str]
    """The table's ARN; its indexes are `<arn>/index/<name>`."""
    stream_arn: pulumi.Output[str] | None
    """The stream's ARN, or None when the table has no stream."""

    def __init__(
        self, name: str, args: TableArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        provisioned = args.billing_mode == BillingMode.PROVISIONED
        stream = args.stream_view_type is not None
        table_child = f"{name}-table"
        table = aws.dynamodb.Table(
            table_child,
            name=args.table_name,
            attributes=[
                aws.dynamodb.TableAttributeArgs(name=attribute, type=AttributeType(kind).value)
                for attribute, kind in args.attributes.items()
            ],
            hash_key=args.hash_key,
            range_key=args.range_key,
            global_secondary_indexes=[_index(i, args) for i in args.global_secondary_indexes]
            or None,
            billing_mode=BillingMode(args.billing_mode).value,
            read_capacity=_start(args, "read") if provisioned else None,
            write_capacity=_start(args, "write") if provisioned else None,
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                enabled=True, kms_key_arn=args.kms_key_arn
            ),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(
                enabled=args.point_in_time_recovery
            ),
            ttl=aws.dynamodb.TableTtlArgs(attribute_name=args.ttl_attribute, enabled=True)
            if args.ttl_attribute is not None
            else None,
            stream_enabled=stream,
            stream_view_type=StreamViewType(args.stream_view_type).value if stream else None,
            deletion_protection_enabled=args.deletion_protection,
            tags={"Name": table_child} | dict(args.tags),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.deletion_protection,
                # The autoscaler owns the capacity once it is on; Pulumi would undo it.
                ignore_changes=[
                    "readCapacity",
                    "writeCapacity",
                    "globalSecondaryIndexes[*].readCapacity",
                    "globalSecondaryIndexes[*].writeCapacity",
                ]
                if args.autoscaling is not None
                else None,
            ),
        )
        if args.autoscaling is not None:
            self._autoscale(name, args, table)
        self.table_name = table.name
        self.arn = table.arn
        self.stream_arn = table.stream_arn if stream else None
        self.register_outputs(
            {"tableName": self.table_name, "arn": self.arn, "streamArn": self.stream_arn}
        )

    def _autoscale(self, name: str, args: TableArgs, table: aws.dynamodb.Table) -> None:
        """A scalable target and a target-tracking policy per kind of capacity, for the
        table (`<name>-read`, `<name>-write`) and each index (`<name>-<index>-read` …)."""
        assert args.autoscaling is not None
        scaled = [(name, "table", table.name.apply(lambda n: f"table/{n}"))] + [
            (
                f"{name}-{index.name}",
                "index",
                table.name.apply(lambda n, i=index.name: f"table/{n}/index/{i}"),
            )
            for index in args.global_secondary_indexes
        ]
        child = pulumi.ResourceOptions(parent=self, depends_on=[table])
        for prefix, level, resource_id in scaled:
            for kind, (dimension, metric) in _SCALED.items():
                bounds: ScalingBounds = getattr(args.autoscaling, kind)
                target = aws.appautoscaling.Target(
                    f"{prefix}-{kind}",
                    service_namespace="dynamodb",
                    resource_id=resource_id,
                    scalable_dimension=f"dynamodb:{level}:{dimension}",
                    min_capacity=bounds.min_units,
                    max_capacity=bounds.max_units,
                    tags={"Name": f"{prefix}-{kind}"} | dict(args.tags),
                    opts=child,
                )
                aws.appautoscaling.Policy(
                    f"{prefix}-{kind}-tracking",
                    name=f"{prefix}-{kind}-tracking",
                    policy_type="TargetTrackingScaling",
                    service_namespace=target.service_namespace,
                    resource_id=target.resource_id,
                    scalable_dimension=target.scalable_dimension,
                    target_tracking_scaling_policy_configuration=(
                        aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                            target_value=bounds.target_utilization_percent,
                            predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                                predefined_metric_type=metric
                            ),
                        )
                    ),
                    opts=pulumi.ResourceOptions(parent=self),
                )
