"""A run's events as one message: short enough for a phone, bounded however many pages changed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..config import EventKind
from ..run.events import Event
from ..run.feed import FEED

LISTED = 20  # versions shown in full; the rest are counted ("and 37 more")


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
    """One message for `events` (newest run's last), headed by their counts by kind; the events of
    one version (an edit, and its being unannounced) told in one block."""
    counts = Counter(e.kind for e in events)
    tally = ", ".join(f"{n} {WORDS.get(kind, kind)}" for kind, n in counts.most_common())
    versions: dict[tuple[str, int | None], list[Event]] = {}
    for event in events:
        versions.setdefault((event.url, event.version), []).append(event)
    groups = list(versions.values())
    blocks = [_block(group) for group in groups[:LISTED]]
    if len(groups) > LISTED:
        blocks.append(
            f"… and {len(groups) - LISTED} more: `archiver log` or the change feed {FEED} "
            f"in {archive} lists every version."
        )
    return Message(title=f"archiver: {tally}", body="\n\n".join(blocks) + "\n")


def _block(group: list[Event]) -> str:
    first = group[0]
    role = " (cited source)" if first.role == "source" else ""
    kinds = ", ".join(WORDS.get(e.kind, e.kind) for e in group)
    lines = [
        first.headline,
        f"{kinds}{role} · {first.outlet}"
        + (f" · version {first.version}" if first.version else ""),
        first.summary,
        *_pairs(first),
    ]
    for event in group[1:]:  # what the version also means, where it says more
        if event.pairs != first.pairs or event.kind in (EventKind.SOURCE_GONE,):
            lines.append(f"{WORDS.get(event.kind, event.kind)}: {event.summary}")
            lines.extend(_pairs(event) if event.pairs != first.pairs else [])
    lines.append(first.url)
    if first.report:
        lines.append(f"report: {first.report}")
    return "\n".join(lines)


def _pairs(event: Event) -> list[str]:
    lines = []
    for before, after in event.pairs:
        lines.append(f"  before: {before or '(none)'}")
        lines.append(f"  after:  {after or '(none)'}")
    return lines
