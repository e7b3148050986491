"""From a fetched body to a `Document`, in worker processes under a CPU-time and a memory limit per
page.

Extraction is CPU work under Python's global lock, and a hostile page can make it take minutes and
gigabytes: every page is extracted in a worker process (`pool.py`), so that every core is used while
the fetch threads keep the network busy, and a page over a limit fails alone.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NotRequired, TypedDict, TypeVar

from ..capture import payload
from ..capture.exchange import Capture
from ..config import FetchConfig, IgnoreRule
from .normalize import Document, from_html
from .pool import Limits, Stopped, shared
from .worker import Refused

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Loaded by each worker process before its first page (the PDF reader only when a PDF comes).
PRELOAD = ("archiver.text.extract", "trafilatura")
T = TypeVar("T")


@dataclass(frozen=True)
class Body:
    """What extraction needs of a response (picklable, for worker processes)."""

    path: Path
    url: str
    content_type: str  # the media type alone, lower-case
    content_type_header: str | None
    content_encoding: str | None
    truncated: bool
    captured: datetime


@dataclass(frozen=True)
class Sizes:
    """How much of a decoded body extraction reads."""

    html: int  # fetch.max_decoded_bytes: the text of a larger page is taken from its first part
    pdf: int  # fetch.max_body_bytes: a PDF is parsed whole or not at all


def extract(body: Body, sizes: Sizes, rules: tuple[IgnoreRule, ...]) -> Document | None:
    """The document in `body`, or None for a body we keep without text."""
    data, cut = _decoded(body, sizes.html)
    kind = text_kind(body.content_type, data)
    if kind == "html" and payload.looks_binary(data, body.content_type_header):
        kind = (
            None  # binary bytes served as text/html: kept in the WARC without text, like any binary
        )
    if kind == "pdf" and cut:
        data, cut = _decoded(body, sizes.pdf)
    if kind == "html" and not data.strip():
        raise Unextractable("the page is empty: nothing but white space")
    if kind is None or (kind == "pdf" and (cut or body.truncated)):
        return None  # a PDF cut short cannot be parsed; the WARC still holds what came
    if cut:
        log.warning(
            "%s: decoded body larger than %d bytes; text taken from the first part",
            body.url,
            sizes.html,
        )
    if kind == "pdf":
        from .pdf import from_pdf

        return from_pdf(data)
    return from_html(
        payload.decode_text(data, body.content_type_header), body.url, body.captured, rules
    )


def _decoded(body: Body, limit: int) -> tuple[bytes, bool]:
    """The body without its content-coding; Unextractable if the coding is damaged (not where we cut
    it)."""
    try:
        return payload.decode_content(
            body.path, body.content_encoding, limit, whole=not body.truncated
        )
    except payload.CodingDamaged as exc:
        raise Unextractable(
            f"the {body.content_encoding} body is {exc}: not the whole page"
        ) from None


def body_of(capture: Capture) -> Body:
    """What extraction needs of a capture's final response (fetched now, or read back from its WARC
    record)."""
    answer = capture.answer
    return Body(
        path=answer.spooled_body,
        url=answer.url,
        content_type=answer.content_type,
        content_type_header=answer.header("Content-Type"),
        content_encoding=answer.header("Content-Encoding"),
        truncated=bool(answer.truncated),
        captured=capture.started,
    )


class DocumentFacts(TypedDict):
    """The facts of a document that a version records in meta.json, beside its text and links."""

    title: str
    byline: str | None
    published: str | None
    canonical_url: str | None
    modified: NotRequired[str]  # only when the page declares one


def document_meta(document: Document) -> DocumentFacts:
    """The facts of a document that a version records in meta.json, beside its text and links."""
    facts: DocumentFacts = {
        "title": document.title,
        "byline": document.byline or None,
        "published": document.published or None,
        "canonical_url": document.canonical_url,
    }
    if document.modified:
        facts["modified"] = document.modified
    return facts


def text_kind(content_type: str, head: bytes) -> str | None:
    """ "html", "pdf", or None for a body we keep without text."""
    if content_type in HTML_TYPES:
        return "html"
    if content_type == "application/pdf" or head.startswith(b"%PDF-"):
        return "pdf"
    if content_type and content_type not in ("application/octet-stream", "text/plain"):
        return None
    sniff = head[:512].lstrip().lower()
    html_like = (
        sniff.startswith((b"<!doctype html", b"<html")) or b"<head" in sniff or b"<body" in sniff
    )
    return "html" if html_like else None


class Unextractable(Refused):
    """A body that gives no document, and why, in one line: it is not whole (a content-coding cut
    short) or holds nothing, its extraction went over a limit, or the process extracting it died
    twice."""


class Extractor:
    """Runs `extract` in worker processes, each page under the CPU-time and memory limits of the
    settings."""

    def __init__(self, fetch: FetchConfig, rules: tuple[IgnoreRule, ...]) -> None:
        self.sizes = Sizes(html=fetch.max_decoded_bytes, pdf=fetch.max_body_bytes)
        self.rules = rules
        limits = Limits(cpu_seconds=fetch.max_extract_seconds, memory_mb=fetch.max_extract_memory)
        self.size = fetch.extract_processes or default_processes()
        self._pool = shared(self.size, limits, preload=PRELOAD)

    @property
    def processes(self) -> int:
        """The most worker processes that were alive at once."""
        return self._pool.most

    def start(self, pages: int) -> None:
        """Start the worker processes `pages` will need, while the caller goes on (fetching, reading
        WARCs)."""
        self._pool.start(pages)

    def __call__(self, body: Body) -> Future[Document | None]:
        """The document, to come (the caller need not wait for it)."""
        return self._pool.submit(extract, body, self.sizes, self.rules)

    def submit(self, function: Callable[..., T], *args: Any) -> Future[T]:
        """Other reading of a body (a followed feed's), in the same processes under the same
        limits; `function` raises `Refused` for a body it cannot read."""
        return self._pool.submit(function, *args)

    def result(self, outcome: Future[T]) -> T:
        """What `__call__` or `submit` promised, waited for; `Unextractable` if the body gives
        none."""
        try:
            return outcome.result()
        except Stopped as exc:
            raise Unextractable(str(exc)) from None

    def close(self, interrupted: bool = True) -> None:
        """The run is over. Interrupted, its worker processes stop at once (an extraction still
        running stops); otherwise they stay, idle, for this process's next run."""
        if interrupted:
            self._pool.close()


def default_processes() -> int:
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
