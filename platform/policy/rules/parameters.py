"""SSM Parameter Store: configuration only (secrets live in Secrets Manager, which rotates,
audits and scopes them), under the environment's own hierarchy so that per-service read
grants by path cannot reach another environment's values."""

from __future__ import annotations

from osp.platform.plan import PlannedResource
from osp.platform.policy.model import Check, Rule, Scope, Severity

PARAMETER = "aws:ssm/parameter:Parameter"


def _not_secret(resource: PlannedResource, scope: Scope) -> Check | None:
    kind = resource.inputs.get("type")
    ok = kind != "SecureString"
    return Check.of(ok, "" if ok else "a secret kept as a SecureString parameter", type=kind)


def hierarchy_prefix(name: object, environment: str) -> bool:
    """Whether a parameter name sits under `/<prefix>/<environment>/`."""
    if not isinstance(name, str):
        return False
    parts = name.split("/")
    return len(parts) >= 4 and parts[0] == "" and bool(parts[1]) and parts[2] == environment


def _in_hierarchy(resource: PlannedResource, scope: Scope) -> Check | None:
    name = resource.inputs.get("name")
    ok = hierarchy_prefix(name, scope.context.environment)
    detail = "" if ok else f"not under /<prefix>/{scope.context.environment}/"
    return Check.of(ok, detail, name=name)


RULES = (
    Rule(
        id="OSP-SSM-1",
        title="Parameters hold configuration, not secrets",
        severity=Severity.HIGH,
        controls=("NIST.800-53.r5 IA-5", "NIST.800-53.r5 SC-28"),
        rationale="A SecureString parameter is a secret without rotation or a resource policy, "
        "readable by every principal granted the path; secrets belong in Secrets Manager.",
        fix="Declare the value under `secrets:` in the catalogue (Secrets Manager), and keep "
        "parameters of type String or StringList.",
        types=(PARAMETER,),
        check=_not_secret,
    ),
    Rule(
        id="OSP-SSM-2",
        title="Parameters are named under the environment's hierarchy",
        severity=Severity.LOW,
        controls=("NIST.800-53.r5 AC-6", "NIST.800-53.r5 CM-6"),
        rationale="Services are granted their parameters by path; a parameter outside "
        "/<prefix>/<environment>/ is either unreachable or shared across environments.",
        fix="Name it /<prefix>/<environment>/<service>/<name> (the Parameters component does).",
        types=(PARAMETER,),
        check=_in_hierarchy,
    ),
)
