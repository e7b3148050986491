"""`meta.json`: the facts of one version of a page, and the kinds of version. The single home of its
schema.

Every key a version may record is declared in `PageMeta`; its values are written exactly as JSON, so
an archive written by an earlier release reads the same. Keys absent from a version are simply
absent (never null), except those the extracted document left empty (`byline`, `published`), which
are null as they always were.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, TypedDict, cast


class Kind(StrEnum):
    """What a version is, relative to the one before (serialized as its value, e.g. "soft-404")."""

    NEW = "new"  # first seen with content (or first content after being gone from the start)
    EDITED = "edited"
    MOVED = "moved"  # the same article under another URL
    RESTORED = "restored"  # back after being gone
    GONE = "gone"  # 404 or 410
    SOFT_404 = (
        "soft-404"  # a deletion in disguise: a 200 leading to a front page or a "not found" page
    )


GONE_KINDS = (Kind.GONE, Kind.SOFT_404)


class Redirect(TypedDict):
    url: str
    status: int


class WarcRef(TypedDict, total=False):
    """Where a version's evidence lives: a record in a WARC file of the archive
    (`RecordRef.as_dict`)."""

    file: str  # relative to the archive root
    offset: int  # of the record's gzip member
    record_id: str
    payload_digest: str
    target_uri: str
    date: str  # WARC-Date of the record
    refers_to: dict[str, Any]  # for a revisit: the record that holds the payload


class Entries(TypedDict):
    """What a followed listing's new version changed: entries listed and unlisted (the first
    MAX_ENTRY_URLS of each) and how many of each."""

    listed: list[str]
    unlisted: list[str]
    counts: dict[str, int]


MAX_ENTRY_URLS = 100


class Announcement(TypedDict, total=False):
    """The outlet's own word that an edit was made: the notice the edit added, and/or the
    modification date the page declares, before and after."""

    notice: str  # the notice sentence as in the new text
    modified: list[str]  # [old, new], as the pages wrote them


class PageMeta(TypedDict, total=False):
    """One version's meta.json."""

    url: str  # the page's identity (normalized)
    role: str  # "article" (tracked), "source" (cited) or "follow" (a followed listing)
    found_by: str  # the followed feed, sitemap or page whose poll brought the article
    cited_by: list[str]  # the tracked or cited pages that cite it, as known so far
    final_url: str  # after redirects
    redirects: list[Redirect]  # the hops before the answer
    status: int
    content_type: str | None
    captured_at: str  # ISO 8601, to the microsecond; the WARC-Date is whole seconds
    extractor: dict[str, str]  # library versions that made the text
    truncated: str  # WARC-Truncated reason of a body cut short
    # From the extracted document.
    title: str
    byline: str | None
    published: str | None
    canonical_url: str | None
    modified: str  # the modification date the page declares; never makes a version on its own
    # A version without text.
    soft_404: str  # why the answer is a deletion in disguise
    content_digest: str  # no text to compare: the payload digest is the content
    content_length: int
    # The version itself.
    version: int  # 1 = first
    kind: str  # a `Kind` value
    summary: str  # what changed, in a few words
    changes: dict[str, int]  # sentence and word counts of an edit
    entries: Entries  # a followed listing's version: the article URLs it added and dropped
    announced: bool  # `edited` versions: whether the outlet said it changed the story
    announcement: Announcement  # the evidence, when announced
    warc: WarcRef


def dump(meta: PageMeta) -> str:
    """meta.json's bytes as text: keys sorted, indented, UTF-8 kept (diffs in git stay readable)."""
    return json.dumps(meta, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def load(text: str | bytes) -> PageMeta:
    """A meta.json read back; ValueError if it is not a JSON object."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return cast(PageMeta, data)


def facts(meta: PageMeta) -> dict[str, Any]:
    """`meta` as a plain mapping, for code that walks its keys by name (comparisons of any two
    versions)."""
    return cast(dict[str, Any], meta)
