"""Every guarded entry for untrusted input, fed adversarial strings: it answers with a value or
None, never raises.

What a server or a person controls enters through `archiver.untrusted` (references, delays, dates,
lines of a text file, text shown on a terminal), `urls.normalize_url` (whose one error is
InvalidURL), `payload.decode_text` (bytes in any charset) and `links.cited` (the links of a page).
"""

from __future__ import annotations

import contextlib
import string
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from archiver import untrusted
from archiver.capture.payload import decode_text
from archiver.errors import InvalidURL
from archiver.text.links import cited
from archiver.urls import normalize_url

BASE = "https://news.example/2026/11/story"
# The pieces hostile values are made of: brackets and colons (IPv6 literals), percent signs, dots,
# controls, Unicode digits and letters that look like ASCII, bidirectional overrides, and plain URL
# text.
PIECES = [
    "http://",
    "https://",
    "//",
    "[",
    "]",
    "::1",
    "[link]",
    ":",
    "99999",
    "@",
    "%",
    "%zz",
    "%2e",
    "..",
    "/",
    "?",
    "#",
    "\x00",
    "\x1b[2J",
    "\x1b]0;t\x07",
    "\x9b",
    "\r\n",
    "\t",
    " ",
    "²",
    "٣",
    "é",
    "\u202e",
    "\ud800",
    "xn--",
    "-",
    "_",
    "a" * 70,
    "example.com",
    "javascript:",
    "mailto:",
    "\\",
    "\u3002",
    "０",
    "ﬀ",
]
hostile = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=12).map(
    "".join
)
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(hostile, hostile)
@example("\r\nhttp://http://", "")  # an empty reference is its base, which must be clean too
def test_a_reference_resolves_to_a_fetchable_url_or_none(base, href):
    for start in (base, BASE):
        target = untrusted.reference(start, href)
        assert target is None or (target.startswith(("http://", "https://")) and "#" not in target)
        if target is not None:
            normalize_url(target)  # a target is always a URL we could fetch


@FAST
@given(hostile)
def test_a_url_is_normalized_or_refused_with_invalid_url(text):
    with contextlib.suppress(InvalidURL):
        assert normalize_url(text).startswith(("http://", "https://"))


@FAST
@given(
    st.one_of(
        st.none(),
        hostile,
        st.integers().map(str),
        st.datetimes().map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S GMT")),
    )
)
def test_a_delay_is_a_bounded_number_of_seconds_or_none(value):
    seconds = untrusted.delay(value, now=datetime(2026, 11, 30, tzinfo=UTC))
    assert seconds is None or 0 <= seconds <= untrusted.MAX_SECONDS


@FAST
@given(st.one_of(st.none(), hostile))
def test_a_date_is_an_aware_datetime_or_none(value):
    when = untrusted.http_date(value)
    assert when is None or when.tzinfo is not None


@FAST
@given(st.binary(max_size=200))
def test_lines_of_a_text_file_are_text_or_none(data):
    for line in untrusted.lines(data):
        assert line is None or ("\n" not in line and isinstance(line, str))


@FAST
@given(hostile)
def test_printable_text_holds_no_terminal_control(text):
    shown = untrusted.printable(text)
    assert not any(c in shown for c in "\x1b\x9b\x07\x00\r\u202e")
    assert all(c in "\t\n" or not (ord(c) < 32 or 0x7F <= ord(c) <= 0x9F) for c in shown)


@FAST
@given(st.binary(max_size=300), st.one_of(st.none(), hostile))
def test_bytes_in_any_charset_decode_to_text(data, content_type):
    assert isinstance(decode_text(data, content_type), str)


@FAST
@given(
    st.lists(st.tuples(hostile, hostile), max_size=8),
    st.sampled_from([BASE, "http://[::1]:8080/", "http://h/"]),
)
def test_the_links_of_a_page_are_normalized_urls_whatever_the_hrefs(hrefs, base):
    for link in cited(hrefs, base):
        assert normalize_url(link.url) == link.url


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("²", None),
        ("٣", None),
        ("-5", None),
        ("1e3", None),
        ("", None),
        ("999999999999", untrusted.MAX_SECONDS),
        ("Mon, 30 Nov 2026 00:01:00 GMT", 60.0),
        ("Sun, 29 Nov 2026 00:00:00 GMT", 0.0),
    ],
)
def test_delays_as_servers_write_them(value, seconds):
    assert untrusted.delay(value, now=datetime(2026, 11, 30, tzinfo=UTC)) == seconds


def test_printable_keeps_text_and_drops_sequences():
    assert (
        untrusted.printable("HTTP 500 \x1b]0;pwned\x07\x1b[2J\x1b[31mOops\x1b[0m é\tok\n")
        == "HTTP 500 Oops é\tok\n"
    )
    assert untrusted.printable("abc\u202edef\x9b31m") == "abcdef31m"
    assert set(untrusted.printable(string.printable)) == set(string.printable) - set("\r\x0b\x0c")


def test_lines_keep_the_good_lines_and_mark_the_bad_one():
    data = (
        "\ufeffhttps://a.example/1\r\n".encode()
        + b"https://b.example/caf\xe9\n\nhttps://c.example/\n"
    )
    assert untrusted.lines(data) == ["https://a.example/1", None, "", "https://c.example/"]
