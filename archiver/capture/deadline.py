"""A hard deadline for one fetch: when it passes, the socket in use is shut down.

Socket timeouts bound each read, not the whole exchange: a server sending a byte every few seconds
never trips them, while reading headers or body. requests offers no hook to the socket, so the
connection classes of `archiver.capture.transport` register their socket with the fetching thread's
`Deadline`.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time

_current = threading.local()
PRUNE_AT = 4096


class _Watchdog:
    """One thread for every armed deadline: a timer thread per fetch cost a thread start (and the
    GIL hand-offs it takes) on every request."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()  # ties broken by arming order, never by comparing deadlines
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: Deadline) -> None:
        with self._wake:
            if (
                len(self._heap) >= PRUNE_AT
            ):  # fetches end long before their deadlines: drop the disarmed ones
                self._heap = [entry for entry in self._heap if not entry[2].disarmed]
                heapq.heapify(self._heap)
            heapq.heappush(self._heap, (deadline.expires, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is deadline:  # sooner than what the thread sleeps until
                self._wake.notify()

    def _run(self) -> None:
        with self._wake:
            while True:
                now = time.monotonic()
                while self._heap and (self._heap[0][2].disarmed or self._heap[0][0] <= now):
                    heapq.heappop(self._heap)[2].fire()  # a disarmed one ignores it
                self._wake.wait(timeout=self._heap[0][0] - now if self._heap else None)


_watchdog = _Watchdog()


class Deadline:
    """Arms a timer for the calling thread; the connection it uses is cut when time runs out."""

    def __init__(self, seconds: float) -> None:
        self.expires = time.monotonic() + seconds
        self.fired = False
        self._sock: socket.socket | None = None
        self.disarmed = False
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.expires - time.monotonic()

    @property
    def passed(self) -> bool:
        """Time is up: the watchdog cut the socket, or a read timed out first (reads wait at most
        the time that remained, and a loaded machine may run the watchdog late)."""
        return self.fired or self.remaining() <= 0

    def __enter__(self) -> Deadline:
        _current.deadline = self
        _watchdog.arm(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.disarmed = True  # the watchdog drops it when it comes up
            self._sock = None
        _current.deadline = None

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.fired:
                _shutdown(sock)

    def fire(self) -> None:
        with self._lock:
            if self.disarmed:
                return
            self.fired = True
            _shutdown(self._sock)


def _shutdown(sock: socket.socket | None) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed: nothing left to cut
            sock.shutdown(socket.SHUT_RDWR)


def register(sock: socket.socket | None) -> None:
    """Put `sock` under the calling thread's deadline, if one is armed."""
    deadline = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.watch(sock)


def passed() -> bool:
    """Whether the calling thread's deadline, if one is armed, has passed."""
    deadline = getattr(_current, "deadline", None)
    return deadline is not None and deadline.passed
