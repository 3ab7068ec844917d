"""The audit-relevant logs (issue 19, item 4): every control-plane log type in staging and
prod, and the groups an auditor reads (control plane, flow logs, WAF) kept for
`osp:logs.audit_retention_days`, a year in prod; a stack file cannot keep them for less."""

from __future__ import annotations

import textwrap

import pytest

from osp.platform import blueprints
from osp.platform.errors import SpecError
from osp.platform.spec import parse_stack_file
from osp.platform.spec.warnings import weakened_stances
from tests.support import plan_of, spec_of

BLUEPRINTS = ("osp", "learning-hub")
ALL_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
AUDIT_DAYS = {"dev": 30, "staging": 90, "prod": 365}
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ADMIN = "arn:aws:iam::123456789012:role/platform-admin"


def _audit_groups(environment: str) -> dict[str, str]:
    """Resource name → CloudWatch group name of each audit-relevant log group."""
    e = f"osp-{environment}"
    return {
        f"{e}-eks-logs": f"/aws/eks/{e}-eks/cluster",
        f"{e}-network-flow-logs": f"/aws/vpc/{e}-network/flow-logs",
        f"{e}-api-waf-logs": f"aws-waf-logs-{e}-api-waf",
        f"{e}-edge-waf-logs": f"aws-waf-logs-{e}-edge-waf",
    }


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
@pytest.mark.parametrize(
    ("environment", "types"),
    [("dev", ["api", "audit", "authenticator"]), ("staging", ALL_TYPES), ("prod", ALL_TYPES)],
)
def test_the_cluster_logs_every_control_plane_type_outside_dev(environment, types, blueprint):
    cluster = plan_of(environment, blueprint).named(f"osp-{environment}-eks-cluster")
    assert cluster.inputs["enabledClusterLogTypes"] == types


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_audit_groups_keep_the_audit_retention(environment, blueprint):
    groups = {g.name: g for g in plan_of(environment, blueprint).of_type(LOG_GROUP)}
    kept = {
        name: (groups[name].inputs["name"], groups[name].inputs["retentionInDays"])
        for name in _audit_groups(environment)
    }
    days = AUDIT_DAYS[environment]
    assert kept == {name: (group, days) for name, group in _audit_groups(environment).items()}
    assert spec_of(environment, blueprint).logs.audit_retention_days == days


def _stack(extra: str = "", environment: str = "prod"):
    text = textwrap.dedent(
        f"""\
        config:
          aws:region: eu-west-2
          osp:domain: school.example.com
          osp:cluster: {{admin_role_arns: [{ADMIN}]{extra}}}
        """
    )
    return parse_stack_file(text, environment=environment, source="stacks/Pulumi.prod.yaml")


def test_a_group_kept_for_less_than_the_audit_retention_is_refused_naming_the_key():
    with pytest.raises(SpecError) as refused:
        parse_stack_file(
            textwrap.dedent(
                f"""\
                config:
                  aws:region: eu-west-2
                  osp:domain: school.example.com
                  osp:cluster: {{admin_role_arns: [{ADMIN}], log_retention_days: 90}}
                  osp:network: {{flow_log_retention_days: 180}}
                  osp:waf: {{log_retention_days: 30}}
                """
            ),
            environment="prod",
            source="stacks/Pulumi.prod.yaml",
        )
    expected = "expected at least osp:logs.audit_retention_days (365): the group is audit evidence"
    assert refused.value.problems == [
        f"stacks/Pulumi.prod.yaml:4: osp:cluster.log_retention_days: got 90; {expected}",
        f"stacks/Pulumi.prod.yaml:5: osp:network.flow_log_retention_days: got 180; {expected}",
        f"stacks/Pulumi.prod.yaml:6: osp:waf.log_retention_days: got 30; {expected}",
    ]


def test_a_group_may_keep_longer_and_the_others_follow_the_audit_retention():
    spec = _stack(", log_retention_days: 731")
    assert spec.cluster.log_retention_days == 731
    assert spec.network.flow_log_retention_days == 365
    assert spec.waf.log_retention_days == 365


def test_lowering_the_audit_retention_lowers_every_group_and_is_warned_about():
    spec = parse_stack_file(
        "config:\n  aws:region: eu-west-2\n  osp:domain: school.example.com\n"
        f"  osp:cluster: {{admin_role_arns: [{ADMIN}], log_types: [api, audit]}}\n"
        "  osp:logs: {audit_retention_days: 180}\n",
        environment="prod",
        source="x",
    )
    assert (spec.cluster.log_retention_days, spec.network.flow_log_retention_days) == (180, 180)
    assert spec.waf.log_retention_days == 180
    assert weakened_stances(spec, blueprints.preset("prod")) == [
        ("osp:logs.audit_retention_days", 365, 180),
        ("osp:cluster.log_types", ALL_TYPES, ["api", "audit"]),
    ]


@pytest.mark.parametrize(
    ("log_types", "expected"),
    [
        ("[api, kube-scheduler]", "osp:cluster.log_types[1]: got 'kube-scheduler'; expected an "
         "EKS control-plane log type: api, audit, authenticator, controllerManager, scheduler"),
        ("[audit, audit]", "osp:cluster.log_types: got ['audit', 'audit']; expected each log "
         "type once"),
        ("[]", "osp:cluster.log_types: got []; expected tuple should have at least 1 item after "
         "validation, not 0"),
    ],
)  # fmt: skip
def test_log_types_are_refused_naming_the_key(log_types, expected):
    with pytest.raises(SpecError) as refused:
        _stack(f", log_types: {log_types}")
    assert refused.value.problems == [f"stacks/Pulumi.prod.yaml:4: {expected}"]
