"""After an interrupted run: set its WARCs aside and put its page files back as the last commit has
them.

A run marks itself in progress before it writes anything and clears the mark once its commit is
made. A mark found by the next run means the last one died (SIGKILL, power loss, a bug) somewhere
between its first write and its commit. Nothing it wrote was committed, so the archive's truth is
the last commit: uncommitted page files are restored from it, and WARC files no commit refers to
(`.open` ones, or closed but uncommitted) are moved to `.archiver/interrupted/` — kept for
inspection, never deleted.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import Unwritable, unwritable
from ..evidence.warc import OPEN_SUFFIX
from ..storage import atomic
from ..storage.store import CHECKS, WARCS, WORK_DIR, Store

log = logging.getLogger(__name__)

MARKER = "run-in-progress"
INTERRUPTED = "interrupted"
WARC_PLACES = (WARCS, CHECKS)


@dataclass
class Recovery:
    """What the last, interrupted run left behind, and where it went."""

    set_aside: list[str] = field(default_factory=list)  # WARC files moved to .archiver/interrupted/
    restored: list[str] = field(
        default_factory=list
    )  # page files put back as the last commit has them


@contextmanager
def guarded(root: Path, store: Store) -> Iterator[Recovery]:
    """Recover from an interrupted run if there was one, then mark this run in progress until it is
    done.

    Call only while holding the archive lock. The mark stays if the body raises: the next run
    recovers.
    """
    marker = root / WORK_DIR / MARKER
    # a git killed outside our runs (or before marks existed) leaves them too
    store.clear_stale_locks()
    store.reset_index()
    recovery = recover(root, store) if marker.exists() or _open_warcs(root) else Recovery()
    atomic.write_text(marker, f"pid {os.getpid()} started {datetime.now(UTC).isoformat()}\n")
    try:
        yield recovery
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM) or a bug: undo now rather than leave the tree dirty until
        # the next run.
        try:
            recover(root, store)
            _clear(marker)
        except Exception as exc:
            if unwritable(exc) is None and not isinstance(exc, Unwritable):
                log.exception("could not undo the interrupted run now; the next run will")
            else:  # the disk that stopped the run stops this too; the error the run raises says so
                log.info("could not undo the interrupted run now (%s); the next run will", exc)
        raise
    # the run's page files were written without fsync: they reach the disk before the mark goes
    os.sync()
    _clear(marker)


def _clear(marker: Path) -> None:
    marker.unlink()
    atomic.fsync_dir(marker.parent)


def recover(root: Path, store: Store) -> Recovery:
    store.clear_stale_locks()
    # before anything asks git what is tracked: a commit may have outrun its index update
    store.reset_index()
    recovery = Recovery(restored=store.restore_pages())
    leftovers = _open_warcs(root) + [root / p for p in store.untracked(WARCS)]
    for path in leftovers:
        recovery.set_aside.append(_set_aside(root, path))
        log.info(
            "an interrupted run left %s; it was not committed and is set aside",
            recovery.set_aside[-1],
        )
    if recovery.restored:
        log.info(
            "an interrupted run left %d uncommitted page files; restored them from the last commit",
            len(recovery.restored),
        )
    return recovery


def _open_warcs(root: Path) -> list[Path]:
    return sorted(p for place in WARC_PLACES for p in (root / place).glob(f"**/*{OPEN_SUFFIX}"))


def _set_aside(root: Path, path: Path) -> str:
    relative = path.relative_to(root)
    target = root / WORK_DIR / INTERRUPTED / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    path.replace(target)
    atomic.fsync_dir(target.parent)
    return target.relative_to(root).as_posix()
