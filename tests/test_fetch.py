"""Fetching over real loopback HTTP (`archiver.capture.fetch`) and body decoding
(`archiver.capture.payload`)."""

from __future__ import annotations

import base64
import codecs
import contextlib
import gzip
import hashlib
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.newssite import Response, Site

from archiver import config
from archiver.capture.addresses import AddressPolicy, Pin
from archiver.capture.exchange import Capture
from archiver.capture.fetch import Fetcher
from archiver.capture.payload import decode_content, decode_text

UA = "ArchiverTest/9.9 (+https://example.org/bot)"


def make_fetcher(tmp_path: Path, **fetch: object) -> Fetcher:
    settings = {
        "user_agent": UA,
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "deadline": 5.0,
    } | fetch
    return Fetcher(config.from_dict({"fetch": settings}).fetch, tmp_path / "spool")


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    """One loopback site for the whole module (each test uses its own paths): stopping a Site costs
    0.5 s."""
    server = Site().start()
    yield server
    server.stop()


@pytest.fixture
def fetcher(tmp_path: Path) -> Iterator[Fetcher]:
    f = make_fetcher(tmp_path)
    yield f
    f.close()


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def body_of(capture: Capture) -> bytes:
    assert capture.final is not None and capture.final.body is not None
    return capture.final.body.read_bytes()


# --- a raw socket server, for misbehaviour http.server cannot produce -----------------------------

Script = Callable[[socket.socket, threading.Event], None]


@pytest.fixture
def raw_server() -> Iterator[Callable[[Script], str]]:
    """Start servers that run `script(conn, stop)` on each connection; returns their URL."""
    stop = threading.Event()
    sockets: list[socket.socket] = []

    def start(script: Script) -> str:
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        sockets.append(srv)

        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = srv.accept()
                except OSError:
                    return
                with conn:
                    try:
                        conn.recv(65536)
                        script(conn, stop)
                    except OSError:
                        pass

        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{srv.getsockname()[1]}/"

    yield start
    stop.set()
    for srv in sockets:
        # shutdown() wakes the blocked accept(): closed under it, the descriptor number would soon
        # be the next test's server, and this thread would take that test's connections.
        with contextlib.suppress(OSError):
            srv.shutdown(socket.SHUT_RDWR)
        srv.close()


def trickle(head: bytes, piece: bytes, interval: float = 0.1, total: float = 4.0) -> Script:
    def script(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(head)
        end = time.monotonic() + total
        while time.monotonic() < end and not stop.is_set():
            conn.sendall(piece)
            time.sleep(interval)

    return script


# --- plain responses ------------------------------------------------------------------------------


def test_plain_200(site: Site, fetcher: Fetcher) -> None:
    body = "<html><body><p>Bonjour, ça va ? 🙂</p></body></html>".encode()
    site.routes["/story"] = Response(
        body=body,
        headers=[
            ("X-First", "1"),
            ("set-cookie", "a=1; Path=/"),
            ("Set-Cookie", "b=2"),
            ("x-LAST", "z"),
        ],
    )
    capture = fetcher.fetch(site.url("/story"))
    assert capture.error is None
    assert len(capture.exchanges) == 1
    ex = capture.final
    assert ex is not None
    assert ex.url == site.url("/story")
    assert (ex.status, ex.reason, ex.http_version) == (200, "OK", "HTTP/1.1")
    assert ex.request.startswith(b"GET /story HTTP/1.1\r\n")
    assert ex.head.startswith(b"HTTP/1.1 200 OK\r\n") and ex.head.endswith(
        b"\r\nx-LAST: z\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    names = [k for k, _ in ex.headers]
    assert names == [
        "Server",
        "Date",
        "Content-Type",
        "X-First",
        "set-cookie",
        "Set-Cookie",
        "x-LAST",
        "Content-Length",
    ]
    assert [v for k, v in ex.headers if k.lower() == "set-cookie"] == ["a=1; Path=/", "b=2"]
    assert ex.header("content-type") == "text/html; charset=utf-8"
    assert ex.content_type == "text/html"
    assert body_of(capture) == body
    assert ex.body_length == len(body)
    assert ex.payload_digest == sha1_b32(body)
    assert ex.truncated is None
    assert ex.peer_ip == "127.0.0.1"
    assert ex.body is not None and ex.body.parent == fetcher.spool_dir


def test_a_released_body_is_deleted_by_the_fetch_that_spools_the_next(
    site: Site, fetcher: Fetcher
) -> None:
    # The thread settling pages hands bodies back without deleting them itself; the fetch threads
    # delete them as they go, so the spool holds no more than the pages in flight.
    site.routes["/first"] = Response(body=b"<p>first</p>")
    site.routes["/second"] = Response(body=b"<p>second</p>")
    first = fetcher.fetch(site.url("/first"))
    spooled = first.final.body if first.final else None
    assert spooled is not None and spooled.exists()
    fetcher.release(first)
    assert first.final is not None and first.final.body is None  # the capture lets go of it
    assert spooled.exists()  # not deleted by the releasing thread
    second = fetcher.fetch(site.url("/second"))
    assert not spooled.exists()
    assert second.final is not None and body_of(second) == b"<p>second</p>"
    assert list(fetcher.spool_dir.iterdir()) == [second.final.body]


def test_request_headers(site: Site, fetcher: Fetcher) -> None:
    site.page("/", "<p>hi</p>")
    capture = fetcher.fetch(site.url("/"))
    assert capture.error is None
    sent = site.requests[-1]
    assert sent["User-Agent"] == UA
    assert sent["Accept-Encoding"] == "gzip, deflate"
    request = capture.final.request
    assert request.endswith(b"\r\n\r\n")
    recorded = dict(line.split(": ", 1) for line in request.decode().split("\r\n")[1:-2])
    assert recorded["User-Agent"] == UA
    assert recorded["Accept-Encoding"] == "gzip, deflate"
    assert recorded["Host"] == f"127.0.0.1:{site.port}"


def test_extra_request_headers_are_sent(site: Site, fetcher: Fetcher) -> None:
    site.page("/", "<p>hi</p>")
    fetcher.fetch(site.url("/"), headers={"If-None-Match": '"abc"'})
    assert site.requests[-1]["If-None-Match"] == '"abc"'


def test_404_is_an_answer_not_an_error(site: Site, fetcher: Fetcher) -> None:
    capture = fetcher.fetch(site.url("/missing"))
    assert capture.error is None
    assert capture.final.status == 404
    assert b"Not found" in body_of(capture)


def test_gzip_body_spooled_as_sent(site: Site, fetcher: Fetcher) -> None:
    original = (
        "<html><body>" + "<p>The council voted to close the bridge.</p>" * 200 + "</body></html>"
    ).encode()
    wire = gzip.compress(original, mtime=0)
    site.routes["/gz"] = Response(body=wire, headers=[("Content-Encoding", "gzip")])
    capture = fetcher.fetch(site.url("/gz"))
    assert capture.error is None
    ex = capture.final
    assert body_of(capture) == wire
    assert ex.body_length == len(wire) < len(original)
    assert ex.payload_digest == sha1_b32(wire)
    assert ex.header("Content-Encoding") == "gzip"
    assert ex.header("Content-Length") == str(len(wire))
    assert decode_content(ex.body, ex.header("Content-Encoding"), 10**6) == (original, False)


def test_gzip_encoding_by_the_server(site: Site, fetcher: Fetcher) -> None:
    original = b"<p>" + b"abc " * 1000 + b"</p>"
    site.routes["/gz"] = Response(body=original, encoding="gzip")
    capture = fetcher.fetch(site.url("/gz"))
    spooled = body_of(capture)
    assert spooled[:2] == b"\x1f\x8b"
    assert gzip.decompress(spooled) == original
    assert decode_content(capture.final.body, "gzip", 10**6) == (original, False)


def test_deflate_body(site: Site, fetcher: Fetcher) -> None:
    original = b"<p>" + b"deflated " * 500 + b"</p>"
    site.routes["/d"] = Response(body=original, encoding="deflate")
    capture = fetcher.fetch(site.url("/d"))
    assert body_of(capture) == zlib.compress(original)
    assert decode_content(capture.final.body, "deflate", 10**6) == (original, False)


def test_chunked_payload_is_dechunked_and_the_framing_kept(site: Site, fetcher: Fetcher) -> None:
    original = b"".join(b"line %04d of the chunked story\n" % i for i in range(300))
    site.routes["/chunked"] = Response(body=original, chunked=True)
    capture = fetcher.fetch(site.url("/chunked"))
    assert capture.error is None
    ex = capture.final
    assert ex.header("Transfer-Encoding") == "chunked"
    framed = ex.framed.read_bytes()
    assert framed.endswith(b"\r\n0\r\n\r\n") and len(framed) > len(original)
    assert ex.header("Content-Type") == "text/html; charset=utf-8"
    assert body_of(capture) == original
    assert ex.body_length == len(original)
    assert ex.payload_digest == sha1_b32(original)


def test_chunked_gzip_body_is_dechunked_but_still_compressed(site: Site, fetcher: Fetcher) -> None:
    original = b"<p>" + b"chunky " * 2000 + b"</p>"
    wire = gzip.compress(original, mtime=0)
    site.routes["/cg"] = Response(body=wire, headers=[("Content-Encoding", "gzip")], chunked=True)
    capture = fetcher.fetch(site.url("/cg"))
    assert body_of(capture) == wire
    assert capture.final.payload_digest == sha1_b32(wire)
    assert decode_content(capture.final.body, "gzip", 10**6) == (original, False)


# --- redirects ------------------------------------------------------------------------------------


def test_redirect_chain(site: Site, fetcher: Fetcher) -> None:
    site.redirect("/a", "/b", 301)
    site.redirect("/b", site.url("/c"), 302)
    site.page("/c", "<p>final</p>")
    capture = fetcher.fetch(site.url("/a"))
    assert capture.error is None
    assert [(e.url, e.status) for e in capture.exchanges] == [
        (site.url("/a"), 301),
        (site.url("/b"), 302),
        (site.url("/c"), 200),
    ]
    assert capture.exchanges[0].header("Location") == "/b"
    assert capture.final_url == site.url("/c")
    assert body_of(capture) == b"<p>final</p>"
    assert site.hits["/a"] == site.hits["/b"] == site.hits["/c"] == 1


@pytest.mark.parametrize("status", [303, 307, 308])
def test_other_redirect_statuses(site: Site, fetcher: Fetcher, status: int) -> None:
    site.redirect("/x", "/y", status)
    site.page("/y", "<p>y</p>")
    capture = fetcher.fetch(site.url("/x"))
    assert [e.status for e in capture.exchanges] == [status, 200]


def test_redirect_loop(site: Site, fetcher: Fetcher) -> None:
    site.redirect("/loop1", "/loop2")
    site.redirect("/loop2", "/loop1")
    capture = fetcher.fetch(site.url("/loop1"))
    assert capture.error is not None and "loop" in capture.error
    assert [e.status for e in capture.exchanges] == [301, 301]
    assert site.hits["/loop1"] == 1


def test_self_redirect_is_a_loop(site: Site, fetcher: Fetcher) -> None:
    site.redirect("/self", "/self")
    capture = fetcher.fetch(site.url("/self"))
    assert capture.error is not None and "loop" in capture.error
    assert site.hits["/self"] == 1


def test_too_many_redirects(site: Site, tmp_path: Path) -> None:
    for i in range(10):
        site.redirect(f"/r{i}", f"/r{i + 1}")
    site.page("/r10", "<p>end</p>")
    fetcher = make_fetcher(tmp_path, max_redirects=3)
    capture = fetcher.fetch(site.url("/r0"))
    assert capture.error is not None and "redirect" in capture.error
    assert len(capture.exchanges) <= 4
    assert site.hits["/r10"] == 0
    # exactly max_redirects hops are fine
    ok = fetcher.fetch(site.url("/r7"))
    assert ok.error is None
    assert [e.status for e in ok.exchanges] == [301, 301, 301, 200]


def test_redirect_to_a_non_http_url(site: Site, fetcher: Fetcher) -> None:
    site.redirect("/ftp", "ftp://example.com/file")
    capture = fetcher.fetch(site.url("/ftp"))
    assert capture.error is not None and "redirect" in capture.error
    assert [e.status for e in capture.exchanges] == [301]


def test_redirect_without_location_is_the_answer(site: Site, fetcher: Fetcher) -> None:
    site.routes["/nowhere"] = Response(status=302, body=b"moved somewhere")
    capture = fetcher.fetch(site.url("/nowhere"))
    assert capture.error is None
    assert [e.status for e in capture.exchanges] == [302]


# --- caps, deadlines, failures --------------------------------------------------------------------


def test_body_over_cap_is_truncated(site: Site, tmp_path: Path) -> None:
    body = bytes(range(256)) * 400  # 102400 bytes
    site.routes["/big"] = Response(body=body, content_type="application/octet-stream")
    fetcher = make_fetcher(tmp_path, max_body_bytes=10_000)
    capture = fetcher.fetch(site.url("/big"))
    assert capture.error is None
    ex = capture.final
    assert ex.truncated == "length"
    assert ex.body_length == 10_000
    assert body_of(capture) == body[:10_000]
    assert ex.payload_digest == sha1_b32(body[:10_000])


def test_body_at_cap_is_not_truncated(site: Site, tmp_path: Path) -> None:
    body = b"x" * 10_000
    site.routes["/exact"] = Response(body=body)
    capture = make_fetcher(tmp_path, max_body_bytes=10_000).fetch(site.url("/exact"))
    assert capture.final.truncated is None
    assert body_of(capture) == body


def test_trickling_body_is_cut_at_the_deadline(raw_server, tmp_path: Path) -> None:
    url = raw_server(
        trickle(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n", b"x"
        )
    )
    fetcher = make_fetcher(tmp_path, deadline=0.6, read_timeout=0.3)
    started = time.monotonic()
    capture = fetcher.fetch(url)
    elapsed = time.monotonic() - started
    assert capture.error is not None and "deadline" in capture.error
    assert elapsed < 0.6 + 0.3 + 0.7


def test_trickling_chunked_body_is_cut_at_the_deadline(raw_server, tmp_path: Path) -> None:
    url = raw_server(
        trickle(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"1\r\nx\r\n")
    )
    fetcher = make_fetcher(tmp_path, deadline=0.6, read_timeout=0.3)
    started = time.monotonic()
    capture = fetcher.fetch(url)
    assert capture.error is not None and "deadline" in capture.error
    assert time.monotonic() - started < 0.6 + 0.3 + 0.7


def test_slow_route_hits_the_read_timeout(site: Site, tmp_path: Path) -> None:
    def slow(handler) -> Response:
        time.sleep(1.5)
        return Response(body=b"too late")

    site.routes["/slow"] = slow
    fetcher = make_fetcher(tmp_path, read_timeout=0.3, deadline=3.0)
    started = time.monotonic()
    capture = fetcher.fetch(site.url("/slow"))
    assert capture.error is not None and "timed out" in capture.error
    assert time.monotonic() - started < 1.2


def test_silent_server_times_out(raw_server, tmp_path: Path) -> None:
    url = raw_server(lambda conn, stop: stop.wait(4))
    fetcher = make_fetcher(tmp_path, read_timeout=0.3, deadline=3.0)
    started = time.monotonic()
    capture = fetcher.fetch(url)
    assert capture.error is not None and "timed out" in capture.error
    assert time.monotonic() - started < 1.2


def test_trickling_headers_are_cut_at_the_deadline(raw_server, tmp_path: Path) -> None:
    url = raw_server(trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ", b"a", total=2.2))
    fetcher = make_fetcher(tmp_path, deadline=0.5, read_timeout=0.3)
    started = time.monotonic()
    capture = fetcher.fetch(url)
    assert capture.error is not None
    assert time.monotonic() - started < 0.5 + 0.3 + 0.6


def test_failed_fetch_leaves_no_spool_file(raw_server, tmp_path: Path) -> None:
    url = raw_server(trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", b"x"))
    fetcher = make_fetcher(tmp_path, deadline=0.3, read_timeout=0.2)
    capture = fetcher.fetch(url)
    assert capture.error is not None
    capture.discard()
    assert list(fetcher.spool_dir.glob("*")) == []


def test_connection_refused(tmp_path: Path, fetcher: Fetcher) -> None:
    with (
        socket.socket() as sock
    ):  # bound but not listening: connections are refused, the port stays ours
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        started = time.monotonic()
        capture = fetcher.fetch(f"http://127.0.0.1:{port}/story")
    assert capture.error is not None and "refused" in capture.error.lower()
    assert capture.exchanges == []
    assert capture.final is None and capture.final_url == f"http://127.0.0.1:{port}/story"
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("stall", [0.0, 2.0], ids=["closed-mid-body", "stalled-mid-body"])
def test_broken_body_is_an_error_not_an_exception(raw_server, tmp_path: Path, stall: float) -> None:
    def script(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
        stop.wait(stall)

    fetcher = make_fetcher(tmp_path, read_timeout=0.3, deadline=3.0)
    capture = fetcher.fetch(raw_server(script))
    assert capture.error is not None


def test_garbage_response(raw_server, fetcher: Fetcher) -> None:
    url = raw_server(lambda conn, stop: conn.sendall(b"\x00\xffNOT HTTP AT ALL\r\n\r\n"))
    capture = fetcher.fetch(url)
    assert capture.error is not None


def test_parallel_fetches(site: Site, fetcher: Fetcher) -> None:
    for i in range(8):
        site.page(f"/p{i}", f"<p>page {i}</p>")
    results: dict[int, bytes] = {}

    def work(i: int) -> None:
        results[i] = body_of(fetcher.fetch(site.url(f"/p{i}")))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {i: f"<p>page {i}</p>".encode() for i in range(8)}


# --- payload.decode_content -----------------------------------------------------------------------


def test_gzip_bomb_is_bounded(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb"
    bomb.write_bytes(gzip.compress(b"\0" * 50_000_000, compresslevel=9))
    assert bomb.stat().st_size < 100_000
    started = time.monotonic()
    data, cut = decode_content(bomb, "gzip", 1_000_000)
    assert time.monotonic() - started < 1.5
    assert cut is True
    assert len(data) <= 1_000_000
    assert data == b"\0" * len(data)


def test_decode_content_limits_and_codings(tmp_path: Path) -> None:
    path = tmp_path / "body"
    path.write_bytes(b"abcdef")
    assert decode_content(path, None, 100) == (b"abcdef", False)
    assert decode_content(path, "identity", 100) == (b"abcdef", False)
    assert decode_content(path, None, 3) == (b"abc", True)
    assert decode_content(path, None, 6) == (b"abcdef", False)
    exact = tmp_path / "exact"
    exact.write_bytes(gzip.compress(b"a" * 100))
    assert decode_content(exact, "gzip", 100) == (b"a" * 100, False)
    assert decode_content(exact, "GZIP", 99) == (b"a" * 99, True)
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    rawdeflate = tmp_path / "raw"
    rawdeflate.write_bytes(raw.compress(b"raw deflate body") + raw.flush())
    assert decode_content(rawdeflate, "deflate", 100) == (b"raw deflate body", False)


def test_corrupt_gzip_does_not_raise(tmp_path: Path) -> None:
    path = tmp_path / "corrupt"
    good = gzip.compress(b"hello world " * 100)
    path.write_bytes(good[:20] + b"\xff" * 50 + good[70:])
    data, _cut = decode_content(path, "gzip", 10_000)
    assert isinstance(data, bytes)
    junk = tmp_path / "junk"
    junk.write_bytes(b"this is not gzip at all")
    data, _cut = decode_content(junk, "gzip", 10_000)
    assert isinstance(data, bytes)


# --- payload.decode_text --------------------------------------------------------------------------


GREEK_META = '<html><head><meta charset="iso-8859-7"></head><body>αβγ</body></html>'.encode(
    "iso-8859-7"
)


def test_header_charset_wins_over_meta() -> None:
    text = decode_text(GREEK_META, "text/html; charset=windows-1251")
    assert "αβγ" not in text
    assert "бвг" in text  # the same bytes read as the header says


def test_meta_used_without_header_charset() -> None:
    assert "αβγ" in decode_text(GREEK_META, "text/html")
    assert "αβγ" in decode_text(GREEK_META, None)
    http_equiv = (
        b'<meta http-equiv="Content-Type" content="text/html; charset=koi8-r"><p>\xd0\xd2\xc9</p>'
    )
    assert "при" in decode_text(http_equiv, "text/html")


def test_bom_wins() -> None:
    utf8 = codecs.BOM_UTF8 + "<p>café</p>".encode()
    assert decode_text(utf8, "text/html; charset=iso-8859-1") == "<p>café</p>"
    utf16 = codecs.BOM_UTF16_LE + '<meta charset="utf-8"><p>café</p>'.encode("utf-16-le")
    assert decode_text(utf16, "text/html; charset=utf-8") == '<meta charset="utf-8"><p>café</p>'


def test_latin1_label_means_windows_1252() -> None:
    assert (
        decode_text(b"<p>\x93quoted\x94 caf\xe9</p>", "text/html; charset=ISO-8859-1")
        == "<p>“quoted” café</p>"
    )


def test_undeclared_utf8() -> None:
    source = "<p>Grüße aus Köln – “quoted” 東京</p>"
    assert decode_text(source.encode(), "text/html") == source


def test_undeclared_windows_1252_english() -> None:
    source = (
        "<html><body><p>The committee’s report, published on Tuesday, said the city’s budget was "
        "“unsustainable”. Officials didn’t comment.</p></body></html>"
    )
    assert decode_text(source.encode("cp1252"), "text/html") == source


@pytest.mark.parametrize(
    "source",
    [
        "<p>Café</p>",
        "<html><body><p>The mayor’s office said the café would close. “We’re sorry,” the owner said – it was a "
        "naïve plan.</p></body></html>",
        "<html><body><p>Déjà vu: the résumé of the naïve fiancé was rejected by the café’s manager.</p></body></html>",
    ],
)
def test_undeclared_windows_1252_accented(source: str) -> None:
    assert decode_text(source.encode("cp1252"), "text/html") == source


def test_meta_utf16_means_utf8() -> None:
    page = '<html><head><meta charset="utf-16"></head><body><p>café</p></body></html>'
    assert decode_text(page.encode(), "text/html") == page


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"\xc3\x28 \xff\xfe\xfd abc", "text/html; charset=utf-8"),
        (b"\xc3\x28 \xff abc", "text/html; charset=no-such-charset"),
        (b"\x81\x8d\x8f\x90\x9d abc", "text/html; charset=windows-1252"),
        (b"abc\xff", "text/html; charset=shift_jis"),
        (codecs.BOM_UTF16_LE + b"a\x00b", None),  # odd length after the BOM
        (b"\x00\x01\x02\xff" * 50, None),
        (b'<meta charset="bogus-label"><p>\xe9\xff</p>', None),
        (b"", "text/html"),
        (bytes(range(256)) * 4, "text/html; charset=utf-16"),
    ],
)
def test_invalid_bytes_never_raise(data: bytes, content_type: str | None) -> None:
    text = decode_text(data, content_type)
    assert isinstance(text, str)


def test_invalid_utf8_is_replaced_not_dropped() -> None:
    text = decode_text(b"ok \xc3\x28 ok", "text/html; charset=utf-8")
    assert text.startswith("ok ") and text.endswith(" ok") and "\ufffd" in text


def test_a_host_checked_once_is_connected_to_without_resolving_it_again(
    site: Site, fetcher: Fetcher
):
    """The capture stage resolves a host once, for the address check; robots.txt and the page then connect to
    the addresses it found. A name that does not resolve proves no second lookup happened."""
    site.page("/story", "<html><body><p>The council met.</p></body></html>")
    site.page("/robots.txt", "User-agent: *\nDisallow: /private\n")
    host = "news.invalid"  # RFC 6761: never resolves
    checked = Pin(host, site.port, ("127.0.0.1",))
    policy = AddressPolicy(allow_private=False)  # every hop checked
    for path in ("/robots.txt", "/story"):
        capture = fetcher.fetch(f"http://{host}:{site.port}{path}", policy=policy, pin=checked)
        assert (capture.error, capture.answer.status) == (None, 200), path
    unchecked = fetcher.fetch(f"http://{host}:{site.port}/story", policy=policy)
    assert unchecked.error is not None and "cannot resolve news.invalid" in unchecked.error


# --- kept-alive connections -----------------------------------------------------------------------


def test_a_kept_alive_connection_closed_as_it_is_reused_is_replaced(raw_server, fetcher) -> None:
    """A server may close an idle kept-alive connection just as the next request goes out on it
    (its keep-alive timeout, or a server that answers one request per connection without saying
    so). That request was never answered: it goes again on a new connection, as browsers do."""
    served: list[socket.socket] = []

    def script(conn: socket.socket, stop: threading.Event) -> None:
        served.append(conn)
        body = f"answer {len(served)}".encode()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        conn.settimeout(5)
        conn.recv(65536)  # the next request on this connection: closed unanswered

    url = raw_server(script)
    first = fetcher.fetch(url + "one")
    second = fetcher.fetch(url + "two")

    assert first.error is None and body_of(first) == b"answer 1"
    assert second.error is None, second.error
    assert body_of(second) == b"answer 2"
    assert len(second.exchanges) == 1  # the unanswered request left nothing to record
    assert len(served) == 2


def test_a_new_connection_closed_unanswered_is_not_sent_again(raw_server, fetcher) -> None:
    served: list[socket.socket] = []
    url = raw_server(lambda conn, stop: served.append(conn))  # read the request, close: no answer

    capture = fetcher.fetch(url)

    assert capture.error == "connection failed: Remote end closed connection without response"
    assert len(served) == 1
