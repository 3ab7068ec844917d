"""`Table` through the offline engine: encryption, recovery, protection, keys, indexes, refusals."""

from __future__ import annotations

import re

import pytest

from osp.components import (
    AttributeType,
    BillingMode,
    GlobalSecondaryIndex,
    ProjectionType,
    StreamViewType,
    Table,
    TableArgs,
)
from osp.components.table import MAX_GLOBAL_SECONDARY_INDEXES, problems
from osp.platform.validation import InvalidArguments
from tests.support import plan_component

TAGS = {"osp:environment": "t", "osp:component": "tenants", "osp:blueprint": "osp",
        "osp:managed-by": "osp"}  # fmt: skip
KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111"
TABLE = "aws:dynamodb/table:Table"
ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/osp-t-tenants"
S, N = AttributeType.STRING, AttributeType.NUMBER
BY_STATE = GlobalSecondaryIndex(name="by-state", hash_key="state", range_key="slug")


def table_args(**overrides) -> TableArgs:
    return TableArgs(
        **{
            "table_name": "osp-t-tenants",
            "attributes": {"slug": S, "state": S},
            "hash_key": "slug",
            "global_secondary_indexes": [BY_STATE],
            "kms_key_arn": KEY,
            "deletion_protection": False,
            "tags": TAGS,
            **overrides,
        }
    )


def plan_table(**overrides):
    return plan_component(
        Table,
        table_args(**overrides),
        name="osp-t-tenants",
        exports=("table_name", "arn", "stream_arn"),
    )


def the_table(plan):
    (table,) = plan.of_type(TABLE)
    return table


@pytest.fixture(scope="module")
def dev():
    return plan_table()


@pytest.fixture(scope="module")
def prod():
    return plan_table(deletion_protection=True)


# -- children ------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_one_table_under_the_component(fixture, request):
    plan = request.getfixturevalue(fixture)
    component = plan.named("osp-t-tenants")
    assert component.type == "osp:table:Table"
    assert [(r.type, r.name) for r in plan.resources if r.custom] == [
        (TABLE, "osp-t-tenants-table")
    ]
    assert the_table(plan).parent == component.urn
    assert the_table(plan).inputs["name"] == "osp-t-tenants"


# -- security ------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_encrypted_with_the_customer_key(fixture, request):
    table = the_table(request.getfixturevalue(fixture))
    assert table.inputs["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": KEY}


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_point_in_time_recovery_is_on_by_default(fixture, request):
    assert the_table(request.getfixturevalue(fixture)).inputs["pointInTimeRecovery"] == {
        "enabled": True
    }


def test_point_in_time_recovery_can_be_turned_off():
    table = the_table(plan_table(point_in_time_recovery=False))
    assert table.inputs["pointInTimeRecovery"] == {"enabled": False}


def test_prod_has_deletion_protection_and_protect(prod):
    table = the_table(prod)
    assert table.inputs["deletionProtectionEnabled"] is True
    assert table.options.protect is True
    assert {r.name for r in prod.resources if r.options.protect} == {"osp-t-tenants-table"}


def test_dev_has_neither(dev):
    assert the_table(dev).inputs["deletionProtectionEnabled"] is False
    assert not any(r.options.protect for r in dev.resources)


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_tagged(fixture, request):
    assert the_table(request.getfixturevalue(fixture)).inputs["tags"] == {
        "Name": "osp-t-tenants-table",
        **TAGS,
    }


# -- keys and indexes ----------------------------------------------------------------------


def test_key_schema_and_attribute_definitions(dev):
    inputs = the_table(dev).inputs
    assert inputs["hashKey"] == "slug"
    assert "rangeKey" not in inputs
    assert inputs["attributes"] == [{"name": "slug", "type": "S"}, {"name": "state", "type": "S"}]


def test_global_secondary_index(dev):
    assert the_table(dev).inputs["globalSecondaryIndexes"] == [
        {
            "name": "by-state",
            "keySchemas": [
                {"attributeName": "state", "keyType": "HASH"},
                {"attributeName": "slug", "keyType": "RANGE"},
            ],
            "projectionType": "ALL",
        }
    ]


def test_range_key_and_index_projections():
    plan = plan_table(
        attributes={"school": S, "student": S, "grade": N, "term": S},
        hash_key="school",
        range_key="student",
        global_secondary_indexes=[
            GlobalSecondaryIndex(name="by-grade", hash_key="grade", projection="KEYS_ONLY"),
            GlobalSecondaryIndex(
                name="by-term",
                hash_key="term",
                range_key="grade",
                projection=ProjectionType.INCLUDE,
                non_key_attributes=["name", "email"],
            ),
        ],
    )
    inputs = the_table(plan).inputs
    assert (inputs["hashKey"], inputs["rangeKey"]) == ("school", "student")
    assert inputs["attributes"] == [
        {"name": "school", "type": "S"},
        {"name": "student", "type": "S"},
        {"name": "grade", "type": "N"},
        {"name": "term", "type": "S"},
    ]
    by_grade, by_term = inputs["globalSecondaryIndexes"]
    assert by_grade == {
        "name": "by-grade",
        "keySchemas": [{"attributeName": "grade", "keyType": "HASH"}],
        "projectionType": "KEYS_ONLY",
    }
    assert by_term["projectionType"] == "INCLUDE"
    assert by_term["nonKeyAttributes"] == ["name", "email"]
    assert [k["keyType"] for k in by_term["keySchemas"]] == ["HASH", "RANGE"]


def test_no_index():
    plan = plan_table(attributes={"slug": S}, global_secondary_indexes=[])
    assert "globalSecondaryIndexes" not in the_table(plan).inputs


# -- billing -------------------------------------------------------------------------------


def test_on_demand_by_default(dev):
    inputs = the_table(dev).inputs
    assert inputs["billingMode"] == "PAY_PER_REQUEST"
    assert "readCapacity" not in inputs and "writeCapacity" not in inputs
    assert all("readCapacity" not in i for i in inputs["globalSecondaryIndexes"])


def test_provisioned_capacity_reaches_the_table_and_its_indexes():
    plan = plan_table(
        billing_mode=BillingMode.PROVISIONED,
        read_capacity_units=10,
        write_capacity_units=5,
        attributes={"slug": S, "state": S, "tier": S},
        global_secondary_indexes=[
            BY_STATE,
            GlobalSecondaryIndex(
                name="by-tier", hash_key="tier", read_capacity_units=2, write_capacity_units=1
            ),
        ],
    )
    inputs = the_table(plan).inputs
    assert (inputs["billingMode"], inputs["readCapacity"], inputs["writeCapacity"]) == (
        "PROVISIONED",
        10,
        5,
    )
    by_state, by_tier = inputs["globalSecondaryIndexes"]
    assert (by_state["readCapacity"], by_state["writeCapacity"]) == (10, 5)
    assert (by_tier["readCapacity"], by_tier["writeCapacity"]) == (2, 1)


# -- TTL, streams, outputs -----------------------------------------------------------------


def test_no_ttl_and_no_stream_by_default(dev):
    inputs = the_table(dev).inputs
    assert "ttl" not in inputs
    assert inputs["streamEnabled"] is False
    assert "streamViewType" not in inputs
    # `stream_arn` is None, and an exported None is no output at all.
    assert dev.outputs == {"table_name": "osp-t-tenants", "arn": ARN}


def test_stream_arn_is_none_without_a_stream():
    built: list[Table] = []

    def factory(name, args, opts):
        built.append(Table(name, args, opts))
        return built[-1]

    plan_component(factory, table_args(), name="osp-t-tenants")
    assert built[0].stream_arn is None


def test_ttl_and_stream_when_asked():
    plan = plan_table(ttl_attribute="expires_at", stream_view_type=StreamViewType.NEW_IMAGE)
    inputs = the_table(plan).inputs
    assert inputs["ttl"] == {"attributeName": "expires_at", "enabled": True}
    assert (inputs["streamEnabled"], inputs["streamViewType"]) == (True, "NEW_IMAGE")
    assert plan.outputs["stream_arn"] == f"{ARN}/stream/2024-01-01T00:00:00.000"


def test_the_plan_is_warning_free(dev):
    # The index keys go through `key_schemas`: the provider's deprecated index hash_key would
    # warn on every preview.
    assert dev.warnings == ()


# -- refusals ------------------------------------------------------------------------------

ALL_OF_THEM = [GlobalSecondaryIndex(name=f"index-{n}", hash_key="state") for n in range(21)]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"table_name": "ab"},
            "table_name: got 'ab'; expected a DynamoDB table name: 3-255 letters, digits, '_', "
            "'.' or '-'",
        ),
        (
            {"table_name": "osp t"},
            "table_name: got 'osp t'; expected a DynamoDB table name: 3-255 letters, digits, '_', "
            "'.' or '-'",
        ),
        (
            {"table_name": "x" * 256},
            f"table_name: got '{'x' * 256}'; expected a DynamoDB table name: 3-255 letters, "
            "digits, '_', '.' or '-'",
        ),
        (
            {"attributes": {}},
            "attributes: got {}; expected a mapping of every key attribute's name to its type, "
            "such as {'slug': AttributeType.STRING}",
        ),
        (
            {"attributes": {"slug": "S", "state": "X"}},
            "attributes['state']: got 'X'; expected S (string), N (number) or B (binary)",
        ),
        (
            {"attributes": {"slug": S, "state": S, "tier": S}},
            "attributes['tier']: got 'tier'; expected an attribute that is a key of the table "
            "or of an index (DynamoDB refuses definitions no key uses)",
        ),
        (
            {"attributes": {"slug": S, "state": S, "": S}},
            "attributes['']: got ''; expected an attribute name of 1-255 bytes",
        ),
        (
            {"hash_key": "id"},
            "hash_key: got 'id'; expected an attribute declared in attributes (slug, state)",
        ),
        (
            {"range_key": "slug"},
            "range_key: got 'slug'; expected an attribute other than the hash key 'slug'",
        ),
        (
            {
                "global_secondary_indexes": [
                    GlobalSecondaryIndex(name="by-tier", hash_key="tier", range_key="state")
                ]
            },
            "global_secondary_indexes[0].hash_key: got 'tier'; expected an attribute declared "
            "in attributes (slug, state)",
        ),
        (
            {
                "global_secondary_indexes": [
                    GlobalSecondaryIndex(name="by-state", hash_key="state", range_key="state")
                ]
            },
            "global_secondary_indexes[0].range_key: got 'state'; expected an attribute other "
            "than the hash key 'state'",
        ),
        (
            {"global_secondary_indexes": [BY_STATE, BY_STATE]},
            "global_secondary_indexes[1].name: got 'by-state'; expected each name once",
        ),
        (
            {"global_secondary_indexes": [GlobalSecondaryIndex(name="by", hash_key="state")]},
            "global_secondary_indexes[0].name: got 'by'; expected a DynamoDB index name: 3-255 "
            "letters, digits, '_', '.' or '-'",
        ),
        (
            {"global_secondary_indexes": ALL_OF_THEM},
            "global_secondary_indexes: got ['index-0', 'index-1', 'index-2', 'index-3', "
            "'index-4', 'index-5', 'index-6', 'index-7', 'index-8', 'index-9', 'index-10', "
            "'index-11', 'index-12', 'index-13', 'index-14', 'index-15', 'index-16', 'index-17', "
            "'index-18', 'index-19', 'index-20']; expected at most 20 global secondary indexes",
        ),
        (
            {"global_secondary_indexes": ["by-state"]},
            "global_secondary_indexes: got ['by-state']; expected a list of GlobalSecondaryIndex",
        ),
        (
            {
                "global_secondary_indexes": [
                    GlobalSecondaryIndex(
                        name="by-state", hash_key="state", projection=ProjectionType.INCLUDE
                    )
                ]
            },
            "global_secondary_indexes[0].non_key_attributes: got []; expected at least one "
            "attribute with projection INCLUDE",
        ),
        (
            {
                "global_secondary_indexes": [
                    GlobalSecondaryIndex(
                        name="by-state", hash_key="state", non_key_attributes=["a"]
                    )
                ]
            },
            "global_secondary_indexes[0].non_key_attributes: got ['a']; expected none with "
            "projection ALL (only INCLUDE names attributes)",
        ),
        (
            {
                "global_secondary_indexes": [
                    GlobalSecondaryIndex(
                        name="by-state",
                        hash_key="state",
                        projection=ProjectionType.INCLUDE,
                        non_key_attributes=["name", "name"],
                    )
                ]
            },
            "global_secondary_indexes[0].non_key_attributes[1]: got 'name'; expected each "
            "attribute once",
        ),
        (
            {
                "global_secondary_indexes": [
                    GlobalSecondaryIndex(
                        name="by-state",
                        hash_key="state",
                        projection=ProjectionType.INCLUDE,
                        non_key_attributes=[f"a{n}" for n in range(101)],
                    )
                ]
            },
            "global_secondary_indexes: got '101 non-key attributes'; expected at most 100 "
            "non-key attributes over all indexes",
        ),
        (
            {
                "global_secondary_indexes": [
                    GlobalSecondaryIndex(name="by-state", hash_key="state", projection="SOME")
                ]
            },
            "global_secondary_indexes[0].projection: got 'SOME'; expected one of ALL, "
            "KEYS_ONLY, INCLUDE",
        ),
        (
            {"billing_mode": "ON_DEMAND"},
            "billing_mode: got 'ON_DEMAND'; expected one of PAY_PER_REQUEST, PROVISIONED",
        ),
        (
            {"billing_mode": BillingMode.PROVISIONED, "write_capacity_units": 5},
            "read_capacity_units: got None; expected a whole number of capacity units, at least 1",
        ),
        (
            {
                "billing_mode": BillingMode.PROVISIONED,
                "read_capacity_units": 0,
                "write_capacity_units": 5,
            },
            "read_capacity_units: got 0; expected a whole number of capacity units, at least 1",
        ),
        (
            {"read_capacity_units": 5},
            "read_capacity_units: got 5; expected None: PAY_PER_REQUEST billing has no "
            "capacity to set",
        ),
        (
            {
                "global_secondary_indexes": [
                    GlobalSecondaryIndex(name="by-state", hash_key="state", write_capacity_units=1)
                ]
            },
            "global_secondary_indexes[0].write_capacity_units: got 1; expected None: "
            "PAY_PER_REQUEST billing has no capacity to set",
        ),
        (
            {"kms_key_arn": None},
            "kms_key_arn: got None; expected a KMS key ARN (the table is always encrypted with it)",
        ),
        (
            {"kms_key_arn": "arn:aws:kms:us-east-1:123456789012:alias/data"},
            "kms_key_arn: got 'arn:aws:kms:us-east-1:123456789012:alias/data'; expected a KMS "
            "key ARN (not an alias) such as arn:aws:kms:us-east-1:123456789012:key/<id>",
        ),
        (
            {
                "attributes": {"slug": S, "state": S, "expires": S},
                "global_secondary_indexes": [
                    GlobalSecondaryIndex(name="by-state", hash_key="state", range_key="expires")
                ],
                "ttl_attribute": "expires",
            },
            "ttl_attribute: got 'expires'; expected a Number attribute (TTL reads epoch "
            "seconds), not one declared S",
        ),
        ({"ttl_attribute": ""}, "ttl_attribute: got ''; expected an attribute name of 1-255 bytes"),
        (
            {"stream_view_type": "ALL"},
            "stream_view_type: got 'ALL'; expected one of KEYS_ONLY, NEW_IMAGE, OLD_IMAGE, "
            "NEW_AND_OLD_IMAGES, or None (no stream)",
        ),
    ],
)
def test_refuses_bad_args(overrides, message):
    found = problems("osp-t-tenants", table_args(**overrides))
    assert found == [f"Table osp-t-tenants: {message}"]


def test_reports_every_problem_at_once():
    bad = {"table_name": "x", "hash_key": "id", "global_secondary_indexes": [], "kms_key_arn": None}
    with pytest.raises(InvalidArguments) as raised:
        plan_table(**bad)
    assert raised.value.problems == problems("osp-t-tenants", table_args(**bad))
    assert [p.split(": ")[1] for p in raised.value.problems] == [
        "table_name",
        "hash_key",
        "attributes['slug']",
        "attributes['state']",
        "kms_key_arn",
    ]


def test_refusal_names_the_table_through_the_constructor():
    message = "Table osp-t-tenants: table_name: got 'ab'; expected a DynamoDB table name"
    with pytest.raises(InvalidArguments, match=re.escape(message)):
        plan_table(table_name="ab")


def test_the_limits_are_dynamodb_s():
    assert MAX_GLOBAL_SECONDARY_INDEXES == 20
    accepted = problems("t", table_args(table_name="a_b.c-D9", global_secondary_indexes=[
        GlobalSecondaryIndex(name=f"index-{n}", hash_key="state") for n in range(20)
    ]))  # fmt: skip
    assert accepted == []
