"""WARC files read back with warcio, as anyone checking the evidence would read them."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders

WARCIO = Path(sys.executable).with_name("warcio")


@dataclass
class Record:
    """One WARC record as warcio reads it."""

    type: str
    uri: str  # WARC-Target-URI, "" where there is none
    headers: dict[str, str]  # the WARC headers (of a repeated name, the last)
    warc: StatusAndHeaders  # the WARC headers as read: version line, order and repeats kept
    http: (
        StatusAndHeaders | None
    )  # the HTTP head as stored (a request's too); None where none was parsed
    payload: (
        bytes  # the block after the HTTP head, as stored: no transfer or content coding removed
    )
    offset: int  # where the record's gzip member starts in its file
    path: Path

    @property
    def http_status(self) -> str | None:
        """The status code of a response or revisit; None for a request or a record without HTTP."""
        return self.http.get_statuscode() if self.http and self.type != "request" else None


def records(base: Path, parse_http: bool = True) -> list[Record]:
    """Every record of the WARC file `base`, or of every WARC under the folder `base`, in order.
    Without `parse_http` the HTTP head is left in the payload: the whole block as stored."""
    found = []
    for path in [base] if base.is_file() else sorted(base.rglob("*.warc.gz*")):
        with path.open("rb") as f:
            it = ArchiveIterator(f, no_record_parse=not parse_http)
            for rec in it:
                payload = rec.raw_stream.read()
                found.append(
                    Record(
                        rec.rec_type,
                        rec.rec_headers.get_header("WARC-Target-URI") or "",
                        dict(rec.rec_headers.headers),
                        rec.rec_headers,
                        rec.http_headers,
                        payload,
                        it.get_record_offset(),
                        path,
                    )
                )
    return found


def responses(base: Path, url: str) -> list[Record]:
    return [r for r in records(base) if r.type == "response" and r.uri == url]


def responses_of_checks(root: Path) -> list[Record]:
    return [r for r in records(root / ".archiver" / "checks") if r.type == "response"]


def warcio_check(path: Path) -> subprocess.CompletedProcess[str]:
    """`warcio check -v` of one WARC file."""
    return subprocess.run([str(WARCIO), "check", "-v", str(path)], capture_output=True, text=True)
