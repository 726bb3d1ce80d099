"""Training throughput of our HyperLSTM against torch.nn.LSTM, side by side in one run.

    python benchmarks/hyperlstm_throughput.py                      # CPU, batch 32, as in docs
    python benchmarks/hyperlstm_throughput.py --device cuda --batch 128

Each round times one forward+backward pass (sequence ``--seq``, ``--hidden`` units, 50 inputs)
of every model in turn, so machine noise hits all alike; the JSON printed has the median tokens/s
of each with its range over rounds, its ratio to nn.LSTM (of the medians, and the median and
range of the rounds' ratios), the peak memory of one pass over what the model holds before it
(CUDA: peak allocated; CPU: peak resident set sampled every millisecond, in a fresh process per
model), the warm-up's time (two passes, where a compiled path compiles) and the path that ran.
Our models run ``impl="fused"`` unless their name ends in ``_eager`` (the op-by-op reference) or
``_captured`` (the whole sequence as one graph, CUDA graphs on a GPU; asked for by name).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import threading
import time

import torch

from hnet_core.models import RecurrentConfig, RecurrentStack

INPUT_SIZE = 50


MODELS = {
    "nn.LSTM": None,
    "ln_hyperlstm_nz4": dict(cell="ln_hyperlstm", embedding_size=4, impl="fused"),
    "ln_hyperlstm_nz4_eager": dict(cell="ln_hyperlstm", embedding_size=4, impl="eager"),
    "ln_hyperlstm_nz16": dict(cell="ln_hyperlstm", embedding_size=16, impl="fused"),
    "ln_hyperlstm_nz16_eager": dict(cell="ln_hyperlstm", embedding_size=16, impl="eager"),
    "hyperlstm_nz4": dict(cell="hyperlstm", embedding_size=4, impl="fused"),
    "hyperlstm_nz4_eager": dict(cell="hyperlstm", embedding_size=4, impl="eager"),
    "ln_hyperlstm_nz4_plain": dict(cell="ln_hyperlstm", embedding_size=4, fast=False,
                                   impl="eager"),
    "lstm": dict(cell="lstm", impl="fused"),
    "lstm_eager": dict(cell="lstm", impl="eager"),
    "ln_lstm": dict(cell="ln_lstm", impl="fused"),
    "ln_lstm_eager": dict(cell="ln_lstm", impl="eager"),
    "ln_hyperlstm_nz4_captured": dict(cell="ln_hyperlstm", embedding_size=4, impl="captured"),
}
# captured compiles the whole sequence as one graph: minutes on a CPU, so asked for by name
DEFAULT_MODELS = [name for name in MODELS if not name.endswith("_captured")]


def build(name: str, args: argparse.Namespace) -> torch.nn.Module:
    """``nn.LSTM`` or one of our stacks: ``impl`` fused unless the name says ``_eager`` or
    ``_captured``; ``_plain``: eager and without the packed recurrent product."""
    if MODELS[name] is None:
        return torch.nn.LSTM(INPUT_SIZE, args.hidden)
    return RecurrentStack(RecurrentConfig(input_size=INPUT_SIZE, hidden_size=args.hidden,
                                          hyper_size=args.hyper, **MODELS[name]))


def one_pass(model: torch.nn.Module, x: torch.Tensor, weights: torch.Tensor) -> None:
    y, _ = model(x)
    (y * weights).sum().backward()
    model.zero_grad(set_to_none=True)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _inputs(args, device):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.seq, args.batch, INPUT_SIZE, generator=g).to(device)
    return x, torch.randn(args.hidden, generator=g).to(device)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def peak_memory_mib(name: str, args: argparse.Namespace) -> float:
    """Peak memory one training pass of ``name`` adds (on CPU: resident set, sampled every ms)."""
    device = torch.device(args.device)
    model = build(name, args).to(device)
    x, weights = _inputs(args, device)
    one_pass(model, x, weights)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        one_pass(model, x, weights)
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    base, peak, done = _rss_bytes(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample)
    sampler.start()
    one_pass(model, x, weights)
    done.set()
    sampler.join()
    return (peak[0] - base) / 2**20


def _cpu_peak(name: str, args: argparse.Namespace) -> float:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(peak_memory_mib, (name, args))


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo, with the core count."""
    try:
        with open("/proc/cpuinfo") as info:
            names = [line.split(":", 1)[1].strip() for line in info
                     if line.startswith("model name")]
    except OSError:
        names = []
    return f"{names[0] if names else platform.machine()}, {os.cpu_count()} cores"


def measure(args: argparse.Namespace) -> dict:
    device = torch.device(args.device)
    torch.manual_seed(0)
    models = {name: build(name, args).to(device) for name in args.models}
    x, weights = _inputs(args, device)
    first_pass_s = {}
    for name, model in models.items():  # warm-up: compiling, oneDNN primitives, cuDNN plans
        _sync(device)
        began = time.perf_counter()
        one_pass(model, x, weights)
        one_pass(model, x, weights)  # a compiled step's second graph: the state needs grad
        _sync(device)
        first_pass_s[name] = time.perf_counter() - began
    times: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            _sync(device)
            began = time.perf_counter()
            one_pass(model, x, weights)
            _sync(device)
            times[name].append(time.perf_counter() - began)
    tokens = args.seq * args.batch
    reference = tokens / statistics.median(times["nn.LSTM"])
    results = {}
    for name, samples in times.items():
        rate = tokens / statistics.median(samples)
        # this round's time of nn.LSTM over this model's: the noise a reader should see
        ratios = [ref / own for ref, own in zip(times["nn.LSTM"], samples, strict=True)]
        results[name] = {
            "tokens_per_s": round(rate, 1),
            "tokens_per_s_range": [round(tokens / max(samples), 1),
                                   round(tokens / min(samples), 1)],
            "ratio_vs_nn_lstm": round(rate / reference, 3),
            "ratio_median_of_rounds": round(statistics.median(ratios), 3),
            "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)],
            "peak_mib": round(_cpu_peak(name, args) if device.type == "cpu"
                              else peak_memory_mib(name, args), 1),
            "warmup_s": round(first_pass_s[name], 2),  # two passes, compiling included
        }
        if isinstance(models[name], RecurrentStack):
            results[name]["impl_ran"] = models[name].impl_ran
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=1000)
    parser.add_argument("--hyper", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=DEFAULT_MODELS)
    args = parser.parse_args()
    if "nn.LSTM" not in args.models:
        args.models.insert(0, "nn.LSTM")
    device_name = (torch.cuda.get_device_name() if args.device.startswith("cuda")
                   else cpu_name())
    report = {
        "benchmark": "hyperlstm_throughput",
        "device": args.device, "device_name": device_name,
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "batch": args.batch, "seq": args.seq, "hidden": args.hidden, "hyper": args.hyper,
        "input": INPUT_SIZE, "rounds": args.rounds,
        "results": measure(args),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
