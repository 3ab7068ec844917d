"""The parts of Karpenter's v1 CRDs (`karpenter.sh/v1` NodePool, `karpenter.k8s.aws/v1`
EC2NodeClass) that osp's objects use, written out here as JSON Schema, and the CEL rules of
those CRDs that touch them, as Python checks.

Not the CRDs themselves: neither PyPI nor npm ships the karpenter-crd chart, and osp's tests
run without a network. This is a focused, strict subset (unknown fields are errors), checked
by hand against the CRDs of chart 1.14.1 (`charts/karpenter-crd/templates/`): the required
fields, enums and patterns of every field osp sets. A field osp starts to set must be added
here, from the CRD, or its test fails.
"""

from __future__ import annotations

import re
from typing import Any

_DURATION = r"^(([0-9]+(s|m|h))+|Never)$"
_QUANTITY = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_LABEL_KEY = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(\/))?"
    r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"
)
_VOLUME_SIZE = (
    r"^((?:[1-9][0-9]{0,3}|[1-4][0-9]{4}|[5][0-8][0-9]{3}|59000)Gi|"
    r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|[6][0-3][0-9]{3}|64000)G|"
    r"([1-9]||[1-5][0-7]|58)Ti|([1-9]||[1-5][0-9]|6[0-3]|64)T)$"
)


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_SELECTOR_TERMS = {
    "type": "array",
    "minItems": 1,
    "maxItems": 30,
    "items": _object({"tags": _STRING_MAP, "id": {"type": "string"}}),
}
_METADATA = _object(
    {"name": {"type": "string"}, "labels": _STRING_MAP, "annotations": _STRING_MAP}, ("name",)
)

EC2_NODE_CLASS = _object(
    {
        "apiVersion": {"const": "karpenter.k8s.aws/v1"},
        "kind": {"const": "EC2NodeClass"},
        "metadata": _METADATA,
        "spec": _object(
            {
                "amiSelectorTerms": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 30,
                    "items": _object({"alias": {"type": "string", "maxLength": 30}}),
                },
                "instanceProfile": {"type": "string", "minLength": 1},
                "role": {"type": "string", "minLength": 1},
                "subnetSelectorTerms": _SELECTOR_TERMS,
                "securityGroupSelectorTerms": _SELECTOR_TERMS,
                "metadataOptions": _object(
                    {
                        "httpEndpoint": {"enum": ["enabled", "disabled"]},
                        "httpProtocolIPv6": {"enum": ["enabled", "disabled"]},
                        "httpPutResponseHopLimit": {"type": "integer"},
                        "httpTokens": {"enum": ["required", "optional"]},
                    }
                ),
                "blockDeviceMappings": {
                    "type": "array",
                    "maxItems": 50,
                    "items": _object(
                        {
                            "deviceName": {"type": "string"},
                            "rootVolume": {"type": "boolean"},
                            "ebs": _object(
                                {
                                    "volumeSize": {"type": "string", "pattern": _VOLUME_SIZE},
                                    "volumeType": {
                                        "enum": [
                                            "standard",
                                            "io1",
                                            "io2",
                                            "gp2",
                                            "sc1",
                                            "st1",
                                            "gp3",
                                        ]
                                    },
                                    "encrypted": {"type": "boolean"},
                                    "kmsKeyID": {"type": "string"},
                                    "deleteOnTermination": {"type": "boolean"},
                                }
                            ),
                        }
                    ),
                },
                "tags": _STRING_MAP,
            },
            ("amiSelectorTerms", "securityGroupSelectorTerms", "subnetSelectorTerms"),
        ),
    },
    ("apiVersion", "kind", "metadata", "spec"),
)

_REQUIREMENT = _object(
    {
        "key": {"type": "string", "maxLength": 316, "pattern": _LABEL_KEY},
        "operator": {"enum": ["Gte", "Lte", "In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]},
        "values": {
            "type": "array",
            "items": {
                "type": "string",
                "maxLength": 63,
                "pattern": r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$",
            },
        },
    },
    ("key", "operator"),
)

NODE_POOL = _object(
    {
        "apiVersion": {"const": "karpenter.sh/v1"},
        "kind": {"const": "NodePool"},
        "metadata": _METADATA,
        "spec": _object(
            {
                "template": _object(
                    {
                        "metadata": _object({"labels": _STRING_MAP, "annotations": _STRING_MAP}),
                        "spec": _object(
                            {
                                "nodeClassRef": _object(
                                    {
                                        "group": {
                                            "type": "string",
                                            "pattern": r"^[^/]*$",
                                            "minLength": 1,
                                        },
                                        "kind": {"type": "string", "minLength": 1},
                                        "name": {"type": "string", "minLength": 1},
                                    },
                                    ("group", "kind", "name"),
                                ),
                                "requirements": {
                                    "type": "array",
                                    "maxItems": 100,
                                    "items": _REQUIREMENT,
                                },
                                "expireAfter": {"type": "string", "pattern": _DURATION},
                                "taints": {
                                    "type": "array",
                                    "items": _object(
                                        {
                                            "key": {"type": "string"},
                                            "value": {"type": "string"},
                                            "effect": {
                                                "enum": [
                                                    "NoSchedule",
                                                    "PreferNoSchedule",
                                                    "NoExecute",
                                                ]
                                            },
                                        },
                                        ("key", "effect"),
                                    ),
                                },
                            },
                            ("nodeClassRef", "requirements"),
                        ),
                    },
                    ("spec",),
                ),
                "disruption": _object(
                    {
                        "consolidationPolicy": {
                            "enum": ["WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced"]
                        },
                        "consolidateAfter": {"type": "string", "pattern": _DURATION},
                        "budgets": {
                            "type": "array",
                            "maxItems": 50,
                            "items": _object(
                                {
                                    "nodes": {
                                        "type": "string",
                                        "pattern": r"^((100|[0-9]{1,2})%|[0-9]+)$",
                                    }
                                },
                                ("nodes",),
                            ),
                        },
                    },
                    ("consolidateAfter",),
                ),
                "limits": {
                    "type": "object",
                    "additionalProperties": {"type": "string", "pattern": _QUANTITY},
                },
            },
            ("template",),
        ),
    },
    ("apiVersion", "kind", "metadata", "spec"),
)

#: Tag keys an EC2NodeClass may not set (Karpenter sets them).
RESTRICTED_TAGS = ("eks:eks-cluster-name", "karpenter.sh/nodepool", "karpenter.sh/nodeclaim",
                   "karpenter.k8s.aws/ec2nodeclass")  # fmt: skip
#: Well-known labels the CRD's rules allow in its restricted domains.
_ALLOWED_KARPENTER_KEYS = ("karpenter.sh/capacity-type",)
_ALLOWED_AWS_KEYS = ("karpenter.k8s.aws/instance-category", "karpenter.k8s.aws/instance-generation")
_ALIAS_FAMILIES = ("al2", "al2023", "bottlerocket", "windows2019", "windows2022", "windows2025")


def node_class_rule_problems(spec: dict[str, Any]) -> list[str]:
    """The EC2NodeClass CRD's CEL rules on the fields osp sets."""
    found = []
    if ("role" in spec) == ("instanceProfile" in spec):
        found.append("must specify exactly one of ['role', 'instanceProfile']")
    terms = spec["amiSelectorTerms"]
    aliases = [t["alias"] for t in terms if "alias" in t]
    if aliases and len(terms) != 1:
        found.append("'alias' is mutually exclusive with other amiSelectorTerms")
    for alias in aliases:
        if not re.fullmatch(r"[a-zA-Z0-9]+@.+", alias):
            found.append(f"alias {alias!r}: must match 'family@version'")
        elif alias.split("@")[0] not in _ALIAS_FAMILIES:
            found.append(f"alias {alias!r}: family is not supported")
    if not aliases and "amiFamily" not in spec:
        found.append("must specify amiFamily if amiSelectorTerms does not contain an alias")
    for key in spec.get("tags", {}):
        if key == "" or key in RESTRICTED_TAGS or key.startswith("kubernetes.io/cluster"):
            found.append(f"tag {key!r} is restricted")
    roots = [m for m in spec.get("blockDeviceMappings", []) if m.get("rootVolume")]
    if len(roots) > 1:
        found.append("must have only one blockDeviceMappings with rootVolume")
    return found


def _restricted_label(key: str) -> bool:
    domain = key.split("/")[0] if "/" in key else ""
    if key in ("karpenter.sh/nodepool", "kubernetes.io/hostname"):
        return True
    if domain.endswith("karpenter.sh") and key not in _ALLOWED_KARPENTER_KEYS:
        return True
    return domain.endswith("karpenter.k8s.aws") and key not in _ALLOWED_AWS_KEYS


def node_pool_rule_problems(spec: dict[str, Any]) -> list[str]:
    """The NodePool CRD's CEL rules on the fields osp sets."""
    found = []
    template = spec["template"]
    for key in template.get("metadata", {}).get("labels", {}):
        if _restricted_label(key):
            found.append(f"label {key!r} is restricted")
    for requirement in template["spec"]["requirements"]:
        key, operator, values = (
            requirement["key"],
            requirement["operator"],
            requirement.get("values", []),
        )
        if _restricted_label(key):
            found.append(f"requirement {key!r}: label is restricted")
        if operator == "In" and not values:
            found.append(f"requirement {key!r}: operator 'In' must have a value defined")
        if operator in ("Gt", "Lt", "Gte", "Lte") and not (
            len(values) == 1 and values[0].isdigit()
        ):
            found.append(f"requirement {key!r}: {operator} needs a single positive integer value")
    return found
