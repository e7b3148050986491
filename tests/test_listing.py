"""`archiver list` as a person reads it: URLs whole on a terminal, `unchanged` for a page the server
said had not changed, and the title a page had before it went."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.commands import run_cli
from support.newssite import Response, article
from test_validators import conditional

from archiver import Archive

LONG_PATH = "/politics/2026/12/01/council-approves-the-harbour-dredging-budget-after-a-long-debate"


@pytest.fixture
def listed(archive: Archive, site):
    """Three pages: one answering 304 to its validators, one gone, one with a long URL and title."""
    site.routes["/news/harbour"] = conditional(
        article("Harbour plan approved", ["Work starts."]).encode()
    )
    site.page("/news/ferry", article("Ferry timetable changes", ["Fewer crossings in winter."]))
    long_title = "Council approves the harbour dredging budget after a long and bitter debate " * 2
    site.page(LONG_PATH, article(long_title.strip(), ["The vote was seven to two."]))
    urls = [site.url("/news/harbour"), site.url("/news/ferry"), site.url(LONG_PATH)]
    archive.add(urls)
    site.routes["/news/ferry"] = Response(status=404, body=b"not found")
    archive.snapshot(all_pages=True)
    return archive, urls


def test_list_says_unchanged_for_a_304_and_keeps_the_title_of_a_gone_page(listed):
    archive, (harbour, ferry, _) = listed
    result = run_cli("list", "-a", str(archive.root))  # a pipe: tab-separated lines
    rows = {line.split("\t")[-1]: line.split("\t") for line in result.stdout.splitlines()}
    assert rows[harbour][0] == "unchanged"
    assert (rows[ferry][0], rows[ferry][5]) == ("404", "Ferry timetable changes")


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a terminal")
def test_list_on_a_terminal_keeps_every_url_whole_on_one_line(listed):
    archive, urls = listed
    exe = Path(sys.executable).with_name("archiver")  # the real command, on a pseudo-terminal
    screen = subprocess.run(
        ["script", "-qec", f"{exe} list -a {archive.root}", "/dev/null"],
        env={**os.environ, "COLUMNS": "100", "TERM": "dumb"},
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    lines = screen.replace("\r", "").splitlines()
    for url in urls:
        assert any(url in line for line in lines), (url, screen)
    assert any("…" in line for line in lines)  # the long title is cut short instead
