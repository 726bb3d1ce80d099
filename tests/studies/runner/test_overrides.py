"""``--set`` parsing against a config dataclass."""

from __future__ import annotations

import math

import pytest

from studies import ConfigError
from studies._runner.config import apply_overrides
from studies.hyperlstm_ptb import PRESETS
from studies.synthetic import SyntheticConfig


def test_values_are_typed():
    config = apply_overrides(SyntheticConfig(), [
        "epochs=7", "sleep_s=0.5", "grid_x=0.1, 0.2", "data_dir=none", "seeds=1,2",
        "raise_x_above=inf"], "synthetic")
    assert config.epochs == 7 and config.sleep_s == 0.5
    assert config.grid_x == (0.1, 0.2) and config.seeds == (1, 2)
    assert config.data_dir is None and math.isinf(config.raise_x_above)
    ptb = apply_overrides(PRESETS["smoke"], ["max_train_batches=none", "cell=hyperlstm"], "p")
    assert ptb.max_train_batches is None and ptb.cell == "hyperlstm"


@pytest.mark.parametrize("item,message", [
    ("nope=1", "unknown key for synthetic"),
    ("epochs=abc", "epochs=abc: expected int"),
    ("epochs", "expected key=value"),
    ("epochs=0", "must be >= 1"),
    ("seeds=x", "seeds=x: expected"),
])
def test_bad_overrides_say_what_is_wrong(item, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(SyntheticConfig(), [item], "synthetic")
