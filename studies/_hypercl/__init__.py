"""What the hypercl studies share (von Oswald et al. 2020): the configuration, the trial, the
task sequences, the replay VAE's settings and the PermutedMNIST and SplitMNIST presets. Each
study file (``studies/hypercl_*.py``) holds one study built from these."""

from __future__ import annotations

from studies._hypercl.config import SEARCH_FIELDS, HyperCLConfig, parse_sizes, target_size
from studies._hypercl.presets import PMNIST_PRESETS, SPLIT_PRESETS
from studies._hypercl.tasks import hnet_method, task_classes
from studies._hypercl.trial import hypercl_spec, run_trial, trial_and_data_configs

__all__ = [
    "PMNIST_PRESETS",
    "SEARCH_FIELDS",
    "SPLIT_PRESETS",
    "HyperCLConfig",
    "hnet_method",
    "hypercl_spec",
    "parse_sizes",
    "run_trial",
    "target_size",
    "task_classes",
    "trial_and_data_configs",
]
