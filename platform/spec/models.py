"""The environment spec: typed, validated models of a stack config file.

Field aliases are the keys a stack file uses (`osp:network`, `aws:region`), so validation
errors name exactly what the user wrote. Every model rejects unknown keys.
"""

from __future__ import annotations

import re
from enum import StrEnum
from ipaddress import IPv4Network
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from osp.platform import cidr as addressing
from osp.platform.naming import REQUIRED_TAG_KEYS

#: Problems found across fields are raised under this error type; its context carries a list
#: of (path, value, expected) triples that osp.platform.spec.problems turns into messages.
CROSS_FIELD_ERROR = "osp_cross_field"

ENVIRONMENT_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,14}[a-z0-9])?$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
MAX_SPEC_TAGS = 40  # AWS allows 50 per resource; osp's own tags and Name take the rest.


class Profile(StrEnum):
    """An environment profile: which preset supplies the defaults."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


class NatStrategy(StrEnum):
    """How private subnets reach the internet."""

    #: One NAT gateway in the first zone for all private subnets (cheap; one zone's outage
    #: cuts every zone's egress).
    SINGLE = "single"
    #: A NAT gateway per zone; each zone's private subnet routes through its own.
    PER_AZ = "per-az"


def _region(value: str) -> str:
    if not _REGION.match(value):
        raise ValueError("expected an AWS region such as us-east-1 or eu-west-2")
    return value


def _domain(value: str) -> str:
    labels = value.split(".")
    if (
        len(value) > 253
        or len(labels) < 2
        or not all(_DNS_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValueError(
            "expected a lower-case DNS name with at least two labels, such as school.example.com"
        )
    return value


def _account_id(value: str) -> str:
    if not _ACCOUNT_ID.match(value):
        raise ValueError("expected a 12-digit AWS account id, quoted, such as '123456789012'")
    return value


Region = Annotated[str, AfterValidator(_region)]
DomainName = Annotated[str, AfterValidator(_domain)]
AccountId = Annotated[str, AfterValidator(_account_id)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SubnetTier(_Model):
    """One subnet tier: the block its subnets come from, and each zone's subnet size."""

    cidr: IPv4Network = Field(description="Block the tier's zone subnets are carved from.")
    prefix_length: int = Field(
        ge=addressing.MIN_VPC_PREFIX,
        le=addressing.MAX_SUBNET_PREFIX,
        description="Prefix length of each zone's subnet; zone i gets the i-th one in the block.",
    )

    @model_validator(mode="after")
    def _fits(self) -> SubnetTier:
        if self.prefix_length < self.cidr.prefixlen:
            raise ValueError(
                f"prefix_length /{self.prefix_length} is larger than its block {self.cidr}; "
                f"expected /{self.cidr.prefixlen} to /{addressing.MAX_SUBNET_PREFIX}"
            )
        return self


class SubnetPlan(_Model):
    """The address plan of the three tiers. Defaults are carved from the VPC CIDR."""

    public: SubnetTier = Field(description="Load balancers and NAT gateways.")
    private: SubnetTier = Field(description="Workloads: EKS nodes and pods.")
    isolated: SubnetTier = Field(description="Data stores; no route to the internet.")

    @model_validator(mode="after")
    def _disjoint(self) -> SubnetPlan:
        tiers = [(name, getattr(self, name).cidr) for name in addressing.TIERS]
        for i, (a, block_a) in enumerate(tiers):
            for b, block_b in tiers[i + 1 :]:
                if block_a.overlaps(block_b):
                    raise ValueError(
                        f"{a} block {block_a} overlaps {b} block {block_b}; "
                        "expected each tier in a block of its own"
                    )
        return self


class NetworkSpec(_Model):
    """The VPC: its address space, zones and egress."""

    cidr: IPv4Network = Field(
        IPv4Network("10.0.0.0/16"),
        description="VPC CIDR block (/16 to /20 for the default subnet plan).",
    )
    zone_count: int | None = Field(
        None, ge=2, le=addressing.ZONE_SLOTS, description="Zones to spread over (profile default)."
    )
    availability_zones: tuple[str, ...] | None = Field(
        None,
        description="Zones by name; default: the region's first `zone_count` zones (a, b, c …).",
    )
    nat: NatStrategy = Field(NatStrategy.PER_AZ, description="NAT strategy (profile default).")
    subnets: SubnetPlan | None = Field(
        None, description="Explicit subnet plan; default carved from `cidr`."
    )

    @model_validator(mode="before")
    @classmethod
    def _default_plan(cls, data: Any) -> Any:
        # Carve the default plan here, where the VPC CIDR is known, so that the plan is
        # validated (and shown in errors) exactly like an explicit one.
        if isinstance(data, dict) and data.get("subnets") is None:
            try:
                vpc = IPv4Network(str(data.get("cidr", "10.0.0.0/16")))
            except ValueError:
                return data  # the cidr field reports it
            if addressing.MIN_VPC_PREFIX <= vpc.prefixlen <= addressing.MAX_VPC_PREFIX:
                return {**data, "subnets": addressing.default_plan(vpc)}
        return data

    @field_validator("cidr")
    @classmethod
    def _private_range(cls, value: IPv4Network) -> IPv4Network:
        if not value.is_private:
            raise ValueError("expected a private (RFC 1918) block such as 10.0.0.0/16")
        if not addressing.MIN_VPC_PREFIX <= value.prefixlen <= 24:
            raise ValueError("expected a prefix length between /16 and /24")
        return value

    @property
    def zones(self) -> tuple[str, ...]:
        """The zones, in slot order (resolved by EnvironmentSpec; never None once validated)."""
        return self.availability_zones or ()


class EnvironmentSpec(_Model):
    """A whole environment, as its stack file and profile preset describe it."""

    name: str = Field(description="Environment name: the X of stacks/Pulumi.X.yaml.")
    profile: Profile = Field(alias="osp:profile", description="Preset the defaults come from.")
    blueprint: str = Field(
        "osp", alias="osp:blueprint", description="Which bundled estate to deploy."
    )
    region: Region = Field(alias="aws:region", description="AWS region of the environment.")
    account_id: AccountId | None = Field(
        None,
        alias="osp:account_id",
        description="AWS account the environment lives in (offline plans use it in ARNs).",
    )
    domain: DomainName = Field(
        alias="osp:domain", description="DNS name the portals and the API live under."
    )
    tags: dict[str, str] = Field(
        default_factory=dict, alias="osp:tags", description="Extra tags on every resource."
    )
    network: NetworkSpec = Field(default_factory=NetworkSpec, alias="osp:network")

    @model_validator(mode="before")
    @classmethod
    def _default_zones(cls, data: Any) -> Any:
        # The default zones need the region, so they are resolved at this level.
        if not isinstance(data, dict):
            return data
        network, region = data.get("osp:network"), data.get("aws:region")
        if (
            isinstance(network, dict)
            and network.get("availability_zones") is None
            and isinstance(region, str)
        ):
            count = network.get("zone_count")
            if isinstance(count, int) and 2 <= count <= addressing.ZONE_SLOTS:
                zones = [f"{region}{letter}" for letter in "abcdef"[:count]]
                data = {**data, "osp:network": {**network, "availability_zones": zones}}
        return data

    @field_validator("blueprint")
    @classmethod
    def _known_blueprint(cls, value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("blueprints")
        if known is not None and value not in known:
            raise ValueError(f"expected one of the bundled blueprints: {', '.join(known)}")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_SPEC_TAGS:
            raise ValueError(f"expected at most {MAX_SPEC_TAGS} tags")
        for key, tag in value.items():
            if key in REQUIRED_TAG_KEYS or key.lower().startswith(("aws:", "osp:")):
                raise ValueError(
                    f"tag key {key!r} is reserved; expected keys not starting with 'aws:' or 'osp:'"
                )
            if not 1 <= len(key) <= 128 or len(tag) > 256:
                raise ValueError(
                    f"tag {key!r}: expected a key of 1-128 and a value of at most 256 characters"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EnvironmentSpec:
        problems: list[tuple[str, object, str]] = []
        net = self.network
        zones = net.availability_zones
        where = "osp:network.availability_zones"
        if zones is None:
            problems.append(
                (where, None, "a list of zones, or osp:network.zone_count to derive them")
            )
            zones = ()
        for zone in zones:
            if not re.fullmatch(re.escape(self.region) + r"[a-z]", zone):
                problems.append((where, zone, f"zones of {self.region}, such as {self.region}a"))
        if len(set(zones)) != len(zones):
            problems.append((where, list(zones), "each zone once"))
        if net.zone_count is not None and zones and net.zone_count != len(zones):
            problems.append(
                (
                    "osp:network.zone_count",
                    net.zone_count,
                    f"the number of availability_zones listed ({len(zones)}), or leave it out",
                )
            )
        minimum = 2 if self.profile is Profile.DEV else 3
        if zones and len(zones) < minimum:
            problems.append(
                (where, list(zones), f"at least {minimum} zones for a {self.profile} environment")
            )
        if net.subnets is not None:
            for tier in addressing.TIERS:
                plan = getattr(net.subnets, tier)
                path = f"osp:network.subnets.{tier}"
                if not plan.cidr.subnet_of(net.cidr):
                    problems.append(
                        (f"{path}.cidr", str(plan.cidr), f"a block inside the VPC {net.cidr}")
                    )
                capacity = addressing.slots(plan.cidr, plan.prefix_length)
                if zones and capacity < len(zones):
                    problems.append(
                        (
                            f"{path}.prefix_length",
                            plan.prefix_length,
                            f"room for {len(zones)} zone subnets in {plan.cidr} "
                            f"(/{plan.prefix_length} gives {capacity})",
                        )
                    )
        elif net.cidr.prefixlen > addressing.MAX_VPC_PREFIX:
            problems.append(
                (
                    "osp:network.subnets",
                    None,
                    f"an explicit subnet plan: the default plan needs a VPC of "
                    f"/{addressing.MIN_VPC_PREFIX} to /{addressing.MAX_VPC_PREFIX}, got {net.cidr}",
                )
            )
        if problems:
            raise PydanticCustomError(
                CROSS_FIELD_ERROR,
                "{count} problems",
                {"count": len(problems), "problems": problems},
            )
        return self

    @property
    def zones(self) -> tuple[str, ...]:
        return self.network.zones
