"""The change feed: `feeds/changes.atom`, an Atom (RFC 4287) feed of the archive's versions, newest
first, committed with each run that makes one.

Written with lxml's element builder (lxml is a pinned dependency already): the entries of earlier
runs are carried over as elements from the committed feed, never rebuilt from a second model of
them, and every text goes in as an element's text, escaped by lxml. What pages say is untrusted:
the characters XML cannot hold (control characters) are removed first.
"""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path

from lxml import etree
from lxml.builder import ElementMaker

from .. import __version__
from ..storage import atomic
from ..storage.store import FEEDS, Store
from .events import Event

log = logging.getLogger(__name__)

FEED = f"{FEEDS}/changes.atom"
KEEP = 200  # entries kept; older ones drop out (the history keeps every version)
ATOM = "http://www.w3.org/2005/Atom"
A = ElementMaker(namespace=ATOM, nsmap={None: ATOM})
# What XML 1.0 cannot hold, and C1 controls, which it can but no reader should show.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
SUMMARY = 1000  # characters of an entry's summary


def clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def write(root: Path, store: Store, events: list[Event], base_url: str = "") -> str | None:
    """Put the versions among `events` on top of the committed feed; the feed's path, or None if
    the run made no version."""
    versions = sorted(
        (e for e in events if e.is_version), key=lambda e: e.captured_at, reverse=True
    )
    if not versions:
        return None
    feed_id, earlier = _committed(store)
    ids = {e.entry_id for e in versions}
    entries = [_entry(e) for e in versions]
    entries += [old for old in earlier if old.findtext(f"{{{ATOM}}}id") not in ids]
    entries = entries[:KEEP]
    updated = max(
        (e.findtext(f"{{{ATOM}}}updated") or "" for e in entries), default=versions[0].captured_at
    )
    links = [A.link(rel="self", href=f"{base_url}/{FEED}")] if base_url else []
    feed = A.feed(
        A.id(feed_id),
        A.title("archiver: changes"),
        A.subtitle("Versions of the archived pages, newest first"),
        A.updated(updated),
        A.author(A.name("archiver")),
        A.generator(f"archiver {__version__}"),
        *links,
        *entries,
    )
    data = etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
    path = root / FEED
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(path, data)
    return FEED


def _entry(event: Event) -> etree._Element:
    role = " source" if event.role == "source" else ""
    content = [event.summary]
    for before, after in event.pairs:
        content += [f"before: {before or '(none)'}", f"after: {after or '(none)'}"]
    content.append(f"report: {event.report}")
    links = [A.link(rel="alternate", href=clean(event.url))]
    if event.report.startswith(("http://", "https://")):
        links.append(A.link(rel="related", href=clean(event.report), title="report"))
    return A.entry(
        A.id(event.entry_id),
        A.title(clean(f"{event.kind}{role}: {event.headline}")),
        A.updated(event.captured_at),
        *links,
        A.summary(clean(event.summary)[:SUMMARY]),
        A.content(clean("\n".join(content)), type="text"),
    )


def _committed(store: Store) -> tuple[str, list[etree._Element]]:
    """The committed feed's id and entries (never the file on disk, which an interrupted run may
    have written); a new id and none if there is no readable feed."""
    [text] = store.read_all_at("HEAD", [FEED])
    if text is None:
        return f"urn:uuid:{uuid.uuid4()}", []
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
    try:
        feed = etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as exc:
        log.warning("%s cannot be read (%s); it starts again", FEED, exc)
        return f"urn:uuid:{uuid.uuid4()}", []
    feed_id = feed.findtext(f"{{{ATOM}}}id") or f"urn:uuid:{uuid.uuid4()}"
    return feed_id, feed.findall(f"{{{ATOM}}}entry")
