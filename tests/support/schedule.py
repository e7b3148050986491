"""Scheduled runs: a new archive configured before its first run, the schedule kept in
`.archiver/state.sqlite` read back with sqlite3, and a story served by the loopback news site.

Shared by test_due, test_politeness, test_retry_after, test_validators, test_cron and test_push.
"""

from __future__ import annotations

import re
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from archiver import Archive
from support.archives import allow_loopback_sources, configure
from support.newssite import Site, article

STORY = [
    "The harbour authority approved the dredging plan on Monday after a public consultation.",
    "Fishermen said the work would disturb spawning grounds. The authority disputed that claim.",
    "Dredging is due to start in the spring and to last for about eighteen months in total.",
]
EDIT = "A late amendment limits the work to the winter months, when fewer fish spawn in the bay."
# What a snapshot says when nothing is due: how many pages wait, which comes first and when, and how
# to check now.
NOTHING_DUE = re.compile(
    r"0 checked: nothing is due \((1 page waits|\d+ pages wait); the first, (?P<url>\S+), at "
    r"\d{4}-\d\d-\d\d \d\d:\d\d UTC\); to check now, run `archiver snapshot --all` or name the URL; "
    r"no commit"
)


def nothing_due(stdout: str, url: str | None = None) -> bool:
    """`stdout` is the one line of a snapshot that found nothing due (the first to come due: `url`)."""
    lines = stdout.splitlines()
    found = NOTHING_DUE.fullmatch(lines[0]) if len(lines) == 1 else None
    return found is not None and url in (None, found["url"])


EXE = Path(sys.executable).with_name("archiver")
JITTER = 0.08  # seconds: request times seen by the server wander this much on a loaded machine


def reopen(archive: Archive, *rules: dict[str, object], **settings: object) -> Archive:
    configure(archive.root, *rules, **settings)
    return Archive.open(archive.root)


def new_archive(tmp_path: Path, *rules: dict[str, object], **settings: object) -> Path:
    """A new archive (what `archiver init` makes), configured before its first run (so the settings
    are committed)."""
    root = tmp_path / "arc"
    Archive.init(root)
    allow_loopback_sources(root)
    configure(root, *rules, **settings)
    return root


def state_pages(root: Path) -> dict[str, sqlite3.Row]:
    db = sqlite3.connect(root / ".archiver" / "state.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return {row["url"]: row for row in db.execute("SELECT * FROM pages")}
    finally:
        db.close()


def interval(root: Path, url: str) -> float:
    return state_pages(root)[url]["interval_minutes"]


def minutes_until_due(row: sqlite3.Row) -> float:
    due, checked = (
        datetime.fromisoformat(row["next_due"]),
        datetime.fromisoformat(row["last_checked"]),
    )
    return (due - checked).total_seconds() / 60


def make_due(root: Path) -> None:
    """Every page due now, as if its time had come: the schedule learns only from due checks."""
    db = sqlite3.connect(root / ".archiver" / "state.sqlite")
    try:
        with db:
            db.execute("UPDATE pages SET next_due = ?", (datetime.now(UTC).isoformat(),))
    finally:
        db.close()


def sleep_until_due(root: Path, *urls: str) -> None:
    rows = state_pages(root)
    wait = (
        max(datetime.fromisoformat(rows[u]["next_due"]) for u in urls) - datetime.now(UTC)
    ).total_seconds()
    assert wait < 5, f"due in {wait:.0f} s: the short interval set for the test was not applied"
    time.sleep(max(0.0, wait) + 0.05)


def outcomes(summary) -> dict[str, str]:
    return {r.url: r.outcome for r in summary.results}


def files_under(root: Path, folder: str) -> set[str]:
    return {p.relative_to(root).as_posix() for p in (root / folder).rglob("*") if p.is_file()}


def serve_story(
    site: Site, path: str, title: str = "Harbour dredging plan approved", **kwargs
) -> str:
    site.page(path, lambda: article(title, STORY, **kwargs))
    return site.url(path)
