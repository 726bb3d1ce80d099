"""Online EWC (Schwarz et al. 2018), the baseline that protects target weights directly.

After each task the diagonal Fisher of the target network's predictive distribution is
estimated on that task's training inputs (labels sampled from the model) and merged as
``F <- gamma F + F_t``; the anchor moves to the current weights. The penalty while learning a
later task is ``lambda / 2 * sum_i F_i (w_i - w*_i)²``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import torch


class OnlineEWC:
    """The running Fisher and anchor of online EWC."""

    def __init__(self, strength: float, gamma: float) -> None:
        self.strength, self.gamma = strength, gamma
        self.fisher: list[torch.Tensor] | None = None
        self.anchor: list[torch.Tensor] | None = None

    def consolidate(self, weights: Sequence[torch.Tensor],
                    log_probs: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor,
                    generator: torch.Generator) -> None:
        """Merge the Fisher of one task, estimated one example at a time on ``inputs``."""
        fisher = [torch.zeros_like(w) for w in weights]
        for x in inputs:
            logp = log_probs(x[None])[0]
            label = int(torch.multinomial(logp.detach().exp().cpu(), 1,
                                          generator=generator).item())
            grads = torch.autograd.grad(logp[label], list(weights), allow_unused=True)
            for f, g in zip(fisher, grads, strict=True):
                if g is not None:
                    f += g.detach().square() / inputs.shape[0]
        if self.fisher is None:
            self.fisher = fisher
        else:
            self.fisher = [self.gamma * old + new for old, new in zip(self.fisher, fisher,
                                                                      strict=True)]
        self.anchor = [w.detach().clone() for w in weights]

    def state(self) -> dict:
        return {"fisher": self.fisher, "anchor": self.anchor}

    def load_state(self, state: dict) -> None:
        self.fisher, self.anchor = state["fisher"], state["anchor"]

    def penalty(self, weights: Sequence[torch.Tensor]) -> torch.Tensor:
        """``lambda / 2 * sum F (w - w*)²`` (zero before the first consolidation)."""
        if self.fisher is None or self.anchor is None:
            return weights[0].new_zeros(())
        total = cast(torch.Tensor, sum(  # a tensor: there is at least one weight
            (f * (w - a).square()).sum()
            for f, w, a in zip(self.fisher, weights, self.anchor, strict=True)))
        return 0.5 * self.strength * total
