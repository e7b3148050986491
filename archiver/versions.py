"""Every version recorded in the git history, every page at once: the bulk reading behind `verify` and
`export` (`history.py` reads one page's versions)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .store import META, PAGES, Store


@dataclass(frozen=True)
class RecordedVersion:
    """A page version as its meta.json was first committed."""

    url: str
    number: int | None
    commit: str
    meta: dict[str, Any]
    path: str  # of the meta.json, relative to the archive

    @property
    def warc(self) -> dict[str, Any] | None:
        """The record reference of meta.json: file, offset, record_id, payload_digest, target_uri, date..."""
        return self.meta.get("warc")


@dataclass(frozen=True)
class Unreadable:
    path: str
    commit: str
    error: str


def recorded_versions(store: Store) -> tuple[list[RecordedVersion], list[Unreadable]]:
    """The versions of every page, oldest commit first, and the committed meta.json files that are not JSON.

    Commits that only annotate a page (who cites it) repeat its version and record: each is kept once.
    """
    seen: dict[tuple[Any, ...], RecordedVersion] = {}
    unreadable = []
    for revision in store.revisions(f"{PAGES}/**/{META}"):
        try:
            meta = json.loads(revision.content)
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            unreadable.append(Unreadable(revision.path, revision.commit, str(exc)))
            continue
        key = (revision.path, meta.get("url"), meta.get("version"), json.dumps(meta.get("warc"), sort_keys=True))
        seen.setdefault(key, RecordedVersion(meta.get("url", ""), meta.get("version"), revision.commit, meta,
                                             revision.path))
    return list(seen.values()), unreadable
