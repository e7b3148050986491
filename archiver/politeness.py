"""Per-host politeness: at most N fetches in flight to one host, and a minimum gap between their starts.

Fetch workers take their next job here themselves, so a free slot is used at once, whatever the thread
that classifies and writes results is doing. Jobs for a busy host wait in their queue without holding
a worker, so one slow site never starves the others.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from typing import Generic, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")


def host_of(url: str) -> str:
    return urlsplit(url).netloc.lower()


class HostQueues(Generic[T]):
    """A blocking job queue that hands out jobs only while their host has a free slot."""

    def __init__(self, per_host: int, delay: float) -> None:
        self.per_host = per_host
        self.delay = delay
        self._queues: OrderedDict[str, deque[T]] = OrderedDict()
        self._active: dict[str, int] = {}
        self._next_start: dict[str, float] = {}
        self._closed = False
        self._ready = threading.Condition()

    def put(self, host: str, job: T) -> None:
        with self._ready:
            self._queues.setdefault(host, deque()).append(job)
            self._ready.notify()

    def take(self) -> tuple[str, T] | None:
        """Block until a job may start (its host has a slot and its delay has passed); None once closed."""
        with self._ready:
            while True:
                if self._closed:
                    return None
                item, wait = self._pop()
                if item is not None:
                    return item
                self._ready.wait(timeout=wait)

    def done(self, host: str) -> None:
        """The fetch for `host` finished: its slot is free."""
        with self._ready:
            self._active[host] -= 1
            self._ready.notify()  # one slot, one job: waking every idle worker cost 16 futex calls a fetch

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def _pop(self) -> tuple[tuple[str, T] | None, float | None]:
        """The next startable job, round-robin over hosts; else how long until a delay passes (None: no job)."""
        now = time.monotonic()
        soonest = None
        for host in list(self._queues):
            if self._active.get(host, 0) >= self.per_host:
                continue
            start = self._next_start.get(host, 0.0)
            if start > now:
                soonest = start - now if soonest is None else min(soonest, start - now)
                continue
            queue = self._queues[host]
            job = queue.popleft()
            if queue:
                self._queues.move_to_end(host)  # round-robin: the next take starts with another host
            else:
                del self._queues[host]
            self._active[host] = self._active.get(host, 0) + 1
            self._next_start[host] = now + self.delay
            return (host, job), None
        return None, soonest
