"""`archiver index`: a sorted CDXJ index of the archive's WARC files, in the form pywb and
ReplayWeb.page read.

Lines are made by webrecorder's cdxj-indexer (the indexer py-wacz uses, from pywb's lineage): the
SURT key must be exactly the one pywb computes for a lookup, and the record choice (response,
revisit and resource records; never request, warcinfo or warc-fields metadata) and field conventions
(`warc/revisit` as the mime of revisits, member offset and length) are pywb's. Each line's
`filename` is relative to `warcs/`.

The index is derived data, kept out of git under `.archiver/indexes/` next to a ledger of the WARC
files it covers (size and mtime): an update reads only the files not indexed yet (or changed since).
"""

from __future__ import annotations

import io
import json
import logging
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from warcio.exceptions import ArchiveLoadFailed

from ..storage import atomic
from ..storage.store import WARCS, WORK_DIR
from ..words import counted
from .warc import Records

log = logging.getLogger(__name__)

INDEX_DIR = Path(WORK_DIR, "indexes")
INDEX_NAME = "index.cdxj"
LEDGER_NAME = "indexed.json"
LEDGER_FORMAT = 1


@dataclass
class IndexUpdate:
    path: Path  # the index file
    lines: int  # lines in the index now
    files: int  # WARC files it covers
    # Files indexed by this update (relative to warcs/).
    read: list[str] = field(default_factory=list)
    # Files gone from warcs/, whose lines were removed.
    dropped: list[str] = field(default_factory=list)
    # Files that could not be read (damaged: see `verify`).
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path)}

    def line(self) -> str:
        dropped = f", {len(self.dropped)} gone" if self.dropped else ""
        return (
            f"indexed {counted(len(self.read), 'new WARC file')}{dropped}: "
            f"{counted(self.lines, 'line')} for {counted(self.files, 'WARC file')} in {self.path}"
        )


def index_path(root: Path) -> Path:
    return root / INDEX_DIR / INDEX_NAME


def warc_lines(path: Path, filename: str) -> list[str]:
    """The CDXJ lines of one WARC file, `filename` being the name the lines give it."""
    # Imported here: it costs 0.2 s, which every other command (cron's snapshot first) would pay.
    from cdxj_indexer.main import CDXJIndexer

    class Indexer(CDXJIndexer):
        """cdxj-indexer reading with our `Records`: no warcio warning of its own on stderr."""

        def _create_record_iter(self, input_: BinaryIO) -> Records:
            return Records(
                input_,
                no_record_parse=not self.record_parse,
                arc2warc=True,
                verify_http=self.verify_http,
            )

    out = io.StringIO()
    Indexer(output=out, inputs=[str(path)], filename=filename).process_all()
    return out.getvalue().splitlines()


def line_filename(line: str) -> str:
    filename: str = json.loads(line.split(" ", 2)[2])["filename"]
    return filename


def update(root: Path) -> IndexUpdate:
    """Bring the index up to date with the WARC files under warcs/, reading only the files it
    lacks."""
    folder = root / WARCS
    present = {
        p.relative_to(folder).as_posix(): _stamp(p)
        for p in sorted(folder.rglob("*.warc.gz"))
        if p.is_file()
    }
    index, ledger_path = index_path(root), root / INDEX_DIR / LEDGER_NAME
    ledger = _load_ledger(ledger_path) if index.exists() else {}
    dropped = sorted(name for name, stamp in ledger.items() if present.get(name) != stamp)
    to_read = sorted(name for name, stamp in present.items() if ledger.get(name) != stamp)
    if not to_read and not dropped and index.exists():
        return IndexUpdate(index, _count_lines(index), len(present))
    # A file not in the ledger may have lines from an interrupted update.
    stale = set(dropped) | set(to_read)
    lines = [line for line in _read_lines(index) if line_filename(line) not in stale]
    failed = []
    for name in to_read:
        log.info("indexing %s", name)
        try:
            lines += warc_lines(folder / name, name)
        except (ArchiveLoadFailed, OSError, ValueError, EOFError, zlib.error) as exc:
            log.warning("cannot index %s: %s", name, _why(exc))
            failed.append(name)
            del present[name]  # not in the ledger: tried again next time
    lines.sort()  # byte order, as pywb's binary search expects (`LC_ALL=C sort`)
    atomic.write_text(index, "".join(f"{line}\n" for line in lines))
    # The ledger after the index: a crash in between only makes the next update read those files
    # again.
    atomic.write_text(
        ledger_path, json.dumps({"format": LEDGER_FORMAT, "files": present}, indent=1) + "\n"
    )
    read = [name for name in to_read if name not in failed]
    return IndexUpdate(
        index, len(lines), len(present), read, [n for n in dropped if n not in present], failed
    )


def _stamp(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _load_ledger(path: Path) -> dict[str, dict[str, int]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no ledger: every file is read again
    return data.get("files", {}) if data.get("format") == LEDGER_FORMAT else {}


def _read_lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except FileNotFoundError:
        return []


def _count_lines(path: Path) -> int:
    return len(_read_lines(path))


def _why(exc: Exception) -> str:
    """One short line: warcio's own message quotes the damaged bytes it found."""
    if isinstance(exc, ArchiveLoadFailed):
        return "not a readable WARC record (damaged; `archiver verify` says where)"
    return " ".join(str(exc).split())[:200]
