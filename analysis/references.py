"""The papers' published points, overlaid on the parameter-efficiency figures.

One table, each row with its source. ``params`` is where the point sits on the figure's x axis
(trainable parameters of the whole network); where a paper counts something else, ``note``
says what and how the figure's count was obtained.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

HA_2017 = "Ha, Dai & Le (2017), HyperNetworks"
VON_OSWALD_2020 = "von Oswald et al. (2020), Continual learning with hypernetworks"


@dataclass(frozen=True)
class Reference:
    """One published result: ``label`` scored ``value`` in ``metric`` with ``params``."""

    studies: tuple[str, ...]
    label: str
    metric: str
    value: float
    params: int
    source: str
    note: str = ""


_PTB = ("hyperlstm_ptb", "hyperlstm_ablation")
_PTB_SOURCE = f"{HA_2017}, Table 3 (character-level Penn Treebank)"
_MNIST_SOURCE = f"{HA_2017}, sec. 4.1 (MNIST)"
_CIFAR_SOURCE = f"{HA_2017}, Table 2 (CIFAR-10)"
_HYPERCL_SOURCE = f"{VON_OSWALD_2020}, Table 1 (task given)"
_MNIST_NOTE = ("the paper counts the 7x7 layer alone (12,544 plain, 4,244 generated); plotted at "
               "the whole network's count, as hnet_core builds it")
_CIFAR = ("static_hnet_cifar10",)
_HYPERCL_NOTE = ("plotted at the hypernetwork's trainable parameters for the paper's setting, "
                 "as hnet_core builds it (compression ratio in docs/results.md)")

REFERENCES: tuple[Reference, ...] = (
    Reference(_PTB, "LSTM, 1000 units", "test_bpc", 1.312, 4_250_000, _PTB_SOURCE),
    Reference(_PTB, "LN HyperLSTM, 1000 units", "test_bpc", 1.250, 4_920_000, _PTB_SOURCE),
    # The paper's MNIST errors are at early stopping on the validation split (A.3.1).
    Reference(("static_hnet_mnist",), "convnet, plain 7x7 layer", "test_error_at_best_valid",
              0.72, 21_210, _MNIST_SOURCE, _MNIST_NOTE),
    Reference(("static_hnet_mnist",), "convnet, generated 7x7 layer",
              "test_error_at_best_valid", 0.76, 12_910, _MNIST_SOURCE, _MNIST_NOTE),
    Reference(_CIFAR, "WRN 40-1", "test_error", 6.73, 563_000, _CIFAR_SOURCE),
    Reference(_CIFAR, "hyper WRN 40-1", "test_error", 8.02, 97_000, _CIFAR_SOURCE),
    Reference(_CIFAR, "WRN 40-2", "test_error", 5.66, 2_236_000, _CIFAR_SOURCE),
    Reference(_CIFAR, "hyper WRN 40-2", "test_error", 7.23, 148_000, _CIFAR_SOURCE),
    Reference(("hypercl_pmnist",), "HNET, PermutedMNIST-10", "final_acc", 97.57, 2_029_939,
              _HYPERCL_SOURCE, _HYPERCL_NOTE),
    Reference(("hypercl_splitmnist", "hypercl_ablation"), "HNET, SplitMNIST", "final_acc",
              99.79, 465_672, _HYPERCL_SOURCE, _HYPERCL_NOTE),
)


def comparable(metric: str, other: str) -> bool:
    """Whether a reference in ``other`` may be drawn on a figure of ``metric``: the same
    metric, or the same quantity on another split (``valid_bpc`` and ``test_bpc``)."""
    def quantity(name: str) -> str:
        split, _, rest = name.partition("_")
        return rest if split in ("train", "valid", "test") and rest else name

    return metric == other or quantity(metric) == quantity(other)


def references_for(study: str, metric: str) -> pd.DataFrame:
    """The published points of ``study`` that fit a figure of ``metric``."""
    rows = [r.__dict__ for r in REFERENCES if study in r.studies and comparable(metric, r.metric)]
    return pd.DataFrame(rows, columns=list(Reference.__dataclass_fields__))


@dataclass(frozen=True)
class ScenarioResult:
    """A final accuracy of von Oswald et al.'s Table 1: ``method`` in ``scenario`` on
    ``benchmark``, ``value`` ± ``std`` (None where not quoted)."""

    benchmark: str
    scenario: int
    method: str
    value: float
    std: float | None
    source: str


_TABLE_1 = f"{VON_OSWALD_2020}, Table 1"
#: The cells of Table 1 we have read from a source we can cite; the others are left out, not
#: guessed (docs/results.md says which).
TABLE_1: tuple[ScenarioResult, ...] = (
    ScenarioResult("splitmnist", 1, "HNET", 99.79, None, _TABLE_1),
    ScenarioResult("pmnist", 1, "HNET", 97.57, None, _TABLE_1),
    ScenarioResult("splitmnist", 3, "HNET+ENT", 69.48, 0.80,
                   f"{_TABLE_1}, as quoted in chrhenning/hypercl issue #4"),
)


def table_1(benchmark: str) -> pd.DataFrame:
    """The known Table 1 cells of ``benchmark``: scenario, method, paper, paper_std, source."""
    rows = [{"scenario": r.scenario, "method": r.method, "paper": r.value,
             "paper_std": r.std, "source": r.source}
            for r in TABLE_1 if r.benchmark == benchmark]
    return pd.DataFrame(rows, columns=["scenario", "method", "paper", "paper_std", "source"])
