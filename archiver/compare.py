"""Comparing two versions of a page: sections of article.md, sentence and word diffs, a change summary.

Pure functions over the text we write, shared by classification (crawl) and the history commands.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

_BYLINE = re.compile(r"^(?:By .+?)?(?: · )?(?:Published \S+)?$")


@dataclass
class Sections:
    headline: str = ""
    byline: str = ""
    body: list[str] = field(default_factory=list)  # one sentence (or heading/item) per entry, in order
    starts: set[int] = field(default_factory=set)  # indexes of the body lines that begin a paragraph (block)


def parse_article(text: str | None) -> Sections:
    """Split an article.md (as `normalize` writes it) into headline, byline and body lines."""
    if not text:
        return Sections()
    blocks = text.strip("\n").split("\n\n")
    sections = Sections()
    if blocks and blocks[0].startswith("# "):
        sections.headline = blocks.pop(0)[2:]
    if blocks and "\n" not in blocks[0] and blocks[0].startswith(("By ", "Published ")) and _BYLINE.match(blocks[0]):
        sections.byline = blocks.pop(0)
    for block in blocks:
        lines = [line for line in block.split("\n") if line.strip()]
        if lines:
            sections.starts.add(len(sections.body))
        sections.body.extend(lines)
    return sections


def parse_links(text: str | None) -> list[tuple[str, str]]:
    pairs = []
    for line in (text or "").splitlines():
        if line.strip():
            url, _, anchor = line.partition("\t")
            pairs.append((url, anchor))
    return pairs


@dataclass
class BodyChange:
    op: str  # "insert", "delete" or "replace" (and "equal" from body_runs)
    old: list[str]
    new: list[str]


@dataclass
class Comparison:
    headline: tuple[str, str] | None = None
    byline: tuple[str, str] | None = None
    body: list[BodyChange] = field(default_factory=list)
    citations_added: list[tuple[str, str]] = field(default_factory=list)
    citations_removed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.headline or self.byline or self.body or self.citations_added or self.citations_removed)

    def counts(self) -> dict[str, int]:
        changed = sum(min(len(c.old), len(c.new)) for c in self.body)
        return {
            "sentences_added": sum(len(c.new) for c in self.body) - changed,
            "sentences_removed": sum(len(c.old) for c in self.body) - changed,
            "sentences_changed": changed,
            "citations_added": len(self.citations_added),
            "citations_removed": len(self.citations_removed),
        }

    def summary(self) -> str:
        """One line: "2 sentences changed, headline changed, 1 citation removed"."""
        counts = self.counts()
        parts = []
        if self.headline:
            parts.append("headline changed")
        if self.byline:
            parts.append("byline changed")
        for key, noun, verb in (("sentences_changed", "sentence", "changed"), ("sentences_added", "sentence", "added"),
                                ("sentences_removed", "sentence", "removed"),
                                ("citations_added", "citation", "added"), ("citations_removed", "citation", "removed")):
            if counts[key]:
                parts.append(f"{counts[key]} {noun}{'s' if counts[key] > 1 else ''} {verb}")
        return ", ".join(parts) or "no change in the text"

    def as_dict(self) -> dict[str, Any]:
        def pair(value: tuple[str, str] | None) -> dict[str, str] | None:
            return {"from": value[0], "to": value[1]} if value else None

        return {
            "headline": pair(self.headline),
            "byline": pair(self.byline),
            "body": [{**asdict(c), "words": word_diff(c.old, c.new) if c.op == "replace" else None}
                     for c in self.body],
            "citations": {
                "added": [{"url": u, "text": t} for u, t in self.citations_added],
                "removed": [{"url": u, "text": t} for u, t in self.citations_removed],
            },
            "counts": self.counts(),
            "summary": self.summary(),
        }


def compare(old_text: str | None, new_text: str | None, old_links: str | None = None,
            new_links: str | None = None) -> Comparison:
    old, new = parse_article(old_text), parse_article(new_text)
    result = Comparison(
        headline=(old.headline, new.headline) if old.headline != new.headline else None,
        byline=(old.byline, new.byline) if old.byline != new.byline else None,
        body=body_changes(old.body, new.body),
    )
    before, after = parse_links(old_links), parse_links(new_links)
    before_urls, after_urls = {u for u, _ in before}, {u for u, _ in after}
    result.citations_added = [(u, t) for u, t in after if u not in before_urls]
    result.citations_removed = [(u, t) for u, t in before if u not in after_urls]
    return result


def body_changes(old: list[str], new: list[str]) -> list[BodyChange]:
    return [change for change in body_runs(old, new) if change.op != "equal"]


def body_runs(old: list[str], new: list[str]) -> list[BodyChange]:
    """The whole body as runs of lines, in order: unchanged ("equal") runs as well as changes."""
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [BodyChange(op, old[i1:i2], new[j1:j2]) for op, i1, i2, j1, j2 in matcher.get_opcodes()]


PAIRING_LIMIT = 2500  # old × new sentences beyond which a rewrite is not paired up (quadratic work)


def sentence_pairs(old: list[str], new: list[str], cutoff: float = 0.5) -> list[tuple[str | None, str | None]]:
    """The sentences of a replaced run matched up in order, as difflib's ndiff pairs lines: each old sentence
    with the new one it became (sharing at least `cutoff` of their words, by difflib's ratio), the others
    alone, (old, None) for a deletion and (None, new) for an insertion."""
    unpaired = [(o, None) for o in old] + [(None, n) for n in new]
    if not old or not new or len(old) * len(new) > PAIRING_LIMIT:
        return unpaired
    best, at = cutoff, None
    for i, before in enumerate(old):
        for j, after in enumerate(new):
            ratio = difflib.SequenceMatcher(a=before.split(), b=after.split(), autojunk=False).ratio()
            if ratio >= best and (at is None or ratio > best):
                best, at = ratio, (i, j)
    if at is None:
        return unpaired
    i, j = at
    return [*sentence_pairs(old[:i], new[:j], cutoff), (old[i], new[j]),
            *sentence_pairs(old[i + 1:], new[j + 1:], cutoff)]


def similarity(old_text: str | None, new_text: str | None) -> float:
    """How much of the body two versions share, 0.0 to 1.0: common words over the longer body's words.

    Word counts, not order: robust to edits and fast on long pages.
    """
    old = Counter(" ".join(parse_article(old_text).body).lower().split())
    new = Counter(" ".join(parse_article(new_text).body).lower().split())
    if not old and not new:
        return 1.0
    return sum((old & new).values()) / max(sum(old.values()), sum(new.values()))


def word_diff(old: list[str], new: list[str]) -> list[list[str]]:
    """Word-level changes between replaced sentences: [op, text] pairs with op in "=", "-", "+"."""
    a, b = " ".join(old).split(" "), " ".join(new).split(" ")
    pieces: list[list[str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            pieces.append(["=", " ".join(a[i1:i2])])
            continue
        if i2 > i1:
            pieces.append(["-", " ".join(a[i1:i2])])
        if j2 > j1:
            pieces.append(["+", " ".join(b[j1:j2])])
    return pieces
