"""`archiver.toml`: defaults, loading and validation with one-line messages."""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import __version__
from .errors import ConfigError, UsageError

CONFIG_NAME = "archiver.toml"
DEFAULT_USER_AGENT = f"archiver/{__version__} (news and citation archiver)"


@dataclass(frozen=True)
class Range:
    """The values a numeric setting may take: from `low` (or, when `above`, anything greater) to
    `high`."""

    low: float
    high: float
    unit: str = ""
    above: bool = False  # `low` itself excluded: a time that must not be zero

    def __contains__(self, value: float) -> bool:
        # Written so that NaN is in no range (every comparison with NaN is false).
        return (self.low < value if self.above else self.low <= value) and value <= self.high

    def __str__(self) -> str:
        low, high = (f"{n:_}" if n >= 10_000 else f"{n:g}" for n in (self.low, self.high))
        return f"more than {low}, at most {high}" if self.above else f"from {low} to {high}"


MINUTES_IN_A_YEAR = 525_600
# Every numeric setting's range, checked in one place. The highest values: beyond them a setting
# stops making sense or starts doing harm (threads and memory without end, due dates past the year
# 9999).
RANGES = {
    "fetch.workers": Range(1, 256),  # threads, each with its own HTTP session and body in flight
    "fetch.connect_timeout": Range(
        0, 600, "seconds", above=True
    ),  # the kernel gives up on a connection sooner
    "fetch.read_timeout": Range(0, 3600, "seconds", above=True),
    "fetch.deadline": Range(0, 3600, "seconds", above=True),  # an hour for one URL
    "fetch.max_body_bytes": Range(
        1024, 1 << 30, "bytes"
    ),  # 1 KiB (not even an error page fits in less) to 1 GiB
    "fetch.max_decoded_bytes": Range(
        1024, 256 << 20, "bytes"
    ),  # extraction holds three times this: 768 MiB
    "fetch.extract_processes": Range(0, 64),
    "fetch.max_extract_seconds": Range(
        1, 3600, "seconds"
    ),  # an hour of CPU is beyond any real page
    "fetch.max_extract_memory": Range(
        100, 65536, "MB"
    ),  # a worker holds about 50 MB before its first page
    "fetch.max_redirects": Range(1, 50),  # browsers stop at 20
    "fetch.per_host": Range(1, 64),
    "fetch.per_host_delay": Range(0, 600, "seconds"),
    "fetch.retries": Range(0, 10),
    "fetch.max_retry_wait": Range(0, 3600, "seconds", above=True),
    "sources.depth": Range(0, 5),  # each hop multiplies the pages by up to max_per_article
    "sources.max_per_article": Range(0, 10_000),
    "sources.seconds_per_article": Range(0, 3600, "seconds", above=True),
    "schedule.min_interval": Range(0, MINUTES_IN_A_YEAR, "minutes", above=True),
    "schedule.growth": Range(1, 10),
    "schedule.max_interval": Range(0, MINUTES_IN_A_YEAR, "minutes", above=True),
    "schedule.old_after_days": Range(0, 3650, "days", above=True),
    "schedule.old_interval": Range(0, MINUTES_IN_A_YEAR, "minutes", above=True),
    "schedule.rules.min_interval": Range(0, MINUTES_IN_A_YEAR, "minutes", above=True),
    "schedule.rules.max_interval": Range(0, MINUTES_IN_A_YEAR, "minutes", above=True),
    "status.unreachable_after_days": Range(0, 3650, "days", above=True),
    "notify.min_changed_sentences": Range(1, 100_000),
    "notify.max_attempts": Range(1, 100),  # runs that try a message before it is dropped
    # commits timestamped in one run: each is one request to a TSA
    "evidence.max_timestamps": Range(1, 10_000),
    "cluster.redeliver_after": Range(5, 86_400, "seconds"),
}
_R = RANGES  # for the comments below


class EventKind(StrEnum):
    """What a run can tell its user of (`[notify] events`); the first six are kinds of version."""

    NEW = "new"
    EDITED = "edited"
    MOVED = "moved"
    RESTORED = "restored"
    GONE = "gone"
    SOFT_404 = "soft-404"
    CITATION_REMOVED = "citation-removed"  # an article's new version drops a source it linked
    SOURCE_GONE = "source-gone"  # a cited page went, moved or was edited
    UNANNOUNCED_EDIT = "unannounced-edit"  # an edit the page does not say it made
    FOLLOW_ERROR = "follow-error"  # a followed page could not be checked


ALL_EVENTS = tuple(EventKind)
# Every event but `new` (each first capture: a first snapshot would send hundreds) and `moved` (the
# same text under another URL: nothing a reader sees changed).
DEFAULT_EVENTS = tuple(k for k in EventKind if k not in (EventKind.NEW, EventKind.MOVED))

# The single source of the defaults: `archiver init` writes this text, and loading parses it first.
DEFAULT_TOML = f"""\
# archiver settings. Every default is written out; edit and commit as you like.

[fetch]
# The most fetches in flight in one run ({_R["fetch.workers"]}): a ceiling. A run fetches `per_host`
# at a time from each site it has pages of, so the per-host limit is what governs below it.
workers = 64
# Seconds to wait for a connection ({_R["fetch.connect_timeout"]}), and for each read from it
# ({_R["fetch.read_timeout"]}).
connect_timeout = 10.0
read_timeout = 30.0
# Seconds one URL may take in all (redirects and body included) before it is cut ({_R["fetch.deadline"]}).
deadline = 120.0
# Largest body kept, in bytes (larger bodies are truncated and marked WARC-Truncated: length);
# {_R["fetch.max_body_bytes"]} (1 KiB to 1 GiB).
max_body_bytes = 52428800
# Largest decompressed HTML fed to the text extractor, in bytes (guards against gzip bombs;
# {_R["fetch.max_decoded_bytes"]}): the text of a larger page is taken from its first part. Extracting a page
# takes 30 to 45 times its size in memory, so this much fits within max_extract_memory. A PDF is read whole
# (up to max_body_bytes) or kept without text.
max_decoded_bytes = 2097152
# The most processes that extract text, one page at a time each (0: one per CPU core; {_R["fetch.extract_processes"]}).
# A run starts one for every 8 pages waiting for their text.
extract_processes = 0
# Limits on the extraction of one page: CPU seconds ({_R["fetch.max_extract_seconds"]}), and megabytes of memory
# for its process ({_R["fetch.max_extract_memory"]}; about 50 MB of it the extractor's own code). A page over
# either fails with that reason; its response is kept as evidence, and the rest of the run goes on.
max_extract_seconds = 30.0
max_extract_memory = 160
# Redirect hops followed before the fetch fails ({_R["fetch.max_redirects"]}).
max_redirects = 10
# User-Agent sent with every request.
user_agent = "{DEFAULT_USER_AGENT}"
# Check TLS certificates (set false only for a server you trust).
verify_tls = true
# Hosts whose TLS certificate is accepted unchecked (self-signed, expired, another name), named one by one,
# e.g. ["intranet.example.org"]; every other host is still checked. Prefer this to verify_tls = false.
insecure_tls_hosts = []
# Fetches in flight to one site at a time ({_R["fetch.per_host"]}), and the minimum seconds between the
# starts of two of them ({_R["fetch.per_host_delay"]}). A site is a registrable domain (every sub-domain of
# news.example.co.uk is one site), or an address for a host given as one.
per_host = 2
per_host_delay = 0.0
# Honour robots.txt (fetched once per host per run).
robots = true
# Answers 429 and 503 are retried this many times ({_R["fetch.retries"]}), waiting as Retry-After asks (at
# most max_retry_wait seconds, {_R["fetch.max_retry_wait"]}, and never past the deadline) or 2, 4, 8...
# seconds when it does not say.
retries = 2
max_retry_wait = 60.0

[sources]
# Archive the links cited in article bodies as pages of their own ("sources").
# Link hops followed from a tracked article: 0 = none, 1 = its sources, 2 = also their sources, ...
# ({_R["sources.depth"]}).
depth = 1
# At most this many sources per article, in order of first appearance ({_R["sources.max_per_article"]}).
max_per_article = 100
# Seconds of fetching the sources of one article may take in one run, added up (robots.txt included;
# {_R["sources.seconds_per_article"]}); the sources not started by then are checked at the next run, so a page
# citing many slow sites cannot hold the run.
seconds_per_article = 120.0
# Follow sources on hosts other than the citing page's.
other_hosts = true
# Regular expressions matched against a source's normalized URL: when include is not empty a source must
# match one of its patterns; a source matching any exclude pattern is never fetched.
include = []
exclude = []
# Fetch pages whose host is (or resolves to) a private, loopback or link-local address: cited sources, and any
# request a redirect or robots.txt leads to. Off by default: a page must not be able to point archiver at
# services inside your network. The origins (scheme, host, port) of the articles you track are always fetched.
allow_private = false

[schedule]
# When a page is due again, in minutes: min_interval after a change (or a first capture), then the
# interval grows by `growth` ({_R["schedule.growth"]}) at each check that finds nothing new, up to
# max_interval. Intervals are {_R["schedule.min_interval"]} minutes (a year).
min_interval = 15.0
growth = 2.0
max_interval = 10080.0
# Pages first archived more than old_after_days ago ({_R["schedule.old_after_days"]}) are checked at most
# every old_interval minutes ({_R["schedule.old_interval"]}).
old_after_days = 30.0
old_interval = 10080.0
# Per-URL overrides, first match wins (regular expressions on the normalized URL):
# [[schedule.rules]]
# pattern = "^https://www\\.example\\.com/live/"
# min_interval = 5.0
# max_interval = 60.0

[status]
# A page whose every check has failed (timeouts, DNS, refused, 5xx, 429) for this many days
# ({_R["status.unreachable_after_days"]}) is listed as "unreachable". Its archived versions are never
# touched by failures.
unreachable_after_days = 7.0

[warc]
# WARC file names: warcs/YYYY/MM/<prefix>-<timestamp>-<serial>.warc.gz
prefix = "archiver"
# Who runs this archive (a person or organisation, and how to reach them), written into every WARC file's
# warcinfo record as `operator`, as crawlers do; empty writes none.
operator = ""

[git]
# Author of the snapshot commits.
author_name = "archiver"
author_email = "archiver@localhost"
# Push to this remote (e.g. "origin") after each commit; a failed push is reported, the commit is kept.
push_remote = ""

[announce]
# Regular expressions (matched case-insensitively on each sentence of an article's normalized text) that
# mark a correction or update notice, beside the built-in ones ("Correction:", "Update:", "Editor's note:",
# "An earlier version of this article…", and their French, German, Spanish and Russian forms). An edit that
# adds such a sentence is "announced". E.g. ["^Nachtrag:", "^Hinweis der Redaktion"].
notices = []

[notify]
# Where to tell you what a run found: Apprise URLs, one per target, e.g.
# "mailtos://user:password@mail.example.org?to=desk@example.org", "json://hooks.example.org/archiver",
# "ntfy://ntfy.sh/my-topic", "slack://...", "matrix://...". Each target gets one message per run.
# archiver.toml is committed: a URL's password is in the archive's history (see docs/configuration.md).
urls = []
# The events told, of: {", ".join(ALL_EVENTS[:5])},
# {", ".join(ALL_EVENTS[5:])}.
events = [{", ".join(f'"{k}"' for k in DEFAULT_EVENTS)}]
# An edit is told when at least this many sentences were added, removed or changed
# ({_R["notify.min_changed_sentences"]}).
min_changed_sentences = 1
# Runs that try to deliver a message a target refused, before it is dropped with a warning
# ({_R["notify.max_attempts"]}).
max_attempts = 5
# Where the archive's files are published (a git forge's view of the branch, a web server): messages
# and the change feed then link to a page's folder there; empty: they name the `archiver report` command.
report_base_url = ""

[evidence]
# RFC 3161 time-stamping authorities, tried in turn: every commit is then timestamped by the first that
# answers, e.g. ["https://freetsa.org/tsr", "http://timestamp.digicert.com"]. Empty: nothing leaves the
# machine. The certificates a token must chain to go in the archive's evidence/tsa/ (PEM files).
tsa_urls = []
# Commits timestamped at most in one run (or one `archiver timestamp`), oldest first; the rest wait
# for the next ({_R["evidence.max_timestamps"]}).
max_timestamps = 20

[cluster]
# A distributed run: the Redis of a cluster of `archiver worker` processes, e.g.
# "redis://10.0.0.5:6379/0". Every snapshot is then fetched by those workers and committed here.
# Empty: this machine fetches (nothing else is needed).
broker = ""
# Where workers write the WARC segments of their captures: a folder every machine mounts at the same
# path, or an fsspec URL such as "s3://bucket/segments" (with s3fs installed). Empty: the archive's
# .archiver/segments (the workers then mount the archive at the same path).
segments = ""
# A job whose worker has been silent this many seconds is handed to another worker: more than the
# longest job takes (fetch.deadline, then extraction) ({_R["cluster.redeliver_after"]} s).
redeliver_after = 120.0

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
    seconds_per_article: float
    other_hosts: bool
    include: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]
    allow_private: bool

    def in_scope(self, url: str, citing_host: str | None) -> bool:
        """Whether a source may be fetched; `citing_host` None when no citing page is at hand."""
        from urllib.parse import urlsplit

        if (
            citing_host is not None
            and not self.other_hosts
            and urlsplit(url).hostname != citing_host
        ):
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
                return low, max(
                    low, rule.max_interval if rule.max_interval is not None else self.max_interval
                )
        return self.min_interval, self.max_interval


@dataclass(frozen=True)
class NotifyConfig:
    urls: tuple[str, ...] = ()  # Apprise URLs, each parsed by Apprise at load
    events: frozenset[str] = frozenset(DEFAULT_EVENTS)
    min_changed_sentences: int = 1
    max_attempts: int = 5
    report_base_url: str = ""


@dataclass(frozen=True)
class EvidenceConfig:
    tsa_urls: tuple[str, ...] = ()  # http(s) URLs of RFC 3161 time-stamping authorities
    max_timestamps: int = 20


@dataclass(frozen=True)
class ClusterConfig:
    broker: str = ""  # redis:// URL; empty: a run fetches in this process
    segments: str = ""  # a shared folder or fsspec URL; empty: the archive's .archiver/segments
    redeliver_after: float = 120.0  # seconds


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
    warc_operator: str = ""
    announce_notices: tuple[re.Pattern[str], ...] = ()  # the user's notice patterns
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    evidence: EvidenceConfig = field(default_factory=lambda: EvidenceConfig())
    cluster: ClusterConfig = field(default_factory=ClusterConfig)


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
    for name in RANGES:
        section, _, key = name.rpartition(".")
        if section in merged:  # schedule.rules.*: checked rule by rule
            _check_range(name, merged[section][key], source)
    fetch = merged["fetch"]
    fetch["insecure_tls_hosts"] = _hosts(
        fetch["insecure_tls_hosts"], "fetch.insecure_tls_hosts", source
    )
    return Config(
        fetch=FetchConfig(**fetch),
        sources=_sources(merged["sources"], source),
        unreachable_after_days=merged["status"]["unreachable_after_days"],
        warc_prefix=_check_prefix(merged["warc"]["prefix"], source),
        warc_operator=_check_field(merged["warc"]["operator"], "warc.operator", source),
        git_author_name=merged["git"]["author_name"],
        git_author_email=merged["git"]["author_email"],
        git_push_remote=merged["git"]["push_remote"],
        schedule=_schedule(merged["schedule"], user.get("schedule", {}).get("rules", []), source),
        ignore=tuple(_ignore_rule(r, source) for r in user.get("ignore", [])),
        announce_notices=_patterns(
            merged["announce"]["notices"], "announce.notices", source, re.IGNORECASE
        ),
        notify=_notify(merged["notify"], source),
        evidence=_evidence(merged["evidence"], source),
        cluster=_cluster(merged["cluster"], source),
    )


def with_extract_processes(config: Config, processes: int) -> Config:
    """`config` with another number of extraction processes (0: one per CPU core), checked like the
    setting."""
    name = "fetch.extract_processes"
    if (
        isinstance(processes, bool)
        or not isinstance(processes, int)
        or processes not in RANGES[name]
    ):
        raise UsageError(f"extract_processes must be {RANGES[name]}, not {processes!r}")
    return replace(config, fetch=replace(config.fetch, extract_processes=processes))


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

    return value


def _check_range(name: str, value: float, source: str) -> float:
    allowed = RANGES[name]
    if value not in allowed:
        unit = f" {allowed.unit}" if allowed.unit else ""
        raise ConfigError(f"{source}: '{name}' must be {allowed}{unit}, not {value!r}")
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
            raise ConfigError(
                f"{source}: '{name}' takes host names like \"intranet.example.org\", not {value!r}"
            ) from None
    return frozenset(hosts)


def _schedule(raw: dict[str, Any], rules: Any, source: str) -> ScheduleConfig:
    if not isinstance(rules, list):
        raise ConfigError(
            f"{source}: 'schedule.rules' must be an array of tables ([[schedule.rules]])"
        )
    return ScheduleConfig(**raw, rules=tuple(_schedule_rule(r, source) for r in rules))


def _schedule_rule(raw: Any, source: str) -> ScheduleRule:
    if (
        not isinstance(raw, dict)
        or "pattern" not in raw
        or set(raw) - {"pattern", "min_interval", "max_interval"}
    ):
        raise ConfigError(
            f"{source}: each [[schedule.rules]] takes pattern, min_interval and max_interval"
        )
    [pattern] = _patterns([raw["pattern"]], "schedule.rules.pattern", source)
    bounds = {}
    for key in ("min_interval", "max_interval"):
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{source}: 'schedule.rules.{key}' must be a number of minutes")
            bounds[key] = _check_range(f"schedule.rules.{key}", float(value), source)
    return ScheduleRule(pattern, **bounds)


def _sources(raw: dict[str, Any], source: str) -> SourcesConfig:
    return SourcesConfig(
        depth=raw["depth"],
        max_per_article=raw["max_per_article"],
        seconds_per_article=raw["seconds_per_article"],
        other_hosts=raw["other_hosts"],
        include=_patterns(raw["include"], "sources.include", source),
        exclude=_patterns(raw["exclude"], "sources.exclude", source),
        allow_private=raw["allow_private"],
    )


def _patterns(
    values: list[Any], name: str, source: str, flags: int = 0
) -> tuple[re.Pattern[str], ...]:
    if not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{source}: '{name}' must be a list of strings")
    compiled = []
    for value in values:
        try:
            compiled.append(re.compile(value, flags))
        except re.error as exc:
            raise ConfigError(f"{source}: bad pattern {value!r} in '{name}': {exc}") from None
    return tuple(compiled)


def _notify(raw: dict[str, Any], source: str) -> NotifyConfig:
    urls = raw["urls"]
    for url in urls:
        if not isinstance(url, str) or not apprise_parses(url):
            shown = url.split("://")[0] + "://…" if isinstance(url, str) else repr(url)
            raise ConfigError(
                f"{source}: 'notify.urls' holds a URL Apprise cannot use ({shown}): see "
                "https://github.com/caronc/apprise/wiki for the forms of each service"
            )
    events = raw["events"]
    unknown = [e for e in events if e not in ALL_EVENTS]
    if unknown:
        raise ConfigError(
            f"{source}: 'notify.events' has no event {unknown[0]!r}; the events are "
            + ", ".join(ALL_EVENTS)
        )
    base = raw["report_base_url"]
    if base and urlsplit(base).scheme not in ("http", "https"):
        raise ConfigError(
            f"{source}: 'notify.report_base_url' must be an http(s) URL, not {base!r}"
        )
    return NotifyConfig(
        urls=tuple(urls),
        events=frozenset(events),
        min_changed_sentences=raw["min_changed_sentences"],
        max_attempts=raw["max_attempts"],
        report_base_url=base.rstrip("/"),
    )


def _evidence(raw: dict[str, Any], source: str) -> EvidenceConfig:
    for url in raw["tsa_urls"]:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"{source}: 'evidence.tsa_urls' holds {url!r}, not an http(s) URL of a "
                "time-stamping authority"
            )
    return EvidenceConfig(tuple(raw["tsa_urls"]), raw["max_timestamps"])


def _cluster(raw: dict[str, Any], source: str) -> ClusterConfig:
    broker = raw["broker"]
    if broker and urlsplit(broker).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(
            f"{source}: 'cluster.broker' holds {broker!r}, not a Redis URL "
            "(redis://HOST:PORT/DB, rediss:// or unix://)"
        )
    return ClusterConfig(broker, raw["segments"], raw["redeliver_after"])


def with_broker(config: Config, broker: str) -> Config:
    """`config` with the run's broker named on the command line, checked like the setting."""
    return replace(
        config, cluster=_cluster({**asdict(config.cluster), "broker": broker}, "--broker")
    )


def apprise_parses(url: str) -> bool:
    """Whether Apprise knows the service of `url` and can read it (Apprise is imported only when a
    target is set: it loads every service's module)."""
    import apprise

    logger = logging.getLogger("apprise")  # its own words on a bad URL: the ConfigError says it
    disabled, logger.disabled = logger.disabled, True
    try:
        return apprise.Apprise.instantiate(url) is not None
    finally:
        logger.disabled = disabled


def _check_field(value: str, name: str, source: str) -> str:
    """A value written into a WARC header field: one line of printable text."""
    if any(not c.isprintable() for c in value):
        raise ConfigError(f"{source}: '{name}' must be one line of printable text")
    return value


def _check_prefix(prefix: str, source: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", prefix):
        raise ConfigError(
            f"{source}: 'warc.prefix' may hold only letters, digits, '.', '_' and '-'"
        )
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
            raise ConfigError(
                f"{source}: bad CSS selector {selector!r} in [[ignore]]: {exc}"
            ) from None
