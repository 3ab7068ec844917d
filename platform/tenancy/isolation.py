"""Proving tenant isolation from plans: the auditor's evidence. Pure: plans in, findings out.

    findings = verify({"springfield": plan_a, "shelbyville": plan_b})
    for finding in findings:
        print(finding)   # tenant springfield: cross-tenant-access: osp-dev-tenant-…-access: …

Three rules, each finding naming the tenant, the rule, the resource and the evidence:

- `cross-tenant-access`: no IAM policy of tenant A (role policies, inline and managed
  policies, trust policies, bucket policies, key policies) names a resource or principal of
  tenant B: B's prefix `tenants/<b>/` in a shared bucket, B's bucket, role, key, configuration
  parameter or database. Patterns are compared as IAM compares them (`*` and `?`), so a `*` or
  a prefix wildcard that would match B's is a leak; an unconditioned `s3:ListBucket` on a
  shared bucket, or an `s3:prefix` condition admitting B's prefix, is one too.
- `unconfined-access`: what no other tenant of the fleet owns yet is still no tenant's to
  take: every resource a tenant's identity policies (its role's, its services' roles') allow
  is its own (its prefix in a shared bucket, its bucket, key, configuration parameter, roles,
  topics, queues, target groups, database users and master secret), a shared bucket's
  listing only when held to its prefix, or one of the estate's resources its plan declares
  shared (`sharedResources`: exact ARNs, such as the platform's app secrets; never a
  pattern, and never another tenant's: the cross-tenant rule still applies to them). A `*`
  is refused even in a fleet of one. The one NotResource statement admitted is the SMS
  grant: sns:Publish on everything that is not an SNS ARN, i.e. phone numbers.
- `namespace-quota`, `namespace-limit-range`, `namespace-network-policy`: every silo
  namespace has its ResourceQuota (CPU, memory and pods bounded), its LimitRange (container
  defaults) and a default-deny NetworkPolicy (every pod selected, ingress denied) whose rules
  admit only its own namespace and the load balancer's private addresses on named ports.
- `key-policy-principals`: a silo tenant's key policy allows only the account root and the
  tenant's own roles; an AWS service only under a condition.

A policy that cannot be read (unknown, not JSON) is a finding too (`unreadable-policy`): what
cannot be read cannot be proven.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from osp.platform.plan import Plan, PlannedResource
from osp.platform.tenancy.model import Tier

RULE_CROSS_TENANT = "cross-tenant-access"
RULE_UNCONFINED = "unconfined-access"
RULE_UNREADABLE = "unreadable-policy"
RULE_NAMESPACE = "silo-namespace"
RULE_QUOTA = "namespace-quota"
RULE_LIMIT_RANGE = "namespace-limit-range"
RULE_NETWORK_POLICY = "namespace-network-policy"
RULE_KEY_POLICY = "key-policy-principals"

#: Quota keys without which a namespace is not bounded.
REQUIRED_QUOTA = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "pods")

_NAMESPACE = "kubernetes:core/v1:Namespace"
_QUOTA = "kubernetes:core/v1:ResourceQuota"
_LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
_NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
_KMS_KEY = "aws:kms/key:Key"
#: Policies attached to the resource they govern, whose `Resource` can only name that
#: resource (a key policy's `*` is the key itself): what they can leak is a principal.
_SELF_GOVERNED = frozenset({_KMS_KEY})
#: Policies that grant their holder (a role, user or group) access to resources.
_IDENTITY_POLICIES = frozenset(
    {
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/policy:Policy",
        "aws:iam/userPolicy:UserPolicy",
        "aws:iam/groupPolicy:GroupPolicy",
    }
)
_NAME_LABEL = "kubernetes.io/metadata.name"
#: An object key that stands for "anything under the prefix".
_PROBE = "isolation-probe"


@dataclass(frozen=True)
class Finding:
    """One way a tenant is not isolated, with the evidence."""

    tenant: str
    rule: str
    resource: str
    """The plan resource (its name) whose declaration breaks the rule."""
    evidence: str

    @property
    def message(self) -> str:
        return f"tenant {self.tenant}: {self.rule}: {self.resource}: {self.evidence}"

    def __str__(self) -> str:
        return self.message


#: The environment stack's outputs naming what a silo may share with the estate (exact ARNs,
#: or mappings of them): the platform's application secrets, the Redis AUTH token, the SES
#: identity and configuration set, and the key of those secrets.
SHAREABLE_OUTPUTS = (
    "appSecretArns",
    "redisAuthSecretArn",
    "emailIdentityArn",
    "emailConfigurationSetArn",
    "secretsKeyArn",
)


def shareable(environment_outputs: Mapping[str, Any]) -> frozenset[str]:
    """The ARNs the environment lets its tenants share (`SHAREABLE_OUTPUTS`)."""
    found: set[str] = set()
    for key in SHAREABLE_OUTPUTS:
        value = environment_outputs.get(key)
        value = getattr(value, "value", value)  # the automation layer's Output, or plain
        values = value.values() if isinstance(value, Mapping) else [value]
        found |= {v for v in values if isinstance(v, str) and v.startswith("arn:")}
    return frozenset(found)


def verify(
    plans: Mapping[str, Plan], *, shareable_arns: Collection[str] | None = None
) -> list[Finding]:
    """Every finding in the plans of the tenants (by slug); empty when isolation holds.

    `shareable_arns`: what the environment lets tenants share (`shareable(outputs)`). Given,
    a plan's own `sharedResources` count only where they are among them: a tenant plan cannot
    make a resource of the estate its own by calling it shared. Not given (plans alone),
    what a plan declares shared is taken at its word.
    """
    allowed = frozenset(shareable_arns) if shareable_arns is not None else None
    territories = {slug: _territory(slug, plan, allowed) for slug, plan in plans.items()}
    findings: list[Finding] = []
    for slug, plan in sorted(plans.items()):
        others = [t for other, t in sorted(territories.items()) if other != slug]
        findings += _cross_tenant(slug, plan, territories[slug], others)
        if _tier(plan) is Tier.SILO:
            findings += _namespaces(slug, plan)
            findings += _key_policies(slug, plan, territories[slug])
    return findings


# --- what a tenant owns -------------------------------------------------------------------


@dataclass(frozen=True)
class _Territory:
    """A tenant's resources as the ARNs (and listing prefixes) a policy would name them by."""

    slug: str
    arns: dict[str, str] = field(default_factory=dict)
    """ARN (a probe object for a prefix or bucket) → what it is, for the evidence."""
    listings: list[tuple[str, str]] = field(default_factory=list)
    """(shared bucket ARN, the tenant's prefix in it)."""
    roles: list[str] = field(default_factory=list)
    """The tenant's role ARNs."""
    root: str | None = None
    own_roots: list[str] = field(default_factory=list)
    """ARN starts under which everything is the tenant's (`…:s3:::<shared>/tenants/<slug>/`)."""
    own_exact: set[str] = field(default_factory=set)
    """ARNs that are the tenant's (its bucket, key, parameter, roles)."""
    own_patterns: list[str] = field(default_factory=list)
    """IAM patterns every ARN of which is the tenant's, for resources whose ARN holds a part
    only the cloud knows or a region the plan does not say (its topics, queues, target
    groups, its database's users)."""
    shared: dict[str, str] = field(default_factory=dict)
    """The estate's resources the tenant's plan says it shares, exact ARNs only (its
    `sharedResources` output): not the tenant's, but given to every silo alike."""


def _tier(plan: Plan) -> Tier | None:
    try:
        return Tier(plan.outputs.get("tier"))
    except ValueError:
        return None


def _territory(slug: str, plan: Plan, shareable_arns: frozenset[str] | None) -> _Territory:
    outputs = plan.outputs
    role_arn = outputs.get("roleArn")
    found = _Territory(slug)
    partition, account = "aws", "*"
    if isinstance(role_arn, str) and role_arn.startswith("arn:"):
        parts = role_arn.split(":")
        partition, account = parts[1], parts[4]
        found = _Territory(slug, root=f"arn:{partition}:iam::{account}:root")
    prefix = f"tenants/{slug}/"
    for purpose, url in (outputs.get("storagePrefixes") or {}).items():
        bucket = str(url).removeprefix("s3://").split("/", 1)[0]
        found.arns[f"arn:{partition}:s3:::{bucket}/{prefix}{_PROBE}"] = (
            f"prefix {prefix} in the shared {purpose} bucket {bucket}"
        )
        found.listings.append((f"arn:{partition}:s3:::{bucket}", prefix))
        found.own_roots.append(f"arn:{partition}:s3:::{bucket}/{prefix}")
    for resource in plan.resources:
        inputs = resource.inputs
        if resource.type == "aws:s3/bucket:Bucket" and inputs.get("bucket"):
            bucket = inputs["bucket"]
            found.arns[f"arn:{partition}:s3:::{bucket}"] = f"bucket {bucket}"
            found.arns[f"arn:{partition}:s3:::{bucket}/{_PROBE}"] = f"objects of bucket {bucket}"
            found.own_exact.add(f"arn:{partition}:s3:::{bucket}")
            found.own_roots.append(f"arn:{partition}:s3:::{bucket}/")
        elif resource.type == "aws:iam/role:Role" and inputs.get("name"):
            arn = f"arn:{partition}:iam::{account}:role{inputs.get('path') or '/'}{inputs['name']}"
            found.arns[arn] = f"role {inputs['name']}"
            found.roles.append(arn)
            found.own_exact.add(arn)
        elif resource.type == "aws:rds/instance:Instance" and inputs.get("identifier"):
            ident = inputs["identifier"]
            found.arns[f"arn:{partition}:rds:*:{account}:db:{ident}"] = f"database {ident}"
        else:
            _own_by_pattern(found, resource, partition, account)
    for key, what in (
        ("keyArn", "KMS key"),
        ("configParameterArn", "configuration parameter"),
        ("databaseMasterSecretArn", "database master secret"),
    ):
        arn = outputs.get(key)
        if isinstance(arn, str) and arn.startswith("arn:"):
            found.arns[arn] = f"{what} {arn}"
            found.own_exact.add(arn)
    resource_id = outputs.get("databaseResourceId")
    if isinstance(resource_id, str) and resource_id.startswith("db-"):
        users = f"arn:{partition}:rds-db:*:{account}:dbuser:{resource_id}/*"
        found.arns[users] = f"database users of instance {resource_id}"
        found.own_patterns.append(users)
    for arn, why in (outputs.get("sharedResources") or {}).items():
        if not (isinstance(arn, str) and arn.startswith("arn:")) or re.search(r"[*?]|\$\{", arn):
            continue
        if shareable_arns is None or arn in shareable_arns:
            found.shared[arn] = str(why)
    return found


#: Resources found by name whose ARN the plan cannot spell exactly: (type, ARN pattern of
#: `{partition}`, `{account}` and `{name}`, what it is).
_BY_NAME = (
    ("aws:sns/topic:Topic", "arn:{partition}:sns:*:{account}:{name}", "topic"),
    ("aws:sqs/queue:Queue", "arn:{partition}:sqs:*:{account}:{name}", "queue"),
    (
        "aws:lb/targetGroup:TargetGroup",
        "arn:{partition}:elasticloadbalancing:*:{account}:targetgroup/{name}/*",
        "target group",
    ),
)


def _own_by_pattern(
    found: _Territory, resource: PlannedResource, partition: str, account: str
) -> None:
    name = resource.inputs.get("name")
    if not isinstance(name, str) or not name:
        return
    for kind, pattern, what in _BY_NAME:
        if resource.type == kind:
            arn = pattern.format(partition=partition, account=account, name=name)
            found.arns[arn] = f"{what} {name}"
            found.own_patterns.append(arn)


# --- policies -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Policy:
    resource: PlannedResource
    kind: str
    document: dict[str, Any] | None
    """None when it cannot be read."""


def _policies(plan: Plan) -> Iterator[_Policy]:
    for resource in plan.resources:
        if not resource.custom:
            continue
        inputs = resource.inputs
        for key, kind in (("policy", "policy"), ("assumeRolePolicy", "trust policy")):
            if key in inputs:
                yield _Policy(resource, kind, _document(inputs[key]))
        for inline in inputs.get("inlinePolicies") or ():
            if isinstance(inline, dict) and "policy" in inline:
                yield _Policy(resource, "inline policy", _document(inline["policy"]))


def _document(text: Any) -> dict[str, Any] | None:
    if isinstance(text, dict):
        return text
    try:
        parsed = json.loads(text)
    except (TypeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [s for s in (statements if isinstance(statements, list) else [statements]) if s]


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def _principals(statement: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(kind, value) of each principal: ("AWS", arn), ("Service", name), ("*", "*")."""
    principal = statement.get("Principal")
    if principal is None:
        return []
    if principal == "*":
        return [("AWS", "*")]
    return [(kind, v) for kind, values in principal.items() for v in _values(values)]


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    """An IAM pattern (`*` any run, `?` one character, `${…}` a policy variable) as a regex."""
    out = ""
    for part in re.split(r"(\$\{[^}]*\}|\*|\?)", pattern):
        if part == "?":
            out += "."
        elif part == "*" or part.startswith("${"):
            out += ".*"
        else:
            out += re.escape(part)
    return re.compile(out, re.DOTALL)


def matches(pattern: str, value: str) -> bool:
    """Whether the IAM pattern `pattern` matches `value`, wildcards included."""
    return bool(_pattern(pattern).fullmatch(value))


def _sid(statement: Mapping[str, Any], index: int) -> str:
    return f"statement {statement.get('Sid') or f'#{index + 1}'}"


def _cross_tenant(
    slug: str, plan: Plan, own: _Territory, others: Iterable[_Territory]
) -> list[Finding]:
    others = list(others)
    findings: list[Finding] = []
    for policy in _policies(plan):
        name = policy.resource.name
        if policy.document is None:
            findings.append(
                Finding(slug, RULE_UNREADABLE, name, f"its {policy.kind} cannot be read as JSON")
            )
            continue
        for index, statement in enumerate(_statements(policy.document)):
            if statement.get("Effect") != "Allow":
                continue
            where = f"{policy.kind} {_sid(statement, index)}"
            if "NotResource" in statement and not _phone_numbers_only(statement):
                findings.append(
                    Finding(
                        slug,
                        RULE_CROSS_TENANT,
                        name,
                        f"{where} allows NotResource {_values(statement['NotResource'])}: "
                        "everything else, other tenants' resources included",
                    )
                )
            resources = (
                []
                if policy.resource.type in _SELF_GOVERNED and policy.kind == "policy"
                else _values(statement.get("Resource"))
            )
            principals = [v for kind, v in _principals(statement) if kind == "AWS"]
            reached = [
                found
                for other in others
                for found in _reaches(slug, name, where, statement, resources, principals, other)
            ]
            findings += [finding for _, finding in reached]
            if policy.resource.type in _IDENTITY_POLICIES or policy.kind == "inline policy":
                findings += _unconfined(slug, name, where, statement, resources, own, reached)
    return findings


def _unconfined(
    slug: str,
    name: str,
    where: str,
    statement: Mapping[str, Any],
    resources: list[str],
    own: _Territory,
    reached: list[tuple[str, Finding]],
) -> list[Finding]:
    """A finding for each resource pattern of an identity policy that is not wholly the
    tenant's, unless it already reached another tenant (that finding names the victim)."""
    found: list[Finding] = []
    named = {pattern for pattern, _ in reached}
    for pattern in resources:
        if pattern in named:
            continue
        fixed = re.split(r"\*|\?|\$\{", pattern, maxsplit=1)[0]
        wildcard = fixed != pattern
        if (not wildcard and pattern in own.own_exact) or any(
            fixed.startswith(root) for root in own.own_roots
        ):
            continue
        if not wildcard and (
            pattern in own.shared or any(matches(mine, pattern) for mine in own.own_patterns)
        ):
            continue
        listing = next((bucket for bucket, _ in own.listings if bucket == pattern), None)
        if listing is not None and _held_to(statement, f"tenants/{own.slug}/"):
            continue
        found.append(
            Finding(
                slug,
                RULE_UNCONFINED,
                name,
                f"{where} allows {_actions(statement)} on {pattern}, which is not tenant "
                f"{slug}'s own",
            )
        )
    return found


def _phone_numbers_only(statement: Mapping[str, Any]) -> bool:
    """Whether a NotResource statement allows only sns:Publish on what is not an SNS ARN: the
    grant of SMS, whose recipient (a phone number) has no ARN, and which reaches no topic,
    queue, bucket or other resource of any tenant."""
    actions = _values(statement.get("Action"))
    if "NotAction" in statement or not actions or any(a != "sns:Publish" for a in actions):
        return False
    return any(
        len(parts := value.split(":")) == 6
        and parts[2] == "sns"
        and matches(value, f"arn:{parts[1]}:sns:{_PROBE}:{_PROBE}:{_PROBE}")
        for value in _values(statement.get("NotResource"))
    )


def _held_to(statement: Mapping[str, Any], prefix: str) -> bool:
    """Whether a listing is held to keys under `prefix` (every admitted s3:prefix lies in it)."""
    admitted = _listing_prefixes(statement)
    if not admitted:
        return False
    return all(re.split(r"\*|\?|\$\{", value, maxsplit=1)[0].startswith(prefix)
               for value, _literal in admitted)  # fmt: skip


def _reaches(
    slug: str,
    name: str,
    where: str,
    statement: Mapping[str, Any],
    resources: list[str],
    principals: list[str],
    other: _Territory,
) -> list[tuple[str, Finding]]:
    """(the pattern, the finding) for each way the statement reaches `other`."""
    found: list[tuple[str, Finding]] = []
    for pattern in resources:
        for arn, what in other.arns.items():
            if matches(pattern, arn) or (arn.count("*") and matches(arn, pattern)):
                found.append(
                    (
                        pattern,
                        Finding(
                            slug,
                            RULE_CROSS_TENANT,
                            name,
                            f"{where} allows {_actions(statement)} on {pattern}, which reaches "
                            f"tenant {other.slug}'s {what}",
                        ),
                    )
                )
        for bucket_arn, prefix in other.listings:
            if not matches(pattern, bucket_arn) or not _lists(statement):
                continue
            admitted = _listing_prefixes(statement)
            # A listing with prefix P shows every key starting with P: it shows B's keys when
            # P is a start of B's prefix (`tenants/`, ``) or lies inside it.
            probe = prefix + _PROBE
            starts = [probe[:end] for end in range(len(probe) + 1)]
            leak = (
                "with no s3:prefix condition"
                if admitted is None
                else next(
                    (
                        f"with s3:prefix {value!r}"
                        for value, literal in admitted
                        if (value in starts if literal else any(matches(value, s) for s in starts))
                    ),
                    None,
                )
            )
            if leak:
                found.append(
                    (
                        pattern,
                        Finding(
                            slug,
                            RULE_CROSS_TENANT,
                            name,
                            f"{where} allows listing {pattern} {leak}, which lists tenant "
                            f"{other.slug}'s prefix {prefix}",
                        ),
                    )
                )
    for pattern in principals:
        for role in other.roles:
            if matches(pattern, role):
                found.append(
                    (
                        pattern,
                        Finding(
                            slug,
                            RULE_CROSS_TENANT,
                            name,
                            f"{where} allows principal {pattern}, which names tenant "
                            f"{other.slug}'s role {role}",
                        ),
                    )
                )
    return found


def _actions(statement: Mapping[str, Any]) -> str:
    return ", ".join(_values(statement.get("Action"))) or "NotAction " + ", ".join(
        _values(statement.get("NotAction"))
    )


def _lists(statement: Mapping[str, Any]) -> bool:
    if "NotAction" in statement:
        return not any(matches(a, "s3:ListBucket") for a in _values(statement["NotAction"]))
    return any(matches(a, "s3:ListBucket") for a in _values(statement.get("Action")))


def _listing_prefixes(statement: Mapping[str, Any]) -> list[tuple[str, bool]] | None:
    """The `s3:prefix` values a listing is held to, each with whether it is compared
    literally (StringEquals) rather than as a pattern; None when it is not held."""
    prefixes: list[tuple[str, bool]] = []
    held = False
    for operator, conditions in (statement.get("Condition") or {}).items():
        if "IfExists" in operator or not operator.startswith("String") or "Not" in operator:
            continue
        for key, value in conditions.items():
            if key == "s3:prefix":
                held = True
                # StringEquals compares literally: a `*` there is only a `*`.
                literal = not operator.startswith("StringLike")
                prefixes += [(v, literal) for v in _values(value)]
    return prefixes if held else None


# --- silo namespaces ----------------------------------------------------------------------


def _namespaces(slug: str, plan: Plan) -> list[Finding]:
    namespaces = plan.of_type(_NAMESPACE)
    if not namespaces:
        return [
            Finding(slug, RULE_NAMESPACE, plan.stack, "a silo tenant's plan declares no namespace")
        ]
    findings: list[Finding] = []
    for ns in namespaces:
        name = (ns.inputs.get("metadata") or {}).get("name", "")
        inside = [r for r in plan.resources if _namespace_of(r) == name]
        findings += _quota(slug, ns.name, name, [r for r in inside if r.type == _QUOTA])
        findings += _limit_range(slug, ns.name, name, [r for r in inside if r.type == _LIMIT_RANGE])
        policies = [r for r in inside if r.type == _NETWORK_POLICY]
        findings += _network_policies(slug, ns.name, name, policies)
    return findings


def _namespace_of(resource: PlannedResource) -> str | None:
    if not resource.type.startswith("kubernetes:"):
        return None
    return (resource.inputs.get("metadata") or {}).get("namespace")


def _quota(slug: str, resource: str, ns: str, quotas: list[PlannedResource]) -> list[Finding]:
    hard: dict[str, Any] = {}
    for quota in quotas:
        hard |= (quota.inputs.get("spec") or {}).get("hard") or {}
    missing = [key for key in REQUIRED_QUOTA if key not in hard]
    if not quotas:
        return [Finding(slug, RULE_QUOTA, resource, f"namespace {ns} has no ResourceQuota")]
    if missing:
        return [
            Finding(
                slug,
                RULE_QUOTA,
                quotas[0].name,
                f"namespace {ns}'s ResourceQuota leaves {', '.join(missing)} unbounded",
            )
        ]
    return []


def _limit_range(slug: str, resource: str, ns: str, ranges: list[PlannedResource]) -> list[Finding]:
    containers = [
        item
        for r in ranges
        for item in ((r.inputs.get("spec") or {}).get("limits") or [])
        if item.get("type") == "Container"
    ]
    if not ranges:
        return [Finding(slug, RULE_LIMIT_RANGE, resource, f"namespace {ns} has no LimitRange")]
    if not any(item.get("default") and item.get("defaultRequest") for item in containers):
        return [
            Finding(
                slug,
                RULE_LIMIT_RANGE,
                ranges[0].name,
                f"namespace {ns}'s LimitRange sets no container default and defaultRequest",
            )
        ]
    return []


def _network_policies(
    slug: str, resource: str, ns: str, policies: list[PlannedResource]
) -> list[Finding]:
    findings: list[Finding] = []
    default_deny = False
    for policy in policies:
        spec = policy.inputs.get("spec") or {}
        if spec.get("podSelector") == {} and "Ingress" in (spec.get("policyTypes") or []):
            default_deny = True
        for index, rule in enumerate(spec.get("ingress") or []):
            problem = _admits_outsider(rule, ns)
            if problem:
                findings.append(
                    Finding(
                        slug,
                        RULE_NETWORK_POLICY,
                        policy.name,
                        f"namespace {ns}: ingress rule {index + 1} {problem}",
                    )
                )
    if not default_deny:
        findings.insert(
            0,
            Finding(
                slug,
                RULE_NETWORK_POLICY,
                resource,  # what lacks it is the namespace, not whichever policy came first
                f"namespace {ns} has no default-deny NetworkPolicy (every pod selected, "
                "ingress denied unless admitted)",
            ),
        )
    return findings


def _admits_outsider(rule: Mapping[str, Any], ns: str) -> str | None:
    """Why an ingress rule admits more than its own namespace and the load balancer, if it
    does."""
    peers = rule.get("from")
    if not peers:
        return "admits every source (no `from`)"
    for peer in peers:
        if "ipBlock" in peer:
            cidr = str(peer["ipBlock"].get("cidr", ""))
            try:
                network = ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                return f"admits an unreadable ipBlock {cidr!r}"
            if not network.is_private or network.prefixlen < 8:
                return f"admits {cidr}, beyond the load balancer's private subnets"
            if not rule.get("ports"):
                return f"admits {cidr} on every port (the load balancer reaches named ports)"
            continue
        selector = peer.get("namespaceSelector")
        if selector is None:
            continue  # a podSelector alone: pods of its own namespace
        labels = selector.get("matchLabels") or {}
        if selector.get("matchExpressions") or labels != {_NAME_LABEL: ns}:
            return f"admits namespaces selected by {json.dumps(selector, sort_keys=True)}"
    return None


# --- silo keys ----------------------------------------------------------------------------


def _key_policies(slug: str, plan: Plan, own: _Territory) -> list[Finding]:
    allowed = {*own.roles, *([own.root] if own.root else [])}
    findings: list[Finding] = []
    for key in plan.of_type(_KMS_KEY):
        document = _document(key.inputs.get("policy"))
        if document is None:
            continue  # reported as unreadable by the cross-tenant rule
        for index, statement in enumerate(_statements(document)):
            if statement.get("Effect") != "Allow":
                continue
            where = f"key policy {_sid(statement, index)}"
            if "NotPrincipal" in statement:
                findings.append(
                    Finding(slug, RULE_KEY_POLICY, key.name, f"{where} uses NotPrincipal")
                )
            for kind, value in _principals(statement):
                if kind == "AWS" and value not in allowed:
                    findings.append(
                        Finding(
                            slug,
                            RULE_KEY_POLICY,
                            key.name,
                            f"{where} allows {value}, neither the account root nor a role of "
                            f"tenant {slug}",
                        )
                    )
                elif kind != "AWS" and not statement.get("Condition"):
                    findings.append(
                        Finding(
                            slug,
                            RULE_KEY_POLICY,
                            key.name,
                            f"{where} allows the service {value} with no condition holding it "
                            f"to tenant {slug}'s resources",
                        )
                    )
    return findings
