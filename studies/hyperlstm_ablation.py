"""hyperlstm_ablation: LSTM, LN-LSTM, HyperLSTM and LN HyperLSTM on char-level PTB, same budget.

    python -m studies.run hyperlstm_ablation             # quick preset, 3 seeds per model
    python -m studies.run hyperlstm_ablation --preset paper --gpus-per-trial 1

A grid over the cell; every cell trains under each seed with the same epochs, batches and
learning rate (Ha et al. 2017, Table 3's comparison at laptop or paper scale).
"""

from __future__ import annotations

import dataclasses
from typing import cast

import optuna

from hnet_core.models import CELLS
from studies.hyperlstm_ptb import SPEC as PTB_SPEC
from studies.hyperlstm_ptb import HyperLSTMPTBConfig


def search_space(trial: optuna.Trial, config: HyperLSTMPTBConfig) -> dict:
    return {"cell": trial.suggest_categorical("cell", list(CELLS))}


def grid(config: HyperLSTMPTBConfig) -> dict:
    return {"cell": list(CELLS)}


SPEC = dataclasses.replace(
    PTB_SPEC,
    name="hyperlstm_ablation",
    description="LSTM / LN-LSTM / HyperLSTM / LN HyperLSTM on PTB under equal budgets, per seed",
    presets={
        "smoke": dataclasses.replace(PTB_SPEC.presets["smoke"], n_trials=4, seeds=(1, 2)),
        "quick": dataclasses.replace(cast(HyperLSTMPTBConfig, PTB_SPEC.presets["quick"]),
                                     n_trials=4, seeds=(1, 2, 3), max_train_batches=100,
                                     epochs=2),
        "paper": dataclasses.replace(PTB_SPEC.presets["paper"], n_trials=4, seeds=(1, 2, 3)),
    },
    search_space=search_space,
    grid=grid,
    sampler="grid",
    pruner="none",
    unused_fields=("cell", "embedding_sizes", "hyper_sizes", "keep_prob_low", "lr_low",
                   "lr_high"),
)
