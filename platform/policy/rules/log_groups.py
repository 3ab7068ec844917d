"""Log groups: kept at least as long as the environment requires, encrypted with its key,
and declared (not left to be created on first write) for everything that logs by name."""

from __future__ import annotations

from osp.platform.plan import PlannedResource
from osp.platform.policy.model import Check, Rule, Scope, Severity
from osp.platform.policy.rules._reading import at, customer_key, of_types

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
CLUSTER = "aws:eks/cluster:Cluster"
RDS_INSTANCE = "aws:rds/instance:Instance"
FUNCTION = "aws:lambda/function:Function"


def _retention(resource: PlannedResource, scope: Scope) -> Check | None:
    days = resource.inputs.get("retentionInDays")
    minimum = scope.context.min_log_retention_days
    if days in (None, 0):
        return Check.of(True, "never expires", retentionInDays=days)
    ok = isinstance(days, int) and days >= minimum
    return Check.of(
        ok,
        "" if ok else f"keeps events {days} days, fewer than the environment's {minimum}",
        retentionInDays=days,
    )


def _log_key(resource: PlannedResource, scope: Scope) -> Check | None:
    key = resource.inputs.get("kmsKeyId")
    ok = customer_key(key)
    return Check.of(
        ok, "" if ok else "encrypted with CloudWatch's own key, not the environment's", kmsKeyId=key
    )


def _expected_groups(resource: PlannedResource) -> dict[str, str]:
    """The log groups AWS writes `resource`'s logs to, by the property that names them."""
    inputs = resource.inputs
    if resource.type == CLUSTER and inputs.get("enabledClusterLogTypes") and inputs.get("name"):
        return {"enabledClusterLogTypes": f"/aws/eks/{inputs['name']}/cluster"}
    if resource.type == RDS_INSTANCE and inputs.get("identifier"):
        return {
            f"enabledCloudwatchLogsExports[{i}]": f"/aws/rds/instance/{inputs['identifier']}/{log}"
            for i, log in enumerate(inputs.get("enabledCloudwatchLogsExports") or [])
        }
    if resource.type == FUNCTION and inputs.get("name"):
        return {
            "loggingConfig.logGroup": at(inputs, "loggingConfig.logGroup")
            or f"/aws/lambda/{inputs['name']}"
        }
    return {}


def _declared_groups(resource: PlannedResource, scope: Scope) -> Check | None:
    expected = _expected_groups(resource)
    if not expected:
        return None
    declared = {g.inputs.get("name") for g in of_types(scope, (LOG_GROUP,))}
    missing = {path: name for path, name in expected.items() if name not in declared}
    evidence = missing or expected
    return Check.of(
        not missing,
        f"{', '.join(missing.values())} is created on first write, with no retention and no key"
        if missing
        else "",
        **evidence,
    )


RULES = (
    Rule(
        id="OSP-LOGS-1",
        title="Log groups keep events at least the environment's minimum",
        severity=Severity.MEDIUM,
        controls=("CloudWatch.16",),
        rationale="Incidents are found weeks late; logs gone by then cannot say what happened. "
        "The minimum is the environment's osp:policy.min_log_retention_days.",
        fix="Raise the owning component's log_retention_days (osp:<section>.log_retention_days "
        "or the preset) to at least osp:policy.min_log_retention_days.",
        types=(LOG_GROUP,),
        check=_retention,
    ),
    Rule(
        id="OSP-LOGS-2",
        title="Log groups are encrypted with the environment's KMS key",
        severity=Severity.MEDIUM,
        controls=("NIST.800-53.r5 SC-28", "NIST.800-53.r5 AU-9"),
        rationale="Logs carry request paths, addresses and identifiers of students; the "
        "environment's key makes reading them an audited, revocable grant.",
        fix="Set `kmsKeyId` to the logs key (the components' logs_kms_key_arn).",
        types=(LOG_GROUP,),
        check=_log_key,
    ),
    Rule(
        id="OSP-LOGS-3",
        title="Everything that logs to CloudWatch has its log group declared",
        severity=Severity.MEDIUM,
        controls=("CloudWatch.16", "NIST.800-53.r5 AU-11"),
        rationale="A log group AWS creates on first write never expires, is encrypted with no "
        "key of the environment's and is left behind when the stack is destroyed.",
        fix="Declare the log group (/aws/eks/<cluster>/cluster, /aws/rds/instance/<id>/<log>, "
        "/aws/lambda/<function>) in the component, before the resource that writes to it.",
        types=(CLUSTER, RDS_INSTANCE, FUNCTION),
        check=_declared_groups,
    ),
)
