"""What a checkpoint at each report boundary costs, at the papers' sizes, against the time of
the epoch or task it follows (issue 33's target: under 2%).

    HNET_DATA_DIR=../shared/data .venv/bin/python benchmarks/checkpoint_cost.py --rounds 5

Settings, each with the real trainer's state (``hnet_core``) at its last report boundary:

- ``pmnist10_hnet``: PermutedMNIST-10, the authors' classifier (target 1024-1000-1000, ten
  heads; hypernetwork 25,25 ELU, chunks of 78000, embeddings 8 and 24); after task 9.
- ``pmnist10_hnet_tir``: the same hypernetwork, HNET+TIR in CL3 with the authors' replay VAE
  (encoder and decoder 1000,1000, latent 100 with a one-hot code of 100, its hypernetwork 25,25
  ELU, chunks of 85000, embeddings 8 and 24) and task-inference network (1024-1000-1000); after
  task 9, nine learned decoders kept for the drift diagnostic.
- ``ptb_ln_hyperlstm``: the LN HyperLSTM char LM of Ha et al. (1000 units, hyper 128,
  embedding 4; 4.92M parameters) with Adam's state, after an epoch.

A checkpoint is timed as the runner writes it: the trainer's payload serialised
(``torch.save``) and committed with the epoch's metrics through ``pyarrow.fs`` to a local
file (write, then move). The time it follows is estimated from measured steps: a PermutedMNIST
task is 5000 steps of batch 128 of its learner (HNET+TIR: and 5000 of its VAE; a step's time is
the difference of 6 steps and 1, so a task's setup cancels); a PTB epoch is every window of
128 x 100 characters of the training text. Prints one JSON object: per setting
the checkpoint's size, the median time in ms over ``--rounds`` rounds with the spread, the
step time, the estimated epoch or task time and the checkpoint's share of it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from hnet_core.data import load_ptb_char
from hnet_core.data.mnist import Task, TaskSplit
from hnet_core.models import (
    CharLM,
    CharLMConfig,
    HyperMLPConfig,
    RecurrentConfig,
    ReplayVAEConfig,
    TargetNetConfig,
)
from hnet_core.train import ContinualTrainConfig, build_learner
from hnet_core.train import _checkpoint as checkpoint_io
from studies._runner.checkpoints import TrialCheckpoint

TARGET = TargetNetConfig(hidden=(1000, 1000))
HNET = HyperMLPConfig(num_tasks=10, task_embedding_size=24, hidden=(25, 25), chunk_size=78000,
                      chunk_embedding_size=8, activation="elu", init="xavier")
VAE = ReplayVAEConfig(enc_hidden=(1000, 1000), dec_hidden=(1000, 1000), hnet_hidden=(25, 25),
                      chunk_size=85000, chunk_embedding_size=8, task_embedding_size=24,
                      beta=0.1, lr=1e-4, enc_init="xavier", hnet_init="xavier")
ITERATIONS, BATCH = 5000, 128


def noise_tasks(n: int = 256) -> list[Task]:
    g = torch.Generator().manual_seed(0)
    split = TaskSplit(torch.rand(n, 1024, generator=g), torch.randint(0, 10, (n,), generator=g))
    return [Task(f"noise{t}", split, split, 10) for t in range(10)]


def continual_state(method: str) -> tuple[dict, float]:
    """The payload train_continual writes after task 9, and the measured step seconds."""
    config = ContinualTrainConfig(method=method, scenario=1 if method == "hnet" else 3,
                                  iterations=3, lr=1e-4, beta_output=0.1, lookahead=True,
                                  device="cpu", replay=VAE)
    torch.manual_seed(0)
    learner = build_learner(TARGET, HNET, config, noise_tasks(), torch.device("cpu"))
    x, y = torch.rand(BATCH, 1024), torch.randint(0, 10, (BATCH,))
    rng = random.Random(0)
    learner.learn(9, [(x, y)], rng)  # warm-up

    def learn(steps: int) -> float:  # the learner's steps, and the VAE's where it has one
        began = time.perf_counter()
        learner.learn(9, [(x, y)] * steps, rng)
        if method == "hnet_tir":
            learner.replay.config = dataclasses.replace(config, iterations=steps)
            learner.replay.learn(8, TaskSplit(x, y), torch.device("cpu"))
        return time.perf_counter() - began

    step = (learn(6) - learn(1)) / 5  # a task's setup (its targets) cancels out
    if method == "hnet_tir":
        with torch.no_grad():  # what nine learned decoders leave
            for j in range(9):
                learner.replay.learned[j] = learner.replay.vae.hnet([j])[0].detach().clone()
    payload = {"identity": {"benchmark": method}, "task": 9, "learner": learner.state(),
               "torch_rng": torch.get_rng_state(), "generator": torch.Generator().get_state(),
               "rng": rng.getstate(), "during": [99.0] * 10}
    return payload, step


def char_lm_state(data_dir: str | None) -> tuple[dict, float, int, int]:
    """The payload train_char_lm writes after an epoch, the step seconds, windows an epoch."""
    rnn = RecurrentConfig(cell="ln_hyperlstm", hidden_size=1000, num_layers=1, hyper_size=128,
                          embedding_size=4, recurrent_keep_prob=0.9)
    model_config = CharLMConfig(vocab_size=50, rnn=rnn, input_keep_prob=0.9,
                                output_keep_prob=0.9)
    torch.manual_seed(0)
    model = CharLM(model_config)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.randint(0, 50, (BATCH, 100)), torch.randint(0, 50, (BATCH, 100))
    times = []
    for _ in range(3):  # the first is a warm-up
        began = time.perf_counter()
        logits, _ = model(x, None)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        times.append(time.perf_counter() - began)
    tokens = load_ptb_char(data_dir).train.numel()
    windows = math.ceil(tokens // BATCH / 100)
    payload = {"identity": {"model": dataclasses.asdict(model_config)}, "epoch": 1,
               "model": model.state_dict(), "optimizer": optimizer.state_dict(),
               "rng": torch.get_rng_state()}
    params = sum(p.numel() for p in model.parameters())
    return payload, statistics.median(times[1:]), windows, params


def timed_commit(payload: dict, folder: Path) -> tuple[float, int]:
    """Seconds to serialise ``payload`` and commit it as the runner does; its bytes."""
    store = TrialCheckpoint(str(folder / "seed-0.ckpt"))
    began = time.perf_counter()
    checkpoint_io.save(store, payload)
    store.commit({"epoch": 1, "final_acc": 99.0})
    elapsed = time.perf_counter() - began
    return elapsed, (folder / "seed-0.ckpt").stat().st_size


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    report: dict = {"benchmark": "checkpoint_cost", "cores": os.cpu_count(),
                    "threads": torch.get_num_threads(), "torch": torch.__version__,
                    "rounds": args.rounds}
    settings = {}
    for method in ("hnet", "hnet_tir"):
        payload, step = continual_state(method)
        settings[f"pmnist10_{method}"] = (payload, step, ITERATIONS, None)
    payload, step, windows, params = char_lm_state(args.data_dir)
    settings["ptb_ln_hyperlstm"] = (payload, step, windows, params)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (payload, step, steps, params) in settings.items():
            times, size = [], 0
            for _ in range(args.rounds):
                elapsed, size = timed_commit(payload, Path(tmp))
                times.append(1e3 * elapsed)
            boundary = step * steps
            report[name] = {"bytes": size, "checkpoint_ms": statistics.median(times),
                            "checkpoint_ms_spread": summary(times), "step_ms": 1e3 * step,
                            "steps": steps, "boundary_s": boundary,
                            "share_pct": 100 * statistics.median(times) / 1e3 / boundary,
                            **({"params": params} if params else {})}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
