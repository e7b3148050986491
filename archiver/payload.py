"""From spooled HTTP body bytes to text: content-coding removed (bounded), charset decoded."""

from __future__ import annotations

import codecs
import logging
import re
import zlib
from pathlib import Path

from charset_normalizer import from_bytes

log = logging.getLogger(__name__)

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
READ = 64 * 1024
_MULTIBYTE = frozenset(codecs.lookup(e).name for e in (
    "utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "shift_jis", "cp932", "euc_jp", "iso2022_jp", "gb2312",
    "gbk", "gb18030", "big5", "big5hkscs", "euc_kr", "cp949", "johab", "hz"))


class BodyTooLarge(Exception):
    pass


def decode_content(path: Path, content_encoding: str | None, limit: int) -> tuple[bytes, bool]:
    """Return the body with its content-coding removed, at most `limit` bytes, and whether it was cut.

    Decompression is bounded so a small gzip bomb cannot expand into memory.
    """
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    with path.open("rb") as f:
        if not codings:
            data = f.read(limit + 1)
            return data[:limit], len(data) > limit
        if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
            log.info("unsupported content-coding %r; using the body as sent", content_encoding)
            data = f.read(limit + 1)
            return data[:limit], len(data) > limit
        return _inflate(f, codings[0], limit)


def _inflate(f, coding: str, limit: int) -> tuple[bytes, bool]:
    # 32 + MAX_WBITS accepts gzip and zlib headers; raw deflate (a common server bug) is retried below.
    wbits = 32 + zlib.MAX_WBITS if coding != "deflate" else zlib.MAX_WBITS
    head = f.read(READ)
    f.seek(0)
    try:
        zlib.decompressobj(wbits).decompress(head[:1024], 1)
    except zlib.error:
        wbits = -zlib.MAX_WBITS
    out = bytearray()
    inflater = zlib.decompressobj(wbits)
    try:
        while len(out) <= limit:
            chunk = inflater.unconsumed_tail or f.read(READ)
            if not chunk:
                break
            out += inflater.decompress(chunk, limit + 1 - len(out))
            if inflater.eof:
                rest = inflater.unused_data + f.read(READ)
                if not rest.strip(b"\0"):
                    break
                inflater = zlib.decompressobj(wbits)  # a gzip stream may have several members
                f.seek(-len(rest), 1)
    except zlib.error as exc:
        log.info("content-coding %s is corrupt after %d bytes: %s", coding, len(out), exc)
    return bytes(out[:limit]), len(out) > limit


def charset_from_content_type(content_type: str | None) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", content_type or "", re.IGNORECASE)
    return _known(match.group(1)) if match else None


def decode_text(data: bytes, content_type: str | None) -> str:
    """Decode HTML bytes the way browsers do: BOM, then HTTP charset, then <meta>, then detection."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace")
    encoding = charset_from_content_type(content_type) or _meta_charset(data)
    if encoding is None:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            encoding = _detect(data)
    if encoding in ("iso8859-1", "ascii", "latin-1"):
        encoding = "cp1252"  # what browsers actually use for these labels
    return data.decode(encoding, errors="replace")


def _detect(data: bytes) -> str:
    """Undeclared, not UTF-8: a multi-byte encoding if the detector finds one, else windows-1252.

    Between single-byte code pages, detectors guess poorly on short Western text ("naïve" as cp1250
    "naďve"); windows-1252 is what browsers fall back to, so it wins unless it cannot decode the bytes.
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
    # A <meta> readable as ASCII cannot be UTF-16: the HTML standard reads that declaration as UTF-8.
    return "utf-8" if encoding and encoding.startswith("utf-16") else encoding


def _known(label: str) -> str | None:
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None
