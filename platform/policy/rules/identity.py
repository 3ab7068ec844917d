"""IAM: identity policies grant data-plane actions on named resources only, never
`iam:PassRole` on everything, and never administrator access.

Policies are read wherever a plan can hold one: aws:iam/policy, role/user/group inline
policy resources, a role's `inlinePolicies`, and attachments of AWS's administrator policy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from osp.platform.plan import PlannedResource
from osp.platform.policy.model import Check, Rule, Scope, Severity
from osp.platform.policy.rules._reading import Statement, as_list, grants, statements, unscoped

POLICY = "aws:iam/policy:Policy"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
POLICY_TYPES = (POLICY, ROLE, ROLE_POLICY, USER_POLICY, GROUP_POLICY)

#: Actions that read or change data (not its configuration): one representative per kind, so
#: a pattern (`s3:*`, `s3:Get*`, `*`, a NotAction) that covers any of them is data-plane.
DATA_PLANE_ACTIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:DeleteItem",
    "dynamodb:UpdateItem",
    "dynamodb:BatchWriteItem",
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sns:Publish",
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:ReEncryptFrom",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "rds-db:connect",
    "lambda:InvokeFunction",
    "kinesis:PutRecord",
    "kinesis:GetRecords",
    "ses:SendEmail",
    "ses:SendRawEmail",
    "elasticache:Connect",
    "logs:GetLogEvents",
)
ADMIN_POLICY_ARNS = (
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
)


def _documents(resource: PlannedResource) -> Iterator[tuple[str, Any]]:
    """(property path, document) of each identity policy the resource holds."""
    if resource.type == ROLE:
        for index, inline in enumerate(as_list(resource.inputs.get("inlinePolicies"))):
            if isinstance(inline, dict) and inline.get("policy"):
                yield f"inlinePolicies[{index}].policy", inline["policy"]
    elif resource.inputs.get("policy"):
        yield "policy", resource.inputs["policy"]


def _allows(resource: PlannedResource) -> Iterator[tuple[str, Statement | None]]:
    for path, text in _documents(resource):
        found = statements(text)
        if found is None:
            yield path, None
            continue
        for statement in found:
            if statement.effect == "Allow":
                yield path, statement


def _shown_actions(statement: Statement) -> str:
    if statement.not_actions is not None:
        return f"NotAction {list(statement.not_actions)}"
    return str(list(statement.actions))


def _data_plane_on_everything(resource: PlannedResource, scope: Scope) -> Check | None:
    evidence: dict[str, Any] = {}
    bad = []
    seen = False
    for path, statement in _allows(resource):
        seen = True
        if statement is None:
            bad.append(f"{path} cannot be read")
            evidence[path] = "<unreadable>"
            continue
        broad = {
            a: where
            for a in DATA_PLANE_ACTIONS
            if grants(statement, a) and (where := unscoped(statement, a))
        }
        if broad:
            where = next(iter(broad.values()))
            bad.append(f"{statement.label} allows {_shown_actions(statement)} on {where}")
            evidence[f"{path}.{statement.label}.Resource"] = where
    if not seen:
        return None
    return Check.of(
        not bad,
        "; ".join(bad),
        **(evidence or {"policy": "every data-plane grant names its resources"}),
    )


def _pass_role(resource: PlannedResource, scope: Scope) -> Check | None:
    bad, evidence, seen = [], {}, False
    for path, statement in _allows(resource):
        seen = True
        if statement is None:
            continue
        where = unscoped(statement, "iam:PassRole")
        if where and grants(statement, "iam:PassRole"):
            bad.append(f"{statement.label} allows iam:PassRole on {where}")
            evidence[f"{path}.{statement.label}.Resource"] = where
    if not seen:
        return None
    return Check.of(not bad, "; ".join(bad), **(evidence or {"policy": "no iam:PassRole on *"}))


def _administrator(resource: PlannedResource, scope: Scope) -> Check | None:
    if resource.type in ATTACHMENTS:
        arn = resource.inputs.get("policyArn")
        admin = arn in ADMIN_POLICY_ARNS
        return Check.of(not admin, f"attaches {arn}" if admin else "", policyArn=arn)
    bad, evidence, seen = [], {}, False
    for path, statement in _allows(resource):
        seen = True
        if statement is None:
            continue
        if (
            grants(statement, "iam:CreateAccessKey")
            and grants(statement, "ec2:RunInstances")
            and unscoped(statement, "iam:CreateAccessKey")
            and unscoped(statement, "ec2:RunInstances")
        ):
            bad.append(f"{statement.label} allows {_shown_actions(statement)} on everything")
            evidence[f"{path}.{statement.label}.Action"] = _shown_actions(statement)
    if not seen:
        return None
    return Check.of(not bad, "; ".join(bad), **(evidence or {"policy": "no administrator grant"}))


RULES = (
    Rule(
        id="OSP-IAM-1",
        title='Policies grant data-plane actions on named resources, never "Resource": "*"',
        severity=Severity.HIGH,
        controls=("IAM.21", "NIST.800-53.r5 AC-6"),
        rationale="A service allowed s3:GetObject, kms:Decrypt or sqs:ReceiveMessage on * reads "
        "every school's data in the account once it is compromised.",
        fix="Name the buckets, keys, queues, tables and secrets the service uses (the app's "
        "Grants build ARNs for you); wildcards inside a resource's own ARN are fine.",
        types=POLICY_TYPES,
        check=_data_plane_on_everything,
    ),
    Rule(
        id="OSP-IAM-2",
        title='No policy allows iam:PassRole on "*"',
        severity=Severity.HIGH,
        controls=("IAM.21", "NIST.800-53.r5 AC-6"),
        rationale="PassRole on * lets the holder hand any role, administrators' included, to a "
        "service it controls: privilege escalation in one call.",
        fix="Name the role ARNs that may be passed and add an iam:PassedToService condition.",
        types=POLICY_TYPES,
        check=_pass_role,
    ),
    Rule(
        id="OSP-IAM-3",
        title="No policy grants administrator access",
        severity=Severity.CRITICAL,
        controls=("IAM.1",),
        rationale='"Action": "*" on "*" (or AdministratorAccess) makes any flaw in the holder '
        "a compromise of the whole account.",
        fix="Grant the actions the role needs on its own resources; administrators use SSO "
        "roles outside the estate.",
        types=(*POLICY_TYPES, *ATTACHMENTS),
        check=_administrator,
    ),
)
