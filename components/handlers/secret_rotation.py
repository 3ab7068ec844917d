"""Rotates one of osp's secrets for Secrets Manager: the four steps of its rotation protocol,
and what the secret's store does at each (ROTATION_TARGET in the function's environment).

- jwt: a new signing key; nothing to tell. The previous key keeps the AWSPREVIOUS stage, so
  verifiers that accept AWSCURRENT and AWSPREVIOUS honour tokens signed before the change
  until the next rotation (the grace period is the rotation interval).
- redis: a new AUTH token set with ElastiCache's ROTATE strategy: the group accepts the old
  and the new token until the next change, so clients holding the old one keep working while
  they pick up the new one. Tested by AUTH over TLS with the new token.
- rabbitmq: a new password for the secret's user, set through the broker's management API
  by the admin (ADMIN_SECRET_ARN; the admin's own secret authenticates with its current
  password). Tested by the user's own GET /api/whoami.

Runs on the Lambda Python runtime: the standard library and boto3 only.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import urllib.parse
import urllib.request
from base64 import b64encode

import boto3

PASSWORD_LENGTH = 64
#: Where each target's document holds the value that rotates.
PASSWORD_KEYS = {"jwt": "value", "redis": "auth_token", "rabbitmq": "password"}
# ElastiCache takes minutes to apply a token; the function's timeout leaves room for this.
REDIS_WAIT = {"Delay": 15, "MaxAttempts": 40}


def handler(event, context, clients=None):
    """One step of a rotation: `event` names the secret, the new version's token and the
    step. `clients`: the AWS clients by service, for tests."""
    clients = clients or {}
    secrets = clients.get("secretsmanager") or boto3.client("secretsmanager")
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    target = os.environ["ROTATION_TARGET"]
    described = secrets.describe_secret(SecretId=arn)
    if not described.get("RotationEnabled"):
        raise ValueError(f"rotation is not enabled for {arn}")
    stages = described.get("VersionIdsToStages", {})
    if token not in stages:
        raise ValueError(f"{arn} has no version {token} to rotate to")
    if "AWSCURRENT" in stages[token]:
        return  # already done: a retried step
    if "AWSPENDING" not in stages[token]:
        raise ValueError(f"version {token} of {arn} is not pending")
    if step == "createSecret":
        _create(secrets, arn, token, target)
    elif step == "setSecret":
        _set(secrets, arn, token, target, clients)
    elif step == "testSecret":
        _test(secrets, arn, token, target)
    elif step == "finishSecret":
        _finish(secrets, arn, token, stages)
    else:
        raise ValueError(f"unknown step {step!r}")


def _document(secrets, arn, **version) -> dict:
    return json.loads(secrets.get_secret_value(SecretId=arn, **version)["SecretString"])


def _create(secrets, arn, token, target):
    """AWSPENDING: the current document with a new value, unless a retry made it already."""
    current = _document(secrets, arn, VersionStage="AWSCURRENT")
    try:
        _document(secrets, arn, VersionId=token, VersionStage="AWSPENDING")
        return
    except secrets.exceptions.ResourceNotFoundException:
        pass
    fresh = secrets.get_random_password(PasswordLength=PASSWORD_LENGTH, ExcludePunctuation=True)[
        "RandomPassword"
    ]
    document = {**current, PASSWORD_KEYS[target]: fresh}
    secrets.put_secret_value(
        SecretId=arn,
        ClientRequestToken=token,
        SecretString=json.dumps(document, sort_keys=True),
        VersionStages=["AWSPENDING"],
    )


def _set(secrets, arn, token, target, clients):
    pending = _document(secrets, arn, VersionId=token, VersionStage="AWSPENDING")
    if target == "redis":
        cache = clients.get("elasticache") or boto3.client("elasticache")
        group = os.environ["REPLICATION_GROUP_ID"]
        cache.modify_replication_group(
            ReplicationGroupId=group,
            AuthToken=pending["auth_token"],
            AuthTokenUpdateStrategy="ROTATE",
            ApplyImmediately=True,
        )
        cache.get_waiter("replication_group_available").wait(
            ReplicationGroupId=group, WaiterConfig=REDIS_WAIT
        )
    elif target == "rabbitmq":
        admin_arn = os.environ["ADMIN_SECRET_ARN"]
        admin = _document(secrets, admin_arn, VersionStage="AWSCURRENT")
        console = admin["console_url"]
        user = urllib.parse.quote(pending["username"], safe="")
        existing = _management(console, "GET", f"/api/users/{user}", admin)
        _management(
            console,
            "PUT",
            f"/api/users/{user}",
            admin,
            {"password": pending["password"], "tags": existing.get("tags", "")},
        )


def _test(secrets, arn, token, target):
    pending = _document(secrets, arn, VersionId=token, VersionStage="AWSPENDING")
    if target == "redis":
        _redis_auth(pending["host"], int(pending["port"]), pending["auth_token"])
    elif target == "rabbitmq":
        console = (
            pending.get("console_url")
            or _document(secrets, os.environ["ADMIN_SECRET_ARN"], VersionStage="AWSCURRENT")[
                "console_url"
            ]
        )
        _management(console, "GET", "/api/whoami", pending)


def _finish(secrets, arn, token, stages):
    """AWSCURRENT moves to the new version; Secrets Manager gives the old one AWSPREVIOUS."""
    current = next((v for v, s in stages.items() if "AWSCURRENT" in s), None)
    secrets.update_secret_version_stage(
        SecretId=arn,
        VersionStage="AWSCURRENT",
        MoveToVersionId=token,
        RemoveFromVersionId=current,
    )


def _management(console, method, path, user, body=None):
    """A call to the RabbitMQ management API as `user` (a document with username and
    password); the answer's JSON, or {} when there is none."""
    basic = b64encode(f"{user['username']}:{user['password']}".encode()).decode()
    request = urllib.request.Request(
        console.rstrip("/") + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/json"},
    )
    context = ssl.create_default_context()
    with urllib.request.urlopen(request, timeout=10, context=context) as answer:
        text = answer.read()
    return json.loads(text) if text else {}


def _redis_auth(host, port, auth_token):
    """AUTH over TLS with `auth_token`; raises unless the server answers +OK."""
    command = f"*2\r\n$4\r\nAUTH\r\n${len(auth_token)}\r\n{auth_token}\r\n".encode()
    context = ssl.create_default_context()
    with (
        socket.create_connection((host, port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(command)
        answer = tls.recv(256)
    if not answer.startswith(b"+OK"):
        raise ValueError(f"{host}:{port} refused the new AUTH token: {answer[:64]!r}")
