"""Whether an HTTP response's framing holds over the body bytes stored for it (RFC 9112 §6.3).

A WARC record can pass every digest check while its HTTP block lies about its own length: a head
saying `Content-Length: 5` over no body, a chunked body without its last chunk. A replay tool that
serves the block raw trusts the head and waits for bytes that never come, or reads the next message
as this one. So the framing the head declares is checked against the bytes stored, read a piece at a
time (a body can be large):

- no body allowed (1xx, 204, 304, and a revisit record, whose block holds the head only): nothing after the head;
- `Transfer-Encoding` with chunked last: the body parses as chunked to its end (chunked.py), and nothing follows;
- otherwise a `Content-Length` (a list of one number repeated is that number) equals the bytes stored;
- otherwise the body is delimited by the connection's close: any length is its length.

A record marked `WARC-Truncated` may stop early (shorter than declared, chunking cut off), never run
longer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from warcio.statusandheaders import StatusAndHeaders

from . import chunked
from .chunked import ChunkedCut, ChunkedError, is_chunked

_DIGITS = re.compile(
    r"[0-9]{1,18}"
)  # ASCII digits only (int() takes "+5" and other scripts' digits)


class Framed:
    """The body stored after an HTTP response's `head` in `stream`: iterate it for its payload (the
    transfer coding removed, as `warc.entity` reads it), then `flaw()` says whether its framing
    held."""

    def __init__(
        self,
        head: StatusAndHeaders,
        stream: BinaryIO,
        revisit: bool = False,
        truncated: bool = False,
    ) -> None:
        self.stream = stream
        self.truncated = truncated
        # bytes stored after the head (for a chunked body: its framing's, once `flaw` has read on)
        self.length = 0
        self.departures: list[ChunkedError] = []
        status = _status(head)
        self.forbidden = (
            "a revisit record"
            if revisit
            else (
                f"a {status} response"
                if status is not None and (100 <= status < 200 or status in (204, 304))
                else None
            )
        )
        encodings = _values(head, "Transfer-Encoding")
        self.chunked = bool(encodings) and is_chunked(", ".join(encodings))
        # A transfer coding other than chunked last is delimited by the close; so is an invalid
        # Content-Length, which archiver keeps as the head alone, a failed check, since no reader
        # can tell where its body ends.
        self.declared = None if encodings else content_length(_values(head, "Content-Length"))

    def __iter__(self) -> Iterator[bytes]:
        if self.chunked and self.forbidden is None:
            yield from chunked.payload(self.stream, flaws=self.departures)
            return
        for piece in iter(lambda: self.stream.read(chunked.PIECE), b""):
            self.length += len(piece)
            yield piece

    def flaw(self) -> str | None:
        """What is wrong with the framing of the body, read to the end of the stream; None when it
        holds."""
        after = sum(len(piece) for piece in iter(lambda: self.stream.read(chunked.PIECE), b""))
        if self.forbidden is not None:
            stored = self.length + after
            return (
                f"{self.forbidden} holds {_bytes(stored)} after its HTTP head, where no body is allowed"
                if stored
                else None
            )
        if self.chunked:
            return self._chunked_flaw(after)
        stored = self.length + after
        if (
            self.declared is None
            or stored == self.declared
            or (self.truncated and stored < self.declared)
        ):
            return None
        return f"Content-Length says {self.declared}, the block holds {_bytes(stored)}"

    def _chunked_flaw(self, after: int) -> str | None:
        broken = [d for d in self.departures if not isinstance(d, ChunkedCut)]
        if broken:
            return f"chunked framing: {broken[0]}"
        if self.departures:
            return None if self.truncated else f"chunked framing: {self.departures[0]}"
        if after:
            return f"chunked framing: {_bytes(after)} follow the end of the chunked body"
        return None


def content_length(values: list[str]) -> int | None:
    """The length the Content-Length header lines frame, or None when they frame none: no header, a
    value that is not ASCII digits, or a list of different numbers (RFC 9112 §6.3: a message that
    cannot be framed)."""
    numbers = {n.strip() for value in values for n in value.split(",")}
    if (
        not numbers
        or not all(_DIGITS.fullmatch(n) for n in numbers)
        or len({int(n) for n in numbers}) > 1
    ):
        return None
    return int(numbers.pop())


def flaw(
    head: StatusAndHeaders, stream: BinaryIO, revisit: bool = False, truncated: bool = False
) -> str | None:
    """What is wrong with the framing of the body stored after `head` in `stream`, or None when it
    holds."""
    body = Framed(head, stream, revisit, truncated)
    for _piece in body:
        pass
    return body.flaw()


def _status(head: StatusAndHeaders) -> int | None:
    code = head.get_statuscode()
    return int(code) if code and code.isascii() and code.isdigit() else None


def _values(head: StatusAndHeaders, name: str) -> list[str]:
    name = name.lower()
    return [value for key, value in head.headers if key.lower() == name]


def _bytes(count: int) -> str:
    return f"{count} byte{'' if count == 1 else 's'}"
