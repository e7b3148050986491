"""The progress bar of a run on a terminal, as a terminal shows it: the real command on a
pseudo-terminal (script(1)), its output played into a terminal emulator (pyte), and the screen read
back."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyte
import pytest
from support.commands import run_cli
from support.newssite import Site, article

COLUMNS = 100
PAGES = 12


def terminal(command: str) -> list[str]:
    """The lines a terminal of COLUMNS columns shows once `command` has ended."""
    raw = subprocess.run(
        ["script", "-qec", command, "/dev/null"],
        env={**os.environ, "COLUMNS": str(COLUMNS), "LINES": "40", "TERM": "xterm"},
        capture_output=True,
        timeout=120,
    ).stdout
    screen = pyte.Screen(COLUMNS, 1000)
    pyte.ByteStream(screen).feed(raw)
    return [line.rstrip() for line in screen.display if line.strip()]


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a terminal")
def test_log_lines_print_above_the_bar_and_the_bar_leaves_nothing_behind(
    site: Site, tmp_path: Path
):
    urls = []
    for i in range(PAGES):
        site.page(f"/news/{i}", article(f"Story {i}", [f"The harbour plan, part {i}, in detail."]))
        urls.append(site.url(f"/news/{i}"))
    root = tmp_path / "archive"
    assert run_cli("init", str(root)).returncode == 0
    (root / "urls.txt").write_text("".join(f"{url}\n" for url in urls))
    exe = Path(sys.executable).with_name("archiver")

    lines = terminal(f"{exe} -v snapshot --all -a {root}")  # -v: a log line for every page

    bar = re.compile(rf"━|\d+/{PAGES} \d+:\d\d:\d\d")  # its bar, or its count and clock
    assert not [line for line in lines if bar.search(line)], lines
    for i, url in enumerate(urls):  # each on a line of its own, whole (wrapped at the margin)
        said = f"archiver: INFO: {url}: new (version 1): Story {i}"
        assert any(line.startswith(said[:COLUMNS]) for line in lines), (said, lines)
    assert lines[-1].startswith(f"{PAGES} checked: {PAGES} new")
