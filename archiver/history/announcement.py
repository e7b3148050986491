"""Whether an edit was announced: did the outlet itself say it changed the story?

An `edited` version is announced when its text adds a correction or update notice the version
before lacked (`text/notices.py`), or when the modification date the page declares moved on
(`text/modified.py`). meta.json records the answer (`announced`) and its evidence
(`announcement`). An edit is *substantive* when it changed the headline or a sentence of the body;
only a substantive edit without either is shown as unannounced (an edit of citations or facts
alone is recorded, not marked).
"""

from __future__ import annotations

from ..storage.meta import Announcement, Kind, PageMeta
from ..storage.store import PageFiles
from ..storage.versions import Version
from ..text.modified import later
from ..text.notices import Notices
from .compare import parse_article

SENTENCE_COUNTS = ("sentences_added", "sentences_removed", "sentences_changed")


def judge(previous: PageFiles, candidate: PageFiles, notices: Notices) -> Announcement:
    """The outlet's own word that `candidate` changed `previous`; empty when it said nothing."""
    evidence: Announcement = {}
    old, new = parse_article(previous.article), parse_article(candidate.article)
    notice = notices.added(old.body, new.body)
    if notice:
        evidence["notice"] = notice
    before, after = previous.meta.get("modified"), candidate.meta.get("modified")
    if before and after and later(before, after):
        evidence["modified"] = [before, after]
    return evidence


def record(meta: PageMeta, evidence: Announcement) -> None:
    """Write the judgement into an `edited` version's meta.json."""
    meta["announced"] = bool(evidence)
    if evidence:
        meta["announcement"] = evidence


def substantive(version: Version, previous: Version | None) -> bool:
    """Whether the version's edit changed the headline or a body sentence."""
    return _substantive(version.meta, previous.meta if previous else None)


def _substantive(meta: PageMeta, previous: PageMeta | None) -> bool:
    changes = meta.get("changes", {})
    retitled = previous is not None and previous.get("title") != meta.get("title")
    return retitled or any(changes.get(key, 0) for key in SENTENCE_COUNTS)


def unannounced(version: Version, previous: Version | None) -> bool:
    """A substantive edit the outlet did not announce (versions made before the judgement was
    recorded have none, and are not marked)."""
    return unannounced_edit(version.meta, previous.meta if previous else None)


def unannounced_edit(meta: PageMeta, previous: PageMeta | None) -> bool:
    """`unannounced`, on a version's meta.json and the one before."""
    return (
        meta.get("kind") == Kind.EDITED
        and meta.get("announced") is False
        and _substantive(meta, previous)
    )


def mark(version: Version, previous: Version | None) -> str | None:
    """The word `log` adds to a version: "unannounced", "announced", or None."""
    if unannounced(version, previous):
        return "unannounced"
    return "announced" if version.kind == Kind.EDITED and version.meta.get("announced") else None


def banner(version: Version, previous: Version | None) -> str | None:
    """One line for people: "Unannounced edit", "Announced: <notice>", or None (not an edit, or
    one not judged)."""
    if unannounced(version, previous):
        return "Unannounced edit"
    if version.kind != Kind.EDITED or not version.meta.get("announced"):
        return None
    evidence = version.meta.get("announcement", {})
    if evidence.get("notice"):
        return f"Announced: {evidence['notice']}"
    modified = evidence.get("modified") or ["?", "?"]
    return f"Announced: the page's modified date went from {modified[0]} to {modified[-1]}"
