"""`archiver export --wacz`: a WACZ 1.1.1 package (WARCs, CDXJ index, page list, datapackage) of the
whole archive, or of chosen pages and the sources they cite, for ReplayWeb.page, pywb or another
archive.

A whole-archive package holds the WARC files as they are (the checks WARCs of confirmations among
them); a chosen one holds, per WARC file involved, only the records its pages need (each version's
response or revisit with its request and metadata, the redirect hops before it, the record a revisit
refers to, each confirmation of a version with its hops and request, and the file's warcinfo),
copied byte for byte: every record keeps its WARC-Record-ID and digests, so it is the same evidence.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tempfile
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric import ec
from warcio.exceptions import ArchiveLoadFailed

from ..errors import ArchiveDamaged, UsageError
from ..storage import atomic
from ..storage.store import WARCS, Store
from ..storage.versions import Version, recorded_versions
from ..urls import normalize_url
from . import cdxj, signing
from .confirmations import Confirmation, confirmations
from .keys import fingerprint
from .warc import Records

log = logging.getLogger(__name__)

WACZ_VERSION = "1.1.1"
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
INDEX_ENTRY = "indexes/index.cdxj"
PAGES_ENTRY = "pages/pages.jsonl"
COPY_CHUNK = 1024 * 1024


@dataclass
class ExportSummary:
    path: Path
    pages: int  # entries of pages/pages.jsonl (one per page version)
    warcs: int
    records: int  # lines of the CDXJ index
    size: int
    signed_by: str | None = None  # fingerprint of the public key that signed it
    timestamp_token: Path | None = None  # the RFC 3161 token over its signature, beside it

    def line(self) -> str:
        text = (
            f"wrote {self.path}: {self.pages} page versions, {self.records} indexed records in "
            f"{self.warcs} WARC files, {self.size} bytes"
        )
        if self.signed_by:
            text += f", signed by {self.signed_by}"
        if self.timestamp_token:
            text += f", time-stamped ({self.timestamp_token.name})"
        return text

    def as_dict(self) -> dict[str, Any]:
        token = self.timestamp_token
        return {**asdict(self), "path": str(self.path), "timestamp_token": token and str(token)}


@dataclass(frozen=True)
class _Scanned:
    offset: int
    length: int
    type: str
    id: str
    uri: str
    concurrent_to: str | None
    refers_to: str | None


def export(
    store: Store,
    dest: Path,
    urls: Iterable[str] = (),
    software: str = "archiver",
    key: ec.EllipticCurvePrivateKey | None = None,
    timestamper: signing.Timestamper | None = None,
) -> ExportSummary:
    """Write the package to `dest` (replaced whole, never left half-written), its
    datapackage-digest.json signed with `key` if given (signing.py)."""
    if dest.suffix != ".wacz":
        raise UsageError(f"a WACZ file name must end in .wacz: {dest}")
    if not dest.parent.is_dir():
        raise UsageError(f"no folder {dest.parent} to write {dest.name} in")
    recorded, _ = recorded_versions(store)
    first: dict[tuple[str, int | None], Version] = {}
    for version in recorded:
        if version.warc:
            first.setdefault((version.url, version.number), version)  # as first committed
    versions = list(first.values())
    if not versions:
        raise UsageError("nothing archived yet: no version to export")
    chosen = _chosen(store, versions, list(urls)) if urls else None
    if chosen is not None:
        versions = [v for v in versions if v.url in chosen]
    with tempfile.TemporaryDirectory(prefix=".wacz-", dir=dest.parent) as work:
        if chosen is None:
            warcs, lines = _whole(store.root)
        else:
            warcs, lines = _selection(
                store.root, versions, confirmations(store, chosen), Path(work)
            )
        tmp = Path(work) / dest.name
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as package:
            resources = [
                _add_file(package, f"archive/{name}", path) for name, path in warcs.items()
            ]
            resources.append(
                _add_bytes(package, INDEX_ENTRY, "".join(f"{line}\n" for line in lines).encode())
            )
            resources.append(_add_bytes(package, PAGES_ENTRY, _pages_jsonl(versions)))
            created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            datapackage = _datapackage(resources, store.root, software, list(urls), created)
            _add_bytes(package, "datapackage.json", datapackage)
            digest: dict[str, Any] = {
                "path": "datapackage.json",
                "hash": "sha256:" + hashlib.sha256(datapackage).hexdigest(),
            }
            signed = None
            if key is not None:
                signed = signing.sign(digest["hash"], created, key, software, timestamper)
                digest["signedData"] = signed.signed_data
            _add_bytes(package, "datapackage-digest.json", json.dumps(digest, indent=2).encode())
        sidecar = dest.with_name(dest.name + ".tsr")
        token_path = sidecar if signed is not None and signed.token is not None else None
        if signed is not None and signed.token is not None:
            # Outside the zip: a file there would have to be listed in the datapackage it stamps.
            atomic.write_bytes(sidecar, signed.token)
        else:
            sidecar.unlink(missing_ok=True)  # a replaced package's token stamps nothing now
        tmp.replace(dest)
    log.info("exported %d versions to %s", len(versions), dest)
    return ExportSummary(
        dest,
        len(versions),
        len(warcs),
        len(lines),
        dest.stat().st_size,
        fingerprint(key.public_key()) if key is not None else None,
        token_path,
    )


# -- what goes in ----------------------------------------------------------------------------------


def _chosen(store: Store, versions: list[Version], urls: list[str]) -> set[str]:
    """The chosen pages and, transitively, the sources they cite (`cited_by` in the current
    meta.json files)."""
    known = {v.url for v in versions}
    chosen = set()
    for url in urls:
        normalized = normalize_url(url)
        if normalized not in known:
            raise UsageError(f"not in the archive: {url}")
        chosen.add(normalized)
    citers: dict[str, set[str]] = defaultdict(set)  # page -> the pages citing it
    for meta in store.metas():
        for citer in meta.get("cited_by", []):
            citers[meta.get("url", "")].add(citer)
    grew = True
    while grew:
        more = {page for page, by in citers.items() if by & chosen and page not in chosen}
        chosen |= more
        grew = bool(more)
    return chosen


def _whole(root: Path) -> tuple[dict[str, Path], list[str]]:
    """Every WARC file as it is, and the archive's own index with file names as the package has
    them."""
    update = cdxj.update(root)
    if update.failed:
        raise ArchiveDamaged(f"cannot read {update.failed[0]} (run `archiver verify`)")
    lines = [
        line for line in cdxj.index_path(root).read_text(encoding="utf-8").splitlines() if line
    ]
    files = sorted(
        {cdxj.line_filename(line) for line in lines}
        | {p.relative_to(root / WARCS).as_posix() for p in (root / WARCS).rglob("*.warc.gz")}
    )
    names = _package_names(files)
    return {names[f]: root / WARCS / f for f in files}, sorted(
        _renamed(line, names) for line in lines
    )


def _selection(
    root: Path, versions: list[Version], confirmed: list[Confirmation], work: Path
) -> tuple[dict[str, Path], list[str]]:
    """Per WARC file involved, a file of only the records the chosen versions and their
    confirmations need, and their index."""
    warcs = _copies(root, versions, confirmed, work)
    lines = [line for name, out in warcs.items() for line in cdxj.warc_lines(out, name)]
    return warcs, sorted(lines)


def _copies(
    root: Path, versions: list[Version], confirmed: list[Confirmation], work: Path
) -> dict[str, Path]:
    """Per WARC file involved, a file of only the records the chosen versions and their
    confirmations need."""
    ids: dict[str, set[str]] = defaultdict(set)  # file -> record ids needed
    uris: dict[str, set[str]] = defaultdict(
        set
    )  # file -> URLs whose responses are needed (redirect hops)
    for version in versions:
        ref = version.warc or {}
        ids[ref["file"]].add(ref["record_id"])
        hops = [hop["url"] for hop in version.meta.get("redirects", [])]
        uris[ref["file"]].update([ref.get("target_uri", version.url), *hops])
        if ref.get("refers_to"):
            ids[ref["refers_to"]["file"]].add(ref["refers_to"]["record_id"])
    for confirmation in confirmed:  # what each refers to is a version's record, taken above
        ids[confirmation.file].update(confirmation.records)
    names = _package_names(sorted(ids))
    warcs = {}
    for rel in sorted(ids):
        out = work / names[rel]
        _copy_records(root / rel, out, ids[rel], uris[rel])
        warcs[names[rel]] = out
    return warcs


def _copy_records(source: Path, out: Path, ids: set[str], uris: set[str]) -> None:
    if not source.is_file():
        raise ArchiveDamaged(f"{source} is missing (run `archiver verify`)")
    try:
        with source.open("rb") as f:
            records = _records(f)
            wanted = _needed(records, ids, uris)
            with out.open("wb") as dst:
                for record in records:
                    if record.id in wanted:
                        f.seek(record.offset)
                        dst.write(f.read(record.length))
    except (ArchiveLoadFailed, OSError, ValueError, EOFError) as exc:
        raise ArchiveDamaged(f"cannot read {source}: {exc} (run `archiver verify`)") from None
    missing = ids - wanted
    if missing:
        raise ArchiveDamaged(f"{source} has no record {sorted(missing)[0]} (run `archiver verify`)")


def _records(f: BinaryIO) -> list[_Scanned]:
    records = []
    it = Records(f, no_record_parse=True)
    for record in it:
        headers = record.rec_headers
        records.append(
            _Scanned(
                it.get_record_offset(),
                it.get_record_length(),
                record.rec_type,
                headers.get_header("WARC-Record-ID"),
                headers.get_header("WARC-Target-URI") or "",
                headers.get_header("WARC-Concurrent-To"),
                headers.get_header("WARC-Refers-To"),
            )
        )
    return records


def _needed(records: list[_Scanned], ids: set[str], uris: set[str]) -> set[str]:
    """The ids of the records to keep: those named, the responses (and revisits) of the URLs wanted,
    and the requests and metadata that belong to them, and the file's warcinfo."""
    answers = {
        r.id
        for r in records
        if r.id in ids or (r.type in ("response", "revisit") and r.uri in uris)
    }
    belonging = {
        r.id
        for r in records
        if r.concurrent_to in answers or (r.type == "metadata" and r.refers_to in answers)
    }
    return answers | belonging | {r.id for r in records if r.type == "warcinfo"}


def _package_names(files: list[str]) -> dict[str, str]:
    """Flat, unique names under archive/ (WACZ wants no sub-folders): the file's name, or its path
    joined with dashes when two files share a name."""
    base = {f: _safe(PurePosixPath(f).name) for f in files}
    clash = {n for n, count in Counter(base.values()).items() if count > 1}
    return {f: _safe(f.replace("/", "-")) if base[f] in clash else base[f] for f in files}


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _renamed(line: str, names: dict[str, str]) -> str:
    key, stamp, data = line.split(" ", 2)
    fields = json.loads(data)
    fields["filename"] = names[fields["filename"]]
    return f"{key} {stamp} {json.dumps(fields)}"


def _pages_jsonl(versions: list[Version]) -> bytes:
    """One entry per version: the page's URL at the moment of its capture, titled as it was then."""
    lines = [json.dumps(PAGES_HEADER)]
    for version in sorted(versions, key=lambda v: (v.url, v.number or 0)):
        entry: dict[str, Any] = {
            "id": _page_id(version),
            "url": version.url,
            "ts": _timestamp(version),
        }
        if version.meta.get("title"):
            entry["title"] = version.meta["title"]
        lines.append(json.dumps(entry, ensure_ascii=False))
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def _page_id(version: Version) -> str:
    # 128 bits of the URL's hash, as its folder: two pages of an archive never share an id.
    return f"{hashlib.sha256(version.url.encode()).hexdigest()[:32]}-v{version.number}"


def _timestamp(version: Version) -> str:
    """RFC 3339 in UTC: the WARC-Date of the version's record, so replay finds that very capture."""
    ref = version.warc or {}
    date: str | None = ref.get("date")
    if date:
        return date
    return (
        datetime.fromisoformat(version.meta["captured_at"])
        .astimezone(UTC)
        .strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    )


# -- the zip ---------------------------------------------------------------------------------------


def _add_file(package: zipfile.ZipFile, name: str, path: Path) -> dict[str, Any]:
    # WARCs are gzipped already and read by range: stored, never compressed again (WACZ 1.1.1).
    info = zipfile.ZipInfo(name, _now())
    info.compress_type = zipfile.ZIP_STORED
    digest, size = hashlib.sha256(), 0
    with (
        path.open("rb") as src,
        package.open(info, "w", force_zip64=path.stat().st_size > 2**31) as dst,
    ):
        while chunk := src.read(COPY_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            dst.write(chunk)
    return _resource(name, digest.hexdigest(), size)


def _add_bytes(package: zipfile.ZipFile, name: str, data: bytes) -> dict[str, Any]:
    info = zipfile.ZipInfo(name, _now())
    info.compress_type = zipfile.ZIP_DEFLATED
    package.writestr(info, data)
    return _resource(name, hashlib.sha256(data).hexdigest(), len(data))


def _resource(name: str, sha256: str, size: int) -> dict[str, Any]:
    return {
        "name": PurePosixPath(name).name.lower(),
        "path": name,
        "hash": f"sha256:{sha256}",
        "bytes": size,
    }


def _datapackage(
    resources: list[dict[str, Any]], root: Path, software: str, urls: list[str], created: str
) -> bytes:
    title = (
        f"{root.resolve().name}: {', '.join(urls)}"
        if urls
        else f"{root.resolve().name}: the whole archive"
    )
    package = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": title,
        "created": created,  # signedData.created repeats it: readers compare the two
        "software": software,
        "resources": resources,
    }
    return json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8")


def _now() -> tuple[int, int, int, int, int, int]:
    now = datetime.now(UTC)
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


def version_records(root: Path, version: Version, work: Path) -> dict[str, Path]:
    """The WARC records that evidence `version` (its response or revisit and the record that holds
    its payload, its request, its metadata, its redirect hops), as files of only those records in
    `work`, by name."""
    return _copies(root, [version], [], work)
