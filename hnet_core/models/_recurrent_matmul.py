"""The per-step recurrent product ``h_{t-1} @ W`` of an RNN layer, fast on CPU.

A recurrent layer multiplies its previous hidden state by the same weight ``W [K, M]`` at every
step. Done through plain autograd, each step's backward also adds ``h_{t-1}^T g_t`` into ``dW``:
T skinny, memory-bound GEMMs that read and write all of ``dW`` each time. Here instead:

- :class:`_TapWeight` stands between ``W`` and the steps. The steps return no gradient for ``W``;
  they only record ``h_{t-1}`` (forward) and ``g_t`` (backward) on a shared tape. The engine
  runs the tap's backward after every step's, and it forms ``dW = H^T G`` as one GEMM over all
  ``T * B`` rows.
- On CPU the step products go through oneDNN with ``W^T`` (forward) and ``W`` (backward) packed
  once per sequence (``torch.ops.mkldnn._reorder_linear_weight`` and ``_linear_pointwise``, private
  ops without autograd, hence the custom Functions). Where those ops are missing, on other
  devices and dtypes, the same Functions use plain ``torch.mm``.

:func:`plain_recurrent_matmul` is the reference path (``h @ W`` through autograd); tests check
that both agree in value and gradient.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

RecurrentMatmul = Callable[[torch.Tensor], torch.Tensor]


def onednn_available(weight: torch.Tensor) -> bool:
    """Whether the packed oneDNN linear can serve ``weight`` (a float32 CPU tensor)."""
    return (weight.device.type == "cpu" and weight.dtype == torch.float32
            and torch.backends.mkldnn.is_available()
            and hasattr(torch.ops.mkldnn, "_linear_pointwise")
            and hasattr(torch.ops.mkldnn, "_reorder_linear_weight"))


class _Tape:
    """What the steps of one sequence share: packed weights, recorded inputs and gradients.

    Inputs and gradients are written into buffers of ``num_steps`` rows as they come, so the
    weight gradient needs no concatenation.
    """

    def __init__(self, weight: torch.Tensor, batch_size: int, num_steps: int,
                 packed: bool) -> None:
        self.packed = packed
        if packed:  # W^T for the forward; W only where a backward pass can follow
            reorder = torch.ops.mkldnn._reorder_linear_weight
            self.forward_weight = reorder(weight.detach().t().contiguous(), batch_size)
            self.backward_weight = (reorder(weight.detach().contiguous(), batch_size)
                                    if num_steps else None)
        else:
            self.forward_weight = weight.detach().t()
            self.backward_weight = weight.detach()
        rows, (k, m) = num_steps * batch_size, weight.shape
        self.batch_size = batch_size
        self.inputs = weight.new_empty(rows, k)
        self.grads = weight.new_empty(rows, m)
        self.steps = 0
        self.grad_steps: set[int] = set()

    def _rows(self, index: int) -> slice:
        return slice(index * self.batch_size, (index + 1) * self.batch_size)

    def record_input(self, h: torch.Tensor) -> int:
        """Keep ``h`` for the weight gradient; returns its step index."""
        index = self.steps
        self.inputs[self._rows(index)].copy_(h.detach())
        self.steps += 1
        return index

    def record_grad(self, index: int, grad: torch.Tensor) -> None:
        self.grads[self._rows(index)].copy_(grad)
        self.grad_steps.add(index)

    def weight_grad(self) -> torch.Tensor | None:
        """``dW = H^T G`` over the steps that received a gradient (all others are zero)."""
        if not self.grad_steps:
            return None
        for index in set(range(self.steps)) - self.grad_steps:
            self.grads[self._rows(index)].zero_()
        rows = self.steps * self.batch_size
        return self.inputs[:rows].t() @ self.grads[:rows]

    def linear(self, x: torch.Tensor, backward: bool) -> torch.Tensor:
        """``x @ W`` (forward) or ``x @ W^T`` (backward) with the packed or plain weight."""
        weight = self.backward_weight if backward else self.forward_weight
        if self.packed:
            return torch.ops.mkldnn._linear_pointwise(x.contiguous(), weight, None, "none", [],
                                                      "")
        assert weight is not None  # only a packed tape without steps has no backward weight
        return x @ weight.t()


class _TapWeight(torch.autograd.Function):
    """Identity on ``W``; in backward, ``dW = H^T G`` from everything the steps recorded."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor, tape: _Tape) -> torch.Tensor:
        ctx.tape = tape
        ctx.set_materialize_grads(False)
        return weight.view_as(weight)

    @staticmethod
    def backward(ctx, _unused: torch.Tensor | None):
        return ctx.tape.weight_grad(), None


class _StepMatmul(torch.autograd.Function):
    """``h @ W`` for one step; records ``h`` and, in backward, ``g``, and returns ``g W^T``."""

    @staticmethod
    def forward(ctx, h: torch.Tensor, tapped_weight: torch.Tensor, tape: _Tape) -> torch.Tensor:
        ctx.tape = tape
        ctx.index = tape.record_input(h)
        return tape.linear(h, backward=False)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        ctx.tape.record_grad(ctx.index, grad)
        grad_h = ctx.tape.linear(grad, backward=True) if ctx.needs_input_grad[0] else None
        return grad_h, None, None


def fast_recurrent_matmul(weight: torch.Tensor, batch_size: int, num_steps: int
                          ) -> RecurrentMatmul:
    """The step product for one sequence, with the weight packed and its gradient gathered.

    Args:
        weight: ``W [K, M]``; a step maps ``h [B, K]`` to ``h @ W [B, M]``.
        batch_size: ``B``, the batch the packed weight is tuned for.
        num_steps: ``T``, at most how many steps will call it.

    Returns:
        A function of ``h`` to call once per step of this sequence (build a new one for the next
        sequence: the weight is packed as it is now).
    """
    if not torch.is_grad_enabled():
        tape = _Tape(weight, batch_size, 0, packed=onednn_available(weight))
        return lambda h: tape.linear(h, backward=False)
    tape = _Tape(weight, batch_size, num_steps, packed=onednn_available(weight))
    tapped = _TapWeight.apply(weight, tape) if weight.requires_grad else weight
    return lambda h: _StepMatmul.apply(h, tapped, tape)


def plain_recurrent_matmul(weight: torch.Tensor, batch_size: int, num_steps: int
                           ) -> RecurrentMatmul:
    """The reference step product: ``h @ W`` through autograd."""
    return lambda h: h @ weight
