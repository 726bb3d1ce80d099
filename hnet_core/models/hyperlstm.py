"""HyperLSTM: the dynamic hypernetwork of Ha, Dai & Le, *HyperNetworks* (ICLR 2017), sec. 3.2.

A small LSTM, the hyper cell with ``N_ĥ`` units, reads ``x̂_t = [x_t; h_{t-1}]`` and its output
``ĥ_t`` rescales, row by row, the weights of the main LSTM (``N_h`` units) at every step. This is
the memory-efficient weight-scaling form (eq. 12-13), with one ``z``/``d`` block per gate
``y ∈ {i, f, o, g}`` and per path, as in the authors' reference code::

    ĥ_t, ĉ_t = HyperCell([x_t; h_{t-1}], (ĥ_{t-1}, ĉ_{t-1}))     # an LSTMCell, N_ĥ units
    z_x^y = W_ĥx^y ĥ_t + b_ĥx^y      z_h^y = W_ĥh^y ĥ_t + b_ĥh^y      z_b^y = W_ĥb^y ĥ_t
    d_x^y = W_zx^y z_x^y              d_h^y = W_zh^y z_h^y              d_b^y = W_zb^y z_b^y
    y_pre = d_x^y ⊙ (W_x^y x_t) + d_h^y ⊙ (W_h^y h_{t-1}) + b_0^y + d_b^y
    [i, f, o, g] = LN(y_pre);  c_t, h_t as in :class:`~hnet_core.models.lstm.LSTMCell`

Shapes: ``z`` vectors have ``N_z`` entries, ``d`` vectors ``N_h``. In code the 12 ``z`` blocks
(4 gates x {x, h, b}) are one GEMM ``ĥ_t @ z_weight [N_ĥ, 12 N_z]`` and the 12 ``d`` blocks one
batched GEMM with ``d_weight [12, N_z, N_h]``.

Initialisation (paper, appendix A.2.3): hyper-cell weights orthogonal and biases 0; the ``z_x``
and ``z_h`` projections ``W = 0, b = 1``; ``z_b``'s ``W ~ N(0, 0.01)``; ``W_x`` and ``W_h``
orthogonal; ``d_x`` and ``d_h`` projections constant ``0.1 / N_z`` (so every scale starts at 0.1);
``b_0 = 0``; ``W_zb = 0``.

The step after its GEMM with ``h_{t-1}`` is a function of tensors only (:func:`hyperlstm_step`),
run as it is (``eager``) or compiled (``fused``, :mod:`hnet_core.models._step_impl`). Fused, the
``d`` vectors are formed as ``sum_j z[..., j] W_z[j]`` (``N_z`` multiply-adds per entry) rather
than by a batched GEMM with an inner dimension of ``N_z``, so the compiler can generate them
inside the gates' kernels; the two agree to rounding (tested in float64).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from hnet_core.models._step_impl import compiled
from hnet_core.models.lstm import LSTMCell, Masks, Norms, State, lstm_pointwise, masks_at

NUM_SCALED = 8  # z/d blocks that scale a product: 4 gates x {x path, h path}
NUM_BLOCKS = 12  # ... plus 4 dynamic-bias blocks


class HyperStepParams(NamedTuple):
    """What a HyperLSTM step reads besides its inputs and state (shapes as in the module
    docstring; ``z_bias`` padded with zeros for the ``z_b`` blocks to ``[12 N_z]``)."""

    hyper_weight_h: torch.Tensor  # W'_h [N_ĥ, 4N_ĥ], the hyper cell's recurrent weight
    z_weight: torch.Tensor  # [N_ĥ, 12 N_z]
    z_bias: torch.Tensor  # [12 N_z]
    d_weight: torch.Tensor  # [12, N_z, N_h]
    bias: torch.Tensor  # b_0 [4 N_h]
    main_offset: torch.Tensor  # forget bias of the main cell [3, 1]
    hyper_offset: torch.Tensor  # ... and of the hyper cell
    main_norms: Norms
    hyper_norms: Norms


def scaling_vectors(hyper_h: torch.Tensor, z_weight: torch.Tensor, z_bias: torch.Tensor,
                    d_weight: torch.Tensor, unrolled: bool = False) -> torch.Tensor:
    """The ``d`` vectors ``[12, B, N_h]`` from ``ĥ_t [B, N_ĥ]``: ``z = ĥ_t W_ĥ + b_ĥ``
    (``[12, B, N_z]``), then ``d = z W_z`` per block, by batched GEMM or ``unrolled`` over
    ``N_z`` (the form a compiler fuses)."""
    n_z = d_weight.shape[1]
    z = torch.addmm(z_bias, hyper_h, z_weight).view(-1, NUM_BLOCKS, n_z).transpose(0, 1)
    if not unrolled:
        return torch.bmm(z, d_weight)
    d = z[:, :, 0, None] * d_weight[:, None, 0]
    for j in range(1, n_z):
        d = torch.addcmul(d, z[:, :, j, None], d_weight[:, None, j])
    return d


def hyperlstm_step(xw: torch.Tensor, hyper_xw: torch.Tensor, hw: torch.Tensor, state: State,
                   params: HyperStepParams, masks: Masks, unrolled: bool = False) -> State:
    """One HyperLSTM step after the input products and ``hw = h_{t-1} [W_h | W'_h]``.

    Args:
        xw: ``W_x x_t`` gate-major ``[4, B, N_h]``.
        hyper_xw: ``W'_x x_t + b'`` ``[B, 4N_ĥ]``.
        hw: ``[B, 4N_h + 4N_ĥ]``.
        state: ``(h, c, ĥ, ĉ)`` of step ``t - 1``.
        params: the weights the step reads.
        masks: this step's recurrent dropout masks (main cell ``[B, N_h]``, hyper cell
            ``[B, N_ĥ]``), each None where nothing is dropped.
        unrolled: form ``d`` without the batched GEMM (:func:`scaling_vectors`).

    Returns:
        ``(h, c, ĥ, ĉ)`` of step ``t``.
    """
    _, c, hyper_h, hyper_c = state
    batch, n_hyp = hw.shape[0], params.hyper_weight_h.shape[0]
    n_h = params.d_weight.shape[2]
    main_hw, hyper_hw = hw.split((4 * n_h, 4 * n_hyp), dim=1)
    hyper_pre = torch.addmm(hyper_xw + hyper_hw, hyper_h, params.hyper_weight_h)
    hyper_h, hyper_c = lstm_pointwise(hyper_pre.view(batch, 4, n_hyp), hyper_c,
                                      params.hyper_offset, params.hyper_norms, masks[1])
    d_x, d_h, d_b = scaling_vectors(hyper_h, params.z_weight, params.z_bias, params.d_weight,
                                    unrolled).split(4)
    # gate-major [4, B, N_h]: d_x ⊙ W_x x + d_h ⊙ W_h h + d_b + b_0
    pre = torch.addcmul(d_b + params.bias.view(4, 1, n_h), d_x, xw)
    pre = torch.addcmul(pre, d_h, main_hw.view(batch, 4, n_h).transpose(0, 1))
    h, c = lstm_pointwise(pre, c, params.main_offset, params.main_norms, masks[0], gate_dim=0)
    return h, c, hyper_h, hyper_c


class HyperLSTMCell(nn.Module):
    """One HyperLSTM (or LN HyperLSTM) cell.

    Args:
        input_size: ``D``, size of ``x_t``.
        hidden_size: ``N_h``, units of the main LSTM.
        hyper_size: ``N_ĥ``, units of the hyper cell.
        embedding_size: ``N_z``, size of each ``z`` vector.
        layer_norm: layer norm on the gates and cell of both the main and the hyper cell.
        forget_bias: constant added to the forget gates' pre-activations.
        recurrent_keep_prob: keep probability of the main cell's dropout on ``g``.
        hyper_recurrent_keep_prob: the same for the hyper cell.

    State: ``(h, c, ĥ, ĉ)``.
    """

    z_bias_pad: torch.Tensor  # a buffer

    def __init__(self, input_size: int, hidden_size: int, *, hyper_size: int = 128,
                 embedding_size: int = 4, layer_norm: bool = False, forget_bias: float = 1.0,
                 recurrent_keep_prob: float = 1.0, hyper_recurrent_keep_prob: float = 1.0) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.hyper_size, self.embedding_size = hyper_size, embedding_size
        self.recurrent_keep_prob = recurrent_keep_prob
        # The main cell's W_x, W_h, b_0, layer norms and pointwise step.
        self.main = LSTMCell(input_size, hidden_size, layer_norm=layer_norm,
                             forget_bias=forget_bias, recurrent_keep_prob=recurrent_keep_prob)
        self.hyper = LSTMCell(input_size + hidden_size, hyper_size, layer_norm=layer_norm,
                              forget_bias=forget_bias,
                              recurrent_keep_prob=hyper_recurrent_keep_prob)
        self.z_weight = nn.Parameter(torch.empty(hyper_size, NUM_BLOCKS * embedding_size))
        self.z_bias = nn.Parameter(torch.empty(NUM_SCALED * embedding_size))
        self.d_weight = nn.Parameter(torch.empty(NUM_BLOCKS, embedding_size, hidden_size))
        self.register_buffer("z_bias_pad", torch.zeros(4 * embedding_size), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The paper's initialisation (appendix A.2.3); see the module docstring."""
        self.main.reset_parameters()
        self.hyper.reset_parameters()  # orthogonal weights, zero bias
        n_z, scaled = self.embedding_size, NUM_SCALED * self.embedding_size
        with torch.no_grad():
            self.z_weight.zero_()
            self.z_weight[:, scaled:].normal_(0.0, 0.01)
            self.z_bias.fill_(1.0)
            self.d_weight[:NUM_SCALED].fill_(0.1 / n_z)
            self.d_weight[NUM_SCALED:].zero_()

    def init_state(self, batch_size: int) -> State:
        """Zero ``(h, c, ĥ, ĉ)``."""
        return self.main.init_state(batch_size) + self.hyper.init_state(batch_size)

    def precompute(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The input products of all steps: ``(W_x x_t [T,4,B,N_h], W'_x x_t + b' [T,B,4N_ĥ])``.

        The main cell's part is gate-major, the layout :meth:`step` works in.
        ``b_0`` is added in :meth:`step`, after the scaling; the hyper cell's input weight is
        split into its ``x`` rows (here) and its ``h_{t-1}`` rows (in :meth:`recurrent_weight`).
        """
        flat = x.flatten(0, 1)
        steps, batch = x.shape[:2]
        main = (flat @ self.main.weight_x).view(steps, batch, 4, -1).transpose(1, 2).contiguous()
        hyper_x, _ = self.hyper.weight_x.split((self.input_size, self.hidden_size))
        hyper = torch.addmm(self.hyper.bias, flat, hyper_x).view(steps, batch, -1)
        return main, hyper

    def recurrent_weight(self) -> torch.Tensor:
        """``[W_h | W'_h]  [N_h, 4N_h + 4N_ĥ]``: what ``h_{t-1}`` is multiplied by, in one GEMM."""
        _, hyper_h = self.hyper.weight_x.split((self.input_size, self.hidden_size))
        return torch.cat([self.main.weight_h, hyper_h], dim=1)

    def step_params(self) -> HyperStepParams:
        """The weights :func:`hyperlstm_step` reads."""
        return HyperStepParams(
            hyper_weight_h=self.hyper.weight_h, z_weight=self.z_weight,
            z_bias=torch.cat([self.z_bias, self.z_bias_pad]), d_weight=self.d_weight,
            bias=self.main.bias, main_offset=self.main.gate_offset,
            hyper_offset=self.hyper.gate_offset, main_norms=self.main.norms(),
            hyper_norms=self.hyper.norms())

    def scaling_vectors(self, hyper_h: torch.Tensor) -> torch.Tensor:
        """``d`` vectors from ``ĥ_t [B, N_ĥ]``: ``[12, B, N_h]``, d_x^y, d_h^y, d_b^y per gate."""
        params = self.step_params()
        return scaling_vectors(hyper_h, params.z_weight, params.z_bias, params.d_weight)

    def dropout_masks(self, steps: int, batch_size: int) -> Masks:
        """Recurrent dropout's masks for ``steps`` steps: the main cell's ``[T, B, N_h]`` and
        the hyper cell's ``[T, B, N_ĥ]``, each None where nothing is dropped."""
        return self.main.dropout_masks(steps, batch_size) + self.hyper.dropout_masks(
            steps, batch_size)

    def step(self, pre_t: tuple[torch.Tensor, ...], hw: torch.Tensor, state: State,
             masks: Masks, fused: bool = False) -> tuple[torch.Tensor, State]:
        """One step from the precomputed input parts, ``hw = h_{t-1} [W_h | W'_h]`` and this
        step's dropout masks; ``fused``: the compiled :func:`hyperlstm_step`."""
        step = compiled(hyperlstm_step) if fused else hyperlstm_step
        new_state = step(pre_t[0], pre_t[1], hw, state, self.step_params(), masks, fused)
        return new_state[0], new_state

    def forward(self, x_t: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One step on ``x_t [B, D]``, plainly (for reading and testing; layers use ``step``)."""
        pre_t = tuple(p[0] for p in self.precompute(x_t[None]))
        masks = masks_at(self.dropout_masks(1, x_t.shape[0]), 0)
        return self.step(pre_t, state[0] @ self.recurrent_weight(), state, masks)
