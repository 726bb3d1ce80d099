"""The driver's progress on the terminal.

A live view: a progress bar (trials done of the target, pruned and failed counts, elapsed
time, ETA), the best trial so far with its parameters, and a table of the running trials with
their parameters, epoch of total and latest objective value. ``--quiet`` (or a non-terminal
stdout) prints one line per finished trial instead.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import optuna
from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def format_params(params: dict[str, Any]) -> str:
    """``name=value`` pairs, floats to 3 significant digits."""
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in params.items())


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


@dataclass
class _Running:
    params: dict[str, Any]
    epoch: int = 0
    value: float | None = None


@dataclass
class _Best:
    number: int
    value: float | None
    params: dict[str, Any] = field(default_factory=dict)


class Progress:
    """Counts, the best trial, each running trial's parameters, epoch and metric, elapsed
    time and ETA."""

    def __init__(self, study_name: str, target: int, already: int, objective: str,
                 quiet: bool, epochs: int | None = None) -> None:
        self.study_name, self.target, self.objective = study_name, target, objective
        self.epochs = epochs
        self.counts = {"COMPLETE": 0, "PRUNED": 0, "FAIL": 0}
        self.already = already
        self.best: _Best | None = None
        self.running: dict[int, _Running] = {}
        self.started = time.monotonic()
        self.quiet = quiet or not sys.stdout.isatty()
        self.console = Console(stderr=False)
        self._lock = threading.Lock()
        self._live: Live | None = None

    def __enter__(self) -> Progress:
        if not self.quiet:
            self._live = Live(self._render(), console=self.console, refresh_per_second=2,
                              get_renderable=self._render)
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def trial_started(self, number: int, params: dict[str, Any]) -> None:
        with self._lock:
            self.running[number] = _Running(params)

    def trial_epoch(self, number: int, epoch: int, value: float | None) -> None:
        with self._lock:
            running = self.running.setdefault(number, _Running({}))
            running.epoch, running.value = epoch, value

    def trial_finished(self, trial: optuna.trial.FrozenTrial,
                       best: optuna.trial.FrozenTrial | None) -> None:
        with self._lock:
            self.running.pop(trial.number, None)
            self.counts[trial.state.name] = self.counts.get(trial.state.name, 0) + 1
            if best is not None:
                self.best = _Best(best.number, best.value, dict(best.params))
            if self.quiet:
                value = _fmt(trial.values[0]) if trial.values else "-"
                error = trial.user_attrs.get("error")
                line = (f"[{self.study_name}] trial {trial.number} {trial.state.name} "
                        f"{self.objective}={value}" + (f" error: {error}" if error else "")
                        + f" ({self._summary()})\n")
                # one write under the lock: print() from the driver's trial threads writes
                # text and newline apart, and two lines could run into one
                sys.stdout.write(line)
                sys.stdout.flush()

    def _done(self) -> int:
        return self.already + self.counts["COMPLETE"] + self.counts["PRUNED"]

    def _eta(self) -> float | None:
        finished_now = self.counts["COMPLETE"] + self.counts["PRUNED"]
        if not finished_now:
            return None
        elapsed = time.monotonic() - self.started
        return elapsed / finished_now * max(self.target - self._done(), 0)

    def _summary(self) -> str:
        elapsed = time.monotonic() - self.started
        eta = self._eta()
        best = _fmt(self.best.value if self.best else None)
        return (f"{self._done()}/{self.target} done, {self.counts['PRUNED']} pruned, "
                f"{self.counts['FAIL']} failed, best {best}, elapsed {elapsed:.0f}s, "
                f"eta {'?' if eta is None else f'{eta:.0f}s'}")

    def _render(self) -> Group:
        with self._lock:
            elapsed = time.monotonic() - self.started
            eta = self._eta()
            bar = Table.grid(padding=(0, 1))
            bar.add_row(Text(self.study_name, style="bold"),
                        ProgressBar(total=self.target, completed=self._done(), width=24),
                        Text(f"{self._done()}/{self.target} trials  {_clock(elapsed)}  ETA "
                             f"{'?' if eta is None else _clock(eta)}"))
            counts = f"{self.counts['PRUNED']} pruned, {self.counts['FAIL']} failed; "
            best = (Text(f"{counts}best: trial {self.best.number}, {self.objective} "
                         f"{_fmt(self.best.value)} ({format_params(self.best.params)})")
                    if self.best else Text(f"{counts}no complete trial yet"))
            running = Table(expand=False, show_edge=False, pad_edge=False)
            running.add_column("running trial", justify="right")
            running.add_column("epoch", justify="right")
            running.add_column(self.objective, justify="right")
            running.add_column("parameters", overflow="fold")
            for number, trial in sorted(self.running.items()):
                epochs = f"{trial.epoch}/{self.epochs}" if self.epochs else str(trial.epoch)
                running.add_row(str(number), epochs, _fmt(trial.value),
                                format_params(trial.params))
            return Group(bar, best, running)
