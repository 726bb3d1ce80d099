"""LSTM and LayerNorm-LSTM cells with a single bias vector, as the baselines of Ha et al. (2017).

One step (gates in the order i, f, o, g; ``N`` hidden units, ``D`` inputs)::

    [i, f, o, g] = LN(W_x x_t + W_h h_{t-1} + b)            # LN per gate block, if layer_norm
    c_t = sigmoid(f + forget_bias) * c_{t-1} + sigmoid(i) * drop(tanh(g))
    h_t = sigmoid(o) * tanh(LN(c_t))

``drop`` is recurrent dropout without memory loss (Semeniuta et al. 2016): a fresh mask on the
candidate ``g`` each step, kept with ``recurrent_keep_prob``. A layer draws the masks of all its
steps at once (:meth:`LSTMCell.dropout_masks`, values 0 or ``1 / keep``) and hands each step its
own, so the step's code holds no random draw and no probability: compiled and eager steps see
the same masks. Layer norm follows the authors' reference code: each gate block normalised on
its own, epsilon 1e-3, gain 1 and bias 0 at start.
Initialisation: ``W_x`` and ``W_h`` orthogonal per gate block, ``b = 0``.

A cell exposes its step in three parts so a layer can run a sequence fast
(:mod:`hnet_core.models.recurrent`): :meth:`LSTMCell.precompute` does the input products for all
``T`` steps in one GEMM, :meth:`LSTMCell.recurrent_weight` is the weight the previous hidden state
is multiplied by, and :meth:`LSTMCell.step` does the rest of one step. That rest is a function of
tensors only (:func:`lstm_step`, :func:`lstm_pointwise`), so the ``fused`` path can compile it
(:mod:`hnet_core.models._step_impl`) and the ``eager`` path runs the very same code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hnet_core.models._step_impl import compiled

LN_EPS = 1e-3
State = tuple[torch.Tensor, ...]
# A cell's layer-norm parameters: (gate gains [4, N], gate biases [4, N], cell gain [N], cell
# bias [N]); None without layer norm.
Norms = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None
Masks = tuple[torch.Tensor | None, ...]  # a cell's dropout masks, one per dropped candidate


def masks_at(masks: Masks, t: int) -> Masks:
    """Step ``t``'s masks ``[B, N]`` of a sequence's ``[T, B, N]`` (None stays None)."""
    return tuple(m if m is None else m[t] for m in masks)


def _dropout_mask(keep_prob: float, training: bool, like: torch.Tensor,
                  shape: tuple[int, ...]) -> torch.Tensor | None:
    """A mask of ``shape`` with entries ``1 / keep_prob`` (kept) and 0, or None."""
    if not training or keep_prob >= 1.0:
        return None
    return like.new_empty(shape).bernoulli_(keep_prob).div_(keep_prob)


def gate_layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                    gate_dim: int = 1, eps: float = LN_EPS) -> torch.Tensor:
    """Layer norm over the last dim of ``x`` (``[B, G, N]``, or ``[G, B, N]`` with
    ``gate_dim=0``), with a gain and bias ``[G, N]`` per gate."""
    normed = F.layer_norm(x, x.shape[-1:], eps=eps)
    if gate_dim == 0:
        return torch.addcmul(bias[:, None], normed, weight[:, None])
    return torch.addcmul(bias, normed, weight)


def lstm_pointwise(pre: torch.Tensor, c: torch.Tensor, gate_offset: torch.Tensor, norms: Norms,
                   mask: torch.Tensor | None, gate_dim: int = 1
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """The gates and state update from pre-activations (i, f, o, g); see the module docstring.

    Args:
        pre: ``[B, 4, N]`` (``gate_dim=1``) or gate-major ``[4, B, N]`` (``gate_dim=0``).
        c: ``c_{t-1} [B, N]``.
        gate_offset: ``[3, 1]``, the forget bias in row 1 (added to i, f, o).
        norms: the layer norms' parameters, or None.
        mask: this step's dropout mask on ``g`` ``[B, N]`` (0 or ``1 / keep``), or None.

    Returns:
        ``(h_t, c_t)``, each ``[B, N]``.
    """
    # split/unbind rather than slicing: their backward concatenates, where a slice's backward
    # would zero-fill a full-size gradient for every piece.
    if norms is not None:
        pre = gate_layer_norm(pre, norms[0], norms[1], gate_dim)
    sig_pre, g_pre = pre.split((3, 1), dim=gate_dim)
    offset = gate_offset if gate_dim == 1 else gate_offset[:, :, None]
    i, f, o = torch.sigmoid(sig_pre + offset).unbind(gate_dim)
    g = torch.tanh(g_pre.squeeze(gate_dim))
    if mask is not None:
        g = g * mask
    c = torch.addcmul(i * g, f, c)
    cell = F.layer_norm(c, c.shape[-1:], norms[2], norms[3], LN_EPS) if norms is not None else c
    return o * torch.tanh(cell), c


def lstm_step(xw: torch.Tensor, hw: torch.Tensor, c: torch.Tensor, gate_offset: torch.Tensor,
              norms: Norms, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step after its GEMMs: ``xw = W_x x_t + b`` and ``hw = W_h h_{t-1}`` ``[B, 4N]``,
    ``c_{t-1} [B, N]``, the dropout ``mask [B, N]`` or None -> ``(h_t, c_t)``."""
    pre = (xw + hw).view(hw.shape[0], 4, -1)
    return lstm_pointwise(pre, c, gate_offset, norms, mask)


class GateLayerNorm(nn.Module):
    """Layer norm applied to each of ``num_gates`` blocks of ``size`` units separately.

    Input ``[B, G, N]``; the gain and bias are per gate and unit, ``[G, N]``.
    """

    def __init__(self, num_gates: int, size: int, eps: float = LN_EPS) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_gates, size))
        self.bias = nn.Parameter(torch.zeros(num_gates, size))

    def forward(self, x: torch.Tensor, gate_dim: int = 1) -> torch.Tensor:
        """Normalise ``x``, batch-major ``[B, G, N]`` (``gate_dim=1``) or ``[G, B, N]`` (0)."""
        return gate_layer_norm(x, self.weight, self.bias, gate_dim, self.eps)


def orthogonal_blocks_(weight: torch.Tensor, num_blocks: int) -> torch.Tensor:
    """Initialise each of ``num_blocks`` column blocks of ``weight [K, G*N]`` orthogonally."""
    with torch.no_grad():
        for block in weight.chunk(num_blocks, dim=1):
            block.copy_(nn.init.orthogonal_(torch.empty(block.shape[1], block.shape[0])).t())
    return weight


class LSTMCell(nn.Module):
    """An LSTM or LayerNorm-LSTM cell with one bias vector ``b``.

    Args:
        input_size: ``D``.
        hidden_size: ``N``.
        layer_norm: normalise the gate pre-activations and the cell (LN-LSTM).
        forget_bias: constant added to the forget gate's pre-activation.
        recurrent_keep_prob: keep probability of the dropout on the candidate ``g``.
    """

    gate_offset: torch.Tensor  # a buffer

    def __init__(self, input_size: int, hidden_size: int, *, layer_norm: bool = False,
                 forget_bias: float = 1.0, recurrent_keep_prob: float = 1.0) -> None:
        super().__init__()
        if not 0.0 < recurrent_keep_prob <= 1.0:
            raise ValueError(f"recurrent_keep_prob must be in (0, 1], got {recurrent_keep_prob}")
        self.input_size, self.hidden_size = input_size, hidden_size
        self.forget_bias, self.recurrent_keep_prob = forget_bias, recurrent_keep_prob
        self.weight_x = nn.Parameter(torch.empty(input_size, 4 * hidden_size))  # W_x
        self.weight_h = nn.Parameter(torch.empty(hidden_size, 4 * hidden_size))  # W_h
        self.bias = nn.Parameter(torch.zeros(4 * hidden_size))  # b
        self.gate_norm = GateLayerNorm(4, hidden_size) if layer_norm else None
        self.cell_norm = nn.LayerNorm(hidden_size, eps=LN_EPS) if layer_norm else None
        gate_offset = torch.zeros(3, 1)
        gate_offset[1] = forget_bias
        self.register_buffer("gate_offset", gate_offset, persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Orthogonal ``W_x`` and ``W_h`` per gate block, zero bias, unit LN gains."""
        orthogonal_blocks_(self.weight_x, 4)
        orthogonal_blocks_(self.weight_h, 4)
        nn.init.zeros_(self.bias)

    def init_state(self, batch_size: int) -> State:
        """Zero ``(h, c)``."""
        zeros = self.weight_h.new_zeros(batch_size, self.hidden_size)
        return zeros, zeros.clone()

    def precompute(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``W_x x_t + b`` for every step at once: ``[T, B, D] -> ([T, B, 4N],)``."""
        return (torch.addmm(self.bias, x.flatten(0, 1), self.weight_x).view(*x.shape[:2], -1),)

    def recurrent_weight(self) -> torch.Tensor:
        """``W_h [N, 4N]``: a step multiplies ``h_{t-1}`` by it."""
        return self.weight_h

    def norms(self) -> Norms:
        """The layer norms' parameters (:data:`Norms`), None without layer norm."""
        if self.gate_norm is None or self.cell_norm is None:
            return None
        return (self.gate_norm.weight, self.gate_norm.bias, self.cell_norm.weight,
                self.cell_norm.bias)

    def dropout_masks(self, steps: int, batch_size: int) -> Masks:
        """The recurrent dropout's masks for ``steps`` steps: ``([T, B, N],)`` of 0 and
        ``1 / keep``, or ``(None,)`` when not training or nothing is dropped."""
        return (_dropout_mask(self.recurrent_keep_prob, self.training, self.weight_h,
                              (steps, batch_size, self.hidden_size)),)

    def step(self, pre_t: tuple[torch.Tensor, ...], hw: torch.Tensor, state: State,
             masks: Masks, fused: bool = False) -> tuple[torch.Tensor, State]:
        """One step from the precomputed input part, ``hw = h_{t-1} W_h`` and this step's
        dropout masks (one step of :meth:`dropout_masks`); ``fused``: the compiled
        :func:`lstm_step`."""
        step = compiled(lstm_step) if fused else lstm_step
        h, c = step(pre_t[0], hw, state[1], self.gate_offset, self.norms(), masks[0])
        return h, (h, c)

    def forward(self, x_t: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One step on ``x_t [B, D]``, plainly (for reading and testing; layers use ``step``)."""
        pre_t = tuple(p[0] for p in self.precompute(x_t[None]))
        masks = masks_at(self.dropout_masks(1, x_t.shape[0]), 0)
        return self.step(pre_t, state[0] @ self.recurrent_weight(), state, masks)
