"""Character-level LM training on a token corpus with truncated BPTT (Ha et al. 2017, sec. 4.3).

Each epoch walks the train stream as ``batch_size`` parallel streams in windows of ``seq_len``
steps, carrying the recurrent state from one window to the next and detaching it between them.
Adam, gradient-norm clipping, and bits per character (mean cross-entropy / ln 2) on the valid and
test streams after every epoch. :func:`train_char_lm` is a generator: it yields one metrics dict
per epoch, so the caller can report, prune or stop between epochs.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from hnet_core.data.ptb import BPTTBatches, TokenCorpus
from hnet_core.models.char_lm import CharLM, CharLMConfig, count_parameters
from hnet_core.models.recurrent import detach_state
from hnet_core.train import _checkpoint
from hnet_core.train import _checks as checks
from hnet_core.train._checkpoint import CheckpointStore
from hnet_core.train._device import pick_device
from hnet_core.train._errors import TrainingDiverged

LN2 = math.log(2.0)


@dataclass(frozen=True)
class CharLMTrainConfig:
    """How to train a :class:`CharLM`.

    Attributes:
        epochs: passes over the train stream.
        batch_size: parallel streams ``B`` (the paper uses 128).
        seq_len: truncated-BPTT window ``L`` (the paper uses 100).
        lr: Adam learning rate.
        grad_clip: maximum global gradient norm.
        eval_batch_size: parallel streams when evaluating.
        max_train_batches: stop an epoch after this many windows (None: the whole stream).
        max_eval_batches: evaluate on at most this many windows (None: the whole split).
        seed: seeds parameters, dropout and nothing else.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ...
    """

    epochs: int = 1
    batch_size: int = 128
    seq_len: int = 100
    lr: float = 1e-3
    grad_clip: float = 1.0
    eval_batch_size: int = 128
    max_train_batches: int | None = None
    max_eval_batches: int | None = None
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        checks.at_least(self, 1, "epochs", "batch_size", "seq_len", "eval_batch_size",
                        "max_train_batches", "max_eval_batches")
        checks.positive(self, "lr", "grad_clip")


@torch.no_grad()
def evaluate_bpc(model: CharLM, tokens: torch.Tensor, batch_size: int, seq_len: int,
                 max_batches: int | None = None) -> float:
    """Bits per character of ``model`` on a stream (state carried across windows, no dropout)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    state, total_nats, count = None, 0.0, 0
    for i, (x, y) in enumerate(BPTTBatches(tokens, batch_size, seq_len)):
        if max_batches is not None and i >= max_batches:
            break
        logits, state = model(x.to(device), state)
        total_nats += F.cross_entropy(logits.flatten(0, 1), y.to(device).flatten(),
                                      reduction="sum").item()
        count += y.numel()
    model.train(was_training)
    return total_nats / count / LN2


def _train_epoch(model: CharLM, optimizer: torch.optim.Optimizer, tokens: torch.Tensor,
                 config: CharLMTrainConfig, epoch: int) -> tuple[float, int]:
    """One pass of truncated BPTT; returns (train bpc, tokens seen)."""
    model.train()
    device = next(model.parameters()).device
    state, total_nats, count = None, 0.0, 0
    for i, (x, y) in enumerate(BPTTBatches(tokens, config.batch_size, config.seq_len)):
        if config.max_train_batches is not None and i >= config.max_train_batches:
            break
        logits, state = model(x.to(device), state)
        state = detach_state(state)
        loss = F.cross_entropy(logits.flatten(0, 1), y.to(device).flatten())
        if not torch.isfinite(loss):
            raise TrainingDiverged(f"loss is {loss.item()} at epoch {epoch}, window {i}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        if not torch.isfinite(norm):
            raise TrainingDiverged(f"gradient norm is {norm.item()} at epoch {epoch}, window {i}")
        optimizer.step()
        total_nats += loss.item() * y.numel()
        count += y.numel()
    return total_nats / max(count, 1) / LN2, count


def train_char_lm(model_config: CharLMConfig, config: CharLMTrainConfig, corpus: TokenCorpus,
                  *, checkpoint: str | Path | CheckpointStore | None = None
                  ) -> Iterator[dict[str, float | str]]:
    """Train a CharLM, yielding metrics after every epoch.

    Args:
        model_config: the model; its ``vocab_size`` must match the corpus.
        config: the training schedule.
        corpus: train, valid and test streams.
        checkpoint: a file (or :class:`~hnet_core.train._checkpoint.CheckpointStore`) to save
            model, optimizer and RNG state to after every epoch; when it already holds a
            checkpoint of the same configuration, training resumes after its last epoch, to
            the numbers an uninterrupted run gives.

    Yields:
        ``{"epoch", "train_bpc", "valid_bpc", "test_bpc", "tokens_per_s", "epoch_time_s",
        "params", "rnn_impl"}`` for each epoch, 1-based; ``rnn_impl`` is the recurrent path that
        ran (``eager``, ``fused`` or ``captured``: ``RecurrentConfig.impl`` resolved here).

    Raises:
        TrainingDiverged: the loss or gradient norm stopped being finite.
        ValueError: the vocabulary sizes differ.
        CheckpointError: the checkpoint is of another configuration
            (``CheckpointMismatch``) or does not load (``CorruptCheckpoint``).
    """
    if model_config.vocab_size != corpus.vocab_size:
        raise ValueError(f"model vocab_size {model_config.vocab_size} != corpus "
                         f"{corpus.vocab_size}")
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    model = CharLM(model_config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    identity = {"model": dataclasses.asdict(model_config), "train": dataclasses.asdict(config)}
    identity["train"].pop("epochs")
    identity["model"]["rnn"].pop("impl")  # how the steps run changes no number they compute
    store = _checkpoint.as_store(checkpoint)
    start = _resume(store, identity, model, optimizer, device)
    params = count_parameters(model)
    for epoch in range(start + 1, config.epochs + 1):
        began = time.perf_counter()
        train_bpc, seen = _train_epoch(model, optimizer, corpus.train, config, epoch)
        elapsed = time.perf_counter() - began
        metrics: dict[str, float | str] = {
            "epoch": epoch,
            "train_bpc": train_bpc,
            "valid_bpc": evaluate_bpc(model, corpus.valid, config.eval_batch_size,
                                      config.seq_len, config.max_eval_batches),
            "test_bpc": evaluate_bpc(model, corpus.test, config.eval_batch_size, config.seq_len,
                                     config.max_eval_batches),
            "tokens_per_s": seen / elapsed,
            "epoch_time_s": elapsed,
            "params": params,
            "rnn_impl": model.rnn.impl_ran or "",
        }
        if store is not None:
            _checkpoint.save(store, {
                "identity": identity, "epoch": epoch, "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "rng": torch.get_rng_state()})
        yield metrics


def _resume(store: CheckpointStore | None, identity: dict, model: CharLM,
            optimizer: torch.optim.Optimizer, device: torch.device) -> int:
    """Load a matching checkpoint into model and optimizer; returns its epoch (0 if none)."""
    saved = _checkpoint.load(store, identity, device)
    if saved is None:
        return 0
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    torch.set_rng_state(saved["rng"].cpu())
    return int(saved["epoch"])
