"""The same setting written every way a plan can hold it: security group rules inline, as
aws:ec2/securityGroupRule or aws:vpc/securityGroupIngressRule, IPv4 and IPv6; policy documents
as text or mapping, Action/Resource as string or list, NotAction and NotResource; keys by ARN,
alias or a value only the update knows."""

from __future__ import annotations

import json

import pytest

from osp.platform.policy.rules._reading import at, customer_key
from tests.platform.policy.fixtures import resource as R
from tests.platform.policy.fixtures import verdict
from tests.platform.policy.test_rules import INGRESS, ROLE, ROLE_POLICY, SG, SGR, lb_with


@pytest.mark.parametrize(
    "make",
    [
        lambda g: R(
            SG,
            {
                "ingress": [
                    {
                        "protocol": "tcp",
                        "fromPort": 5432,
                        "toPort": 5432,
                        "cidrBlocks": ["10.0.0.0/8", "0.0.0.0/0"],
                    }
                ]
            },
            name="sg",
        ),
        lambda g: R(
            SGR,
            {
                "type": "ingress",
                "protocol": "-1",
                "fromPort": 0,
                "toPort": 0,
                "cidrBlocks": ["0.0.0.0/0"],
                "securityGroupId": "sg-1",
            },
        ),
        lambda g: R(
            INGRESS,
            {"cidrIpv6": "::/0", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22},
            refs={"securityGroupId": g},
        ),
        lambda g: R(
            INGRESS, {"cidrIpv4": "0.0.0.0/0", "ipProtocol": "-1"}, refs={"securityGroupId": g}
        ),
    ],
    ids=["inline", "securityGroupRule", "ingressRule-ipv6", "ingressRule-all-protocols"],
)
def test_world_ingress_fails_however_it_is_written(make):
    group = R(SG, {}, name="db-sg")
    check = verdict("OSP-NET-1", make(group), group)
    assert not check.passed and "open to the internet" in check.detail


def test_world_ingress_to_a_port_the_load_balancer_does_not_listen_on_fails():
    group = R(SG, {}, name="alb-sg")
    rule = R(
        INGRESS,
        {"cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 8080, "toPort": 8080},
        refs={"securityGroupId": group},
    )
    check = verdict("OSP-NET-1", rule, group, *lb_with(group, ports=(443,)))
    assert not check.passed and "load balancer alb listens on [443]" in check.detail


def test_inline_world_ingress_on_the_listener_port_of_the_balancer_by_id_passes():
    group = R(
        SG,
        {
            "ingress": [
                {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}
            ]
        },
        name="alb-sg",
    )
    balancer = R(
        "aws:lb/loadBalancer:LoadBalancer",
        {"securityGroups": ["sg-9"]},
        name="alb",
        refs={"securityGroups": group},
    )
    listener = R("aws:lb/listener:Listener", {"port": 443}, refs={"loadBalancerArn": balancer})
    assert verdict("OSP-NET-1", group, balancer, listener).passed


@pytest.mark.parametrize(
    "policy",
    [
        json.dumps({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}),
        {"Statement": [{"Effect": "Allow", "Action": ["sqs:*"], "Resource": "arn:aws:sqs:*:*:*"}]},
        {"Statement": [{"Effect": "Allow", "NotAction": ["iam:*"], "Resource": ["*"]}]},
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "NotResource": "arn:aws:kms:*:*:key/other",
                }
            ]
        },
    ],
    ids=["text-string-statement", "service-wildcard-arn", "not-action", "not-resource"],
)
def test_data_plane_on_everything_fails_in_every_form(policy):
    assert not verdict("OSP-IAM-1", R(ROLE_POLICY, {"policy": policy})).passed


def test_a_not_resource_that_leaves_out_the_whole_service_is_scoped():
    # Publishing SMS: every SNS topic excluded, only phone numbers remain.
    policy = {
        "Statement": [
            {"Effect": "Allow", "Action": "sns:Publish", "NotResource": "arn:aws:sns:*:*:*"}
        ]
    }
    assert verdict("OSP-IAM-1", R(ROLE_POLICY, {"policy": policy})).passed


def test_a_roles_inline_policy_is_read_too():
    role = R(
        ROLE,
        {
            "inlinePolicies": [
                {
                    "name": "p",
                    "policy": json.dumps(
                        {
                            "Statement": [
                                {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}
                            ]
                        }
                    ),
                }
            ]
        },
    )
    check = verdict("OSP-IAM-2", role)
    assert (
        not check.passed
        and check.evidence[0].path == "inlinePolicies[0].policy.Statement[0].Resource"
    )


def test_an_unreadable_policy_fails():
    check = verdict("OSP-IAM-1", R(ROLE_POLICY, {"policy": "{not json"}))
    assert not check.passed and "cannot be read" in check.detail


@pytest.mark.parametrize(
    ("reference", "customer"),
    [
        ("arn:aws:kms:us-east-1:1:key/abc", True),
        ("alias/osp-prod-data", True),
        ("arn:aws:kms:us-east-1:1:alias/osp-prod-data", True),
        ("<unknown>", True),
        ("alias/aws/s3", False),
        ("arn:aws:kms:us-east-1:1:alias/aws/sqs", False),
        ("", False),
        (None, False),
    ],
)
def test_customer_keys(reference, customer):
    assert customer_key(reference) is customer


def test_paths():
    inputs = {"a": {"b": [{"c": 1}]}}
    assert at(inputs, "a.b[0].c") == 1
    assert at(inputs, "a.b[1].c", "none") == "none"
    assert at(inputs, "a.x.c") is None


def test_a_log_target_bucket_may_use_s3_managed_keys_and_others_may_not():
    from tests.platform.policy.test_rules import BLOG, SSE, sse

    logs = R("aws:s3/bucket:Bucket", {"bucket": "logs"}, name="logs")
    encryption = R(SSE, {"bucket": "logs", **sse("AES256")})
    delivery = R(BLOG, {"bucket": "docs", "targetBucket": "logs"})
    assert verdict("OSP-S3-1", logs, encryption, delivery).passed
    assert not verdict("OSP-S3-1", logs, encryption).passed


def test_production_only_rules_do_not_apply_elsewhere():
    assert (
        verdict("OSP-RDS-1", R("aws:rds/instance:Instance", {"multiAz": False}), production=False)
        is None
    )


def test_log_retention_follows_the_environment_minimum():
    group = R("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 30})
    assert verdict("OSP-LOGS-1", group, min_days=30).passed
    assert not verdict("OSP-LOGS-1", group, min_days=90).passed


def test_untaggable_types_are_not_failed():
    policy = R("aws:s3/bucketPolicy:BucketPolicy", {"policy": "{}"})
    assert verdict("OSP-TAG-1", policy) is None
