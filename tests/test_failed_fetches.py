"""Transient failures make no version: server errors, timeouts (a slow answer or a body stalling
half way) and a refused connection leave the archived text and history untouched; a streak of
failures, or a site-wide outage, lists the page as unreachable.
"""

from __future__ import annotations

import time

import pytest
from support.archives import folder, meta
from support.commands import git
from support.history import (
    HEADLINE,
    PATH,
    STORY,
    Story,
    cli,
    cli_json,
    cli_ok,
    head,
    kinds,
    outcome,
    recheck,
    write_settings,
)
from support.newssite import Response, article

from archiver import Archive
from archiver.errors import ExitCode


def assert_untouched(archive: Archive, url: str, commit: str, text: str, versions: int) -> None:
    assert head(archive) == commit
    assert git(archive.root, "status", "--porcelain") == ""  # no stray WARC, nothing half-written
    assert (folder(archive.root, url) / "article.md").read_text() == text
    assert meta(archive.root, url)["version"] == versions
    assert len(archive.history(url).versions()) == versions


@pytest.mark.parametrize(
    "response",
    [
        Response(status=500, body=b"<h1>Internal Server Error</h1>"),
        Response(status=503, body=b"<h1>Service Unavailable</h1>", headers=[("Retry-After", "0")]),
        Response(status=429, body=b"<h1>Too Many Requests</h1>", headers=[("Retry-After", "0")]),
    ],
    ids=["500", "503", "429"],
)
def test_server_errors_make_no_version_and_keep_the_text(site, archive, response):
    story = Story(site)
    archive.add([story.url])
    story.paragraphs[0] = STORY[0].replace("on Tuesday", "on Monday")
    recheck(archive)
    text, commit = (folder(archive.root, story.url) / "article.md").read_text(), head(archive)

    site.routes[PATH] = response
    summary = recheck(archive)

    assert outcome(summary, story.url)[:2] == ("failed", None) and summary.commit is None
    assert str(response.status) in summary.results[0].error
    assert_untouched(archive, story.url, commit, text, versions=2)
    assert archive.pages()[0].status == "failed"


def test_timeout_makes_no_version_and_exits_1(site, archive):
    story = Story(site)
    archive.add([story.url])
    text, commit = (folder(archive.root, story.url) / "article.md").read_text(), head(archive)
    archive = write_settings(
        archive, {"read_timeout = 30.0": "read_timeout = 0.5", "deadline = 120.0": "deadline = 1.5"}
    )
    git(archive.root, "commit", "-qam", "short timeouts")  # settings are committed by the user
    commit = head(archive)

    def slow(handler):
        time.sleep(2.5)
        return Response(body=article(HEADLINE, STORY).encode())

    site.routes[PATH] = slow
    begun = time.monotonic()
    result = cli(archive, "-v", "snapshot", "--all")

    assert time.monotonic() - begun < 10
    assert result.returncode == ExitCode.SOME_FAILED, result.stderr
    assert result.stdout.strip().endswith("0 unchanged, 1 failed; no commit")
    assert f"failed: {story.url}: " in result.stderr
    assert_untouched(archive, story.url, commit, text, versions=1)
    assert cli_ok(archive, "show", story.url) == text

    # Headers at once, then the body stalls half way: a timeout too, not a shorter article.
    body = article(HEADLINE, STORY).encode()

    def stalling(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body[: len(body) * 2 // 3])
        handler.wfile.flush()
        time.sleep(2.5)
        return Response(status=500)

    site.routes[PATH] = stalling
    assert outcome(recheck(archive), story.url)[0] == "failed"
    assert_untouched(archive, story.url, commit, text, versions=1)


def test_refused_connection_makes_no_version(site, archive):
    story = Story(site)
    archive.add([story.url])
    text, commit = (folder(archive.root, story.url) / "article.md").read_text(), head(archive)

    site.stop()
    summary = recheck(archive)

    assert outcome(summary, story.url)[0] == "failed" and summary.commit is None
    assert_untouched(archive, story.url, commit, text, versions=1)


def test_failure_streak_lists_the_page_unreachable_without_touching_it(site, archive):
    assert archive.config.unreachable_after_days == 7.0  # the documented default
    archive = write_settings(
        archive, {"unreachable_after_days = 7.0": "unreachable_after_days = 0.00002"}
    )
    story = Story(site)
    archive.add([story.url])
    text, commit = (folder(archive.root, story.url) / "article.md").read_text(), head(archive)

    site.routes[PATH] = Response(status=500, body=b"oops")
    assert outcome(recheck(archive), story.url)[0] == "failed"
    assert archive.pages()[0].status == "failed"  # one failure, a moment ago: not yet a streak
    time.sleep(2)  # longer than 0.00002 days (1.7 s)
    assert outcome(recheck(archive), story.url)[0] == "failed"

    [page] = cli_json(archive, "list")
    assert (page["url"], page["status"], page["versions"]) == (story.url, "unreachable", 1)
    assert "500" in page["error"]
    assert_untouched(archive, story.url, commit, text, versions=1)
    assert kinds(cli_json(archive, "log", story.url)) == ["new"]

    story.serve()  # back: the streak ends, and the same text makes no version
    assert outcome(recheck(archive), story.url)[0] == "unchanged"
    assert archive.pages()[0].status == "200"


def test_a_site_wide_outage_counts_towards_unreachable(site, archive):
    archive = write_settings(
        archive, {"unreachable_after_days = 7.0": "unreachable_after_days = 0.00001"}
    )
    story = Story(site)
    archive.add([story.url])

    outage = Response(
        status=503, body=b"<h1>Service Unavailable</h1>", headers=[("Retry-After", "0")]
    )
    site.routes[PATH] = site.routes["/robots.txt"] = (
        outage  # the whole site is down, robots.txt included
    )
    assert outcome(recheck(archive), story.url)[0] == "failed"
    time.sleep(1)  # longer than 0.00001 days (0.86 s)
    assert outcome(recheck(archive), story.url)[0] == "failed"

    assert archive.pages()[0].status == "unreachable"
    assert (folder(archive.root, story.url) / "article.md").exists()
