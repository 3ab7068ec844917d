"""`KeyRing`: the customer-managed KMS keys of an environment, one per data domain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from osp.platform import iam, limits
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:keys:KeyRing"

#: The data domains, each with its own key: a leaked grant on one never opens the others.
DOMAINS = ("data", "logs", "secrets", "storage")

# AWS services that may use a domain's key on behalf of principals of the account
# (the pattern of AWS managed keys: `kms:ViaService` + `kms:CallerAccount`).
_VIA_SERVICES = {
    "data": ("rds", "elasticache", "mq", "ec2", "eks", "sns", "sqs", "dynamodb"),
    "secrets": ("secretsmanager",),
    "storage": ("s3", "ecr"),
    "logs": (),
}

# AWS services that encrypt or decrypt with a domain's key as themselves, not on a caller's
# behalf: SNS delivering to encrypted queues, CloudWatch alarms publishing to encrypted
# topics and EventBridge rules sending to encrypted queues (Karpenter's interruption queue)
# (data), CloudFront reading KMS-encrypted objects through Origin Access Control (storage).
# Each is held to this account's resources by a source condition.
_SERVICE_PRINCIPALS = {
    "data": ("sns.amazonaws.com", "cloudwatch.amazonaws.com", "events.amazonaws.com"),
    "storage": ("cloudfront.amazonaws.com",),
}

#: Days a deleted key waits before it is gone, as KMS allows.

_USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


@dataclass(frozen=True, kw_only=True)
class KeyRingArgs:
    """Arguments of `KeyRing`."""

    deletion_window_days: int = 30
    """Days a deleted key waits before it is gone (7-30). Default: 30, the most AWS allows."""

    domains: Sequence[str] = DOMAINS
    """Which of the domains to make keys for. Default: all four. A ring in a second region
    (us-east-1, for what CloudFront needs there) may need only some."""

    deletion_protection: bool = False
    """Pulumi `protect` on every key: losing a key loses everything encrypted with it."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every key."""


def problems(name: str, args: KeyRingArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("KeyRing", name)
    check.against(
        limits.KMS_DELETION_WINDOW_DAYS, "deletion_window_days", args.deletion_window_days
    )
    domains = list(args.domains)
    known = all(d in DOMAINS for d in domains) and len(set(domains)) == len(domains)
    check.check(
        domains != [] and known, "domains", domains, "some of " + ", ".join(DOMAINS) + ", each once"
    )
    return check.found


def key_policy(domain: str, *, partition: str, account: str, region: str) -> str:
    """The key policy of `domain`: the account administers it, named services may use it."""
    root = f"arn:{partition}:iam::{account}:root"
    statements: list[dict] = [
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    services = _VIA_SERVICES[domain]
    if services:
        statements.append(
            {
                "Sid": "UseThroughServices",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [*_USE, "kms:CreateGrant", "kms:ListGrants"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": account,
                        "kms:ViaService": [f"{s}.{region}.amazonaws.com" for s in services],
                    }
                },
            }
        )
    if domain == "logs":
        statements.append(
            {
                "Sid": "CloudWatchLogsEncrypts",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": _USE,
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{partition}:logs:{region}:{account}:log-group:*"
                        )
                    }
                },
            }
        )
    for service in _SERVICE_PRINCIPALS.get(domain, ()):
        statements.append(
            _service_statement(service, partition=partition, account=account, region=region)
        )
    if domain == "data":
        # EKS managed node groups launch through EC2 Auto Scaling, whose service-linked role
        # must be able to use the key of the encrypted root volumes.
        autoscaling = (
            f"arn:{partition}:iam::{account}:role/aws-service-role/"
            "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
        )
        statements += [
            {
                "Sid": "AutoScalingUsesForVolumes",
                "Effect": "Allow",
                "Principal": {"AWS": autoscaling},
                "Action": _USE,
                "Resource": "*",
            },
            {
                "Sid": "AutoScalingGrantsForVolumes",
                "Effect": "Allow",
                "Principal": {"AWS": autoscaling},
                "Action": "kms:CreateGrant",
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
        ]
    return iam.policy(*statements)


def _service_statement(service: str, *, partition: str, account: str, region: str) -> dict:
    name = service.split(".")[0]
    # Each service only for what it does for this account's own resources.
    source = {
        "sns": f"arn:{partition}:sns:{region}:{account}:*",
        "cloudwatch": f"arn:{partition}:cloudwatch:{region}:{account}:alarm:*",
        "events": f"arn:{partition}:events:{region}:{account}:rule/*",
        "cloudfront": f"arn:{partition}:cloudfront::{account}:distribution/*",
    }[name]
    return {
        "Sid": f"{name.capitalize()}ServiceUses",
        "Effect": "Allow",
        "Principal": {"Service": service},
        # OAC only ever reads; SNS and CloudWatch encrypt what they deliver or publish.
        "Action": ["kms:Decrypt"]
        if name == "cloudfront"
        else ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": source},
        },
    }


class KeyRing(pulumi.ComponentResource):
    """Four symmetric customer keys — data stores, logs, secrets, storage — each with yearly
    automatic rotation, an alias `alias/<name>-<domain>` and a key policy that lets the
    account administer it and only the services of its domain use it.

    `<domain>_key_arn` of a domain not in `domains` is None."""

    data_key_arn: pulumi.Output[str]
    logs_key_arn: pulumi.Output[str]
    secrets_key_arn: pulumi.Output[str]
    storage_key_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: KeyRingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        # Looked up through this component's provider: a ring made in another region (through
        # an explicit provider) gets key policies naming that region's services.
        lookup = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=lookup).partition
        account = aws.get_caller_identity_output(opts=lookup).account_id
        region = aws.get_region_output(opts=lookup).region
        arns: dict[str, pulumi.Output[str]] = {}
        for domain in args.domains:
            key = aws.kms.Key(
                f"{name}-{domain}",
                description=f"{name}: {domain}",
                enable_key_rotation=True,
                deletion_window_in_days=args.deletion_window_days,
                policy=pulumi.Output.all(partition, account, region).apply(
                    lambda v, d=domain: key_policy(d, partition=v[0], account=v[1], region=v[2])
                ),
                tags={"Name": f"{name}-{domain}", **args.tags},
                opts=pulumi.ResourceOptions(parent=self, protect=args.deletion_protection),
            )
            aws.kms.Alias(
                f"{name}-{domain}-alias",
                name=f"alias/{name}-{domain}",
                target_key_id=key.key_id,
                opts=pulumi.ResourceOptions(parent=self),
            )
            arns[domain] = key.arn
        self.data_key_arn = arns.get("data")
        self.logs_key_arn = arns.get("logs")
        self.secrets_key_arn = arns.get("secrets")
        self.storage_key_arn = arns.get("storage")
        self.register_outputs({f"{d}KeyArn": arn for d, arn in arns.items()})
