"""Finding, verifying and downloading dataset files."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from hnet_core.data import CorruptDatasetError, MissingDatasetError, _files, data_roots, resolve
from hnet_core.data._files import KnownFile, Source

CHAR_TRAIN = "ptb/ptb.char.train.txt"


def test_roots_are_argument_then_env_then_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HNET_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    roots = data_roots(tmp_path / "arg")
    assert roots == [tmp_path / "arg", tmp_path / "env", tmp_path / "xdg" / "hnet-studies"]
    monkeypatch.delenv("HNET_DATA_DIR")
    assert data_roots() == [tmp_path / "xdg" / "hnet-studies"]


def test_missing_file_lists_folders_and_names(tmp_path, monkeypatch):
    monkeypatch.setenv("HNET_DATA_DIR", str(tmp_path / "env"))
    with pytest.raises(MissingDatasetError) as err:
        _files.resolve_all([CHAR_TRAIN, "ptb/ptb.char.valid.txt"], tmp_path / "arg")
    message = str(err.value)
    assert "\n" not in message
    for expected in (CHAR_TRAIN, "ptb/ptb.char.valid.txt", str(tmp_path / "arg"),
                     str(tmp_path / "env"), "HNET_OFFLINE"):
        assert expected in message


def test_wrong_hash_names_both_hashes_and_keeps_the_file(tmp_path):
    bad = tmp_path / CHAR_TRAIN
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not ptb")
    with pytest.raises(CorruptDatasetError) as err:
        resolve(CHAR_TRAIN, tmp_path)
    message = str(err.value)
    assert str(bad) in message
    assert hashlib.sha256(b"not ptb").hexdigest() in message
    assert _files.KNOWN_FILES[CHAR_TRAIN].sha256 in message
    assert bad.read_bytes() == b"not ptb"


def test_first_root_holding_the_file_wins(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("HNET_DATA_DIR", str(data_dir))
    assert resolve(CHAR_TRAIN, tmp_path / "empty") == data_dir / CHAR_TRAIN


def _register(monkeypatch, relpath: str, payload: bytes, *sources: Source) -> None:
    known = KnownFile(relpath, hashlib.sha256(payload).hexdigest(), sources)
    monkeypatch.setitem(_files.KNOWN_FILES, relpath, known)
    monkeypatch.delenv("HNET_OFFLINE")


def test_download_of_a_plain_file(tmp_path, monkeypatch):
    origin = tmp_path / "origin.txt"
    origin.write_bytes(b"payload")
    _register(monkeypatch, "demo/file.txt", b"payload", Source("file:///nonexistent/x"),
              Source(origin.as_uri()))
    path = resolve("demo/file.txt", tmp_path / "root")
    assert path == tmp_path / "root" / "demo" / "file.txt"
    assert path.read_bytes() == b"payload"
    assert not list(path.parent.glob("*.part-*"))


def test_download_from_an_archive_member(tmp_path, monkeypatch):
    archive = tmp_path / "bundle.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("./bundle/data/file.txt")
        info.size = 7
        tar.addfile(info, io.BytesIO(b"payload"))
    _register(monkeypatch, "demo/file.txt", b"payload",
              Source(archive.as_uri(), "./bundle/data/file.txt"))
    assert resolve("demo/file.txt", tmp_path / "root").read_bytes() == b"payload"


def test_download_with_wrong_content_writes_nothing(tmp_path, monkeypatch):
    origin = tmp_path / "origin.txt"
    origin.write_bytes(b"tampered")
    _register(monkeypatch, "demo/file.txt", b"payload", Source(origin.as_uri()))
    with pytest.raises(MissingDatasetError, match="SHA-256"):
        resolve("demo/file.txt", tmp_path / "root")
    assert not (tmp_path / "root" / "demo").exists() or not any(
        (tmp_path / "root" / "demo").iterdir())


def test_real_files_match_the_table(data_dir: Path):
    for relpath in _files.KNOWN_FILES:
        if relpath.startswith(("ptb/", "mnist/")):
            assert resolve(relpath, data_dir) == data_dir / relpath


def test_table_agrees_with_shared_sha256sums(data_dir: Path):
    sums_file = data_dir / "SHA256SUMS"
    if not sums_file.is_file():
        pytest.skip("no SHA256SUMS beside the data")
    sums = dict(reversed(line.split()) for line in sums_file.read_text().splitlines() if line)
    for relpath, known in _files.KNOWN_FILES.items():
        if relpath in sums:
            assert sums[relpath] == known.sha256, relpath
    assert {r for r in sums if r.endswith((".txt", ".gz"))} <= set(_files.KNOWN_FILES)
