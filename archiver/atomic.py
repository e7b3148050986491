"""Crash-safe file writes: temporary file, fsync, rename, fsync the folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

FILE_MODE = 0o644


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)  # mkstemp makes 0600; archive files are for sharing (pywb, a web server)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_folder(folder: Path, files: dict[str, bytes | None], durable: bool = True) -> None:
    """Replace several files of one folder (None removes a file), with one folder fsync for all.

    Each file is still written whole to a temporary name, fsynced and renamed into place, so a crash
    leaves every file either old or new, never partial. Only the archive's lock holder writes here, so a
    fixed temporary name is safe; one left by a crash is simply overwritten. Not `durable`: no fsync, for
    files a crash recovery restores anyway (the caller syncs once when it is done).
    """
    folder.mkdir(parents=True, exist_ok=True)
    staged = []
    for name, data in files.items():
        if data is None:
            continue
        tmp = folder / f".{name}.tmp"
        with tmp.open("wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        staged.append((tmp, folder / name))
    for tmp, path in staged:
        tmp.replace(path)
    for name, data in files.items():
        if data is None:
            (folder / name).unlink(missing_ok=True)
    if durable:
        fsync_dir(folder)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
