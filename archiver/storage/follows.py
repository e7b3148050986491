"""The followed outlets: `follows.toml`, a committed file that people may edit too.

Each `[[follow]]` table names a feed, sitemap or front page whose new articles every snapshot tracks.
The file is read with tomllib and edited with tomlkit, which keeps the comments and layout a person
gave it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import tomlkit

from ..errors import ConfigError, InvalidURL, UsageError
from ..urls import normalize_url
from . import atomic

FOLLOWS = "follows.toml"
KINDS = ("feed", "sitemap", "page")
MAX_NEW = range(1, 10_001)  # articles tracked from one poll
SINCE = range(1, 3_651)  # days
HEADER = """\
# Feeds, sitemaps and front pages whose new articles each snapshot tracks: one [[follow]] table
# each. `archiver follow URL` adds one and `archiver unfollow URL` removes it; you may edit them.
#   url      the feed, sitemap or page (required)
#   kind     "feed", "sitemap" or "page"; detected from the answer when absent
#   include  a regular expression an article URL must match to be tracked
#   exclude  a regular expression that keeps an article URL out
#   max_new  at most this many new articles tracked from one poll (the newest first)
#   since    only articles the listing dates within this many days
"""


@dataclass(frozen=True)
class Follow:
    url: str
    kind: str | None = None  # None: detected from the answer
    include: str | None = None
    exclude: str | None = None
    max_new: int | None = None
    since: int | None = None

    def __post_init__(self) -> None:
        _check(self)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def line(self) -> str:
        options = " ".join(f"{k}={v}" for k, v in self.as_dict().items() if k != "url")
        return f"{self.url} {options}".rstrip()


@dataclass(frozen=True)
class FollowStatus:
    """A follow as `list --follows` shows it: its settings, its last poll, and what its polls
    brought."""

    follow: Follow
    last_poll: str | None  # when it was last polled (ISO 8601); None: never
    outcome: str | None  # of the last poll: new, edited, unchanged, failed, ...
    error: str | None  # why the last poll failed
    brought: int  # tracked articles its polls brought (urls.txt's `# found by` notes)
    last_change: str | None  # what the listing's last version changed: "3 listed, 1 unlisted"
    next_poll: str | None

    def line(self) -> str:
        polled = (
            f"last poll {self.last_poll[:19].replace('T', ' ')}: {self.outcome}"
            if self.last_poll
            else "never polled"
        )
        if self.error:
            polled += f" ({self.error})"
        change = f"; last change: {self.last_change}" if self.last_change else ""
        return f"{self.follow.line()}\n  {polled}; brought {self.brought}{change}"

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.follow.as_dict(),
            "last_poll": self.last_poll,
            "outcome": self.outcome,
            "error": self.error,
            "brought": self.brought,
            "last_change": self.last_change,
            "next_poll": self.next_poll,
        }


def load(root: Path) -> list[Follow]:
    """The follows of the archive at `root` (none without the file); ConfigError names a bad one."""
    path = root / FOLLOWS
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"follow"}
    if unknown:
        raise ConfigError(f"{path}: unknown table '{sorted(unknown)[0]}' (only [[follow]] tables)")
    tables = data.get("follow", [])
    if not isinstance(tables, list):
        raise ConfigError(f"{path}: 'follow' must be [[follow]] tables")
    follows: dict[str, Follow] = {}
    for number, table in enumerate(tables, 1):
        follow = _follow(table, f"{path}: follow {number}")
        follows.setdefault(follow.url, follow)  # a URL followed twice counts once
    return list(follows.values())


def add(root: Path, follow: Follow) -> bool:
    """Add `follow` to the file (created if need be); False, and nothing written, if its URL is
    already followed."""
    if any(known.url == follow.url for known in load(root)):
        return False
    document = _document(root)
    tables = document.get("follow")
    if tables is None:
        tables = tomlkit.aot()
        document.append("follow", tables)
    table = tomlkit.table()
    for key, value in follow.as_dict().items():
        table.add(key, value)
    tables.append(table)
    atomic.write_text(root / FOLLOWS, tomlkit.dumps(document))
    return True


def remove(root: Path, url: str) -> bool:
    """Remove every [[follow]] table of `url`; False if it was not followed."""
    wanted = normalize_url(url)
    load(root)  # a broken file is named, not rewritten
    document = _document(root)
    tables = document.get("follow") or []
    kept = [t for t in tables if _normalized(t.get("url")) != wanted]
    if len(kept) == len(tables):
        return False
    tables.clear()
    for table in kept:
        tables.append(table)
    atomic.write_text(root / FOLLOWS, tomlkit.dumps(document))
    return True


def _document(root: Path) -> tomlkit.TOMLDocument:
    path = root / FOLLOWS
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    return tomlkit.parse(text)


def _normalized(url: object) -> str | None:
    try:
        return normalize_url(url) if isinstance(url, str) else None
    except InvalidURL:
        return None


def _follow(table: object, source: str) -> Follow:
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: must be a table")
    unknown = set(table) - {"url", "kind", "include", "exclude", "max_new", "since"}
    if unknown:
        raise ConfigError(f"{source}: unknown key '{sorted(unknown)[0]}'")
    url = table.get("url")
    if not isinstance(url, str):
        raise ConfigError(f"{source}: 'url' is missing or not a string")
    try:
        return Follow(
            url=normalize_url(url),
            **{k: v for k, v in table.items() if k != "url"},
        )
    except UsageError as exc:
        raise ConfigError(f"{source} ({url}): {exc}") from None
    except TypeError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _check(follow: Follow) -> None:
    """UsageError for a value no poll could use."""
    if follow.kind is not None and follow.kind not in KINDS:
        raise UsageError(f"kind must be one of {', '.join(KINDS)}, not {follow.kind!r}")
    for name in ("include", "exclude"):
        pattern = getattr(follow, name)
        if pattern is None:
            continue
        if not isinstance(pattern, str):
            raise UsageError(f"{name} must be a regular expression, not {pattern!r}")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise UsageError(f"{name} is not a regular expression: {exc}") from None
    for name, allowed in (("max_new", MAX_NEW), ("since", SINCE)):
        value = getattr(follow, name)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value not in allowed
        ):
            raise UsageError(
                f"{name} must be a whole number from {allowed.start} to {allowed.stop - 1}, "
                f"not {value!r}"
            )
