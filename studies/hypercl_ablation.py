"""hypercl_ablation: what protects against forgetting? The hypernetwork at several beta_output
values, with and without the look-ahead, against fine-tuning and online EWC of the target net.

    python -m studies.run hypercl_ablation --seeds 1,2,3             # quick preset, SplitMNIST
    python -m studies.run hypercl_ablation --preset paper --seeds 1,2,3
    python -m studies.run hypercl_ablation --set benchmark=pmnist --set num_tasks=10 ...
    python -m studies.run hypercl_ablation --set scenario=3 --seeds 1,2,3   # class-incremental

A grid over variants: ``hnet`` at beta_output in {0, 1e-3, 1e-2, 1e-1, 1} x look-ahead off/on
(beta_output = 0 once: with no regulariser there is nothing to look ahead for), ``finetune``
and ``ewc`` (where beta_output does not apply); every variant runs under each seed with the
same tasks, iterations and learning rate. Each hypernetwork trial records ``beta_output`` as a
metric (the baselines record none), so the forgetting figures can plot against it. In
scenarios 2 and 3 (``--set scenario=...``: the task not given at test time) the hypernetwork
variants infer the task (HNET+ENT) and the baselines get the scenario's heads.
"""

from __future__ import annotations

import dataclasses

import optuna

from studies._hypercl import (
    SEARCH_FIELDS,
    SPLIT_PRESETS,
    HyperCLConfig,
    hnet_method,
    hypercl_spec,
    run_trial,
    trial_and_data_configs,
)

BETAS = (0.0, 1e-3, 1e-2, 1e-1, 1.0)


def variants() -> list[str]:
    """``hnet-beta<b>[-lookahead]``, ``finetune``, ``ewc``."""
    names = [f"hnet-beta{b:g}" + suffix for b in BETAS
             for suffix in ("", "-lookahead") if b > 0 or not suffix]
    return [*names, "finetune", "ewc"]


def variant_params(name: str, scenario: int = 1) -> dict:
    """The trial params a variant stands for in ``scenario``: the hypernetwork is ``hnet``
    where the task is given, ``hnet_ent`` (the task inferred) elsewhere."""
    if name in ("finetune", "ewc"):
        return {"method": name, "beta_output": 0.0, "lookahead": False}
    beta, _, lookahead = name.removeprefix("hnet-beta").partition("-")
    return {"method": hnet_method(scenario), "beta_output": float(beta),
            "lookahead": lookahead == "lookahead"}


def search_space(trial: optuna.Trial, config: HyperCLConfig) -> dict:
    return {"variant": trial.suggest_categorical("variant", variants())}


def grid(config: HyperCLConfig) -> dict:
    return {"variant": variants()}


def variant_trial(config: HyperCLConfig, params: dict, seed: int):
    return run_trial(config, variant_params(params["variant"], config.scenario), seed)


def trial_configs(config: HyperCLConfig, params: dict, seed: int) -> tuple:
    return trial_and_data_configs(config, variant_params(params["variant"], config.scenario),
                                  seed)


SPEC = hypercl_spec(
    "hypercl_ablation",
    "hnet x beta_output x look-ahead vs fine-tuning and online EWC, per seed",
    {
        "smoke": dataclasses.replace(SPLIT_PRESETS["smoke"], n_trials=3, seeds=(1,)),
        "quick": dataclasses.replace(SPLIT_PRESETS["quick"], n_trials=len(variants()),
                                     seeds=(1, 2), iterations=200),
        "paper": dataclasses.replace(SPLIT_PRESETS["paper"], n_trials=len(variants()),
                                     seeds=(1, 2, 3)),
    },
    search_space=search_space,
    trial=variant_trial,
    grid=grid,
    trial_configs=trial_configs,
    sampler="grid",
    pruner="none",
    group_by="variant",
    unused_fields=("method", "lookahead", "beta_output", *SEARCH_FIELDS),
)
