"""hypercl_scenarios: SplitMNIST in the three continual-learning scenarios, the hypernetwork,
HNET+R and HNET+TIR against fine-tuning and online EWC (von Oswald et al. 2020, sec. 4.1,
Table 1).

    python -m studies.run hypercl_scenarios --seeds 1,2,3             # quick preset
    python -m studies.run hypercl_scenarios --preset paper --seeds 1,2,3
    python -m analysis.report hypercl_scenarios-quick                 # the scenario table

A grid over ``scenario`` (1: task given; 2: not given, one shared head; 3: not given,
class-incremental) x ``method`` (``hnet``, ``hnet_r``, ``hnet_tir``, ``finetune``, ``ewc``),
every cell under each seed with the same tasks and budget. The hypernetwork is ``hnet`` where
the task is given and HNET+ENT (``hnet_ent``: the task inferred by predictive entropy) where it
is not; the baselines and HNET+R (``hnet_r``: the target trained on replay from a
hypernetwork-protected VAE) get the scenario's heads. HNET+TIR (``hnet_tir``: a task-inference
network trained on that replay picks the task embedding) infers a task that CL1 gives, so its
CL1 cell trains and reports HNET, as the paper's CL1 row does (the trial function is
``hypercl_splitmnist``'s, which maps a cell's method so: ``studies._hypercl.tasks.method_in``).
The report draws the scenario x method table (mean ± std over seeds) beside the paper's
Table 1. The presets are those of ``hypercl_splitmnist`` (paper: the authors' SplitMNIST
setting) with task inference reported, 3 seeds (smoke: 1) and, at the quick preset, 300
iterations a task instead of 600.

The paper preset's settings, each with its source, are ``hypercl_splitmnist``'s (the table in
its docstring; ``tests/studies/test_paper_presets.py`` holds this study to them), the replay
VAE's the authors' per method (:mod:`studies._hypercl.replay`), trained as the authors train
it (:mod:`hnet_core.train._replay`). Each replay trial also records its diagnostics:
``decoder_drift_<j>``, ``task_inference_acc_<j>`` and ``replay_acc_<j>``, which the report
draws.
"""

from __future__ import annotations

import dataclasses

import optuna

from studies._hypercl import SEARCH_FIELDS, SPLIT_PRESETS, HyperCLConfig, hypercl_spec

SCENARIOS = (1, 2, 3)
METHODS = ("hnet", "hnet_r", "hnet_tir", "finetune", "ewc")


def search_space(trial: optuna.Trial, config: HyperCLConfig) -> dict:
    return {"scenario": trial.suggest_categorical("scenario", list(SCENARIOS)),
            "method": trial.suggest_categorical("method", list(METHODS))}


def grid(config: HyperCLConfig) -> dict:
    return {"scenario": list(SCENARIOS), "method": list(METHODS)}


def _preset(name: str, seeds: tuple[int, ...], **changes) -> HyperCLConfig:
    base = SPLIT_PRESETS[name]
    return dataclasses.replace(base, n_trials=len(SCENARIOS) * len(METHODS), seeds=seeds,
                               task_inference=True, **changes)


SPEC = hypercl_spec(
    "hypercl_scenarios",
    "SplitMNIST in CL1-3: hnet (HNET+ENT), HNET+R, HNET+TIR, fine-tuning, EWC",
    {"smoke": _preset("smoke", (1,)),
     "quick": _preset("quick", (1, 2, 3), iterations=300),
     "paper": _preset("paper", (1, 2, 3))},
    search_space=search_space,
    grid=grid,
    sampler="grid",
    pruner="none",
    group_by="method",
    unused_fields=("scenario", "method", *SEARCH_FIELDS),
)
