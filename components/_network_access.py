"""Who may reach a data store: its own security group, opened to client security groups only.

Postgres, Redis and RabbitMq share this shape: a group `<name>-sg` with no inline rules (so the
provider removes the allow-all egress AWS adds to a new group: a data store never opens
connections), and one ingress rule per client group and port, never a CIDR.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class ClientPort:
    """A TCP port the clients reach, and what its rules say it is for."""

    port: int
    description: str
    role: str | None = None
    """Part of the rules' names, `<name>-<role>-from-client-<n>`, where a store has several
    ports; None names them `<name>-from-client-<n>`."""


def rule_name(name: str, port: ClientPort, index: int) -> str:
    """The name of the rule admitting client group `index` on `port`."""
    role = f"-{port.role}" if port.role else ""
    return f"{name}{role}-from-client-{index}"


def client_security_group(
    name: str,
    *,
    vpc_id: pulumi.Input[str],
    description: str,
    clients: Sequence[pulumi.Input[str]],
    ports: Sequence[ClientPort],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    group_name: str | None = None,
) -> aws.ec2.SecurityGroup:
    """The group `<name>-sg` (named `group_name` in AWS, when given) and its ingress rules:
    for each client group in order, one rule per port in order."""
    child = pulumi.ResourceOptions(parent=parent)
    group = aws.ec2.SecurityGroup(
        f"{name}-sg",
        vpc_id=vpc_id,
        name=group_name,
        description=description,
        tags={"Name": f"{name}-sg", **tags},
        opts=child,
    )
    for index, client in enumerate(clients):
        for port in ports:
            rule = rule_name(name, port, index)
            aws.vpc.SecurityGroupIngressRule(
                rule,
                security_group_id=group.id,
                referenced_security_group_id=client,
                ip_protocol="tcp",
                from_port=port.port,
                to_port=port.port,
                description=port.description,
                tags={"Name": rule, **tags},
                opts=child,
            )
    return group
