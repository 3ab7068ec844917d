"""Ctrl-C during a real run: stop gracefully on the first, force on the second.

osp does not call `stack.cancel()` (`pulumi cancel`) for the first Ctrl-C: on the file and S3
backends that only deletes the stack's lock files while the update keeps running, and on
Pulumi Cloud it abandons the update mid-operation. The graceful stop Pulumi itself offers is a
SIGINT to the running `pulumi` process: it starts no new resource operation, waits for the
ones in flight, saves the state and releases the lock. A second SIGINT makes it terminate at
once (Pulumi's own "press ^C again"); a third makes osp kill it and stop waiting.

The `pulumi` process runs in its own process group (see `stack.TrackedPulumiCommand`), so a
Ctrl-C in the terminal reaches osp only and osp forwards exactly one signal per press.
An interrupted run exits 130 (128 + SIGINT), with how to recover.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum

from osp.platform.errors import OspError

EXIT_INTERRUPTED = 130


class InterruptedRunError(OspError):
    """The run was interrupted (Ctrl-C); exit code 130."""

    exit_code = EXIT_INTERRUPTED


class Stop(Enum):
    GRACEFUL = "graceful"  # first Ctrl-C
    FORCE = "force"  # second
    KILL = "kill"  # third and later


class Interrupts:
    """Counts Ctrl-C presses during a run and turns each into the next, stronger stop.

    `stop(kind)` signals the running `pulumi` processes and returns how many it reached;
    `notify(kind, reached)` tells the user what is happening.
    """

    def __init__(
        self,
        stop: Callable[[Stop], int],
        notify: Callable[[Stop, int], None] = lambda kind, reached: None,
    ) -> None:
        self._stop = stop
        self._notify = notify
        self.count = 0
        self.strongest: Stop | None = None

    @property
    def interrupted(self) -> bool:
        return self.count > 0

    def press(self) -> None:
        """One Ctrl-C. Raises KeyboardInterrupt when there is nothing left to wait for."""
        self.count += 1
        kind = (Stop.GRACEFUL, Stop.FORCE, Stop.KILL)[min(self.count, 3) - 1]
        self.strongest = kind
        reached = self._stop(kind)
        self._notify(kind, reached)
        if reached == 0 or kind is Stop.KILL:
            raise KeyboardInterrupt

    def _handler(self, signum, frame) -> None:
        self.press()

    @contextmanager
    def installed(self) -> Iterator[Interrupts]:
        """Route SIGINT to `press` while the block runs (main thread only; else unchanged)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self._handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)
