"""The CrossGuard adapter, called as the pack's server would call it (never started here):
the policy SDK's resource objects become osp's plan, the very same rules run over it, and each
failure is reported with its rule, resource, evidence and fix."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from osp.platform.plan import PlannedResource
from osp.platform.policy import RULES, Severity
from osp.platform.policy.crossguard import plain, plan_of_resources, policies, validation
from tests.platform.policy.fixtures import TAGS
from tests.support import REPO

TODAY = date(2026, 6, 1)
PROVIDER = PolicyProviderResource(
    "pulumi:providers:aws", {}, "urn:pulumi:prod::osp::pulumi:providers:aws::default", "default"
)


def _rule(rule_id: str):
    return next(r for r in RULES if r.id == rule_id)


def policy_resource(
    type_token: str, name: str, props: dict, *, protect: bool = False
) -> PolicyResource:
    opts = PolicyResourceOptions(protect, [], False, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    urn = f"urn:pulumi:prod::osp::{type_token}::{name}"
    return PolicyResource(
        type_token, unknown_checking_proxy(props), urn, name, opts, PROVIDER, None, [], {}
    )


def database(**props) -> PolicyResource:
    base = {
        "identifier": "osp-prod-postgres",
        "multiAz": True,
        "tags": TAGS,
        "kmsKeyId": UNKNOWN_STRING_VALUE,
        "storageEncrypted": True,
    }
    return policy_resource(
        "aws:rds/instance:Instance", "osp-prod-postgres-primary", base | props, protect=True
    )


@pytest.fixture
def project(tmp_path) -> Path:
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    shutil.copy(REPO / "stacks" / "Pulumi.prod.yaml", tmp_path / "stacks" / "Pulumi.prod.yaml")
    return tmp_path


def run(rule_id: str, project: Path, *resources: PolicyResource) -> list[tuple[str, str | None]]:
    reported: list[tuple[str, str | None]] = []
    validate = validation(_rule(rule_id), project, today=TODAY)
    validate(
        StackValidationArgs(list(resources)), lambda message, urn: reported.append((message, urn))
    )
    return reported


def test_a_failing_resource_is_reported_with_rule_evidence_and_fix(project):
    ((message, urn),) = run("OSP-RDS-1", project, database(multiAz=False))
    assert urn == "urn:pulumi:prod::osp::aws:rds/instance:Instance::osp-prod-postgres-primary"
    assert message.startswith(
        "OSP-RDS-1 (high) Production databases are Multi-AZ: osp-prod-postgres-primary: "
        "Multi-AZ is off."
    )
    assert "evidence: multiAz = false" in message and "controls: RDS.5" in message
    assert "fix: Set `multi_az: true`" in message


def test_a_passing_resource_reports_nothing_and_unknowns_are_read_not_raised(project):
    # kmsKeyId is unknown during a preview: reading it through the SDK's proxy would raise.
    assert run("OSP-RDS-1", project, database()) == []
    assert run("OSP-RDS-2", project, database()) == []


def test_the_environment_comes_from_the_tags_and_prod_rules_do_not_apply_to_dev(project):
    shutil.copy(REPO / "stacks" / "Pulumi.dev.yaml", project / "stacks" / "Pulumi.dev.yaml")
    dev = database(multiAz=False, tags=TAGS | {"osp:environment": "dev"})
    assert run("OSP-RDS-1", project, dev) == []


def test_a_waiver_of_the_stack_file_is_applied_as_osp_policy_check_applies_it(project):
    stack_file = project / "stacks" / "Pulumi.prod.yaml"
    document = yaml.safe_load(stack_file.read_text())
    document["config"]["osp:policy"] = {
        "waivers": [
            {
                "rule": "OSP-RDS-1",
                "resource": "osp-prod-postgres-*",
                "expires": "2026-12-31",
                "reason": "Single-AZ during the storage migration window, approved by "
                "security review",
                "approved_by": "ciso@example.com",
            }
        ]
    }
    stack_file.write_text(yaml.safe_dump(document))
    assert run("OSP-RDS-1", project, database(multiAz=False)) == []


def test_a_stack_that_is_not_osps_is_not_applicable(project):
    args = SimpleNamespace(resources=[policy_resource("aws:s3/bucket:Bucket", "b", {})], reasons=[])
    args.not_applicable = args.reasons.append
    validation(_rule("OSP-S3-2"), project, today=TODAY)(args, lambda m, u: pytest.fail(m))
    assert args.reasons == ["no resource carries the osp:environment tag"]


def test_cross_resource_rules_follow_the_sdks_property_dependencies(project):
    bucket = policy_resource("aws:s3/bucket:Bucket", "docs", {"bucket": "docs", "tags": TAGS})
    block = policy_resource(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "docs-pab",
        {
            "bucket": UNKNOWN_STRING_VALUE,
            "blockPublicAcls": True,
            "blockPublicPolicy": True,
            "ignorePublicAcls": True,
            "restrictPublicBuckets": True,
        },
    )
    block.property_dependencies = {"bucket": [bucket]}
    assert run("OSP-S3-2", project, bucket, block) == []
    block.property_dependencies = {}
    ((message, _),) = run("OSP-S3-2", project, bucket, block)
    assert "no public access block" in message


def test_the_sdks_resources_become_the_plan_the_rules_read():
    parent = policy_resource("osp:database:Postgres", "osp-prod-postgres", {})
    parent.provider = None
    child = database()
    child.parent = parent
    plan = plan_of_resources([parent, child])
    assert (plan.environment, plan.blueprint) == ("prod", "osp")
    component, instance = plan.resources
    assert not component.custom and instance.custom
    assert isinstance(instance, PlannedResource)
    assert instance.parent == parent.urn and instance.options.protect
    assert instance.inputs["kmsKeyId"] == "<unknown>"


def test_plain_unwraps_proxies_and_secrets():
    from pulumi_policy import Secret

    proxied = unknown_checking_proxy({"a": [{"b": UNKNOWN_STRING_VALUE}], "n": 2.0})
    assert plain(proxied) == {"a": [{"b": "<unknown>"}], "n": 2}
    assert plain({"token": Secret("hunter2")}) == {"token": "<secret>"}


def test_one_policy_per_rule_mandatory_at_high_and_above():
    pack = policies(REPO)
    assert [p.name for p in pack] == [r.id.lower() for r in RULES]
    for policy, rule in zip(pack, RULES, strict=True):
        assert isinstance(policy, StackValidationPolicy)
        assert policy.description == rule.title
        mandatory = rule.severity in (Severity.CRITICAL, Severity.HIGH)
        assert policy.enforcement_level is (
            EnforcementLevel.MANDATORY if mandatory else EnforcementLevel.ADVISORY
        )


def test_the_pack_folder_builds_its_pack_from_the_adapter():
    main = (REPO / "policy" / "__main__.py").read_text()
    assert "policies(" in main and "PolicyPack(" in main
    config = yaml.safe_load((REPO / "policy" / "PulumiPolicy.yaml").read_text())
    assert config["runtime"]["name"] == "python"


def test_the_pack_follows_a_file_systems_backup_policy_and_a_functions_triggers(project):
    fs = policy_resource(
        "aws:efs/fileSystem:FileSystem",
        "media",
        {"encrypted": True, "kmsKeyId": UNKNOWN_STRING_VALUE, "tags": TAGS},
    )
    backup = policy_resource(
        "aws:efs/backupPolicy:BackupPolicy",
        "media-backup",
        {"fileSystemId": UNKNOWN_STRING_VALUE, "backupPolicy": {"status": "ENABLED"}},
    )
    backup.property_dependencies = {"fileSystemId": [fs]}
    assert run("OSP-EFS-1", project, fs, backup) == []
    assert run("OSP-EFS-2", project, fs, backup) == []
    backup.property_dependencies = {}
    ((message, _),) = run("OSP-EFS-2", project, fs, backup)
    assert "automatic backups are off" in message

    function = policy_resource(
        "aws:lambda/function:Function",
        "thumbnails",
        {"name": "thumbnails", "runtime": "python3.13", "tags": TAGS},
    )
    trigger = policy_resource(
        "aws:lambda/permission:Permission",
        "thumbnails-from-photos",
        {
            "function": UNKNOWN_STRING_VALUE,
            "principal": "s3.amazonaws.com",
            "sourceArn": "arn:aws:s3:::photos",
        },
    )
    trigger.property_dependencies = {"function": [function]}
    ((message, urn),) = run("OSP-LAMBDA-6", project, function, trigger)
    assert urn.endswith("::thumbnails")
    assert "invoked asynchronously by thumbnails-from-photos (s3.amazonaws.com)" in message
    assert run("OSP-LAMBDA-1", project, function, trigger) == []
