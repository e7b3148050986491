"""Settling each check in the calling thread: the capture classified (`classify`), its evidence
written (a version's records in the run's WARC, a confirmation in its checks WARC, a failed answer
in `.archiver/checks/`), its page files written, and what the state database will record of it.

One thread settles, so every WARC file and page file is written by one writer; nothing here runs git
(the run commits what was settled).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Container
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from ..capture.answer import Verdict
from ..capture.exchange import Capture
from ..capture.policy import Captured
from ..config import Config
from ..discovery.listing import Listing
from ..errors import ArchiverError, FolderCollision
from ..evidence.warc import (
    IDENTICAL_PAYLOAD,
    IDENTICAL_TEXT,
    NOT_MODIFIED,
    WarcFile,
    share_serial,
)
from ..history import announcement
from ..history.compare import parse_links
from ..storage.meta import GONE_KINDS, MAX_ENTRY_URLS, Entries, Kind
from ..storage.state import Check, Outcome, PageState, PayloadRecord, State
from ..storage.store import ARTICLE, CHECKS, CONFIRMED, PageFiles, Store
from ..text.links import Link
from ..text.normalize import Document, extractor_versions
from ..text.notices import Notices
from . import classify
from .classify import Change
from .due import due_at, next_interval
from .results import KIND_OUTCOME, VERSION_OUTCOMES, PageResult

log = logging.getLogger(__name__)

# What the capture stage's verdict counts as, when the check ends there.
VERDICT_OUTCOME = {
    Verdict.GONE: Outcome.GONE,
    Verdict.FAILED: Outcome.FAILED,
    Verdict.SKIPPED: Outcome.SKIPPED,
    Verdict.DEFERRED: Outcome.DEFERRED,
}
# Checks that make no version and confirm none.
NOT_MADE = (Verdict.FAILED, Verdict.SKIPPED, Verdict.DEFERRED)


@dataclass
class Fetched:
    """What a worker hands back: the capture stage's result, and the extracted document if the page
    has text."""

    captured: Captured
    depth: int
    document: Document | None = None
    # While a worker process extracts it: the document, or for a follow its `Listing`.
    extraction: Future[Any] | None = None
    listing: Listing | None = None  # a followed listing's entries, read (its document: as text)

    @property
    def capture(self) -> Capture:
        return self.captured.capture

    @property
    def verdict(self) -> Verdict:
        return self.captured.verdict


class Settler:
    """Settles the checks of one run, and keeps what the run's commit needs of them: its WARC files,
    the pages as the run left them, who cites whom, and the time of the last capture."""

    def __init__(
        self,
        root: Path,
        config: Config,
        store: Store,
        state: State,
        states: dict[str, PageState],
        tracked: set[str],
        started: datetime,
        info: dict[str, str],
        follows: Container[str] = (),
        release: Callable[[Capture], None] = Capture.discard,
    ) -> None:
        """`release`: lets go of a settled capture's spooled bodies (deletes them, by default)."""
        self.config = config
        self.release = release
        self.follows = follows  # the followed listings' URLs (the run adds an index's sitemaps)
        self.found_by: dict[str, str] = {}  # articles a poll brought in this run: the follow's URL
        self.store = store
        self.state = state
        self.states = states
        self.tracked = tracked
        self.warc = WarcFile(root, config.warc_prefix, started, info)
        # Checks that found a version unchanged: revisits of its record, committed with the run.
        # Named apart from the main WARCs, so that no tool that puts WARCs side by side (pywb, a
        # WACZ) sees two files of one name.
        self.confirmations = WarcFile(
            root, f"{config.warc_prefix}-checks", started, info, base=CONFIRMED
        )
        self.confirmed = 0
        # Failed checks: what came is kept as evidence, out of git (.archiver/ is ignored).
        self.failures = WarcFile(root, f"{config.warc_prefix}-failed", started, info, base=CHECKS)
        share_serial([self.warc, self.confirmations, self.failures])
        self.citations: dict[str, set[str]] = defaultdict(set)
        self.pages: dict[str, PageFiles] = {}  # each page's current files, as this run left them
        self.notices = Notices().with_patterns(config.announce_notices)
        self.started = started
        self.latest_capture = started  # the commit is dated at the last capture it holds

    def close(self) -> tuple[str | None, str | None]:
        """Close the run's WARC files: the main one and the confirmations' (relative paths, None
        when nothing was written to them)."""
        warc, checks = _posix(self.warc.close()), _posix(self.confirmations.close())
        self.failures.close()
        return warc, checks

    def abort(self) -> None:
        for warc in (self.warc, self.confirmations, self.failures):
            warc.abort()

    def settle(
        self, url: str, depth: int, fetched: Fetched | Exception
    ) -> tuple[PageResult, Check | None, list[Link]]:
        """The check's result, what to record of it (None: it was not made, the page stays due), its
        links."""
        if isinstance(fetched, ArchiverError):
            raise fetched  # the archive itself refuses (a full disk): the run stops, and is undone
        if isinstance(fetched, Exception):
            captured = Captured(
                Capture(url=url, started=datetime.now(UTC)),
                Verdict.FAILED,
                f"internal error: {fetched}",
            )
            fetched = Fetched(captured, depth=depth)
        capture = fetched.capture
        folder = self.store.folder(url)
        listed_before = self._listed(folder, url) if url in self.follows else set()
        try:
            result, links = self._classify(url, folder, fetched)
        # Another URL's history is never touched: this check fails instead.
        except FolderCollision as exc:
            log.error("%s: %s", url, exc)
            result, links = (
                PageResult(
                    url,
                    Outcome.FAILED,
                    error=str(exc),
                    folder=str(folder),
                    role=self._role(url),
                    depth=depth,
                ),
                [],
            )
        finally:
            self.release(capture)
        if result.outcome == Outcome.DEFERRED:
            return result, None, []
        if url in self.follows:  # a listing cites nothing: its links are the entries new since
            links = [link for link in links if link.url not in listed_before]
        return result, self._check(url, capture, result), links

    def _listed(self, folder: PurePosixPath, url: str) -> set[str]:
        """The article URLs a followed listing's last version listed."""
        previous = self.store.read(folder, url)
        return {u for u, _ in parse_links(previous.links if previous else None)}

    def _check(self, url: str, capture: Capture, result: PageResult) -> Check:
        """What the state database records of a check: its outcome, and when the page is due
        again."""
        final = capture.final
        known = self.states.get(url)
        interval = next_interval(self.config.schedule, url, result.outcome, known, capture.started)
        next_due = due_at(capture.started, interval)
        # Checked by hand before it was due (`--all`, or the URL named): a change resets the schedule,
        # but a page found as it was keeps its schedule, which learns stability from due checks only.
        if result.outcome not in VERSION_OUTCOMES and known and not known.due(self.started):
            interval = known.interval_minutes or interval
            next_due = known.next_due or next_due
        if (
            result.outcome == Outcome.SKIPPED
        ):  # by policy: tried again as soon as the settings allow
            next_due = capture.started.isoformat()
        # Validators always describe the response archived as the current version, so that a 304
        # means "the bytes we hold": a 200 that made no version (same text, other bytes) keeps the
        # old ones.
        etag, last_modified = (known.etag, known.last_modified) if known else (None, None)
        if final is not None and result.kind is not None:
            ok = 200 <= final.status < 300
            etag, last_modified = (
                (final.header("ETag"), final.header("Last-Modified")) if ok else (None, None)
            )
        return Check(
            url=url,
            checked_at=capture.started.isoformat(),
            outcome=result.outcome,
            status=final.status if final else None,
            duration_ms=int(capture.duration * 1000),
            payload_digest=final.payload_digest if final else None,
            error=result.error,
            role=result.role,
            interval_minutes=interval,
            next_due=next_due,
            etag=etag,
            last_modified=last_modified,
        )

    def _classify(
        self, url: str, folder: PurePosixPath, fetched: Fetched
    ) -> tuple[PageResult, list[Link]]:
        """The check's result, and the links the page cites now (for its sources)."""
        capture, verdict = fetched.capture, fetched.verdict
        final = capture.final
        base = PageResult(
            url,
            VERDICT_OUTCOME.get(verdict, Outcome.NEW),
            status=final.status if final else None,
            folder=str(folder),
            role=self._role(url),
            depth=fetched.depth,
        )
        if verdict in NOT_MADE:
            base.error = fetched.captured.error
            if (
                capture.exchanges
            ):  # what came before the failure (a redirect loop's hops), or the failed answer
                self.failures.write_capture(capture)
            return base, []
        previous = self.store.read(folder, url)
        if previous is not None:
            self.pages[url] = previous
        if verdict == Verdict.NOT_MODIFIED and previous is not None:
            self._confirm(capture, previous, NOT_MODIFIED, base)
            base.title = previous.meta.get("title", "")
            # Unchanged by the server's word: it cites what it cited.
            return base, [Link(url=u, text=t, href=u) for u, t in parse_links(previous.links)]
        previous_text = self._last_text(previous)
        cited_by = set(previous.meta.get("cited_by", []) if previous else []) | self.citations.get(
            url, set()
        )
        candidate = classify.candidate(
            folder, self._role(url), cited_by, capture, verdict, fetched.document, previous_text
        )
        if url not in self.follows and classify.loses_text(
            previous_text, candidate
        ):  # an empty or script-built page, an unreadable PDF
            base.error = (
                "no text in the answer, where the archived version has some (an empty page, one "
                "built by scripts, or an unreadable PDF); the archived text is kept"
            )
            base.outcome = Outcome.FAILED
            self.failures.write_capture(capture)
            return base, []
        base.title = candidate.meta.get("title", "")
        # A page without text now (gone, a soft-404's front page) cites nothing of its own.
        links = fetched.document.links if fetched.document and candidate.article is not None else []
        if previous is not None and classify.same(previous, candidate):
            same_bytes = capture.answer.payload_digest == previous.meta.get("warc", {}).get(
                "payload_digest"
            )
            self._confirm(
                capture, previous, IDENTICAL_PAYLOAD if same_bytes else IDENTICAL_TEXT, base
            )
            return base, links
        change = classify.kind_of(
            previous, candidate, had_text=previous_text is not None, listing=url in self.follows
        )
        self._write_version(capture, previous, candidate, change, links)
        base.outcome, base.version = KIND_OUTCOME[change.kind], candidate.meta["version"]
        base.kind, base.summary = change.kind, change.summary
        return base, links

    def _write_version(
        self,
        capture: Capture,
        previous: PageFiles | None,
        candidate: PageFiles,
        change: Change,
        links: list[Link],
    ) -> None:
        """Write the capture's WARC records, then the version's page files."""
        version = (previous.meta.get("version", 0) if previous else 0) + 1
        metadata = {"outlink": [f"{link.url} {link.href}" for link in links]} if links else {}
        metadata["extractor"] = [f"{k} {v}" for k, v in sorted(extractor_versions().items())]
        ref = self.warc.write_capture(capture, metadata, duplicate_of=self.state.find_record)
        if ref.refers_to is None and ref.payload_digest:
            self.state.remember_record(ref.payload_digest, ref.as_record())
        meta = candidate.meta
        meta["version"], meta["kind"], meta["summary"] = version, change.kind, change.summary
        meta["warc"] = ref.as_dict()
        if change.counts:
            meta["changes"] = change.counts
        if meta["url"] in self.follows:  # a listing announces nothing: its entries are the news
            meta["entries"] = _entries(previous, candidate)
            meta["summary"] = _entries_summary(meta["entries"], change.kind)
        elif change.kind == Kind.EDITED and previous is not None:
            announcement.record(meta, announcement.judge(previous, candidate, self.notices))
        found_by = self.found_by.get(meta["url"]) or (
            previous.meta.get("found_by") if previous else None
        )
        if found_by:
            meta["found_by"] = found_by
        self.store.write(candidate)
        self.pages[candidate.meta["url"]] = candidate
        self.latest_capture = max(
            self.latest_capture, datetime.fromisoformat(candidate.meta["captured_at"])
        )
        log.info(
            "%s: %s (version %d): %s", candidate.meta["url"], change.kind, version, change.summary
        )

    def _confirm(
        self, capture: Capture, previous: PageFiles, profile: str, result: PageResult
    ) -> None:
        """Record that the check found `previous` unchanged: a revisit of its record, with
        `profile`."""
        self.confirmations.write_revisit(capture, PayloadRecord.of(previous.meta), profile)
        self.confirmed += 1
        self.latest_capture = max(self.latest_capture, capture.answer.started)
        result.outcome, result.version = Outcome.UNCHANGED, previous.meta.get("version")

    def _last_text(self, previous: PageFiles | None) -> str | None:
        """The page's latest text; for a page now gone, the text it had before it went."""
        if (
            previous is None
            or previous.article is not None
            or previous.meta.get("kind") not in GONE_KINDS
        ):
            return previous.article if previous is not None else None
        return self.store.last_content(f"{previous.dir}/{ARTICLE}")

    def _role(self, url: str) -> str:
        if url in self.follows:
            return "follow"
        return "article" if url in self.tracked else "source"

    def annotate(self, results: list[PageResult]) -> list[str]:
        """Record who cites each page, and its role, in meta.json; these never make a version."""
        touched = []
        for result in results:
            page = self.pages.get(result.url)  # failed, skipped and never-archived pages have none
            if page is None:
                continue
            cited_by = sorted(
                set(page.meta.get("cited_by", [])) | self.citations.get(result.url, set())
            )
            changed = page.meta.get("role") != result.role or (
                cited_by and page.meta.get("cited_by") != cited_by
            )
            if changed:
                page.meta["role"] = result.role
                if cited_by:
                    page.meta["cited_by"] = cited_by
                self.store.write_meta(page)
                touched.append(result.folder)
        return touched


def _entries(previous: PageFiles | None, candidate: PageFiles) -> Entries:
    """The entries a listing's new version added and dropped, in listing order."""
    before = [u for u, _ in parse_links(previous.links if previous else None)]
    now = [u for u, _ in parse_links(candidate.links)]
    was, are = set(before), set(now)
    listed = [u for u in now if u not in was]
    unlisted = [u for u in before if u not in are]
    return {
        "listed": listed[:MAX_ENTRY_URLS],
        "unlisted": unlisted[:MAX_ENTRY_URLS],
        "counts": {"listed": len(listed), "unlisted": len(unlisted)},
    }


def _entries_summary(entries: Entries, kind: str) -> str:
    """A listing's change in entries: "3 listed, 1 unlisted"; "nothing listed" for a first one
    that lists nothing; "titles or dates changed" when the entries stayed."""
    counts = entries["counts"]
    said = [f"{counts[key]} {key}" for key in ("listed", "unlisted") if counts[key]]
    if said:
        return ", ".join(said)
    return "nothing listed" if kind == Kind.NEW else "titles or dates changed"


def _posix(path: Path | None) -> str | None:
    return path.as_posix() if path is not None else None
