"""The review comment (osp.platform.review), held to golden files in tests/platform/golden/:
no changes; a few changes; a stateful replacement; an IAM widening; a security group opened to
the world; an over-budget diff trimmed details-first. The plans are small ones written here,
so each golden file shows one situation. `OSP_UPDATE_GOLDEN=1` rewrites the files."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest

from osp.platform.diff import diff
from osp.platform.plan import STACK_TYPE, Plan, PlannedResource, ResourceOptions
from osp.platform.policy import RULES, context_of, evaluate
from osp.platform.review import GITHUB_COMMENT_LIMIT, Footer, Review, marker, to_markdown
from tests.support import spec_of

GOLDEN = Path(__file__).parent / "golden"
FOOTER = Footer(
    commit="0123abc", version="0.1.0", seconds=4.2, source="offline plan compared with base.json"
)
STACK = "urn:pulumi:prod::osp::pulumi:pulumi:Stack::osp-prod"


def _resource(
    type_token, name, inputs, *, parent="osp:database:Postgres::osp-prod-postgres", protect=False
):
    component_type, component_name = parent.split("::")
    if type_token.startswith("osp:"):
        urn = f"urn:pulumi:prod::osp::{type_token}::{name}"
        parent_urn = STACK
    else:
        urn = f"urn:pulumi:prod::osp::{component_type}${type_token}::{name}"
        parent_urn = f"urn:pulumi:prod::osp::{component_type}::{component_name}"
    return PlannedResource(
        urn=urn,
        type=type_token,
        name=name,
        parent=parent_urn,
        custom=not type_token.startswith("osp:"),
        provider=None,
        dependencies=(),
        property_dependencies={},
        options=ResourceOptions(protect=protect),
        inputs=inputs,
    )


def _plan(*resources) -> Plan:
    stack = PlannedResource(
        STACK, STACK_TYPE, "osp-prod", None, False, None, (), {}, ResourceOptions(), {}
    )
    component = _resource("osp:database:Postgres", "osp-prod-postgres", {})
    return Plan("osp", "prod", "prod", "osp", "offline", (stack, component, *resources), {})


DB = {
    "identifier": "osp-prod-postgres",
    "instanceClass": "db.r6g.xlarge",
    "kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/data",
    "multiAz": True,
    "masterPassword": "hunter2",
}
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::media/*"}
    ],
}


def _db(**changes):
    return _resource(
        "aws:rds/instance:Instance", "osp-prod-postgres-primary", {**DB, **changes}, protect=True
    )


def _role_policy(policy):
    return _resource(
        "aws:iam/rolePolicy:RolePolicy",
        "osp-prod-postgres-monitoring-policy",
        {"name": "monitoring", "policy": json.dumps(policy)},
    )


def _ingress(**peer):
    return _resource(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "osp-prod-postgres-from-clients",
        {"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, **peer},
    )


BASE = _plan(_db(), _role_policy(POLICY), _ingress(referencedSecurityGroupId="sg-nodes"))


def _check(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.md"
    if os.environ.get("OSP_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def _comment(head: Plan, **options) -> str:
    return to_markdown(Review("prod", diff(BASE, head)), FOOTER, **options)


def test_no_changes():
    text = _comment(BASE)
    _check("no-changes", text)
    assert text.startswith(marker("prod") + "\n")


def test_a_few_changes():
    head = _plan(
        _db(instanceClass="db.r6g.2xlarge"),
        _role_policy(POLICY),
        _ingress(referencedSecurityGroupId="sg-nodes", description="from the nodes"),
        _resource(
            "aws:cloudwatch/logGroup:LogGroup",
            "osp-prod-postgres-logs",
            {"name": "/osp/prod/postgres"},
        ),
    )
    text = _comment(head)
    _check("a-few-changes", text)
    assert "Call-outs" not in text


def test_a_stateful_replacement_shows_the_forcing_property_outside_any_details():
    head = _plan(
        _db(kmsKeyId="arn:aws:kms:us-east-1:123456789012:key/other", masterPassword="<secret>"),
        _role_policy(POLICY),
        _ingress(referencedSecurityGroupId="sg-nodes"),
    )
    text = _comment(head)
    _check("stateful-replacement", text)
    visible = text.split("<details>")[0]
    assert "**Data loss risk**" in visible and "key/other" in visible
    assert "hunter2" not in text


def test_an_iam_widening():
    wider = {
        **POLICY,
        "Statement": [*POLICY["Statement"], {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    text = _comment(
        _plan(_db(), _role_policy(wider), _ingress(referencedSecurityGroupId="sg-nodes"))
    )
    _check("iam-widening", text)
    assert "**IAM widening**" in text


def test_a_security_group_opened_to_the_world():
    text = _comment(_plan(_db(), _role_policy(POLICY), _ingress(cidrIpv4="0.0.0.0/0")))
    _check("open-to-the-world", text)
    assert "opens port 5432 from 0.0.0.0/0 (anywhere on the internet)" in text


def test_protect_removed_is_called_out():
    db = _db()
    unprotected = PlannedResource(**{**db.__dict__, "options": ResourceOptions(protect=False)})
    text = _comment(
        _plan(unprotected, _role_policy(POLICY), _ingress(referencedSecurityGroupId="sg-nodes"))
    )
    assert "**Protect removed**: `osp-prod-postgres-primary`" in text


def test_an_over_budget_diff_is_trimmed_details_first_keeping_the_verdict_and_callouts():
    queues = [
        _resource(
            "aws:sqs/queue:Queue",
            f"osp-prod-postgres-queue-{i:03d}",
            {"name": f"q{i}", "delaySeconds": 0},
        )
        for i in range(60)
    ]
    head_queues = [
        _resource(
            "aws:sqs/queue:Queue",
            f"osp-prod-postgres-queue-{i:03d}",
            {"name": f"q{i}", "delaySeconds": 5},
        )
        for i in range(60)
    ]
    base = _plan(_db(), *queues)
    head = _plan(_db(kmsKeyId="arn:aws:kms:us-east-1:123456789012:key/other"), *head_queues)
    review = Review("prod", diff(base, head))
    full = to_markdown(review, FOOTER)
    budget = 6000
    assert len(full) > budget
    text = to_markdown(review, FOOTER, budget=budget)
    _check("trimmed", text)
    assert len(text) <= budget
    assert "**61 changes, 1 with a data loss risk**" in text
    assert "**Data loss risk**" in text
    assert "trimmed to fit 6000 characters" in text
    # Property diffs went first: every resource is still listed.
    assert all(f"osp-prod-postgres-queue-{i:03d}" in text for i in range(60))
    assert text.count("<details>") < full.count("<details>")


def test_the_real_limit_is_githubs():
    assert GITHUB_COMMENT_LIMIT == 65_536


def test_an_error_and_a_policy_failure_are_verdicts():
    error = to_markdown(Review("prod", None, error="the program failed:\nboom"), FOOTER)
    assert "**Error**: the preview failed: the program failed: boom" in error
    spec = spec_of("prod")
    report = evaluate(BASE, RULES, context_of(spec), (), today=date(2025, 1, 1))
    judged = Review("prod", diff(BASE, BASE), guardrails=report)
    kind, line = judged.verdict
    if report.failing(judged.fail_on):
        assert kind == "policy-failure" and line.startswith("**Policy failure**")
    else:
        assert kind == "no-changes"
    assert "### Guardrails" in to_markdown(judged, FOOTER)


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_the_marker_names_the_environment(environment):
    assert marker(environment) == f"<!-- osp-preview:{environment} -->"
