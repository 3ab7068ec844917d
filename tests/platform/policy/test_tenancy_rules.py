"""The tenant isolation rules: the isolation proof (osp.platform.tenancy.isolation) as rules
over the tenant plans' resources, when tenant plans are given."""

from __future__ import annotations

import json

from osp.platform.policy import RULES, Scope
from tests.platform.policy.fixtures import context
from tests.platform.tenancy.test_isolation import edited, fleet, role_policy, tenant_plan

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def _check(rule_id, plans, slug, type_token, name=None):
    rule = next(r for r in RULES if r.id == rule_id)
    plan = plans[slug]
    if name is None and type_token == ROLE_POLICY:
        name = f"osp-dev-tenant-{slug}-access"  # the tenant's own role's; a silo has more
    (target,) = [r for r in plan.of_type(type_token) if name is None or r.name == name]
    return rule.check(target, Scope(plan, context(tenant_plans=plans)))


def test_without_tenant_plans_the_rules_do_not_apply():
    plan = tenant_plan("dev", "springfield")
    (target,) = plan.of_type(ROLE_POLICY)
    for rule_id in ("OSP-TENANT-1", "OSP-TENANT-2"):
        rule = next(r for r in RULES if r.id == rule_id)
        assert rule.check(target, Scope(plan, context())) is None


def test_cross_tenant_access_fails_on_the_leaking_policy_and_passes_elsewhere():
    def reach(statements):
        statements[0]["Resource"] = [
            *statements[0]["Resource"],
            "arn:aws:s3:::*/tenants/springfield/*",
        ]

    plans = fleet(shelbyville=role_policy("shelbyville", reach))
    leak = _check("OSP-TENANT-1", plans, "shelbyville", ROLE_POLICY)
    assert not leak.passed and "tenant springfield" in leak.detail
    assert _check("OSP-TENANT-1", plans, "springfield", ROLE_POLICY).passed


def test_unconfined_access_fails():
    def widen(statements):
        statements[0]["Resource"] = ["*"]

    plans = {"springfield": role_policy("springfield", widen)}
    assert not _check("OSP-TENANT-2", plans, "springfield", ROLE_POLICY).passed


def test_a_silo_namespace_without_default_deny_fails():
    quiet = "kubernetes:networking.k8s.io/v1:NetworkPolicy"

    def open_up(inputs):
        inputs["spec"]["podSelector"] = {"matchLabels": {"app": "x"}}
        return inputs

    default_deny = "osp-dev-tenant-shelbyville-default-deny"  # a silo also has its services'
    plans = fleet()
    silo = plans["shelbyville"]
    plans = {**plans, "shelbyville": edited(silo, quiet, open_up, name=default_deny)}
    namespace = "kubernetes:core/v1:Namespace"  # what lacks a default-deny policy
    check = _check("OSP-TENANT-3", plans, "shelbyville", namespace)
    assert not check.passed and "default-deny" in check.detail
    assert _check("OSP-TENANT-3", fleet(), "shelbyville", namespace).passed


def test_a_silo_key_admitting_a_stranger_fails():
    key = "aws:kms/key:Key"

    def admit(inputs):
        document = json.loads(inputs["policy"])
        document["Statement"].append(
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                "Action": "kms:Decrypt",
                "Resource": "*",
            }
        )
        inputs["policy"] = json.dumps(document)
        return inputs

    plans = fleet()
    plans = {**plans, "ogdenville": edited(plans["ogdenville"], key, admit)}
    assert not _check("OSP-TENANT-4", plans, "ogdenville", key).passed
    assert _check("OSP-TENANT-4", fleet(), "ogdenville", key).passed
