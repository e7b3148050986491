"""`rebuild`: re-derive each page's latest version from its WARC record with the extractor and rules in force.

After an extractor upgrade (or a new ignore rule) the text in git was made by other code than the next
snapshot will use, and every page would show a spurious change. Rebuild reads the response back from
the evidence and derives `article.md`, `links.txt` and the document facts of `meta.json` through the
same functions a snapshot uses (`extract.body_of`, `extract.extract`, `extract.document_meta`), then
commits what changed in one commit of its own. It makes no new version: `version`, `kind`, `summary`,
`captured_at` and `warc` stay as they are, so `log` and `diff` are unaffected and the old text stays
in history.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from warcio.exceptions import ArchiveLoadFailed

from .capture import Capture
from .config import CONFIG_NAME, Config
from .errors import UsageError
from .extract import body_of, document_meta, extract
from .normalize import extractor_versions
from .store import WORK_DIR, PageVersion, Store, dump_meta
from .urls import normalize_url, page_dir
from .warc import read_response

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
    skipped: list[Skipped] = field(default_factory=list)  # no text to derive (gone, soft-404, binary)
    commit: str | None = None

    def line(self) -> str:
        skipped = f", {len(self.skipped)} skipped (no text)" if self.skipped else ""
        tail = f"; commit {self.commit[:10]}" if self.commit else "; no commit"
        pages = f"{len(self.pages)} page{'s' if len(self.pages) != 1 else ''}"
        return f"{pages} re-derived{skipped}: {len(self.changed)} changed{tail}"

    def as_dict(self) -> dict[str, Any]:
        return {"pages": self.pages, "changed": self.changed, "skipped": [asdict(s) for s in self.skipped],
                "commit": self.commit, "extractor": self.extractor}


def rebuild(root: Path, config: Config, store: Store, author: tuple[str, str],
            urls: list[str] | None = None) -> RebuildSummary:
    """Re-derive every page (or those at `urls`); the caller holds the archive lock."""
    summary = RebuildSummary(extractor=extractor_versions())
    folders = _folders(store, urls)
    written = []
    with tempfile.TemporaryDirectory(dir=root / WORK_DIR, prefix="rebuild-") as work:
        for url, folder in folders:
            page = store.read(folder)
            if page is None or page.article is None:
                kind = page.meta.get("kind", "") if page else "no version"
                summary.skipped.append(Skipped(url, f"no text in the latest version ({kind})"))
                continue
            try:
                fresh = derive(root, config, page, Path(work) / "body")
            except (OSError, ValueError, EOFError, KeyError, ArchiveLoadFailed) as exc:
                # Damaged evidence is `verify`'s to report; the other pages are still rebuilt.
                log.warning("%s: cannot read its WARC record: %s", url, exc)
                summary.skipped.append(Skipped(url, f"unreadable WARC record: {exc}"))
                continue
            if fresh is None:
                summary.skipped.append(Skipped(url, "the archived body has no text for the current extractor"))
                continue
            summary.pages.append(url)
            if (fresh.article, fresh.links, dump_meta(fresh.meta)) != (page.article, page.links, dump_meta(page.meta)):
                store.write(fresh)
                summary.changed.append(url)
                written.append(folder.as_posix())
                log.info("%s: re-derived text differs", url)
    if written:
        # The ignore rules in force shaped the text: part of the record, as with a snapshot.
        summary.commit = store.commit(_message(summary), datetime.now(UTC), author, [*written, CONFIG_NAME])
    return summary


def derive(root: Path, config: Config, page: PageVersion, spool: Path) -> PageVersion | None:
    """The page's files as the current extractor derives them from its WARC record (None: no text)."""
    meta = page.meta
    exchange = read_response(root, meta["warc"], spool)
    try:
        # The capture time bounds date guesses, as when the page was fetched.
        capture = Capture(url=meta["url"], started=datetime.fromisoformat(meta["captured_at"]), exchanges=[exchange])
        document = extract(body_of(capture), config.fetch.max_decoded_bytes, config.ignore)
    finally:
        spool.unlink(missing_ok=True)
    if document is None:
        return None
    fresh = {**meta, **document_meta(document), "extractor": extractor_versions()}
    return PageVersion(page.dir, fresh, document.article_text(), document.links_text())


def _folders(store: Store, urls: list[str] | None) -> list[tuple[str, PurePosixPath]]:
    if urls is None:
        return [(m["url"], page_dir(m["url"])) for m in store.metas() if "url" in m]
    chosen = []
    for url in dict.fromkeys(normalize_url(u) for u in urls):
        folder = page_dir(url)
        if store.read(folder) is None:
            raise UsageError(f"not in the archive: {url}")
        chosen.append((url, folder))
    return chosen


def _message(summary: RebuildSummary) -> str:
    versions = ", ".join(f"{name} {version}" for name, version in sorted(summary.extractor.items()))
    count = len(summary.changed)
    lines = "\n".join(f"rebuilt: {url}" for url in summary.changed)
    return (f"archiver: rebuild {count} page{'s' if count != 1 else ''} with the current extractor\n\n"
            f"Re-derived from the WARC records of the latest versions with {versions}.\n\n{lines}\n")
