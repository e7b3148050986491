"""One run: fetch the URLs in a worker pool, write versions to the WARC and the store, record checks.

Workers fetch and extract in parallel; the calling thread alone classifies, writes the WARC
(one writer) and touches git, so no file is ever written from two threads.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import __version__, payload
from .capture import Capture
from .config import Config
from .fetch import Fetcher
from .normalize import Document, extractor_versions, from_html
from .state import Check, State
from .store import PageVersion, Store
from .urls import page_dir
from .warc import WarcFile, warcinfo

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
GONE_STATUSES = (404, 410)
# Facts that belong to one capture, not to what the page says: they never make a new version.
CAPTURE_FIELDS = frozenset({"captured_at", "version", "kind", "extractor", "warc", "redirects"})


@dataclass
class PageResult:
    url: str
    outcome: str  # new | changed | unchanged | gone | failed
    status: int | None = None
    title: str = ""
    error: str | None = None
    folder: str = ""
    version: int | None = None


@dataclass
class RunSummary:
    started: datetime
    finished: datetime | None = None
    results: list[PageResult] = field(default_factory=list)
    commit: str | None = None
    warc: str | None = None

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("new", "changed", "unchanged", "gone", "failed"), 0)
        for result in self.results:
            counts[result.outcome] += 1
        return counts

    @property
    def any_failed(self) -> bool:
        return any(r.outcome == "failed" for r in self.results)

    def line(self) -> str:
        counts = ", ".join(f"{n} {k}" for k, n in self.counts().items() if n or k != "gone")
        tail = f"; commit {self.commit[:10]}" if self.commit else "; no commit"
        return f"{len(self.results)} checked: {counts}{tail}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat() if self.finished else None,
            "counts": self.counts(),
            "commit": self.commit,
            "warc": self.warc,
            "results": [asdict(r) for r in self.results],
        }


@dataclass
class Fetched:
    """What a worker hands back: the capture, and the extracted document if it is a page with text."""

    capture: Capture
    document: Document | None = None
    outcome: str = ""  # "ok", "gone" or "failed"
    error: str | None = None


class Run:
    def __init__(self, root, config: Config, store: Store, state: State) -> None:
        self.root = root
        self.config = config
        self.store = store
        self.state = state
        self.started = datetime.now(UTC)
        self.spool = root / ".archiver" / "spool"  # bodies in flight; nothing in it outlives a run
        self.fetcher = Fetcher(config.fetch, self.spool)
        software = f"archiver/{__version__}"
        self.warc = WarcFile(root, config.warc_prefix, self.started, warcinfo(software, extractor_versions()))

    def execute(self, urls: list[str], on_result: Callable[[PageResult], None] | None = None,
                extra_paths: tuple[str, ...] = ()) -> RunSummary:
        summary = RunSummary(started=self.started)
        shutil.rmtree(self.spool, ignore_errors=True)
        checks: list[Check] = []
        try:
            with ThreadPoolExecutor(max_workers=self.config.fetch.workers, thread_name_prefix="fetch") as pool:
                pending: dict[Future[Fetched], str] = {pool.submit(self._work, u): u for u in urls}
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        url = pending.pop(future)
                        result, check = self._settle(url, future)
                        summary.results.append(result)
                        checks.append(check)
                        if on_result:
                            on_result(result)
            summary.warc = _posix(self.warc.close())
        except BaseException:
            self.warc.abort()
            raise
        finally:
            self.fetcher.close()
            self.state.record(checks)
            shutil.rmtree(self.spool, ignore_errors=True)
        order = {u: i for i, u in enumerate(urls)}
        summary.results.sort(key=lambda r: order.get(r.url, len(order)))
        summary.commit = self._commit(summary, extra_paths)
        summary.finished = datetime.now(UTC)
        return summary

    def _work(self, url: str) -> Fetched:
        capture = self.fetcher.fetch(url)
        final = capture.final
        if capture.error or final is None:
            return Fetched(capture, outcome="failed", error=capture.error or "no response")
        if final.status in GONE_STATUSES:
            return Fetched(capture, outcome="gone")
        if not 200 <= final.status < 300:
            return Fetched(capture, outcome="failed", error=f"HTTP {final.status} {final.reason}".rstrip())
        return Fetched(capture, document=self._extract(capture), outcome="ok")

    def _extract(self, capture: Capture) -> Document | None:
        final = capture.final
        if final.body is None:
            return None
        limit = self.config.fetch.max_decoded_bytes
        data, cut = payload.decode_content(final.body, final.header("Content-Encoding"), limit)
        if not _is_html(final.content_type, data):
            return None
        if cut:
            log.warning("%s: decoded body larger than %d bytes; text taken from the first part", capture.url, limit)
        markup = payload.decode_text(data, final.header("Content-Type"))
        return from_html(markup, final.url, capture.started, self.config.ignore)

    def _settle(self, url: str, future: Future[Fetched]) -> tuple[PageResult, Check]:
        folder = page_dir(url)
        try:
            fetched = future.result()
        except Exception as exc:  # a bug in one page's handling must not lose the run
            log.exception("internal error while fetching %s", url)
            fetched = Fetched(Capture(url=url, started=datetime.now(UTC)), outcome="failed",
                              error=f"internal error: {exc}")
        capture = fetched.capture
        try:
            result = self._classify(url, folder, fetched)
        finally:
            capture.discard()
        final = capture.final
        check = Check(url=url, checked_at=capture.started.isoformat(), outcome=result.outcome,
                      status=final.status if final else None, duration_ms=int(capture.duration * 1000),
                      payload_digest=final.payload_digest if final else None, error=result.error)
        return result, check

    def _classify(self, url: str, folder, fetched: Fetched) -> PageResult:
        capture, final = fetched.capture, fetched.capture.final
        status = final.status if final else None
        if fetched.outcome == "failed":
            return PageResult(url, "failed", status=status, error=fetched.error, folder=str(folder))
        previous = self.store.read(folder)
        candidate = self._candidate(url, folder, fetched)
        if previous is not None and _same(previous, candidate):
            return PageResult(url, "unchanged", status, previous.meta.get("title", ""), folder=str(folder),
                              version=previous.meta.get("version"))
        gone = fetched.outcome == "gone"
        kind = "gone" if gone else ("new" if previous is None else "changed")
        version = (previous.meta.get("version", 0) if previous else 0) + 1
        metadata = {"outlink": [link.url for link in fetched.document.links]} if fetched.document else {}
        metadata["extractor"] = [f"{k} {v}" for k, v in sorted(extractor_versions().items())]
        ref = self.warc.write_capture(capture, metadata)
        candidate.meta.update(version=version, kind=kind, warc=ref.as_dict())
        self.store.write(candidate)
        log.info("%s: %s (version %d)", url, kind, version)
        return PageResult(url, kind, status, candidate.meta.get("title", ""), folder=str(folder), version=version)

    def _candidate(self, url: str, folder, fetched: Fetched) -> PageVersion:
        capture, final, doc = fetched.capture, fetched.capture.final, fetched.document
        meta: dict[str, Any] = {
            "url": url,
            "role": "article",
            "final_url": capture.final_url,
            "status": final.status,
            "content_type": final.content_type or None,
            "captured_at": final.started.isoformat(),
            "extractor": extractor_versions(),
            "redirects": [{"url": e.url, "status": e.status} for e in capture.exchanges[:-1]],
        }
        if final.truncated:
            meta["truncated"] = final.truncated
        if doc is not None:
            meta.update(title=doc.title, byline=doc.byline, published=doc.published or None,
                        canonical_url=doc.canonical_url)
            return PageVersion(folder, meta, doc.article_text(), doc.links_text())
        if fetched.outcome != "gone":
            meta["content_digest"] = final.payload_digest  # no text to compare: the bytes are the content
            meta["content_length"] = final.body_length
        return PageVersion(folder, meta, None, None)

    def _commit(self, summary: RunSummary, extra_paths: tuple[str, ...]) -> str | None:
        versions = [r for r in summary.results if r.outcome in ("new", "changed", "gone")]
        paths = [r.folder for r in versions]
        if summary.warc:
            paths.append(summary.warc)
        paths.extend(extra_paths)
        if not paths:
            return None
        counts = summary.counts()
        head = ", ".join(f"{counts[k]} {k}" for k in ("new", "changed", "gone") if counts[k]) or "tracking update"
        body = "\n".join(f"{r.outcome}: {r.url}" for r in versions)
        message = f"archiver: {head}\n\n{body}\n" if body else f"archiver: {head}\n"
        author = (self.config.git_author_name, self.config.git_author_email)
        return self.store.commit(message, self.started, author, paths)


def _same(previous: PageVersion, candidate: PageVersion) -> bool:
    def stable(meta: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in meta.items() if k not in CAPTURE_FIELDS}

    return (previous.article == candidate.article and previous.links == candidate.links
            and stable(previous.meta) == stable(candidate.meta))


def _is_html(content_type: str, head: bytes) -> bool:
    if content_type:
        return content_type in HTML_TYPES
    sniff = head[:512].lstrip().lower()
    return sniff.startswith((b"<!doctype html", b"<html")) or b"<head" in sniff or b"<body" in sniff


def _posix(path) -> str | None:
    return path.as_posix() if path is not None else None
