"""Fetching a dataset file from its public source: atomic, hash-checked, offline-safe."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

TIMEOUT_S = 30.0


class DownloadFailed(Exception):
    """A source could not deliver the file; the message says which and why, on one line."""


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, as lowercase hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url: str, dest: Path) -> None:
    """Stream ``url`` into ``dest`` (a temporary name), raising DownloadFailed on any I/O error."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(dest, "wb") as out:
            shutil.copyfileobj(response, out, length=1 << 20)
    except (urllib.error.URLError, OSError, ValueError) as err:
        dest.unlink(missing_ok=True)
        reason = getattr(err, "reason", err)
        raise DownloadFailed(f"{url}: {reason}") from err


def _archive(url: str, downloads: Path) -> Path:
    """The tar archive at ``url``, downloaded once into ``downloads`` and reused after."""
    path = downloads / url.rsplit("/", 1)[-1]
    if not path.is_file():
        downloads.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f"{path.name}.part-{os.getpid()}")
        _fetch(url, part)
        os.replace(part, path)
    return path


def _extract(archive: Path, member: str, dest: Path) -> None:
    try:
        with tarfile.open(archive) as tar:
            src = tar.extractfile(member)
            if src is None:  # not a regular file
                raise TypeError(f"{member} is not a regular file")
            with src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, length=1 << 20)
    except (tarfile.TarError, KeyError, OSError, TypeError) as err:
        dest.unlink(missing_ok=True)
        archive.unlink(missing_ok=True)  # our own download, possibly truncated: fetch again
        raise DownloadFailed(f"{archive}: cannot extract {member} ({err})") from err


def download_file(url: str, target: Path, sha256: str, *, member: str | None = None) -> Path:
    """Download one file to ``target``, verify its SHA-256, then move it into place.

    Args:
        url: where the file (or, with ``member``, a tar archive holding it) is.
        target: the final path; its folder is created. Nothing is written there unless the
            content hashes to ``sha256``.
        sha256: the expected SHA-256 of the file.
        member: the file's path inside the archive at ``url``.

    Returns:
        ``target``.

    Raises:
        DownloadFailed: the source is unreachable, the archive lacks the member, or the
            content has another hash.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f"{target.name}.part-{os.getpid()}")
    if member is None:
        _fetch(url, part)
    else:
        _extract(_archive(url, target.parent.parent / ".downloads"), member, part)
    actual = sha256_of(part)
    if actual != sha256:
        part.unlink()
        raise DownloadFailed(f"{url}: content has SHA-256 {actual}, not {sha256}")
    os.replace(part, target)
    return target
