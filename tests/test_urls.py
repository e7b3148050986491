"""URL identity (`normalize_url`) and the page folder a URL maps to (`page_dir`)."""

from __future__ import annotations

import hashlib
import re

import pytest

from archiver.errors import InvalidURL, UsageError
from archiver.urls import legacy_page_dir, names_folder, normalize_url, page_dir

# --- normalize_url --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "HTTP://Example.COM/Path",
            "http://example.com/Path",
        ),  # path case is kept: it is the server's
        ("https://EXAMPLE.com", "https://example.com/"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),  # 443 is not http's default
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/a#", "https://example.com/a"),
        ("https://example.com./a", "https://example.com/a"),
        ("  https://example.com/a  ", "https://example.com/a"),
    ],
)
def test_scheme_host_port_fragment(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected


def test_tracking_params_removed_others_kept_in_order() -> None:
    url = "https://example.com/story?z=3&utm_source=tw&a=1&fbclid=XYZ&m=2&gclid=abc&utm_campaign=c&UTM_Medium=x"
    assert normalize_url(url) == "https://example.com/story?z=3&a=1&m=2"


def test_only_tracking_params_leaves_no_query() -> None:
    assert (
        normalize_url("https://example.com/story?utm_source=a&fbclid=b&gclid=c")
        == "https://example.com/story"
    )


def test_query_without_tracking_is_untouched() -> None:
    url = "https://example.com/search?q=a%20b&sort=new&tag=c%2B%2B&flag"
    assert normalize_url(url) == url


def test_param_that_merely_contains_utm_is_kept() -> None:
    url = "https://example.com/s?my_utm_source=1&utmost=2"
    assert normalize_url(url) == url


@pytest.mark.parametrize("query", ["q=a%20b", "path=a/b", "flag"])
def test_removing_tracking_param_keeps_identity(query: str) -> None:
    base = f"https://example.com/search?{query}"
    assert normalize_url(base + "&utm_source=newsletter") == normalize_url(base)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
        ("https://example.com/a/b/..", "https://example.com/a/"),
        ("https://example.com/a/b/.", "https://example.com/a/b/"),
        ("https://example.com/../../etc/passwd", "https://example.com/etc/passwd"),
        ("https://example.com/a/../../../b", "https://example.com/b"),
        ("https://example.com/..", "https://example.com/"),
        ("https://example.com/a/", "https://example.com/a/"),  # trailing slash kept
    ],
)
def test_dot_segments(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://bücher.de/buch", "https://xn--bcher-kva.de/buch"),
        ("https://BÜCHER.de/", "https://xn--bcher-kva.de/"),
        ("https://例え.jp/", "https://xn--r8jz45g.jp/"),
    ],
)
def test_idn_host_becomes_punycode(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://News_Desk.Example.com/story", "http://news_desk.example.com/story"),
        ("http://_dmarc.example.com/", "http://_dmarc.example.com/"),
        ("https://news_desk.bücher.de/x", "https://news_desk.xn--bcher-kva.de/x"),
        (
            "http://ｅｘａｍｐｌｅ．ｃｏｍ/",
            "http://example.com/",
        ),  # full-width letters and dot, as browsers map them
    ],
)
def test_host_with_underscores_is_kept_as_browsers_keep_it(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected
    assert normalize_url(expected) == expected


def test_ipv6_host_keeps_brackets_and_port() -> None:
    assert normalize_url("http://[::1]:8080/x") == "http://[::1]:8080/x"


def test_normalization_is_idempotent() -> None:
    for url in (
        "HTTP://Example.COM:80/a/./b/../c?x=1&utm_source=t#f",
        "https://bücher.de/a b/?q=1",
        "https://example.com/%7Euser/?a=1&b=2",
    ):
        once = normalize_url(url)
        assert normalize_url(once) == once


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "ftp://example.com/file",
        "file:///etc/passwd",
        "mailto:desk@example.com",
        "javascript:alert(1)",
        "data:text/html,hi",
        "example.com/no-scheme",
        "http:///path-only",
        "http://",
        "https://:443/x",
        "http://example.com/a\x00b",
        "http://example.com/a\nb",
        "http://example.com/\x7f",
        "http://exa\tmple.com/",
        "http://example.com:99999/",
        "http://example.com:abc/",
        "http://example.com:-1/",
        "http://a b.com/",
        "http://xn--zz.example/",  # not a valid A-label
        "http://-news.example/",
        "http://news..example/",
        "http://bü_cher.example/",  # IDNA has no '_' inside an international label
        "https://example.com/" + "a" * 5000,
    ],
)
def test_rejected(raw: str) -> None:
    with pytest.raises(InvalidURL):
        normalize_url(raw)


def test_invalid_url_is_a_usage_error_with_a_message() -> None:
    with pytest.raises(UsageError) as info:
        normalize_url("gopher://example.com/")
    assert "gopher://example.com/" in str(info.value)


def test_long_but_reasonable_url_accepted() -> None:
    url = "https://example.com/" + "a" * 2000
    assert normalize_url(url) == url


# --- page_dir -------------------------------------------------------------------------------------

PAGE_DIR = re.compile(r"^pages/[^/]+/[a-z0-9._-]+-[0-9a-f]{32}$")
WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)
WINDOWS_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f]')

TRICKY_URLS = [
    "https://example.com/",
    "https://example.com/2026/11/20/council-votes-to-close-bridge.html",
    "https://example.com/a/../..",
    "https://example.com/%2e%2e/%2e%2e/etc",
    "https://example.com/..%2f..%2fetc",
    "https://example.com/con",
    "https://example.com/com1?aux=1",
    "https://con/",
    "https://nul.example/",
    "https://aux.com/lpt1",
    "http://127.0.0.1:8080/x",
    "http://[::1]:8080/x",
    'https://example.com/?q=a:b|c<d>e*f"g',
    "https://example.com/ünïcödé/pfad",
    "https://xn--bcher-kva.de/buch",
    "https://example.com/" + "a" * 4000,
    "https://example.com/" + "/..." * 1000,
    "https://example.com/" + "%2F" * 1300,
    "https://" + ".".join(["a" * 60] * 4) + "/" + "b" * 3000,
]


@pytest.mark.parametrize("url", TRICKY_URLS)
def test_page_dir_is_safe(url: str) -> None:
    folder = page_dir(normalize_url(url))
    text = folder.as_posix()
    assert PAGE_DIR.match(text), text
    assert (
        len(text) <= 200
    )  # with `/article.md`, 211: under Windows' 260 for an archive path of up to 48
    for part in folder.parts:
        assert part not in ("", ".", "..")
        assert not WINDOWS_RESERVED.match(part), part
        assert not WINDOWS_FORBIDDEN.search(part), part
        assert not part.startswith(" ") and not part.endswith(" ")
        assert len(part) <= 120


def test_page_dir_shape_is_readable() -> None:
    folder = page_dir(normalize_url("https://www.example.com/2026/11/20/Council-Votes.html"))
    assert folder.parts[0] == "pages"
    assert folder.parts[1] == "www.example.com"
    assert re.fullmatch(r"2026-11-20-council-votes\.html-[0-9a-f]{32}", folder.parts[2])


def test_page_dir_keeps_port_apart() -> None:
    a = page_dir(normalize_url("http://127.0.0.1:8080/x"))
    b = page_dir(normalize_url("http://127.0.0.1:8081/x"))
    assert a.parts[1] != b.parts[1]
    assert "8080" in a.parts[1]


def test_page_dir_is_stable() -> None:
    url = normalize_url("https://example.com/story?id=7")
    assert page_dir(url) == page_dir(url)
    assert page_dir(url) == page_dir(
        normalize_url("HTTPS://EXAMPLE.com:443/story?id=7&utm_source=x#top")
    )


def test_same_slug_different_folders() -> None:
    urls = [
        "https://example.com/a/b",
        "https://example.com/a-b",
        "https://example.com/a/b/",
        "https://example.com/A/B",
        "https://example.com/a?b",
        "https://example.com/a%20b",
        "https://example.com/a/%20/b",
        "https://example.com/a:b",
        "https://example.com/" + "x" * 300 + "1",
        "https://example.com/" + "x" * 300 + "2",
    ]
    assert len({normalize_url(u) for u in urls}) == len(urls)
    folders = [page_dir(normalize_url(u)) for u in urls]
    assert len(set(folders)) == len(urls)
    # several of them share the readable part; only the hash tells them apart
    slugs = {f.name.rsplit("-", 1)[0] for f in folders}
    assert len(slugs) == 2  # "a-b" and the long run of x


def test_long_host_component_has_no_trailing_dot() -> None:
    host = "a" * 63 + "." + "b" * 35 + "." + "c" * 20 + ".com"  # the 100th char is a dot
    folder = page_dir(normalize_url(f"https://{host}/x"))
    for part in folder.parts:
        assert not part.endswith("."), part


@pytest.mark.parametrize("path", ["/con.html", "/NUL.txt", "/aux.2026.html", "/com1.php"])
def test_slug_with_reserved_stem_is_escaped(path: str) -> None:
    folder = page_dir(normalize_url("https://example.com" + path))
    for part in folder.parts:
        assert not WINDOWS_RESERVED.match(part), part


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a/%2E%2E/b",
        "https://example.com/a/%2e/b",
        "https://example.com/%2e%2e/%2e%2e/etc",
    ],
)
def test_percent_encoded_dot_segments(url: str) -> None:
    once = normalize_url(url)
    assert "/../" not in once and "/./" not in once
    assert normalize_url(once) == once


def test_a_folder_is_named_by_128_bits_of_the_url_hash_and_older_archives_by_32() -> None:
    url = normalize_url("https://www.example.com/2026/11/20/Council-Votes.html")
    digest = hashlib.sha256(url.encode()).hexdigest()
    assert page_dir(url).name.endswith("-" + digest[:32])
    assert legacy_page_dir(url).name.endswith("-" + digest[:8])
    assert page_dir(url).parent == legacy_page_dir(url).parent
    assert names_folder(url, page_dir(url).as_posix()) and names_folder(
        url, legacy_page_dir(url).as_posix()
    )
    other = normalize_url("https://www.example.com/2026/11/20/council-votes.html?x=1")
    assert not names_folder(other, page_dir(url).as_posix()) and not names_folder(
        other, legacy_page_dir(url).name
    )


def test_a_remembered_normalization_answers_as_the_first() -> None:
    # normalize_url remembers its answers (pages repeat their links): a refusal is never remembered
    # as an answer, and a URL asked again gets the same identity.
    for _ in range(2):
        with pytest.raises(InvalidURL):
            normalize_url("http://exa mple.com:99999/")
        assert normalize_url("HTTP://Example.COM/a/../b?utm_source=x") == "http://example.com/b"
