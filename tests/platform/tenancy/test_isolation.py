"""Isolation from plans: real pool and silo tenants pass; each deliberately broken plan fails,
naming the leak."""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from osp.platform.engine import offline
from osp.platform.plan import Plan
from osp.platform.tenancy import TenantRequest, Tier, new_tenant
from osp.platform.tenancy.isolation import (
    RULE_CROSS_TENANT,
    RULE_KEY_POLICY,
    RULE_LIMIT_RANGE,
    RULE_NAMESPACE,
    RULE_NETWORK_POLICY,
    RULE_QUOTA,
    RULE_UNCONFINED,
    RULE_UNREADABLE,
    Finding,
    matches,
    verify,
)
from tests.support import plan_of, spec_of

NOW = datetime(2026, 5, 9, 10, 0, tzinfo=UTC)
#: Two of each tier: every rule is checked between tenants of the same tier and across tiers.
TENANTS = {
    "springfield": Tier.POOL,
    "springfield-east": Tier.POOL,
    "shelbyville": Tier.SILO,
    "ogdenville": Tier.SILO,
}


@functools.cache
def tenant_plan(environment: str, slug: str) -> Plan:
    from osp.stacks.tenant import build

    request = TenantRequest(
        slug=slug, name=slug.title(), tier=TENANTS[slug], admin_email="it@school.example.org"
    )
    tenant = new_tenant(request, actor="al@laptop", now=NOW)
    outputs = plan_of(environment).outputs
    return offline.run(spec_of(environment), lambda spec: build(spec, tenant, outputs))


def fleet(environment: str = "dev", **changed: Plan) -> dict[str, Plan]:
    return {slug: changed.get(slug.replace("-", "_")) or tenant_plan(environment, slug)
            for slug in TENANTS}  # fmt: skip


def edited(plan: Plan, type_token: str, change, *, name: str | None = None) -> Plan:
    """`plan` with the inputs of its one resource of `type_token` (or `name`) changed."""
    resources = []
    hits = 0
    for resource in plan.resources:
        if resource.type == type_token and (name is None or resource.name == name):
            hits += 1
            inputs = json.loads(json.dumps(dict(resource.inputs)))
            resource = replace(resource, inputs=change(inputs))
        resources.append(resource)
    assert hits == 1, f"{hits} resources of {type_token}"
    return replace(plan, resources=tuple(resources))


def without(plan: Plan, type_token: str) -> Plan:
    kept = tuple(r for r in plan.resources if r.type != type_token)
    assert len(kept) < len(plan.resources)
    return replace(plan, resources=kept)


def role_policy(slug: str, change, environment: str = "dev") -> Plan:
    def edit(inputs: dict[str, Any]) -> dict[str, Any]:
        document = json.loads(inputs["policy"])
        change(document["Statement"])
        inputs["policy"] = json.dumps(document)
        return inputs

    return edited(
        tenant_plan(environment, slug),
        "aws:iam/rolePolicy:RolePolicy",
        edit,
        name=f"osp-{environment}-tenant-{slug}-access",
    )


def only(findings: list[Finding], rule: str) -> Finding:
    assert [f.rule for f in findings] == [rule], [str(f) for f in findings]
    return findings[0]


# --- real plans pass ----------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_real_pool_and_silo_tenants_are_isolated(environment):
    assert verify(fleet(environment)) == []


def test_an_empty_fleet_and_a_single_tenant_pass():
    assert verify({}) == []
    assert verify({"shelbyville": tenant_plan("dev", "shelbyville")}) == []


# --- cross-tenant access ------------------------------------------------------------------


def test_a_policy_reaching_another_tenants_prefix_is_named():
    def reach(statements):
        objects = statements[0]["Resource"]
        statements[0]["Resource"] = [*objects, objects[0].replace("/shelbyville/", "/springfield/")]

    findings = verify(fleet(shelbyville=role_policy("shelbyville", reach)))
    finding = only(findings, RULE_CROSS_TENANT)
    bucket = plan_of("dev").outputs["dataBuckets"]["documents"]
    assert finding.tenant == "shelbyville"
    assert finding.resource == "osp-dev-tenant-shelbyville-access"
    assert finding.message == (
        "tenant shelbyville: cross-tenant-access: osp-dev-tenant-shelbyville-access: policy "
        "statement TenantPrefixObjects allows s3:GetObject, s3:PutObject, s3:DeleteObject, "
        f"s3:GetObjectVersion on arn:aws:s3:::{bucket}/tenants/springfield/*, which reaches "
        f"tenant springfield's prefix tenants/springfield/ in the shared documents bucket {bucket}"
    )


@pytest.mark.parametrize(
    ("pattern", "victims"),
    [
        ("tenants/*", {"springfield", "springfield-east", "ogdenville"}),
        ("tenants/springfield*", {"springfield", "springfield-east"}),
        ("tenants/springfield?east/*", {"springfield-east"}),
        ("*", {"springfield", "springfield-east", "ogdenville"}),
    ],
)
def test_a_wildcard_that_would_match_another_prefix_is_a_leak(pattern, victims):
    def widen(statements):
        statements[0]["Resource"] = [
            r.split("/", 1)[0] + "/" + pattern for r in statements[0]["Resource"]
        ]

    findings = verify(fleet(shelbyville=role_policy("shelbyville", widen)))
    assert {f.rule for f in findings} == {RULE_CROSS_TENANT}
    reached = {f.evidence.split("reaches tenant ")[1].split("'")[0] for f in findings}
    assert reached == victims


def test_a_prefix_that_only_starts_like_another_slug_is_not_a_leak():
    # tenants/springfield/* must not be taken for tenants/springfield-east/*.
    assert verify({s: tenant_plan("dev", s) for s in ("springfield", "springfield-east")}) == []


def test_resource_star_reaches_every_other_tenant():
    def star(statements):
        statements[-1]["Resource"] = "*"

    findings = verify(fleet(springfield=role_policy("springfield", star)))
    assert {f.tenant for f in findings} == {"springfield"}
    evidence = " ".join(f.evidence for f in findings)
    for other in ("shelbyville", "ogdenville", "springfield-east"):
        assert f"tenant {other}'s configuration parameter" in evidence
    assert "tenant ogdenville's KMS key" in evidence
    assert "tenant ogdenville's bucket" in evidence


@pytest.mark.parametrize(
    ("condition", "leak"),
    [
        (None, "with no s3:prefix condition"),
        ({"StringLike": {"s3:prefix": ["tenants/*"]}}, "with s3:prefix 'tenants/*'"),
        ({"StringEquals": {"s3:prefix": ["tenants/"]}}, "with s3:prefix 'tenants/'"),
        ({"StringNotLike": {"s3:prefix": ["tenants/springfield/*"]}}, "with no s3:prefix"),
    ],
)
def test_listing_a_shared_bucket_beyond_the_own_prefix_is_a_leak(condition, leak):
    def loosen(statements):
        listing = statements[1]
        assert listing["Sid"] == "TenantPrefixListing"
        listing.pop("Condition")
        if condition:
            listing["Condition"] = condition

    findings = verify(fleet(springfield=role_policy("springfield", loosen)))
    assert findings and {f.rule for f in findings} == {RULE_CROSS_TENANT}
    assert all(leak in f.evidence for f in findings)
    assert "which lists tenant shelbyville's prefix tenants/shelbyville/" in " ".join(
        f.evidence for f in findings
    )


def test_a_literal_prefix_condition_of_its_own_is_not_a_leak():
    def literal(statements):
        statements[1]["Condition"] = {"StringEquals": {"s3:prefix": ["tenants/springfield/"]}}

    assert verify(fleet(springfield=role_policy("springfield", literal))) == []


def test_a_key_policy_naming_another_tenants_role_is_named_twice():
    intruder = tenant_plan("dev", "ogdenville").outputs["roleArn"]

    def admit(inputs):
        document = json.loads(inputs["policy"])
        document["Statement"][1]["Principal"]["AWS"] = [
            document["Statement"][1]["Principal"]["AWS"],
            intruder,
        ]
        inputs["policy"] = json.dumps(document)
        return inputs

    broken = edited(tenant_plan("dev", "shelbyville"), "aws:kms/key:Key", admit)
    findings = verify(fleet(shelbyville=broken))
    assert sorted(f.rule for f in findings) == [RULE_CROSS_TENANT, RULE_KEY_POLICY]
    assert all(f.tenant == "shelbyville" for f in findings)
    assert f"allows {intruder}, neither the account root nor a role of tenant shelbyville" in (
        " ".join(f.evidence for f in findings)
    )


def test_a_trust_policy_naming_another_tenants_role_is_a_leak():
    intruder = tenant_plan("dev", "springfield").outputs["roleArn"]

    def trust(inputs):
        document = json.loads(inputs["assumeRolePolicy"])
        document["Statement"][0]["Principal"]["AWS"].append(intruder)
        inputs["assumeRolePolicy"] = json.dumps(document)
        return inputs

    broken = edited(
        tenant_plan("dev", "shelbyville"),
        "aws:iam/role:Role",
        trust,
        name="osp-dev-tenant-shelbyville-role",
    )
    finding = only(verify(fleet(shelbyville=broken)), RULE_CROSS_TENANT)
    assert "trust policy statement AssumedBy allows principal" in finding.evidence
    assert "names tenant springfield's role" in finding.evidence


def test_not_resource_is_a_leak():
    def invert(statements):
        statements[-1]["NotResource"] = statements[-1].pop("Resource")

    findings = verify(fleet(springfield=role_policy("springfield", invert)))
    assert "allows NotResource" in only(findings, RULE_CROSS_TENANT).evidence


def test_a_policy_that_cannot_be_read_cannot_be_proven():
    def unreadable(inputs):
        inputs["policy"] = "<unknown>"
        return inputs

    broken = edited(tenant_plan("dev", "springfield"), "aws:iam/rolePolicy:RolePolicy", unreadable)
    finding = only(verify(fleet(springfield=broken)), RULE_UNREADABLE)
    assert finding.evidence == "its policy cannot be read as JSON"


# --- confinement, whatever the fleet ------------------------------------------------------


def test_a_star_is_refused_even_in_a_fleet_of_one():
    def star(statements):
        statements[-1]["Resource"] = "*"

    broken = role_policy("springfield", star)
    finding = only(verify({"springfield": broken}), RULE_UNCONFINED)
    assert finding.evidence == (
        "policy statement TenantConfiguration allows ssm:GetParameter on *, which is not "
        "tenant springfield's own"
    )


def test_an_unheld_listing_is_refused_even_in_a_fleet_of_one():
    def loosen(statements):
        statements[1]["Condition"] = {"StringLike": {"s3:prefix": ["tenants/*"]}}

    findings = verify({"springfield": role_policy("springfield", loosen)})
    assert findings and {f.rule for f in findings} == {RULE_UNCONFINED}
    assert all("allows s3:ListBucket on arn:aws:s3:::" in f.evidence for f in findings)


def test_a_resource_no_tenant_owns_is_refused():
    def elsewhere(statements):
        statements[0]["Resource"].append("arn:aws:s3:::someone-elses-bucket/*")

    finding = only(
        verify(fleet(springfield=role_policy("springfield", elsewhere))), RULE_UNCONFINED
    )
    assert "on arn:aws:s3:::someone-elses-bucket/*, which is not tenant springfield's own" in (
        finding.evidence
    )


def test_a_leak_is_named_once_by_its_victim_not_twice():
    def star(statements):
        statements[-1]["Resource"] = "*"

    findings = verify(fleet(springfield=role_policy("springfield", star)))
    assert {f.rule for f in findings} == {RULE_CROSS_TENANT}


# --- silo namespaces and keys -------------------------------------------------------------


def test_a_namespace_missing_its_quota_is_named():
    broken = without(tenant_plan("dev", "ogdenville"), "kubernetes:core/v1:ResourceQuota")
    finding = only(verify(fleet(ogdenville=broken)), RULE_QUOTA)
    assert finding.message == (
        "tenant ogdenville: namespace-quota: osp-dev-tenant-ogdenville-namespace: namespace "
        "tenant-ogdenville has no ResourceQuota"
    )


def test_a_quota_leaving_memory_open_is_named():
    def loosen(inputs):
        del inputs["spec"]["hard"]["limits.memory"]
        return inputs

    broken = edited(tenant_plan("dev", "ogdenville"), "kubernetes:core/v1:ResourceQuota", loosen)
    finding = only(verify(fleet(ogdenville=broken)), RULE_QUOTA)
    assert (
        finding.evidence
        == "namespace tenant-ogdenville's ResourceQuota leaves limits.memory unbounded"
    )


def test_a_namespace_missing_its_limit_range_is_named():
    broken = without(tenant_plan("dev", "ogdenville"), "kubernetes:core/v1:LimitRange")
    assert "has no LimitRange" in only(verify(fleet(ogdenville=broken)), RULE_LIMIT_RANGE).evidence


def test_a_namespace_without_default_deny_is_named():
    broken = without(
        tenant_plan("dev", "ogdenville"), "kubernetes:networking.k8s.io/v1:NetworkPolicy"
    )
    finding = only(verify(fleet(ogdenville=broken)), RULE_NETWORK_POLICY)
    assert "has no default-deny NetworkPolicy" in finding.evidence


@pytest.mark.parametrize(
    ("peer", "evidence"),
    [
        ({"namespaceSelector": {}}, "admits namespaces selected by {}"),
        (
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "osp-services"}}},
            "admits namespaces selected by",
        ),
        ({"ipBlock": {"cidr": "0.0.0.0/0"}}, "admits 0.0.0.0/0, beyond the load balancer's"),
    ],
)
def test_a_network_policy_admitting_outsiders_is_named(peer, evidence):
    def admit(inputs):
        inputs["spec"]["ingress"][0]["from"].append(peer)
        return inputs

    broken = edited(
        tenant_plan("dev", "shelbyville"),
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        admit,
        name="osp-dev-tenant-shelbyville-default-deny",
    )
    finding = only(verify(fleet(shelbyville=broken)), RULE_NETWORK_POLICY)
    assert finding.evidence.startswith("namespace tenant-shelbyville: ingress rule 1 ")
    assert evidence in finding.evidence


def test_a_silo_without_a_namespace_is_named():
    broken = tenant_plan("dev", "shelbyville")
    for token in (
        "kubernetes:core/v1:Namespace",
        "kubernetes:core/v1:ResourceQuota",
        "kubernetes:core/v1:LimitRange",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    ):
        broken = without(broken, token)
    assert (
        "declares no namespace" in only(verify(fleet(shelbyville=broken)), RULE_NAMESPACE).evidence
    )


def test_a_key_policy_open_to_a_service_without_condition_is_named():
    def unconditioned(inputs):
        document = json.loads(inputs["policy"])
        del document["Statement"][2]["Condition"]
        inputs["policy"] = json.dumps(document)
        return inputs

    broken = edited(tenant_plan("dev", "shelbyville"), "aws:kms/key:Key", unconditioned)
    finding = only(verify(fleet(shelbyville=broken)), RULE_KEY_POLICY)
    assert "allows the service logs.us-east-1.amazonaws.com with no condition" in finding.evidence


# --- IAM patterns -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("arn:aws:s3:::b/tenants/a/*", "arn:aws:s3:::b/tenants/a/x/y", True),
        ("arn:aws:s3:::b/tenants/a/*", "arn:aws:s3:::b/tenants/ab/x", False),
        ("arn:aws:s3:::b/tenants/a?/*", "arn:aws:s3:::b/tenants/ab/x", True),
        ("arn:aws:s3:::b/tenants/${aws:PrincipalTag/t}/*", "arn:aws:s3:::b/tenants/z/x", True),
        ("arn:aws:s3:::b.c/*", "arn:aws:s3:::bxc/k", False),
        ("*", "anything", True),
    ],
)
def test_iam_patterns(pattern, value, expected):
    assert matches(pattern, value) is expected


def test_findings_read_as_messages():
    finding = Finding("a", RULE_QUOTA, "r", "evidence")
    assert str(finding) == finding.message == "tenant a: namespace-quota: r: evidence"


@pytest.mark.parametrize(
    ("actions", "not_resource", "leak"),
    [
        (["sns:Publish"], ["arn:aws:sns:*:*:*"], False),
        (["sns:Publish", "s3:GetObject"], ["arn:aws:sns:*:*:*"], True),
        (["sns:Publish"], ["arn:aws:sns:us-east-1:*:*"], True),
    ],
)
def test_not_resource_is_a_leak_unless_it_only_texts_phone_numbers(actions, not_resource, leak):
    def texting(statements):
        statements.append(
            {"Sid": "Sms", "Effect": "Allow", "Action": actions, "NotResource": not_resource}
        )

    findings = verify(fleet(shelbyville=role_policy("shelbyville", texting)))
    if leak:
        assert "allows NotResource" in only(findings, RULE_CROSS_TENANT).evidence
    else:
        assert findings == []


# --- what the environment lets tenants share -----------------------------------------------


def test_a_plan_cannot_make_an_estate_resource_its_own_by_calling_it_shared():
    from osp.platform.tenancy.isolation import shareable

    estate = plan_of("dev").outputs
    table = estate["tenantsTableArn"]
    leaky = role_policy(
        "springfield",
        lambda statements: statements.append(
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": table}
        ),
    )
    assert only(verify({"springfield": leaky}), "unconfined-access")
    claimed = replace(
        leaky, outputs={**leaky.outputs, "sharedResources": {table: "the registry, surely"}}
    )
    assert verify({"springfield": claimed}) == []  # plans alone: taken at their word
    against_estate = verify({"springfield": claimed}, shareable_arns=shareable(estate))
    assert table in only(against_estate, "unconfined-access").evidence
    # What the estate does let tenants share stays shared.
    assert verify(fleet(), shareable_arns=shareable(estate)) == []


def test_the_estates_shareable_resources_are_the_secrets_cache_and_mail():
    from osp.platform.tenancy.isolation import shareable

    estate = plan_of("dev").outputs
    found = shareable(estate)
    assert set(estate["appSecretArns"].values()) <= found
    assert estate["redisAuthSecretArn"] in found and estate["secretsKeyArn"] in found
    assert estate["tenantsTableArn"] not in found
