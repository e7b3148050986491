"""Feeds, sitemaps and front pages read into listings: the article URLs, dates and titles a user
relies on, what the notes say, and the one line of every refusal.

Hostile bodies each get a clear `Unreadable` line or a listing cut at a bound, in bounded time and
memory: entity expansion and external entities, enormous sitemaps, indexes and feeds, gzip bombs,
URLs that are not http(s), broken XML, empty bodies, HTML that says it is a feed, JSON that is no
feed, and dates that are in the future, unreadable or naive. Real-world samples are the files under
tests/data/discovery/; the large and hostile bodies are made here.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from archiver.discovery.listing import (
    MAX_ENTRIES,
    MAX_SITEMAPS,
    Entry,
    Kind,
    Listing,
    Unreadable,
    detect,
    read,
)

T = TypeVar("T")
DATA = Path(__file__).resolve().parent / "data" / "discovery"
NOW = datetime(2024, 6, 1, tzinfo=UTC)
SITE = "https://news.example.com"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
VERSION = "https://jsonfeed.org/version/1.1"
PASSWD = Path("/etc/passwd").read_text().splitlines()[0]  # "root:x:0:0:..." on any Linux


def listing(
    body: bytes | str,
    url: str,
    content_type: str | None = None,
    kind: Kind | None = None,
    include: str | None = None,
    exclude: str | None = None,
    **options: int,
) -> Listing:
    """What `read` makes of a sample file (by name) or of bytes, its kind detected unless given."""
    data = (DATA / body).read_bytes() if isinstance(body, str) else body
    return read(
        kind or detect(content_type, data),
        data,
        url,
        content_type,
        re.compile(include) if include else None,
        re.compile(exclude) if exclude else None,
        now=NOW,
        **options,
    )


def refusal(body: bytes, kind: Kind, content_type: str | None = None) -> str:
    """The one line `read` refuses the body with."""
    with pytest.raises(Unreadable) as refused:
        read(kind, body, f"{SITE}/listing", content_type, None, None, now=NOW)
    line = str(refused.value)
    assert line and "\n" not in line and len(line) < 300, line
    return line


def urls(found: Listing) -> list[str]:
    return [entry.url for entry in found.entries]


def when(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def rss(*items: str, head: str = "") -> bytes:
    body = "".join(f"<item>{item}</item>" for item in items)
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{head}<rss version="2.0"><channel>'
        f"<title>T</title><link>{SITE}/</link>{body}</channel></rss>"
    ).encode()


def urlset(*entries: str, head: str = "") -> bytes:
    body = "".join(f"<url>{entry}</url>" for entry in entries)
    return f'<?xml version="1.0"?>{head}<urlset xmlns="{SITEMAP_NS}">{body}</urlset>'.encode()


def timed(work: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    started = time.perf_counter()
    result = work(*args, **kwargs)
    return result, time.perf_counter() - started


# -- real-world samples ----------------------------------------------------------------------------


def test_an_rss_feed_gives_its_links_dates_and_titles() -> None:
    found = listing("rss2.xml", f"{SITE}/feed.xml", "application/rss+xml")
    assert found.kind is Kind.FEED
    assert found.entries == [
        # tracking parameters dropped, the title's markup made text, the date in UTC
        Entry(
            f"{SITE}/2024/05/01/council-budget?id=7",
            when("2024-05-01T08:00:00+00:00"),
            "Council approves the new budget & tax plan",
        ),
        # a relative link resolved against the feed
        Entry(
            f"{SITE}/2024/04/30/flood-warnings",
            when("2024-04-30T18:30:00Z"),
            "Flood warnings lifted",
        ),
        # no <link>: the permalink guid, and dc:date
        Entry(f"{SITE}/2024/04/29/permalink-only", when("2024-04-29T08:00:00Z"), "Permalink only"),
        # the fourth item repeats the first URL once normalized: the first is kept
    ]
    assert found.sitemaps == [] and found.notes == []


def test_an_atom_feed_gives_each_entrys_alternate_link() -> None:
    found = listing("atom.xml", "https://blog.example.org/atom.xml", "application/atom+xml")
    assert found.entries == [
        # rel="alternate" over rel="edit", resolved against xml:base; published over updated
        Entry(
            "https://blog.example.org/posts/long-weekend",
            when("2024-05-02T07:15:00Z"),
            "A long weekend",
        ),
        Entry(
            "https://blog.example.org/posts/updated-only",
            when("2024-05-01T00:00:00Z"),
            "Updated only",
        ),
    ]


def test_an_rss_1_0_feed_in_latin_1() -> None:
    found = listing("rdf.xml", "https://zeitung.example.de/rss", "application/rdf+xml")
    assert found.entries == [
        Entry(
            "https://zeitung.example.de/artikel/1",
            when("2024-05-03T05:00:00Z"),
            "Straßenbahn fährt wieder",
        )
    ]


def test_a_json_feed_gives_url_or_external_url_and_either_date() -> None:
    found = listing("feed.json", "https://json.example.net/feed.json", "application/feed+json")
    assert found.kind is Kind.FEED
    assert found.entries == [
        Entry("https://json.example.net/2024/05/first", when("2024-05-04T14:00:00Z"), "First post"),
        Entry(
            "https://elsewhere.example/linked-story", when("2024-05-03T09:00:00Z"), "A linked story"
        ),
        Entry("https://json.example.net/2024/05/relative", None, None),
    ]


def test_a_google_news_sitemap_gives_publication_dates_and_titles() -> None:
    found = listing("news-sitemap.xml", f"{SITE}/news-sitemap.xml", "application/xml")
    assert found.kind is Kind.SITEMAP
    assert found.entries == [
        # news:publication_date over lastmod; the image's loc is no entry
        Entry(
            f"{SITE}/2024/05/05/election-results",
            when("2024-05-05T18:15:00Z"),
            "Election results: what we know",
        ),
        # a bare date is midnight UTC
        Entry(f"{SITE}/2024/05/04/markets", when("2024-05-04T00:00:00Z"), None),
        # white space around a loc, &amp; in it
        Entry(f"{SITE}/2024/05/03/with-spaces?a=1&b=2", None, None),
    ]
    assert found.notes == ["1 date ignored: unreadable"]


def test_a_sitemap_index_gives_its_sitemaps_without_itself() -> None:
    found = listing("sitemap-index.xml", f"{SITE}/sitemap_index.xml", "text/xml")
    assert found.kind is Kind.SITEMAP and found.entries == []
    assert found.sitemaps == [
        f"{SITE}/sitemaps/news.xml",
        f"{SITE}/sitemaps/2024-05.xml.gz",
        f"{SITE}/sitemaps/2024-04.xml",  # relative, resolved
    ]
    assert found.notes == ["1 sitemap skipped: not http(s)", "its own URL left out of its sitemaps"]


def test_robots_txt_gives_its_sitemap_lines() -> None:
    found = listing("robots.txt", f"{SITE}/robots.txt", "text/plain")
    assert found.kind is Kind.SITEMAP and found.entries == []
    assert found.sitemaps == [
        f"{SITE}/sitemap_index.xml",
        f"{SITE}/news-sitemap.xml",
        f"{SITE}/relative-sitemap.xml",
    ]
    assert found.notes == []


def test_robots_txt_without_sitemaps_says_so() -> None:
    found = listing(b"User-agent: *\nDisallow: /private\n", f"{SITE}/robots.txt", "text/plain")
    assert found.kind is Kind.SITEMAP and found.sitemaps == []
    assert found.notes == ["robots.txt names no sitemap"]


def test_a_plain_text_sitemap_gives_a_url_a_line() -> None:
    body = f"{SITE}/a\r\n\n  {SITE}/b  \nnot a url\nftp://x.example/\n{SITE}/a\n".encode()
    found = listing(body, f"{SITE}/sitemap.txt", "text/plain")
    assert found.kind is Kind.SITEMAP
    assert urls(found) == [f"{SITE}/a", f"{SITE}/b"]
    assert found.notes == ["1 line skipped: not a URL", "1 entry skipped: not http(s)"]


def test_a_front_page_gives_the_article_links_of_its_own_site() -> None:
    found = listing("frontpage.html", f"{SITE}/", "text/html; charset=utf-8")
    assert found.kind is Kind.PAGE
    assert found.entries == [
        # the image's link came first, the headline's gives the title; the fragment dropped
        Entry(f"{SITE}/2024/05/05/election-results", None, "Election results: what we know"),
        # the same site (registrable domain), tracking parameters dropped
        Entry("https://www.example.com/2024/05/04/markets-rally", None, "Markets rally"),
        Entry(f"{SITE}/2024/05/03/weather.html", None, "Weather: a wet week"),
    ]
    # Left out: the menu and the footer whole, the home page, author, category, tag, topic,
    # search, login, pagination, feed and sitemap links, a PDF, mailto: and javascript:, and
    # another site's story.


def test_a_front_page_resolves_links_against_its_base() -> None:
    page = (
        b'<html><head><base href="https://news.example.com/world/"></head><body>'
        b'<a href="2024/europe-summit">Summit</a><a href="../2024/local-news">Local</a></body></html>'
    )
    found = listing(page, f"{SITE}/index.html", "text/html")
    assert urls(found) == [f"{SITE}/world/2024/europe-summit", f"{SITE}/2024/local-news"]


SAMPLES = [
    ("rss2.xml", f"{SITE}/feed.xml"),
    ("feed.json", "https://json.example.net/feed.json"),
    ("news-sitemap.xml", f"{SITE}/news-sitemap.xml"),
    ("frontpage.html", f"{SITE}/"),
]


@pytest.mark.parametrize(("sample", "url"), SAMPLES)
def test_include_and_exclude_apply_to_every_kind(sample: str, url: str) -> None:
    every = urls(listing(sample, url))
    first, others = every[0], every[1:]
    # searched in the normalized URL: tracking parameters are gone, the host is in punycode
    included = listing(sample, url, include=re.escape(first) + "$")
    assert urls(included) == [first]
    left = len(others)
    assert included.notes == [
        f"{left} {'entry' if left == 1 else 'entries'} left out by include/exclude"
    ]
    excluded = listing(sample, url, include="^https://", exclude=re.escape(first) + "$")
    assert urls(excluded) == others
    assert any(note.endswith(" left out by include/exclude") for note in excluded.notes)


DETECTED = {
    "rss": ("text/xml", (DATA / "rss2.xml").read_bytes(), Kind.FEED),
    "atom as text/html": ("text/html", (DATA / "atom.xml").read_bytes(), Kind.FEED),
    "rdf": (None, (DATA / "rdf.xml").read_bytes(), Kind.FEED),
    "json feed": ("application/json", (DATA / "feed.json").read_bytes(), Kind.FEED),
    "json feed by its type": ("application/feed+json", b'[{"items": []}]', Kind.FEED),
    "plain json": ("application/json", b'{"items": []}', Kind.PAGE),
    "urlset": ("application/xml", (DATA / "news-sitemap.xml").read_bytes(), Kind.SITEMAP),
    "index": ("text/plain", (DATA / "sitemap-index.xml").read_bytes(), Kind.SITEMAP),
    "gzipped urlset": ("application/gzip", gzip.compress(urlset()), Kind.SITEMAP),
    "robots.txt": ("text/plain; charset=utf-8", (DATA / "robots.txt").read_bytes(), Kind.SITEMAP),
    "text sitemap": ("text/plain", f"{SITE}/a\n{SITE}/b\n".encode(), Kind.SITEMAP),
    "html": ("text/html", (DATA / "frontpage.html").read_bytes(), Kind.PAGE),
    "html said to be rss": (
        "application/rss+xml",
        (DATA / "frontpage.html").read_bytes(),
        Kind.PAGE,
    ),
    "broken xml said to be rss": ("application/rss+xml", b"<<<rss>", Kind.FEED),
    "text said to be html": ("text/html", f"{SITE}/a\n".encode(), Kind.PAGE),
    "empty": (None, b"", Kind.PAGE),
}


@pytest.mark.parametrize("case", list(DETECTED))
def test_the_kind_is_told_by_the_body_before_its_content_type(case: str) -> None:
    content_type, body, kind = DETECTED[case]
    assert detect(content_type, body) is kind


def test_a_listing_renders_as_a_line_and_as_a_dict() -> None:
    found = listing("news-sitemap.xml", f"{SITE}/news-sitemap.xml")
    assert found.line() == "sitemap: 3 entries; 1 date ignored: unreadable"
    data = json.loads(json.dumps(found.as_dict()))
    assert data["kind"] == "sitemap" and data["sitemaps"] == []
    assert data["entries"][0] == {
        "url": f"{SITE}/2024/05/05/election-results",
        "published": "2024-05-05T18:15:00+00:00",
        "title": "Election results: what we know",
    }
    assert data["notes"] == ["1 date ignored: unreadable"]


# -- entity expansion and external entities --------------------------------------------------------

LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">'
        for n in range(1, 10)
    )
    + "]>"
)
QUADRATIC = f'<!DOCTYPE x [<!ENTITY a "{"a" * 100_000}">]>'


@pytest.mark.parametrize(
    ("body", "kind", "line"),
    [
        (rss("<title>&lol9;</title>", head=LAUGHS), Kind.FEED, "entity declarations are refused"),
        (
            urlset("<loc>&lol9;</loc>", head=LAUGHS),
            Kind.SITEMAP,
            "a DOCTYPE is refused in a sitemap: it is where entities are declared",
        ),
        (
            rss(*["<title>&a;</title>"] * 5000, head=QUADRATIC),
            Kind.FEED,
            "entity declarations are refused",
        ),
        (
            urlset(*["<loc>&a;</loc>"] * 5000, head=QUADRATIC),
            Kind.SITEMAP,
            "a DOCTYPE is refused in a sitemap: it is where entities are declared",
        ),
        # Broken XML goes to feedparser's lenient parser, which would expand "safe" entities.
        (
            rss(*["<title>&a; &nbsp;</title>"] * 5000, head=QUADRATIC),
            Kind.FEED,
            "entity declarations are refused",
        ),
        (
            QUADRATIC.encode() + b"<rss><channel>" + b"<item><title>&a;</title></item>" * 5000,
            Kind.FEED,
            "entity declarations are refused",
        ),
        # A DOCTYPE lxml cannot read to its end: what feedparser would keep of it is refused.
        (
            QUADRATIC.replace("]>", "<!BROKEN>]>").encode()
            + b"<rss><channel>"
            + b"<item><title>&a;</title></item>" * 5000,
            Kind.FEED,
            "entity declarations are refused",
        ),
    ],
    ids=[
        "laughs-feed",
        "laughs-sitemap",
        "quadratic-feed",
        "quadratic-sitemap",
        "quadratic-broken-feed",
        "quadratic-truncated-feed",
        "quadratic-broken-doctype",
    ],
)
def test_entity_expansion_is_refused_at_once(body: bytes, kind: Kind, line: str) -> None:
    answer, seconds = timed(refusal, body, kind)
    assert answer == line
    assert seconds < 10


XXE = {
    "general": '<!DOCTYPE x [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    "parameter": '<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
    "nested": """<!DOCTYPE x [<!ENTITY % p "<!ENTITY x SYSTEM 'file:///etc/passwd'>"> %p;]>""",
}


@pytest.mark.parametrize("form", list(XXE))
@pytest.mark.parametrize("kind", [Kind.FEED, Kind.SITEMAP])
def test_an_external_entity_is_never_read(form: str, kind: Kind) -> None:
    head = XXE[form]
    body = rss("<title>&x;</title><link>https://a.example/&x;</link>", head=head)
    if kind is Kind.SITEMAP:
        body = urlset(
            "<loc>https://a.example/&x;</loc><news:news><news:title>&x;</news:title></news:news>",
            head=head,
        )
    line = refusal(body, kind)
    assert line in (
        "entity declarations are refused",
        "a DOCTYPE is refused in a sitemap: it is where entities are declared",
    )
    assert PASSWD not in line and "root:" not in line


@pytest.mark.parametrize("kind", [Kind.FEED, Kind.PAGE])
def test_an_external_dtd_is_never_loaded(kind: Kind) -> None:
    doctype = '<!DOCTYPE x SYSTEM "file:///etc/passwd">'
    body = rss(f"<title>t</title><link>{SITE}/2024/a</link>", head=doctype)
    if kind is Kind.PAGE:
        body = f'{doctype}<html><body><a href="/2024/a">t</a></body></html>'.encode()
    found = read(kind, body, f"{SITE}/listing", None, None, None, now=NOW)
    assert found.entries == [Entry(f"{SITE}/2024/a", None, "t")]
    assert "root:" not in json.dumps(found.as_dict())


def test_a_doctype_in_a_sitemap_is_refused_even_without_entities() -> None:
    body = urlset(f"<loc>{SITE}/a</loc>", head="<!DOCTYPE urlset>")
    assert (
        refusal(body, Kind.SITEMAP)
        == "a DOCTYPE is refused in a sitemap: it is where entities are declared"
    )


# -- size: sitemaps, indexes, gzip, feeds ----------------------------------------------------------


def big_sitemap(megabytes: int) -> bytes:
    entry = (
        f"<url><loc>{SITE}/2024/05/article-number-{{}}.html</loc>"
        "<lastmod>2024-05-01T10:00:00+00:00</lastmod></url>\n"
    )
    count = megabytes * 1024 * 1024 // len(entry)
    return urlset(*[entry[5:-7].format(n) for n in range(count)])


def test_a_50_mb_sitemap_is_cut_at_50000_entries_in_bounded_time() -> None:
    body = big_sitemap(50)
    assert len(body) > 50_000_000
    found, seconds = timed(listing, body, f"{SITE}/sitemap.xml")
    assert len(found.entries) == MAX_ENTRIES == 50_000
    assert found.entries[-1] == Entry(
        f"{SITE}/2024/05/article-number-49999.html", when("2024-05-01T10:00:00Z"), None
    )
    assert found.notes == ["cut at 50,000 entries"]
    assert seconds < 30, seconds


MEASURE = """
import resource, sys, time
from archiver.discovery.listing import detect, read
body = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
found = read(detect(None, body), body, sys.argv[2], None, None, None)
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(len(found.entries), grown // 1024, round(time.perf_counter() - started, 2))
"""


@pytest.mark.parametrize(
    ("make", "entries"),
    [
        (lambda: big_sitemap(50), 50_000),
        # 50 MB of empty elements: nothing is kept of them, and reading stops at a bound
        (lambda: empty_elements(50), 1),
    ],
    ids=["entries", "empty-elements"],
)
def test_reading_a_50_mb_sitemap_keeps_memory_bounded(
    tmp_path: Path, make: Callable[[], bytes], entries: int
) -> None:
    body = tmp_path / "sitemap.xml"
    body.write_bytes(make())
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, str(body), f"{SITE}/sitemap.xml"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found, grown_mb, seconds = run.stdout.split()
    assert int(found) == entries
    assert int(grown_mb) < 250, f"memory grew by {grown_mb} MB reading a 50 MB sitemap"
    assert float(seconds) < 30


def empty_elements(megabytes: int) -> bytes:
    return urlset(f"<loc>{SITE}/a</loc>")[:-9] + b"<x/>" * (megabytes << 18) + b"</urlset>"


def test_a_sitemap_of_empty_elements_is_cut_at_a_bound() -> None:
    body = empty_elements(50)
    found, seconds = timed(listing, body, f"{SITE}/sitemap.xml")
    assert urls(found) == [f"{SITE}/a"]
    assert found.notes == ["cut at 2,000,000 XML elements"]
    assert seconds < 30


def bomb(members: int) -> bytes:
    """A gzip file of `members` members of 1 MiB of spaces each, inside a url set: 1 KiB a MiB."""
    spaces = gzip.compress(b" " * (1 << 20), 9)
    start = gzip.compress(
        urlset(f"<loc>{SITE}/a</loc>", f"<loc>{SITE}/b</loc>")[: -len("</urlset>")]
    )
    return start + spaces * members + gzip.compress(b"</urlset>")


def test_a_gzip_bomb_is_inflated_no_further_than_the_body_limit() -> None:
    body = bomb(1024)  # 1 GiB inflated
    assert len(body) < 2 * 1024 * 1024
    assert detect("application/x-gzip", body) is Kind.SITEMAP
    found, seconds = timed(listing, body, f"{SITE}/sitemap.xml.gz", limit=4 * 1024 * 1024)
    assert urls(found) == [f"{SITE}/a", f"{SITE}/b"]
    assert found.notes[0] == "gzip file cut at 4,194,304 bytes inflated"
    assert found.notes[1].startswith("broken XML at line 1: ") and found.notes[1].endswith(
        "; kept what came before it"
    )
    assert seconds < 10


def test_a_small_gzip_sitemap_is_read_whole() -> None:
    found = listing(bomb(3), f"{SITE}/sitemap.xml.gz")
    assert urls(found) == [f"{SITE}/a", f"{SITE}/b"] and found.notes == []


def test_a_damaged_gzip_sitemap_keeps_what_came_before_the_damage() -> None:
    whole = gzip.compress(big_sitemap(1))
    found = listing(whole[: len(whole) // 2], f"{SITE}/sitemap.xml.gz")
    assert 1000 < len(found.entries) < 10_000
    assert found.notes[0].startswith("gzip file damaged: cut short after ")
    assert found.notes[1].endswith("; kept what came before it")


def index(*locs: str) -> bytes:
    body = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    return f'<sitemapindex xmlns="{SITEMAP_NS}">{body}</sitemapindex>'.encode()


def test_an_index_of_10000_sitemaps_is_cut_at_1000() -> None:
    found = listing(index(*[f"{SITE}/sitemap-{n}.xml" for n in range(10_000)]), f"{SITE}/index.xml")
    assert len(found.sitemaps) == MAX_SITEMAPS == 1000
    assert found.sitemaps[-1] == f"{SITE}/sitemap-999.xml"
    assert found.notes == ["cut at 1,000 sitemaps"]


def test_an_index_naming_itself_lists_nothing_to_fetch() -> None:
    own = f"{SITE}/sitemap_index.xml"
    found = listing(
        index(own, "HTTPS://NEWS.Example.com:443/sitemap_index.xml", f"{own}#again"), own
    )
    assert found.sitemaps == [] and found.entries == []
    assert found.notes == ["its own URL left out of its sitemaps"]


def big_feed(entries: int) -> bytes:
    return rss(
        *[
            f"<title>Story {n}</title><link>{SITE}/story/{n}</link>"
            "<pubDate>Wed, 01 May 2024 10:00:00 GMT</pubDate>"
            for n in range(entries)
        ]
    )


def test_a_feed_of_100000_entries_is_cut_in_bounded_time() -> None:
    found, seconds = timed(listing, big_feed(100_000), f"{SITE}/feed.xml")
    assert len(found.entries) == 5000
    assert found.entries[-1] == Entry(
        f"{SITE}/story/4999", when("2024-05-01T10:00:00Z"), "Story 4999"
    )
    assert found.notes == ["cut at 5,000 entries"]
    assert seconds < 30, seconds


def test_a_feed_entry_of_a_million_elements_is_cut() -> None:
    body = rss(
        f"<title>a</title><link>{SITE}/a</link>", "<x/>" * 1_000_000 + f"<link>{SITE}/b</link>"
    )
    found, seconds = timed(listing, body, f"{SITE}/feed.xml")
    assert urls(found) == [f"{SITE}/a"]  # the second entry is cut before its link
    assert found.notes == ["cut at 100,000 XML elements", "1 entry skipped: no link"]
    assert seconds < 30


def test_a_json_feed_of_100000_items_is_cut() -> None:
    items = [{"url": f"{SITE}/story/{n}"} for n in range(100_000)]
    found = listing(json.dumps({"version": VERSION, "items": items}).encode(), f"{SITE}/feed.json")
    assert len(found.entries) == 5000 and found.notes == ["cut at 5,000 entries"]


def test_a_front_page_of_a_hundred_thousand_links_is_read_in_part() -> None:
    links = "".join(f'<a href="/2024/05/story-{n}">Story {n}</a>' for n in range(100_000))
    found, seconds = timed(listing, f"<html><body>{links}</body></html>".encode(), f"{SITE}/")
    assert len(found.entries) == 10_000 and found.entries[-1].title == "Story 9999"
    assert found.notes == [
        "read the first 4 MiB of the page",
        "read the first 10,000 links of the page",
    ]
    assert seconds < 30


# -- URLs that are not http(s), relative, international, private -----------------------------------

HREFS = [
    "javascript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "mailto:desk@news.example.com",
    "/2024/05/relative",
    "https://bücher.example/2024/05/idn",
    "http://10.0.0.7/internal",
    "http://[::1]:8080/loopback",
    "http://localhost/2024/local",
    "https://news.example.com:99999/bad-port",
]
KEPT = [
    f"{SITE}/2024/05/relative",
    "https://xn--bcher-kva.example/2024/05/idn",
    "http://10.0.0.7/internal",  # private addresses are kept: the fetcher's address guard refuses them
    "http://[::1]:8080/loopback",
    "http://localhost/2024/local",
]


def listed(kind: str, hrefs: list[str]) -> bytes:
    if kind == "rss":
        return rss(*[f"<title>t</title><link>{escaped(href)}</link>" for href in hrefs])
    if kind == "atom":
        entries = "".join(f'<entry><link href="{escaped(href)}"/></entry>' for href in hrefs)
        return f'<feed xmlns="http://www.w3.org/2005/Atom">{entries}</feed>'.encode()
    if kind == "json":
        return json.dumps({"version": VERSION, "items": [{"url": h} for h in hrefs]}).encode()
    return urlset(*[f"<loc>{escaped(href)}</loc>" for href in hrefs])


def escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


@pytest.mark.parametrize("kind", ["rss", "atom", "json", "sitemap"])
def test_links_that_are_not_http_are_dropped_and_counted(kind: str) -> None:
    found = listing(listed(kind, HREFS), f"{SITE}/listing")
    assert urls(found) == KEPT
    assert found.notes == ["4 entries skipped: not http(s)"]


# -- broken XML, empty bodies, HTML that says it is a feed, JSON that is no feed -------------------


def test_a_sitemap_broken_midway_keeps_what_came_before() -> None:
    body = (
        urlset(f"<loc>{SITE}/a</loc>", f"<loc>{SITE}/b</loc>")[:-9]
        + b"\n<url><loc>x</urlx></urlset>"
    )
    found = listing(body, f"{SITE}/sitemap.xml")
    assert urls(found) == [f"{SITE}/a", f"{SITE}/b"]
    assert found.notes == [
        "broken XML at line 2: Opening and ending tag mismatch: loc line 2 and urlx; "
        "kept what came before it"
    ]
    assert found.line() == f"sitemap: 2 entries; {found.notes[0]}"


@pytest.mark.parametrize(
    ("body", "line"),
    [
        (
            b"<urlset><url><loc>a</url>",
            "broken XML at line 1: Opening and ending tag mismatch: loc line 1 and url",
        ),
        (
            b'<?xml version="1.0"?>\n<urlset',
            "broken XML at line 2: Couldn't find end of Start Tag urlset",
        ),
        (
            b"<html><body><p>a sitemap?</p></body></html>",
            "not a sitemap: its root element is <html>",
        ),
        (b"<rss><channel></channel></rss>", "not a sitemap: its root element is <rss>"),
    ],
)
def test_a_sitemap_broken_from_the_start_is_refused(body: bytes, line: str) -> None:
    assert refusal(body, Kind.SITEMAP).startswith(line)


def test_a_sitemap_nested_past_any_reason_is_refused() -> None:
    body = urlset()[:-9] + b"<url>" * 1_000_000
    assert refusal(body, Kind.SITEMAP) == "not a sitemap: elements nested deeper than 32"


def test_a_feed_with_an_undeclared_entity_and_a_bare_ampersand_is_read_leniently() -> None:
    body = rss(
        f"<title>Caf&eacute;&nbsp;society</title><link>{SITE}/a?x=1&y=2</link>",
        f"<title>Tom & Jerry</title><link>{SITE}/b</link>",
    )
    found = listing(body, f"{SITE}/feed.xml")
    assert found.entries == [
        Entry(f"{SITE}/a?x=1&y=2", None, "Café society"),
        Entry(f"{SITE}/b", None, "Tom & Jerry"),
    ]
    assert found.notes == ["broken XML at line 1: Entity 'eacute' not defined; read leniently"]


def test_a_large_broken_feed_is_read_leniently_in_part() -> None:
    text = "<description>" + "A paragraph of the story. " * 20 + "</description>"
    body = rss(
        *[f"<title>Story&nbsp;{n}</title><link>{SITE}/{n}</link>{text}" for n in range(20_000)]
    )
    found, seconds = timed(listing, body, f"{SITE}/feed.xml")
    assert 1000 < len(found.entries) < 5000  # the first MiB, up to the entry it cuts
    assert found.entries[-1].title == f"Story {len(found.entries) - 1}"
    assert (
        found.notes[0]
        == "broken XML at line 1: Entity 'nbsp' not defined; read leniently, its first 1,048,576 bytes"
    )
    assert seconds < 30


def test_a_dense_broken_feed_is_read_leniently_in_bounded_time() -> None:
    body = rss(f"<title>&nbsp;</title><link>{SITE}/a</link>" + "<x/>" * 1_000_000)
    found, seconds = timed(listing, body, f"{SITE}/feed.xml")
    assert urls(found) == [f"{SITE}/a"]
    cut = [tag.start() for tag in re.finditer(b"<", body)][50_000]  # read up to 50,000 tags
    assert found.notes == [
        f"broken XML at line 1: Entity 'nbsp' not defined; read leniently, its first {cut:,} bytes"
    ]
    assert seconds < 30


@pytest.mark.parametrize(
    ("body", "line"),
    [
        (
            b"<rss version='2.0'><channel><title>a</titel>",
            "broken XML at line 1: Opening and ending tag mismatch",
        ),
        (b"\x00\x01\x02 binary \xff\xfe", "not a feed: broken XML at line 1: Start tag expected"),
        (b"Just some text", "not a feed: broken XML at line 1: Start tag expected, '<' not found"),
        (
            b"<urlset><url><loc>https://a.example/</loc></url></urlset>",
            "not a feed: its root element is <urlset>",
        ),
    ],
)
def test_a_feed_broken_beyond_reading_is_refused(body: bytes, line: str) -> None:
    assert refusal(body, Kind.FEED).startswith(line)


def test_a_broken_feed_whose_entries_have_no_link_lists_nothing_and_says_why() -> None:
    found = listing(
        b"<rss version='2.0'><channel><item><title>a</titel>", f"{SITE}/feed", kind=Kind.FEED
    )
    assert found.entries == []
    assert found.notes == [
        "broken XML at line 1: Opening and ending tag mismatch: title line 1 and titel; read leniently",
        "1 entry skipped: no link",
    ]


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("body", [b"", b" \r\n\t "])
def test_an_empty_body_is_refused(kind: Kind, body: bytes) -> None:
    assert refusal(body, kind) == "empty body"


def test_a_feed_with_undeclared_prefixes_keeps_its_dates() -> None:
    body = rss(
        f"<title>t</title><link>{SITE}/a</link><dc:date>2024-05-01T10:00:00+02:00</dc:date>"
        '<media:thumbnail url="/a.jpg"/>'
    )
    found = listing(body, f"{SITE}/feed.xml")
    assert found.entries == [Entry(f"{SITE}/a", when("2024-05-01T08:00:00Z"), "t")]
    assert found.notes == []


def test_an_empty_feed_is_an_empty_listing() -> None:
    found = listing(rss(), f"{SITE}/feed.xml")
    assert found.kind is Kind.FEED and found.entries == [] and found.notes == []


def test_html_served_as_a_feed_is_read_as_a_page_or_refused_as_a_feed() -> None:
    page = (DATA / "frontpage.html").read_bytes()
    assert detect("application/rss+xml", page) is Kind.PAGE
    assert len(listing(page, f"{SITE}/", "application/rss+xml").entries) == 3
    assert refusal(page, Kind.FEED) == "not a feed: its root element is <html>"
    sloppy = b"<html lang=en><body><p>Hello<br><a href=/a>a</a></body></html>"
    assert refusal(sloppy, Kind.FEED).startswith("not a feed: broken XML at line 1: ")


@pytest.mark.parametrize(
    ("body", "line"),
    [
        (b'[{"url": "https://a.example/"}]', "not a feed: a JSON Feed is an object, not a list"),
        (b'"https://a.example/"', "not a feed: a JSON Feed is an object, not a string"),
        (b"null", "not a feed: a JSON Feed is an object, not null"),
        (b"<rss/>", "broken JSON: Expecting value: line 1 column 1 (char 0)"),
        (b"[1, 2", "broken JSON: Expecting ',' delimiter: line 1 column 6 (char 5)"),
        (
            b'{"version": "https://jsonfeed.org/version/1.1"}',
            "not a feed: a JSON Feed has a list of items",
        ),
        (
            b'{"items": {"url": "https://a.example/"}}',
            "not a feed: a JSON Feed has a list of items",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "broken JSON: maximum recursion depth exceeded"),
        (b'{"items": [], "x": "\xff"}', "broken JSON: 'utf-8' codec can't decode byte 0xff"),
    ],
)
def test_json_that_is_no_json_feed_is_refused(body: bytes, line: str) -> None:
    assert refusal(body, Kind.FEED, "application/feed+json").startswith(line)


def test_a_json_feed_larger_than_its_bound_is_refused() -> None:
    body = json.dumps({"items": [{"url": f"{SITE}/{'x' * 1000}"}] * 10_000}).encode()
    assert (
        refusal(body, Kind.FEED, "application/feed+json")
        == "a JSON Feed larger than 8 MiB is refused"
    )


def test_json_feed_items_that_are_not_objects_are_counted() -> None:
    body = json.dumps({"items": [1, "x", None, {"url": f"{SITE}/a", "title": ["no"]}, {"url": 7}]})
    found = listing(body.encode(), f"{SITE}/feed.json", "application/feed+json")
    assert found.entries == [Entry(f"{SITE}/a", None, None)]
    assert found.notes == ["4 entries skipped: no link"]


# -- dates and titles ------------------------------------------------------------------------------

DATES = {
    # what the listing says: a date, or None with a note
    "2024-05-01T10:00:00+02:00": "2024-05-01T08:00:00+00:00",
    "2024-05-01t10:00:00z": "2024-05-01T10:00:00+00:00",
    "2024-05-01T10:00:00": "2024-05-01T10:00:00+00:00",  # naive: taken as UTC
    "2024-05-01": "2024-05-01T00:00:00+00:00",
    "2024-05": "2024-05-01T00:00:00+00:00",
    "2024-06-01T20:00:00+00:00": "2024-06-01T20:00:00+00:00",  # hours ahead: a clock, kept
    "2999-01-01T00:00:00Z": "in the future",
    "yesterday": "unreadable",
    "99999999999999999999": "unreadable",
    "0001-01-01T00:00:00+05:00": "unreadable",  # before the year 1 in UTC
    "2024-13-45": "unreadable",
    "9" * 10_000: "unreadable",
}


@pytest.mark.parametrize("said", list(DATES), ids=[d[:30] for d in DATES])
@pytest.mark.parametrize("kind", ["sitemap", "news-sitemap", "json"])
def test_dates_are_aware_utc_or_none_with_a_note(kind: str, said: str) -> None:
    if kind == "json":
        body = json.dumps(
            {"version": VERSION, "items": [{"url": f"{SITE}/a", "date_published": said}]}
        ).encode()
    else:
        field = "lastmod" if kind == "sitemap" else "news:news><news:publication_date"
        close = "lastmod" if kind == "sitemap" else "news:publication_date></news:news"
        body = urlset(f"<loc>{SITE}/a</loc><{field}>{said}</{close}>").replace(
            b"<urlset ", b'<urlset xmlns:news="http://www.google.com/schemas/sitemap-news/0.9" '
        )
    found = listing(body, f"{SITE}/listing")
    expected = DATES[said]
    (entry,) = found.entries
    if expected.startswith("2"):
        assert entry.published == when(expected) and entry.published.tzinfo is UTC
        assert found.notes == []
    else:
        assert entry.published is None
        assert found.notes == [f"1 date ignored: {expected}"]


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("Wed, 01 May 2024 10:00:00 +0200", "2024-05-01T08:00:00+00:00"),
        ("Wed, 01 May 2024 10:00:00 PDT", "2024-05-01T17:00:00+00:00"),
        ("Wed, 01 May 2024 10:00:00", "2024-05-01T10:00:00+00:00"),  # naive: taken as UTC
        ("2024-05-01T10:00:00", "2024-05-01T10:00:00+00:00"),
        ("Fri, 01 Jan 2999 00:00:00 GMT", "in the future"),
        ("the day before yesterday", "unreadable"),
        ("Wed, 01 May 99999 10:00:00 GMT", "unreadable"),
    ],
)
def test_feed_dates_are_aware_utc_or_none_with_a_note(said: str, expected: str) -> None:
    found = listing(rss(f"<link>{SITE}/a</link><pubDate>{said}</pubDate>"), f"{SITE}/feed.xml")
    (entry,) = found.entries
    if expected.startswith(("1", "2")):
        assert entry.published == when(expected)
    else:
        assert entry.published is None and found.notes == [f"1 date ignored: {expected}"]


def test_titles_are_printable_and_short() -> None:
    hostile = "\x1b]0;owned\x07Breaking:\x1b[2J  news\u202e  of\tthe\n day " + "long " * 200
    items = [{"url": f"{SITE}/a", "title": hostile}, {"url": f"{SITE}/b", "title": " \u200b "}]
    body = json.dumps({"version": VERSION, "items": items})
    first, second = listing(body.encode(), f"{SITE}/feed.json").entries
    assert first.title is not None and len(first.title) == 300
    assert first.title.startswith("Breaking: news of the day long long") and first.title.endswith(
        "…"
    )
    assert "\x1b" not in first.title and "\u202e" not in first.title
    assert second.title is None


# -- odd shapes: what a parser or feedparser could spend minutes or gigabytes on -------------------

ATTRIBUTES = " ".join(f'a{n}="1"' for n in range(100_000))
SHAPES = {
    # feedparser's time grows with the square of an element's attributes
    "feed-attributes": (Kind.FEED, rss(f"<title>t</title><link>{SITE}/a</link><x {ATTRIBUTES}/>")),
    "broken-feed-attributes": (
        Kind.FEED,
        rss(f"<title>t</title><link>{SITE}/a</link><x {ATTRIBUTES}/><y>&nbsp;</y>"),
    ),
    "sitemap-attributes": (Kind.SITEMAP, urlset(f"<loc>{SITE}/a</loc><x {ATTRIBUTES}/>")),
    "feed-40-mb-description": (
        Kind.FEED,
        rss(f"<title>t</title><link>{SITE}/a</link><description>{'x' * (40 << 20)}</description>"),
    ),
    "sitemap-20-mb-loc": (
        Kind.SITEMAP,
        urlset(f"<loc>{SITE}/a</loc>", f"<loc>{SITE}/{'x' * (20 << 20)}</loc>"),
    ),
    "feed-nested-100000-deep": (
        Kind.FEED,
        rss(f"<title>t</title><link>{SITE}/a</link>" + "<x>" * 100_000 + "</x>" * 100_000),
    ),
    "page-300000-menus": (
        Kind.PAGE,
        b"<html><body><div>"
        + b"<nav></nav>x" * 300_000
        + b'<a href="/2024/a">a</a></div></body></html>',
    ),
    "page-200000-links-deep-down": (
        Kind.PAGE,
        b"<html><body>" + b"<div>" * 250 + b'<a href="/2024/a">a</a>' * 200_000 + b"</body></html>",
    ),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_odd_shapes_are_read_in_bounded_time(shape: str) -> None:
    kind, body = SHAPES[shape]
    found, seconds = timed(listing, body, f"{SITE}/listing", kind=kind)
    assert urls(found) == ([f"{SITE}/2024/a"] if kind is Kind.PAGE else [f"{SITE}/a"])
    assert seconds < 20, seconds
