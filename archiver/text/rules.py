"""Plain-text rules: cleaning, sentence splitting, and the volatile fragments news pages rotate.

The goal is that the same article always yields the same bytes, whatever changes around it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Zero-width and invisible formatting characters, and control characters (C0 other than whitespace,
# DEL, C1): they never change what a reader sees, and a terminal showing the text could obey them.
_INVISIBLE = re.compile(
    "[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff"
    "\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]"
)  # NEL (\x85) is whitespace
_SPACE = re.compile(r"\s+")

ABBREVIATIONS = frozenset(
    "mr mrs ms mx dr prof sr jr st mt ft gen gov sen rep col lt sgt capt cmdr adm rev hon pres vs etc "
    "e.g i.e inc ltd co corp no nos vol fig jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k "
    "u.n e.u a.m p.m approx dept est ave blvd rd ca cf al op ed".split()
)
# Candidate sentence ends: terminal punctuation, closing quotes/brackets, then space. Only from the
# start of a run of punctuation: tried from inside a long run (".......") too, every position would
# read the rest of it.
_LATIN_END = re.compile(r"(?<![.!?…])[.!?…]+[\"'”’»)\]]*\s+")
# Opening quotes and brackets before the first letter of a sentence.
_OPENERS = "\"'“‘«(["
_OPENING = re.compile(f"[{re.escape(_OPENERS)}]*")
# CJK full stops end a sentence with no space after them.
_CJK_END = re.compile(r"[。！？]+[」』”’）]*")

_UNITS = r"(?:sec(?:ond)?s?|min(?:ute)?s?|h(?:ou)?rs?|hours?|days?|weeks?|months?|years?)"
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DAYS = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*"
# Whole sentences that are only volatile page furniture. In these patterns and the next, no two
# whitespace runs stand side by side (`\s*:?\s*` is written `\s*(?::\s*)?`): a long run of spaces
# then costs one pass, not one per way of splitting it between them.
VOLATILE_SENTENCES = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"^(?:(?:last\s+)?updated|posted|published|modified|edited)?\s*(?::\s*)?(?:\d+|an?|one)\s+{_UNITS}\s+ago\.?$",
        # "Updated 14:05", "Last updated: Nov. 24, 2026", "Updated on Monday" — but not "Updated
        # figures show…".
        rf"^(?:last\s+)?updated(?:\s+on)?\s*(?::\s*)?(?:\d|{_MONTHS}|{_DAYS}|today|yesterday|just now)"
        r"[^.!?]{0,50}\.?$",
        r"^just\s+now\.?$",
        r"^[\d.,]+(?:\s*[km])?\s+(?:views?|shares?|comments?|likes?|reads?|reactions?|readers?)\.?$",
        r"^(?:views?|shares?|comments?|likes?)\s*(?:[:(]\s*)?[\d.,]+\s*[km]?\)?$",
        r"^(?:advertisement|skip advertisement|sponsored(?: content)?|share(?: this(?: article| story)?)?"
        r"|read more|continue reading|show more|load more)\.?$",
        r"^(?:read more|related|recommended|also read|read also|see also|more from [^:|]{1,40}|most read"
        r"|trending|watch|listen)\s*[:|–—-]\s*.+$",
    )
)
# Volatile fragments inside a sentence, removed in place: "(updated 5 minutes ago)". A match starts
# only where a run of whitespace does, not again at each of its spaces.
VOLATILE_FRAGMENTS = re.compile(
    rf"(?<!\s)\s*[(\[]\s*(?:(?:last\s+)?updated\s*(?::\s*)?)?(?:\d+|an?)\s+{_UNITS}\s+ago\s*[)\]]",
    re.IGNORECASE,
)


def clean(text: str) -> str:
    """NFC, invisible characters removed, every run of whitespace one space, trimmed."""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    return _SPACE.sub(" ", text).strip()


def split_sentences(text: str) -> list[str]:
    """One sentence per item; conservative (abbreviations and initials do not end a sentence)."""
    sentences: list[str] = []
    for part in _split_cjk(text):
        sentences.extend(_split_latin(part))
    return [s for s in sentences if s]


def _split_cjk(text: str) -> Iterable[str]:
    start = 0
    for match in _CJK_END.finditer(text):
        yield text[start : match.end()].strip()
        start = match.end()
    yield text[start:].strip()


def _split_latin(text: str) -> Iterable[str]:
    start = 0
    for match in _LATIN_END.finditer(text):
        opened = _OPENING.match(text, match.end())  # always matches, if only the empty string
        after = opened.end() if opened else match.end()
        if after == len(text) or not (text[after].isupper() or text[after].isdigit()):
            continue
        if _ends_with_abbreviation(text, start, match.start()):
            continue
        yield text[start : match.end()].strip()
        start = match.end()
    yield text[start:].strip()


def _ends_with_abbreviation(text: str, start: int, end: int) -> bool:
    """Whether the word that text[end] ends (not before `start`) is an abbreviation or an initial.
    Only that word is read: a paragraph whose candidate ends are all passed over is still read once,
    not once per end."""
    if text[end] != ".":
        return False
    begin = end
    while begin > start and not text[begin - 1].isspace():
        begin -= 1
    word = text[begin : end + 1].lstrip(_OPENERS).rstrip(".").lower()
    return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def is_volatile(sentence: str, extra: Iterable[re.Pattern[str]] = ()) -> bool:
    return any(p.search(sentence) for p in VOLATILE_SENTENCES) or any(
        p.search(sentence) for p in extra
    )


def strip_volatile(sentence: str) -> str:
    return VOLATILE_FRAGMENTS.sub("", sentence).strip()
