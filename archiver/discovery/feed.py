"""Feeds: RSS 0.9x, 1.0 and 2.0 and Atom read with feedparser, JSON Feed with `json`.

feedparser reads links, dates and titles the way feed readers have for twenty years, but it costs
about 0.6 ms an entry (a minute for a feed of 100,000), and its lenient parser expands the entities
a DOCTYPE declares without bound. So lxml reads the feed first, hardened (no entity resolved, no
DTD or network loaded, no huge text node): a DOCTYPE that declares entities is refused, and a
well-formed feed reaches feedparser re-serialized, without its DOCTYPE, cut at MAX_FEED_ENTRIES
entries. A feed lxml finds broken (an undeclared `&nbsp;`, a bare `&` in a link: both common)
reaches feedparser's lenient parser as it came, at most LENIENT_BYTES of it.

JSON Feed is plain JSON, read with `json` (feedparser 6 does not read it).
"""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime
from typing import Any

import feedparser
from lxml import etree, html

from .listing import BLANK, FEED_ROOTS, Candidate, Found, Unreadable, iso_date

# Feeds carry tens of entries, archives of a site a few thousand; past that, reading them with
# feedparser would take seconds per poll for entries a frequent poll has already seen.
MAX_FEED_ENTRIES = 5_000
# Elements read before the cut, whatever they are: an entry of a million empty elements costs
# memory as a million entries would.
MAX_ELEMENTS = 500_000
LENIENT_BYTES = 2 * 1024 * 1024  # a broken feed read leniently: seconds at most
MAX_JSON_BYTES = 8 * 1024 * 1024  # parsed whole into Python objects, ten times its size
_MIB = 1024 * 1024
_ENTRIES = frozenset({"item", "entry"})
_TITLE_SOURCE = 4096  # markup read to find a title's text, which is cut at 300 characters


def read(body: bytes, url: str, content_type: str | None) -> Found:
    if body[:1024].lstrip(BLANK)[:1] in (b"{", b"["):
        return _json_feed(body)
    try:
        document, notes = _trimmed(body)
        broken = None
        media_type = "application/xml; charset=utf-8"  # as serialized
    except etree.XMLSyntaxError as exc:
        broken = f"broken XML at line {exc.lineno}: {(exc.msg or '').strip()[:200]}"
        document, notes = _lenient(body, broken)
        media_type = content_type or "application/xml"
    parsed = feedparser.parse(
        io.BytesIO(document),
        response_headers={"content-location": url, "content-type": media_type},
        resolve_relative_uris=False,  # the links inside entries' HTML, which we do not read
        sanitize_html=False,  # titles are made plain text here
    )
    entries = parsed.get("entries") or []
    if not entries and (broken or not parsed.get("version")):
        reason = " ".join(str(broken or parsed.get("bozo_exception") or "no feed in it").split())
        raise Unreadable(reason if parsed.get("version") else f"not a feed: {reason[:200]}")
    if len(entries) > MAX_FEED_ENTRIES:
        notes.append(f"cut at {MAX_FEED_ENTRIES:,} entries")
    return Found([_candidate(entry) for entry in entries[:MAX_FEED_ENTRIES]], notes=notes)


def _trimmed(body: bytes) -> tuple[bytes, list[str]]:
    """The feed as lxml reads it, serialized again: no DOCTYPE, at most MAX_FEED_ENTRIES entries
    and MAX_ELEMENTS elements. Raises XMLSyntaxError for XML that is not well-formed."""
    events = etree.iterparse(
        io.BytesIO(body),
        events=("start",),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    root: etree._Element | None = None
    entries = 0
    for elements, (_event, element) in enumerate(events, 1):
        if root is None:
            root = _checked_root(element)
        if etree.QName(element).localname in _ENTRIES:
            entries += 1
        if entries > MAX_FEED_ENTRIES or elements > MAX_ELEMENTS:
            _drop_from(element)
            cut = f"{MAX_FEED_ENTRIES:,} entries" if entries > MAX_FEED_ENTRIES else None
            note = f"cut at {cut or f'{MAX_ELEMENTS:,} XML elements'}"
            return etree.tostring(root, encoding="utf-8", xml_declaration=True), [note]
    assert root is not None  # iterparse raises XMLSyntaxError on a document without an element
    return etree.tostring(root, encoding="utf-8", xml_declaration=True), []


def _checked_root(root: etree._Element) -> etree._Element:
    name = etree.QName(root).localname
    if name not in FEED_ROOTS:
        raise Unreadable(f"not a feed: its root element is <{name[:40]}>")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and next(iter(dtd.iterentities()), None) is not None:
        raise Unreadable("entity declarations are refused")
    return root


def _drop_from(element: etree._Element) -> None:
    """Remove `element` and the siblings after it: the parser reads ahead of the events, so what
    follows the first entry past the cut may be in the tree already."""
    parent = element.getparent()
    dropped: etree._Element | None = element
    while dropped is not None and parent is not None:
        following = dropped.getnext()
        parent.remove(dropped)
        dropped = following


def _lenient(body: bytes, broken: str) -> tuple[bytes, list[str]]:
    document = body[:LENIENT_BYTES]
    # feedparser keeps the "safe" entity declarations (text without references) and its lenient
    # parser expands every use of them: a 1 MB entity used a million times.
    if b"<!ENTITY" in document:
        raise Unreadable("entity declarations are refused")
    said = f"its first {LENIENT_BYTES // _MIB} MiB " if len(body) > LENIENT_BYTES else ""
    return document, [f"{broken}; {said}read leniently"]


def _candidate(entry: Any) -> Candidate:
    said = entry.get("published") or entry.get("updated")
    published = _from_struct(entry.get("published_parsed") or entry.get("updated_parsed"))
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
