"""`Backup`: AWS Backup for the estate's data — a vault, a plan, and copies in a DR region."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import pulumi
import pulumi_aws as aws

from osp.platform import iam, limits
from osp.platform.naming import NameKind, fit
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:backup:Backup"

#: Daily backups start at 05:00 UTC, after the database's own backup window (03:00-04:00).
DAILY_SCHEDULE = "cron(0 5 * * ? *)"
#: Monthly backups: the first of each month, same hour.
MONTHLY_SCHEDULE = "cron(0 5 1 * ? *)"
#: A job that has not started within this many minutes is skipped (and reported failed).
START_WINDOW_MINUTES = 60
#: A job still running after this many minutes is cancelled.
COMPLETION_WINDOW_MINUTES = 8 * 60
#: A vault lock becomes final (compliance mode) this many days after it is applied; until
#: then it can still be removed (the least AWS allows).
VAULT_LOCK_GRACE_DAYS = 3

#: The AWS managed policies of the Backup service role: backups and restores of every
#: supported type, and S3's own (not included in the first two).
SERVICE_ROLE_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
    "AWSBackupServiceRolePolicyForS3Backup",
    "AWSBackupServiceRolePolicyForS3Restore",
)

_VAULT_NAME = limits.pattern(
    r"[A-Za-z0-9_-]{2,50}", "2-50 letters, digits, hyphens and underscores"
)
_USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


class ProtectedKind(StrEnum):
    """What a protected resource is: decides which rules cover it."""

    #: An RDS instance: snapshots, and continuous backup (point-in-time restore).
    DATABASE = "database"
    #: A DynamoDB table: snapshots (its own point-in-time recovery is the table's setting).
    TABLE = "table"
    #: An S3 bucket (versioned): snapshots, and continuous backup.
    BUCKET = "bucket"


#: Kinds AWS Backup backs up continuously; others only get the scheduled snapshots.
CONTINUOUS_KINDS = (ProtectedKind.DATABASE, ProtectedKind.BUCKET)


@dataclass(frozen=True, kw_only=True)
class ProtectedResource:
    """One resource the plan backs up."""

    kind: ProtectedKind
    arn: pulumi.Input[str]


@dataclass(frozen=True, kw_only=True)
class BackupArgs:
    """Arguments of `Backup`."""

    vault_name: str
    """Name of the vault, and of its copy in the DR region (2-50 letters, digits, `-`, `_`)."""

    resources: Sequence[ProtectedResource]
    """What the plan covers, selected by ARN (not by tag): the plan shows exactly which
    resources are protected, and a resource cannot fall out of it by losing a tag."""

    daily_retention_days: int = 35
    """Days a daily backup (and its copy) is kept."""

    monthly_retention_days: int | None = 365
    """Days a monthly backup (and its copy) is kept. None: no monthly rule."""

    continuous_retention_days: int | None = None
    """Continuous backup of the databases and buckets, restorable to any second of this
    many days (1-35). None: none."""

    vault_lock_min_retention_days: int | None = None
    """Lock both vaults in compliance mode with this minimum retention: after
    `VAULT_LOCK_GRACE_DAYS` no one, root included, can delete a younger recovery point.
    None: no lock."""

    copy_provider: aws.Provider | None = None
    """Provider of the DR region: each daily and monthly backup is copied into a vault
    there, encrypted with a key of that region. None: no copies."""

    key_deletion_window_days: int = 30
    """Waiting period of the vault keys on delete (7-30)."""

    deletion_protection: bool = False
    """Pulumi `protect` on the vaults and their keys."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource, and on every recovery point."""


def problems(name: str, args: BackupArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("Backup", name)
    check.against(_VAULT_NAME, "vault_name", args.vault_name)
    check.check(bool(args.resources), "resources", [], "at least one resource to back up")
    check.against(limits.BACKUP_RETENTION_DAYS, "daily_retention_days", args.daily_retention_days)
    if args.monthly_retention_days is not None:
        check.against(
            limits.BACKUP_RETENTION_DAYS, "monthly_retention_days", args.monthly_retention_days
        )
    if args.continuous_retention_days is not None:
        check.against(
            limits.BACKUP_CONTINUOUS_RETENTION_DAYS,
            "continuous_retention_days",
            args.continuous_retention_days,
        )
    minimum = args.vault_lock_min_retention_days
    if minimum is not None:
        shortest = min(d for d in (args.daily_retention_days, args.continuous_retention_days) if d)
        check.check(
            1 <= minimum <= shortest,
            "vault_lock_min_retention_days",
            minimum,
            f"1 to the plan's shortest retention ({shortest}): a locked vault refuses "
            "recovery points kept for less",
        )
    check.against(
        limits.KMS_DELETION_WINDOW_DAYS, "key_deletion_window_days", args.key_deletion_window_days
    )
    return check.found


def vault_key_policy(*, partition: str, account: str, region: str) -> str:
    """The vault key's policy: the account administers it; AWS Backup uses it on behalf of
    the account's principals (the service role) and nothing else does."""
    return iam.policy(
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "UseThroughBackup",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [*_USE, "kms:CreateGrant", "kms:ListGrants"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:CallerAccount": account,
                    "kms:ViaService": f"backup.{region}.amazonaws.com",
                }
            },
        },
    )


class Backup(pulumi.ComponentResource):
    """An AWS Backup vault encrypted with its own customer key (yearly rotation), optionally
    locked in compliance mode; a plan with a daily and a monthly rule, each copied into a vault
    of the DR region (its own key there) with the same retention; a second plan backing the
    databases and buckets up continuously (point-in-time restore) where asked; the selections,
    by ARN; and the Backup service role with AWS's managed backup and restore policies."""

    vault_name: pulumi.Output[str]
    vault_arn: pulumi.Output[str]
    copy_vault_arn: pulumi.Output[str] | None
    plan_id: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: BackupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        if found := problems(name, args):
            raise InvalidArguments(found)
        vault = self._vault(name, args, None)
        copy_vault = (
            self._vault(f"{name}-copy", args, args.copy_provider)
            if args.copy_provider is not None
            else None
        )
        role = self._role(name, args)
        plan = aws.backup.Plan(
            f"{name}-plan",
            name=f"{args.vault_name}-plan",
            rules=self._rules(args, vault, copy_vault),
            tags={"Name": f"{name}-plan", **args.tags},
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.backup.Selection(
            f"{name}-selection",
            name=f"{args.vault_name}-all",
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=[r.arn for r in args.resources],
            opts=pulumi.ResourceOptions(parent=self),
        )
        continuous = [r for r in args.resources if r.kind in CONTINUOUS_KINDS]
        if args.continuous_retention_days is not None and continuous:
            self._continuous(name, args, vault, role, continuous)
        self.vault_name = vault.name
        self.vault_arn = vault.arn
        self.copy_vault_arn = copy_vault.arn if copy_vault is not None else None
        self.plan_id = plan.id
        self.role_arn = role.arn
        self.register_outputs(
            {
                "vaultName": self.vault_name,
                "vaultArn": self.vault_arn,
                "copyVaultArn": self.copy_vault_arn,
                "planId": self.plan_id,
            }
        )

    def _vault(
        self, name: str, args: BackupArgs, provider: aws.Provider | None
    ) -> aws.backup.Vault:
        """A vault and its key, in the region of `provider` (None: the component's own)."""
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        lookup = pulumi.InvokeOutputOptions(parent=self, provider=provider)
        partition = aws.get_partition_output(opts=lookup).partition
        account = aws.get_caller_identity_output(opts=lookup).account_id
        region = aws.get_region_output(opts=lookup).region
        key = aws.kms.Key(
            f"{name}-key",
            description=f"{name}: backup vault",
            enable_key_rotation=True,
            deletion_window_in_days=args.key_deletion_window_days,
            policy=pulumi.Output.all(partition, account, region).apply(
                lambda v: vault_key_policy(partition=v[0], account=v[1], region=v[2])
            ),
            tags={"Name": f"{name}-key", **args.tags},
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(protect=args.deletion_protection)
            ),
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            name=f"alias/{name}-backup",
            target_key_id=key.key_id,
            opts=child,
        )
        vault = aws.backup.Vault(
            f"{name}-vault",
            name=args.vault_name,
            kms_key_arn=key.arn,
            # A vault holding recovery points cannot be deleted: backups never vanish with it.
            force_destroy=False,
            tags={"Name": f"{name}-vault", **args.tags},
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(protect=args.deletion_protection)
            ),
        )
        if args.vault_lock_min_retention_days is not None:
            aws.backup.VaultLockConfiguration(
                f"{name}-lock",
                backup_vault_name=vault.name,
                min_retention_days=args.vault_lock_min_retention_days,
                # Setting a grace period is what makes the lock compliance mode.
                changeable_for_days=VAULT_LOCK_GRACE_DAYS,
                opts=child,
            )
        return vault

    def _rules(
        self, args: BackupArgs, vault: aws.backup.Vault, copy_vault: aws.backup.Vault | None
    ) -> list[aws.backup.PlanRuleArgs]:
        rules = [("daily", DAILY_SCHEDULE, args.daily_retention_days)]
        if args.monthly_retention_days is not None:
            rules.append(("monthly", MONTHLY_SCHEDULE, args.monthly_retention_days))
        return [
            aws.backup.PlanRuleArgs(
                rule_name=rule,
                target_vault_name=vault.name,
                schedule=schedule,
                start_window=START_WINDOW_MINUTES,
                completion_window=COMPLETION_WINDOW_MINUTES,
                lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=days),
                copy_actions=(
                    [
                        aws.backup.PlanRuleCopyActionArgs(
                            destination_vault_arn=copy_vault.arn,
                            lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(delete_after=days),
                        )
                    ]
                    if copy_vault is not None
                    else None
                ),
                recovery_point_tags={**args.tags, "osp-backup-rule": rule},
            )
            for rule, schedule, days in rules
        ]

    def _continuous(
        self,
        name: str,
        args: BackupArgs,
        vault: aws.backup.Vault,
        role: aws.iam.Role,
        resources: list[ProtectedResource],
    ) -> None:
        """A plan of its own: its selection holds only the kinds backed up continuously (a
        rule's schedule would otherwise also snapshot a table every day a second time)."""
        plan = aws.backup.Plan(
            f"{name}-continuous",
            name=f"{args.vault_name}-continuous",
            rules=[
                aws.backup.PlanRuleArgs(
                    rule_name="continuous",
                    target_vault_name=vault.name,
                    schedule=DAILY_SCHEDULE,
                    start_window=START_WINDOW_MINUTES,
                    completion_window=COMPLETION_WINDOW_MINUTES,
                    enable_continuous_backup=True,
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(
                        delete_after=args.continuous_retention_days
                    ),
                    recovery_point_tags={**args.tags, "osp-backup-rule": "continuous"},
                )
            ],
            tags={"Name": f"{name}-continuous", **args.tags},
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.backup.Selection(
            f"{name}-continuous-selection",
            name=f"{args.vault_name}-continuous",
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=[r.arn for r in resources],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _role(self, name: str, args: BackupArgs) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{name}-role",
            name=fit(f"{name}-role", NameKind.IAM),
            assume_role_policy=iam.service_trust("backup.amazonaws.com"),
            tags={"Name": f"{name}-role", **args.tags},
            opts=pulumi.ResourceOptions(parent=self),
        )
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        for policy in SERVICE_ROLE_POLICIES:
            short = policy.rsplit("/", 1)[-1].removeprefix("AWSBackupServiceRolePolicyFor")
            aws.iam.RolePolicyAttachment(
                f"{name}-role-{short.lower()}",
                role=role.name,
                policy_arn=partition.apply(
                    lambda p, policy=policy: f"arn:{p}:iam::aws:policy/{policy}"
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        return role
