"""A study of one's own: a chunked hypernetwork generating an MLP that classifies MNIST.

    python -m studies.run examples/chunked_mlp_mnist.py --objectives valid_error,params
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from hnet_core.data import mnist_splits, resolve_all
from hnet_core.models import ChunkedHyperMLP, HyperMLPConfig, TargetMLP, split_weights
from studies import StudyConfig, StudySpec


@dataclass(frozen=True)
class Config(StudyConfig):
    hidden: int = 100  # the target MLP: 784 -> hidden -> 10
    steps: int = 200   # Adam steps of 128 images per epoch


def search_space(trial, config: Config) -> dict:
    return {"chunk_size": trial.suggest_categorical("chunk_size", [2000, 8000, 32000]),
            "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True)}


def error(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return 100.0 * (logits.argmax(1) != labels).float().mean().item()


def run_trial(config: Config, params: dict, seed: int):
    torch.manual_seed(seed)
    data = mnist_splits(config.data_dir)
    x, vx, tx = (s.flatten(1) / 255.0 for s in (data.train_x, data.valid_x, data.test_x))
    net = TargetMLP(784, (config.hidden,), classes_per_head=10)
    hnet = ChunkedHyperMLP(HyperMLPConfig(num_tasks=1, chunk_size=params["chunk_size"]),
                           net.num_params)
    adam = torch.optim.Adam(hnet.parameters(), lr=params["lr"])
    for epoch in range(1, config.epochs + 1):
        for _ in range(config.steps):
            i = torch.randint(len(x), (128,))
            loss = F.cross_entropy(net(x[i], split_weights(hnet([0])[0], net.param_shapes)),
                                   data.train_y[i])
            adam.zero_grad()
            loss.backward()
            adam.step()
        with torch.no_grad():
            w = split_weights(hnet([0])[0], net.param_shapes)
            yield {"epoch": epoch, "params": hnet.num_trainable(),
                   "valid_error": error(net(vx, w), data.valid_y),
                   "test_error": error(net(tx, w), data.test_y)}


def check_data(config: Config) -> None:
    resolve_all([f"mnist/{f}-ubyte.gz" for f in ("train-images-idx3", "train-labels-idx1",
                                                 "t10k-images-idx3", "t10k-labels-idx1")],
                config.data_dir)


SPEC = StudySpec(
    name="chunked_mlp_mnist", description="MNIST MLP from a chunked hypernetwork",
    presets={"smoke": Config(n_trials=2, epochs=1, steps=5), "quick": Config(n_trials=8, epochs=3),
             "paper": Config(n_trials=30, epochs=10, steps=500)},
    search_space=search_space, trial=run_trial, check_data=check_data, family="other",
    metrics={"valid_error": "minimize", "test_error": "minimize", "params": "minimize"},
    objectives=("valid_error",))
