"""What became of the sources an article version cites, judged from each source's own history in the
archive.

gone: the source's latest version is gone or a soft-404. changed: it has a newer version than the
one in force when the article version cited it. alive: neither. not archived: the archive holds no
version of it (out of scope, never fetched, or every fetch failed).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError
from ..storage.meta import GONE_KINDS
from ..storage.store import Store
from ..storage.versions import Version
from .compare import parse_links
from .timeline import History

ALIVE, CHANGED, GONE, NOT_ARCHIVED = "alive", "changed", "gone", "not archived"


@dataclass
class CitedSource:
    url: str
    text: str  # the anchor text
    change: str  # between the two article versions compared: "added", "removed" or "kept"
    status: str  # ALIVE, CHANGED, GONE or NOT_ARCHIVED
    cited: Version | None = None  # the source's version in force when the article version cited it
    latest: Version | None = None  # the source's latest version


def cited_sources(
    store: Store, old: Version, new: Version, old_links: str | None, new_links: str | None
) -> list[CitedSource]:
    """The citations of `new` in order (added or kept), then those only `old` had (removed), with
    statuses.

    A removed citation is judged against `old`, the version that cited it.
    """
    before, after = parse_links(old_links), parse_links(new_links)
    before_urls, after_urls = {u for u, _ in before}, {u for u, _ in after}
    cited = [(u, t, "kept" if u in before_urls else "added", new) for u, t in after]
    cited += [(u, t, "removed", old) for u, t in before if u not in after_urls]
    # Which commits came at or before each citing version: one git call each, not one per source
    # version.
    ancestry = {commit: store.ancestors(commit) for commit in {old.commit, new.commit}}
    return [
        _judge(store, url, text, change, ancestry[citing.commit])
        for url, text, change, citing in cited
    ]


def _judge(store: Store, url: str, text: str, change: str, ancestors: set[str]) -> CitedSource:
    try:
        versions = History(store, url).versions()
    except UsageError:
        return CitedSource(url, text, change, NOT_ARCHIVED)
    latest = versions[-1]
    # The version in force when cited: the newest made in or before the citing version's commit (a
    # source is fetched in the same run as the article citing it); else, archived only later, the
    # first one.
    cited = next((v for v in reversed(versions) if v.commit in ancestors), versions[0])
    status = (
        GONE if latest.kind in GONE_KINDS else ALIVE if latest.number == cited.number else CHANGED
    )
    return CitedSource(url, text, change, status, cited=cited, latest=latest)
