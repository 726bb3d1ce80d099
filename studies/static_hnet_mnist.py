"""static_hnet_mnist: the MNIST convnet with a generated second layer (Ha et al. 2017, sec. 4.1).

    python -m studies.run static_hnet_mnist                   # quick preset, ~6 min on 2 cores
    python -m studies.run static_hnet_mnist --objectives valid_error     # one objective, pruned
    python -m studies.run static_hnet_mnist --preset paper --sampler grid   # the paper's pair

Searches whether the 7x7 16->16 kernel is generated (the plain convnet is the reference in the
same study), N_z and d of its generator, and Adam's learning rate. The default objectives are
test error (%) and trainable parameters, so the Pareto front is the parameter-efficiency curve
(NSGA-II); with one objective the median rule prunes. ``--sampler grid`` runs the paper's two
networks (generated with N_z = d = 4, and plain) at the preset's fixed learning rate.

The test error the objectives and the report use is the paper's: at early stopping, the test
error at the epoch of the best validation error (``test_error_at_best_valid``); the last
epoch's is recorded as ``test_error``. The paper preset, setting by setting (Ha et al. 2017):

- generated_choices (True, False), embedding_size = hidden_size 4: the paper's pair,
  plain and generated with N_z = d = 4 (sec. 4.1 "N_z = 4", sec. 3.1 d = N_z; Table 7).
- valid_size 5000: A.3.1, "a 55000 / 5000 / 10000 split".
- batch_size 1000, lr 1e-3 (Adam): A.3.1, "Adam ... with a learning rate of 0.001 on
  mini-batches of size 1000".
- crop_padding 1: A.3.1, "pad MNIST training images to 30x30 pixels and random crop to 28x28".
- early stopping on the validation split: A.3.1, "use the 5000 validation samples for early
  stopping" (hence ``test_error_at_best_valid``).
- lr_milestones none: the paper states no schedule.
- epochs 50: the paper does not say; our choice (the validation error has stopped falling).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import optuna

from hnet_core.data import MNIST_FILES, mnist_splits, resolve_all
from hnet_core.models import ImageClassifierConfig
from hnet_core.train import ImageTrainConfig, train_image_classifier
from studies import (
    MAY_BE_EMPTY,
    Direction,
    StudyConfig,
    StudySpec,
    at_least,
    search_range,
    trial_checkpoint,
)


@dataclass(frozen=True)
class StaticHnetConfig(StudyConfig):
    """Attributes beyond StudyConfig:

    batch_size, eval_batch_size: examples per training step / evaluation batch.
    max_train_batches, max_eval_batches: cap steps per epoch / batches per evaluation (None: all).
    valid_size: train images held out for validation (the paper: 5,000 of 60,000).
    crop_padding, flip: augmentation (pad-and-random-crop, horizontal flips).
    lr_milestones, lr_gamma: the step schedule (empty: a constant learning rate).
    generated_choices: whether the kernels are generated: searched over these values.
    embedding_sizes, hidden_sizes: N_z and d choices searched.
    lr_low, lr_high: Adam learning-rate range searched (log scale).
    embedding_size, hidden_size, lr: values of the grid (``--sampler grid``).
    """

    epochs: int = 10
    batch_size: int = 1000
    eval_batch_size: int = 1000
    max_train_batches: int | None = None
    max_eval_batches: int | None = None
    valid_size: int = 5000
    crop_padding: int = 0
    flip: bool = False
    lr_milestones: tuple[int, ...] = field(default=(), metadata={MAY_BE_EMPTY: True})
    lr_gamma: float = 0.1
    generated_choices: tuple[bool, ...] = (True, False)
    embedding_sizes: tuple[int, ...] = (2, 4, 8, 16)
    hidden_sizes: tuple[int, ...] = (2, 4, 8, 16)
    lr_low: float = 3e-4
    lr_high: float = 3e-3
    embedding_size: int = 4
    hidden_size: int = 4
    lr: float = 1e-3

    def validate(self) -> None:
        at_least(self, 1, "batch_size", "eval_batch_size", "max_train_batches",
                 "max_eval_batches", "embedding_sizes", "hidden_sizes", "embedding_size",
                 "hidden_size", "lr_milestones")
        at_least(self, 0, "valid_size", "crop_padding")
        search_range(self, "lr_low", "lr_high", log=True)
        search_range(self, "lr", "lr", log=True)
        search_range(self, "lr_gamma", "lr_gamma", log=True)


def search_space(trial: optuna.Trial, config: StaticHnetConfig, lr: bool = True) -> dict:
    """Generated or not, N_z and d when generated, and (unless ``lr`` is False) the learning
    rate."""
    params: dict[str, Any] = {"generated": trial.suggest_categorical(
        "generated", list(config.generated_choices))}
    if params["generated"]:
        params["embedding_size"] = trial.suggest_categorical("embedding_size",
                                                             list(config.embedding_sizes))
        params["hidden_size"] = trial.suggest_categorical("hidden_size",
                                                          list(config.hidden_sizes))
    if lr:
        params["lr"] = trial.suggest_float("lr", config.lr_low, config.lr_high, log=True)
    return params


def grid(config: StaticHnetConfig) -> dict:
    return {"generated": list(config.generated_choices),
            "embedding_size": [config.embedding_size], "hidden_size": [config.hidden_size],
            "lr": [config.lr]}


def model_config(config: StaticHnetConfig, params: dict) -> ImageClassifierConfig:
    return ImageClassifierConfig(
        arch="mnist_convnet", hyper=params["generated"],
        embedding_size=params.get("embedding_size", config.embedding_size),
        hidden_size=params.get("hidden_size", config.hidden_size))


def train_config(config: StaticHnetConfig, params: dict, seed: int) -> ImageTrainConfig:
    return ImageTrainConfig(
        epochs=config.epochs, batch_size=config.batch_size, lr=params.get("lr", config.lr),
        lr_milestones=config.lr_milestones, lr_gamma=config.lr_gamma,
        crop_padding=config.crop_padding, flip=config.flip,
        eval_batch_size=config.eval_batch_size, max_train_batches=config.max_train_batches,
        max_eval_batches=config.max_eval_batches, seed=seed)


def trial_configs(config: StaticHnetConfig, params: dict, seed: int) -> tuple:
    """A trial's model and training configs and its validation split size (ValueError when
    they are invalid)."""
    return (model_config(config, params), train_config(config, params, seed),
            {"valid_size": config.valid_size})


def run_trial(config: StaticHnetConfig, params: dict, seed: int) -> Iterator[dict]:
    data = mnist_splits(config.data_dir, config.valid_size)
    yield from train_image_classifier(model_config(config, params),
                                      train_config(config, params, seed), data,
                                      checkpoint=trial_checkpoint())


def check_data(config: StaticHnetConfig) -> None:
    resolve_all(MNIST_FILES, config.data_dir)


METRICS: dict[str, Direction] = {
    "valid_error": "minimize", "test_error": "minimize", "train_loss": "minimize",
    "valid_loss": "minimize", "params": "minimize", "best_valid_error": "minimize",
    "test_error_at_best_valid": "minimize"}

PRESETS = {
    "smoke": StaticHnetConfig(
        n_trials=2, epochs=2, batch_size=100, eval_batch_size=500, max_train_batches=3,
        max_eval_batches=2, embedding_sizes=(2, 4), hidden_sizes=(2, 4)),
    "quick": StaticHnetConfig(
        n_trials=12, epochs=6, batch_size=128, max_train_batches=200, lr_low=5e-4, lr_high=5e-3,
        lr=2e-3),
    "paper": StaticHnetConfig(n_trials=40, epochs=50, batch_size=1000, lr=1e-3,
                              crop_padding=1, cpus_per_trial=1.0),
}

SPEC = StudySpec(
    name="static_hnet_mnist",
    description="MNIST convnet, 7x7 layer plain or generated: search N_z, d, lr; error vs params",
    presets=PRESETS,
    search_space=search_space,
    trial=run_trial,
    metrics=METRICS,
    objectives=("test_error_at_best_valid", "params"),
    grid=grid,
    check_data=check_data,
    trial_configs=trial_configs,
    pruner="median",
    family="cnn",
    group_by="generated",
)
