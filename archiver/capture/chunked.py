"""The chunked transfer coding (RFC 9112 §7.1) of a body stored as it came: its payload, a piece at
a time.

warcio's ChunkedDataReader stops at trailer fields (it then passes the rest through as data), so a
body with a trailer would read back with the trailer in it. Read leniently, a stored body gives what
http.client gave the fetcher when it came (chunk extensions ignored, the CRLF after a chunk not
checked, a body cut short ending where its bytes do); read strictly, any departure from the grammar
is an error. `verify` reads leniently, for the payload its digest names, and has each departure
noted on the way (`flaws`): a body cut short (`ChunkedCut`) is sound in a capture cut short, any
other departure never is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

MAX_LINE = 65536  # http.client's own limit on a chunk-size or trailer line
PIECE = 1 << 16
_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


class ChunkedError(ValueError):
    """A chunked body that breaks the grammar or ends before its last chunk."""


class ChunkedCut(ChunkedError):
    """A chunked body that ends early: its bytes stop before the end the grammar asks for."""


class _Departures:
    """What a read does at a departure from the grammar: raise it (strict), or note it in `flaws`
    and read on as http.client does."""

    def __init__(self, strict: bool, flaws: list[ChunkedError] | None) -> None:
        self.strict = strict
        self.flaws = flaws

    def __call__(self, error: ChunkedError) -> None:
        if self.strict:
            raise error
        if self.flaws is not None:
            self.flaws.append(error)


def is_chunked(transfer_encoding: str | None) -> bool:
    """Whether a Transfer-Encoding value makes chunked the final coding, which frames the body."""
    return (
        transfer_encoding is not None
        and transfer_encoding.rsplit(",", 1)[-1].strip().lower() == "chunked"
    )


def payload(
    stream: BinaryIO, strict: bool = False, flaws: list[ChunkedError] | None = None
) -> Iterator[bytes]:
    """The chunk data of the chunked body in `stream`, in pieces of at most 64 KiB; read leniently,
    each departure from the grammar is appended to `flaws` (if given). The bytes after the body's
    end are left in `stream`."""
    depart = _Departures(strict, flaws)
    while True:
        size = _size(stream.readline(MAX_LINE + 1), depart)
        if size is None:
            return
        if size == 0:
            break
        yield from _data(stream, size, depart)
        end = stream.read(2)
        if end != b"\r\n":
            cut = len(end) < 2 and b"\r\n".startswith(end)
            depart(
                (ChunkedCut if cut else ChunkedError)(
                    f"a chunk's data is followed by {end!r}, not CRLF"
                )
            )
    _trailer(stream, depart)
    if strict and stream.read(1):
        raise ChunkedError("bytes follow the end of the chunked body")


def size_of(line: bytes) -> int | None:
    """The size a whole chunk-size line gives (hex digits, then any `;extension`), or None when it
    gives none: http.client reads it with int(…, 16), which also takes `0x1a6`, `+5`, ` 5` and `1_0`
    — sizes another reader would take otherwise, so that two readers would disagree on where the
    chunk ends."""
    digits = line.split(b";", 1)[0].strip()
    return int(digits, 16) if _SIZE.fullmatch(digits) else None


def _size(line: bytes, depart: _Departures) -> int | None:
    """The chunk size a line gives; None when the body ends here (leniently: cut short or
    malformed)."""
    if not line.endswith(b"\n"):
        if not line:
            depart(ChunkedCut("the body ends before its last chunk"))
        else:
            depart(
                ChunkedCut("the body ends inside a chunk-size line")
                if len(line) <= MAX_LINE
                else ChunkedError("a chunk-size line never ends")
            )
        return None
    size = size_of(line)
    if size is None:
        depart(ChunkedError(f"not a chunk size: {line[:40]!r}"))
        return None
    if not line.endswith(b"\r\n"):
        depart(ChunkedError("a chunk-size line ends in a bare LF"))
    return size


def _data(stream: BinaryIO, size: int, depart: _Departures) -> Iterator[bytes]:
    while size:
        piece = stream.read(min(size, PIECE))
        if not piece:
            depart(ChunkedCut(f"the body ends {size} bytes into a chunk's data"))
            return
        size -= len(piece)
        yield piece


def _trailer(stream: BinaryIO, depart: _Departures) -> None:
    """Read the trailer fields up to the blank line that ends the body."""
    while True:
        line = stream.readline(MAX_LINE + 1)
        if line == b"\r\n":
            return
        if line == b"\n":
            depart(ChunkedError("the trailer ends in a bare LF"))
            return
        if not line.endswith(b"\n"):
            depart(
                ChunkedCut("the body ends inside its trailer")
                if len(line) <= MAX_LINE
                else ChunkedError(f"not a trailer field: {line[:40]!r}")
            )
            return
        if b":" not in line or not line.endswith(b"\r\n"):
            depart(ChunkedError(f"not a trailer field: {line[:40]!r}"))
