"""`osp dr status`: what an environment's plan protects (AWS Backup, S3 replication, vault
locks) and, where AWS is reachable, when each protected resource was last backed up and
whether each bucket's replication is in place.

What is protected comes from the plan (offline or not, the same program declares it); the
live half asks AWS through boto3 about exactly the ARNs and buckets the plan names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from osp.platform.plan import Plan
from osp.platform.project import Project

PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"
VAULT = "aws:backup/vault:Vault"
LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"


@dataclass(frozen=True)
class BackupRule:
    plan: str
    rule: str
    schedule: str
    retention_days: int | None
    continuous: bool
    copies: tuple[tuple[str, int | None], ...]
    """(destination vault ARN, days kept) of each copy action."""


@dataclass(frozen=True)
class Protected:
    arn: str
    plans: tuple[str, ...]
    last_backup: datetime | None = None
    """The newest completed recovery point (live only)."""
    problem: str | None = None
    """Why the live look-up gave no answer."""


@dataclass(frozen=True)
class Replication:
    source_bucket: str
    destination_bucket_arn: str
    replica_kms_key_arn: str | None
    time_control: bool
    live_status: str | None = None
    """The rule's status in AWS (`Enabled`, `Disabled`, `not configured`), live only."""


@dataclass(frozen=True)
class DrStatus:
    environment: str
    region: str
    dr_region: str
    vaults: dict[str, int | None]
    """Each vault's ARN, with its lock's minimum retention (None: unlocked)."""
    rules: tuple[BackupRule, ...]
    protected: tuple[Protected, ...]
    replications: tuple[Replication, ...]
    live: bool = False
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "region": self.region,
            "drRegion": self.dr_region,
            "live": self.live,
            "vaults": [{"arn": a, "lockMinRetentionDays": d} for a, d in self.vaults.items()],
            "rules": [
                {
                    "plan": r.plan,
                    "rule": r.rule,
                    "schedule": r.schedule,
                    "retentionDays": r.retention_days,
                    "continuous": r.continuous,
                    "copies": [{"vaultArn": v, "retentionDays": d} for v, d in r.copies],
                }
                for r in self.rules
            ],
            "protected": [
                {
                    "arn": p.arn,
                    "plans": list(p.plans),
                    "lastBackup": p.last_backup.isoformat() if p.last_backup else None,
                    "problem": p.problem,
                }
                for p in self.protected
            ],
            "replications": [
                {
                    "sourceBucket": r.source_bucket,
                    "destinationBucketArn": r.destination_bucket_arn,
                    "replicaKmsKeyArn": r.replica_kms_key_arn,
                    "replicationTimeControl": r.time_control,
                    "liveStatus": r.live_status,
                }
                for r in self.replications
            ],
            "notes": list(self.notes),
        }


def protection(plan: Plan, *, environment: str, region: str, dr_region: str) -> DrStatus:
    """What `plan` protects: its vaults and locks, backup rules, selections, replications."""
    vault_arns: dict[str, int | None] = {}
    for vault in plan.of_type(VAULT):
        arn = _vault_arn(plan, vault.urn)
        lock = next(
            (
                lock
                for lock in plan.of_type(LOCK)
                if lock.parent == vault.parent and _same_provider(lock.provider, vault.provider)
            ),
            None,
        )
        vault_arns[arn] = lock.inputs.get("minRetentionDays") if lock is not None else None
    plans = {p.urn: p.inputs.get("name", p.name) for p in plan.of_type(PLAN)}
    rules = tuple(
        BackupRule(
            plan=p.inputs.get("name", p.name),
            rule=r.get("ruleName", ""),
            schedule=r.get("schedule", ""),
            retention_days=(r.get("lifecycle") or {}).get("deleteAfter"),
            continuous=bool(r.get("enableContinuousBackup")),
            copies=tuple(
                (c.get("destinationVaultArn", ""), (c.get("lifecycle") or {}).get("deleteAfter"))
                for c in r.get("copyActions") or ()
            ),
        )
        for p in plan.of_type(PLAN)
        for r in p.inputs.get("rules") or ()
    )
    covered: dict[str, list[str]] = {}
    for selection in plan.of_type(SELECTION):
        plan_urns = selection.property_dependencies.get("planId", ())
        plan_name = next((plans[u] for u in plan_urns if u in plans), "?")
        for arn in selection.inputs.get("resources") or ():
            covered.setdefault(arn, []).append(plan_name)
    replications = []
    for config in plan.of_type(REPLICATION):
        for rule in config.inputs.get("rules") or ():
            destination = rule.get("destination") or {}
            replications.append(
                Replication(
                    source_bucket=config.inputs.get("bucket", ""),
                    destination_bucket_arn=destination.get("bucket", ""),
                    replica_kms_key_arn=(destination.get("encryptionConfiguration") or {}).get(
                        "replicaKmsKeyId"
                    ),
                    time_control=(destination.get("replicationTime") or {}).get("status")
                    == "Enabled",
                )
            )
    return DrStatus(
        environment=environment,
        region=region,
        dr_region=dr_region,
        vaults=vault_arns,
        rules=rules,
        protected=tuple(Protected(arn, tuple(p)) for arn, p in covered.items()),
        replications=tuple(replications),
    )


def _same_provider(a: str | None, b: str | None) -> bool:
    return (a or "") == (b or "")


def _vault_arn(plan: Plan, urn: str) -> str:
    """A vault's ARN as the plan's copy actions name it (or its name, for the home vault)."""
    vault = plan.get(urn)
    name = vault.inputs.get("name", vault.name)
    for rule in (r for p in plan.of_type(PLAN) for r in p.inputs.get("rules") or ()):
        for copy in rule.get("copyActions") or ():
            arn = copy.get("destinationVaultArn", "")
            if arn.endswith(f":backup-vault:{name}") and vault.provider:
                return arn
    return name


#: What a replication look-up's error codes mean to whoever reads the status.
_STATES = {
    "ReplicationConfigurationNotFoundError": "not configured",
    "NoSuchBucket": "source bucket not found",
}


def observe(status: DrStatus, *, backup: Any, s3: Any) -> DrStatus:
    """`status` with what AWS says: each protected resource's newest completed recovery
    point (backup:ListRecoveryPointsByResource) and each replication rule's status
    (s3:GetBucketReplication). `backup` and `s3` are boto3 clients of the primary region."""
    from botocore.exceptions import BotoCoreError, ClientError

    protected = []
    for item in status.protected:
        try:
            points = backup.list_recovery_points_by_resource(ResourceArn=item.arn).get(
                "RecoveryPoints", []
            )
        except (ClientError, BotoCoreError) as failure:
            protected.append(replace(item, problem=str(failure)))
            continue
        done = [p["CreationDate"] for p in points if p.get("Status") == "COMPLETED"]
        protected.append(
            replace(
                item,
                last_backup=max(done) if done else None,
                problem=None if done else "no completed recovery point yet",
            )
        )
    replications = []
    for item in status.replications:
        try:
            rules = s3.get_bucket_replication(Bucket=item.source_bucket)[
                "ReplicationConfiguration"
            ]["Rules"]
            found = [
                r
                for r in rules
                if r.get("Destination", {}).get("Bucket") == item.destination_bucket_arn
            ]
            state = found[0].get("Status", "?") if found else "not configured"
        except ClientError as failure:
            code = failure.response.get("Error", {}).get("Code", "")
            state = _STATES.get(code) or str(failure)
        except BotoCoreError as failure:
            state = str(failure)
        replications.append(replace(item, live_status=state))
    return replace(status, protected=tuple(protected), replications=tuple(replications), live=True)


def dr_status(
    project: Project,
    environment: str,
    *,
    program: Callable[..., Any],
    offline: bool,
    cache: bool = True,
    clients: Callable[[str], Any] | None = None,
) -> DrStatus:
    """The DR status of `environment`: from the offline plan of `program` (the estate's), and
    with `offline` False also what AWS says (`clients`: gives a boto3 client by service name;
    default boto3's, in the environment's region)."""
    from osp.platform.plan_cache import offline_plan
    from osp.platform.spec import load_environment

    spec = load_environment(project, environment)
    plan = offline_plan(spec, program, cache=cache)
    status = protection(plan, environment=spec.name, region=spec.region, dr_region=spec.dr_region)
    if offline:
        return replace(status, notes=("offline: what the plan protects; no AWS look-ups",))
    if clients is None:
        import boto3

        def clients(service: str) -> Any:
            return boto3.client(service, region_name=spec.region)

    return observe(status, backup=clients("backup"), s3=clients("s3"))
