"""Politeness and fairness: at most N fetches in flight to one site, a minimum gap between their
starts, and a time budget for the sources one article brings.

A site is a registrable domain (`news.example.co.uk` and `cdn.news.example.co.uk` are one site: a
page citing a hundred sub-domains of one domain is fetched two at a time, not a hundred), or an
address for a host given as one. Names are never grouped by the address they resolve to: one CDN
address serves thousands of unrelated sites.

Fetch workers take their next job here themselves, so a free slot is used at once, whatever the
thread that classifies and writes results is doing. Jobs for a busy site wait in their queue without
holding a worker, so one slow site never starves the others.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections import OrderedDict, deque
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

T = TypeVar("T")
_IPV4 = re.compile(r"[0-9.]+")  # a normalized host of digits and dots is an IPv4 address


def site_of(url: str) -> str:
    """The site `url` belongs to, for politeness: its registrable domain by the Public Suffix List
    (whose rule for a name the list does not know takes its last two labels), else the host itself
    (an address, `localhost`)."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    if not host or ":" in host or _IPV4.fullmatch(host):
        return host
    return _suffixes().privatesuffix(host) or host


@functools.cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # the list bundled with the package, read once (60 ms): never fetched


class HostQueues(Generic[T]):
    """A blocking job queue that hands out jobs only while their site has a free slot."""

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
        """Block until a job may start (its host has a slot and its delay has passed); None once
        closed."""
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
            # one slot, one job: waking every idle worker cost 16 futex calls a fetch
            self._ready.notify()

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def _pop(self) -> tuple[tuple[str, T] | None, float | None]:
        """The next startable job, round-robin over hosts; else how long until a delay passes (None:
        no job)."""
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
                self._queues.move_to_end(
                    host
                )  # round-robin: the next take starts with another host
            else:
                del self._queues[host]
            self._active[host] = self._active.get(host, 0) + 1
            self._next_start[host] = now + self.delay
            return (host, job), None
        return None, soonest


class Budget:
    """Seconds of fetching a group of sources (those one article cites) may take in one run;
    thread-safe.

    Spent as fetches end: the ones in flight when it runs out finish, and no other source of the
    group starts.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._spent: dict[str, float] = {}
        self._lock = threading.Lock()

    def allows(self, group: str) -> bool:
        with self._lock:
            return self._spent.get(group, 0.0) < self.seconds

    def spend(self, group: str, seconds: float) -> None:
        with self._lock:
            self._spent[group] = self._spent.get(group, 0.0) + seconds
