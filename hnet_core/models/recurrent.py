"""Recurrent stacks behind one interface: ``[T, B, D]`` in, ``[T, B, N]`` and the state out.

Cells by name (:data:`CELLS`): ``lstm``, ``ln_lstm`` (Ha et al.'s baselines, one bias vector),
``hyperlstm`` and ``ln_hyperlstm``. A layer runs a sequence as: the input products of all steps
in one GEMM (``cell.precompute``), then per step ``h_{t-1} @ cell.recurrent_weight()`` (packed,
with its weight gradient gathered; :mod:`hnet_core.models._recurrent_matmul`) and the rest of the
step (``cell.step``), eagerly or compiled (``RecurrentConfig.impl``, see
:mod:`hnet_core.models._step_impl`). The state is a list with one tuple of tensors per layer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn

from hnet_core.models._recurrent_matmul import fast_recurrent_matmul, plain_recurrent_matmul
from hnet_core.models._step_impl import (
    STEP_IMPLS,
    auto_override,
    compiled,
    is_recompile_limit_hit,
    recompile_limit_hit,
    resolve_step_impl,
)
from hnet_core.models.hyperlstm import HyperLSTMCell
from hnet_core.models.lstm import LSTMCell, Masks, State, masks_at

CELLS = ("lstm", "ln_lstm", "hyperlstm", "ln_hyperlstm")


@dataclass(frozen=True)
class RecurrentConfig:
    """A recurrent stack.

    Attributes:
        cell: one of :data:`CELLS`.
        input_size: ``D``.
        hidden_size: ``N_h``, units per layer.
        num_layers: stacked layers; layer ``l > 0`` reads layer ``l - 1``'s ``h``.
        hyper_size: ``N_ĥ`` (HyperLSTM only).
        embedding_size: ``N_z`` (HyperLSTM only).
        recurrent_keep_prob: keep probability of the dropout on the candidate ``g``.
        hyper_recurrent_keep_prob: the same in the hyper cell.
        forget_bias: added to the forget gates' pre-activations.
        fast: the packed, gradient-gathering recurrent product (False: plain autograd).
        impl: how the steps run, one of :data:`STEP_IMPLS`: ``eager`` (op by op, the reference),
            ``fused`` (each step compiled by TorchInductor), ``captured`` (the whole sequence
            compiled, CUDA graphs on a GPU), ``auto`` (``fused`` where the compiler works,
            else ``eager``). Where the compiler is missing or fails its probe, or its cache of
            graphs is full, ``fused`` and ``captured`` run eagerly and log it once.
    """

    cell: str = "ln_hyperlstm"
    input_size: int = 50
    hidden_size: int = 1000
    num_layers: int = 1
    hyper_size: int = 128
    embedding_size: int = 4
    recurrent_keep_prob: float = 1.0
    hyper_recurrent_keep_prob: float = 1.0
    forget_bias: float = 1.0
    fast: bool = True
    impl: str = "auto"

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"unknown cell {self.cell!r}; expected one of {CELLS}")
        if self.impl not in STEP_IMPLS:
            raise ValueError(f"unknown impl {self.impl!r}; expected one of {STEP_IMPLS}")
        if self.impl == "auto":
            auto_override()  # a bad HNET_RECURRENT_IMPL refused where the config is made
        for name in ("input_size", "hidden_size", "num_layers", "hyper_size", "embedding_size"):
            if not getattr(self, name) >= 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("recurrent_keep_prob", "hyper_recurrent_keep_prob"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if not math.isfinite(self.forget_bias):
            raise ValueError(f"forget_bias must be finite, got {self.forget_bias}")


def build_cell(config: RecurrentConfig, input_size: int) -> LSTMCell | HyperLSTMCell:
    """One cell of the kind ``config.cell`` reading ``input_size`` features."""
    layer_norm = config.cell.startswith("ln_")
    common: dict[str, Any] = dict(layer_norm=layer_norm, forget_bias=config.forget_bias,
                                  recurrent_keep_prob=config.recurrent_keep_prob)
    if config.cell.endswith("hyperlstm"):
        return HyperLSTMCell(input_size, config.hidden_size, hyper_size=config.hyper_size,
                             embedding_size=config.embedding_size,
                             hyper_recurrent_keep_prob=config.hyper_recurrent_keep_prob,
                             **common)
    return LSTMCell(input_size, config.hidden_size, **common)


def run_layer(cell: LSTMCell | HyperLSTMCell, x: torch.Tensor, state: State, fast: bool = True,
              impl: str = "eager") -> tuple[torch.Tensor, State]:
    """Run one cell over ``x [T, B, D]`` from ``state``; returns ``h [T, B, N]`` and the state.

    ``impl`` is a resolved path: ``eager``, ``fused`` or ``captured`` (which ignores ``fast``:
    the compiler takes the plain product). The dropout masks of all steps are drawn here, before
    the first step, so every path sees the same ones.
    """
    pre, masks = cell.precompute(x), cell.dropout_masks(x.shape[0], x.shape[1])
    if impl == "captured":
        y, state = compiled(run_steps, "reduce-overhead")(cell, pre, cell.recurrent_weight(),
                                                          state, masks)
        # CUDA graphs overwrite their outputs at the next replay; the state outlives this
        # call (truncated BPTT carries it into the next window), so it gets its own memory.
        return y, tuple(s.clone() for s in state)
    matmul = (fast_recurrent_matmul if fast else plain_recurrent_matmul)(
        cell.recurrent_weight(), x.shape[1], x.shape[0])
    outputs = []
    for t, pre_t in enumerate(zip(*(p.unbind(0) for p in pre), strict=True)):
        h, state = cell.step(pre_t, matmul(state[0]), state, masks_at(masks, t),
                             impl == "fused")
        outputs.append(h)
    return torch.stack(outputs), state


def run_steps(cell: LSTMCell | HyperLSTMCell, pre: tuple[torch.Tensor, ...],
              weight: torch.Tensor, state: State, masks: Masks) -> tuple[torch.Tensor, State]:
    """The steps of a sequence with the plain product ``h_{t-1} @ W``: what ``captured``
    compiles as one graph."""
    outputs = []
    for t in range(pre[0].shape[0]):
        h, state = cell.step(tuple(p[t] for p in pre), state[0] @ weight, state,
                             masks_at(masks, t))
        outputs.append(h)
    return torch.stack(outputs), state


class RecurrentStack(nn.Module):
    """``num_layers`` cells of one kind, run layer by layer over a sequence."""

    def __init__(self, config: RecurrentConfig) -> None:
        super().__init__()
        self.config = config
        sizes = [config.input_size] + [config.hidden_size] * (config.num_layers - 1)
        self.cells = nn.ModuleList(build_cell(config, size) for size in sizes)
        self.impl_ran: str | None = None  # the path the last forward took (config.impl resolved)

    def init_state(self, batch_size: int) -> list[State]:
        """Zero state for every layer."""
        return [cell.init_state(batch_size)
                for cell in cast("Iterable[LSTMCell | HyperLSTMCell]", self.cells)]

    def forward(self, x: torch.Tensor, state: list[State] | None = None
                ) -> tuple[torch.Tensor, list[State]]:
        """``x [T, B, D]`` -> (``h`` of the last layer ``[T, B, N_h]``, new state)."""
        state = state if state is not None else self.init_state(x.shape[1])
        impl = resolve_step_impl(self.config.impl, x.device.type)
        if impl == "eager":
            return self._run_layers(x, state, impl)
        if impl == "captured" and x.is_cuda:
            torch.compiler.cudagraph_mark_step_begin()  # a new step: earlier replays are done
        rng = (torch.get_rng_state(), torch.cuda.get_rng_state(x.device) if x.is_cuda else None)
        try:
            return self._run_layers(x, state, impl)
        except Exception as err:
            if not is_recompile_limit_hit(err):
                raise
        # The compiler's cache is full: this call and later ones run eagerly, with the dropout
        # masks the compiled attempt drew (the attempt's partial graph freed by now).
        recompile_limit_hit(impl, x.device.type)
        torch.set_rng_state(rng[0])
        if rng[1] is not None:
            torch.cuda.set_rng_state(rng[1], x.device)
        return self._run_layers(x, state, "eager")

    def _run_layers(self, x: torch.Tensor, state: list[State], impl: str
                    ) -> tuple[torch.Tensor, list[State]]:
        new_state = []
        for cell, layer_state in zip(cast("Iterable[LSTMCell | HyperLSTMCell]", self.cells),
                                     state, strict=True):
            x, layer_state = run_layer(cell, x, layer_state, self.config.fast, impl)
            new_state.append(layer_state)
        self.impl_ran = impl
        return x, new_state


def detach_state(state: list[State]) -> list[State]:
    """The same state cut from the graph: truncated BPTT carries values, not gradients."""
    return [tuple(t.detach() for t in layer) for layer in state]


class HyperLSTM(RecurrentStack):
    """A stacked (LN) HyperLSTM; ``HyperLSTM(RecurrentConfig(cell="ln_hyperlstm", ...))``."""

    def __init__(self, config: RecurrentConfig) -> None:
        if not config.cell.endswith("hyperlstm"):
            raise ValueError(f"HyperLSTM needs a hyperlstm cell, got {config.cell!r}")
        super().__init__(config)


class LSTM(RecurrentStack):
    """A stacked LSTM or LN-LSTM with one bias vector per layer."""

    def __init__(self, config: RecurrentConfig) -> None:
        if config.cell not in ("lstm", "ln_lstm"):
            raise ValueError(f"LSTM needs an lstm or ln_lstm cell, got {config.cell!r}")
        super().__init__(config)
