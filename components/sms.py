"""`SmsSettings`: the account's SNS SMS preferences, with delivery-status logging."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from osp.components._log_groups import log_group
from osp.platform import limits
from osp.platform.iam import policy
from osp.platform.naming import NameKind, fit
from osp.platform.spec.models import SmsType
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:sms:SmsSettings"

#: The log groups SNS writes SMS delivery status to, under `sns/<region>/<account>/`: its
#: names, not osp's — SNS finds them by name.
DELIVERY_STATUS_GROUPS = ("DirectPublishToPhoneNumber", "DirectPublishToPhoneNumber/Failure")

_SMS_TYPE = limits.one_of(tuple(SmsType))


@dataclass(frozen=True, kw_only=True)
class SmsSettingsArgs:
    """Arguments of `SmsSettings`."""

    monthly_spend_limit_usd: int
    """Most the account spends on SMS in a month, whole USD (1-1000000); SNS stops sending
    beyond it. Above 1, AWS Support must have raised the account's quota first."""

    logs_kms_key_arn: pulumi.Input[str]
    """Customer key of the delivery-status log groups (the estate's logs key)."""

    log_retention_days: int
    """Days the delivery-status log groups keep events (a CloudWatch retention)."""

    default_sms_type: SmsType = SmsType.TRANSACTIONAL
    """Transactional (highest reliability) or Promotional (cheapest). Default:
    Transactional."""

    success_sampling_percent: int = 100
    """Share of successful deliveries logged (0-100); failures are always logged. Default:
    100."""

    tags: Mapping[str, str] = field(default_factory=dict)


def problems(name: str, args: SmsSettingsArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem."""
    check = Problems("SmsSettings", name)
    check.against(
        limits.SMS_MONTHLY_SPEND_LIMIT_USD, "monthly_spend_limit_usd", args.monthly_spend_limit_usd
    )
    check.against(
        limits.SMS_SUCCESS_SAMPLING_PERCENT,
        "success_sampling_percent",
        args.success_sampling_percent,
    )
    check.against(_SMS_TYPE, "default_sms_type", args.default_sms_type)
    check.against(limits.LOG_RETENTION, "log_retention_days", args.log_retention_days)
    return check.found


def delivery_status_trust(account: str) -> str:
    """SNS may assume the role, for this account's deliveries only."""
    return policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        }
    )


def delivery_status_policy(log_group_arns: list[str]) -> str:
    """Write log streams and events to exactly the delivery-status groups."""
    return policy(
        {
            "Sid": "WriteDeliveryStatus",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{arn}:log-stream:*" for arn in log_group_arns],
        }
    )


class SmsSettings(pulumi.ComponentResource):
    """The account's SMS preferences in the environment's region.

    The monthly spend limit caps what every SMS publish of the account may cost (the
    services' SMS grant has no resource to name, a phone number having no ARN: this limit is
    what bounds it). Messages are Transactional by default. SNS logs each delivery's status to
    `sns/<region>/<account>/DirectPublishToPhoneNumber` (and `…/Failure`), which this creates
    first, with the retention and the customer key given; it writes them through a role only
    sns.amazonaws.com may assume, for this account's deliveries only (`aws:SourceAccount`),
    allowed to create streams and put events in those two groups and nothing else.

    SNS keeps these settings per account and region: one environment per account and region
    should hold this component (osp's `osp:sms.account_settings`).
    """

    role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: SmsSettingsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        if found := problems(name, args):
            raise InvalidArguments(found)
        lookup = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=lookup).account_id
        region = aws.get_region_output(opts=lookup).region
        groups = [
            log_group(
                f"{name}-{'failure' if index else 'success'}-logs",
                log_group_name=pulumi.Output.concat("sns/", region, "/", account, "/", group),
                retention_days=args.log_retention_days,
                kms_key_arn=args.logs_kms_key_arn,
                tags=args.tags,
                parent=self,
            )
            for index, group in enumerate(DELIVERY_STATUS_GROUPS)
        ]
        role = aws.iam.Role(
            f"{name}-delivery-status",
            name=fit(f"{name}-delivery-status", NameKind.IAM),
            assume_role_policy=account.apply(delivery_status_trust),
            description="SNS writes SMS delivery status to its log groups",
            tags={"Name": f"{name}-delivery-status", **args.tags},
            opts=pulumi.ResourceOptions(parent=self),
        )
        access = aws.iam.RolePolicy(
            f"{name}-delivery-status",
            role=role.id,
            policy=pulumi.Output.all(*(g.arn for g in groups)).apply(
                lambda arns: delivery_status_policy(list(arns))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        settings: dict[str, Any] = {
            "monthly_spend_limit": args.monthly_spend_limit_usd,
            "default_sms_type": SmsType(args.default_sms_type).value,
            "delivery_status_iam_role_arn": role.arn,
            "delivery_status_success_sampling_rate": str(args.success_sampling_percent),
        }
        aws.sns.SmsPreferences(
            f"{name}-preferences",
            **settings,
            # SNS checks that it may assume the role and write the groups when it is named.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[access, *groups]),
        )
        self.role_arn = role.arn
        self.register_outputs({"roleArn": self.role_arn})
