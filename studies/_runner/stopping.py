"""Stopping a run cleanly on SIGTERM (what a cluster scheduler sends before it preempts) and
SIGINT (Ctrl-C): both end the run the same way.

The first signal ends the running trials now: their workers are ended, each interrupted trial
is failed and queued again with its parameters (the next run takes it first), no new trial
starts, the result tables are written, and the runner prints one line and exits with 128 +
the signal's number (143, 130). A second signal stops the driver at once, as Ctrl-C used to,
unless it comes within :data:`REPEAT_WINDOW_S` of the first: that is the same stop delivered
twice (SLURM signals every process of a job, and the job's script forwards the signal too).
Ray's driver installs a handler of its own for SIGTERM that prints a stack dump; the handlers
here are installed again once Ray has started, so they are the ones that run.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType
from typing import Any, Protocol

SIGNALS = (signal.SIGTERM, signal.SIGINT)
REPEAT_WINDOW_S = 2.0  # a signal this soon after the first is the same stop, delivered twice


class Interruptible(Protocol):
    stopped_by: int | None

    def interrupt(self, signum: int) -> None: ...


class StopSignals:
    """Installs the handlers (:meth:`install`), routes the first signal to the driver set in
    :attr:`driver` (before there is one, it stops the runner as Ctrl-C does), and puts the
    earlier handlers back (:meth:`restore`)."""

    def __init__(self) -> None:
        self.driver: Interruptible | None = None
        self.received: int | None = None
        self._received_at = 0.0
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for signum in SIGNALS:
            previous = signal.signal(signum, self._handle)
            self._previous.setdefault(signum, previous)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        now = time.monotonic()
        if self.received is not None:
            if now - self._received_at < REPEAT_WINDOW_S:
                return  # the first one's stop is under way
            raise KeyboardInterrupt  # a second signal: stop at once
        self.received, self._received_at = signum, now
        if self.driver is None:
            raise KeyboardInterrupt
        # Marked here, before anything else can run (a trial whose worker died of the same
        # signal reads it); the handler runs on the main thread between two bytecodes, maybe
        # inside a lock the driver takes, so the driver stops its workers in a thread of its own.
        self.driver.stopped_by = signum
        threading.Thread(target=self.driver.interrupt, args=(signum,), daemon=True,
                         name="stop-signal").start()

    def exit_code(self) -> int:
        """128 + the signal's number (SIGINT when none was received: a KeyboardInterrupt)."""
        return 128 + (self.received or signal.SIGINT)

    def name(self) -> str:
        return signal.Signals(self.received or signal.SIGINT).name

    def restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
