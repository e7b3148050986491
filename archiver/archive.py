"""The `Archive`: open or create one, its settings and tracked URLs, and the runs made on it."""

from __future__ import annotations

import functools
import logging
import threading
import zlib
from collections import Counter
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from . import __version__, untrusted
from . import config as configmod
from .errors import ArchiveDamaged, ArchiveMissing, ArchiverError, InvalidURL, UsageError
from .history.compare import parse_links
from .history.timeline import History
from .run import recovery, reseed
from .run.results import OnResult, RunSummary
from .storage import atomic
from .storage import follows as followsmod
from .storage.follows import Follow, FollowStatus
from .storage.lock import ArchiveLock
from .storage.meta import GONE_KINDS, Kind, PageMeta
from .storage.meta import load as load_meta
from .storage.state import Outcome, PageState, State, read_pages
from .storage.store import LINKS, META, WORK_DIR, Store
from .storage.versions import Version
from .urls import normalize_url

if TYPE_CHECKING:
    from .evidence.cdxj import IndexUpdate
    from .evidence.provenance import Connection
    from .evidence.receipt import ReceiptReport, ReceiptSummary, Stamp
    from .evidence.timestamps import StampSummary
    from .evidence.verify import Report
    from .evidence.wacz import ExportSummary
    from .notify.send import Attempt, Delivery
    from .run.rebuild import RebuildSummary

log = logging.getLogger(__name__)

URLS_NAME = "urls.txt"
STATE_NAME = "state.sqlite"
URLS_HEADER = (
    "# Tracked articles, one URL a line (`# found by URL` after one a follow brought). "
    "Lines starting with # are ignored.\n"
)
FOUND_BY = "# found by "
GITIGNORE = "# Operational state (checks, lock, spool): not evidence, never committed.\n/.archiver/\n*.open\n"


@dataclass
class PageInfo:
    """One line of `archiver list`."""

    url: str
    role: str
    status: str  # the latest HTTP status or outcome, e.g. "200", "404", "failed"
    title: str
    versions: int
    last_change: str | None
    last_checked: str | None
    error: str | None
    folder: str
    kind: str | None = (
        None  # kind of the latest version: new, edited, moved, restored, gone, soft-404
    )
    next_due: str | None = None  # when a snapshot will check it again (None: at the next one)


class Archive:
    """An archive on disk: everything the command line does, as methods (library users need nothing
    else).

    `extract_processes` overrides the setting `fetch.extract_processes` (0: one per CPU core) for
    what this object runs: the processes that extract text in `snapshot` and `rebuild`.
    """

    def __init__(
        self,
        root: Path,
        config: configmod.Config,
        extract_processes: int | None = None,
        broker: str | None = None,
    ) -> None:
        self.root = root
        if extract_processes is not None:
            config = configmod.with_extract_processes(config, extract_processes)
        if broker:  # a distributed run, whatever the settings say
            config = configmod.with_broker(config, broker)
        self.config = config
        self.store = Store(root)

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def init(
        cls, root: Path, extract_processes: int | None = None, broker: str | None = None
    ) -> Archive:
        root = Path(root)
        if (root / configmod.CONFIG_NAME).exists() or (root / ".git").exists():
            raise UsageError(
                f"{root} is already an archive (or a git repository); not overwriting it"
            )
        if root.exists() and not root.is_dir():
            raise UsageError(f"{root} exists and is not a folder")
        config = configmod.from_dict({})
        files = {
            configmod.CONFIG_NAME: configmod.DEFAULT_TOML,
            URLS_NAME: URLS_HEADER,
            ".gitignore": GITIGNORE,
        }
        Store.create(
            root, files, datetime.now(UTC), (config.git_author_name, config.git_author_email)
        )
        log.info("created archive at %s", root)
        return cls(root, config, extract_processes, broker)

    @classmethod
    def open(
        cls,
        root: Path,
        create: bool = False,
        extract_processes: int | None = None,
        broker: str | None = None,
    ) -> Archive:
        root = Path(root)
        config, repository = (root / configmod.CONFIG_NAME).is_file(), (root / ".git").exists()
        if (
            repository and not config and (root / URLS_NAME).exists()
        ):  # an archive, its settings lost
            raise ArchiveDamaged(
                f"{root} is an archive without its {configmod.CONFIG_NAME}: bring back the "
                f"committed one with `git -C {root} checkout -- {configmod.CONFIG_NAME}`"
            )
        if not config or not repository:
            if create and (not root.exists() or not any(root.iterdir())):
                return cls.init(root, extract_processes, broker)
            raise ArchiveMissing(f"no archive at {root} (create one with `archiver init {root}`)")
        return cls(root, configmod.load(root / configmod.CONFIG_NAME), extract_processes, broker)

    def lock(self) -> ArchiveLock:
        return ArchiveLock(self.root / WORK_DIR / "lock")

    def _state(self) -> State:
        """The state database, for a run (which holds the lock): rebuilt from the archive if
        damaged."""
        return State(self.root / WORK_DIR / STATE_NAME, functools.partial(reseed.seed, self.store))

    # -- tracked URLs -------------------------------------------------------------------------

    def tracked(self) -> list[str]:
        """The tracked articles from urls.txt, normalized; lines that are not URLs are skipped with
        a warning."""
        return list(self._tracked_lines(warn=True))

    def found(self) -> dict[str, str]:
        """The tracked articles a followed feed, sitemap or page brought, and the follow that
        brought each (its note in urls.txt)."""
        return {url: found for url, found in self._tracked_lines().items() if found}

    def _tracked_lines(self, warn: bool = False) -> dict[str, str | None]:
        """urls.txt: each URL (in order, without duplicates) and the follow that brought it, if
        one did: a line is a URL, optionally followed by `# found by URL`. `warn`: log the lines
        skipped (once a command: `tracked` does)."""
        urls: dict[str, str | None] = {}
        path = self.root / URLS_NAME
        lines = untrusted.lines(path.read_bytes()) if path.exists() else []
        for number, line in enumerate(lines, 1):
            if line is None:
                if warn:
                    log.warning("%s line %d skipped: not UTF-8 text", URLS_NAME, number)
                continue
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            url, _, note = line.partition(" ")
            note = note.strip()
            if not note.startswith("#"):  # no comment after the URL: the line is read whole
                url, note = line, ""
            found_by = note.removeprefix(FOUND_BY).strip() if note.startswith(FOUND_BY) else None
            try:
                urls.setdefault(normalize_url(url), found_by or None)
            except InvalidURL as exc:
                if warn:
                    log.warning("%s line %d skipped: %s", URLS_NAME, number, exc)
        return urls

    def _track(self, urls: list[str], found_by: str | None = None) -> list[str]:
        current = set(self._tracked_lines())
        added = [u for u in dict.fromkeys(urls) if u not in current]
        if added:
            path = self.root / URLS_NAME
            data = (
                path.read_bytes() if path.exists() else URLS_HEADER.encode()
            )  # kept byte for byte
            if data and not data.endswith(b"\n"):
                data += b"\n"
            note = f" {FOUND_BY}{found_by}" if found_by else ""
            atomic.write_bytes(path, data + "".join(f"{u}{note}\n" for u in added).encode())
        return added

    # -- followed outlets ---------------------------------------------------------------------

    def follows(self) -> list[Follow]:
        """The feeds, sitemaps and front pages followed (follows.toml)."""
        return followsmod.load(self.root)

    def follow_status(self) -> list[FollowStatus]:
        """Each follow with its last poll and what its polls brought (reads only)."""
        states = read_pages(self.root / WORK_DIR / STATE_NAME)
        follows = self.follows()
        metas = self._metas([f.url for f in follows])
        brought = Counter(self.found().values())
        statuses = []
        for follow in follows:
            state, meta = states.get(follow.url), metas.get(follow.url, {})
            statuses.append(
                FollowStatus(
                    follow,
                    last_poll=state.last_checked if state else None,
                    outcome=state.last_outcome if state else None,
                    error=state.last_error if state else None,
                    brought=brought[follow.url],
                    last_change=meta.get("summary"),
                    next_poll=state.next_due if state else None,
                )
            )
        return statuses

    def follow(self, follow: Follow) -> bool:
        """Follow an outlet's feed, sitemap or front page (committed at once); False if it already
        is."""
        with self.lock():
            added = followsmod.add(self.root, follow)
            if added:
                self._commit_file(followsmod.FOLLOWS, f"archiver: follow {follow.url}")
        return added

    def unfollow(self, url: str) -> bool:
        """Stop following `url` (committed at once); False if it was not followed. The articles it
        brought stay tracked."""
        with self.lock():
            removed = followsmod.remove(self.root, url)
            if removed:
                self._commit_file(followsmod.FOLLOWS, f"archiver: unfollow {normalize_url(url)}")
        return removed

    def _commit_file(self, path: str, message: str) -> None:
        author = (self.config.git_author_name, self.config.git_author_email)
        self.store.commit(message, datetime.now(UTC), author, [path])

    # -- runs ---------------------------------------------------------------------------------

    def add(
        self,
        urls: Iterable[str],
        on_result: OnResult | None = None,
        depth: int | None = None,
    ) -> tuple[list[str], RunSummary]:
        """Track `urls` (validated first: nothing is written if one is bad) and snapshot them now.

        `depth` overrides `sources.depth` for this run (0: no sources).
        """
        normalized = list(dict.fromkeys(normalize_url(u) for u in urls))
        if not normalized:
            raise UsageError("no URL given")
        with self.lock():
            added = self._track(normalized)
            summary = self._run(normalized, on_result, depth, force=True, tracked=self.tracked())
        return added, summary

    def snapshot(
        self,
        urls: Iterable[str] | None = None,
        on_result: OnResult | None = None,
        depth: int | None = None,
        all_pages: bool = False,
    ) -> RunSummary:
        """Capture what is due (or with `all_pages`, every tracked URL and source); commit what
        changed.

        Given `urls` (tracked articles) are captured now, due or not, with all their sources.
        """
        with self.lock():
            tracked = self.tracked()
            if urls is None:
                return self._run(
                    tracked, on_result, depth, force=all_pages, tracked=tracked, whole=True
                )
            chosen = list(dict.fromkeys(normalize_url(u) for u in urls))
            untracked = [u for u in chosen if u not in tracked]
            if untracked:
                raise UsageError(
                    f"not tracked: {untracked[0]} (start tracking it with `archiver add`)"
                )
            return self._run(chosen, on_result, depth, force=True, tracked=tracked)

    def _run(
        self,
        urls: list[str],
        on_result: OnResult | None,
        depth: int | None,
        force: bool,
        tracked: list[str],
        whole: bool = False,
    ) -> RunSummary:
        """Run on `urls`; a `whole`-archive run (no URLs named) also takes known sources, and only
        what is due unless `force`."""
        if depth is not None and depth < 0:
            raise UsageError("--depth must be 0 or more")
        from .run.run import Run  # the modules of a run, imported by the commands that run

        follows = self.follows() if whole else []
        found = self.found()
        with recovery.guarded(self.root, self.store) as recovered, closing(self._state()) as state:
            run = Run(
                self.root,
                self.config,
                self.store,
                state,
                set(tracked),
                force=force,
                follows=follows,
                named={u for u in tracked if u not in found},
                track=self._track,
            )
            polls = [
                f.url
                for f in follows
                if force or f.url not in run.states or run.states[f.url].due(run.started)
            ]
            sources: list[str] = []
            waiting: list[tuple[str, str]] = []
            if whole and not force:
                waiting = sorted(
                    (known.next_due, u)
                    for u, known in run.states.items()
                    if known.next_due and not known.due(run.started)
                )
                urls = [u for u in urls if u not in run.states or run.states[u].due(run.started)]
            if whole and (self.config.sources.depth if depth is None else depth) > 0:
                # A whole-archive run also checks the known sources no article cites any more: due
                # ones, or with --all every one.
                chosen = set(urls)
                scope = self.config.sources
                sources = sorted(
                    u
                    for u, known in run.states.items()
                    if known.role == "source"
                    and u not in chosen
                    and (force or known.due(run.started))
                    and scope.in_scope(u, citing_host=None)
                )
            # The settings in force and the tracked list are part of the record: committed with the
            # run.
            summary = run.execute(
                urls,
                on_result,
                extra_paths=(
                    URLS_NAME,
                    configmod.CONFIG_NAME,
                    followsmod.FOLLOWS,
                    *self._anchors(),
                ),
                depth=depth,
                sources=sources,
                polls=polls,
            )
            summary.notify = self._notify(summary, state)
        summary.recovered = recovered.set_aside
        if waiting:
            summary.waiting, summary.next_check = len(waiting), waiting[0]
        return summary

    def _anchors(self) -> list[str]:
        """The TSA certificates the user put in evidence/tsa/: committed, so that a copy of the
        archive checks its tokens offline."""
        from .evidence.tsa import ANCHORS

        return [f"{ANCHORS}/{path.name}" for path in sorted((self.root / ANCHORS).glob("*.pem"))]

    def _notify(self, summary: RunSummary, state: State) -> Delivery | None:
        """Tell the targets of `[notify]` what the committed run found; never fails the run."""
        if not self.config.notify.urls and not state.queued():
            return None
        from .notify.send import deliver

        try:
            return deliver(self.config.notify, summary.events, state, str(self.root))
        except Exception as exc:  # notifications never fail a run: they are told apart
            log.warning(
                "notifications not sent: %s", exc, exc_info=not isinstance(exc, ArchiverError)
            )
            return None

    def notify_test(self) -> list[Attempt]:
        """Send a test message to every target of `[notify] urls`."""
        from .notify.send import test

        if not self.config.notify.urls:
            raise UsageError(
                f"no notification targets: set `urls` under [notify] in {configmod.CONFIG_NAME}"
            )
        return test(self.config.notify)

    # -- reading ------------------------------------------------------------------------------

    def pages(self, sources: bool = False) -> list[PageInfo]:
        """Tracked articles, then (with `sources`) every other archived page, sources included."""
        urls = self.tracked()
        if not sources:  # only the tracked articles' meta.json, not every page's
            return self._infos(urls, self._metas(urls))
        metas = {m["url"]: m for m in self.store.metas() if "url" in m}
        tracked = set(urls)
        urls += sorted(u for u in metas if u not in tracked)
        return self._infos(urls, metas)

    def _metas(self, urls: list[str]) -> dict[str, PageMeta]:
        return {u: m for u in urls if (m := self.store.meta_of(u)) is not None}

    def cited_by(self, url: str) -> list[PageInfo]:
        """The sources the article at `url` cites now (its links.txt), each with its current
        status."""
        page = self.store.page(normalize_url(url))
        if page is None:
            raise UsageError(f"not in the archive: {url}")
        cited = [u for u, _ in parse_links(page.links)]
        return self._infos(
            cited, self._metas(cited), role="source"
        )  # just these, not every page's meta.json

    def history(self, url: str) -> History:
        """The versions of the page at `url` (article or source) and the diffs between them."""
        return History(self.store, url)

    def raw(self, version: Version) -> bytes:
        """The archived body of `version` from its WARC record, content-coding removed."""
        from .evidence.warc import read_payload

        return read_payload(self.root, version.meta["warc"])

    def copy_raw(self, version: Version, out: BinaryIO) -> None:
        """`raw` written to `out` piece by piece (bounded memory, whatever the body inflates to)."""
        from .evidence.warc import copy_payload

        copy_payload(self.root, version.meta["warc"], out)

    def connection(self, url: str, version: Version) -> Connection:
        """Who served `version`'s answer: the address, and for HTTPS the TLS facts and the
        certificate chain of its connection record (evidence/provenance.py)."""
        from warcio.exceptions import ArchiveLoadFailed

        from .evidence.provenance import Connection
        from .evidence.warc import read_connection

        ref = version.meta.get("warc")
        if not ref:
            raise ArchiveDamaged(f"v{version.number} of {url} names no WARC record")
        try:
            answer, fields = read_connection(self.root, ref)
        except (OSError, ValueError, EOFError, zlib.error, ArchiveLoadFailed) as exc:
            raise ArchiveDamaged(
                f"cannot read the record of v{version.number} of {url} in {ref.get('file')}: "
                f"{' '.join(str(exc).split())[:200]} (run `archiver verify`)"
            ) from None
        return Connection.read(url, version.number, answer, fields)

    def report(self, url: str, old: str | None = None, new: str | None = None) -> str:
        """The HTML report of the page at `url`: its timeline and the changes from FROM to TO (as
        `diff`)."""
        from .history import report
        from .history.citations import cited_sources
        from .history.compare import compare

        history = self.history(url)
        before, after = history.pair(old, new)
        old_links, new_links = history.links(before), history.links(after)
        old_text, new_text = history.text(before), history.text(after)
        data = report.ReportData(
            url=history.url,
            folder=history.folder,
            versions=history.versions(),
            old=before,
            new=after,
            old_text=old_text,
            new_text=new_text,
            comparison=compare(old_text, new_text, old_links, new_links),
            citations=cited_sources(self.store, before, after, old_links, new_links),
            generated_at=datetime.now(UTC),
            software=f"archiver {__version__}",
        )
        return report.render(data)

    def rebuild(self, urls: Iterable[str] | None = None) -> RebuildSummary:
        """Re-derive every page's latest version (or those at `urls`) from its WARC record with the
        current extractor and settings; one commit of its own if anything changed (see
        rebuild.py)."""
        from .run import rebuild as rebuildmod

        with self.lock(), recovery.guarded(self.root, self.store):
            author = (self.config.git_author_name, self.config.git_author_email)
            return rebuildmod.rebuild(
                self.root, self.config, self.store, author, list(urls) if urls is not None else None
            )

    # -- the evidence ---------------------------------------------------------------------------

    def verify(self, tsa_certs: Iterable[Path] = ()) -> Report:
        """Check every version's WARC record and every WARC file to its end, and every trusted
        timestamp against its commit (reads only; see verify.py and timestamps.py).

        `tsa_certs`: PEM files of trust anchors for the tokens, beside the archive's evidence/tsa/.
        """
        from .evidence import timestamps
        from .evidence.verify import verify

        report = verify(self.store)
        problems, coverage = timestamps.check(self.store, list(tsa_certs))
        report.problems += problems
        if coverage.stamped or self.config.evidence.tsa_urls:  # else timestamps are not in use
            report.timestamps = coverage.line()
        return report

    def timestamp(self) -> StampSummary:
        """Timestamp the commits still without a token now (`[evidence] tsa_urls`), under the
        lock."""
        from .evidence.timestamps import stamp_pending

        if not self.config.evidence.tsa_urls:
            raise UsageError(
                "no time-stamping authority: set `tsa_urls` under [evidence] in archiver.toml"
            )
        fetch = self.config.fetch
        with self.lock():
            summary = stamp_pending(
                self.store,
                self.config.evidence,
                (fetch.connect_timeout, fetch.read_timeout),
                (self.config.git_author_name, self.config.git_author_email),
            )
            remote = self.config.git_push_remote
            if remote and summary.stamped:  # the copy elsewhere gets the tokens as they come
                summary.push_error = self.store.push(remote)
            return summary

    def index(self) -> IndexUpdate:
        """Bring the CDXJ index of the WARC files (.archiver/indexes/index.cdxj) up to date; reads
        only new files."""
        from .evidence import cdxj

        return cdxj.update(self.root)

    def export(
        self,
        wacz_file: Path,
        urls: Iterable[str] = (),
        sign: bool = False,
        key_file: Path | None = None,
    ) -> ExportSummary:
        """Write the archive, or the pages at `urls` and the sources they cite, as a WACZ
        package; with `sign`, its datapackage signed with the key at `key_file` (default: the
        one `archiver keys init` made; evidence/keys.py)."""
        from .evidence import keys, signing, tsa, wacz

        # The key is read first: a missing or loose key costs nothing.
        key = keys.load_private(key_file) if sign or key_file else None
        timestamper = None
        if key is not None and self.config.evidence.tsa_urls:  # a token over the signature
            fetch = self.config.fetch
            timestamper = signing.authority(
                self.config.evidence.tsa_urls,
                tsa.anchors(self.root),
                (fetch.connect_timeout, fetch.read_timeout),
            )
        return wacz.export(self.store, wacz_file, urls, f"archiver {__version__}", key, timestamper)

    def receipt(self, url: str, at: str | None, out: Path) -> ReceiptSummary:
        """Write the receipt of a version of the page at `url` (`at`: a number, commit or date;
        default the latest) to the zip `out`: its evidence, checkable without archiver."""
        from .evidence import receipt

        version = self.history(url).resolve(at)
        links = self.store.read_at(version.commit, f"{PurePosixPath(version.path).parent}/{LINKS}")
        cited = [source for source, _ in parse_links(links)]
        stamp = self._stamp_of(version.commit)
        return receipt.write(
            self.store, version, cited, out, software=f"archiver {__version__}", stamp=stamp
        )

    def _stamp_of(self, commit: str) -> Stamp | None:
        """The trusted timestamp that dates `commit`: its own, or the first later commit's that has
        one, with the commits between; None if none does."""
        from .evidence import receipt, timestamps, tsa

        kept = self.store.timestamp_notes()
        chain = [c.id for c in self.store.chain()]
        if commit not in chain:
            return None
        later = chain[chain.index(commit) :]
        dated = next((c for c in later if c in kept), None)
        note = timestamps.read_note(kept[dated]) if dated else None
        if dated is None or note is None:
            return None
        between = list(reversed(later[1 : later.index(dated) + 1]))  # the dated one first
        anchors = {
            path.name: path.read_bytes() for path in sorted((self.root / tsa.ANCHORS).glob("*.pem"))
        }
        raw = [r for r in self.store.objects(between) if r is not None]
        return receipt.Stamp(dated, raw, note.manifest, note.reply, anchors)

    @staticmethod
    def check_receipt(path: Path) -> ReceiptReport:
        """Check every claim of a receipt (no archive needed: it holds its own evidence)."""
        from .evidence import receipt

        return receipt.check(path)

    def _infos(
        self, urls: list[str], metas: dict[str, PageMeta], role: str = "article"
    ) -> list[PageInfo]:
        states = read_pages(self.root / WORK_DIR / STATE_NAME)
        now, limit = datetime.now(UTC), self.config.unreachable_after_days
        infos = [
            _page_info(
                url, self.store.folder(url), metas.get(url), states.get(url), role, now, limit
            )
            for url in urls
        ]
        for info in infos:
            if not info.title and info.kind in GONE_KINDS:
                info.title = self._last_title(info.folder)
        return infos

    def _last_title(self, folder: str) -> str:
        """The title a page had before it went (a gone version has none of its own)."""
        for revision in reversed(self.store.history(f"{folder}/{META}")):
            try:
                title = load_meta(revision.content).get("title")
            except ValueError:
                continue
            if title:
                return title
        return ""


def _page_info(
    url: str,
    folder: PurePosixPath,
    meta: PageMeta | None,
    state: PageState | None,
    role: str,
    now: datetime,
    unreachable_after: float,
) -> PageInfo:
    meta = meta or {}
    return PageInfo(
        url=url,
        role=meta.get("role", role),
        status=_status(meta, state, now, unreachable_after),
        title=meta.get("title") or "",
        versions=meta.get("version", 0),
        last_change=meta.get("captured_at"),
        last_checked=state.last_checked if state else None,
        error=state.last_error if state else None,
        folder=str(folder),
        kind=meta.get("kind"),
        next_due=state.next_due if state else None,
    )


def _status(
    meta: PageMeta, state: PageState | None, now: datetime, unreachable_after: float
) -> str:
    """The latest HTTP status, or what kept us from having one."""
    if state is None:
        return str(meta["status"]) if "status" in meta else "never captured"
    if state.last_outcome == Outcome.FAILED:
        return "unreachable" if state.failing_for_days(now) >= unreachable_after else Outcome.FAILED
    if state.last_outcome == Outcome.SKIPPED:
        return Outcome.SKIPPED
    if meta.get("kind") == Kind.SOFT_404:
        return Kind.SOFT_404
    # 304: the server's word that the archived version stands, as `snapshot` counts it.
    return Outcome.UNCHANGED if state.last_status == 304 else str(state.last_status)


def serve_jobs(root: Path, broker: str | None, threads: int, stop: threading.Event) -> None:
    """Be a worker of a cluster (`archiver worker`) until `stop` is set, with the settings of the
    archive at `root` (its archiver.toml is all a worker reads of it)."""
    path = Path(root) / configmod.CONFIG_NAME
    if not path.is_file():
        raise ArchiveMissing(
            f"no {configmod.CONFIG_NAME} at {root}: a worker takes the archive's settings"
        )
    config = configmod.load(path)
    if broker:
        config = configmod.with_broker(config, broker)
    if not config.cluster.broker:
        raise UsageError("no broker: give --broker redis://HOST:PORT/DB or set [cluster] broker")
    from .cluster.worker import Worker

    Worker(config, threads).serve(stop)
