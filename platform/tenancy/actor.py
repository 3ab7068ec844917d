"""Who is acting: the name every transition of a tenant's history records.

Real runs record the AWS caller identity (an ARN, from STS): the registry is the estate's
DynamoDB table, and whoever can write it is an AWS principal. Offline runs record the local
user (`user@host`): there is no AWS identity to ask.
"""

from __future__ import annotations

import getpass
import os
import socket
from typing import Any

from osp.platform.errors import OspError


class ActorError(OspError):
    """The acting AWS identity cannot be found (no credentials, STS unreachable)."""


def local() -> str:
    """The local user, `user@host`."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        user = f"uid-{os.getuid()}"
    return f"{user}@{socket.gethostname() or 'localhost'}"


def aws(client: Any = None, *, region: str | None = None) -> str:
    """The AWS caller identity's ARN, through STS (`client`: a boto3 STS client; default:
    one from the ambient credentials, in `region`)."""
    if client is None:
        import boto3

        client = boto3.client("sts", region_name=region)
    try:
        return client.get_caller_identity()["Arn"]
    except Exception as exc:  # botocore's credential and endpoint errors share no root
        raise ActorError(
            f"cannot tell who is acting: the AWS caller identity is unavailable "
            f"({type(exc).__name__}: {exc}). Configure AWS credentials (`osp doctor` checks "
            "them), or pass --offline to work on the local tenant registry"
        ) from None


def current(*, offline: bool, region: str | None = None) -> str:
    """Who is acting: the local user offline, the AWS caller identity otherwise."""
    return local() if offline else aws(region=region)
