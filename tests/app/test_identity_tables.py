"""`ServiceIdentity` with tables and parameters: grants naming exactly the table, its indexes
and the service's own parameter paths; tenant-partitioned tables only through the tenant-data
role, every request bound to the session's tenant by `dynamodb:LeadingKeys`."""

from __future__ import annotations

import json

import pytest

from osp.app.identity import (
    PARAMETER_ACTIONS,
    TABLE_READ_ACTIONS,
    TABLE_WRITE_ACTIONS,
    TENANT_READ_ACTIONS,
    Grants,
    TableGrant,
    problems,
)
from osp.platform.catalogue import Access
from tests.app.test_identity import ACCOUNT, REGION, ROLE, assert_least_privilege, identity_args
from tests.app.test_identity import plan_identity as plan_fee
from tests.support import statements

TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"
TOKENS = TABLE + "osp-prod-payment-tokens"
SESSIONS = TABLE + "osp-prod-sessions"
PARAMETER = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"
OWN, SHARED = "/osp/prod/services/fee", "/osp/prod/shared"
TENANT = "${aws:PrincipalTag/osp:tenant}"

GRANTS = Grants(
    tables=(
        TableGrant(TOKENS, Access.READ),
        TableGrant(SESSIONS, Access.READ_WRITE, index_names=("by-user",), tenant_partitioned=True),
    ),
    parameter_paths=(OWN, SHARED),
)


@pytest.fixture(scope="module")
def plan():
    return plan_fee(grants=GRANTS)


def own_policy(plan):
    return statements(plan.named("osp-t-fee-policy").inputs["policy"])


def tenant_policy(plan):
    return statements(plan.named("osp-t-fee-tenant-policy").inputs["policy"])


def test_the_service_role_reads_only_its_unpartitioned_table(plan):
    by_sid = own_policy(plan)
    assert by_sid["ReadTables"] == {
        "Sid": "ReadTables",
        "Effect": "Allow",
        "Action": sorted(TABLE_READ_ACTIONS),
        "Resource": [TOKENS],
    }
    assert "WriteTables" not in by_sid
    # The partitioned table is nowhere in the service role's own policy.
    assert SESSIONS not in json.dumps(by_sid)
    assert_least_privilege(by_sid)


def test_parameters_at_and_under_exactly_its_paths(plan):
    assert own_policy(plan)["ReadParameters"] == {
        "Sid": "ReadParameters",
        "Effect": "Allow",
        "Action": sorted(PARAMETER_ACTIONS),
        "Resource": [
            f"{PARAMETER}{OWN}",
            f"{PARAMETER}{OWN}/*",
            f"{PARAMETER}{SHARED}",
            f"{PARAMETER}{SHARED}/*",
        ],
    }


def test_the_service_role_may_assume_its_tenant_data_role_only(plan):
    role = plan.named("osp-t-fee-tenant-role")
    assert role.inputs["name"] == "osp-prod-fee-tenant"
    arn = f"arn:aws:iam::{ACCOUNT}:role/osp-prod-fee-tenant"
    assert own_policy(plan)["AssumeTenantDataRole"] == {
        "Sid": "AssumeTenantDataRole",
        "Effect": "Allow",
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Resource": [arn],
    }
    assert plan.outputs.get("role_arn") == f"arn:aws:iam::{ACCOUNT}:role/osp-prod-fee"


def test_the_tenant_data_role_trusts_only_the_service_role_with_a_tenant_tag(plan):
    trust = json.loads(plan.named("osp-t-fee-tenant-role").inputs["assumeRolePolicy"])
    assert trust["Statement"] == [
        {
            "Sid": "AssumedByService",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/osp-prod-fee"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {
                "StringLike": {"aws:RequestTag/osp:tenant": "?*"},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["osp:tenant"]},
            },
        }
    ]


def test_tenant_items_only_bound_by_leading_keys(plan):
    condition = {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [TENANT, f"{TENANT}#*"]},
        "Null": {"dynamodb:LeadingKeys": "false"},
    }
    resources = [SESSIONS, f"{SESSIONS}/index/by-user"]
    assert tenant_policy(plan) == {
        "ReadTenantItemsInTables": {
            "Sid": "ReadTenantItemsInTables",
            "Effect": "Allow",
            "Action": sorted(TENANT_READ_ACTIONS),
            "Resource": resources,
            "Condition": condition,
        },
        "WriteTenantItemsInTables": {
            "Sid": "WriteTenantItemsInTables",
            "Effect": "Allow",
            "Action": sorted(TABLE_WRITE_ACTIONS),
            "Resource": resources,
            "Condition": condition,
        },
    }
    # No Scan, no DescribeTable: neither names a partition key.
    assert "dynamodb:Scan" not in json.dumps(tenant_policy(plan))


def test_without_partitioned_tables_there_is_no_tenant_data_role():
    plan = plan_fee(grants=Grants(tables=(TableGrant(TOKENS, Access.READ_WRITE),)))
    assert [r.name for r in plan.of_type(ROLE)] == ["osp-t-fee-role"]
    by_sid = own_policy(plan)
    assert by_sid["WriteTables"]["Resource"] == [TOKENS]
    assert by_sid["WriteTables"]["Action"] == sorted(TABLE_WRITE_ACTIONS)
    assert "AssumeTenantDataRole" not in by_sid


@pytest.mark.parametrize(
    ("grants", "message"),
    [
        (
            Grants(tables=(TableGrant(TABLE + "*", Access.READ),)),
            "grants.tables[0].arn: got 'arn:aws:dynamodb:us-east-1:123456789012:table/*'; "
            "expected a DynamoDB table ARN",
        ),
        (
            Grants(tables=(TableGrant(TOKENS, Access.READ), TableGrant(TOKENS, Access.READ))),
            f"grants.tables[1].arn: got '{TOKENS}'; expected each table once, with one access",
        ),
        (
            Grants(tables=(TableGrant(TOKENS, "write"),)),
            "grants.tables[0].access: got 'write'; expected read or read-write",
        ),
        (
            Grants(tables=(TableGrant(TOKENS, Access.READ, index_names=("*",)),)),
            "grants.tables[0].index_names[0]: got '*'; expected a DynamoDB index name",
        ),
        (
            Grants(parameter_paths=("/osp/prod/*",)),
            "grants.parameter_paths[0]: got '/osp/prod/*'; expected an SSM parameter path such "
            "as /osp/prod/services/fee (no wildcards, no trailing slash)",
        ),
        (
            Grants(parameter_paths=("/osp/prod/",)),
            "grants.parameter_paths[0]: got '/osp/prod/'; expected an SSM parameter path",
        ),
    ],
)
def test_refuses_bad_grants(grants, message):
    (found,) = problems("osp-t-fee", identity_args(grants=grants))
    assert found.startswith(f"ServiceIdentity osp-t-fee: {message}"), found
