"""The rules over the real plans: today's failures are exactly the known set (a fix or a
regression changes it, on purpose), and weakening the prod stack file is caught, naming the
rule, the resource and the value."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from osp.platform.policy import RULES, Outcome, context_of, evaluate
from osp.platform.project import find_project
from osp.platform.spec import load_environment
from tests.support import ENVIRONMENTS, REPO, estate_plan, plan_of, spec_of

TODAY = date(2026, 6, 1)
BLUEPRINTS = (None, "learning-hub", "learning-platform", "code-learn", "lms")
#: The secrets nothing of osp's can rotate, by blueprint: the operator's payment-provider keys
#: (only the provider issues new ones; the operator rotates them with it). code-learn holds
#: none: everything it has rotates.
UNROTATED_SECRETS = {
    # The URL-signing key is the operator's (its public half is in the stack file): rotating
    # it is adding a new public key to the key group, not a rotation function.
    None: ("app-secrets-payment-gateway", "media-cdn-signing-key"),
    "learning-hub": ("app-secrets-payment-gateway",),
    "learning-platform": ("app-secrets-stripe", "app-secrets-stripe-verification"),
    "code-learn": (),
    # Grafana reads its admin password only when its database is new: a rotated secret would
    # no longer be the password (docs/components.md, ObservabilityStack). lms chooses the
    # in-cluster observability stack (seed 002 §5.5).
    "lms": ("observability-grafana-admin",),
}


def _known(environment: str, blueprint: str | None) -> set[tuple[str, str]]:
    """Today's failures: findings for the team (see the issue note), not to be waived away."""
    e = f"osp-{environment}-"
    found = {("OSP-SM-2", f"{e}{s}") for s in UNROTATED_SECRETS[blueprint]}
    if blueprint == "lms":
        # Managed Flink keeps the processor's running state under a key AWS owns: a customer
        # key needs the data key's policy to admit Managed Flink's two service principals,
        # which osp has not verified against a real account yet (docs/components.md,
        # FlinkApplication).
        found |= {("OSP-FLINK-4", f"{e}learning-analytics-flink-application")}
    if environment == "dev":  # the dev preset leaves the controllerManager and scheduler logs out
        found |= {("OSP-EKS-2", f"{e}eks-cluster")}
    return found


@pytest.mark.parametrize(
    "blueprint", BLUEPRINTS, ids=["osp", "learning-hub", "learning-platform", "code-learn", "lms"]
)
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_todays_failures_are_the_known_set(environment, blueprint):
    report = evaluate(
        plan_of(environment, blueprint),
        RULES,
        context_of(spec_of(environment, blueprint)),
        today=TODAY,
    )
    failed = {(f.rule.id, f.resource.name) for f in report.failing()}
    assert failed == _known(environment, blueprint)


def _weakened_prod(tmp_path: Path, edit, today: date = TODAY, blueprint: str | None = None):
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir(exist_ok=True)
    stack_file = tmp_path / "stacks" / "Pulumi.prod.yaml"
    document = yaml.safe_load((REPO / "stacks" / "Pulumi.prod.yaml").read_text())
    edit(document["config"])
    stack_file.write_text(yaml.safe_dump(document))
    spec = load_environment(find_project(tmp_path), "prod", blueprint=blueprint)
    plan = estate_plan(spec)  # the waiver's two dates: one plan
    return evaluate(plan, RULES, context_of(spec), spec.policy.waivers, today=today)


def _new_failures(report, blueprint: str | None = None) -> dict[str, list]:
    known = _known("prod", blueprint)
    found: dict[str, list] = {}
    for f in report.failing():
        if (f.rule.id, f.resource.name) not in known:
            found.setdefault(f.rule.id, []).append(f)
    return found


def test_multi_az_off_in_prod_fails_naming_the_database_and_value(tmp_path):
    report = _weakened_prod(
        tmp_path, lambda c: c.setdefault("osp:database", {}).update(multi_az=False)
    )
    failures = _new_failures(report)
    assert set(failures) == {"OSP-RDS-1"}
    (finding,) = failures["OSP-RDS-1"]
    assert finding.resource.name == "osp-prod-postgres-primary"
    assert [str(e) for e in finding.evidence] == ["multiAz = false"]
    assert finding.outcome is Outcome.FAILED


def test_deletion_protection_off_in_prod_fails_every_durability_rule(tmp_path):
    report = _weakened_prod(tmp_path, lambda c: c.update({"osp:deletion_protection": False}))
    failures = _new_failures(report)
    assert {
        "OSP-RDS-4",
        "OSP-RDS-6",
        "OSP-CACHE-6",
        "OSP-DDB-3",
        "OSP-DDB-4",
        "OSP-S3-7",
        "OSP-KMS-2",
        "OSP-ALB-5",
    } <= set(failures)
    (primary,) = [
        f for f in failures["OSP-RDS-4"] if f.resource.name == "osp-prod-postgres-primary"
    ]
    assert [str(e) for e in primary.evidence] == ["deletionProtection = false"]


def test_deletion_protection_off_in_prod_fails_the_broker_where_there_is_one(tmp_path):
    # The osp blueprint's estate has no broker (its events travel over SNS and SQS).
    report = _weakened_prod(
        tmp_path,
        lambda c: c.update({"osp:deletion_protection": False}),
        blueprint="learning-hub",
    )
    failures = _new_failures(report, "learning-hub")
    assert "OSP-MQ-4" in failures
    assert {f.resource.name for f in failures["OSP-MQ-4"]} == {"osp-prod-rabbitmq-broker"}


def test_a_waiver_in_the_stack_file_accepts_a_weakened_setting_until_it_expires(tmp_path):
    waiver = {
        "rule": "OSP-RDS-1",
        "resource": "osp-prod-postgres-*",
        "reason": "Single-AZ during the storage migration window, approved by security review",
        "expires": "2026-05-31",
        "approved_by": "ciso@example.com",
    }

    def weaken(config):
        config.setdefault("osp:database", {}).update(multi_az=False)
        config["osp:policy"] = {"waivers": [waiver]}

    before = _weakened_prod(tmp_path, weaken, today=date(2026, 5, 31))
    (waived,) = [f for f in before.findings if f.rule.id == "OSP-RDS-1" and f.waiver]
    assert waived.outcome is Outcome.WAIVED and "OSP-RDS-1" not in _new_failures(before)
    report = _weakened_prod(tmp_path, weaken)
    (finding,) = [f for f in report.failing() if f.rule.id == "OSP-RDS-1"]
    assert finding.waiver_expired and finding.waiver.expires == date(2026, 5, 31)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_file_system_and_the_functions_are_judged_and_pass(environment):
    """learning-platform's EFS and every blueprint's rotation functions are not merely not
    failing: the EFS and Lambda rules apply to them, and pass."""
    report = evaluate(
        plan_of(environment, "learning-platform"),
        RULES,
        context_of(spec_of(environment, "learning-platform")),
        today=TODAY,
    )
    judged: dict[str, set[str]] = {}
    for finding in report.findings:
        if finding.rule.id.startswith(("OSP-EFS-", "OSP-LAMBDA-")):
            assert finding.outcome is Outcome.PASSED, finding
            judged.setdefault(finding.rule.id, set()).add(finding.resource.type)
    assert set(judged) == {
        *(f"OSP-EFS-{n}" for n in range(1, 7 + (environment == "prod"))),
        *(f"OSP-LAMBDA-{n}" for n in (1, 2, 3, 4, 5, 7)),
    }
    assert judged["OSP-EFS-6"] == {"aws:efs/mountTarget:MountTarget"}
    assert judged["OSP-LAMBDA-7"] == {"aws:lambda/function:Function"}
