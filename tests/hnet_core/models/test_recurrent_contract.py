"""Every recurrent cell goes through the same checks: shapes, fast path = plain path, gradients,
determinism, state carried across truncated-BPTT windows."""

from __future__ import annotations

import pytest
import torch

from hnet_core.models import CELLS, RecurrentConfig, RecurrentStack, detach_state
from hnet_core.models.recurrent import run_layer

T, B, D, N = 6, 3, 5, 8


def _stack(cell: str, **overrides) -> RecurrentStack:
    torch.manual_seed(0)
    config = RecurrentConfig(cell=cell, input_size=D, hidden_size=N, hyper_size=4,
                             embedding_size=2, **overrides)
    stack = RecurrentStack(config)
    with torch.no_grad():  # move off the paper's init so no gradient is zero by construction
        for p in stack.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return stack


@pytest.fixture(params=CELLS)
def cell_name(request) -> str:
    return request.param


def test_shapes_and_state(cell_name):
    stack = _stack(cell_name, num_layers=2)
    y, state = stack(torch.randn(T, B, D))
    assert y.shape == (T, B, N)
    assert len(state) == 2
    assert len(state[0]) == (4 if "hyper" in cell_name else 2)
    torch.testing.assert_close(state[-1][0], y[-1])


def test_fast_and_plain_paths_agree(cell_name):
    stack = _stack(cell_name)
    cell, x = stack.cells[0], torch.randn(T, B, D)
    results = []
    for fast in (True, False):
        stack.zero_grad()
        y, _ = run_layer(cell, x, cell.init_state(B), fast=fast)
        (y * torch.linspace(-1, 1, N)).sum().backward()
        results.append((y.detach(), {n: p.grad.clone() for n, p in stack.named_parameters()}))
    (y_fast, g_fast), (y_plain, g_plain) = results
    torch.testing.assert_close(y_fast, y_plain, atol=1e-5, rtol=1e-4)
    for name in g_plain:
        torch.testing.assert_close(g_fast[name], g_plain[name], atol=1e-5, rtol=1e-4)
    with torch.no_grad():
        y_nograd, _ = run_layer(cell, x, cell.init_state(B), fast=True)
    torch.testing.assert_close(y_nograd, y_plain, atol=1e-5, rtol=1e-4)


def test_gradients_reach_every_parameter(cell_name):
    stack = _stack(cell_name, num_layers=2)
    y, _ = stack(torch.randn(T, B, D))
    y.pow(2).sum().backward()
    for name, p in stack.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_sequence_equals_step_by_step(cell_name):
    stack = _stack(cell_name).eval()
    x = torch.randn(T, B, D)
    y, _ = stack(x)
    cell, state = stack.cells[0], stack.cells[0].init_state(B)
    for t in range(T):
        h, state = cell(x[t], state)
        torch.testing.assert_close(h, y[t], atol=1e-5, rtol=1e-4)


def test_state_carries_across_windows_and_is_detached(cell_name):
    stack = _stack(cell_name).eval()
    x = torch.randn(T, B, D)
    whole, _ = stack(x)
    first, state = stack(x[:2])
    state = detach_state(state)
    assert all(not t.requires_grad for layer in state for t in layer)
    second, _ = stack(x[2:], state)
    torch.testing.assert_close(torch.cat([first, second]), whole, atol=1e-5, rtol=1e-4)
    first.sum().backward()
    second.sum().backward()  # would fail if window 2's graph reached into window 1's


def test_same_seed_same_numbers_with_dropout(cell_name):
    outputs = []
    for _ in range(2):
        stack = _stack(cell_name, recurrent_keep_prob=0.7, hyper_recurrent_keep_prob=0.8)
        torch.manual_seed(1)
        outputs.append(stack(torch.randn(T, B, D))[0])
    assert torch.equal(outputs[0], outputs[1])
    stack.eval()
    torch.manual_seed(1)
    assert not torch.equal(stack(torch.randn(T, B, D))[0], outputs[0])


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="unknown cell"):
        RecurrentConfig(cell="gru")
    with pytest.raises(ValueError, match="hidden_size"):
        RecurrentConfig(hidden_size=0)
    with pytest.raises(ValueError, match="recurrent_keep_prob"):
        RecurrentStack(RecurrentConfig(cell="lstm", recurrent_keep_prob=0.0))
