"""The replay VAE of the hypercl studies' HNET+R and HNET+TIR trials, with the authors'
per-method settings where a field is left at None.

Source: ``chrhenning/hypercl`` at HEAD (e325678), ``mnist/train_args_default.py``. SplitMNIST
(``_set_default_split``): decoder 250,350 for HNET+R and 50,150 for HNET+TIR, ``rp_beta =
0.01`` for both (older commits had 300,150 and 0.05 for HNET+TIR; fdc4ab5, "Reproducibility
check for perm100 done and warning deleted", set today's values). PermutedMNIST
(``_set_default_permuted``): decoder 400,400 for HNET+R and 1000,1000 (the general setting)
for HNET+TIR, ``rp_beta = 0.1`` for both.
"""

from __future__ import annotations

from hnet_core.models import ReplayVAEConfig

AUTHORS_DECODER = {("splitmnist", "hnet_r"): (250, 350), ("splitmnist", "hnet_tir"): (50, 150),
                   ("pmnist", "hnet_r"): (400, 400), ("pmnist", "hnet_tir"): (1000, 1000)}
AUTHORS_BETA = {("splitmnist", "hnet_r"): 0.01, ("splitmnist", "hnet_tir"): 0.01,
                ("pmnist", "hnet_r"): 0.1, ("pmnist", "hnet_tir"): 0.1}


def replay_config(config, method: str, parse_sizes) -> ReplayVAEConfig:
    """The replay VAE of ``config`` (a HyperCLConfig) for ``method``; a method without replay
    gets the HNET+R one (which it ignores)."""
    key = (config.benchmark, method if method == "hnet_tir" else "hnet_r")
    decoder = (parse_sizes(config.replay_dec_hidden) if config.replay_dec_hidden is not None
               else AUTHORS_DECODER[key])
    return ReplayVAEConfig(
        enc_hidden=parse_sizes(config.replay_enc_hidden), enc_init=config.direct_init,
        dec_hidden=decoder,
        latent_size=config.replay_latent_size,
        hnet_hidden=parse_sizes(config.replay_hnet_hidden), hnet_activation="elu",
        hnet_init=config.hnet_init,
        chunk_size=config.replay_chunk_size,
        chunk_embedding_size=config.replay_chunk_embedding_size,
        task_embedding_size=config.replay_task_embedding_size,
        beta=config.replay_beta if config.replay_beta is not None else AUTHORS_BETA[key],
        lr=config.replay_lr if config.replay_lr is not None else config.lr,
        condition_size=config.replay_condition_size)
