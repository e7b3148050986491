"""The change feed: `feeds/changes.atom`, committed with each run that makes a version, read back
as a feed reader reads it (feedparser): valid Atom, newest first, each version under the same id in
every run, what a hostile page puts in its headline escaped or removed."""

from __future__ import annotations

import feedparser
from support.archives import configure
from support.commands import git
from support.history import STORY, Story, recheck, serve_sources

from archiver import Archive

FEED = "feeds/changes.atom"


def read(archive: Archive) -> feedparser.FeedParserDict:
    parsed = feedparser.parse((archive.root / FEED).read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    # RFC 4287's required elements: the feed's id, title and updated, and each entry's.
    assert parsed.feed.id and parsed.feed.title and parsed.feed.updated
    for entry in parsed.entries:
        assert entry.id and entry.title and entry.updated, entry
    return parsed


def test_each_version_is_an_entry_with_a_stable_id_newest_first(site, archive: Archive) -> None:
    sources = serve_sources(site)
    story = Story(site)
    story.links = [(sources["audit"], "the audit report"), (sources["table"], "a payments table")]
    archive.add([story.url])
    first = read(archive)
    # The article and both sources it cites: one entry each, for their first version.
    assert sorted(e.title.split(":")[0] for e in first.entries) == [
        "new",
        "new source",
        "new source",
    ]
    assert git(archive.root, "status", "--porcelain") == ""  # committed with the run
    assert FEED in git(archive.root, "show", "--name-only", "--format=", "HEAD")

    story.paragraphs[0] = STORY[0].replace("on Tuesday", "on Monday")
    # A headline with markup as text, and a control character.
    story.title = 'Minister &lt;b&gt;resigns&lt;/b&gt; &amp; "quits"\x0b'
    summary = recheck(archive)
    second = read(archive)
    assert second.feed.id == first.feed.id
    # The new version on top; the earlier entries keep their ids.
    assert [e.id for e in second.entries[1:]] == [e.id for e in first.entries]
    top = second.entries[0]
    assert top.id.endswith(":v2") and top.id not in {e.id for e in first.entries}
    assert top.title == 'edited: Minister <b>resigns</b> & "quits"'
    assert top.link == story.url
    text = top.content[0].value
    assert "before: The finance minister resigned on Tuesday" in text
    assert "after: The finance minister resigned on Monday" in text
    assert f"archiver report {story.url} 1 2" in text
    assert second.feed.updated >= first.feed.updated
    assert FEED in git(archive.root, "show", "--name-only", "--format=", summary.commit)

    # A run that makes no version leaves the feed as it was.
    recheck(archive)
    assert read(archive).entries == second.entries


def test_the_feed_keeps_the_newest_entries_and_links_reports_under_the_base_url(
    site, archive: Archive, monkeypatch
) -> None:
    monkeypatch.setattr("archiver.run.feed.KEEP", 3)
    configure(archive.root, report_base_url="https://git.example.org/desk/archive/src/main")
    archive = Archive.open(archive.root)
    story = Story(site)
    archive.add([story.url])
    for n in range(3):
        story.paragraphs.append(f"Update {n}: the ministry published a further statement today.")
        recheck(archive)
    entries = read(archive).entries
    assert [e.id.rsplit(":", 1)[1] for e in entries] == ["v4", "v3", "v2"]
    related = [link.href for link in entries[0].links if link.rel == "related"]
    assert related and related[0].startswith("https://git.example.org/desk/archive/src/main/pages/")


def test_control_characters_of_a_hostile_page_never_reach_the_feed(archive: Archive) -> None:
    from archiver.run import feed
    from archiver.run.events import Event

    hostile = Event(
        kind="edited",
        url="https://news.example/a",
        title="Bad\x00 \x1b[2Jtitle\ud800 <script>&",
        outlet="news.example",
        role="article",
        version=2,
        summary="one\x07 sentence changed",
        pairs=[("before\x0c", "after\x85")],
        captured_at="2026-12-01T07:00:00+00:00",
    )
    assert feed.write(archive.root, archive.store, [hostile]) == FEED
    [entry] = read(archive).entries
    assert entry.title == "edited: Bad [2Jtitle <script>&"
    assert entry.summary == "one sentence changed"
    assert "before: before\nafter: after" in entry.content[0].value
