"""Image-classification training of a main network, plain or hyper (Ha et al. 2017, sec. 4.1).

The splits live in memory as uint8 tensors on the training device; each step gathers a batch by
index, converts and normalises it there, and optionally pads and randomly crops it (and flips it
horizontally, for CIFAR), so no data loader stands between the GPU (or the CPU) and the data.
Adam or Nesterov-momentum SGD, with an optional schedule: the learning rate times ``lr_gamma``
at each epoch of ``lr_milestones``, or piecewise constant by step (``lr * lr_factors[i]`` while
the step is below ``lr_steps[i]``, as Ha et al. 2017 give theirs in Tables 8-9), an optional L2
penalty on every convolution kernel, generated ones included (``kernel_l2``), and an optional
cap on the total steps. :func:`train_image_classifier` is a generator: one metrics dict per
epoch.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from hnet_core.data.images import ImageSplits
from hnet_core.models.char_lm import count_parameters
from hnet_core.models.convnets import ImageClassifierConfig, build_classifier
from hnet_core.models.static_hypernet import conv_kernels
from hnet_core.train import _checkpoint
from hnet_core.train import _checks as checks
from hnet_core.train._checkpoint import CheckpointStore
from hnet_core.train._device import pick_device
from hnet_core.train._errors import TrainingDiverged


@dataclass(frozen=True)
class ImageTrainConfig:
    """How to train an image classifier.

    Attributes:
        epochs: passes over the train split.
        batch_size: examples per step (the paper's MNIST runs use 1000).
        lr: the optimizer's initial learning rate.
        optimizer: ``adam`` or ``nesterov`` (SGD with Nesterov momentum ``momentum``).
        momentum: Nesterov SGD's momentum.
        lr_milestones: epochs after which the learning rate is multiplied by ``lr_gamma``.
        lr_gamma: the factor of each step.
        lr_steps, lr_factors: a schedule by step instead: ``lr * lr_factors[i]`` while the
            step (from 0) is below ``lr_steps[i]``, ``lr * lr_factors[-1]`` after the last
            (one factor more than boundaries; not with ``lr_milestones``).
        max_train_steps: stop training after this many steps in all (None: ``epochs`` full
            passes); the last epoch may be partial.
        weight_decay: L2 penalty added by the optimizer to every parameter.
        kernel_l2: ``kernel_l2 / 2 * sum ||K||^2`` over every convolution kernel, generated
            ones included, added to the loss (0: none).
        crop_padding: zero padding before a random crop back to the image size (0: none).
        flip: random horizontal flips (CIFAR; never for digits).
        eval_batch_size: examples per evaluation batch.
        max_train_batches: stop an epoch after this many steps (None: the whole split).
        max_eval_batches: evaluate on at most this many batches (None: the whole split).
        seed: seeds parameters, batch order and augmentation.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ...
    """

    epochs: int = 1
    batch_size: int = 1000
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    lr_milestones: tuple[int, ...] = ()
    lr_gamma: float = 0.1
    lr_steps: tuple[int, ...] = ()
    lr_factors: tuple[float, ...] = (1.0,)
    max_train_steps: int | None = None
    weight_decay: float = 0.0
    kernel_l2: float = 0.0
    crop_padding: int = 0
    flip: bool = False
    eval_batch_size: int = 1000
    max_train_batches: int | None = None
    max_eval_batches: int | None = None
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        checks.at_least(self, 1, "epochs", "batch_size", "eval_batch_size",
                        "max_train_batches", "max_eval_batches")
        checks.at_least(self, 0, "crop_padding")
        checks.at_least(self, 1, "max_train_steps")
        checks.positive(self, "lr", "lr_gamma")
        checks.non_negative(self, "weight_decay", "kernel_l2", "momentum")
        if self.optimizer not in ("adam", "nesterov"):
            raise ValueError(f"optimizer must be adam or nesterov, got {self.optimizer!r}")
        if any(not m >= 1 for m in self.lr_milestones):
            raise ValueError(f"lr_milestones must be epochs >= 1, got {self.lr_milestones}")
        steps, factors = self.lr_steps, self.lr_factors
        if len(factors) != len(steps) + 1 or any(not f > 0 for f in factors):
            raise ValueError(f"lr_factors must be {len(steps) + 1} positive factors (one more "
                             f"than lr_steps), got {factors}")
        if list(steps) != sorted(set(steps)) or any(not s >= 1 for s in steps):
            raise ValueError(f"lr_steps must be increasing steps >= 1, got {steps}")
        if steps and self.lr_milestones:
            raise ValueError("give lr_milestones (by epoch) or lr_steps (by step), not both")

    def lr_factor(self, step: int) -> float:
        """The factor of the step schedule at ``step`` (1 without one)."""
        return self.lr_factors[bisect.bisect_right(self.lr_steps, step)]


class _Normalize(nn.Module):
    """uint8 ``[B, C, H, W]`` -> float, scaled to [0, 1], minus mean, over std (per channel)."""

    mean: torch.Tensor  # buffers
    std: torch.Tensor

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() / 255.0 - self.mean) / self.std


def augment(x: torch.Tensor, padding: int, flip: bool, generator: torch.Generator
            ) -> torch.Tensor:
    """Zero-pad by ``padding``, crop a random ``H x W`` window per image, maybe flip it."""
    b, _, h, w = x.shape
    if padding:
        padded = F.pad(x, (padding,) * 4)
        dy = torch.randint(0, 2 * padding + 1, (b,), generator=generator).to(x.device)
        dx = torch.randint(0, 2 * padding + 1, (b,), generator=generator).to(x.device)
        rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
        cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
        batch = torch.arange(b, device=x.device)[:, None, None, None]
        channel = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
        x = padded[batch, channel, rows, cols]
    if flip:
        mirror = (torch.rand(b, generator=generator) < 0.5).to(x.device)
        x = torch.where(mirror[:, None, None, None], x.flip(3), x)
    return x


@torch.no_grad()
def evaluate(model: nn.Module, normalize: nn.Module, x: torch.Tensor, y: torch.Tensor,
             batch_size: int, max_batches: int | None = None) -> tuple[float, float]:
    """(mean cross-entropy, error in %) of ``model`` on images ``x`` and labels ``y``."""
    was_training = model.training
    model.eval()
    loss, wrong, count = 0.0, 0, 0
    for i, start in enumerate(range(0, x.shape[0], batch_size)):
        if max_batches is not None and i >= max_batches:
            break
        logits = model(normalize(x[start:start + batch_size]))
        target = y[start:start + batch_size]
        loss += F.cross_entropy(logits, target, reduction="sum").item()
        wrong += (logits.argmax(1) != target).sum().item()
        count += target.shape[0]
    model.train(was_training)
    if count == 0:
        return math.nan, math.nan
    return loss / count, 100.0 * wrong / count


def _loss(model: nn.Module, logits: torch.Tensor, y: torch.Tensor,
          config: ImageTrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(cross-entropy, what is minimised: it plus the kernels' L2 penalty, if any)."""
    loss = F.cross_entropy(logits, y)
    if not config.kernel_l2:
        return loss, loss
    penalty = sum(k.square().sum() for k in conv_kernels(model))
    return loss, loss + 0.5 * config.kernel_l2 * penalty


def _train_epoch(model: nn.Module, normalize: nn.Module, optimizer: torch.optim.Optimizer,
                 data: ImageSplits, config: ImageTrainConfig, epoch: int,
                 generator: torch.Generator, step: int) -> tuple[float, float, int, int]:
    """One pass over a shuffled train split, from global step ``step``; returns (mean loss,
    error in %, examples seen, the next step), measured on the training batches as they were
    trained on."""
    model.train()
    device = data.train_x.device
    order = torch.randperm(data.train_x.shape[0], generator=generator).to(device)
    total, wrong, count = torch.zeros((), device=device), torch.zeros((), device=device), 0
    for i, start in enumerate(range(0, order.shape[0], config.batch_size)):
        if config.max_train_batches is not None and i >= config.max_train_batches:
            break
        if config.max_train_steps is not None and step >= config.max_train_steps:
            break
        if config.lr_steps:
            for group in optimizer.param_groups:
                group["lr"] = config.lr * config.lr_factor(step)
        index = order[start:start + config.batch_size]
        x = augment(data.train_x[index], config.crop_padding, config.flip, generator)
        y = data.train_y[index]
        logits = model(normalize(x))
        loss, objective = _loss(model, logits, y, config)
        if not torch.isfinite(objective):
            raise TrainingDiverged(f"loss is {objective.item()} at epoch {epoch}, step {i}")
        optimizer.zero_grad(set_to_none=True)
        objective.backward()
        optimizer.step()
        step += 1
        total += loss.detach() * y.shape[0]
        wrong += (logits.detach().argmax(1) != y).sum()
        count += y.shape[0]
    count_ = max(count, 1)
    return total.item() / count_, 100.0 * wrong.item() / count_, count, step


def _optimizer(model: nn.Module, config: ImageTrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "nesterov":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                               nesterov=True, weight_decay=config.weight_decay)
    return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def train_image_classifier(model_config: ImageClassifierConfig, config: ImageTrainConfig,
                           data: ImageSplits, *,
                           checkpoint: str | Path | CheckpointStore | None = None
                           ) -> Iterator[dict[str, float]]:
    """Train a main network, yielding metrics after every epoch.

    Args:
        model_config: the network (its ``num_classes`` must match the data).
        config: the training schedule.
        data: train, valid and test splits (moved to the training device here).
        checkpoint: a file (or :class:`~hnet_core.train._checkpoint.CheckpointStore`) to save
            model, optimizer, schedule, RNG state and the best epoch so far to after every
            epoch; when it holds a checkpoint of the same configuration, training resumes
            after its last epoch, to the numbers an uninterrupted run gives.

    Yields:
        ``{"epoch", "train_loss", "train_error", "valid_loss", "valid_error", "test_loss",
        "test_error", "best_valid_error", "test_error_at_best_valid", "lr", "params",
        "epoch_time_s", "examples_per_s"}``; errors in %; the best valid error so far and the
        test error at its epoch (model selection by validation, over every epoch run);
        ``train_*`` over the epoch's (augmented) training batches, ``lr`` the epoch's.

    Raises:
        TrainingDiverged: the loss stopped being finite.
        ValueError: the class counts differ.
        CheckpointError: the checkpoint is of another configuration
            (``CheckpointMismatch``) or does not load (``CorruptCheckpoint``).
    """
    if model_config.num_classes != data.num_classes:
        raise ValueError(f"model num_classes {model_config.num_classes} != data "
                         f"{data.num_classes}")
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = build_classifier(model_config).to(device)
    normalize = _Normalize(data.mean, data.std).to(device)
    data = dataclasses.replace(data, **{k: getattr(data, k).to(device) for k in (
        "train_x", "train_y", "valid_x", "valid_y", "test_x", "test_y")})
    optimizer = _optimizer(model, config)
    schedule = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(config.lr_milestones),
                                                    gamma=config.lr_gamma)
    identity = {"model": dataclasses.asdict(model_config), "train": dataclasses.asdict(config)}
    identity["train"].pop("epochs")
    store = _checkpoint.as_store(checkpoint)
    start, step, best = _resume(store, identity, model, optimizer, schedule, generator, device)
    params = count_parameters(model)
    for epoch in range(start + 1, config.epochs + 1):
        if config.max_train_steps is not None and step >= config.max_train_steps:
            break  # the steps ran out within the last epoch
        lr = (config.lr * config.lr_factor(step) if config.lr_steps
              else optimizer.param_groups[0]["lr"])
        began = time.perf_counter()
        train_loss, train_error, seen, step = _train_epoch(
            model, normalize, optimizer, data, config, epoch, generator, step)
        elapsed = time.perf_counter() - began
        schedule.step()
        metrics = {"epoch": epoch, "train_loss": train_loss, "train_error": train_error}
        for split in ("valid", "test"):
            loss, error = evaluate(model, normalize, getattr(data, f"{split}_x"),
                                   getattr(data, f"{split}_y"), config.eval_batch_size,
                                   config.max_eval_batches)
            metrics.update({f"{split}_loss": loss, f"{split}_error": error})
        if metrics["valid_error"] < best[0]:
            best = (metrics["valid_error"], metrics["test_error"])
        metrics.update(best_valid_error=best[0], test_error_at_best_valid=best[1])
        metrics.update(lr=lr, params=params, epoch_time_s=elapsed, examples_per_s=seen / elapsed)
        if store is not None:
            _checkpoint.save(store, {
                "identity": identity, "epoch": epoch, "step": step, "best": list(best),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                "rng": torch.get_rng_state(), "generator": generator.get_state()})
        yield metrics


def _resume(store: CheckpointStore | None, identity: dict, model: nn.Module,
            optimizer: torch.optim.Optimizer, schedule: torch.optim.lr_scheduler.LRScheduler,
            generator: torch.Generator, device: torch.device
            ) -> tuple[int, int, tuple[float, float]]:
    """Load a matching checkpoint; returns its epoch, step and best (valid error, test error
    then) so far (0, 0, (inf, nan) if there is none)."""
    saved = _checkpoint.load(store, identity, device)
    if saved is None:
        return 0, 0, (math.inf, math.nan)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    schedule.load_state_dict(saved["schedule"])
    torch.set_rng_state(saved["rng"].cpu())
    generator.set_state(saved["generator"].cpu())
    best = saved.get("best", [math.inf, math.nan])
    return int(saved["epoch"]), int(saved.get("step", 0)), (float(best[0]), float(best[1]))
