"""Trainers: generators that yield one dict of metrics per epoch, so a caller can report and
prune between epochs. No I/O beyond the optional checkpoint (a file, or a
:class:`CheckpointStore` of the caller's), written at each epoch or task and resumed from."""

from hnet_core.train._checkpoint import (
    CheckpointError,
    CheckpointMismatch,
    CheckpointStore,
    CorruptCheckpoint,
    FileCheckpoint,
)
from hnet_core.train._errors import TrainingDiverged
from hnet_core.train._scenarios import INFERRING, SCENARIOS, HeadLayout, head_layout
from hnet_core.train.char_lm import CharLMTrainConfig, evaluate_bpc, train_char_lm
from hnet_core.train.continual import (
    METHODS,
    REPLAYING,
    ContinualTrainConfig,
    build_learner,
    compression_ratio,
    train_continual,
)
from hnet_core.train.image_classifier import ImageTrainConfig, train_image_classifier

__all__ = ["INFERRING", "METHODS", "REPLAYING", "SCENARIOS", "CharLMTrainConfig",
           "CheckpointError", "CheckpointMismatch", "CheckpointStore", "ContinualTrainConfig",
           "CorruptCheckpoint", "FileCheckpoint",
           "HeadLayout", "ImageTrainConfig", "TrainingDiverged", "build_learner",
           "compression_ratio", "evaluate_bpc", "head_layout", "train_char_lm",
           "train_continual", "train_image_classifier"]
