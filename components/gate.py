"""`TenantGate`: a CloudFront KeyValueStore of host names and the viewer-request function
that refuses the hosts it marks suspended."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources

import pulumi
import pulumi_aws as aws

from osp.platform import limits
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:gate:TenantGate"

#: The function's source, shipped beside this module as package data. It runs at CloudFront's
#: edge locations, runtime cloudfront-js-2.0, and reads the store through `cf.kvs()`.
GATE_HANDLER_FILE = "handlers/tenant_gate.js"

RUNTIME = "cloudfront-js-2.0"

#: A host's value in the store when its tenant's traffic is refused; the function compares
#: with exactly this text.
SUSPENDED = "suspended"
#: A host's value when its tenant is served (any value but SUSPENDED serves; this one says so).
ACTIVE = "active"

#: The status a refused viewer gets. Not 403 or 404: the portals' SPA routing answers those
#: with index.html and 200.
REFUSAL_STATUS = 503


def gate_code() -> str:
    """The source of the gate's function, as CloudFront runs it."""
    return resources.files("osp.components").joinpath(GATE_HANDLER_FILE).read_text(encoding="utf-8")


def function_name(name: str) -> str:
    """The physical name of the function of the gate named `name`."""
    return f"{name}-viewer-request"


@dataclass(frozen=True, kw_only=True)
class TenantGateArgs:
    """Arguments of `TenantGate`."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the store and the function (osp's tag set)."""


def problems(name: str, args: TenantGateArgs) -> list[str]:
    """Everything wrong with `name` and `args`, one message per problem (empty when valid)."""
    check = Problems("TenantGate", name)
    check.against(limits.CLOUDFRONT_KEY_VALUE_STORE_NAME, "name", name)
    check.against(
        limits.CLOUDFRONT_FUNCTION_NAME, "name (+ '-viewer-request')", function_name(name)
    )
    return check.found


class TenantGate(pulumi.ComponentResource):
    """Refuses suspended tenants' names at CloudFront's edge.

    A KeyValueStore named `name` holds one key per tenant host (`<slug>.<domain>`, a custom
    domain), whose value is SUSPENDED or ACTIVE; the tenant program writes them. A
    viewer-request CloudFront Function (`<name>-viewer-request`, cloudfront-js-2.0,
    published live) reads the store: a request whose Host is marked SUSPENDED gets
    REFUSAL_STATUS, `cache-control: no-store` and "This school's access is suspended"; every
    other request passes unchanged, including hosts with no key (the portal's own name) and
    requests met by a store that cannot be read (the gate fails open). Associate
    `function_arn` with the viewer-request event of every behaviour of the distribution that
    answers tenants' names (`StaticSiteArgs.viewer_request_function_arn`).
    """

    store_arn: pulumi.Output[str]
    function_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: TenantGateArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        if found := problems(name, args):
            raise InvalidArguments(found)
        store = aws.cloudfront.KeyValueStore(
            f"{name}-store",
            name=name,
            comment="osp: tenant host names and their state (suspended or active)",
            tags={"Name": name, **args.tags},
            opts=pulumi.ResourceOptions(parent=self),
        )
        gate = function_name(name)
        function = aws.cloudfront.Function(
            gate,
            name=gate,
            runtime=RUNTIME,
            comment="osp: refuses suspended tenants' names at the edge",
            code=gate_code(),
            key_value_store_associations=[store.arn],
            publish=True,
            tags={"Name": gate, **args.tags},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.store_arn = store.arn
        self.function_arn = function.arn
        self.register_outputs({"storeArn": self.store_arn, "functionArn": self.function_arn})
