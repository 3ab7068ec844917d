"""The guardrails as a Pulumi CrossGuard policy pack: the same rules, run by `pulumi preview
--policy-pack policy` (and `pulumi up`) over the real engine's resources.

One StackValidationPolicy per rule (its id lower-cased, its title as the description):
mandatory for critical and high rules, advisory below. Each policy turns the stack's resources
into osp's `Plan` (`plan_of_resources`), runs its rule through `evaluate` with the
environment's context and waivers (the environment is the resources' `osp:environment` tag,
its spec is loaded from the project the pack sits in) and reports each failure with the rule,
the resource, the evidence and the fix.

policy/__main__.py only builds the pack: `PolicyPack("osp-guardrails", policies(project_dir))`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from osp.platform.naming import TAG_BLUEPRINT, TAG_ENVIRONMENT
from osp.platform.plan import STACK_TYPE, Plan, PlannedResource, ResourceOptions
from osp.platform.policy.evaluation import Finding, Report, context_of, evaluate
from osp.platform.policy.model import Outcome, Rule, Severity
from osp.platform.policy.rules import RULES

PACK_NAME = "osp-guardrails"
ENGINE = "crossguard"
SECRET = "<secret>"
UNKNOWN = "<unknown>"

#: The values the Pulumi engine sends for what a preview cannot know yet (pulumi_policy.proxy).
_UNKNOWN_SENTINELS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
        "030794c1-ac77-496b-92df-f27374a8bd58",
        "e48ece36-62e2-4504-bad9-02848725956a",
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    }
)

ReportViolation = Callable[[str, str | None], None]


def enforcement(rule: Rule) -> str:
    """`mandatory` (the preview fails) for critical and high rules, `advisory` below."""
    return "mandatory" if rule.severity.rank >= Severity.HIGH.rank else "advisory"


#: pulumi_policy's wrappers of a resource's props: reading an item through them raises when
#: it is unknown, so the adapter reads what they wrap (their `["__target"]`).
_PROXIES = frozenset({"_DictProxy", "_ListProxy", "_DictSecretsProxy", "_ListSecretsProxy"})


def plain(value: Any) -> Any:
    """A property value as the offline plan holds it: the policy SDK's proxies unwrapped,
    unknowns "<unknown>", secrets "<secret>", whole floats as ints."""
    if type(value).__name__ in _PROXIES:
        value = value["__target"]
    if type(value).__name__ == "Secret" and hasattr(value, "value"):
        return SECRET
    if isinstance(value, str):
        return UNKNOWN if value in _UNKNOWN_SENTINELS else value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _urn(resource: Any) -> str | None:
    return getattr(resource, "urn", None) if resource is not None else None


def planned(resource: Any) -> PlannedResource:
    """One of the stack's resources (pulumi_policy.PolicyResource, or anything shaped like
    it) as a PlannedResource."""
    opts = getattr(resource, "opts", None)
    parent = _urn(getattr(resource, "parent", None)) or getattr(opts, "parent", None)
    provider = getattr(resource, "provider", None)
    token = resource.resource_type
    return PlannedResource(
        urn=resource.urn,
        type=token,
        name=resource.name,
        parent=parent or None,
        # Custom resources are served by a provider; components and the stack are not.
        custom=provider is not None or token.startswith("pulumi:providers:"),
        provider=_urn(provider),
        dependencies=tuple(
            urn for d in getattr(resource, "dependencies", None) or () if (urn := _urn(d))
        ),
        property_dependencies={
            key: tuple(urn for d in deps or () if (urn := _urn(d)))
            for key, deps in (getattr(resource, "property_dependencies", None) or {}).items()
        },
        options=ResourceOptions(
            protect=bool(getattr(opts, "protect", False)),
            ignore_changes=tuple(getattr(opts, "ignore_changes", None) or ()),
            delete_before_replace=bool(getattr(opts, "delete_before_replace", False)),
        ),
        inputs=plain(resource.props) or {},
    )


def _tag(resources: Iterable[PlannedResource], key: str) -> str | None:
    """The most common value of tag `key` among the resources."""
    seen = Counter(
        tags[key]
        for r in resources
        if isinstance(tags := r.inputs.get("tags"), dict) and isinstance(tags.get(key), str)
    )
    return seen.most_common(1)[0][0] if seen else None


def plan_of_resources(resources: Iterable[Any], project: str = "osp") -> Plan:
    """The stack's resources as osp's Plan; its environment and blueprint from their tags."""
    found = tuple(planned(r) for r in resources)
    stack = next((r for r in found if r.type == STACK_TYPE), None)
    environment = _tag(found, TAG_ENVIRONMENT) or ""
    return Plan(
        project=project,
        environment=environment,
        stack=stack.name if stack else environment,
        blueprint=_tag(found, TAG_BLUEPRINT) or "",
        engine=ENGINE,
        resources=found,
        outputs={},
    )


def check(
    rule: Rule, resources: Iterable[Any], project_dir: Path, *, today: date | None = None
) -> Report | None:
    """`rule` over the stack's resources, with the context and waivers of the environment
    their `osp:environment` tag names; None when no resource names one (not an osp stack)."""
    from osp.platform.project import find_project
    from osp.platform.spec import load_environment

    plan = plan_of_resources(resources)
    if not plan.environment:
        return None
    project = find_project(project_dir)
    spec = load_environment(project, plan.environment)
    return evaluate(
        plan, (rule,), context_of(spec), spec.policy.waivers, today=today or date.today()
    )


def message(finding: Finding) -> str:
    """A violation as the preview prints it: rule, resource, what is wrong, the evidence,
    the controls and the fix."""
    rule = finding.rule
    parts = [f"{rule.id} ({rule.severity.value}) {rule.title}: {finding.resource.name}"]
    if finding.detail:
        parts[0] += f": {finding.detail}"
    if finding.waiver_expired and finding.waiver is not None:
        parts.append(f"waiver expired on {finding.waiver.expires.isoformat()}")
    if finding.evidence:
        parts.append("evidence: " + "; ".join(str(e) for e in finding.evidence))
    parts.append("controls: " + ", ".join(rule.controls))
    parts.append(f"fix: {rule.fix}")
    return ". ".join(parts)


def validation(
    rule: Rule, project_dir: Path, *, today: date | None = None
) -> Callable[[Any, ReportViolation], None]:
    """The StackValidation of `rule`: report each resource that fails it (waivers applied)."""

    def validate(args: Any, report_violation: ReportViolation) -> None:
        report = check(rule, args.resources, project_dir, today=today)
        if report is None:
            not_applicable = getattr(args, "not_applicable", None)
            if callable(not_applicable):
                not_applicable(f"no resource carries the {TAG_ENVIRONMENT} tag")
            return
        for finding in report.findings:
            if finding.outcome is Outcome.FAILED:
                report_violation(message(finding), finding.resource.urn)

    return validate


def policies(project_dir: Path, rules: Sequence[Rule] = RULES) -> list[Any]:
    """One pulumi_policy.StackValidationPolicy per rule."""
    from pulumi_policy import EnforcementLevel, StackValidationPolicy
    from pulumi_policy import Severity as PolicySeverity

    return [
        StackValidationPolicy(
            name=rule.id.lower(),
            description=rule.title,
            validate=validation(rule, project_dir),
            enforcement_level=EnforcementLevel(enforcement(rule)),
            severity=PolicySeverity(rule.severity.value),
            remediation_steps=rule.fix,
            tags=list(rule.controls),
        )
        for rule in rules
    ]
