"""Watching an outlet end to end: follow its feed, let it publish and edit, and be told. The feed,
the articles, the webhook receiving the message and the Atom file read back are all real."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import feedparser
import pytest
from support.archives import allow_loopback_sources, configure
from support.history import STORY, Story
from support.newssite import Response
from support.receivers import Webhook
from support.userview import archiver

from archiver import Archive


@pytest.fixture
def hook() -> Iterator[Webhook]:
    server = Webhook()
    yield server
    server.stop()


def rss(site, stories: list[Story]) -> Response:
    now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    items = "".join(
        f"<item><title>{s.title}</title><link>{s.url}</link><pubDate>{now}</pubDate></item>"
        for s in stories
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Loopback</title>{items}</channel></rss>'
    return Response(body=body.encode(), content_type="application/rss+xml")


def test_a_followed_outlet_publishes_and_edits_and_one_message_says_which_edit_was_unannounced(
    site, tmp_path, hook
):
    root = tmp_path / "archive"
    Archive.init(root)
    allow_loopback_sources(root)
    configure(root, urls=[hook.url])
    feed = site.url("/feed.xml")
    site.routes["/feed.xml"] = rss(site, [])
    assert archiver(root, "follow", feed).code == 0
    assert archiver(root, "snapshot").code == 0  # an empty feed: nothing to track

    quiet = Story(site, "/news/2026/12/quiet-edit")
    quiet.title = "Council approves the harbour plan"
    open_ = Story(site, "/news/2026/12/open-edit")
    open_.title = "Minister resigns over the budget"
    site.routes["/feed.xml"] = rss(site, [quiet, open_])
    published = archiver(root, "snapshot", "--all", "--json")
    assert published.code == 0, published.stderr
    assert {published.result(s.url)["outcome"] for s in (quiet, open_)} == {"new"}
    assert set(Archive.open(root).tracked()) == {quiet.url, open_.url}

    quiet.paragraphs[0] = STORY[0].replace("on Tuesday", "on Monday")
    open_.paragraphs[0] = STORY[0].replace("on Tuesday", "on Wednesday")
    open_.paragraphs.append("Correction: an earlier version of this article gave the wrong day.")
    edited = archiver(root, "snapshot", "--all", "--json")

    assert edited.code == 0, edited.stderr
    kinds = sorted((e["kind"], e["url"]) for e in edited.data["events"])
    assert kinds == sorted(
        [("edited", quiet.url), ("edited", open_.url), ("unannounced-edit", quiet.url)]
    )
    message = hook.next()  # one message for the run: both edits in it
    assert message["title"] == "archiver: 2 edited, 1 unannounced edit"
    assert quiet.title in message["message"] and open_.title in message["message"]
    # One block a version: the quiet edit's says it is unannounced, the other's does not.
    assert message["message"].count(quiet.title) == 1
    assert "edited, unannounced edit · " in message["message"]
    assert message["message"].count("unannounced") == 1
    assert hook.received.empty()
    log = archiver(root, "log", quiet.url)
    assert log.stdout.splitlines()[-1].endswith("unannounced")
    assert archiver(root, "log", open_.url).stdout.splitlines()[-1].endswith("\tannounced")

    parsed = feedparser.parse((root / "feeds" / "changes.atom").read_bytes())
    assert not parsed.bozo
    titles = [entry.title for entry in parsed.entries]
    assert any(quiet.title in t and "edited" in t for t in titles), titles
    assert any(open_.title in t and "edited" in t for t in titles), titles
    assert not any(feed in entry.link for entry in parsed.entries)  # a listing is not news


def test_a_follow_that_fails_is_told(site, tmp_path, hook):
    root = tmp_path / "archive"
    Archive.init(root)
    allow_loopback_sources(root)
    configure(root, urls=[hook.url])
    site.routes["/feed.xml"] = Response(
        body=b"Down for maintenance", content_type="application/rss+xml"
    )
    assert archiver(root, "follow", site.url("/feed.xml")).code == 0

    result = archiver(root, "snapshot", "--json")

    assert result.code == 1
    [event] = result.data["events"]
    assert event["kind"] == "follow-error" and event["url"] == site.url("/feed.xml")
    message = hook.next()
    assert message["title"] == "archiver: 1 follow error"
    assert "not a feed" in message["message"]
