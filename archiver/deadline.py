"""A hard deadline for one fetch: when it passes, the socket in use is shut down.

Socket timeouts bound each read, not the whole exchange: a server sending a byte every few seconds
never trips them, while reading headers or body. requests offers no hook to the socket, so the
connection classes of `archiver.transport` register their socket with the fetching thread's `Deadline`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

_current = threading.local()


class Deadline:
    """Arms a timer for the calling thread; the connection it uses is cut when time runs out."""

    def __init__(self, seconds: float) -> None:
        self.expires = time.monotonic() + seconds
        self.fired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    def remaining(self) -> float:
        return self.expires - time.monotonic()

    def __enter__(self) -> Deadline:
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _current.deadline = None

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.fired:
                _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
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
