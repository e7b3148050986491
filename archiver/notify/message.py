"""A run's events as one message: short enough for a phone, bounded however many pages changed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..run.events import Event

LISTED = 20  # events shown in full; the rest are counted ("and 37 more")
FEED = "feeds/changes.atom"


@dataclass(frozen=True)
class Message:
    title: str
    body: str


# Event kinds as a title counts them: "1 unannounced edit", "2 edited".
WORDS = {
    "unannounced-edit": "unannounced edit",
    "citation-removed": "citation removed",
    "source-gone": "source gone",
    "follow-error": "follow error",
}


def compose(events: list[Event], archive: str) -> Message:
    """One message for `events` (newest run's last), headed by their counts by kind."""
    counts = Counter(e.kind for e in events)
    tally = ", ".join(f"{n} {WORDS.get(kind, kind)}" for kind, n in counts.most_common())
    blocks = [_block(e) for e in events[:LISTED]]
    if len(events) > LISTED:
        blocks.append(
            f"… and {len(events) - LISTED} more: `archiver log` or the change feed {FEED} "
            f"in {archive} lists every version."
        )
    return Message(title=f"archiver: {tally}", body="\n\n".join(blocks) + "\n")


def _block(event: Event) -> str:
    role = " (cited source)" if event.role == "source" else ""
    lines = [
        event.headline,
        f"{event.kind}{role} · {event.outlet}"
        + (f" · version {event.version}" if event.version else ""),
        event.summary,
    ]
    for before, after in event.pairs:
        lines.append(f"  before: {before or '(none)'}")
        lines.append(f"  after:  {after or '(none)'}")
    lines.append(event.url)
    if event.report:
        lines.append(f"report: {event.report}")
    return "\n".join(lines)
