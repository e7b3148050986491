"""Hostile servers and inputs: whatever a server sends, or a page points at, nothing archived is lost or corrupted.

Each test runs the real command (in-process through typer's runner, or as a subprocess where memory is
measured) against `hostile.Hostile` on loopback, and checks what a user sees: the outcome in `--json`, the exit
code, the files of the archive and the WARC records read back with warcio.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import random
import re
import socket
import ssl
import threading
import time
from pathlib import Path

import pytest
import requests
import trustme
from conftest import git
from hostile import Conn, Hostile, endless, not_found, page, response
from userview import (
    STORY,
    archiver,
    article,
    assert_nothing_written,
    configure,
    folder,
    meta,
    redirect,
    responses,
    responses_of_checks,
    run_measured,
    streamed,
)
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader

from archiver.addresses import Pin, pinned
from archiver.transport import GuardedAdapter

# --- slow, endless and compressed bodies -----------------------------------------------------------------


def slowloris_headers(conn: Conn) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\n")
    conn.trickle(b"X-Padding: " + b"a" * 100, 0.5)


def slowloris_body(conn: Conn) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<html><body><p>")
    conn.trickle(b"a" * 1000, 0.5)


@pytest.mark.parametrize("script", [slowloris_headers, slowloris_body], ids=["headers", "body"])
def test_slowloris_is_cut_at_the_deadline_and_the_run_goes_on(server, root, script):
    server.routes["/slow"] = script
    server.answer("/fine", page("Terminal approved", STORY).encode())
    # One fetch at a time on this host: the good page waits for the slow one, which must not hold it long.
    configure(root, deadline=1.5, read_timeout=2.0, per_host=1)
    started = time.monotonic()
    run = archiver(root, "add", server.url("/slow"), server.url("/fine"), "--json")
    elapsed = time.monotonic() - started
    assert run.code == 1
    slow = run.result(server.url("/slow"))
    assert slow["outcome"] == "failed" and "deadline of 1.5s exceeded" in slow["error"]
    assert run.result(server.url("/fine"))["outcome"] == "new"
    assert elapsed < 1.5 + 3
    assert not folder(root, server.url("/slow")).exists()
    assert "ferry terminal" in article(root, server.url("/fine"))


def test_a_tls_handshake_trickled_a_byte_at_a_time_is_cut_at_the_deadline(root):
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle() -> None:  # a TLS record header announcing 16 KB of handshake, then a byte every 0.3 s
        conn, _ = listener.accept()
        with conn, contextlib.suppress(OSError):
            conn.sendall(b"\x16\x03\x03\x40\x00")
            while not stop.wait(0.3):
                conn.sendall(b"\x00")

    threading.Thread(target=trickle, daemon=True).start()
    url = f"https://127.0.0.1:{listener.getsockname()[1]}/story"
    configure(root, deadline=1.5, connect_timeout=10.0, read_timeout=30.0, robots=False)  # socket timeouts never fire
    try:
        started = time.monotonic()
        run = archiver(root, "add", url, "--json")
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        listener.close()
    assert run.code == 1
    result = run.result(url)
    assert result["outcome"] == "failed" and "deadline of 1.5s exceeded" in result["error"]
    assert elapsed < 1.5 + 3


def test_slowloris_robots_txt_is_cut_within_the_pages_deadline(server, root):
    server.routes["/robots.txt"] = slowloris_headers
    server.answer("/fine", page("Terminal approved", STORY).encode())
    configure(root, deadline=1.5, read_timeout=2.0)
    started = time.monotonic()
    run = archiver(root, "add", server.url("/fine"), "--json")
    # robots.txt is part of the page's deadline: a slow site costs one deadline per page, not two.
    assert time.monotonic() - started < 1.5 + 3
    result = run.result(server.url("/fine"))
    assert run.code == 1 and result["outcome"] == "failed" and "deadline of 1.5s exceeded" in result["error"]
    assert server.paths() == ["/robots.txt"]
    # An unreadable robots.txt restricts nothing (as when it cannot be reached): the next check archives the page.
    server.answer("/robots.txt", b"", status="404 Not Found")
    assert archiver(root, "snapshot", server.url("/fine"), "--json").result(server.url("/fine"))["outcome"] == "new"


HTML_HEAD = b"<html><head><title>Endless minutes</title></head><body><article><h1>Endless minutes</h1>"
MINUTES = b"<p>The council met again and the minutes of the previous meeting were read aloud in full.</p>\n" * 40


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


ENDLESS = {
    "chunked": endless(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
                       + chunk(HTML_HEAD), chunk(MINUTES)),
    "close-delimited": endless(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
                               + HTML_HEAD, MINUTES),
    "huge-content-length": endless(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 10000000000\r\n"
                                   b"\r\n" + HTML_HEAD, MINUTES),
}


@pytest.mark.parametrize("framing", list(ENDLESS))
def test_endless_body_is_cut_at_the_size_cap(server, root, framing):
    server.routes["/minutes"] = ENDLESS[framing]
    url = server.url("/minutes")
    configure(root, max_body_bytes=300_000)
    started = time.monotonic()
    run = archiver(root, "add", url, "--json")
    assert run.code == 0 and run.result(url)["outcome"] == "new"
    assert time.monotonic() - started < 5
    assert meta(root, url)["truncated"] == "length"
    [record] = responses(root / "warcs", url)
    assert record.headers["WARC-Truncated"] == "length"
    # Stored as read: a chunked body with its framing, cut where the payload kept reached the cap.
    payload = ChunkedDataReader(io.BytesIO(record.payload)).read() if framing == "chunked" else record.payload
    assert len(payload) == 300_000 and payload.startswith(HTML_HEAD)
    assert (b"\r\n%x\r\n" % len(MINUTES) in record.payload) == (framing == "chunked")
    assert "minutes of the previous meeting" in article(root, url)



def test_gzip_bomb_is_decompressed_within_bounds(server, root):
    lead = gzip.compress(b"<html><head><title>Bomb</title></head><body><article><h1>Bomb</h1><p>"
                         + " ".join(STORY).encode() + b"</p>")
    padding = gzip.compress(b" " * 10_000_000, compresslevel=9)  # ~10 KB that inflate to 10 MB
    bomb = lead + padding * 200  # 2 GB once inflated: gzip bodies may hold many members
    assert len(bomb) < 3_000_000
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")]
    server.answer("/bomb", bomb, headers=headers)
    server.answer("/fine", page("Terminal approved", STORY).encode())
    configure(root, max_decoded_bytes=5_000_000)

    code, _out, baseline = run_measured(root, "add", server.url("/fine"))
    assert code == 0
    code, out, peak = run_measured(root, "add", server.url("/bomb"), "--json")

    assert code == 0 and json.loads(out)["results"][0]["outcome"] == "new"
    assert peak - baseline < 100, f"peak RSS {peak:.0f} MB against {baseline:.0f} MB for a plain page"
    assert "ferry terminal" in article(root, server.url("/bomb"))
    [record] = responses(root / "warcs", server.url("/bomb"))
    assert record.payload == bomb  # the evidence is the bytes as sent, still compressed


def test_show_raw_of_a_gzip_bomb_streams_it_in_bounded_memory(server, root):
    lead = b"<html><head><title>Bomb</title></head><body><article><h1>Bomb</h1><p>" + " ".join(STORY).encode()
    bomb = gzip.compress(lead) + gzip.compress(b" " * 10_000_000, compresslevel=9) * 30  # 300 MB inflated
    server.answer("/bomb", bomb, headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip")])
    configure(root, max_decoded_bytes=5_000_000)
    assert archiver(root, "add", server.url("/bomb")).code == 0

    *_, baseline = streamed(root, "log", server.url("/bomb"))
    code, head, size, peak = streamed(root, "show", "--raw", server.url("/bomb"), keep=len(lead))

    assert code == 0
    assert head == lead and size == len(lead) + 300_000_000  # every member inflated, content-coding removed
    assert peak - baseline < 50, f"peak RSS {peak:.0f} MB for 300 MB of output, {baseline:.0f} MB for `log`"



# --- what the body says about itself -----------------------------------------------------------------------

TEXT = "The café in Zürich served a naïve crème brûlée to the jury, and the chef was “quoted” in full."
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
    server.answer("/page", body, headers=[("Content-Type", f"text/html; charset={header}" if header
                                           else "text/html")])
    run = archiver(root, "add", server.url("/page"), "--json")
    assert run.code == 0 and run.result(server.url("/page"))["outcome"] == "new"
    text = article(root, server.url("/page"))
    for word in WORDS:
        assert word in text, (word, text)


def test_invalid_byte_sequences_are_replaced_not_fatal(server, root):
    broken = [f"{p} \udcff\udcfe truncated \udce2\udc80 end." for p in STORY]  # lone bytes and a cut sequence
    body = page("Broken bytes", [TEXT, *broken]).encode("utf-8", errors="surrogateescape")
    server.answer("/page", body)
    run = archiver(root, "add", server.url("/page"), "--json")
    assert run.code == 0
    text = article(root, server.url("/page"))
    for word in (*WORDS, "ferry terminal", "truncated", "end."):
        assert word in text
    assert "\ufffd" in text  # what could not be read is marked, not silently dropped


# --- bodies and headers that are not what they claim ----------------------------------------------------------

BINARY = random.Random(7).randbytes(50_000)
DEEP = b"<html><head><title>Deep</title></head><body>" + b"<div>" * 100_000 + b"<p>Lost in the depths.</p></body>"
MALFORMED = (b"<html><head><title>Broken markup</title><body><div><div><article><h1>Broken markup</h2>"
             b"<p>The harbour authority approved the new ferry terminal on Tuesday <b>after a <i>long</b> public"
             b" inquiry.<p>Residents said the plan would bring heavy traffic to the old town.</table></b></i>"
             b"</div></div></div></span><p class=unquoted id=a id=a>The review comes first.</p><!-- never closed")
ODD_BODIES = {
    # id: (raw answer, whether the page keeps text, words that text must hold: none means an empty text)
    "binary-as-html": (response("200 OK", [("Content-Type", "text/html")], BINARY), False, ()),
    "malformed-html": (response("200 OK", [("Content-Type", "text/html")], MALFORMED), True,
                       ("# Broken markup\n", "after a long public inquiry.", "heavy traffic to the old town.")),
    "nul-in-html": (response("200 OK", [("Content-Type", "text/html")],
                             page("Nul", STORY).replace("Tuesday", "Tues\0day").encode()), True,
                    ("heavy traffic",)),
    # The parser stops at a depth of 256: the headline is kept, text nested deeper is not (the WARC has it).
    "deep-nesting": (response("200 OK", [("Content-Type", "text/html")], DEEP), True, ("# Deep",)),
    "no-headers-at-all": (b"HTTP/1.1 200 OK\r\n\r\n" + page("Bare", STORY).encode(), True, ("heavy traffic",)),
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
    lines = b"".join(b"X-Filler-%05d: %s\r\n" % (i, b"v" * 80) for i in range(2_000))  # 200 KB, 2,000 lines
    conn.send(b"HTTP/1.1 200 OK\r\n" + lines + b"Content-Length: 2\r\n\r\nok")


def long_header_line(conn: Conn) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\nX-Huge: " + b"h" * 1_000_000 + b"\r\nContent-Length: 2\r\n\r\nok")


def large_but_legal_headers(conn: Conn) -> None:
    lines = b"".join(b"Set-Cookie: c%02d=%s\r\n" % (i, b"v" * 2_200) for i in range(90))  # 200 KB, 90 lines
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + lines + b"Connection: close\r\n\r\n"
              + page("Cookies", STORY).encode())


@pytest.mark.parametrize(("script", "error"), [(many_headers, "the server sent more than 100 headers"),
                                               (long_header_line, "header line longer than 65536 bytes")],
                         ids=["200KB-of-header-lines", "1MB-header-line"])
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


# --- redirects and broken connections --------------------------------------------------------------------------



@pytest.mark.parametrize("kind", ["loop", "too-many"])
def test_redirect_loop_and_too_many_redirects_fail_with_every_hop_recorded(server, root, kind):
    if kind == "loop":
        server.routes["/a"], server.routes["/b"] = redirect("/b", "301 Moved Permanently"), redirect("/a")
        hops, error = ["/a", "/b"], "redirect loop at"
    else:
        for i in range(10):
            server.routes[f"/r{i}"] = redirect(f"/r{i + 1}")
        configure(root, max_redirects=3)
        hops, error = ["/r0", "/r1", "/r2", "/r3"], "more than 3 redirects"
    url = server.url(hops[0])
    run = archiver(root, "add", url, "--json")
    assert run.code == 1
    result = run.result(url)
    assert result["outcome"] == "failed" and error in result["error"]
    assert_nothing_written(root, url)
    # The answers are evidence of the check: kept out of git, in .archiver/checks/, one record per hop.
    hop_records = responses_of_checks(root)
    assert [r.uri for r in hop_records] == [server.url(h) for h in hops]
    assert all(r.http_status in ("301", "302") for r in hop_records)
    [listed] = json.loads(archiver(root, "list", "--json").stdout)
    assert listed["status"] == "failed" and error in listed["error"]



def reset_mid_body(conn: Conn) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n" + HTML_HEAD + MINUTES)
    time.sleep(0.05)
    conn.reset()


def close_mid_length(conn: Conn) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n" + HTML_HEAD + MINUTES)


def close_mid_chunked(conn: Conn) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
              + chunk(HTML_HEAD) + chunk(MINUTES) + b"%x\r\n" % 5000 + b"cut")


BROKEN = {"reset-mid-body": reset_mid_body, "closed-mid-body": close_mid_length,
          "closed-mid-chunk": close_mid_chunked, "closed-without-answer": lambda conn: None,
          "reset-without-answer": lambda conn: conn.reset(), "garbage-status-line": lambda conn: conn.send(
              b"\x16\x03\x01 this is no HTTP\r\n\r\n")}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_connection_fails_and_writes_nothing(server, root, case):
    server.routes["/broken"] = BROKEN[case]
    url = server.url("/broken")
    run = archiver(root, "add", url, "--json")
    assert run.code == 1
    result = run.result(url)
    assert result["outcome"] == "failed" and result["error"]
    assert_nothing_written(root, url)
    assert responses_of_checks(root) == []  # no answer came: no evidence of one either


def test_broken_recheck_keeps_the_archived_version_intact(server, root):
    server.answer("/story", page("Terminal approved", STORY).encode())
    url = server.url("/story")
    assert archiver(root, "add", url).code == 0
    before = {p.name: p.read_bytes() for p in folder(root, url).iterdir()}
    head = git(root, "rev-parse", "HEAD")
    warcs = sorted((root / "warcs").rglob("*.warc.gz"))
    server.routes["/story"] = reset_mid_body
    run = archiver(root, "snapshot", url, "--json")
    assert run.code == 1 and run.result(url)["outcome"] == "failed"
    assert {p.name: p.read_bytes() for p in folder(root, url).iterdir()} == before
    assert git(root, "rev-parse", "HEAD") == head and git(root, "status", "--porcelain") == ""
    assert sorted((root / "warcs").rglob("*.warc.gz")) == warcs and not list(root.rglob("*.open"))


# --- TLS --------------------------------------------------------------------------------------------------------


def self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server context whose certificate signs itself (a CA's own certificate served as the leaf)."""
    ca = trustme.CA()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    ca.cert_pem.write_to_path(str(cert))
    ca.private_key_pem.write_to_path(str(key))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_self_signed_certificate_is_a_clear_tls_error_unless_the_host_is_allowed(tmp_path, root):
    server = Hostile(tls=self_signed(tmp_path)).start()
    try:
        server.answer("/story", page("Terminal approved", STORY).encode())
        server.answer("/private/memo", page("Memo", STORY).encode())
        server.answer("/robots.txt", b"User-agent: *\nDisallow: /private/\n", headers=[("Content-Type", "text/plain")])
        story, memo = server.url("/story"), server.url("/private/memo")

        refused = archiver(root, "add", story, "--json")
        assert refused.code == 1
        error = refused.result(story)["error"]
        assert error.startswith("TLS error:") and "self-signed certificate" in error, error
        assert_nothing_written(root, story)

        configure(root, insecure_tls_hosts=["127.0.0.1"])
        allowed = archiver(root, "add", story, memo, "--json")
        assert allowed.code == 0
        assert allowed.result(story)["outcome"] == "new" and "ferry terminal" in article(root, story)
        # robots.txt is read over the same accepted connection, and obeyed
        assert allowed.result(memo)["outcome"] == "skipped" and "robots.txt" in allowed.result(memo)["error"]
        assert [r.uri for r in responses(root / "warcs", story)] == [story]
    finally:
        server.stop()


@pytest.mark.parametrize("value", [["https://intranet.example"], ["intranet.example:8443"], ["two words"], [42],
                                   "intranet.example"])
def test_insecure_tls_hosts_is_validated(root, value):
    (root / "archiver.toml").write_text((root / "archiver.toml").read_text().replace(
        "insecure_tls_hosts = []", f"insecure_tls_hosts = {json.dumps(value)}"))
    run = archiver(root, "snapshot")
    assert run.code == 2
    [line] = run.stderr.splitlines()
    assert line.startswith("archiver: error:") and "fetch.insecure_tls_hosts" in line


# --- URLs -------------------------------------------------------------------------------------------------------

UNUSABLE_URLS = {
    "ftp": "ftp://example.com/file.txt",
    "file": "file:///etc/passwd",
    "javascript": "javascript:alert(document.cookie)",
    "data": "data:text/html,<h1>hi</h1>",
    "no-scheme": "example.com/story",
    "space-in-host": "http://exa mple.com/",
    "hyphen-host": "http://-bad-.example/",
    "empty-label": "http://a..example/",
    "long-label": "http://" + "a" * 64 + ".example/",
    "bad-port": "http://example.com:99999/",
    "bad-ipv6": "http://[::1/",
    "control-char": "http://example.com/a\x00b",
    "5000-chars": "https://example.com/" + "a" * 5000,
}


@pytest.mark.parametrize("case", list(UNUSABLE_URLS))
def test_unusable_url_is_rejected_with_one_line(root, case):
    before = (root / "urls.txt").read_text()
    run = archiver(root, "add", UNUSABLE_URLS[case])
    assert run.code == 2
    [line] = run.stderr.splitlines()
    assert line.startswith("archiver: error:") and len(line) < 200
    assert (root / "urls.txt").read_text() == before and not (root / "pages").exists()


ODD_PATHS = ["/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2E%2E/etc/shadow", "/..%2f..%2f..%2fetc%2fpasswd",
             "/%5c..%5c..%5cwindows%5cwin.ini", "/CON", "/aux.html", "/com1.txt/lpt9", "/a:b|c*d%22e<f>g",
             "/.git/config", "/%00%0a%0d", "/~user/.ssh/id_rsa", "/a/./b/../../c//d", "/" + "é" * 300, "/...",
             "/%20%20/%20", "/page?file=../../etc/passwd&x=%2e%2e"]


def test_odd_paths_are_archived_inside_pages(server, root):
    body = page("Odd", STORY, links=ODD_PATHS).encode()  # every path answers with it: tracked and cited
    server.fallback = lambda conn: conn.send(response("200 OK", [("Content-Type", "text/html")], body))
    server.routes["/robots.txt"] = not_found
    configure(root, allow_private=True)
    run = archiver(root, "add", *[server.url(p) for p in ODD_PATHS[:8]], "--json")
    assert run.code == 0, run.stderr
    pages = (root / "pages").resolve()
    assert len(run.data["results"]) >= len(ODD_PATHS) - 2  # a few normalize to the same URL
    for entry in run.data["results"]:
        assert entry["outcome"] == "new", entry
        where = (root / entry["folder"]).resolve()
        assert where.is_relative_to(pages) and where.parent.parent == pages, entry["folder"]
        assert (where / "meta.json").is_file() and (where / "article.md").is_file()
    assert not (root.parent / "etc").exists() and not list(root.parent.glob("*passwd*"))


@pytest.mark.parametrize(("url", "served", "archived", "folder"), [
    # an IDN host: archived under its punycode folder
    ("http://bücher.example/straße", "/stra%C3%9Fe", "http://xn--bcher-kva.example/stra%C3%9Fe",
     "pages/xn--bcher-kva.example/stra-e-"),
    # an underscore: not a DNS host name, but DNS and browsers serve such names
    ("http://News_Desk.example/story", "/story", "http://news_desk.example/story", "pages/news_desk.example/story-"),
])
def test_unusual_host_names_are_archived_under_their_normal_form(server, root, url, served, archived, folder):
    # The names resolve nowhere: the loopback server answers as the HTTP proxy the environment names.
    server.answer(served, page("Bookshop street", STORY).encode())
    env = {"HTTP_PROXY": server.url(), "http_proxy": server.url(), "NO_PROXY": "", "no_proxy": ""}
    run = archiver(root, "add", url, "--json", env=env)
    assert run.code == 0, run.stderr
    result = run.result(url)
    assert result["url"] == archived and result["outcome"] == "new"
    assert result["folder"].startswith(folder)
    assert (root / result["folder"]).resolve().is_relative_to((root / "pages").resolve())
    assert "ferry terminal" in article(root, url)
    assert archived in server.targets


# --- addresses a page must not lead us to -------------------------------------------------------------------------




def private_links(port: int) -> list[str]:
    return [f"http://localhost:{port}/admin", f"http://127.0.0.1:{port}/", f"http://127.1:{port}/short",
            f"http://2130706433:{port}/decimal", f"http://0x7f000001:{port}/hex", f"http://0.0.0.0:{port}/zero",
            f"http://[::ffff:127.0.0.1]:{port}/mapped", f"http://[::1]:{port}/v6", "http://10.0.0.1/intranet",
            "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/link-local", "http://192.168.1.1/router",
            # IPv6 forms that carry an IPv4 address: NAT64, local-use NAT64, 6to4, IPv4-compatible, SIIT
            f"http://[64:ff9b::7f00:1]:{port}/nat64", "http://[64:ff9b::a00:1]/nat64-intranet",
            "http://[64:ff9b:1::808:808]/local-nat64", f"http://[2002:7f00:1::1]:{port}/6to4",
            f"http://[::7f00:1]:{port}/compatible", f"http://[::ffff:0:7f00:1]:{port}/siit"]


def test_cited_private_addresses_are_not_fetched_unless_allowed(server, internal, root):
    links = private_links(internal.port)
    server.answer("/story", page("Terminal approved", STORY, links=links).encode())
    story = server.url("/story")
    run = archiver(root, "add", story, "--json")  # allow_private is false by default
    assert run.code == 0
    for link in links:
        result = run.result(link)
        assert result["outcome"] == "skipped" and "non-public address" in result["error"], result
        assert not folder(root, link).exists()
    assert internal.targets == []

    configure(root, allow_private=True)
    internal.answer("/admin", page("Admin", STORY).encode())
    server.answer("/story", page("Terminal approved", STORY, links=links[:1]).encode())
    again = archiver(root, "snapshot", story, "--json")
    assert again.result(links[0])["outcome"] == "new" and internal.paths() == ["/robots.txt", "/admin"]


def test_redirect_to_a_private_address_is_not_followed(server, internal, root):
    # A public-looking name (unresolvable here) reached through the proxy, redirecting inward.
    server.answer("/story", page("Terminal approved", STORY, links=["http://cdn.example/out"]).encode())
    server.routes["/out"] = redirect(f"http://localhost:{internal.port}/secret")
    env = {"HTTP_PROXY": server.url(), "http_proxy": server.url(), "NO_PROXY": "", "no_proxy": ""}
    run = archiver(root, "add", "http://news.example/story", "--json", env=env)
    assert run.code == 0, run.stderr
    result = run.result("http://cdn.example/out")
    assert result["outcome"] == "skipped" and "localhost resolves to non-public address" in result["error"]
    assert internal.targets == [] and not any("secret" in t for t in server.targets)
    assert "http://cdn.example/out" in server.targets


def test_a_tracked_article_redirecting_to_an_internal_address_is_not_followed(server, internal, root):
    """The origin the user named is trusted; wherever its server sends the request next is not."""
    secret = internal.url("/latest/meta-data/iam/credentials")
    internal.answer("/latest/meta-data/iam/credentials", b'{"SecretAccessKey": "wJalrXUtnFEMI"}')
    server.routes["/redir"] = redirect(secret)
    server.answer("/story", page("Terminal approved", STORY).encode())
    story, redir = server.url("/story"), server.url("/redir")

    run = archiver(root, "add", redir, story, "--json")

    result = run.result(redir)
    assert result["outcome"] == "skipped" and "non-public address" in result["error"], result
    assert run.result(story)["outcome"] == "new"  # the tracked origin itself is fetched, private or not
    assert internal.targets == []
    assert not folder(root, redir).exists()
    assert "wJalrXUtnFEMI" not in git(root, "log", "-p", "--all") and "wJalrXUtnFEMI" not in article(root, story)
    # The redirect that was refused is evidence of the check, out of git.
    assert [r.uri for r in responses_of_checks(root)] == [redir]


def test_robots_txt_of_a_tracked_origin_redirecting_inward_is_not_followed(server, internal, root):
    server.routes["/robots.txt"] = redirect(internal.url("/robots.txt"))
    server.answer("/story", page("Terminal approved", STORY).encode())
    run = archiver(root, "add", server.url("/story"), "--json")
    assert run.code == 0 and run.result(server.url("/story"))["outcome"] == "new"
    assert internal.targets == []


def test_sources_on_a_tracked_origin_are_fetched_and_others_private_ones_are_not(server, internal, root):
    internal.answer("/admin", page("Admin", STORY).encode())
    server.answer("/report", page("The inquiry report", STORY[1:]).encode())
    server.answer("/story", page("Terminal approved", STORY, links=["/report", internal.url("/admin")]).encode())
    run = archiver(root, "add", server.url("/story"), "--json")
    assert run.code == 0
    assert run.result(server.url("/report"))["outcome"] == "new"  # the origin the user named
    refused = run.result(internal.url("/admin"))
    assert refused["outcome"] == "skipped" and "non-public address" in refused["error"]
    assert internal.targets == []


def test_a_checked_connection_goes_to_the_checked_address_under_its_name(tmp_path):
    """Against DNS rebinding: no second lookup; Host, SNI and the certificate check keep the name."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("news.rebind.example").configure_cert(context)
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server = Hostile(tls=context).start()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    server.routes["/"] = lambda conn: conn.send(response("200 OK", [("X-Host", _host_of(conn.head))], b"ok"))
    session = requests.Session()
    session.mount("https://", GuardedAdapter())
    url = f"https://news.rebind.example:{server.port}/"  # a name no resolver knows
    try:
        with pinned(Pin("news.rebind.example", server.port, ("127.0.0.1",))):
            answer = session.get(url, verify=str(bundle), timeout=5)
            assert answer.headers["X-Host"] == f"news.rebind.example:{server.port}"
            assert names == ["news.rebind.example"]
            with pytest.raises(requests.ConnectionError, match="not the host checked"):
                session.get(f"https://other.example:{server.port}/", verify=str(bundle), timeout=5)
        with pytest.raises(requests.ConnectionError):  # without the pin, the name is looked up, and fails
            requests.Session().get(url, verify=str(bundle), timeout=5)
    finally:
        session.close()
        server.stop()


def _host_of(head: bytes) -> str:
    match = re.search(rb"^Host: (.*?)\r$", head, re.MULTILINE | re.IGNORECASE)
    return match.group(1).decode() if match else ""


def test_a_pooled_connection_to_another_address_is_not_reused():
    """A connection made before the check (or to another address of the name) is dropped, not reused."""
    server = Hostile().start()
    answered: list[int] = []

    def keep_alive(conn: Conn) -> None:
        while True:  # answers every request on the connection, as a keep-alive server does
            answered.append(1)
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            if not conn.sock.recv(65536):
                return

    server.routes["/"] = keep_alive
    session = requests.Session()
    session.mount("http://", GuardedAdapter())
    try:
        assert session.get(server.url(), timeout=5).text == "ok"  # this connection stays in the pool
        with pinned(Pin("127.0.0.1", server.port, ("127.0.0.2",))), pytest.raises(requests.ConnectionError):
            session.get(server.url(), timeout=2)  # only 127.0.0.2 is allowed now, where nothing listens
        assert answered == [1]
    finally:
        session.close()
        server.stop()
