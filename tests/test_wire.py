"""Exact evidence: each record's block is the bytes that crossed the wire, as a raw-socket server
logged them.

A web archivist compares the WARC with what the server sent: the status line and header bytes as
they were (case, spacing, obs-fold, bare LF), the body with its content coding and its chunked
framing, every redirect hop whole with its body and address, the request as written. Parsing for
extraction never changes what is recorded.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import re
import zlib
from pathlib import Path

import pytest
from support.archives import article, configure
from support.hostile import Conn, page
from support.userview import STORY, archiver, run_sampled
from support.warcs import records
from warcio.bufferedreaders import ChunkedDataReader

HTML = page("Ferry terminal approved", STORY).encode()
GONE_FOR_GOOD = (
    b"<html><body><p>" + b"This page has moved for good. " * 70 + b"</p></body></html>"
)  # 2 KB


def blocks(root: Path, url: str, kind: str = "response") -> list[tuple[dict[str, str], bytes]]:
    """(WARC headers, block as stored) of every `kind` record for `url` in the archive's WARC files,
    in order."""
    return [
        (r.headers, r.payload)
        for r in records(root, parse_http=False)
        if r.type == kind and r.uri == url
    ]


def sends(data: bytes):
    def script(conn: Conn) -> None:
        conn.send(data)

    return script


def head(status: str, *lines: str, eol: str = "\r\n") -> bytes:
    return eol.join([status, *lines, "", ""]).encode("latin-1")


def chunked(body: bytes, size: int, extension: str = "", trailer: bytes = b"") -> bytes:
    pieces = [
        b"%x%s\r\n%s\r\n" % (len(body[i : i + size]), extension.encode(), body[i : i + size])
        for i in range(0, len(body), size)
    ]
    return b"".join(pieces) + b"0\r\n" + trailer + b"\r\n"


GZIPPED = gzip.compress(HTML, mtime=0)
TWO_MEMBERS = gzip.compress(HTML[:300], mtime=0) + gzip.compress(HTML[300:], mtime=0)
DEFLATED = zlib.compress(HTML)

ANSWERS = {
    "gzip": head(
        "HTTP/1.1 200 OK",
        "Content-Type: text/html; charset=utf-8",
        "Content-Encoding: gzip",
        f"Content-Length: {len(GZIPPED)}",
        "Connection: close",
    )
    + GZIPPED,
    "deflate": head(
        "HTTP/1.1 200 OK",
        "Content-Type: text/html",
        "Content-Encoding: deflate",
        f"Content-Length: {len(DEFLATED)}",
        "Connection: close",
    )
    + DEFLATED,
    "two-member gzip": head(
        "HTTP/1.1 200 OK",
        "Content-Type: text/html",
        "Content-Encoding: gzip",
        f"Content-Length: {len(TWO_MEMBERS)}",
        "Connection: close",
    )
    + TWO_MEMBERS,
    "chunked, extensions, trailer": head(
        "HTTP/1.1 200 OK",
        "Content-Type: text/html",
        "Transfer-Encoding: chunked",
        "Trailer: X-Checksum",
        "Connection: close",
    )
    + chunked(HTML, 97, extension=";part=yes", trailer=b"X-Checksum: 1234\r\n"),
    "HTTP/1.0 read to close": head("HTTP/1.0 200 OK", "Content-Type: text/html") + HTML,
    "no space after the colon": head(
        "HTTP/1.1 200 OK",
        "content-type:text/html;charset=utf-8",
        "X-Spaces:   several    spaces  ",
        f"Content-Length:{len(HTML)}",
        "Connection:close",
    )
    + HTML,
    "obs-fold": head(
        "HTTP/1.1 200 OK",
        "Content-Type: text/html",
        "X-Note: the first line",
        "\tand its fold",
        f"Content-Length: {len(HTML)}",
        "Connection: close",
    )
    + HTML,
    "bare LF": head(
        "HTTP/1.1 200 OK",
        "Content-Type: text/html",
        f"Content-Length: {len(HTML)}",
        "Connection: close",
        eol="\n",
    )
    + HTML,
}


@pytest.mark.parametrize("case", list(ANSWERS))
def test_the_response_and_request_records_are_the_bytes_on_the_wire(server, root, case):
    server.routes["/story"] = sends(ANSWERS[case])
    outcome = archiver(root, "add", server.url("/story"), "--json")
    assert outcome.code == 0 and outcome.result(server.url("/story"))["outcome"] == "new", (
        outcome.stderr
    )
    assert "harbour authority approved" in article(
        root, server.url("/story")
    )  # parsed for the text all the same
    [conn] = server.served("/story")
    [(response, block)] = blocks(root, server.url("/story"))
    assert block == bytes(conn.sent)
    [(request, sent)] = blocks(root, server.url("/story"), "request")
    assert sent == conn.head  # the request as the server received it
    assert response["WARC-IP-Address"] == "127.0.0.1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", response["WARC-Date"])  # whole seconds
    assert request["WARC-Concurrent-To"] == response["WARC-Record-ID"]
    assert archiver(root, "verify").code == 0


def test_the_payload_digest_is_of_the_body_without_its_transfer_coding(server, root):
    server.routes["/story"] = sends(ANSWERS["chunked, extensions, trailer"])
    assert archiver(root, "add", server.url("/story")).code == 0
    shown = archiver(root, "show", "--raw", server.url("/story"))
    assert shown.stdout.encode() == HTML  # the page as served, de-chunked
    [(response, _block)] = blocks(root, server.url("/story"))
    assert (
        response["WARC-Payload-Digest"]
        == "sha1:" + base64.b32encode(hashlib.sha1(HTML).digest()).decode()
    )


REDIRECTS = {
    "301 with a gzip body": head(
        "HTTP/1.1 301 Moved Permanently",
        "Location: /story",
        "Content-Type: text/html",
        "Content-Encoding: gzip",
        f"Content-Length: {len(gzip.compress(GONE_FOR_GOOD))}",
        "Connection: close",
    )
    + gzip.compress(GONE_FOR_GOOD, mtime=0),
    "302 with a body": head(
        "HTTP/1.1 302 Found",
        "Location: /story",
        "Content-Type: text/html",
        f"Content-Length: {len(GONE_FOR_GOOD)}",
        "Connection: close",
    )
    + GONE_FOR_GOOD,
    "302 read to close": head("HTTP/1.0 302 Found", "Location: /story")
    + b"Found. Redirecting to /story",
}


@pytest.mark.parametrize("case", list(REDIRECTS))
def test_every_redirect_hop_is_a_whole_record_with_its_body_and_address(server, root, case):
    server.routes["/old"] = sends(REDIRECTS[case])
    server.routes["/story"] = sends(ANSWERS["gzip"])
    outcome = archiver(root, "add", server.url("/old"), "--json")
    assert outcome.result(server.url("/old"))["outcome"] == "new", outcome.stderr
    for path in ("/old", "/story"):
        [conn] = server.served(path)
        [(response, block)] = blocks(root, server.url(path))
        assert block == bytes(conn.sent)
        assert response["WARC-IP-Address"] == "127.0.0.1"
        [(_request, sent)] = blocks(root, server.url(path), "request")
        assert sent == conn.head
    assert archiver(root, "verify").code == 0


def test_a_redirect_whose_body_is_a_gzip_bomb_is_kept_compressed_up_to_the_body_limit(server, root):
    bomb = gzip.compress(b" " * 10_000_000, compresslevel=9) * 200  # ~2 MB sent, 2 GB once inflated
    sent = (
        head(
            "HTTP/1.1 301 Moved Permanently",
            "Location: /story",
            "Content-Type: text/html",
            "Content-Encoding: gzip",
            f"Content-Length: {len(bomb)}",
            "Connection: close",
        )
        + bomb
    )
    server.routes["/old"] = sends(sent)
    server.routes["/story"] = sends(ANSWERS["gzip"])
    limit = 1_000_000
    configure(root, max_body_bytes=limit)
    run = run_sampled(root, "add", server.url("/old"), "--json")
    assert run.code == 0 and run.result(server.url("/old"))["outcome"] == "new", run.stderr
    assert run.peak_mb < 300, f"peak RSS {run.peak_mb:.0f} MB"  # never inflated: 2.2 GB when it was
    [(response, block)] = blocks(root, server.url("/old"))
    head_length = sent.index(b"\r\n\r\n") + 4
    assert (
        block == sent[: head_length + limit]
    )  # the bytes as sent, cut where the limit stopped reading
    assert response["WARC-Truncated"] == "length"


def test_a_chunked_body_over_the_limit_is_recorded_as_read_up_to_the_limit(server, root):
    body = HTML * 20
    sent = head(
        "HTTP/1.1 200 OK",
        "Content-Type: text/html",
        "Transfer-Encoding: chunked",
        "Connection: close",
    ) + chunked(body, 1000)
    server.routes["/story"] = sends(sent)
    limit = 2500
    configure(root, max_body_bytes=limit)
    outcome = archiver(root, "add", server.url("/story"), "--json")
    assert outcome.code == 0, outcome.stderr
    [(response, block)] = blocks(root, server.url("/story"), "response")
    assert response["WARC-Truncated"] == "length"
    assert sent.startswith(block)  # a prefix of what was sent
    stored = block[block.index(b"\r\n\r\n") + 4 :]
    assert (
        ChunkedDataReader(io.BytesIO(stored)).read() == body[:limit]
    )  # the payload kept: exactly the limit
    assert archiver(root, "verify").code == 0


def test_a_304_is_recorded_as_sent_and_refers_to_the_version_it_confirms(server, root):
    ok = (
        head(
            "HTTP/1.1 200 OK",
            "Content-Type: text/html",
            'ETag: "v1"',
            f"Content-Length: {len(HTML)}",
            "Connection: close",
        )
        + HTML
    )
    not_modified = head(
        "HTTP/1.1 304 Not Modified", 'ETag:"v1"', "X-Cache:  HIT", "Connection: close"
    )
    answers = iter([ok, not_modified])
    server.routes["/story"] = lambda conn: conn.send(next(answers))
    assert archiver(root, "add", server.url("/story")).code == 0
    assert archiver(root, "snapshot", "--all").code == 0
    first, second = server.served("/story")
    assert b'If-None-Match: "v1"' in second.head
    [(original, _)] = blocks(root, server.url("/story"))
    [(revisit, block)] = blocks(root, server.url("/story"), "revisit")
    assert block == bytes(second.sent)
    assert revisit["WARC-Refers-To"] == original["WARC-Record-ID"]
    assert revisit["WARC-Refers-To-Date"] == original["WARC-Date"]
    requests = [sent for _, sent in blocks(root, server.url("/story"), "request")]
    assert sorted(requests) == sorted([first.head, second.head])


@pytest.mark.parametrize("size", [b"0x%x", b"+%x", b" %x_"])
def test_a_chunk_size_other_readers_would_read_otherwise_fails_the_check(server, root, size):
    """http.client reads a chunk size with int(…, 16), which takes `0x1a6`; a strict reader takes 0:
    no version may rest on which of them is right."""
    body = (
        b"".join(
            size % len(piece) + b"\r\n" + piece + b"\r\n" for piece in (HTML[:500], HTML[500:])
        )
        + b"0\r\n\r\n"
    )
    server.routes["/story"] = sends(
        head(
            "HTTP/1.1 200 OK",
            "Content-Type: text/html",
            "Transfer-Encoding: chunked",
            "Connection: close",
        )
        + body
    )
    outcome = archiver(root, "add", server.url("/story"), "--json")
    assert outcome.code == 1
    result = outcome.result(server.url("/story"))
    assert result["outcome"] == "failed" and "invalid chunk size" in result["error"], result
    assert archiver(root, "verify").code == 0


def test_cookies_stay_within_one_capture(server, root):
    """A cookie set by one page is never sent with another page's request; a redirect within a
    capture keeps it."""
    configure(root, workers=1)  # one fetching thread: both pages would share its session
    server.routes["/first"] = sends(
        head(
            "HTTP/1.1 302 Found",
            "Location: /first/landed",
            "Set-Cookie: visit=1; Path=/",
            "Content-Length: 0",
            "Connection: close",
        )
    )
    server.routes["/first/landed"] = sends(ANSWERS["gzip"])
    server.routes["/second"] = sends(ANSWERS["deflate"])
    outcome = archiver(root, "add", server.url("/first"), server.url("/second"), "--json")
    assert outcome.code == 0, outcome.stderr
    [landed] = server.served("/first/landed")
    assert b"Cookie: visit=1" in landed.head
    [second] = server.served("/second")
    assert b"Cookie" not in second.head
