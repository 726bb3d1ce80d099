"""The image-classification trainer on real MNIST (small slices of it)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from hnet_core.data import mnist_splits
from hnet_core.data.images import ImageSplits
from hnet_core.models import ImageClassifierConfig
from hnet_core.train import ImageTrainConfig, TrainingDiverged, train_image_classifier
from hnet_core.train.image_classifier import augment

MODEL = ImageClassifierConfig(arch="mnist_convnet", hyper=True, embedding_size=4, hidden_size=4)


@pytest.fixture(scope="module")
def small_mnist(data_dir) -> ImageSplits:
    data = mnist_splits(data_dir)
    return dataclasses.replace(data, train_x=data.train_x[:600], train_y=data.train_y[:600],
                               valid_x=data.valid_x[:200], valid_y=data.valid_y[:200],
                               test_x=data.test_x[:200], test_y=data.test_y[:200])


@pytest.mark.needs_data
def test_yields_the_metrics_of_every_epoch_and_learns(small_mnist):
    history = list(train_image_classifier(
        MODEL, ImageTrainConfig(epochs=3, batch_size=50, lr=3e-3, device="cpu"), small_mnist))
    assert [m["epoch"] for m in history] == [1, 2, 3]
    for metrics in history:
        assert set(metrics) == {"epoch", "train_loss", "train_error", "valid_loss",
                                "valid_error", "test_loss", "test_error", "best_valid_error",
                                "test_error_at_best_valid", "lr", "params", "epoch_time_s",
                                "examples_per_s"}
        assert all(math.isfinite(v) for v in metrics.values())
        assert 0 <= metrics["test_error"] <= 100 and metrics["params"] == 12910
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    best = min(history, key=lambda m: m["valid_error"])
    assert history[-1]["best_valid_error"] == best["valid_error"]
    assert history[-1]["test_error_at_best_valid"] == best["test_error"]
    assert history[-1]["valid_error"] < 60  # chance is 90%


@pytest.mark.needs_data
def test_checkpoint_resume_continues_the_same_run(small_mnist, tmp_path):
    config = ImageTrainConfig(epochs=2, batch_size=100, device="cpu", crop_padding=2,
                              lr_milestones=(1,), lr_gamma=0.5)
    straight = list(train_image_classifier(MODEL, config, small_mnist))
    path = tmp_path / "ckpt.pt"
    first = list(train_image_classifier(MODEL, dataclasses.replace(config, epochs=1),
                                        small_mnist, checkpoint=path))
    resumed = list(train_image_classifier(MODEL, config, small_mnist, checkpoint=path))
    assert [m["epoch"] for m in first + resumed] == [1, 2]
    for key in ("train_loss", "valid_error", "test_loss", "lr", "best_valid_error",
                "test_error_at_best_valid"):             # bit for bit, same thread count
        assert [m[key] for m in first + resumed] == [m[key] for m in straight], key
    assert [m["lr"] for m in straight] == [config.lr, config.lr * 0.5]
    with pytest.raises(ValueError, match="another configuration"):
        next(train_image_classifier(MODEL, dataclasses.replace(config, lr=0.5), small_mnist,
                                    checkpoint=path))


@pytest.mark.needs_data
def test_non_finite_loss_raises_training_diverged(small_mnist):
    broken = dataclasses.replace(small_mnist, std=(0.0,))  # x / 0: inf inputs, NaN loss
    with pytest.raises(TrainingDiverged, match="loss is nan at epoch 1, step 0"):
        next(train_image_classifier(MODEL, ImageTrainConfig(device="cpu"), broken))


def test_augment_crops_within_the_padding_and_flips():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4) + 1
    g = torch.Generator().manual_seed(0)
    unchanged = augment(x, padding=0, flip=False, generator=g)
    assert torch.equal(unchanged, x)
    for _ in range(20):
        out = augment(x, padding=1, flip=False, generator=g)
        assert out.shape == x.shape
        for b in range(2):   # every crop is the image shifted by at most one pixel, zero-filled
            shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                      if torch.equal(out[b], _shift(x[b], dy, dx))]
            assert shifts
    flipped = [torch.equal(augment(x, 0, True, g)[0], x[0].flip(2)) for _ in range(40)]
    assert 5 < sum(flipped) < 35


def _shift(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    padded = torch.nn.functional.pad(image, (1, 1, 1, 1))
    h, w = image.shape[1:]
    return padded[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]


def test_bad_training_configs_are_refused():
    for fields, message in [({"lr": math.nan}, "lr must be a finite number"),
                            ({"batch_size": 0}, "batch_size must be >= 1"),
                            ({"crop_padding": -1}, "crop_padding must be >= 0"),
                            ({"lr_milestones": (0,)}, "lr_milestones must be epochs >= 1"),
                            ({"weight_decay": math.inf}, "weight_decay must be finite")]:
        with pytest.raises(ValueError, match=message):
            ImageTrainConfig(**fields)


@pytest.mark.needs_data
def test_step_schedule_nesterov_and_kernel_l2(small_mnist):
    """A schedule by step (Ha et al. 2017, Tables 8-9), Nesterov SGD, the kernels' L2 penalty,
    and a cap on the total steps that ends training within an epoch."""
    config = ImageTrainConfig(epochs=5, batch_size=50, lr=0.1, optimizer="nesterov",
                              lr_steps=(3, 5), lr_factors=(1.0, 0.2, 0.04), max_train_steps=7,
                              kernel_l2=5e-4, max_train_batches=3, device="cpu")
    assert [config.lr_factor(s) for s in range(7)] == [1.0, 1.0, 1.0, 0.2, 0.2, 0.04, 0.04]
    model = ImageClassifierConfig(arch="mnist_convnet", hyper=True)
    history = list(train_image_classifier(model, config, small_mnist))
    assert [m["epoch"] for m in history] == [1, 2, 3]  # 3 + 3 + 1 steps
    assert [round(m["lr"], 6) for m in history] == [0.1, 0.02, 0.004]
    assert all(math.isfinite(m["train_loss"]) for m in history)


def test_kernel_l2_covers_generated_kernels():
    from hnet_core.models import build_classifier
    from hnet_core.models.static_hypernet import conv_kernels

    net = build_classifier(ImageClassifierConfig(arch="mnist_convnet", hyper=True))
    kernels = conv_kernels(net)
    assert sorted(tuple(k.shape) for k in kernels) == [(16, 1, 7, 7), (16, 16, 7, 7)]
    sum(k.square().sum() for k in kernels).backward()
    assert net.generator.w_out.grad is not None  # the penalty reaches the generator


@pytest.mark.parametrize("fields,message", [
    ({"optimizer": "sgd"}, "optimizer must be adam or nesterov"),
    ({"lr_steps": (3,), "lr_factors": (1.0,)}, "lr_factors must be 2 positive factors"),
    ({"lr_steps": (5, 3), "lr_factors": (1.0, 0.5, 0.1)}, "lr_steps must be increasing"),
    ({"lr_steps": (3,), "lr_factors": (1.0, 0.5), "lr_milestones": (2,)}, "not both"),
])
def test_bad_schedules_are_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        ImageTrainConfig(**fields)
