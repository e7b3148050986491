"""`archiver worker`: takes capture jobs of any run from the broker, captures each with the same
fetcher and under the same policy as a run on one machine (robots.txt, the address guard,
deadlines, conditional requests), extracts its text in its own extraction processes, writes the
capture's WARC segment to the shared storage, and sends the run a small result (`wire.Brought`).

Politeness holds across the cluster: a fetch takes one of its site's `fetch.per_host` slots, kept
in Redis by Dramatiq's concurrent rate limiter, so every worker on every machine together keeps at
most that many requests in flight to one site, and starts them `fetch.per_host_delay` apart.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dramatiq
import redis
from dramatiq.message import Message
from dramatiq.rate_limits import ConcurrentRateLimiter
from dramatiq.rate_limits.backends import RedisBackend

from .. import __version__
from ..capture.addresses import AddressPolicy
from ..capture.fetch import Fetcher
from ..capture.policy import CapturePolicy
from ..capture.politeness import site_of
from ..config import Config
from ..run.job import Capturing, Job
from ..run.settle import Fetched
from ..text.extract import Extractor
from . import broker, wire
from .segment import Segments

log = logging.getLogger(__name__)

KEPT_RUNS = 4  # the runs whose settings a worker keeps at hand (their robots.txt answers with them)
SLOT_WAIT = 0.05  # seconds between tries for a busy site's slot


@dataclass
class _RunAtHand:
    info: broker.RunInfo
    capturing: Capturing
    segments: Segments


class Worker:
    def __init__(self, config: Config, threads: int) -> None:
        self.config = config
        self.threads = threads
        self.name = broker.worker_name()
        self.settings = broker.settings(config)
        self.broker = broker.connect(config)
        self.limits = RedisBackend(client=self.broker.client)
        self.spool = Path(tempfile.mkdtemp(prefix="archiver-worker-"))
        self.fetcher = Fetcher(config.fetch, self.spool)
        self.extractor = Extractor(config.fetch, config.ignore)
        self.runs: OrderedDict[str, _RunAtHand] = OrderedDict()
        self._runs_lock = threading.Lock()

    def serve(self, stop: threading.Event) -> None:
        """Take jobs until `stop` is set; jobs in hand are finished first."""
        dramatiq.actor(
            self.take,
            broker=self.broker,
            actor_name="capture",
            queue_name=broker.QUEUE,
            max_retries=0,  # a failed capture is a result; redelivery is for a worker that died
            time_limit=int(
                (self.config.fetch.deadline + self.config.fetch.max_extract_seconds + 60) * 1000
            ),
        )
        self.extractor.start(self.threads)
        worker = dramatiq.Worker(self.broker, worker_threads=self.threads, worker_timeout=500)
        worker.start()
        log.info(
            "worker %s: archiver %s, settings %s, %d threads, taking jobs from %s",
            self.name,
            __version__,
            self.settings,
            self.threads,
            self.config.cluster.broker,
        )
        try:
            while not stop.is_set():
                try:
                    broker.beat(self.broker.client, self.name, self.threads, self.settings)
                except redis.RedisError as exc:  # Dramatiq's consumers reconnect; so does the beat
                    log.warning("the broker %s is unreachable: %s", self.config.cluster.broker, exc)
                stop.wait(broker.WORKER_TTL / 3)
        finally:
            worker.stop(timeout=int(self.config.fetch.deadline * 1000))
            self.broker.client.delete(f"{broker.NAMESPACE}:worker:{self.name}")
            self.extractor.close(interrupted=True)
            self.fetcher.close()
            shutil.rmtree(self.spool, ignore_errors=True)

    def take(self, data: dict[str, Any]) -> None:
        """One job: captured and sent back, or refused, or dropped if its run is over."""
        order = wire.decode(data, wire.Order)
        run = self._run(order.run)
        if run is None:
            log.info("dropped a job of a run that is over: %s", order.url)
            return
        refusal = run.info.refusal(__version__, self.settings)
        if refusal is not None:
            log.error("refused the jobs of run %s: %s", order.run, refusal)
            self._send(wire.Brought(order.run, order.job, self.name, refused=refusal))
            return
        log.info("capturing %s (run %s)", order.url, order.run)
        try:
            self._send_capture(order, run)
        except Exception as exc:  # a bug in one page's handling must not lose the run's page
            log.exception("internal error while capturing %s", order.url)
            error = f"internal error in worker {self.name}: {exc}"
            self._send(wire.Brought(order.run, order.job, self.name, error=error))

    def _send_capture(self, order: wire.Order, run: _RunAtHand) -> None:
        slot = _Slot(self, site_of(order.url))
        slot.take()
        try:
            fetched = run.capturing.capture(
                Job(order.url, 0, order.headers, None, order.spec), slot.give
            )
        finally:
            slot.give()
        done: Fetched | Exception = fetched
        if fetched.extraction is not None:
            done = run.capturing.extracted(fetched, fetched.extraction)
        if isinstance(done, Exception):
            fetched.capture.discard()
            raise done
        brought = wire.Brought(
            order.run,
            order.job,
            self.name,
            captured=done.captured,
            document=done.document,
            listing=done.listing,
        )
        try:
            if done.capture.exchanges:
                brought.segment, brought.offsets = run.segments.write(
                    order.run, order.job, done.capture, run.info.info
                )
            self._send(brought)  # encoded before the bodies go: it says which exchanges had one
        finally:
            done.capture.discard()

    def _send(self, brought: wire.Brought) -> None:
        # Not declared: a Dramatiq worker consumes every queue its broker declares.
        queue = broker.results_queue(brought.run)
        message: Message[Any] = Message(
            queue_name=queue,
            actor_name="result",
            args=(wire.encode(brought),),
            kwargs={},
            options={},
        )
        self.broker.enqueue(message)

    def _run(self, run: str) -> _RunAtHand | None:
        if not broker.is_alive(self.broker.client, run):  # over, or its coordinator gone
            return None
        with self._runs_lock:
            if run in self.runs:
                self.runs.move_to_end(run)
                return self.runs[run]
        info = broker.run_info(self.broker.client, run)
        if info is None:
            return None
        addresses = AddressPolicy(self.config.sources.allow_private, frozenset(info.trusted))
        at_hand = _RunAtHand(
            info,
            Capturing(CapturePolicy(self.config, self.fetcher, addresses), self.extractor),
            Segments(info.segments),
        )
        with self._runs_lock:
            self.runs[run] = at_hand
            while len(self.runs) > KEPT_RUNS:
                self.runs.popitem(last=False)
        return at_hand


class _Slot:
    """One of a site's `per_host` slots across the cluster, held while the network is used."""

    def __init__(self, worker: Worker, site: str) -> None:
        fetch = worker.config.fetch
        self.client = worker.broker.client
        self.site = site
        self.delay = fetch.per_host_delay
        # A slot of a worker killed mid-fetch is freed when its site has been idle this long.
        self.limiter = ConcurrentRateLimiter(
            worker.limits,
            f"{broker.NAMESPACE}:site:{site}",
            limit=fetch.per_host,
            ttl=int((fetch.deadline + 5) * 1000),
        )
        self.held = False

    def take(self) -> None:
        while not self.limiter._acquire():
            time.sleep(SLOT_WAIT)
        self.held = True
        if self.delay > 0:  # the site's next start, kept as a key that lives `per_host_delay`
            key = f"{broker.NAMESPACE}:next:{self.site}"
            while not self.client.set(key, b"1", px=max(1, int(self.delay * 1000)), nx=True):
                time.sleep(SLOT_WAIT)

    def give(self) -> None:
        if self.held:
            self.held = False
            self.limiter._release()
