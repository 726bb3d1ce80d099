"""Penn Treebank language-modelling corpora (Mikolov's preprocessed version), char and word level.

Character level (``ptb.char.*.txt``): every symbol is followed by one space, ``_`` marks a word
boundary and each line ends with a newline, which is the end-of-sentence symbol. That gives the
50-symbol vocabulary (49 characters + eos) of the char-level PTB used by Ha et al. (2017) and
most char-LM papers. Word level (``ptb.*.txt``): whitespace-separated words with ``<eos>`` at
each line end, a 10k vocabulary.

Both load into a :class:`TokenCorpus` of int64 token streams. For training, a stream is cut into
``B`` parallel streams (:func:`batchify`, shape ``[T, B]``) and walked in truncated-BPTT windows
(:class:`BPTTBatches`): window ``i`` is ``x = S[i*L:(i+1)*L]``, ``y = S[i*L+1:(i+1)*L+1]``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hnet_core.data._files import CorruptDatasetError, resolve_all

SPLITS = ("train", "valid", "test")
EOS_CHAR = "\n"
EOS_WORD = "<eos>"


@dataclass(frozen=True)
class TokenCorpus:
    """A tokenised corpus: the vocabulary and one int64 stream of token ids per split."""

    vocab: tuple[str, ...]
    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def split(self, name: str) -> torch.Tensor:
        """The token stream of ``name`` (``train``, ``valid`` or ``test``)."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; expected one of {SPLITS}")
        return getattr(self, name)


def _char_symbols(path: Path) -> np.ndarray:
    """The symbol bytes of a ``ptb.char.*`` file: every other byte, each followed by a space."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % 2 or not (raw[1::2] == ord(" ")).all():
        raise CorruptDatasetError(f"{path} is not in PTB char format (symbol, space, ...)")
    return raw[0::2]


def load_ptb_char(data_dir: str | os.PathLike | None = None) -> TokenCorpus:
    """Character-level PTB: 50 symbols, train/valid/test of 5,017,482/393,042/442,423 symbols.

    Args:
        data_dir: a data root searched before ``$HNET_DATA_DIR`` and the cache.

    Returns:
        The corpus; the vocabulary is the sorted set of train symbols, ``"\\n"`` the eos.
    """
    paths = resolve_all([f"ptb/ptb.char.{s}.txt" for s in SPLITS], data_dir)
    symbols = {s: _char_symbols(p) for s, p in zip(SPLITS, paths, strict=True)}
    alphabet = np.unique(symbols["train"])
    lookup = np.full(256, -1, dtype=np.int64)
    lookup[alphabet] = np.arange(alphabet.size)
    streams = {}
    for split, syms in symbols.items():
        ids = lookup[syms]
        if (ids < 0).any():
            raise CorruptDatasetError(f"{split} split has symbols outside the train vocabulary")
        streams[split] = torch.from_numpy(ids)
    vocab = tuple(chr(b) for b in alphabet)
    return TokenCorpus(vocab=vocab, **streams)


def _words(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [w for line in handle for w in (*line.split(), EOS_WORD)]


def load_ptb_word(data_dir: str | os.PathLike | None = None) -> TokenCorpus:
    """Word-level PTB: 10,000 words (``<unk>`` and ``<eos>`` included).

    The vocabulary is ordered by train frequency, ties broken alphabetically, so id 0 is the
    most frequent word.
    """
    paths = resolve_all([f"ptb/ptb.{s}.txt" for s in SPLITS], data_dir)
    words = {s: _words(p) for s, p in zip(SPLITS, paths, strict=True)}
    counts = Counter(words["train"])
    vocab = tuple(sorted(counts, key=lambda w: (-counts[w], w)))
    index = {w: i for i, w in enumerate(vocab)}
    streams = {}
    for split, ws in words.items():
        try:
            streams[split] = torch.tensor([index[w] for w in ws], dtype=torch.int64)
        except KeyError as err:
            message = f"{split} split has word {err} outside the vocabulary"
            raise CorruptDatasetError(message) from None
    return TokenCorpus(vocab=vocab, **streams)


def batchify(tokens: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Cut a stream into ``batch_size`` contiguous parallel streams.

    Args:
        tokens: ``[N]`` token ids.
        batch_size: ``B``, the number of streams.

    Returns:
        ``[N // B, B]``, time-major: column ``b`` is ``tokens[b*T:(b+1)*T]``; the remainder of
        ``N`` that does not fill a row is dropped.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    steps = tokens.numel() // batch_size
    if steps < 2:
        raise ValueError(f"{tokens.numel()} tokens are too few for {batch_size} streams")
    return tokens[: steps * batch_size].view(batch_size, steps).t().contiguous()


class BPTTBatches:
    """Truncated-BPTT windows over a batchified stream.

    Iterating yields ``(x, y)`` pairs of shape ``[L, B]`` (the last window may be shorter), with
    ``y`` the next token of each ``x``. Consecutive windows continue each other, so a model's
    recurrent state can be carried from one window to the next (and detached between them).
    """

    def __init__(self, tokens: torch.Tensor, batch_size: int, seq_len: int) -> None:
        if seq_len < 1:
            raise ValueError(f"seq_len must be >= 1, got {seq_len}")
        self.data = batchify(tokens, batch_size)
        self.seq_len = seq_len

    @property
    def num_targets(self) -> int:
        """How many next-token targets one pass covers: ``(T - 1) * B``."""
        return (self.data.shape[0] - 1) * self.data.shape[1]

    def __len__(self) -> int:
        return -(-(self.data.shape[0] - 1) // self.seq_len)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        last = self.data.shape[0] - 1
        for start in range(0, last, self.seq_len):
            stop = min(start + self.seq_len, last)
            yield self.data[start:stop], self.data[start + 1 : stop + 1]
