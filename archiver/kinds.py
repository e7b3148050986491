"""What kind of version a capture makes when the page did not simply answer with its article.

soft-404: the URL now leads to the home page, a section front, an unrelated page, or a "not found"
page served with 200. moved: the same article under another URL. Both judge "the same article" by how
much of the body two versions share (`compare.similarity`).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .compare import parse_article, similarity

RESEMBLES = 0.5  # share at least half the words: the same article, edited or not
UNRELATED = 0.2  # share less than a fifth: another page altogether

_TITLE_SEPARATORS = re.compile(r"(?<!\s)\s+[|–—:·-]\s+")  # from a run's start only: linear on long runs
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


def soft_404(url: str, final_url: str, titles: list[str], text: str | None, previous_text: str | None) -> str | None:
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


def moved(previous_final: str | None, previous_canonical: str | None, final_url: str, canonical: str | None,
          previous_text: str | None, text: str | None) -> bool:
    """The same article now lives at another URL (a redirect or a new canonical URL)."""
    relocated = (previous_final and final_url != previous_final) or (
        previous_canonical and canonical and canonical != previous_canonical)
    return bool(relocated) and similarity(previous_text, text) >= RESEMBLES


def _looks_not_found(titles: list[str], text: str | None) -> bool:
    sections = parse_article(text)
    segments = [segment for title in titles for segment in _TITLE_SEPARATORS.split(title or "")]
    candidates = [*segments, sections.headline, *sections.body[:1]]
    if any(_NOT_FOUND_TITLE.match(c.strip()) for c in candidates if c):
        return True
    return any(_NOT_FOUND_BODY.search(line) for line in sections.body[:5])
