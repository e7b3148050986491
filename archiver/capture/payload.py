"""From spooled HTTP body bytes to text: content-coding removed (bounded), charset decoded."""

from __future__ import annotations

import codecs
import itertools
import logging
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from charset_normalizer import from_bytes

log = logging.getLogger(__name__)

_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
READ = 64 * 1024
_MULTIBYTE = frozenset(
    codecs.lookup(e).name
    for e in (
        "utf-8",
        "utf-16",
        "utf-16-le",
        "utf-16-be",
        "utf-32",
        "shift_jis",
        "cp932",
        "euc_jp",
        "iso2022_jp",
        "gb2312",
        "gbk",
        "gb18030",
        "big5",
        "big5hkscs",
        "euc_kr",
        "cp949",
        "johab",
        "hz",
    )
)
# The encodings of the WHATWG Encoding Standard, the only ones browsers know, under Python's names.
# Python knows many more labels ("zlib", "base64", "idna", "undefined"...) that are no text encoding
# or cannot decode arbitrary bytes: a page declaring one of those is read as undeclared, never
# handed to that codec.
_WEB_ENCODINGS = frozenset(
    (
        "utf-8",
        "utf-16",
        "utf-16-le",
        "utf-16-be",
        "cp866",
        "iso8859-2",
        "iso8859-3",
        "iso8859-4",
        "iso8859-5",
        "iso8859-6",
        "iso8859-7",
        "iso8859-8",
        "iso8859-10",
        "iso8859-13",
        "iso8859-14",
        "iso8859-15",
        "iso8859-16",
        "koi8-r",
        "koi8-u",
        "mac-roman",
        "mac-cyrillic",
        "cp874",
        "cp1250",
        "cp1251",
        "cp1252",
        "cp1253",
        "cp1254",
        "cp1255",
        "cp1256",
        "cp1257",
        "cp1258",
        "gbk",
        "gb2312",
        "gb18030",
        "big5",
        "big5hkscs",
        "euc_jp",
        "iso2022_jp",
        "shift_jis",
        "cp932",
        "euc_kr",
        "cp949",
        "iso8859-1",
        "ascii",
        "iso8859-9",
        "iso8859-11",
        "tis-620",
    )
)
# WHATWG labels Python spells otherwise, and labels browsers read as a superset encoding.
_WEB_ALIASES = {
    "windows-874": "cp874",
    "windows-31j": "cp932",
    "x-mac-cyrillic": "mac-cyrillic",
    "iso-8859-8-i": "iso8859-8",
    "unicode-1-1-utf-8": "utf-8",
}
_SUPERSETS = {
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gbk",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
    "big5": "big5hkscs",
}
# Bytes that never occur in text (the WHATWG "binary data bytes"): NUL and most C0 controls.
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")


class CodingDamaged(Exception):
    """A gzip or deflate body that is cut short or corrupt: what it decodes to is not the whole
    page."""


def decode_content(
    path: Path, content_encoding: str | None, limit: int, whole: bool = False
) -> tuple[bytes, bool]:
    """Return the body with its content-coding removed, at most `limit` bytes, and whether it was
    cut.

    Decompression is bounded so a small gzip bomb cannot expand into memory. With `whole`, a coded
    body that is cut short or corrupt before `limit` raises CodingDamaged instead of giving the part
    before the damage.
    """
    coding = content_coding(content_encoding)
    with path.open("rb") as f:
        if coding is not None:
            return _inflate(f, coding, limit, whole)
        data = f.read(limit + 1)
        return data[:limit], len(data) > limit


def content_coding(content_encoding: str | None) -> str | None:
    """The coding `inflate` removes ("gzip", "x-gzip" or "deflate"), or None: the body is used as
    sent."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
        return codings[0]
    if codings:
        log.info("unsupported content-coding %r; using the body as sent", content_encoding)
    return None


def _inflate(f: BinaryIO, coding: str, limit: int, whole: bool) -> tuple[bytes, bool]:
    out = bytearray()
    for piece in inflate(iter(lambda: f.read(READ), b""), coding, limit + 1, whole):
        out += piece
        if len(out) > limit:
            break
    return bytes(out[:limit]), len(out) > limit


def inflate(
    chunks: Iterator[bytes], coding: str, piece: int = READ, whole: bool = False
) -> Iterator[bytes]:
    """Remove a gzip or deflate content-coding, yielding at most `piece` bytes at a time (bounded
    memory).

    A gzip body may hold several members; zero padding after the last is ignored. Corruption, or a
    member cut short, ends the body; with `whole` it then raises CodingDamaged, once everything
    before it is yielded.
    """
    first = next(chunks, b"")
    # 32 + MAX_WBITS accepts gzip and zlib headers; raw deflate (a common server bug) is tried when
    # they fail.
    wbits = 32 + zlib.MAX_WBITS if coding != "deflate" else zlib.MAX_WBITS
    try:
        zlib.decompressobj(wbits).decompress(first[:1024], 1)
    except zlib.error:
        wbits = -zlib.MAX_WBITS
    inflater, done, open_member = zlib.decompressobj(wbits), 0, False
    try:
        for data in itertools.chain([first], chunks):
            while data:
                open_member = True
                out = inflater.decompress(data, piece)
                done += len(out)
                yield out
                data = inflater.unconsumed_tail
                if inflater.eof:
                    data = inflater.unused_data if inflater.unused_data.strip(b"\0") else b""
                    inflater, open_member = zlib.decompressobj(wbits), False  # the next member
    except zlib.error as exc:
        log.info("content-coding %s is corrupt after %d bytes: %s", coding, done, exc)
        if whole:
            raise CodingDamaged(f"corrupt after {done} bytes ({exc})") from None
        return
    if open_member and whole:
        raise CodingDamaged(f"cut short after {done} bytes")


def charset_from_content_type(content_type: str | None) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", content_type or "", re.IGNORECASE)
    return _known(match.group(1)) if match else None


def decode_text(data: bytes, content_type: str | None) -> str:
    """Decode HTML bytes the way browsers do: BOM, then HTTP charset, then <meta>, then detection.

    A declaration the bytes contradict is passed over (the next one, or detection, decides): sites
    often leave a server default in place, such as ISO-8859-1 in the header of a UTF-8 page.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    declared = [e for e in (charset_from_content_type(content_type), _meta_charset(data)) if e]
    for encoding in declared:
        if _fits(data, encoding):
            return _decode(data, encoding)
    if declared:
        log.info("declared charset %s does not fit the bytes; detecting", " then ".join(declared))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _decode(data, _detect(data))


def looks_binary(head: bytes, content_type: str | None = None) -> bool:
    """Whether the start of a body is binary data rather than text, whatever its Content-Type says.

    A stray control character does not make a page binary; one in twenty bytes does (random or
    compressed bytes have one in ten). UTF-16 text has NULs too: a UTF-16 BOM or charset means text.
    """
    sample = head[:1024]
    if not sample or sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if (charset_from_content_type(content_type) or "").startswith("utf-16"):
        return False
    return len(_BINARY.findall(sample)) * 20 > len(sample)


def _fits(data: bytes, encoding: str) -> bool:
    """Whether `data` can be text in the declared `encoding`."""
    if encoding == "utf-8":
        return not _not_utf8(data)
    if encoding.startswith("utf-16"):
        return (
            b"\0" in data[:1024]
        )  # HTML markup is ASCII: in UTF-16 every other byte of it is a NUL
    # Non-ASCII bytes that are valid UTF-8 are, in practice, never text in another encoding by
    # chance.
    return data.isascii() or not _valid_utf8(data)


def _not_utf8(data: bytes) -> bool:
    """Invalid sequences and not one valid non-ASCII character: the bytes are in some other
    encoding."""
    if data.isascii():
        return False
    text = data.decode("utf-8", errors="replace")
    replaced = text.count("\ufffd")
    invalid = replaced - data.count("\ufffd".encode())
    valid = len(text) - len(text.encode("ascii", errors="ignore")) - replaced
    return invalid >= 2 and valid == 0


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode(data: bytes, encoding: str) -> str:
    encoding = _SUPERSETS.get(encoding, encoding)  # what browsers actually use for these labels
    try:
        return data.decode(encoding, errors="replace")
    except (
        UnicodeError,
        LookupError,
    ) as exc:  # a codec that cannot replace: never lose the page over it
        log.info("cannot decode as %s (%s); using windows-1252", encoding, exc)
        return data.decode("cp1252", errors="replace")


def _detect(data: bytes) -> str:
    """Undeclared, not UTF-8: a multi-byte encoding if the detector finds one, else windows-1252.

    Between single-byte code pages, detectors guess poorly on short Western text ("naïve" as cp1250
    "naďve"); windows-1252 is what browsers fall back to, so it wins unless it cannot decode the
    bytes.
    """
    best = from_bytes(data[:200_000]).best()
    guess = codecs.lookup(best.encoding).name if best else "cp1252"
    if guess in _MULTIBYTE:
        return guess
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return guess


def _meta_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    if not match:
        return None
    encoding = _known(match.group(1).decode("ascii"))
    # A <meta> readable as ASCII cannot be UTF-16: the HTML standard reads that declaration as
    # UTF-8.
    return "utf-8" if encoding and encoding.startswith("utf-16") else encoding


def _known(label: str) -> str | None:
    """Python's name of a charset label browsers know, or None."""
    label = label.strip().lower()
    try:
        name = codecs.lookup(_WEB_ALIASES.get(label, label)).name
    except LookupError:
        return None
    return name if name in _WEB_ENCODINGS else None
