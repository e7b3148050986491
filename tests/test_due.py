"""What a snapshot checks: nothing until a page is due, everything with `--all`; intervals that grow
while a page is unchanged, capped, reset by a change, overridden by schedule rules and stretched for
old pages; sources due on their own schedule; a lost or older state database that loses nothing.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime, timedelta

import pytest
from support import userview
from support.commands import git, run_cli
from support.newssite import article
from support.schedule import (
    EDIT,
    STORY,
    interval,
    make_due,
    minutes_until_due,
    new_archive,
    nothing_due,
    outcomes,
    reopen,
    serve_story,
    sleep_until_due,
    state_pages,
)

from archiver.urls import page_dir


def test_snapshot_checks_nothing_until_due_and_all_checks_everything(tmp_path, site):
    url = serve_story(site, "/news/harbour")
    root = new_archive(tmp_path)
    assert userview.run(root, "add", url).returncode == 0
    head, requests = git(root, "rev-parse", "HEAD"), len(site.requests)

    result = run_cli("snapshot", "-a", str(root))
    assert (result.returncode, result.stderr) == (0, "") and nothing_due(result.stdout, url)
    assert len(site.requests) == requests  # not even robots.txt
    assert git(root, "rev-parse", "HEAD") == head

    [page] = json.loads(userview.run(root, "list", "--json").stdout)
    checked, due = (
        datetime.fromisoformat(page["last_checked"]),
        datetime.fromisoformat(page["next_due"]),
    )
    assert due - checked == timedelta(minutes=15)  # schedule.min_interval after a first capture
    assert page["next_due"] == state_pages(root)[url]["next_due"]

    forced = run_cli("snapshot", "--all", "-a", str(root))
    assert forced.returncode == 0 and forced.stderr == ""
    assert (
        forced.stdout.splitlines()
        == [  # committed: the confirmation of the version found unchanged
            f"1 checked: 0 new, 0 changed, 1 unchanged, 0 failed; commit {git(root, 'rev-parse', 'HEAD')[:10]}"
        ]
    )
    assert git(root, "rev-parse", "HEAD~1") == head
    assert site.hits["/news/harbour"] == 2


def test_a_page_becomes_due_after_its_interval(archive, site):
    url = serve_story(site, "/news/harbour")
    archive = reopen(
        archive, min_interval=0.05
    )  # 3 s: ten times what a check takes on a loaded machine
    archive.add([url])
    assert archive.snapshot().results == []
    assert site.hits["/news/harbour"] == 1
    sleep_until_due(archive.root, url)
    summary = archive.snapshot()
    assert (
        outcomes(summary) == {url: "unchanged"} and summary.confirmed == 1 and summary.warc is None
    )
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
        make_due(archive.root)
        assert outcomes(archive.snapshot()) == {url: "unchanged"}
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
    archive = reopen(
        archive,
        {"pattern": "/live/", "min_interval": 1, "max_interval": 3},
        {"pattern": "^http://127\\.0\\.0\\.1", "min_interval": 100.0},
        min_interval=15.0,
        growth=2.0,
        max_interval=10080.0,
    )
    archive.add([live, news])
    assert (interval(archive.root, live), interval(archive.root, news)) == (1.0, 100.0)
    make_due(archive.root)
    archive.snapshot()
    assert (interval(archive.root, live), interval(archive.root, news)) == (2.0, 200.0)
    make_due(archive.root)
    archive.snapshot()
    assert (interval(archive.root, live), interval(archive.root, news)) == (3.0, 400.0)


def test_old_pages_are_checked_at_most_every_old_interval(archive, site):
    url = serve_story(site, "/news/harbour")
    archive = reopen(
        archive,
        min_interval=0.002,
        max_interval=0.01,
        old_after_days=0.000002,  # 0.17 s
        old_interval=600.0,
    )
    archive.add([url])
    assert interval(archive.root, url) == pytest.approx(0.002)  # just archived: not old yet
    time.sleep(0.3)
    archive.snapshot(all_pages=True)
    row = state_pages(archive.root)[url]
    assert row["interval_minutes"] == 600.0 and minutes_until_due(row) == pytest.approx(600.0)
    time.sleep(0.05)
    assert (
        archive.snapshot().results == []
    )  # max_interval is 0.01 minutes, but an old page waits longer


def test_deleting_the_state_loses_nothing_and_makes_everything_due(tmp_path, site, other):
    other.page("/reports/dredging", lambda: article("Dredging impact report", STORY[:2]))
    source = other.url("/reports/dredging")
    url = serve_story(site, "/news/harbour", links=[(source, "the impact report")])
    root = new_archive(tmp_path)
    assert userview.run(root, "add", url).returncode == 0
    head, tracked = git(root, "rev-parse", "HEAD"), git(root, "ls-files")
    texts = {u: (root / page_dir(u) / "article.md").read_text() for u in (url, source)}
    assert nothing_due(userview.run(root, "snapshot").stdout)

    for path in (root / ".archiver").glob("state.sqlite*"):
        path.unlink()
    result = run_cli("snapshot", "-a", str(root))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"2 checked (1 article, 1 source): 0 new, 0 changed, 2 unchanged, 0 failed; commit "
        f"{git(root, 'rev-parse', 'HEAD')[:10]}"
    ]
    assert (site.hits["/news/harbour"], other.hits["/reports/dredging"]) == (2, 2)
    # The confirmations of both pages are all the run committed.
    assert git(root, "rev-parse", "HEAD~1") == head
    [checks] = git(root, "show", "--name-only", "--format=", "HEAD").split()
    assert git(root, "ls-files").split() == sorted([*tracked.split(), checks])
    assert git(root, "status", "--porcelain") == ""
    assert {u: (root / page_dir(u) / "article.md").read_text() for u in (url, source)} == texts
    log = json.loads(userview.run(root, "log", url, "--json").stdout)
    assert [(v["version"], v["kind"]) for v in log] == [(1, "new")]
    assert set(state_pages(root)) == {url, source}  # the schedule starts afresh
    assert nothing_due(userview.run(root, "snapshot").stdout)


# The state database of archiver before the schedule and revisits (no user_version): a real older
# layout.
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
    assert (
        f"state database {state} has an old layout (version 0); starting it again from the archive"
        in older.stderr
    )
    assert "is new" not in older.stderr

    again = run_cli("-v", "snapshot", "-a", str(root))
    assert again.returncode == 0 and "state database" not in again.stderr, again.stderr


def test_cited_sources_are_checked_when_they_are_due_not_when_their_article_is(
    archive, site, other
):
    # A fast article citing a slow source, and a slow article citing a fast source.
    other.page("/slow-source", lambda: article("Slow source report", STORY[:2]))
    other.page("/fast-source", lambda: article("Fast source report", STORY[1:]))
    fast = serve_story(site, "/fast-article", links=[(other.url("/slow-source"), "a report")])
    slow = serve_story(
        site,
        "/slow-article",
        title="Harbour plan criticised",
        links=[(other.url("/fast-source"), "another report")],
    )
    archive = reopen(archive, {"pattern": "/fast-", "min_interval": 0.01}, min_interval=15.0)
    archive.add([fast, slow])
    assert set(state_pages(archive.root)) == {
        fast,
        slow,
        other.url("/slow-source"),
        other.url("/fast-source"),
    }

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
    assert source in outcomes(
        archive.snapshot(all_pages=True)
    )  # "every tracked URL and source, due or not"


def test_checks_by_hand_do_not_stretch_the_schedule(tmp_path, site):
    """Four `--all` checks of an unchanged page leave its next check where it was; a change found by
    hand resets it."""
    paragraphs = list(STORY)
    site.page("/news/harbour", lambda: article("Harbour dredging plan approved", paragraphs))
    url = site.url("/news/harbour")
    root = new_archive(tmp_path)
    assert userview.run(root, "add", url).returncode == 0
    before = state_pages(root)[url]
    for _ in range(4):
        assert "1 unchanged" in userview.run(root, "snapshot", "--all").stdout
    after = state_pages(root)[url]
    assert (after["next_due"], after["interval_minutes"]) == (
        before["next_due"],
        before["interval_minutes"],
    )
    assert after["last_checked"] > before["last_checked"]  # the checks happened, and are recorded

    paragraphs.append(EDIT)
    assert "1 changed" in run_cli("snapshot", url, "-a", str(root)).stdout
    edited = state_pages(root)[url]
    assert edited["next_due"] > before["next_due"] and minutes_until_due(edited) == 15.0


def test_nothing_due_says_what_comes_next_and_how_to_check_now(tmp_path, site):
    first, second = serve_story(site, "/news/harbour"), serve_story(site, "/news/ferry")
    root = new_archive(tmp_path)
    assert userview.run(root, "add", first).returncode == 0
    assert userview.run(root, "add", second).returncode == 0
    result = run_cli("snapshot", "-a", str(root))
    assert (result.returncode, result.stderr) == (0, "")
    assert nothing_due(result.stdout, first)  # the first added comes due first
    assert "(2 pages wait;" in result.stdout
    summary = json.loads(userview.run(root, "snapshot", "--json").stdout)
    due = state_pages(root)[first]["next_due"]
    assert (summary["waiting"], summary["next_check"]) == (2, {"due": due, "url": first})
    assert run_cli("-q", "snapshot", "-a", str(root)).stdout == ""  # cron stays silent
