"""`diff --word` in the terminal: each changed sentence beside the one it became, as the HTML report
pairs them."""

from __future__ import annotations

from archiver.history.compare import compare
from archiver.history.render import diff
from archiver.storage.versions import Version

OLD = """# Council budget

The council approved the budget on Tuesday after a long debate.
Officials said the library would close in March.
The mayor thanked the staff.
"""
NEW = """# Council budget

The council approved the budget on Monday after a long debate.
A new swimming pool will open next year, the council said.
The mayor thanked the staff.
"""


def version(number: int) -> Version:
    meta = {"captured_at": "2026-11-2{number}T10:00:00+00:00", "kind": "edited", "status": 200}
    return Version("", number, f"{number:040x}", meta)


def test_word_diff_pairs_each_sentence_with_the_one_it_became() -> None:
    comparison = compare(OLD, NEW)
    out = diff("https://example.com/budget", version(1), version(2), comparison, words=True).plain
    body = out.split("\nbody\n", 1)[1].splitlines()
    assert body == [
        "~ The council approved the budget on [-Tuesday-] {+Monday+} after a long debate.",
        "- Officials said the library would close in March.",
        "+ A new swimming pool will open next year, the council said.",
    ]
    plain = diff("https://example.com/budget", version(1), version(2), comparison).plain
    assert plain.split("\nbody\n", 1)[1].splitlines() == [
        "- The council approved the budget on Tuesday after a long debate.",
        "- Officials said the library would close in March.",
        "+ The council approved the budget on Monday after a long debate.",
        "+ A new swimming pool will open next year, the council said.",
    ]
