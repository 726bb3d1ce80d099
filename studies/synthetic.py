"""synthetic: a study with no model, for testing and benchmarking the runner itself.

    python -m studies.run synthetic --preset smoke

Each trial sleeps ``sleep_s`` per epoch and reports ``loss = (x - 0.3)^2 + 1 / epoch``. Failure
knobs make chosen trials raise, return NaN or kill their Ray worker, so the runner's failure
policy can be tested against real failures.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import optuna

from studies import MAY_BE_INFINITE, StudyConfig, StudySpec, at_least, finite, in_interval


@dataclass(frozen=True)
class SyntheticConfig(StudyConfig):
    """Attributes beyond StudyConfig:

    sleep_s: seconds each epoch sleeps.
    grid_x: the values of ``x`` the grid sampler visits.
    raise_x_above: a trial with ``x`` above this raises RuntimeError at its last epoch.
    nan_x_below: a trial with ``x`` below this reports a NaN loss at its last epoch.
    kill_x_above: a trial with ``x`` above this kills its worker process (SIGKILL) mid-trial.
    """

    epochs: int = 5
    sleep_s: float = 0.1
    grid_x: tuple[float, ...] = (-0.9, -0.5, 0.0, 0.5, 0.9)
    raise_x_above: float = field(default=math.inf, metadata={MAY_BE_INFINITE: True})
    nan_x_below: float = field(default=-math.inf, metadata={MAY_BE_INFINITE: True})
    kill_x_above: float = field(default=math.inf, metadata={MAY_BE_INFINITE: True})

    def validate(self) -> None:
        at_least(self, 0.0, "sleep_s")
        finite(self, "sleep_s")
        in_interval(self, "grid_x", -1.0, 1.0)  # the search range of x


def search_space(trial: optuna.Trial, config: SyntheticConfig) -> dict:
    return {"x": trial.suggest_float("x", -1.0, 1.0)}


def grid(config: SyntheticConfig) -> dict:
    return {"x": list(config.grid_x)}


def run_trial(config: SyntheticConfig, params: dict, seed: int) -> Iterator[dict]:
    x = params["x"]
    for epoch in range(1, config.epochs + 1):
        time.sleep(config.sleep_s)
        last = epoch == config.epochs
        if x > config.kill_x_above and epoch == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        if x > config.raise_x_above and last:
            raise RuntimeError(f"synthetic failure at x={x}")
        loss = math.nan if (x < config.nan_x_below and last) else (x - 0.3) ** 2 + 1.0 / epoch
        yield {"epoch": epoch, "train_loss": loss + 0.01 * seed, "valid_loss": loss,
               "params": int(1000 * (2.0 + x))}


def trial_configs(config: SyntheticConfig, params: dict, seed: int) -> dict:
    """What the trial uses: it builds no model, it reads these fields."""
    return {"x": params["x"], "seed": seed, "epochs": config.epochs, "sleep_s": config.sleep_s,
            "raise_x_above": config.raise_x_above, "nan_x_below": config.nan_x_below,
            "kill_x_above": config.kill_x_above}


SPEC = StudySpec(
    name="synthetic",
    description="No model: sleeps and reports a quadratic loss (runner tests, benchmark)",
    presets={
        "smoke": SyntheticConfig(n_trials=4, epochs=3, sleep_s=0.02),
        "quick": SyntheticConfig(n_trials=20, epochs=5, sleep_s=0.1),
        "paper": SyntheticConfig(n_trials=40, epochs=5, sleep_s=0.1),
    },
    search_space=search_space,
    trial=run_trial,
    metrics={"valid_loss": "minimize", "train_loss": "minimize", "params": "minimize"},
    objectives=("valid_loss",),
    grid=grid,
    trial_configs=trial_configs,
)
