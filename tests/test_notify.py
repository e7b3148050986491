"""Notifications: after a run commits, each `[notify]` target gets one message of the run's events,
received here by a real SMTP server (aiosmtpd) and a real JSON webhook on loopback. A target that is
down never fails the run: the message waits in the state database and the next run delivers it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.archives import allow_loopback_sources, configure
from support.history import STORY, Story
from support.receivers import Smtp, Webhook
from support.userview import archiver, run

from archiver import Archive
from archiver.config import EventKind
from archiver.run.events import Before, derive
from archiver.run.results import PageResult
from archiver.storage.meta import Kind
from archiver.storage.state import Outcome
from archiver.storage.store import PageFiles


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp()  # its port is chosen; each test starts it when the target should be up
    yield server
    server.stop()


@pytest.fixture
def hook() -> Iterator[Webhook]:
    server = Webhook()
    yield server
    server.stop()


def targets(root: Path, *urls: str, **settings: object) -> None:
    configure(root, urls=list(urls), **settings)


def new_archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    Archive.init(root)
    allow_loopback_sources(root)
    return root


def two_stories(site) -> tuple[Story, Story]:
    first = Story(site)
    second = Story(site, "/news/2026/11/budget-vote")
    second.title = "Parliament delays the budget vote"
    return first, second


def edit(first: Story, second: Story) -> None:
    """The first edited without a word, the second with a correction notice."""
    first.paragraphs[0] = STORY[0].replace("on Tuesday", "on Monday")
    second.paragraphs[2] = "Opposition leaders walked out before the vote was called."
    second.paragraphs.append(
        "Correction: an earlier version of this article said the opposition stayed for the vote."
    )


def test_a_run_with_two_edits_sends_one_message_per_target_with_both(
    site, tmp_path, smtp, hook
) -> None:
    root = new_archive(tmp_path)
    smtp.start()
    targets(root, smtp.url, hook.url)
    first, second = two_stories(site)
    added = archiver(root, "add", first.url, second.url, "--json")
    assert added.code == 0
    # First captures are `new`, not among the default events: nothing is sent.
    assert added.data["notify"] is None or added.data["notify"]["attempts"] == []
    edit(first, second)
    outcome = archiver(root, "snapshot", "--all", "--json")
    assert outcome.code == 0, outcome.stderr
    assert [a["sent"] for a in outcome.data["notify"]["attempts"]] == [True, True]
    assert sorted(e["kind"] for e in outcome.data["events"]) == [
        "edited",
        "edited",
        "unannounced-edit",
    ]
    [unannounced] = [e for e in outcome.data["events"] if e["kind"] == "unannounced-edit"]
    assert unannounced["url"] == first.url

    subject, body = smtp.next()
    assert subject == "archiver: 2 edited, 1 unannounced edit"
    for text in (first.title, second.title, first.url, second.url):
        assert text in body
    assert "  before: The finance minister resigned on Tuesday" in body
    assert "  after:  The finance minister resigned on Monday" in body
    assert f"report: archiver report {first.url} 1 2 -o report.html" in body
    posted = hook.next()
    assert posted["title"] == subject
    assert first.title in posted["message"] and second.title in posted["message"]
    assert smtp.received.empty() and hook.received.empty()  # one message per target


def test_a_target_that_is_down_gets_the_events_from_the_next_run(site, tmp_path, smtp) -> None:
    root = new_archive(tmp_path)
    targets(root, smtp.url)  # no server listens there yet
    first, second = two_stories(site)
    archiver(root, "add", first.url, second.url)
    edit(first, second)
    down = archiver(root, "-q", "snapshot", "--all", "--json")
    assert down.code == 0  # as without notifications
    [attempt] = down.data["notify"]["attempts"]
    assert not attempt["sent"] and attempt["error"]
    assert down.data["notify"]["pending"] == 3
    [warning] = [line for line in down.stderr.splitlines() if "notification" in line]
    assert "127.0.0.1" in warning and "next run" in warning

    smtp.start()
    up = archiver(root, "-v", "snapshot", "--all")
    assert up.code == 0, up.stderr
    subject, body = smtp.next()
    assert subject == "archiver: 2 edited, 1 unannounced edit"
    assert first.title in body and second.title in body
    assert "1 of 1 message sent, 0 events waiting, 0 dropped" in up.stderr


def test_a_message_is_dropped_with_a_warning_after_max_attempts(site, tmp_path, smtp) -> None:
    root = new_archive(tmp_path)
    targets(root, smtp.url, max_attempts=2)
    story = Story(site)
    archiver(root, "add", story.url)
    story.paragraphs[0] = STORY[0].replace("on Tuesday", "on Monday")
    # Edited without a notice: the edit and its being unannounced wait.
    assert archiver(root, "snapshot", "--all", "--json").data["notify"]["pending"] == 2
    again = archiver(root, "-q", "snapshot", "--all", "--json")
    assert again.code == 0
    assert again.data["notify"]["pending"] == 0
    [dropped] = again.data["notify"]["dropped"]
    assert "dropped after 2 attempts" in dropped
    assert "dropped after 2 attempts" in again.stderr


def test_notify_test_sends_to_every_target_and_says_which_failed(tmp_path, smtp, hook) -> None:
    root = new_archive(tmp_path)
    targets(root, smtp.url, hook.url)
    down = run(root, "notify", "--test")
    assert down.returncode == 1
    mail, web = down.stdout.splitlines()
    assert mail.startswith("mailto://") and ": failed: " in mail
    assert web.endswith(": sent")
    assert hook.next()["title"] == "archiver: test message"

    smtp.start()
    up = run(root, "notify", "--test")
    assert up.returncode == 0, up.stdout
    assert [line.rsplit(": ", 1)[1] for line in up.stdout.splitlines()] == ["sent", "sent"]
    assert smtp.next()[0] == "archiver: test message"


@pytest.mark.parametrize(
    "setting",
    ['urls = ["bogus://example.org"]', 'urls = ["not a url"]', 'events = ["edited", "typo"]'],
)
def test_a_bad_notify_setting_is_a_one_line_error(tmp_path, setting: str) -> None:
    root = new_archive(tmp_path)
    toml = root / "archiver.toml"
    key = setting.split(" = ")[0]
    lines = toml.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"{key} = "))
    toml.write_text("\n".join([*lines[:at], setting, *lines[at + 1 :]]) + "\n")
    result = run(root, "list")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("archiver: error: ") and "notify." in line


def _page(url: str, kind: Kind, version: int, meta: dict, article: str | None, links: str = ""):
    result = PageResult(url, Outcome.CHANGED, folder="pages/x", version=version, kind=kind)
    files = PageFiles(
        "pages/x", {"url": url, "version": version, "kind": kind, **meta}, article, links
    )
    return result, files


def test_derivation_of_unannounced_edits_source_changes_removed_citations_and_follow_errors():
    url = "https://news.example/a"
    old = Before(
        {"url": url, "version": 1}, "# Headline\n\nOne.\n\nTwo.\n", "https://s.example/x\tX\n"
    )
    result, files = _page(
        url,
        Kind.EDITED,
        2,
        {"announced": False, "changes": {"sentences_changed": 1}},
        "# Headline\n\nOne.\n\nTwo, changed.\n",
    )
    kinds = [e.kind for e in derive([result], {url: files}, {"pages/x": old})]
    assert kinds == [Kind.EDITED, EventKind.UNANNOUNCED_EDIT, EventKind.CITATION_REMOVED]

    source = "https://s.example/x"
    result, files = _page(source, Kind.GONE, 2, {"cited_by": [url]}, None)
    result.role = "source"
    events = derive(
        [result], {source: files}, {"pages/x": Before({"cited_by": [url]}, "# S\n", "")}
    )
    assert [e.kind for e in events] == [Kind.GONE, EventKind.SOURCE_GONE]
    assert url in events[1].summary

    failed = PageResult("https://f.example/", Outcome.FAILED, role="follow", error="HTTP 503")
    [event] = derive([failed], {}, {})
    assert (event.kind, event.summary) == (EventKind.FOLLOW_ERROR, "HTTP 503")


def test_a_state_database_from_before_the_outbox_keeps_its_checks(site, tmp_path) -> None:
    import sqlite3

    root = new_archive(tmp_path)
    story = Story(site)
    archiver(root, "add", story.url)
    path = root / ".archiver" / "state.sqlite"
    db = sqlite3.connect(path)
    db.executescript("DROP TABLE outbox; PRAGMA user_version = 2;")
    db.close()
    assert archiver(root, "snapshot", "--all").code == 0
    db = sqlite3.connect(path)
    try:
        [(checks,)] = db.execute("SELECT count(*) FROM checks").fetchall()
        [(version,)] = db.execute("PRAGMA user_version").fetchall()
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    finally:
        db.close()
    assert checks == 2 and version == 3 and "outbox" in tables  # the first run's check is kept
