"""Whether an HTTP response's framing holds over the body bytes stored for it (RFC 9112 §6.3).

A WARC record can pass every digest check while its HTTP block lies about its own length: a head saying
`Content-Length: 5` over no body, a chunked body without its last chunk. A replay tool that serves the block raw
trusts the head and waits for bytes that never come, or reads the next message as this one. So the framing the head
declares is checked against the bytes stored, which are read a piece at a time (a body can be large):

- no body allowed (1xx, 204, 304, and a revisit record, whose block holds the head only): nothing after the head;
- `Transfer-Encoding` with chunked last: the body parses as chunked to its end, and nothing follows;
- otherwise a `Content-Length` (a list of one number repeated is that number) equals the bytes stored;
- otherwise the body is delimited by the connection's close: any length is its length.

A record marked `WARC-Truncated` may stop early (shorter than declared, chunking cut off), never run longer.

The chunked grammar is h11's (strict: hex sizes, the CRLF after each chunk's data, trailer fields). warcio's
`ChunkedDataReader` cannot tell sound from broken: it rejects trailer fields and chunk extensions longer than
60 bytes, reads `0x5` or `+5` as a size, and says nothing of bytes after the last chunk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

import h11
from warcio.statusandheaders import StatusAndHeaders

_DIGITS = re.compile(r"[0-9]{1,18}")  # ASCII digits only (int() takes "+5" and other scripts' digits)
# A chunk-size line or the trailer section h11 holds while it waits for its end. Generous: chunk extensions and
# trailers have no limit in the RFC, and a sound record must never be reported.
LONGEST_LINE = 1 << 20
MESSAGE = 120  # characters of a parse error quoted: the bytes quoted are the server's
_BYTEARRAY = re.compile(r"bytearray\((b'.*?')\)")  # h11 quotes bytes as bytearray(b'...')


class Framing(Protocol):
    """The framing of one message, fed the stored body a piece at a time."""

    def feed(self, piece: bytes) -> None: ...

    def end(self) -> str | None:
        """What is wrong with the body fed, or None when its framing holds."""


def content_length(values: list[str]) -> int | None:
    """The length the Content-Length header lines frame, or None when they frame none: no header, a value that is
    not ASCII digits, or a list of different numbers (RFC 9112 §6.3: a message that cannot be framed)."""
    numbers = {n.strip() for value in values for n in value.split(",")}
    if not numbers or not all(_DIGITS.fullmatch(n) for n in numbers) or len({int(n) for n in numbers}) > 1:
        return None
    return int(numbers.pop())


def is_chunked(transfer_encodings: list[str]) -> bool:
    """Whether the last transfer coding of the Transfer-Encoding header lines is chunked."""
    codings = [c.strip().lower() for value in transfer_encodings for c in value.split(",") if c.strip()]
    return bool(codings) and codings[-1] == "chunked"


def framing(head: StatusAndHeaders, revisit: bool = False, truncated: bool = False) -> Framing:
    """The framing `head` (a response's status line and headers) declares for the body stored after it."""
    status = _status(head)
    if revisit:
        return _Empty("a revisit record")
    if status is not None and (100 <= status < 200 or status in (204, 304)):
        return _Empty(f"a {status} response")
    encodings = _values(head, "Transfer-Encoding")
    if encodings:
        return _Chunked(truncated) if is_chunked(encodings) else _Unframed()
    length = content_length(_values(head, "Content-Length"))
    # No length (delimited by the close), or an invalid one: archiver keeps such an answer's head alone, as a
    # failed check, since no reader can tell where its body ends.
    return _Unframed() if length is None else _Length(length, truncated)


def flaw(head: StatusAndHeaders, body: Iterable[bytes], revisit: bool = False, truncated: bool = False) -> str | None:
    """What is wrong with the framing of `body` under `head`, or None when it holds."""
    check = framing(head, revisit, truncated)
    for piece in body:
        check.feed(piece)
    return check.end()


def _status(head: StatusAndHeaders) -> int | None:
    code = head.get_statuscode()
    return int(code) if code and code.isascii() and code.isdigit() else None


def _values(head: StatusAndHeaders, name: str) -> list[str]:
    name = name.lower()
    return [value for key, value in head.headers if key.lower() == name]


class _Unframed:
    """Delimited by the connection's close: whatever is stored is the body."""

    def feed(self, piece: bytes) -> None:
        pass

    def end(self) -> str | None:
        return None


class _Empty:
    def __init__(self, what: str) -> None:
        self.what = what
        self.length = 0

    def feed(self, piece: bytes) -> None:
        self.length += len(piece)

    def end(self) -> str | None:
        if self.length:
            return f"{self.what} holds {_bytes(self.length)} after its HTTP head, where no body is allowed"
        return None


class _Length:
    def __init__(self, declared: int, truncated: bool) -> None:
        self.declared = declared
        self.truncated = truncated
        self.length = 0

    def feed(self, piece: bytes) -> None:
        self.length += len(piece)

    def end(self) -> str | None:
        if self.length == self.declared or (self.truncated and self.length < self.declared):
            return None
        return f"Content-Length says {self.declared}, the block holds {_bytes(self.length)}"


class _Chunked:
    """A chunked body parsed by h11's client side, as the answer to a request it is told was sent."""

    def __init__(self, truncated: bool) -> None:
        self.truncated = truncated
        self.parser = h11.Connection(h11.CLIENT, max_incomplete_event_size=LONGEST_LINE)
        self.parser.send(h11.Request(method="GET", target="/", headers=[("Host", "archive")]))
        self.parser.send(h11.EndOfMessage())
        # Only the framing is judged: the stored head's other fields are the server's business.
        self.parser.receive_data(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        self.parser.next_event()
        self.fed = 0
        self.ended_at: int | None = None  # bytes fed when the last chunk and trailer section had ended
        self.error: str | None = None

    def feed(self, piece: bytes) -> None:
        if self.error is not None or self.ended_at is not None:
            self.fed += len(piece)
            return
        self.fed += len(piece)
        self.parser.receive_data(piece)
        try:
            while (event := self.parser.next_event()) is not h11.NEED_DATA:
                if isinstance(event, h11.EndOfMessage):
                    self.ended_at = self.fed - len(self.parser.trailing_data[0])
                    return
        except h11.ProtocolError as exc:
            self.error = _BYTEARRAY.sub(r"\1", str(exc))[:MESSAGE]

    def end(self) -> str | None:
        if self.error is not None:
            return f"the chunked body is malformed: {self.error}"
        if self.ended_at is None:
            return None if self.truncated else "the chunked body stops before its last chunk and final CRLF"
        if self.fed > self.ended_at:
            return f"{_bytes(self.fed - self.ended_at)} follow the end of the chunked body"
        return None


def _bytes(count: int) -> str:
    return f"{count} byte{'' if count == 1 else 's'}"
