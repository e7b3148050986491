"""Polling followed outlets: each whole snapshot fetches the due feeds, sitemaps and front pages
like any page (a WARC record, a version of their listing), tracks the new articles they list and
captures them in the same run and commit."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.commands import git
from support.newssite import Response, Site, article
from support.userview import archiver

from archiver import Archive
from archiver.discovery.poll import MAX_CHILDREN
from archiver.urls import page_dir

RSS = "application/rss+xml"


def rss(site: Site, items: list[tuple[str, str, datetime | None]]) -> Response:
    entries = "".join(
        f"<item><title>{title}</title><link>{site.url(path)}</link>"
        + (f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>" if when else "")
        + "</item>"
        for path, title, when in items
    )
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>The Daily Loopback</title>'
        f"<link>{site.url('/')}</link>{entries}</channel></rss>"
    )
    return Response(body=body.encode(), content_type=RSS)


def story(site: Site, path: str, title: str) -> None:
    site.page(path, article(title, [f"{title}: the council met on Tuesday.", "It voted twice."]))


def meta(root: Path, url: str) -> dict:
    return json.loads((root / page_dir(url) / "meta.json").read_text())


def urls_txt(root: Path) -> list[str]:
    return [
        line
        for line in (root / "urls.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def test_a_followed_feed_brings_its_articles_into_the_same_run_and_commit(
    site: Site, archive: Archive, now: datetime
):
    root, feed = archive.root, site.url("/feed.xml")
    for n in (1, 2):
        story(site, f"/news/{n}", f"Story {n}")
    site.routes["/feed.xml"] = rss(
        site, [("/news/1", "Story 1", now), ("/news/2", "Story 2", now - timedelta(hours=1))]
    )
    assert archiver(root, "follow", feed).code == 0

    first = archiver(root, "snapshot", "--json")

    assert first.code == 0, first.stderr
    assert first.result(site.url("/news/1"))["outcome"] == "new"
    assert first.result(site.url("/news/2"))["outcome"] == "new"
    assert first.result(feed)["role"] == "follow"
    assert urls_txt(root) == [
        f"{site.url('/news/1')} # found by {feed}",
        f"{site.url('/news/2')} # found by {feed}",
    ]
    assert archive.tracked() == [site.url("/news/1"), site.url("/news/2")]
    assert meta(root, site.url("/news/1"))["found_by"] == feed
    listing = meta(root, feed)
    assert listing["role"] == "follow" and listing["summary"] == "2 listed"
    assert "Story 2" in (root / page_dir(feed) / "article.md").read_text()
    assert git(root, "status", "--porcelain") == ""
    assert len(git(root, "rev-list", "HEAD").split()) == 3  # init, follow, the run
    committed = git(root, "show", "--name-only", "--format=", "HEAD").split()
    assert "urls.txt" in committed and f"{page_dir(site.url('/news/2')).as_posix()}/article.md" in (
        committed
    )

    # The outlet lists a third story and drops the first: one tracked, one unlisted on record.
    story(site, "/news/3", "Story 3")
    site.routes["/feed.xml"] = rss(
        site, [("/news/3", "Story 3", now), ("/news/2", "Story 2", now - timedelta(hours=1))]
    )
    second = archiver(root, "snapshot", "--all", "--json")

    assert second.code == 0, second.stderr
    assert second.result(site.url("/news/3"))["outcome"] == "new"
    listing = meta(root, feed)
    assert listing["version"] == 2 and listing["summary"] == "1 listed, 1 unlisted"
    assert listing["entries"]["unlisted"] == [site.url("/news/1")]
    assert listing["entries"]["listed"] == [site.url("/news/3")]
    assert site.url("/news/1") in archive.tracked()  # unlisted, still tracked
    log = archiver(root, "log", feed)
    assert log.code == 0 and "1 listed, 1 unlisted" in log.stdout
    assert archiver(root, "verify").code == 0


def test_a_poll_tracks_the_newest_within_max_new_and_since(
    site: Site, archive: Archive, now: datetime
):
    root, feed = archive.root, site.url("/feed.xml")
    items = [
        ("/a", "Old", now - timedelta(days=10)),
        ("/b", "Newest", now),
        ("/c", "Undated", None),
        ("/d", "Recent", now - timedelta(days=1)),
        ("/e", "Older", now - timedelta(days=2)),
    ]
    for path, title, _ in items:
        story(site, path, title)
    site.routes["/feed.xml"] = rss(site, items)
    assert archiver(root, "follow", feed, "--max-new", "3", "--since", "5").code == 0

    result = archiver(root, "snapshot", "--json")

    assert result.code == 0, result.stderr
    assert archive.tracked() == [site.url("/b"), site.url("/d"), site.url("/e")]
    # Entries left out are listed all the same: the next poll does not bring them as new.
    story(site, "/f", "Fresh")
    site.routes["/feed.xml"] = rss(site, [("/f", "Fresh", now), *items])
    again = archiver(root, "snapshot", "--all")
    assert again.code == 0
    # The three articles checked again, the new one, and the feed.
    assert again.stdout.startswith("5 checked (4 articles, 0 sources, 1 followed listing): 1 new")
    assert archive.tracked() == [site.url(p) for p in ("/b", "/d", "/e", "/f")]


def test_a_sitemap_index_robots_txt_and_a_gzipped_news_sitemap(site: Site, archive: Archive):
    root = archive.root
    story(site, "/politics/vote", "Vote")
    story(site, "/politics/budget", "Budget")
    story(site, "/tag/council", "Council tag page")
    news = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        + "".join(
            f"<url><loc>{site.url(p)}</loc><news:news><news:publication_date>2026-11-30"
            f"</news:publication_date><news:title>{p}</news:title></news:news></url>"
            for p in ("/politics/vote", "/politics/budget", "/tag/council")
        )
        + "</urlset>"
    )
    site.routes["/news.xml.gz"] = Response(
        body=gzip.compress(news.encode()), content_type="application/gzip"
    )
    index = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{site.url('/news.xml.gz')}</loc></sitemap>"
        f"<sitemap><loc>{site.url('/index.xml')}</loc></sitemap>"  # itself: polled once
        "</sitemapindex>"
    )
    site.routes["/index.xml"] = Response(body=index.encode(), content_type="application/xml")
    site.routes["/robots.txt"] = Response(
        body=f"User-agent: *\nAllow: /\nSitemap: {site.url('/index.xml')}\n".encode(),
        content_type="text/plain",
    )
    assert archiver(root, "follow", site.url("/robots.txt"), "--exclude", "/tag/").code == 0

    result = archiver(root, "snapshot", "--json")

    assert result.code == 0, result.stderr
    assert sorted(archive.tracked()) == [site.url("/politics/budget"), site.url("/politics/vote")]
    assert meta(root, site.url("/politics/vote"))["found_by"] == site.url("/news.xml.gz")
    assert site.hits["/index.xml"] == 1 and site.hits["/news.xml.gz"] == 1
    assert meta(root, site.url("/news.xml.gz"))["role"] == "follow"
    [status] = json.loads(archiver(root, "list", "--follows", "--json").stdout)
    assert status["url"] == site.url("/robots.txt") and status["brought"] == 2
    assert status["outcome"] == "new" and status["error"] is None


def test_entries_elsewhere_than_public_addresses_are_never_fetched(
    site: Site, other: Site, tmp_path: Path
):
    """The feed's origin is the user's choice; an origin a feed names is not: `other` listens on
    loopback, a private address, so its article is tracked but never fetched, now or later."""
    archive = Archive.init(tmp_path / "archive")  # private addresses not allowed, as by default
    root, feed = archive.root, site.url("/feed.xml")
    story(other, "/inside", "Inside")
    story(site, "/fine", "Fine")
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        f"<item><title>In</title><link>{other.url('/inside')}</link></item>"
        "<item><title>Script</title><link>javascript:alert(1)</link></item>"
        f"<item><title>Fine</title><link>{site.url('/fine')}</link></item>"
        "</channel></rss>"
    )
    site.routes["/feed.xml"] = Response(body=body.encode(), content_type=RSS)
    assert archiver(root, "follow", feed).code == 0

    for args in (("snapshot",), ("snapshot", "--all")):
        result = archiver(root, *args, "--json")
        assert result.result(other.url("/inside"))["outcome"] == "skipped"
        assert "public" in result.result(other.url("/inside"))["error"]
    assert other.hits["/inside"] == 0
    fine = meta(root, site.url("/fine"))
    assert fine["found_by"] == feed, fine
    assert not any("javascript" in url for url in archive.tracked())


def test_a_broken_feed_is_one_failed_poll_and_nothing_else(site: Site, archive: Archive):
    root, feed = archive.root, site.url("/feed.xml")
    site.routes["/feed.xml"] = Response(
        body=b"Service unavailable, come back soon", content_type=RSS
    )
    assert archiver(root, "follow", feed).code == 0

    result = archiver(root, "snapshot", "--json")

    assert result.code == 1
    failed = result.result(feed)
    assert failed["outcome"] == "failed" and failed["error"].startswith(
        "not a feed: broken XML at line 1"
    )
    assert "\n" not in failed["error"]
    listed = archiver(root, "list", "--follows")
    assert "failed (not a feed: broken XML at line 1" in listed.stdout
    assert "brought 0" in listed.stdout
    assert archive.tracked() == []
    assert git(root, "status", "--porcelain") == ""


def test_an_index_of_ten_thousand_sitemaps_is_polled_a_bounded_part_at_a_time(
    site: Site, archive: Archive
):
    root = archive.root
    empty = Response(
        body=b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>',
        content_type="application/xml",
    )
    children = [f"/sitemap-{n}.xml" for n in range(10_000)]
    for path in children:
        site.routes[path] = empty
    index = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<sitemap><loc>{site.url(p)}</loc></sitemap>" for p in children)
        + "</sitemapindex>"
    )
    site.routes["/index.xml"] = Response(body=index.encode(), content_type="application/xml")
    assert archiver(root, "follow", site.url("/index.xml")).code == 0

    result = archiver(root, "snapshot", "--json")

    assert result.code == 0, result.stderr
    polled = [p for p in children if site.hits[p]]
    assert len(polled) == MAX_CHILDREN
    assert meta(root, site.url(polled[0]))["summary"] == "nothing listed"
    assert archiver(root, "snapshot", "--all").code == 0  # the next poll takes the next ones
    assert len([p for p in children if site.hits[p]]) == 2 * MAX_CHILDREN
