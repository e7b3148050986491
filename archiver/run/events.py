"""What a run has to tell: its events (`Event`), derived after the run from its results and the
versions' files, for the notifications (`notify/`) and the change feed (`run/feed.py`).

One event per version made (its kind: `new`, `edited`, …), and besides: `citation-removed` (an
article's new version no longer links a source the previous one linked), `source-gone` (a cited page
went, moved or was edited), `unannounced-edit` (an edit whose meta.json says the page did not announce
it) and `follow-error` (a followed page whose check failed). The first changed sentences come from
the comparison the history commands use (`history/compare.py`), never from a second differ.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..config import EventKind
from ..history.announcement import unannounced_edit
from ..history.compare import compare, parse_links, sentence_pairs
from ..storage.meta import GONE_KINDS, Kind, PageMeta
from ..storage.meta import load as load_meta
from ..storage.state import Outcome
from ..storage.store import ARTICLE, LINKS, META, PageFiles, Store
from .results import PageResult

PAIRS = 3  # before → after sentence pairs an event carries
SENTENCE = 300  # characters of a sentence kept in an event
# A source's version of these kinds takes from what the articles citing it rest on.
SOURCE_CHANGES = (Kind.GONE, Kind.SOFT_404, Kind.MOVED, Kind.EDITED)
VERSION_KINDS = frozenset(Kind)


@dataclass
class Event:
    kind: str  # an `EventKind` value
    url: str
    title: str
    outlet: str  # the page's host
    role: str  # "article", "source" or "follow"
    version: int | None  # the version it is about (None: a failed check)
    summary: str  # one line: what happened
    pairs: list[tuple[str, str]] = field(default_factory=list)  # before → after ("" for none)
    report: str = ""  # where the full report is: a command, or a URL under `report_base_url`
    captured_at: str = ""
    changed_sentences: int = 0  # of an edit: sentences added, removed and changed
    cited_by: list[str] = field(default_factory=list)
    commit: str | None = None

    @property
    def is_version(self) -> bool:
        return self.kind in VERSION_KINDS

    @property
    def entry_id(self) -> str:
        """The version's identity in the change feed: the same in every run that lists it."""
        digest = hashlib.sha256(self.url.encode("utf-8")).hexdigest()
        return f"urn:archiver:{digest}:v{self.version}"

    @property
    def headline(self) -> str:
        return self.title or self.url

    def line(self) -> str:
        role = " source" if self.role == "source" else ""
        return f"{self.kind}{role}: {self.headline} ({self.outlet}): {self.summary}"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["pairs"] = [{"before": b, "after": a} for b, a in self.pairs]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """An event as `as_dict` gave it (a queued message read back)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["pairs"] = [(p["before"], p["after"]) for p in data.get("pairs", [])]
        return cls(**known)


@dataclass(frozen=True)
class Before:
    """A page's files as the last commit holds them (the version before the run's)."""

    meta: PageMeta | None
    article: str | None
    links: str | None


def before(store: Store, folders: list[str]) -> dict[str, Before]:
    """The committed files of each of `folders`, read before the run commits, in one git call."""
    names = [f"{folder}/{name}" for folder in folders for name in (META, ARTICLE, LINKS)]
    contents = store.read_all_at("HEAD", names)
    found = {}
    for i, folder in enumerate(folders):
        meta, article, links = contents[3 * i : 3 * i + 3]
        try:
            parsed = load_meta(meta) if meta is not None else None
        except ValueError:
            parsed = None
        found[folder] = Before(parsed, article, links)
    return found


def derive(
    results: Iterable[PageResult],
    pages: dict[str, PageFiles],
    previous: dict[str, Before],
    report_base_url: str = "",
) -> list[Event]:
    """The events of a run: `pages` are the versions' files by URL, `previous` the last commit's by
    folder."""
    events: list[Event] = []
    for result in results:
        if result.role == "follow":  # a listing's versions are in its own history, not news
            if result.outcome == Outcome.FAILED:
                events.append(_follow_error(result))
            continue
        page = pages.get(result.url)
        if result.kind is None or result.version is None or page is None:
            continue
        old = previous.get(result.folder, Before(None, None, None))
        event = _version_event(result, page, old, report_base_url)
        events.append(event)
        events.extend(_consequences(event, result, page, old))
    return events


def _version_event(result: PageResult, page: PageFiles, old: Before, base: str) -> Event:
    meta = page.meta
    changes = meta.get("changes", {})
    pairs = (
        first_pairs(old.article, page.article)
        if result.kind in (Kind.EDITED, Kind.MOVED) or (result.kind in GONE_KINDS and old.article)
        else []
    )
    title = result.title or meta.get("title") or (old.meta or {}).get("title") or ""
    return Event(
        kind=str(result.kind),
        url=result.url,
        title=title,
        outlet=urlsplit(result.url).hostname or "",
        role=result.role,
        version=result.version,
        summary=result.summary or meta.get("summary", "") or str(result.kind),
        pairs=pairs,
        report=report_location(result.url, result.folder, result.version, base),
        captured_at=meta.get("captured_at", ""),
        changed_sentences=sum(
            changes.get(k, 0) for k in ("sentences_added", "sentences_removed", "sentences_changed")
        ),
        cited_by=sorted(set(meta.get("cited_by", [])) | set((old.meta or {}).get("cited_by", []))),
    )


def _consequences(event: Event, result: PageResult, page: PageFiles, old: Before) -> list[Event]:
    """The events a version brings besides its own."""
    found = []
    if unannounced_edit(page.meta, old.meta):
        found.append(_also(event, EventKind.UNANNOUNCED_EDIT, f"{event.summary}, unannounced"))
    if result.role == "source" and result.kind in SOURCE_CHANGES:
        citing = event.cited_by
        names = ", ".join(citing[:3]) + (f" and {len(citing) - 3} more" if len(citing) > 3 else "")
        found.append(
            _also(event, EventKind.SOURCE_GONE, f"{result.kind}; cited by {names or 'no article'}")
        )
    if result.role != "source" and page.article is not None and old.links:
        now = {url for url, _ in parse_links(page.links)}
        removed = [(url, text) for url, text in parse_links(old.links) if url not in now]
        if removed:
            gone = _also(event, EventKind.CITATION_REMOVED, _removed_summary(removed))
            gone.pairs = [(f"{url} ({text})" if text else url, "") for url, text in removed[:PAIRS]]
            found.append(gone)
    return found


def _removed_summary(removed: list[tuple[str, str]]) -> str:
    more = f" and {len(removed) - 1} more" if len(removed) > 1 else ""
    return f"no longer links {removed[0][0]}{more}"


def _also(event: Event, kind: EventKind, summary: str) -> Event:
    return Event(
        kind=str(kind),
        url=event.url,
        title=event.title,
        outlet=event.outlet,
        role=event.role,
        version=event.version,
        summary=summary,
        pairs=list(event.pairs),
        report=event.report,
        captured_at=event.captured_at,
        changed_sentences=event.changed_sentences,
        cited_by=list(event.cited_by),
    )


def _follow_error(result: PageResult) -> Event:
    return Event(
        kind=str(EventKind.FOLLOW_ERROR),
        url=result.url,
        title=result.title,
        outlet=urlsplit(result.url).hostname or "",
        role=result.role,
        version=None,
        summary=result.error or "the check failed",
    )


def first_pairs(
    old_text: str | None, new_text: str | None, limit: int = PAIRS
) -> list[tuple[str, str]]:
    """The first changed sentences, each as (before, after); "" for a sentence added or removed."""
    comparison = compare(old_text, new_text)
    pairs: list[tuple[str, str]] = []
    if comparison.headline:
        pairs.append(comparison.headline)
    for change in comparison.body:
        for old, new in sentence_pairs(change.old, change.new):
            pairs.append((_cut(old or ""), _cut(new or "")))
            if len(pairs) >= limit:
                return pairs[:limit]
    return pairs[:limit]


def _cut(sentence: str) -> str:
    return sentence if len(sentence) <= SENTENCE else sentence[: SENTENCE - 1] + "…"


def report_location(url: str, folder: str, version: int | None, base: str = "") -> str:
    """Where the full report of a version is: the page's folder under `base` when the archive is
    published there, else the command that writes it."""
    if base:
        return f"{base}/{folder}/"
    versions = f" {version - 1} {version}" if version is not None and version > 1 else ""
    return f"archiver report {shlex.quote(url)}{versions} -o report.html"
