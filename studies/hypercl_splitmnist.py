"""hypercl_splitmnist: continual learning of SplitMNIST (five 2-way tasks) with a chunked
hypernetwork (von Oswald et al. 2020, sec. 4.2).

    python -m studies.run hypercl_splitmnist                          # quick preset
    python -m studies.run hypercl_splitmnist --objectives final_acc,compression_ratio
    python -m studies.run hypercl_splitmnist --preset paper --sampler grid

The search space, metrics and results are those of ``hypercl_pmnist``. The paper preset is the
authors' SplitMNIST setting (``chrhenning/hypercl``, ``mnist/train_args_default.py``,
``_set_default_split``), for the classifier:

- target_hidden (400, 400), five 2-way heads, 784 inputs: ``class_fc_arch = '400,400'``,
  ``padding = 0``, ``num_tasks = 5``.
- iterations 2000, batch_size 128: ``n_iter = 2000``, ``batch_size = 128``.
- lr 1e-3 for the hypernetwork and the task embeddings: ``class_lr = class_lr_emb = 0.001``.
- hnet_hidden 10x10, hnet_activation relu: ``class_hnet_arch = '10,10'``,
  ``class_hnet_act = "relu"``.
- chunk_size 42000 (12 chunks), chunk and task embeddings 96: ``class_hyper_chunks``,
  ``class_emb_size``, ``class_temb_size``.
- beta_output 0.01: ``class_beta = 0.01``; lookahead on: ``no_lookahead = False``.
- hnet_init xavier: Xavier-uniform weights, zero biases, embeddings N(0, 1)
  (``mnist/train_utils.py``, ``generate_classifier``); direct_init xavier: the same for the
  networks trained directly (the baselines' target; the VAE's encoder in
  ``mnist/replay/train_utils_replay.py``, ``generate_replay_networks``).
- targets stored, all earlier tasks regularised: ``train_args.py`` defaults.

and for the replay VAE (the HyperCLConfig defaults): encoder 400,400 (``enc_fc_arch``), latent
100, decoder 250,350 for HNET+R and 300,150 for HNET+TIR (``dec_fc_arch``), hypernetwork 10,10
ELU with chunks of 50000 and embeddings 96 (``rp_*``), ``rp_beta`` 0.01 for HNET+R and 0.05 for
HNET+TIR, lr 1e-3 (``enc_lr = dec_lr = 0.001``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from studies.hypercl_pmnist import SPEC as PMNIST_SPEC
from studies.hypercl_pmnist import HyperCLConfig

SPLIT: dict[str, Any] = dict(benchmark="splitmnist", num_tasks=5, target_hidden=(400, 400))

PRESETS = {
    "smoke": dataclasses.replace(cast(HyperCLConfig, PMNIST_SPEC.presets["smoke"]),
                                  benchmark="splitmnist"),
    "quick": HyperCLConfig(
        **SPLIT, n_trials=8, iterations=600, max_eval_examples=2000, chunk_counts=(3, 6, 12),
        task_embedding_sizes=(24, 96), chunk_embedding_sizes=(24, 96),
        hnet_hidden_choices=("10x10", "25x25"), num_chunks=12, hnet_hidden="10x10",
        task_embedding_size=96, chunk_embedding_size=96, beta_output=0.05, lr=1e-3,
        lr_low=3e-4),
    "paper": HyperCLConfig(
        **SPLIT, n_trials=40, iterations=2000, chunk_counts=(3, 6, 12, 24),
        task_embedding_sizes=(24, 48, 96), chunk_embedding_sizes=(24, 48, 96),
        hnet_hidden_choices=("10x10", "25x25", "50x50"), num_chunks=12, chunk_size=42000,
        hnet_hidden="10x10", task_embedding_size=96, chunk_embedding_size=96,
        beta_output=0.01, lookahead=True, hnet_activation="relu", hnet_init="xavier",
        direct_init="xavier", lr=1e-3, cpus_per_trial=2.0),
}

SPEC = dataclasses.replace(
    PMNIST_SPEC,
    name="hypercl_splitmnist",
    description="SplitMNIST, chunked hypernetwork: search embeddings, chunks, beta, lr",
    presets=PRESETS,
)
