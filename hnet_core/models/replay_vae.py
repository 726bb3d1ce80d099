"""The replay model of von Oswald et al. (2020, sec. 4.1, HNET+R and HNET+TIR): a fully
connected VAE whose decoder weights come from its own task-conditioned hypernetwork.

For task ``t`` the decoder ``g([z, c_t]; f_h(e_t, Θ))`` maps a latent ``z ~ N(0, I)`` (``[B, Z]``)
and the task's condition ``c_t`` (a one-hot code of size ``condition_size``, the authors'
``conditional_replay``) to Bernoulli pixel probabilities ``[B, D]``; the encoder
``q(z | x) = N(mu(x), diag(exp(logvar(x))))`` is an ordinary network trained on the current task
only (it is needed to learn the decoder, never to replay). Protecting the decoder hypernetwork
with the output regulariser (strength ``rp_beta``) keeps every earlier task's decoder, so
samples of any seen task can be drawn after the last one: the replay data.

Loss, as the authors average it (``mnist/replay/train_replay.py``, ``train_vae_one_t`` and
``compute_kld``, "to compare to related work"): per pixel, ``mean_pixels BCE(g(z), x) +
KL(q(z|x) || N(0, I)) / D``, mean over the batch, with ``z = mu + exp(logvar / 2) * eps``; the
trainer adds ``rp_beta`` times the regulariser to this. (Summed over pixels it would be ``D``
times larger and protect the decoder ``D`` times more weakly at the same ``rp_beta``.)

Sizes: the authors' ``mnist/train_args_default.py`` (chrhenning/hypercl); SplitMNIST
(``_set_default_split``): encoder 400,400, latent 100, condition 100 (``conditional_dim``),
decoder hypernetwork 10,10 ELU, chunks of 50000, chunk and task embeddings 96; decoder 250,350
for HNET+R and 50,150 for HNET+TIR. The authors train no decoder for the last task (nothing
replays it): the hypernetwork holds ``num_tasks - 1`` task embeddings.
"""

from __future__ import annotations

import math
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
        condition_size: the size of the one-hot task code fed to the decoder beside ``z``
            (the authors' ``conditional_dim = 100`` with ``conditional_replay = True``, set by
            ``_set_default``); 0: none, the decoder conditioned only through its weights.
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
    condition_size: int = 100

    def __post_init__(self) -> None:
        for name in ("enc_hidden", "dec_hidden"):
            sizes = getattr(self, name)
            if not sizes or any(not h >= 1 for h in sizes):
                raise ValueError(f"{name} sizes must be >= 1, got {sizes}")
        if not self.latent_size >= 1:
            raise ValueError(f"latent_size must be >= 1, got {self.latent_size}")
        if not self.condition_size >= 0:
            raise ValueError(f"condition_size must be >= 0, got {self.condition_size}")
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

    Args:
        config: sizes and training settings.
        in_features: ``D``.
        num_decoders: tasks with a decoder (the authors': every task but the last).

    Attributes:
        encoder: a functional MLP ``D -> enc_hidden -> 2Z`` (``[mu, logvar]``); its weights are
            ``encoder_weights`` (Parameters).
        decoder: a functional MLP ``Z + condition_size -> dec_hidden -> D`` (logits); its
            weights come from ``hnet`` (:class:`ChunkedHyperMLP`, one task embedding per
            decoder).
    """

    def __init__(self, config: ReplayVAEConfig, in_features: int, num_decoders: int) -> None:
        super().__init__()
        if config.condition_size and num_decoders > config.condition_size:
            raise ValueError(f"a one-hot condition of size {config.condition_size} codes at "
                             f"most that many tasks, got {num_decoders} decoders")
        self.config, self.in_features, self.num_decoders = config, in_features, num_decoders
        self.encoder = TargetMLP(in_features, config.enc_hidden, 2 * config.latent_size)
        shapes = self.encoder.param_shapes
        self.encoder_weights = nn.ParameterList(
            nn.Parameter(w) for w in init_target_weights(shapes, config.enc_init))
        self.decoder = TargetMLP(config.latent_size + config.condition_size, config.dec_hidden,
                                 in_features)
        self.hnet = ChunkedHyperMLP(config.hnet_config(num_decoders), self.decoder.num_params)

    def decoder_weights(self, task: int) -> list[torch.Tensor]:
        return split_weights(self.hnet([task])[0], self.decoder.param_shapes)

    def decoder_input(self, z: torch.Tensor, tasks: torch.Tensor) -> torch.Tensor:
        """``[z, c_t]``: the latents ``[..., Z]`` and the one-hot codes of ``tasks`` (``z``'s
        leading shape); ``z`` alone without a condition."""
        if not self.config.condition_size:
            return z
        return torch.cat([z, F.one_hot(tasks, self.config.condition_size).to(z.dtype)], -1)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``mu, logvar``: ``[B, Z]`` each."""
        out = self.encoder(x, list(self.encoder_weights))
        z = self.config.latent_size
        return out[:, :z], out[:, z:]

    def loss(self, x: torch.Tensor, task: int) -> torch.Tensor:
        """The negative ELBO of ``x [B, D]`` under task ``task``'s decoder, per pixel (the
        authors' scale: BCE averaged over pixels, KL divided by ``D``), mean over ``B``."""
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        tasks = torch.full((x.shape[0],), task, dtype=torch.long, device=x.device)
        logits = self.decoder(self.decoder_input(z, tasks), self.decoder_weights(task))
        reconstruction = F.binary_cross_entropy_with_logits(logits, x)       # mean over B, D
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)  # [B]
        return reconstruction + kl.mean() / self.in_features

    @torch.no_grad()
    def sample(self, tasks: Sequence[int], per_task: int,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """``per_task`` replayed inputs of each of ``tasks`` (task ids), task after task:
        ``[len(tasks) * per_task, D]``, the decoders' pixel probabilities for ``z ~ N(0, I)``.
        One hypernetwork call generates every decoder; the decoders then run as one batched
        matrix product per layer (``[S, n, in] @ [S, in, out]``)."""
        device = self.hnet.out_weight.device
        s, n = len(tasks), per_task
        z = torch.randn(s, n, self.config.latent_size, generator=generator).to(device)
        ids = torch.tensor(list(tasks), device=device)[:, None].expand(s, n)
        h = self.decoder_input(z, ids)                                       # [S, n, in]
        flat = self.hnet(list(tasks))                                        # [S, P]
        sizes = [math.prod(shape) for shape in self.decoder.param_shapes]
        parts = flat.split(sizes, dim=1)
        layers = len(parts) // 2
        for i in range(layers):
            w = parts[2 * i].view(s, *self.decoder.param_shapes[2 * i])       # [S, out, in]
            b = parts[2 * i + 1]                                              # [S, out]
            h = torch.baddbmm(b[:, None, :], h, w.transpose(1, 2))
            if i < layers - 1:
                h = self.decoder.activation(h)
        return torch.sigmoid(h).reshape(s * n, self.in_features)

    def num_trainable(self) -> int:
        """Encoder weights, decoder hypernetwork Θ and its task embeddings."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
