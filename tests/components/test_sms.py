"""`SmsSettings`: the spend limit, the SMS type, and a delivery-status role that reaches
exactly its two log groups."""

from __future__ import annotations

import json
import re

import pytest

from osp.components.sms import SmsSettings, SmsSettingsArgs, problems
from osp.platform.spec.models import SmsType
from osp.platform.validation import InvalidArguments
from tests.support import plan_component, plan_of, spec_of

KEY = "arn:aws:kms:us-east-1:123456789012:key/logs"
GROUP = "sns/us-east-1/123456789012/DirectPublishToPhoneNumber"
LOG_GROUP_ARN = "arn:aws:logs:us-east-1:123456789012:log-group:"


def args(**overrides) -> SmsSettingsArgs:
    return SmsSettingsArgs(
        **{
            "monthly_spend_limit_usd": 250,
            "logs_kms_key_arn": KEY,
            "log_retention_days": 365,
            "tags": {"osp:component": "sms"},
            **overrides,
        }
    )


def one(plan, type_: str):
    (found,) = plan.of_type(type_)
    return found


@pytest.fixture(scope="module")
def plan():
    return plan_component(SmsSettings, args(success_sampling_percent=10), name="osp-t-sms")


def test_children(plan):
    assert sorted((r.type, r.name) for r in plan.resources if r.custom) == [
        ("aws:cloudwatch/logGroup:LogGroup", "osp-t-sms-failure-logs"),
        ("aws:cloudwatch/logGroup:LogGroup", "osp-t-sms-success-logs"),
        ("aws:iam/role:Role", "osp-t-sms-delivery-status"),
        ("aws:iam/rolePolicy:RolePolicy", "osp-t-sms-delivery-status"),
        ("aws:sns/smsPreferences:SmsPreferences", "osp-t-sms-preferences"),
    ]
    assert plan.named("osp-t-sms").type in {
        "osp:sms:SmsSettings",
        "aws:sns/smsPreferences:SmsPreferences",
    }


def test_preferences_cap_spend_and_send_transactional(plan):
    (prefs,) = plan.of_type("aws:sns/smsPreferences:SmsPreferences")
    assert prefs.inputs == {
        "monthlySpendLimit": 250,
        "defaultSmsType": "Transactional",
        "deliveryStatusIamRoleArn": prefs.inputs["deliveryStatusIamRoleArn"],
        "deliveryStatusSuccessSamplingRate": "10",
    }
    role = one(plan, "aws:iam/role:Role")
    assert prefs.property_dependencies["deliveryStatusIamRoleArn"] == (role.urn,)
    policy = one(plan, "aws:iam/rolePolicy:RolePolicy")
    assert policy.urn in prefs.dependencies


def test_the_log_groups_are_snss_names_encrypted_and_kept(plan):
    groups = {r.inputs["name"]: r.inputs for r in plan.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert set(groups) == {GROUP, GROUP + "/Failure"}
    for inputs in groups.values():
        assert inputs["kmsKeyId"] == KEY
        assert inputs["retentionInDays"] == 365


def test_only_sns_of_this_account_assumes_the_role(plan):
    role = one(plan, "aws:iam/role:Role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        }
    ]


def test_the_role_writes_exactly_its_two_groups(plan):
    policy = one(plan, "aws:iam/rolePolicy:RolePolicy")
    assert json.loads(policy.inputs["policy"])["Statement"] == [
        {
            "Sid": "WriteDeliveryStatus",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [
                f"{LOG_GROUP_ARN}{GROUP}:log-stream:*",
                f"{LOG_GROUP_ARN}{GROUP}/Failure:log-stream:*",
            ],
        }
    ]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"monthly_spend_limit_usd": 0},
            "SmsSettings s: monthly_spend_limit_usd: got 0; expected whole US dollars per month "
            "from 1 to 1000000",
        ),
        ({"success_sampling_percent": 101}, "SmsSettings s: success_sampling_percent: got 101; "
         "expected a percentage from 0 to 100"),
        ({"default_sms_type": "Urgent"}, "SmsSettings s: default_sms_type: got 'Urgent'; "
         "expected one of Transactional, Promotional"),
        ({"log_retention_days": 2}, "SmsSettings s: log_retention_days: got 2; expected"),
    ],
)  # fmt: skip
def test_refusals(overrides, expected):
    (found,) = problems("s", args(**overrides))
    assert found.startswith(expected)
    with pytest.raises(InvalidArguments, match=re.escape(expected)):
        plan_component(SmsSettings, args(**overrides), name="s")


def test_prod_holds_the_accounts_sms_settings_and_dev_does_not():
    prod, dev = plan_of("prod"), plan_of("dev")
    assert spec_of("prod").sms.account_settings and not spec_of("dev").sms.account_settings
    (prefs,) = prod.of_type("aws:sns/smsPreferences:SmsPreferences")
    assert prefs.inputs["defaultSmsType"] == SmsType.TRANSACTIONAL.value
    assert prefs.inputs["monthlySpendLimit"] == spec_of("prod").sms.monthly_spend_limit_usd == 1
    assert prod.outputs["smsDeliveryStatusRoleArn"].startswith("arn:aws:iam::")
    # Dev shares the account in the shipped stack files: it leaves the settings to prod.
    assert dev.of_type("aws:sns/smsPreferences:SmsPreferences") == []
    assert "smsDeliveryStatusRoleArn" not in dev.outputs


def test_a_blueprint_without_sms_gets_no_settings():
    plan = plan_of("prod", "learning-hub")
    assert plan.of_type("aws:sns/smsPreferences:SmsPreferences") == []
