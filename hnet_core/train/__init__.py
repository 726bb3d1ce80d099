"""Trainers: generators that yield one dict of metrics per epoch, so a caller can report and
prune between epochs. No I/O beyond the optional checkpoint file."""

from hnet_core.train._errors import TrainingDiverged
from hnet_core.train.char_lm import CharLMTrainConfig, evaluate_bpc, train_char_lm

__all__ = ["CharLMTrainConfig", "TrainingDiverged", "evaluate_bpc", "train_char_lm"]
