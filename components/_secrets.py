"""A Secrets Manager secret holding a JSON document that the component generated."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def stored_secret(
    resource_name: str,
    *,
    secret_name: str,
    description: str,
    kms_key_id: pulumi.Input[str],
    recovery_window_days: int,
    document: pulumi.Output[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    protect: bool,
    rotated: bool = False,
) -> aws.secretsmanager.Secret:
    """The secret `<resource_name>` and its current version `<resource_name>-version`.

    `document` is marked secret here, whatever it was built from, so that its value never
    reaches state or a plan in the clear. `protect` guards the secret (when it is the only copy
    of a credential), not the version, which changes with every rotation. A `rotated`
    secret's version is Pulumi's only at creation: afterwards its rotation function writes the
    value and moves the stages, and Pulumi must neither put the first value back nor take
    AWSCURRENT from the rotated one.
    """
    secret = aws.secretsmanager.Secret(
        resource_name,
        name=secret_name,
        description=description,
        kms_key_id=kms_key_id,
        recovery_window_in_days=recovery_window_days,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    aws.secretsmanager.SecretVersion(
        f"{resource_name}-version",
        secret_id=secret.id,
        secret_string=pulumi.Output.secret(document),
        opts=pulumi.ResourceOptions(
            parent=parent,
            ignore_changes=["secretString", "versionStages"] if rotated else None,
        ),
    )
    return secret
