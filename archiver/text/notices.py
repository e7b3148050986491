"""Correction and update notices: the sentences with which an outlet says it changed a story.

The one home of the built-in patterns (`BUILT_IN`). Users add their own with `[announce] notices`
in archiver.toml (`Notices.with_patterns`). A notice is matched on one line of the normalized text
(article.md: one sentence per line), from its start and case-insensitively, so that "the update to
the software" or "no correction was needed" is never one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from . import rules as textrules

# Labels that open a notice when a separator follows them: "Correction:", "Correction :",
# "UPDATE —", "Update (Nov. 24):", "Editor's note –".
LABELS = (
    r"corrections?",
    r"updated?",
    r"editor[’'`]?s[’'`]?\s+note",
    r"note\s+from\s+the\s+editors?",
    r"clarification",
    r"erratum",
    # French
    r"mise\s+à\s+jour",
    r"rectificatif",
    r"note\s+de\s+la\s+rédaction",
    r"précision",
    # German
    r"korrektur",
    r"aktualisierung",
    r"anmerkung\s+der\s+redaktion",
    r"richtigstellung",
    # Spanish
    r"corrección",
    r"actualización",
    r"nota\s+del\s+editor",
    r"nota\s+de\s+la\s+redacción",
    r"fe\s+de\s+errores",
    # Russian
    r"исправление",
    r"обновление",
    r"примечание\s+редакции",
)
# Sentences that are a notice by their opening words, with or without a separator.
OPENINGS = (
    r"this\s+(?:article|story|report|post|piece|page)\s+(?:has\s+been|was|is\s+being)\s+"
    r"(?:updated|corrected|amended|changed|edited)",
    r"an?\s+(?:earlier|previous|prior)\s+version\s+of\s+this\s+(?:article|story|report|post|piece)",
    r"cet\s+article\s+a\s+été\s+(?:mis\s+à\s+jour|modifié|corrigé|actualisé)",
    r"une\s+(?:précédente|première)\s+version\s+de\s+cet\s+article",
    r"in\s+einer\s+(?:früheren|vorherigen|älteren)\s+version",
    r"dieser\s+(?:artikel|beitrag|text)\s+wurde\s+(?:aktualisiert|korrigiert|geändert)",
    r"una\s+versión\s+anterior\s+de\s+este\s+(?:artículo|texto|reportaje)",
    r"este\s+(?:artículo|texto)\s+(?:ha\s+sido|fue)\s+(?:actualizado|corregido|modificado)",
    r"материал\s+(?:был\s+)?(?:обновл[её]н|исправлен|дополнен)",
    r"в\s+(?:предыдущей|первоначальной|ранней)\s+версии\s+(?:этого\s+)?(?:материала|статьи)",
)
# What may open a line before the label: an opening bracket or emphasis left in the text.
_LEAD = r"^[\s(\[*_]*"
# A short qualifier between label and separator holding a date or time: "Update, Nov. 24:",
# "Correction (24 November) —".
_QUALIFIER = r"(?:\s*[,(\[][^:：—–\n]{0,30}?\d[^:：—–\n]{0,20}?[)\]]?)?"
# The separator: a colon (a space before it, as French writes it, or not), or a dash; a hyphen only
# after a space, so that "Update-driven" is no notice.
_SEPARATOR = r"(?:\s*[:：]|\s*[—–]|\s+-)"
LABELLED = re.compile(rf"{_LEAD}(?:{'|'.join(LABELS)}){_QUALIFIER}{_SEPARATOR}", re.IGNORECASE)
OPENED = re.compile(rf"{_LEAD}(?:{'|'.join(OPENINGS)})\b", re.IGNORECASE)
BUILT_IN = (LABELLED, OPENED)
# What a time stamp is made of: a label followed by nothing else ("UPDATE — 14:32 GMT", "Update:
# Nov. 24, 2026, 2:15 p.m.") is a stamp, not a notice.
_STAMP_WORDS = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|\b(?:mon|tue|wed|thu|fri|sat|"
    r"sun)[a-z]*\b|\b(?:a\.?m|p\.?m|gmt|utc|[a-z]{1,2}[sd]t|cet|cest|bst|msk|at|on|um|à|le|am)\b"
    r"|\b(?:today|yesterday|heute|gestern|aujourd[’']hui|hier|hoy|ayer|сегодня|вчера)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]{2,}")
# A heading that is the label alone ("## Correction", "## Update, Nov. 24") opens a notice too.
_HEADING_LABEL = re.compile(
    rf"{_LEAD}(?:{'|'.join(LABELS)}){_QUALIFIER}[\s.:：—–-]*$", re.IGNORECASE
)
# The prefixes article.md gives a line of a block (`normalize.Block.render`).
_BLOCK_PREFIX = re.compile(r"^\s*(?:## |- |> )?")


@dataclass(frozen=True)
class Notices:
    """The notice patterns in force: the built-in ones and the user's."""

    patterns: tuple[re.Pattern[str], ...] = BUILT_IN

    def with_patterns(self, extra: Iterable[re.Pattern[str]]) -> Notices:
        return Notices((*self.patterns, *extra))

    def is_notice(self, line: str) -> bool:
        """Whether `line` of article.md is a correction or update notice. A volatile stamp
        ("Updated 5 minutes ago", "Updated: 14:32 GMT") never is, though the text keeps none."""
        heading = line.lstrip().startswith("## ")
        sentence = text_of(line)
        if not sentence or textrules.is_volatile(sentence):
            return False
        if heading and _HEADING_LABEL.match(sentence):
            return True
        labelled = LABELLED.match(sentence)
        # A notice says what changed within its first words; a longer stamp is no stamp.
        rest = sentence[labelled.end() : labelled.end() + 200] if labelled else ""
        if labelled and _WORD.search(_STAMP_WORDS.sub(" ", rest)):
            return True
        return any(p.search(sentence) for p in self.patterns if p is not LABELLED)

    def added(self, old: Iterable[str], new: Iterable[str]) -> str | None:
        """The first notice among the lines of `new` that `old` lacks (a notice already there
        announces an earlier edit), as in the text; None when there is none."""
        before = {text_of(line) for line in old}
        for line in new:
            if text_of(line) not in before and self.is_notice(line):
                return text_of(line)
        return None


def text_of(line: str) -> str:
    """A line of article.md without its block prefix: the sentence as the page says it."""
    return _BLOCK_PREFIX.sub("", line, count=1).strip()
