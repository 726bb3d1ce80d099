"""One training step of a chunked hypernetwork with the output regulariser, Gram form against a
plain task-by-task loop, side by side in one run (von Oswald et al. 2020 settings).

    .venv/bin/python benchmarks/hypercl_step.py --rounds 5
    python benchmarks/hypercl_step.py --device cuda

A step: generate the current task's target weights, a batch of 128 through the target MLP,
cross-entropy, the output regulariser over every earlier task, backward, Adam. Settings:

- ``pmnist10``: target 1024-1000-1000 with ten 10-way heads, hypernetwork 25,25 (ELU), chunk
  size 78000, chunk embedding 8, task embedding 24; the last task, so 9 earlier tasks.
- ``pmnist100``: target 1024-1000-1000 with 100 10-way heads, hypernetwork 200,250,350, chunk
  size 7500, chunk embedding 12, task embedding 128; 99 earlier tasks.

``taskloop`` regularises by generating each earlier task's full weights and comparing them with
stored outputs, one task at a time (:func:`output_regularizer_direct`). Prints one JSON object:
per setting the median step time in ms over ``--rounds`` rounds (each the mean of ``--steps``
steps after one warm-up step), the spread (min and max of the rounds), and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from hnet_core.models.hypercl import ChunkedHyperMLP, HyperMLPConfig, TargetMLP, split_weights
from hnet_core.models.output_regularizer import (
    output_regularizer,
    output_regularizer_direct,
    take_targets,
)

SETTINGS = {
    "pmnist10": dict(heads=10, hidden=(25, 25), chunk_size=78000, chunk_embedding_size=8,
                     task_embedding_size=24),
    "pmnist100": dict(heads=100, hidden=(200, 250, 350), chunk_size=7500,
                      chunk_embedding_size=12, task_embedding_size=128),
}


def build(setting: dict, device: torch.device) -> tuple[TargetMLP, ChunkedHyperMLP]:
    torch.manual_seed(0)
    target = TargetMLP(1024, (1000, 1000), 10, num_heads=setting["heads"])
    hnet = ChunkedHyperMLP(HyperMLPConfig(
        num_tasks=setting["heads"], task_embedding_size=setting["task_embedding_size"],
        hidden=setting["hidden"], chunk_size=setting["chunk_size"],
        chunk_embedding_size=setting["chunk_embedding_size"], activation="elu"),
        target.num_params)
    return target, hnet.to(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_steps(target: TargetMLP, hnet: ChunkedHyperMLP, gram: bool, steps: int,
                device: torch.device) -> float:
    """Mean seconds of ``steps`` steps on the last task (one warm-up step first)."""
    task = hnet.config.num_tasks - 1
    earlier = list(range(task))
    if gram:
        targets = take_targets(hnet, earlier)
    else:
        with torch.no_grad():
            outputs = torch.cat([hnet([t]) for t in earlier])
    params = [*hnet.theta(), hnet.task_embeddings[task]]
    optimizer = torch.optim.Adam(params, lr=1e-4)
    x = torch.rand(128, 1024, device=device)
    y = torch.randint(0, 10, (128,), device=device)

    def step() -> None:
        weights = split_weights(hnet([task])[0], target.param_shapes)
        loss = F.cross_entropy(target(x, weights, task), y)
        reg = (output_regularizer(hnet, targets, earlier) if gram
               else output_regularizer_direct(hnet, outputs, earlier))
        optimizer.zero_grad(set_to_none=True)
        (loss + 0.01 * reg).backward()
        optimizer.step()

    step()
    _sync(device)
    began = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return (time.perf_counter() - began) / steps


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo where there is one."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="steps per round (Gram form)")
    parser.add_argument("--taskloop-steps", type=int, default=2)
    parser.add_argument("--settings", default="pmnist10,pmnist100")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    report = {"benchmark": "hypercl_step", "device": args.device,
              "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                              else cpu_name()),
              "machine": cpu_name(), "cores": os.cpu_count(),
              "threads": torch.get_num_threads(), "torch": torch.__version__,
              "rounds": args.rounds}
    for name in args.settings.split(","):
        target, hnet = build(SETTINGS[name], device)
        gram, loop = [], []
        for _ in range(args.rounds):  # alternate, so drifts of the machine hit both alike
            gram.append(1e3 * timed_steps(target, hnet, True, args.steps, device))
            loop.append(1e3 * timed_steps(target, hnet, False, args.taskloop_steps, device))
        report[name] = {"target_params": target.num_params, "chunks": hnet.num_chunks,
                        "earlier_tasks": hnet.config.num_tasks - 1,
                        "step_ms": statistics.median(gram), "step_ms_spread": summary(gram),
                        "taskloop_step_ms": statistics.median(loop),
                        "taskloop_step_ms_spread": summary(loop),
                        "speedup": statistics.median(loop) / statistics.median(gram)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
