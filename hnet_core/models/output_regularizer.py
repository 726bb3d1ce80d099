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

Summed over every chunk of every earlier task and written with traces, that is
``<ŴᵀŴ, Σδδᵀ> + 2<ŴᵀD, Σδâ*ᵀ> + <DᵀD, Σâ*â*ᵀ>``: three ``(H+1) x (H+1)`` Gram matrices over the
chunk's output rows and two outer-product sums over the earlier chunks (``Σâ*â*ᵀ`` is constant
and stored with the targets). The work is ``O(chunk H²)`` once per step plus ``O(H²)`` per
earlier chunk, however large the chunks are; no ``[tasks x P]`` output is ever formed, and
nothing cancels when ``Θ`` is close to ``Θ*`` (the value is exactly zero at ``Θ = Θ*``). The
cut last chunk's rows only meet the first ``r`` output rows. :func:`output_regularizer_direct`
computes the same sum from the full outputs; a test keeps both equal in value and gradient.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from hnet_core.models.hypercl import ChunkedHyperMLP


@dataclass(frozen=True)
class OutputTargets:
    """What the regulariser needs of ``Θ*`` for tasks ``tasks``: the last hidden activations
    ``a*`` (``[len(tasks) * C, H]``, task-major), ``Ŵ* = [W*, b*]`` (``[chunk, H + 1]``), and per
    task the sums ``Σ â* â*ᵀ`` (``â* = [a*; 1]``) over its chunks but the last and over its last
    chunk (``aa``: ``[len(tasks), 2, H + 1, H + 1]``; ``aa_total`` sums them over the tasks)."""

    tasks: tuple[int, ...]
    hidden: torch.Tensor
    out: torch.Tensor
    aa: torch.Tensor
    aa_total: torch.Tensor

    def select(self, tasks: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """``a*`` rows and the summed ``aa`` of ``tasks`` (each must be in ``self.tasks``)."""
        if tuple(tasks) == self.tasks:
            return self.hidden, self.aa_total
        where = {t: i for i, t in enumerate(self.tasks)}
        index = torch.tensor([where[t] for t in tasks], device=self.hidden.device)
        rows = self.hidden.view(len(self.tasks), -1, self.hidden.shape[1])[index]
        return rows.reshape(-1, self.hidden.shape[1]), self.aa[index].sum(0)


def _hidden_of(hnet: ChunkedHyperMLP, tasks: Sequence[int],
               theta: Sequence[torch.Tensor]) -> torch.Tensor:
    """``a`` of every chunk of ``tasks`` (task-major, ``[len(tasks) * C, H]``) under ``theta``."""
    chunk_embeddings, *hidden, _, _ = theta
    return hnet.hidden(hnet.embeddings_of(tasks), chunk_embeddings, hidden)


def _chunk_sums(rows: torch.Tensor, num_chunks: int) -> torch.Tensor:
    """Per task, ``Σ â âᵀ`` over its chunks but the last and over its last chunk, with
    ``â = [a; 1]``: ``[tasks, 2, H + 1, H + 1]``."""
    augmented = torch.cat([rows, torch.ones_like(rows[:, :1])], dim=1)
    per_task = augmented.view(-1, num_chunks, augmented.shape[1])
    body = torch.einsum("tch,tcg->thg", per_task[:, :-1], per_task[:, :-1])
    last = torch.einsum("th,tg->thg", per_task[:, -1], per_task[:, -1])
    return torch.stack([body, last], dim=1)


def _out_of(theta: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.cat([theta[-2], theta[-1][:, None]], dim=1)


@torch.no_grad()
def take_targets(hnet: ChunkedHyperMLP, tasks: Sequence[int]) -> OutputTargets:
    """Store ``Θ*``'s targets for ``tasks`` now (before learning the next task)."""
    theta = hnet.theta()
    hidden = _hidden_of(hnet, tasks, theta).clone()
    aa = _chunk_sums(hidden, hnet.num_chunks)
    return OutputTargets(tuple(tasks), hidden, _out_of(theta).clone(), aa, aa.sum(0))


class FrozenTargets:
    """The other way to hold targets: a frozen copy of the hypernetwork, from which ``a*`` is
    recomputed each step (less memory for many tasks, more work)."""

    def __init__(self, hnet: ChunkedHyperMLP, tasks: Sequence[int]) -> None:
        self.copy = copy.deepcopy(hnet).requires_grad_(False)
        self.tasks = tuple(tasks)
        self.out = _out_of(self.copy.theta())

    @torch.no_grad()
    def select(self, tasks: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """``a*`` rows of ``tasks`` and their summed outer products (see OutputTargets)."""
        rows = _hidden_of(self.copy, tasks, self.copy.theta())
        return rows, _chunk_sums(rows, self.copy.num_chunks).sum(0)


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

    With ``δ = a - a*`` (the ones of ``â`` cancel) the sum over output rows and chunks is
    ``<WᵀW, Σδδᵀ> + 2<WᵀD, Σδâ*ᵀ> + <DᵀD, Σâ*â*ᵀ>``: the row sums ``Σ`` run over every chunk of
    every task in ``tasks`` (``Σâ*â*ᵀ`` is stored with the targets), the Grams over the chunk's
    output rows; the first ``r`` output rows (those the cut last chunk keeps) see every chunk,
    the others every chunk but the last. Both sides are autograd Functions whose backward
    takes two GEMMs each.

    Args:
        hnet: the hypernetwork being trained.
        targets: ``Θ*``'s targets: stored (:func:`take_targets`) or :class:`FrozenTargets`.
        tasks: the earlier tasks to regularise (all of them, or a subsample).
        delta: the look-ahead ``ΔΘ`` (detached, in the order of ``hnet.theta()``), or None.
    """
    theta = shifted(hnet.theta(), delta)
    a = _hidden_of(hnet, tasks, theta)
    a_star, aa = targets.select(tasks)
    c = hnet.num_chunks
    delta_a = a - a_star
    s_dd, s_da = _RowSums.apply(delta_a, a_star)
    last_dd, last_da = _RowSums.apply(delta_a.view(len(tasks), c, -1)[:, -1],
                                      a_star.view(len(tasks), c, -1)[:, -1])
    r = hnet.target_size - (c - 1) * hnet.chunk_size   # output rows the last chunk keeps
    total = _GramTerms.apply(theta[-2], theta[-1], targets.out, r, s_dd, s_da, aa[0] + aa[1],
                             s_dd - last_dd, s_da - last_da, aa[0])
    return total / len(tasks)


class _RowSums(torch.autograd.Function):
    """``(Σ δδᵀ [H, H], Σ δ[a*; 1]ᵀ [H, H + 1])`` over the rows of ``δ`` and ``a*``."""

    @staticmethod
    def forward(ctx, delta_a: torch.Tensor, a_star: torch.Tensor):
        ctx.save_for_backward(delta_a, a_star)
        s_da = torch.cat([delta_a.T @ a_star, delta_a.sum(0)[:, None]], dim=1)
        return delta_a.T @ delta_a, s_da

    @staticmethod
    def backward(ctx, g_dd: torch.Tensor, g_da: torch.Tensor):
        delta_a, a_star = ctx.saved_tensors
        grad = delta_a @ (g_dd + g_dd.T) + a_star @ g_da[:, :-1].T + g_da[:, -1]
        return grad, None


class _GramTerms(torch.autograd.Function):
    """``Σ_parts <WᵀW, S_δδ> + 2<WᵀD, S_δa> + <DᵀD, S_aa>`` for the head rows ``[:r]`` and the
    tail rows ``[r:]`` of ``Ŵ = [W, b]``, with ``D = Ŵ - Ŵ*``. Gradients flow to ``W``, ``b``,
    ``S_δδ`` and ``S_δa``; ``S_aa`` and ``Ŵ*`` are constants."""

    @staticmethod
    def forward(ctx, w, b, w_star, r, *sums):
        d = torch.cat([w, b[:, None]], dim=1) - w_star
        parts = [(w[:r], d[:r], *sums[:3]), (w[r:], d[r:], *sums[3:])]
        total, grams = w.new_zeros(()), []
        for wp, dp, s_dd, s_da, s_aa in parts:
            g, x, e = wp.T @ wp, wp.T @ dp, dp.T @ dp
            total = total + (g * s_dd).sum() + 2 * (x * s_da).sum() + (e * s_aa).sum()
            grams += [g, 2 * x]
        ctx.r = r
        ctx.save_for_backward(w, d, *sums, *grams)
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        w, d, *rest = ctx.saved_tensors
        sums, grams = rest[:6], rest[6:]
        r, h = ctx.r, w.shape[1]
        grad_hat = torch.empty_like(d)
        for rows, (s_dd, s_da, s_aa) in ((slice(0, r), sums[:3]), (slice(r, None), sums[3:])):
            # d/dŴ = 2[W (S_δδ|S_δa) + D (S_δaᵀ + S_aa)] (the ones row of the sums is zero)
            upper = torch.cat([s_dd, torch.zeros_like(s_dd[:, :1])], dim=1) + s_da
            grad_hat[rows] = 2 * (w[rows] @ upper + d[rows] @ (_pad_rows(s_da).T + s_aa))
        grad_hat *= grad
        grads_sums = []
        for g, x2 in (grams[:2], grams[2:]):
            grads_sums += [grad * g, grad * x2, None]
        return (grad_hat[:, :h], grad_hat[:, h], None, None, *grads_sums)


def _pad_rows(s_da: torch.Tensor) -> torch.Tensor:
    """``[H, H + 1] -> [H + 1, H + 1]`` with a zero last row (the ones of ``â`` cancel in δ)."""
    return torch.cat([s_da, torch.zeros_like(s_da[:1])], dim=0)


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

    Reads the optimizer's moments and step count without changing them, and computes as
    ``torch.optim.Adam`` does (its single-tensor update, in its order: the L2 weight decay
    added to the gradient, ``m`` by ``lerp``, ``v`` by ``addcmul``, the bias corrections on
    the step size and on ``sqrt(v)``), in place on new tensors: eight passes over each
    parameter. Returns detached tensors.
    """
    group_of = {id(p): g for g in optimizer.param_groups for p in g["params"]}
    steps = []
    for p, grad in zip(params, grads, strict=True):
        group = group_of[id(p)]
        if group.get("amsgrad") or group.get("maximize"):
            raise ValueError("adam_lookahead supports plain Adam only")
        beta1, beta2 = group["betas"]
        grad = grad.add(p, alpha=group["weight_decay"]) if group["weight_decay"] else grad
        state = optimizer.state.get(p, {})
        step = float(state["step"]) + 1 if "step" in state else 1.0
        m = (state["exp_avg"].lerp(grad, 1 - beta1) if state
             else grad.mul(1 - beta1))
        v = (state["exp_avg_sq"].mul(beta2) if state
             else torch.zeros_like(grad)).addcmul_(grad, grad, value=1 - beta2)
        step_size = group["lr"] / (1 - beta1 ** step)
        denom = v.sqrt_().div_((1 - beta2 ** step) ** 0.5).add_(group["eps"])
        steps.append(m.div_(denom).mul_(-step_size))
    return steps
