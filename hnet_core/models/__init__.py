"""Hypernetwork models and their baselines, in plain PyTorch.

- Static hypernetworks (Ha et al. 2017, sec. 3.1): :class:`KernelGenerator`,
  :class:`HyperConv2d`, the classifiers of :func:`build_classifier`.
- Dynamic hypernetworks (sec. 3.2): :class:`HyperLSTMCell`, the stacks of
  :class:`RecurrentStack`, the character model :class:`CharLM`.
- Task-conditioned hypernetworks (von Oswald et al. 2020): :class:`ChunkedHyperMLP` generating
  the weights of a functional :class:`TargetMLP` or :class:`TargetConvNet`, protected by
  :func:`output_regularizer`.
"""

from hnet_core.models.char_lm import CharLM, CharLMConfig, count_parameters
from hnet_core.models.convnets import (
    ARCHITECTURES,
    ImageClassifierConfig,
    MNISTConvNet,
    WideResNet,
    build_classifier,
    paper_parameter_count,
)
from hnet_core.models.hypercl import (
    DIRECT_INITS,
    HNET_INITS,
    ChunkedHyperMLP,
    HyperMLPConfig,
    TargetConvNet,
    TargetMLP,
    TargetNetConfig,
    TaskHyperMLP,
    build_target,
    init_target_weights,
    split_weights,
)
from hnet_core.models.hyperlstm import HyperLSTMCell
from hnet_core.models.lstm import GateLayerNorm, LSTMCell
from hnet_core.models.output_regularizer import (
    FrozenTargets,
    OutputTargets,
    adam_lookahead,
    output_regularizer,
    take_targets,
)
from hnet_core.models.recurrent import (
    CELLS,
    LSTM,
    HyperLSTM,
    RecurrentConfig,
    RecurrentStack,
    detach_state,
)
from hnet_core.models.replay_vae import ReplayVAE, ReplayVAEConfig
from hnet_core.models.static_hypernet import HyperConv2d, KernelGenerator

__all__ = [
    "ARCHITECTURES",
    "CELLS",
    "CharLM",
    "CharLMConfig",
    "ChunkedHyperMLP",
    "DIRECT_INITS",
    "FrozenTargets",
    "GateLayerNorm",
    "HNET_INITS",
    "HyperConv2d",
    "HyperLSTM",
    "HyperLSTMCell",
    "HyperMLPConfig",
    "ImageClassifierConfig",
    "KernelGenerator",
    "LSTM",
    "LSTMCell",
    "MNISTConvNet",
    "OutputTargets",
    "RecurrentConfig",
    "RecurrentStack",
    "ReplayVAE",
    "ReplayVAEConfig",
    "TargetConvNet",
    "TargetMLP",
    "TargetNetConfig",
    "TaskHyperMLP",
    "WideResNet",
    "adam_lookahead",
    "build_classifier",
    "build_target",
    "count_parameters",
    "detach_state",
    "init_target_weights",
    "output_regularizer",
    "paper_parameter_count",
    "split_weights",
    "take_targets",
]
