"""The chunked transfer coding (RFC 9112 §7.1) of a body stored as it came: its payload, a piece at a time.

warcio's ChunkedDataReader stops at trailer fields (it then passes the rest through as data), so a body with a
trailer would read back with the trailer in it. Read leniently, a stored body gives what http.client gave the
fetcher when it came (chunk extensions ignored, the CRLF after a chunk not checked, a body cut short ending where
its bytes do); read strictly, any departure from the grammar is an error, as `verify` wants.
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


def is_chunked(transfer_encoding: str | None) -> bool:
    """Whether a Transfer-Encoding value makes chunked the final coding, which frames the body."""
    return bool(transfer_encoding) and transfer_encoding.rsplit(",", 1)[-1].strip().lower() == "chunked"


def payload(stream: BinaryIO, strict: bool = False) -> Iterator[bytes]:
    """The chunk data of the chunked body in `stream`, in pieces of at most 64 KiB."""
    while True:
        size = _size(stream.readline(MAX_LINE + 1), strict)
        if size is None:
            return
        if size == 0:
            break
        yield from _data(stream, size, strict)
        end = stream.read(2)
        if strict and end != b"\r\n":
            raise ChunkedError(f"a chunk's data is followed by {end!r}, not CRLF")
    _trailer(stream, strict)
    if strict and stream.read(1):
        raise ChunkedError("bytes follow the end of the chunked body")


def _size(line: bytes, strict: bool) -> int | None:
    """The chunk size a line gives; None when the body ends here (leniently: cut short or malformed)."""
    if not line.endswith(b"\n"):
        if strict:
            raise ChunkedError("the body ends before its last chunk" if not line else "a chunk-size line never ends")
        return None
    digits = line.split(b";", 1)[0].strip()
    if not _SIZE.fullmatch(digits):
        if strict:
            raise ChunkedError(f"not a chunk size: {line[:40]!r}")
        return None
    if strict and not line.endswith(b"\r\n"):
        raise ChunkedError("a chunk-size line ends in a bare LF")
    return int(digits, 16)


def _data(stream: BinaryIO, size: int, strict: bool) -> Iterator[bytes]:
    while size:
        piece = stream.read(min(size, PIECE))
        if not piece:
            if strict:
                raise ChunkedError(f"the body ends {size} bytes into a chunk's data")
            return
        size -= len(piece)
        yield piece


def _trailer(stream: BinaryIO, strict: bool) -> None:
    """Read the trailer fields up to the blank line that ends the body."""
    while True:
        line = stream.readline(MAX_LINE + 1)
        if line == b"\r\n" or (line == b"\n" and not strict):
            return
        if not line.endswith(b"\n") or (strict and (b":" not in line or not line.endswith(b"\r\n"))):
            if strict:
                raise ChunkedError("the trailer never ends" if not line else f"not a trailer field: {line[:40]!r}")
            return
