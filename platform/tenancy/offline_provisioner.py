"""The offline Provisioner: a tenant's stack planned by the offline engine, nothing created.

`osp tenant create --offline` and `--dry-run` use it: the tenant program runs in-process
under Pulumi mocks against the environment's outputs (the estate's offline plan outputs),
and what it declared comes back as the `Provisioned` plan. Nothing exists offline, so
`destroy` has nothing to do; it is recorded, so a caller can show what was asked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from osp.platform.engine import offline
from osp.platform.plan import Plan
from osp.platform.spec import EnvironmentSpec
from osp.platform.tenancy.model import Tenant, Tier
from osp.platform.tenancy.provisioning import (
    Provisioned,
    TenantProgram,
    program_environment,
    tenant_stack_name,
)

#: The environment stack's outputs (plain values, or the automation layer's `Output`s, whose
#: secrets stay secret), or a function giving them (called once, on the first apply: the
#: estate's offline plan takes seconds).
EnvironmentOutputs = Mapping[str, Any] | Callable[[], Mapping[str, Any]]


@dataclass(frozen=True)
class Destroyed:
    """A destroy the offline provisioner was asked for, and the plan of the stack's
    offboarding form (what a real destroy first updates the stack to)."""

    stack: str
    delete_data: bool
    release: Plan


class OfflineProvisioner:
    """A `Provisioner` running the tenant program under the offline engine.

    `version(tier)` is the current blueprint version of a tier (what `apply` reports the
    stack brought to).
    """

    def __init__(
        self,
        spec: EnvironmentSpec,
        program: TenantProgram,
        environment_outputs: EnvironmentOutputs,
        version: Callable[[Tier], str],
    ) -> None:
        self.spec = spec
        self.program = program
        self.version = version
        self._outputs = environment_outputs
        self.destroyed: list[Destroyed] = []

    def __repr__(self) -> str:
        return f"OfflineProvisioner({self.spec.name!r})"

    @property
    def environment_outputs(self) -> Mapping[str, Any]:
        if callable(self._outputs):
            self._outputs = self._outputs()
        return self._outputs

    def apply(self, tenant: Tenant) -> Provisioned:
        outputs = self.environment_outputs
        stack = tenant_stack_name(self.spec.name, tenant.slug)
        plan = offline.run(
            self.spec, lambda spec: self.program(spec, tenant, program_environment(outputs))
        )
        return Provisioned(
            stack=stack,
            blueprint_version=self.version(tenant.tier),
            outputs=plan.outputs,
            plan=replace(plan, stack=stack),
        )

    def plan(self, tenant: Tenant) -> Plan:
        """The tenant stack's plan (offline, planning is all applying does)."""
        plan = self.apply(tenant).plan
        assert plan is not None  # the offline engine always plans
        return plan

    def outputs(self, tenant: Tenant) -> Mapping[str, Any]:
        """What the tenant's stack would export (nothing exists offline to read)."""
        return self.apply(tenant).outputs

    def destroy(self, tenant: Tenant, *, delete_data: bool) -> None:
        """Plan the offboarding form of the stack (so a broken one fails here as it would for
        real) and record the destroy; nothing exists offline to destroy."""
        outputs = self.environment_outputs
        stack = tenant_stack_name(self.spec.name, tenant.slug)
        release = offline.run(
            self.spec,
            lambda spec: self.program(
                spec, tenant, program_environment(outputs), delete_data=delete_data
            ),
        )
        self.destroyed.append(Destroyed(stack, delete_data, replace(release, stack=stack)))
