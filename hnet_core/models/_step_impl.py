"""How a recurrent layer runs its steps: eagerly, fused by the compiler, or captured whole.

A step of an (LN) LSTM or HyperLSTM is a few GEMMs and dozens of small pointwise ops (layer
norms, the weight-scaling products, gates, the state update). Run eagerly, each op is its own
kernel and autograd node; on a GPU each is a kernel launch of microseconds. The paths
(``RecurrentConfig.impl``):

- ``eager``: every op on its own, through autograd: the reference the others are tested against.
- ``fused``: each step, after the recurrent product ``h_{t-1} W`` (which stays packed in oneDNN on
  CPU, :mod:`hnet_core.models._recurrent_matmul`), compiled once per shape by TorchInductor
  (``torch.compile``): its pointwise ops become a few generated kernels, C++ on CPU and Triton on
  CUDA, for the forward and for the backward, one autograd node per step.
- ``captured``: the whole ``T``-step sequence compiled as one graph, with
  ``mode="reduce-overhead"``: on CUDA its forward and backward are recorded once per shape as CUDA
  graphs and replayed per batch. On CPU the same graph is compiled without CUDA graphs, which is
  how the tests exercise it; compiling a long sequence takes minutes there, so it is for the GPU.
- ``auto`` (the default): ``fused`` where the compiler works for the device, else ``eager``;
  the environment variable ``HNET_RECURRENT_IMPL`` (``eager``, ``fused`` or ``captured``) says
  what ``auto`` means instead (e.g. ``eager`` to skip compiling in short runs).

Where TorchInductor cannot compile (no C++ compiler on CPU, no Triton on CUDA, another device),
``fused`` and ``captured`` run as ``eager`` and say so in one log line (logger ``hnet_core``).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any

import torch

STEP_IMPLS = ("auto", "eager", "fused", "captured")
AUTO_ENV = "HNET_RECURRENT_IMPL"  # what ``auto`` stands for, when set
MIN_RECOMPILE_LIMIT = 64  # graphs per compiled function: shapes, train/eval, LN on/off, N_z

_log = logging.getLogger("hnet_core")


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
        return None
    if device_type == "cuda":
        from torch.utils._triton import has_triton
        return None if has_triton() else "Triton is not installed"
    return f"TorchInductor has no backend for {device_type!r} here"


def resolve_step_impl(requested: str, device_type: str) -> str:
    """The path that runs for ``requested`` on ``device_type``: ``eager``, ``fused`` or
    ``captured`` (``auto`` and an unavailable compiler resolved; the fallback logged once).

    Raises:
        ValueError: ``requested``, or ``HNET_RECURRENT_IMPL`` for ``auto``, names no path.
    """
    if requested not in STEP_IMPLS:
        raise ValueError(f"unknown impl {requested!r}; expected one of {STEP_IMPLS}")
    if requested == "auto" and (chosen := os.environ.get(AUTO_ENV)):
        if chosen not in STEP_IMPLS[1:]:
            raise ValueError(f"{AUTO_ENV}={chosen!r}: expected one of {STEP_IMPLS[1:]}")
        requested = chosen
    return _resolve(requested, device_type)


@functools.cache
def _resolve(requested: str, device_type: str) -> str:
    if requested == "eager":
        return "eager"
    problem = compiler_problem(device_type)
    if problem is None:
        return "fused" if requested == "auto" else requested
    if requested != "auto":
        _log.warning("recurrent impl %r runs as 'eager' on %s: %s", requested, device_type,
                     problem)
    return "eager"


def _raise_recompile_limit() -> None:
    """Let a compiled step hold a graph per shape and setting a process meets (a Ray worker runs
    many trials); past dynamo's default of 8 it would silently run eagerly."""
    config: Any = torch._dynamo.config
    name = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"
    setattr(config, name, max(getattr(config, name), MIN_RECOMPILE_LIMIT))


# TorchInductor's in-place reuse of buffers miscompiles the backward of a whole non-LN
# HyperLSTM sequence on CPU (torch 2.13: gradients off by up to 0.1 from T = 2 on; the graph is
# right under aot_eager, and right without this reuse, at no measured cost to speed). The test
# of the captured path pins it.
_INDUCTOR_OPTIONS: dict[str, Any] = {"inplace_buffers": False}


@functools.cache
def compiled(fn: Callable, mode: str | None = None) -> Callable:
    """``fn`` compiled by TorchInductor (one wrapper per function and mode, built on first use;
    dynamo's cache keeps one graph per input shape and setting)."""
    _raise_recompile_limit()
    if mode is None:
        return torch.compile(fn, fullgraph=True, dynamic=False, options=_INDUCTOR_OPTIONS)
    # torch.compile takes a mode or options, not both: the mode's own options, plus ours.
    options: dict[str, Any] = {**torch._inductor.list_mode_options(mode), **_INDUCTOR_OPTIONS}
    return torch.compile(fn, fullgraph=True, dynamic=False, options=options)
