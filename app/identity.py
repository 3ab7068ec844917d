"""`ServiceIdentity` and `LoadBalancerControllerIdentity`: IAM roles for service accounts (IRSA).

Each service of a blueprint gets a role that only its own Kubernetes service account can
assume, with one inline policy naming exactly the topics, queues, buckets, secrets, keys,
database users and email identities it uses — never `"Resource": "*"` for a data-plane
action. The AWS Load Balancer Controller gets a role of its own that can do no more than
keep the estate's target groups filled (TargetGroupBinding).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
import pulumi_aws as aws

from osp.app.kafka import KafkaGrant, kafka_grant_problems
from osp.components.cluster import irsa_trust_policy
from osp.platform import limits
from osp.platform.catalogue import Access
from osp.platform.iam import policy
from osp.platform.limits import DNS_LABEL, Constraint, pattern
from osp.platform.naming import NameKind, fit
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:app:ServiceIdentity"
CONTROLLER_TOKEN = "osp:app:LoadBalancerControllerIdentity"

#: Where the AWS Load Balancer Controller runs (its Helm chart's defaults).
CONTROLLER_NAMESPACE = "kube-system"
CONTROLLER_SERVICE_ACCOUNT = "aws-load-balancer-controller"

#: What a consumer does with its queue: receive, acknowledge (delete), extend the time it
#: holds a message, and look the queue up. No SendMessage: only the topic feeds it.
QUEUE_ACTIONS = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
)
#: What a producer does with a queue of the blueprint (catalogue `queues:`): send, nothing else.
SEND_ACTIONS = ("sqs:GetQueueUrl", "sqs:SendMessage")
OBJECT_WRITE_ACTIONS = ("s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject")
SECRET_ACTIONS = ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue")
#: Reading a table's items. Scan and DescribeTable carry no partition key, so a
#: tenant-scoped grant (TENANT_READ_ACTIONS) leaves them out.
TABLE_READ_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
)
TENANT_READ_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
)
TABLE_WRITE_ACTIONS = (
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
PARAMETER_ACTIONS = ("ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath")
#: The session tag a tenant-data session carries: the tenant's slug (osp.platform.tenancy's
#: `osp:tenant` tag key).
TENANT_SESSION_TAG = "osp:tenant"
EMAIL_ACTIONS = ("ses:SendEmail", "ses:SendRawEmail")

#: The AWS services a key may be used through (`kms:ViaService`), and what they need.
KEY_VIA_SERVICES = ("s3", "secretsmanager", "sns", "sqs")
KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")

# Read-only lookups the controller makes to resolve targets and their network interfaces.
# None of these actions supports resource-level permissions, so they cannot be scoped.
CONTROLLER_DESCRIBE_ACTIONS = (
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
)
CONTROLLER_TARGET_ACTIONS = (
    "elasticloadbalancing:DeregisterTargets",
    "elasticloadbalancing:RegisterTargets",
)
CONTROLLER_SECURITY_GROUP_ACTIONS = (
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupIngress",
)

# -- what each kind of ARN (or id) looks like ----------------------------------------------

_ARNS: dict[str, Constraint] = {
    "topic": limits.SNS_TOPIC_ARN,
    "queue": limits.SQS_QUEUE_ARN,
    "bucket": limits.S3_BUCKET_ARN,
    "secret": limits.SECRET_ARN,
    "key": limits.KMS_KEY_ARN,
    # A send is authorised against the identity and, when the identity has a default
    # configuration set, against that set too: both are granted.
    "email": limits.arn(
        "ses",
        r"identity/[A-Za-z0-9.@+_-]+|configuration-set/[A-Za-z0-9_-]+",
        "an SES identity ARN such as arn:aws:ses:us-east-1:123456789012:identity/example.edu, "
        "or the ARN of its configuration set (…:configuration-set/<name>)",
    ),
    "target_group": limits.TARGET_GROUP_ARN,
    "resource_id": pattern(
        r"db-[A-Z0-9]+",
        "an RDS instance resource id (DbiResourceId) such as db-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    ),
    "security_group": pattern(
        r"sg-[0-9a-f]{8,17}", "a security group id such as sg-0123456789abcdef0"
    ),
    "oidc_provider": limits.OIDC_PROVIDER_ARN,
    "table": limits.arn(
        "dynamodb",
        r"table/[A-Za-z0-9_.-]{3,255}",
        "a DynamoDB table ARN such as arn:aws:dynamodb:us-east-1:123456789012:table/osp-prod-x",
    ),
}
_PARAMETER_PATH = pattern(
    r"(/[a-z0-9][a-z0-9-]*)+",
    "an SSM parameter path such as /osp/prod/services/fee (no wildcards, no trailing slash)",
)
_INDEX_NAME = pattern(r"[A-Za-z0-9_.-]{3,255}", "a DynamoDB index name")

#: A service account's name, as any Kubernetes object's: a DNS-1123 subdomain.
_SERVICE_ACCOUNT = pattern(
    r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?",
    "a Kubernetes service account name (lower-case letters, digits, '-', '.')",
)
_ROLE_NAME = pattern(
    r"[A-Za-z0-9+=,.@_-]+",
    "an IAM role name: letters, digits and +=,.@_- (longer than 64 is shortened with a hash)",
)
_ISSUER = pattern(
    r"[a-z0-9.-]+(?::\d+)?(?:/[A-Za-z0-9._~-]+)*",
    "the issuer without https://, such as oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE "
    "(Cluster.oidc_provider_url)",
)
#: A PostgreSQL role name that needs no quoting: osp creates one per service.
# -- grants ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BucketGrant:
    """A bucket the service reads, or reads and writes."""

    arn: pulumi.Input[str]
    """The bucket's ARN (`arn:aws:s3:::<bucket>`); objects are granted under `<arn>/*`."""

    access: Access
    """`read`: list the bucket and get objects. `read-write`: also put and delete objects
    and abort multipart uploads."""


@dataclass(frozen=True)
class KeyGrant:
    """Use of a customer KMS key, only through the AWS services that encrypt with it."""

    key_arn: pulumi.Input[str]
    """The key's ARN (key ARNs only: an alias ARN does not grant use of the key)."""

    via_services: Sequence[str]
    """Services the key may be used through (`kms:ViaService`), of KEY_VIA_SERVICES: `sns`
    and `sqs` for encrypted topics and queues, `s3` for objects, `secretsmanager` for
    secrets. The role cannot call KMS with the key directly."""

    actions: Sequence[str] = ("kms:Decrypt",)
    """Of KEY_ACTIONS. Default: decrypt only (consuming queues, reading objects and
    secrets); publishing to an encrypted topic and writing objects also need
    `kms:GenerateDataKey`."""


@dataclass(frozen=True)
class DbUserGrant:
    """IAM authentication as one PostgreSQL user on one DB instance."""

    resource_id: pulumi.Input[str]
    """The instance's resource id (`db-…`, not its identifier): the primary, or a read
    replica the service reads through (each replica has its own)."""

    user: str
    """The database user: a lower-case PostgreSQL name such as `reporting`."""


@dataclass(frozen=True)
class TableGrant:
    """A DynamoDB table the service reads, or reads and writes, with its indexes."""

    arn: pulumi.Input[str]
    """The table's ARN; its indexes are granted as `<arn>/index/<name>`."""

    access: Access
    """`read`: get, query (and, unless tenant-partitioned, scan and describe). `read-write`:
    also put, update, delete and batch-write items."""

    index_names: Sequence[str] = ()
    """The table's global secondary indexes, each named in the grant."""

    tenant_partitioned: bool = False
    """Every partition key begins with the tenant's slug: the service's own role gets no
    access to the table; its tenant-data role does, for the items of the tenant its session
    is tagged with (`dynamodb:LeadingKeys`)."""


@dataclass(frozen=True, kw_only=True)
class Grants:
    """Everything a service may reach in AWS. Default: nothing."""

    publish_topic_arns: Sequence[pulumi.Input[str]] = ()
    """Topics it publishes its events to (`sns:Publish`)."""

    consume_queue_arns: Sequence[pulumi.Input[str]] = ()
    """Its own queues, one per event it consumes (receive, delete, change visibility,
    get attributes and URL)."""

    send_queue_arns: Sequence[pulumi.Input[str]] = ()
    """Queues of the blueprint it sends to (`sqs:SendMessage`)."""

    buckets: Sequence[BucketGrant] = ()
    """Buckets it reads or reads and writes."""

    secret_arns: Sequence[pulumi.Input[str]] = ()
    """Secrets it reads (`GetSecretValue`, `DescribeSecret`)."""

    keys: Sequence[KeyGrant] = ()
    """Customer keys behind the topics, queues, buckets and secrets above (see
    `with_key_grants`, which derives them)."""

    database_users: Sequence[DbUserGrant] = ()
    """Database users it connects as with IAM authentication (`rds-db:connect`): one per
    instance it reaches (the primary, and each replica it reads through)."""

    email_identity_arns: Sequence[pulumi.Input[str]] = ()
    """SES identities it sends email from (`ses:SendEmail`, `ses:SendRawEmail`), and the
    configuration set each sends through (SES authorises a send against both)."""

    sms: bool = False
    """Send SMS to phone numbers through SNS, and nothing else through that grant."""

    tables: Sequence[TableGrant] = ()
    """DynamoDB tables it reads or reads and writes. Their items are encrypted with a key
    DynamoDB itself holds a grant on, so they need no key grant of the service's."""

    parameter_paths: Sequence[str] = ()
    """SSM parameter paths it reads (the parameters at and under each): its own branch and
    the shared one."""

    kafka: KafkaGrant | None = None
    """Its topics and consumer group on the estate's MSK cluster (osp.app.kafka)."""

    @property
    def tenant_tables(self) -> tuple[TableGrant, ...]:
        """The tenant-partitioned tables: reached only through the tenant-data role."""
        return tuple(t for t in self.tables if t.tenant_partitioned)

    @property
    def empty(self) -> bool:
        return not (
            self.kafka is not None
            or self.publish_topic_arns
            or self.consume_queue_arns
            or self.send_queue_arns
            or self.buckets
            or self.secret_arns
            or self.keys
            or self.database_users
            or self.email_identity_arns
            or self.sms
            or self.tables
            or self.parameter_paths
        )


def with_key_grants(
    grants: Grants,
    *,
    data_key_arn: pulumi.Input[str] | None = None,
    storage_key_arn: pulumi.Input[str] | None = None,
    secrets_key_arn: pulumi.Input[str] | None = None,
) -> Grants:
    """`grants` plus the least key use its resources need, each key only through its service.

    Topics and queues are encrypted with the data key, objects with the storage key,
    secrets with the secrets key (the KeyRing's domains). A key left as None is not granted:
    for resources encrypted with AWS managed keys, which need no grant.
    """
    keys = list(grants.keys)
    if data_key_arn is not None and grants.publish_topic_arns:
        keys.append(KeyGrant(data_key_arn, ("sns",), KEY_ACTIONS))
    if data_key_arn is not None and grants.send_queue_arns:
        # One grant through SQS per key: a sender also needs a data key.
        keys.append(KeyGrant(data_key_arn, ("sqs",), KEY_ACTIONS))
    elif data_key_arn is not None and grants.consume_queue_arns:
        keys.append(KeyGrant(data_key_arn, ("sqs",)))
    if storage_key_arn is not None and grants.buckets:
        writes = any(b.access == Access.READ_WRITE for b in grants.buckets)
        keys.append(KeyGrant(storage_key_arn, ("s3",), KEY_ACTIONS if writes else ("kms:Decrypt",)))
    if secrets_key_arn is not None and grants.secret_arns:
        keys.append(KeyGrant(secrets_key_arn, ("secretsmanager",)))
    return replace(grants, keys=tuple(keys))


# -- policies ----------------------------------------------------------------------------


def arn_problem(kind: str, value: str) -> str | None:
    """What `value` should have been, if it is not a `kind` ARN (or id) without wildcards:
    kinds topic, queue, bucket, secret, key, email, target_group, resource_id, security_group,
    oidc_provider."""
    return _ARNS[kind].problem(value)


def trust_problems(
    *, role_name: object, oidc_provider_arn: object, oidc_provider_url: object
) -> list[tuple[str, object, str]]:
    """(arg, value, expected) for each malformed part of an IRSA role's name and trust; the
    provider's ARN and issuer are checked when they are literals (Outputs resolve later)."""
    checks: list[tuple[str, object, Constraint]] = [("role_name", role_name, _ROLE_NAME)]
    if isinstance(oidc_provider_arn, str):
        checks.append(("oidc_provider_arn", oidc_provider_arn, _ARNS["oidc_provider"]))
    if isinstance(oidc_provider_url, str):
        checks.append(("oidc_provider_url", oidc_provider_url, _ISSUER))
    return [(arg, value, rule.expected) for arg, value, rule in checks if not rule.accepts(value)]


def _check_resolved(check: Problems, kind: str, arg: str, values: Iterable[str]) -> None:
    # Values that came from other resources are only known here; a malformed or wildcard
    # ARN must fail the deployment rather than widen the policy.
    for value in values:
        check.against(_ARNS[kind], arg, value)


def _once(values: Iterable[str]) -> list[str]:
    return sorted(set(values))


def _allow(
    sid: str, actions: Sequence[str], resources: Sequence[str], **extra: Any
) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": list(resources),
        **extra,
    }


def permission_statements(
    *,
    partition: str,
    region: str,
    account: str,
    dns_suffix: str = "amazonaws.com",
    topic_arns: Sequence[str] = (),
    queue_arns: Sequence[str] = (),
    send_queue_arns: Sequence[str] = (),
    buckets: Sequence[tuple[str, str]] = (),
    secret_arns: Sequence[str] = (),
    keys: Sequence[tuple[str, Sequence[str], Sequence[str]]] = (),
    database_users: Sequence[tuple[str, str]] = (),
    email_identity_arns: Sequence[str] = (),
    sms: bool = False,
    tables: Sequence[tuple[str, Sequence[str], str]] = (),
    parameter_paths: Sequence[str] = (),
    tenant_data_role_arn: str | None = None,
) -> list[dict[str, Any]]:
    """The statements of a service's policy, from resolved ARNs (`buckets`: (arn, access);
    `keys`: (key ARN, via services, actions); `database_users`: (resource id, user);
    `tables`: (arn, index names, access) of the tables it reaches with its own role)."""
    out: list[dict[str, Any]] = []
    if topic_arns:
        out.append(_allow("PublishEvents", ["sns:Publish"], _once(topic_arns)))
    if queue_arns:
        out.append(_allow("ConsumeEvents", QUEUE_ACTIONS, _once(queue_arns)))
    if send_queue_arns:
        out.append(_allow("SendMessages", SEND_ACTIONS, _once(send_queue_arns)))
    out += _bucket_statements(buckets)
    if secret_arns:
        out.append(_allow("ReadSecrets", SECRET_ACTIONS, _once(secret_arns)))
    out += _key_statements(keys, region=region, dns_suffix=dns_suffix)
    if database_users:
        users = _once(
            f"arn:{partition}:rds-db:{region}:{account}:dbuser:{resource_id}/{user}"
            for resource_id, user in database_users
        )
        out.append(_allow("ConnectDatabase", ["rds-db:connect"], users))
    if email_identity_arns:
        out.append(_allow("SendEmail", EMAIL_ACTIONS, _once(email_identity_arns)))
    if sms:
        out.append(_sms_statement(partition))
    out += _table_statements(tables, TABLE_READ_ACTIONS)
    if parameter_paths:
        prefix = f"arn:{partition}:ssm:{region}:{account}:parameter"
        paths = _once(parameter_paths)
        resources = [r for path in paths for r in (f"{prefix}{path}", f"{prefix}{path}/*")]
        out.append(_allow("ReadParameters", PARAMETER_ACTIONS, resources))
    if tenant_data_role_arn is not None:
        out.append(
            _allow(
                "AssumeTenantDataRole", ["sts:AssumeRole", "sts:TagSession"], [tenant_data_role_arn]
            )
        )
    return out


def _table_resources(tables: Sequence[tuple[str, Sequence[str], str]]) -> list[str]:
    return _once(
        resource
        for arn, indexes, _ in tables
        for resource in (arn, *(f"{arn}/index/{index}" for index in indexes))
    )


def _table_statements(
    tables: Sequence[tuple[str, Sequence[str], str]],
    read_actions: Sequence[str],
    condition: Mapping[str, Any] | None = None,
    sid: str = "",
) -> list[dict[str, Any]]:
    """Read the tables and their indexes; write items only in the read-write ones."""
    if not tables:
        return []
    extra = {"Condition": dict(condition)} if condition else {}
    out = [_allow(f"Read{sid}Tables", read_actions, _table_resources(tables), **extra)]
    writable = [t for t in tables if t[2] == Access.READ_WRITE]
    if writable:
        out.append(
            _allow(f"Write{sid}Tables", TABLE_WRITE_ACTIONS, _table_resources(writable), **extra)
        )
    return out


def tenant_data_statements(
    tables: Sequence[tuple[str, Sequence[str], str]],
) -> list[dict[str, Any]]:
    """The policy of a service's tenant-data role: the tenant-partitioned tables, each request
    held to the items whose partition key is the session's tenant (`<slug>`) or begins with
    it (`<slug>#…`). The `Null` condition refuses a request that names no partition key at
    all, which `ForAllValues` alone would let through."""
    tenant = "${aws:PrincipalTag/" + TENANT_SESSION_TAG + "}"
    condition = {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [tenant, f"{tenant}#*"]},
        "Null": {"dynamodb:LeadingKeys": "false"},
    }
    return _table_statements(tables, TENANT_READ_ACTIONS, condition, sid="TenantItemsIn")


def tenant_data_trust(service_role_arn: str) -> str:
    """Trust of a service's tenant-data role: only the service's own role, and only in a
    session that carries the tenant's tag and no other tag."""
    return policy(
        {
            "Sid": "AssumedByService",
            "Effect": "Allow",
            "Principal": {"AWS": service_role_arn},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {
                "StringLike": {f"aws:RequestTag/{TENANT_SESSION_TAG}": "?*"},
                "ForAllValues:StringEquals": {"aws:TagKeys": [TENANT_SESSION_TAG]},
            },
        }
    )


def _bucket_statements(buckets: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """List the buckets and read their objects; write objects only in the read-write ones."""
    if not buckets:
        return []
    bucket_arns = _once(arn for arn, _ in buckets)
    out = [
        _allow("ListBuckets", ["s3:ListBucket"], bucket_arns),
        _allow("ReadObjects", ["s3:GetObject"], [f"{arn}/*" for arn in bucket_arns]),
    ]
    writable = _once(arn for arn, access in buckets if access == Access.READ_WRITE)
    if writable:
        out.append(_allow("WriteObjects", OBJECT_WRITE_ACTIONS, [f"{arn}/*" for arn in writable]))
    return out


def _key_statements(
    keys: Sequence[tuple[str, Sequence[str], Sequence[str]]], *, region: str, dns_suffix: str
) -> list[dict[str, Any]]:
    """One statement per (key, services, actions): a key's use through one service never
    carries the actions another service needs."""
    distinct = sorted({(arn, tuple(sorted(via)), tuple(sorted(acts))) for arn, via, acts in keys})
    return [
        _allow(
            f"UseKey{index}",
            actions,
            [arn],
            Condition={
                "StringEquals": {
                    "kms:ViaService": [f"{service}.{region}.{dns_suffix}" for service in via]
                }
            },
        )
        for index, (arn, via, actions) in enumerate(distinct)
    ]


def _sms_statement(partition: str) -> dict[str, Any]:
    # An SMS publish names a phone number, not an ARN ("not authorized to perform
    # SNS:Publish on resource: +1555…"), so it cannot be granted by Resource. NotResource
    # allows sns:Publish on everything that is not an SNS ARN: phone numbers, and no
    # topic or mobile platform endpoint of any account or region (those are all
    # arn:<partition>:sns:…). What bounds the rest is the account's SMS spend limit: set
    # by the environment holding the account's SMS settings (osp:sms, the SmsSettings
    # component), or AWS's default of 1 USD a month where none does.
    return {
        "Sid": "SendSms",
        "Effect": "Allow",
        "Action": ["sns:Publish"],
        "NotResource": [f"arn:{partition}:sns:*:*:*"],
    }


def controller_statements(
    *,
    partition: str,
    region: str,
    account: str,
    target_group_arns: Sequence[str],
    security_group_ids: Sequence[str] = (),
    tagged_target_groups: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The statements of the load balancer controller's policy (TargetGroupBinding only)."""
    out: list[dict[str, Any]] = [
        {
            "Sid": "Describe",
            "Effect": "Allow",
            "Action": list(CONTROLLER_DESCRIBE_ACTIONS),
            "Resource": "*",
        },
        _allow("RegisterTargets", CONTROLLER_TARGET_ACTIONS, _once(target_group_arns)),
    ]
    if tagged_target_groups:
        # One statement whatever the number of tenants: a policy naming each tenant's groups
        # would outgrow the role's 10 240 characters of inline policy within a few silos.
        out.append(
            {
                "Sid": "RegisterTargetsInTaggedGroups",
                "Effect": "Allow",
                "Action": list(CONTROLLER_TARGET_ACTIONS),
                "Resource": f"arn:{partition}:elasticloadbalancing:{region}:{account}:"
                "targetgroup/*/*",
                "Condition": {
                    "StringEquals": {
                        f"aws:ResourceTag/{key}": value
                        for key, value in sorted(tagged_target_groups.items())
                    }
                },
            }
        )
    if security_group_ids:
        groups = [
            f"arn:{partition}:ec2:{region}:{account}:security-group/{group}"
            for group in _once(security_group_ids)
        ]
        out.append(_allow("ManageSecurityGroupIngress", CONTROLLER_SECURITY_GROUP_ACTIONS, groups))
    return out


def grants_policy(
    name: str,
    grants: Grants,
    invoke: pulumi.InvokeOutputOptions,
    tenant_data_role_arn: pulumi.Output[str] | None = None,
    *,
    kind: str = "ServiceIdentity",
) -> pulumi.Output[str]:
    """The identity policy granting exactly `grants`, once their ARNs resolve (each checked:
    a malformed or wildcard ARN fails the deployment rather than widen the policy). A
    service's role and a Lambda function's (osp.stacks.functions) are given the same way."""

    def each(values: Iterable[pulumi.Input[str]]) -> pulumi.Output[list[str]]:
        return pulumi.Output.all(*values)

    keys = list(grants.keys)
    users = list(grants.database_users)
    buckets = list(grants.buckets)
    tables = [t for t in grants.tables if not t.tenant_partitioned]
    partition = aws.get_partition_output(opts=invoke)
    resolved = pulumi.Output.all(
        partition=partition.partition,
        dns_suffix=partition.dns_suffix,
        region=aws.get_region_output(opts=invoke).region,
        account=aws.get_caller_identity_output(opts=invoke).account_id,
        topics=each(grants.publish_topic_arns),
        queues=each(grants.consume_queue_arns),
        sends=each(grants.send_queue_arns),
        buckets=each(b.arn for b in buckets),
        secrets=each(grants.secret_arns),
        keys=each(k.key_arn for k in keys),
        resource_ids=each(u.resource_id for u in users),
        emails=each(grants.email_identity_arns),
        tables=each(t.arn for t in tables),
        tenant_role=tenant_data_role_arn,
        kafka=grants.kafka.cluster_arn if grants.kafka is not None else "",
    )

    def document(v: dict[str, Any]) -> str:
        check = Problems(kind, name)
        _check_resolved(check, "table", "grants.tables[].arn", v["tables"])
        for arn_kind, arg, values in (
            ("topic", "grants.publish_topic_arns", v["topics"]),
            ("queue", "grants.consume_queue_arns", v["queues"]),
            ("queue", "grants.send_queue_arns", v["sends"]),
            ("bucket", "grants.buckets[].arn", v["buckets"]),
            ("secret", "grants.secret_arns", v["secrets"]),
            ("key", "grants.keys[].key_arn", v["keys"]),
            ("resource_id", "grants.database_users[].resource_id", v["resource_ids"]),
            ("email", "grants.email_identity_arns", v["emails"]),
        ):
            _check_resolved(check, arn_kind, arg, values)
        check.raise_if_any()
        statements = permission_statements(
            partition=v["partition"],
            region=v["region"],
            account=v["account"],
            dns_suffix=v["dns_suffix"],
            topic_arns=v["topics"],
            queue_arns=v["queues"],
            send_queue_arns=v["sends"],
            buckets=[(arn, b.access) for arn, b in zip(v["buckets"], buckets, strict=True)],
            secret_arns=v["secrets"],
            keys=[
                (arn, tuple(k.via_services), tuple(k.actions))
                for arn, k in zip(v["keys"], keys, strict=True)
            ],
            database_users=[
                (resource_id, u.user)
                for resource_id, u in zip(v["resource_ids"], users, strict=True)
            ],
            email_identity_arns=v["emails"],
            sms=grants.sms,
            tables=[
                (arn, tuple(t.index_names), t.access)
                for arn, t in zip(v["tables"], tables, strict=True)
            ],
            parameter_paths=list(grants.parameter_paths),
            tenant_data_role_arn=v["tenant_role"],
        )
        if grants.kafka is not None:
            statements += grants.kafka.statements(v["kafka"])
        return policy(*statements)

    return resolved.apply(document)


def _tenant_data_policy(name: str, grants: Grants) -> pulumi.Output[str]:
    tables = grants.tenant_tables

    def document(arns: list[str]) -> str:
        check = Problems("ServiceIdentity", name)
        _check_resolved(check, "table", "grants.tables[].arn", arns)
        check.raise_if_any()
        return policy(
            *tenant_data_statements(
                [(arn, tuple(t.index_names), t.access) for arn, t in zip(arns, tables, strict=True)]
            )
        )

    return pulumi.Output.all(*(t.arn for t in tables)).apply(document)


def _controller_policy(
    name: str, args: LoadBalancerControllerIdentityArgs, invoke: pulumi.InvokeOutputOptions
) -> pulumi.Output[str]:
    def document(v: dict[str, Any]) -> str:
        groups = v["groups"]
        arns = list(groups.values()) if isinstance(groups, Mapping) else list(groups)
        check = Problems("LoadBalancerControllerIdentity", name)
        if check.check(bool(arns), "target_group_arns", arns, "at least one target group"):
            _check_resolved(check, "target_group", "target_group_arns", arns)
        _check_resolved(check, "security_group", "security_group_ids", v["sgs"])
        check.raise_if_any()
        return policy(
            *controller_statements(
                partition=v["partition"],
                region=v["region"],
                account=v["account"],
                target_group_arns=arns,
                security_group_ids=v["sgs"],
                tagged_target_groups=args.tagged_target_groups,
            )
        )

    return pulumi.Output.all(
        partition=aws.get_partition_output(opts=invoke).partition,
        region=aws.get_region_output(opts=invoke).region,
        account=aws.get_caller_identity_output(opts=invoke).account_id,
        groups=args.target_group_arns,
        sgs=pulumi.Output.all(*args.security_group_ids),
    ).apply(document)


# -- validation --------------------------------------------------------------------------


def _listed(check: Problems, arg: str, value: object) -> bool:
    """Whether `value` is a list (and not one string); records the problem if not."""
    listed = isinstance(value, Sequence) and not isinstance(value, str)
    return check.check(listed, arg, value, "a list, not one value")


def _check_arns(check: Problems, arg: str, values: object, kind: str) -> None:
    """Each literal entry of `values` a `kind` ARN, and each at most once (an Output is
    checked when it resolves)."""
    if not _listed(check, arg, values):
        return
    seen: set[str] = set()
    for index, value in enumerate(values):  # type: ignore[arg-type]
        if not isinstance(value, str):
            continue
        where = f"{arg}[{index}]"
        if check.against(_ARNS[kind], where, value) and value in seen:
            check.add(where, value, "each ARN once")
        seen.add(value)


def _check_subject(
    check: Problems, args: ServiceIdentityArgs | LoadBalancerControllerIdentityArgs
) -> None:
    """The service account that may assume the role, and the role's name and trust."""
    check.check(
        DNS_LABEL.accepts(args.namespace),
        "namespace",
        args.namespace,
        "a Kubernetes namespace (a DNS label)",
    )
    check.against(_SERVICE_ACCOUNT, "service_account", args.service_account)
    check.extend(
        trust_problems(
            role_name=args.role_name,
            oidc_provider_arn=args.oidc_provider_arn,
            oidc_provider_url=args.oidc_provider_url,
        )
    )


def problems(name: str, args: ServiceIdentityArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("ServiceIdentity", name)
    check.check(
        DNS_LABEL.accepts(args.service),
        "service",
        args.service,
        "a service name (a DNS label) such as fee",
    )
    _check_subject(check, args)
    grants = args.grants
    if check.check(isinstance(grants, Grants), "grants", grants, "a Grants"):
        _check_arns(check, "grants.publish_topic_arns", grants.publish_topic_arns, "topic")
        _check_arns(check, "grants.consume_queue_arns", grants.consume_queue_arns, "queue")
        _check_arns(check, "grants.send_queue_arns", grants.send_queue_arns, "queue")
        _check_arns(check, "grants.secret_arns", grants.secret_arns, "secret")
        _check_arns(check, "grants.email_identity_arns", grants.email_identity_arns, "email")
        _check_buckets(check, grants.buckets)
        _check_keys(check, grants.keys)
        _check_database_users(check, grants.database_users)
        check.check(isinstance(grants.sms, bool), "grants.sms", grants.sms, "True or False")
        _check_tables(check, grants.tables)
        if _listed(check, "grants.parameter_paths", grants.parameter_paths):
            for index, path in enumerate(grants.parameter_paths):
                check.against(_PARAMETER_PATH, f"grants.parameter_paths[{index}]", path)
        check.extend(kafka_grant_problems(grants.kafka))
    return check.found


def _check_tables(check: Problems, tables: Sequence[TableGrant]) -> None:
    if not _listed(check, "grants.tables", tables):
        return
    seen: set[str] = set()
    for index, table in enumerate(tables):
        where = f"grants.tables[{index}]"
        _check_access_grant(check, where, "table", table, seen)
        if _listed(check, f"{where}.index_names", table.index_names):
            for position, index_name in enumerate(table.index_names):
                check.against(_INDEX_NAME, f"{where}.index_names[{position}]", index_name)


def _check_buckets(check: Problems, buckets: Sequence[BucketGrant]) -> None:
    if not _listed(check, "grants.buckets", buckets):
        return
    seen: set[str] = set()
    for index, bucket in enumerate(buckets):
        _check_access_grant(check, f"grants.buckets[{index}]", "bucket", bucket, seen)


def _check_access_grant(
    check: Problems, where: str, kind: str, grant: BucketGrant | TableGrant, seen: set[str]
) -> None:
    """A grant of one `kind` ARN with an access: a literal ARN once among the grants `seen`
    so far (an Output is checked when it resolves), the access read or read-write."""
    if isinstance(grant.arn, str):
        if check.against(_ARNS[kind], f"{where}.arn", grant.arn) and grant.arn in seen:
            check.add(f"{where}.arn", grant.arn, f"each {kind} once, with one access")
        seen.add(grant.arn)
    check.check(
        grant.access in tuple(Access), f"{where}.access", grant.access, "read or read-write"
    )


def _check_keys(check: Problems, keys: Sequence[KeyGrant]) -> None:
    if not _listed(check, "grants.keys", keys):
        return
    granted: set[tuple[str, str]] = set()  # (key ARN, service) pairs so far
    for index, key in enumerate(keys):
        where = f"grants.keys[{index}]"
        if isinstance(key.key_arn, str):
            check.against(_ARNS["key"], f"{where}.key_arn", key.key_arn)
        _check_key_services(check, f"{where}.via_services", key, granted)
        actions = key.actions
        check.check(
            not isinstance(actions, str) and bool(actions) and set(actions) <= set(KEY_ACTIONS),
            f"{where}.actions",
            actions,
            "a non-empty list of " + ", ".join(KEY_ACTIONS),
        )


def _check_key_services(
    check: Problems, arg: str, key: KeyGrant, granted: set[tuple[str, str]]
) -> None:
    """Services of KEY_VIA_SERVICES, each once, and through each a key is granted once."""
    via = key.via_services
    if isinstance(via, str) or not via or not set(via) <= set(KEY_VIA_SERVICES):
        check.add(arg, via, "a non-empty list of " + ", ".join(KEY_VIA_SERVICES))
    elif len(set(via)) != len(via):
        check.add(arg, via, "each service once")
    elif isinstance(key.key_arn, str):
        for service in via:
            if (key.key_arn, service) in granted:
                check.add(
                    arg,
                    via,
                    f"{service} once per key: {key.key_arn} is already granted through {service}",
                )
            granted.add((key.key_arn, service))


def _check_database_users(check: Problems, users: Sequence[DbUserGrant]) -> None:
    if not _listed(check, "grants.database_users", users):
        return
    seen: set[tuple[str, str]] = set()
    for index, grant in enumerate(users):
        where = f"grants.database_users[{index}]"
        if isinstance(grant.resource_id, str):
            check.against(_ARNS["resource_id"], f"{where}.resource_id", grant.resource_id)
        user = grant.user
        check.against(limits.POSTGRES_SERVICE_USER, f"{where}.user", user)
        if isinstance(grant.resource_id, str):
            if (grant.resource_id, user) in seen:
                check.add(where, f"{grant.resource_id}/{user}", "each instance and user once")
            seen.add((grant.resource_id, user))


def controller_problems(name: str, args: LoadBalancerControllerIdentityArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("LoadBalancerControllerIdentity", name)
    _check_subject(check, args)
    groups = args.target_group_arns
    if isinstance(groups, Mapping):
        groups = list(groups.values())
    if isinstance(groups, Sequence) and not isinstance(groups, str):
        check.check(bool(groups), "target_group_arns", list(groups), "at least one target group")
        _check_arns(check, "target_group_arns", groups, "target_group")
    elif not isinstance(groups, pulumi.Output):
        check.add("target_group_arns", groups, "a list of target group ARNs, or a mapping to them")
    for key, value in dict(args.tagged_target_groups).items():
        # An empty key or value would admit every target group of the account.
        ok = isinstance(key, str) and isinstance(value, str) and bool(key) and bool(value)
        check.check(ok, f"tagged_target_groups[{key!r}]", value, "a non-empty tag key and value")
    ids = args.security_group_ids
    if _listed(check, "security_group_ids", ids):
        for index, group in enumerate(ids):
            if isinstance(group, str):
                check.against(_ARNS["security_group"], f"security_group_ids[{index}]", group)
        literal = [group for group in ids if isinstance(group, str)]
        if len(set(literal)) != len(literal):
            check.add("security_group_ids", list(ids), "each group once")
    return check.found


# -- components --------------------------------------------------------------------------


def _irsa_role(
    name: str,
    args: ServiceIdentityArgs | LoadBalancerControllerIdentityArgs,
    description: str,
    opts: pulumi.ResourceOptions,
) -> aws.iam.Role:
    """The role `<name>-role` that only `args`' service account can assume."""
    return aws.iam.Role(
        f"{name}-role",
        name=fit(args.role_name, NameKind.IAM),
        description=description,
        assume_role_policy=irsa_trust_policy(
            args.oidc_provider_arn,
            args.oidc_provider_url,
            args.namespace,
            args.service_account,
        ),
        tags={"Name": f"{name}-role", **args.tags},
        opts=opts,
    )


@dataclass(frozen=True, kw_only=True)
class ServiceIdentityArgs:
    """Arguments of `ServiceIdentity`."""

    service: str
    """The service's name (a DNS label), such as `fee`: in the role's description."""

    namespace: str
    """Kubernetes namespace of the service account (the estate's services namespace)."""

    service_account: str
    """Name of the service's Kubernetes service account: the only subject that may assume."""

    oidc_provider_arn: pulumi.Input[str]
    """ARN of the cluster's IAM OIDC provider (`Cluster.oidc_provider_arn`)."""

    oidc_provider_url: pulumi.Input[str]
    """The cluster's OIDC issuer without `https://` (`Cluster.oidc_provider_url`), such as
    `oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE`: the prefix of the trust condition keys."""

    role_name: str
    """Physical role name, such as `osp-prod-fee`; fitted to IAM's 64 characters (a longer
    one is shortened with a hash suffix)."""

    grants: Grants = field(default_factory=Grants)
    """What the service may reach. Default: nothing, and the role has no policy at all."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the role (osp's tag set, from osp.platform.naming.standard_tags)."""


class ServiceIdentity(pulumi.ComponentResource):
    """The IRSA role of one service, and its inline permissions policy.

    Only the service's own Kubernetes service account can assume the role: the trust policy
    names the cluster's OIDC provider and requires the token's `sub` to be exactly
    `system:serviceaccount:<namespace>:<service_account>` and its `aud` to be
    `sts.amazonaws.com`. The policy names each topic, queue, bucket, secret, key, database
    user and email identity it is given, and nothing else: no data-plane action is granted on
    `"Resource": "*"` and no action has a wildcard. Keys are usable only through the service
    that encrypts with them (`kms:ViaService`). SMS is the one grant without a resource (a
    phone number has no ARN): it is limited to what is not an SNS ARN, so it cannot publish
    to any topic. A service with no grants gets a role without any policy.

    Tables are granted by ARN with each of their indexes; SSM parameters by path (the path
    and what lies under it). A tenant-partitioned table is not granted to the role at all:
    a second role, `<name>-tenant-role`, which only this role may assume and only in a
    session tagged `osp:tenant=<slug>` (and no other tag), holds it, every request bound by
    `dynamodb:LeadingKeys` to the items whose partition key is `<slug>` or begins `<slug>#`.
    A pool service serves many tenants with one role; its sessions per tenant are what keep
    a bug in one tenant's request from reading another's items.

    The policy is inline: it lives and dies with the role and cannot be attached elsewhere.
    """

    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]
    tenant_data_role_arn: pulumi.Output[str] | None
    """The role the service assumes, in a session tagged with a tenant, to reach its
    tenant-partitioned tables; None when it uses none."""

    def __init__(
        self, name: str, args: ServiceIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        child = pulumi.ResourceOptions(parent=self)
        role = _irsa_role(
            name,
            args,
            f"IRSA role of the {args.service} service ({args.namespace}/{args.service_account})",
            child,
        )
        grants = args.grants
        self.tenant_data_role_arn = None
        if grants.tenant_tables:
            tenant_role = aws.iam.Role(
                f"{name}-tenant-role",
                name=fit(f"{args.role_name}-tenant", NameKind.IAM),
                description=f"Tenant-scoped data of the {args.service} service: assumed by its "
                f"role in a session tagged {TENANT_SESSION_TAG}=<tenant>",
                assume_role_policy=role.arn.apply(tenant_data_trust),
                tags={"Name": f"{name}-tenant-role", **args.tags},
                opts=child,
            )
            aws.iam.RolePolicy(
                f"{name}-tenant-policy",
                role=tenant_role.name,
                name="tenant-data",
                policy=_tenant_data_policy(name, grants),
                opts=child,
            )
            self.tenant_data_role_arn = tenant_role.arn
        if not grants.empty:
            aws.iam.RolePolicy(
                f"{name}-policy",
                role=role.name,
                name="permissions",
                policy=grants_policy(
                    name, grants, pulumi.InvokeOutputOptions(parent=self), self.tenant_data_role_arn
                ),
                opts=child,
            )
        self.role_arn = role.arn
        self.role_name = role.name
        outputs = {"roleArn": self.role_arn, "roleName": self.role_name}
        if self.tenant_data_role_arn is not None:
            outputs["tenantDataRoleArn"] = self.tenant_data_role_arn
        self.register_outputs(outputs)


@dataclass(frozen=True, kw_only=True)
class LoadBalancerControllerIdentityArgs:
    """Arguments of `LoadBalancerControllerIdentity`."""

    oidc_provider_arn: pulumi.Input[str]
    """ARN of the cluster's IAM OIDC provider (`Cluster.oidc_provider_arn`)."""

    oidc_provider_url: pulumi.Input[str]
    """The cluster's OIDC issuer without `https://` (`Cluster.oidc_provider_url`)."""

    role_name: str
    """Physical role name, such as `osp-prod-lb-controller`; fitted to IAM's 64 characters."""

    target_group_arns: pulumi.Input[Sequence[str] | Mapping[str, str]]
    """The estate's target groups, the only ones the controller may register targets in: a
    list of ARNs, or a mapping whose values are ARNs (`ApiLoadBalancer.target_group_arns`)."""

    tagged_target_groups: Mapping[str, str] = field(default_factory=dict)
    """Tags that also admit a target group: the controller may register targets in any
    target group of the account and region carrying all of them (the silo tenants' groups,
    which their own stacks create after this role: `{"osp:environment": "prod", "osp:tier":
    "silo"}`). Default: none, only `target_group_arns`."""

    security_group_ids: Sequence[pulumi.Input[str]] = ()
    """Security groups the controller may add and remove ingress rules on, for
    TargetGroupBindings that declare `networking`. Default: none — the estate opens the
    pods' ports to the load balancer itself, and the controller changes no security group."""

    namespace: str = CONTROLLER_NAMESPACE
    """Namespace of the controller's service account. Default: kube-system."""

    service_account: str = CONTROLLER_SERVICE_ACCOUNT
    """The controller's service account. Default: aws-load-balancer-controller."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the role (osp's tag set, from osp.platform.naming.standard_tags)."""


class LoadBalancerControllerIdentity(pulumi.ComponentResource):
    """The IRSA role of the AWS Load Balancer Controller, for TargetGroupBinding only.

    osp's load balancer, listeners, rules and target groups are Pulumi's; the controller
    only keeps each target group's targets in step with the pods behind a Service. So
    rather than the controller's published policy — which may create internet-facing load
    balancers for any Ingress or Service, change any listener or rule, associate or remove
    WAF web ACLs and open any security group — the role may: describe (read-only actions
    that cannot be scoped), register and deregister targets in exactly the estate's target
    groups, and, only if `security_group_ids` are given, add and remove ingress rules on
    exactly those groups. An Ingress or a LoadBalancer Service would fail with access
    denied instead of creating a load balancer that bypasses CloudFront and the WAF.
    """

    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: LoadBalancerControllerIdentityArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(CONTROLLER_TOKEN, name, None, opts)
        found = controller_problems(name, args)
        if found:
            raise InvalidArguments(found)
        child = pulumi.ResourceOptions(parent=self)
        role = _irsa_role(
            name,
            args,
            "IRSA role of the AWS Load Balancer Controller "
            f"({args.namespace}/{args.service_account}): TargetGroupBinding only",
            child,
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.name,
            name="target-group-binding",
            policy=_controller_policy(name, args, pulumi.InvokeOutputOptions(parent=self)),
            opts=child,
        )
        self.role_arn = role.arn
        self.role_name = role.name
        self.register_outputs({"roleArn": self.role_arn, "roleName": self.role_name})
