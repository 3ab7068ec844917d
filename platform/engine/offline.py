"""The offline engine: runs the caller's program for a spec in-process under Pulumi mocks.

No Pulumi CLI, no plugins, no AWS. A recording resource monitor captures every registration
as the Pulumi engine would receive it — URN, type, parent, provider, dependencies, options and
inputs — and the fake AWS (`fake_aws.FakeAws`) answers for the cloud. Secret values are
replaced by "<secret>" before anything is kept.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from osp.platform.engine.fake_aws import FakeAws
from osp.platform.engine.runtime import offline_runtime
from osp.platform.errors import EngineError, OspError
from osp.platform.plan import STACK_TYPE, Plan, PlannedResource, Program, ResourceOptions
from osp.platform.spec import EnvironmentSpec

ENGINE = "offline"
SECRET = "<secret>"
UNKNOWN = "<unknown>"
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
_ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"

# One offline run at a time: the Pulumi runtime keeps its settings in process-wide state.
_RUN_LOCK = threading.Lock()


def plain(value: Any) -> Any:
    """A wire value (JSON from a protobuf Struct) as plain data, secrets masked."""
    if isinstance(value, dict):
        sig = value.get(rpc._special_sig_key)
        if sig == rpc._special_secret_sig:
            return SECRET
        if sig == _RESOURCE_SIG:
            return value.get("urn")
        if sig == _ASSET_SIG:
            return {"asset": value.get("path") or value.get("uri") or "<text>"}
        if sig == _ARCHIVE_SIG:
            return {"archive": value.get("path") or value.get("uri") or "<assets>"}
        return {k: plain(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == rpc.UNKNOWN:
        return UNKNOWN
    return value


def _struct(message: Any) -> dict[str, Any]:
    return plain(json_format.MessageToDict(message)) if message is not None else {}


def _provider_urn(reference: str) -> str | None:
    """ "<urn>::<id>" → "<urn>"; "" (the package's default provider) → None."""
    return reference.rsplit("::", 1)[0] if reference else None


class _RecordingMonitor(mocks.MockMonitor):
    """A mock resource monitor that keeps every registration request it serves."""

    def __init__(self, cloud: FakeAws, on_register: Callable[[int], None] | None = None):
        super().__init__(cloud)
        self.cloud = cloud
        self.on_register = on_register
        self.records: dict[str, PlannedResource] = {}
        self.outputs: dict[str, Any] = {}
        self._lock = threading.Lock()

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type.startswith("pulumi:providers:"):
            region = _struct(request.object).get("region")
            if region:
                self.cloud.provider_regions[f"{response.urn}::{response.id}"] = region
        record = PlannedResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            custom=bool(request.custom),
            provider=_provider_urn(request.provider),
            dependencies=tuple(sorted(set(request.dependencies))),
            property_dependencies={
                key: tuple(sorted(set(deps.urns)))
                for key, deps in sorted(request.propertyDependencies.items())
                if deps.urns
            },
            options=ResourceOptions(
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                ignore_changes=tuple(sorted(request.ignoreChanges)),
                delete_before_replace=bool(request.deleteBeforeReplace),
            ),
            inputs=_struct(request.object),
        )
        with self._lock:
            if record.urn in self.records:
                raise EngineError(f"two resources share the URN {record.urn}")
            self.records[record.urn] = record
            count = len(self.records)
        if self.on_register is not None:
            self.on_register(count)
        return response

    def RegisterResourceOutputs(self, request):
        if request.urn.split("::")[2] == STACK_TYPE:
            self.outputs = _struct(request.outputs)
        return super().RegisterResourceOutputs(request)


class _Diagnostics(logging.Handler):
    """Collects what the program and providers log through the (mock) engine."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _without_orphaned_failures(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # When a program fails, every Output downstream of the failure holds the same exception
    # and nothing awaits it any more; when those futures are collected, asyncio would print
    # each one's traceback ("Future exception was never retrieved"), long after `run` has
    # reported the failure once, as an EngineError.
    if context.get("message") == "Future exception was never retrieved":
        return
    loop.default_exception_handler(context)


def run(
    spec: EnvironmentSpec,
    program: Program,
    *,
    project: str = "osp",
    on_register: Callable[[int], None] | None = None,
) -> Plan:
    """Run `program` for `spec` and return everything it declared.

    The CLI passes the estate (`osp.stacks.estate.build`); tests pass one component's program.
    `on_register(count)` is called after each resource is registered, with how many have
    been so far (from the engine's threads; it must be quick and must not raise): the CLI's
    progress display. It sees counts only, so the plan cannot depend on it.
    """
    cloud = FakeAws(spec)
    monitor = _RecordingMonitor(cloud, on_register)
    logger = logging.getLogger(f"osp.engine.offline.{spec.name}")
    logger.propagate = False
    diagnostics = _Diagnostics()
    logger.addHandler(diagnostics)

    # offline_runtime: the SDK tuned for an in-process plan (garbage collection, waiting for
    # outputs, stack traces), everything put back after; engine/runtime.py says why.
    with _RUN_LOCK, offline_runtime():
        settings.configure(
            mocks.MockSettings(
                monitor=monitor,
                monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
                engine=mocks.MockEngine(logger),
                project=project,
                stack=spec.name,
                dry_run=False,
                organization="organization",
                callbacks=None,
            )
        )
        settings.ROOT.set(None)
        _ensure_event_loop().set_exception_handler(_without_orphaned_failures)
        try:
            _sync_await(run_in_stack(lambda: program(spec)))
        except OspError:
            raise
        except Exception as exc:  # the program is osp's own code: show why, not a traceback
            if os.environ.get("OSP_DEBUG"):
                raise
            raise EngineError(
                f"the {spec.name} program failed under the offline engine: "
                f"{type(exc).__name__}: {exc} (set OSP_DEBUG=1 for the traceback)"
            ) from exc
        finally:
            logger.removeHandler(diagnostics)

    return Plan(
        project=project,
        environment=spec.name,
        stack=spec.name,
        blueprint=spec.blueprint,
        engine=ENGINE,
        resources=tuple(monitor.records[urn] for urn in sorted(monitor.records)),
        outputs=monitor.outputs,
        warnings=tuple(diagnostics.messages),
    )
