"""Task-conditioned hypernetworks for continual learning (von Oswald et al. 2020, sec. 2-3).

Target networks are functional: they take their weights as a list of tensors (``param_shapes``
gives the list's shapes) and never own them. A hypernetwork maps task embeddings ``e_t`` to the
flattened target weights:

- :class:`ChunkedHyperMLP` (sec. 3.2): a shared MLP maps ``[e_t, c_i]`` to chunk ``i`` of the
  flattened weights, with learned chunk embeddings ``c_i``; ``ceil(P / chunk_size)`` chunks, the
  last one cut to fit. All chunks of all requested tasks run as one batch.
- :class:`TaskHyperMLP`: the same without chunking, ``e_t -> all P weights``.

The last hypernetwork layer is linear (no activation), which the output regulariser's Gram
computation relies on (:mod:`hnet_core.models.output_regularizer`). Initialisation
(``HyperMLPConfig.init``): embeddings ~ N(0, 1) and zero biases always; the weight matrices
either ``xavier`` (Xavier-uniform, every layer: the authors' ``mnist/train_utils.py``,
``generate_classifier``) or ``he_hidden`` (He-normal hidden layers, Xavier-uniform output: ours,
the default). He keeps the hidden activations' second moment near 1, so ``he_hidden``
generates larger weights than ``xavier`` (PermutedMNIST-100's first generated layer: std 0.28
to 0.38 against 0.07 to 0.09 over five initialisations; a ReLU layer of fan-in 1024 would start
at 0.044).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu, "elu": F.elu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}

#: Weight initialisations of a hypernetwork (see the module docstring).
HNET_INITS = ("he_hidden", "xavier")


def check_one_of(value: str, choices: Collection[str], what: str) -> None:
    """Raise ValueError naming ``what`` and the choices unless ``value`` is one of them."""
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(choices)}")


def _numel(shapes: Sequence[Sequence[int]]) -> int:
    return sum(math.prod(s) for s in shapes)


class TargetMLP:
    """A functional MLP with one output head per task (or one shared head).

    ``forward(x [B, D], weights, task) -> logits [B, classes]``: weights are ``[W_1, b_1, ...,
    W_out, b_out]`` with ``W_out`` holding every head's rows; ``task`` picks a head.
    """

    def __init__(self, in_features: int, hidden: Sequence[int], classes_per_head: int,
                 num_heads: int = 1, activation: str = "relu") -> None:
        sizes = [in_features, *hidden]
        self.param_shapes = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            self.param_shapes += [(b, a), (b,)]
        self.param_shapes += [(classes_per_head * num_heads, sizes[-1]),
                              (classes_per_head * num_heads,)]
        self.classes, self.num_heads = classes_per_head, num_heads
        self.activation = ACTIVATIONS[activation]

    @property
    def num_params(self) -> int:
        return _numel(self.param_shapes)

    def forward(self, x: torch.Tensor, weights: Sequence[torch.Tensor], task: int = 0
                ) -> torch.Tensor:
        for w, b in zip(weights[:-2:2], weights[1:-2:2], strict=True):
            x = self.activation(F.linear(x, w, b))
        head = (task if self.num_heads > 1 else 0) * self.classes
        w, b = weights[-2][head:head + self.classes], weights[-1][head:head + self.classes]
        return F.linear(x, w, b)

    __call__ = forward


class TargetConvNet:
    """A functional LeNet-style convnet: two 5x5 convs (ReLU, 2x2 max-pool), one hidden linear
    layer, then per-task heads. Input ``[B, C * H * W]`` (flattened, as the CL tasks give it)."""

    def __init__(self, image_shape: tuple[int, int, int], channels: tuple[int, int] = (20, 50),
                 hidden: int = 500, classes_per_head: int = 10, num_heads: int = 1) -> None:
        c, h, w = image_shape
        self.image_shape = image_shape
        flat = channels[1] * (((h - 4) // 2 - 4) // 2) * (((w - 4) // 2 - 4) // 2)
        if flat <= 0:
            raise ValueError(f"images {image_shape} are too small for two 5x5 convs")
        self.param_shapes = [(channels[0], c, 5, 5), (channels[0],),
                             (channels[1], channels[0], 5, 5), (channels[1],),
                             (hidden, flat), (hidden,),
                             (classes_per_head * num_heads, hidden),
                             (classes_per_head * num_heads,)]
        self.classes, self.num_heads = classes_per_head, num_heads
        self.activation = F.relu

    @property
    def num_params(self) -> int:
        return _numel(self.param_shapes)

    def forward(self, x: torch.Tensor, weights: Sequence[torch.Tensor], task: int = 0
                ) -> torch.Tensor:
        x = x.view(x.shape[0], *self.image_shape)
        x = F.max_pool2d(F.relu(F.conv2d(x, weights[0], weights[1])), 2)
        x = F.max_pool2d(F.relu(F.conv2d(x, weights[2], weights[3])), 2)
        x = F.relu(F.linear(x.flatten(1), weights[4], weights[5]))
        head = (task if self.num_heads > 1 else 0) * self.classes
        return F.linear(x, weights[6][head:head + self.classes],
                        weights[7][head:head + self.classes])

    __call__ = forward


def split_weights(flat: torch.Tensor, shapes: Sequence[Sequence[int]]) -> list[torch.Tensor]:
    """``flat [P]`` -> tensors of ``shapes`` (views, in order)."""
    sizes = [math.prod(s) for s in shapes]
    return [part.view(*s) for part, s in zip(flat.split(sizes), shapes, strict=True)]


#: Initialisations of a network trained directly (not generated): ``he`` (ours: He-normal,
#: fan-in) or ``xavier`` (the authors': every weight matrix Xavier-uniform, in
#: ``mnist/train_utils.py`` ``generate_classifier`` and ``mnist/replay/train_utils_replay.py``
#: ``generate_replay_networks``); biases zero in both.
DIRECT_INITS = ("he", "xavier")


def init_target_weights(shapes: Sequence[Sequence[int]], init: str = "he"
                        ) -> list[torch.Tensor]:
    """Weights (one of :data:`DIRECT_INITS`) and zero biases for a network trained directly."""
    check_one_of(init, DIRECT_INITS, "init")
    weights = []
    for shape in shapes:
        if len(shape) == 1:
            weights.append(torch.zeros(shape))
        elif init == "xavier":
            weights.append(nn.init.xavier_uniform_(torch.empty(shape)))
        else:
            fan_in = math.prod(shape[1:])
            weights.append(torch.randn(shape) * math.sqrt(2.0 / fan_in))
    return weights


@dataclass(frozen=True)
class HyperMLPConfig:
    """A task-conditioned hypernetwork.

    Attributes:
        num_tasks: task embeddings ``e_t`` it holds.
        task_embedding_size: size of ``e_t``.
        hidden: hidden layer sizes of the MLP.
        chunk_size: outputs per chunk; None: no chunking (one chunk of all ``P`` weights).
        chunk_embedding_size: size of each ``c_i`` (chunked only).
        activation: of the hidden layers (the paper's PermutedMNIST and SplitMNIST use ELU).
        init: of the weight matrices, one of :data:`HNET_INITS` (``xavier`` is the authors').
    """

    num_tasks: int
    task_embedding_size: int = 24
    hidden: tuple[int, ...] = (25, 25)
    chunk_size: int | None = None
    chunk_embedding_size: int = 8
    activation: str = "elu"
    init: str = "he_hidden"

    def __post_init__(self) -> None:
        for name in ("num_tasks", "task_embedding_size", "chunk_embedding_size"):
            if not getattr(self, name) >= 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if any(not h >= 1 for h in self.hidden):
            raise ValueError(f"hidden sizes must be >= 1, got {self.hidden}")
        if self.chunk_size is not None and not self.chunk_size >= 1:
            raise ValueError(f"chunk_size must be >= 1, got {self.chunk_size}")
        check_one_of(self.activation, ACTIVATIONS, "activation")
        check_one_of(self.init, HNET_INITS, "init")


class ChunkedHyperMLP(nn.Module):
    """``task ids [T]`` -> flattened target weights ``[T, P]`` (sec. 3.2).

    Parameters: ``task_embeddings[t]`` (one Parameter per task, so an optimizer can train only
    the current one), ``theta`` = the MLP's layers and the chunk embeddings ``[C, s_c]``. The
    last layer ``out_weight [chunk, H], out_bias [chunk]`` is linear.
    """

    def __init__(self, config: HyperMLPConfig, target_size: int) -> None:
        super().__init__()
        if target_size < 1:
            raise ValueError(f"target_size must be >= 1, got {target_size}")
        self.config, self.target_size = config, target_size
        self.chunked = config.chunk_size is not None
        self.chunk_size = config.chunk_size if config.chunk_size is not None else target_size
        self.num_chunks = math.ceil(target_size / self.chunk_size)
        self.task_embeddings = nn.ParameterList(
            nn.Parameter(torch.randn(config.task_embedding_size)) for _ in range(config.num_tasks))
        chunk_dim = config.chunk_embedding_size if self.chunked else 0
        self.chunk_embeddings = nn.Parameter(torch.randn(self.num_chunks, chunk_dim))
        sizes = [config.task_embedding_size + chunk_dim, *config.hidden]
        self.hidden_layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        for layer in cast(Iterable[nn.Linear], self.hidden_layers):
            if config.init == "xavier":
                nn.init.xavier_uniform_(layer.weight)
            else:
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
        self.out_weight = nn.Parameter(torch.empty(self.chunk_size, sizes[-1]))
        self.out_bias = nn.Parameter(torch.zeros(self.chunk_size))
        nn.init.xavier_uniform_(self.out_weight)
        self.activation = ACTIVATIONS[config.activation]

    def theta(self) -> list[nn.Parameter]:
        """The hypernetwork's own weights Θ: everything but the task embeddings."""
        return [self.chunk_embeddings, *self.hidden_layers.parameters(), self.out_weight,
                self.out_bias]

    def inputs(self, embeddings: torch.Tensor, chunk_embeddings: torch.Tensor) -> torch.Tensor:
        """``[e_t, c_i]`` for every task row of ``embeddings [T, s_e]`` and chunk: ``[T*C, .]``."""
        t, c = embeddings.shape[0], chunk_embeddings.shape[0]
        return torch.cat([embeddings[:, None, :].expand(t, c, -1),
                          chunk_embeddings[None].expand(t, -1, -1)], dim=2).view(t * c, -1)

    def hidden(self, embeddings: torch.Tensor, chunk_embeddings: torch.Tensor,
               layers: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """The last hidden activations ``a [T*C, H]`` of ``[e_t, c_i]`` for every task row of
        ``embeddings`` and every chunk (task-major); ``layers = [W, b, ...]`` overrides the
        hidden layers' weights (the look-ahead).

        The first layer is applied by parts, ``W [e; c] = W_e e + W_c c``: ``T + C`` products
        instead of ``T * C``.
        """
        if layers is None:
            layers = [p for layer in cast(Iterable[nn.Linear], self.hidden_layers)
                      for p in (layer.weight, layer.bias)]
        if not layers:
            return self.inputs(embeddings, chunk_embeddings)
        w, b = layers[0], layers[1]
        split = embeddings.shape[1]
        first = (F.linear(embeddings, w[:, :split], b)[:, None, :]
                 + F.linear(chunk_embeddings, w[:, split:])[None, :, :])      # [T, C, H_1]
        x = self.activation(first.view(-1, w.shape[0]))
        for w, b in zip(layers[2::2], layers[3::2], strict=True):
            x = self.activation(F.linear(x, w, b))
        return x

    def embeddings_of(self, tasks: Sequence[int]) -> torch.Tensor:
        return torch.stack([self.task_embeddings[t] for t in tasks])

    def generate(self, embeddings: torch.Tensor, theta: Sequence[torch.Tensor]) -> torch.Tensor:
        """Flattened target weights ``[T, P]`` for ``embeddings [T, s_e]`` under the weights
        ``theta`` (in the order of :meth:`theta`)."""
        chunk_embeddings, *hidden, out_weight, out_bias = theta
        a = self.hidden(embeddings, chunk_embeddings, hidden)
        out = F.linear(a, out_weight, out_bias)                          # [T*C, chunk]
        return out.view(embeddings.shape[0], -1)[:, :self.target_size]  # the last chunk cut

    def forward(self, tasks: Sequence[int]) -> torch.Tensor:
        return self.generate(self.embeddings_of(tasks), self.theta())

    def num_trainable(self) -> int:
        """All trainable parameters: Θ, chunk embeddings and every task embedding."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


class TaskHyperMLP(ChunkedHyperMLP):
    """A hypernetwork without chunking: ``e_t -> all P target weights``."""

    def __init__(self, config: HyperMLPConfig, target_size: int) -> None:
        if config.chunk_size is not None:
            raise ValueError("TaskHyperMLP does not chunk; use ChunkedHyperMLP")
        super().__init__(config, target_size)


@dataclass(frozen=True)
class TargetNetConfig:
    """The target network of a continual-learning run.

    Attributes:
        kind: ``mlp`` or ``convnet`` (:class:`TargetMLP`, :class:`TargetConvNet`).
        hidden: the MLP's hidden sizes (the convnet uses its last entry for its linear layer).
        activation: the MLP's hidden activation.
        conv_channels: the convnet's two conv widths.

    Its heads follow the continual-learning scenario (:func:`hnet_core.train.head_layout`).
    """

    kind: str = "mlp"
    hidden: tuple[int, ...] = (1000, 1000)
    activation: str = "relu"
    conv_channels: tuple[int, int] = (20, 50)

    def __post_init__(self) -> None:
        if self.kind not in ("mlp", "convnet"):
            raise ValueError(f"unknown target kind {self.kind!r}; expected mlp or convnet")
        if not self.hidden or any(not h >= 1 for h in self.hidden):
            raise ValueError(f"hidden sizes must be >= 1, got {self.hidden}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}")


def build_target(config: TargetNetConfig, in_features: int, classes: int, heads: int
                 ) -> TargetMLP | TargetConvNet:
    """The target network on flat inputs with ``heads`` output heads of ``classes`` each."""
    if config.kind == "mlp":
        return TargetMLP(in_features, config.hidden, classes, heads, config.activation)
    side = math.isqrt(in_features)
    if side * side != in_features:
        raise ValueError(f"a convnet target needs square images; got {in_features} inputs")
    return TargetConvNet((1, side, side), config.conv_channels, config.hidden[-1], classes,
                         heads)
