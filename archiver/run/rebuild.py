"""`rebuild`: re-derive each page's latest version from its WARC record with the extractor and rules
in force.

After an extractor upgrade (or a new ignore rule) the text in git was made by other code than the
next snapshot will use, and every page would show a spurious change. Rebuild reads the response back
from the evidence and derives `article.md`, `links.txt` and the document facts of `meta.json`
through the same functions a snapshot uses (`extract.body_of`, `extract.Extractor`,
`extract.document_meta`), then commits what changed in one commit of its own. It makes no new
version: `version`, `kind`, `summary`, `captured_at` and `warc` stay as they are, so `log` and
`diff` are unaffected and the old text stays in history.
"""

from __future__ import annotations

import logging
import tempfile
from collections import deque
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from warcio.exceptions import ArchiveLoadFailed

from ..capture.exchange import Capture
from ..config import CONFIG_NAME, Config
from ..errors import UsageError
from ..evidence.warc import read_response
from ..storage.meta import dump as dump_meta
from ..storage.store import WORK_DIR, PageFiles, Store
from ..text.extract import Body, Extractor, Unextractable, body_of, document_meta
from ..text.normalize import Document, extractor_versions
from ..urls import normalize_url
from ..words import counted

log = logging.getLogger(__name__)


@dataclass
class Skipped:
    url: str
    reason: str


@dataclass
class RebuildSummary:
    extractor: dict[str, str]  # the versions the text was re-derived with
    pages: list[str] = field(default_factory=list)  # re-derived
    changed: list[str] = field(default_factory=list)  # of those, the ones whose files changed
    skipped: list[Skipped] = field(
        default_factory=list
    )  # no text to derive (gone, soft-404, binary)
    failed: list[Skipped] = field(
        default_factory=list
    )  # extraction over a limit: the page is left as it is
    commit: str | None = None
    extract_processes: int = 0  # the most worker processes extracting text at once

    def line(self) -> str:
        skipped = f", {len(self.skipped)} skipped (no text)" if self.skipped else ""
        failed = f", {len(self.failed)} failed" if self.failed else ""
        tail = f"; commit {self.commit[:10]}" if self.commit else "; no commit"
        pages = counted(len(self.pages), "page")
        return f"{pages} re-derived{skipped}{failed}: {len(self.changed)} changed{tail}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "changed": self.changed,
            "skipped": [asdict(s) for s in self.skipped],
            "failed": [asdict(s) for s in self.failed],
            "commit": self.commit,
            "extractor": self.extractor,
            "extract_processes": self.extract_processes,
        }


@dataclass
class _Pending:
    """A page whose body is spooled and handed to extraction, waiting for its document."""

    url: str
    page: PageFiles
    body: Body
    document: Future[Document | None]


def rebuild(
    root: Path, config: Config, store: Store, author: tuple[str, str], urls: list[str] | None = None
) -> RebuildSummary:
    """Re-derive every page (or those at `urls`); the caller holds the archive lock.

    Extraction runs in the snapshot's worker processes, under its limits; pages are read in order
    and a few bodies at a time wait on disk for a worker, so the order of the results and the disk
    used are those of reading them one by one.
    """
    summary = RebuildSummary(extractor=extractor_versions())
    folders = _folders(store, urls)
    extractor = Extractor(config.fetch, config.ignore)
    extractor.start(len(folders))
    window = 2 * extractor.size
    written: list[str] = []
    pending: deque[_Pending] = deque()
    try:
        with tempfile.TemporaryDirectory(dir=root / WORK_DIR, prefix="rebuild-") as work:
            for number, (url, folder) in enumerate(folders):
                started = _start(
                    root, store, extractor, url, folder, Path(work) / f"body-{number}", summary
                )
                if started is not None:
                    pending.append(started)
                if len(pending) >= window:
                    _finish(store, extractor, pending.popleft(), summary, written)
            while pending:
                _finish(store, extractor, pending.popleft(), summary, written)
    except BaseException:
        extractor.close()  # interrupted: extractions still running stop
        raise
    extractor.close(interrupted=False)
    summary.extract_processes = extractor.processes
    if written:
        # The ignore rules in force shaped the text: part of the record, as with a snapshot.
        summary.commit = store.commit(
            _message(summary), datetime.now(UTC), author, [*written, CONFIG_NAME]
        )
    return summary


def _start(
    root: Path,
    store: Store,
    extractor: Extractor,
    url: str,
    folder: PurePosixPath,
    spool: Path,
    summary: RebuildSummary,
) -> _Pending | None:
    """Read the page's latest response back from its WARC record and hand it to extraction."""
    page = store.read(folder, url)
    if page is None or page.article is None:
        kind = page.meta.get("kind", "") if page else "no version"
        summary.skipped.append(Skipped(url, f"no text in the latest version ({kind})"))
        return None
    try:
        exchange = read_response(root, page.meta["warc"], spool)
        # The capture time bounds date guesses, as when the page was fetched.
        capture = Capture(
            url=page.meta["url"],
            started=datetime.fromisoformat(page.meta["captured_at"]),
            exchanges=[exchange],
        )
    except (OSError, ValueError, EOFError, KeyError, ArchiveLoadFailed) as exc:
        # Damaged evidence is `verify`'s to report; the other pages are still rebuilt.
        spool.unlink(missing_ok=True)
        log.warning("%s: cannot read its WARC record: %s", url, exc)
        summary.skipped.append(Skipped(url, f"unreadable WARC record: {exc}"))
        return None
    body = body_of(capture)
    return _Pending(url, page, body, extractor(body))


def _finish(
    store: Store, extractor: Extractor, item: _Pending, summary: RebuildSummary, written: list[str]
) -> None:
    """Compare the re-derived files with the page's, and write them if they differ."""
    try:
        document = extractor.result(item.document)
    except Unextractable as exc:  # its files stay as the snapshot wrote them
        log.warning("%s: %s", item.url, exc)
        summary.failed.append(Skipped(item.url, str(exc)))
        return
    finally:
        item.body.path.unlink(missing_ok=True)
    if document is None:
        summary.skipped.append(
            Skipped(item.url, "the archived body has no text for the current extractor")
        )
        return
    page = item.page
    fresh = PageFiles(
        page.dir,
        {**page.meta, **document_meta(document), "extractor": extractor_versions()},
        document.article_text(),
        document.links_text(),
    )
    summary.pages.append(item.url)
    if (fresh.article, fresh.links, dump_meta(fresh.meta)) != (
        page.article,
        page.links,
        dump_meta(page.meta),
    ):
        store.write(fresh)
        summary.changed.append(item.url)
        written.append(page.dir.as_posix())
        log.info("%s: re-derived text differs", item.url)


def _folders(store: Store, urls: list[str] | None) -> list[tuple[str, PurePosixPath]]:
    if urls is None:
        return [(m["url"], folder) for folder, m in store.folders() if "url" in m]
    chosen = []
    for url in dict.fromkeys(normalize_url(u) for u in urls):
        folder = store.folder(url)
        if store.read(folder, url) is None:
            raise UsageError(f"not in the archive: {url}")
        chosen.append((url, folder))
    return chosen


def _message(summary: RebuildSummary) -> str:
    versions = ", ".join(f"{name} {version}" for name, version in sorted(summary.extractor.items()))
    count = len(summary.changed)
    lines = "\n".join(f"rebuilt: {url}" for url in summary.changed)
    return (
        f"archiver: rebuild {counted(count, 'page')} with the current extractor\n\n"
        f"Re-derived from the WARC records of the latest versions with {versions}.\n\n{lines}\n"
    )
