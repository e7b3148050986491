"""robots.txt, fetched once per host per run and read with Protego (RFC 9309 and common extensions).

It is fetched like any page (`Fetcher`): within the deadline of the page that needed it, under the
same size cap, TLS settings and address policy, so a hostile robots.txt can neither hold a worker
longer than the page would nor redirect us to an internal address.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from protego import Protego

from .addresses import OPEN, AddressPolicy, Pin
from .payload import decode_content

if TYPE_CHECKING:
    from .deadline import Deadline
    from .fetch import Fetcher

log = logging.getLogger(__name__)

MAX_ROBOTS_BYTES = 512 * 1024  # RFC 9309 asks parsers to read at least 500 KiB


class RobotsUnavailable(Exception):
    """robots.txt answered with a server error: RFC 9309 says to fetch nothing from the site
    meanwhile."""


class Robots:
    """Answers "may we fetch this URL?" for one user agent; thread-safe, one fetch per host."""

    def __init__(self, user_agent: str, fetcher: Fetcher) -> None:
        self.agent = user_agent.split("/", 1)[0]  # the product token, as robots.txt groups name it
        self.fetcher = fetcher
        self._rules: dict[str, Protego | bool | str] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def allowed(
        self,
        url: str,
        on_fetch: Callable[[], None] = lambda: None,
        policy: AddressPolicy = OPEN,
        deadline: Deadline | None = None,
        pin: Pin | None = None,
    ) -> bool:
        """May `url` be fetched? `on_fetch` runs after robots.txt had to be fetched for it
        (politeness).

        The robots.txt request, and its redirects, are held to `policy`, within `deadline` (the
        page's); `pin` holds the addresses already checked for the host.
        """
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._guard:
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:
            if origin not in self._rules:
                self._rules[origin] = self._load(origin, policy, deadline, pin)
                on_fetch()
        rules = self._rules[origin]
        if isinstance(rules, str):
            raise RobotsUnavailable(rules)
        return rules if isinstance(rules, bool) else rules.can_fetch(url, self.agent)

    def _load(
        self, origin: str, policy: AddressPolicy, deadline: Deadline | None, pin: Pin | None
    ) -> Protego | bool | str:
        """Rules for `origin`: a parser, True (no restrictions), or why the site is off limits this
        run."""
        capture = self.fetcher.fetch(
            f"{origin}/robots.txt", policy=policy, retry=False, deadline=deadline, pin=pin
        )
        try:
            final = capture.final
            if capture.error or capture.blocked or final is None:
                # The site itself is most likely down too: let the page's own fetch report the real
                # error.
                log.info(
                    "robots.txt of %s unreachable (%s)", origin, capture.error or capture.blocked
                )
                return True
            if 400 <= final.status < 500:
                return True  # no robots.txt: no restrictions (RFC 9309 §2.3.1.3)
            if final.status >= 500:
                return f"robots.txt answered HTTP {final.status}: nothing fetched from the site this run"
            if final.body is None:
                return True
            body, _cut = decode_content(
                final.body, final.header("Content-Encoding"), MAX_ROBOTS_BYTES
            )
            return Protego.parse(body.decode("utf-8", errors="replace"))
        finally:
            capture.discard()
