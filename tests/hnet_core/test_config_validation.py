"""hnet_core's model and trainer configs refuse bad values with a ValueError naming the field."""

from __future__ import annotations

import math

import pytest

from hnet_core.models import CharLMConfig, RecurrentConfig
from hnet_core.train import CharLMTrainConfig

BAD = [
    (RecurrentConfig, {"hidden_size": 0}, "hidden_size must be >= 1"),
    (RecurrentConfig, {"embedding_size": -5}, "embedding_size must be >= 1"),
    (RecurrentConfig, {"recurrent_keep_prob": 0.0}, "recurrent_keep_prob must be in"),
    (RecurrentConfig, {"hyper_recurrent_keep_prob": math.nan}, "hyper_recurrent_keep_prob"),
    (RecurrentConfig, {"forget_bias": math.inf}, "forget_bias must be finite"),
    (RecurrentConfig, {"cell": "gru"}, "unknown cell 'gru'"),
    (CharLMConfig, {"input_keep_prob": 1.5}, "input_keep_prob must be in"),
    (CharLMTrainConfig, {"lr": math.nan}, "lr must be a finite number > 0"),
    (CharLMTrainConfig, {"lr": math.inf}, "lr must be a finite number > 0"),
    (CharLMTrainConfig, {"grad_clip": 0.0}, "grad_clip must be a finite number > 0"),
    (CharLMTrainConfig, {"seq_len": 0}, "seq_len must be >= 1"),
    (CharLMTrainConfig, {"max_train_batches": 0}, "max_train_batches must be >= 1"),
]


@pytest.mark.parametrize("config_class,fields,message", BAD)
def test_bad_values_raise_value_error(config_class, fields, message):
    with pytest.raises(ValueError, match=message):
        config_class(**fields)


def test_defaults_are_valid():
    for config_class in {c for c, _, _ in BAD}:
        config_class()
