"""Crash-safe file writes: temporary file, fsync, rename, fsync the folder."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FILE_MODE = 0o644


@contextmanager
def naming(path: Path) -> Iterator[None]:
    """An OSError raised inside names `path` (a failed write on an open file names none), so that
    the error the user reads says which file could not be written."""
    try:
        yield
    except OSError as exc:
        exc.filename = str(path)
        raise


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _refuse_read_only(path)
    with naming(path):  # the file the user knows, not its temporary name
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            os.fchmod(
                fd, FILE_MODE
            )  # mkstemp makes 0600; archive files are for sharing (pywb, a web server)
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
    leaves every file either old or new, never partial; a failed write (a full disk) leaves none of
    the temporary files. Only the archive's lock holder writes here, so a fixed temporary name is
    safe; one left by a crash is simply overwritten. Not `durable`: no fsync, for files a crash
    recovery restores anyway (the caller syncs once when it is done).
    """
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for name, data in files.items():
            if data is None:
                continue
            path = folder / name
            _refuse_read_only(path)
            tmp = folder / f".{name}.tmp"
            staged.append((tmp, path))
            with naming(path), tmp.open("wb") as f:
                f.write(data)
                if durable:
                    f.flush()
                    os.fsync(f.fileno())
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
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


def _refuse_read_only(path: Path) -> None:
    """A file we may not write is not replaced behind its back by a rename (which only asks the
    folder)."""
    if path.exists() and not os.access(
        path, os.W_OK, effective_ids=os.access in os.supports_effective_ids
    ):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
