"""Hypernetwork models and their baselines, in plain PyTorch."""

from hnet_core.models.char_lm import CharLM, CharLMConfig, count_parameters
from hnet_core.models.convnets import (
    ARCHITECTURES,
    ImageClassifierConfig,
    MNISTConvNet,
    WideResNet,
    build_classifier,
    paper_parameter_count,
)
from hnet_core.models.hyperlstm import HyperLSTMCell
from hnet_core.models.lstm import GateLayerNorm, LSTMCell
from hnet_core.models.recurrent import (
    CELLS,
    LSTM,
    HyperLSTM,
    RecurrentConfig,
    RecurrentStack,
    detach_state,
)
from hnet_core.models.static_hypernet import HyperConv2d, KernelGenerator

__all__ = [
    "ARCHITECTURES",
    "CELLS",
    "CharLM",
    "CharLMConfig",
    "GateLayerNorm",
    "HyperLSTM",
    "HyperConv2d",
    "HyperLSTMCell",
    "ImageClassifierConfig",
    "KernelGenerator",
    "LSTM",
    "LSTMCell",
    "MNISTConvNet",
    "RecurrentConfig",
    "RecurrentStack",
    "WideResNet",
    "build_classifier",
    "count_parameters",
    "detach_state",
    "paper_parameter_count",
]
