"""The training step of the replay methods (HNET+R, HNET+TIR) beside the CL1 hypernetwork's
(HNET), side by side in one run, at the authors' sizes (von Oswald et al. 2020): the paper
presets of ``hypercl_splitmnist`` (default) or ``hypercl_pmnist`` (``--benchmark pmnist``).

    .venv/bin/python benchmarks/replay_step.py --rounds 5
    .venv/bin/python benchmarks/replay_step.py --benchmark pmnist --rounds 3
    python benchmarks/replay_step.py --device cuda

Each method's real learner (``hnet_core.train.build_learner``), configured by the study's own
``trial_configs`` from its paper preset, learns the last task (every earlier one to regularise
and replay) for ``--steps`` steps of the preset's batch, after one warm-up step; a replay
method's VAE then learns the task before it (the last with a decoder) for as many steps, as
each task but the last does after its learner. A replay method's step is the sum of the two.
Inputs are uniform noise of the benchmark's shape: the timing does not depend on the pixels.
HNET runs in scenario 1, the replay methods in scenario 3 (HNET+TIR inferring the task).

Each method runs twice a round: with Adam's fused kernel (``fused_adam``, the default) and with
torch's default Adam (a loop of tensor operations per parameter on CPU).

Prints one JSON object: per method the median step time in ms over ``--rounds`` rounds with
the fused Adam, the spread (min and max of the rounds), its ratio to HNET's step, the same
with torch's default Adam (``default_adam``) and ``fused_speedup`` (default / fused, medians).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import statistics
import time

import torch

from hnet_core.data.mnist import Task, TaskSplit
from hnet_core.train import build_learner
from studies._hypercl.presets import PMNIST_PRESETS, SPLIT_PRESETS
from studies._hypercl.trial import trial_configs

METHODS = {"hnet": 1, "hnet_r": 3, "hnet_tir": 3}  # method: scenario
BENCHMARKS = {"splitmnist": (SPLIT_PRESETS["paper"], 784, 2),  # preset, inputs, classes
              "pmnist": (PMNIST_PRESETS["paper"], 1024, 10)}


def noise_tasks(benchmark: str, n: int = 512) -> list[Task]:
    preset, inputs, classes = BENCHMARKS[benchmark]
    g = torch.Generator().manual_seed(0)
    split = TaskSplit(torch.rand(n, inputs, generator=g),
                      torch.randint(0, classes, (n,), generator=g))
    return [Task(f"noise{t}", split, split, classes) for t in range(preset.num_tasks)]


def timed_learn(benchmark: str, method: str, fused_adam: bool, steps: int,
                device: torch.device) -> float:
    """Mean seconds of one step of ``method`` on the last task."""
    preset = dataclasses.replace(BENCHMARKS[benchmark][0], scenario=METHODS[method],
                                 method=method, task_inference=method == "hnet_tir")
    target, hnet, config = trial_configs(preset, {}, 0)
    config = dataclasses.replace(config, iterations=steps, device=str(device),
                                 fused_adam=fused_adam)
    torch.manual_seed(0)
    tasks = noise_tasks(benchmark)
    learner = build_learner(target, hnet, config, tasks, device)
    x, y = tasks[0].train[torch.arange(config.batch_size)]
    x, y = x.to(device), y.to(device)
    last, rng = len(tasks) - 1, random.Random(0)
    learner.learn(last, [(x, y)], rng)  # warm-up
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    began = time.perf_counter()
    learner.learn(last, [(x, y)] * steps, rng)
    if method != "hnet":  # the VAE learns the task before, the last one with a decoder
        learner.replay.learn(last - 1, TaskSplit(x.cpu(), y.cpu()), device)
    sync()
    return (time.perf_counter() - began) / steps


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--benchmark", choices=sorted(BENCHMARKS), default="splitmnist")
    args = parser.parse_args()
    device = torch.device(args.device)
    times: dict[tuple[str, bool], list[float]] = {(m, f): [] for m in METHODS
                                                  for f in (True, False)}
    for _ in range(args.rounds):  # alternate, so drifts of the machine hit all alike
        for method, fused in times:
            times[method, fused].append(
                1e3 * timed_learn(args.benchmark, method, fused, args.steps, device))
    median = {key: statistics.median(values) for key, values in times.items()}
    report = {"benchmark": "replay_step", "sizes": args.benchmark, "device": args.device,
              "cores": os.cpu_count(), "threads": torch.get_num_threads(),
              "torch": torch.__version__, "rounds": args.rounds, "steps": args.steps}
    for method in METHODS:
        report[method] = {
            "step_ms": median[method, True], "step_ms_spread": summary(times[method, True]),
            "ratio_to_hnet": median[method, True] / median["hnet", True],
            "default_adam": {"step_ms": median[method, False],
                             "step_ms_spread": summary(times[method, False]),
                             "ratio_to_hnet": median[method, False] / median["hnet", False]},
            "fused_speedup": median[method, False] / median[method, True]}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
