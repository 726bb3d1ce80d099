"""How a recurrent layer runs its steps: eagerly, fused by the compiler, or captured whole.

A step of an (LN) LSTM or HyperLSTM is a few GEMMs and dozens of small pointwise ops (layer
norms, the weight-scaling products, gates, the state update). Run eagerly, each op is its own
kernel and autograd node; on a GPU each is a kernel launch of microseconds. The paths
(``RecurrentConfig.impl``):

- ``eager``: every op on its own, through autograd: the reference the others are tested against.
- ``fused``: each step, after the recurrent product ``h_{t-1} W`` (which stays packed in oneDNN on
  CPU, :mod:`hnet_core.models._recurrent_matmul`), compiled by TorchInductor
  (``torch.compile``): its pointwise ops become a few generated kernels, C++ on CPU and Triton on
  CUDA, for the forward and for the backward, one autograd node per step. A graph is compiled
  for each shape, dtype and variant a process meets (the first step, whose state needs no
  gradient; training with dropout masks or not; evaluation without gradients; layer norm or
  not; N_z), a few seconds each, kept in memory and in TorchInductor's cache on disk.
- ``captured``: the whole ``T``-step sequence compiled as one graph, with
  ``mode="reduce-overhead"``: on CUDA its forward and backward are recorded once per shape as CUDA
  graphs and replayed per batch. On CPU the same graph is compiled without CUDA graphs, which is
  how the tests exercise it; compiling a long sequence takes minutes there, so it is for the GPU.
- ``auto`` (the default): ``fused`` where the compiler works for the device, else ``eager``;
  the environment variable ``HNET_RECURRENT_IMPL`` (``eager``, ``fused`` or ``captured``) says
  what ``auto`` means instead (e.g. ``eager`` to skip compiling in short runs).

The compiler "works" when it is found and compiles a small probe, forward and backward, once
per process and device type. Where it does not (no C++ compiler on CPU, no Triton on CUDA, a
broken toolchain, another device), or once dynamo's cache of graphs for the step is full (a
long-lived process that met hundreds of shapes), ``fused`` and ``captured`` run as ``eager`` and
say so in one log line per process and device (logger ``hnet_core``; at the recompile limit
dynamo logs a warning of its own too).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

import torch

STEP_IMPLS = ("auto", "eager", "fused", "captured")
AUTO_ENV = "HNET_RECURRENT_IMPL"  # what ``auto`` stands for, when set
# Graphs per compiled function and process (dynamo's default is 8): a Ray worker runs many trials
# of different sizes. Past it, dynamo raises (fullgraph) and the stack runs eagerly.
MIN_RECOMPILE_LIMIT = 256

# TorchInductor's in-place reuse of buffers miscompiles the backward of a whole non-LN
# HyperLSTM sequence on CPU (torch 2.13: gradients off by up to 0.13 from T = 2 on; the graph is
# right under aot_eager, and right without this reuse, at no measured cost to speed). The test
# of the captured path pins it.
_INDUCTOR_OPTIONS: dict[str, Any] = {"inplace_buffers": False}

_log = logging.getLogger("hnet_core")
_exhausted: set[str] = set()  # device types whose compiled steps hit the recompile limit
_warned: set[str] = set()  # device types whose fallback to eager has been logged


def _probe(x: torch.Tensor) -> torch.Tensor:
    return (torch.sigmoid(x) * x).sum()


@functools.cache
def compiler_problem(device_type: str) -> str | None:
    """Why TorchInductor cannot compile for ``device_type`` here, or None when it can."""
    if device_type == "cpu":
        from torch._inductor import cpp_builder
        from torch._inductor.exc import InvalidCxxCompiler
        try:
            cpp_builder.get_cpp_compiler()
        except InvalidCxxCompiler as err:
            return f"no C++ compiler for TorchInductor ({err})"
    elif device_type == "cuda":
        from torch.utils._triton import has_triton
        if not has_triton():
            return "Triton is not installed"
    else:
        return f"TorchInductor has no backend for {device_type!r} here"
    try:  # evaluation may be the first to ask, under no_grad or inference_mode
        with torch.inference_mode(False), torch.enable_grad():
            x = torch.linspace(-1.0, 1.0, 8, device=device_type, requires_grad=True)
            _compile(_probe)(x).backward()
    except Exception as err:  # whatever the toolchain raised: it does not work here, said once
        lines = str(err).strip().splitlines()
        reason = lines[0] if lines else type(err).__name__
        return f"TorchInductor failed to compile a probe ({reason})"
    return None


def is_recompile_limit_hit(err: BaseException) -> bool:
    """Whether ``err`` is dynamo's refusal to compile another graph (torch >= 2.6 raises it
    under ``fullgraph``); dynamo is only loaded once something was compiled."""
    dynamo_exc = sys.modules.get("torch._dynamo.exc")
    limit_hit = getattr(dynamo_exc, "FailOnRecompileLimitHit", None)
    return limit_hit is not None and isinstance(err, limit_hit)


def auto_override() -> str | None:
    """What ``HNET_RECURRENT_IMPL`` says ``auto`` stands for, None when it is unset.

    Raises:
        ValueError: it names no path.
    """
    chosen = os.environ.get(AUTO_ENV)
    if chosen and chosen not in STEP_IMPLS[1:]:
        raise ValueError(f"{AUTO_ENV}={chosen!r}: expected one of {STEP_IMPLS[1:]}")
    return chosen or None


def resolve_step_impl(requested: str, device_type: str) -> str:
    """The path that runs for ``requested`` on ``device_type``: ``eager``, ``fused`` or
    ``captured`` (``auto`` and an unavailable compiler resolved; the fallback logged once).

    Raises:
        ValueError: ``requested``, or ``HNET_RECURRENT_IMPL`` for ``auto``, names no path.
    """
    if requested not in STEP_IMPLS:
        raise ValueError(f"unknown impl {requested!r}; expected one of {STEP_IMPLS}")
    if requested == "auto":
        requested = auto_override() or requested
    if device_type in _exhausted:
        return "eager"
    return _resolve(requested, device_type)


@functools.cache
def _resolve(requested: str, device_type: str) -> str:
    if requested == "eager":
        return "eager"
    problem = compiler_problem(device_type)
    if problem is None:
        return "fused" if requested == "auto" else requested
    _warn_once(device_type, f"recurrent impl {requested!r} runs as 'eager' on {device_type}: "
               f"{problem}")
    return "eager"


def _warn_once(device_type: str, message: str) -> None:
    """One log line per device type and process, whichever path asked first."""
    if device_type not in _warned:
        _warned.add(device_type)
        _log.warning("%s", message)


def recompile_limit_hit(impl: str, device_type: str) -> None:
    """Note that the compiled steps on ``device_type`` met dynamo's recompile limit: from now on
    this process runs them eagerly (said once)."""
    _exhausted.add(device_type)
    _warned.discard(device_type)  # a new reason to say
    _warn_once(device_type, f"recurrent impl {impl!r} runs as 'eager' on {device_type} from now "
               f"on: the compiled step met torch._dynamo's recompile limit "
               f"({MIN_RECOMPILE_LIMIT} graphs)")


def _raise_recompile_limit() -> None:
    config: Any = torch._dynamo.config
    name = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"
    setattr(config, name, max(getattr(config, name), MIN_RECOMPILE_LIMIT))


def limit_compile_workers() -> None:
    """Keep TorchInductor's pool of compiling processes (one per core of the machine by default)
    to this process's torch threads: a trial holding 1 of a node's 64 cores starts 1, not 32,
    unless ``TORCHINDUCTOR_COMPILE_THREADS`` says otherwise."""
    if "TORCHINDUCTOR_COMPILE_THREADS" not in os.environ:
        config: Any = torch._inductor.config
        config.compile_threads = max(1, min(config.compile_threads, torch.get_num_threads()))


def _compile(fn: Callable, mode: str | None = None) -> Callable:
    _raise_recompile_limit()
    limit_compile_workers()
    if mode is None:
        return torch.compile(fn, fullgraph=True, dynamic=False, options=_INDUCTOR_OPTIONS)
    # torch.compile takes a mode or options, not both: the mode's own options, plus ours.
    options: dict[str, Any] = {**torch._inductor.list_mode_options(mode), **_INDUCTOR_OPTIONS}
    return torch.compile(fn, fullgraph=True, dynamic=False, options=options)


@functools.cache
def compiled(fn: Callable, mode: str | None = None) -> Callable:
    """``fn`` compiled by TorchInductor (one wrapper per function and mode, built on first use;
    dynamo's cache keeps a graph per input shape and variant)."""
    return _compile(fn, mode)
