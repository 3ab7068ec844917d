"""The report's serverless section: each Lambda function with what triggers it, the role it
runs as, its tracing, dead-letter queue and network placement, and each EventBridge Scheduler
schedule with its target, retries and dead-letter queue."""

from __future__ import annotations

from typing import Any, Protocol

from osp.platform.plan import Plan, PlannedResource
from osp.platform.policy.rules._reading import as_list, at

FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
EVENT_INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
BUCKET_NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
SCHEDULE = "aws:scheduler/schedule:Schedule"


class References(Protocol):
    def names(self, resource: PlannedResource, prop: str) -> list[str]: ...

    def name(self, resource: PlannedResource, prop: str) -> str | None: ...


def arn_name(arn: Any) -> str:
    """The resource an ARN names, without its type: `photos` for arn:aws:s3:::photos,
    `reminders` for an SQS queue's ARN, `thumbnails` for a function's, `scheduler` for a
    role's, `osp-dev-app/jwt-…` for a secret's."""
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        return str(arn) if arn else ""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return arn
    if parts[2] == "s3":
        return parts[5].split("/", 1)[0]
    resource = parts[5]
    # `function:thumbnails`, `secret:osp-dev-app/jwt`, `role/scheduler`: the type goes.
    for separator in (":", "/"):
        if separator in resource:
            return resource.split(separator, 1)[1]
    return resource


def _refers(holder: PlannedResource, prop: str, function: PlannedResource) -> bool:
    value = holder.inputs.get(prop)
    name = function.inputs.get("name")
    return function.urn in holder.property_dependencies.get(prop, ()) or (
        isinstance(value, str) and bool(name) and (value == name or value.endswith(f":{name}"))
    )


def _triggers(plan: Plan, refs: References, function: PlannedResource) -> list[str]:
    found = []
    for permission in plan.of_type(PERMISSION):
        if _refers(permission, "function", function):
            source = arn_name(permission.inputs.get("sourceArn")) or "any source"
            found.append(f"{permission.inputs.get('principal')}: {source}")
    for mapping in plan.of_type(EVENT_SOURCE_MAPPING):
        if _refers(mapping, "functionName", function):
            source = refs.name(mapping, "eventSourceArn") or arn_name(
                mapping.inputs.get("eventSourceArn")
            )
            found.append(f"event source mapping: {source}")
    for notification in plan.of_type(BUCKET_NOTIFICATION):
        depends = function.urn in notification.property_dependencies.get("lambdaFunctions", ())
        for entry in as_list(notification.inputs.get("lambdaFunctions")):
            named = arn_name(at(entry, "lambdaFunctionArn"))
            if named == function.inputs.get("name") or (depends and named in ("", "<unknown>")):
                where = " ".join(
                    str(x)
                    for x in (refs.name(notification, "bucket"), at(entry, "filterPrefix"))
                    if x
                )
                events = ", ".join(str(e) for e in as_list(at(entry, "events")))
                found.append(f"S3 {where}: {events}")
    for schedule in plan.of_type(SCHEDULE):
        if arn_name(at(schedule.inputs, "target.arn")) == function.inputs.get("name"):
            found.append(f"schedule {schedule.name}: {schedule.inputs.get('scheduleExpression')}")
    for target in plan.of_type(EVENT_TARGET):
        if _refers(target, "arn", function):
            found.append(f"EventBridge rule {refs.name(target, 'rule') or ''}".strip())
    return sorted(found)


def _on_failure(plan: Plan, function: PlannedResource) -> str | None:
    dlq = at(function.inputs, "deadLetterConfig.targetArn")
    if dlq:
        return arn_name(dlq)
    for config in plan.of_type(EVENT_INVOKE_CONFIG):
        if _refers(config, "functionName", function):
            destination = at(config.inputs, "destinationConfig.onFailure.destination")
            if destination:
                return arn_name(destination)
    return None


def _function(plan: Plan, refs: References, function: PlannedResource) -> dict[str, Any]:
    i = function.inputs
    subnets = as_list(at(i, "vpcConfig.subnetIds"))
    return {
        "name": function.name,
        "runtime": "container image" if i.get("packageType") == "Image" else str(i.get("runtime")),
        "memoryMiB": i.get("memorySize"),
        "timeoutSeconds": i.get("timeout"),
        "triggers": _triggers(plan, refs, function),
        "role": refs.name(function, "role") or arn_name(i.get("role")),
        "tracing": at(i, "tracingConfig.mode") == "Active",
        "reservedConcurrency": i.get("reservedConcurrentExecutions"),
        "deadLetter": _on_failure(plan, function),
        "vpcSubnets": len(subnets),
        "environmentKey": refs.name(function, "kmsKeyArn") if i.get("kmsKeyArn") else None,
    }


def _schedule(refs: References, schedule: PlannedResource) -> dict[str, Any]:
    i = schedule.inputs
    target = at(i, "target.arn")
    return {
        "name": schedule.name,
        "expression": str(i.get("scheduleExpression", "")),
        "timezone": str(i.get("scheduleExpressionTimezone") or "UTC"),
        "state": str(i.get("state") or "ENABLED"),
        "target": f"{target.split(':')[2]} {arn_name(target)}"
        if isinstance(target, str) and target.startswith("arn:")
        else arn_name(target),
        "role": arn_name(at(i, "target.roleArn")),
        "deadLetter": arn_name(at(i, "target.deadLetterConfig.arn")) or None,
        "maximumRetries": at(i, "target.retryPolicy.maximumRetryAttempts"),
        "key": refs.name(schedule, "kmsKeyArn") if i.get("kmsKeyArn") else None,
    }


def serverless(plan: Plan, refs: References) -> dict[str, Any]:
    """Functions and schedules, by name (both empty: the report leaves the section out)."""
    return {
        "functions": sorted(
            (_function(plan, refs, f) for f in plan.of_type(FUNCTION)), key=lambda f: f["name"]
        ),
        "schedules": sorted(
            (_schedule(refs, s) for s in plan.of_type(SCHEDULE)), key=lambda s: s["name"]
        ),
    }
