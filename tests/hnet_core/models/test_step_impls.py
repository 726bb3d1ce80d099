"""The compiled recurrent paths (``fused``, ``captured``) against the eager reference, every
cell: the same values and gradients in float64, with dropout too, and a clear fallback where
TorchInductor has no compiler or a broken one."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

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


@pytest.mark.parametrize("impl", ["fused", "captured"])
def test_with_dropout_the_compiled_paths_equal_eager(impl):
    """The masks are drawn before the steps, so a compiled path drops exactly what eager drops
    (same seed), forward and backward; in evaluation nothing is dropped."""
    stack = _stack("ln_hyperlstm", recurrent_keep_prob=0.7, hyper_recurrent_keep_prob=0.8)
    x = torch.randn(T, B, D, dtype=torch.float64)
    torch.manual_seed(1)
    y_ref, _, grads_ref = _pass(stack, x, "eager")
    torch.manual_seed(1)
    y, _, grads = _pass(stack, x, impl)
    torch.testing.assert_close(y, y_ref, rtol=1e-10, atol=1e-12)
    for name, grad in grads_ref.items():
        torch.testing.assert_close(grads[name], grad, rtol=1e-9, atol=1e-11, msg=name)
    torch.manual_seed(2)
    assert not torch.equal(_pass(stack, x, impl)[0], y)  # fresh masks
    stack.eval()
    y_eval, _, _ = _pass(stack, x, impl)
    torch.testing.assert_close(y_eval, _pass(stack, x, "eager")[0], rtol=1e-10, atol=1e-12)


def test_state_carries_across_windows_on_the_captured_path():
    """Truncated BPTT: the state one window ends with starts the next; as eager does. (On
    CPU there are no CUDA graphs to overwrite it: tests/cuda checks that part on a GPU.)"""
    stack = _stack("hyperlstm", impl="captured")
    x = torch.randn(2 * T, B, D, dtype=torch.float64)
    whole = _stack("hyperlstm", impl="eager")(x)[0]
    first, state = stack(x[:T])
    second, _ = stack(x[T:], [tuple(s.detach() for s in layer) for layer in state])
    assert stack.impl_ran == "captured"
    torch.testing.assert_close(torch.cat([first, second]), whole, rtol=1e-10, atol=1e-12)


def test_the_probe_runs_when_an_evaluation_asks_first(monkeypatch):
    """The compiler's probe needs a backward pass: it gets one under no_grad and inference
    mode too, where a model's first forward may be an evaluation."""
    _step_impl.compiler_problem.cache_clear()
    try:
        with torch.inference_mode():
            assert _step_impl.compiler_problem("cpu") is None
        _step_impl.compiler_problem.cache_clear()
        with torch.no_grad():
            assert _step_impl.compiler_problem("cpu") is None
    finally:
        _step_impl.compiler_problem.cache_clear()


def test_the_compiling_processes_keep_to_the_threads(monkeypatch):
    monkeypatch.delenv("TORCHINDUCTOR_COMPILE_THREADS", raising=False)
    threads = torch.get_num_threads()
    try:
        with inductor_config.patch({"compile_threads": 32}):
            torch.set_num_threads(1)
            _step_impl.limit_compile_workers()
            assert inductor_config.compile_threads == 1
        with inductor_config.patch({"compile_threads": 32}):
            monkeypatch.setenv("TORCHINDUCTOR_COMPILE_THREADS", "32")
            _step_impl.limit_compile_workers()
            assert inductor_config.compile_threads == 32
    finally:
        torch.set_num_threads(threads)


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
    monkeypatch.delenv(_step_impl.AUTO_ENV, raising=False)
    monkeypatch.setattr(_step_impl, "_warned", set())
    for cached in (_step_impl.compiler_problem, _step_impl._resolve):
        cached.cache_clear()
    # torch's config module: its own patch, which restores the value (monkeypatch deletes it)
    no_compiler = inductor_config.patch({"cpp.cxx": ("/nonexistent/g++",)})
    try:
        with no_compiler, caplog.at_level(logging.WARNING, logger="hnet_core"):
            stack = _stack("ln_hyperlstm", impl="fused")
            x = torch.randn(T, B, D, dtype=torch.float64)
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
    assert _step_impl.resolve_step_impl("fused", "cpu") == "fused"  # the compiler is back


def _run_script(script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``script`` in a fresh Python from the repository's root, ``impl="auto"`` left to itself."""
    environ = {k: v for k, v in os.environ.items() if k != "HNET_RECURRENT_IMPL"} | env
    return subprocess.run([sys.executable, "-c", script, *args], env=environ,
                          cwd=Path(__file__).resolve().parents[3], capture_output=True,
                          text=True, timeout=300)


_BROKEN_TOOLCHAIN = """
import logging, sys, torch
import torch._inductor.config as inductor_config
inductor_config.cpp.cxx = (sys.argv[1],)
logging.basicConfig(format="%(name)s: %(message)s")
from hnet_core.models import RecurrentConfig, RecurrentStack
stack = RecurrentStack(RecurrentConfig(cell="ln_hyperlstm", input_size=4, hidden_size=8,
                                       hyper_size=4, embedding_size=2, impl="fused"))
y, _ = stack(torch.randn(3, 2, 4))
y.sum().backward()
print("ran", stack.impl_ran)
"""


def test_a_compiler_that_fails_to_build_falls_back_in_one_line(tmp_path):
    """A C++ compiler that is found (answers --version) but cannot build: the probe fails, the
    stack trains eagerly, one line says why; no traceback."""
    fake = tmp_path / "g++"
    fake.write_text('#!/bin/sh\n[ "$1" = --version ] && exec g++ --version\nexit 1\n')
    fake.chmod(0o755)
    done = _run_script(_BROKEN_TOOLCHAIN, str(fake),  # an empty cache: nothing to reuse
                       TORCHINDUCTOR_CACHE_DIR=str(tmp_path / "inductor"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["ran eager"]
    lines = [line for line in done.stderr.splitlines() if line.startswith("hnet_core: ")]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("hnet_core: recurrent impl 'fused' runs as 'eager' on cpu: "
                               "TorchInductor failed to compile a probe")
    assert "Traceback" not in done.stderr


_FULL_CACHE = """
import logging, torch
from hnet_core.models import RecurrentConfig, RecurrentStack, _step_impl
_step_impl.MIN_RECOMPILE_LIMIT = 1
torch._dynamo.config.recompile_limit = 1
logging.basicConfig(format="%(name)s: %(message)s")
torch.manual_seed(0)
x = torch.randn(3, 2, 4)
for impl in ("fused", "eager", "fused"):
    torch.manual_seed(0)
    stack = RecurrentStack(RecurrentConfig(cell="lstm", input_size=4, hidden_size=8, impl=impl))
    y, _ = stack(x)
    y.sum().backward()
    print(stack.impl_ran, y.sum().item())
"""


def test_a_full_graph_cache_falls_back_to_eager_in_one_line():
    """Past dynamo's recompile limit (set to 1 here: the second step needs a second graph), the
    stack runs eagerly, with the same numbers, and says so once; later stacks run eagerly."""
    done = _run_script(_FULL_CACHE)
    assert done.returncode == 0, done.stderr
    ran = [line.split() for line in done.stdout.splitlines()]
    assert [r[0] for r in ran] == ["eager", "eager", "eager"]
    assert ran[0][1] == ran[1][1] == ran[2][1]
    lines = [line for line in done.stderr.splitlines() if line.startswith("hnet_core: ")]
    assert lines == ["hnet_core: recurrent impl 'fused' runs as 'eager' on cpu from now on: the "
                     "compiled step met torch._dynamo's recompile limit (1 graphs)"], done.stderr
    assert "Traceback" not in done.stderr
