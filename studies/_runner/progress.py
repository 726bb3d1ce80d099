"""The driver's progress: a live table on a terminal, one line per finished trial in quiet mode."""

from __future__ import annotations

import sys
import threading
import time

import optuna
from rich.console import Console
from rich.live import Live
from rich.table import Table


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


class Progress:
    """Counts, best value, each running trial's epoch and metric, elapsed time and ETA."""

    def __init__(self, study_name: str, target: int, already: int, objective: str,
                 quiet: bool) -> None:
        self.study_name, self.target, self.objective = study_name, target, objective
        self.counts = {"COMPLETE": 0, "PRUNED": 0, "FAIL": 0}
        self.already = already
        self.best: float | None = None
        self.running: dict[int, tuple[int, float | None]] = {}
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

    def trial_epoch(self, number: int, epoch: int, value: float | None) -> None:
        with self._lock:
            self.running[number] = (epoch, value)

    def trial_finished(self, trial: optuna.trial.FrozenTrial, best: float | None) -> None:
        with self._lock:
            self.running.pop(trial.number, None)
            self.counts[trial.state.name] = self.counts.get(trial.state.name, 0) + 1
            self.best = best
        if self.quiet:
            value = _fmt(trial.values[0]) if trial.values else "-"
            error = trial.user_attrs.get("error")
            print(f"[{self.study_name}] trial {trial.number} {trial.state.name} "
                  f"{self.objective}={value}" + (f" error: {error}" if error else "")
                  + f" ({self._summary()})", flush=True)

    def _done(self) -> int:
        return self.already + self.counts["COMPLETE"] + self.counts["PRUNED"]

    def _summary(self) -> str:
        elapsed = time.monotonic() - self.started
        finished_now = self.counts["COMPLETE"] + self.counts["PRUNED"]
        remaining = max(self.target - self._done(), 0)
        eta = f"{elapsed / finished_now * remaining:.0f}s" if finished_now else "?"
        return (f"{self._done()}/{self.target} done, {self.counts['PRUNED']} pruned, "
                f"{self.counts['FAIL']} failed, best {_fmt(self.best)}, "
                f"elapsed {elapsed:.0f}s, eta {eta}")

    def _render(self) -> Table:
        with self._lock:
            table = Table(title=f"{self.study_name}: {self._summary()}", title_justify="left")
            table.add_column("running trial", justify="right")
            table.add_column("epoch", justify="right")
            table.add_column(self.objective, justify="right")
            for number, (epoch, value) in sorted(self.running.items()):
                table.add_row(str(number), str(epoch), _fmt(value))
            return table
