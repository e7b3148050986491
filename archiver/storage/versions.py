"""Versions as committed: the one `Version` type, and the bulk reading of every page's versions at
once behind `verify` and `export` (`history/timeline.py` reads one page's versions, by number or
date)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .meta import PageMeta, WarcRef
from .meta import load as load_meta
from .store import META, PAGES, Store


@dataclass(frozen=True)
class Version:
    """One version of a page: its meta.json as the commit that made it wrote it."""

    url: str
    number: int  # 1 = first (0: a meta.json that names no number, which `verify` reports)
    commit: str
    meta: PageMeta
    path: str = ""  # of the meta.json, relative to the archive

    @property
    def captured_at(self) -> str:
        return self.meta.get("captured_at", "")

    @property
    def kind(self) -> str:
        return self.meta.get("kind", "")

    @property
    def status(self) -> int | None:
        return self.meta.get("status")

    @property
    def final_url(self) -> str | None:
        return self.meta.get("final_url")

    @property
    def summary(self) -> str:
        return self.meta.get("summary", "")

    @property
    def warc(self) -> WarcRef | None:
        """The record reference of meta.json: file, offset, record_id, payload_digest, target_uri,
        date..."""
        return self.meta.get("warc")

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.number,
            "commit": self.commit,
            "captured_at": self.captured_at,
            "kind": self.kind,
            "status": self.status,
            "final_url": self.final_url,
            "summary": self.summary,
            # An edit's judgement (`history/announcement.py`), when the version records one.
            **{k: self.meta[k] for k in ("announced", "announcement") if k in self.meta},
        }


@dataclass(frozen=True)
class Unreadable:
    path: str
    commit: str
    error: str


def recorded_versions(store: Store) -> tuple[list[Version], list[Unreadable]]:
    """The versions of every page, oldest commit first, and the committed meta.json files that are
    not JSON.

    Commits that only annotate a page (who cites it) repeat its version and record: each is kept
    once.
    """
    seen: dict[tuple[Any, ...], Version] = {}
    unreadable = []
    for revision in store.revisions(f"{PAGES}/**/{META}"):
        try:
            meta = load_meta(revision.content)
        except ValueError as exc:
            unreadable.append(Unreadable(revision.path, revision.commit, str(exc)))
            continue
        number = meta.get("version")
        key = (revision.path, meta.get("url"), number, json.dumps(meta.get("warc"), sort_keys=True))
        seen.setdefault(
            key,
            Version(
                meta.get("url", ""),
                number if isinstance(number, int) else 0,
                revision.commit,
                meta,
                revision.path,
            ),
        )
    return list(seen.values()), unreadable
