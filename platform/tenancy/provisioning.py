"""How a tenant's own stack is brought to its tier's blueprint, whichever engine runs it.

Each tenant's resources live in a stack of their own, `<env>.tenant-<slug>`, declared by a
`TenantProgram` (osp.stacks.tenant's, passed in by the caller: platform never imports stacks)
from the environment's spec, the tenant and the environment stack's outputs. A `Provisioner`
runs it: offline under the mocks engine, or for real through the Automation API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from osp.platform.plan import Plan
from osp.platform.spec import EnvironmentSpec
from osp.platform.tenancy.model import Tenant


class TenantProgram(Protocol):
    """Declares one tenant's resources from the environment's spec, the tenant and the
    environment stack's outputs.

    `delete_data` is given only when the tenant is being offboarded: the program then
    declares the form of its stack that lets a destroy through (protection lifted, a final
    database snapshot) and, unless `delete_data`, keeps the tenant's data out of the destroy.
    """

    def __call__(
        self,
        spec: EnvironmentSpec,
        tenant: Tenant,
        environment: Mapping[str, Any],
        /,
        *,
        delete_data: bool = ...,
    ) -> object: ...


def tenant_stack_name(environment: str, slug: str) -> str:
    """The Pulumi stack holding one tenant's resources."""
    return f"{environment}.tenant-{slug}"


@dataclass(frozen=True)
class Provisioned:
    """What bringing a tenant's stack to its tier left behind."""

    stack: str
    blueprint_version: str
    """The version of the tier blueprint the stack now matches (what a rollout compares)."""
    outputs: Mapping[str, Any] = field(default_factory=dict)
    plan: Plan | None = None
    """The plan the program declared (offline, or a real run's preview), for show and verify."""


class Provisioner(Protocol):
    """Runs tenant stacks. Every method raises an OspError naming what failed."""

    def apply(self, tenant: Tenant) -> Provisioned:
        """Create or update the tenant's stack to the current blueprint of its tier."""
        ...

    def plan(self, tenant: Tenant) -> Plan:
        """What the tenant's stack declares at the current blueprint, changing nothing."""
        ...

    def outputs(self, tenant: Tenant) -> Mapping[str, Any] | None:
        """What the tenant's stack exports (offline: what its plan would); None when it has
        no stack."""
        ...

    def destroy(self, tenant: Tenant, *, delete_data: bool) -> None:
        """Destroy the tenant's stack; data stores keep a final snapshot, and a silo's bucket
        is emptied only with `delete_data`."""
        ...


def program_environment(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The environment's outputs as a tenant program takes them; call it inside the running
    program. An output the automation layer read as secret (`operations.Output` with
    `secret`) becomes a secret Output again: it stays encrypted in the tenant's state and is
    masked in plans. Plain values (the offline plan's outputs) pass as they are."""
    import pulumi

    from osp.platform.automation.operations import Output

    return {
        name: (
            (pulumi.Output.secret(value.value) if value.secret else value.value)
            if isinstance(value, Output)
            else value
        )
        for name, value in outputs.items()
    }
