"""Text renderings of history for the terminal: rich `Text` (coloured on a terminal, plain in a
pipe)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from .. import untrusted
from ..evidence.confirmations import Confirmation
from ..storage.versions import Version
from . import announcement
from .align import Budget
from .compare import Comparison, sentence_pairs, word_budget, word_diff

DELETE = "red"
INSERT = "green"


def when(version: Version) -> str:
    return version.captured_at[:16].replace("T", " ")


def _add(out: Text, text: str, style: str | None = None) -> None:
    """Append text that quotes pages (sentences, anchors, titles) without terminal control
    sequences."""
    out.append(untrusted.printable(text), style=style)


def log_lines(entries: Sequence[Version | Confirmation]) -> list[str]:
    """A line per version (tab-separated fields); with `log --checks`, a sentence per confirmation
    between them. An edit the outlet announced, or a substantive one it did not, says so in a last
    field."""
    versions = {entry.number: entry for entry in entries if isinstance(entry, Version)}
    lines = []
    for entry in entries:
        if isinstance(entry, Confirmation):
            lines.append(entry.line())
            continue
        line = f"v{entry.number}\t{when(entry)}\t{entry.kind}\t{entry.commit[:10]}\t{entry.summary}"
        mark = announcement.mark(entry, versions.get(entry.number - 1))
        lines.append(f"{line}\t{mark}" if mark else line)
    return lines


def diff(
    url: str,
    old: Version,
    new: Version,
    comparison: Comparison,
    words: bool = False,
    banner: str | None = None,
) -> Text:
    """The diff for the terminal; `banner`: whether TO's edit was announced, said in its header."""
    out = Text()
    out.append(f"diff {url}\n", style="bold")
    for label, version in (("from", old), ("to  ", new)):
        status = f" HTTP {version.status}" if version.status else ""
        out.append(
            f"{label} v{version.number} {when(version)} UTC {version.kind}{status} "
            f"({version.commit[:10]})"
        )
        if version is new and banner:
            _add(out, f": {banner}", "bold")
        out.append("\n")
    out.append(f"{comparison.summary()}\n", style="bold")
    for name, pair in (("headline", comparison.headline), ("byline", comparison.byline)):
        if pair:
            _section(out, name)
            _pair(out, [pair[0]] if pair[0] else [], [pair[1]] if pair[1] else [], words)
    if comparison.body:
        _section(out, "body")
        budget = word_budget(
            line for change in comparison.body for line in (*change.old, *change.new)
        )
        for change in comparison.body:
            _pair(out, change.old, change.new, words and change.op == "replace", budget)
    if comparison.citations_added or comparison.citations_removed:
        _section(out, "citations")
        for url_, anchor in comparison.citations_removed:
            _add(out, f"- {url_}  {anchor}\n", DELETE)
        for url_, anchor in comparison.citations_added:
            _add(out, f"+ {url_}  {anchor}\n", INSERT)
    return out


def _section(out: Text, name: str) -> None:
    out.append(f"\n{name}\n", style="bold underline")


def _pair(
    out: Text, old: list[str], new: list[str], words: bool, budget: Budget | None = None
) -> None:
    if not words:
        _lines(out, old, new)
        return
    # Each sentence beside the one it became (as the HTML report pairs them): word changes on one
    # line.
    for before, after in sentence_pairs(old, new, budget=budget):
        if before is None or after is None:
            _lines(out, [before] if before else [], [after] if after else [])
            continue
        out.append("~ ")
        for op, piece in word_diff([before], [after], budget):
            if op == "=":
                _add(out, piece)
            elif op == "-":
                _add(out, f"[-{piece}-]", f"{DELETE} strike")
            else:
                _add(out, f"{{+{piece}+}}", f"{INSERT} underline")
            out.append(" ")
        out.rstrip()
        out.append("\n")


def _lines(out: Text, old: list[str], new: list[str]) -> None:
    for line in old:
        _add(out, f"- {line}\n", DELETE)
    for line in new:
        _add(out, f"+ {line}\n", INSERT)
