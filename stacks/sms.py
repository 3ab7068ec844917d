"""SMS: the account's SNS SMS settings, when a service sends SMS and this environment holds
them (`osp:sms.account_settings`; SNS keeps one set per account and region)."""

from __future__ import annotations

from osp.components import SmsSettings, SmsSettingsArgs
from osp.stacks.context import Context
from osp.stacks.foundation import Foundation


def build(ctx: Context, foundation: Foundation) -> SmsSettings | None:
    sms = ctx.spec.sms
    senders = [*ctx.catalogue.services, *ctx.catalogue.functions]
    if not sms.account_settings or not any(s.uses.sms for s in senders):
        return None
    return SmsSettings(
        ctx.name("sms"),
        SmsSettingsArgs(
            monthly_spend_limit_usd=sms.monthly_spend_limit_usd,
            default_sms_type=sms.default_sms_type,
            success_sampling_percent=sms.success_sampling_percent,
            logs_kms_key_arn=foundation.keys.logs_key_arn,
            log_retention_days=ctx.spec.logs.audit_retention_days,
            tags=ctx.tags("sms"),
        ),
    )
