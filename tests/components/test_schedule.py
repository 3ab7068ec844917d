"""`Schedules` through the offline engine: the group, its schedules' timing, retries, dead
letters and key, and a role that may reach exactly the targets."""

from __future__ import annotations

import json

import pytest

from osp.components import Schedules, SchedulesArgs, ScheduleSpec
from osp.components.schedule import TargetKind, problems
from osp.platform.validation import InvalidArguments
from tests.support import custom_counts, plan_component, statements

KEY = "arn:aws:kms:us-east-1:123456789012:key/data"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:osp-t-nightly-function"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:osp-t-queue-jobs"


def specs() -> list[ScheduleSpec]:
    return [
        ScheduleSpec(
            name="every-night",
            expression="cron(0 2 * * ? *)",
            timezone="Europe/London",
            flexible_window_minutes=30,
            target_kind=TargetKind.FUNCTION,
            target_arn=FUNCTION,
            input='{"job": "nightly"}',
            maximum_attempts=2,
            maximum_event_age_seconds=600,
        ),
        ScheduleSpec(
            name="hourly-jobs",
            expression="rate(1 hour)",
            target_kind=TargetKind.QUEUE,
            target_arn=QUEUE,
        ),
    ]


def schedules_args(**overrides) -> SchedulesArgs:
    return SchedulesArgs(
        **{
            "group_name": "osp-t",
            "kms_key_arn": KEY,
            "schedules": specs(),
            "tags": {"osp:environment": "t"},
            **overrides,
        }
    )


@pytest.fixture(scope="module")
def plan():
    return plan_component(Schedules, schedules_args(), name="sch")


def one(plan, type_token: str, name: str):
    (found,) = [r for r in plan.of_type(type_token) if r.name == name]
    return found.inputs


def test_a_group_its_schedules_a_role_and_a_dead_letter_queue(plan):
    assert custom_counts(plan) == {
        "scheduler/scheduleGroup": 1,
        "scheduler/schedule": 2,
        "sqs/queue": 1,
        "sqs/queuePolicy": 1,
        "iam/role": 1,
        "iam/rolePolicy": 1,
    }
    group = one(plan, "aws:scheduler/scheduleGroup:ScheduleGroup", "sch")
    assert group["name"] == "osp-t" and group["tags"]["osp:environment"] == "t"
    dlq = one(plan, "aws:sqs/queue:Queue", "sch-dlq")
    assert dlq["kmsMasterKeyId"] == KEY and dlq["name"] == "osp-t-schedules-dlq"


def test_each_schedule_keeps_its_time_zone_window_payload_and_retries(plan):
    night = one(plan, "aws:scheduler/schedule:Schedule", "sch-every-night")
    assert night["scheduleExpression"] == "cron(0 2 * * ? *)"
    assert night["scheduleExpressionTimezone"] == "Europe/London"
    assert night["flexibleTimeWindow"] == {"mode": "FLEXIBLE", "maximumWindowInMinutes": 30}
    assert night["kmsKeyArn"] == KEY
    assert night["groupName"] == "osp-t" and night["state"] == "ENABLED"
    target = night["target"]
    assert target["arn"] == FUNCTION and target["input"] == '{"job": "nightly"}'
    assert target["retryPolicy"] == {"maximumEventAgeInSeconds": 600, "maximumRetryAttempts": 2}
    assert target["deadLetterConfig"]["arn"].endswith(":osp-t-schedules-dlq")
    hourly = one(plan, "aws:scheduler/schedule:Schedule", "sch-hourly-jobs")
    assert hourly["flexibleTimeWindow"] == {"mode": "OFF"}
    assert hourly["scheduleExpressionTimezone"] == "UTC"
    assert hourly["target"]["arn"] == QUEUE and hourly["target"]["input"] == "{}"
    assert hourly["target"]["retryPolicy"] == {
        "maximumEventAgeInSeconds": 3600,
        "maximumRetryAttempts": 3,
    }


def test_the_role_trusts_scheduler_for_this_group_and_reaches_exactly_its_targets(plan):
    trust = json.loads(one(plan, "aws:iam/role:Role", "sch-role")["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    conditions = statement["Condition"]["StringEquals"]
    assert conditions["aws:SourceAccount"] == "123456789012"
    assert conditions["aws:SourceArn"].endswith(":schedule-group/osp-t")
    policy = statements(one(plan, "aws:iam/rolePolicy:RolePolicy", "sch-targets")["policy"])
    assert policy["InvokeTargets"]["Action"] == ["lambda:InvokeFunction"]
    assert policy["InvokeTargets"]["Resource"] == [FUNCTION]
    send = policy["SendToTargetsAndDeadLetters"]
    assert send["Action"] == ["sqs:SendMessage"]
    assert len(send["Resource"]) == 2 and QUEUE in send["Resource"]
    assert any(arn.endswith(":osp-t-schedules-dlq") for arn in send["Resource"])
    assert policy["UseTheKey"]["Resource"] == [KEY]
    assert policy["UseTheKey"]["Condition"]["StringEquals"]["kms:ViaService"] == [
        "scheduler.us-east-1.amazonaws.com",
        "sqs.us-east-1.amazonaws.com",
    ]
    assert all(s["Resource"] != "*" for s in policy.values())


def test_queue_targets_only_grant_no_invoke():
    plan = plan_component(Schedules, schedules_args(schedules=specs()[1:]), name="sch")
    policy = statements(one(plan, "aws:iam/rolePolicy:RolePolicy", "sch-targets")["policy"])
    assert "InvokeTargets" not in policy


@pytest.mark.parametrize(
    ("spec_overrides", "message"),
    [
        ({"expression": "cron(0 2 * * *)"}, "schedules[0].expression: got 'cron(0 2 * * *)'"),
        ({"name": "every night"}, "schedules[0].name: got 'every night'; expected 1-64"),
        ({"flexible_window_minutes": 0}, "flexible_window_minutes: got 0; expected minutes"),
        ({"maximum_attempts": 186}, "maximum_attempts: got 186; expected an integer from 0"),
        ({"maximum_event_age_seconds": 59}, "maximum_event_age_seconds: got 59; expected"),
        ({"target_kind": "rule"}, "schedules[0].target_kind: got 'rule'; expected function or"),
    ],
)
def test_bad_schedules_are_refused_before_anything_is_created(spec_overrides, message):
    first, second = specs()
    bad = ScheduleSpec(**{**first.__dict__, **spec_overrides})
    found = problems("sch", schedules_args(schedules=[bad, second]))
    assert any(message in p for p in found), found
    with pytest.raises(InvalidArguments):
        plan_component(Schedules, schedules_args(schedules=[bad, second]), name="sch")


def test_a_name_used_twice_and_no_schedules_are_refused():
    first = specs()[0]
    assert problems("sch", schedules_args(schedules=[first, first])) == [
        "Schedules sch: schedules[1].name: got 'every-night'; expected each name once"
    ]
    assert problems("sch", schedules_args(schedules=[])) == [
        "Schedules sch: schedules: got []; expected at least one"
    ]
