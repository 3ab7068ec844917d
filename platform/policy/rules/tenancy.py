"""Tenant isolation, when tenant plans are given (`context.tenant_plans`): the proof of
osp.platform.tenancy.isolation, as rules over the tenant plans' resources. A rule applies to
a resource of one of those plans and fails when the proof names that resource."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from osp.platform.plan import Plan, PlannedResource
from osp.platform.policy.model import Check, Rule, Scope, Severity
from osp.platform.tenancy import isolation

POLICY_HOLDERS = (
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:kms/key:Key",
)
NAMESPACE_OBJECTS = (
    "kubernetes:core/v1:Namespace",
    "kubernetes:core/v1:ResourceQuota",
    "kubernetes:core/v1:LimitRange",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy",
)

#: The last proof, held with the plans it was made from so their ids stay theirs.
_PROOF: list[tuple[tuple[Plan, ...], list[isolation.Finding]]] = []


def _findings(plans: Mapping[str, Plan]) -> list[isolation.Finding]:
    held = tuple(plans.values())
    for known, findings in _PROOF:
        if len(known) == len(held) and all(a is b for a, b in zip(known, held, strict=True)):
            return findings
    findings = isolation.verify(plans)
    _PROOF[:] = [(held, findings)]
    return findings


def _tenant_of(resource: PlannedResource, plans: Mapping[str, Plan]) -> str | None:
    for slug, plan in plans.items():
        try:
            if plan.get(resource.urn) == resource:
                return slug
        except KeyError:
            continue
    return None


def _proved(kinds: tuple[str, ...]) -> Callable[[PlannedResource, Scope], Check | None]:
    def check(resource: PlannedResource, scope: Scope) -> Check | None:
        plans = scope.context.tenant_plans
        slug = _tenant_of(resource, plans) if plans else None
        if slug is None:
            return None
        found = [
            f.evidence
            for f in _findings(plans)
            if f.tenant == slug and f.rule in kinds and f.resource == resource.name
        ]
        return Check.of(not found, "; ".join(found), tenant=slug, isolation=found or "holds")

    return check


RULES = (
    Rule(
        id="OSP-TENANT-1",
        title="No tenant's policy reaches another tenant's resources or roles",
        severity=Severity.CRITICAL,
        controls=("NIST.800-53.r5 AC-4", "NIST.800-53.r5 SC-4"),
        rationale="A school's role, bucket or key policy that names (or wildcards into) "
        "another school's prefix, bucket, key, role or database leaks student records across "
        "tenants; a policy that cannot be read cannot be proven not to.",
        fix="Scope the tenant's policies to its own ARNs and `tenants/<slug>/` prefix (the tier "
        "blueprint's grants); never a `*` that also matches another tenant.",
        types=POLICY_HOLDERS,
        check=_proved((isolation.RULE_CROSS_TENANT, isolation.RULE_UNREADABLE)),
    ),
    Rule(
        id="OSP-TENANT-2",
        title="A tenant's identity policies allow only the tenant's own resources",
        severity=Severity.HIGH,
        controls=("NIST.800-53.r5 AC-6",),
        rationale="What no other tenant owns today may be the next school's tomorrow: a grant "
        "beyond the tenant's own resources becomes a cross-tenant leak on the next onboarding.",
        fix="Name only the tenant's own bucket, prefix, key, parameter and roles; hold shared "
        "bucket listings to its prefix with an s3:prefix condition.",
        types=POLICY_HOLDERS,
        check=_proved((isolation.RULE_UNCONFINED,)),
    ),
    Rule(
        id="OSP-TENANT-3",
        title="Silo namespaces are bounded and closed by default",
        severity=Severity.HIGH,
        controls=(
            "NSA-CISA Kubernetes Hardening: namespaces, network policies, resource policies",
        ),
        rationale="A silo tenant's namespace needs a ResourceQuota and LimitRange so it cannot "
        "starve others, and a default-deny NetworkPolicy so no other namespace reaches it.",
        fix="Keep the silo tier blueprint's ResourceQuota, LimitRange and default-deny "
        "NetworkPolicy; admit only the namespace itself and the load balancer's subnets.",
        types=NAMESPACE_OBJECTS,
        check=_proved(
            (
                isolation.RULE_NAMESPACE,
                isolation.RULE_QUOTA,
                isolation.RULE_LIMIT_RANGE,
                isolation.RULE_NETWORK_POLICY,
            )
        ),
    ),
    Rule(
        id="OSP-TENANT-4",
        title="A silo tenant's key admits only the account and the tenant's roles",
        severity=Severity.HIGH,
        controls=("KMS.1", "NIST.800-53.r5 AC-3"),
        rationale="The dedicated key is what makes a silo tenant's data its own; any other "
        "principal in its policy can decrypt it.",
        fix="Allow only the account root and the tenant's roles in the key policy; AWS services "
        "only under a condition naming the tenant's resources.",
        types=("aws:kms/key:Key",),
        check=_proved((isolation.RULE_KEY_POLICY,)),
    ),
)
