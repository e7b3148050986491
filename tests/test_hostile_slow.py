"""Hostile servers that stall or never stop: slowloris headers, bodies, TLS handshakes and
robots.txt are cut at the deadline, an endless body at the size cap, and a gzip bomb is decompressed
(and shown raw) within bounds.

Each test runs the real command (in-process through typer's runner, or as a subprocess where memory
is measured) against `support.hostile.Hostile` on loopback, and checks what a user sees: the outcome
in `--json`, the exit code, the files of the archive and the WARC records read back with warcio.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import socket
import threading
import time

import pytest
from support.archives import article, configure, folder, meta
from support.hostile import HTML_HEAD, MINUTES, Conn, chunk, endless, page
from support.userview import STORY, archiver, run_measured, streamed
from support.warcs import responses
from warcio.bufferedreaders import ChunkedDataReader


def slowloris_headers(conn: Conn) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\n")
    conn.trickle(b"X-Padding: " + b"a" * 100, 0.5)


def slowloris_body(conn: Conn) -> None:
    conn.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<html><body><p>"
    )
    conn.trickle(b"a" * 1000, 0.5)


@pytest.mark.parametrize("script", [slowloris_headers, slowloris_body], ids=["headers", "body"])
def test_slowloris_is_cut_at_the_deadline_and_the_run_goes_on(server, root, script):
    server.routes["/slow"] = script
    server.answer("/fine", page("Terminal approved", STORY).encode())
    # One fetch at a time on this host: the good page waits for the slow one, which must not hold it
    # long.
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

    def trickle() -> (
        None
    ):  # a TLS record header announcing 16 KB of handshake, then a byte every 0.3 s
        conn, _ = listener.accept()
        with conn, contextlib.suppress(OSError):
            conn.sendall(b"\x16\x03\x03\x40\x00")
            while not stop.wait(0.3):
                conn.sendall(b"\x00")

    threading.Thread(target=trickle, daemon=True).start()
    url = f"https://127.0.0.1:{listener.getsockname()[1]}/story"
    configure(
        root, deadline=1.5, connect_timeout=10.0, read_timeout=30.0, robots=False
    )  # socket timeouts never fire
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
    assert (
        run.code == 1
        and result["outcome"] == "failed"
        and "deadline of 1.5s exceeded" in result["error"]
    )
    assert server.paths() == ["/robots.txt"]
    # An unreadable robots.txt restricts nothing (as when it cannot be reached): the next check
    # archives the page.
    server.answer("/robots.txt", b"", status="404 Not Found")
    assert (
        archiver(root, "snapshot", server.url("/fine"), "--json").result(server.url("/fine"))[
            "outcome"
        ]
        == "new"
    )


ENDLESS = {
    "chunked": endless(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunk(HTML_HEAD),
        chunk(MINUTES),
    ),
    "close-delimited": endless(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n" + HTML_HEAD,
        MINUTES,
    ),
    "huge-content-length": endless(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 10000000000\r\n"
        b"\r\n" + HTML_HEAD,
        MINUTES,
    ),
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
    payload = (
        ChunkedDataReader(io.BytesIO(record.payload)).read()
        if framing == "chunked"
        else record.payload
    )
    assert len(payload) == 300_000 and payload.startswith(HTML_HEAD)
    assert (b"\r\n%x\r\n" % len(MINUTES) in record.payload) == (framing == "chunked")
    assert "minutes of the previous meeting" in article(root, url)


def test_gzip_bomb_is_decompressed_within_bounds(server, root):
    lead = gzip.compress(
        b"<html><head><title>Bomb</title></head><body><article><h1>Bomb</h1><p>"
        + " ".join(STORY).encode()
        + b"</p>"
    )
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
    assert peak - baseline < 100, (
        f"peak RSS {peak:.0f} MB against {baseline:.0f} MB for a plain page"
    )
    assert "ferry terminal" in article(root, server.url("/bomb"))
    [record] = responses(root / "warcs", server.url("/bomb"))
    assert record.payload == bomb  # the evidence is the bytes as sent, still compressed


def test_show_raw_of_a_gzip_bomb_streams_it_in_bounded_memory(server, root):
    lead = (
        b"<html><head><title>Bomb</title></head><body><article><h1>Bomb</h1><p>"
        + " ".join(STORY).encode()
    )
    bomb = (
        gzip.compress(lead) + gzip.compress(b" " * 10_000_000, compresslevel=9) * 30
    )  # 300 MB inflated
    server.answer(
        "/bomb", bomb, headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
    )
    configure(root, max_decoded_bytes=5_000_000)
    assert archiver(root, "add", server.url("/bomb")).code == 0

    *_, baseline = streamed(root, "log", server.url("/bomb"))
    code, head, size, peak = streamed(root, "show", "--raw", server.url("/bomb"), keep=len(lead))

    assert code == 0
    assert (
        head == lead and size == len(lead) + 300_000_000
    )  # every member inflated, content-coding removed
    assert peak - baseline < 50, (
        f"peak RSS {peak:.0f} MB for 300 MB of output, {baseline:.0f} MB for `log`"
    )
