"""Hypernetwork models and their baselines, in plain PyTorch."""

from hnet_core.models.char_lm import CharLM, CharLMConfig
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

__all__ = [
    "CELLS",
    "CharLM",
    "CharLMConfig",
    "GateLayerNorm",
    "HyperLSTM",
    "HyperLSTMCell",
    "LSTM",
    "LSTMCell",
    "RecurrentConfig",
    "RecurrentStack",
    "detach_state",
]
