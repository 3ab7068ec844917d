"""Names and tags for everything osp creates.

Physical names follow `osp-<env>-<role>`. Each AWS service has its own length and character
rules; `physical_name` fits a name into them and, when it must shorten one, keeps a readable
prefix and appends a hash of the full name, so two long names never collapse into one.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

PROJECT = "osp"

#: Tag keys every taggable resource carries; the spec may not set them itself.
TAG_ENVIRONMENT = "osp:environment"
TAG_COMPONENT = "osp:component"
TAG_BLUEPRINT = "osp:blueprint"
TAG_MANAGED_BY = "osp:managed-by"
REQUIRED_TAG_KEYS = (TAG_ENVIRONMENT, TAG_COMPONENT, TAG_BLUEPRINT, TAG_MANAGED_BY)

_HASH_LEN = 8


@dataclass(frozen=True)
class _Rule:
    max_len: int
    lower: bool
    # Characters outside this class become "-".
    invalid: re.Pattern[str]
    # Must the name start with a letter (RDS, ElastiCache) rather than any alphanumeric?
    letter_first: bool = False


class NameKind(Enum):
    """The naming rules of the services osp names things in."""

    GENERIC = _Rule(255, False, re.compile(r"[^A-Za-z0-9-]"))
    #: S3 bucket: 3–63, lower-case letters, digits, hyphens (osp never uses dots).
    S3_BUCKET = _Rule(63, True, re.compile(r"[^a-z0-9-]"))
    #: RDS instance/cluster identifier: 1–63, letter first, no "--", no trailing hyphen.
    RDS_IDENTIFIER = _Rule(63, True, re.compile(r"[^a-z0-9-]"), letter_first=True)
    #: ElastiCache replication group id: 1–40, letter first, no "--", no trailing hyphen.
    ELASTICACHE_ID = _Rule(40, True, re.compile(r"[^a-z0-9-]"), letter_first=True)
    #: IAM role or policy name: 1–64.
    IAM = _Rule(64, False, re.compile(r"[^A-Za-z0-9+=,.@_-]"))
    #: Load balancer or target group: 1–32, alphanumerics and hyphens.
    LOAD_BALANCER = _Rule(32, False, re.compile(r"[^A-Za-z0-9-]"))
    #: Kubernetes object names (DNS-1123 label): 1–63, lower-case alphanumerics and hyphens.
    K8S_LABEL = _Rule(63, True, re.compile(r"[^a-z0-9-]"), letter_first=True)
    #: Amazon MQ broker name: 1–50.
    MQ_BROKER = _Rule(50, False, re.compile(r"[^A-Za-z0-9_-]"))
    #: SQS queue name: 1–80 (".fifo" suffixes are added by callers inside the limit).
    SQS_QUEUE = _Rule(75, False, re.compile(r"[^A-Za-z0-9_-]"))
    #: EKS cluster name: 1–100, letter first.
    EKS_CLUSTER = _Rule(100, False, re.compile(r"[^A-Za-z0-9_-]"), letter_first=True)


def _digest(text: str, length: int = _HASH_LEN) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def fit(name: str, kind: NameKind = NameKind.GENERIC) -> str:
    """Make `name` valid for `kind`, shortening it with a hash suffix when it is too long."""
    rule = kind.value
    text = name.lower() if rule.lower else name
    text = rule.invalid.sub("-", text)
    text = re.sub(r"-{2,}", "-", text).strip("-")
    if rule.letter_first and not text[:1].isalpha():
        text = f"{PROJECT}-{text}"
    if len(text) > rule.max_len:
        keep = rule.max_len - _HASH_LEN - 1
        text = f"{text[:keep].rstrip('-')}-{_digest(name)}"
    if not text:
        raise ValueError(f"cannot derive a {kind.name} name from {name!r}")
    return text


def physical_name(environment: str, role: str, kind: NameKind = NameKind.GENERIC) -> str:
    """`osp-<env>-<role>`, valid for `kind`."""
    return fit(f"{PROJECT}-{environment}-{role}", kind)


def dns_label(text: str) -> str:
    """A DNS label (RFC 1123: 1–63 lower-case letters, digits and hyphens) from free text.

    "Springfield High School" → "springfield-high-school"; "École 42" → "ecole-42".
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if not slug:
        raise ValueError(f"{text!r} has no letters or digits to make a DNS label from")
    if len(slug) > 63:
        slug = f"{slug[:54].rstrip('-')}-{_digest(text)}"
    return slug


def standard_tags(
    *, environment: str, component: str, blueprint: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The tag set of a component's resources: the spec's own tags, then osp's, which win."""
    return {
        **(extra or {}),
        TAG_ENVIRONMENT: environment,
        TAG_COMPONENT: component,
        TAG_BLUEPRINT: blueprint,
        TAG_MANAGED_BY: PROJECT,
    }
