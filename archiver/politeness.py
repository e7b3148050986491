"""Per-host politeness: at most N fetches in flight to one host, and a minimum gap between their starts.

The run's dispatcher asks for the next job it may start; jobs for a busy host wait in their queue
without holding a worker, so one slow site never starves the others.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from typing import Generic, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.lower()


class HostQueues(Generic[T]):
    def __init__(self, per_host: int, delay: float) -> None:
        self.per_host = per_host
        self.delay = delay
        self._queues: OrderedDict[str, deque[T]] = OrderedDict()
        self._active: dict[str, int] = {}
        self._next_start: dict[str, float] = {}

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def put(self, host: str, job: T) -> None:
        self._queues.setdefault(host, deque()).append(job)

    def take(self) -> tuple[str, T] | None:
        """The next job whose host has a free slot and whose delay has passed, round-robin over hosts."""
        now = time.monotonic()
        for host in list(self._queues):
            queue = self._queues[host]
            if self._active.get(host, 0) >= self.per_host or self._next_start.get(host, 0.0) > now:
                continue
            job = queue.popleft()
            if not queue:
                del self._queues[host]
            else:
                self._queues.move_to_end(host)  # round-robin: the next take starts with another host
            self._active[host] = self._active.get(host, 0) + 1
            self._next_start[host] = now + self.delay
            return host, job
        return None

    def done(self, host: str) -> None:
        self._active[host] -= 1

    def wait_hint(self) -> float | None:
        """Seconds until a queued job's delay passes, if one is waiting only for that."""
        now = time.monotonic()
        waits = [self._next_start.get(h, 0.0) - now for h in self._queues
                 if self._active.get(h, 0) < self.per_host]
        positive = [w for w in waits if w > 0]
        return min(positive) if positive and len(positive) == len(waits) else None
