"""A fixed-time run of the paper's PTB model: how fast it trains and how far it gets.

    python benchmarks/ptb_fixed_time.py --device cuda --seconds 240
    python benchmarks/ptb_fixed_time.py --device cpu --seconds 20 --hidden 64 --hyper 16 --batch 8

The model and training are ``hyperlstm_ptb``'s paper preset (LN HyperLSTM, N_h 1000, N_ĥ 128,
N_z 4, batch 128, windows of 100, Adam 1e-3, clipping 1.0, keep 0.9) unless a flag shrinks
them for a dry run. It trains for ``--seconds`` of wall time (the validation pass after it is
timed apart), then prints one JSON object: tokens/s, windows and epochs done, the valid bpc
reached (on ``--eval-windows`` windows of the validation split), and what a full run would
take: one epoch's time at that speed, times the preset's epochs (30: the paper does not say how
long it trained, so this is an estimate at our preset's length, not the time to 1.250 bpc).
The recurrent path is the default's (``impl="auto"``: fused where the compiler works), its
compiling inside the timed seconds; ``rnn_impl`` says which ran.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import time

import torch
import torch.nn.functional as F

from hnet_core.data import BPTTBatches, load_ptb_char
from hnet_core.models import CharLM, detach_state
from hnet_core.train import evaluate_bpc
from studies.hyperlstm_ptb import PRESETS, grid, model_config


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--hidden", type=int, help="N_h (default: the paper's 1000)")
    parser.add_argument("--hyper", type=int, help="N_ĥ (default: the paper's 128)")
    parser.add_argument("--batch", type=int, help="streams B (default: the paper's 128)")
    parser.add_argument("--eval-windows", type=int, default=None,
                        help="validation windows (default: the whole split)")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    config = PRESETS["paper"]
    changes = {k: v for k, v in (("hidden_size", args.hidden), ("hyper_size", args.hyper),
                                 ("batch_size", args.batch)) if v is not None}
    config = dataclasses.replace(config, **changes)
    params = {k: v[0] for k, v in grid(config).items()}  # the paper's one configuration
    device = torch.device(args.device)
    corpus = load_ptb_char(args.data_dir)
    torch.manual_seed(0)
    model = CharLM(model_config(config, params, corpus.vocab_size)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=params["lr"])
    windows = BPTTBatches(corpus.train, config.batch_size, config.seq_len)
    per_epoch = math.ceil((corpus.train.numel() // config.batch_size - 1) / config.seq_len)
    state, done, tokens, last = None, 0, 0, torch.zeros(())
    model.train()
    _sync(device)
    began = time.perf_counter()
    while time.perf_counter() - began < args.seconds:
        for x, y in windows:
            logits, state = model(x.to(device), state)
            state = detach_state(state)
            loss = F.cross_entropy(logits.flatten(0, 1), y.to(device).flatten())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            done, tokens, last = done + 1, tokens + y.numel(), loss.detach()
            if time.perf_counter() - began >= args.seconds:
                break
        else:
            state = None  # a new epoch starts from a fresh state
            continue
        break
    _sync(device)
    elapsed = time.perf_counter() - began
    valid = evaluate_bpc(model, corpus.valid, config.eval_batch_size, config.seq_len,
                         args.eval_windows)
    rate = tokens / elapsed
    epoch_s = per_epoch * config.batch_size * config.seq_len / rate
    print(json.dumps({
        "benchmark": "ptb_fixed_time", "device": args.device,
        "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                        else (os.uname().machine + " CPU")),
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "model": {"cell": params["cell"], "hidden": config.hidden_size,
                  "hyper": config.hyper_size, "embedding": config.embedding_size,
                  "batch": config.batch_size, "seq": config.seq_len},
        "seconds": round(elapsed, 1), "windows": done, "tokens_per_s": round(rate, 1),
        "epochs_done": round(done / per_epoch, 4), "last_train_bpc": last.item() / math.log(2),
        "valid_bpc": valid, "epoch_s": round(epoch_s, 1),
        "estimated_run_s_at_preset_epochs": round(epoch_s * config.epochs),
        "preset_epochs": config.epochs, "rnn_impl": model.rnn.impl_ran,
    }, indent=2))


if __name__ == "__main__":
    main()
