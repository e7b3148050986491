"""A poll of a followed feed, sitemap or front page: its body read in an extraction worker process,
the listing kept as a page's text (so that its history shows what was listed and unlisted, when),
and the new articles chosen from it.

The run fetches a follow like any page (politeness, robots.txt, the address guard, deadlines, a
WARC record); only the reading differs: `listing` replaces the article extractor, under the same
CPU and memory limits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..capture import payload
from ..text.extract import Body
from ..text.links import Link
from ..text.normalize import Block, Document
from ..text.worker import Refused
from .listing import Entry, Kind, Listing, Unreadable, detect, read

DEFAULT_MAX_NEW = 20  # new articles tracked from one poll, when the follow does not say
MAX_NESTING = 2  # robots.txt → a sitemap index → its sitemaps
MAX_CHILDREN = 50  # sitemaps of an index taken in one poll (known ones come again when due)


@dataclass(frozen=True)
class Spec:
    """What reading a follow's body needs of it (picklable, for worker processes)."""

    kind: str | None  # None: detected from the body
    include: str | None
    exclude: str | None
    limit: int  # fetch.max_decoded_bytes: a gzip sitemap is inflated to at most this


def listing(body: Body, spec: Spec) -> Listing:
    """The listing in a spooled body (its content coding removed); Refused, with the reason in one
    line, if it lists nothing we can read."""
    try:
        data, _ = payload.decode_content(
            body.path, body.content_encoding, spec.limit, whole=not body.truncated
        )
    except payload.CodingDamaged as exc:
        raise Refused(f"the {body.content_encoding} body is {exc}: not the whole listing") from None
    kind = Kind(spec.kind) if spec.kind else detect(body.content_type_header, data)
    try:
        return read(
            kind,
            data,
            body.url,
            body.content_type_header,
            _pattern(spec.include),
            _pattern(spec.exclude),
            limit=spec.limit,
            now=body.captured,
        )
    except Unreadable as exc:
        raise Refused(str(exc)) from None


def _pattern(text: str | None) -> re.Pattern[str] | None:
    return re.compile(text) if text else None


def document(found: Listing, url: str) -> Document:
    """The listing as a page's text: one line an entry (URL, title, date), then one a sitemap it
    names; its links are the entries."""
    blocks = [Block("item", [_entry_line(entry)]) for entry in found.entries]
    blocks += [Block("item", [f"sitemap {child}"]) for child in found.sitemaps]
    links = [Link(url=entry.url, text=entry.title or "", href=entry.url) for entry in found.entries]
    return Document(title=f"{found.kind.capitalize()} {url}", blocks=blocks, links=links)


def _entry_line(entry: Entry) -> str:
    parts = [entry.url]
    if entry.title:
        parts.append(entry.title)
    if entry.published:
        parts.append(entry.published.isoformat())
    return " · ".join(parts)


def new_articles(
    found: Listing,
    fresh: set[str],
    tracked: set[str],
    since_days: int | None,
    max_new: int | None,
    now: datetime,
) -> list[str]:
    """The entries to track: `fresh` (listed now, not in the last listing), not tracked yet, dated
    within `since_days` (undated ones pass: a front page dates nothing), newest first, at most
    `max_new`."""
    cutoff = now - timedelta(days=since_days) if since_days else None
    chosen = [
        entry
        for entry in found.entries
        if entry.url in fresh
        and entry.url not in tracked
        and not (cutoff and entry.published and entry.published < cutoff)
    ]
    # Stable: undated entries keep the listing's order, after the dated ones.
    chosen.sort(key=lambda e: (e.published is None, -e.published.timestamp() if e.published else 0))
    return [entry.url for entry in chosen[: max_new or DEFAULT_MAX_NEW]]
