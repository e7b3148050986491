"""The capture of one job under the fetch policy: its time budget, the address policy and robots.txt
are asked once each, in that order, then the page is fetched and its answer judged
(`answer.verdict`).

The address check resolves the host once: robots.txt and the page's first hop connect to the
addresses it checked (`Pin`), so a name is never resolved twice for one job, and a check cannot pass
on one answer of the DNS and the connection go to another.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..config import Config
from . import answer
from .addresses import AddressPolicy, Pin, PrivateAddress
from .answer import Verdict
from .deadline import Deadline
from .exchange import Capture
from .fetch import Fetcher, FetchError
from .politeness import Budget
from .robots import Robots, RobotsUnavailable


@dataclass
class Captured:
    """What the capture stage hands on: the capture, what its answer is, and why when it is not a
    page."""

    capture: Capture
    verdict: Verdict
    error: str | None = None


class CapturePolicy:
    """Captures jobs under the run's fetch policy; safe to call from many threads at once."""

    def __init__(self, config: Config, fetcher: Fetcher, addresses: AddressPolicy) -> None:
        self.config = config
        self.fetcher = fetcher
        self.addresses = addresses
        self.robots = Robots(config.fetch.user_agent, fetcher) if config.fetch.robots else None
        self.budget = Budget(config.sources.seconds_per_article)

    def capture(
        self,
        url: str,
        headers: tuple[tuple[str, str], ...] = (),
        budget: str | None = None,
        release: Callable[[], None] = lambda: None,
    ) -> Captured:
        """Capture `url` (with conditional `headers`), drawing on the time `budget` named, if any;
        `release` frees its site's slot as soon as the network is done."""
        if (deferred := deferral(self.budget, url, budget)) is not None:
            return deferred
        begun = time.monotonic()
        with Deadline(self.config.fetch.deadline) as deadline:  # robots.txt and the page share it
            captured = self._fetch(url, headers, deadline)
        release()
        if budget is not None:
            self.budget.spend(budget, time.monotonic() - begun)
        return captured

    def _fetch(
        self, url: str, headers: tuple[tuple[str, str], ...], deadline: Deadline
    ) -> Captured:
        pin: Pin | None = None
        if self.addresses.checks(url):
            try:
                pin = self.fetcher.check(url)
            except PrivateAddress as exc:  # checked before robots.txt, which would be a request too
                return not_fetched(url, Verdict.SKIPPED, str(exc))
            # No address (or no valid host): the fetch reports it, as for any page.
            except FetchError:
                pin = None
        try:
            # robots.txt is a request to the host too: the per-host delay spaces it from the page's.
            if self.robots is not None and not self.robots.allowed(
                url, self._host_pause, self.addresses, deadline, pin
            ):
                return not_fetched(url, Verdict.SKIPPED, "disallowed by robots.txt")
        except RobotsUnavailable as exc:  # the site is failing: a failed check, not a policy skip
            return not_fetched(url, Verdict.FAILED, str(exc))
        capture = self.fetcher.fetch(url, dict(headers), self.addresses, deadline=deadline, pin=pin)
        verdict, error = answer.verdict(capture, conditional=bool(headers))
        return Captured(capture, verdict, error)

    def _host_pause(self) -> None:
        time.sleep(self.config.fetch.per_host_delay)


def deferral(budget: Budget, url: str, group: str | None) -> Captured | None:
    """`url` deferred to the next run if the time budget of its `group` is spent; else None."""
    if group is None or budget.allows(group):
        return None
    why = f"not checked this run: {group} took their {budget.seconds:g} s"
    return not_fetched(url, Verdict.DEFERRED, why)


def not_fetched(url: str, verdict: Verdict, error: str) -> Captured:
    return Captured(Capture(url=url, started=datetime.now(UTC)), verdict, error)
