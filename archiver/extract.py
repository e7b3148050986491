"""From a fetched body to a `Document`, in this process or in a pool of processes.

Extraction is CPU work under Python's global lock: with many pages a run hands it to worker processes
so that every core is used, while the fetch threads keep the network busy.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from . import payload
from .capture import Capture
from .config import IgnoreRule
from .normalize import Document, from_html

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
POOL_THRESHOLD = 24  # fewer pages than this in a run: starting processes costs more than it saves
# Worker processes import the program's main module again, which runs an unguarded script a second
# time: the command line (guarded) turns them on; a library user who guards theirs may too.
processes_allowed = False


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


def extract(body: Body, limit: int, rules: tuple[IgnoreRule, ...]) -> Document | None:
    """The document in `body`, or None for a body we keep without text."""
    data, cut = payload.decode_content(body.path, body.content_encoding, limit)
    kind = text_kind(body.content_type, data)
    if kind == "html" and payload.looks_binary(data, body.content_type_header):
        kind = None  # binary bytes served as text/html: kept in the WARC without text, like any binary
    if kind is None or (kind == "pdf" and (cut or body.truncated)):
        return None  # a PDF cut short cannot be parsed; the WARC still holds what came
    if cut:
        log.warning("%s: decoded body larger than %d bytes; text taken from the first part", body.url, limit)
    if kind == "pdf":
        from .pdf import from_pdf

        return from_pdf(data)
    return from_html(payload.decode_text(data, body.content_type_header), body.url, body.captured, rules)


def body_of(capture: Capture) -> Body:
    """What extraction needs of a capture's final response (fetched now, or read back from its WARC record)."""
    final = capture.final
    return Body(path=final.body, url=final.url, content_type=final.content_type,
                content_type_header=final.header("Content-Type"), content_encoding=final.header("Content-Encoding"),
                truncated=bool(final.truncated), captured=capture.started)


def document_meta(document: Document) -> dict[str, Any]:
    """The facts of a document that a version records in meta.json, beside its text and links."""
    return {"title": document.title, "byline": document.byline or None, "published": document.published or None,
            "canonical_url": document.canonical_url}


def text_kind(content_type: str, head: bytes) -> str | None:
    """"html", "pdf", or None for a body we keep without text."""
    if content_type in HTML_TYPES:
        return "html"
    if content_type == "application/pdf" or head.startswith(b"%PDF-"):
        return "pdf"
    if content_type and content_type not in ("application/octet-stream", "text/plain"):
        return None
    sniff = head[:512].lstrip().lower()
    html_like = sniff.startswith((b"<!doctype html", b"<html")) or b"<head" in sniff or b"<body" in sniff
    return "html" if html_like else None


class Extractor:
    """Runs `extract` inline, or in a process pool once a run is large enough to gain from one."""

    def __init__(self, limit: int, rules: tuple[IgnoreRule, ...], processes: int) -> None:
        self.limit = limit
        self.rules = rules
        self.processes = processes
        self.pooled = False  # whether this run used worker processes
        self._pool: ProcessPoolExecutor | None = None

    def use_pool(self, pages: int) -> None:
        """Start the pool if `pages` are expected and more than one process is allowed."""
        if self._pool is None and processes_allowed and self.processes > 1 and pages >= POOL_THRESHOLD:
            # forkserver: the fetch threads are running, and forking a threaded process is unsafe.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["archiver.normalize", "archiver.pdf", "trafilatura"])
            self._pool = ProcessPoolExecutor(self.processes, mp_context=context)
            self.pooled = True

    def __call__(self, body: Body) -> Document | Future[Document | None] | None:
        """The document now, or a future of it when the pool runs (the caller need not wait for it)."""
        pool = self._pool  # fetch threads call this concurrently; one of them may drop a broken pool
        if pool is not None:
            try:
                return pool.submit(extract, body, self.limit, self.rules)
            except BrokenProcessPool:  # a worker process died (killed, out of memory): go on without them
                log.warning("extraction processes died; extracting in this process for the rest of the run")
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
        return self.inline(body)

    def inline(self, body: Body) -> Document | None:
        """Extract in this process: the fallback when a worker process died."""
        return extract(body, self.limit, self.rules)

    def result(self, outcome: Document | Future[Document | None] | None, body: Body) -> Document | None:
        """The document `__call__` gave, waited for; extracted here if its worker process failed."""
        if not isinstance(outcome, Future):
            return outcome
        try:
            return outcome.result()
        except Exception as exc:  # a crashed worker process (out of memory, killed) must not fail the page
            log.warning("extraction process failed for %s (%r); extracting in this process", body.url, exc)
            return self.inline(body)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def default_processes() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
