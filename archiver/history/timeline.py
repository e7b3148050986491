"""A page's versions as recorded in git, and what changed between two of them. Reads only."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import UTC, datetime, time

from ..errors import FolderCollision, UsageError
from ..evidence.confirmations import Confirmation, confirmations
from ..evidence.warc import whole_second
from ..storage.meta import GONE_KINDS, Kind
from ..storage.meta import load as load_meta
from ..storage.store import ARTICLE, LINKS, META, Store
from ..storage.versions import Version
from ..urls import normalize_url
from . import announcement
from .compare import Comparison, compare

_NUMBER = re.compile(r"-?\d{1,6}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?")
_COMMIT = re.compile(r"[0-9a-f]{7,40}")

log = logging.getLogger(__name__)


class History:
    def __init__(self, store: Store, url: str) -> None:
        self.store = store
        self.url = normalize_url(url)
        self.folder = store.folder(self.url).as_posix()
        self._versions: list[Version] | None = None

    def versions(self) -> list[Version]:
        """Oldest first. Commits that only annotate meta.json (who cites the page) are not
        versions."""
        if self._versions is None:
            self._versions = []
            last = None
            for revision in self.store.history(f"{self.folder}/{META}"):
                commit, meta = revision.commit, load_meta(revision.content)
                if meta.get("url") != self.url:
                    raise FolderCollision(
                        f"the folder {self.folder} holds a version of {meta.get('url')!r} "
                        f"(commit {commit[:10]}), not of {self.url}: run `archiver verify`"
                    )
                number = meta.get("version")
                if number is None or number == last:
                    continue
                last = number
                self._versions.append(
                    Version(self.url, len(self._versions) + 1, commit, meta, revision.path)
                )
            if not self._versions:
                raise UsageError(f"no versions of {self.url} in the archive")
        return self._versions

    def confirmations(self) -> list[Confirmation]:
        """The checks that found a version of the page unchanged, oldest first, each with the
        version it confirms: the one in force then whose record (or the record holding its payload)
        the revisit refers to."""
        versions = self.versions()
        found = []
        for confirmation in confirmations(self.store, {self.url}):
            version = _confirmed(versions, confirmation)
            if version is None:
                log.warning(
                    "%s at %s confirms no version of %s (run `archiver verify`)",
                    confirmation.file,
                    confirmation.offset,
                    self.url,
                )
                continue
            found.append(replace(confirmation, version=version.number))
        return sorted(found, key=lambda c: whole_second(c.checked_at))

    def timeline(self) -> list[Version | Confirmation]:
        """The versions and the confirmations between them, oldest first."""
        # WARC-Dates have whole seconds, so a version and the checks that confirmed it may share
        # one: within a second, each version comes before its confirmations, and they before the
        # next version (a confirmation is of the version in force when it was made).
        entries: list[tuple[datetime, int, int, Version | Confirmation]] = [
            (whole_second(v.captured_at), v.number, 0, v) for v in self.versions()
        ]
        entries += [
            (whole_second(c.checked_at), c.version or 0, 1, c) for c in self.confirmations()
        ]
        return [entry for *_, entry in sorted(entries, key=lambda e: e[:3])]

    def resolve(self, spec: str | None, default: int = -1) -> Version:
        """A version from a number (1 first, -1 latest), a commit, or a date/time ("as of" that
        moment)."""
        versions = self.versions()
        if spec is None:
            return _by_number(versions, default)
        spec = spec.strip()
        if _NUMBER.fullmatch(spec):
            return _by_number(versions, int(spec))
        if _DATE.fullmatch(spec):
            return _by_time(versions, _parse_when(spec), spec)
        if _COMMIT.fullmatch(spec.lower()):
            for version in versions:
                if version.commit.startswith(spec.lower()):
                    return version
            raise UsageError(f"no version of {self.url} was made by commit {spec}")
        raise UsageError(
            f"not a version, commit or date: {spec!r} (try 1, -1, a commit, or 2026-11-20T14:00)"
        )

    def previous(self, version: Version) -> Version | None:
        """The version before `version`, None for the first."""
        number = version.number - 1
        return self.versions()[number - 1] if number >= 1 else None

    def announcement(self, version: Version) -> str | None:
        """Whether the outlet announced the version's edit, in one line (`announcement.banner`)."""
        return announcement.banner(version, self.previous(version))

    def pair(self, old: str | None, new: str | None) -> tuple[Version, Version]:
        """FROM and TO of a diff: TO defaults to the latest version, FROM to the one before TO; for
        a page back after it was gone, the last version before it went (what came back is compared
        with what went, not with the deletion)."""
        after = self.resolve(new, default=-1)
        if old is not None:
            return self.resolve(old), after
        earlier = self.versions()[: max(after.number - 1, 1)]
        if after.kind == Kind.RESTORED:
            earlier = [v for v in earlier if v.kind not in GONE_KINDS] or earlier
        return earlier[-1], after

    def text(self, version: Version) -> str | None:
        return self.store.read_at(version.commit, f"{self.folder}/{ARTICLE}")

    def links(self, version: Version) -> str | None:
        return self.store.read_at(version.commit, f"{self.folder}/{LINKS}")

    def compare(self, old: Version, new: Version) -> Comparison:
        return compare(self.text(old), self.text(new), self.links(old), self.links(new))


def _confirmed(versions: list[Version], confirmation: Confirmation) -> Version | None:
    """The latest version, captured before `confirmation`, whose record it refers to."""
    record = confirmation.refers_to.get("record_id")
    at = whole_second(confirmation.checked_at)
    chosen = None
    for version in versions:
        ref = version.meta.get("warc") or {}
        ids = {ref.get("record_id"), (ref.get("refers_to") or {}).get("record_id")}
        if record in ids and whole_second(version.captured_at) <= at:
            chosen = version
    return chosen


def _by_number(versions: list[Version], number: int) -> Version:
    if number == 0 or not -len(versions) <= number <= len(versions):
        raise UsageError(
            f"no version {number}: there are {len(versions)} (1 is the first, -1 the latest)"
        )
    return versions[number - 1 if number > 0 else number]


def _parse_when(spec: str) -> datetime:
    """The end of the moment `spec` names, at its precision: a day, a minute, a second..."""
    try:
        when = datetime.fromisoformat(spec.replace(" ", "T"))
    except ValueError:
        raise UsageError(f"not a date/time: {spec!r}") from None
    clock = re.split(r"[T ]", spec, maxsplit=1)[1] if re.search(r"[T ]", spec) else ""
    clock = re.split(r"[Z+-]", clock, maxsplit=1)[0]
    if not clock:  # a day: the version in force at the end of it
        when = datetime.combine(when.date(), time.max, when.tzinfo)
    elif clock.count(":") == 1:  # a minute, as `archiver log` prints times
        when = when.replace(second=59, microsecond=999999)
    elif "." not in clock:  # a second, as git prints commit dates
        when = when.replace(microsecond=999999)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _by_time(versions: list[Version], when: datetime, spec: str) -> Version:
    chosen = None
    for version in versions:
        if datetime.fromisoformat(version.captured_at) <= when:
            chosen = version
    if chosen is None:
        raise UsageError(
            f"no version at or before {spec}: the first is from {versions[0].captured_at}"
        )
    return chosen
