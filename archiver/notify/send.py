"""Delivery: the run's events to every target in `[notify] urls`, through Apprise, after the commit.

A message a target refuses is kept in the state database's outbox (`storage/state.py`) and sent
again, with whatever the next run adds, by the next run, at most `max_attempts` times in all; then
it is dropped with a warning. Nothing here raises into the run: its exit status is the run's.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..config import EventKind, NotifyConfig
from ..run.events import Event
from ..storage.state import Queued, State
from ..words import counted
from .message import Message, compose

log = logging.getLogger(__name__)


@dataclass
class Attempt:
    """One message to one target: where (the URL with its secrets hidden), with how many events,
    and why it failed."""

    target: str
    events: int
    error: str | None = None

    @property
    def sent(self) -> bool:
        return self.error is None

    def line(self) -> str:
        return f"{self.target}: sent" if self.sent else f"{self.target}: failed: {self.error}"


@dataclass
class Delivery:
    """What a run's notifications came to."""

    attempts: list[Attempt] = field(default_factory=list)
    pending: int = 0  # events waiting in the outbox for a later run
    dropped: list[str] = field(default_factory=list)  # one line per message given up

    @property
    def failed(self) -> list[Attempt]:
        return [a for a in self.attempts if not a.sent]

    def line(self) -> str:
        sent = sum(a.sent for a in self.attempts)
        return (
            f"notifications: {sent} of {counted(len(self.attempts), 'message')} sent, "
            f"{counted(self.pending, 'event')} waiting, {len(self.dropped)} dropped"
        )

    def problems(self) -> list[str]:
        """One line per target that refused, and per message given up."""
        lines = [
            f"notification to {a.target} failed ({a.error}); its {counted(a.events, 'event')} "
            "will be sent again by the next run"
            for a in self.failed
        ]
        return lines + self.dropped

    def as_dict(self) -> dict[str, Any]:
        return {
            "attempts": [{**asdict(a), "sent": a.sent} for a in self.attempts],
            "pending": self.pending,
            "dropped": self.dropped,
        }


def target_key(url: str) -> str:
    """How the outbox names a target: a digest, so that no password is copied there."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


def chosen(config: NotifyConfig, events: list[Event]) -> list[Event]:
    """The events the settings ask to be told of."""
    return [
        e
        for e in events
        if e.kind in config.events
        and (e.kind != EventKind.EDITED or e.changed_sentences >= config.min_changed_sentences)
    ]


def deliver(config: NotifyConfig, events: list[Event], state: State, archive: str) -> Delivery:
    """Send each target one message of the run's chosen events and what waits for it in the outbox."""
    delivery = Delivery()
    fresh = chosen(config, events)
    waiting: dict[str, list[Queued]] = {}
    for queued in state.queued():
        waiting.setdefault(queued.target, []).append(queued)
    now = datetime.now(UTC).isoformat()
    for url in dict.fromkeys(config.urls):
        key = target_key(url)
        earlier = waiting.pop(key, [])
        backlog = _events(earlier)
        if not backlog and not fresh:
            continue
        attempt = send(url, compose(backlog + fresh, archive), len(backlog) + len(fresh))
        delivery.attempts.append(attempt)
        if attempt.error is None:
            state.unqueue([q.id for q in earlier])
            continue
        again = [q for q in earlier if q.attempts < config.max_attempts - 1]
        state.failed_again([q.id for q in again], attempt.error)
        given_up = [q for q in earlier if q not in again]
        state.unqueue([q.id for q in given_up])
        delivery.dropped += [_dropped(attempt.target, q, config.max_attempts) for q in given_up]
        if fresh and config.max_attempts > 1:
            state.queue(key, now, attempt.error, json.dumps([e.as_dict() for e in fresh]))
        elif fresh:
            delivery.dropped.append(f"notification to {attempt.target} dropped after 1 attempt")
    for gone in waiting.values():  # targets no longer in the settings
        state.unqueue([q.id for q in gone])
        delivery.dropped += [
            f"a notification queued since {q.queued_at} was dropped: its target is no longer in "
            "notify.urls"
            for q in gone
        ]
    delivery.pending = sum(len(_events([q])) for q in state.queued())
    for line in delivery.dropped:
        log.info("%s", line)
    return delivery


def _dropped(target: str, queued: Queued, attempts: int) -> str:
    return (
        f"notification to {target} queued since {queued.queued_at} dropped after "
        f"{counted(attempts, 'attempt')} (last: {queued.last_error})"
    )


def _events(queued: list[Queued]) -> list[Event]:
    found = []
    for q in queued:
        try:
            found += [Event.from_dict(e) for e in json.loads(q.events)]
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("a queued notification could not be read (%s); it is dropped", exc)
    return found


def test(config: NotifyConfig) -> list[Attempt]:
    """A test message to every target."""
    message = Message(
        "archiver: test message",
        "This is a test message from archiver: notifications of this archive reach you here.\n",
    )
    return [send(url, message, 0) for url in dict.fromkeys(config.urls)]


def send(url: str, message: Message, events: int) -> Attempt:
    """Deliver `message` to the Apprise target `url`; the attempt says why it failed, if it did."""
    import apprise  # loads every service's module: only when there is something to send

    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:  # checked when the settings were loaded
        return Attempt(url.split("://")[0] + "://…", events, "Apprise cannot use this URL")
    shown = plugin.url(privacy=True).split("?")[0]
    with _captured() as said:
        try:
            ok = bool(
                plugin.notify(
                    body=message.body, title=message.title, body_format=apprise.NotifyFormat.TEXT
                )
            )
        except Exception as exc:  # a plugin's bug must not take the run with it
            log.debug("Apprise raised", exc_info=True)
            ok, said[:] = False, [f"{type(exc).__name__}: {exc}"]
    if ok:
        return Attempt(shown, events)
    return Attempt(shown, events, said[-1] if said else "the service refused the message")


@contextmanager
def _captured() -> Iterator[list[str]]:
    """Apprise's warnings while it sends (why a target refused), kept from the user's log."""
    logger = logging.getLogger("apprise")
    said: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            said.append(record.getMessage().strip())

    handler, propagate, level = Keep(logging.WARNING), logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    if logger.level == logging.NOTSET or logger.level > logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        yield said
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        logger.setLevel(level)
