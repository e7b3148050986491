"""`archiver verify` checks the HTTP framing inside every response and revisit record's block.

A record can pass every digest check (`warcio check`) while its HTTP block lies about its own
length: a redirect whose head says `Content-Length: 5` over no body made pywb's raw replay hang.
Archives made by real runs are damaged here the way a faulty writer damages them: the record is
written again by warcio, as archiver's writer writes it (same WARC headers, fresh digests, so
`warcio check` still passes), but with a block whose framing does not hold. Each must exit 5 with
one line naming the file, the page, the offset and what is wrong. The sound cases, made by real runs
against servers that frame their answers every lawful way, verify clean.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
import struct
import zlib
from pathlib import Path

import pytest
from support.archives import configure, meta
from support.commands import git
from support.hostile import Conn, chunk, response
from support.userview import STORY, archiver
from support.warcs import records, warcio_check
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archiver.capture import chunked as chunked_coding
from archiver.capture.framing import flaw
from archiver.errors import ExitCode
from archiver.evidence.warc import RawHead

HTML = [("Content-Type", "text/html; charset=utf-8")]
DIGESTS_AND_FRAME = {
    "warc-type",
    "warc-target-uri",
    "content-type",
    "content-length",
    "warc-block-digest",
    "warc-payload-digest",
}  # what warcio writes afresh for a record


def page(title: str) -> bytes:
    body = "".join(f"<p>{sentence}</p>" for sentence in STORY)
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}"
        f"</article></body></html>".encode()
    )


def noise(size: int, seed: int) -> bytes:
    """Text that compresses poorly: a damaged record that drops it comes out shorter once
    gzipped."""
    return base64.b64encode(random.Random(seed).randbytes(size * 3 // 4))


def chunked(data: bytes, pieces: int = 4) -> bytes:
    size = len(data) // pieces + 1
    return b"".join(chunk(data[i : i + size]) for i in range(0, len(data), size))


# --- reading and damaging WARC files --------------------------------------------------------------


def offsets(root: Path, uri: str, rec_type: str = "response") -> list[tuple[Path, int]]:
    """Where the records of `rec_type` for `uri` are, in every WARC file of the archive."""
    found = []
    for path in sorted(root.rglob("*.warc.gz")):
        with path.open("rb") as f:
            it = ArchiveIterator(f)
            for record in it:
                if (
                    record.rec_type == rec_type
                    and record.rec_headers.get_header("WARC-Target-URI") == uri
                ):
                    found.append((path, it.get_record_offset()))
    return found


def member(path: Path, offset: int) -> tuple[int, bytes]:
    """The length of the gzip member at `offset`, and the record it holds."""
    with path.open("rb") as f:
        f.seek(offset)
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        record = inflater.decompress(f.read())
        return f.tell() - offset - len(inflater.unused_data), record


def stored(path: Path, offset: int) -> tuple[StatusAndHeaders, bytes]:
    """The HTTP head of the record at `offset` and its body as stored, de-chunked (stored either
    way)."""
    _length, record = member(path, offset)
    rec = next(ArchiveIterator(io.BytesIO(record)))
    return rec.http_headers, rec.content_stream().read()


def gzip_member(data: bytes, extra: int = 0) -> bytes:
    """`data` as one gzip member; `extra` bytes of padding in its header's extra field (RFC 1952
    FEXTRA)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = compressor.compress(data) + compressor.flush()
    if not extra:
        return out
    assert extra >= 2, "the extra field's own length takes 2 bytes"
    return (
        out[:3]
        + bytes([out[3] | 0x04])
        + out[4:10]
        + struct.pack("<H", extra - 2)
        + bytes(extra - 2)
        + out[10:]
    )


def warcio_failures(path: Path) -> list[str]:
    """What `warcio check` finds wrong in the file: the kind of each failure."""
    check = warcio_check(path)
    return [
        line.strip().partition(" failed")[0] + " failed"
        for line in check.stdout.splitlines()
        if "failed" in line
    ]


def rewrite(
    path: Path, offset: int, headers: list[tuple[str, str]], body: bytes, keep_length: bool = True
) -> None:
    """Write the record at `offset` again with warcio, as archiver's writer writes it (same WARC
    headers, the status line as stored, the head's bytes as given, the payload digest of the body
    without its transfer coding, the block digest computed afresh), with the HTTP `headers` and
    `body` given. Its gzip member keeps its length, padded in its header, so that every later record
    stays where meta.json says it is; without `keep_length`, the records after it move (only a
    page's last records, which nothing names)."""
    length, record = member(path, offset)
    old = next(ArchiveIterator(io.BytesIO(record)))
    warc_headers = {k: v for k, v in old.rec_headers.headers if k.lower() not in DIGESTS_AND_FRAME}
    te = [v for k, v in headers if k.lower() == "transfer-encoding"]
    payload = (
        b"".join(chunked_coding.payload(io.BytesIO(body)))
        if chunked_coding.is_chunked(", ".join(te))
        else body
    )
    warc_headers["WARC-Payload-Digest"] = (
        "sha1:" + base64.b32encode(hashlib.sha1(payload).digest()).decode()
    )
    status = f"{old.http_headers.protocol} {old.http_headers.statusline}"
    raw_head = "".join(f"{line}\r\n" for line in [status, *(f"{k}: {v}" for k, v in headers), ""])
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=False, warc_version="1.1")
    writer.write_record(
        writer.create_warc_record(
            old.rec_headers.get_header("WARC-Target-URI"),
            old.rec_type,
            payload=io.BytesIO(body),
            length=len(body),
            warc_content_type="application/http; msgtype=response",
            warc_headers_dict=warc_headers,
            http_headers=RawHead(raw_head.encode("latin-1")),
        )
    )
    damaged = gzip_member(out.getvalue())
    if keep_length:
        assert len(damaged) + 2 <= length, (
            "the damaged record must come out shorter, to keep the records after it"
        )
        damaged = gzip_member(out.getvalue(), extra=length - len(damaged))
    before = warcio_failures(path)
    data = path.read_bytes()
    path.write_bytes(data[:offset] + damaged + data[offset + length :])
    # Only the framing is wrong: `warcio check` finds what it found before, which is nothing, but
    # for the payload digest of a chunked body (warcio digests its framing too, WARC 1.1 the
    # payload).
    assert warcio_failures(path) == before
    assert set(before) <= {"payload digest failed"}, before


def without(headers: StatusAndHeaders, *names: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers.headers if k.lower() not in names]


def damage_line(
    root: Path, path: Path, offset: int, url: str, message: str, version: str = ""
) -> str:
    """What `verify` prints for the damaged record: one line, with the version relying on it if
    any."""
    rel = path.relative_to(root).as_posix()
    return f"{rel}: {url}{version}, offset {offset}: {message}"


def assert_reported(root: Path, line: str) -> None:
    checked = archiver(root, "verify")
    assert checked.code == ExitCode.DAMAGED, checked.stdout + checked.stderr
    assert checked.stdout.splitlines() == [line]
    assert "1 problem" in checked.stderr
    as_json = archiver(root, "verify", "--json")
    [problem] = json.loads(as_json.stdout)
    assert as_json.code == ExitCode.DAMAGED and line.endswith(problem["message"])


# --- damage that only the framing shows -----------------------------------------------------------


def test_a_redirect_whose_body_was_dropped_under_its_content_length(server, root):
    moved = (
        b"<html><body><p>Moved to <a href='/new'>the new page</a>.</p>"
        + noise(2000, 1)
        + b"</body></html>"
    )
    server.routes["/old"] = lambda conn: conn.send(
        response("301 Moved Permanently", [*HTML, ("Location", "/new")], moved)
    )
    server.answer("/new", page("Terminal approved"))
    old = server.url("/old")
    assert archiver(root, "add", old).code == 0
    assert archiver(root, "verify").code == 0
    [(path, offset)] = offsets(root, old)
    head, body = stored(path, offset)
    assert head.get_statuscode() == "301" and body == moved

    rewrite(path, offset, head.headers, b"")  # the body dropped, its Content-Length kept
    assert_reported(
        root,
        damage_line(
            root, path, offset, old, f"Content-Length says {len(moved)}, the block holds 0 bytes"
        ),
    )


def test_a_chunked_block_whose_last_chunk_is_missing(server, root):
    moved = noise(3000, 2)
    server.routes["/old"] = (
        lambda conn: conn.send(
            b"HTTP/1.1 302 Found\r\nLocation: /new\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n"  # the server closes: a pooled connection reused for /new would be reset
            + chunked(moved)
            + b"0\r\n\r\n"
        )
    )
    server.answer("/new", page("Terminal approved"))
    old = server.url("/old")
    added = archiver(root, "add", old, "--json")
    assert added.code == 0, added.stdout
    assert archiver(root, "verify").code == 0
    [(path, offset)] = offsets(root, old)
    head, body = stored(path, offset)
    assert body == moved

    # The block as sent, chunked, but it stops after two of its chunks: no last chunk, no final
    # CRLF.
    headers = [
        *without(head, "transfer-encoding", "content-length"),
        ("Transfer-Encoding", "chunked"),
    ]
    rewrite(path, offset, headers, chunk(moved[:800]) + chunk(moved[800:1600]))
    assert_reported(
        root,
        damage_line(
            root, path, offset, old, "chunked framing: the body ends before its last chunk"
        ),
    )


def test_a_body_longer_than_its_content_length(server, root):
    body = page("Terminal approved")
    server.answer("/story", body)
    story = server.url("/story")
    assert archiver(root, "add", story).code == 0
    ref = meta(root, story)["warc"]
    path, offset = root / ref["file"], ref["offset"]
    head, stored_body = stored(path, offset)
    assert stored_body == body and head.get_header("Content-Length") == str(len(body))

    # The payload is the one meta.json's digest names: only the head's length is wrong.
    headers = [*without(head, "content-length"), ("Content-Length", str(len(body) - 7))]
    rewrite(
        path, offset, headers, body, keep_length=False
    )  # only its request and metadata records follow
    commit = git(root, "rev-parse", "HEAD").strip()
    assert_reported(
        root,
        damage_line(
            root,
            path,
            offset,
            story,
            f"Content-Length says {len(body) - 7}, the block holds {len(body)} bytes",
            version=f" v1 (commit {commit[:10]})",
        ),
    )


# --- sound framing of every lawful kind -----------------------------------------------------------


def with_trailer(conn: Conn) -> None:
    body = page("Chunked with a trailer")
    conn.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunk(body[:100], b";name=value")
        + chunk(body[100:], b' ; quoted="a;b"')
        + b"0\r\nExpires: Wed, 21 Oct 2026 07:28:00 GMT\r\nX-Checksum: 42\r\n\r\n"
    )


def read_to_close(conn: Conn) -> None:
    conn.send(
        b"HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        + page("Read to its close")
    )


def endless(head: bytes, piece: bytes):
    def script(conn: Conn) -> None:
        conn.send(head)
        for _ in range(2000):  # far past the size cap: archiver stops reading and the send fails
            conn.send(piece)

    return script


def etag(conn: Conn) -> None:
    if b'if-none-match: "v1"' in conn.head.lower():
        conn.send(response("304 Not Modified", [("ETag", '"v1"')], length=False))
    else:
        conn.send(response("200 OK", [*HTML, ("ETag", '"v1"')], page("Checked again")))


def test_every_lawful_framing_verifies_clean(server, root):
    """A chunked page with extensions and trailer fields, an HTTP/1.0 page read to its close,
    captures cut at the size cap (Content-Length and chunked), a redirect with a body, an
    identical-payload revisit, a 304 revisit."""
    paragraph = b"<p>" + b"The minutes of the previous meeting were read aloud. " * 20 + b"</p>"
    server.routes.update(
        {
            "/chunked": with_trailer,
            "/http10": read_to_close,
            "/cut-length": endless(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 900000\r\n\r\n"
                + page("Cut at the cap")[:-30],
                paragraph,
            ),
            "/cut-chunked": endless(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
                + chunk(page("Cut chunked")[:-30]),
                chunk(paragraph),
            ),
            "/old": lambda conn: conn.send(
                response(
                    "301 Moved Permanently",
                    [*HTML, ("Location", "/new")],
                    b"<p>Moved to <a href='/new'>here</a>.</p>",
                )
            ),
            "/etag": etag,
        }
    )
    server.answer("/new", page("Terminal approved"))
    server.answer("/copy", page("Terminal approved"))
    configure(root, max_body_bytes=20_000)
    urls = {
        path: server.url(path)
        for path in ("/chunked", "/http10", "/cut-length", "/cut-chunked", "/old", "/etag")
    }
    first = archiver(root, "add", *urls.values(), "--json")
    assert first.code == 0 and {r["outcome"] for r in first.data["results"]} == {"new"}, (
        first.stdout
    )
    assert archiver(root, "add", server.url("/copy")).code == 0  # the same bytes as /new: a revisit
    assert (
        archiver(root, "snapshot", urls["/etag"]).code == 0
    )  # answered 304: a revisit in .archiver/checks/

    checked = archiver(root, "verify")
    assert checked.code == 0, checked.stdout + checked.stderr
    assert checked.stdout.endswith(": no problems\n")
    # The archive holds each kind of record the test is about.
    kept = records(root / "warcs") + records(root / ".archiver" / "checks")
    revisits = [r.headers["WARC-Profile"].rsplit("/", 1)[1] for r in kept if r.type == "revisit"]
    assert sorted(revisits) == ["identical-payload-digest", "server-not-modified"]
    truncated = {r.uri: r.headers.get("WARC-Truncated") for r in kept if r.type == "response"}
    assert truncated[urls["/cut-length"]] == truncated[urls["/cut-chunked"]] == "length"
    assert {r.http_status for r in kept if r.uri == urls["/old"] and r.type == "response"} == {
        "301"
    }


# --- the framing rules, on bytes fed a piece at a time --------------------------------------------


def head(status: str, *headers: tuple[str, str]) -> StatusAndHeaders:
    return StatusAndHeaders(status, list(headers), protocol="HTTP/1.1")


CHUNKED = ("Transfer-Encoding", "chunked")
SOUND = {
    "chunked": (head("200 OK", CHUNKED), b"5\r\nhello\r\n0\r\n\r\n", {}),
    "chunk extensions and trailer fields": (
        head("200 OK", CHUNKED),
        b'5;a=b ; c="d;e"\r\nhello\r\n0;z\r\nExpires: never\r\nX-Sum: 1\r\n\r\n',
        {},
    ),
    "gzip, then chunked": (
        head(
            "200 OK",
            ("Transfer-Encoding", "gzip"),
            ("Transfer-Encoding", "Chunked"),
            ("Content-Length", "1"),
        ),
        b"2\r\nhi\r\n0\r\n\r\n",
        {},
    ),
    "chunked cut short, truncated": (
        head("200 OK", CHUNKED),
        b"5\r\nhello\r\n1a;ext\r\nabc",
        {"truncated": True},
    ),
    "chunked cut in a size line, truncated": (
        head("200 OK", CHUNKED),
        b"5\r\nhello\r\n1",
        {"truncated": True},
    ),
    "Content-Length": (head("200 OK", ("Content-Length", "5")), b"hello", {}),
    "a list of one length": (
        head("200 OK", ("Content-Length", "5, 5"), ("Content-Length", "5")),
        b"hello",
        {},
    ),
    "shorter, truncated": (
        head("200 OK", ("Content-Length", "500")),
        b"hello",
        {"truncated": True},
    ),
    "read to the close": (head("200 OK"), b"anything at all", {}),
    "a transfer coding other than chunked last": (
        head("200 OK", ("Transfer-Encoding", "chunked, gzip"), ("Content-Length", "1")),
        b"read to the close",
        {},
    ),
    "an invalid Content-Length frames nothing": (head("200 OK", ("Content-Length", "+5")), b"", {}),
    "a 304 with a Content-Length": (head("304 Not Modified", ("Content-Length", "500")), b"", {}),
    "a 204": (head("204 No Content"), b"", {}),
    "a revisit's head": (head("200 OK", ("Content-Length", "500")), b"", {"revisit": True}),
}
BROKEN = {
    "no last chunk": (
        head("200 OK", CHUNKED),
        b"5\r\nhello\r\n",
        {},
        "chunked framing: the body ends before its last chunk",
    ),
    "no final CRLF": (
        head("200 OK", CHUNKED),
        b"5\r\nhello\r\n0\r\n",
        {},
        "chunked framing: the body ends inside its trailer",
    ),
    "bytes after the last chunk": (
        head("200 OK", CHUNKED),
        b"5\r\nhello\r\n0\r\n\r\nHTTP/1.1",
        {"truncated": True},
        "chunked framing: 8 bytes follow the end of the chunked body",
    ),
    "a size that is not hex": (
        head("200 OK", CHUNKED),
        b"0x5\r\nhello\r\n0\r\n\r\n",
        {"truncated": True},
        "chunked framing: not a chunk size: b'0x5\\r\\n'",
    ),
    "no CRLF after a chunk's data": (
        head("200 OK", CHUNKED),
        b"5\r\nhelloX\r\n0\r\n\r\n",
        {},
        "chunked framing: a chunk's data is followed by b'X\\r', not CRLF",
    ),
    "a bare LF": (
        head("200 OK", CHUNKED),
        b"5\nhello\r\n0\r\n\r\n",
        {},
        "chunked framing: a chunk-size line ends in a bare LF",
    ),
    "not a trailer field": (
        head("200 OK", CHUNKED),
        b"5\r\nhello\r\n0\r\nno colon\r\n\r\n",
        {},
        "chunked framing: not a trailer field: b'no colon\\r\\n'",
    ),
    "shorter than its Content-Length": (
        head("301 Moved", ("Content-Length", "5")),
        b"",
        {},
        "Content-Length says 5, the block holds 0 bytes",
    ),
    "longer, even truncated": (
        head("200 OK", ("Content-Length", "5")),
        b"hello!",
        {"truncated": True},
        "Content-Length says 5, the block holds 6 bytes",
    ),
    "a body after a 304": (
        head("304 Not Modified"),
        b"x",
        {},
        "a 304 response holds 1 byte after its HTTP head, where no body is allowed",
    ),
    "a body in a revisit": (
        head("200 OK"),
        b"hello",
        {"revisit": True},
        "a revisit record holds 5 bytes after its HTTP head, where no body is allowed",
    ),
}


@pytest.mark.parametrize("case", list(SOUND))
def test_sound_framing_holds(case):
    message_head, body, flags = SOUND[case]
    assert flaw(message_head, io.BytesIO(body), **flags) is None


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_framing_is_told(case):
    message_head, body, flags, message = BROKEN[case]
    assert flaw(message_head, io.BytesIO(body), **flags) == message
