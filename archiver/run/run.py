"""One run: the schedule and the one commit. Jobs are captured by a stage (`stage.py`: fetch
threads and extraction processes of this process, or the workers of a cluster), settled one by one
in the calling thread, and committed together.

A job goes down once: the run schedules it (`Frontier`), the capture stage fetches it under the
fetch policy (`capture/policy.py`) and has its text extracted (`text/extract.py`), and the calling
thread settles it (`settle.py`: classification, evidence, page files). The run then makes its one
commit. The stage fetches and extracts in parallel; the calling thread alone writes WARC and page
files and touches git, so no file is ever written from two threads, or two machines.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from .. import __version__
from ..capture.addresses import AddressPolicy, origin
from ..capture.fetch import Fetcher
from ..capture.policy import CapturePolicy
from ..capture.politeness import site_of
from ..config import Config
from ..discovery import poll
from ..discovery.listing import Listing
from ..evidence.timestamps import stamp_pending
from ..evidence.warc import warcinfo
from ..storage.follows import Follow
from ..storage.meta import Kind
from ..storage.state import Check, PageState, State
from ..storage.store import (
    META,
    WORK_DIR,
    Store,
    commit_message,
)
from ..text.extract import Extractor
from ..text.links import Link
from ..text.normalize import extractor_versions
from ..words import counted
from . import events, feed
from .job import Capturing, Job
from .results import VERSION_OUTCOMES, OnResult, PageResult, RunSummary
from .settle import Fetched, Settler
from .stage import LocalStage, Stage

log = logging.getLogger(__name__)


# Adds articles to urls.txt, noting the follow that brought them; returns those it added.
Track = Callable[[list[str], str], list[str]]


class Frontier:
    """The jobs of a run, by URL: each scheduled once, a cited source only when it is due (or
    forced)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.scheduled: set[str] = set()

    def schedule(self, url: str, hops: int, budget: str | None = None) -> None:
        if url in self.scheduled:  # a source cited by many pages is fetched once per run
            return
        known = self.run.states.get(url)
        if budget and not self.run.force and known is not None and not known.due(self.run.started):
            return  # a source is re-checked when it is due itself
        self.scheduled.add(url)
        self.run.stage.submit(Job(url, hops, self.run.validators(url), budget, self.run.spec(url)))


class Run:
    def __init__(
        self,
        root: Path,
        config: Config,
        store: Store,
        state: State,
        tracked: set[str],
        force: bool = False,
        follows: Iterable[Follow] = (),
        named: set[str] | None = None,
        track: Track | None = None,
    ) -> None:
        """`follows`: every followed listing (the run polls those `execute` is given); `named`: the
        tracked URLs the user named (default: all), whose origins are fetched wherever they are;
        `track`: adds the articles a poll brings to urls.txt, with the follow that brought them."""
        self.root = root
        self.config = config
        self.store = store
        self.state = state
        self.states = state.pages()
        self.tracked = tracked
        self.force = force  # check every cited source, due or not
        self.started = datetime.now(UTC)
        self.spool = root / WORK_DIR / "spool"  # bodies in flight; nothing in it outlives a run
        self.follows = {follow.url: follow for follow in follows}
        self.roots: dict[str, str] = {}  # an index's sitemap polled this run: the follow it is of
        self.listings: dict[str, Listing] = {}  # read by the workers, taken as each poll settles
        self.track = track
        # The origins the user named (articles, followed listings) are fetched wherever they are;
        # every other request, an article a listing brought included, is held to public addresses
        # unless the settings allow private ones.
        named_urls = {*(tracked if named is None else named), *self.follows}
        self.addresses = AddressPolicy(
            config.sources.allow_private, frozenset(origin(url) for url in named_urls)
        )
        info = warcinfo(
            f"archiver/{__version__}",
            extractor_versions(),
            config.fetch.user_agent,
            config.fetch.robots,
            config.warc_operator,
        )
        self.stage = self._stage(info)
        self.settler = Settler(
            root,
            config,
            store,
            state,
            self.states,
            tracked,
            self.started,
            info,
            self.follows,
            release=self.stage.release,
        )

    def execute(
        self,
        urls: list[str],
        on_result: OnResult | None = None,
        extra_paths: tuple[str, ...] = (),
        depth: int | None = None,
        sources: Iterable[str] = (),
        polls: Iterable[str] = (),
    ) -> RunSummary:
        """Capture `urls` (depth 0), `sources` (due sources, depth 1) and, up to `depth` link hops,
        what they cite; poll the followed listings `polls`, and capture the new articles they
        list."""
        max_depth = self.config.sources.depth if depth is None else depth
        summary = RunSummary(started=self.started)
        checks: list[Check] = []
        shutil.rmtree(self.spool, ignore_errors=True)
        frontier = Frontier(self)
        for url in urls:
            frontier.schedule(url, 0)
        for url in sources:  # checked on their own: the sources on one site share a budget
            frontier.schedule(url, 1, budget=f"the sources on {site_of(url)} checked on their own")
        for url in polls:
            frontier.schedule(url, 0)

        def report(job: Job, fetched: Fetched | Exception) -> None:
            if isinstance(fetched, Fetched) and fetched.listing is not None:
                self.listings[job.url] = fetched.listing
            result, check, links = self.settler.settle(job.url, job.depth, fetched)
            summary.results.append(result)
            if check is not None:
                checks.append(check)
            if job.url in self.follows:
                self._discover(frontier, job, links)
            elif result.depth < max_depth:
                self._follow(frontier, job, result, links)
            if on_result:
                on_result(result, len(frontier.scheduled))

        self._capture_all(frontier, report, summary)
        self._finish(summary, urls, checks, extra_paths)
        return summary

    def _stage(self, info: dict[str, str]) -> Stage:
        """Fetch threads of this process, or with `cluster.broker` set, the workers of a cluster."""
        if self.config.cluster.broker:
            from ..cluster.coordinator import RemoteStage  # only a distributed run needs a broker

            return RemoteStage(self.root, self.config, self.addresses, self.spool, info)
        fetcher = Fetcher(self.config.fetch, self.spool)
        capturing = Capturing(
            CapturePolicy(self.config, fetcher, self.addresses),
            Extractor(self.config.fetch, self.config.ignore),
        )
        return LocalStage(self.config, capturing)

    def spec(self, url: str) -> poll.Spec | None:
        """How to read `url` if it is a followed listing."""
        follow = self.follows.get(url)
        if follow is None:
            return None
        return poll.Spec(
            follow.kind, follow.include, follow.exclude, self.config.fetch.max_decoded_bytes
        )

    def _capture_all(
        self,
        frontier: Frontier,
        report: Callable[[Job, Fetched | Exception], None],
        summary: RunSummary,
    ) -> None:
        """Run the stage until every scheduled job (those its results schedule too) has reported
        once."""
        finished = False
        try:
            self.stage.start(len(frontier.scheduled))
            reported = 0
            # What settling takes of this thread, against the run's wall time: the benchmark tells
            # from it whether this thread or the workers bound the run.
            settling = settling_cpu = 0.0
            while len(frontier.scheduled) > reported:  # every scheduled job reports exactly once
                job, fetched = self.stage.next()
                began, began_cpu = time.perf_counter(), time.thread_time()
                report(job, fetched)
                settling += time.perf_counter() - began
                settling_cpu += time.thread_time() - began_cpu
                reported += 1
            summary.timings["settling"] = round(settling, 3)
            summary.timings["settling_cpu"] = round(settling_cpu, 3)
            summary.warc, summary.checks = self.settler.close()
            finished = True
        except BaseException:
            self.settler.abort()
            raise
        finally:
            self.stage.close(finished)
            shutil.rmtree(self.spool, ignore_errors=True)

    def _follow(self, frontier: Frontier, job: Job, result: PageResult, links: list[Link]) -> None:
        """Schedule the sources a page cites (in scope, up to the per-article limit)."""
        cited = self._in_scope(result, links)
        for link in cited:
            self.settler.citations[link.url].add(job.url)
        # Least recently checked first: when the article's time budget runs out, the sources it
        # leaves for the next run come first then.
        for link in sorted(cited, key=self._last_checked):
            frontier.schedule(
                link.url, result.depth + 1, budget=job.budget or f"the sources of {job.url}"
            )

    def _discover(self, frontier: Frontier, job: Job, fresh: list[Link]) -> None:
        """Track and schedule the new articles a poll found (`fresh`: entries not in the listing's
        last version), and schedule the sitemaps an index names that are new or due."""
        found = self.listings.pop(job.url, None)
        if found is None:  # the poll failed, or the server said the listing is unchanged
            return
        follow = self.follows[job.url]
        new = poll.new_articles(
            found,
            {link.url for link in fresh},
            self.tracked,
            follow.since,
            follow.max_new,
            self.started,
        )
        if new and self.track is not None:  # noted as the follow's, not its sitemap's
            self.track(new, self.roots.get(job.url, job.url))
        for url in new:
            self.tracked.add(url)
            self.settler.found_by[url] = job.url
            frontier.schedule(url, 0)
        log.info("%s: %s; %s", job.url, found.line(), counted(len(new), "new article") + " tracked")
        for child in self._sitemaps(frontier, job, found):
            self.follows[child] = replace(follow, url=child, kind=None)
            self.roots[child] = self.roots.get(job.url, job.url)
            frontier.schedule(child, job.depth + 1)

    def _sitemaps(self, frontier: Frontier, job: Job, found: Listing) -> list[str]:
        """The sitemaps an index (or robots.txt) names to poll now: those never polled first, then
        those due, at most MAX_CHILDREN, within MAX_NESTING levels."""
        if job.depth + 1 > poll.MAX_NESTING:
            return []
        chosen = [
            url
            for url in found.sitemaps
            if url not in frontier.scheduled
            and (self.force or url not in self.states or self.states[url].due(self.started))
        ]
        chosen.sort(key=lambda url: url in self.states)  # stable: the listing's order within each
        return chosen[: poll.MAX_CHILDREN]

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
        annotated = self.settler.annotate(summary.results)
        # The events are read before the commit: the last commit still holds the versions before.
        summary.events = events.derive(
            summary.results,
            self.settler.pages,
            events.before(self.store, [r.folder for r in summary.versions if r.kind != Kind.NEW]),
            self.config.notify.report_base_url,
        )
        written = feed.write(
            self.root, self.store, summary.events, self.config.notify.report_base_url
        )
        began = time.monotonic()
        summary.commit = self._commit(
            summary, [*annotated, *extra_paths, *([written] if written else [])]
        )
        for event in summary.events:
            event.commit = summary.commit if event.is_version else None
        summary.timings["commit"] = round(time.monotonic() - began, 3)
        # Only now: the checks' validators and the payloads remembered for dedup describe committed
        # versions. A run that dies before this point records nothing, and its pages are simply due
        # again.
        self.state.record(checks)
        if self.config.evidence.tsa_urls:  # after the commit, before the push that carries it
            began = time.monotonic()
            summary.timestamps = stamp_pending(
                self.store,
                self.config.evidence,
                (self.config.fetch.connect_timeout, self.config.fetch.read_timeout),
                (self.config.git_author_name, self.config.git_author_email),
            )
            summary.timings["timestamp"] = round(time.monotonic() - began, 3)
        remote = self.config.git_push_remote
        # A push that failed is made again by the next run, whether or not that one commits.
        if remote and (summary.commit or self.store.unpushed(remote)):
            summary.push_error = self.store.push(remote)
        summary.extract_processes = self.stage.processes
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

    # -- in the calling thread ---------------------------------------------------------------

    def _last_checked(self, link: Link) -> str:
        known: PageState | None = self.states.get(link.url)
        return known.last_checked if known else ""  # never checked: first

    def _in_scope(self, result: PageResult, links: list[Link]) -> list[Link]:
        citing_host = urlsplit(result.url).hostname or ""
        chosen = [link for link in links if self.config.sources.in_scope(link.url, citing_host)]
        return chosen[: self.config.sources.max_per_article]

    def _commit(self, summary: RunSummary, paths: list[str]) -> str | None:
        versions = summary.versions
        paths = [r.folder for r in versions] + paths
        paths += [path for path in (summary.warc, summary.checks) if path]
        counts = {k: v for k, v in summary.counts().items() if k in VERSION_OUTCOMES}
        summary.confirmed = self.settler.confirmed

        def message(changed: list[str]) -> str:
            summary.changed = any(path != summary.checks for path in changed)
            lines = [r.message_line() for r in versions]
            return commit_message(counts, lines, self.settler.confirmed, summary.changed)

        author = (self.config.git_author_name, self.config.git_author_email)
        # git dates have whole seconds: round up, so "as of the commit date" includes every capture
        # in it.
        when = self.settler.latest_capture
        if when.microsecond:
            when = when.replace(microsecond=0) + timedelta(seconds=1)
        return self.store.commit(message, when, author, paths)
