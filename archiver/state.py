"""Operational state in SQLite under `.archiver/`: every check, each page's schedule and validators,
and the payload digests already archived (for revisit records).

Nothing here is evidence; losing the file loses no archived content (everything becomes due).
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
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
"""


@dataclass(frozen=True)
class Check:
    url: str
    checked_at: str  # ISO 8601, UTC
    outcome: str  # new | changed | unchanged | gone | failed | skipped
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
class Record:
    """A response record already in the archive, for identical-payload revisits."""

    uri: str
    date: str
    file: str
    offset: int
    record_id: str


class State:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=WAL")
        if self.db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            # Operational state only: an older layout is dropped, and every page is simply due.
            log.info("state database %s has an old layout; starting it afresh", path)
            self.db.executescript("DROP TABLE IF EXISTS checks; DROP TABLE IF EXISTS pages; "
                                  "DROP TABLE IF EXISTS records;")
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.db.executescript(SCHEMA)
        self._new_records: dict[str, Record] = {}

    def close(self) -> None:
        self.db.close()

    def record(self, checks: list[Check]) -> None:
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?, ?)",
                                [(d, r.uri, r.date, r.file, r.offset, r.record_id)
                                 for d, r in self._new_records.items()])
            self._new_records.clear()
            self.db.executemany(
                "INSERT INTO checks VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(c.url, c.checked_at, c.outcome, c.status, c.duration_ms, c.payload_digest, c.error)
                 for c in checks],
            )
            self.db.executemany(
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
                [{"url": c.url, "role": c.role, "at": c.checked_at, "outcome": c.outcome, "status": c.status,
                  "error": c.error, "failed": int(c.outcome == "failed"),
                  "failing_since": c.checked_at if c.outcome == "failed" else None,
                  "interval": c.interval_minutes, "next_due": c.next_due, "etag": c.etag,
                  "last_modified": c.last_modified} for c in checks],
            )

    def pages(self) -> dict[str, PageState]:
        rows = self.db.execute(
            "SELECT url, role, first_seen, last_checked, last_outcome, last_status, last_error, failures, "
            "failing_since, interval_minutes, next_due, etag, last_modified FROM pages")
        return {row[0]: PageState(*row) for row in rows}

    def checks(self, url: str) -> list[Check]:
        rows = self.db.execute("SELECT * FROM checks WHERE url = ? ORDER BY checked_at", (url,))
        return [Check(*row) for row in rows]

    def remember_record(self, digest: str, record: Record) -> None:
        """Note an archived payload; saved with the run's checks (one transaction, not one per page)."""
        self._new_records.setdefault(digest, record)

    def find_record(self, digest: str) -> Record | None:
        if digest in self._new_records:
            return self._new_records[digest]
        row = self.db.execute("SELECT uri, date, file, offset, record_id FROM records WHERE payload_digest = ?",
                              (digest,)).fetchone()
        return Record(*row) if row else None
