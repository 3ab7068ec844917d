"""The real Provisioner: each tenant's stack, `<env>.tenant-<slug>`, run by the Pulumi engine
through the same Automation API layer `osp up` uses (osp.platform.automation.operations).

A tenant stack lives in the environment's backend, next to the environment's own stack, and
is secured by the same secrets provider. Its workspace folder is in the osp home
(`workspaces/<project>/<env>/`), so a thousand schools never put a thousand stack files into
the project; osp keeps the environment's provider configuration (`aws:region`, `aws:profile`,
…, read from its stack file) set on each tenant stack.

The tenant program reads the environment stack's outputs, read once per command through the
Automation API (`osp outputs`' read), as plain values; a secret output stays a secret in the
tenant's state. Reading them up front (rather than a StackReference inside every tenant
program) costs one read for a rollout of the whole fleet, and lets the same program run under
the offline engine against the environment's offline plan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from osp.platform import home
from osp.platform.automation import operations
from osp.platform.automation import stack as stacks
from osp.platform.automation.changes import ChangeSet
from osp.platform.automation.confirmation import Confirmation
from osp.platform.automation.interrupt import Stop
from osp.platform.errors import OspError
from osp.platform.plan import Plan
from osp.platform.project import Project
from osp.platform.spec import EnvironmentSpec, provider_config
from osp.platform.tenancy.model import Tenant, Tier
from osp.platform.tenancy.provisioning import (
    Provisioned,
    Provisioner,
    TenantProgram,
    program_environment,
)
from osp.platform.tenancy.provisioning import tenant_stack_name as stack_name


class Quiet:
    """A Reporter showing nothing: a rollout's tenants run side by side, and their results,
    not their engine events, are what it reports."""

    def stage(self, stage: str, environment: str) -> None:
        pass

    def event(self, event: Any, notices: list[Any]) -> None:
        pass

    def changes(self, changes: ChangeSet, environment: str) -> None:
        pass

    def confirm(self, question: Confirmation) -> bool:
        return False  # tenant stacks never ask: the tenant command asked before

    def interrupting(self, kind: Stop, reached: int) -> None:
        pass


class StackProvisioner:
    """A `Provisioner` running tenant stacks for real.

    `environment_outputs`: the environment stack's outputs as the automation layer reads
    them; `version(tier)`: the current blueprint version of a tier; `reporter`: where engine
    events go (default: nowhere); `unprovisioned`: plans a tenant that has no stack yet
    (`plan` of a tenant whose create never reached its stack), typically the offline
    provisioner against the same outputs.
    """

    def __init__(
        self,
        project: Project,
        spec: EnvironmentSpec,
        program: TenantProgram,
        environment_outputs: Mapping[str, operations.Output],
        version: Callable[[Tier], str],
        *,
        reporter: operations.Reporter | None = None,
        unprovisioned: Provisioner | None = None,
    ) -> None:
        self.project = project
        self.spec = spec
        self.program = program
        self.version = version
        self.reporter: operations.Reporter = reporter or Quiet()
        self.unprovisioned = unprovisioned
        self._outputs = dict(environment_outputs)
        # Read and checked before any stack is touched: a secret provider setting in the
        # stack file is refused here, not halfway through a rollout.
        self._config = provider_config(project, spec.name)
        self._work_dir: Path | None = None  # created by the first stack opened, not before

    def __repr__(self) -> str:
        return f"StackProvisioner({self.spec.name!r})"

    def apply(self, tenant: Tenant) -> Provisioned:
        env = self._connect(tenant)
        outcome = operations.update_stack(env, self.reporter)
        return Provisioned(
            stack=env.name,
            blueprint_version=self.version(tenant.tier),
            outputs={name: output.value for name, output in outcome.outputs.items()},
        )

    def plan(self, tenant: Tenant) -> Plan:
        """A real preview of the tenant's stack; a tenant without a stack yet is planned by
        `unprovisioned` (what its create would bring up)."""
        plan = operations.preview_stack(self._connect(tenant), self.reporter)
        if plan is not None:
            return plan
        if self.unprovisioned is None:
            raise stacks.NoStackError(
                f"tenant {tenant.slug} has no stack ({stack_name(self.spec.name, tenant.slug)}) "
                "to preview yet"
            )
        return self.unprovisioned.plan(tenant)

    def outputs(self, tenant: Tenant) -> dict[str, Any] | None:
        """The outputs of the tenant's stack (secrets masked); None when it has none."""
        found = operations.stack_outputs(self._connect(tenant))
        return None if found is None else operations.mask(found, show_secrets=False)

    def destroy(self, tenant: Tenant, *, delete_data: bool) -> None:
        """Release what protects the tenant's resources (an update with the program's
        offboarding form: protection lifted, a final database snapshot, the bucket emptied
        only with `delete_data` and otherwise kept out of the stack with its data), destroy
        them, and remove the stack."""
        release = self._connect(tenant, delete_data=delete_data)
        if operations.stack_outputs(release) is None:
            return  # no stack: its create never reached it, or an earlier delete removed it
        operations.update_stack(release, self.reporter)
        operations.remove_stack(release, self.reporter)

    def _connect(
        self, tenant: Tenant, *, delete_data: bool | None = None
    ) -> operations.Environment:
        values = self._outputs

        def program(spec: EnvironmentSpec) -> object:
            import pulumi

            environment = program_environment(values)
            try:
                if delete_data is None:
                    return self.program(spec, tenant, environment)
                return self.program(spec, tenant, environment, delete_data=delete_data)
            except OspError as exc:
                # The engine reports a RunError as its message alone: what the tenant's
                # failure records, not a Python traceback of the inline program.
                raise pulumi.RunError(str(exc)) from None

        if self._work_dir is None:
            folder = home.workspace_dir(self.project.name, self.spec.name)
            self._work_dir = stacks.prepare_workspace(folder, self.project.name)
        return operations.connect(
            self.project,
            self.spec,
            program,
            stack=stack_name(self.spec.name, tenant.slug),
            work_dir=self._work_dir,
            config=self._config,
        )
