"""WARC files and records: the only writer of WARC bytes.

Records are built by hand with warcio's WARCWriter (ARCHITECTURE.md says why not `capture_http`).
A run writes one gzipped WARC/1.1 file, named `.open` until it is closed and renamed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date, iso_date_to_datetime
from warcio.warcwriter import WARCWriter

from ..capture import chunked
from ..capture.chunked import is_chunked
from ..capture.exchange import Capture, Exchange
from ..capture.payload import content_coding, inflate
from ..storage.atomic import fsync_dir, naming
from ..storage.meta import WarcRef
from ..storage.state import PayloadRecord
from ..storage.store import WARCS
from . import provenance

log = logging.getLogger(__name__)

OPEN_SUFFIX = ".open"
# A page's metadata record is named for the page in a scheme of its own, as Browsertrix names its
# `urn:pageinfo:` records: replay tools look records up by URI, and would serve the metadata as the
# page. Older archives wrote `metadata:` and the page's URL.
METADATA_URIS = ("urn:archiver:metadata:", "metadata:")
# The connection record beside an HTTPS response (`provenance.py`), named the same way.
CONNECTION_URI = "urn:archiver:connection:"
NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
IDENTICAL_PAYLOAD = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
# Ours (a tag: URI, RFC 4151; WARC 1.1 lets a reader skip a profile it does not know): other bytes,
# whose normalized text, cited links and stable facts are those of the version whose record it
# refers to. Its WARC-Payload-Digest is that of the bytes received, which are not kept: an
# identical-payload revisit would say they were the same.
IDENTICAL_TEXT = "tag:archiver,2026:revisit/identical-text"


class RawHead(StatusAndHeaders):
    """An HTTP head written as the bytes that passed on the wire, never re-serialized from parsed
    headers.

    warcio would rebuild it from its parse: `a:b` as `a: b`, obs-fold lines joined, bare LF as CRLF,
    non-ASCII %-encoded. The record is evidence of what was sent and received, so the bytes are
    written as they are.
    """

    def __init__(self, raw: bytes) -> None:
        super().__init__("", [])
        self.raw = raw

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        self.headers_buff = self.raw

    def __bool__(
        self,
    ) -> bool:  # warcio writes a head only when it is true: an empty parse would be false
        return bool(self.raw)


@dataclass(frozen=True)
class RecordRef:
    """Where a version's evidence lives: a record in a WARC file of the archive."""

    file: str  # path relative to the archive root
    offset: int  # of the record's gzip member
    record_id: str
    payload_digest: str
    target_uri: str
    date: str = ""  # WARC-Date of the record
    refers_to: dict[str, object] | None = None  # for a revisit: the record that holds the payload

    def as_record(self) -> PayloadRecord:
        return PayloadRecord(
            uri=self.target_uri,
            date=self.date,
            file=self.file,
            offset=self.offset,
            record_id=self.record_id,
        )

    def as_dict(self) -> WarcRef:
        return cast(WarcRef, {k: v for k, v in asdict(self).items() if v is not None})


@dataclass(frozen=True)
class _Output:
    """The file a `WarcFile` writes: all there from its first record until `close()`."""

    relpath: Path  # relative to the archive root, without OPEN_SUFFIX
    file: io.BufferedWriter
    writer: WARCWriter
    info_id: str  # the warcinfo record's ID, named by every record after it


class WarcFile:
    """One run's WARC file; created on the first record, finalized by `close()`."""

    def __init__(
        self,
        root: Path,
        prefix: str,
        started: datetime,
        info: dict[str, str],
        base: str = WARCS,
        serial: int = 0,
    ) -> None:
        self.root = root
        self.base = base
        self.prefix = prefix
        self.started = started
        self.info = info
        self.serial = serial  # the first serial number tried for the file's name
        self.relpath: Path | None = None  # once the first record is written
        self._out: _Output | None = None

    @property
    def folder(self) -> Path:
        return Path(self.base, f"{self.started:%Y}", f"{self.started:%m}")

    def name(self, serial: int) -> str:
        return f"{self.prefix}-{self.started:%Y%m%d%H%M%S}-{serial:05d}.warc.gz"

    def taken(self, serial: int) -> bool:
        """A file of this name exists, open or closed."""
        path = self.root / self.folder / self.name(serial)
        return path.exists() or Path(str(path) + OPEN_SUFFIX).exists()

    @property
    def open_path(self) -> Path:
        assert self.relpath is not None
        return self.root / (str(self.relpath) + OPEN_SUFFIX)

    def _open(self) -> _Output:
        if self._out is not None:
            return self._out
        folder = self.folder
        (self.root / folder).mkdir(parents=True, exist_ok=True)
        for serial in range(self.serial, 100000):
            name = self.name(serial)
            self.relpath = folder / name
            try:
                # "x" mode: two runs (or a leftover file) never share a file.
                file = self.open_path.open("xb")
            except FileExistsError:
                continue
            if (self.root / self.relpath).exists():
                file.close()
                self.open_path.unlink()
                continue
            break
        writer = WARCWriter(file, gzip=True, warc_version="1.1")
        record = writer.create_warcinfo_record(name, self.info)
        self._out = _Output(
            folder / name, file, writer, record.rec_headers.get_header("WARC-Record-ID")
        )
        with naming(self.open_path):  # a write that fails (a full disk) names no file of itself
            writer.write_record(record)
        return self._out

    def write_capture(
        self,
        capture: Capture,
        metadata: dict[str, list[str]] | None = None,
        duplicate_of: Callable[[str], PayloadRecord | None] | None = None,
    ) -> RecordRef:
        """Write every exchange of `capture` (redirect hops first); return the final response's ref.

        When `duplicate_of` finds the final payload already archived, the final exchange is written
        as an identical-payload-digest revisit pointing at that record, not stored again.
        """
        ref = None
        self._open()
        with naming(self.open_path):
            for i, exchange in enumerate(capture.exchanges):
                last = i == len(capture.exchanges) - 1
                original = (
                    duplicate_of(exchange.payload_digest)
                    if last and duplicate_of and exchange.body_length
                    else None
                )
                ref = self._write_exchange(
                    exchange, (original, IDENTICAL_PAYLOAD) if original else None, connection=True
                )
            assert ref is not None, "a capture with no exchange has nothing to write"
            if metadata:
                self._write_metadata(ref, metadata)
        return ref

    def write_exchanges(self, capture: Capture) -> list[RecordRef]:
        """Every exchange of `capture` as it came, each response with its request and connection
        record, nothing deduplicated: a worker's segment, from which a distributed run writes what
        it keeps."""
        self._open()
        with naming(self.open_path):
            return [
                self._write_exchange(exchange, connection=True) for exchange in capture.exchanges
            ]

    def write_revisit(self, capture: Capture, original: PayloadRecord, profile: str) -> RecordRef:
        """A check that found the version `original` holds: redirect hops as they came, then the
        final answer as a revisit of `original` with `profile` (NOT_MODIFIED for a 304,
        IDENTICAL_PAYLOAD, IDENTICAL_TEXT)."""
        ref = None
        self._open()
        with naming(self.open_path):
            for exchange in capture.exchanges:
                final = exchange is capture.exchanges[-1]
                ref = self._write_exchange(exchange, (original, profile) if final else None)
        assert ref is not None
        return ref

    def _write_exchange(
        self,
        exchange: Exchange,
        revisit: tuple[PayloadRecord, str] | None = None,
        connection: bool = False,
    ) -> RecordRef:
        """The response (or, with `revisit`, a revisit of its record with its profile) and its
        request, each block the bytes as they passed; with `connection`, the connection record of
        an HTTPS answer after them. A confirmation keeps none: its certificate chain would cost
        some kilobytes of git at every check of every page."""
        out = self._open()
        writer = out.writer
        original = revisit[0] if revisit else None
        date = _warc_date(exchange.started)
        warc_headers = {"WARC-Date": date, "WARC-Warcinfo-ID": out.info_id}
        if exchange.peer_ip:
            warc_headers["WARC-IP-Address"] = exchange.peer_ip
        if exchange.truncated:
            warc_headers["WARC-Truncated"] = exchange.truncated
        if exchange.payload_digest:
            warc_headers["WARC-Payload-Digest"] = exchange.payload_digest  # computed while spooling
        if revisit is not None:
            original, profile = revisit
            warc_headers.update(
                {
                    "WARC-Profile": profile,
                    "WARC-Refers-To": original.record_id,
                    "WARC-Refers-To-Target-URI": original.uri,
                    "WARC-Refers-To-Date": original.date,
                }
            )
            if profile == NOT_MODIFIED:
                warc_headers.pop("WARC-Payload-Digest", None)
        body = exchange.framed or exchange.body
        stream = body.open("rb") if body is not None and original is None else io.BytesIO()
        with stream:
            length = (
                os.fstat(stream.fileno()).st_size if isinstance(stream, io.BufferedReader) else 0
            )
            response = writer.create_warc_record(
                exchange.url,
                "revisit" if original else "response",
                payload=stream,
                length=length,
                warc_content_type="application/http; msgtype=response",
                warc_headers_dict=warc_headers,
                http_headers=RawHead(exchange.head),
            )
            offset = out.file.tell()
            writer.write_record(response)
        response_id = response.rec_headers.get_header("WARC-Record-ID")
        request = writer.create_warc_record(
            exchange.url,
            "request",
            warc_content_type="application/http; msgtype=request",
            warc_headers_dict={
                "WARC-Date": date,
                "WARC-Warcinfo-ID": out.info_id,
                "WARC-Concurrent-To": response_id,
            },
            http_headers=RawHead(exchange.request),
        )
        writer.write_record(request)
        facts = provenance.fields(exchange) if connection else None
        if facts:
            self._write_fields(CONNECTION_URI + exchange.url, response_id, date, facts)
        refers_to = None
        if original is not None:
            refers_to = {
                "file": original.file,
                "offset": original.offset,
                "record_id": original.record_id,
                "target_uri": original.uri,
                "date": original.date,
            }
        return RecordRef(
            file=out.relpath.as_posix(),
            offset=offset,
            record_id=response_id,
            payload_digest=exchange.payload_digest
            or response.rec_headers.get_header("WARC-Payload-Digest")
            or "",
            target_uri=exchange.url,
            date=date,
            refers_to=refers_to,
        )

    def _write_metadata(self, ref: RecordRef, fields: dict[str, list[str]]) -> None:
        # Its own URI: replay tools would otherwise index the metadata as the page itself.
        pairs = [(key, value) for key, values in fields.items() for value in values]
        self._write_fields(METADATA_URIS[0] + ref.target_uri, ref.record_id, ref.date, pairs)

    def _write_fields(self, uri: str, about: str, date: str, fields: list[tuple[str, str]]) -> None:
        """A metadata record of WARC-fields about the record `about`, written at its date. As
        application/warc-fields, CDXJ indexers (pywb's, cdxj-indexer) leave it out of the index."""
        data = "".join(f"{key}: {value}\r\n" for key, value in fields).encode("utf-8")
        out = self._open()
        record = out.writer.create_warc_record(
            uri,
            "metadata",
            payload=io.BytesIO(data),
            length=len(data),
            warc_content_type="application/warc-fields",
            warc_headers_dict={
                "WARC-Date": date,
                "WARC-Warcinfo-ID": out.info_id,
                "WARC-Refers-To": about,
                "WARC-Concurrent-To": about,
            },
        )
        out.writer.write_record(record)

    def close(self) -> Path | None:
        """Flush, fsync and rename to the final name; return the relative path, or None if
        unused."""
        out = self._out
        if out is None:
            return None
        with naming(self.open_path):
            out.file.flush()
            os.fsync(out.file.fileno())
            out.file.close()
        self.open_path.replace(self.root / out.relpath)
        fsync_dir(self.open_path.parent)
        self._out = None
        log.debug("closed %s", out.relpath)
        return out.relpath

    def abort(self) -> None:
        """Close an unfinished file, leaving it `.open`: recovery sets it aside, as after a
        crash."""
        if self._out is not None:
            try:
                self._out.file.close()
            # The buffer's last bytes cannot be written (a full disk): the error is being raised.
            except OSError:
                log.debug("could not flush the end of %s", self.open_path, exc_info=True)
            self._out = None


def read_payload(root: Path, ref: Mapping[str, Any]) -> bytes:
    """The body of the response record `ref` (from meta.json), content-coding removed: the page
    itself.

    A revisit's payload is read from the record it refers to.
    """
    out = io.BytesIO()
    copy_payload(root, ref, out)
    return out.getvalue()


def copy_payload(root: Path, ref: Mapping[str, Any], out: BinaryIO) -> None:
    """`read_payload` into `out`, a piece at a time: a gzip bomb's payload never sits in memory
    whole.

    The content-coding is removed by `payload.inflate`, not warcio, which stops after a gzip body's
    first member.
    """
    if ref.get("refers_to"):
        return copy_payload(root, ref["refers_to"], out)
    with (root / ref["file"]).open("rb") as f:
        record = _record_at(f, ref)
        chunks = entity(record)
        coding = content_coding(
            record.http_headers.get_header("Content-Encoding") if record.http_headers else None
        )
        if coding is not None:
            chunks = inflate(chunks, coding)
        for piece in chunks:
            out.write(piece)
    return None


def read_response(root: Path, ref: Mapping[str, Any], body: Path) -> Exchange:
    """The response record `ref` (from meta.json) as the `Exchange` it was written from, its payload
    (content-coded, de-chunked) copied to `body`; the request side is left empty.

    A revisit has its own status line and headers, and the payload of the record it refers to.
    """
    with (root / ref["file"]).open("rb") as f:
        record = _record_at(f, ref)
        if not ref.get("refers_to"):
            with body.open("wb") as out:
                for piece in entity(record):
                    out.write(piece)
    if ref.get("refers_to"):
        read_response(root, ref["refers_to"], body)
    http, warc_headers = record.http_headers, record.rec_headers
    return Exchange(
        url=warc_headers.get_header("WARC-Target-URI"),
        started=iso_date_to_datetime(warc_headers.get_header("WARC-Date")).replace(tzinfo=UTC),
        request=b"",
        head=http.headers_buff or b"",
        http_version=http.protocol,
        status=int(http.get_statuscode()),
        reason=http.statusline.partition(" ")[2],
        headers=list(http.headers),
        body=body,
        body_length=body.stat().st_size,
        payload_digest=warc_headers.get_header("WARC-Payload-Digest") or "",
        truncated=warc_headers.get_header("WARC-Truncated"),
    )


# Records a capture writes after an answer, before its connection record: its request.
CONNECTION_WITHIN = 3


def read_connection(
    root: Path, ref: Mapping[str, Any]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The answer record `ref` (from meta.json): its target URI, date and WARC-IP-Address, the
    offset of its connection record, and that record's fields (`provenance.py`), empty when it has none (plain HTTP, or
    written before connection records were)."""
    with (root / ref["file"]).open("rb") as f:
        records, record = _records_at(f, ref)
        headers = record.rec_headers
        answer = {
            "target_uri": headers.get_header("WARC-Target-URI"),
            "date": headers.get_header("WARC-Date"),
            "ip": headers.get_header("WARC-IP-Address"),
            "file": ref["file"],
            "offset": None,
        }
        for _, after in zip(range(CONNECTION_WITHIN), records, strict=False):
            if after.rec_type in ("response", "revisit"):
                break  # the next answer: this one has no connection record
            uri = after.rec_headers.get_header("WARC-Target-URI") or ""
            about = after.rec_headers.get_header("WARC-Concurrent-To")
            if uri.startswith(CONNECTION_URI) and about == ref["record_id"]:
                pairs = provenance.parse(after.content_stream().read())
                # Only once the record is read: warcio reads it to its end to know its offset.
                answer["offset"] = records.get_record_offset()
                return answer, pairs
    return answer, []


def copy_block(f: BinaryIO, offset: int, skip: int, out: BinaryIO) -> None:
    """Copy the block of the record at `offset` of `f`, less its first `skip` bytes (an answer's
    head), to `out`; ValueError if the block is not what its WARC-Block-Digest says."""
    f.seek(offset)
    record = next(Records(f, no_record_parse=True))
    said = record.rec_headers.get_header("WARC-Block-Digest") or ""
    digest = hashlib.sha1()
    seen = 0
    for piece in iter(lambda: record.raw_stream.read(chunked.PIECE), b""):
        digest.update(piece)
        if seen + len(piece) > skip:
            out.write(piece[max(0, skip - seen) :])
        seen += len(piece)
    if said != "sha1:" + base64.b32encode(digest.digest()).decode("ascii"):
        raise ValueError(f"the record at offset {offset} does not match its WARC-Block-Digest")


def entity(record: ArcWarcRecord) -> Iterator[bytes]:
    """The payload of a record warcio parsed, a piece at a time: its body with the transfer coding
    removed (a chunked body is stored with its framing, as it came), the content coding kept."""
    stream = record.raw_stream
    if record.http_headers and is_chunked(record.http_headers.get_header("Transfer-Encoding")):
        return chunked.payload(stream)
    return iter(lambda: stream.read(chunked.PIECE), b"")


def page_of(uri: str) -> str:
    """The page a record is about: itself, or the page a metadata record describes."""
    for prefix in (*METADATA_URIS, CONNECTION_URI):
        if uri.startswith(prefix):
            return uri[len(prefix) :]
    return uri


class Records(ArchiveIterator):
    """warcio's iterator without its warning on stderr for a record not followed by a newline:
    three lines quoting damaged bytes, where our readers say what and where in one (the damage
    itself shows in the record's digests and framing)."""

    INC_RECORD = ""


def _record_at(f: BinaryIO, ref: Mapping[str, Any]) -> ArcWarcRecord:
    return _records_at(f, ref)[1]


def _records_at(f: BinaryIO, ref: Mapping[str, Any]) -> tuple[Records, ArcWarcRecord]:
    """The records of `f` from `ref`'s offset on, and the first of them, which must be `ref`'s."""
    f.seek(ref["offset"])
    records = Records(f)
    record = next(records)
    if record.rec_headers.get_header("WARC-Record-ID") != ref["record_id"]:
        raise ValueError(
            f"{ref['file']} has no record {ref['record_id']} at offset {ref['offset']}"
        )
    return records, record


def _warc_date(when: datetime) -> str:
    """Whole seconds, as wget, Heritrix and warcprox write: replay indexes key captures by 14-digit
    timestamps, and a revisit's WARC-Refers-To-Date must equal its original's WARC-Date to be found
    by them. The exact time of a version stays in its meta.json (`captured_at`)."""
    stamp: str = datetime_to_iso_date(when.replace(tzinfo=None, microsecond=0))
    return stamp


def whole_second(stamp: str) -> datetime:
    """An ISO 8601 time (a WARC-Date, a version's capture time) to the second, in UTC: replay
    indexes know no finer, and a WARC-Date has whole seconds."""
    when = datetime.fromisoformat(stamp)
    return (
        (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).replace(microsecond=0)
    )


def warcinfo(
    software: str,
    extractor: dict[str, str],
    user_agent: str = "",
    robots: bool = True,
    operator: str = "",
) -> dict[str, str]:
    """The warcinfo fields of a run's files: what wrote them, how it asked (its User-Agent, whether
    it obeyed robots.txt), who runs it, and the extractor whose text the versions hold."""
    fields = {
        "software": software,
        "format": "WARC File Format 1.1",
        "conformsTo": "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "http-header-user-agent": user_agent,
        "robots": "obey" if robots else "ignore",
        "operator": operator,
        "extractor": ", ".join(f"{k} {v}" for k, v in sorted(extractor.items())),
    }
    return {k: v for k, v in fields.items() if v}


def share_serial(files: list[WarcFile]) -> None:
    """Start `files` (one run's) at the first serial number free for all of them, so that their
    names differ only by prefix, even for two runs in one second."""
    serial = next(n for n in range(100000) if not any(f.taken(n) for f in files))
    for file in files:
        file.serial = serial
