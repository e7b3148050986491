"""HTML → `Document` (headline, byline, date, paragraphs, cited links) → the text committed to git.

One trafilatura configuration serves both text and links (include_links changes extraction itself),
and its `deduplicate` option stays off: its process-wide cache would make output depend on history.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib.metadata import version
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lxml import etree, html
from lxml.cssselect import CSSSelector

from .. import untrusted
from ..config import IgnoreRule
from ..urls import normalize_url
from . import rules as textrules
from .links import Link, cited
from .modified import modified_date

if TYPE_CHECKING:
    from trafilatura.settings import Document as Extraction

log = logging.getLogger(__name__)

# Bump when our own rules change the text, so a version records which rules made it.
NORMALIZER_VERSION = "2"  # 2: control characters removed from the text
EXTRACTOR_PACKAGES = ("trafilatura", "lxml", "jusText", "htmldate", "courlan", "pypdf")


@cache
def extractor_versions() -> dict[str, str]:
    versions = {name.lower(): version(name) for name in EXTRACTOR_PACKAGES}
    versions["normalizer"] = NORMALIZER_VERSION
    return versions


@dataclass
class Block:
    kind: str  # "p", "h", "item", "quote", "row"
    sentences: list[str]

    def render(self) -> str:
        prefix = {"h": "## ", "item": "- ", "quote": "> "}.get(self.kind, "")
        if self.kind == "quote":
            return "\n".join(prefix + s for s in self.sentences)
        indent = " " * len(prefix)
        return "\n".join((prefix if i == 0 else indent) + s for i, s in enumerate(self.sentences))


@dataclass
class Document:
    title: str = ""
    byline: str = ""
    published: str = ""
    modified: str = ""  # the modification date the page declares (never part of the text)
    page_title: str = ""  # the HTML <title>, which may differ from the article's headline
    canonical_url: str | None = None
    blocks: list[Block] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)

    def article_text(self) -> str:
        """The normalized text: headline, byline/date line, then one sentence per line."""
        parts = []
        if self.title:
            parts.append(f"# {self.title}")
        byline = " · ".join(
            p
            for p in (
                f"By {self.byline}" if self.byline else "",
                f"Published {self.published}" if self.published else "",
            )
            if p
        )
        if byline:
            parts.append(byline)
        parts.extend(block.render() for block in self.blocks)
        return "\n\n".join(parts) + "\n"

    def links_text(self) -> str:
        return "".join(link.line() + "\n" for link in self.links)


def from_html(
    markup: str, url: str, captured: datetime, rules: tuple[IgnoreRule, ...] = ()
) -> Document:
    """Extract the article from `markup` fetched from `url` at `captured` (which bounds date
    guesses)."""
    host = urlsplit(url).hostname or ""
    applicable = [r for r in rules if r.applies_to(host)]
    tree = _parse(markup, applicable)
    if tree is None:
        return Document()
    originals = _absolutize(tree, url)
    modified = modified_date(tree) or ""  # before extraction, which may prune the tree
    result = _extract(tree, url, captured)
    if result is None or result.body is None:
        return Document(title=textrules.clean(_html_title(tree)), modified=modified)
    patterns = [p for r in applicable for p in r.patterns]
    blocks = _blocks(result.body, patterns)
    title = textrules.clean(result.title or _html_title(tree))
    if blocks and blocks[0].kind == "h" and " ".join(blocks[0].sentences) == title:
        blocks = blocks[1:]  # the headline already leads the text
    return Document(
        title=title,
        page_title=textrules.clean(_html_title(tree)),
        byline=textrules.clean(result.author or ""),
        published=result.date or "",
        modified=modified,
        canonical_url=_canonical(_canonical_link(tree) or result.url, url),
        blocks=blocks,
        links=cited(_hrefs(result.body), url, originals),
    )


def _parse(markup: str, rules: list[IgnoreRule]) -> html.HtmlElement | None:
    from trafilatura.utils import (
        load_html,
    )  # imported on first use: a run's extraction is in worker processes

    try:
        tree = load_html(markup)
    except (ValueError, etree.ParserError) as exc:
        log.info("unparseable HTML: %s", exc)
        return None
    if tree is None:
        return None
    for selector in (s for r in rules for s in r.selectors):
        for element in CSSSelector(selector)(tree):
            if element.getparent() is not None:
                element.drop_tree()
    return tree


def _extract(tree: html.HtmlElement, url: str, captured: datetime) -> Extraction | None:
    # on first use, as in _parse: it adds a tenth of a second to every command's start
    import trafilatura

    try:
        result = trafilatura.bare_extraction(tree, url=url, **trafilatura_options(captured))
    except (ValueError, TypeError, etree.LxmlError) as exc:
        log.info("extraction failed for %s: %s", url, exc)
        return None
    return None if isinstance(result, dict) else result  # a dict only when asked for one (as_dict)


def trafilatura_options(captured: datetime) -> dict[str, Any]:
    """The settings extraction gives trafilatura for a page captured at `captured` (the benchmark
    times trafilatura alone with them)."""
    return {
        "with_metadata": True,
        "include_links": True,
        "include_comments": False,
        "favor_precision": True,
        "include_tables": True,
        "include_formatting": False,
        "deduplicate": False,
        "date_extraction_params": {
            "original_date": True,
            "extensive_search": False,
            "max_date": f"{captured:%Y-%m-%d}",
        },
    }


def _blocks(body: etree._Element, patterns: list) -> list[Block]:
    blocks = []
    for kind, raw in _raw_blocks(body):
        sentences = [
            textrules.strip_volatile(s) for s in textrules.split_sentences(textrules.clean(raw))
        ]
        sentences = [s for s in sentences if s and not textrules.is_volatile(s, patterns)]
        if sentences:
            blocks.append(Block(kind, sentences))
    return blocks


def _raw_blocks(element: etree._Element) -> Iterator[tuple[str, str]]:
    for child in element:
        tag = child.tag
        if tag == "list":
            for item in child.iter("item"):
                yield "item", _text(item)
        elif tag == "table":
            for row in child.iter("row"):
                cells = [textrules.clean(_text(cell)) for cell in row.iter("cell")]
                yield "row", " | ".join(c for c in cells if c)
        elif tag == "quote" and len(child) and any(c.tag in ("p", "list", "quote") for c in child):
            for _kind, raw in _raw_blocks(child):
                yield "quote", raw
        elif tag == "head":
            yield "h", _text(child)
        else:
            yield ("quote" if tag == "quote" else "p"), _text(child)


_SPACED = frozenset({"lb", "item", "cell", "row", "p", "head", "list", "quote"})


def _text(element: etree._Element) -> str:
    """The element's text; inline markup joins as written, line breaks and nested blocks as a
    space."""
    parts = [element.text or ""]
    for child in element:
        spaced = child.tag in _SPACED
        parts.extend((" " if spaced else "", _text(child), " " if spaced else "", child.tail or ""))
    return "".join(parts)


def _hrefs(body: etree._Element) -> list[tuple[str, str]]:
    return [(ref.get("target", ""), textrules.clean(_text(ref))) for ref in body.iter("ref")]


def _absolutize(tree: html.HtmlElement, url: str) -> dict[str, str]:
    """Resolve every link against the page (and its <base href>), as browsers do; map back to the
    href.

    The extractor resolves relative links against the site's root, not the page, so it gets them
    already absolute.
    """
    bases = tree.xpath("//base[@href]/@href")
    base = (
        untrusted.reference(url, bases[0]) if bases else None
    ) or url  # a broken <base> is ignored, as browsers do
    originals: dict[str, str] = {}
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        absolute = untrusted.reference(base, href) if href else None
        if absolute is not None:  # others are left as written, and dropped when links are chosen
            originals.setdefault(absolute, href)
            anchor.set("href", absolute)
    return originals


def _html_title(tree: html.HtmlElement) -> str:
    titles = tree.xpath("//title")
    return titles[0].text_content() if titles else ""


def _canonical_link(tree: html.HtmlElement) -> str | None:
    # Read here, not from the extractor: it drops relative canonical URLs in favour of the page URL.
    hrefs = tree.xpath(
        "//link[contains(concat(' ', translate(@rel, 'CANONICAL', 'canonical'), ' '), "
        "' canonical ')]/@href"
    )
    return hrefs[0].strip() if hrefs and hrefs[0].strip() else None


def _canonical(found: str | None, url: str) -> str | None:
    absolute = untrusted.reference(url, found) if found else None
    return normalize_url(absolute) if absolute is not None else None
