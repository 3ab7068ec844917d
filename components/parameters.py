"""`ParameterHierarchy`: an environment's non-secret configuration in SSM Parameter Store.

One hierarchy per environment, one branch per reader, so that a grant on a path prefix is a
grant on exactly one reader's parameters:

    <root>/services/<service>/<name>    a service's own feature flags and settings
    <root>/shared/<name>                what every service reads

Only String and StringList: a secret belongs in Secrets Manager (osp.components.secrets),
which encrypts it with the estate's key and rotates it; a SecureString here would not be.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import pulumi
import pulumi_aws as aws

from osp.platform import limits
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:parameters:ParameterHierarchy"

#: The branch of what every service reads.
SHARED = "shared"
#: A standard-tier parameter's value holds at most 4 KB.
MAX_VALUE_BYTES = 4096
#: SSM's limits on a parameter's full name: characters and levels of hierarchy.
MAX_NAME_LENGTH = 1011
MAX_LEVELS = 15


class ParameterType(StrEnum):
    """What a parameter holds (SecureString is not offered: see the module's docstring)."""

    STRING = "String"
    STRING_LIST = "StringList"


_ROOT = limits.pattern(
    r"(/[a-z0-9][a-z0-9-]*)+",
    "a path such as /osp/prod: segments of lower-case letters, digits and '-'",
)
_SEGMENT = limits.DNS_LABEL
_TYPE = limits.one_of(
    tuple(t.value for t in ParameterType),
    "String or StringList (a secret belongs in Secrets Manager, not in a SecureString)",
)
_VALUE = limits.Constraint(
    f"a non-empty value of at most {MAX_VALUE_BYTES} bytes without '{{{{' (SSM reads it as a "
    "reference)",
    lambda v: isinstance(v, str) and 0 < len(v.encode()) <= MAX_VALUE_BYTES and "{{" not in v,
)
_DESCRIPTION = limits.Constraint(
    "a description of 1-1024 characters",
    lambda v: isinstance(v, str) and 1 <= len(v) <= 1024,
)


@dataclass(frozen=True, kw_only=True)
class ParameterValue:
    """One parameter and its value in this environment."""

    owner: str
    """The service that reads it (a DNS label), or `shared` for every service."""

    name: str
    """Its name within its owner's branch (a DNS label), such as `feature-flags`."""

    type: ParameterType
    """String, or StringList (comma-separated values)."""

    value: str
    """Its value in this environment: 1-4096 bytes."""

    description: str
    """What it is for (1-1024 characters), shown in the console beside it."""


@dataclass(frozen=True, kw_only=True)
class ParameterHierarchyArgs:
    """Arguments of `ParameterHierarchy`."""

    root: str
    """The environment's root path, such as `/osp/prod`. Fixed for the environment's life:
    changing it replaces every parameter."""

    parameters: Sequence[ParameterValue]
    """The parameters, each (owner, name) once."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every parameter (osp's tag set, from osp.platform.naming.standard_tags)."""


def branch(root: str, owner: str) -> str:
    """The path of `owner`'s parameters under `root`: `<root>/services/<owner>` for a
    service, `<root>/shared` for the shared ones."""
    return f"{root}/{SHARED}" if owner == SHARED else f"{root}/services/{owner}"


def problems(name: str, args: ParameterHierarchyArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("ParameterHierarchy", name)
    root_ok = check.against(_ROOT, "root", args.root)
    seen: set[tuple[str, str]] = set()
    for position, parameter in enumerate(args.parameters):
        where = f"parameters[{position}]"
        owner_ok = check.against(_SEGMENT, f"{where}.owner", parameter.owner)
        name_ok = check.against(_SEGMENT, f"{where}.name", parameter.name)
        check.against(_TYPE, f"{where}.type", parameter.type)
        check.against(_VALUE, f"{where}.value", parameter.value)
        check.against(_DESCRIPTION, f"{where}.description", parameter.description)
        if owner_ok and name_ok:
            key = (parameter.owner, parameter.name)
            check.check(
                key not in seen, f"{where}.name", parameter.name, "each name once per owner"
            )
            seen.add(key)
            if root_ok:
                path = f"{branch(args.root, parameter.owner)}/{parameter.name}"
                check.check(
                    len(path) <= MAX_NAME_LENGTH and path.count("/") <= MAX_LEVELS,
                    f"{where}.name",
                    path,
                    f"a full name of at most {MAX_NAME_LENGTH} characters and {MAX_LEVELS} levels",
                )
    return check.found


class ParameterHierarchy(pulumi.ComponentResource):
    """The parameters of one environment, one `aws:ssm/parameter:Parameter` each
    (`<name>-<owner>-<parameter>`), standard tier, as plain text so that plans and diffs show
    the values (none is secret)."""

    paths: dict[str, str]
    """Each owner's branch (`<root>/services/<service>`, `<root>/shared`), by owner."""
    arns: dict[str, pulumi.Output[str]]
    """Each parameter's ARN, by its full name."""

    def __init__(
        self, name: str, args: ParameterHierarchyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        self.paths = {}
        self.arns = {}
        for parameter in args.parameters:
            path = branch(args.root, parameter.owner)
            self.paths[parameter.owner] = path
            full = f"{path}/{parameter.name}"
            child = f"{name}-{parameter.owner}-{parameter.name}"
            created = aws.ssm.Parameter(
                child,
                name=full,
                type=ParameterType(parameter.type).value,
                insecure_value=parameter.value,
                tier="Standard",
                data_type="text",
                description=parameter.description,
                tags={"Name": child} | dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.arns[full] = created.arn
        self.register_outputs({"paths": self.paths, "arns": self.arns})
