"""One run: fetch pages in a worker pool, follow cited sources, write versions, record checks, commit.

Workers fetch and extract in parallel; the calling thread alone classifies, writes the WARC
(one writer) and touches git, so no file is ever written from two threads.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from . import __version__, answer
from .addresses import AddressPolicy, PrivateAddress, check_public, origin
from .answer import GONE_STATUSES
from .capture import Capture
from .compare import compare, parse_article, parse_links
from .config import Config
from .deadline import Deadline
from .due import due_at, next_interval
from .errors import ArchiverError, FolderCollision
from .extract import Extractor, Unextractable, body_of, document_meta, text_kind
from .fetch import Fetcher
from .kinds import moved as kinds_moved
from .kinds import soft_404
from .links import Link
from .normalize import Document, extractor_versions
from .politeness import Budget, HostQueues, site_of
from .robots import Robots, RobotsUnavailable
from .state import Check, Record, State
from .store import ARTICLE, CHECKS, CONFIRMED, META, WORK_DIR, PageVersion, Store
from .warc import IDENTICAL_PAYLOAD, IDENTICAL_TEXT, NOT_MODIFIED, WarcFile, warcinfo

log = logging.getLogger(__name__)

OUTCOMES = ("new", "changed", "unchanged", "gone", "failed", "skipped", "deferred")
VERSION_OUTCOMES = ("new", "changed", "gone")
# Each kind of version, and the run outcome it counts as.
KIND_OUTCOME = {"new": "new", "edited": "changed", "moved": "changed", "restored": "changed",
                "gone": "gone", "soft-404": "gone"}
GONE_KINDS = ("gone", "soft-404")
# Facts about a capture, the change, or who cites the page, not about what it says: never a new version.
NOT_CONTENT = frozenset({"captured_at", "version", "kind", "changes", "summary", "extractor", "warc", "redirects",
                         "role", "cited_by"})


@dataclass
class PageResult:
    url: str
    outcome: str  # one of OUTCOMES
    status: int | None = None
    title: str = ""
    error: str | None = None
    folder: str = ""
    version: int | None = None
    role: str = "article"  # or "source"
    depth: int = 0  # link hops from a tracked article
    kind: str | None = None  # the version's kind, when the check made one
    summary: str = ""  # what changed, in a few words


@dataclass
class RunSummary:
    started: datetime
    finished: datetime | None = None
    results: list[PageResult] = field(default_factory=list)
    commit: str | None = None
    warc: str | None = None
    checks: str | None = None  # the WARC of the run's confirmations (revisits of the versions found unchanged)
    confirmed: int = 0  # versions confirmed unchanged (a revisit record each)
    changed: bool = False  # the commit holds more than confirmations
    push_error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    extract_processes: int = 0  # the most worker processes extracting text at once
    recovered: list[str] = field(default_factory=list)  # WARCs of an interrupted run, set aside first

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for result in self.results:
            counts[result.outcome] += 1
        return counts

    @property
    def any_failed(self) -> bool:
        return any(r.outcome == "failed" for r in self.results)

    def line(self) -> str:
        shown = ", ".join(f"{n} {k}" for k, n in self.counts().items()
                          if n or k not in ("gone", "skipped", "deferred"))
        sources = sum(r.role == "source" for r in self.results)
        scope = f" ({len(self.results) - sources} articles, {sources} sources)" if sources else ""
        tail = f"; commit {self.commit[:10]}" if self.commit else "; no commit"
        return f"{len(self.results)} checked{scope}: {shown}{tail}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat() if self.finished else None,
            "counts": self.counts(),
            "commit": self.commit,
            "warc": self.warc,
            "checks": self.checks,
            "confirmed": self.confirmed,
            "push_error": self.push_error,
            "timings": self.timings,
            "extract_processes": self.extract_processes,
            "recovered": self.recovered,
            "results": [asdict(r) for r in self.results],
        }


@dataclass
class Fetched:
    """What a worker hands back: the capture, and the extracted document if the page has text."""

    capture: Capture
    depth: int
    document: Document | None = None
    outcome: str = ""  # "ok", "not-modified", "gone", "failed", "skipped" or "deferred"
    error: str | None = None
    extraction: Future[Document | None] | None = None  # the document, while a worker process extracts it


@dataclass(frozen=True)
class Job:
    url: str
    depth: int  # link hops from a tracked article
    headers: tuple[tuple[str, str], ...] = ()  # conditional request validators
    # The time budget it draws on, named: the sources of the article whose citations led here (or, for a source
    # checked on its own, of its site); None for a tracked article.
    budget: str | None = None


class Run:
    def __init__(self, root: Path, config: Config, store: Store, state: State, tracked: set[str],
                 force: bool = False) -> None:
        self.root = root
        self.config = config
        self.store = store
        self.state = state
        self.states = state.pages()
        self.tracked = tracked
        # The origins the user named are fetched wherever they are; every other request is held to public
        # addresses unless the settings allow private ones.
        self.policy = AddressPolicy(config.sources.allow_private, frozenset(origin(url) for url in tracked))
        self.force = force  # check every cited source, due or not
        self.started = datetime.now(UTC)
        self.spool = root / WORK_DIR / "spool"  # bodies in flight; nothing in it outlives a run
        self.fetcher = Fetcher(config.fetch, self.spool)
        info = warcinfo(f"archiver/{__version__}", extractor_versions(), config.fetch.user_agent, config.fetch.robots,
                        config.warc_operator)
        self.warc = WarcFile(root, config.warc_prefix, self.started, info)
        # Checks that found a version unchanged: revisits of its record, committed with the run. Named apart from
        # the main WARCs, so that no tool that puts WARCs side by side (pywb, a WACZ) sees two files of one name.
        self.confirmations = WarcFile(root, f"{config.warc_prefix}-checks", self.started, info, base=CONFIRMED)
        self.confirmed = 0
        # Failed checks: what came is kept as evidence, out of git (.archiver/ is ignored).
        self.failures = WarcFile(root, f"{config.warc_prefix}-failed", self.started, info, base=CHECKS)
        self.robots = Robots(config.fetch.user_agent, self.fetcher) if config.fetch.robots else None
        self.extractor = Extractor(config.fetch, config.ignore)
        self.budget = Budget(config.sources.seconds_per_article)
        self.citations: dict[str, set[str]] = defaultdict(set)
        self.pages: dict[str, PageVersion] = {}  # each page's current files, as this run left them
        self.latest_capture = self.started  # the commit is dated at the last capture it holds

    def execute(self, urls: list[str], on_result: Callable[[PageResult], None] | None = None,
                extra_paths: tuple[str, ...] = (), depth: int | None = None,
                sources: list[str] = ()) -> RunSummary:
        """Capture `urls` (depth 0), `sources` (due sources, depth 1) and, up to `depth` link hops, what they cite."""
        max_depth = self.config.sources.depth if depth is None else depth
        summary = RunSummary(started=self.started)
        shutil.rmtree(self.spool, ignore_errors=True)
        checks: list[Check] = []
        queues: HostQueues[Job] = HostQueues(self.config.fetch.per_host, self.config.fetch.per_host_delay)
        scheduled: set[str] = set()

        def schedule(url: str, hops: int, budget: str | None = None) -> None:
            if url in scheduled:  # a source cited by many pages is fetched once per run
                return
            known = self.states.get(url)
            if budget and not self.force and known is not None and not known.due(self.started):
                return  # a source is re-checked when it is due itself
            scheduled.add(url)
            queues.put(site_of(url), Job(url, hops, self._validators(url), budget))

        results: queue.Queue[tuple[Job, Fetched | Exception]] = queue.Queue()
        workers = [threading.Thread(target=self._worker, args=(queues, results), name=f"fetch-{i}", daemon=True)
                   for i in range(self.config.fetch.workers)]
        finished = False
        try:
            for worker in workers:
                worker.start()
            for url in urls:
                schedule(url, 0)
            for url in sources:  # checked on their own: the sources on one site share a budget
                schedule(url, 1, budget=f"the sources on {site_of(url)} checked on their own")
            self.extractor.start(len(scheduled))  # the extraction processes start while the first fetches run
            while len(scheduled) > len(summary.results):  # every scheduled job reports exactly once
                job, fetched = results.get()
                result, check, links = self._settle(job, fetched)
                summary.results.append(result)
                if check is not None:
                    checks.append(check)
                if on_result:
                    on_result(result)
                if result.depth < max_depth:
                    cited = self._in_scope(result, links)
                    for link in cited:
                        self.citations[link.url].add(job.url)
                    # Least recently checked first: when the article's time budget runs out, the sources it leaves
                    # for the next run come first then.
                    for link in sorted(cited, key=self._last_checked):
                        schedule(link.url, result.depth + 1, budget=job.budget or f"the sources of {job.url}")
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
            queues.close()
            # Interrupted (SIGTERM, Ctrl-C, a bug), the run ends now: extractions still running are stopped,
            # and fetches still in flight are left to die with this process rather than waited for.
            self.extractor.close()
            for worker in workers if finished else ():
                worker.join(timeout=self.config.fetch.deadline)
            self.fetcher.close()
            shutil.rmtree(self.spool, ignore_errors=True)
        order = {u: i for i, u in enumerate(urls)}
        summary.results.sort(key=lambda r: (r.depth, order.get(r.url, len(order)), r.url))
        annotated = self._annotate(summary.results)
        began = time.monotonic()
        summary.commit = self._commit(summary, [*annotated, *extra_paths])
        summary.timings["commit"] = round(time.monotonic() - began, 3)
        # Only now: the checks' validators and the payloads remembered for dedup describe committed
        # versions. A run that dies before this point records nothing, and its pages are simply due again.
        self.state.record(checks)
        if summary.commit and self.config.git_push_remote:
            summary.push_error = self.store.push(self.config.git_push_remote)
        summary.extract_processes = self.extractor.processes
        summary.finished = datetime.now(UTC)
        summary.timings["total"] = round((summary.finished - self.started).total_seconds(), 3)
        return summary

    def _validators(self, url: str) -> tuple[tuple[str, str], ...]:
        """If-None-Match / If-Modified-Since from the last answer, when the archive holds the page's version."""
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

    def _worker(self, queues: HostQueues[Job], results: queue.Queue[tuple[Job, Fetched | Exception]]) -> None:
        while (item := queues.take()) is not None:
            host, job = item
            released = threading.Event()

            def release(host: str = host, released: threading.Event = released) -> None:
                if not released.is_set():
                    released.set()
                    queues.done(host)

            try:
                fetched = self._work(job, release)
            except ArchiverError as exc:  # the archive refuses (a full disk): the calling thread stops the run
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
                    lambda future, job=job, fetched=fetched: results.put((job, self._extracted(fetched, future))))

    def _work(self, job: Job, release: Callable[[], None] = lambda: None) -> Fetched:
        """Fetch and extract one page; `release` frees its site's slot as soon as the network is done."""
        if job.budget is not None and not self.budget.allows(job.budget):
            seconds = self.config.sources.seconds_per_article
            return Fetched(Capture(url=job.url, started=datetime.now(UTC)), job.depth, outcome="deferred",
                           error=f"not checked this run: {job.budget} took their {seconds:g} s")
        begun = time.monotonic()
        with Deadline(self.config.fetch.deadline) as deadline:  # robots.txt and the page share it
            fetched = self._fetch(job, deadline)
        release()
        if job.budget is not None:
            self.budget.spend(job.budget, time.monotonic() - begun)
        if not isinstance(fetched, Capture):
            return fetched
        capture = fetched
        outcome, error = answer.verdict(capture, conditional=bool(job.headers))
        if outcome != "ok":
            return Fetched(capture, job.depth, outcome=outcome, error=error)
        return Fetched(capture, job.depth, outcome="ok", extraction=self._extract(capture))

    def _fetch(self, job: Job, deadline: Deadline) -> Capture | Fetched:
        """The capture of the page, or why it was not fetched (the address policy, robots.txt)."""
        url = job.url

        def not_fetched(outcome: str, error: str) -> Fetched:
            return Fetched(Capture(url=url, started=datetime.now(UTC)), job.depth, outcome=outcome, error=error)

        if self.policy.checks(url):
            try:
                check_public(url)
            except PrivateAddress as exc:  # checked before robots.txt, which would be a request too
                return not_fetched("skipped", str(exc))
        try:
            # robots.txt is a request to the host too: the per-host delay spaces it from the page's.
            if self.robots is not None and not self.robots.allowed(url, self._host_pause, self.policy, deadline):
                return not_fetched("skipped", "disallowed by robots.txt")
        except RobotsUnavailable as exc:  # the site is failing: a failed check, not a policy skip
            return not_fetched("failed", str(exc))
        return self.fetcher.fetch(url, dict(job.headers), self.policy, deadline=deadline)

    def _extracted(self, fetched: Fetched, future: Future[Document | None]) -> Fetched | Exception:
        """`fetched` with the document a worker process extracted; failed if the page gives none."""
        try:
            fetched.document = self.extractor.result(future)
        except Unextractable as exc:  # over a limit: the capture stays, as evidence of what was served
            return Fetched(fetched.capture, fetched.depth, outcome="failed", error=str(exc))
        except Exception as exc:
            log.exception("extraction failed for %s", fetched.capture.url)
            return exc
        return fetched

    def _host_pause(self) -> None:
        time.sleep(self.config.fetch.per_host_delay)

    def _extract(self, capture: Capture) -> Future[Document | None] | None:
        final = capture.final
        if final.body is None:
            return None
        return self.extractor(body_of(capture))

    # -- in the calling thread ---------------------------------------------------------------

    def _settle(self, job: Job, fetched: Fetched | Exception) -> tuple[PageResult, Check | None, list[Link]]:
        """The check's result, what to record of it (None: it was not made, the page stays due), its links."""
        url = job.url
        if isinstance(fetched, ArchiverError):
            raise fetched  # the archive itself refuses (a full disk): the run stops, and is undone
        if isinstance(fetched, Exception):
            fetched = Fetched(Capture(url=url, started=datetime.now(UTC)), depth=job.depth, outcome="failed",
                              error=f"internal error: {fetched}")
        capture = fetched.capture
        folder = self.store.folder(url)
        try:
            result, links = self._classify(url, folder, fetched)
        except FolderCollision as exc:  # another URL's history is never touched: this check fails instead
            log.error("%s: %s", url, exc)
            result, links = PageResult(url, "failed", error=str(exc), folder=str(folder), role=self._role(url),
                                       depth=job.depth), []
        finally:
            capture.discard()
        if result.outcome == "deferred":
            return result, None, []
        final = capture.final
        known = self.states.get(url)
        interval = next_interval(self.config.schedule, url, result.outcome, known, capture.started)
        # Validators always describe the response archived as the current version, so that a 304 means
        # "the bytes we hold": a 200 that made no version (same text, other bytes) keeps the old ones.
        etag, last_modified = (known.etag, known.last_modified) if known else (None, None)
        if final is not None and result.kind is not None:
            ok = 200 <= final.status < 300
            etag, last_modified = (final.header("ETag"), final.header("Last-Modified")) if ok else (None, None)
        check = Check(url=url, checked_at=capture.started.isoformat(), outcome=result.outcome,
                      status=final.status if final else None, duration_ms=int(capture.duration * 1000),
                      payload_digest=final.payload_digest if final else None, error=result.error,
                      role=result.role, interval_minutes=interval, next_due=due_at(capture.started, interval),
                      etag=etag, last_modified=last_modified)
        return result, check, links

    def _classify(self, url: str, folder: PurePosixPath, fetched: Fetched) -> tuple[PageResult, list[Link]]:
        """The check's result, and the links the page cites now (for its sources)."""
        capture, final = fetched.capture, fetched.capture.final
        status = final.status if final else None
        base = PageResult(url, fetched.outcome, status=status, folder=str(folder), role=self._role(url),
                          depth=fetched.depth)
        if fetched.outcome in ("failed", "skipped", "deferred"):
            base.error = fetched.error
            if capture.exchanges:  # what came before the failure (a redirect loop's hops), or the failed answer
                self.failures.write_capture(capture)
            return base, []
        previous = self.store.read(folder, url)
        if previous is not None:
            self.pages[url] = previous
        if fetched.outcome == "not-modified" and previous is not None:
            self._confirm(capture, previous, NOT_MODIFIED)
            base.outcome, base.version = "unchanged", previous.meta.get("version")
            base.title = previous.meta.get("title", "")
            # Unchanged by the server's word: it cites what it cited.
            return base, [Link(url=u, text=t, href=u) for u, t in parse_links(previous.links)]
        previous_text = self._last_text(previous)
        candidate = self._candidate(url, folder, fetched, previous, previous_text)
        if _loses_text(previous_text, candidate):  # an empty or script-built page, an unreadable PDF: no edit
            base.error = ("no text in the answer, where the archived version has some (an empty page, one built "
                          "by scripts, or an unreadable PDF); the archived text is kept")
            base.outcome = "failed"
            self.failures.write_capture(capture)
            return base, []
        base.title = candidate.meta.get("title", "")
        # A page without text now (gone, a soft-404's front page) cites nothing of its own.
        links = fetched.document.links if fetched.document and candidate.article is not None else []
        if previous is not None and _same(previous, candidate):
            same_bytes = capture.final.payload_digest == previous.meta["warc"].get("payload_digest")
            self._confirm(capture, previous, IDENTICAL_PAYLOAD if same_bytes else IDENTICAL_TEXT)
            base.outcome, base.version = "unchanged", previous.meta.get("version")
            return base, links
        kind, summary, changes = _kind(previous, candidate, had_text=previous_text is not None)
        version = (previous.meta.get("version", 0) if previous else 0) + 1
        metadata = {"outlink": [f"{link.url} {link.href}" for link in links]} if links else {}
        metadata["extractor"] = [f"{k} {v}" for k, v in sorted(extractor_versions().items())]
        ref = self.warc.write_capture(capture, metadata, duplicate_of=self.state.find_record)
        if ref.refers_to is None and ref.payload_digest:
            self.state.remember_record(ref.payload_digest, ref.as_record())
        candidate.meta.update(version=version, kind=kind, summary=summary, warc=ref.as_dict())
        if changes:
            candidate.meta["changes"] = changes
        self.store.write(candidate)
        self.pages[url] = candidate
        self.latest_capture = max(self.latest_capture, datetime.fromisoformat(candidate.meta["captured_at"]))
        log.info("%s: %s (version %d): %s", url, kind, version, summary)
        base.outcome, base.version, base.kind, base.summary = KIND_OUTCOME[kind], version, kind, summary
        return base, links

    def _confirm(self, capture: Capture, previous: PageVersion, profile: str) -> None:
        """Record that the check found `previous` unchanged: a revisit of its record, with `profile`."""
        self.confirmations.write_revisit(capture, record_of(previous), profile)
        self.confirmed += 1
        self.latest_capture = max(self.latest_capture, capture.final.started)

    def _candidate(self, url: str, folder: PurePosixPath, fetched: Fetched, previous: PageVersion | None,
                   previous_text: str | None) -> PageVersion:
        capture, final, doc = fetched.capture, fetched.capture.final, fetched.document
        meta: dict[str, Any] = {
            "url": url,
            "role": self._role(url),
            "final_url": capture.final_url,
            "status": final.status,
            "content_type": final.content_type or None,
            "captured_at": final.started.isoformat(),
            "extractor": extractor_versions(),
            "redirects": [{"url": e.url, "status": e.status} for e in capture.exchanges[:-1]],
        }
        cited_by = set(previous.meta.get("cited_by", []) if previous else []) | self.citations.get(url, set())
        if cited_by:  # known citers now; `_annotate` adds any found later in the run
            meta["cited_by"] = sorted(cited_by)
        if final.truncated:
            meta["truncated"] = final.truncated
        if doc is not None:
            text = doc.article_text()
            reason = soft_404(url, capture.final_url, [doc.title, doc.page_title], text, previous_text)
            if reason:
                # Only the stable facts: the front page it now leads to changes every hour.
                meta["soft_404"] = reason
                return PageVersion(folder, meta, None, None)
            meta.update(document_meta(doc))
            return PageVersion(folder, meta, text, doc.links_text())
        if fetched.outcome != "gone":
            meta["content_digest"] = final.payload_digest  # no text to compare: the bytes are the content
            meta["content_length"] = final.body_length
        return PageVersion(folder, meta, None, None)

    def _last_text(self, previous: PageVersion | None) -> str | None:
        """The page's latest text; for a page now gone, the text it had before it went."""
        if previous is None or previous.article is not None or previous.meta.get("kind") not in GONE_KINDS:
            return previous.article if previous is not None else None
        return self.store.last_content(f"{previous.dir}/{ARTICLE}")

    def _last_checked(self, link: Link) -> str:
        known = self.states.get(link.url)
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
            cited_by = sorted(set(page.meta.get("cited_by", [])) | self.citations.get(result.url, set()))
            wanted = {"role": result.role, **({"cited_by": cited_by} if cited_by else {})}
            if any(page.meta.get(k) != v for k, v in wanted.items()):
                page.meta.update(wanted)
                self.store.write_meta(page)
                touched.append(result.folder)
        return touched

    def _commit(self, summary: RunSummary, paths: list[str]) -> str | None:
        versions = [r for r in summary.results if r.outcome in VERSION_OUTCOMES]
        paths = [r.folder for r in versions] + paths
        paths += [path for path in (summary.warc, summary.checks) if path]
        counts = summary.counts()
        summary.confirmed = self.confirmed

        def message(changed: list[str]) -> str:
            summary.changed = any(path != summary.checks for path in changed)
            head = [f"{counts[k]} {k}" for k in VERSION_OUTCOMES if counts[k]]
            if not versions and summary.changed:
                head.append("settings or tracked URLs updated")
            if self.confirmed:
                head.append(f"{self.confirmed} confirmed unchanged")
            body = "\n".join(_message_line(r) for r in versions)
            return f"archiver: {', '.join(head)}\n\n{body}\n" if body else f"archiver: {', '.join(head)}\n"

        author = (self.config.git_author_name, self.config.git_author_email)
        # git dates have whole seconds: round up, so "as of the commit date" includes every capture in it.
        when = self.latest_capture
        if when.microsecond:
            when = when.replace(microsecond=0) + timedelta(seconds=1)
        return self.store.commit(message, when, author, paths)


def record_of(previous: PageVersion) -> Record:
    """The record that holds the payload of the page's archived version."""
    ref = previous.meta["warc"]
    target = ref.get("refers_to") or ref
    return Record(uri=target["target_uri"], date=target.get("date") or previous.meta.get("captured_at", ""),
                  file=target["file"], offset=target["offset"], record_id=target["record_id"])


def _kind(previous: PageVersion | None, candidate: PageVersion,
          had_text: bool) -> tuple[str, str, dict[str, int] | None]:
    """The kind of the new version, a one-line summary, and the change counts of an edit."""
    meta = candidate.meta
    if "soft_404" in meta:
        return "soft-404", meta["soft_404"], None
    if candidate.article is None and meta["status"] in GONE_STATUSES:
        return "gone", f"HTTP {meta['status']}", None
    if previous is None or (previous.meta.get("kind") in GONE_KINDS and not had_text):
        return "new", meta.get("title") or meta.get("content_type") or "", None  # first seen with content
    if previous.meta.get("kind") in GONE_KINDS:
        return "restored", "the page is back", None
    comparison = compare(previous.article, candidate.article, previous.links, candidate.links)
    summary = comparison.summary() if not comparison.empty else _fact_change(previous.meta, meta)
    pm = previous.meta
    if kinds_moved(pm.get("final_url"), pm.get("canonical_url"), meta["final_url"], meta.get("canonical_url"),
                   previous.article, candidate.article):
        where = meta.get("canonical_url") if meta["final_url"] == pm.get("final_url") else meta["final_url"]
        return "moved", f"moved to {where}" + (f"; {summary}" if not comparison.empty else ""), comparison.counts()
    return "edited", summary, comparison.counts()


def _loses_text(previous_text: str | None, candidate: PageVersion) -> bool:
    """A page whose archived version has text answers, in a type that holds text, with none at all."""
    meta = candidate.meta
    if "soft_404" in meta or meta["status"] in GONE_STATUSES or _blank(previous_text) or not _blank(candidate.article):
        return False
    media = meta.get("content_type") or ""
    return text_kind(media, b"") is not None or media in ("", "application/octet-stream", "text/plain")


def _blank(text: str | None) -> bool:
    sections = parse_article(text)
    return not (sections.headline or sections.body)


def _fact_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    changed = sorted(k for k in set(old) | set(new) if k not in NOT_CONTENT and old.get(k) != new.get(k))
    return ", ".join(f"{k} changed" for k in changed) or "no change in the text"


def _message_line(result: PageResult) -> str:
    role = " source" if result.role == "source" else ""
    detail = f" ({result.summary})" if result.kind != "new" and result.summary else ""
    return f"{result.kind}{role}: {result.url}{detail}"


def _same(previous: PageVersion, candidate: PageVersion) -> bool:
    def content(meta: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in meta.items() if k not in NOT_CONTENT and v is not None}

    return (previous.article == candidate.article and previous.links == candidate.links
            and content(previous.meta) == content(candidate.meta))


def _posix(path: Path | None) -> str | None:
    return path.as_posix() if path is not None else None
