"""noisy_quadratic: a user's study for ``studies.confirm``'s tests.

    python -m studies.run tests/studies/files/noisy_quadratic.py --preset smoke

Each trial reports ``score = 1 - (x - 0.3)^2 + N(0, noise^2)``, its noise drawn from the seed,
so a configuration's seeds differ as real training runs do. The presets fix ``x = x_fixed``
for the grid sampler (one point: the reference ``studies.confirm`` runs). The seed
``fail_once_seed`` raises on its first run in ``marker_dir`` (a file there marks it), so a
failed and re-queued confirmation trial can be tested: ``$NOISY_QUADRATIC_MARKERS`` sets both
in every preset.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import optuna

from studies import StudyConfig, StudySpec, at_least


@dataclass(frozen=True)
class NoisyConfig(StudyConfig):
    """sleep_s: seconds each epoch sleeps. x_fixed: the grid's one x. noise: the score's std
    over seeds. fail_once_seed and marker_dir: the seed whose first run raises, and where that
    is marked."""

    epochs: int = 2
    sleep_s: float = 0.0
    x_fixed: float = 0.0
    noise: float = 0.05
    fail_once_seed: int = -1
    marker_dir: str = ""

    def validate(self) -> None:
        at_least(self, 0.0, "noise", "sleep_s")


def search_space(trial: optuna.Trial, config: NoisyConfig) -> dict:
    return {"x": trial.suggest_float("x", -1.0, 1.0)}


def grid(config: NoisyConfig) -> dict:
    return {"x": [config.x_fixed]}


def run_trial(config: NoisyConfig, params: dict, seed: int) -> Iterator[dict]:
    if seed == config.fail_once_seed:
        marker = Path(config.marker_dir) / f"failed-{params['x']}"
        if not marker.exists():
            marker.touch()
            raise RuntimeError(f"the first run of seed {seed} fails")
    noise = random.Random(seed * 7919 + 17).gauss(0.0, config.noise)
    for epoch in range(1, config.epochs + 1):
        time.sleep(config.sleep_s)
        score = 1.0 - (params["x"] - 0.3) ** 2 + noise - 0.1 / epoch
        yield {"epoch": epoch, "score": score, "params": 10}


def trial_configs(config: NoisyConfig, params: dict, seed: int) -> dict:
    return {"x": params["x"], "seed": seed, "epochs": config.epochs, "noise": config.noise,
            "sleep_s": config.sleep_s,
            "fail_once_seed": config.fail_once_seed, "marker_dir": config.marker_dir}


#: With $NOISY_QUADRATIC_MARKERS set, every preset's seed 2 fails its first run (marked there).
MARKERS = os.environ.get("NOISY_QUADRATIC_MARKERS", "")
FAILING = dict(fail_once_seed=2, marker_dir=MARKERS) if MARKERS else {}

SPEC = StudySpec(
    name="noisy_quadratic",
    description="No model: a noisy score of x (studies.confirm's tests)",
    presets={"smoke": NoisyConfig(n_trials=6, **FAILING),
             "quick": NoisyConfig(n_trials=6, **FAILING),
             "paper": NoisyConfig(n_trials=6, x_fixed=0.0, **FAILING)},
    search_space=search_space,
    trial=run_trial,
    metrics={"score": "maximize", "params": "minimize"},
    objectives=("score",),
    grid=grid,
    trial_configs=trial_configs,
    sampler="random",
)
