"""Cited links: which hrefs of an article body count as sources, in their identity form."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from .. import untrusted
from ..errors import InvalidURL
from ..urls import normalize_url

log = logging.getLogger(__name__)

# Links that share or comment on the article rather than cite anything.
_SHARE = re.compile(
    r"^https?://(?:www\.)?(?:facebook\.com/(?:sharer|share\.php|dialog/share)|(?:twitter|x)\.com/(?:intent|share)"
    r"|linkedin\.com/(?:shareArticle|sharing)|reddit\.com/submit|pinterest\.[a-z.]+/pin/create"
    r"|(?:api\.)?whatsapp\.com/send|wa\.me/|t\.me/share|telegram\.me/share|news\.ycombinator\.com/submitlink"
    r"|tumblr\.com/(?:share|widgets/share)|mastodon\.social/share|bsky\.app/intent|threads\.net/intent"
    r"|getpocket\.com/(?:save|edit)|flipboard\.com/bookmarklet)",
    re.IGNORECASE,
)
_COMMENTS = re.compile(
    r"#(?:comments?|respond|disqus_thread)$|/comments?/?$|[?&]replytocom=", re.IGNORECASE
)
_OTHER_SCHEME = re.compile(
    r"(?!https?:)[a-z][a-z0-9+.-]*:", re.IGNORECASE
)  # mailto:, tel:, javascript:, data:...


@dataclass(frozen=True)
class Link:
    url: str  # normalized identity
    text: str  # anchor text, cleaned
    href: str  # as written in the page

    def line(self) -> str:
        return f"{self.url}\t{self.text}"


def cited(
    hrefs: list[tuple[str, str]], base: str, originals: dict[str, str] | None = None
) -> list[Link]:
    """From (href, anchor text) pairs in body order, the cited links: resolved, filtered, first seen
    kept.

    `originals` maps a resolved link to the href as written in the page, when known.
    """
    page = identity(base)
    seen: set[str] = set()
    links: list[Link] = []
    for href, text in hrefs:
        url = _resolve(href, base)
        if url is None or url == page or url in seen:
            continue
        seen.add(url)
        links.append(Link(url=url, text=text, href=(originals or {}).get(href, href)))
    return links


def _resolve(href: str, base: str) -> str | None:
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    absolute = untrusted.reference(base, href)
    if absolute is None:
        if not _OTHER_SCHEME.match(href):
            log.info("dropped a link that is not a URL: %r", untrusted.printable(href)[:200])
        return None
    if _SHARE.match(absolute) or _COMMENTS.search(absolute):
        return None
    return identity(absolute)


def identity(url: str) -> str | None:
    """The normalized URL, or None for one that cannot be a page's identity."""
    try:
        return normalize_url(url)
    except InvalidURL:
        return None
