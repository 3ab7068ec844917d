"""The facts of an auditor's report, read from a `Plan`, its spec and its guardrail `Report`.

Every section is plain data (the JSON form, camelCase keys, blueprints/report/
report.schema.json), so the three formats render the same facts. Nothing here copies an
input that may hold a secret: header values, passwords, tokens and user lists are never read,
and the engines mask secret values as "<secret>" before a plan exists.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from osp.platform.plan import Plan, PlannedResource
from osp.platform.policy import Outcome, Report
from osp.platform.policy.formats import finding_data, waiver_data
from osp.platform.policy.rules._reading import as_list, at, iam_matches, port_range, statements
from osp.platform.report.serverless import serverless
from osp.platform.report.stores import file_system_facts, kafka_facts, table_access
from osp.platform.spec import EnvironmentSpec
from osp.platform.tenancy.fleet import Fleet
from osp.platform.tenancy.model import TenantState, Tier
from osp.platform.tenancy.provisioning import tenant_stack_name

#: The report JSON's version: bumped when a field changes meaning or goes away.
SCHEMA_VERSION = 1

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
NETWORK_ACL = "aws:ec2/networkAcl:NetworkAcl"
DEFAULT_NETWORK_ACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
RDS_INSTANCE = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
BROKER = "aws:mq/broker:Broker"
TABLE = "aws:dynamodb/table:Table"
FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"
MSK_CLUSTER = "aws:msk/cluster:Cluster"
MSK_SERVERLESS = "aws:msk/serverlessCluster:ServerlessCluster"
#: What the report (and its diagram) counts as a data store.
STORE_TYPES = (
    RDS_INSTANCE,
    REPLICATION_GROUP,
    BROKER,
    TABLE,
    FILE_SYSTEM,
    MSK_CLUSTER,
    MSK_SERVERLESS,
)
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
CERTIFICATE = "aws:acm/certificate:Certificate"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
ZONE = "aws:route53/zone:Zone"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
QUEUE = "aws:sqs/queue:Queue"
CLUSTER = "aws:eks/cluster:Cluster"
WORKLOAD = "osp:app:ServiceWorkload"

_PUBLISH = "sns:Publish"
_CONSUME = "sqs:ReceiveMessage"


def plan_hash(plan: Plan) -> str:
    """sha256 of the plan's JSON text: names exactly the plan a report describes."""
    return hashlib.sha256(plan.dumps().encode()).hexdigest()


def collect(
    plan: Plan,
    spec: EnvironmentSpec,
    guardrails: Report,
    *,
    version: str,
    generated_at: datetime,
    tenants: Fleet | None = None,
) -> dict[str, Any]:
    """The report's facts. `version` and `generated_at` are its only inputs that change from
    one run to the next: everything else is a function of the plan, spec and report (and
    `tenants`, the environment's fleet, when the report includes it; `guardrails` then
    judged the tenant stacks too)."""
    refs = _References(plan)
    identities = _identities(plan, refs)
    return {
        "schemaVersion": SCHEMA_VERSION,
        "summary": _summary(plan, spec, version, generated_at),
        "network": _network(plan, refs),
        "dataStores": _data_stores(plan, refs),
        "identities": identities,
        "edge": _edge(plan, refs),
        "events": _events(plan, refs, identities),
        "serverless": serverless(plan, refs),
        "tenants": _tenants(tenants),
        "architecture": _architecture(plan, spec, refs),
        "guardrails": _guardrails(guardrails),
    }


class _References:
    """Names of the resources an input refers to: by its property dependencies (every engine
    records them), else the raw value (an id or ARN the plan already knows)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def names(self, resource: PlannedResource, prop: str) -> list[str]:
        found = []
        for urn in resource.property_dependencies.get(prop, ()):
            try:
                found.append(_label(self.plan.get(urn)))
            except KeyError:
                continue
        if found:
            return found
        return [str(v) for v in as_list(resource.inputs.get(prop)) if isinstance(v, str | int)]

    def name(self, resource: PlannedResource, prop: str) -> str | None:
        names = self.names(resource, prop)
        return names[0] if names else None

    def users(self, target: PlannedResource, key_part: str) -> list[str]:
        """Resources with an input named like `key_part` that depends on `target`."""
        return sorted(
            r.name
            for r in self.plan.resources
            if r.custom
            and any(
                key_part in key and target.urn in urns
                for key, urns in r.property_dependencies.items()
            )
        )


def _label(resource: PlannedResource) -> str:
    if resource.type == CLUSTER:
        return f"{resource.name} (cluster security group)"
    return resource.name


# --- summary ----------------------------------------------------------------------------------


def _summary(
    plan: Plan, spec: EnvironmentSpec, version: str, generated_at: datetime
) -> dict[str, Any]:
    components = Counter(r.type for r in plan.resources if r.is_component)
    types = Counter(r.type for r in plan.resources if r.custom)
    return {
        "environment": plan.environment,
        "blueprint": plan.blueprint,
        "region": spec.region,
        "profile": spec.profile.value,
        "project": plan.project,
        "stack": plan.stack,
        "engine": plan.engine,
        "planHash": plan_hash(plan),
        "ospVersion": version,
        "generatedAt": generated_at.isoformat(timespec="seconds"),
        "resources": plan.custom_count,
        "components": plan.component_count,
        "componentCounts": [{"type": t, "count": n} for t, n in sorted(components.items())],
        "typeCounts": [{"type": t, "count": n} for t, n in sorted(types.items())],
    }


# --- network ----------------------------------------------------------------------------------


def _network(plan: Plan, refs: _References) -> dict[str, Any]:
    subnets = sorted(
        (
            {
                "name": s.name,
                "zone": str(s.inputs.get("availabilityZone", "")),
                "tier": str(at(s.inputs, "tags.osp:subnet-tier", "") or ""),
                "cidr": str(s.inputs.get("cidrBlock", "")),
                "publicIpOnLaunch": bool(s.inputs.get("mapPublicIpOnLaunch", False)),
            }
            for s in plan.of_type(SUBNET)
        ),
        key=lambda s: (s["zone"], s["tier"], s["cidr"]),
    )
    groups = [
        {
            "name": g.name,
            "description": str(g.inputs.get("description", "")),
            "attachedTo": [
                n
                for n in refs.users(g, "ecurityGroup")
                if plan.named(n).type not in (INGRESS_RULE, EGRESS_RULE)
            ],
        }
        for g in plan.of_type(SECURITY_GROUP)
    ]
    return {
        "vpcs": [
            {"name": v.name, "cidr": str(v.inputs.get("cidrBlock", ""))} for v in plan.of_type(VPC)
        ],
        "subnets": subnets,
        "securityGroups": sorted(groups, key=lambda g: g["name"]),
        "ingress": _sorted_rules(_rules(plan, refs, "ingress")),
        "egress": _sorted_rules(_rules(plan, refs, "egress")),
        "networkAcls": [
            _acl(acl, refs)
            for acl in (*plan.of_type(NETWORK_ACL), *plan.of_type(DEFAULT_NETWORK_ACL))
        ],
    }


def _ports(protocol: Any, low: Any, high: Any) -> str:
    if str(protocol).lower() in ("-1", "all"):
        return "all traffic"
    first, last = port_range(protocol, low, high)
    shown = (
        "all" if (first, last) == (0, 65535) else str(first) if first == last else f"{first}-{last}"
    )
    return f"{str(protocol).lower()} {shown}"


def _rules(plan: Plan, refs: _References, direction: str) -> Iterable[dict[str, Any]]:
    """Every rule of `direction`: inline in a group, or its own aws:vpc resource. `peer` is the
    source (ingress) or destination (egress): a security group, a CIDR or a prefix list."""
    for group in plan.of_type(SECURITY_GROUP):
        for entry in as_list(group.inputs.get(direction)):
            if not isinstance(entry, Mapping):
                continue
            ports = _ports(entry.get("protocol"), entry.get("fromPort"), entry.get("toPort"))
            peers = [
                *(("cidr", c) for c in as_list(entry.get("cidrBlocks"))),
                *(("cidr", c) for c in as_list(entry.get("ipv6CidrBlocks"))),
                *(("prefix-list", p) for p in as_list(entry.get("prefixListIds"))),
                *(("security-group", s) for s in as_list(entry.get("securityGroups"))),
                *((("security-group", group.name),) if entry.get("self") else ()),
            ]
            for kind, peer in peers:
                yield _rule(
                    group.name, ports, kind, str(peer), entry.get("description"), group.name
                )
    token = INGRESS_RULE if direction == "ingress" else EGRESS_RULE
    for rule in plan.of_type(token):
        inputs = rule.inputs
        ports = _ports(inputs.get("ipProtocol"), inputs.get("fromPort"), inputs.get("toPort"))
        group = refs.name(rule, "securityGroupId") or ""
        if "referencedSecurityGroupId" in inputs or rule.property_dependencies.get(
            "referencedSecurityGroupId"
        ):
            peer = ("security-group", refs.name(rule, "referencedSecurityGroupId") or "")
        elif "prefixListId" in inputs:
            peer = ("prefix-list", str(inputs["prefixListId"]))
        else:
            peer = ("cidr", str(inputs.get("cidrIpv4") or inputs.get("cidrIpv6") or ""))
        yield _rule(group, ports, peer[0], peer[1], inputs.get("description"), rule.name)


def _rule(
    group: str, ports: str, kind: str, peer: str, description: Any, declared: str
) -> dict[str, Any]:
    return {
        "securityGroup": group,
        "ports": ports,
        "peerKind": kind,
        "peer": peer,
        "description": str(description or ""),
        "declaredBy": declared,
    }


def _sorted_rules(rules: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rules, key=lambda r: (r["securityGroup"], r["ports"], r["peer"], r["declaredBy"]))


def _acl(acl: PlannedResource, refs: _References) -> dict[str, Any]:
    entries = []
    for direction in ("ingress", "egress"):
        for entry in as_list(acl.inputs.get(direction)):
            if isinstance(entry, Mapping):
                entries.append(
                    {
                        "direction": direction,
                        "ruleNumber": entry.get("ruleNo"),
                        "action": str(entry.get("action", "")),
                        "ports": _ports(
                            entry.get("protocol"), entry.get("fromPort"), entry.get("toPort")
                        ),
                        "cidr": str(entry.get("cidrBlock") or entry.get("ipv6CidrBlock") or ""),
                    }
                )
    return {
        "name": acl.name,
        "default": acl.type == DEFAULT_NETWORK_ACL,
        "subnets": sorted(refs.names(acl, "subnetIds")),
        "entries": entries,
    }


# --- data stores ------------------------------------------------------------------------------


def _data_stores(plan: Plan, refs: _References) -> list[dict[str, Any]]:
    stores: list[dict[str, Any]] = []
    replicas: dict[str, list[str]] = defaultdict(list)
    for db in plan.of_type(RDS_INSTANCE):
        source = db.inputs.get("replicateSourceDb")
        if source:
            replicas[str(source)].append(db.name)
    for db in plan.of_type(RDS_INSTANCE):
        i = db.inputs
        if i.get("replicateSourceDb"):
            continue
        stores.append(
            _store(
                db,
                refs,
                kind="RDS instance",
                engine=i.get("engine"),
                version=i.get("engineVersion"),
                size=f"{i.get('instanceClass')}, {i.get('allocatedStorage')} GiB",
                encrypted=bool(i.get("storageEncrypted")),
                key_prop="kmsKeyId",
                multi_az=bool(i.get("multiAz")),
                retention=i.get("backupRetentionPeriod"),
                deletion_protection=bool(i.get("deletionProtection")),
                replicas=replicas.get(str(i.get("identifier")), []),
                access=[
                    "publicly accessible" if i.get("publiclyAccessible") else "private",
                    *(["IAM authentication"] if i.get("iamDatabaseAuthenticationEnabled") else []),
                ],
            )
        )
    for group in plan.of_type(REPLICATION_GROUP):
        i = group.inputs
        clusters = i.get("numCacheClusters")
        stores.append(
            _store(
                group,
                refs,
                kind="ElastiCache replication group",
                engine=i.get("engine"),
                version=i.get("engineVersion"),
                size=f"{i.get('nodeType')} x {clusters}",
                encrypted=bool(i.get("atRestEncryptionEnabled")),
                key_prop="kmsKeyId",
                multi_az=bool(i.get("multiAzEnabled")),
                retention=i.get("snapshotRetentionLimit"),
                deletion_protection=None,
                replicas=[f"{int(clusters) - 1} read replica(s)"]
                if isinstance(clusters, int) and clusters > 1
                else [],
                in_transit=bool(i.get("transitEncryptionEnabled")),
                access=["AUTH token" if i.get("authToken") else "no AUTH token"]
                + (["user groups"] if i.get("userGroupIds") else []),
            )
        )
    for broker in plan.of_type(BROKER):
        i = broker.inputs
        stores.append(
            _store(
                broker,
                refs,
                kind="Amazon MQ broker",
                engine=i.get("engineType"),
                version=i.get("engineVersion"),
                size=f"{i.get('hostInstanceType')}, {i.get('deploymentMode')}",
                encrypted=True,
                key_prop="encryptionOptions.kmsKeyId",
                multi_az=str(i.get("deploymentMode", "")).endswith("MULTI_AZ"),
                retention=None,
                deletion_protection=None,
                replicas=[],
                access=["publicly accessible" if i.get("publiclyAccessible") else "private"],
            )
        )
    for table in plan.of_type(TABLE):
        i = table.inputs
        stores.append(
            _store(
                table,
                refs,
                kind="DynamoDB table",
                engine="dynamodb",
                version=None,
                size=str(i.get("billingMode", "")),
                encrypted=bool(at(i, "serverSideEncryption.enabled")),
                key_prop="serverSideEncryption.kmsKeyArn",
                multi_az=True,
                retention=35 if at(i, "pointInTimeRecovery.enabled") else None,
                deletion_protection=bool(i.get("deletionProtectionEnabled")),
                replicas=[
                    str(r.get("regionName"))
                    for r in as_list(i.get("replicas"))
                    if isinstance(r, Mapping)
                ],
                access=table_access(plan, table),
            )
        )
    for file_system in plan.of_type(FILE_SYSTEM):
        stores.append(_store(file_system, refs, **file_system_facts(plan, refs, file_system)))
    for cluster in (*plan.of_type(MSK_CLUSTER), *plan.of_type(MSK_SERVERLESS)):
        stores.append(_store(cluster, refs, **kafka_facts(cluster)))
    return sorted(stores, key=lambda s: (s["kind"], s["name"]))


def _store(
    resource: PlannedResource,
    refs: _References,
    *,
    kind: str,
    engine: Any,
    version: Any,
    size: str,
    encrypted: bool,
    key_prop: str,
    multi_az: bool,
    retention: Any,
    deletion_protection: bool | None,
    replicas: list[str],
    in_transit: bool | None = None,
    access: list[str] | None = None,
) -> dict[str, Any]:
    key = at(resource.inputs, key_prop)
    top = key_prop.split(".")[0]
    key_names = refs.names(resource, top) if resource.property_dependencies.get(top) else []
    return {
        "name": resource.name,
        "kind": kind,
        "engine": str(engine) if engine is not None else "",
        "version": str(version) if version is not None else "",
        "size": size,
        "encrypted": encrypted,
        "key": key_names[0] if key_names else (str(key) if key else "AWS owned key"),
        "encryptedInTransit": in_transit,
        "multiAz": multi_az,
        "backupRetentionDays": retention if isinstance(retention, int) else None,
        "deletionProtection": deletion_protection,
        "protect": resource.options.protect,
        "replicas": sorted(replicas),
        "access": list(access or []),
    }


# --- identities -------------------------------------------------------------------------------


def _identities(plan: Plan, refs: _References) -> list[dict[str, Any]]:
    documents: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    managed: dict[str, list[str]] = defaultdict(list)
    role_by_name = {str(r.inputs.get("name", r.name)): r for r in plan.of_type(ROLE)}

    def owner(attached: PlannedResource) -> PlannedResource | None:
        for urn in attached.property_dependencies.get("role", ()):
            try:
                return plan.get(urn)
            except KeyError:
                continue
        return role_by_name.get(str(attached.inputs.get("role")))

    for policy in plan.of_type(ROLE_POLICY):
        role = owner(policy)
        if role is not None:
            documents[role.urn].append(
                (str(policy.inputs.get("name", policy.name)), policy.inputs.get("policy"))
            )
    for attachment in plan.of_type(ROLE_POLICY_ATTACHMENT):
        role = owner(attachment)
        if role is not None:
            managed[role.urn].append(str(attachment.inputs.get("policyArn", "")))
    result = []
    for role in plan.of_type(ROLE):
        for inline in as_list(role.inputs.get("inlinePolicies")):
            if isinstance(inline, Mapping):
                documents[role.urn].append((str(inline.get("name", "")), inline.get("policy")))
        result.append(
            {
                "role": role.name,
                "description": str(role.inputs.get("description", "")),
                "trust": _trust(role.inputs.get("assumeRolePolicy")),
                "managedPolicies": sorted(managed[role.urn]),
                "permissions": _permissions(documents[role.urn]),
            }
        )
    return sorted(result, key=lambda r: r["role"])


def _trust(value: Any) -> list[str]:
    """Who may assume the role: a Kubernetes service account (IRSA), an AWS service, an
    account or role."""
    subjects = []
    for statement in statements(value) or []:
        if statement.effect != "Allow":
            continue
        service_accounts = [
            str(v)
            for conditions in statement.condition.values()
            if isinstance(conditions, Mapping)
            for key, values in conditions.items()
            if key.endswith(":sub")
            for v in as_list(values)
        ]
        if service_accounts:
            subjects += [
                f"service account {s.removeprefix('system:serviceaccount:')}"
                for s in service_accounts
            ]
            continue
        subjects += [f"{kind.lower()} {who}" for kind, who in statement.principals]
    return sorted(set(subjects))


def _permissions(documents: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Actions grouped by resource (and effect, and whether a condition narrows them)."""
    grouped: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for _name, document in documents:
        for statement in statements(document) or []:
            condition = (
                json.dumps(statement.condition, sort_keys=True) if statement.condition else ""
            )
            actions = statement.actions or tuple(f"NOT {a}" for a in statement.not_actions or ())
            # NotResource: everything but these, shown as such (and never as "*").
            scopes = statement.resources or tuple(
                f"NOT {r}" for r in statement.not_resources or ("*",)
            )
            for resource in scopes:
                grouped[(resource, statement.effect, condition)].update(actions)
    return [
        {"resource": resource, "effect": effect, "condition": condition, "actions": sorted(actions)}
        for (resource, effect, condition), actions in sorted(grouped.items())
    ]


# --- edge -------------------------------------------------------------------------------------


def _edge(plan: Plan, refs: _References) -> dict[str, Any]:
    distributions = [
        {
            "name": d.name,
            "aliases": [str(a) for a in as_list(d.inputs.get("aliases"))],
            "certificate": _certificate(plan, refs, d, "viewerCertificate")
            or str(at(d.inputs, "viewerCertificate.acmCertificateArn", "") or "")
            or "the default CloudFront certificate",
            "minimumTls": str(at(d.inputs, "viewerCertificate.minimumProtocolVersion", "") or ""),
            "viewerProtocol": str(
                at(d.inputs, "defaultCacheBehavior.viewerProtocolPolicy", "") or ""
            ),
            "webAcl": _first_of(refs.names(d, "webAclId"), WEB_ACL, plan) or "",
            "origins": sorted(
                str(o.get("domainName", ""))
                for o in as_list(d.inputs.get("origins"))
                if isinstance(o, Mapping)
            ),
        }
        for d in plan.of_type(DISTRIBUTION)
    ]
    certificates = [
        {
            "name": c.name,
            "domain": str(c.inputs.get("domainName", "")),
            "alternativeNames": [str(n) for n in as_list(c.inputs.get("subjectAlternativeNames"))],
            "validation": str(c.inputs.get("validationMethod", "")),
            "keyAlgorithm": str(c.inputs.get("keyAlgorithm", "")),
        }
        for c in plan.of_type(CERTIFICATE)
    ]
    listeners: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for listener in plan.of_type(LISTENER):
        balancer = refs.name(listener, "loadBalancerArn") or ""
        listeners[balancer].append(
            {
                "port": listener.inputs.get("port"),
                "protocol": str(listener.inputs.get("protocol", "")),
                "tlsPolicy": str(listener.inputs.get("sslPolicy", "") or ""),
                "certificate": _certificate(plan, refs, listener, "certificateArn") or "",
            }
        )
    balancers = [
        {
            "name": b.name,
            "internal": bool(b.inputs.get("internal", False)),
            "listeners": sorted(
                listeners.get(b.name, []), key=lambda x: (str(x["port"]), x["protocol"])
            ),
        }
        for b in plan.of_type(LOAD_BALANCER)
    ]
    return {
        "zones": [str(z.inputs.get("name", z.name)) for z in plan.of_type(ZONE)],
        "distributions": distributions,
        "certificates": certificates,
        "loadBalancers": balancers,
        "webAcls": [_web_acl(w, refs) for w in plan.of_type(WEB_ACL)],
    }


def _certificate(plan: Plan, refs: _References, resource: PlannedResource, prop: str) -> str | None:
    """The ACM certificate `prop` names, through the validation it may wait on."""
    for name in refs.names(resource, prop):
        matches = [r for r in plan.resources if r.name == name]
        if matches and matches[0].type == CERTIFICATE:
            return name
        if matches and matches[0].type == "aws:acm/certificateValidation:CertificateValidation":
            return refs.name(matches[0], "certificateArn")
    return refs.name(resource, prop) if resource.inputs.get(prop) else None


def _first_of(names: list[str], token: str, plan: Plan) -> str | None:
    for name in names:
        if any(r.name == name and r.type == token for r in plan.resources):
            return name
    return names[0] if names else None


def _web_acl(acl: PlannedResource, refs: _References) -> dict[str, Any]:
    rules = []
    for rule in as_list(acl.inputs.get("rules")):
        if not isinstance(rule, Mapping):
            continue
        statement = rule.get("statement") or {}
        action = next(iter(rule.get("action") or rule.get("overrideAction") or {}), "")
        if "rateBasedStatement" in statement:
            rate = statement["rateBasedStatement"]
            window = rate.get("evaluationWindowSec", 300)
            kind, detail = (
                "rate limit",
                f"{rate.get('limit')} requests per {window} s per "
                f"{rate.get('aggregateKeyType', 'IP')}",
            )
        elif "managedRuleGroupStatement" in statement:
            group = statement["managedRuleGroupStatement"]
            kind, detail = "managed rule group", f"{group.get('vendorName')}/{group.get('name')}"
        else:
            kind, detail = "custom rule", ", ".join(sorted(statement))
        rules.append(
            {
                "name": str(rule.get("name", "")),
                "priority": rule.get("priority"),
                "action": str(action),
                "kind": kind,
                "detail": detail,
            }
        )
    return {
        "name": acl.name,
        "scope": str(acl.inputs.get("scope", "")),
        "defaultAction": next(iter(acl.inputs.get("defaultAction") or {}), ""),
        "rules": sorted(
            rules, key=lambda r: (r["priority"] if isinstance(r["priority"], int) else 0, r["name"])
        ),
    }


# --- events -----------------------------------------------------------------------------------


def _granted(identities: list[dict[str, Any]], action: str, service: str, name: str) -> list[str]:
    """Roles with an Allow of `action` on a resource whose ARN ends in `name`."""
    found = set()
    for identity in identities:
        for grant in identity["permissions"]:
            if grant["effect"] != "Allow" or not any(
                iam_matches(a, action) for a in grant["actions"]
            ):
                continue
            arn = grant["resource"]
            if arn == "*" or (
                arn.startswith(f"arn:aws:{service}:") and iam_matches(arn.rsplit(":", 1)[-1], name)
            ):
                found.add(identity["role"])
    return sorted(found)


def _events(plan: Plan, refs: _References, identities: list[dict[str, Any]]) -> dict[str, Any]:
    subscribers: dict[str, list[str]] = defaultdict(list)
    for subscription in plan.of_type(SUBSCRIPTION):
        for topic in refs.names(subscription, "topic"):
            endpoint = refs.name(subscription, "endpoint") or ""
            subscribers[topic].append(f"{subscription.inputs.get('protocol', '')}: {endpoint}")
    topics = [
        {
            "name": t.name,
            "awsName": str(t.inputs.get("name", "")),
            "encryptionKey": refs.name(t, "kmsMasterKeyId") or "",
            "publishers": _granted(identities, _PUBLISH, "sns", str(t.inputs.get("name", ""))),
            "subscribers": sorted(subscribers.get(t.name, [])),
        }
        for t in plan.of_type(TOPIC)
    ]
    queues = [
        {
            "name": q.name,
            "awsName": str(q.inputs.get("name", "")),
            "deadLetterQueue": refs.name(q, "redrivePolicy")
            if q.inputs.get("redrivePolicy")
            else None,
            "encryptionKey": refs.name(q, "kmsMasterKeyId")
            or ("SQS managed" if q.inputs.get("sqsManagedSseEnabled") else ""),
            "retentionSeconds": q.inputs.get("messageRetentionSeconds"),
            "consumers": _granted(identities, _CONSUME, "sqs", str(q.inputs.get("name", ""))),
        }
        for q in plan.of_type(QUEUE)
    ]
    return {
        "topics": sorted(topics, key=lambda t: t["name"]),
        "queues": sorted(queues, key=lambda q: q["name"]),
    }


# --- architecture (the diagram's nodes) -------------------------------------------------------


def _links(plan: Plan, refs: _References) -> list[dict[str, str]]:
    """How requests flow (Route 53 → CloudFront → the load balancer → the cluster), what each
    web ACL protects, and what the cluster uses."""
    links = []
    zones = [str(z.inputs.get("name", z.name)) for z in plan.of_type(ZONE)]
    balancers = [b.name for b in plan.of_type(LOAD_BALANCER)]
    for distribution in plan.of_type(DISTRIBUTION):
        links += [{"from": z, "to": distribution.name, "kind": "request"} for z in zones]
        acl = _first_of(refs.names(distribution, "webAclId"), WEB_ACL, plan)
        if acl:
            links.append({"from": acl, "to": distribution.name, "kind": "protects"})
        origins = [o for o in as_list(distribution.inputs.get("origins")) if isinstance(o, Mapping)]
        if any("customOriginConfig" in o for o in origins):
            links += [{"from": distribution.name, "to": b, "kind": "request"} for b in balancers]
    for association in plan.of_type("aws:wafv2/webAclAssociation:WebAclAssociation"):
        acl = _first_of(refs.names(association, "webAclArn"), WEB_ACL, plan)
        target = _first_of(refs.names(association, "resourceArn"), LOAD_BALANCER, plan)
        if acl and target:
            links.append({"from": acl, "to": target, "kind": "protects"})
    for cluster in plan.of_type(CLUSTER):
        links += [{"from": b, "to": cluster.name, "kind": "request"} for b in balancers]
        links += [
            {"from": cluster.name, "to": r.name, "kind": "uses"}
            for r in plan.resources
            if r.type in STORE_TYPES
        ]
    return links


def _architecture(plan: Plan, spec: EnvironmentSpec, refs: _References) -> dict[str, Any]:
    tiers = sorted(
        {str(at(s.inputs, "tags.osp:subnet-tier", "") or "") for s in plan.of_type(SUBNET)} - {""}
    )
    return {
        "zones": list(spec.zones),
        "tiers": tiers,
        "dnsZones": [str(z.inputs.get("name", z.name)) for z in plan.of_type(ZONE)],
        "distributions": [d.name for d in plan.of_type(DISTRIBUTION)],
        "webAcls": [w.name for w in plan.of_type(WEB_ACL)],
        "loadBalancers": [b.name for b in plan.of_type(LOAD_BALANCER)],
        "clusters": [c.name for c in plan.of_type(CLUSTER)],
        "services": sorted(w.name for w in plan.of_type(WORKLOAD)),
        "dataStores": sorted(r.name for r in plan.resources if r.type in STORE_TYPES),
        "links": _links(plan, refs),
        "topics": len(plan.of_type(TOPIC)),
        "queues": len(plan.of_type(QUEUE)),
    }


# --- tenants ----------------------------------------------------------------------------------

#: What the report says when it was made without the tenants (`osp report --tenants`).
TENANTS_LEFT_OUT = (
    "Tenants were not included in this report: run the same osp report command with --tenants "
    "to include them (their counts per tier and state, and the isolation proof)."
)


def _tenants(fleet: Fleet | None) -> dict[str, Any]:
    """Counts per tier and state (every tier and state, zeros too: an auditor reads "0 failed"
    as a fact), each tenant's isolation verdict, and every violation found. Admin e-mail
    addresses stay out: they are personal data, and no control needs them."""
    if fleet is None:
        return {"included": False, "note": TENANTS_LEFT_OUT}
    tiers = Counter(t.tier for t in fleet.tenants)
    states = Counter(t.state for t in fleet.tenants)
    report = fleet.isolation
    found = Counter(f.tenant for f in report.findings)
    return {
        "included": True,
        "registry": fleet.registry,
        "total": len(fleet.tenants),
        "byTier": {tier.value: tiers[tier] for tier in Tier},
        "byState": {state.value: states[state] for state in TenantState},
        "tenants": [
            {
                "slug": t.slug,
                "name": t.name,
                "tier": t.tier.value,
                "state": t.state.value,
                "stack": tenant_stack_name(fleet.environment, t.slug)
                if t.slug in fleet.plans
                else None,
                "blueprintVersion": t.blueprint_version,
                "isolation": _verdict(t.slug, report.tenants, found[t.slug]),
                "violations": found[t.slug],
            }
            for t in fleet.tenants
        ],
        "isolation": {
            "verified": list(report.tenants),
            "isolated": report.isolated,
            "findings": [
                {"tenant": f.tenant, "rule": f.rule, "resource": f.resource, "evidence": f.evidence}
                for f in report.findings
            ],
        },
    }


def _verdict(slug: str, verified: tuple[str, ...], violations: int) -> str:
    if slug not in verified:
        return "not verified"  # deleted: it has no stack to plan
    return "not isolated" if violations else "isolated"


# --- guardrails -------------------------------------------------------------------------------


def _guardrails(report: Report) -> dict[str, Any]:
    controls: dict[str, Counter[str]] = defaultdict(Counter)
    rules_of: dict[str, set[str]] = defaultdict(set)
    for rule in report.rules:
        for control in rule.controls:
            rules_of[control].add(rule.id)
            # A control whose rules found nothing is listed too.
            controls.setdefault(control, Counter())
    for finding in report.findings:
        for control in finding.rule.controls:
            controls[control][finding.outcome.value] += 1
    return {
        "checkedOn": report.checked_on.isoformat(),
        "rules": len(report.rules),
        "summary": {s.value: counts for s, counts in report.summary().items()},
        "findings": [finding_data(f) for f in report.findings if f.outcome is not Outcome.PASSED],
        "notApplicable": [r.id for r in report.not_applicable()],
        "waivers": [
            {**waiver_data(u.waiver), "matched": u.matched, "expired": u.expired}
            for u in report.waivers
        ],
        "controls": [
            {
                "control": control,
                "rules": sorted(rules_of[control]),
                "passed": counts["passed"],
                "failed": counts["failed"],
                "waived": counts["waived"],
            }
            for control, counts in sorted(controls.items())
        ],
    }
