"""Scheduled runs (issue 5): what is due, politeness per host, conditional requests, cron, git push.

A loopback news site (two hosts, 127.0.0.1 and 127.0.0.2) records every request; the schedule kept in
`.archiver/state.sqlite` is read back with sqlite3, the archive with git, the evidence with warcio.
"""

from __future__ import annotations

import email.utils
import itertools
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import allow_loopback_sources, git, run_cli
from newssite import Response, Site, article
from warcio.archiveiterator import ArchiveIterator

from archiver import Archive
from archiver.errors import ExitCode
from archiver.lock import ArchiveLock
from archiver.urls import page_dir

STORY = ["The harbour authority approved the dredging plan on Monday after a public consultation.",
         "Fishermen said the work would disturb spawning grounds. The authority disputed that claim.",
         "Dredging is due to start in the spring and to last for about eighteen months in total."]
EDIT = "A late amendment limits the work to the winter months, when fewer fish spawn in the bay."
NOTHING_DUE = "0 checked: 0 new, 0 changed, 0 unchanged, 0 failed; no commit"
WARCIO = Path(sys.executable).with_name("warcio")
EXE = Path(sys.executable).with_name("archiver")
JITTER = 0.08  # seconds: request times seen by the server wander this much on a loaded machine


# -- helpers -----------------------------------------------------------------------------------------


@pytest.fixture
def other() -> Iterator[Site]:
    server = Site(host="127.0.0.2").start()
    yield server
    server.stop()


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, str) else repr(value)


def configure(root: Path, *rules: dict[str, object], **settings: object) -> None:
    """Set settings of archiver.toml by key (keys are unique across its tables); append [[schedule.rules]]."""
    path = root / "archiver.toml"
    text = path.read_text()
    for key, value in settings.items():
        text, found = re.subn(rf"^{key} = .*$", f"{key} = {toml_value(value)}", text, flags=re.M)
        assert found == 1, key
    for rule in rules:
        text += "\n[[schedule.rules]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in rule.items())
    path.write_text(text)


def reopen(archive: Archive, *rules: dict[str, object], **settings: object) -> Archive:
    configure(archive.root, *rules, **settings)
    return Archive.open(archive.root)


def new_archive(tmp_path: Path, *rules: dict[str, object], **settings: object) -> Path:
    """An archive made by the real command, configured before its first run (so the settings are committed)."""
    root = tmp_path / "arc"
    assert run_cli("init", str(root)).returncode == 0
    allow_loopback_sources(root)
    configure(root, *rules, **settings)
    return root


def state_pages(root: Path) -> dict[str, sqlite3.Row]:
    db = sqlite3.connect(root / ".archiver" / "state.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return {row["url"]: row for row in db.execute("SELECT * FROM pages")}
    finally:
        db.close()


def interval(root: Path, url: str) -> float:
    return state_pages(root)[url]["interval_minutes"]


def minutes_until_due(row: sqlite3.Row) -> float:
    due, checked = datetime.fromisoformat(row["next_due"]), datetime.fromisoformat(row["last_checked"])
    return (due - checked).total_seconds() / 60


def sleep_until_due(root: Path, *urls: str) -> None:
    rows = state_pages(root)
    wait = (max(datetime.fromisoformat(rows[u]["next_due"]) for u in urls) - datetime.now(UTC)).total_seconds()
    assert wait < 5, f"due in {wait:.0f} s: the short interval set for the test was not applied"
    time.sleep(max(0.0, wait) + 0.05)


def read_meta(root: Path, url: str) -> dict:
    return json.loads((root / page_dir(url) / "meta.json").read_text())


def outcomes(summary) -> dict[str, str]:
    return {r.url: r.outcome for r in summary.results}


def files_under(root: Path, folder: str) -> set[str]:
    return {p.relative_to(root).as_posix() for p in (root / folder).rglob("*") if p.is_file()}


def records(path: Path) -> list:
    """(type, headers, http status) of every record of a WARC file."""
    out = []
    with path.open("rb") as f:
        for record in ArchiveIterator(f):
            status = record.http_headers.get_statuscode() if record.http_headers else None
            out.append((record.rec_type, dict(record.rec_headers.headers), status))
    return out


def serve_story(site: Site, path: str, title: str = "Harbour dredging plan approved", **kwargs) -> str:
    site.page(path, lambda: article(title, STORY, **kwargs))
    return site.url(path)


# -- 1. scheduling ------------------------------------------------------------------------------------


def test_snapshot_checks_nothing_until_due_and_all_checks_everything(tmp_path, site):
    url = serve_story(site, "/news/harbour")
    root = new_archive(tmp_path)
    assert run_cli("add", url, "-a", str(root)).returncode == 0
    head, requests = git(root, "rev-parse", "HEAD"), len(site.requests)

    result = run_cli("snapshot", "-a", str(root))
    assert (result.returncode, result.stdout.splitlines(), result.stderr) == (0, [NOTHING_DUE], "")
    assert len(site.requests) == requests  # not even robots.txt
    assert git(root, "rev-parse", "HEAD") == head

    [page] = json.loads(run_cli("list", "--json", "-a", str(root)).stdout)
    checked, due = datetime.fromisoformat(page["last_checked"]), datetime.fromisoformat(page["next_due"])
    assert due - checked == timedelta(minutes=15)  # schedule.min_interval after a first capture
    assert page["next_due"] == state_pages(root)[url]["next_due"]

    forced = run_cli("snapshot", "--all", "-a", str(root))
    assert forced.returncode == 0 and forced.stderr == ""
    assert forced.stdout.splitlines() == [  # committed: the confirmation of the version found unchanged
        f"1 checked: 0 new, 0 changed, 1 unchanged, 0 failed; commit {git(root, 'rev-parse', 'HEAD')[:10]}"]
    assert git(root, "rev-parse", "HEAD~1") == head
    assert site.hits["/news/harbour"] == 2


def test_a_page_becomes_due_after_its_interval(archive, site):
    url = serve_story(site, "/news/harbour")
    archive = reopen(archive, min_interval=0.05)  # 3 s: ten times what a check takes on a loaded machine
    archive.add([url])
    assert archive.snapshot().results == []
    assert site.hits["/news/harbour"] == 1
    sleep_until_due(archive.root, url)
    summary = archive.snapshot()
    assert outcomes(summary) == {url: "unchanged"} and summary.confirmed == 1 and summary.warc is None
    assert site.hits["/news/harbour"] == 2
    assert archive.snapshot().results == []  # due again only after the grown interval


def test_interval_grows_while_unchanged_is_capped_and_resets_after_a_change(archive, site):
    paragraphs = list(STORY)
    site.page("/news/harbour", lambda: article("Harbour dredging plan approved", paragraphs))
    url = site.url("/news/harbour")
    archive = reopen(archive, min_interval=0.002, growth=3.0, max_interval=0.05)
    archive.add([url])
    seen = [interval(archive.root, url)]
    for _ in range(4):
        assert outcomes(archive.snapshot(all_pages=True)) == {url: "unchanged"}
        seen.append(interval(archive.root, url))
    assert seen == pytest.approx([0.002, 0.006, 0.018, 0.05, 0.05])
    assert minutes_until_due(state_pages(archive.root)[url]) == pytest.approx(0.05, abs=1e-6)

    paragraphs.append(EDIT)
    assert outcomes(archive.snapshot(all_pages=True)) == {url: "changed"}
    assert interval(archive.root, url) == pytest.approx(0.002)
    assert minutes_until_due(state_pages(archive.root)[url]) == pytest.approx(0.002, abs=1e-6)


def test_schedule_rules_override_the_bounds_first_match_wins(archive, site):
    live = serve_story(site, "/live/harbour-blog", title="Live: the harbour vote")
    news = serve_story(site, "/news/harbour")
    archive = reopen(archive, {"pattern": "/live/", "min_interval": 1, "max_interval": 3},
                     {"pattern": "^http://127\\.0\\.0\\.1", "min_interval": 100.0},
                     min_interval=15.0, growth=2.0, max_interval=10080.0)
    archive.add([live, news])
    assert (interval(archive.root, live), interval(archive.root, news)) == (1.0, 100.0)
    archive.snapshot(all_pages=True)
    assert (interval(archive.root, live), interval(archive.root, news)) == (2.0, 200.0)
    archive.snapshot(all_pages=True)
    assert (interval(archive.root, live), interval(archive.root, news)) == (3.0, 400.0)


def test_old_pages_are_checked_at_most_every_old_interval(archive, site):
    url = serve_story(site, "/news/harbour")
    archive = reopen(archive, min_interval=0.002, max_interval=0.01, old_after_days=0.000002,  # 0.17 s
                     old_interval=600.0)
    archive.add([url])
    assert interval(archive.root, url) == pytest.approx(0.002)  # just archived: not old yet
    time.sleep(0.3)
    archive.snapshot(all_pages=True)
    row = state_pages(archive.root)[url]
    assert row["interval_minutes"] == 600.0 and minutes_until_due(row) == pytest.approx(600.0)
    time.sleep(0.05)
    assert archive.snapshot().results == []  # max_interval is 0.01 minutes, but an old page waits longer


def test_deleting_the_state_loses_nothing_and_makes_everything_due(tmp_path, site, other):
    other.page("/reports/dredging", lambda: article("Dredging impact report", STORY[:2]))
    source = other.url("/reports/dredging")
    url = serve_story(site, "/news/harbour", links=[(source, "the impact report")])
    root = new_archive(tmp_path)
    assert run_cli("add", url, "-a", str(root)).returncode == 0
    head, tracked = git(root, "rev-parse", "HEAD"), git(root, "ls-files")
    texts = {u: (root / page_dir(u) / "article.md").read_text() for u in (url, source)}
    assert run_cli("snapshot", "-a", str(root)).stdout.splitlines() == [NOTHING_DUE]

    for path in (root / ".archiver").glob("state.sqlite*"):
        path.unlink()
    result = run_cli("snapshot", "-a", str(root))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"2 checked (1 articles, 1 sources): 0 new, 0 changed, 2 unchanged, 0 failed; commit "
        f"{git(root, 'rev-parse', 'HEAD')[:10]}"]
    assert (site.hits["/news/harbour"], other.hits["/reports/dredging"]) == (2, 2)
    # The confirmations of both pages are all the run committed.
    assert git(root, "rev-parse", "HEAD~1") == head
    [checks] = git(root, "show", "--name-only", "--format=", "HEAD").split()
    assert git(root, "ls-files").split() == sorted([*tracked.split(), checks])
    assert git(root, "status", "--porcelain") == ""
    assert {u: (root / page_dir(u) / "article.md").read_text() for u in (url, source)} == texts
    log = json.loads(run_cli("log", url, "--json", "-a", str(root)).stdout)
    assert [(v["version"], v["kind"]) for v in log] == [(1, "new")]
    assert set(state_pages(root)) == {url, source}  # the schedule starts afresh
    assert run_cli("snapshot", "-a", str(root)).stdout.splitlines() == [NOTHING_DUE]


# The state database of archiver before the schedule and revisits (no user_version): a real older layout.
OLDER_LAYOUT = """
CREATE TABLE checks (url TEXT NOT NULL, checked_at TEXT NOT NULL, outcome TEXT NOT NULL, status INTEGER,
                     duration_ms INTEGER, payload_digest TEXT, error TEXT);
CREATE INDEX checks_url ON checks (url, checked_at);
CREATE TABLE pages (url TEXT PRIMARY KEY, last_checked TEXT NOT NULL, last_outcome TEXT NOT NULL, last_status INTEGER,
                    last_error TEXT, failures INTEGER NOT NULL DEFAULT 0, failing_since TEXT);
"""


def test_the_log_tells_a_new_state_database_from_one_of_an_older_layout(tmp_path, site):
    url = serve_story(site, "/news/harbour")
    root = new_archive(tmp_path)
    state = root / ".archiver" / "state.sqlite"

    first = run_cli("-v", "add", url, "-a", str(root))
    assert first.returncode == 0, first.stderr
    assert f"state database {state} is new; starting it from the archive" in first.stderr
    assert "old layout" not in first.stderr

    for path in (root / ".archiver").glob("state.sqlite*"):
        path.unlink()
    with sqlite3.connect(state) as db:
        db.executescript(OLDER_LAYOUT)
    db.close()
    older = run_cli("-v", "snapshot", "-a", str(root))
    assert older.returncode == 0, older.stderr
    assert f"state database {state} has an old layout (version 0); starting it again from the archive" in older.stderr
    assert "is new" not in older.stderr

    again = run_cli("-v", "snapshot", "-a", str(root))
    assert again.returncode == 0 and "state database" not in again.stderr, again.stderr


def test_cited_sources_are_checked_when_they_are_due_not_when_their_article_is(archive, site, other):
    # A fast article citing a slow source, and a slow article citing a fast source.
    other.page("/slow-source", lambda: article("Slow source report", STORY[:2]))
    other.page("/fast-source", lambda: article("Fast source report", STORY[1:]))
    fast = serve_story(site, "/fast-article", links=[(other.url("/slow-source"), "a report")])
    slow = serve_story(site, "/slow-article", title="Harbour plan criticised",
                       links=[(other.url("/fast-source"), "another report")])
    archive = reopen(archive, {"pattern": "/fast-", "min_interval": 0.01}, min_interval=15.0)
    archive.add([fast, slow])
    assert set(state_pages(archive.root)) == {fast, slow, other.url("/slow-source"), other.url("/fast-source")}

    sleep_until_due(archive.root, fast, other.url("/fast-source"))
    summary = archive.snapshot()
    assert outcomes(summary) == {fast: "unchanged", other.url("/fast-source"): "unchanged"}
    assert [r.role for r in summary.results] == ["article", "source"]
    assert (site.hits["/fast-article"], site.hits["/slow-article"]) == (2, 1)
    assert (other.hits["/slow-source"], other.hits["/fast-source"]) == (1, 2)

    archive.snapshot(all_pages=True)  # --all: every article and every source it cites
    assert (other.hits["/slow-source"], other.hits["/fast-source"]) == (2, 3)


def test_snapshot_all_checks_sources_no_article_cites_any_more(archive, site, other):
    other.page("/reports/dredging", lambda: article("Dredging impact report", STORY[:2]))
    source = other.url("/reports/dredging")
    links = [(source, "the impact report")]
    url = serve_story(site, "/news/harbour", links=links)
    archive = reopen(archive, min_interval=0.005)
    archive.add([url])
    links.clear()  # the article drops the citation; the source stays archived
    assert outcomes(archive.snapshot(all_pages=True)) == {url: "changed", source: "unchanged"}
    sleep_until_due(archive.root, source)
    assert source in outcomes(archive.snapshot())  # due: a plain snapshot checks it
    assert source in outcomes(archive.snapshot(all_pages=True))  # "every tracked URL and source, due or not"


# -- 2. politeness ------------------------------------------------------------------------------------


class Recorder:
    """Route callables that sleep, counting requests in flight per host (and over all hosts)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.peak_total = 0
        self.starts: dict[str, list[float]] = {}

    def route(self, host: str, title: str, pause: float = 0.3):
        def serve(handler) -> Response:
            with self.lock:
                self.starts.setdefault(host, []).append(time.monotonic())
                self.now[host] += 1
                self.peak[host] = max(self.peak[host], self.now[host])
                self.peak_total = max(self.peak_total, sum(self.now.values()))
            try:
                time.sleep(pause)
            finally:
                with self.lock:
                    self.now[host] -= 1
            return Response(body=article(title, STORY).encode())

        return serve


@pytest.mark.parametrize("per_host", [None, 4])
def test_requests_in_flight_to_one_host_never_exceed_per_host(archive, site, other, per_host):
    limit = per_host or 2  # the default
    if per_host:
        archive = reopen(archive, per_host=per_host)
    recorder = Recorder()
    urls = []
    for i in range(2 * limit + 1):
        site.routes[f"/news/{i}"] = recorder.route("a", f"Harbour story number {i}")
        urls.append(site.url(f"/news/{i}"))
    for i in range(limit):
        other.routes[f"/world/{i}"] = recorder.route("b", f"World story number {i}")
        urls.append(other.url(f"/world/{i}"))

    _, summary = archive.add(urls)
    assert list(summary.counts().values()) == [len(urls), 0, 0, 0, 0, 0, 0]
    assert recorder.peak["a"] == limit
    assert recorder.peak["b"] == limit
    assert recorder.peak_total > limit  # the second host is served at the same time


def test_per_host_delay_spaces_the_starts_of_requests_to_one_host(archive, site, other):
    delay = 0.3
    archive = reopen(archive, per_host=4, per_host_delay=delay, robots=False)
    recorder = Recorder()
    urls = []
    for i in range(4):
        site.routes[f"/news/{i}"] = recorder.route("a", f"Harbour story number {i}", pause=0.0)
        other.routes[f"/world/{i}"] = recorder.route("b", f"World story number {i}", pause=0.0)
        urls += [site.url(f"/news/{i}"), other.url(f"/world/{i}")]
    archive.add(urls)
    a, b = recorder.starts["a"], recorder.starts["b"]
    assert len(a) == len(b) == 4
    for starts in (a, b):  # seen by the server, so allow for a loaded machine's scheduling jitter
        gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
        assert min(gaps) >= delay - JITTER and starts[-1] - starts[0] >= 3 * delay - JITTER, gaps
    # Each host has its own delay: the two are served side by side, not one after the other.
    assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < delay / 2


def test_per_host_delay_also_spaces_the_robots_txt_request(archive, site):
    archive = reopen(archive, per_host_delay=0.3)
    times: list[float] = []

    def robots(handler) -> Response:
        times.append(time.monotonic())
        return Response(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")

    def page(handler) -> Response:
        times.append(time.monotonic())
        return Response(body=article("Harbour dredging plan approved", STORY).encode())

    site.routes["/robots.txt"] = robots
    site.routes["/news/harbour"] = page
    archive.add([site.url("/news/harbour")])
    assert len(times) == 2 and times[1] - times[0] >= 0.3 - JITTER


def test_robots_txt_disallow_skips_the_page_and_is_fetched_once_per_host_per_run(archive, site):
    site.routes["/robots.txt"] = Response(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    private = serve_story(site, "/private/memo", title="Internal memo")
    public = [serve_story(site, f"/news/{i}", title=f"Harbour story number {i}") for i in range(3)]
    _, summary = archive.add([private, *public])
    by_url = {r.url: r for r in summary.results}
    assert by_url[private].outcome == "skipped" and "robots.txt" in by_url[private].error
    assert [by_url[u].outcome for u in public] == ["new"] * 3
    assert summary.counts()["skipped"] == 1 and summary.counts()["failed"] == 0
    assert site.hits["/private/memo"] == 0
    assert not (archive.root / page_dir(private)).exists()
    assert site.hits["/robots.txt"] == 1

    archive.snapshot(all_pages=True)
    assert site.hits["/robots.txt"] == 2 and site.hits["/private/memo"] == 0
    [listed] = [p for p in archive.pages() if p.url == private]
    assert listed.status == "skipped" and "robots.txt" in listed.error


def test_robots_false_fetches_disallowed_pages_without_asking(archive, site):
    site.routes["/robots.txt"] = Response(body=b"User-agent: *\nDisallow: /\n", content_type="text/plain")
    url = serve_story(site, "/news/harbour")
    archive = reopen(archive, robots=False)
    _, summary = archive.add([url])
    assert outcomes(summary) == {url: "new"}
    assert site.hits["/robots.txt"] == 0 and site.hits["/news/harbour"] == 1


def test_robots_txt_server_error_fails_the_page(tmp_path, site):
    site.routes["/robots.txt"] = Response(status=503, body=b"busy", content_type="text/plain")
    url = serve_story(site, "/news/harbour")
    root = new_archive(tmp_path)
    result = run_cli("add", url, "--json", "-a", str(root))
    assert result.returncode == ExitCode.SOME_FAILED
    [entry] = json.loads(result.stdout)["results"]
    assert entry["outcome"] == "failed" and "robots.txt" in entry["error"] and "503" in entry["error"]
    assert site.hits["/news/harbour"] == 0 and site.hits["/robots.txt"] == 1
    assert not (root / page_dir(url)).exists()


def answers(*responses: Response):
    """A route giving these responses in turn (the last one from then on), recording when each came."""
    served: list[float] = []

    def serve(handler) -> Response:
        served.append(time.monotonic())
        return responses[min(len(served), len(responses)) - 1]

    serve.served = served
    return serve


def too_many(retry_after: str | None, status: int = 429) -> Response:
    return Response(status=status, body=b"slow down", content_type="text/plain",
                    headers=[("Retry-After", retry_after)] if retry_after is not None else [])


def http_date(seconds_ahead: float) -> str:
    return email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=seconds_ahead), usegmt=True)


def ok() -> Response:
    return Response(body=article("Harbour dredging plan approved", STORY).encode())


def test_429_with_retry_after_is_retried_after_the_wait(archive, site):
    site.routes["/news/harbour"] = route = answers(too_many("1"), ok())
    url = site.url("/news/harbour")
    _, summary = archive.add([url])
    assert outcomes(summary) == {url: "new"}
    assert len(route.served) == 2 and route.served[1] - route.served[0] >= 1.0
    assert read_meta(archive.root, url)["status"] == 200


def test_retry_after_as_an_http_date_is_honoured(archive, site):
    site.routes["/news/harbour"] = route = answers(too_many(http_date(2), status=503), ok())
    url = site.url("/news/harbour")
    _, summary = archive.add([url])
    assert outcomes(summary) == {url: "new"}
    assert len(route.served) == 2 and route.served[1] - route.served[0] >= 0.9


@pytest.mark.parametrize(("retry_after", "settings"), [("90", {}), ("1", {"max_retry_wait": 0.5}), ("date", {})],
                         ids=["seconds", "max_retry_wait", "http-date"])
def test_retry_after_longer_than_max_retry_wait_fails_at_once(archive, site, retry_after, settings):
    if retry_after == "date":
        retry_after = http_date(90)
    site.routes["/news/harbour"] = route = answers(too_many(retry_after), ok())
    url = site.url("/news/harbour")
    archive = reopen(archive, **settings)
    began = time.monotonic()
    _, summary = archive.add([url])
    assert time.monotonic() - began < 0.9
    [result] = summary.results
    assert result.outcome == "failed" and "429" in result.error
    assert len(route.served) == 1
    assert not (archive.root / page_dir(url)).exists()


@pytest.mark.parametrize(("retries", "requests"), [(0, 1), (1, 2), (2, 3)])
def test_retries_bounds_the_number_of_attempts(archive, site, retries, requests):
    site.routes["/news/harbour"] = route = answers(too_many("0"))
    url = site.url("/news/harbour")
    archive = reopen(archive, retries=retries)
    _, summary = archive.add([url])
    assert outcomes(summary) == {url: "failed"}
    assert len(route.served) == requests


# -- 3. conditional requests and revisits ------------------------------------------------------------

ETAG = '"harbour-v1"'
LAST_MODIFIED = "Tue, 24 Nov 2026 10:00:00 GMT"


def conditional(body: bytes):
    """A page with validators that answers 304 (with its ETag only) when If-None-Match matches."""
    def serve(handler) -> Response:
        if handler.headers.get("If-None-Match") == ETAG:
            return Response(status=304, headers=[("ETag", ETAG)], content_type=None)
        return Response(body=body, headers=[("ETag", ETAG), ("Last-Modified", LAST_MODIFIED)])

    return serve


def test_not_modified_check_sends_validators_and_commits_a_revisit_apart_from_the_versions(archive, site):
    site.routes["/news/harbour"] = conditional(article("Harbour dredging plan approved", STORY).encode())
    url = site.url("/news/harbour")
    archive.add([url])
    assert "If-None-Match" not in site.requests[-1]
    row = state_pages(archive.root)[url]
    assert (row["etag"], row["last_modified"]) == (ETAG, LAST_MODIFIED)
    head, warcs = git(archive.root, "rev-parse", "HEAD"), files_under(archive.root, "warcs")
    record_id = read_meta(archive.root, url)["warc"]["record_id"]

    for check in (1, 2):  # the 304 omits Last-Modified: the validators we hold are kept and sent again
        summary = archive.snapshot(all_pages=True)
        sent = site.requests[-1]
        assert (sent["If-None-Match"], sent["If-Modified-Since"]) == (ETAG, LAST_MODIFIED)
        assert outcomes(summary) == {url: "unchanged"} and summary.warc is None and summary.confirmed == 1
        assert [r.version for r in summary.results] == [1]

        # A commit of the run's checks WARC alone: no version, no main WARC.
        assert git(archive.root, "rev-parse", f"HEAD~{check}") == head
        assert git(archive.root, "show", "--name-only", "--format=", "HEAD").split() == [summary.checks]
        assert files_under(archive.root, "warcs") - files_under(archive.root, "warcs/checks") == warcs
        assert git(archive.root, "status", "--porcelain", "--ignored=no") == ""
        checks = sorted((archive.root / "warcs" / "checks").glob("*/*/*.warc.gz"))
        assert len(checks) == check
        revisits = [(h, s) for t, h, s in records(checks[-1]) if t == "revisit"]
        assert len(revisits) == 1
        headers, status = revisits[0]
        assert headers["WARC-Profile"].endswith("/revisit/server-not-modified") and status == "304"
        assert headers["WARC-Refers-To"] == record_id and headers["WARC-Target-URI"] == url
        verified = subprocess.run([str(WARCIO), "check", str(checks[-1])], capture_output=True, text=True)
        assert verified.returncode == 0, verified.stdout + verified.stderr
    assert state_pages(archive.root)[url]["last_outcome"] == "unchanged"


@pytest.mark.parametrize("explicit", [False, True], ids=["all", "url"])
def test_sources_of_a_not_modified_article_are_still_checked(archive, site, other, explicit):
    other.page("/reports/dredging", lambda: article("Dredging impact report", STORY[:2]))
    source = other.url("/reports/dredging")
    html = article("Harbour dredging plan approved", STORY, links=[(source, "the impact report")], noise=False)
    site.routes["/news/harbour"] = conditional(html.encode())
    url = site.url("/news/harbour")
    archive.add([url])
    assert other.hits["/reports/dredging"] == 1
    summary = archive.snapshot([url]) if explicit else archive.snapshot(all_pages=True)
    assert outcomes(summary) == {url: "unchanged", source: "unchanged"}
    assert other.hits["/reports/dredging"] == 2


def test_an_identical_payload_again_is_a_revisit_of_the_first_record(archive, site):
    versions = [article("Harbour dredging plan approved", STORY, noise=False).encode(),
                article("Harbour dredging plan approved", [*STORY, EDIT], noise=False).encode()]
    served = [versions[0]]
    site.routes["/news/harbour"] = lambda handler: Response(body=served[0])
    url = site.url("/news/harbour")
    archive.add([url])
    first = read_meta(archive.root, url)["warc"]
    served[0] = versions[1]
    archive.snapshot(all_pages=True)
    served[0] = versions[0]
    summary = archive.snapshot(all_pages=True)
    assert outcomes(summary) == {url: "changed"} and summary.commit is not None

    meta = read_meta(archive.root, url)
    assert meta["version"] == 3 and meta["warc"]["refers_to"]["record_id"] == first["record_id"]
    warc = archive.root / meta["warc"]["file"]
    assert meta["warc"]["file"] in git(archive.root, "ls-files", "warcs")
    with warc.open("rb") as f:
        f.seek(meta["warc"]["offset"])
        record = next(iter(ArchiveIterator(f)))
        assert record.rec_type == "revisit"
        assert record.rec_headers.get_header("WARC-Profile").endswith("/revisit/identical-payload-digest")
        assert record.rec_headers.get_header("WARC-Refers-To") == first["record_id"]
        assert record.rec_headers.get_header("WARC-Payload-Digest") == first["payload_digest"]
        assert record.content_stream().read() == b""  # the bytes are not stored twice
    verified = subprocess.run([str(WARCIO), "check", str(warc)], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    for number, body in ((3, versions[0]), (2, versions[1]), (1, versions[0])):
        shown = subprocess.run([str(EXE), "show", url, "--at", str(number), "--raw", "-a", str(archive.root)],
                               capture_output=True, stdin=subprocess.DEVNULL)
        assert shown.returncode == 0 and shown.stdout == body, number


# -- 4. cron ------------------------------------------------------------------------------------------


def test_cron_runs_print_one_line_or_nothing_and_exit_codes_tell_the_rest(tmp_path, site):
    paragraphs = list(STORY)
    site.page("/news/harbour", lambda: article("Harbour dredging plan approved", paragraphs))
    url = site.url("/news/harbour")
    root = new_archive(tmp_path)

    added = run_cli("add", url, "-a", str(root))
    assert (added.returncode, added.stderr, len(added.stdout.splitlines())) == (0, "", 1)
    plain = run_cli("snapshot", "--all", "-a", str(root))
    assert (plain.returncode, plain.stderr) == (0, "") and len(plain.stdout.splitlines()) == 1

    for args in (["snapshot"], ["snapshot", "--all"]):  # nothing due; nothing changed
        quiet = run_cli("-q", *args, "-a", str(root))
        assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", ""), args

    paragraphs.append(EDIT)
    changed = run_cli("-q", "snapshot", "--all", "-a", str(root))
    assert (changed.returncode, changed.stderr) == (0, "")
    assert changed.stdout.splitlines() == [
        f"1 checked: 0 new, 1 changed, 0 unchanged, 0 failed; commit {git(root, 'rev-parse', 'HEAD')[:10]}"]

    site.routes["/news/harbour"] = Response(status=500, body=b"oops")
    failed = run_cli("-q", "snapshot", "--all", "-a", str(root))
    assert failed.returncode == ExitCode.SOME_FAILED
    assert failed.stdout.splitlines() == ["1 checked: 0 new, 0 changed, 0 unchanged, 1 failed; no commit"]

    with ArchiveLock(root / ".archiver" / "lock"):
        locked = run_cli("-q", "snapshot", "-a", str(root))
    assert (locked.returncode, locked.stdout, locked.stderr.count("\n")) == (ExitCode.LOCKED, "", 1)


def test_schedule_prints_a_crontab_line_that_works_from_cron(tmp_path, site):
    url = serve_story(site, "/news/harbour")
    (tmp_path / "my news").mkdir()
    root = tmp_path / "my news" / "arc"
    assert run_cli("init", str(root)).returncode == 0
    result = run_cli("schedule", "--every", "15m", "-a", "my news/arc", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    [line] = result.stdout.splitlines()
    assert line.startswith("*/15 * * * * ")
    assert str(EXE) in line and str(root.resolve()) in line

    # From PATH, as a user types it: still the absolute path of the executable.
    env = {"PATH": f"{EXE.parent}{os.pathsep}{os.environ['PATH']}"}
    by_name = subprocess.run(["archiver", "schedule", "--every", "2h", "-a", str(root)], env=env,
                             capture_output=True, text=True, cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert by_name.stdout.startswith("0 */2 * * * ") and str(EXE) in by_name.stdout
    assert run_cli("schedule", "--every", "1d", "-a", str(root)).stdout.startswith("0 0 * * * ")

    # What cron does: sh -c with the command part, from $HOME, with a minimal PATH.
    (root / "urls.txt").write_text(url + "\n")
    command = line.split(" ", 5)[5]
    cron = subprocess.run(["sh", "-c", command], cwd="/", capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SHELL": "/bin/sh"})
    assert cron.returncode == 0 and cron.stderr == "", cron.stderr
    assert cron.stdout.splitlines() == [
        f"1 checked: 1 new, 0 changed, 0 unchanged, 0 failed; commit {git(root, 'rev-parse', 'HEAD')[:10]}"]


@pytest.mark.parametrize("every", ["15x", "0m", "60m", "often"])
def test_schedule_rejects_a_bad_every(tmp_path, every):
    root = tmp_path / "arc"
    run_cli("init", str(root))
    result = run_cli("schedule", "--every", every, "-a", str(root))
    assert result.returncode == ExitCode.USAGE and result.stdout == ""
    assert result.stderr.startswith("archiver: error: ") and result.stderr.count("\n") == 1
    assert "--every" in result.stderr


def as_cron_reads(line: str) -> tuple[str, str]:
    """What cron makes of a crontab line (crontab(5)): the command it gives to sh -c, and the text it sends to
    the command's standard input. The five time fields come first; in the rest, `\\%` is a literal `%` and the
    first unescaped `%` ends the command (what follows is its input, further `%` becoming newlines)."""
    command = line.split(None, 5)[5]
    out, i = [], 0
    while i < len(command):
        if command.startswith("\\%", i):
            out.append("%")
            i += 2
        elif command[i] == "%":
            return "".join(out), command[i + 1:].replace("%", "\n")
        else:
            out.append(command[i])
            i += 1
    return "".join(out), ""


def test_schedule_escapes_percent_signs_so_cron_runs_the_whole_command(tmp_path, site):
    url = serve_story(site, "/news/harbour")
    (tmp_path / "100% news").mkdir()
    root = tmp_path / "100% news" / "arc%d"
    assert run_cli("init", str(root)).returncode == 0
    (root / "urls.txt").write_text(url + "\n")
    result = run_cli("schedule", "--every", "15m", "-a", str(root))
    assert result.returncode == 0 and result.stderr == ""
    [line] = result.stdout.splitlines()
    command, stdin = as_cron_reads(line)
    assert stdin == ""  # cron cuts nothing off
    assert command.endswith(f"# archiver snapshot of {root.resolve()}")  # the marker whole
    cron = subprocess.run(["sh", "-c", command], cwd="/", capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SHELL": "/bin/sh"})
    assert cron.returncode == 0 and cron.stderr == "", cron.stderr
    assert cron.stdout.splitlines() == [
        f"1 checked: 1 new, 0 changed, 0 unchanged, 0 failed; commit {git(root, 'rev-parse', 'HEAD')[:10]}"]


@pytest.mark.parametrize("name", ["news\narc", "news\rarc", "tab\tarc", "esc\x1barc", "del\x7farc", "c1\x85arc",
                                  "back\\slash"])
def test_schedule_refuses_an_archive_path_that_cron_would_misread(tmp_path, name):
    root = tmp_path / name
    assert run_cli("init", str(root)).returncode == 0
    for args in (["schedule"], ["schedule", "--install"]):
        result = run_cli(*args, "-a", str(root), env={"PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"})
        assert result.returncode == ExitCode.USAGE and result.stdout == ""
        assert result.stderr.startswith("archiver: error: ") and result.stderr.count("\n") == 1, result.stderr
        assert "crontab" in result.stderr or "cron" in result.stderr


FAKE_CRONTAB = """#!/bin/sh
table="$(dirname "$0")/table"
case "$1" in
  -l) if [ -f "$table" ]; then cat "$table"; else echo "no crontab for $(id -un)" >&2; exit 1; fi ;;
  -) cat > "$table" ;;
  *) echo "usage: crontab [-l | -]" >&2; exit 1 ;;
esac
"""


def test_schedule_install_adds_the_line_once_and_replaces_it(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "crontab").write_text(FAKE_CRONTAB)
    (bin_dir / "crontab").chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    table = bin_dir / "table"
    first, second = tmp_path / "arc", tmp_path / "other" / "arc"
    for root in (first, second):
        assert run_cli("init", str(root)).returncode == 0

    installed = run_cli("schedule", "--every", "15m", "--install", "-a", str(first), env=env)
    assert installed.returncode == 0, installed.stderr
    [message] = installed.stdout.splitlines()
    [line] = table.read_text().splitlines()
    assert line.startswith("*/15 * * * * ") and str(first.resolve()) in line and line in message

    table.write_text("MAILTO=me@example.com\n0 3 * * * /usr/local/bin/backup\n" + table.read_text())
    assert run_cli("schedule", "--every", "30m", "--install", "-a", str(first), env=env).returncode == 0
    assert run_cli("schedule", "--every", "1h", "--install", "-a", str(second), env=env).returncode == 0
    lines = table.read_text().splitlines()
    assert lines[:2] == ["MAILTO=me@example.com", "0 3 * * * /usr/local/bin/backup"]
    mine = [x for x in lines if x.endswith(f" {first.resolve()}")]
    assert len(mine) == 1 and mine[0].startswith("*/30 * * * * ")
    assert len([x for x in lines if str(second.resolve()) in x]) == 1 and len(lines) == 4

    # An archive whose path has a percent sign is replaced too, not added again.
    third = tmp_path / "50%" / "arc"
    assert run_cli("init", str(third)).returncode == 0
    for every in ("15m", "2h"):
        assert run_cli("schedule", "--every", every, "--install", "-a", str(third), env=env).returncode == 0
    lines = table.read_text().splitlines()
    [line] = [x for x in lines if "50" in x]
    assert line.startswith("0 */2 * * * ") and as_cron_reads(line)[1] == "" and len(lines) == 5


def test_schedule_install_without_crontab_is_a_usage_error(tmp_path):
    root = tmp_path / "arc"
    run_cli("init", str(root))
    only_git = tmp_path / "bin"  # a PATH with git (which archiver needs) but no crontab
    only_git.mkdir()
    (only_git / "git").symlink_to(shutil.which("git"))
    result = run_cli("schedule", "--install", "-a", str(root), env={"PATH": str(only_git)})
    assert result.returncode == ExitCode.USAGE and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "crontab" in result.stderr


# -- 5. git push --------------------------------------------------------------------------------------


def test_a_snapshot_that_commits_pushes_to_the_remote(tmp_path, site):
    paragraphs = list(STORY)
    site.page("/news/harbour", lambda: article("Harbour dredging plan approved", paragraphs))
    url = site.url("/news/harbour")
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    root = new_archive(tmp_path, push_remote="origin")
    git(root, "remote", "add", "origin", str(remote))

    added = run_cli("add", url, "-a", str(root))
    assert (added.returncode, added.stderr) == (0, "")
    assert git(remote, "rev-parse", "HEAD") == git(root, "rev-parse", "HEAD")
    assert "pages/" in git(remote, "ls-tree", "-r", "--name-only", "HEAD")

    paragraphs.append(EDIT)
    changed = run_cli("snapshot", "--all", "-a", str(root))
    assert (changed.returncode, changed.stderr) == (0, "") and "1 changed" in changed.stdout
    assert git(remote, "rev-parse", "HEAD") == git(root, "rev-parse", "HEAD")


def test_a_failed_push_exits_4_and_keeps_the_local_commit(tmp_path, site):
    url = serve_story(site, "/news/harbour")
    root = new_archive(tmp_path, push_remote="origin")
    git(root, "remote", "add", "origin", str(tmp_path / "nowhere" / "remote.git"))
    before = git(root, "rev-parse", "HEAD")

    result = run_cli("-q", "add", url, "-a", str(root))
    assert result.returncode == ExitCode.PUSH_FAILED
    assert "push failed" in result.stderr
    head = git(root, "rev-parse", "HEAD").strip()
    assert head != before.strip() and result.stdout.splitlines() == [
        f"1 checked: 1 new, 0 changed, 0 unchanged, 0 failed; commit {head[:10]}"]
    assert str(page_dir(url)) in git(root, "show", "--name-only", "--format=", "HEAD")
    assert git(root, "status", "--porcelain") == ""
