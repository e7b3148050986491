"""Operational state in SQLite under `.archiver/`: every check, and what each page looked like last.

Nothing here is evidence; losing the file loses no archived content (everything becomes due).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

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
    last_checked TEXT NOT NULL,
    last_outcome TEXT NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    failing_since TEXT
);
"""


@dataclass(frozen=True)
class Check:
    url: str
    checked_at: str  # ISO 8601, UTC
    outcome: str  # new | changed | unchanged | gone | failed
    status: int | None
    duration_ms: int
    payload_digest: str | None
    error: str | None


@dataclass(frozen=True)
class PageState:
    url: str
    last_checked: str
    last_outcome: str
    last_status: int | None
    last_error: str | None
    failures: int  # consecutive failed checks
    failing_since: str | None  # first failure of the current streak

    def failing_for_days(self, now: datetime) -> float:
        if not self.failing_since:
            return 0.0
        return (now - datetime.fromisoformat(self.failing_since)).total_seconds() / 86400


class State:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def record(self, checks: list[Check]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT INTO checks VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(c.url, c.checked_at, c.outcome, c.status, c.duration_ms, c.payload_digest, c.error)
                 for c in checks],
            )
            for c in checks:
                failed = c.outcome == "failed"
                self.db.execute(
                    """INSERT INTO pages (url, last_checked, last_outcome, last_status, last_error, failures,
                                          failing_since)
                       VALUES (?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (url) DO UPDATE SET last_checked = excluded.last_checked,
                         last_outcome = excluded.last_outcome, last_status = excluded.last_status,
                         last_error = excluded.last_error,
                         failures = CASE WHEN ? THEN pages.failures + 1 ELSE 0 END,
                         failing_since = CASE WHEN ? THEN COALESCE(pages.failing_since, excluded.last_checked)
                                         ELSE NULL END""",
                    (c.url, c.checked_at, c.outcome, c.status, c.error, int(failed),
                     c.checked_at if failed else None, failed, failed),
                )

    def pages(self) -> dict[str, PageState]:
        rows = self.db.execute("SELECT url, last_checked, last_outcome, last_status, last_error, failures, "
                               "failing_since FROM pages")
        return {row[0]: PageState(*row) for row in rows}

    def checks(self, url: str) -> list[Check]:
        rows = self.db.execute("SELECT * FROM checks WHERE url = ? ORDER BY checked_at", (url,))
        return [Check(*row) for row in rows]
