"""`Schedules`: EventBridge Scheduler schedules in a group of their own, which invoke Lambda
functions or send to SQS queues through a role allowed exactly those targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pulumi
import pulumi_aws as aws

from osp.components.messaging import queue_policy
from osp.platform import iam, limits
from osp.platform.naming import NameKind, fit
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:schedule:Schedules"

#: A schedule's or group's name in Scheduler: letters, digits, '.', '-' and '_', at most 64.
SCHEDULE_NAME = limits.pattern(r"[0-9A-Za-z_.-]{1,64}", "1-64 letters, digits, '.', '-' or '_'")
_DAY = 24 * 3600


class TargetKind(StrEnum):
    FUNCTION = "function"
    QUEUE = "queue"


@dataclass(frozen=True, kw_only=True)
class ScheduleSpec:
    """One schedule."""

    name: str
    """Its name in the group (1-64 letters, digits, '.', '-', '_'), such as daily-fee-reminders."""

    expression: str
    """rate(…), cron(…) or at(…), as limits.SCHEDULE_EXPRESSION accepts."""

    target_kind: TargetKind
    target_arn: pulumi.Input[str]
    """The function's or the queue's ARN."""

    timezone: str = "UTC"
    """The IANA zone cron and at expressions are read in."""

    flexible_window_minutes: int | None = None
    """Minutes it may fire late (1-1440); None: on time."""

    input: str = "{}"
    """The payload the target receives (JSON text)."""

    maximum_attempts: int = 3
    """Retries of an undelivered run (0-185)."""

    maximum_event_age_seconds: int = 3600
    """How long a run is retried (60-86400) before it goes to the dead-letter queue."""


@dataclass(frozen=True, kw_only=True)
class SchedulesArgs:
    """Arguments of `Schedules`."""

    group_name: str
    """The schedule group, such as osp-prod: the role trusts Scheduler for it only."""

    kms_key_arn: pulumi.Input[str]
    """Customer key of the schedules (their targets' input), of the dead-letter queue, and of
    the queues it sends to."""

    schedules: Sequence[ScheduleSpec]

    tags: Mapping[str, str] = field(default_factory=dict)


def problems(name: str, args: SchedulesArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("Schedules", name)
    check.against(SCHEDULE_NAME, "group_name", args.group_name)
    check.check(bool(args.schedules), "schedules", list(args.schedules), "at least one")
    seen: set[str] = set()
    for index, spec in enumerate(args.schedules):
        where = f"schedules[{index}]"
        if check.against(SCHEDULE_NAME, f"{where}.name", spec.name):
            check.check(spec.name not in seen, f"{where}.name", spec.name, "each name once")
            seen.add(spec.name)
        check.against(limits.SCHEDULE_EXPRESSION, f"{where}.expression", spec.expression)
        check.check(
            isinstance(spec.target_kind, TargetKind),
            f"{where}.target_kind",
            spec.target_kind,
            "function or queue",
        )
        if spec.flexible_window_minutes is not None:
            check.against(
                limits.SCHEDULE_FLEXIBLE_WINDOW_MINUTES,
                f"{where}.flexible_window_minutes",
                spec.flexible_window_minutes,
            )
        check.against(
            limits.SCHEDULE_MAX_ATTEMPTS, f"{where}.maximum_attempts", spec.maximum_attempts
        )
        check.against(
            limits.SCHEDULE_MAX_EVENT_AGE_SECONDS,
            f"{where}.maximum_event_age_seconds",
            spec.maximum_event_age_seconds,
        )
    return check.found


def trust_policy(*, account: str, group_arn: str) -> str:
    """Only Scheduler may assume, for this account's schedules in this group."""
    return iam.policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account, "aws:SourceArn": group_arn}
            },
        }
    )


def targets_policy(
    *,
    function_arns: Sequence[str],
    queue_arns: Sequence[str],
    dlq_arn: str,
    key_arn: str,
    region: str,
    dns_suffix: str,
) -> str:
    """Invoke exactly the target functions, send to exactly the target queues and the
    dead-letter queue, use the key through SQS and for the schedules' own input."""
    statements: list[dict[str, Any]] = []
    if function_arns:
        statements.append(
            {
                "Sid": "InvokeTargets",
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction"],
                "Resource": sorted(set(function_arns)),
            }
        )
    statements += [
        {
            "Sid": "SendToTargetsAndDeadLetters",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": sorted({*queue_arns, dlq_arn}),
        },
        {
            "Sid": "UseTheKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": [key_arn],
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": [
                        f"scheduler.{region}.{dns_suffix}",
                        f"sqs.{region}.{dns_suffix}",
                    ]
                }
            },
        },
    ]
    return iam.policy(*statements)


class Schedules(pulumi.ComponentResource):
    """A schedule group and its schedules, with one role and one dead-letter queue.

    Each schedule's input is encrypted with the customer key; a run that cannot be delivered
    is retried `maximum_attempts` times for at most `maximum_event_age_seconds`, then lands
    in the group's KMS-encrypted, TLS-only dead-letter queue. The role trusts Scheduler for
    this account and this group's schedules only, and may invoke exactly the target functions
    and send to exactly the target queues.
    """

    group_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: SchedulesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke)
        region = aws.get_region_output(opts=invoke).region

        group = aws.scheduler.ScheduleGroup(
            name,
            name=args.group_name,
            tags={"Name": name, **args.tags},
            opts=child,
        )
        dlq = aws.sqs.Queue(
            f"{name}-dlq",
            name=fit(f"{args.group_name}-schedules-dlq", NameKind.SQS_QUEUE),
            kms_master_key_id=args.kms_key_arn,
            message_retention_seconds=14 * _DAY,
            tags={"Name": f"{name}-dlq", **args.tags},
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-dlq-policy",
            queue_url=dlq.url,
            policy=dlq.arn.apply(lambda arn: queue_policy(queue_arn=arn)),
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            name=fit(f"{args.group_name}-scheduler", NameKind.IAM),
            description=f"EventBridge Scheduler: the schedules of group {args.group_name}",
            assume_role_policy=pulumi.Output.all(account, group.arn).apply(
                lambda v: trust_policy(account=v[0], group_arn=v[1])
            ),
            tags={"Name": f"{name}-role", **args.tags},
            opts=child,
        )
        kinds = [spec.target_kind for spec in args.schedules]
        targets = pulumi.Output.all(*(spec.target_arn for spec in args.schedules))
        role_policy = aws.iam.RolePolicy(
            f"{name}-targets",
            role=role.id,
            name="targets",
            policy=pulumi.Output.all(
                targets=targets,
                dlq_arn=dlq.arn,
                key_arn=args.kms_key_arn,
                region=region,
                dns_suffix=partition.dns_suffix,
            ).apply(
                lambda v: targets_policy(
                    function_arns=[
                        a
                        for a, k in zip(v["targets"], kinds, strict=True)
                        if k is TargetKind.FUNCTION
                    ],
                    queue_arns=[
                        a for a, k in zip(v["targets"], kinds, strict=True) if k is TargetKind.QUEUE
                    ],
                    dlq_arn=v["dlq_arn"],
                    key_arn=v["key_arn"],
                    region=v["region"],
                    dns_suffix=v["dns_suffix"],
                )
            ),
            opts=child,
        )
        for spec in args.schedules:
            window = (
                aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF")
                if spec.flexible_window_minutes is None
                else aws.scheduler.ScheduleFlexibleTimeWindowArgs(
                    mode="FLEXIBLE", maximum_window_in_minutes=spec.flexible_window_minutes
                )
            )
            aws.scheduler.Schedule(
                f"{name}-{spec.name}",
                name=spec.name,
                group_name=group.name,
                schedule_expression=spec.expression,
                schedule_expression_timezone=spec.timezone,
                flexible_time_window=window,
                kms_key_arn=args.kms_key_arn,
                state="ENABLED",
                target=aws.scheduler.ScheduleTargetArgs(
                    arn=spec.target_arn,
                    role_arn=role.arn,
                    input=spec.input,
                    dead_letter_config=aws.scheduler.ScheduleTargetDeadLetterConfigArgs(
                        arn=dlq.arn
                    ),
                    retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                        maximum_event_age_in_seconds=spec.maximum_event_age_seconds,
                        maximum_retry_attempts=spec.maximum_attempts,
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
            )
        self.group_name = group.name
        self.role_arn = role.arn
        self.dlq_arn = dlq.arn
        self.register_outputs(
            {"groupName": self.group_name, "roleArn": self.role_arn, "dlqArn": self.dlq_arn}
        )
