"""How the offline engine runs the Pulumi SDK: `offline_runtime()`, the one seam between an
offline run and the process it runs in.

An offline plan is a burst of a few hundred thousand short-lived Python objects in a process
that has already imported the provider SDKs (another half million). Three of the SDK's defaults
cost more than osp's own code there, and none of them shapes the plan:

- the cyclic garbage collector: with the default thresholds a prod plan triggers about a dozen
  full collections, each walking everything the imports made (the provider SDKs are imported
  lazily, during the run, so freezing alone does not spare them); that was a third of the
  plan's CPU. For the run, what the process held before it is frozen (never walked), full
  collections are suspended (the young and middle generations are collected as usual: they
  hold the run's short-lived cycles, and a small young generation stays in the CPU's caches),
  and one collection at the end (before thawing) reclaims the run's own cycles — a cost
  proportionate to the run, not to the process;
- `pulumi.runtime.stack.wait_for_rpcs` waits for outstanding outputs with
  `asyncio.wait(FIRST_COMPLETED)` in a loop, which registers a callback on every pending output
  once per completion: quadratic in the number of outputs. The offline run waits on them all
  at once, and still wakes at the first failure, so an error surfaces as it did;
- `pulumi.runtime.resource._get_stack_trace` extracts the whole Python stack for every resource
  to send source positions to the engine; the mock monitor ignores them;
- `pulumi.runtime.rpc.transfer_properties` gives each property of a new resource an Output
  built from four futures and a task that gathers them: a typed provider class passes every
  output property it declares, read or not, so a prod plan holds some 10 500 of them (about
  2 KiB each) to its end — most of the difference in peak memory between a program of
  typed classes and the same resources registered bare. The offline run gives each the one
  future the Output keeps (`Output._from_data`), resolved with the same data the task would
  have gathered.

The three functions are private to the SDK, so they are replaced only while an offline run is in
progress and put back when the last one ends (a count under a lock: the tenant rollout plans
in threads). Even while installed, each replacement behaves as the SDK's own unless the calling
context is inside `offline_runtime()` — a real Pulumi program running in another thread is never
affected. The wait and the outputs replace code osp has read: each is installed only when the
SDK's source of it is the one it was written against (`SDK_WAIT_FOR_RPCS_SHA256`,
`SDK_OUTPUTS_SHA256`), so an SDK upgrade that changes it falls back to the SDK's behaviour
(slower, never different) and `tests/platform/test_engine.py` says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import gc
import hashlib
import inspect
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from pulumi import output as sdk_output
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import rpc as sdk_rpc
from pulumi.runtime import stack as sdk_stack
from pulumi.runtime.proto import source_pb2

#: sha256 of `inspect.getsource(pulumi.runtime.stack.wait_for_rpcs)` in the SDK (3.272) that
#: `_wait_for_rpcs` mirrors.
SDK_WAIT_FOR_RPCS_SHA256 = "c0f9027f85ad09255ded0a1908033b490f76d303a3e40b50d3cf47a69265469d"
#: sha256 of the sources of `pulumi.runtime.rpc.transfer_properties`, `Output.__init__` and
#: `Output._from_data`, in that order, in the SDK (3.272) that `_make_transfer_properties`
#: mirrors: the resolver it returns must give the Output the data `Output.__init__` would
#: gather.
SDK_OUTPUTS_SHA256 = "02cb408aca41e905526f305fcbb5ec7a203ff74af720dd05a2cf7febe13a0341"
#: The Pulumi SDK release the replacements below were read against.
SDK_VERSION_READ = "3.272.0"

#: The oldest generation's threshold during a run (default 10: a full collection after ten of
#: the middle generation's): high enough that a run makes none. Measured against a young
#: generation raised to 50 000 instead (the tuning before): 10–15 % less CPU, 3–5 MiB less
#: peak memory (tests/benchmarks/bench_engine.py, bench_scaling.py).
OLDEST_THRESHOLD = 1_000_000

_IN_OFFLINE_RUN: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "osp_offline_run", default=False
)


@dataclass(frozen=True)
class Replacement:
    """An SDK function the offline run replaces while it runs."""

    module: ModuleType
    name: str
    make: Callable[[Callable[..., Any]], Callable[..., Any]]  # the SDK's own → the replacement
    applies: Callable[[Callable[..., Any]], bool]  # is the SDK's own the one this was written for

    def original(self) -> Callable[..., Any] | None:
        return getattr(self.module, self.name, None)


def _source_sha256(*functions: Callable[..., Any]) -> str | None:
    try:
        source = "".join(inspect.getsource(function) for function in functions)
    except (OSError, TypeError):
        return None
    return hashlib.sha256(source.encode()).hexdigest()


def _until_all_done_or_one_fails(tasks: list[asyncio.Future]) -> asyncio.Future:
    """A future that completes when every one of `tasks` is done, or as soon as one of them
    fails or is cancelled: one callback per task, however many complete."""
    waiter = asyncio.get_running_loop().create_future()
    remaining = len(tasks)

    def on_done(task: asyncio.Future) -> None:
        nonlocal remaining
        remaining -= 1
        failed = task.cancelled() or task.exception() is not None
        if (failed or remaining == 0) and not waiter.done():
            waiter.set_result(None)

    for task in tasks:
        task.add_done_callback(on_done)

    def forget(_: asyncio.Future) -> None:
        for task in tasks:
            task.remove_done_callback(on_done)

    waiter.add_done_callback(forget)
    return waiter


def _make_wait_for_rpcs(sdk: Callable[..., Any]) -> Callable[..., Any]:
    async def wait_for_rpcs(await_all_outstanding_tasks: bool = True) -> None:
        if not _IN_OFFLINE_RUN.get():
            return await sdk(await_all_outstanding_tasks)
        # The SDK's own loop (SDK_WAIT_FOR_RPCS_SHA256), but for the outputs: one wait on all
        # of them instead of one per completion.
        rpc_manager = sdk_stack._get_rpc_manager()
        settings = sdk_stack.SETTINGS
        while True:
            while len(rpc_manager.rpcs) > 0:
                await asyncio.sleep(0)
                try:
                    await rpc_manager.rpcs.pop()
                except Exception as exn:
                    if rpc_manager.unhandled_exception is not None:
                        cause = rpc_manager.unhandled_exception.with_traceback(
                            rpc_manager.exception_traceback
                        )
                        raise exn from cause
                    raise
            if rpc_manager.unhandled_exception is not None:
                raise rpc_manager.unhandled_exception.with_traceback(
                    rpc_manager.exception_traceback
                )
            if await_all_outstanding_tasks:
                while True:
                    with settings.lock:
                        if len(settings.outputs) == 0:
                            break
                        pending = list(settings.outputs)
                        settings.outputs.clear()
                    await _until_all_done_or_one_fails(pending)
                    not_done = []
                    for task in pending:
                        if task.done():
                            await task  # re-raises a failure here, as the SDK's loop does
                        else:
                            not_done.append(task)
                    if not_done:
                        with settings.lock:
                            settings.outputs.update(not_done)
            if len(rpc_manager.rpcs) == 0:
                break

    return wait_for_rpcs


_NO_STACK_TRACE = source_pb2.StackTrace()


def _make_get_stack_trace(sdk: Callable[..., Any]) -> Callable[..., Any]:
    def _get_stack_trace() -> source_pb2.StackTrace:
        if not _IN_OFFLINE_RUN.get():
            return sdk()
        # No source positions: what the SDK sends when it finds no user frame.
        return _NO_STACK_TRACE

    return _get_stack_trace


def _resolve_output(
    resource: Any,
    data: asyncio.Future,
    value: Any,
    is_known: bool,
    is_secret: bool,
    deps: set[Any] | None,
    failed: Exception | None,
) -> None:
    # What the SDK's resolver and `Output.__init__`'s gathering task make of the same call:
    # the resource joins the value's dependencies, and a failure fails the Output.
    if failed is not None:
        data.set_exception(failed)
        return
    resources = set(deps) if deps else set()
    resources.add(resource)
    data.set_result(
        sdk_output._OutputData(
            resources=resources, value=value, is_known=is_known, is_secret=is_secret
        )
    )


def _make_transfer_properties(sdk: Callable[..., Any]) -> Callable[..., Any]:
    def transfer_properties(res: Any, props: Any, custom: bool) -> dict[str, Any]:
        if not _IN_OFFLINE_RUN.get():
            return sdk(res, props, custom)
        resolvers: dict[str, Any] = {}
        for name in props:
            if name == "urn" or (name == "id" and custom):
                continue  # the SDK resolves these itself
            data: asyncio.Future = asyncio.Future()
            resolvers[name] = functools.partial(_resolve_output, res, data)
            res.__dict__[name] = sdk_output.Output._from_data(data)
        return resolvers

    return transfer_properties


REPLACEMENTS = (
    Replacement(
        sdk_stack,
        "wait_for_rpcs",
        _make_wait_for_rpcs,
        lambda sdk: _source_sha256(sdk) == SDK_WAIT_FOR_RPCS_SHA256,
    ),
    Replacement(
        sdk_resource,
        "_get_stack_trace",
        _make_get_stack_trace,
        lambda sdk: callable(sdk) and not inspect.signature(sdk).parameters,
    ),
    Replacement(
        sdk_rpc,
        "transfer_properties",
        _make_transfer_properties,
        lambda sdk: (
            _source_sha256(sdk, sdk_output.Output.__init__, sdk_output.Output._from_data)
            == SDK_OUTPUTS_SHA256
        ),
    ),
)


def _applies(replacement: Replacement, sdk: Callable[..., Any]) -> bool:
    try:
        return replacement.applies(sdk)
    # Not a Python function any more, or a name it relies on is gone: not the one we read.
    except (AttributeError, TypeError, ValueError):
        return False


class _Process:
    """What the outermost offline run changed in the process, to be put back by the last."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs = 0
        self.thresholds: tuple[int, int, int] = gc.get_threshold()
        self.froze = False
        self.installed: list[tuple[Replacement, Callable[..., Any], Callable[..., Any]]] = []

    def enter(self) -> None:
        with self.lock:
            self.runs += 1
            if self.runs > 1:
                return
            self.thresholds = gc.get_threshold()
            # Someone else's frozen objects (a server that froze after its imports) are theirs
            # to thaw: the run then leaves freezing alone.
            self.froze = gc.get_freeze_count() == 0
            if self.froze:
                gc.freeze()
            young, middle, oldest = self.thresholds
            gc.set_threshold(young, middle, max(OLDEST_THRESHOLD, oldest))
            for replacement in REPLACEMENTS:
                sdk = replacement.original()
                if sdk is not None and _applies(replacement, sdk):
                    ours = replacement.make(sdk)
                    setattr(replacement.module, replacement.name, ours)
                    self.installed.append((replacement, sdk, ours))

    def leave(self) -> None:
        with self.lock:
            self.runs -= 1
            if self.runs > 0:
                return
            for replacement, sdk, ours in reversed(self.installed):
                # Replaced again since (a test's monkeypatch)? Then that is not ours to undo;
                # ours still defers to the SDK's own outside an offline run.
                if getattr(replacement.module, replacement.name, None) is ours:
                    setattr(replacement.module, replacement.name, sdk)
            self.installed.clear()
            gc.set_threshold(*self.thresholds)
            if self.froze:
                gc.collect()  # only the run's objects: the process's are still frozen
                gc.unfreeze()
                self.froze = False


_PROCESS = _Process()


@contextlib.contextmanager
def offline_runtime() -> Iterator[None]:
    """Run an offline plan inside this: the SDK tuned for it (see the module's docstring),
    everything put back when it ends, whether it returns or raises."""
    _PROCESS.enter()
    token = _IN_OFFLINE_RUN.set(True)
    try:
        yield
    finally:
        _IN_OFFLINE_RUN.reset(token)
        _PROCESS.leave()
