"""The capture stage of a run in this process: fetch threads, as many as politeness lets work at
once, taking jobs site by site (`HostQueues`), and extraction processes reading what they fetched.
A distributed run puts `cluster.coordinator.RemoteStage` in its place; the run sees either through
`Stage`."""

from __future__ import annotations

import functools
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol

from ..capture.exchange import Capture
from ..capture.politeness import HostQueues, site_of
from ..config import Config
from ..errors import ArchiverError
from .job import Capturing, Job, Reported
from .settle import Fetched

log = logging.getLogger(__name__)


class Stage(Protocol):
    """Where a run's jobs are captured and read: each job submitted is reported exactly once."""

    def submit(self, job: Job) -> None: ...

    def start(self, expected: int) -> None: ...

    def next(self) -> Reported: ...

    def close(self, finished: bool) -> None: ...

    def release(self, capture: Capture) -> None:
        """Let go of a settled capture's spooled bodies."""
        ...

    @property
    def processes(self) -> int: ...


class FetchPool:
    """The fetch threads of a run, as many as the sites it has pages of allow (`per_host` each), at
    most `ceiling`: fetching waits on the network, so the per-host limit, not a thread count, is
    what bounds it. The pool grows as the run finds sites (the sources pages cite)."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.wanted = 0
        self.threads: list[threading.Thread] = []
        self._target: Callable[[], None] | None = None

    def want(self, count: int) -> None:
        """Have `count` threads (at most the ceiling); those missing start now if the pool runs."""
        self.wanted = max(self.wanted, min(count, self.ceiling))
        if self._target is not None:
            self._fill()

    def start(self, target: Callable[[], None]) -> None:
        self._target = target
        self._fill()

    def join(self, timeout: float) -> None:
        for thread in self.threads:
            thread.join(timeout=timeout)

    @property
    def most(self) -> int:
        return len(self.threads)

    def _fill(self) -> None:
        assert self._target is not None
        while len(self.threads) < max(self.wanted, 1):
            thread = threading.Thread(
                target=self._target, name=f"fetch-{len(self.threads)}", daemon=True
            )
            thread.start()
            self.threads.append(thread)


class LocalStage:
    """Fetch threads and extraction processes of this process."""

    def __init__(self, config: Config, capturing: Capturing) -> None:
        self.config = config
        self.capturing = capturing
        self.queues: HostQueues[Job] = HostQueues(
            config.fetch.per_host, config.fetch.per_host_delay
        )
        self.fetchers = FetchPool(config.fetch.workers)
        self.results: queue.Queue[Reported] = queue.Queue()
        self.sites: set[str] = set()  # the sites with jobs: each may take `per_host` fetches

    def submit(self, job: Job) -> None:
        site = site_of(job.url)
        self.queues.put(site, job)
        if site not in self.sites:
            self.sites.add(site)
            self.fetchers.want(len(self.sites) * self.queues.per_host)

    def start(self, expected: int) -> None:
        self.fetchers.start(self._worker)
        # The extraction processes start while the first fetches run.
        self.capturing.extractor.start(expected)

    def next(self) -> Reported:
        return self.results.get()

    def close(self, finished: bool) -> None:
        self.queues.close()
        # Interrupted (SIGTERM, Ctrl-C, a bug), the run ends now: extractions still running are
        # stopped, and fetches still in flight are left to die with this process rather than
        # waited for.
        self.capturing.extractor.close(interrupted=not finished)
        if finished:
            self.fetchers.join(timeout=self.config.fetch.deadline)
        self.capturing.capturer.fetcher.close()

    def release(self, capture: Capture) -> None:
        self.capturing.capturer.fetcher.release(capture)

    @property
    def processes(self) -> int:
        return self.capturing.extractor.processes

    def _worker(self) -> None:
        while (item := self.queues.take()) is not None:
            host, job = item
            released = threading.Event()

            def release(host: str = host, released: threading.Event = released) -> None:
                if not released.is_set():
                    released.set()
                    self.queues.done(host)

            try:
                fetched = self.capturing.capture(job, release)
            # The archive refuses (a full disk): the calling thread stops the run.
            except ArchiverError as exc:
                self.results.put((job, exc))
                continue
            except Exception as exc:  # a bug in one page's handling must not lose the run
                log.exception("internal error while fetching %s", job.url)
                self.results.put((job, exc))
                continue
            finally:
                release()
            if fetched.extraction is None:
                self.results.put((job, fetched))
            else:  # reported when the worker process is done; this thread goes on fetching
                fetched.extraction.add_done_callback(
                    functools.partial(self._report_extracted, job, fetched)
                )

    def _report_extracted(self, job: Job, fetched: Fetched, future: Future[Any]) -> None:
        self.results.put((job, self.capturing.extracted(fetched, future)))
