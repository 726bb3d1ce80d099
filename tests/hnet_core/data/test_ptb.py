"""Penn Treebank, char and word level, against the real files."""

from __future__ import annotations

import pytest
import torch

from hnet_core.data import BPTTBatches, CorruptDatasetError, batchify, load_ptb_char, load_ptb_word


@pytest.fixture(scope="module")
def char_corpus(data_dir):
    return load_ptb_char(data_dir)


def test_char_counts_match_the_published_ones(char_corpus):
    assert char_corpus.vocab_size == 50
    assert "\n" in char_corpus.vocab and "_" in char_corpus.vocab
    sizes = {s: char_corpus.split(s).numel() for s in ("train", "valid", "test")}
    assert sizes == {"train": 5_017_482, "valid": 393_042, "test": 442_423}
    assert char_corpus.train.dtype == torch.int64


def test_char_text_decodes(char_corpus):
    text = "".join(char_corpus.vocab[i] for i in char_corpus.train[:20])
    assert text == "aer_banknote_berlitz"
    newlines = int((char_corpus.train == char_corpus.vocab.index("\n")).sum())
    assert newlines == 42_068


def test_char_format_is_checked(tmp_path, char_corpus):
    from hnet_core.data.ptb import _char_symbols

    bad = tmp_path / "x.txt"
    bad.write_bytes(b"ab c ")
    with pytest.raises(CorruptDatasetError, match="PTB char format"):
        _char_symbols(bad)


def test_word_level_has_the_10k_vocabulary(data_dir):
    corpus = load_ptb_word(data_dir)
    assert corpus.vocab_size == 10_000
    assert {"<unk>", "<eos>", "N"} <= set(corpus.vocab)
    assert [corpus.split(s).numel() for s in ("train", "valid", "test")] == [
        929_589, 73_760, 82_430]
    with pytest.raises(ValueError, match="unknown split"):
        corpus.split("dev")


def test_batchify_makes_contiguous_time_major_streams():
    data = batchify(torch.arange(23), 4)
    assert data.shape == (5, 4)
    assert data[:, 1].tolist() == [5, 6, 7, 8, 9]
    with pytest.raises(ValueError):
        batchify(torch.arange(3), 4)


def test_bptt_windows_cover_the_stream_once():
    batches = BPTTBatches(torch.arange(103), batch_size=4, seq_len=7)
    windows = list(batches)
    assert len(windows) == len(batches) == 4  # 25 steps -> 24 targets -> 7+7+7+3
    xs = torch.cat([x for x, _ in windows])
    ys = torch.cat([y for _, y in windows])
    assert torch.equal(xs, batches.data[:-1]) and torch.equal(ys, batches.data[1:])
    assert batches.num_targets == ys.numel() == 96
    assert all(torch.equal(y[:-1], x[1:]) for x, y in windows)
