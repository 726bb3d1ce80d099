"""The compiled recurrent paths (``fused``, ``captured``) against the eager reference, every
cell: the same values and gradients in float64, the same numbers for the same seed with
dropout, and a clear fallback where TorchInductor has no compiler."""

from __future__ import annotations

import logging

import pytest
import torch
import torch._inductor.config as inductor_config

from hnet_core.models import CELLS, RecurrentConfig, RecurrentStack, _step_impl
from hnet_core.models.recurrent import run_layer

T, B, D, N = 5, 3, 4, 8


def _stack(cell: str, **overrides) -> RecurrentStack:
    torch.manual_seed(0)
    config = RecurrentConfig(cell=cell, input_size=D, hidden_size=N, hyper_size=4,
                             embedding_size=3, **overrides)
    stack = RecurrentStack(config).double()
    with torch.no_grad():  # off the paper's init, so no gradient is zero by construction
        for p in stack.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return stack


def _pass(stack: RecurrentStack, x: torch.Tensor, impl: str, fast: bool = True):
    cell = stack.cells[0]
    stack.zero_grad()
    y, state = run_layer(cell, x, cell.init_state(B), fast=fast, impl=impl)
    (y * torch.linspace(-1, 1, N, dtype=y.dtype)).sum().backward()
    grads = {name: p.grad.clone() for name, p in stack.named_parameters()}
    return y.detach(), [s.detach() for s in state], grads


@pytest.mark.parametrize("impl", ["fused", "captured"])
@pytest.mark.parametrize("cell", CELLS)
def test_compiled_path_equals_eager_in_value_and_gradient(cell, impl):
    stack, x = _stack(cell), torch.randn(T, B, D, dtype=torch.float64)
    y_ref, state_ref, grads_ref = _pass(stack, x, "eager")
    y, state, grads = _pass(stack, x, impl)
    torch.testing.assert_close(y, y_ref, rtol=1e-10, atol=1e-12)
    for got, want in zip(state, state_ref, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    assert grads.keys() == grads_ref.keys()
    for name, grad in grads_ref.items():
        assert grad.abs().sum() > 0, name
        torch.testing.assert_close(grads[name], grad, rtol=1e-9, atol=1e-11, msg=name)


@pytest.mark.parametrize("cell", ["ln_hyperlstm", "lstm"])
def test_fused_without_gradients_and_with_the_plain_product(cell):
    stack, x = _stack(cell), torch.randn(T, B, D, dtype=torch.float64)
    y_ref, _, grads_ref = _pass(stack, x, "eager", fast=False)
    y, _, grads = _pass(stack, x, "fused", fast=False)
    torch.testing.assert_close(y, y_ref, rtol=1e-10, atol=1e-12)
    for name, grad in grads_ref.items():
        torch.testing.assert_close(grads[name], grad, rtol=1e-9, atol=1e-11, msg=name)
    with torch.no_grad():
        y_nograd, _ = run_layer(stack.cells[0], x, stack.cells[0].init_state(B), impl="fused")
    torch.testing.assert_close(y_nograd, y_ref, rtol=1e-10, atol=1e-12)


def test_fused_dropout_is_seeded_and_trains():
    """With dropout, fused draws its own masks (the compiler's RNG): not eager's numbers, but
    the same ones for the same seed, and only while training."""
    stack = _stack("ln_hyperlstm", impl="fused", recurrent_keep_prob=0.7).float()
    x = torch.randn(T, B, D)
    outputs = []
    for _ in range(2):
        torch.manual_seed(1)
        outputs.append(stack(x)[0])
    assert stack.impl_ran == "fused"
    assert torch.equal(outputs[0], outputs[1])
    stack.eval()
    assert not torch.equal(stack(x)[0], outputs[0])


def test_auto_is_fused_here_and_the_variable_overrides_it(monkeypatch):
    monkeypatch.delenv(_step_impl.AUTO_ENV, raising=False)
    assert _step_impl.resolve_step_impl("auto", "cpu") == "fused"  # gcc is on every machine
    monkeypatch.setenv(_step_impl.AUTO_ENV, "eager")
    assert _step_impl.resolve_step_impl("auto", "cpu") == "eager"
    assert _step_impl.resolve_step_impl("fused", "cpu") == "fused"  # a named path is kept
    monkeypatch.setenv(_step_impl.AUTO_ENV, "quick")
    with pytest.raises(ValueError, match="HNET_RECURRENT_IMPL='quick': expected one of"):
        _step_impl.resolve_step_impl("auto", "cpu")
    with pytest.raises(ValueError, match="unknown impl 'jit'"):
        RecurrentConfig(impl="jit")


def test_without_a_compiler_fused_runs_eagerly_and_says_so_once(monkeypatch, caplog):
    monkeypatch.setattr(inductor_config.cpp, "cxx", ("/nonexistent/g++",))
    monkeypatch.delenv(_step_impl.AUTO_ENV, raising=False)
    for cached in (_step_impl.compiler_problem, _step_impl._resolve):
        cached.cache_clear()
    try:
        stack, x = _stack("ln_hyperlstm", impl="fused"), torch.randn(T, B, D, dtype=torch.float64)
        with caplog.at_level(logging.WARNING, logger="hnet_core"):
            y = stack(x)[0]
            stack(x)
            assert _step_impl.resolve_step_impl("auto", "cpu") == "eager"
        assert stack.impl_ran == "eager"
        lines = [r.getMessage() for r in caplog.records if r.name == "hnet_core"]
        assert len(lines) == 1
        assert lines[0].startswith("recurrent impl 'fused' runs as 'eager' on cpu: no C++ "
                                   "compiler for TorchInductor")
        torch.testing.assert_close(y, _stack("ln_hyperlstm", impl="eager")(x)[0])
    finally:
        for cached in (_step_impl.compiler_problem, _step_impl._resolve):
            cached.cache_clear()
