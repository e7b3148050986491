"""Comparing two versions of a page: sections of article.md, sentence and word diffs, a change
summary.

Pure functions over the text we write, shared by classification (`run/classify.py`) and the history
commands.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..words import counted
from .align import WORK_LIMIT, Budget, opcodes, ratio

_BYLINE = re.compile(r"^(?:By .+?)?(?: · )?(?:Published \S+)?$")


@dataclass
class Sections:
    headline: str = ""
    byline: str = ""
    body: list[str] = field(
        default_factory=list
    )  # one sentence (or heading/item) per entry, in order
    starts: set[int] = field(
        default_factory=set
    )  # indexes of the body lines that begin a paragraph (block)


def parse_article(text: str | None) -> Sections:
    """Split an article.md (as `normalize` writes it) into headline, byline and body lines."""
    if not text:
        return Sections()
    blocks = text.strip("\n").split("\n\n")
    sections = Sections()
    if blocks and blocks[0].startswith("# "):
        sections.headline = blocks.pop(0)[2:]
    if (
        blocks
        and "\n" not in blocks[0]
        and blocks[0].startswith(("By ", "Published "))
        and _BYLINE.match(blocks[0])
    ):
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
        return not (
            self.headline
            or self.byline
            or self.body
            or self.citations_added
            or self.citations_removed
        )

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
        for key, noun, verb in (
            ("sentences_changed", "sentence", "changed"),
            ("sentences_added", "sentence", "added"),
            ("sentences_removed", "sentence", "removed"),
            ("citations_added", "citation", "added"),
            ("citations_removed", "citation", "removed"),
        ):
            if counts[key]:
                parts.append(f"{counted(counts[key], noun)} {verb}")
        return ", ".join(parts) or "no change in the text"

    def as_dict(self) -> dict[str, Any]:
        def pair(value: tuple[str, str] | None) -> dict[str, str] | None:
            return {"from": value[0], "to": value[1]} if value else None

        budget = word_budget(
            line for c in self.body if c.op == "replace" for line in (*c.old, *c.new)
        )
        return {
            "headline": pair(self.headline),
            "byline": pair(self.byline),
            "body": [
                {
                    **asdict(c),
                    "words": word_diff(c.old, c.new, budget) if c.op == "replace" else None,
                }
                for c in self.body
            ],
            "citations": {
                "added": [{"url": u, "text": t} for u, t in self.citations_added],
                "removed": [{"url": u, "text": t} for u, t in self.citations_removed],
            },
            "counts": self.counts(),
            "summary": self.summary(),
        }


def compare(
    old_text: str | None,
    new_text: str | None,
    old_links: str | None = None,
    new_links: str | None = None,
) -> Comparison:
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
    """The whole body as runs of lines, in order: unchanged ("equal") runs as well as changes.

    difflib's runs, as always, for any article of normal size; in bounded work beyond (see
    align.py)."""
    return [BodyChange(op, old[i1:i2], new[j1:j2]) for op, i1, i2, j1, j2 in opcodes(old, new)]


PAIRING_LIMIT = 2500  # old × new sentences beyond which a rewrite is not paired up (quadratic work)
# Steps of work per word of the sentences compared, beyond align.WORK_LIMIT, that the word-level
# detail of one diff (pairing sentences, word diffs) may take: pairing reads a sentence again for
# each candidate partner.
WORD_READS = 8


def word_budget(lines: Iterable[str]) -> Budget:
    """The work allowed for the word-level detail of these lines: a fixed part plus some per
    word."""
    return Budget(WORK_LIMIT + WORD_READS * sum(line.count(" ") + 1 for line in lines))


def sentence_pairs(
    old: list[str], new: list[str], cutoff: float = 0.5, budget: Budget | None = None
) -> list[tuple[str | None, str | None]]:
    """The sentences of a replaced run matched up in order, as difflib's ndiff pairs lines: each old
    sentence with the new one it became (sharing at least `cutoff` of their words, by difflib's
    ratio), the others alone, (old, None) for a deletion and (None, new) for an insertion.

    Each pair's ratio is worked out once, and only when a bound on it (shared words, counted as a
    bag) could beat the best pair so far; all of it is paid from `budget`, and once that is spent
    the sentences not yet paired stay alone."""
    if not old or not new or len(old) * len(new) > PAIRING_LIMIT:
        return [(o, None) for o in old] + [(None, n) for n in new]
    budget = budget if budget is not None else word_budget([*old, *new])
    return _Pairing(old, new, cutoff, budget).pairs(0, len(old), 0, len(new))


class _Pairing:
    """sentence_pairs' search, each ratio worked out at most once."""

    def __init__(self, old: list[str], new: list[str], cutoff: float, budget: Budget) -> None:
        self.old, self.new, self.cutoff, self.budget = old, new, cutoff, budget
        self.words = [s.split() for s in old], [s.split() for s in new]
        self.bags = [Counter(w) for w in self.words[0]], [Counter(w) for w in self.words[1]]
        self.ratios: dict[tuple[int, int], float] = {}

    def pairs(self, ilo: int, ihi: int, jlo: int, jhi: int) -> list[tuple[str | None, str | None]]:
        best, at = self.cutoff, None
        for i in range(ilo, ihi):
            for j in range(jlo, jhi):
                value = self.ratio(i, j, best, strict=at is not None)
                if value is not None and value >= best and (at is None or value > best):
                    best, at = value, (i, j)
        if at is None:
            return [(o, None) for o in self.old[ilo:ihi]] + [(None, n) for n in self.new[jlo:jhi]]
        i, j = at
        return [
            *self.pairs(ilo, i, jlo, j),
            (self.old[i], self.new[j]),
            *self.pairs(i + 1, ihi, j + 1, jhi),
        ]

    def ratio(self, i: int, j: int, best: float, strict: bool) -> float | None:
        """difflib's ratio of sentences i and j; None when it cannot beat `best`, or the budget is
        spent."""
        if (i, j) in self.ratios:
            return self.ratios[i, j]
        a, b = self.words[0][i], self.words[1][j]
        total = len(a) + len(b)

        def may_beat(
            shared: int,
        ) -> bool:  # `shared` bounds the matched words: so does this the ratio
            bound = 2.0 * shared / total if total else 1.0
            return bound > best or (bound == best and not strict)

        small, large = sorted((self.bags[0][i], self.bags[1][j]), key=len)
        if not may_beat(min(len(a), len(b))) or not self.budget.spend(len(small)):
            return None
        if not may_beat(sum(min(small[word], large[word]) for word in small.keys() & large.keys())):
            return None
        if not self.budget.spend(total):
            return None
        self.ratios[i, j] = value = ratio(a, b, self.budget)
        return value


def similarity(old_text: str | None, new_text: str | None) -> float:
    """How much of the body two versions share, 0.0 to 1.0: common words over the longer body's
    words.

    Word counts, not order: robust to edits and fast on long pages.
    """
    old = Counter(" ".join(parse_article(old_text).body).lower().split())
    new = Counter(" ".join(parse_article(new_text).body).lower().split())
    if not old and not new:
        return 1.0
    return sum((old & new).values()) / max(sum(old.values()), sum(new.values()))


def word_diff(old: list[str], new: list[str], budget: Budget | None = None) -> list[list[str]]:
    """Word-level changes between replaced sentences: [op, text] pairs with op in "=", "-", "+"."""
    a, b = " ".join(old).split(" "), " ".join(new).split(" ")
    pieces: list[list[str]] = []
    for op, i1, i2, j1, j2 in opcodes(a, b, budget):
        if op == "equal":
            pieces.append(["=", " ".join(a[i1:i2])])
            continue
        if i2 > i1:
            pieces.append(["-", " ".join(a[i1:i2])])
        if j2 > j1:
            pieces.append(["+", " ".join(b[j1:j2])])
    return pieces
