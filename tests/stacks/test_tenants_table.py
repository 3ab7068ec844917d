"""The estate's tenant registry table, in every environment (issue 12): the key schema the
registry code queries, the data key, recovery, protection where the profile protects data."""

from __future__ import annotations

import pytest

from osp.platform.tenancy.registry import (
    STATE_INDEX,
    STATE_INDEX_HASH_KEY,
    STATE_INDEX_RANGE_KEY,
    TABLE_HASH_KEY,
)
from tests.support import plan_of, spec_of

TABLE = "aws:dynamodb/table:Table"


def tenants_table(plan):
    (table,) = plan.of_type(TABLE)
    return table


def test_the_registry_code_s_names_are_pinned():
    # The tenancy registry reads and queries the table by these: renaming one breaks it.
    assert (TABLE_HASH_KEY, STATE_INDEX, STATE_INDEX_HASH_KEY, STATE_INDEX_RANGE_KEY) == (
        "slug",
        "by-state",
        "state",
        "slug",
    )


def test_one_table_named_after_the_environment(environment):
    plan = plan_of(environment)
    table = tenants_table(plan)
    assert table.name == f"osp-{environment}-tenants-table"
    assert table.inputs["name"] == f"osp-{environment}-tenants"
    component = plan.get(table.parent)
    assert (component.type, component.name) == ("osp:table:Table", f"osp-{environment}-tenants")
    assert plan.get(component.parent).type == "pulumi:pulumi:Stack"


def test_key_schema_and_the_state_index(environment):
    inputs = tenants_table(plan_of(environment)).inputs
    assert inputs["hashKey"] == "slug"
    assert "rangeKey" not in inputs
    assert inputs["attributes"] == [{"name": "slug", "type": "S"}, {"name": "state", "type": "S"}]
    assert inputs["globalSecondaryIndexes"] == [
        {
            "name": "by-state",
            "keySchemas": [
                {"attributeName": "state", "keyType": "HASH"},
                {"attributeName": "slug", "keyType": "RANGE"},
            ],
            "projectionType": "ALL",
        }
    ]


def test_on_demand_recoverable_and_encrypted_with_the_data_key(environment):
    plan = plan_of(environment)
    table = tenants_table(plan)
    data_key = plan.named(f"osp-{environment}-keys-data")
    assert table.property_dependencies["serverSideEncryption"] == (data_key.urn,)
    # The same key as the other data stores'.
    database = plan.named(f"osp-{environment}-postgres-primary")
    assert table.inputs["serverSideEncryption"] == {
        "enabled": True,
        "kmsKeyArn": database.inputs["kmsKeyId"],
    }
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert "readCapacity" not in table.inputs
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
    assert table.inputs["streamEnabled"] is False
    assert "ttl" not in table.inputs


def test_protected_where_the_profile_protects_data_stores(environment):
    plan, spec = plan_of(environment), spec_of(environment)
    table = tenants_table(plan)
    database = plan.named(f"osp-{environment}-postgres-primary")
    assert table.inputs["deletionProtectionEnabled"] is spec.deletion_protection
    assert table.options.protect is spec.deletion_protection
    # The same stance as the database's.
    assert table.options.protect is database.options.protect
    assert table.inputs["deletionProtectionEnabled"] is database.inputs["deletionProtection"]


@pytest.mark.parametrize(("environment", "protected"), [("dev", False), ("prod", True)])
def test_protected_in_prod_only(environment, protected):
    table = tenants_table(plan_of(environment))
    assert (table.options.protect, table.inputs["deletionProtectionEnabled"]) == (
        protected,
        protected,
    )


def test_tagged_as_the_tenants_component(environment):
    tags = tenants_table(plan_of(environment)).inputs["tags"]
    assert tags["Name"] == f"osp-{environment}-tenants-table"
    assert tags["osp:component"] == "tenants"
    assert tags["osp:environment"] == environment


def test_exported_as_stack_outputs(environment):
    outputs = plan_of(environment).outputs
    assert outputs["tenantsTable"] == f"osp-{environment}-tenants"
    assert outputs["tenantsTableArn"] == (
        f"arn:aws:dynamodb:us-east-1:123456789012:table/osp-{environment}-tenants"
    )


def test_every_blueprint_has_it():
    plan = plan_of("prod", "learning-hub")
    assert tenants_table(plan).inputs["name"] == "osp-prod-tenants"
    assert plan.outputs["tenantsTable"] == "osp-prod-tenants"
