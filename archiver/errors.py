"""Errors a user can act on, each mapped to a documented exit code."""

from __future__ import annotations

import errno
import os
import re
import sqlite3
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    OK = 0  # success, whether or not anything changed (deletions are data)
    SOME_FAILED = 1  # the run finished, but some URLs could not be fetched
    USAGE = 2  # bad arguments, bad URL, broken archiver.toml
    NO_ARCHIVE = 3  # the archive does not exist or is not an archiver archive
    PUSH_FAILED = 4  # the run committed, but `git push` to the configured remote failed
    DAMAGED = 5  # `verify` found missing, truncated or altered evidence
    CLUSTER = 69  # a distributed run's broker or workers failed it; nothing of it was committed
    INTERNAL = 70  # a bug: the traceback is logged (EX_SOFTWARE)
    UNWRITABLE = 74  # the archive cannot be written: read-only, permissions, disk full (EX_IOERR)
    LOCKED = 75  # another run holds the archive lock (EX_TEMPFAIL: cron retries later)


class ArchiverError(Exception):
    """An error with a one-line message for the user and an exit code."""

    exit_code = ExitCode.INTERNAL


class ClusterError(ArchiverError):
    """The broker of a distributed run is unreachable or went away, or its workers cannot take the
    run (EX_UNAVAILABLE)."""

    exit_code = ExitCode.CLUSTER


class UsageError(ArchiverError):
    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    pass


class InvalidURL(UsageError):
    pass


class ArchiveMissing(ArchiverError):
    exit_code = ExitCode.NO_ARCHIVE


class LockHeld(ArchiverError):
    exit_code = ExitCode.LOCKED


class ArchiveDamaged(ArchiverError):
    exit_code = ExitCode.DAMAGED


class Unwritable(ArchiverError):
    exit_code = ExitCode.UNWRITABLE


# What the disk refuses; EIO too, which SQLite reports for a failed write it cannot explain.
REFUSALS = (
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EIO,
)
# git names the cause with strerror(), except for a pack or index it could not finish writing.
GIT_CAUSES = {os.strerror(code): code for code in REFUSALS} | {"Out of diskspace": errno.ENOSPC}
GIT_PATH = re.compile(r"'([^'\n]*/[^'\n]*)'")  # the first quoted path in git's message
SQLITE_CAUSES = {
    sqlite3.SQLITE_FULL: errno.ENOSPC,
    sqlite3.SQLITE_IOERR: errno.EIO,
    sqlite3.SQLITE_READONLY: errno.EACCES,
    sqlite3.SQLITE_PERM: errno.EACCES,
    sqlite3.SQLITE_CANTOPEN: errno.EACCES,
}


def unwritable(exc: BaseException, where: Path | None = None) -> Unwritable | None:
    """`exc` as "cannot write PATH: CAUSE" if the disk refused a write (read-only, permissions,
    full), else None.

    The one place that tells such failures from bugs, whichever way they come: an OSError, git's
    message on stderr, or SQLite's error code. `where` is what git's relative paths are relative to
    (the archive) or, for SQLite, which names no file, the database.
    """
    from git.exc import (
        GitCommandError,
    )  # here: every module imports this one, extraction processes too

    if isinstance(exc, OSError):
        code, place = exc.errno, exc.filename if exc.filename is not None else where
    elif isinstance(exc, GitCommandError):
        message = exc.stderr if isinstance(exc.stderr, str) else ""
        code = next((code for cause, code in GIT_CAUSES.items() if cause in message), None)
        quoted = GIT_PATH.search(message)
        place = (where / quoted[1] if where is not None else Path(quoted[1])) if quoted else where
    elif isinstance(exc, sqlite3.OperationalError):
        code, place = SQLITE_CAUSES.get((getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF), where
        if code == errno.EACCES and place is not None and _read_only_file_system(place):
            code = errno.EROFS  # SQLite says "read-only" for both
    else:
        return None
    if code not in REFUSALS:
        return None
    return Unwritable(
        f"cannot write {place if place is not None else 'the archive'}: {os.strerror(code).lower()}"
    )


def _read_only_file_system(path: Path) -> bool:
    for candidate in (path, *path.parents):
        try:
            return bool(os.statvfs(candidate).f_flag & os.ST_RDONLY)
        except OSError:
            continue
    return False


class FolderCollision(ArchiveDamaged):
    """A page folder holds the history of another URL than the one being read or written there."""
