"""Hostile pages for the comparison: text crafted so that comparing two versions costs the square of
its size.

A page of 16,000 identical sentences, edited by one sentence, once took 224 s to compare during a
snapshot, and as long again for `archiver diff`: under a cron time limit no run ever committed
again. Each test runs the real command against `support.hostile.Hostile` on loopback and checks what
a user sees.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from support.archives import article, folder, meta
from support.commands import git, run_cli
from support.hostile import page
from support.userview import STORY, archiver

SENTENCE = "The council met again and the minutes of the previous meeting were read aloud in full."
ADDED = "A councillor then asked why the minutes had been read aloud sixteen thousand times."
EXTRA = "The ferry company said the first crossing would run in the autumn."
# Far above what each command needs on a slow machine (one to two seconds here, with other work on
# the machine), and far below what the snapshot alone took before (99 s here, 224 s elsewhere).
BOUND = 30.0


def timed(*args: str) -> tuple[object, float]:
    started = time.monotonic()
    result = run_cli(*args, timeout=2 * BOUND)
    return result, time.monotonic() - started


def test_one_sentence_added_to_16000_identical_sentences_makes_an_edited_version_in_bounded_time(
    server, root: Path, tmp_path: Path
) -> None:
    minutes, story = server.url("/minutes"), server.url("/story")
    # One paragraph: the extractor keeps one of many identical paragraphs, but every sentence of
    # one.
    server.answer("/minutes", page("Council minutes", [" ".join([SENTENCE] * 16_000)]).encode())
    server.answer("/story", page("Terminal approved", STORY).encode())
    added = archiver(root, "add", minutes, story, "--json")
    assert added.code == 0 and {r["outcome"] for r in added.data["results"]} == {"new"}
    first_text, first_commit = article(root, minutes), git(root, "rev-parse", "HEAD").strip()
    assert first_text.count(SENTENCE) == 16_000

    # One sentence added in the middle of the minutes; the other page of the run edited too.
    server.answer(
        "/minutes",
        page(
            "Council minutes", [" ".join([SENTENCE] * 8_000 + [ADDED] + [SENTENCE] * 8_000)]
        ).encode(),
    )
    server.answer("/story", page("Terminal approved", [*STORY, EXTRA]).encode())
    started = time.monotonic()
    run = archiver(root, "snapshot", minutes, story, "--json")
    assert time.monotonic() - started < BOUND
    assert run.code == 0
    assert run.result(minutes)["outcome"] == "changed" and run.result(story)["outcome"] == "changed"
    assert (meta(root, minutes)["kind"], meta(root, minutes)["summary"]) == (
        "edited",
        "1 sentence added",
    )
    assert meta(root, minutes)["changes"]["sentences_added"] == 1
    assert meta(root, story)["summary"] == "1 sentence added" and EXTRA in article(root, story)
    assert article(root, minutes).count(SENTENCE) == 16_000 and ADDED in article(root, minutes)

    # What a user then asks: each command finishes, and says what changed.
    plain, elapsed = timed("diff", minutes, "-a", str(root))
    assert plain.returncode == 0 and elapsed < BOUND, plain.stderr
    assert (
        "1 sentence added" in plain.stdout
        and f"+ {ADDED}" in plain.stdout
        and f"- {SENTENCE}" not in plain.stdout
    )
    words, elapsed = timed("diff", "--word", minutes, "-a", str(root))
    assert words.returncode == 0 and elapsed < BOUND, words.stderr
    assert f"+ {ADDED}" in words.stdout
    as_json, elapsed = timed("diff", "--json", minutes, "-a", str(root))
    assert as_json.returncode == 0 and elapsed < BOUND, as_json.stderr
    assert json.loads(as_json.stdout)["body"] == [
        {"op": "insert", "old": [], "new": [ADDED], "words": None}
    ]
    out = tmp_path / "minutes.html"
    report, elapsed = timed("report", minutes, "-o", str(out), "-a", str(root))
    assert report.returncode == 0 and elapsed < BOUND, report.stderr
    html = out.read_text()
    assert f"<ins>{ADDED}</ins>" in html and html.count("<del>") == 0

    # Nothing archived was touched: the evidence is whole and the first version reads as it did.
    assert git(root, "status", "--porcelain") == ""
    git(root, "fsck", "--full", "--strict")
    verified = run_cli("verify", "-a", str(root), timeout=2 * BOUND)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    shown = run_cli("show", minutes, "--at", "1", "-a", str(root), timeout=2 * BOUND)
    assert shown.returncode == 0 and shown.stdout == first_text
    relative = folder(root, minutes).relative_to(root).as_posix()
    assert git(root, "show", f"{first_commit}:{relative}/article.md") == first_text
    log = run_cli("log", minutes, "-a", str(root), timeout=2 * BOUND)
    assert [line.split("\t")[2] for line in log.stdout.splitlines()] == ["new", "edited"]
