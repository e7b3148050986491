"""Feeds: RSS 0.9x, 1.0 and 2.0 and Atom read with feedparser, JSON Feed with `json`.

feedparser reads links, dates and titles the way feed readers have for twenty years, but it costs
about 0.3 ms an entry and 30 µs an element (a minute for a feed of 100,000 entries), and its
lenient parser expands the entities a DOCTYPE declares without bound. So lxml reads the feed first,
hardened (`listing.HARDENED`): a DOCTYPE that declares entities is refused, and a well-formed
feed reaches feedparser as lxml serializes the tree of its first MAX_FEED_ENTRIES entries and
MAX_ELEMENTS elements (UTF-8, no DOCTYPE: nothing after the cut is ever built). A feed lxml finds
broken (an undeclared `&nbsp;`, a bare `&` in a link: both common) reaches feedparser's lenient
parser as it came, up to LENIENT_BYTES and LENIENT_TAGS.

JSON Feed is plain JSON, read with `json` (feedparser 6 does not read it).
"""

from __future__ import annotations

import io
import itertools
import json
import re
import time
from datetime import UTC, datetime
from typing import Any, cast

import feedparser
from lxml import etree, html

from .. import untrusted
from .listing import (
    BLANK,
    FEED_ROOTS,
    HARDENED,
    Candidate,
    Found,
    Unreadable,
    broken_xml,
    iso_date,
    prolog,
)

# Feeds carry tens of entries, archives of a site a few thousand; past that, reading them with
# feedparser would take seconds per poll for entries a frequent poll has already seen.
MAX_FEED_ENTRIES = 5_000
# Elements read before the cut, whatever they are: feedparser takes 30 µs for each, an empty
# element as much as a title.
MAX_ELEMENTS = 100_000
# A broken feed is read leniently up to a bound of bytes (50 entries with their full text) and of
# tags (feedparser's lenient parser takes 40 µs for each).
LENIENT_BYTES = 1024 * 1024
LENIENT_TAGS = 50_000
_TAG = re.compile(rb"<")
MAX_JSON_BYTES = 8 * 1024 * 1024  # parsed whole into Python objects, ten times its size
_MIB = 1024 * 1024
_ENTRIES = frozenset({"item", "entry"})
# What an entry says at length, none of which a listing reads: RSS's description and
# content:encoded, Atom's summary and content (and Media RSS's media:content, which is empty).
_BULK = frozenset({"description", "encoded", "summary", "content"})
_MAX_TEXT = 16 * 1024  # a title or a link is shorter; a listing keeps 300 characters of a title
# feedparser's time grows with the square of an element's attributes (a second for 8,000); a feed's
# elements have a handful. In a broken feed, a tag this long ends what is read of it.
_MAX_ATTRIBUTES = 64
_LONG_TAG = re.compile(rb"<[^<>]{16384}")
_PIECE = 64 * 1024
_TITLE_SOURCE = 4096  # markup read to find a title's text, which is cut at 300 characters


def read(body: bytes, url: str, content_type: str | None) -> Found:
    mime = (content_type or "").partition(";")[0].strip().lower()
    if body[:1024].lstrip(BLANK)[:1] in (b"{", b"[") or mime.endswith(("/json", "+json")):
        return _json_feed(body)
    start = prolog(body)
    if start.entities:
        raise Unreadable("entity declarations are refused")
    if start.root is not None and start.root not in FEED_ROOTS:
        raise Unreadable(f"not a feed: its root element is <{start.root[:40]}>")
    try:
        document, notes = _bounded(body)
        broken = None
        media_type = "application/xml; charset=utf-8"  # as lxml serialized it
    except etree.XMLSyntaxError as exc:
        broken = broken_xml(exc)
        document, notes = _lenient(body, broken)
        media_type = content_type or "text/xml"
    parsed = feedparser.parse(
        io.BytesIO(document),
        response_headers={"content-location": url, "content-type": media_type},
        resolve_relative_uris=False,  # the links inside entries' HTML, which we do not read
        sanitize_html=False,  # titles are made plain text here
    )
    entries = parsed.get("entries") or []
    if not entries and not parsed.get("version"):
        raise Unreadable(f"not a feed: {broken or _one_line(parsed.get('bozo_exception'))}")
    if not entries and broken:
        raise Unreadable(broken)
    if parsed.get("bozo") and not broken:
        notes.append(f"feedparser read it leniently: {_one_line(parsed.get('bozo_exception'))}")
    if len(entries) > MAX_FEED_ENTRIES:
        notes.append(f"cut at {MAX_FEED_ENTRIES:,} entries")
    return Found([_candidate(entry) for entry in entries[:MAX_FEED_ENTRIES]], notes=notes)


def _bounded(body: bytes) -> tuple[bytes, list[str]]:
    """The feed as lxml reads it, serialized again: its first MAX_FEED_ENTRIES entries and
    MAX_ELEMENTS elements, UTF-8, no DOCTYPE. Raises XMLSyntaxError for XML that is not
    well-formed before the cut."""
    trimmer = _Trimmer()
    parser = etree.XMLParser(
        target=cast("etree.ParserTarget[None]", trimmer),  # the protocol exists only in the stubs
        **HARDENED,
    )
    notes = []
    for at in range(0, len(body), _PIECE):
        parser.feed(body[at : at + _PIECE])
        if trimmer.cut:
            notes.append(f"cut at {trimmer.cut}")
            break
    else:
        parser.close()
    return etree.tostring(trimmer.tree(), encoding="utf-8", xml_declaration=True), notes


class _Trimmer:
    """Parser events to a tree of the feed, up to the cut: nothing after it is built. The entries'
    text (description, summary, content: most of a feed's bytes, and nothing a listing reads) is
    left out, and no other text node runs past _MAX_TEXT."""

    def __init__(self) -> None:
        self.cut: str | None = None
        self._builder = etree.TreeBuilder()
        self._open: list[str] = []
        self._entries = self._elements = 0
        self._skipped = 0  # depth inside an element left out
        self._text = 0  # characters of the current text node

    def start(self, tag: str, attributes: Any, namespaces: Any = None) -> None:
        if self.cut:
            return
        self._elements += 1
        name = etree.QName(tag).localname
        if name in _ENTRIES:
            self._entries += 1
        if self._entries > MAX_FEED_ENTRIES:
            self.cut = f"{MAX_FEED_ENTRIES:,} entries"
        elif self._elements > MAX_ELEMENTS:
            self.cut = f"{MAX_ELEMENTS:,} XML elements"
        elif self._skipped or name in _BULK:
            self._skipped += 1
        else:
            # The prefixes declared here, kept as written ('' is the default namespace's); the
            # stubs leave out this argument of lxml's TreeBuilder.
            declared = {prefix or None: uri for prefix, uri in (namespaces or {}).items()}
            kept = dict(itertools.islice(attributes.items(), _MAX_ATTRIBUTES))
            self._builder.start(tag, kept, declared)  # type: ignore[call-arg]
            self._open.append(tag)
        self._text = 0

    def end(self, tag: str) -> None:
        if self.cut:
            return
        if self._skipped:
            self._skipped -= 1
        else:
            self._builder.end(tag)
            self._open.pop()
        self._text = 0

    def data(self, text: str) -> None:
        if not (self.cut or self._skipped) and self._text < _MAX_TEXT:
            self._builder.data(text[: _MAX_TEXT - self._text])
            self._text += len(text)

    def close(self) -> None:
        return None

    def tree(self) -> etree._Element:
        """The tree built before the cut, its open elements closed."""
        for tag in reversed(self._open):
            self._builder.end(tag)
        return self._builder.close()


def _lenient(body: bytes, broken: str) -> tuple[bytes, list[str]]:
    """What of a broken feed feedparser's lenient parser reads: at most LENIENT_BYTES and
    LENIENT_TAGS tags of it, up to a tag too long to be anything but an attack."""
    document = body[:LENIENT_BYTES]
    # feedparser keeps the "safe" entity declarations (text without references) and its lenient
    # parser expands every use of them: a 1 MB entity used a million times.
    if b"<!ENTITY" in document:
        raise Unreadable("entity declarations are refused")
    past = next(itertools.islice(_TAG.finditer(document), LENIENT_TAGS, None), None)
    long_tag = _LONG_TAG.search(document)
    for end in (past, long_tag):
        if end is not None:
            document = document[: end.start()]
    said = f", its first {len(document):,} bytes" if len(document) < len(body) else ""
    return document, [f"{broken}; read leniently{said}"]


def _one_line(reason: object) -> str:
    return " ".join(str(reason or "no feed in it").split())[:200]


def _candidate(entry: Any) -> Candidate:
    # dict.get: feedparser's own get maps a missing "updated" to "published", with a warning
    said = dict.get(entry, "published") or dict.get(entry, "updated")
    published = _from_struct(
        dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
    )
    if published is None and isinstance(said, str):
        # An RFC 822 date without its zone (taken as UTC), or a W3C date in an element whose prefix
        # was never declared (lxml drops the prefix, and feedparser reads it as text).
        published = untrusted.http_date(said) or iso_date(said)
    link = entry.get("link")
    return Candidate(
        href=link if isinstance(link, str) else "",
        published=published,
        title=_title(entry),
        bad_date=bool(said) and published is None,
    )


def _from_struct(stamp: time.struct_time | None) -> datetime | None:
    """feedparser's date (a struct_time in UTC) as an aware datetime."""
    if stamp is None:
        return None
    try:
        return datetime(*stamp[:5], min(stamp[5], 59), tzinfo=UTC)  # a leap second is :59
    except (TypeError, ValueError, OverflowError):
        return None


def _title(entry: Any) -> str | None:
    title = entry.get("title")
    if not isinstance(title, str) or not title.strip():
        return None
    kind = (entry.get("title_detail") or {}).get("type") or ""
    return _text_of(title[:_TITLE_SOURCE]) if "html" in kind else title


def _text_of(markup: str) -> str:
    try:
        return str(html.fragment_fromstring(markup, create_parent="div").text_content())
    except (etree.ParserError, ValueError):
        return markup


def _json_feed(body: bytes) -> Found:
    if len(body) > MAX_JSON_BYTES:
        raise Unreadable(f"a JSON Feed larger than {MAX_JSON_BYTES // _MIB} MiB is refused")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise Unreadable(f"broken JSON: {str(exc)[:200]}") from None
    if not isinstance(data, dict):
        raise Unreadable(f"not a feed: a JSON Feed is an object, not {_json_type(data)}")
    items = data.get("items")
    if not isinstance(items, list):
        raise Unreadable("not a feed: a JSON Feed has a list of items")
    notes = [f"cut at {MAX_FEED_ENTRIES:,} entries"] if len(items) > MAX_FEED_ENTRIES else []
    return Found([_json_item(item) for item in items[:MAX_FEED_ENTRIES]], notes=notes)


def _json_item(item: object) -> Candidate:
    if not isinstance(item, dict):
        return Candidate("")  # counted as an entry without a link
    href = _string(item.get("url")) or _string(item.get("external_url"))
    said = _string(item.get("date_published")) or _string(item.get("date_modified"))
    published = iso_date(said)
    return Candidate(
        href, published, _string(item.get("title")), bad_date=bool(said) and not published
    )


def _string(value: object) -> str:
    return value if isinstance(value, str) else ""


def _json_type(value: object) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
