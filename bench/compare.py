"""Benchmark the comparison of two versions: adversarial texts and normal articles.

Run by hand; it prints one line per input and view:

    .venv/bin/python bench/compare.py
    .venv/bin/python bench/compare.py --difflib     # also time plain difflib on the normal articles

Each view is what a command computes: `snapshot` (the comparison that classifies a capture and
writes its summary), `diff`, `diff --word`, `diff --json` and `report`. The work of each is bounded
by align.WORK_LIMIT (and compare.WORD_READS), never by time: the figures show what that bound costs
on this machine.
"""

from __future__ import annotations

import argparse
import difflib
import os
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

from archiver.history.compare import compare
from archiver.history.render import diff
from archiver.history.report import ReportData, render
from archiver.storage.versions import Version

SENTENCE = "The council met again and the minutes of the previous meeting were read aloud in full."
ADDED = "A councillor then asked why the minutes had been read aloud sixteen thousand times."
NEWS = (
    "council budget library mayor harbour ferry terminal residents traffic plan review spring "
    "minister report figures rose fell percent officials said would could after before during the "
    "a of to in on and with by for from that this new old last next year month week"
).split()


def article(lines: list[str]) -> str:
    return "# Council minutes\n\n" + "\n".join(lines) + "\n"


def version(number: int) -> Version:
    meta = {"captured_at": f"2026-11-2{number}T10:00:00+00:00", "kind": "edited", "status": 200}
    return Version("", number, f"{number:040x}", meta)


def inputs() -> dict[str, tuple[list[str], list[str]]]:
    rng = random.Random(1)
    identical = [SENTENCE] * 16_000
    vocabulary = [f"word{i}" for i in range(1_000)]
    million = [rng.choice(vocabulary) for _ in range(1_000_000)]
    changed = list(million)
    changed[500_000] = "CHANGED"
    long_words = [f"w{i}" for i in range(3_000)] + ["the", "of", "and", "a"] * 200

    def long_sentence() -> str:
        return " ".join(rng.choice(long_words) for _ in range(2_000)) + "."

    def news() -> str:
        return " ".join(rng.choice(NEWS) for _ in range(rng.randint(8, 30))).capitalize() + "."

    normal = [news() for _ in range(300)]
    edited = list(normal)
    for at in rng.sample(range(300), 20):
        edited[at] = news() if at % 2 else edited[at].replace(" the ", " a ", 1)
    rewritten = [news() for _ in range(1_000)]
    return {
        "16,000 identical sentences, 1 added": (
            identical,
            [*identical[:8000], ADDED, *identical[8000:]],
        ),
        "16,000 identical sentences, first and last changed": (
            identical,
            ["Opened.", *identical[1:-1], "Closed."],
        ),
        "a sentence of 1,000,000 words, 1 word changed": ([" ".join(million)], [" ".join(changed)]),
        "50 sentences of 2,000 words, all different": (
            [long_sentence() for _ in range(50)],
            [long_sentence() for _ in range(50)],
        ),
        "normal: 300 sentences, 20 edited": (normal, edited),
        "normal: 1,000 sentences, every other rewritten": (
            rewritten,
            [s if i % 2 else news() for i, s in enumerate(rewritten)],
        ),
    }


def views(old: list[str], new: list[str]) -> dict[str, Callable[[], object]]:
    old_text, new_text = article(old), article(new)

    def report() -> str:
        return render(
            ReportData(
                url="https://example.com/m",
                folder="pages/example.com/m",
                versions=[version(1), version(2)],
                old=version(1),
                new=version(2),
                old_text=old_text,
                new_text=new_text,
                comparison=compare(old_text, new_text),
                citations=[],
                generated_at=datetime.now(UTC),
                software="bench",
            )
        )

    return {
        "snapshot": lambda: compare(old_text, new_text).summary(),
        "diff": lambda: diff(
            "https://example.com/m", version(1), version(2), compare(old_text, new_text)
        ),
        "diff --word": lambda: diff(
            "https://example.com/m", version(1), version(2), compare(old_text, new_text), words=True
        ),
        "diff --json": lambda: compare(old_text, new_text).as_dict(),
        "report": report,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--difflib", action="store_true", help="time plain difflib on the normal inputs too"
    )
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, (old, new) in inputs().items():
        times = {}
        for view, run in views(old, new).items():
            started = time.perf_counter()
            run()
            times[view] = time.perf_counter() - started
        print(f"{name}: " + ", ".join(f"{view} {seconds:.2f} s" for view, seconds in times.items()))
        if args.difflib and name.startswith("normal"):
            started = time.perf_counter()
            difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
            print(f"  plain difflib on the lines: {time.perf_counter() - started:.3f} s")


if __name__ == "__main__":
    main()
