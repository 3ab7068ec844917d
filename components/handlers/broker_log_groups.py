"""Takes over the CloudWatch log groups Amazon MQ writes a broker's logs to (osp).

Amazon MQ names them after the broker id and creates them itself, with no retention and no
customer key. This runs once per broker: it creates each group that does not exist yet, or
adopts the one that does, then sets the KMS key, tags and retention osp asks for.
"""

import time

import boto3
from botocore.exceptions import ClientError

# Worth waiting out: a role policy created seconds ago, or a concurrent change to the group.
RETRYABLE = {"AccessDeniedException", "OperationAbortedException", "ThrottlingException"}
ATTEMPTS = 8


def pause(seconds):
    time.sleep(seconds)


def call(operation, **kwargs):
    for attempt in range(ATTEMPTS):
        try:
            return operation(**kwargs)
        except ClientError as error:
            if error.response["Error"]["Code"] not in RETRYABLE or attempt == ATTEMPTS - 1:
                raise
            pause(min(2**attempt, 15))


def handler(event, context):
    logs = boto3.client("logs")
    _, partition, _, region, account = context.invoked_function_arn.split(":")[:5]
    key = event["kmsKeyId"]
    claimed = []
    for group in event["logGroups"]:
        name, tags = group["name"], group["tags"]
        try:
            call(logs.create_log_group, logGroupName=name, kmsKeyId=key, tags=tags)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise
            call(logs.associate_kms_key, logGroupName=name, kmsKeyId=key)
            arn = f"arn:{partition}:logs:{region}:{account}:log-group:{name}"
            call(logs.tag_resource, resourceArn=arn, tags=tags)
        call(logs.put_retention_policy, logGroupName=name,
             retentionInDays=int(event["retentionInDays"]))
        claimed.append(name)
    return {"claimed": claimed}
