"""Operational state in SQLite under `.archiver/`: every check, each page's schedule and validators,
and the payload digests already archived (for revisit records).

Nothing here is evidence, and the archive holds what a new database needs (a `Seed`: each page's
role, the record of every archived payload). A database found damaged, when opened or by any later
statement, is set aside beside itself (never deleted) and a new one started from the archive; every
page is then due.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import astuple, dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from ..errors import unwritable
from .meta import PageMeta

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA_VERSION = 3
# Layouts a later one is made from by adding tables (`SCHEMA` creates only what is missing), the state
# kept: version 3 added `outbox`.
ADDITIVE = {2}
SCHEMA = """
CREATE TABLE IF NOT EXISTS checks (
    url TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status INTEGER,
    duration_ms INTEGER,
    payload_digest TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS checks_url ON checks (url, checked_at);
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY,
    role TEXT NOT NULL DEFAULT 'article',
    first_seen TEXT NOT NULL,
    last_checked TEXT NOT NULL,
    last_outcome TEXT NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    failing_since TEXT,
    interval_minutes REAL,
    next_due TEXT,
    etag TEXT,
    last_modified TEXT
);
CREATE TABLE IF NOT EXISTS records (
    payload_digest TEXT PRIMARY KEY,
    uri TEXT NOT NULL,
    date TEXT NOT NULL,
    file TEXT NOT NULL,
    offset INTEGER NOT NULL,
    record_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    events TEXT NOT NULL
);
"""


class Outcome(StrEnum):
    """What one check of a page came to (serialized as its value, in `--json` and the state
    database)."""

    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    GONE = "gone"
    FAILED = "failed"
    SKIPPED = "skipped"  # not fetched by policy: a private address, robots.txt
    DEFERRED = "deferred"  # not checked this run: the sources' time budget ran out


@dataclass(frozen=True)
class Check:
    url: str
    checked_at: str  # ISO 8601, UTC
    outcome: Outcome
    status: int | None
    duration_ms: int
    payload_digest: str | None
    error: str | None
    role: str = "article"
    interval_minutes: float | None = None
    next_due: str | None = None
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class PageState:
    url: str
    role: str
    first_seen: str
    last_checked: str
    last_outcome: str
    last_status: int | None
    last_error: str | None
    failures: int  # consecutive failed checks
    failing_since: str | None  # first failure of the current streak
    interval_minutes: float | None
    next_due: str | None
    etag: str | None
    last_modified: str | None

    def failing_for_days(self, now: datetime) -> float:
        if not self.failing_since:
            return 0.0
        return (now - datetime.fromisoformat(self.failing_since)).total_seconds() / 86400

    def due(self, now: datetime) -> bool:
        return self.next_due is None or datetime.fromisoformat(self.next_due) <= now


@dataclass(frozen=True)
class PayloadRecord:
    """A response record already in the archive, for identical-payload revisits."""

    uri: str
    date: str
    file: str
    offset: int
    record_id: str

    @classmethod
    def of(cls, meta: PageMeta) -> PayloadRecord:
        """The record that holds the payload of the version `meta` describes (a revisit's target)."""
        ref = meta["warc"]
        target = ref.get("refers_to") or ref
        return cls(
            uri=target["target_uri"],
            date=target.get("date") or meta.get("captured_at", ""),
            file=target["file"],
            offset=target["offset"],
            record_id=target["record_id"],
        )


@dataclass(frozen=True)
class Seed:
    """What a new state database starts from, taken from the archive: each archived page (its role,
    first and last capture, latest status; due now) and the record holding each archived payload."""

    pages: list[PageState]
    records: dict[str, PayloadRecord]


PAGE_COLUMNS = ", ".join(f.name for f in fields(PageState))
# Damage, not the disk refusing: not a database, a damaged one, or tables and columns that are not
# ours.
DAMAGE = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_ERROR)


class Damaged(sqlite3.DatabaseError):
    """The file is not a state database of this layout."""


class State:
    """The state database of a run (which holds the archive lock): repaired from `seed` when found
    damaged."""

    def __init__(self, path: Path, seed: Callable[[], Seed]) -> None:
        self.path = path
        self._seed = seed
        self._new_records: dict[str, PayloadRecord] = {}
        try:
            self.db = self._connect()
        except sqlite3.DatabaseError as exc:
            self.db = self._recover(exc)

    def _connect(self) -> sqlite3.Connection:
        """Open the database, checking its layout cheaply (tables and columns: a full integrity
        check reads the whole file at every run); a new or old-layout one is started from the
        seed."""
        if self.path.exists() and not self.path.is_file():
            raise Damaged("a folder or other non-file is in its place")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path)
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version in ADDITIVE:  # an older layout this one only adds tables to
                db.executescript(SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                version = SCHEMA_VERSION
            if (
                version != SCHEMA_VERSION
            ):  # new, or an older archiver's layout: operational state only
                _log_start(self.path, db, version)
                db.executescript(
                    "DROP TABLE IF EXISTS checks; DROP TABLE IF EXISTS pages; "
                    "DROP TABLE IF EXISTS records; DROP TABLE IF EXISTS outbox;" + SCHEMA
                )
            if (
                _layout(db) != _expected_layout()
            ):  # before any write to it: a damaged file is set aside as it is
                raise Damaged("its tables are not the ones archiver makes")
            db.execute("PRAGMA journal_mode=WAL")
            if version != SCHEMA_VERSION:
                _fill(db, self._seed())
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            db.close()
            raise
        return db

    def _recover(self, exc: sqlite3.DatabaseError) -> sqlite3.Connection:
        """A new database in place of a damaged one; any other failure is raised (the disk's as
        `Unwritable`)."""
        refused = unwritable(exc, self.path)
        if refused is not None:
            raise refused from exc
        if (
            not isinstance(exc, Damaged)
            and (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF not in DAMAGE
        ):
            raise exc
        aside = _set_aside(self.path)
        log.warning(
            "the state database %s was damaged (%s); set aside as %s and rebuilt from the archive "
            "(every page is due)",
            self.path,
            exc,
            aside.name,
        )
        return self._connect()

    def _use(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work` on the database; if a statement finds it damaged, `work` again on one rebuilt from
        the archive."""
        try:
            return work(self.db)
        except sqlite3.DatabaseError as exc:
            self.db.close()
            self.db = self._recover(exc)
        return work(self.db)

    def close(self) -> None:
        self.db.close()

    def record(self, checks: list[Check]) -> None:
        """Save the run's checks and the payloads it archived, in one transaction."""
        self._use(functools.partial(self._record, checks))
        self._new_records.clear()

    def _record(self, checks: list[Check], db: sqlite3.Connection) -> None:
        with db:
            db.executemany(
                "INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?, ?)",
                [(d, *astuple(r)) for d, r in self._new_records.items()],
            )
            db.executemany(
                "INSERT INTO checks VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        c.url,
                        c.checked_at,
                        c.outcome,
                        c.status,
                        c.duration_ms,
                        c.payload_digest,
                        c.error,
                    )
                    for c in checks
                ],
            )
            db.executemany(
                """INSERT INTO pages (url, role, first_seen, last_checked, last_outcome, last_status, last_error,
                                      failures, failing_since, interval_minutes, next_due, etag, last_modified)
                   VALUES (:url, :role, :at, :at, :outcome, :status, :error, :failed, :failing_since,
                           :interval, :next_due, :etag, :last_modified)
                   ON CONFLICT (url) DO UPDATE SET role = excluded.role, last_checked = excluded.last_checked,
                     last_outcome = excluded.last_outcome, last_status = excluded.last_status,
                     last_error = excluded.last_error,
                     failures = CASE WHEN :failed THEN pages.failures + 1 ELSE 0 END,
                     failing_since = CASE WHEN :failed THEN COALESCE(pages.failing_since, excluded.last_checked)
                                     ELSE NULL END,
                     interval_minutes = excluded.interval_minutes, next_due = excluded.next_due,
                     etag = CASE WHEN :failed THEN pages.etag ELSE excluded.etag END,
                     last_modified = CASE WHEN :failed THEN pages.last_modified ELSE excluded.last_modified END""",
                [
                    {
                        "url": c.url,
                        "role": c.role,
                        "at": c.checked_at,
                        "outcome": c.outcome,
                        "status": c.status,
                        "error": c.error,
                        "failed": int(c.outcome == Outcome.FAILED),
                        "failing_since": c.checked_at if c.outcome == Outcome.FAILED else None,
                        "interval": c.interval_minutes,
                        "next_due": c.next_due,
                        "etag": c.etag,
                        "last_modified": c.last_modified,
                    }
                    for c in checks
                ],
            )

    def pages(self) -> dict[str, PageState]:
        return self._use(_pages)

    def checks(self, url: str) -> list[Check]:
        rows = self._use(
            lambda db: db.execute(
                "SELECT * FROM checks WHERE url = ? ORDER BY checked_at", (url,)
            ).fetchall()
        )
        return [Check(*row) for row in rows]

    def remember_record(self, digest: str, record: PayloadRecord) -> None:
        """Note an archived payload; saved with the run's checks (one transaction, not one per
        page)."""
        self._new_records.setdefault(digest, record)

    def find_record(self, digest: str) -> PayloadRecord | None:
        if digest in self._new_records:
            return self._new_records[digest]
        row = self._use(
            lambda db: db.execute(
                "SELECT uri, date, file, offset, record_id FROM records WHERE payload_digest = ?",
                (digest,),
            ).fetchone()
        )
        return PayloadRecord(*row) if row else None

    # -- the outbox: messages a notification target refused, tried again by later runs ------------

    def queued(self) -> list[Queued]:
        rows = self._use(
            lambda db: db.execute(
                "SELECT id, target, queued_at, attempts, last_error, events FROM outbox ORDER BY id"
            ).fetchall()
        )
        return [Queued(*row) for row in rows]

    def queue(self, target: str, at: str, error: str, events: str) -> None:
        """Keep a message (its events as JSON) for `target` that one attempt failed to deliver."""

        def insert(db: sqlite3.Connection) -> None:
            with db:
                db.execute(
                    "INSERT INTO outbox (target, queued_at, attempts, last_error, events) "
                    "VALUES (?, ?, 1, ?, ?)",
                    (target, at, error, events),
                )

        self._use(insert)

    def failed_again(self, ids: list[int], error: str) -> None:
        self._use(
            lambda db: _many(
                db,
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                [(error, i) for i in ids],
            )
        )

    def unqueue(self, ids: list[int]) -> None:
        self._use(lambda db: _many(db, "DELETE FROM outbox WHERE id = ?", [(i,) for i in ids]))


@dataclass(frozen=True)
class Queued:
    """A message waiting in the outbox: its target (a digest of the Apprise URL, never the URL and
    its password), when it was first refused, how often, why last, and its events as JSON."""

    id: int
    target: str
    queued_at: str
    attempts: int
    last_error: str | None
    events: str


def _many(db: sqlite3.Connection, statement: str, rows: list[tuple[object, ...]]) -> None:
    with db:
        db.executemany(statement, rows)


def read_pages(path: Path) -> dict[str, PageState]:
    """Each page's state, for commands that only read: they hold no lock, so they never repair, and
    they may run on a read-only archive. Empty (every page unknown) if there is no state database or
    it cannot be read."""
    if not path.exists():
        return {}
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return _pages(db)
        except sqlite3.OperationalError as exc:
            if (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF not in (
                sqlite3.SQLITE_READONLY,
                sqlite3.SQLITE_CANTOPEN,
            ):
                raise
            # A read-only folder: SQLite cannot make the journal's shared-memory file, and nobody
            # can write here.
            db.close()
            db = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
            return _pages(db)
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        log.warning(
            "the state database %s cannot be read (%s); the next run rebuilds it", path, exc
        )
        return {}


def _set_aside(path: Path) -> Path:
    """Rename the database beside itself, stamped, with its journal: a new database must not replay
    that."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    serial = 1
    while aside.exists():
        aside, serial = path.with_name(f"{path.name}.damaged-{stamp}-{serial}"), serial + 1
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{path}{suffix}")
        if part.exists() or part.is_symlink():
            part.replace(Path(f"{aside}{suffix}"))
    return aside


def _pages(db: sqlite3.Connection) -> dict[str, PageState]:
    return {row[0]: PageState(*row) for row in db.execute(f"SELECT {PAGE_COLUMNS} FROM pages")}


def _fill(db: sqlite3.Connection, seed: Seed) -> None:
    with db:
        db.executemany(
            "INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?, ?)",
            [(d, *astuple(r)) for d, r in seed.records.items()],
        )
        db.executemany(
            f"INSERT INTO pages ({PAGE_COLUMNS}) VALUES "
            f"({', '.join('?' * len(fields(PageState)))})",
            [astuple(page) for page in seed.pages],
        )


def _log_start(path: Path, db: sqlite3.Connection, version: int) -> None:
    """Say why the database is started from the archive: there was none, or an older archiver's.
    Tables not ours are neither: the layout check finds them and the file is set aside as damaged,
    with a warning of its own."""
    tables = set(_layout(db))
    if not tables:  # no database was there (or an empty file)
        log.info("state database %s is new; starting it from the archive", path)
    elif tables <= set(_expected_layout()):
        log.info(
            "state database %s has an old layout (version %d); starting it again from the archive",
            path,
            version,
        )


def _layout(db: sqlite3.Connection) -> dict[str, list[str]]:
    """Each table's columns."""
    tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {
        name: [column[1] for column in db.execute(f"PRAGMA table_info('{name}')")]
        for name in tables
    }


@functools.cache
def _expected_layout() -> dict[str, list[str]]:
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(SCHEMA)
        return _layout(db)
    finally:
        db.close()
