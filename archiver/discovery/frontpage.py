"""Front pages: the article links of a home or section page.

The page is decoded as browsers decode it (`capture/payload.py`), parsed as the extractor parses
one (trafilatura's `load_html`), its links resolved against its `<base href>` as browsers resolve
them and normalized as every page's identity is (`untrusted.resolved`). Menus
(`<nav>`, `<footer>`, `<menu>`, `role="navigation"`) are left out whole. A link is kept when it
leads to the page's own site (its registrable domain, as politeness counts sites), when courlan
takes its path for content (not navigation, a tag, category or author page, a feed, a file, a login
or a contact page), and when it is no search, page of results, account page or home page. Its
title is its anchor text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

from courlan import check_url, is_navigation_page, is_not_crawlable
from lxml import etree, html

from .. import untrusted
from ..capture.payload import decode_text
from ..capture.politeness import site_of
from ..text import rules as textrules
from ..text.links import identity
from .listing import MAX_TITLE, Candidate, Found, Unreadable

# Home pages run to a few MB; parsed HTML takes tens of times its size in memory.
MAX_PAGE_BYTES = 4 * 1024 * 1024
# Links read: a front page has hundreds; each costs tens of microseconds to resolve and judge.
MAX_LINKS = 10_000
_MIB = 1024 * 1024
_MENUS = frozenset({"nav", "footer", "menu"})  # and anything of role="navigation"
# What courlan lets through and is still no article: searches, pages of results, feeds, accounts.
_NOT_ARTICLES = re.compile(
    r"/(?:search|suche|recherche|buscar|busca)(?:[/?.]|$)|[?&](?:q|s|query|search|keywords?)="
    r"|[?&](?:page|p|pg|paged|start|offset)=\d"
    r"|/(?:feeds?|rss|atom)(?:[/?.]|$)|\.(?:rss|atom|xml)(?:\?|$)"
    r"|/(?:log-?in|log-?out|sign-?in|sign-?out|sign-?up|register|account)(?:[/?.]|$)",
    re.IGNORECASE,
)


def read(body: bytes, url: str, content_type: str | None) -> Found:
    found = Found()
    if len(body) > MAX_PAGE_BYTES:
        body = body[:MAX_PAGE_BYTES]
        found.notes.append(f"read the first {MAX_PAGE_BYTES // _MIB} MiB of the page")
    tree = _tree(decode_text(body, content_type))
    if tree is None:
        raise Unreadable("not an HTML page")
    base = _base(tree, url)
    site, page = site_of(url), identity(url)
    for number, anchor in enumerate(_anchors(tree)):
        if number == MAX_LINKS:
            found.notes.append(f"read the first {MAX_LINKS:,} links of the page")
            break
        href = anchor.get("href")
        link = untrusted.resolved(base, href) if href else None
        if link and link != page and _article(link, site):
            found.candidates.append(Candidate(link, title=_anchor_text(anchor)))
    return found


def _anchors(tree: html.HtmlElement) -> Iterator[html.HtmlElement]:
    """The page's links outside its menus, in one walk of the tree (an XPath asking each link for
    its ancestors takes seconds on a page of many links deep down)."""
    menus = 0
    for event, element in etree.iterwalk(tree, events=("start", "end")):
        if element.tag in _MENUS or element.get("role") == "navigation":
            menus += 1 if event == "start" else -1
        elif event == "start" and element.tag == "a" and not menus:
            yield element


def _tree(markup: str) -> html.HtmlElement | None:
    from trafilatura.utils import load_html  # as text/normalize.py: the import costs start-up time

    try:
        return load_html(markup)
    except (ValueError, etree.ParserError):
        return None


def _base(tree: html.HtmlElement, url: str) -> str:
    bases = tree.xpath("//base[@href]/@href")
    found = untrusted.reference(url, str(bases[0])) if isinstance(bases, list) and bases else None
    return found or url  # a broken <base> is ignored, as browsers do


def _article(url: str, site: str) -> bool:
    parts = urlsplit(url)
    if site_of(url) != site or (parts.path == "/" and not parts.query):
        return False
    # courlan judges the path: its host checks refuse what the run may fetch (an address with a
    # port, a name without a dot), and the site is judged above.
    path = urlunsplit(("https", "example.com", parts.path, parts.query, ""))
    return not (
        check_url(path, strict=True) is None
        or is_navigation_page(path)
        or is_not_crawlable(path)
        or _NOT_ARTICLES.search(path)
    )


def _anchor_text(anchor: html.HtmlElement) -> str | None:
    text = textrules.clean(anchor.text_content()[: MAX_TITLE * 8])
    return text or anchor.get("title") or None
