"""robots.txt, fetched once per host per run and read with Protego (RFC 9309 and common extensions)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

import requests
from protego import Protego

log = logging.getLogger(__name__)

MAX_ROBOTS_BYTES = 512 * 1024  # RFC 9309 asks parsers to read at least 500 KiB


class RobotsUnavailable(Exception):
    """robots.txt answered with a server error: RFC 9309 says to fetch nothing from the site meanwhile."""


class Robots:
    """Answers "may we fetch this URL?" for one user agent; thread-safe, one fetch per host."""

    def __init__(self, user_agent: str, timeout: float, verify: bool = True) -> None:
        self.agent = user_agent.split("/", 1)[0]  # the product token, as robots.txt groups name it
        self.user_agent = user_agent
        self.timeout = timeout
        self.verify = verify
        self._rules: dict[str, Protego | bool | str] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def allowed(self, url: str, on_fetch: Callable[[], None] = lambda: None) -> bool:
        """May `url` be fetched? `on_fetch` runs after robots.txt had to be fetched for it (politeness)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._guard:
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:
            if origin not in self._rules:
                self._rules[origin] = self._load(origin)
                on_fetch()
        rules = self._rules[origin]
        if isinstance(rules, str):
            raise RobotsUnavailable(rules)
        return rules if isinstance(rules, bool) else rules.can_fetch(url, self.agent)

    def _load(self, origin: str) -> Protego | bool | str:
        """Rules for `origin`: a parser, True (no restrictions), or why the site is off limits this run."""
        try:
            response = requests.get(f"{origin}/robots.txt", timeout=self.timeout, stream=True, verify=self.verify,
                                    headers={"User-Agent": self.user_agent})
            try:
                body = response.raw.read(MAX_ROBOTS_BYTES, decode_content=True)
            finally:
                response.close()
        except (requests.RequestException, OSError) as exc:
            # The site itself is most likely down too: let the page's own fetch report the real error.
            log.info("robots.txt of %s unreachable (%s)", origin, exc)
            return True
        if 400 <= response.status_code < 500:
            return True  # no robots.txt: no restrictions (RFC 9309 §2.3.1.3)
        if response.status_code >= 500:
            return f"robots.txt answered HTTP {response.status_code}: nothing fetched from the site this run"
        return Protego.parse(body.decode("utf-8", errors="replace"))
