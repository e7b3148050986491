"""Confirmations: the evidence that a page still said what one of its versions says, at a later
check.

A check that finds a version unchanged writes a revisit record of that version's record into the
run's checks WARC, `warcs/checks/YYYY/MM/<prefix>-checks-<stamp>-<serial>.warc.gz`, committed with
the run (see `run/run.py`). The profile says how it was found unchanged: `server-not-modified` (a
304), `identical-payload-digest` (the same bytes), or ours, IDENTICAL_TEXT (other bytes, the same
text). Redirect hops come first, as full records, so the page a confirmation is of is the URI of the
first record of its chain.

They are read back from the committed checks WARCs alone, headers only (the files are never in a
version's history): `archiver log --checks` interleaves them with the versions, `export` packs those
of the chosen pages.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecordLoader

from ..storage.store import CONFIRMED, Store
from .gzmembers import Member, members
from .warc import IDENTICAL_PAYLOAD, IDENTICAL_TEXT, NOT_MODIFIED

log = logging.getLogger(__name__)

# How each profile found the version unchanged, as `log` says it.
HOW = {NOT_MODIFIED: "not-modified", IDENTICAL_PAYLOAD: "same-bytes", IDENTICAL_TEXT: "same-text"}


@dataclass(frozen=True)
class Confirmation:
    """A check that found a version of `url` unchanged: its revisit record and the record it refers
    to."""

    url: str  # the page checked (the first URI of its chain of records)
    checked_at: str  # WARC-Date of the revisit
    profile: str
    status: int | None  # of the answer: 304, or that of the page (200, a gone page's 404)
    file: str  # the checks WARC, relative to the archive
    offset: int
    record_id: str
    refers_to: dict[str, str]  # record_id, target_uri, date of the record of the version confirmed
    commit: str = ""  # the commit that added the file
    records: tuple[
        str, ...
    ] = ()  # ids of the chain's responses (redirect hops) and of the revisit itself
    version: int | None = field(
        default=None, compare=False
    )  # the version confirmed, once matched to one

    @property
    def how(self) -> str:
        return HOW[self.profile]

    def reason(self) -> str:
        if self.profile == NOT_MODIFIED:
            return "304 not modified"
        same = "same bytes" if self.profile == IDENTICAL_PAYLOAD else "same text, other bytes"
        return f"HTTP {self.status}, {same}" if self.status else same

    def line(self) -> str:
        when = self.checked_at[:16].replace("T", " ")
        return f"v{self.version} confirmed unchanged at {when} ({self.reason()})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "commit": self.commit,
            "checked_at": self.checked_at,
            "kind": "confirmed",
            "status": self.status,
            "summary": self.reason(),
            "how": self.how,
            "profile": self.profile,
            "warc": {
                "file": self.file,
                "offset": self.offset,
                "record_id": self.record_id,
                "refers_to": self.refers_to,
            },
        }


def confirmations(store: Store, urls: set[str] | None = None) -> list[Confirmation]:
    """The confirmations in the committed checks WARCs (of the pages `urls`, or all), oldest file
    first."""
    found = []
    for rel, commit in store.added(CONFIRMED).items():
        path = store.root / rel
        if not path.is_file():
            continue  # `verify` reports a committed file that is missing
        try:
            found += read(path, rel, commit, urls)
        except (ArchiveLoadFailed, OSError, ValueError) as exc:
            log.warning("cannot read the confirmations in %s: %s (run `archiver verify`)", rel, exc)
    return found


def read(
    path: Path, rel: str, commit: str = "", urls: set[str] | None = None
) -> list[Confirmation]:
    """The confirmations in one checks WARC (of the pages `urls`, or all).

    No record of a checks WARC has a body: each gzip member is inflated whole, its type and URI
    found in its header bytes, and warcio parses only the revisits of the pages asked for, with
    their hops. warcio's ArchiveIterator parsing every record took 0.27 ms a confirmation; this,
    0.06 ms.
    """
    found = []
    chain: list[Member] = []  # the redirect hops before the answer
    with path.open("rb") as f:
        for member in members(f):
            if member.error is not None:  # the confirmations before the damage stand
                log.warning("%s: %s (run `archiver verify`)", rel, member.error)
                break
            head = member.data[: member.data.find(b"\r\n\r\n")]
            if b"\r\nWARC-Type: response\r\n" in head:
                chain.append(member)
            elif b"\r\nWARC-Type: revisit\r\n" in head:
                hops, chain = chain, []
                start = hops[0] if hops else member
                if urls is None or start.target_uri in urls:
                    confirmation = _confirmation(hops, member, rel, commit)
                    if confirmation is not None:
                        found.append(confirmation)
    return found


def _confirmation(hops: list[Member], member: Member, rel: str, commit: str) -> Confirmation | None:
    """The confirmation a revisit record is, parsed by warcio; None for a revisit of another
    profile."""
    loader = ArcWarcRecordLoader()
    record = loader.parse_record_stream(io.BytesIO(member.data), known_format="warc")
    headers = record.rec_headers
    if headers.get_header("WARC-Profile") not in HOW:
        return None
    chain = [
        loader.parse_record_stream(io.BytesIO(hop.data), known_format="warc").rec_headers
        for hop in hops
    ]
    status = record.http_headers.get_statuscode() if record.http_headers else None
    record_id = headers.get_header("WARC-Record-ID")
    return Confirmation(
        url=(chain[0] if chain else headers).get_header("WARC-Target-URI"),
        checked_at=headers.get_header("WARC-Date"),
        profile=headers.get_header("WARC-Profile"),
        status=int(status) if status and status.isdigit() else None,
        file=rel,
        offset=member.offset,
        record_id=record_id,
        refers_to={
            "record_id": headers.get_header("WARC-Refers-To"),
            "target_uri": headers.get_header("WARC-Refers-To-Target-URI"),
            "date": headers.get_header("WARC-Refers-To-Date"),
        },
        commit=commit,
        records=(*(hop.get_header("WARC-Record-ID") for hop in chain), record_id),
    )
