"""One run: fetch pages in a worker pool, follow cited sources, write versions, record checks,
commit.

A job goes down once: the run schedules it, the capture stage fetches it under the fetch policy
(`policy.CapturePolicy`), a worker process extracts its text (`extract.Extractor`), and the calling
thread classifies the capture (`classify`), writes its WARC records and page files, and makes the
run's one commit. Workers fetch and extract in parallel; the calling thread alone writes the WARC
(one writer) and touches git, so no file is ever written from two threads.
"""

from __future__ import annotations

import functools
import logging
import queue
import shutil
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from .. import __version__
from ..capture.addresses import AddressPolicy, origin
from ..capture.answer import Verdict
from ..capture.exchange import Capture
from ..capture.fetch import Fetcher
from ..capture.policy import Captured, CapturePolicy
from ..capture.politeness import HostQueues, site_of
from ..config import Config
from ..errors import ArchiverError, FolderCollision
from ..evidence.warc import IDENTICAL_PAYLOAD, IDENTICAL_TEXT, NOT_MODIFIED, WarcFile, warcinfo
from ..history.compare import parse_links
from ..storage.meta import GONE_KINDS
from ..storage.state import Check, Outcome, PageState, PayloadRecord, State
from ..storage.store import (
    ARTICLE,
    CHECKS,
    CONFIRMED,
    META,
    WORK_DIR,
    PageFiles,
    Store,
    commit_message,
)
from ..text.extract import Extractor, Unextractable, body_of
from ..text.links import Link
from ..text.normalize import Document, extractor_versions
from . import classify
from .classify import Change
from .due import due_at, next_interval
from .results import KIND_OUTCOME, VERSION_OUTCOMES, PageResult, RunSummary

log = logging.getLogger(__name__)

# What the capture stage's verdict counts as, when the check ends there.
VERDICT_OUTCOME = {
    Verdict.GONE: Outcome.GONE,
    Verdict.FAILED: Outcome.FAILED,
    Verdict.SKIPPED: Outcome.SKIPPED,
    Verdict.DEFERRED: Outcome.DEFERRED,
}
NOT_MADE = (
    Verdict.FAILED,
    Verdict.SKIPPED,
    Verdict.DEFERRED,
)  # checks that make no version and confirm none


@dataclass
class Fetched:
    """What a worker hands back: the capture stage's result, and the extracted document if the page
    has text."""

    captured: Captured
    depth: int
    document: Document | None = None
    extraction: Future[Document | None] | None = (
        None  # the document, while a worker process extracts it
    )

    @property
    def capture(self) -> Capture:
        return self.captured.capture

    @property
    def verdict(self) -> Verdict:
        return self.captured.verdict


@dataclass(frozen=True)
class Job:
    url: str
    depth: int  # link hops from a tracked article
    headers: tuple[tuple[str, str], ...] = ()  # conditional request validators
    # The time budget it draws on, named: the sources of the article whose citations led here (or,
    # for a source checked on its own, of its site); None for a tracked article.
    budget: str | None = None


Reported = tuple[Job, Fetched | Exception]


class Frontier:
    """The jobs of a run, by site: each URL scheduled once, a cited source only when it is due (or
    forced)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.queues: HostQueues[Job] = HostQueues(
            run.config.fetch.per_host, run.config.fetch.per_host_delay
        )
        self.scheduled: set[str] = set()

    def schedule(self, url: str, hops: int, budget: str | None = None) -> None:
        if url in self.scheduled:  # a source cited by many pages is fetched once per run
            return
        known = self.run.states.get(url)
        if budget and not self.run.force and known is not None and not known.due(self.run.started):
            return  # a source is re-checked when it is due itself
        self.scheduled.add(url)
        self.queues.put(site_of(url), Job(url, hops, self.run.validators(url), budget))


class Run:
    def __init__(
        self,
        root: Path,
        config: Config,
        store: Store,
        state: State,
        tracked: set[str],
        force: bool = False,
    ) -> None:
        self.root = root
        self.config = config
        self.store = store
        self.state = state
        self.states = state.pages()
        self.tracked = tracked
        self.force = force  # check every cited source, due or not
        self.started = datetime.now(UTC)
        self.spool = root / WORK_DIR / "spool"  # bodies in flight; nothing in it outlives a run
        self.fetcher = Fetcher(config.fetch, self.spool)
        # The origins the user named are fetched wherever they are; every other request is held to
        # public addresses unless the settings allow private ones.
        addresses = AddressPolicy(
            config.sources.allow_private, frozenset(origin(url) for url in tracked)
        )
        self.capturer = CapturePolicy(config, self.fetcher, addresses)
        info = warcinfo(
            f"archiver/{__version__}",
            extractor_versions(),
            config.fetch.user_agent,
            config.fetch.robots,
            config.warc_operator,
        )
        self.warc = WarcFile(root, config.warc_prefix, self.started, info)
        # Checks that found a version unchanged: revisits of its record, committed with the run.
        # Named apart from the main WARCs, so that no tool that puts WARCs side by side (pywb, a
        # WACZ) sees two files of one name.
        self.confirmations = WarcFile(
            root, f"{config.warc_prefix}-checks", self.started, info, base=CONFIRMED
        )
        self.confirmed = 0
        # Failed checks: what came is kept as evidence, out of git (.archiver/ is ignored).
        self.failures = WarcFile(
            root, f"{config.warc_prefix}-failed", self.started, info, base=CHECKS
        )
        self.extractor = Extractor(config.fetch, config.ignore)
        self.citations: dict[str, set[str]] = defaultdict(set)
        self.pages: dict[str, PageFiles] = {}  # each page's current files, as this run left them
        self.latest_capture = self.started  # the commit is dated at the last capture it holds

    def execute(
        self,
        urls: list[str],
        on_result: Callable[[PageResult], None] | None = None,
        extra_paths: tuple[str, ...] = (),
        depth: int | None = None,
        sources: Iterable[str] = (),
    ) -> RunSummary:
        """Capture `urls` (depth 0), `sources` (due sources, depth 1) and, up to `depth` link hops,
        what they cite."""
        max_depth = self.config.sources.depth if depth is None else depth
        summary = RunSummary(started=self.started)
        checks: list[Check] = []
        shutil.rmtree(self.spool, ignore_errors=True)
        frontier = Frontier(self)
        for url in urls:
            frontier.schedule(url, 0)
        for url in sources:  # checked on their own: the sources on one site share a budget
            frontier.schedule(url, 1, budget=f"the sources on {site_of(url)} checked on their own")

        def report(job: Job, fetched: Fetched | Exception) -> None:
            result, check, links = self._settle(job, fetched)
            summary.results.append(result)
            if check is not None:
                checks.append(check)
            if on_result:
                on_result(result)
            if result.depth < max_depth:
                self._follow(frontier, job, result, links)

        self._capture_all(frontier, report, summary)
        self._finish(summary, urls, checks, extra_paths)
        return summary

    def _capture_all(
        self,
        frontier: Frontier,
        report: Callable[[Job, Fetched | Exception], None],
        summary: RunSummary,
    ) -> None:
        """Run the workers until every scheduled job (those its results schedule too) has reported
        once."""
        results: queue.Queue[Reported] = queue.Queue()
        workers = [
            threading.Thread(
                target=self._worker, args=(frontier.queues, results), name=f"fetch-{i}", daemon=True
            )
            for i in range(self.config.fetch.workers)
        ]
        finished = False
        try:
            for worker in workers:
                worker.start()
            self.extractor.start(
                len(frontier.scheduled)
            )  # the extraction processes start while the first fetches run
            reported = 0
            while len(frontier.scheduled) > reported:  # every scheduled job reports exactly once
                report(*results.get())
                reported += 1
            summary.warc = _posix(self.warc.close())
            summary.checks = _posix(self.confirmations.close())
            self.failures.close()
            finished = True
        except BaseException:
            self.warc.abort()
            self.confirmations.abort()
            self.failures.abort()
            raise
        finally:
            frontier.queues.close()
            # Interrupted (SIGTERM, Ctrl-C, a bug), the run ends now: extractions still running are
            # stopped, and fetches still in flight are left to die with this process rather than
            # waited for.
            self.extractor.close()
            for worker in workers if finished else ():
                worker.join(timeout=self.config.fetch.deadline)
            self.fetcher.close()
            shutil.rmtree(self.spool, ignore_errors=True)

    def _follow(self, frontier: Frontier, job: Job, result: PageResult, links: list[Link]) -> None:
        """Schedule the sources a page cites (in scope, up to the per-article limit)."""
        cited = self._in_scope(result, links)
        for link in cited:
            self.citations[link.url].add(job.url)
        # Least recently checked first: when the article's time budget runs out, the sources it
        # leaves for the next run come first then.
        for link in sorted(cited, key=self._last_checked):
            frontier.schedule(
                link.url, result.depth + 1, budget=job.budget or f"the sources of {job.url}"
            )

    def _finish(
        self,
        summary: RunSummary,
        urls: list[str],
        checks: list[Check],
        extra_paths: tuple[str, ...],
    ) -> None:
        """Commit what the run wrote, then record its checks, then push."""
        order = {u: i for i, u in enumerate(urls)}
        summary.results.sort(key=lambda r: (r.depth, order.get(r.url, len(order)), r.url))
        annotated = self._annotate(summary.results)
        began = time.monotonic()
        summary.commit = self._commit(summary, [*annotated, *extra_paths])
        summary.timings["commit"] = round(time.monotonic() - began, 3)
        # Only now: the checks' validators and the payloads remembered for dedup describe committed
        # versions. A run that dies before this point records nothing, and its pages are simply due
        # again.
        self.state.record(checks)
        if summary.commit and self.config.git_push_remote:
            summary.push_error = self.store.push(self.config.git_push_remote)
        summary.extract_processes = self.extractor.processes
        summary.finished = datetime.now(UTC)
        summary.timings["total"] = round((summary.finished - self.started).total_seconds(), 3)

    def validators(self, url: str) -> tuple[tuple[str, str], ...]:
        """If-None-Match / If-Modified-Since from the last answer, when the archive holds the page's
        version."""
        known = self.states.get(url)
        if known is None or not (known.etag or known.last_modified):
            return ()
        if not (self.root / self.store.folder(url) / META).exists():
            return ()
        headers = []
        if known.etag:
            headers.append(("If-None-Match", known.etag))
        if known.last_modified:
            headers.append(("If-Modified-Since", known.last_modified))
        return tuple(headers)

    # -- in the workers ----------------------------------------------------------------------

    def _worker(self, queues: HostQueues[Job], results: queue.Queue[Reported]) -> None:
        while (item := queues.take()) is not None:
            host, job = item
            released = threading.Event()

            def release(host: str = host, released: threading.Event = released) -> None:
                if not released.is_set():
                    released.set()
                    queues.done(host)

            try:
                fetched = self._work(job, release)
            except (
                ArchiverError
            ) as exc:  # the archive refuses (a full disk): the calling thread stops the run
                results.put((job, exc))
                continue
            except Exception as exc:  # a bug in one page's handling must not lose the run
                log.exception("internal error while fetching %s", job.url)
                results.put((job, exc))
                continue
            finally:
                release()
            if fetched.extraction is None:
                results.put((job, fetched))
            else:  # reported when the worker process is done; this thread goes on fetching
                fetched.extraction.add_done_callback(
                    functools.partial(self._report_extracted, results, job, fetched)
                )

    def _work(self, job: Job, release: Callable[[], None] = lambda: None) -> Fetched:
        """Capture one page, then hand its body to extraction; `release` frees its site's slot as
        soon as the network is done."""
        captured = self.capturer.capture(job.url, job.headers, job.budget, release)
        fetched = Fetched(captured, job.depth)
        body = captured.capture.answer.body if captured.verdict == Verdict.OK else None
        if body is not None:
            fetched.extraction = self.extractor(body_of(captured.capture))
        return fetched

    def _report_extracted(
        self,
        results: queue.Queue[Reported],
        job: Job,
        fetched: Fetched,
        future: Future[Document | None],
    ) -> None:
        results.put((job, self._extracted(fetched, future)))

    def _extracted(self, fetched: Fetched, future: Future[Document | None]) -> Fetched | Exception:
        """`fetched` with the document a worker process extracted; failed if the page gives none."""
        try:
            fetched.document = self.extractor.result(future)
        except (
            Unextractable
        ) as exc:  # over a limit: the capture stays, as evidence of what was served
            return Fetched(Captured(fetched.capture, Verdict.FAILED, str(exc)), fetched.depth)
        except Exception as exc:
            log.exception("extraction failed for %s", fetched.capture.url)
            return exc
        return fetched

    # -- in the calling thread ---------------------------------------------------------------

    def _settle(
        self, job: Job, fetched: Fetched | Exception
    ) -> tuple[PageResult, Check | None, list[Link]]:
        """The check's result, what to record of it (None: it was not made, the page stays due), its
        links."""
        url = job.url
        if isinstance(fetched, ArchiverError):
            raise fetched  # the archive itself refuses (a full disk): the run stops, and is undone
        if isinstance(fetched, Exception):
            captured = Captured(
                Capture(url=url, started=datetime.now(UTC)),
                Verdict.FAILED,
                f"internal error: {fetched}",
            )
            fetched = Fetched(captured, depth=job.depth)
        capture = fetched.capture
        folder = self.store.folder(url)
        try:
            result, links = self._classify(url, folder, fetched)
        except (
            FolderCollision
        ) as exc:  # another URL's history is never touched: this check fails instead
            log.error("%s: %s", url, exc)
            result, links = (
                PageResult(
                    url,
                    Outcome.FAILED,
                    error=str(exc),
                    folder=str(folder),
                    role=self._role(url),
                    depth=job.depth,
                ),
                [],
            )
        finally:
            capture.discard()
        if result.outcome == Outcome.DEFERRED:
            return result, None, []
        return result, self._check(url, capture, result), links

    def _check(self, url: str, capture: Capture, result: PageResult) -> Check:
        """What the state database records of a check: its outcome, and when the page is due
        again."""
        final = capture.final
        known = self.states.get(url)
        interval = next_interval(self.config.schedule, url, result.outcome, known, capture.started)
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
            next_due=due_at(capture.started, interval),
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
        if classify.loses_text(
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
        change = classify.kind_of(previous, candidate, had_text=previous_text is not None)
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
        self.confirmations.write_revisit(capture, record_of(previous), profile)
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

    def _last_checked(self, link: Link) -> str:
        known: PageState | None = self.states.get(link.url)
        return known.last_checked if known else ""  # never checked: first

    def _role(self, url: str) -> str:
        return "article" if url in self.tracked else "source"

    def _in_scope(self, result: PageResult, links: list[Link]) -> list[Link]:
        citing_host = urlsplit(result.url).hostname or ""
        chosen = [link for link in links if self.config.sources.in_scope(link.url, citing_host)]
        return chosen[: self.config.sources.max_per_article]

    def _annotate(self, results: list[PageResult]) -> list[str]:
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

    def _commit(self, summary: RunSummary, paths: list[str]) -> str | None:
        versions = summary.versions
        paths = [r.folder for r in versions] + paths
        paths += [path for path in (summary.warc, summary.checks) if path]
        counts = {k: v for k, v in summary.counts().items() if k in VERSION_OUTCOMES}
        summary.confirmed = self.confirmed

        def message(changed: list[str]) -> str:
            summary.changed = any(path != summary.checks for path in changed)
            lines = [r.message_line() for r in versions]
            return commit_message(counts, lines, self.confirmed, summary.changed)

        author = (self.config.git_author_name, self.config.git_author_email)
        # git dates have whole seconds: round up, so "as of the commit date" includes every capture
        # in it.
        when = self.latest_capture
        if when.microsecond:
            when = when.replace(microsecond=0) + timedelta(seconds=1)
        return self.store.commit(message, when, author, paths)


def record_of(previous: PageFiles) -> PayloadRecord:
    """The record that holds the payload of the page's archived version."""
    ref = previous.meta["warc"]
    target = ref.get("refers_to") or ref
    return PayloadRecord(
        uri=target["target_uri"],
        date=target.get("date") or previous.meta.get("captured_at", ""),
        file=target["file"],
        offset=target["offset"],
        record_id=target["record_id"],
    )


def _posix(path: Path | None) -> str | None:
    return path.as_posix() if path is not None else None
