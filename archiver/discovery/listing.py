"""What a feed, a sitemap or a front page lists: the types crossing the discovery boundary, the
guess of what a body is, and `read`, the one entry that reads it.

The run hands `read` a response body (de-chunked, content coding removed, cut at
`fetch.max_body_bytes`), its final URL and its Content-Type. `read` hands back a `Listing` of at
most MAX_ENTRIES article URLs, or raises `Unreadable` with one line saying why. Nothing here touches
the network or the archive. The readers (`feed.py`, `sitemap.py`, `frontpage.py`) say what they
found as `Candidate`s; this module checks them the same way for every kind: URLs resolved and
normalized, the ones that are not http(s) counted and dropped, the first of each URL kept,
include/exclude applied, dates made aware UTC, titles made printable and short.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from lxml import etree

from .. import untrusted
from ..capture.payload import CodingDamaged, inflate
from ..text import rules as textrules
from ..text.links import identity

MAX_ENTRIES = 50_000  # the sitemap protocol's own limit for one file
MAX_SITEMAPS = 1_000
MAX_TITLE = 300
DEFAULT_LIMIT = 50 * 1024 * 1024  # fetch.max_body_bytes by default; the run passes its setting
# A date further ahead of the clock than this is a server's mistake, not an article: time zones
# and skewed clocks explain hours, nothing explains more than a day.
FUTURE_SLACK = timedelta(days=1)
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/x-rss+xml",
        "application/x-atom+xml",
    }
)
FEED_ROOTS = frozenset({"rss", "RDF", "feed"})
SITEMAP_ROOTS = frozenset({"urlset", "sitemapindex"})
# A line of robots.txt: what tells one from a plain-text sitemap (a URL a line).
ROBOTS_LINE = re.compile(
    rb"^[ \t]*(?:user-agent|sitemap|disallow|allow|crawl-delay)[ \t]*:",
    re.IGNORECASE | re.MULTILINE,
)
BLANK = b"\xef\xbb\xbf \t\r\n"  # what may come before a document's first character: a BOM, space
# lxml's parser as every reader here uses it: no entity resolved (no expansion bomb, no file read
# through an external entity), no DTD or anything else loaded, no text node over 10 MB.
HARDENED: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
}
_GZIP = b"\x1f\x8b"
_HEAD = 64 * 1024  # what `detect` reads: the start of any feed or sitemap names its kind
_PIECE = 4096
_POSITION = re.compile(r", line \d+, column \d+$")
_YEAR_MONTH = re.compile(r"(\d{4})(?:-(\d{2}))?")  # W3C datetime's coarser forms: 2024, 2024-05


class Kind(StrEnum):
    FEED = "feed"
    SITEMAP = "sitemap"
    PAGE = "page"


class Unreadable(Exception):
    """The body lists nothing we can read; the message is one line saying why."""


@dataclass(frozen=True)
class Entry:
    url: str  # normalized with archiver.urls.normalize_url; http(s) only
    published: datetime | None  # aware UTC
    title: str | None  # printable, at most MAX_TITLE characters

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "published": self.published.isoformat() if self.published else None,
            "title": self.title,
        }


@dataclass
class Listing:
    kind: Kind
    entries: list[Entry]  # document order, first of each URL kept, at most MAX_ENTRIES
    sitemaps: list[str]  # an index's children or robots.txt's Sitemap: lines, at most MAX_SITEMAPS
    notes: list[str]  # one line each

    def line(self) -> str:
        said = [_count(len(self.entries), "entry", "entries")]
        if self.sitemaps:
            said.append(_count(len(self.sitemaps), "sitemap", "sitemaps"))
        return f"{self.kind}: {', '.join(said)}" + "".join(f"; {note}" for note in self.notes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "entries": [entry.as_dict() for entry in self.entries],
            "sitemaps": list(self.sitemaps),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Candidate:
    """An entry as a reader found it, before its URL and date are checked."""

    href: str  # as written: maybe relative, maybe not http(s), maybe empty
    published: datetime | None = None  # maybe naive, maybe in any zone
    title: str | None = None  # as written, maybe long
    bad_date: bool = False  # a date was given that could not be read


@dataclass
class Found:
    """What a reader found in a body."""

    candidates: list[Candidate] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)  # as written
    notes: list[str] = field(default_factory=list)
    sitemaps_cut: bool = False  # the reader stopped before the end of the sitemap list


Reader = Callable[[bytes, str, str | None], Found]


def detect(content_type: str | None, body: bytes) -> Kind:
    """What the body is, from its first bytes: the document's own root element, or JSON Feed's
    version, or robots.txt's lines, win over a Content-Type (servers label feeds text/html and
    pages application/rss+xml); the Content-Type decides when the bytes do not."""
    head = _head(body)
    mime = (content_type or "").partition(";")[0].strip().lower()
    start = head[:1024].lstrip(BLANK)[:1]
    if start in (b"{", b"[") and (
        mime == "application/feed+json" or b"jsonfeed.org/version" in head
    ):
        return Kind.FEED
    root = prolog(head).root
    if root in FEED_ROOTS:
        return Kind.FEED
    if root in SITEMAP_ROOTS:
        return Kind.SITEMAP
    if root is None and start not in (b"<", b"") and mime in ("", "text/plain"):
        first = head.lstrip(BLANK)[:8].lower()
        if first.startswith((b"http://", b"https://")) or ROBOTS_LINE.search(head):
            return Kind.SITEMAP  # robots.txt's Sitemap: lines, or a plain-text sitemap
    if root is None and mime in FEED_TYPES:
        return Kind.FEED  # broken XML said to be a feed: reading it says what is wrong
    return Kind.PAGE


def read(
    kind: Kind,
    body: bytes,
    url: str,
    content_type: str | None,
    include: re.Pattern[str] | None,
    exclude: re.Pattern[str] | None,
    *,
    limit: int = DEFAULT_LIMIT,
    now: datetime | None = None,
) -> Listing:
    """The listing in `body`, fetched from `url`; include/exclude are searched in each normalized
    URL. A gzip file (a sitemap.xml.gz) is inflated to at most `limit` bytes first. Raises
    Unreadable."""
    body, notes = _inflated(body, limit)
    if not body or body.isspace():
        raise Unreadable("empty body")
    found = _reader(kind)(body, url, content_type)
    notes += found.notes
    entries = _entries(found.candidates, url, include, exclude, now or datetime.now(UTC), notes)
    sitemaps = _sitemaps(found, url, notes)
    return Listing(kind, entries, sitemaps, notes)


def iso_date(text: str | None) -> datetime | None:
    """A W3C datetime or RFC 3339 date (a sitemap's lastmod, JSON Feed's date_published) as a
    datetime, naive when it names no zone; None when it is no such date."""
    text = (text or "").strip().upper()  # RFC 3339 allows "t" and "z"
    if not text or len(text) > 64:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    coarse = _YEAR_MONTH.fullmatch(text)
    try:
        return datetime(int(coarse[1]), int(coarse[2] or 1), 1) if coarse else None
    except ValueError:
        return None


def broken_xml(exc: etree.XMLSyntaxError) -> str:
    """The line that says where and why XML is not well-formed (libxml2's message without the
    position it repeats)."""
    message = " ".join(_POSITION.sub("", exc.msg or "").split())[:200]
    return f"broken XML at line {exc.lineno}: {message}"


def utc(when: datetime) -> datetime | None:
    """`when` in UTC; a naive one is taken as UTC (sitemaps give bare dates); None when it cannot
    be (year 1 minus an offset)."""
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _reader(kind: Kind) -> Reader:
    # Imported when their kind is read: feedparser and the HTML parser cost start-up time that a
    # run reading no listing of that kind need not pay, and the readers import this module.
    if kind is Kind.FEED:
        from . import feed

        return feed.read
    if kind is Kind.SITEMAP:
        from . import sitemap

        return sitemap.read
    from . import frontpage

    return frontpage.read


def _head(body: bytes) -> bytes:
    if not body.startswith(_GZIP):
        return body[:_HEAD]
    return next(inflate(iter([body[:_HEAD]]), "gzip", piece=_HEAD), b"")


@dataclass(frozen=True)
class Prolog:
    """What comes before an XML document's first element, and that element's name."""

    root: str | None  # its local name; None when no element starts before the XML breaks
    entities: bool  # its DOCTYPE declares entities


def prolog(data: bytes) -> Prolog:
    """Read `data` as XML up to its first element, hardened: no entity resolved, no DTD or
    network loaded."""
    parser = etree.XMLPullParser(events=("start",), **HARDENED)
    for at in range(0, len(data), _PIECE):
        broken = False
        try:
            parser.feed(data[at : at + _PIECE])
        except etree.XMLSyntaxError:
            broken = True
        for _event, element in parser.read_events():
            dtd = element.getroottree().docinfo.internalDTD
            declared = dtd is not None and next(iter(dtd.iterentities()), None) is not None
            return Prolog(etree.QName(element).localname, declared)
        if broken:
            break
    return Prolog(None, False)


def _inflated(body: bytes, limit: int) -> tuple[bytes, list[str]]:
    """The body, inflated if it is a gzip file: at most `limit` bytes, so that a gzip bomb costs
    no more than a body as large as the limit."""
    if not body.startswith(_GZIP):
        return body, []
    pieces: list[bytes] = []
    size = 0
    notes = []
    try:
        for piece in inflate(iter([body]), "gzip", whole=True):
            pieces.append(piece[: limit - size])
            size += len(piece)
            if size > limit:
                notes.append(f"gzip file cut at {limit:,} bytes inflated")
                break
    except CodingDamaged as exc:
        notes.append(f"gzip file damaged: {exc}")
    return b"".join(pieces), notes


def _entries(
    candidates: list[Candidate],
    url: str,
    include: re.Pattern[str] | None,
    exclude: re.Pattern[str] | None,
    now: datetime,
    notes: list[str],
) -> list[Entry]:
    kept: dict[str, Entry] = {}
    tally: Counter[str] = Counter()
    for found in candidates:
        normalized = untrusted.resolved(url, found.href) if found.href.strip() else None
        if normalized is None:
            tally["no link" if not found.href.strip() else "not http(s)"] += 1
            continue
        if (include and not include.search(normalized)) or (exclude and exclude.search(normalized)):
            tally["filtered"] += 1
            continue
        title = _title(found.title)
        if normalized in kept:
            if kept[normalized].title is None and title:  # an image's link, then the headline's
                kept[normalized] = replace(kept[normalized], title=title)
            continue
        if len(kept) == MAX_ENTRIES:
            notes.append(f"cut at {MAX_ENTRIES:,} entries")
            break
        kept[normalized] = Entry(normalized, _published(found, now, tally), title)
    notes.extend(_tally_notes(tally))
    return list(kept.values())


def _published(found: Candidate, now: datetime, tally: Counter[str]) -> datetime | None:
    when = utc(found.published) if found.published else None
    if when is None and (found.bad_date or found.published):
        tally["unreadable"] += 1
    elif when is not None and when > now + FUTURE_SLACK:
        tally["in the future"] += 1
        return None
    return when


def _title(text: str | None) -> str | None:
    if not text:
        return None
    # Cut before cleaning, so that a megabyte of title costs no more than a long one.
    title = textrules.clean(untrusted.printable(text[: MAX_TITLE * 8]))
    if len(title) > MAX_TITLE:
        title = title[: MAX_TITLE - 1].rstrip() + "…"
    return title or None


def _tally_notes(tally: Counter[str]) -> list[str]:
    notes = []
    for reason in ("not http(s)", "no link"):
        if tally[reason]:
            notes.append(f"{_count(tally[reason], 'entry', 'entries')} skipped: {reason}")
    if tally["filtered"]:
        notes.append(f"{_count(tally['filtered'], 'entry', 'entries')} left out by include/exclude")
    for reason in ("unreadable", "in the future"):
        if tally[reason]:
            notes.append(f"{_count(tally[reason], 'date', 'dates')} ignored: {reason}")
    return notes


def _sitemaps(found: Found, url: str, notes: list[str]) -> list[str]:
    own = identity(url)
    kept: list[str] = []
    seen = set()
    skipped = itself = 0
    cut = found.sitemaps_cut
    for href in found.sitemaps:
        normalized = untrusted.resolved(url, href) if href.strip() else None
        if normalized is None:
            skipped += 1
        elif normalized == own:
            itself += 1  # an index naming itself would have the run fetch it again and again
        elif normalized not in seen:
            if len(kept) == MAX_SITEMAPS:
                cut = True
                break
            seen.add(normalized)
            kept.append(normalized)
    if cut:
        notes.append(f"cut at {MAX_SITEMAPS:,} sitemaps")
    if skipped:
        notes.append(f"{_count(skipped, 'sitemap', 'sitemaps')} skipped: not http(s)")
    if itself:
        notes.append("its own URL left out of its sitemaps")
    return kept


def _count(number: int, one: str, many: str) -> str:
    return f"{number:,} {one if number == 1 else many}"
