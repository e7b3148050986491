"""Broken, partial and empty answers never become versions: after an article is archived, an answer
that broke off, one the request did not ask for, or one with nothing in it is a failed check; the
archived text is untouched and what came is kept as evidence of the failure in `.archiver/checks/`.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.archives import article, configure, folder
from support.commands import git
from support.hostile import Hostile, page, response
from support.userview import STORY, archiver
from support.warcs import records

from archiver import Archive

TEXT_HTML = [("Content-Type", "text/html; charset=utf-8")]
BODY = page("Terminal approved", STORY).encode()
GZIPPED = gzip.compress(BODY)

BROKEN_ANSWERS = {
    # id: (the raw answer, then the connection closes; words the failure's reason holds)
    "closed-inside-the-headers": (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/ht",
        "closed inside the response headers",
    ),
    "only-a-status-line": (b"HTTP/1.1 200 OK\r\n", "closed inside the response headers"),
    "a-status-line-cut-short": (b"HTTP/1.1 200 OK", "closed inside the response headers"),
    "headers-without-their-blank-line": (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 40\r\n",
        "closed inside the response headers",
    ),
    "unrequested-206": (
        response(
            "206 Partial Content",
            [*TEXT_HTML, ("Content-Range", f"bytes 0-99/{len(BODY)}")],
            BODY[:100],
        ),
        "HTTP 206 Partial Content: a part of the page, which was not asked for",
    ),
    "204": (response("204 No Content", []), "HTTP 204 No Content: the server sent no page"),
    "205": (
        response("205 Reset Content", [], b""),
        "HTTP 205 Reset Content: the server sent no page",
    ),
    "202": (response("202 Accepted", TEXT_HTML, b"<p>queued</p>"), "HTTP 202 Accepted: not a page"),
    "200-zero-length": (response("200 OK", TEXT_HTML, b""), "HTTP 200 OK with an empty body"),
    "200-empty-close-delimited": (
        response("200 OK", TEXT_HTML, length=False),
        "HTTP 200 OK with an empty body",
    ),
    "200-empty-no-type": (response("200 OK", [], b""), "HTTP 200 OK with an empty body"),
    # Content-Length values http.client reads with int(), framing a body shorter or longer than what
    # was sent
    "content-length-plus": (
        response("200 OK", [*TEXT_HTML, ("Content-Length", "+5")], BODY, length=False),
        "invalid Content-Length: '+5'",
    ),
    "content-length-arabic-digits": (
        response("200 OK", TEXT_HTML, BODY, length=False).replace(
            b"\r\n\r\n", "\r\nContent-Length: ٣٠٠\r\n\r\n".encode(), 1
        ),
        "invalid Content-Length",
    ),
    "content-length-hex": (
        response("200 OK", [*TEXT_HTML, ("Content-Length", "0x10")], BODY, length=False),
        "invalid Content-Length: '0x10'",
    ),
    "content-length-negative": (
        response("200 OK", [*TEXT_HTML, ("Content-Length", "-1")], BODY, length=False),
        "invalid Content-Length: '-1'",
    ),
    # Whole answers that are no whole page: a content-coding cut short or corrupt, a page without
    # any text
    "gzip-cut-short": (
        response(
            "200 OK", [*TEXT_HTML, ("Content-Encoding", "gzip")], GZIPPED[: len(GZIPPED) // 2]
        ),
        "the gzip body is cut short after",
    ),
    "gzip-corrupt": (
        response(
            "200 OK",
            [*TEXT_HTML, ("Content-Encoding", "gzip")],
            GZIPPED[:40] + bytes(b ^ 0x55 for b in GZIPPED[40:80]) + GZIPPED[80:],
        ),
        "the gzip body is corrupt after",
    ),
    "only-white-space": (response("200 OK", TEXT_HTML, b" \r\n\t " * 100), "the page is empty"),
    "no-text-at-all": (
        response("200 OK", TEXT_HTML, b"<html><head></head><body><div id=app></div></body></html>"),
        "no text in the answer, where the archived version has some",
    ),
    "unreadable-pdf": (
        response(
            "200 OK", [("Content-Type", "application/pdf")], b"%PDF-1.7\n" + bytes(range(256)) * 40
        ),
        "no text in the answer, where the archived version has some",
    ),
}


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hostile, Path]]:
    """A hostile server, and an archive (with the `root` fixture's settings) to which its /story was
    added: built once, copied for each test."""
    server = Hostile().start()
    server.answer("/story", BODY)
    root = tmp_path_factory.mktemp("template") / "archive"
    Archive.init(root)
    configure(root, connect_timeout=2.0, read_timeout=2.0, deadline=5.0)
    assert archiver(root, "add", server.url("/story")).code == 0
    yield server, root
    server.stop()


@pytest.mark.parametrize("case", list(BROKEN_ANSWERS))
def test_a_broken_or_empty_answer_after_an_archived_version_is_a_failed_check(
    archived, tmp_path, case
):
    raw, reason = BROKEN_ANSWERS[case]
    server, template = archived
    root = tmp_path / "archive"
    shutil.copytree(template, root, symlinks=True)
    server.answer("/other", page("Bridge closed", STORY[1:]).encode())
    story, other = server.url("/story"), server.url("/other")
    before = {p.name: p.read_bytes() for p in folder(root, story).iterdir()}
    head = git(root, "rev-parse", "HEAD")

    server.routes["/story"] = lambda conn: conn.send(raw)
    run = archiver(root, "add", other, story, "--json")

    assert run.code == 1
    result = run.result(story)
    assert result["outcome"] == "failed" and reason in result["error"], result
    assert run.result(other)["outcome"] == "new"  # the rest of the run is archived
    assert {p.name: p.read_bytes() for p in folder(root, story).iterdir()} == before
    assert "ferry terminal" in article(root, story)
    assert (
        git(root, "diff", "--name-only", head.strip(), "HEAD", "--", str(folder(root, story))) == ""
    )
    log = archiver(root, "log", story, "--json")
    assert [v["kind"] for v in json.loads(log.stdout)] == ["new"]
    # What came is kept as evidence of the failed check, out of git.
    [kept] = [r for r in records(root / ".archiver" / "checks") if r.type == "response"]
    assert kept.uri == story
    if reason.startswith("the connection closed"):
        assert kept.headers["WARC-Truncated"] == "disconnect"
    assert git(root, "status", "--porcelain") == ""
    assert archiver(root, "verify").code == 0


@pytest.mark.parametrize(
    "case",
    [
        "closed-inside-the-headers",
        "unrequested-206",
        "204",
        "200-zero-length",
        "gzip-cut-short",
        "only-white-space",
    ],
)
def test_a_broken_or_empty_first_answer_makes_no_version(server, root, case):
    raw, reason = BROKEN_ANSWERS[case]
    server.routes["/story"] = lambda conn: conn.send(raw)
    run = archiver(root, "add", server.url("/story"), "--json")
    assert run.code == 1
    result = run.result(server.url("/story"))
    assert result["outcome"] == "failed" and reason in result["error"]
    assert not folder(root, server.url("/story")).exists()
    assert git(root, "ls-files", "pages", "warcs") == ""


def test_a_header_trickle_cut_by_the_deadline_says_so(server, root):
    def trickle(conn) -> None:
        conn.send(b"HTTP/1.1 200 OK\r\n")
        conn.trickle(b"X-Padding: " + b"a" * 100, 0.3)

    server.routes["/slow"] = trickle
    configure(root, deadline=1.5, read_timeout=5.0)
    run = archiver(root, "add", server.url("/slow"), "--json")
    assert run.code == 1
    error = run.result(server.url("/slow"))["error"]
    assert error == "deadline of 1.5s exceeded while reading the response headers", error
