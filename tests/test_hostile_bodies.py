"""Bodies and headers that are not what they claim: wrong, missing or contradictory charsets and
invalid byte sequences are decoded sensibly; binary, deeply nested or malformed bodies have a
defined outcome; enormous headers fail the fetch with a clear reason, large but legal ones are
archived whole.

Each test runs the real command (in-process through typer's runner, or as a subprocess where memory
is measured) against `support.hostile.Hostile` on loopback, and checks what a user sees: the outcome
in `--json`, the exit code, the files of the archive and the WARC records read back with warcio.
"""

from __future__ import annotations

import random

import pytest
from support.archives import article, folder, meta
from support.hostile import Conn, page, response
from support.userview import STORY, archiver, assert_nothing_written
from support.warcs import responses
from warcio.archiveiterator import ArchiveIterator

TEXT = (
    "The café in Zürich served a naïve crème brûlée to the jury, and the chef was “quoted” in full."
)
WORDS = ("café", "Zürich", "naïve", "crème brûlée", "“quoted”")


CHARSETS = {
    # id: (charset in the header, charset in <meta>, how the body is really encoded)
    "header-utf8-body-cp1252": ("utf-8", None, "cp1252"),
    "header-latin1-body-utf8": ("ISO-8859-1", None, "utf-8"),
    "none-body-utf8": (None, None, "utf-8"),
    "none-body-cp1252": (None, None, "cp1252"),
    "meta-only": (None, "windows-1252", "cp1252"),
    "header-right-meta-wrong": ("utf-8", "iso-8859-1", "utf-8"),
    "header-wrong-meta-right": ("utf-8", "windows-1252", "cp1252"),
    "header-latin1-meta-utf8": ("iso-8859-1", "utf-8", "utf-8"),
    "unknown-label": ("klingon-8", "x-no-such-thing", "utf-8"),
    "non-text-codecs": ("zlib", "base64", "utf-8"),
    "codecs-that-cannot-replace": ("idna", "undefined", "cp1252"),
    "utf16-label-on-8-bit-body": ("utf-16", None, "utf-8"),
}


@pytest.mark.parametrize("case", list(CHARSETS))
def test_wrong_missing_or_contradictory_charset_is_decoded_sensibly(server, root, case):
    header, meta_charset, encoding = CHARSETS[case]
    head = f'<meta charset="{meta_charset}">' if meta_charset else ""
    body = page("Dessert trial", [TEXT, *STORY], head=head).encode(encoding)
    server.answer(
        "/page",
        body,
        headers=[("Content-Type", f"text/html; charset={header}" if header else "text/html")],
    )
    run = archiver(root, "add", server.url("/page"), "--json")
    assert run.code == 0 and run.result(server.url("/page"))["outcome"] == "new"
    text = article(root, server.url("/page"))
    for word in WORDS:
        assert word in text, (word, text)


def test_invalid_byte_sequences_are_replaced_not_fatal(server, root):
    broken = [
        f"{p} \udcff\udcfe truncated \udce2\udc80 end." for p in STORY
    ]  # lone bytes and a cut sequence
    body = page("Broken bytes", [TEXT, *broken]).encode("utf-8", errors="surrogateescape")
    server.answer("/page", body)
    run = archiver(root, "add", server.url("/page"), "--json")
    assert run.code == 0
    text = article(root, server.url("/page"))
    for word in (*WORDS, "ferry terminal", "truncated", "end."):
        assert word in text
    assert "\ufffd" in text  # what could not be read is marked, not silently dropped


BINARY = random.Random(7).randbytes(50_000)
DEEP = (
    b"<html><head><title>Deep</title></head><body>"
    + b"<div>" * 100_000
    + b"<p>Lost in the depths.</p></body>"
)
MALFORMED = (
    b"<html><head><title>Broken markup</title><body><div><div><article><h1>Broken markup</h2>"
    b"<p>The harbour authority approved the new ferry terminal on Tuesday <b>after a <i>long</b> public"
    b" inquiry.<p>Residents said the plan would bring heavy traffic to the old town.</table></b></i>"
    b"</div></div></div></span><p class=unquoted id=a id=a>The review comes first.</p><!-- never closed"
)
ODD_BODIES = {
    # id: (raw answer, whether the page keeps text, words that text must hold: none means an empty
    # text)
    "binary-as-html": (response("200 OK", [("Content-Type", "text/html")], BINARY), False, ()),
    "malformed-html": (
        response("200 OK", [("Content-Type", "text/html")], MALFORMED),
        True,
        ("# Broken markup\n", "after a long public inquiry.", "heavy traffic to the old town."),
    ),
    "nul-in-html": (
        response(
            "200 OK",
            [("Content-Type", "text/html")],
            page("Nul", STORY).replace("Tuesday", "Tues\0day").encode(),
        ),
        True,
        ("heavy traffic",),
    ),
    # The parser stops at a depth of 256: the headline is kept, text nested deeper is not (the WARC
    # has it).
    "deep-nesting": (response("200 OK", [("Content-Type", "text/html")], DEEP), True, ("# Deep",)),
    "no-headers-at-all": (
        b"HTTP/1.1 200 OK\r\n\r\n" + page("Bare", STORY).encode(),
        True,
        ("heavy traffic",),
    ),
}


@pytest.mark.parametrize("case", list(ODD_BODIES))
def test_odd_bodies_have_a_defined_outcome(server, root, case):
    raw, has_text, words = ODD_BODIES[case]
    server.routes["/odd"] = lambda conn: conn.send(raw)
    url = server.url("/odd")
    run = archiver(root, "add", url, "--json")
    assert run.code == 0 and run.result(url)["outcome"] == "new"
    [record] = responses(root / "warcs", url)
    assert record.payload == raw.split(b"\r\n\r\n", 1)[1]
    page_meta = meta(root, url)
    assert (folder(root, url) / "article.md").exists() == has_text
    if not has_text:  # kept like any binary: its digest and length stand for the content
        assert page_meta["content_length"] == len(record.payload) and page_meta["content_digest"]
        return
    text = article(root, url)
    assert all(word in text for word in words) if words else text == "\n", text


def many_headers(conn: Conn) -> None:
    lines = b"".join(
        b"X-Filler-%05d: %s\r\n" % (i, b"v" * 80) for i in range(2_000)
    )  # 200 KB, 2,000 lines
    conn.send(b"HTTP/1.1 200 OK\r\n" + lines + b"Content-Length: 2\r\n\r\nok")


def long_header_line(conn: Conn) -> None:
    conn.send(
        b"HTTP/1.1 200 OK\r\nX-Huge: " + b"h" * 1_000_000 + b"\r\nContent-Length: 2\r\n\r\nok"
    )


def large_but_legal_headers(conn: Conn) -> None:
    lines = b"".join(
        b"Set-Cookie: c%02d=%s\r\n" % (i, b"v" * 2_200) for i in range(90)
    )  # 200 KB, 90 lines
    conn.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
        + lines
        + b"Connection: close\r\n\r\n"
        + page("Cookies", STORY).encode()
    )


@pytest.mark.parametrize(
    ("script", "error"),
    [
        (many_headers, "the server sent more than 100 headers"),
        (long_header_line, "header line longer than 65536 bytes"),
    ],
    ids=["200KB-of-header-lines", "1MB-header-line"],
)
def test_enormous_headers_fail_the_fetch_with_a_clear_reason(server, root, script, error):
    server.routes["/headers"] = script
    url = server.url("/headers")
    run = archiver(root, "add", url, "--json")
    assert run.code == 1
    result = run.result(url)
    assert result["outcome"] == "failed" and error in result["error"], result["error"]
    assert_nothing_written(root, url)


def test_large_but_legal_headers_are_archived_whole(server, root):
    server.routes["/cookies"] = large_but_legal_headers
    url = server.url("/cookies")
    run = archiver(root, "add", url, "--json")
    assert run.code == 0 and run.result(url)["outcome"] == "new"
    with (root / meta(root, url)["warc"]["file"]).open("rb") as f:
        [http] = [r.http_headers for r in ArchiveIterator(f) if r.rec_type == "response"]
    cookies = [v for k, v in http.headers if k == "Set-Cookie"]
    assert len(cookies) == 90 and cookies[-1] == "c89=" + "v" * 2_200
    assert "heavy traffic" in article(root, url)
