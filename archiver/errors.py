"""Errors a user can act on, each mapped to a documented exit code."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # success, whether or not anything changed (deletions are data)
    SOME_FAILED = 1  # the run finished, but some URLs could not be fetched
    USAGE = 2  # bad arguments, bad URL, broken archiver.toml
    NO_ARCHIVE = 3  # the archive does not exist or is not an archiver archive
    PUSH_FAILED = 4  # the run committed, but `git push` to the configured remote failed
    DAMAGED = 5  # `verify` found missing, truncated or altered evidence
    INTERNAL = 70  # a bug: the traceback is logged (EX_SOFTWARE)
    LOCKED = 75  # another run holds the archive lock (EX_TEMPFAIL: cron retries later)


class ArchiverError(Exception):
    """An error with a one-line message for the user and an exit code."""

    exit_code = ExitCode.INTERNAL


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


class FolderCollision(ArchiveDamaged):
    """A page folder holds the history of another URL than the one being read or written there."""
