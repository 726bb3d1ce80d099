"""On the GPU (``pytest -m cuda``): every model agrees with the CPU in value and gradient, every
trainer runs a short epoch there, and a smoke study packs four 0.25-GPU trials on one GPU.

Skipped where CUDA is missing. ``HNET_TEST_DEVICE=cpu`` runs the same checks against the CPU
(a dry run of the GPU check script where no GPU is lent).
"""

from __future__ import annotations

import copy
import dataclasses
import os

import pytest
import torch

from hnet_core.models import (
    CELLS,
    CharLM,
    CharLMConfig,
    ImageClassifierConfig,
    RecurrentConfig,
    RecurrentStack,
    build_classifier,
    detach_state,
)
from hnet_core.models.hypercl import ChunkedHyperMLP, HyperMLPConfig, TargetMLP, split_weights
from hnet_core.models.output_regularizer import output_regularizer, take_targets

pytestmark = pytest.mark.cuda


@pytest.fixture(scope="module")
def device() -> torch.device:
    name = os.environ.get("HNET_TEST_DEVICE", "cuda")
    if name.startswith("cuda") and not torch.cuda.is_available():
        pytest.skip("no CUDA device (HNET_TEST_DEVICE=cpu runs these checks on the CPU)")
    return torch.device(name)


def _agree(build, inputs, device: torch.device, loss=lambda out: out.square().sum()) -> None:
    """Forward and backward of a float64 model on the CPU and on ``device`` agree."""
    torch.manual_seed(0)
    cpu_model = build().double()
    gpu_model = copy.deepcopy(cpu_model).to(device)
    results = []
    for model, where in ((cpu_model, torch.device("cpu")), (gpu_model, device)):
        out = model(*[x.to(where) for x in inputs])
        out = out[0] if isinstance(out, tuple) else out
        loss(out).backward()
        results.append((out.detach().cpu(),
                        {n: p.grad.detach().cpu() for n, p in model.named_parameters()}))
    (out_cpu, grads_cpu), (out_gpu, grads_gpu) = results
    torch.testing.assert_close(out_gpu, out_cpu, rtol=1e-9, atol=1e-9)
    assert grads_cpu.keys() == grads_gpu.keys()
    for name, grad in grads_cpu.items():
        torch.testing.assert_close(grads_gpu[name], grad, rtol=1e-8, atol=1e-9, msg=name)


@pytest.mark.parametrize("cell", CELLS)
def test_recurrent_stacks_agree_with_the_cpu(cell, device):
    config = RecurrentConfig(cell=cell, input_size=5, hidden_size=16, hyper_size=8,
                             embedding_size=4, num_layers=2)
    _agree(lambda: RecurrentStack(config), [torch.randn(7, 3, 5, dtype=torch.float64)], device)


@pytest.mark.parametrize("impl", ["fused", "captured"])
def test_compiled_recurrent_paths_agree_with_the_eager_cpu(impl, device):
    """Fused and captured steps on the device against eager ones on the CPU, in float64, as a
    trainer uses them: three truncated-BPTT windows carrying the state, the gradients of each
    read before the next, then an evaluation without gradients."""
    torch.manual_seed(0)
    config = RecurrentConfig(cell="ln_hyperlstm", input_size=5, hidden_size=16, hyper_size=8,
                             embedding_size=4, num_layers=2, impl="eager")
    cpu_model = RecurrentStack(config).double()
    compiled_model = copy.deepcopy(cpu_model).to(device)
    compiled_model.config = dataclasses.replace(config, impl=impl)
    windows = torch.randn(3, 7, 3, 5, dtype=torch.float64)
    results = []
    for model, where in ((cpu_model, torch.device("cpu")), (compiled_model, device)):
        state, seen = None, []
        for window in windows:
            y, state = model(window.to(where), state)
            model.zero_grad(set_to_none=True)
            y.square().sum().backward()
            seen.append(y.detach().cpu())
            seen.extend(p.grad.detach().cpu() for p in model.parameters())
            state = detach_state(state)
        with torch.no_grad():
            seen.append(model(windows[0].to(where))[0].cpu())
        results.append(seen)
    assert compiled_model.impl_ran == impl
    for got, want in zip(results[1], results[0], strict=True):
        torch.testing.assert_close(got, want, rtol=1e-8, atol=1e-9)


def test_char_lm_agrees_with_the_cpu(device):
    config = CharLMConfig(vocab_size=50, rnn=RecurrentConfig(
        cell="ln_hyperlstm", input_size=50, hidden_size=32, hyper_size=8, embedding_size=4))
    tokens = torch.randint(0, 50, (9, 2))
    _agree(lambda: CharLM(config).eval(), [tokens], device)


@pytest.mark.parametrize("arch,hyper", [("mnist_convnet", False), ("mnist_convnet", True),
                                        ("wrn", False), ("wrn", True)])
def test_convnets_agree_with_the_cpu(arch, hyper, device):
    config = ImageClassifierConfig(arch=arch, hyper=hyper, depth=10, embedding_size=8,
                                   hidden_size=8)
    shape = (2, 1, 28, 28) if arch == "mnist_convnet" else (2, 3, 32, 32)
    _agree(lambda: build_classifier(config).eval(), [torch.randn(*shape, dtype=torch.float64)],
           device)


class _HyperTarget(torch.nn.Module):
    """A chunked hypernetwork and its target as one module: task 1's output and regulariser."""

    def __init__(self) -> None:
        super().__init__()
        self.target = TargetMLP(12, (10,), 3, num_heads=2)
        self.hnet = ChunkedHyperMLP(HyperMLPConfig(num_tasks=2, task_embedding_size=4,
                                                   hidden=(6,), chunk_size=40,
                                                   chunk_embedding_size=3),
                                    self.target.num_params)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        targets = take_targets(self.hnet, [0])
        weights = split_weights(self.hnet([1])[0], self.target.param_shapes)
        reg = output_regularizer(self.hnet, targets, [0])
        return self.target(x, weights, 1) + reg


def test_chunked_hypernetwork_and_regulariser_agree_with_the_cpu(device):
    _agree(_HyperTarget, [torch.randn(4, 12, dtype=torch.float64)], device)


@pytest.mark.needs_data
def test_each_trainer_runs_a_short_epoch_there(device, data_dir):
    from hnet_core.data import load_ptb_char, mnist_splits, split_mnist
    from hnet_core.data.ptb import TokenCorpus
    from hnet_core.models.hypercl import TargetNetConfig
    from hnet_core.train import (
        CharLMTrainConfig,
        ImageTrainConfig,
        train_char_lm,
        train_image_classifier,
    )
    from hnet_core.train.continual import ContinualTrainConfig, train_continual

    full = load_ptb_char(data_dir)
    corpus = TokenCorpus(full.vocab, full.train[:4000], full.valid[:800], full.test[:800])
    lm = CharLMConfig(vocab_size=full.vocab_size, rnn=RecurrentConfig(
        cell="ln_hyperlstm", input_size=full.vocab_size, hidden_size=32, hyper_size=8,
        embedding_size=4))
    (epoch,) = train_char_lm(lm, CharLMTrainConfig(batch_size=4, seq_len=20, eval_batch_size=4,
                                                   device=str(device)), corpus)
    assert epoch["train_bpc"] < 6.0

    images = mnist_splits(data_dir)
    images = dataclasses.replace(images, train_x=images.train_x[:400],
                                 train_y=images.train_y[:400], valid_x=images.valid_x[:100],
                                 valid_y=images.valid_y[:100], test_x=images.test_x[:100],
                                 test_y=images.test_y[:100])
    (epoch,) = train_image_classifier(
        ImageClassifierConfig(arch="mnist_convnet", hyper=True),
        ImageTrainConfig(batch_size=100, crop_padding=1, kernel_l2=5e-4, device=str(device)),
        images)
    assert 0 <= epoch["test_error"] <= 100

    tasks = split_mnist(data_dir=data_dir)[:2]
    history = list(train_continual(
        TargetNetConfig(hidden=(50,)), HyperMLPConfig(num_tasks=2, task_embedding_size=8,
                                                      hidden=(10,), chunk_size=4000,
                                                      chunk_embedding_size=8),
        ContinualTrainConfig(iterations=30, batch_size=64, lookahead=True, task_inference=True,
                             max_eval_examples=500, device=str(device)), tasks))
    assert len(history) == 2 and history[-1]["final_acc"] > 60


@pytest.mark.needs_data
def test_a_smoke_study_packs_four_quarter_gpu_trials_on_one_gpu(device, data_dir, runner):
    """The GPU's name lands in trials.parquet's device column; four trials run at once."""
    if device.type != "cuda":
        pytest.skip("needs a real GPU (the declared-GPU version runs in tests/studies)")
    from tests.studies.gpu_packing import most_at_once

    done = runner.run("hypercl_splitmnist", "--preset", "smoke", "--gpus-per-trial", "0.25",
                      "--cpus-per-trial", "0.25", "--n-trials", "8", "--data-dir",
                      str(data_dir), "--set", "iterations=300", "--ray-gpus", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    trials = runner.trials("hypercl_splitmnist-smoke")
    name = torch.cuda.get_device_name(0)
    assert trials.device.str.startswith(name).all(), trials.device.unique()
    assert most_at_once(trials) == 4
