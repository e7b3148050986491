"""Sitemaps: url sets, sitemap indexes, Google News sitemaps, plain-text sitemaps, and the Sitemap:
lines of robots.txt.

XML is read by lxml's parser, hardened (no entity resolved, no DTD or network loaded, no huge text
node), feeding a target that keeps only what a listing needs: each `<url>`'s loc, lastmod and
news:publication_date and news:title, each `<sitemap>`'s loc. No tree is built, so memory stays
that of the entries kept, and reading stops at MAX_ENTRIES (the protocol's own limit), so a 50 MB
sitemap costs the time of its first 50,000 entries. A DOCTYPE is refused: the protocol has none,
and it is where entities are declared. ultimate-sitemap-parser reads strings too, but keeps every
entry of a file however many, pickles them to a temporary file, and lets a year too large for a C
long escape as OverflowError.

robots.txt is read by Protego, as `capture/robots.py` reads it for the fetch policy.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, cast

from lxml import etree
from protego import Protego

from .listing import (
    BLANK,
    HARDENED,
    MAX_ENTRIES,
    MAX_SITEMAPS,
    ROBOTS_LINE,
    SITEMAP_ROOTS,
    Candidate,
    Found,
    Unreadable,
    broken_xml,
    iso_date,
)

ROBOTS_BYTES = 500 * 1024  # what Google reads of a robots.txt; the rest is ignored
# Elements read, whatever they are: a news sitemap's entry has ten or so, one with images a few
# dozen, and 50 MB of empty elements would otherwise take half a minute to read.
MAX_ELEMENTS = 40 * MAX_ENTRIES
MAX_DEPTH = 32  # a sitemap is four elements deep, a news sitemap five
_PIECE = 64 * 1024
_MAX_TEXT = 8192  # longer than any URL normalize_url accepts or any date or title worth keeping
_LINE = re.compile(rb"[^\r\n]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_FIELDS = {"url": ("loc", "lastmod"), "sitemap": ("loc",), "news": ("publication_date", "title")}


class _Refused(Exception):
    pass


def read(body: bytes, url: str, content_type: str | None) -> Found:
    if body[:1024].lstrip(BLANK)[:1] == b"<" or body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _xml(body)  # UTF-16 XML starts with its byte order mark
    if ROBOTS_LINE.search(body[:ROBOTS_BYTES]):
        return _robots(body)
    return _plain(body)


def _xml(body: bytes) -> Found:
    target = _Target()
    parser = etree.XMLParser(
        target=cast("etree.ParserTarget[None]", target),  # the protocol exists only in the stubs
        **HARDENED,
    )
    try:
        for at in range(0, len(body), _PIECE):
            parser.feed(body[at : at + _PIECE])
            if target.full:
                break
        else:
            parser.close()
    except _Refused as exc:
        raise Unreadable(str(exc)) from None
    except etree.XMLSyntaxError as exc:
        broken = broken_xml(exc)
        if not (target.found.candidates or target.found.sitemaps):
            raise Unreadable(broken) from None
        target.found.notes.append(f"{broken}; kept what came before it")
    return target.found


class _Target:
    """Parser events to what a listing needs, and nothing else kept: the text of the one element
    being read, the fields of the one entry being read, the entries found."""

    def __init__(self) -> None:
        self.found = Found()
        self.full = False  # reading can stop: MAX_ENTRIES entries or enough sitemaps found
        self._path: list[str] = []  # local names of the open elements
        self._elements = 0
        self._text: list[str] = []
        self._size = 0
        self._fields: dict[str, str] = {}

    def doctype(self, *_declared: Any) -> None:
        raise _Refused("a DOCTYPE is refused in a sitemap: it is where entities are declared")

    def start(self, tag: str, _attributes: Any) -> None:
        name = etree.QName(tag).localname
        if not self._path and name not in SITEMAP_ROOTS:
            raise _Refused(f"not a sitemap: its root element is <{name[:40]}>")
        if len(self._path) == MAX_DEPTH:
            raise _Refused(f"not a sitemap: elements nested deeper than {MAX_DEPTH}")
        self._elements += 1
        if self._elements == MAX_ELEMENTS and not self.full:
            self.found.notes.append(f"cut at {MAX_ELEMENTS:,} XML elements")
            self.full = True
        self._path.append(name)
        self._text.clear()
        self._size = 0

    def data(self, text: str) -> None:
        if self._size < _MAX_TEXT:
            self._text.append(text)
            self._size += len(text)

    def end(self, _tag: str) -> None:
        name = self._path.pop()
        parent = self._path[-1] if self._path else ""
        if name in _FIELDS.get(parent, ()):
            self._fields.setdefault(name, "".join(self._text).strip()[:_MAX_TEXT])
        elif len(self._path) == 1 and name in ("url", "sitemap"):
            self._entry(name)
            self._fields = {}
        self._text.clear()
        self._size = 0

    def close(self) -> None:
        return None

    def _entry(self, name: str) -> None:
        if self.full:  # the rest of the piece fed after the last entry kept
            return
        loc = self._fields.get("loc", "")
        if name == "sitemap":
            if len(self.found.sitemaps) == 2 * MAX_SITEMAPS:  # room for duplicates and itself
                self.found.sitemaps_cut = self.full = True
            else:
                self.found.sitemaps.append(loc)
        elif len(self.found.candidates) == MAX_ENTRIES:
            self.found.notes.append(f"cut at {MAX_ENTRIES:,} entries")
            self.full = True
        else:
            said = self._fields.get("publication_date") or self._fields.get("lastmod")
            when = iso_date(said)
            title = self._fields.get("title")
            self.found.candidates.append(
                Candidate(loc, when, title, bad_date=bool(said) and not when)
            )


def _robots(body: bytes) -> Found:
    robots = Protego.parse(body[:ROBOTS_BYTES].decode("utf-8", "replace"))
    found = Found(sitemaps=list(itertools.islice(robots.sitemaps, 2 * MAX_SITEMAPS + 1)))
    if len(found.sitemaps) > 2 * MAX_SITEMAPS:
        found.sitemaps_cut = True
        del found.sitemaps[-1]
    if len(body) > ROBOTS_BYTES:
        found.notes.append(f"robots.txt read up to {ROBOTS_BYTES // 1024} KiB, as crawlers do")
    if not found.sitemaps:
        found.notes.append("robots.txt names no sitemap")
    return found


def _plain(body: bytes) -> Found:
    """A plain-text sitemap: a URL a line, UTF-8. Its URLs are absolute: a line of text is not
    taken for a relative link."""
    found = Found()
    prose = 0
    for line in _LINE.finditer(body):  # one at a time: a body of short lines is many of them
        text = line[0][:_MAX_TEXT].decode("utf-8", "replace").strip()
        if not text:
            continue
        if not _SCHEME.match(text):
            prose += 1
        elif len(found.candidates) == MAX_ENTRIES:
            found.notes.append(f"cut at {MAX_ENTRIES:,} entries")
            break
        else:
            found.candidates.append(Candidate(text))
    if prose:
        found.notes.append(f"{prose:,} {'line' if prose == 1 else 'lines'} skipped: not a URL")
    return found
