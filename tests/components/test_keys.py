"""`KeyRing`: a rotated customer key per data domain with a scoped key policy."""

from __future__ import annotations

import json

import pytest

from osp.components import KeyRing, KeyRingArgs
from osp.components.keys import problems
from osp.platform.engine import offline
from osp.platform.validation import InvalidArguments
from tests.support import plan_component, spec_of

ACCOUNT = "123456789012"


def plan_keys(**overrides):
    args = KeyRingArgs(**{"tags": {"osp:component": "keys"}, **overrides})
    return plan_component(KeyRing, args, name="k")


@pytest.fixture(scope="module")
def protected():
    return plan_keys(deletion_protection=True, deletion_window_days=30)


def policy(plan, domain):
    return {
        s["Sid"]: s for s in json.loads(plan.named(f"k-{domain}").inputs["policy"])["Statement"]
    }


def test_one_rotated_key_and_alias_per_domain(protected):
    keys = {r.name: r for r in protected.of_type("aws:kms/key:Key")}
    assert sorted(keys) == ["k-data", "k-logs", "k-secrets", "k-storage"]
    for key in keys.values():
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["deletionWindowInDays"] == 30
        assert key.options.protect
        assert key.inputs["tags"] == {"Name": key.name, "osp:component": "keys"}
    aliases = {r.inputs["name"]: r for r in protected.of_type("aws:kms/alias:Alias")}
    assert sorted(aliases) == ["alias/k-data", "alias/k-logs", "alias/k-secrets", "alias/k-storage"]
    assert all(not a.options.protect for a in aliases.values())


def test_keys_are_unprotected_when_asked():
    plan = plan_keys(deletion_protection=False, deletion_window_days=7)
    keys = plan.of_type("aws:kms/key:Key")
    assert len(keys) == 4
    assert not any(k.options.protect for k in keys)


def test_the_account_administers_every_key(protected):
    for domain in ("data", "logs", "secrets", "storage"):
        admin = policy(protected, domain)["AccountAdministers"]
        assert admin["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}


def test_services_use_only_their_domains_key(protected):
    via = {
        d: policy(protected, d).get("UseThroughServices", {}).get("Condition", {})
        for d in ("data", "logs", "secrets", "storage")
    }
    assert via["secrets"]["StringEquals"]["kms:ViaService"] == [
        "secretsmanager.us-east-1.amazonaws.com"
    ]
    assert via["storage"]["StringEquals"]["kms:ViaService"] == [
        "s3.us-east-1.amazonaws.com",
        "ecr.us-east-1.amazonaws.com",
    ]
    assert via["data"]["StringEquals"]["kms:ViaService"] == [
        f"{service}.us-east-1.amazonaws.com"
        for service in ("rds", "elasticache", "mq", "ec2", "eks", "sns", "sqs", "dynamodb")
    ]
    assert all(c["StringEquals"]["kms:CallerAccount"] == ACCOUNT for c in via.values() if c)
    assert via["logs"] == {}
    logs = policy(protected, "logs")["CloudWatchLogsEncrypts"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == (
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:*"
    )


def test_auto_scaling_may_use_the_data_key_for_node_volumes(protected):
    grants = policy(protected, "data")["AutoScalingGrantsForVolumes"]
    assert grants["Principal"]["AWS"].endswith("/AWSServiceRoleForAutoScaling")
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


@pytest.mark.parametrize("days", [3, 31])
def test_deletion_window_is_validated(days):
    with pytest.raises(InvalidArguments) as caught:
        plan_keys(deletion_window_days=days)
    assert caught.value.problems == [
        f"KeyRing k: deletion_window_days: got {days}; expected an integer from 7 to 30"
    ]


def test_sns_and_cloudwatch_use_the_data_key_for_this_account_only(protected):
    statements = policy(protected, "data")
    for sid, service, source in (
        ("SnsServiceUses", "sns", f"arn:aws:sns:us-east-1:{ACCOUNT}:*"),
        ("CloudwatchServiceUses", "cloudwatch", f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:*"),
    ):
        statement = statements[sid]
        assert statement["Principal"] == {"Service": f"{service}.amazonaws.com"}
        assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": source},
        }
    assert "SnsServiceUses" not in policy(protected, "storage")


def test_cloudfront_only_decrypts_storage_for_this_accounts_distributions(protected):
    statement = policy(protected, "storage")["CloudfrontServiceUses"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] == ["kms:Decrypt"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/*"},
    }
    for domain in ("data", "logs", "secrets"):
        assert "CloudfrontServiceUses" not in policy(protected, domain)


def test_a_ring_may_hold_some_domains_only():
    plan = plan_keys(domains=("logs", "data"))
    assert sorted(r.name for r in plan.of_type("aws:kms/key:Key")) == ["k-data", "k-logs"]


@pytest.mark.parametrize("domains", [(), ("data", "data"), ("media",)])
def test_unknown_or_repeated_domains_are_refused(domains):
    assert problems("k", KeyRingArgs(domains=domains)) == [
        f"KeyRing k: domains: got {list(domains)!r}; expected some of data, logs, secrets, "
        "storage, each once"
    ]


def test_every_problem_is_reported_at_once():
    with pytest.raises(InvalidArguments) as caught:
        plan_keys(deletion_window_days=0, domains=("media",))
    assert [p.split(": ")[1] for p in caught.value.problems] == ["deletion_window_days", "domains"]


def test_a_ring_through_another_regions_provider_names_that_region():
    import pulumi
    import pulumi_aws as aws

    def program(spec):
        west = aws.Provider("west", region="eu-west-2")
        KeyRing("k", KeyRingArgs(domains=("logs", "data")),
                pulumi.ResourceOptions(providers=[west]))  # fmt: skip

    plan = offline.run(spec_of("prod"), program)
    logs = policy(plan, "logs")["CloudWatchLogsEncrypts"]
    assert logs["Principal"] == {"Service": "logs.eu-west-2.amazonaws.com"}
    sns = policy(plan, "data")["SnsServiceUses"]
    assert sns["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:sns:eu-west-2:{ACCOUNT}:*"
