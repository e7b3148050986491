"""`archiver verify`: every version's evidence is where its meta.json says, whole and unaltered.

For every version in the git history (not only the current tree), the WARC record that meta.json
names must exist at its offset with its WARC-Record-ID and hold the payload digest recorded (a
revisit's payload is checked in the record it refers to). Every WARC file under warcs/ (the checks
WARCs of confirmations included) and .archiver/checks/ must decompress to its end, every gzip member
whole, and pass warcio's digest checks (what `warcio check` does); the HTTP framing of every
response and revisit record must hold over the bytes stored (`capture/framing.py`); and every
revisit must refer to a record of the archive that holds a payload, by its URI and date. Each file
is read once, in order.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord

from ..capture.chunked import is_chunked
from ..capture.framing import Framed
from ..storage.store import CHECKS, CONFIRMED, WARCS, Store
from ..storage.versions import Version, recorded_versions
from ..urls import names_folder
from ..words import counted
from .gzmembers import members
from .warc import Records, entity, page_of, whole_second

log = logging.getLogger(__name__)

PAYLOAD_RECORDS = ("response", "resource")
FRAMED_RECORDS = (
    "response",
    "revisit",
)  # records whose block is an HTTP response: its framing must hold


@dataclass(frozen=True)
class Evidence:
    """A WARC record a version relies on: the version's own record, or the one holding a revisit's
    payload."""

    url: str
    version: int | None
    commit: str
    file: str
    offset: int
    record_id: str
    digest: str  # the payload digest recorded in meta.json
    holds_payload: bool  # False: the version's own record is a revisit, its payload is elsewhere
    refers_to: str = ""  # for a revisit, the record meta.json says it refers to


@dataclass(frozen=True)
class Problem:
    file: str  # the WARC file (relative to the archive), or the meta.json that could not be read
    url: str | None  # the page whose evidence is damaged (or the record's target URI)
    message: str
    offset: int | None = None
    version: int | None = None
    commit: str | None = None

    def line(self) -> str:
        where = self.url or "(no page)"
        if self.version is not None:
            where += f" v{self.version}"
        if self.commit:
            where += f" (commit {self.commit[:10]})"
        if self.offset is not None:
            where += f", offset {self.offset}"
        return f"{self.file}: {where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    versions: int
    files: int
    problems: list[Problem] = field(default_factory=list)
    timestamps: str = ""  # how much of the history has a trusted timestamp (timestamps.py)

    def summary(self) -> str:
        count = len(self.problems)
        found = "no problems" if not count else counted(count, "problem")
        versions, files = counted(self.versions, "version"), counted(self.files, "WARC file")
        stamps = f"; {self.timestamps}" if self.timestamps else ""
        return f"verified {versions} in {files}{stamps}: {found}"


@dataclass
class _Scanned:
    """What was found at one offset of a WARC file."""

    rec_type: str | None = None
    record_id: str | None = None
    target_uri: str | None = None
    header_digest: str | None = None
    payload_hashes: dict[str, bytes] = field(
        default_factory=dict
    )  # algorithm -> raw digest of the payload
    errors: list[str] = field(default_factory=list)
    date: str | None = None
    refers_to: tuple[str, str | None, str | None] | None = (
        None  # a revisit's WARC-Refers-To, -Target-URI, -Date
    )


@dataclass
class _Seen:
    """What the whole archive holds, for the checks across files: every record by id, and every
    revisit."""

    records: dict[str, tuple[str | None, str | None, str | None]] = field(
        default_factory=dict
    )  # type, URI, date
    revisits: list[tuple[str, int, _Scanned]] = field(default_factory=list)  # file, offset, record


def verify(store: Store) -> Report:
    evidence, problems = _evidence(store)
    by_file: dict[str, list[Evidence]] = defaultdict(list)
    for item in evidence:
        by_file[item.file].append(item)
    # A checks WARC is named by no meta.json: git's history says which there must be.
    confirmations = store.added(CONFIRMED)
    files = sorted(set(_warc_files(store.root)) | set(by_file) | set(confirmations))
    seen = _Seen()
    for rel in files:
        if rel in confirmations and not (store.root / rel).is_file():
            problems.append(
                Problem(rel, None, "the checks WARC is missing", commit=confirmations[rel])
            )
            continue
        problems += _check_file(store.root, rel, by_file.get(rel, []), seen)
    # A version's own revisit is checked against its meta.json, which names the record it refers to.
    checked = {(e.file, e.offset) for e in evidence if not e.holds_payload}
    problems += _dangling([r for r in seen.revisits if r[:2] not in checked], seen.records)
    versions = len({(e.url, e.version) for e in evidence})
    log.info("verified %d versions, %d records, %d WARC files", versions, len(evidence), len(files))
    return Report(versions, len(files), problems)


def _warc_files(root: Path) -> list[str]:
    # Finished files only: a `.open` file belongs to a run still writing (or to crash recovery). The
    # checks' WARCs (304 revisits, failed redirect chains) are kept out of git but are evidence of
    # checks all the same.
    return [
        p.relative_to(root).as_posix()
        for place in (WARCS, CHECKS)
        for p in (root / place).rglob("*.warc.gz")
        if p.is_file()
    ]


def _evidence(store: Store) -> tuple[list[Evidence], list[Problem]]:
    """Every record named by a version's meta.json in any commit."""
    versions, unreadable = recorded_versions(store)
    problems = [
        Problem(u.path, None, f"meta.json is not readable: {u.error}", commit=u.commit)
        for u in unreadable
    ]
    problems += _strangers(versions)
    evidence: dict[Evidence, None] = {}
    for version in versions:
        if not version.warc:
            continue  # every version names its record; without one there is nothing to check
        try:
            evidence.update(dict.fromkeys(_items(version.meta, version.warc, version.commit)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(
                Problem(
                    version.warc.get("file", "?") if isinstance(version.warc, dict) else "?",
                    version.url,
                    f"meta.json names no complete WARC record ({exc!r})",
                    version=version.number or None,
                    commit=version.commit,
                )
            )
    return list(evidence), problems


def _strangers(versions: list[Version]) -> list[Problem]:
    """Versions that are not their folder's: a folder belongs to the URL its hash suffix names and
    its first version records; any other URL's version in it is a collision, or a forgery."""
    owners: dict[str, str] = {}
    problems = []
    for version in versions:  # oldest commit first
        folder = version.path.rpartition("/")[0]
        owner = owners.setdefault(folder, version.url)
        if version.url != owner:
            message = f"a version of {version.url} in the folder of {owner} (a folder collision or a forgery)"
        elif not names_folder(version.url, folder):
            message = f"a version of {version.url} in {folder}, which is not the folder of that URL"
        else:
            continue
        problems.append(
            Problem(
                version.path,
                version.url,
                message,
                version=version.number or None,
                commit=version.commit,
            )
        )
    return problems


def _items(meta: Mapping[str, Any], ref: Mapping[str, Any], commit: str) -> list[Evidence]:
    url, version, digest = meta.get("url", ""), meta.get("version"), ref.get("payload_digest", "")
    original = ref.get("refers_to")
    own = Evidence(
        url,
        version,
        commit,
        ref["file"],
        int(ref["offset"]),
        ref["record_id"],
        digest,
        holds_payload=not original,
        refers_to=original["record_id"] if original else "",
    )
    if not original:
        return [own]
    return [
        own,
        Evidence(
            url,
            version,
            commit,
            original["file"],
            int(original["offset"]),
            original["record_id"],
            digest,
            holds_payload=True,
        ),
    ]


def _check_file(root: Path, rel: str, expected: list[Evidence], seen: _Seen) -> list[Problem]:
    path = root / rel
    if not path.is_file():
        return [_problem(e, "the WARC file is missing") for e in expected]
    # Every expected offset is a place to resume after damage; the algorithm is that of the recorded
    # digest.
    scanned = _scan(path, {e.offset: _algorithm(e.digest) for e in expected})
    for offset, found in scanned.items():
        if found.record_id:
            seen.records[found.record_id] = (found.rec_type, found.target_uri, found.date)
        if found.refers_to:
            seen.revisits.append((rel, offset, found))
    at: dict[int, list[Evidence]] = defaultdict(list)
    for item in expected:
        at[item.offset].append(item)
    problems = []
    for offset, found in sorted(scanned.items()):
        if found.errors and offset not in at:
            url = _page_uri(found.target_uri) or _preceding(expected, offset)
            problems += [Problem(rel, url, error, offset) for error in found.errors]
    for offset, items in sorted(at.items()):
        record = scanned.get(offset)
        for item in items:
            problems += [_problem(item, message) for message in _compare(item, record)]
    return sorted(problems, key=lambda p: p.offset or 0)


def _compare(item: Evidence, found: _Scanned | None) -> list[str]:
    if found is None:
        return ["no WARC record starts at this offset"]
    if found.rec_type is None:  # the member could not be read at all
        return found.errors
    return found.errors + _mismatches(item, found)


def _mismatches(item: Evidence, found: _Scanned) -> list[str]:
    """How the record found differs from what meta.json says of it."""
    if found.record_id != item.record_id:
        return [f"the record here is {found.record_id}, not {item.record_id}"]
    if not item.holds_payload:
        if found.rec_type != "revisit":
            return [f"a {found.rec_type} record where meta.json names a revisit"]
        if found.header_digest and not _same_digest(item.digest, found.header_digest):
            return [
                f"the revisit records payload digest {found.header_digest}, meta.json {item.digest}"
            ]
        if found.refers_to and found.refers_to[0] != item.refers_to:
            return [f"the revisit refers to {found.refers_to[0]}, meta.json to {item.refers_to}"]
        return []
    if found.rec_type not in PAYLOAD_RECORDS:
        return [f"a {found.rec_type} record, which holds no payload"]
    if not _holds(item.digest, found.payload_hashes):
        return [
            f"payload digest is {_encode(item.digest, found.payload_hashes)}, meta.json records {item.digest}"
        ]
    return []


def _dangling(
    revisits: list[tuple[str, int, _Scanned]],
    records: dict[str, tuple[str | None, str | None, str | None]],
) -> list[Problem]:
    """Revisits whose WARC-Refers-To names no record of the archive holding a payload, or names it
    by another URI or date: replay tools look the original up by URI and date, and would find none,
    or another."""
    problems = []
    for rel, offset, found in revisits:
        assert found.refers_to is not None
        record_id, uri, date = found.refers_to
        if record_id not in records:
            message = f"the revisit refers to {record_id}, which is in no WARC file of the archive"
        else:
            rec_type, target, when = records[record_id]
            if rec_type not in PAYLOAD_RECORDS:
                message = f"the revisit refers to {record_id}, a {rec_type} record, which holds no payload"
            elif uri != target:
                message = f"the revisit refers to {record_id} as {uri}, a record of {target}"
            elif not _same_second(date, when):
                message = (
                    f"the revisit refers to {record_id} as dated {date}, a record dated {when}"
                )
            else:
                continue
        problems.append(Problem(rel, _page_uri(found.target_uri), message, offset))
    return problems


def _same_second(one: str | None, other: str | None) -> bool:
    """Two WARC dates name the same second (replay indexes key captures by 14-digit timestamps)."""
    try:
        return whole_second(one or "") == whole_second(other or "")
    except ValueError:
        return False


def _problem(item: Evidence, message: str) -> Problem:
    return Problem(item.file, item.url, message, item.offset, item.version, item.commit)


def _scan(path: Path, algorithms: dict[int, str]) -> dict[int, _Scanned]:
    """Decompress every member of the file and parse its records with warcio, digests checked."""
    scanned: dict[int, _Scanned] = {}
    with path.open("rb") as f:
        for member in members(f, resume_at=algorithms):
            if member.error is not None:
                scanned[member.offset] = _Scanned(
                    target_uri=member.target_uri, errors=[member.error]
                )
                continue
            scanned[member.offset] = _parse(
                member.data, {"sha1", algorithms.get(member.offset, "sha1")}
            )
    return scanned


def _parse(data: bytes, algorithms: set[str]) -> _Scanned:
    """The first record of one decompressed member (the one its offset names), and any damage in it
    or after."""
    found: _Scanned | None = None
    try:
        for record in Records(io.BytesIO(data), check_digests=True):
            body, framed = _body(record)
            hashes = (
                {a: hashlib.new(a) for a in algorithms}
                if record.rec_type in PAYLOAD_RECORDS
                else {}
            )
            for piece in body:
                for digest in hashes.values():
                    digest.update(piece)
            flaw = framed.flaw() if framed is not None else None  # reads on to the block's end
            record.raw_stream.read()  # to the block's end, where warcio checks its digests
            errors = [flaw] if flaw else []
            payload_hashes = {a: h.digest() for a, h in hashes.items()}
            chunked = _chunked(record)
            # warcio digests a chunked body's framing too, where WARC 1.1 digests the payload
            # without it: such a record's payload digest is checked here instead.
            errors += [
                f"warcio check: {p}"
                for p in record.digest_checker.problems
                if not (chunked and p.startswith("payload digest"))
            ]
            declared = record.rec_headers.get_header("WARC-Payload-Digest")
            if chunked and declared and not _holds(declared, payload_hashes):
                errors.append(f"payload digest failed: {declared}")
            if found is None:
                headers = record.rec_headers
                found = _Scanned(
                    record.rec_type,
                    headers.get_header("WARC-Record-ID"),
                    headers.get_header("WARC-Target-URI"),
                    declared,
                    date=headers.get_header("WARC-Date"),
                )
                if record.rec_type == "revisit":
                    found.refers_to = (
                        headers.get_header("WARC-Refers-To"),
                        headers.get_header("WARC-Refers-To-Target-URI"),
                        headers.get_header("WARC-Refers-To-Date"),
                    )
                found.payload_hashes = payload_hashes
            found.errors += errors
    except (ArchiveLoadFailed, ValueError, OSError) as exc:
        found = found or _Scanned()
        found.errors.append(f"not a readable WARC record: {exc}")
    return found or _Scanned(errors=["an empty gzip member, no WARC record"])


def _body(record: ArcWarcRecord) -> tuple[Iterable[bytes], Framed | None]:
    """The record's payload, a piece at a time (its body with the transfer coding removed), and for
    an HTTP response or revisit, its framing checked on the way."""
    if record.rec_type in FRAMED_RECORDS and record.http_headers:
        framed = Framed(
            record.http_headers,
            record.raw_stream,
            revisit=record.rec_type == "revisit",
            truncated=bool(record.rec_headers.get_header("WARC-Truncated")),
        )
        return framed, framed
    return entity(record), None


def _chunked(record: ArcWarcRecord) -> bool:
    headers = record.http_headers if record.rec_type in PAYLOAD_RECORDS else None
    return headers is not None and is_chunked(headers.get_header("Transfer-Encoding"))


def _page_uri(uri: str | None) -> str | None:
    return page_of(uri) if uri else None


def _preceding(expected: list[Evidence], offset: int) -> str | None:
    """The page of the nearest evidence before `offset`: a run writes a page's records together."""
    before = [e for e in expected if e.offset < offset]
    return max(before, key=lambda e: e.offset).url if before else None


def _algorithm(digest: str) -> str:
    name = digest.split(":", 1)[0].lower().replace("-", "") if ":" in digest else "sha1"
    return name if name in hashlib.algorithms_available else "sha1"


def _raw(digest: str) -> bytes | None:
    """The bytes of a WARC digest value, written in base32 (the custom) or hex."""
    value = digest.split(":", 1)[-1].strip()
    for decode in (lambda v: base64.b32decode(v.upper()), bytes.fromhex):
        try:
            return decode(value)
        except (binascii.Error, ValueError):
            continue
    return None


def _same_digest(one: str, other: str) -> bool:
    return _algorithm(one) == _algorithm(other) and _raw(one) == _raw(other)


def _holds(expected: str, hashes: dict[str, bytes]) -> bool:
    """Whether the payload hashed in `hashes` has the digest `expected`."""
    raw = _raw(expected)
    return raw is not None and hashes.get(_algorithm(expected)) == raw


def _encode(expected: str, hashes: dict[str, bytes]) -> str:
    algorithm = _algorithm(expected)
    raw = hashes.get(algorithm, b"")
    return f"{algorithm}:{base64.b32encode(raw).decode('ascii')}"


def check_warc(path: Path) -> tuple[set[str], list[str]]:
    """The record ids a WARC file holds and the damage found in it, every digest checked as `verify`
    checks an archive's files (a standalone file: a receipt's records)."""
    scanned = _scan(path, {})
    ids = {found.record_id for found in scanned.values() if found.record_id}
    problems = [f"offset {at}: {e}" for at, found in sorted(scanned.items()) for e in found.errors]
    return ids, problems
