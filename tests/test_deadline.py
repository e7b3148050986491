"""Fetch deadlines: one watchdog thread cuts each fetch's socket when its own time is up, and never
after the fetch ended."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace

from archiver.capture.deadline import Deadline, _watchdog, register
from archiver.capture.fetch import Fetcher
from archiver.config import from_dict


def _blocked_read(seconds: float, ended: dict[str, float], name: str, started: float) -> None:
    """Read from a socket nobody writes to, under a deadline; note when the read was cut."""
    ours, _peer = socket.socketpair()
    with ours, _peer, Deadline(seconds):
        register(ours)
        assert ours.recv(1) == b""  # shut down by the deadline, not answered
    ended[name] = time.monotonic() - started


def test_each_deadline_cuts_its_own_fetch_in_order_of_expiry() -> None:
    ended: dict[str, float] = {}
    started = time.monotonic()
    late = threading.Thread(target=_blocked_read, args=(1.5, ended, "late", started))
    late.start()
    time.sleep(0.1)  # armed after the late one, due long before it
    soon = threading.Thread(target=_blocked_read, args=(0.3, ended, "soon", started))
    soon.start()
    soon.join(timeout=10)
    assert "soon" in ended and "late" not in ended
    late.join(timeout=10)
    assert 0.3 <= ended["soon"] < ended["late"]
    assert ended["late"] >= 1.5


def test_a_deadline_that_ended_in_time_never_fires_and_makes_no_thread() -> None:
    threads = threading.active_count()
    armed = [
        Deadline(0.2).__enter__() for _ in range(100)
    ]  # as many fetches in flight as a wide run
    assert threading.active_count() <= threads + 1  # no timer thread each: at most the one watchdog
    for deadline in armed:
        deadline.__exit__(None, None, None)
    time.sleep(0.5)
    assert not any(d.fired for d in armed)


def test_a_read_that_times_out_as_the_deadline_passes_is_named_the_deadline(tmp_path) -> None:
    """A read waits at most the time that remains, so on a loaded machine its timeout may beat the
    watchdog: the page still fails for its deadline, not for a read timeout the settings never
    asked for. (The watchdog is held here, as a busy machine holds it.)"""
    listener = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/story"  # accepts, never answers
    config = replace(from_dict({}).fetch, deadline=0.5, connect_timeout=10.0, read_timeout=30.0)
    fetcher = Fetcher(config, tmp_path / "spool")
    try:
        with _watchdog._wake:  # the watchdog cannot fire until the read has timed out
            capture = fetcher.fetch(url)
    finally:
        fetcher.close()
        listener.close()
    assert capture.error == "deadline of 0.5s exceeded (read timed out)"
