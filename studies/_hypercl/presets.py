"""The hypercl studies' presets for PermutedMNIST-10 and SplitMNIST; the study files
``hypercl_pmnist`` and ``hypercl_splitmnist`` cite the source of each paper value."""

from __future__ import annotations

import dataclasses
from typing import Any

from studies._hypercl.config import HyperCLConfig

PMNIST_PRESETS = {
    "smoke": HyperCLConfig(
        n_trials=2, num_tasks=2, target_hidden=(20,), iterations=5, batch_size=32,
        max_eval_examples=200, chunk_counts=(2, 4), task_embedding_sizes=(4,),
        chunk_embedding_sizes=(4,), hnet_hidden_choices=("5x5",), num_chunks=2,
        hnet_hidden="5x5", task_embedding_size=4, chunk_embedding_size=4, lr=1e-3,
        task_inference=True, replay_enc_hidden="20", replay_dec_hidden="20",
        replay_latent_size=4, replay_hnet_hidden="5", replay_chunk_size=4000,
        replay_chunk_embedding_size=4, replay_task_embedding_size=4),
    "quick": HyperCLConfig(
        n_trials=8, num_tasks=3, target_hidden=(100, 100), iterations=1000,
        max_eval_examples=2000, chunk_counts=(4, 8, 16), task_embedding_sizes=(8, 24),
        chunk_embedding_sizes=(8, 16), hnet_hidden_choices=("10x10", "25x25"), num_chunks=8,
        hnet_hidden="25x25", lr=1e-3, lr_low=3e-4),
    "paper": HyperCLConfig(n_trials=40, cpus_per_trial=2.0, chunk_size=78000, beta_output=0.1,
                           lookahead=True, hnet_init="xavier", direct_init="xavier",
                           replay_enc_hidden="1000x1000",
                           replay_hnet_hidden="25x25", replay_chunk_size=85000,
                           replay_chunk_embedding_size=8, replay_task_embedding_size=24),
}


SPLIT: dict[str, Any] = dict(benchmark="splitmnist", num_tasks=5, target_hidden=(400, 400))

SPLIT_PRESETS = {
    "smoke": dataclasses.replace(PMNIST_PRESETS["smoke"],
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
