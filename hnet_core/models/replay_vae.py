"""The replay model of von Oswald et al. (2020, sec. 4.1, HNET+R and HNET+TIR): a fully
connected VAE whose decoder weights come from its own task-conditioned hypernetwork.

For task ``t`` the decoder ``g(z; f_h(e_t, Θ))`` maps a latent ``z ~ N(0, I)`` (``[B, Z]``) to
Bernoulli pixel probabilities ``[B, D]``; the encoder ``q(z | x) = N(mu(x), diag(exp(logvar(x))))``
is an ordinary network trained on the current task only (it is needed to learn the decoder, never
to replay). Protecting the decoder hypernetwork with the output regulariser (strength
``rp_beta``) keeps every earlier task's decoder, so samples of any seen task can be drawn after
the last one: the replay data.

Loss (negative ELBO, per example, summed over pixels): ``BCE(g(z), x) + KL(q(z|x) || N(0, I))``
with ``z = mu + exp(logvar / 2) * eps``.

Sizes: the authors' ``mnist/train_args_default.py`` (chrhenning/hypercl); SplitMNIST
(``_set_default_split``): encoder 400,400, latent 100, decoder hypernetwork 10,10 ELU, chunks
of 50000, chunk and task embeddings 96; decoder 250,350 for HNET+R and 300,150 for HNET+TIR.
The authors also feed the decoder a task-conditional input (``conditional_replay``); ours is
conditioned only through its generated weights (one decoder per task).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from hnet_core.models.hypercl import (
    DIRECT_INITS,
    HNET_INITS,
    ChunkedHyperMLP,
    HyperMLPConfig,
    TargetMLP,
    check_one_of,
    init_target_weights,
    split_weights,
)


@dataclass(frozen=True)
class ReplayVAEConfig:
    """The VAE and its decoder hypernetwork.

    Attributes:
        enc_hidden, dec_hidden: hidden sizes of the encoder and the decoder (ReLU).
        enc_init: the encoder's initialisation
            (:data:`hnet_core.models.hypercl.DIRECT_INITS`).
        latent_size: ``Z``.
        hnet_hidden, hnet_activation, hnet_init: the decoder hypernetwork's MLP and its
            initialisation (:data:`hnet_core.models.hypercl.HNET_INITS`).
        chunk_size, chunk_embedding_size, task_embedding_size: its chunking and embeddings.
        beta: the output regulariser's strength on the decoder hypernetwork (``rp_beta``).
        lr: Adam's learning rate of the encoder, the hypernetwork and its task embeddings.
    """

    enc_hidden: tuple[int, ...] = (400, 400)
    enc_init: str = "he"
    dec_hidden: tuple[int, ...] = (250, 350)
    latent_size: int = 100
    hnet_hidden: tuple[int, ...] = (10, 10)
    hnet_activation: str = "elu"
    hnet_init: str = "he_hidden"
    chunk_size: int | None = 50000
    chunk_embedding_size: int = 96
    task_embedding_size: int = 96
    beta: float = 0.01
    lr: float = 1e-3

    def __post_init__(self) -> None:
        for name in ("enc_hidden", "dec_hidden"):
            sizes = getattr(self, name)
            if not sizes or any(not h >= 1 for h in sizes):
                raise ValueError(f"{name} sizes must be >= 1, got {sizes}")
        if not self.latent_size >= 1:
            raise ValueError(f"latent_size must be >= 1, got {self.latent_size}")
        if not self.beta >= 0:
            raise ValueError(f"replay beta must be >= 0, got {self.beta}")
        if not self.lr > 0:
            raise ValueError(f"replay lr must be > 0, got {self.lr}")
        check_one_of(self.enc_init, DIRECT_INITS, "replay enc_init")
        check_one_of(self.hnet_init, HNET_INITS, "replay hnet_init")

    def hnet_config(self, num_tasks: int) -> HyperMLPConfig:
        return HyperMLPConfig(num_tasks=num_tasks, task_embedding_size=self.task_embedding_size,
                              hidden=self.hnet_hidden, chunk_size=self.chunk_size,
                              chunk_embedding_size=self.chunk_embedding_size,
                              activation=self.hnet_activation, init=self.hnet_init)


class ReplayVAE(nn.Module):
    """A VAE on flat inputs ``[B, D]`` in [0, 1] whose decoder is generated per task.

    Attributes:
        encoder: a functional MLP ``D -> enc_hidden -> 2Z`` (``[mu, logvar]``); its weights are
            ``encoder_weights`` (Parameters).
        decoder: a functional MLP ``Z -> dec_hidden -> D`` (logits); its weights come from
            ``hnet`` (:class:`ChunkedHyperMLP`, one task embedding per task).
    """

    def __init__(self, config: ReplayVAEConfig, in_features: int, num_tasks: int) -> None:
        super().__init__()
        self.config, self.in_features = config, in_features
        self.encoder = TargetMLP(in_features, config.enc_hidden, 2 * config.latent_size)
        shapes = self.encoder.param_shapes
        self.encoder_weights = nn.ParameterList(
            nn.Parameter(w) for w in init_target_weights(shapes, config.enc_init))
        self.decoder = TargetMLP(config.latent_size, config.dec_hidden, in_features)
        self.hnet = ChunkedHyperMLP(config.hnet_config(num_tasks), self.decoder.num_params)

    def decoder_weights(self, task: int) -> list[torch.Tensor]:
        return split_weights(self.hnet([task])[0], self.decoder.param_shapes)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``mu, logvar``: ``[B, Z]`` each."""
        out = self.encoder(x, list(self.encoder_weights))
        z = self.config.latent_size
        return out[:, :z], out[:, z:]

    def loss(self, x: torch.Tensor, task: int) -> torch.Tensor:
        """The negative ELBO of ``x [B, D]`` under task ``task``'s decoder, mean over ``B``."""
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = self.decoder(z, self.decoder_weights(task))
        reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return (reconstruction + kl) / x.shape[0]

    @torch.no_grad()
    def sample(self, tasks: Sequence[int], generator: torch.Generator | None = None
               ) -> torch.Tensor:
        """One replayed input per entry of ``tasks`` (a task id each): ``[len(tasks), D]``,
        the decoder's pixel probabilities for ``z ~ N(0, I)``."""
        device = self.hnet.out_weight.device
        z = torch.randn(len(tasks), self.config.latent_size, generator=generator).to(device)
        x = torch.empty(len(tasks), self.in_features, device=device)
        index = torch.tensor(list(tasks))
        for task in index.unique().tolist():
            rows = (index == task).nonzero().squeeze(1).to(device)
            x[rows] = torch.sigmoid(self.decoder(z[rows], self.decoder_weights(task)))
        return x

    def num_trainable(self) -> int:
        """Encoder weights, decoder hypernetwork Θ and its task embeddings."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
