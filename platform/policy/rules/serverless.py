"""Lambda functions and EventBridge Scheduler schedules: functions traced, capped, on a
supported runtime, their environment under the environment's key, inside the VPC when they
reach a data store there, never invocable by everyone, and no event lost when an asynchronous
invocation or a schedule fails."""

from __future__ import annotations

from osp.platform import limits
from osp.platform.plan import PlannedResource
from osp.platform.policy.model import Check, Rule, Scope, Severity
from osp.platform.policy.rules._reading import (
    as_list,
    at,
    customer_key,
    of_types,
    referenced,
    referrers,
    statements,
    unknown,
)

FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
EVENT_INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
SCHEDULE = "aws:scheduler/schedule:Schedule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
MANAGED_POLICY = "aws:iam/policy:Policy"


#: Services that invoke a function asynchronously: a failed invocation is retried twice, then
#: dropped unless the function has a dead-letter queue or an on-failure destination.
ASYNC_PRINCIPALS = frozenset(
    {
        "s3.amazonaws.com",
        "sns.amazonaws.com",
        "events.amazonaws.com",
        "ses.amazonaws.com",
        "logs.amazonaws.com",
        "iot.amazonaws.com",
        "codecommit.amazonaws.com",
        "lambda.alarms.cloudwatch.amazonaws.com",
    }
)

#: IAM services of the data stores reachable only inside the VPC: a function granted them
#: must run there (Lambda.3) rather than open the store to the internet.
IN_VPC_SERVICES = frozenset({"rds-db", "kafka-cluster", "elasticache", "elasticfilesystem"})

MIN_VPC_SUBNETS = 2
"""Lambda.5: a function in the VPC spans at least two subnets (zones)."""


def _invokers(scope: Scope, function: PlannedResource, type_token: str, prop: str) -> list:
    name = function.inputs.get("name")
    return referrers(scope, function, (type_token,), prop, (name,) if name else ())


def _targets_function(holder: PlannedResource, function: PlannedResource, prop: str) -> bool:
    """Whether a schedule's or EventBridge rule's target is `function`."""
    arn = at(holder.inputs, f"{prop}.arn") if prop == "target" else holder.inputs.get(prop)
    name = function.inputs.get("name")
    return function.urn in holder.property_dependencies.get(prop, ()) or (
        isinstance(arn, str) and bool(name) and arn.endswith(f":function:{name}")
    )


# --- Lambda -------------------------------------------------------------------------------


def _not_public(resource: PlannedResource, scope: Scope) -> Check | None:
    if resource.type == FUNCTION_URL:
        kind = resource.inputs.get("authorizationType")
        ok = kind == "AWS_IAM"
        return Check.of(
            ok, "" if ok else "anyone on the internet may invoke it", authorizationType=kind
        )
    principal = resource.inputs.get("principal")
    source_arn = resource.inputs.get("sourceArn")
    account = resource.inputs.get("sourceAccount")
    evidence = {"principal": principal, "sourceArn": source_arn, "sourceAccount": account}
    if principal == "*" and not resource.inputs.get("principalOrgId"):
        return Check.of(False, "every AWS account may invoke it", **evidence)
    service = isinstance(principal, str) and principal.endswith(".amazonaws.com")
    if service and not source_arn and not account:
        return Check.of(
            False,
            f"{principal} may invoke it on behalf of any account (no sourceArn or sourceAccount)",
            **evidence,
        )
    return Check.of(True, **evidence)


def _runtime(resource: PlannedResource, scope: Scope) -> Check | None:
    if resource.inputs.get("packageType") == "Image":
        return None  # the image brings its own runtime
    runtime = resource.inputs.get("runtime")
    if runtime is None:
        return None
    ok = runtime not in limits.LAMBDA_DEPRECATED_RUNTIMES
    return Check.of(ok, "" if ok else f"{runtime} is deprecated", runtime=runtime)


def _data_store_actions(scope: Scope, function: PlannedResource) -> list[str]:
    """The in-VPC data-store actions the function's role is allowed."""
    found: list[str] = []
    for role in referenced(scope, function, "role", (ROLE,)):
        documents = [p.inputs.get("policy") for p in _invokers_of_role(scope, role, ROLE_POLICY)]
        for attachment in _invokers_of_role(scope, role, ROLE_POLICY_ATTACHMENT):
            documents += [
                p.inputs.get("policy")
                for p in referenced(scope, attachment, "policyArn", (MANAGED_POLICY,))
            ]
        for text in documents:
            for statement in statements(text) or ():
                if statement.effect != "Allow":
                    continue
                found += [
                    a for a in statement.actions if a.split(":", 1)[0].lower() in IN_VPC_SERVICES
                ]
    return sorted(set(found))


def _invokers_of_role(scope: Scope, role: PlannedResource, type_token: str) -> list:
    name = role.inputs.get("name")
    return referrers(scope, role, (type_token,), "role", (name,) if name else ())


def _in_vpc(resource: PlannedResource, scope: Scope) -> Check | None:
    actions = _data_store_actions(scope, resource)
    if not actions:
        return None  # reaches nothing that lives only inside the VPC
    subnets = at(resource.inputs, "vpcConfig.subnetIds")
    count = len(as_list(subnets))
    if not subnets:
        return Check.of(
            False,
            f"allowed {actions[0]} but runs outside the VPC",
            **{"vpcConfig.subnetIds": subnets},
        )
    if count < MIN_VPC_SUBNETS and not any(unknown(s) for s in as_list(subnets)):
        return Check.of(
            False,
            "in one subnet only: one zone's outage stops it",
            **{"vpcConfig.subnetIds": subnets},
        )
    return Check.of(True, **{"vpcConfig.subnetIds": subnets})


def _traced(resource: PlannedResource, scope: Scope) -> Check | None:
    mode = at(resource.inputs, "tracingConfig.mode")
    ok = mode == "Active"
    return Check.of(ok, "" if ok else "X-Ray active tracing is off", **{"tracingConfig.mode": mode})


def _concurrency(resource: PlannedResource, scope: Scope) -> Check | None:
    reserved = resource.inputs.get("reservedConcurrentExecutions")
    ok = isinstance(reserved, int) and not isinstance(reserved, bool) and reserved >= 0
    return Check.of(
        ok,
        "" if ok else "no reserved concurrency: it can take the account's whole pool",
        reservedConcurrentExecutions=reserved,
    )


def _async_triggers(scope: Scope, function: PlannedResource) -> list[str]:
    triggers = [
        f"{p.name} ({p.inputs.get('principal')})"
        for p in _invokers(scope, function, PERMISSION, "function")
        if p.inputs.get("principal") in ASYNC_PRINCIPALS
    ]
    triggers += [
        f"{s.name} (schedule)"
        for s in of_types(scope, (SCHEDULE,))
        if _targets_function(s, function, "target")
    ]
    triggers += [
        f"{t.name} (EventBridge rule)"
        for t in of_types(scope, (EVENT_TARGET,))
        if _targets_function(t, function, "arn")
    ]
    return triggers


def _failures_kept(resource: PlannedResource, scope: Scope) -> Check | None:
    triggers = _async_triggers(scope, resource)
    if not triggers:
        return None  # invoked synchronously or by a poller: the caller or the queue retries
    dlq = at(resource.inputs, "deadLetterConfig.targetArn")
    destinations = [
        at(c.inputs, "destinationConfig.onFailure.destination")
        for c in _invokers(scope, resource, EVENT_INVOKE_CONFIG, "functionName")
    ]
    destination = next((d for d in destinations if d), None)
    ok = bool(dlq) or bool(destination)
    return Check.of(
        ok,
        "" if ok else f"invoked asynchronously by {triggers[0]}, and failed events are dropped",
        **{
            "deadLetterConfig.targetArn": dlq,
            "destinationConfig.onFailure.destination": destination,
        },
    )


def _environment_key(resource: PlannedResource, scope: Scope) -> Check | None:
    if not at(resource.inputs, "environment.variables"):
        return None  # nothing to encrypt
    key = resource.inputs.get("kmsKeyArn")
    ok = customer_key(key)
    return Check.of(
        ok,
        "" if ok else "environment variables are encrypted with the AWS-managed key",
        kmsKeyArn=key,
    )


# --- EventBridge Scheduler ----------------------------------------------------------------


def _schedule_failures(resource: PlannedResource, scope: Scope) -> Check | None:
    dlq = at(resource.inputs, "target.deadLetterConfig.arn")
    attempts = at(resource.inputs, "target.retryPolicy.maximumRetryAttempts")
    evidence = {
        "target.deadLetterConfig.arn": dlq,
        "target.retryPolicy.maximumRetryAttempts": attempts,
    }
    if not dlq:
        return Check.of(False, "no dead-letter queue: a failed delivery is dropped", **evidence)
    if at(resource.inputs, "target.retryPolicy") is None:
        return Check.of(False, "no retry policy of its own", **evidence)
    return Check.of(True, **evidence)


def _schedule_key(resource: PlannedResource, scope: Scope) -> Check | None:
    key = resource.inputs.get("kmsKeyArn")
    ok = customer_key(key)
    return Check.of(
        ok,
        "" if ok else "the schedule's payload is encrypted with an AWS-owned key",
        kmsKeyArn=key,
    )


RULES = (
    Rule(
        id="OSP-LAMBDA-1",
        title="Functions cannot be invoked by everyone",
        severity=Severity.CRITICAL,
        controls=("Lambda.1",),
        rationale="A permission for `*`, a service principal without a source (any account's "
        "bucket or topic could then invoke it), or a function URL without IAM lets others run "
        "the function with its role's rights.",
        fix="Grant `lambda:InvokeFunction` to the one service principal with `sourceArn` (and "
        "`sourceAccount`) of the trigger; give function URLs `authorizationType: AWS_IAM`.",
        types=(PERMISSION, FUNCTION_URL),
        check=_not_public,
    ),
    Rule(
        id="OSP-LAMBDA-2",
        title="Functions use a supported runtime",
        severity=Severity.MEDIUM,
        controls=("Lambda.2",),
        rationale="A deprecated runtime gets no security patches, and AWS stops functions on "
        "it from being updated.",
        fix="Move the function to a supported runtime (python3.13, nodejs22.x, …) in the "
        "catalogue.",
        types=(FUNCTION,),
        check=_runtime,
    ),
    Rule(
        id="OSP-LAMBDA-3",
        title="Functions that reach data stores in the VPC run in the VPC across two zones",
        severity=Severity.LOW,
        controls=("Lambda.3", "Lambda.5"),
        rationale="A function allowed to connect to the database, cache, brokers or file "
        "system must reach them privately; outside the VPC it could only do so if they were "
        "opened to the internet.",
        fix="Give the function `vpcConfig` with the private subnets of two or more zones and "
        "its own security group.",
        types=(FUNCTION,),
        check=_in_vpc,
    ),
    Rule(
        id="OSP-LAMBDA-4",
        title="Functions have X-Ray active tracing",
        severity=Severity.LOW,
        controls=("Lambda.7",),
        rationale="Traces connect a function's invocation to the request or event that caused "
        "it and to the calls it made.",
        fix="Set `tracingConfig.mode: Active` (the components do).",
        types=(FUNCTION,),
        check=_traced,
    ),
    Rule(
        id="OSP-LAMBDA-5",
        title="Functions have reserved concurrency",
        severity=Severity.MEDIUM,
        controls=("NIST.800-53.r5 SC-5", "NIST.800-53.r5 SC-6"),
        rationale="Without a cap, a burst of events lets one function take the account's whole "
        "concurrency (throttling every other function) and flood the stores it writes to.",
        fix="Set `reservedConcurrentExecutions` (the catalogue's reserved_concurrency).",
        types=(FUNCTION,),
        check=_concurrency,
    ),
    Rule(
        id="OSP-LAMBDA-6",
        title="Asynchronously invoked functions keep the events that fail",
        severity=Severity.MEDIUM,
        controls=("NIST.800-53.r5 SI-13", "NIST.800-53.r5 CP-10"),
        rationale="Lambda retries an asynchronous event twice and then drops it; an upload "
        "never processed or a reminder never sent leaves no trace without a dead-letter "
        "queue or an on-failure destination.",
        fix="Set `deadLetterConfig.targetArn` to an encrypted queue, or a "
        "FunctionEventInvokeConfig with `destinationConfig.onFailure`.",
        types=(FUNCTION,),
        check=_failures_kept,
    ),
    Rule(
        id="OSP-LAMBDA-7",
        title="Function environment variables are encrypted with the environment's KMS key",
        severity=Severity.MEDIUM,
        controls=("NIST.800-53.r5 SC-28", "NIST.800-53.r5 SC-12"),
        rationale="Environment variables are readable by anyone allowed "
        "`lambda:GetFunctionConfiguration` unless a key the environment controls must also "
        "decrypt them.",
        fix="Set `kmsKeyArn` to the environment's key (and keep secrets in Secrets Manager).",
        types=(FUNCTION,),
        check=_environment_key,
    ),
    Rule(
        id="OSP-SCHED-1",
        title="Schedules retry and keep what they cannot deliver",
        severity=Severity.MEDIUM,
        controls=("NIST.800-53.r5 SI-13", "NIST.800-53.r5 CP-10"),
        rationale="A reminder or report whose target is throttled or missing is retried by the "
        "schedule's retry policy, then dropped unless a dead-letter queue keeps it.",
        fix="Set `target.retryPolicy` and `target.deadLetterConfig.arn` (the Schedule "
        "component does).",
        types=(SCHEDULE,),
        check=_schedule_failures,
    ),
    Rule(
        id="OSP-SCHED-2",
        title="Schedules are encrypted with the environment's KMS key",
        severity=Severity.LOW,
        controls=("NIST.800-53.r5 SC-28", "NIST.800-53.r5 SC-12"),
        rationale="A schedule's input payload is stored by the service; an AWS-owned key "
        "cannot be audited or revoked by the environment.",
        fix="Set `kmsKeyArn` to the environment's key.",
        types=(SCHEDULE,),
        check=_schedule_key,
    ),
)
