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


def reach_store(
    name: str,
    *,
    suffix: str = "",
    client_group_id: pulumi.Input[str],
    store_group_id: pulumi.Input[str],
    port: int,
    egress_description: str | None,
    ingress_description: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> None:
    """A client group's way to a store's group on `port`: the client's egress rule
    `<name>-to-store<suffix>` and the store's matching ingress rule `<name>-into-store<suffix>`
    (a security group rule is one-sided; both sides must name each other). No egress rule when
    `egress_description` is None: the client's other rules already let it out on that port."""
    child = pulumi.ResourceOptions(parent=parent)
    to_store, into_store = f"{name}-to-store{suffix}", f"{name}-into-store{suffix}"
    if egress_description is not None:
        aws.vpc.SecurityGroupEgressRule(
            to_store,
            security_group_id=client_group_id,
            description=egress_description,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            referenced_security_group_id=store_group_id,
            tags={"Name": to_store, **tags},
            opts=child,
        )
    aws.vpc.SecurityGroupIngressRule(
        into_store,
        security_group_id=store_group_id,
        description=ingress_description,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        referenced_security_group_id=client_group_id,
        tags={"Name": into_store, **tags},
        opts=child,
    )
