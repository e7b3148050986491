"""Classification: whether a check makes a version, and of what kind. Pure functions of what was
archived before and what was captured now; they read and write nothing.

A capture becomes a candidate version (`candidate`): the page files it would write. It is the same
as the archived version (`same`), or loses the text the archived version has (`loses_text`: a failed
check, never an edit), or it is a new version whose kind `kind_of` decides: new, edited, moved,
restored, gone or soft-404. soft-404: the URL now leads to the home page, a section front, an
unrelated page, or a "not found" page served with 200. moved: the same article under another URL.
Both judge "the same article" by how much of the body two versions share (`compare.similarity`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from ..capture.answer import GONE_STATUSES, Verdict
from ..capture.exchange import Capture
from ..history.compare import compare, parse_article, similarity
from ..storage.meta import GONE_KINDS, Kind, PageMeta, facts
from ..storage.store import PageFiles
from ..text.extract import document_meta, text_kind
from ..text.normalize import Document, extractor_versions

# Facts about a capture, the change, or who cites the page, not about what it says: never a new
# version.
NOT_CONTENT = frozenset(
    {
        "captured_at",
        "version",
        "kind",
        "changes",
        "summary",
        "extractor",
        "warc",
        "redirects",
        "role",
        "cited_by",
        # The page's declared modification date moves without an edit on many sites (and on some
        # at every request); with the judgement of an edit, it is evidence about a version only.
        "modified",
        "announced",
        "announcement",
    }
)

RESEMBLES = 0.5  # share at least half the words: the same article, edited or not
UNRELATED = 0.2  # share less than a fifth: another page altogether

_TITLE_SEPARATORS = re.compile(
    r"(?<!\s)\s+[|–—:·-]\s+"
)  # from a run's start only: linear on long runs
_NOT_FOUND_TITLE = re.compile(
    r"^(?:error\s*)?(?:404|410)(?:\s*error)?(?:\s*[-:]?\s*(?:page\s+)?not\s+found)?[.!]?$"
    r"|^(?:oops[!.,]?\s*)?(?:sorry[!.,]?\s*)?(?:the\s+|this\s+)?(?:page|article|story|content|file)?\s*"
    r"(?:was\s+|is\s+)?(?:not\s+found|cannot\s+be\s+found|could\s+not\s+be\s+found|no\s+longer\s+(?:available|exists))"
    r"[.!]?$"
    r"|^(?:page\s+)?introuvable$|^seite\s+nicht\s+gefunden$|^p[aá]gina\s+no\s+encontrada$|^pagina\s+non\s+trovata$",
    re.IGNORECASE,
)
_NOT_FOUND_BODY = re.compile(
    r"(?:page|article|story|content)\s+you(?:'re|’re|\s+are|\s+were)\s+(?:looking|searching)\s+for"
    r"|(?:page|article|story)\s+(?:does\s+not|doesn't|doesn’t|no\s+longer)\s+exist"
    r"|(?:page|article|story)\s+(?:could\s+not|couldn't|cannot|can't)\s+be\s+found",
    re.IGNORECASE,
)


def is_front(url: str) -> bool:
    """The home page or a section front: "/", "/news", "/politics/", "/index.html"."""
    path = urlsplit(url).path.rstrip("/")
    segments = [s for s in path.split("/") if s]
    if not segments or (len(segments) == 1 and re.fullmatch(r"index\.\w+", segments[0])):
        return True
    return len(segments) == 1 and len(segments[0]) <= 30 and not re.search(r"\d|\.", segments[0])


def soft_404(
    url: str, final_url: str, titles: list[str], text: str | None, previous_text: str | None
) -> str | None:
    """Why this 200 answer is a deletion in disguise, or None when it is the article."""
    resemblance = similarity(previous_text, text) if previous_text else None
    if resemblance is not None and resemblance >= RESEMBLES:
        return None
    redirected = final_url != url
    if redirected and is_front(final_url) and not is_front(url):
        where = "the home page" if not urlsplit(final_url).path.strip("/") else "a section front"
        return f"redirected to {where} {final_url}"
    if _looks_not_found(titles, text):
        return "answers 200 with a 'not found' page"
    if redirected and resemblance is not None and resemblance < UNRELATED:
        return f"redirected to an unrelated page {final_url}"
    return None


def moved(
    previous_final: str | None,
    previous_canonical: str | None,
    final_url: str,
    canonical: str | None,
    previous_text: str | None,
    text: str | None,
) -> bool:
    """The same article now lives at another URL (a redirect or a new canonical URL)."""
    relocated = (previous_final and final_url != previous_final) or (
        previous_canonical and canonical and canonical != previous_canonical
    )
    return bool(relocated) and similarity(previous_text, text) >= RESEMBLES


def _looks_not_found(titles: list[str], text: str | None) -> bool:
    sections = parse_article(text)
    segments = [segment for title in titles for segment in _TITLE_SEPARATORS.split(title or "")]
    candidates = [*segments, sections.headline, *sections.body[:1]]
    if any(_NOT_FOUND_TITLE.match(c.strip()) for c in candidates if c):
        return True
    return any(_NOT_FOUND_BODY.search(line) for line in sections.body[:5])


@dataclass(frozen=True)
class Change:
    """A new version: its kind, a one-line summary, and the change counts of an edit."""

    kind: Kind
    summary: str
    counts: dict[str, int] | None = None


def candidate(
    folder: PurePosixPath,
    role: str,
    cited_by: set[str],
    capture: Capture,
    verdict: Verdict,
    document: Document | None,
    previous_text: str | None,
) -> PageFiles:
    """The page files a capture would write as a new version (its number, kind and record come
    later)."""
    url, final = capture.url, capture.answer
    meta: PageMeta = {
        "url": url,
        "role": role,
        "final_url": capture.final_url,
        "status": final.status,
        "content_type": final.content_type or None,
        "captured_at": final.started.isoformat(),
        "extractor": extractor_versions(),
        "redirects": [{"url": e.url, "status": e.status} for e in capture.exchanges[:-1]],
    }
    if cited_by:  # known citers now; the run adds any found later
        meta["cited_by"] = sorted(cited_by)
    if final.truncated:
        meta["truncated"] = final.truncated
    if document is not None:
        text = document.article_text()
        # A followed listing is no article: its text is compared entry by entry, not for a
        # "not found" page in disguise.
        reason = (
            soft_404(
                url, capture.final_url, [document.title, document.page_title], text, previous_text
            )
            if role != "follow"
            else None
        )
        if reason:
            # Only the stable facts: the front page it now leads to changes every hour.
            meta["soft_404"] = reason
            return PageFiles(folder, meta, None, None)
        meta.update(document_meta(document))
        return PageFiles(folder, meta, text, document.links_text())
    if verdict != Verdict.GONE:
        meta["content_digest"] = (
            final.payload_digest
        )  # no text to compare: the bytes are the content
        meta["content_length"] = final.body_length
    return PageFiles(folder, meta, None, None)


def kind_of(
    previous: PageFiles | None, candidate: PageFiles, had_text: bool, listing: bool = False
) -> Change:
    """What the new version is, relative to the archived one; `had_text`: the page had text before
    it went. A `listing`'s edit is told by its entries (`settle`), not by comparing sentences."""
    meta = candidate.meta
    if "soft_404" in meta:
        return Change(Kind.SOFT_404, meta["soft_404"])
    if candidate.article is None and meta["status"] in GONE_STATUSES:
        return Change(Kind.GONE, f"HTTP {meta['status']}")
    if previous is None or (previous.meta.get("kind") in GONE_KINDS and not had_text):
        return Change(
            Kind.NEW, meta.get("title") or meta.get("content_type") or ""
        )  # first seen with content
    if previous.meta.get("kind") in GONE_KINDS:
        return Change(Kind.RESTORED, "the page is back")
    if listing:
        return Change(Kind.EDITED, "")
    comparison = compare(previous.article, candidate.article, previous.links, candidate.links)
    summary = comparison.summary() if not comparison.empty else fact_change(previous.meta, meta)
    pm = previous.meta
    if moved(
        pm.get("final_url"),
        pm.get("canonical_url"),
        meta["final_url"],
        meta.get("canonical_url"),
        previous.article,
        candidate.article,
    ):
        where = (
            meta.get("canonical_url")
            if meta["final_url"] == pm.get("final_url")
            else meta["final_url"]
        )
        summary = f"moved to {where}" + (f"; {summary}" if not comparison.empty else "")
        return Change(Kind.MOVED, summary, comparison.counts())
    return Change(Kind.EDITED, summary, comparison.counts())


def loses_text(previous_text: str | None, candidate: PageFiles) -> bool:
    """A page whose archived version has text answers, in a type that holds text, with none at
    all."""
    meta = candidate.meta
    if (
        "soft_404" in meta
        or meta["status"] in GONE_STATUSES
        or _blank(previous_text)
        or not _blank(candidate.article)
    ):
        return False
    media = meta.get("content_type") or ""
    return text_kind(media, b"") is not None or media in (
        "",
        "application/octet-stream",
        "text/plain",
    )


def same(previous: PageFiles, candidate: PageFiles) -> bool:
    """The candidate says what the archived version says: text, links and every fact about the
    content."""
    return (
        previous.article == candidate.article
        and previous.links == candidate.links
        and _content(previous.meta) == _content(candidate.meta)
    )


def fact_change(old: PageMeta, new: PageMeta) -> str:
    """The facts (not the text) that changed between two versions, in a few words."""
    before, after = facts(old), facts(new)
    changed = sorted(
        k
        for k in set(before) | set(after)
        if k not in NOT_CONTENT and before.get(k) != after.get(k)
    )
    return ", ".join(f"{k} changed" for k in changed) or "no change in the text"


def _content(meta: PageMeta) -> dict[str, Any]:
    return {k: v for k, v in facts(meta).items() if k not in NOT_CONTENT and v is not None}


def _blank(text: str | None) -> bool:
    sections = parse_article(text)
    return not (sections.headline or sections.body)
