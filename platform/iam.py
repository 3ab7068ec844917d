"""IAM policy documents as JSON text: trust policies and permission policies."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


def policy(*statements: dict[str, Any]) -> str:
    """A policy document holding `statements`, as stable JSON."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def service_trust(service: str) -> str:
    """A trust policy letting the AWS service `service` (e.g. `ec2.amazonaws.com`) assume."""
    return policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
        }
    )


def deny_insecure_transport(actions: str | Sequence[str], resource: str) -> dict[str, Any]:
    """The resource-policy statement refusing `actions` on `resource` to any request made
    without TLS (`aws:SecureTransport` false), whoever makes it."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": actions if isinstance(actions, str) else list(actions),
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
