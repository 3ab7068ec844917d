"""`Table` with provisioned capacity under autoscaling: targets, policies, what Pulumi ignores."""

from __future__ import annotations

import pytest

from osp.components import BillingMode, ScalingBounds, TableAutoscaling
from osp.components.table import problems
from tests.components.test_table import TABLE, plan_table, table_args, the_table

TARGET = "aws:appautoscaling/target:Target"
POLICY = "aws:appautoscaling/policy:Policy"
SCALING = TableAutoscaling(
    read=ScalingBounds(min_units=5, max_units=100, target_utilization_percent=70),
    write=ScalingBounds(min_units=2, max_units=40, target_utilization_percent=60),
)


@pytest.fixture(scope="module")
def scaled():
    return plan_table(billing_mode=BillingMode.PROVISIONED, autoscaling=SCALING)


def test_starts_at_the_minimums_on_the_table_and_its_index(scaled):
    inputs = the_table(scaled).inputs
    assert (inputs["billingMode"], inputs["readCapacity"], inputs["writeCapacity"]) == (
        "PROVISIONED",
        5,
        2,
    )
    (index,) = inputs["globalSecondaryIndexes"]
    assert (index["readCapacity"], index["writeCapacity"]) == (5, 2)


def test_pulumi_leaves_the_capacity_to_the_autoscaler(scaled):
    assert set(the_table(scaled).options.ignore_changes) == {
        "readCapacity",
        "writeCapacity",
        "globalSecondaryIndexes[*].readCapacity",
        "globalSecondaryIndexes[*].writeCapacity",
    }


def test_fixed_capacity_is_not_ignored():
    plan = plan_table(
        billing_mode=BillingMode.PROVISIONED, read_capacity_units=5, write_capacity_units=5
    )
    assert the_table(plan).options.ignore_changes == ()
    assert plan.of_type(TARGET) == [] and plan.of_type(POLICY) == []


def test_a_target_per_kind_for_the_table_and_each_index(scaled):
    targets = {r.name: r.inputs for r in scaled.of_type(TARGET)}
    arn_table = "table/osp-t-tenants"
    assert {
        name: (i["serviceNamespace"], i["resourceId"], i["scalableDimension"], i["minCapacity"],
               i["maxCapacity"])
        for name, i in targets.items()
    } == {
        "osp-t-tenants-read": ("dynamodb", arn_table, "dynamodb:table:ReadCapacityUnits", 5, 100),
        "osp-t-tenants-write": ("dynamodb", arn_table, "dynamodb:table:WriteCapacityUnits", 2, 40),
        "osp-t-tenants-by-state-read": (
            "dynamodb", f"{arn_table}/index/by-state", "dynamodb:index:ReadCapacityUnits", 5, 100
        ),
        "osp-t-tenants-by-state-write": (
            "dynamodb", f"{arn_table}/index/by-state", "dynamodb:index:WriteCapacityUnits", 2, 40
        ),
    }  # fmt: skip


def test_a_target_tracking_policy_per_target(scaled):
    policies = {r.name: r.inputs for r in scaled.of_type(POLICY)}
    assert {
        name: (
            i["policyType"],
            i["scalableDimension"],
            i["targetTrackingScalingPolicyConfiguration"]["targetValue"],
            i["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"][
                "predefinedMetricType"
            ],
        )
        for name, i in policies.items()
    } == {
        "osp-t-tenants-read-tracking": (
            "TargetTrackingScaling", "dynamodb:table:ReadCapacityUnits", 70,
            "DynamoDBReadCapacityUtilization",
        ),
        "osp-t-tenants-write-tracking": (
            "TargetTrackingScaling", "dynamodb:table:WriteCapacityUnits", 60,
            "DynamoDBWriteCapacityUtilization",
        ),
        "osp-t-tenants-by-state-read-tracking": (
            "TargetTrackingScaling", "dynamodb:index:ReadCapacityUnits", 70,
            "DynamoDBReadCapacityUtilization",
        ),
        "osp-t-tenants-by-state-write-tracking": (
            "TargetTrackingScaling", "dynamodb:index:WriteCapacityUnits", 60,
            "DynamoDBWriteCapacityUtilization",
        ),
    }  # fmt: skip


def test_the_targets_wait_for_the_table(scaled):
    table = the_table(scaled)
    for target in scaled.of_type(TARGET):
        assert table.urn in target.dependencies


def test_still_encrypted_and_recoverable(scaled):
    inputs = the_table(scaled).inputs
    assert inputs["serverSideEncryption"]["enabled"] is True
    assert inputs["pointInTimeRecovery"] == {"enabled": True}
    assert [r.type for r in scaled.resources if r.custom].count(TABLE) == 1


def bounds(**overrides) -> ScalingBounds:
    return ScalingBounds(**{"min_units": 5, "max_units": 10, **overrides})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"autoscaling": SCALING},
            "autoscaling: got 'set'; expected None: PAY_PER_REQUEST billing scales by itself "
            "(or billing_mode PROVISIONED)",
        ),
        (
            {
                "billing_mode": BillingMode.PROVISIONED,
                "autoscaling": TableAutoscaling(read=bounds(max_units=4), write=bounds()),
            },
            "autoscaling.read.max_units: got 4; expected at least min_units (5)",
        ),
        (
            {
                "billing_mode": BillingMode.PROVISIONED,
                "autoscaling": TableAutoscaling(read=bounds(), write=bounds(min_units=0)),
            },
            "autoscaling.write.min_units: got 0; expected a whole number of capacity units, "
            "at least 1",
        ),
        (
            {
                "billing_mode": BillingMode.PROVISIONED,
                "autoscaling": TableAutoscaling(
                    read=bounds(target_utilization_percent=95), write=bounds()
                ),
            },
            "autoscaling.read.target_utilization_percent: got 95; expected a whole percentage "
            "from 20 to 90",
        ),
        (
            {
                "billing_mode": BillingMode.PROVISIONED,
                "read_capacity_units": 50,
                "autoscaling": TableAutoscaling(read=bounds(), write=bounds()),
            },
            "read_capacity_units: got 50; expected a number between autoscaling.read's bounds "
            "(5-10), or None to start at the minimum",
        ),
        (
            {"billing_mode": BillingMode.PROVISIONED, "autoscaling": {"read": 5}},
            "autoscaling: got {'read': 5}; expected a TableAutoscaling",
        ),
    ],
)
def test_refuses_bad_autoscaling(overrides, message):
    found = problems("osp-t-tenants", table_args(**overrides))
    assert found == [f"Table osp-t-tenants: {message}"]


def test_accepts_a_start_within_the_bounds():
    args = table_args(
        billing_mode=BillingMode.PROVISIONED, read_capacity_units=100, autoscaling=SCALING
    )
    assert problems("t", args) == []
