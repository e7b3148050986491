"""The date a page says it was last modified, from its structured metadata only.

Read from JSON-LD (`dateModified`), then `<meta>` tags (`article:modified_time`,
`og:updated_time`, `last-modified`, `dcterms.modified`, ...) and `itemprop="dateModified"`. Neither
trafilatura nor the `Document` keeps one: trafilatura asks htmldate for the original date only, and
htmldate's "latest date" falls back to the URL, the published date or any `<time>` on the page (a
sidebar's teasers), so it would move when the sidebar rotates. Only what the page declares as its
modification date is read here, with lxml and the json module (no regular expression over HTML);
extruct would read the same three places but brings rdflib and more into every worker process.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from lxml import html

log = logging.getLogger(__name__)

# <meta property=…> and <meta name=…> values that name the modification date (lower case).
META_NAMES = (
    "article:modified_time",
    "og:updated_time",
    "og:modified_time",
    "article:modified",
    "last-modified",
    "lastmod",
    "dcterms.modified",
    "dc.modified",
    "dc.date.modified",
    "modified",
)
MAX_LENGTH = 64  # a date, not a document: longer values are not dates
MAX_JSON = 1 << 20  # bytes of one JSON-LD script read
MAX_NODES = 10_000  # JSON-LD objects visited in all


def modified_date(tree: html.HtmlElement) -> str | None:
    """The page's declared modification date, as written (trimmed); None when it declares none."""
    for found in (_from_json_ld(tree), _from_meta(tree), _from_itemprop(tree)):
        if found:
            return found
    return None


def later(old: str, new: str) -> bool:
    """Whether the modification date `new` is another, later one than `old`. Two dates that parse
    compare as instants (a time zone written another way is no change); otherwise as text."""
    before, after = _instant(old), _instant(new)
    if before is not None and after is not None:
        try:
            return after > before
        except TypeError:  # one with a time zone and one without: compared as written
            pass
    return old.strip() != new.strip()


def _instant(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def _usable(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value if 0 < len(value) <= MAX_LENGTH and value.isprintable() else None


def _from_json_ld(tree: html.HtmlElement) -> str | None:
    """`dateModified` of the first object that has one, an article's before any other's."""
    found: list[tuple[bool, str]] = []
    for script in tree.xpath(
        '//script[translate(@type, "LDJSON", "ldjson")="application/ld+json"]'
    ):
        text = script.text or ""
        if len(text) > MAX_JSON:
            continue
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            log.debug("unreadable JSON-LD skipped")
            continue
        for node in _nodes(data):
            value = _usable(node.get("dateModified"))
            if value:
                found.append((_is_article(node.get("@type")), value))
    ranked = sorted(found, key=lambda pair: not pair[0])  # stable: articles first, in page order
    return ranked[0][1] if ranked else None


def _nodes(data: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in `data`, in document order, at most MAX_NODES (a page can nest deeply)."""
    stack, seen = [data], 0
    while stack and seen < MAX_NODES:
        item = stack.pop()
        seen += 1
        if isinstance(item, dict):
            yield item
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def _is_article(kind: Any) -> bool:
    kinds = kind if isinstance(kind, list) else [kind]
    return any(isinstance(k, str) and ("Article" in k or k == "BlogPosting") for k in kinds)


def _from_meta(tree: html.HtmlElement) -> str | None:
    values: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("http-equiv") or "").lower()
        value = _usable(meta.get("content"))
        if key in META_NAMES and value:
            values.setdefault(key, value)
    return next((values[name] for name in META_NAMES if name in values), None)


def _from_itemprop(tree: html.HtmlElement) -> str | None:
    for element in tree.xpath('//*[@itemprop="dateModified"]'):
        value = _usable(element.get("content") or element.get("datetime"))
        if value:
            return value
    return None
