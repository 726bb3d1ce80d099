"""Parameter counts of Ha et al. (2017), Table 3 (char-level PTB: 50-symbol one-hot input and a
softmax output), rounded to 3 significant digits as the paper prints them."""

from __future__ import annotations

import pytest

from hnet_core.models import CharLM, CharLMConfig, RecurrentConfig
from hnet_core.models.char_lm import count_parameters

TABLE_3 = [
    # cell, N_h, layers, N_ĥ, N_z, millions in the paper
    ("lstm", 1000, 1, 128, 4, 4.25),
    ("lstm", 1250, 1, 128, 4, 6.57),
    ("lstm", 1000, 2, 128, 4, 12.26),
    ("ln_lstm", 1000, 1, 128, 4, 4.26),
    ("hyperlstm", 1000, 1, 128, 4, 4.91),
    ("ln_hyperlstm", 1000, 1, 128, 4, 4.92),
    ("ln_hyperlstm", 1000, 2, 128, 16, 14.41),
]


def _three_significant(n: int) -> float:
    return float(f"{n / 1e6:.3g}")


@pytest.mark.parametrize("cell,hidden,layers,hyper,n_z,paper", TABLE_3)
def test_table_3(cell, hidden, layers, hyper, n_z, paper):
    rnn = RecurrentConfig(cell=cell, hidden_size=hidden, num_layers=layers, hyper_size=hyper,
                          embedding_size=n_z)
    model = CharLM(CharLMConfig(vocab_size=50, rnn=rnn))
    assert _three_significant(count_parameters(model)) == float(f"{paper:.3g}")


def test_exact_counts_follow_the_formula():
    # LSTM: W_x (50x4000) + W_h (1000x4000) + b (4000) + softmax (1000x50 + 50)
    lstm = CharLM(CharLMConfig(rnn=RecurrentConfig(cell="lstm", hidden_size=1000)))
    assert count_parameters(lstm) == 50 * 4000 + 1000 * 4000 + 4000 + 1000 * 50 + 50
    hyper = CharLM(CharLMConfig(rnn=RecurrentConfig(cell="hyperlstm", hidden_size=1000)))
    hyper_cell = (50 + 1000) * 512 + 128 * 512 + 512
    z_and_d = 8 * (128 * 4 + 4 + 4 * 1000) + 4 * (128 * 4 + 4 * 1000)
    assert count_parameters(hyper) - count_parameters(lstm) == hyper_cell + z_and_d
