"""The changes a reviewer must not miss, found in a `ChangeSet` (from a diff of two plans or a
real preview): what the review comment puts above everything else.

- **data loss**: a resource that holds data (osp.platform.automation.stateful) replaced or
  deleted, with the properties that force it;
- **IAM widening**: a policy document that grants more than before — new actions, new
  resources, new principals, wildcards — or a managed policy newly attached;
- **network widening**: new ingress (sources, ports), above all from anywhere (0.0.0.0/0,
  ::/0), and public exposure (a public endpoint, a public IP, public access no longer blocked);
- **protect removed**: `protect` taken off a resource that stays, so nothing stops its
  deletion.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from osp.platform.automation.changes import UNKNOWN, Change, ChangeSet, lookup
from osp.platform.diff import value_at
from osp.platform.policy.rules._reading import (
    WORLD,
    as_list,
    port_range,
    shown_ports,
    statements,
    truthy,
)


class Kind(StrEnum):
    DATA_LOSS = "data-loss"
    IAM = "iam-widening"
    NETWORK = "network-widening"
    PROTECT = "protect-removed"


#: How each kind is titled in the comment.
TITLES = {
    Kind.DATA_LOSS: "Data loss risk",
    Kind.IAM: "IAM widening",
    Kind.NETWORK: "Network widening",
    Kind.PROTECT: "Protect removed",
}


@dataclass(frozen=True)
class Callout:
    kind: Kind
    urn: str
    name: str
    type: str
    #: What happens, in a sentence fragment after the resource: "replaced: kmsKeyId a → b".
    text: str

    def to_json(self) -> dict[str, str]:
        return {
            "kind": self.kind.value,
            "urn": self.urn,
            "name": self.name,
            "type": self.type,
            "text": self.text,
        }


def shown(value: Any, limit: int = 120) -> str:
    """A value in one line, at most `limit` characters."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _listed(values: Iterable[str], limit: int = 6) -> str:
    items = sorted(set(values))
    head = ", ".join(f"`{v}`" for v in items[:limit])
    return head + (f" and {len(items) - limit} more" if len(items) > limit else "")


# --- data loss ------------------------------------------------------------------------------


def _data_loss(change: Change) -> Callout | None:
    if not change.dangerous:
        return None
    if change.op == "delete":
        text = "deleted, and the data in it with it"
        if change.protected:
            text += " (it is protected: the update will stop at it until protect is removed)"
    else:
        reasons = []
        for key in change.replace_keys:
            if key == "urn":
                reasons.append(f"renamed from `{change.old_urn}` ({change.paired_by})")
                continue
            old, new = value_at(change.old_inputs, key), value_at(change.new_inputs, key)
            if change.old_inputs is None and change.new_inputs is None:
                reasons.append(f"`{key}` changed")
            else:
                reasons.append(f"`{key}`: `{shown(old)}` → `{shown(new)}`")
        why = "; ".join(reasons) if reasons else "the provider replaces it"
        text = f"replaced (a new, empty one is created and this one deleted): {why}"
    return Callout(Kind.DATA_LOSS, change.urn, change.name, change.type, text)


# --- IAM ------------------------------------------------------------------------------------

#: Type token → the input holding its policy document.
POLICY_DOCUMENTS: dict[str, str] = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:kms/key:Key": "policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "policyDocument",
}
#: Type token → the input naming a managed policy it attaches.
POLICY_ATTACHMENTS: dict[str, str] = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "policyArn",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "policyArn",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "policyArn",
    "aws:iam/policyAttachment:PolicyAttachment": "policyArn",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "policyArn",
}


def _grants(document: Any) -> set[tuple[str, str, str]]:
    """(principal, action, resource) for every Allow of a document; NotAction and NotResource
    read as "everything but …" (wider than any list)."""
    found: set[tuple[str, str, str]] = set()
    for statement in statements(document) or ():
        if statement.effect != "Allow":
            continue
        actions = statement.actions or ()
        if statement.not_actions is not None:
            actions = (f"* except {', '.join(statement.not_actions)}",)
        resources = statement.resources or ("",)
        if statement.not_resources is not None:
            resources = (f"* except {', '.join(statement.not_resources)}",)
        principals = [f"{kind}:{value}" for kind, value in statement.principals] or [""]
        for principal in principals:
            for action in actions:
                for resource in resources:
                    found.add((principal, action, resource))
    return found


def _wild(value: str) -> bool:
    return "*" in value and value != UNKNOWN


def _iam(change: Change) -> Callout | None:
    if change.op not in ("create", "update", "replace"):
        return None
    if change.type in POLICY_ATTACHMENTS:
        prop = POLICY_ATTACHMENTS[change.type]
        new = lookup(change.new_inputs, prop)
        old = lookup(change.old_inputs, prop)
        if new is None or new == old:
            return None
        return Callout(
            Kind.IAM, change.urn, change.name, change.type, f"attaches the policy `{new}`"
        )
    prop = POLICY_DOCUMENTS.get(change.type)
    if prop is None:
        return None
    before = _grants(lookup(change.old_inputs, prop))
    after = _grants(lookup(change.new_inputs, prop))
    new = after - before
    if not new:
        return None
    parts = []
    actions = {a for _, a, _ in new} - {a for _, a, _ in before}
    resources = {r for _, _, r in new if r} - {r for _, _, r in before}
    principals = {p for p, _, _ in new if p} - {p for p, _, _ in before}
    if principals:
        parts.append(f"new principals {_listed(principals)}")
    if actions:
        parts.append(f"new actions {_listed(actions)}")
    if resources:
        parts.append(f"on new resources {_listed(resources, 4)}")
    wildcards = {x for grant in new for x in grant if _wild(x)}
    if wildcards:
        parts.append(f"wildcards {_listed(wildcards)}")
    if not parts:
        pairs = sorted(f"{a} on {r}" for _, a, r in new)
        parts.append(f"existing actions on more resources: {_listed(pairs, 3)}")
    verb = "grants" if change.op == "create" else "now grants"
    return Callout(Kind.IAM, change.urn, change.name, change.type, f"{verb} " + "; ".join(parts))


# --- network --------------------------------------------------------------------------------


def _ingress(type_token: str, inputs: Mapping[str, Any] | None) -> set[tuple[str, str]]:
    """(ports, source) a resource admits."""
    if not inputs:
        return set()
    found: set[tuple[str, str]] = set()
    if type_token == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        ports = shown_ports(
            port_range(inputs.get("ipProtocol"), inputs.get("fromPort"), inputs.get("toPort"))
        )
        source = (
            inputs.get("cidrIpv4")
            or inputs.get("cidrIpv6")
            or inputs.get("prefixListId")
            or (
                f"security group {inputs['referencedSecurityGroupId']}"
                if "referencedSecurityGroupId" in inputs
                else "?"
            )
        )
        found.add((ports, str(source)))
    elif type_token == "aws:ec2/securityGroupRule:SecurityGroupRule":
        if inputs.get("type") == "ingress":
            found |= _entry_sources(inputs)
    elif type_token == "aws:ec2/securityGroup:SecurityGroup":
        for entry in as_list(inputs.get("ingress")):
            if isinstance(entry, Mapping):
                found |= _entry_sources(entry)
    elif type_token in (
        "aws:ec2/networkAcl:NetworkAcl",
        "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl",
    ):
        for entry in as_list(inputs.get("ingress")):
            if isinstance(entry, Mapping) and str(entry.get("action", "")).lower() == "allow":
                ports = shown_ports(
                    port_range(entry.get("protocol"), entry.get("fromPort"), entry.get("toPort"))
                )
                for cidr in (entry.get("cidrBlock"), entry.get("ipv6CidrBlock")):
                    if cidr:
                        found.add((ports, str(cidr)))
    return found


def _entry_sources(entry: Mapping[str, Any]) -> set[tuple[str, str]]:
    ports = shown_ports(
        port_range(entry.get("protocol"), entry.get("fromPort"), entry.get("toPort"))
    )
    sources = [
        *as_list(entry.get("cidrBlocks")),
        *as_list(entry.get("ipv6CidrBlocks")),
        *as_list(entry.get("prefixListIds")),
        *(f"security group {g}" for g in as_list(entry.get("securityGroups"))),
        *as_list(entry.get("sourceSecurityGroupId")),
    ]
    if entry.get("self"):
        sources.append("the group itself")
    return {(ports, str(s)) for s in sources}


#: Type token → (input path, the value that exposes, what it means).
EXPOSURES: dict[str, tuple[tuple[str, Any, str], ...]] = {
    "aws:rds/instance:Instance": (("publiclyAccessible", True, "a public endpoint"),),
    "aws:rds/clusterInstance:ClusterInstance": (("publiclyAccessible", True, "a public endpoint"),),
    "aws:mq/broker:Broker": (("publiclyAccessible", True, "a public endpoint"),),
    "aws:eks/cluster:Cluster": (
        ("vpcConfig.endpointPublicAccess", True, "a public Kubernetes API endpoint"),
    ),
    "aws:lb/loadBalancer:LoadBalancer": (("internal", False, "an internet-facing load balancer"),),
    "aws:ec2/subnet:Subnet": (("mapPublicIpOnLaunch", True, "public IPs on launch"),),
    "aws:ec2/instance:Instance": (("associatePublicIpAddress", True, "a public IP"),),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": tuple(
        (flag, False, f"{flag} off: public access is no longer blocked")
        for flag in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    ),
}


def _exposed(inputs: Mapping[str, Any] | None, path: str, value: Any) -> bool:
    found = lookup(inputs, path)
    if value is True:
        return truthy(found)
    return found is False or (isinstance(found, str) and found.lower() == "false")


def _network(change: Change) -> Callout | None:
    if change.op not in ("create", "update", "replace"):
        return None
    parts = []
    new = _ingress(change.type, change.new_inputs) - _ingress(change.type, change.old_inputs)
    world = sorted(f"{ports} from {source}" for ports, source in new if source in WORLD)
    if world:
        parts.append("opens " + ", ".join(world) + " (anywhere on the internet)")
    rest = sorted(f"{ports} from {source}" for ports, source in new if source not in WORLD)
    if rest:
        parts.append("admits " + ", ".join(rest))
    for path, value, meaning in EXPOSURES.get(change.type, ()):
        if _exposed(change.new_inputs, path, value) and not _exposed(
            change.old_inputs, path, value
        ):
            parts.append(f"`{path}`: {meaning}")
    cidrs = set(as_list(lookup(change.new_inputs, "vpcConfig.publicAccessCidrs"))) - set(
        as_list(lookup(change.old_inputs, "vpcConfig.publicAccessCidrs"))
    )
    if change.type == "aws:eks/cluster:Cluster" and cidrs:
        parts.append(f"the API endpoint admits {_listed(str(c) for c in cidrs)}")
    if not parts:
        return None
    return Callout(Kind.NETWORK, change.urn, change.name, change.type, "; ".join(parts))


# --- all of them ----------------------------------------------------------------------------


def _protect(change: Change) -> Callout | None:
    if not change.protect_removed:
        return None
    return Callout(
        Kind.PROTECT,
        change.urn,
        change.name,
        change.type,
        "`protect` removed: nothing stops a later update or destroy from deleting it",
    )


def callouts(changes: ChangeSet) -> list[Callout]:
    """Every call-out of `changes`, data loss first, then IAM, network and protect."""
    found = []
    for finder in (_data_loss, _iam, _network, _protect):
        found += [c for c in map(finder, changes.changed + _protect_only(changes)) if c]
    return _unique(found)


def _protect_only(changes: ChangeSet) -> list[Change]:
    return [c for c in changes.changes if not c.changes and c.protect_removed]


def _unique(found: list[Callout]) -> list[Callout]:
    seen, kept = set(), []
    for callout in found:
        key = (callout.kind, callout.urn)
        if key not in seen:
            seen.add(key)
            kept.append(callout)
    return kept
