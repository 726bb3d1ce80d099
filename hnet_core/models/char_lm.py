"""A character-level language model around any recurrent stack (Ha et al. 2017, sec. 4.3).

``tokens [T, B]`` -> one-hot (or embedding) ``x_t`` -> input dropout -> recurrent stack ->
output dropout -> softmax head ``W_y h_t + b_y`` -> logits ``[T, B, V]``. With one-hot input and
the paper's sizes, the parameter counts match Table 3 (see ``tests``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from hnet_core.models.lstm import State
from hnet_core.models.recurrent import RecurrentConfig, RecurrentStack


@dataclass(frozen=True)
class CharLMConfig:
    """A character-level LM.

    Attributes:
        vocab_size: ``V``, symbols in and out (50 for char-level PTB).
        embedding_dim: size of a learned input embedding; ``None`` feeds one-hot vectors, as the
            paper does.
        rnn: the recurrent stack; its ``input_size`` is set from the input encoding.
        input_keep_prob: keep probability of dropout on the input vectors.
        output_keep_prob: keep probability of dropout on the top layer's output.
    """

    vocab_size: int = 50
    embedding_dim: int | None = None
    rnn: RecurrentConfig = field(default_factory=RecurrentConfig)
    input_keep_prob: float = 1.0
    output_keep_prob: float = 1.0

    def __post_init__(self) -> None:
        for name in ("input_keep_prob", "output_keep_prob"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        input_size = self.embedding_dim or self.vocab_size
        if self.rnn.input_size != input_size:
            object.__setattr__(self, "rnn", dataclasses.replace(self.rnn, input_size=input_size))


class CharLM(nn.Module):
    """Recurrent character LM: ``forward(tokens [T, B], state) -> (logits [T, B, V], state)``."""

    def __init__(self, config: CharLMConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = (nn.Embedding(config.vocab_size, config.embedding_dim)
                          if config.embedding_dim else None)
        self.rnn = RecurrentStack(config.rnn)
        self.head = nn.Linear(config.rnn.hidden_size, config.vocab_size)

    def init_state(self, batch_size: int) -> list[State]:
        return self.rnn.init_state(batch_size)

    def forward(self, tokens: torch.Tensor, state: list[State] | None = None
                ) -> tuple[torch.Tensor, list[State]]:
        if self.embedding is not None:
            x = self.embedding(tokens)
        else:
            x = F.one_hot(tokens, self.config.vocab_size).to(self.head.weight.dtype)
        x = F.dropout(x, 1.0 - self.config.input_keep_prob, self.training)
        h, state = self.rnn(x, state)
        h = F.dropout(h, 1.0 - self.config.output_keep_prob, self.training)
        return self.head(h), state


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
