"""`archiver show`: the text of a version or of the version in force at a moment, and with `--raw`
the exact bytes served for it (compressed on the wire, a 404 answer, the same bytes again).
"""

from __future__ import annotations

import json
import logging

from support.archives import folder
from support.history import (
    BYLINE,
    HEADLINE,
    NOT_FOUND_PAGE,
    PATH,
    STORY,
    cli_bytes,
    cli_ok,
    recheck,
    text_at,
)
from support.newssite import Response, article
from support.userview import run
from typer.testing import CliRunner

from archiver.cli import app


def show(archive, *args: str) -> str:
    """`archiver show ARGS` read in this process: its stdout."""
    result = run(archive.root, "show", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def show_bytes(archive, *args: str) -> bytes:
    """`archiver show ARGS` in this process: the exact bytes it wrote to stdout."""
    logger = logging.getLogger()
    handlers, level = logger.handlers[:], logger.level
    try:
        result = CliRunner().invoke(app, ["show", *args, "--archive", str(archive.root)])
    finally:  # the command points the root logger at the runner's streams; give pytest its own back
        logger.handlers[:], logger.level = handlers, level
    assert result.exit_code == 0 and result.exception is None, result.stderr
    return result.stdout_bytes


def test_show_at_a_version_or_a_moment_prints_that_text(edited):
    archive = edited.archive
    url = edited.url
    log = json.loads(run(archive.root, "log", url, "--json").stdout)

    # The real command prints the current text; the versions and moments are read in-process.
    assert cli_ok(archive, "show", url) == (folder(archive.root, url) / "article.md").read_text()
    first = show(archive, url, "--at", "1")
    assert first == text_at(archive, log[0]["commit"], url)
    assert first.startswith(f"# {HEADLINE}\n\n{BYLINE}\n\n{STORY[0]}\n")
    assert show(archive, url, "--at", log[2]["captured_at"]) == text_at(
        archive, log[2]["commit"], url
    )
    assert show(archive, url, "--at", log[3]["commit"][:8]) == text_at(
        archive, log[3]["commit"], url
    )
    assert "# Finance minister resigns after audit\n" in text_at(archive, log[2]["commit"], url)


def test_show_raw_writes_the_bytes_served_for_that_version(site, archive):
    first = (
        article(HEADLINE, STORY, noise=False)
        .replace("\n", "\r\n")
        .replace("Jane Doe", "Zoë Müller")
    )
    second = first.replace("on Tuesday", "on Monday").replace("millions", "millions of euros (€)")
    first_bytes, second_bytes = first.encode("utf-8"), second.encode("utf-8")
    site.routes[PATH] = Response(body=first_bytes)
    url = site.url(PATH)
    archive.add([url])
    site.routes[PATH] = Response(body=second_bytes, encoding="gzip")  # compressed on the wire
    recheck(archive)
    site.routes[PATH] = Response(status=404, body=NOT_FOUND_PAGE)
    recheck(archive)
    site.routes[PATH] = Response(body=first_bytes)  # the very same bytes as the first version
    recheck(archive)
    assert [v.kind for v in archive.history(url).versions()] == [
        "new",
        "edited",
        "gone",
        "restored",
    ]

    # The bytes the real command writes (CRLF and UTF-8 untouched); the other versions in-process.
    real = cli_bytes(archive, "show", url, "--raw", "--at", "1")
    assert real.returncode == 0, real.stderr
    assert real.stdout == first_bytes
    assert show_bytes(archive, url, "--raw", "--at", "1") == first_bytes
    assert show_bytes(archive, url, "--raw", "--at", "2") == second_bytes
    # the 404 answer is the evidence of that version
    assert show_bytes(archive, url, "--raw", "--at", "3") == NOT_FOUND_PAGE
    assert show_bytes(archive, url, "--raw") == first_bytes
