"""The packed, gradient-gathering step product against plain autograd."""

from __future__ import annotations

import pytest
import torch

from hnet_core.models._recurrent_matmul import (
    fast_recurrent_matmul,
    onednn_available,
    plain_recurrent_matmul,
)


def _unroll(make, weight, h0, steps, loss_steps):
    matmul = make(weight, h0.shape[0], steps)
    h, outputs = h0, []
    for _ in range(steps):
        h = torch.tanh(matmul(h)[:, : h0.shape[1]])
        outputs.append(h)
    return sum(o.pow(2).sum() for o in outputs[:loss_steps])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("loss_steps", [5, 2])
def test_matches_plain_autograd(dtype, loss_steps):
    torch.manual_seed(0)
    weight = (0.3 * torch.randn(6, 10, dtype=dtype)).requires_grad_()
    h0 = torch.randn(4, 6, dtype=dtype, requires_grad=True)
    grads = []
    for make in (fast_recurrent_matmul, plain_recurrent_matmul):
        weight.grad, h0.grad = None, None
        loss = _unroll(make, weight, h0, 5, loss_steps)
        loss.backward()
        grads.append((loss.detach(), weight.grad.clone(), h0.grad.clone()))
    for fast, plain in zip(*grads, strict=True):
        torch.testing.assert_close(fast, plain, atol=1e-5, rtol=1e-4)


def test_weight_without_grad_and_no_grad_mode():
    weight = torch.randn(6, 10)
    h0 = torch.randn(4, 6, requires_grad=True)
    _unroll(fast_recurrent_matmul, weight, h0, 3, 3).backward()
    expected = h0.grad.clone()
    h0.grad = None
    _unroll(plain_recurrent_matmul, weight, h0, 3, 3).backward()
    torch.testing.assert_close(h0.grad, expected)
    with torch.no_grad():
        out = fast_recurrent_matmul(weight, 4, 1)(h0)
    torch.testing.assert_close(out, h0.detach() @ weight, atol=1e-5, rtol=1e-5)


def test_onednn_is_used_for_float32_cpu():
    assert onednn_available(torch.zeros(2, 2)) == torch.backends.mkldnn.is_available()
    assert not onednn_available(torch.zeros(2, 2, dtype=torch.float64))
