"""The output regulariser of von Oswald et al. (2020), eq. 2, and its look-ahead.

While learning task ``T``, the hypernetwork's outputs for the earlier tasks are held to targets
taken from its weights ``Θ*`` just before task ``T``::

    L_output = beta_output / (T - 1) * sum_{t < T} || f_h(e_t, Θ*) - f_h(e_t, Θ + ΔΘ) ||²

``ΔΘ`` is the look-ahead: the step the optimizer would take on the task loss alone
(:func:`adam_lookahead`, which leaves the optimizer's state untouched), or zero.

Computing it from Gram matrices. The last hypernetwork layer is linear: chunk ``i`` of task
``t`` is ``y = Ŵ â`` with ``â = [a; 1]`` the last hidden activation and ``Ŵ = [W, b]``. With
``D = Ŵ - Ŵ*`` and ``δ = â - â*``::

    || y* - y ||² = || Ŵ δ + D â* ||² = δᵀ (ŴᵀŴ) δ + 2 δᵀ (ŴᵀD) â* + â*ᵀ (DᵀD) â*

so the sum over every chunk of every earlier task needs three ``(H+1) x (H+1)`` Gram matrices,
computed once per step, and ``O((H+1)²)`` work per chunk, however large the chunks are; no
``[tasks x P]`` output is ever formed, and nothing cancels when ``Θ`` is close to ``Θ*`` (the
value is exactly zero at ``Θ = Θ*``). The cut last chunk uses the Grams of its first ``r`` output
rows only. :func:`output_regularizer_direct` computes the same sum from the full outputs; a test
keeps both equal in value and gradient.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from hnet_core.models.hypercl import ChunkedHyperMLP


@dataclass(frozen=True)
class OutputTargets:
    """What the regulariser needs of ``Θ*`` for tasks ``tasks``: the augmented last hidden
    activations ``â*`` (``[len(tasks) * C, H + 1]``, task-major) and ``Ŵ* = [W*, b*]``."""

    tasks: tuple[int, ...]
    hidden: torch.Tensor
    out: torch.Tensor

    def rows_of(self, tasks: Sequence[int]) -> torch.Tensor:
        """``â*`` rows of ``tasks`` (each of which must be in ``self.tasks``)."""
        chunks = self.hidden.shape[0] // max(len(self.tasks), 1)
        where = {t: i for i, t in enumerate(self.tasks)}
        index = torch.cat([torch.arange(where[t] * chunks, (where[t] + 1) * chunks)
                           for t in tasks])
        return self.hidden[index.to(self.hidden.device)]


def _augmented(a: torch.Tensor) -> torch.Tensor:
    return torch.cat([a, torch.ones_like(a[:, :1])], dim=1)


def _hidden_and_out(hnet: ChunkedHyperMLP, tasks: Sequence[int],
                    theta: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """``â`` of every chunk of ``tasks`` (task-major) and ``Ŵ``, under weights ``theta``."""
    chunk_embeddings, *hidden, out_weight, out_bias = theta
    a = hnet.hidden(hnet.inputs(hnet.embeddings_of(tasks), chunk_embeddings), hidden)
    return _augmented(a), torch.cat([out_weight, out_bias[:, None]], dim=1)


@torch.no_grad()
def take_targets(hnet: ChunkedHyperMLP, tasks: Sequence[int]) -> OutputTargets:
    """Store ``Θ*``'s targets for ``tasks`` now (before learning the next task)."""
    hidden, out = _hidden_and_out(hnet, tasks, hnet.theta())
    return OutputTargets(tuple(tasks), hidden.detach().clone(), out.detach().clone())


class FrozenTargets:
    """The other way to hold targets: a frozen copy of the hypernetwork, recomputed each step."""

    def __init__(self, hnet: ChunkedHyperMLP, tasks: Sequence[int]) -> None:
        self.copy = copy.deepcopy(hnet).requires_grad_(False)
        self.tasks = tuple(tasks)

    def rows_and_out(self, tasks: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            return _hidden_and_out(self.copy, tasks, self.copy.theta())


def shifted(theta: Sequence[torch.Tensor], delta: Sequence[torch.Tensor] | None
            ) -> list[torch.Tensor]:
    """``Θ + ΔΘ`` (``Θ`` itself when there is no look-ahead)."""
    if delta is None:
        return list(theta)
    return [p + d for p, d in zip(theta, delta, strict=True)]


def output_regularizer(hnet: ChunkedHyperMLP, targets: OutputTargets | FrozenTargets,
                       tasks: Sequence[int], delta: Sequence[torch.Tensor] | None = None
                       ) -> torch.Tensor:
    """``1/|tasks| * sum_{t in tasks} ||f_h(e_t, Θ*) - f_h(e_t, Θ + ΔΘ)||²`` by Gram matrices.

    Args:
        hnet: the hypernetwork being trained.
        targets: ``Θ*``'s targets: stored (:func:`take_targets`) or :class:`FrozenTargets`.
        tasks: the earlier tasks to regularise (all of them, or a subsample).
        delta: the look-ahead ``ΔΘ`` (detached, in the order of ``hnet.theta()``), or None.
    """
    a, w = _hidden_and_out(hnet, tasks, shifted(hnet.theta(), delta))
    if isinstance(targets, FrozenTargets):
        a_star, w_star = targets.rows_and_out(tasks)
    else:
        a_star, w_star = targets.rows_of(tasks), targets.out
    d, delta_a = w - w_star, a - a_star
    r = hnet.target_size - (hnet.num_chunks - 1) * hnet.chunk_size   # rows of the last chunk
    grams_r = _grams(w[:r], d[:r])
    grams = [g + h for g, h in zip(grams_r, _grams(w[r:], d[r:]), strict=True)]
    last = torch.zeros(a.shape[0], dtype=torch.bool, device=a.device)
    last[hnet.num_chunks - 1::hnet.num_chunks] = True
    total = (_quadratic_sum(grams, delta_a[~last], a_star[~last])
             + _quadratic_sum(grams_r, delta_a[last], a_star[last]))
    return total / len(tasks)


def _grams(w: torch.Tensor, d: torch.Tensor) -> list[torch.Tensor]:
    """``ŴᵀŴ``, ``ŴᵀD``, ``DᵀD`` over the given output rows."""
    return [w.T @ w, w.T @ d, d.T @ d]


def _quadratic_sum(grams: Sequence[torch.Tensor], delta_a: torch.Tensor,
                   a_star: torch.Tensor) -> torch.Tensor:
    """``sum_rows δᵀGδ + 2 δᵀX â* + â*ᵀE â*`` for Grams ``(G, X, E)``."""
    g, x, e = grams
    return (((delta_a @ g) * delta_a).sum() + 2 * ((delta_a @ x) * a_star).sum()
            + ((a_star @ e) * a_star).sum())


def output_regularizer_direct(hnet: ChunkedHyperMLP, target_outputs: torch.Tensor,
                              tasks: Sequence[int], delta: Sequence[torch.Tensor] | None = None
                              ) -> torch.Tensor:
    """The same sum from full outputs: ``target_outputs [len(tasks), P]`` are ``f_h(e_t, Θ*)``.

    Generates one task at a time, as a plain implementation would; the reference for tests and
    the side-by-side benchmark.
    """
    theta = shifted(hnet.theta(), delta)
    total = target_outputs.new_zeros(())
    for row, task in enumerate(tasks):
        out = hnet.generate(hnet.embeddings_of([task]), theta)[0]
        total = total + (target_outputs[row] - out).square().sum()
    return total / len(tasks)


@torch.no_grad()
def adam_lookahead(optimizer: torch.optim.Adam, params: Sequence[torch.nn.Parameter],
                   grads: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The step ``ΔΘ`` that ``optimizer`` (Adam) would take on ``params`` for ``grads``.

    Reads the optimizer's moments and step count without changing them; the L2 weight decay of
    Adam is added to the gradient as ``torch.optim.Adam`` does. Returns detached tensors.
    """
    group_of = {id(p): g for g in optimizer.param_groups for p in g["params"]}
    steps = []
    for p, grad in zip(params, grads, strict=True):
        group = group_of[id(p)]
        if group.get("amsgrad") or group.get("maximize"):
            raise ValueError("adam_lookahead supports plain Adam only")
        beta1, beta2 = group["betas"]
        grad = grad + group["weight_decay"] * p if group["weight_decay"] else grad
        state = optimizer.state.get(p, {})
        step = float(state["step"]) + 1 if "step" in state else 1.0
        m = state["exp_avg"] * beta1 + (1 - beta1) * grad if state else (1 - beta1) * grad
        v = (state["exp_avg_sq"] * beta2 + (1 - beta2) * grad.square() if state
             else (1 - beta2) * grad.square())
        m_hat, v_hat = m / (1 - beta1 ** step), v / (1 - beta2 ** step)
        steps.append(-group["lr"] * m_hat / (v_hat.sqrt() + group["eps"]))
    return steps
