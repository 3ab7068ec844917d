"""The real Provisioner: tenant stacks through the Automation API layer, on a fake engine.

`open_stack` (the one seam into the Automation API) is replaced by the fake stack of
tests/cli/test_run_commands.py, and a stand-in `pulumi` is on PATH for osp's own CLI check.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.automation import OutputValue

from osp.platform.automation import stack as stacks
from osp.platform.automation.operations import Output
from osp.platform.engine import offline
from osp.platform.project import find_project
from osp.platform.tenancy.offline_provisioner import OfflineProvisioner
from osp.platform.tenancy.stack_provisioner import StackProvisioner
from tests.cli.test_run_commands import Engine
from tests.platform.tenancy.test_onboarding import create_tenant_in_memory
from tests.platform.test_automation_layer import standin
from tests.support import shipped_project, spec_of

SEEN: list[dict] = []


def program(spec, tenant, environment, *, delete_data=None):
    SEEN.append({"environment": environment, "delete_data": delete_data})
    aws.s3.BucketObjectv2(
        f"osp-{spec.name}-tenant-{tenant.slug}-readme",
        bucket=environment["bucket"],
        key=f"tenants/{tenant.slug}/README",
        content=environment["kubeconfig"],
    )


@pytest.fixture
def engine(tmp_path, monkeypatch) -> Engine:
    fake = standin(tmp_path / "cli")
    monkeypatch.setenv("PATH", f"{fake.bin}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("OSP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    # The embedded backend of a deployed environment: a stack is read only where state is.
    (tmp_path / "home" / "state").mkdir(parents=True)
    state = Engine()
    state.stack.values = {"hostname": OutputValue("springfield.dev.osp.example.com", False)}
    state.stack.removed = []
    state.stack.workspace = SimpleNamespace(remove_stack=state.stack.removed.append)
    monkeypatch.setattr(stacks, "open_stack", state.open_stack)
    SEEN.clear()
    return state


def provisioner(**options) -> StackProvisioner:
    outputs = {
        "bucket": Output("osp-dev-documents-1", secret=False),
        "kubeconfig": Output("apiVersion: v1", secret=True),
    }
    project = find_project(shipped_project())
    return StackProvisioner(project, spec_of("dev"), program, outputs, lambda tier: "v7", **options)


def test_apply_updates_the_tenants_stack_and_keeps_a_secret_output_secret(engine):
    provisioned = provisioner().apply(create_tenant_in_memory())
    assert (provisioned.stack, provisioned.blueprint_version) == ("dev.tenant-springfield", "v7")
    assert provisioned.outputs == {"hostname": "springfield.dev.osp.example.com"}
    plan = offline.run(spec_of("dev"), lambda spec: engine.program())
    (readme,) = [r for r in plan.resources if r.custom]
    assert readme.inputs["bucket"] == "osp-dev-documents-1"
    (seen,) = SEEN
    assert isinstance(seen["environment"]["kubeconfig"], pulumi.Output)
    assert seen["delete_data"] is None  # only an offboarding is told about data


def test_outputs_mask_secrets_and_a_missing_stack_has_none(engine):
    engine.stack.values["token"] = OutputValue("s3cr3t", True)
    tenant = create_tenant_in_memory()
    assert provisioner().outputs(tenant) == {
        "hostname": "springfield.dev.osp.example.com",
        "token": "<secret>",
    }
    engine.stack.errors["open"] = stacks.NoStackError("no stack")
    assert provisioner().outputs(tenant) is None


def test_plan_previews_the_stack_or_plans_a_tenant_that_has_none(engine):
    tenant = create_tenant_in_memory()
    plan = provisioner().plan(tenant)
    assert plan.stack == "dev.tenant-springfield" and engine.stack.ops() == ["preview"]

    engine.stack.errors["open"] = stacks.NoStackError("no stack")
    with pytest.raises(stacks.NoStackError):
        provisioner().plan(tenant)
    fallback = OfflineProvisioner(
        spec_of("dev"),
        program,
        {"bucket": "osp-dev-documents-1", "kubeconfig": "x"},
        lambda tier: "v7",
    )
    planned = provisioner(unprovisioned=fallback).plan(tenant)
    assert [r.name for r in planned.resources if r.custom] == ["osp-dev-tenant-springfield-readme"]


def test_destroy_releases_then_destroys_and_removes_the_stack(engine):
    provisioner().destroy(create_tenant_in_memory(), delete_data=False)
    assert engine.stack.ops() == ["outputs", "up", "destroy"]
    assert engine.stack.removed == ["dev.tenant-springfield"]
    assert [seen["delete_data"] for seen in SEEN] == []  # the program runs in the engine
    offline.run(spec_of("dev"), lambda spec: engine.program())
    assert [seen["delete_data"] for seen in SEEN] == [False]


def test_destroying_a_tenant_without_a_stack_changes_nothing(engine):
    engine.stack.errors["open"] = stacks.NoStackError("no stack")
    provisioner().destroy(create_tenant_in_memory(), delete_data=True)
    assert engine.stack.ops() == [] and engine.stack.removed == []


def test_a_tenant_program_error_reaches_the_engine_as_its_message_alone(engine):
    from osp.stacks.tenant import TenantProgramError

    def refuses(spec, tenant, environment, *, delete_data=None):
        raise TenantProgramError("tenant springfield: the silo tier needs 'vpcId'")

    failing = StackProvisioner(
        find_project(shipped_project()), spec_of("dev"), refuses, {}, lambda tier: "v7"
    )
    failing.apply(create_tenant_in_memory())
    with pytest.raises(pulumi.RunError) as raised:
        engine.program()
    assert str(raised.value) == "tenant springfield: the silo tier needs 'vpcId'"


def test_a_secret_environment_output_is_masked_in_an_offline_plan_of_the_tenant():
    outputs = {
        "bucket": Output("osp-dev-documents-1", secret=False),
        "kubeconfig": Output("apiVersion: v1 # token", secret=True),
    }
    planner = OfflineProvisioner(spec_of("dev"), program, outputs, lambda tier: "v7")
    plan = planner.plan(create_tenant_in_memory())
    (readme,) = [r for r in plan.resources if r.custom]
    assert readme.inputs["bucket"] == "osp-dev-documents-1"
    assert readme.inputs["content"] == "<secret>"
    assert "token" not in plan.dumps()
