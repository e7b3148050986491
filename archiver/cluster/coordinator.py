"""The capture stage of a distributed run (`RemoteStage`): the run enqueues its jobs on the broker,
`archiver worker` processes capture them, and the results come back on the run's own queue to be
settled and committed here, by this process alone, as in a run on one machine.

Each job has a capture id. A worker that dies mid-job has its job given to another by the broker;
should both finish, the first result is settled and the second dropped with its segment, so a page
is captured exactly once in git.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

from dramatiq.brokers.redis import RedisBroker
from dramatiq.message import Message

from .. import __version__
from ..capture.addresses import AddressPolicy
from ..capture.exchange import Capture
from ..capture.policy import deferral
from ..capture.politeness import Budget
from ..config import Config
from ..errors import ClusterError
from ..run.job import Job, Reported
from ..run.settle import Fetched
from . import broker, wire
from .segment import Segments

log = logging.getLogger(__name__)

PREFETCH = 64  # results taken from the broker at once


class RemoteStage:
    def __init__(
        self,
        root: Path,
        config: Config,
        addresses: AddressPolicy,
        spool: Path,
        info: dict[str, str],
    ) -> None:
        self.config = config
        self.spool = spool
        self.run = uuid.uuid4().hex
        self.queue = broker.results_queue(self.run)
        self.broker: RedisBroker = broker.connect(config)
        self.segments = Segments.of(root, config)
        # The run's time budgets are kept here: its workers cannot share one clock.
        self.budget = Budget(config.sources.seconds_per_article)
        self.pending: dict[str, Job] = {}
        self.ready: deque[Reported] = deque()
        self.consumer = None
        self.ttl = (
            3 * config.cluster.redeliver_after
        )  # how long the run outlives a silent coordinator
        self.last_beat = 0.0
        with broker.speaking(config):
            self.set_aside = self.segments.set_aside(root, self.run)
            self._check_workers()
            broker.publish(
                self.broker.client,
                broker.RunInfo(
                    self.run,
                    __version__,
                    broker.settings(config),
                    sorted(addresses.trusted),
                    self.segments.location,
                    info,
                ),
                self.ttl,
            )
            self.broker.declare_queue(broker.QUEUE)
            self.broker.declare_queue(self.queue)

    def submit(self, job: Job) -> None:
        if (deferred := deferral(self.budget, job.url, job.budget)) is not None:
            self.ready.append((job, Fetched(deferred, job.depth)))
            return
        key = uuid.uuid4().hex
        self.pending[key] = job
        order = wire.Order(self.run, key, job.url, job.headers, job.spec)
        message: Message[Any] = Message(
            queue_name=broker.QUEUE,
            actor_name="capture",
            args=(wire.encode(order),),
            kwargs={},
            options={},
        )
        with broker.speaking(self.config):
            self.broker.enqueue(message)

    def start(self, expected: int) -> None:
        self.spool.mkdir(parents=True, exist_ok=True)
        with broker.speaking(self.config):
            self.consumer = self.broker.consume(self.queue, prefetch=PREFETCH, timeout=500)

    def next(self) -> Reported:
        if self.ready:
            return self.ready.popleft()
        assert self.consumer is not None, "start() first"
        with broker.speaking(self.config):
            while True:
                self._beat()
                message: Any = next(self.consumer)
                if message is None:
                    continue
                self.consumer.ack(message)
                reported = self._settled(message.args[0])
                if reported is not None:
                    return reported

    def close(self, finished: bool) -> None:
        try:
            with broker.speaking(self.config):
                broker.withdraw(self.broker.client, self.run)
                if self.consumer is not None:
                    self.consumer.close()
                self.broker.flush(self.queue)
        except ClusterError as exc:  # the run is over either way: the broker forgets it in time
            log.warning("%s", exc)
        if finished:
            self.segments.discard(self.run)
        self.broker.close()

    def release(self, capture: Capture) -> None:
        capture.discard()  # read back from a segment by this thread: no fetch thread sweeps here

    @property
    def processes(self) -> int:
        return 0  # extraction runs in the workers

    def _settled(self, data: object) -> Reported | None:
        """The job a result is for, and what to settle of it; None for a result already settled."""
        try:
            brought = wire.decode(data, wire.Brought)
        except wire.Malformed as exc:
            log.warning("a result that is not this archiver's was dropped: %s", exc)
            return None
        if brought.segment is not None and not self.segments.names(brought.run, brought.segment):
            log.warning("a result naming %r, not a segment, was dropped", brought.segment)
            return None
        job = self.pending.pop(brought.job, None)
        if job is None or brought.run != self.run:
            log.info("dropped a second result for a job already settled (from %s)", brought.worker)
            if brought.segment:
                self.segments.remove(brought.segment)
            return None
        if brought.refused:
            raise ClusterError(f"worker {brought.worker} refused this run: {brought.refused}")
        if brought.error or brought.captured is None:
            return job, RuntimeError(brought.error or f"worker {brought.worker} brought no capture")
        captured = brought.captured
        if brought.segment:
            self.segments.read_bodies(
                brought.segment, captured.capture, brought.offsets, self.spool
            )
        if job.budget is not None:
            self.budget.spend(job.budget, captured.capture.duration)
        fetched = Fetched(captured, job.depth, document=brought.document, listing=brought.listing)
        return job, fetched

    def _beat(self) -> None:
        """Keep the run alive for its workers (a coordinator gone, they drop its jobs)."""
        now = time.monotonic()
        if now - self.last_beat > self.ttl / 3:
            broker.alive(self.broker.client, self.run, self.ttl)
            self.last_beat = now

    def _check_workers(self) -> None:
        if not broker.workers(self.broker.client):
            raise ClusterError(
                f"no worker takes jobs from {self.config.cluster.broker}: start one with "
                f"`archiver worker --broker {self.config.cluster.broker}`"
            )
