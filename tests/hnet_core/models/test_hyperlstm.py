"""HyperLSTM fidelity: reduces to the LSTM, the paper's initialisation, fast path = plain path."""

from __future__ import annotations

import pytest
import torch

from hnet_core.models import HyperLSTMCell, LSTMCell
from hnet_core.models.hyperlstm import NUM_SCALED


def _lstm_like(hyper: HyperLSTMCell) -> LSTMCell:
    """An LSTMCell holding the HyperLSTM's main W_x, W_h, b_0 and layer norms."""
    lstm = LSTMCell(hyper.input_size, hyper.hidden_size,
                    layer_norm=hyper.main.gate_norm is not None).to(hyper.z_weight.dtype)
    lstm.load_state_dict(hyper.main.state_dict())
    return lstm


def _hold_hyper_outputs_at_identity(cell: HyperLSTMCell) -> None:
    """z = 1 and d = 1 for the scaling blocks, d_b = 0: the hyper cell changes nothing."""
    with torch.no_grad():
        cell.z_weight.zero_()
        cell.z_bias.fill_(1.0)
        cell.d_weight[:NUM_SCALED].fill_(1.0 / cell.embedding_size)
        cell.d_weight[NUM_SCALED:].zero_()


def _randomise(module: torch.nn.Module, scale: float = 0.3) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0.0, scale)


@pytest.mark.parametrize("layer_norm", [False, True])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_identity_hyper_outputs_give_the_lstm(layer_norm, dtype):
    torch.manual_seed(0)
    cell = HyperLSTMCell(7, 16, hyper_size=8, embedding_size=3, layer_norm=layer_norm).to(dtype)
    _randomise(cell)
    _hold_hyper_outputs_at_identity(cell)
    lstm = _lstm_like(cell)
    x = torch.randn(5, 4, 7, dtype=dtype)
    hyper_state, lstm_state = cell.init_state(4), lstm.init_state(4)
    for x_t in x:
        h_hyper, hyper_state = cell(x_t, hyper_state)
        h_lstm, lstm_state = lstm(x_t, lstm_state)
        tol = 1e-12 if dtype == torch.float64 else 1e-5
        torch.testing.assert_close(h_hyper, h_lstm, atol=tol, rtol=tol)
        torch.testing.assert_close(hyper_state[1], lstm_state[1], atol=tol, rtol=tol)


def test_paper_initialisation():
    cell = HyperLSTMCell(50, 64, hyper_size=16, embedding_size=4, layer_norm=True)
    n_z = 4
    assert torch.all(cell.z_weight[:, : NUM_SCALED * n_z] == 0)
    assert torch.all(cell.z_bias == 1)
    z_b = cell.z_weight[:, NUM_SCALED * n_z :]
    assert 0.005 < z_b.std() < 0.015 and abs(z_b.mean()) < 0.005
    assert torch.all(cell.d_weight[:NUM_SCALED] == 0.1 / n_z)
    assert torch.all(cell.d_weight[NUM_SCALED:] == 0)
    assert torch.all(cell.main.bias == 0) and torch.all(cell.hyper.bias == 0)
    for w in (cell.main.weight_h, cell.hyper.weight_h):
        for block in w.chunk(4, dim=1):
            torch.testing.assert_close(block.t() @ block, torch.eye(block.shape[0]),
                                       atol=1e-5, rtol=0)
    for block in cell.main.weight_x.chunk(4, dim=1):  # 50 x 64: orthonormal rows
        torch.testing.assert_close(block @ block.t(), torch.eye(50), atol=1e-5, rtol=0)
    # every scale starts at N_z * 1 * 0.1 / N_z = 0.1, every dynamic bias at 0
    d = cell.scaling_vectors(torch.randn(3, 16))
    torch.testing.assert_close(d[:NUM_SCALED], torch.full_like(d[:NUM_SCALED], 0.1))
    assert torch.all(d[NUM_SCALED:] == 0)


def test_hyper_cell_reads_x_and_previous_h():
    cell = HyperLSTMCell(3, 5, hyper_size=4, embedding_size=2)
    assert cell.hyper.weight_x.shape == (3 + 5, 16)
    assert cell.recurrent_weight().shape == (5, 4 * 5 + 4 * 4)
