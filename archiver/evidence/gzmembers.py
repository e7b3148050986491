"""The gzip members of a `.warc.gz` file, each decompressed in full, with damage located.

warcio stops quietly at a gzip member cut short (a missing trailer is never noticed, so `warcio
check` passes a truncated file); zlib checks every member's CRC-32 and length, so a flipped bit or a
cut is found.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 64 * 1024  # small: the bytes after a member's end are copied once per member
SALVAGE_STEP = 64
GZIP = 16 + zlib.MAX_WBITS  # wbits for a gzip header and trailer (CRC-32 and length checked)
TARGET_URI = re.compile(rb"\r\nWARC-Target-URI: ?([^\r\n]*)\r\n", re.IGNORECASE)


@dataclass(frozen=True)
class Member:
    """One gzip member at `offset` and its decompressed `data`; for a damaged member, the `error`
    that stopped decompression and the data decompressed before it."""

    offset: int
    length: int  # compressed bytes read (for a damaged member: up to where the damage was found)
    data: bytes
    error: str | None = None

    @property
    def target_uri(self) -> str | None:
        """The WARC-Target-URI in the record's headers, found without parsing them: they may be cut
        short, and finding a page's records among thousands needs no more."""
        match = TARGET_URI.search(self.data, 0, 65536)
        return match.group(1).decode("utf-8", "replace").strip() if match else None


def members(f: BinaryIO, resume_at: Iterable[int] = ()) -> Iterator[Member]:
    """Every member of `f` in order. After a damaged member, scanning resumes at the next offset of
    `resume_at` (known record starts) beyond it, if any: one damaged record does not hide the
    others."""
    starts = sorted(set(resume_at))
    offset = 0
    while True:
        member = _member(f, offset)
        if member is None:
            return
        yield member
        if member.error is None:
            offset += member.length
            continue
        later = [s for s in starts if s > member.offset]
        if not later:
            return
        offset = later[0]


def _member(f: BinaryIO, offset: int) -> Member | None:
    """The member starting at `offset`; None at the end of the file."""
    f.seek(offset)
    chunk = f.read(CHUNK)
    if not chunk:
        return None
    inflater = zlib.decompressobj(GZIP)
    parts: list[bytes] = []
    consumed = 0
    before = inflater
    try:
        while True:
            before = inflater.copy()  # to recover what the chunk held before its damage
            parts.append(inflater.decompress(chunk))
            if inflater.eof:
                consumed += len(chunk) - len(inflater.unused_data)
                return Member(offset, consumed, b"".join(parts))
            consumed += len(chunk)
            chunk = f.read(CHUNK)
            if not chunk:
                return Member(
                    offset,
                    consumed,
                    b"".join(parts),
                    f"truncated: the file ends inside the gzip member "
                    f"at offset {offset} (a record cut short)",
                )
    except zlib.error as exc:
        return Member(
            offset,
            consumed,
            b"".join(parts) + _before_damage(before, chunk),
            f"corrupt gzip member at offset {offset}: {exc}",
        )


def _before_damage(inflater: zlib._Decompress, chunk: bytes) -> bytes:
    """What `chunk` decompresses to up to its damage, fed in small steps (one call would give
    nothing): the record's headers, which name its page."""
    out = []
    try:
        for start in range(0, len(chunk), SALVAGE_STEP):
            out.append(inflater.decompress(chunk[start : start + SALVAGE_STEP]))
    except zlib.error:
        pass  # the damage: what came before it is all there is
    return b"".join(out)
