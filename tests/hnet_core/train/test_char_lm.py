"""The char-LM trainer on a slice of real PTB: metrics per epoch, checkpoint and resume, NaN."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from hnet_core.data import TokenCorpus, load_ptb_char
from hnet_core.models import CharLM, CharLMConfig, RecurrentConfig
from hnet_core.train import CharLMTrainConfig, TrainingDiverged, evaluate_bpc, train_char_lm
from hnet_core.train.char_lm import _train_epoch


@pytest.fixture(scope="module")
def small_corpus(data_dir) -> TokenCorpus:
    full = load_ptb_char(data_dir)
    return TokenCorpus(full.vocab, full.train[:6000], full.valid[:1200], full.test[:1200])


MODEL = CharLMConfig(rnn=RecurrentConfig(cell="ln_hyperlstm", hidden_size=32, hyper_size=8,
                                         embedding_size=2, recurrent_keep_prob=0.9),
                     input_keep_prob=0.9, output_keep_prob=0.9)
TRAIN = CharLMTrainConfig(epochs=3, batch_size=8, seq_len=20, lr=3e-3, eval_batch_size=4,
                          device="cpu")


def test_yields_metrics_each_epoch_and_learns(small_corpus):
    history = list(train_char_lm(MODEL, TRAIN, small_corpus))
    assert [m["epoch"] for m in history] == [1, 2, 3]
    for m in history:
        assert set(m) >= {"train_bpc", "valid_bpc", "test_bpc", "tokens_per_s", "params"}
        assert m["rnn_impl"] == "eager"  # tests/conftest.py: impl "auto" means eager here
        assert all(math.isfinite(v) for k, v in m.items() if k != "rnn_impl")
    assert history[-1]["valid_bpc"] < history[0]["valid_bpc"] < math.log2(50)
    assert history[0]["params"] == sum(p.numel() for p in CharLM(MODEL).parameters())


def test_resume_continues_where_the_checkpoint_stopped(small_corpus, tmp_path):
    straight = list(train_char_lm(MODEL, TRAIN, small_corpus))
    path = tmp_path / "ckpt.pt"
    first = list(train_char_lm(MODEL, CharLMTrainConfig(**{**TRAIN.__dict__, "epochs": 1}),
                               small_corpus, checkpoint=path))
    assert path.is_file() and len(first) == 1
    rest = list(train_char_lm(MODEL, TRAIN, small_corpus, checkpoint=path))
    assert [m["epoch"] for m in rest] == [2, 3]
    for key in ("train_bpc", "valid_bpc", "test_bpc"):   # bit for bit, same thread count
        assert [m[key] for m in first + rest] == [m[key] for m in straight]
    other = CharLMTrainConfig(**{**TRAIN.__dict__, "lr": 1e-2})
    with pytest.raises(ValueError, match="another configuration"):
        next(train_char_lm(MODEL, other, small_corpus, checkpoint=path))


def test_a_checkpoint_resumes_under_another_recurrent_path(small_corpus, tmp_path):
    """How the steps run is no part of a checkpoint's identity: an eager run's checkpoint
    resumes fused, to the same numbers up to rounding (the dropout masks are drawn outside the
    compiled steps, so both paths drop the same units)."""
    straight = list(train_char_lm(MODEL, TRAIN, small_corpus))  # eager: tests/conftest.py
    path = tmp_path / "ckpt.pt"
    list(train_char_lm(MODEL, dataclasses.replace(TRAIN, epochs=1), small_corpus,
                       checkpoint=path))
    fused = dataclasses.replace(MODEL, rnn=dataclasses.replace(MODEL.rnn, impl="fused"))
    rest = list(train_char_lm(fused, TRAIN, small_corpus, checkpoint=path))
    assert [(m["epoch"], m["rnn_impl"]) for m in rest] == [(2, "fused"), (3, "fused")]
    for key in ("train_bpc", "valid_bpc", "test_bpc"):
        assert rest[-1][key] == pytest.approx(straight[-1][key], rel=1e-3)


def test_nan_loss_raises_training_diverged(small_corpus):
    model = CharLM(MODEL)
    with torch.no_grad():
        model.head.bias.fill_(float("nan"))
    optimizer = torch.optim.Adam(model.parameters())
    with pytest.raises(TrainingDiverged, match="loss is nan"):
        _train_epoch(model, optimizer, small_corpus.train, TRAIN, epoch=1)


def test_evaluate_bpc_of_an_untrained_model_is_near_uniform(small_corpus):
    torch.manual_seed(0)
    model = CharLM(MODEL)
    bpc = evaluate_bpc(model, small_corpus.valid, batch_size=4, seq_len=50)
    assert abs(bpc - math.log2(50)) < 0.3
    assert model.training


def test_vocab_mismatch_is_rejected(small_corpus):
    with pytest.raises(ValueError, match="vocab_size"):
        next(train_char_lm(CharLMConfig(vocab_size=10, rnn=MODEL.rnn), TRAIN, small_corpus))
