"""The runner's stop signals (``studies._runner.stopping``), with real signals to this process."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from studies._runner import stopping
from studies._runner.stopping import StopSignals


class _Driver:
    def __init__(self) -> None:
        self.stopped_by: int | None = None
        self.interrupts: list[int] = []
        self.called = threading.Event()

    def interrupt(self, signum: int) -> None:
        self.interrupts.append(signum)
        self.called.set()


@pytest.fixture
def signals():
    installed = StopSignals()
    installed.install()
    yield installed
    installed.restore()


def _send(signum: int) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(0.05)  # the handler runs on the main thread at the next bytecode


def test_the_first_signal_marks_the_driver_in_the_handler_and_stops_it_once(signals):
    driver = _Driver()
    signals.driver = driver
    _send(signal.SIGTERM)
    assert driver.stopped_by == signal.SIGTERM  # set before the stopping thread runs
    assert driver.called.wait(5)
    assert driver.interrupts == [signal.SIGTERM] and signals.exit_code() == 143


def test_the_same_stop_delivered_twice_is_one_stop(signals):
    """SLURM signals every process of a job and the job's script forwards the signal."""
    driver = _Driver()
    signals.driver = driver
    _send(signal.SIGTERM)
    _send(signal.SIGTERM)  # within the window: no KeyboardInterrupt
    assert driver.called.wait(5)
    assert driver.interrupts == [signal.SIGTERM]


def test_a_second_signal_after_the_window_stops_at_once(signals, monkeypatch):
    driver = _Driver()
    signals.driver = driver
    _send(signal.SIGINT)
    monkeypatch.setattr(stopping, "REPEAT_WINDOW_S", 0.0)
    with pytest.raises(KeyboardInterrupt):
        _send(signal.SIGINT)
    assert signals.exit_code() == 130


def test_before_there_is_a_driver_a_signal_stops_at_once(signals):
    with pytest.raises(KeyboardInterrupt):
        _send(signal.SIGTERM)
    assert signals.exit_code() == 143
    _send(signal.SIGTERM)  # the same stop delivered twice: not a second KeyboardInterrupt
