"""hyperlstm_ptb: HyperLSTM character-level language model on Penn Treebank (Ha et al. 2017).

    python -m studies.run hyperlstm_ptb                  # quick preset, ~8-10 min on 2 cores
    python -m studies.run hyperlstm_ptb --preset paper --gpus-per-trial 1
    python -m studies.run hyperlstm_ptb --preset paper --sampler grid   # the paper's model

Searches N_z, N_ĥ, layer norm on/off, the three dropout keep probabilities and the learning rate;
the objective is valid bits per character, test bpc is recorded. Pruned with the median rule.
``--sampler grid`` runs one trial: the preset's fixed cell, sizes, keep probability and learning
rate (at the paper preset, the paper's LN HyperLSTM).

The paper preset, setting by setting (Ha et al. 2017, "HyperNetworks", ICLR):

- cell ln_hyperlstm: sec. 4.3 and Table 3, "Layer Norm HyperLSTM" (1.250 test bpc).
- hidden_size 1000 (N_h), num_layers 1: sec. 4.3.
- hyper_size 128 (N_ĥ), embedding_size 4 (N_z): sec. 4.3, "128 units and a signal size of 4".
- batch_size 128, seq_len 100: A.3.3, "mini-batches of size 128, to train on sequences of
  length 100".
- lr 1e-3 (Adam), gradient clipping 1.0: A.3.3, "a learning rate of 0.001 and gradient
  clipping of 1.0".
- keep_prob 0.9 on input, output and recurrent dropout: sec. 4.3 and A.3.3.
- hyper_recurrent_dropout off: A.2.2, dropout is "generally only applied inside the main LSTM,
  not in the smaller HyperLSTM cell".
- epochs 30: the paper does not say; our choice. The paper does not say it early-stopped
  PTB either, so ``test_bpc`` is the last epoch's.

The paper's other models of Table 3 are the ablation (``hyperlstm_ablation``). Gradient
clipping at 1.0 is the trainer's default (``CharLMTrainConfig.grad_clip``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import optuna

from hnet_core.data import load_ptb_char, resolve_all
from hnet_core.models import CELLS, CharLMConfig, RecurrentConfig
from hnet_core.train import CharLMTrainConfig, train_char_lm
from studies import (
    StudyConfig,
    StudySpec,
    at_least,
    in_interval,
    one_of,
    search_range,
    trial_checkpoint,
)

PTB_CHAR_VOCAB = 50  # symbols of char-level PTB; the loader asserts it
CHAR_FILES = [f"ptb/ptb.char.{split}.txt" for split in ("train", "valid", "test")]


@dataclass(frozen=True)
class HyperLSTMPTBConfig(StudyConfig):
    """Attributes beyond StudyConfig:

    hidden_size, num_layers: the main LSTM (N_h units per layer).
    batch_size, seq_len, eval_batch_size: truncated BPTT shape.
    max_train_batches, max_eval_batches: cap windows per epoch / per evaluation (None: all).
    embedding_sizes, hyper_sizes: N_z and N_ĥ choices searched.
    keep_prob_low, lr_low, lr_high: search ranges (keep probabilities go up to 1).
    cell, embedding_size, hyper_size, keep_prob, lr: the fixed values (``--sampler grid``;
        the ablation's, where it does not vary them).
    hyper_recurrent_dropout: also apply the recurrent dropout inside the small hyper cell (our
        addition; the paper applies it only inside the main LSTM).
    """

    hidden_size: int = 1000
    num_layers: int = 1
    batch_size: int = 128
    seq_len: int = 100
    eval_batch_size: int = 128
    max_train_batches: int | None = None
    max_eval_batches: int | None = None
    embedding_sizes: tuple[int, ...] = (4, 8, 16)
    hyper_sizes: tuple[int, ...] = (64, 128, 256)
    keep_prob_low: float = 0.75
    lr_low: float = 3e-4
    lr_high: float = 3e-3
    cell: str = "ln_hyperlstm"
    embedding_size: int = 4
    hyper_size: int = 128
    keep_prob: float = 0.9
    lr: float = 1e-3
    hyper_recurrent_dropout: bool = False

    def validate(self) -> None:
        at_least(self, 1, "hidden_size", "num_layers", "batch_size", "seq_len",
                 "eval_batch_size", "max_train_batches", "max_eval_batches", "embedding_sizes",
                 "hyper_sizes", "embedding_size", "hyper_size")
        in_interval(self, "keep_prob_low", 0.0, 1.0, low_open=True)
        in_interval(self, "keep_prob", 0.0, 1.0, low_open=True)
        search_range(self, "lr_low", "lr_high", log=True)
        search_range(self, "lr", "lr", log=True)
        one_of(self, "cell", CELLS)


def search_space(trial: optuna.Trial, config: HyperLSTMPTBConfig) -> dict:
    return {
        "cell": trial.suggest_categorical("cell", ["hyperlstm", "ln_hyperlstm"]),
        "embedding_size": trial.suggest_categorical("embedding_size",
                                                    list(config.embedding_sizes)),
        "hyper_size": trial.suggest_categorical("hyper_size", list(config.hyper_sizes)),
        "input_keep_prob": trial.suggest_float("input_keep_prob", config.keep_prob_low, 1.0),
        "output_keep_prob": trial.suggest_float("output_keep_prob", config.keep_prob_low, 1.0),
        "recurrent_keep_prob": trial.suggest_float("recurrent_keep_prob", config.keep_prob_low,
                                                   1.0),
        "lr": trial.suggest_float("lr", config.lr_low, config.lr_high, log=True),
    }


def grid(config: HyperLSTMPTBConfig) -> dict:
    """One point: the fixed cell, sizes, keep probabilities and learning rate."""
    return {"cell": [config.cell], "embedding_size": [config.embedding_size],
            "hyper_size": [config.hyper_size], "input_keep_prob": [config.keep_prob],
            "output_keep_prob": [config.keep_prob], "recurrent_keep_prob": [config.keep_prob],
            "lr": [config.lr]}


def model_config(config: HyperLSTMPTBConfig, params: dict, vocab_size: int) -> CharLMConfig:
    """The CharLM of a trial: ``params`` where given, the config's fixed values elsewhere."""
    keep = params.get("recurrent_keep_prob", config.keep_prob)
    rnn = RecurrentConfig(cell=params.get("cell", config.cell), hidden_size=config.hidden_size,
                          num_layers=config.num_layers,
                          hyper_size=params.get("hyper_size", config.hyper_size),
                          embedding_size=params.get("embedding_size", config.embedding_size),
                          recurrent_keep_prob=keep,
                          hyper_recurrent_keep_prob=keep if config.hyper_recurrent_dropout
                          else 1.0)
    return CharLMConfig(vocab_size=vocab_size, rnn=rnn,
                        input_keep_prob=params.get("input_keep_prob", config.keep_prob),
                        output_keep_prob=params.get("output_keep_prob", config.keep_prob))


def train_config(config: HyperLSTMPTBConfig, params: dict, seed: int) -> CharLMTrainConfig:
    return CharLMTrainConfig(epochs=config.epochs, batch_size=config.batch_size,
                             seq_len=config.seq_len, lr=params.get("lr", config.lr),
                             eval_batch_size=config.eval_batch_size,
                             max_train_batches=config.max_train_batches,
                             max_eval_batches=config.max_eval_batches, seed=seed)


def trial_configs(config: HyperLSTMPTBConfig, params: dict, seed: int) -> tuple:
    """A trial's model and training configs (ValueError when they are invalid)."""
    return (model_config(config, params, PTB_CHAR_VOCAB), train_config(config, params, seed))


def run_trial(config: HyperLSTMPTBConfig, params: dict, seed: int) -> Iterator[dict]:
    corpus = load_ptb_char(config.data_dir)
    yield from train_char_lm(model_config(config, params, corpus.vocab_size),
                             train_config(config, params, seed), corpus,
                             checkpoint=trial_checkpoint())


def check_data(config: HyperLSTMPTBConfig) -> None:
    resolve_all(CHAR_FILES, config.data_dir)


PRESETS = {
    "smoke": HyperLSTMPTBConfig(
        n_trials=2, epochs=2, hidden_size=32, batch_size=8, seq_len=20, eval_batch_size=8,
        max_train_batches=3, max_eval_batches=2, embedding_sizes=(2, 4), hyper_sizes=(8, 16),
        hyper_size=8, embedding_size=2),
    "quick": HyperLSTMPTBConfig(
        n_trials=10, epochs=4, hidden_size=128, batch_size=32, seq_len=100, eval_batch_size=32,
        max_train_batches=150, max_eval_batches=40, embedding_sizes=(4, 8),
        hyper_sizes=(16, 32, 64), hyper_size=32, keep_prob_low=0.85, lr_low=1e-3, lr_high=1e-2,
        lr=5e-3),
    "paper": HyperLSTMPTBConfig(n_trials=40, epochs=30, cpus_per_trial=4.0, gpus_per_trial=1.0),
}

SPEC = StudySpec(
    name="hyperlstm_ptb",
    description="HyperLSTM char-LM on PTB: search N_z, N_ĥ, layer norm, dropout, lr",
    presets=PRESETS,
    search_space=search_space,
    trial=run_trial,
    metrics={"valid_bpc": "minimize", "test_bpc": "minimize", "train_bpc": "minimize",
             "params": "minimize"},
    objectives=("valid_bpc",),
    grid=grid,
    check_data=check_data,
    trial_configs=trial_configs,
    pruner="median",
    family="char-lm",
    group_by="cell",
)
