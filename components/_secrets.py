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
) -> aws.secretsmanager.Secret:
    """The secret `<resource_name>` and its current version `<resource_name>-version`.

    `document` is marked secret here, whatever it was built from, so that its value never
    reaches state or a plan in the clear. `protect` guards the secret (when it is the only copy
    of a credential), not the version, which changes with every rotation.
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
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return secret
