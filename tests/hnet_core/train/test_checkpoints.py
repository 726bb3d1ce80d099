"""Checkpoints at each report boundary and exact resumption: every continual-learning method
(the replay methods with their VAE, task-inference network and RNG states) resumed after a
task gives the numbers of an uninterrupted run, bit for bit at the same thread count; a torn
or foreign checkpoint is refused by its own error."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hnet_core.data import split_mnist
from hnet_core.models import HyperMLPConfig, ReplayVAEConfig, TargetNetConfig
from hnet_core.train import ContinualTrainConfig, train_continual
from hnet_core.train._checkpoint import (
    CheckpointMismatch,
    CorruptCheckpoint,
    FileCheckpoint,
    load,
    save,
)

TARGET = TargetNetConfig(hidden=(20,))
HNET = HyperMLPConfig(num_tasks=3, task_embedding_size=4, hidden=(5,), chunk_size=3000,
                      chunk_embedding_size=4)
VAE = ReplayVAEConfig(enc_hidden=(20,), dec_hidden=(20,), latent_size=4, hnet_hidden=(5,),
                      chunk_size=4000, chunk_embedding_size=4, task_embedding_size=4,
                      condition_size=4)
#: What differs between two runs of the same numbers: how long they took.
TIMING = ("task_time_s", "examples_per_s")


@pytest.fixture(scope="module")
def tasks(data_dir):
    return split_mnist(data_dir=data_dir)[:3]


def _config(method: str, scenario: int) -> ContinualTrainConfig:
    return ContinualTrainConfig(method=method, scenario=scenario, iterations=15, batch_size=16,
                                max_eval_examples=100, device="cpu", lookahead=True,
                                ewc_samples=10, task_inference=method == "hnet_ent",
                                replay=VAE)


def _numbers(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in TIMING}


@pytest.mark.needs_data
@pytest.mark.parametrize("method,scenario", [("hnet", 1), ("hnet_ent", 3), ("hnet_r", 3),
                                             ("hnet_tir", 2), ("finetune", 1), ("ewc", 1)])
def test_a_run_resumed_after_a_task_gives_the_uninterrupted_numbers(method, scenario, tasks,
                                                                    tmp_path):
    config = _config(method, scenario)
    straight = list(train_continual(TARGET, HNET, config, tasks))
    path = tmp_path / "ckpt.pt"
    first = train_continual(TARGET, HNET, config, tasks, checkpoint=path)
    interrupted = [next(first), next(first)]
    first.close()                                   # stopped after task 1
    torch.manual_seed(1234)                         # whatever ran in between
    resumed = list(train_continual(TARGET, HNET, config, tasks, checkpoint=path))
    assert [r["epoch"] for r in interrupted + resumed] == [1, 2, 3]
    assert [_numbers(r) for r in interrupted + resumed] == [_numbers(r) for r in straight]


@pytest.mark.needs_data
def test_a_checkpoint_of_another_run_or_torn_is_refused(tasks, tmp_path):
    path = tmp_path / "ckpt.pt"
    run = train_continual(TARGET, HNET, _config("hnet", 1), tasks, checkpoint=path)
    next(run)
    run.close()
    other = dataclasses.replace(_config("hnet", 1), lr=0.01)
    with pytest.raises(CheckpointMismatch, match="another configuration"):
        next(train_continual(TARGET, HNET, other, tasks, checkpoint=path))
    with pytest.raises(CheckpointMismatch):                       # other tasks
        next(train_continual(TARGET, HNET, _config("hnet", 1), tasks[::-1], checkpoint=path))
    path.write_bytes(path.read_bytes()[:200])                     # torn
    with pytest.raises(CorruptCheckpoint, match="does not load"):
        next(train_continual(TARGET, HNET, _config("hnet", 1), tasks, checkpoint=path))
    assert list(tmp_path.iterdir()) == [path]                     # no part files left


def test_a_file_checkpoint_is_replaced_whole(tmp_path):
    store = FileCheckpoint(tmp_path / "deep" / "ckpt.pt")
    assert store.read() is None and load(store, {}, torch.device("cpu")) is None
    save(store, {"identity": {"a": 1}, "x": torch.arange(3)})
    save(store, {"identity": {"a": 1}, "x": torch.arange(4)})
    assert load(store, {"a": 1}, torch.device("cpu"))["x"].tolist() == [0, 1, 2, 3]
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["ckpt.pt"]
    (tmp_path / "deep" / "ckpt.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CorruptCheckpoint):
        load(store, {"a": 1}, torch.device("cpu"))
