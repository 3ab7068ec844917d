"""A CloudWatch log group created before the service that writes to it.

A service that finds no group creates its own, unencrypted and kept forever; creating it
first is how a component holds its logs to a retention period and a customer key.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def log_group(
    resource_name: str,
    *,
    log_group_name: str,
    retention_days: int,
    kms_key_arn: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    deletion_protection: bool | None = None,
) -> aws.cloudwatch.LogGroup:
    """The group `log_group_name`, encrypted with `kms_key_arn`, tagged `Name=<resource_name>`.

    `deletion_protection` is CloudWatch's own flag; None leaves it unset."""
    return aws.cloudwatch.LogGroup(
        resource_name,
        name=log_group_name,
        retention_in_days=retention_days,
        kms_key_id=kms_key_arn,
        deletion_protection_enabled=deletion_protection,
        tags={"Name": resource_name, **tags},
        opts=pulumi.ResourceOptions(parent=parent),
    )
