"""What a hypercl trial learns: its task sequence (PermutedMNIST, or SplitMNIST under a
grouping of the digits) and the scenario and method it learns them in (the config's, or the
trial's own where the study searches them or runs a grid of them).

The configs here are :class:`studies._hypercl.config.HyperCLConfig`s; this module reads their
fields only, so that module can import it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hnet_core.data import check_digit_groups, load_mnist, permuted_mnist, split_mnist
from studies import ConfigError


def digit_groups(config: Any) -> tuple[tuple[int, ...], ...]:
    """SplitMNIST's tasks as digit groups, from ``split_digits`` (``("01234", "56789")``).
    ConfigError for a group that is not digits, of fewer than two, or a digit in two groups."""
    if not all(group and set(group) <= set("0123456789") for group in config.split_digits):
        raise ConfigError(f"split_digits {','.join(config.split_digits)}: expected groups of "
                          "digits like 01,23,45,67,89")
    groups = tuple(tuple(int(d) for d in group) for group in config.split_digits)
    try:
        check_digit_groups(groups)
    except ValueError as err:
        raise ConfigError(f"split_digits {','.join(config.split_digits)}: {err}") from None
    return groups


def task_classes(config: Any) -> tuple[int, ...]:
    """Each task's class count, in task order (PermutedMNIST: 10; SplitMNIST: its digits)."""
    if config.benchmark == "pmnist":
        return (10,) * config.num_tasks
    return tuple(len(group) for group in digit_groups(config)[:config.num_tasks])


def scenarios_run(config: Any) -> tuple[int, ...]:
    """The scenarios the config's trials run: ``scenario_choices`` where given."""
    return tuple(config.scenario_choices) or (config.scenario,)


def check_tasks(config: Any) -> None:
    """ConfigError for more tasks than the benchmark has, or for tasks of different class
    counts in a scenario whose tasks share outputs (CL2: one head; CL3: one class space)."""
    if config.benchmark == "splitmnist":
        groups = digit_groups(config)
        if config.num_tasks > len(groups):
            raise ConfigError(f"SplitMNIST has {len(groups)} tasks (split_digits "
                              f"{','.join(config.split_digits)}), got num_tasks="
                              f"{config.num_tasks}; set num_tasks too")
    counts = sorted(set(task_classes(config)))
    shared = [s for s in scenarios_run(config) if s != 1]
    if len(counts) > 1 and shared:
        raise ConfigError(
            f"scenario {shared[0]} shares outputs between tasks, which needs every task to "
            f"have the same classes; split_digits {','.join(config.split_digits)} gives tasks "
            f"of {', '.join(map(str, counts))} classes")


def load_tasks(config: Any) -> list:
    """The config's task sequence, read from the MNIST files under ``config.data_dir``."""
    mnist = load_mnist(config.data_dir)
    if config.benchmark == "pmnist":
        return permuted_mnist(config.num_tasks, seed=0, pad_to_32=True, mnist=mnist)
    return split_mnist(digit_groups(config), mnist=mnist)[:config.num_tasks]


def hnet_method(scenario: int) -> str:
    """The hypernetwork's method in ``scenario``: ``hnet`` where the task is given, else
    ``hnet_ent`` (it infers the task)."""
    return "hnet" if scenario == 1 else "hnet_ent"


def method_in(scenario: int, method: str) -> str:
    """The method a trial that varies scenario or method runs: ``hnet`` and ``hnet_ent`` both
    name the hypernetwork without replay (HNET where the task is given, HNET+ENT where not),
    and HNET+TIR where the task is given is HNET (nothing to infer; the paper's CL1 row)."""
    if method in ("hnet", "hnet_ent") or (method == "hnet_tir" and scenario == 1):
        return hnet_method(scenario)
    return method


def trial_cell(config: Any, params: dict) -> tuple[Any, dict]:
    """The config and params of a trial: where ``params`` set the scenario or the method, the
    config takes the trial's scenario and the params the method it runs there
    (:func:`method_in`); otherwise both as given."""
    if "scenario" not in params and "method" not in params:
        return config, params
    scenario = params.get("scenario", config.scenario)
    method = method_in(scenario, params.get("method", config.method))
    if scenario != config.scenario:
        config = dataclasses.replace(config, scenario=scenario)
    return config, {**params, "scenario": scenario, "method": method}
