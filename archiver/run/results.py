"""What a run reports: the outcome of each check (`PageResult`) and of the run (`RunSummary`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..storage.meta import Kind
from ..storage.state import Outcome
from ..words import counted

if TYPE_CHECKING:
    from ..evidence.timestamps import StampSummary
    from ..notify.send import Delivery
    from .events import Event

# Why a page was skipped by policy, and the setting that allows it.
SKIP_FIXES = (
    (
        "non-public address",
        "to archive such pages, set `sources.allow_private = true` in archiver.toml",
    ),
    ("robots.txt", "to ignore robots.txt, set `fetch.robots = false` in archiver.toml"),
)
# The outcome each kind of version counts as.
KIND_OUTCOME: dict[str, Outcome] = {
    Kind.NEW: Outcome.NEW,
    Kind.EDITED: Outcome.CHANGED,
    Kind.MOVED: Outcome.CHANGED,
    Kind.RESTORED: Outcome.CHANGED,
    Kind.GONE: Outcome.GONE,
    Kind.SOFT_404: Outcome.GONE,
}
VERSION_OUTCOMES = (
    Outcome.NEW,
    Outcome.CHANGED,
    Outcome.GONE,
)  # the outcomes of a check that made a version


@dataclass
class PageResult:
    url: str
    outcome: Outcome
    status: int | None = None
    title: str = ""
    error: str | None = None
    folder: str = ""
    version: int | None = None
    role: str = "article"  # or "source"
    depth: int = 0  # link hops from a tracked article
    kind: Kind | None = None  # the version's kind, when the check made one
    summary: str = ""  # what changed, in a few words

    def message_line(self) -> str:
        """The line of this version in the run's commit message."""
        role = " source" if self.role == "source" else ""
        detail = f" ({self.summary})" if self.kind != Kind.NEW and self.summary else ""
        return f"{self.kind}{role}: {self.url}{detail}"


# Called as each check is settled, with how many checks the run knows of so far: the sources found
# in the pages checked add to it as the run goes.
OnResult = Callable[[PageResult, int], None]


@dataclass
class RunSummary:
    started: datetime
    finished: datetime | None = None
    results: list[PageResult] = field(default_factory=list)
    commit: str | None = None
    warc: str | None = None
    checks: str | None = (
        None  # the WARC of the run's confirmations (revisits of the versions found unchanged)
    )
    confirmed: int = 0  # versions confirmed unchanged (a revisit record each)
    changed: bool = False  # the commit holds more than confirmations
    push_error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    extract_processes: int = 0  # the most worker processes extracting text at once
    # WARCs of an interrupted run, set aside first
    recovered: list[str] = field(default_factory=list)
    waiting: int = 0  # pages not due yet, in a run that checks what is due
    next_check: tuple[str, str] | None = None  # (when, URL) of the first of them to come due
    events: list[Event] = field(default_factory=list)  # what the run has to tell (events.py)
    notify: Delivery | None = None  # what its notifications came to, when any target is set
    timestamps: StampSummary | None = (
        None  # its trusted timestamps, when `evidence.tsa_urls` is set
    )

    def counts(self) -> dict[str, int]:
        counts = {str(outcome): 0 for outcome in Outcome}
        for result in self.results:
            counts[result.outcome] += 1
        return counts

    @property
    def versions(self) -> list[PageResult]:
        """The checks that made a version."""
        return [r for r in self.results if r.outcome in VERSION_OUTCOMES]

    @property
    def any_failed(self) -> bool:
        return any(r.outcome == Outcome.FAILED for r in self.results)

    def line(self) -> str:
        if not self.results and self.next_check:
            return self._nothing_due()
        quiet = (Outcome.GONE, Outcome.SKIPPED, Outcome.DEFERRED)
        shown = ", ".join(f"{n} {k}" for k, n in self.counts().items() if n or k not in quiet)
        sources = sum(r.role == "source" for r in self.results)
        listings = sum(r.role == "follow" for r in self.results)
        articles = len(self.results) - sources - listings
        said = [counted(articles, "article"), counted(sources, "source")]
        if listings:
            said.append(counted(listings, "followed listing"))
        scope = f" ({', '.join(said)})" if sources or listings else ""
        tail = f"; commit {self.commit[:10]}" if self.commit else "; no commit"
        return f"{len(self.results)} checked{scope}: {shown}{tail}"

    def notes(self) -> list[str]:
        """One line per kind of page skipped by policy: how many, the first, why, and the setting."""
        skipped = [r for r in self.results if r.outcome == Outcome.SKIPPED]
        lines = []
        for cause, fix in SKIP_FIXES:
            pages = [r for r in skipped if cause in (r.error or "")]
            if pages:
                more = f" (and {len(pages) - 1} more)" if len(pages) > 1 else ""
                lines.append(f"skipped {pages[0].url}: {pages[0].error}{more}; {fix}")
        return lines

    def _nothing_due(self) -> str:
        when, url = self.next_check or ("", "")
        due = datetime.fromisoformat(when).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        pages = "1 page waits" if self.waiting == 1 else f"{self.waiting} pages wait"
        tail = f"commit {self.commit[:10]}" if self.commit else "no commit"
        return (
            f"0 checked: nothing is due ({pages}; the first, {url}, at {due}); to check now, run "
            f"`archiver snapshot --all` or name the URL; {tail}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat() if self.finished else None,
            "counts": self.counts(),
            "commit": self.commit,
            "warc": self.warc,
            "checks": self.checks,
            "confirmed": self.confirmed,
            "push_error": self.push_error,
            "timings": self.timings,
            "extract_processes": self.extract_processes,
            "recovered": self.recovered,
            "waiting": self.waiting,
            "next_check": (
                {"due": self.next_check[0], "url": self.next_check[1]} if self.next_check else None
            ),
            "results": [asdict(r) for r in self.results],
            "events": [e.as_dict() for e in self.events],
            "notify": self.notify.as_dict() if self.notify else None,
            "timestamps": self.timestamps.as_dict() if self.timestamps else None,
        }
