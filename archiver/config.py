"""`archiver.toml`: defaults, loading and validation with one-line messages."""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .errors import ConfigError, UsageError

CONFIG_NAME = "archiver.toml"
DEFAULT_USER_AGENT = f"archiver/{__version__} (news and citation archiver)"

# The single source of the defaults: `archiver init` writes this text, and loading parses it first.
DEFAULT_TOML = f"""\
# archiver settings. Every default is written out; edit and commit as you like.

[fetch]
# Parallel fetches in one run.
workers = 8
# Seconds to wait for a connection, and for each read from it.
connect_timeout = 10.0
read_timeout = 30.0
# Seconds one URL may take in all (redirects and body included) before it is cut.
deadline = 120.0
# Largest body kept, in bytes (larger bodies are truncated and marked WARC-Truncated: length).
max_body_bytes = 52428800
# Largest decompressed HTML fed to the text extractor, in bytes (guards against gzip bombs): the text of a
# larger page is taken from its first part. Extracting a page takes 30 to 45 times its size in memory, so
# this much fits within max_extract_memory. A PDF is read whole (up to max_body_bytes) or kept without text.
max_decoded_bytes = 2097152
# Processes that extract text, one page at a time each (0: one per CPU core).
extract_processes = 0
# Limits on the extraction of one page: CPU seconds, and megabytes of memory for its process (about 50 MB
# of it the extractor's own code). A page over either fails with that reason; its response is kept as
# evidence, and the rest of the run goes on.
max_extract_seconds = 30.0
max_extract_memory = 160
# Redirect hops followed before the fetch fails.
max_redirects = 10
# User-Agent sent with every request.
user_agent = "{DEFAULT_USER_AGENT}"
# Check TLS certificates (set false only for a server you trust).
verify_tls = true
# Hosts whose TLS certificate is accepted unchecked (self-signed, expired, another name), named one by one,
# e.g. ["intranet.example.org"]; every other host is still checked. Prefer this to verify_tls = false.
insecure_tls_hosts = []
# Fetches in flight to one host at a time, and the minimum seconds between the starts of two of them.
per_host = 2
per_host_delay = 0.0
# Honour robots.txt (fetched once per host per run).
robots = true
# Answers 429 and 503 are retried this many times, waiting as Retry-After asks (at most max_retry_wait
# seconds, and never past the deadline) or 2, 4, 8... seconds when it does not say.
retries = 2
max_retry_wait = 60.0

[sources]
# Archive the links cited in article bodies as pages of their own ("sources").
# Link hops followed from a tracked article: 0 = none, 1 = its sources, 2 = also their sources, ...
depth = 1
# At most this many sources per article, in order of first appearance.
max_per_article = 100
# Follow sources on hosts other than the citing page's.
other_hosts = true
# Regular expressions matched against a source's normalized URL: when include is not empty a source must
# match one of its patterns; a source matching any exclude pattern is never fetched.
include = []
exclude = []
# Fetch sources whose host is (or resolves to, or redirects to) a private, loopback or link-local address.
# Off by default: a page must not be able to point archiver at services inside your network.
allow_private = false

[schedule]
# When a page is due again, in minutes: min_interval after a change (or a first capture), then the
# interval grows by `growth` at each check that finds nothing new, up to max_interval.
min_interval = 15.0
growth = 2.0
max_interval = 10080.0
# Pages first archived more than old_after_days ago are checked at most every old_interval minutes.
old_after_days = 30.0
old_interval = 10080.0
# Per-URL overrides, first match wins (regular expressions on the normalized URL):
# [[schedule.rules]]
# pattern = "^https://www\\.example\\.com/live/"
# min_interval = 5.0
# max_interval = 60.0

[status]
# A page whose every check has failed (timeouts, DNS, refused, 5xx, 429) for this many days is listed as
# "unreachable". Its archived versions are never touched by failures.
unreachable_after_days = 7.0

[warc]
# WARC file names: warcs/YYYY/MM/<prefix>-<timestamp>-<serial>.warc.gz
prefix = "archiver"

[git]
# Author of the snapshot commits.
author_name = "archiver"
author_email = "archiver@localhost"
# Push to this remote (e.g. "origin") after each commit; a failed push is reported, the commit is kept.
push_remote = ""

# Per-site rules that drop volatile fragments from the text before it is compared.
# [[ignore]]
# hosts = ["example.com", "www.example.com"]   # omit to apply everywhere
# selectors = [".live-ticker", "#most-read"]     # CSS selectors removed from the HTML
# patterns = ["^Last updated .*$"]               # regular expressions; matching sentences are dropped
"""


@dataclass(frozen=True)
class IgnoreRule:
    hosts: tuple[str, ...] = ()
    selectors: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()

    def applies_to(self, host: str) -> bool:
        return not self.hosts or host in self.hosts


@dataclass(frozen=True)
class FetchConfig:
    workers: int
    connect_timeout: float
    read_timeout: float
    deadline: float
    max_body_bytes: int
    max_decoded_bytes: int
    extract_processes: int
    max_extract_seconds: float
    max_extract_memory: int  # MB
    max_redirects: int
    user_agent: str
    verify_tls: bool
    insecure_tls_hosts: frozenset[str]  # normalized host names (lower case, IDN as punycode)
    per_host: int
    per_host_delay: float
    robots: bool
    retries: int
    max_retry_wait: float


@dataclass(frozen=True)
class SourcesConfig:
    depth: int
    max_per_article: int
    other_hosts: bool
    include: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]
    allow_private: bool

    def in_scope(self, url: str, citing_host: str | None) -> bool:
        """Whether a source may be fetched; `citing_host` None when no citing page is at hand."""
        from urllib.parse import urlsplit

        if citing_host is not None and not self.other_hosts and urlsplit(url).hostname != citing_host:
            return False
        if self.include and not any(p.search(url) for p in self.include):
            return False
        return not any(p.search(url) for p in self.exclude)


@dataclass(frozen=True)
class ScheduleRule:
    pattern: re.Pattern[str]
    min_interval: float | None = None
    max_interval: float | None = None


@dataclass(frozen=True)
class ScheduleConfig:
    min_interval: float  # minutes
    growth: float
    max_interval: float
    old_after_days: float
    old_interval: float
    rules: tuple[ScheduleRule, ...] = ()

    def bounds(self, url: str) -> tuple[float, float]:
        """(min, max) interval in minutes for `url`, after per-URL rules."""
        for rule in self.rules:
            if rule.pattern.search(url):
                low = rule.min_interval if rule.min_interval is not None else self.min_interval
                return low, max(low, rule.max_interval if rule.max_interval is not None else self.max_interval)
        return self.min_interval, self.max_interval


@dataclass(frozen=True)
class Config:
    fetch: FetchConfig
    sources: SourcesConfig
    schedule: ScheduleConfig
    unreachable_after_days: float
    warc_prefix: str
    git_author_name: str
    git_author_email: str
    git_push_remote: str
    ignore: tuple[IgnoreRule, ...] = field(default=())


def defaults() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_TOML)


def load(path: Path) -> Config:
    try:
        user = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        user = {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return from_dict(user, source=str(path))


def from_dict(user: dict[str, Any], source: str = CONFIG_NAME) -> Config:
    merged = _merge(defaults(), user, source, prefix="")
    fetch = merged["fetch"]
    _check_positive(fetch, source)
    _check_extract_limits(fetch, source)
    fetch["insecure_tls_hosts"] = _hosts(fetch["insecure_tls_hosts"], "fetch.insecure_tls_hosts", source)
    return Config(
        fetch=FetchConfig(**fetch),
        sources=_sources(merged["sources"], source),
        unreachable_after_days=_positive(merged["status"]["unreachable_after_days"], "status.unreachable_after_days",
                                         source),
        warc_prefix=_check_prefix(merged["warc"]["prefix"], source),
        git_author_name=merged["git"]["author_name"],
        git_author_email=merged["git"]["author_email"],
        git_push_remote=merged["git"]["push_remote"],
        schedule=_schedule(merged["schedule"], user.get("schedule", {}).get("rules", []), source),
        ignore=tuple(_ignore_rule(r, source) for r in user.get("ignore", [])),
    )


def _merge(base: dict[str, Any], user: dict[str, Any], source: str, prefix: str) -> dict[str, Any]:
    merged = dict(base)
    for key, value in user.items():
        name = f"{prefix}{key}"
        if (not prefix and key == "ignore") or (prefix == "schedule." and key == "rules"):
            continue  # lists of tables, validated on their own
        if key not in base:
            raise ConfigError(f"{source}: unknown setting '{name}'")
        default = base[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: '{name}' must be a table")
            merged[key] = _merge(default, value, source, prefix=f"{name}.")
        else:
            merged[key] = _coerce(name, default, value, source)
    return merged


def _coerce(name: str, default: Any, value: Any, source: str) -> Any:
    if isinstance(default, bool) or isinstance(value, bool):
        if isinstance(default, bool) and isinstance(value, bool):
            return value
    elif isinstance(default, float) and isinstance(value, int | float):
        return float(value)
    elif isinstance(value, type(default)):
        return value
    raise ConfigError(f"{source}: '{name}' must be {type(default).__name__}, not {value!r}")


ZERO_ALLOWED = frozenset({"per_host_delay", "retries", "extract_processes"})


def _check_positive(fetch: dict[str, Any], source: str) -> None:
    for key, value in fetch.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            _positive(value, f"fetch.{key}", source, zero=key in ZERO_ALLOWED)


# An extraction process holds about 50 MB before its first page; an hour of CPU is beyond any real page.
EXTRACT_LIMITS = {"max_extract_seconds": (1, 3600, "seconds"), "max_extract_memory": (100, 65536, "MB")}


def _check_extract_limits(fetch: dict[str, Any], source: str) -> None:
    for key, (low, high, unit) in EXTRACT_LIMITS.items():
        if not low <= fetch[key] <= high:
            raise ConfigError(f"{source}: 'fetch.{key}' must be between {low} and {high} {unit}")


def _positive(value: float, name: str, source: str, zero: bool = False) -> float:
    # Written so that NaN fails too (every comparison with NaN is false).
    if zero and value == 0:
        return value
    if not 0 < value < math.inf:
        raise ConfigError(f"{source}: '{name}' must be a finite number greater than 0")
    return value


def _hosts(values: list[Any], name: str, source: str) -> frozenset[str]:
    from .urls import normalize_host

    hosts = set()
    for value in values:
        try:
            if not isinstance(value, str):
                raise ValueError
            hosts.add(normalize_host(value.strip().removeprefix("[").removesuffix("]")))
        except (ValueError, UsageError):
            raise ConfigError(f'{source}: \'{name}\' takes host names like "intranet.example.org", '
                              f"not {value!r}") from None
    return frozenset(hosts)


def _schedule(raw: dict[str, Any], rules: Any, source: str) -> ScheduleConfig:
    for key, value in raw.items():
        _positive(value, f"schedule.{key}", source)
    if raw["growth"] < 1:
        raise ConfigError(f"{source}: 'schedule.growth' must be 1 or more")
    if not isinstance(rules, list):
        raise ConfigError(f"{source}: 'schedule.rules' must be an array of tables ([[schedule.rules]])")
    return ScheduleConfig(**raw, rules=tuple(_schedule_rule(r, source) for r in rules))


def _schedule_rule(raw: Any, source: str) -> ScheduleRule:
    if not isinstance(raw, dict) or "pattern" not in raw or set(raw) - {"pattern", "min_interval", "max_interval"}:
        raise ConfigError(f"{source}: each [[schedule.rules]] takes pattern, min_interval and max_interval")
    [pattern] = _patterns([raw["pattern"]], "schedule.rules.pattern", source)
    bounds = {}
    for key in ("min_interval", "max_interval"):
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{source}: 'schedule.rules.{key}' must be a number of minutes")
            bounds[key] = _positive(float(value), f"schedule.rules.{key}", source)
    return ScheduleRule(pattern, **bounds)


def _sources(raw: dict[str, Any], source: str) -> SourcesConfig:
    if raw["depth"] < 0 or raw["max_per_article"] < 0:
        raise ConfigError(f"{source}: 'sources.depth' and 'sources.max_per_article' must be 0 or more")
    return SourcesConfig(
        depth=raw["depth"],
        max_per_article=raw["max_per_article"],
        other_hosts=raw["other_hosts"],
        include=_patterns(raw["include"], "sources.include", source),
        exclude=_patterns(raw["exclude"], "sources.exclude", source),
        allow_private=raw["allow_private"],
    )


def _patterns(values: list[Any], name: str, source: str) -> tuple[re.Pattern[str], ...]:
    if not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{source}: '{name}' must be a list of strings")
    try:
        return tuple(re.compile(v) for v in values)
    except re.error as exc:
        raise ConfigError(f"{source}: bad pattern in '{name}': {exc}") from None


def _check_prefix(prefix: str, source: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", prefix):
        raise ConfigError(f"{source}: 'warc.prefix' may hold only letters, digits, '.', '_' and '-'")
    return prefix


def _ignore_rule(raw: Any, source: str) -> IgnoreRule:
    if not isinstance(raw, dict) or set(raw) - {"hosts", "selectors", "patterns"}:
        raise ConfigError(f"{source}: each [[ignore]] takes only hosts, selectors and patterns")
    lists = {}
    for key in ("hosts", "selectors", "patterns"):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{source}: 'ignore.{key}' must be a list of strings")
        lists[key] = value
    patterns = _patterns(lists["patterns"], "ignore.patterns", source)
    _check_selectors(lists["selectors"], source)
    return IgnoreRule(tuple(h.lower() for h in lists["hosts"]), tuple(lists["selectors"]), patterns)


def _check_selectors(selectors: list[str], source: str) -> None:
    from cssselect import GenericTranslator, SelectorError

    for selector in selectors:
        try:
            GenericTranslator().css_to_xpath(selector)
        except SelectorError as exc:
            raise ConfigError(f"{source}: bad CSS selector {selector!r} in [[ignore]]: {exc}") from None
