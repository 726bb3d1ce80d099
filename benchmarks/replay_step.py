"""The training step of the replay methods (HNET+R, HNET+TIR) beside the CL1 hypernetwork's
(HNET), side by side in one run, at the authors' SplitMNIST sizes (von Oswald et al. 2020).

    .venv/bin/python benchmarks/replay_step.py --rounds 5
    python benchmarks/replay_step.py --device cuda

Each method's real learner (``hnet_core.train.build_learner``) learns the last of five 2-way
tasks (four earlier ones to regularise and replay) for ``--steps`` steps of batch 128, after
one warm-up step; a replay method's VAE then learns the fourth task (the last with a decoder:
three earlier decoders to protect) for as many steps, as each task but the last does after its
learner. A replay method's step is the sum of the two. Inputs are uniform noise of MNIST's
shape: the timing does not depend on the pixels. Settings (``chrhenning/hypercl`` at HEAD,
``mnist/train_args_default.py``, ``_set_default_split``): target 784-400-400; classifier
hypernetwork 10,10 ReLU, chunks of 42000, embeddings 96, look-ahead on; replay VAE encoder
400,400, latent 100 with a one-hot task code of 100, its hypernetwork 10,10 ELU, chunks of
50000, embeddings 96, decoder 250,350 (HNET+R) or 50,150 (HNET+TIR), ``rp_beta`` 0.01. HNET
runs in scenario 1, the replay methods in scenario 3.

Prints one JSON object: per method the median step time in ms over ``--rounds`` rounds, the
spread (min and max of the rounds), and its ratio to HNET's step.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time

import torch

from hnet_core.data.mnist import Task, TaskSplit
from hnet_core.models import HyperMLPConfig, ReplayVAEConfig, TargetNetConfig
from hnet_core.train import ContinualTrainConfig, build_learner

METHODS = {"hnet": (1, (250, 350), 0.01), "hnet_r": (3, (250, 350), 0.01),
           "hnet_tir": (3, (50, 150), 0.01)}
TARGET = TargetNetConfig(hidden=(400, 400))
HNET = HyperMLPConfig(num_tasks=5, task_embedding_size=96, hidden=(10, 10), chunk_size=42000,
                      chunk_embedding_size=96, activation="relu")


def noise_tasks(n: int = 512) -> list[Task]:
    g = torch.Generator().manual_seed(0)
    split = TaskSplit(torch.rand(n, 784, generator=g), torch.randint(0, 2, (n,), generator=g))
    return [Task(f"noise{t}", split, split, 2) for t in range(5)]


def timed_learn(method: str, steps: int, device: torch.device) -> float:
    """Mean seconds of one step of ``method`` on the last task."""
    scenario, decoder, beta = METHODS[method]
    config = ContinualTrainConfig(method=method, scenario=scenario, iterations=steps,
                                  lookahead=True, device=str(device),
                                  replay=ReplayVAEConfig(dec_hidden=decoder, beta=beta))
    torch.manual_seed(0)
    learner = build_learner(TARGET, HNET, config, noise_tasks(), device)
    x = torch.rand(128, 784, device=device)
    y = torch.randint(0, 2, (128,), device=device)
    rng = random.Random(0)
    learner.learn(4, [(x, y)], rng)  # warm-up
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    began = time.perf_counter()
    learner.learn(4, [(x, y)] * steps, rng)
    if method != "hnet":  # the VAE learns the fourth task, the last one with a decoder
        learner.replay.learn(3, TaskSplit(x.cpu(), y.cpu()), device)
    sync()
    return (time.perf_counter() - began) / steps


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    times: dict[str, list[float]] = {m: [] for m in METHODS}
    for _ in range(args.rounds):  # alternate, so drifts of the machine hit all alike
        for method in METHODS:
            times[method].append(1e3 * timed_learn(method, args.steps, device))
    base = statistics.median(times["hnet"])
    report = {"benchmark": "replay_step", "device": args.device, "cores": os.cpu_count(),
              "threads": torch.get_num_threads(), "torch": torch.__version__,
              "rounds": args.rounds, "steps": args.steps}
    for method, values in times.items():
        report[method] = {"step_ms": statistics.median(values), "step_ms_spread": summary(values),
                          "ratio_to_hnet": statistics.median(values) / base}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
