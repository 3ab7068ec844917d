"""SNS topics and SQS queues: encrypted with the environment's KMS key, and their resource
policies refuse requests without TLS."""

from __future__ import annotations

from osp.platform.plan import PlannedResource
from osp.platform.policy.model import Check, Rule, Scope, Severity
from osp.platform.policy.rules._reading import (
    customer_key,
    denies_insecure_transport,
    statements,
    truthy,
)

TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"


def _key(resource: PlannedResource, scope: Scope) -> Check | None:
    key = resource.inputs.get("kmsMasterKeyId")
    if customer_key(key):
        return Check.of(True, kmsMasterKeyId=key)
    managed = truthy(resource.inputs.get("sqsManagedSseEnabled"))
    detail = (
        "encrypted with an SQS-owned key, not the environment's"
        if managed
        else "encrypted with the AWS-managed key, not the environment's"
        if key
        else "not encrypted with a KMS key"
    )
    evidence = {"kmsMasterKeyId": key}
    if resource.type == QUEUE:
        evidence["sqsManagedSseEnabled"] = resource.inputs.get("sqsManagedSseEnabled")
    return Check.of(False, detail, **evidence)


def _queue_tls(resource: PlannedResource, scope: Scope) -> Check | None:
    own = [resource.inputs["policy"]] if resource.inputs.get("policy") else []
    name = resource.inputs.get("name")
    policies = [
        p
        for p in scope.plan.of_type(QUEUE_POLICY)
        if resource.urn in p.property_dependencies.get("queueUrl", ())
        or (isinstance(name, str) and str(p.inputs.get("queueUrl", "")).endswith(f"/{name}"))
    ]
    texts = own + [p.inputs.get("policy") for p in policies]
    for text in texts:
        for statement in statements(text) or ():
            if denies_insecure_transport(
                statement, "sqs:SendMessage"
            ) and denies_insecure_transport(statement, "sqs:ReceiveMessage"):
                return Check.of(True, policy=f"{statement.label} denies aws:SecureTransport false")
    return Check.of(
        False, "no queue policy denies requests without TLS", policy=texts[0] if texts else None
    )


def _topic_tls(resource: PlannedResource, scope: Scope) -> Check | None:
    own = [resource.inputs["policy"]] if resource.inputs.get("policy") else []
    name = resource.inputs.get("name")
    policies = [
        p
        for p in scope.plan.of_type(TOPIC_POLICY)
        if resource.urn in p.property_dependencies.get("arn", ())
        or (isinstance(name, str) and str(p.inputs.get("arn", "")).endswith(f":{name}"))
    ]
    texts = own + [p.inputs.get("policy") for p in policies]
    for text in texts:
        for statement in statements(text) or ():
            if denies_insecure_transport(statement, "sns:Publish") and denies_insecure_transport(
                statement, "sns:Subscribe"
            ):
                return Check.of(True, policy=f"{statement.label} denies aws:SecureTransport false")
    return Check.of(
        False, "no topic policy denies requests without TLS", policy=texts[0] if texts else None
    )


RULES = (
    Rule(
        id="OSP-SNS-1",
        title="Topics are encrypted with the environment's KMS key",
        severity=Severity.HIGH,
        controls=("SNS.1",),
        rationale="Event payloads name students and schools; the AWS-managed key cannot be "
        "scoped or revoked, and publishers from other services need a key policy grant.",
        fix="Set `kmsMasterKeyId` to the data key (TopicArgs.kms_key_arn).",
        types=(TOPIC,),
        check=_key,
    ),
    Rule(
        id="OSP-SNS-2",
        title="Topic policies deny requests without TLS",
        severity=Severity.MEDIUM,
        controls=("NIST.800-53.r5 SC-8",),
        rationale="Without an explicit deny on aws:SecureTransport false, a client may publish "
        "or subscribe over plain HTTP.",
        fix="Add a Deny statement for every principal on sns:* with "
        '`"Condition": {"Bool": {"aws:SecureTransport": "false"}}` to the topic policy.',
        types=(TOPIC,),
        check=_topic_tls,
    ),
    Rule(
        id="OSP-SQS-1",
        title="Queues are encrypted with the environment's KMS key",
        severity=Severity.HIGH,
        controls=("SQS.1",),
        rationale="Queued messages carry student records; SQS-owned and AWS-managed keys "
        "cannot be scoped, audited per caller or revoked by the environment.",
        fix="Set `kmsMasterKeyId` to the data key (QueueArgs.kms_key_arn) instead of "
        "`sqsManagedSseEnabled`.",
        types=(QUEUE,),
        check=_key,
    ),
    Rule(
        id="OSP-SQS-2",
        title="Queue policies deny requests without TLS",
        severity=Severity.MEDIUM,
        controls=("NIST.800-53.r5 SC-8",),
        rationale="Without an explicit deny on aws:SecureTransport false, a client may send "
        "or receive messages over plain HTTP.",
        fix="Add a Deny statement for every principal on sqs:* with "
        '`"Condition": {"Bool": {"aws:SecureTransport": "false"}}` to the queue policy.',
        types=(QUEUE,),
        check=_queue_tls,
    ),
)
