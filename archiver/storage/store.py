"""The archive's layout on disk and its git history: the only module that touches git."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import git

from ..errors import FolderCollision, unwritable
from ..urls import legacy_page_dir, page_dir
from . import atomic
from .meta import PageMeta
from .meta import dump as dump_meta
from .meta import load as load_meta

log = logging.getLogger(__name__)

ARTICLE = "article.md"
LINKS = "links.txt"
META = "meta.json"
PAGES = "pages"
WARCS = "warcs"
WORK_DIR = ".archiver"  # operational state, never committed (.gitignore)
# WARCs of failed checks (the answers that came, redirect loops): not committed
CHECKS = f"{WORK_DIR}/checks"
# WARCs of checks that found a version unchanged (revisits): committed with the run
CONFIRMED = f"{WARCS}/checks"

# git does not fsync by default: a power cut after a commit could leave the branch pointing at empty
# objects. Its own remedy (core.fsync with fsyncMethod=batch) flushed 1,900 objects in 0.6 s; a
# commit of ours writes its objects, syncs the disk once, then moves the branch with the ref file
# fsynced (git >= 2.36).
REF_DURABLE = {
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "core.fsync",
    "GIT_CONFIG_VALUE_0": "reference",
}
# fast-import must name a ref; the branch itself moves only after a sync
PENDING_REF = "refs/archiver/pending"
COPY_CHUNK = 1 << 20
# A large commit is a pack, a small one loose objects (fastimport.unpackLimit): past either limit,
# loose objects and small packs are merged into packs that each at least double the last, so no run
# repacks everything.
PACKS_BEFORE_REPACK = 8
LOOSE_BEFORE_REPACK = 6700  # git's own gc.auto
# What git says of an index it cannot read (read-cache.c): a crash or a bad disk, never the user's
# doing.
INDEX_DAMAGE = (
    "index file corrupt",
    "index file smaller than expected",
    "bad signature",
    "bad index version",
    "bad index file sha1 signature",
    "index uses",
    "unknown index entry format",
    "malformed name field",
    "unordered stage entries",
    "multiple stage entries",
    "broken index",
)
NO_OPTIONAL_LOCKS = {
    "GIT_OPTIONAL_LOCKS": "0"
}  # `git status` must not try to write the index when it cannot


@dataclass
class PageFiles:
    """The files of one version of a page; `article`/`links` None means the file is absent."""

    dir: PurePosixPath
    meta: PageMeta
    article: str | None
    links: str | None


@dataclass(frozen=True)
class CommittedFile:
    """One committed content of a file: the commit that wrote it, that commit's date, the path, the
    bytes."""

    commit: str
    date: str
    path: str
    content: bytes


class Store:
    """The archive's files and git repository.

    The repository is archiver's: while a run holds the archive lock no other git command may write
    in it, so any git lock file found then was left by a git that was killed, and the index is
    always the last commit's.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    @contextmanager
    def _repo(self) -> Iterator[git.Repo]:
        # Short-lived Repo objects: GitPython leaks cat-file processes in long-lived ones.
        repo = git.Repo(self.root)
        try:
            yield repo
        except git.GitCommandError as exc:
            refused = unwritable(exc, self.root)  # git's relative paths are the archive's
            if refused is None:
                raise
            raise refused from exc
        finally:
            repo.close()

    @classmethod
    def create(
        cls, root: Path, files: dict[str, str], when: datetime, author: tuple[str, str]
    ) -> Store:
        root.mkdir(parents=True, exist_ok=True)
        repo = git.Repo.init(root, initial_branch="main")
        try:
            with repo.config_writer() as cfg:
                cfg.set_value("commit", "gpgsign", "false")  # cron cannot answer a signing prompt
                cfg.set_value("core", "quotepath", "false")
        finally:
            repo.close()
        for name, content in files.items():
            atomic.write_text(root / name, content)
        store = cls(root)
        store.commit("archiver: new archive", when, author, list(files))
        return store

    def folder(self, url: str) -> PurePosixPath:
        """The folder of the page at (normalized) `url`: the one an older archive gave it (a 32-bit
        hash suffix) where that folder exists and is that page's, else its folder in the current
        layout."""
        current = page_dir(url)
        if (self.root / current / META).is_file():
            return current
        legacy = legacy_page_dir(url)
        try:
            meta = self.meta(legacy)
        except ValueError:  # an unreadable meta.json is verify's to report; it names no page
            meta = None
        return legacy if meta is not None and meta.get("url") == url else current

    def page(self, url: str) -> PageFiles | None:
        """The current files of the page at `url` (None: no version archived)."""
        return self.read(self.folder(url), url)

    def meta_of(self, url: str) -> PageMeta | None:
        """The current meta.json of the page at `url` alone (None: no version archived)."""
        folder = self.folder(url)
        return _owned(folder, self.meta(folder), url)

    def read(self, folder: PurePosixPath, url: str | None = None) -> PageFiles | None:
        """The files in `folder`; with `url`, FolderCollision if they are another page's."""
        meta = _owned(folder, self.meta(folder), url)
        if meta is None:
            return None
        return PageFiles(
            folder, meta, self._read_opt(folder / ARTICLE), self._read_opt(folder / LINKS)
        )

    def meta(self, folder: PurePosixPath) -> PageMeta | None:
        """The page's meta.json alone (None: no version of it is archived)."""
        text = self._read_opt(folder / META)
        return load_meta(text) if text is not None else None

    def folders(self) -> Iterator[tuple[PurePosixPath, PageMeta]]:
        """Every page folder with its meta.json, in folder order (unreadable ones skipped with a
        warning)."""
        for path in sorted((self.root / PAGES).glob(f"*/*/{META}")):
            try:
                yield (
                    PurePosixPath(path.parent.relative_to(self.root).as_posix()),
                    load_meta(path.read_text(encoding="utf-8")),
                )
            except (OSError, ValueError) as exc:
                log.warning("unreadable %s: %s", path, exc)

    def metas(self) -> Iterator[PageMeta]:
        return (meta for _, meta in self.folders())

    def _read_opt(self, rel: PurePosixPath) -> str | None:
        try:
            return (self.root / rel).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    # Page files are written without fsync: until a commit holds them, an interrupted run's page
    # files are restored from git (recovery.py), and a run syncs the disk once before it declares
    # itself done.
    def write(self, version: PageFiles) -> None:
        """Write a version's files; meta.json last in the folder's listing, but all renamed
        together.

        Never over another page's files: a folder whose meta.json names another URL is a collision.
        """

        def encode(text: str | None) -> bytes | None:
            return text.encode("utf-8") if text is not None else None

        self._claim(version)
        atomic.write_folder(
            self.root / version.dir,
            {
                ARTICLE: encode(version.article),
                LINKS: encode(version.links),
                META: dump_meta(version.meta).encode("utf-8"),
            },
            durable=False,
        )

    def write_meta(self, version: PageFiles) -> None:
        self._claim(version)
        atomic.write_folder(
            self.root / version.dir, {META: dump_meta(version.meta).encode("utf-8")}, durable=False
        )

    def _claim(self, version: PageFiles) -> None:
        _owned(version.dir, self.meta(version.dir), version.meta.get("url"))

    def commit(
        self,
        message: str | Callable[[list[str]], str],
        when: datetime,
        author: tuple[str, str],
        paths: Iterable[str],
    ) -> str | None:
        """Commit `paths` (deletions included) as they are on disk, dated `when`; None if nothing
        changed.

        `message` may be a function of the files that changed, which only this comparison knows.

        git fast-import writes the commit's objects as one pack: `git update-index` wrote 1,900 new
        page files as loose objects, one file each, in 1.4 s of kernel time. Everything reaches the
        disk (one sync) before the branch moves to the commit, and the index is brought up to it
        last.
        """
        files = self._files(paths)
        with self._repo() as repo:
            parent = _head(repo)
            changes = self._changes(repo, parent, files)
            if not changes:
                return None
            if callable(message):
                message = message([name for name, _ in changes])
            sha = _fast_import(repo, _commit_header(message, when, author, parent), changes)
            os.sync()
            # The expected old value makes the move fail, rather than lose a commit, if the branch
            # moved meanwhile.
            repo.git.update_ref(
                "-m", f"commit: {message.splitlines()[0]}", "HEAD", sha, parent, env=REF_DURABLE
            )
            repo.git.update_ref("-d", PENDING_REF)
            try:
                _stage(
                    repo, files
                )  # the objects exist now: git only hashes the files and records their stat data
            except git.GitCommandError as exc:
                damage = _index_damage(exc) or _checksum_damage(repo)
                if not damage:
                    raise
                _rebuild_index(repo, damage)  # the commit is made: the index only has to follow it
            _consolidate(repo)
        return sha

    def _changes(
        self, repo: git.Repo, parent: str, files: list[str]
    ) -> list[tuple[str, bytes | Path | None]]:
        """(path, what to commit) for each of `files` that differs from the parent commit: the bytes
        already read to compare them, the file on disk for a new one (streamed: a run's WARC may be
        large), None to delete."""
        unsafe = [name for name in files if "\n" in name or name.startswith('"')]
        if (
            unsafe
        ):  # the archive names its files itself; these would need quoting in git's line protocols
            raise ValueError(
                f"cannot commit a path with a newline or a leading quote: {unsafe[0]!r}"
            )
        committed = _committed_blobs(repo, parent, files)
        changes: list[tuple[str, bytes | Path | None]] = []
        for name in files:
            path = self.root / name
            if not path.is_file():
                if name in committed:
                    changes.append((name, None))
            elif name not in committed:
                changes.append((name, path))
            elif _blob_id(data := path.read_bytes()) != committed[name]:
                changes.append((name, data))
        return changes

    def reset_index(self) -> None:
        """Make the index the last commit's (the files are left alone), and drop an unfinished
        commit's ref.

        Every run starts so (see the class). A run killed after its commit but before the index
        followed leaves the index behind the branch; a missing or damaged one is rebuilt, with a
        warning: a missing index would make the next commit's index hold the run's files alone, and
        `git status` show every other file deleted. Nothing is written when nothing differs: a run
        stopped by a read-only `.git` must still be undone.
        """
        with self._repo() as repo:
            state = _index_state(repo)
            if state == "differs":
                repo.git.reset("-q")
            elif state != "same":
                _rebuild_index(repo, state)
            if _ref_exists(repo, PENDING_REF):
                repo.git.update_ref("-d", PENDING_REF)

    def history(self, path: str) -> list[CommittedFile]:
        """Every content committed to `path`, oldest first (its deletions left out), in two git
        calls."""
        return self._revisions(f":(literal){path}")

    def last_content(self, path: str) -> str | None:
        """The newest committed content of `path` (which may be deleted now), or None if it never
        had any."""
        revisions = self.history(path)
        return revisions[-1].content.decode("utf-8") if revisions else None

    def read_at(self, commit: str, path: str) -> str | None:
        """`path` as `commit` holds it; None if absent there (a gone page has no article.md)."""
        with self._repo() as repo:
            content = _cat(repo, [f"{commit}:{path}"])[0]
        return content.decode("utf-8") if content is not None else None

    def revisions(self, pattern: str) -> list[CommittedFile]:
        """Every content committed to a file matching the glob `pattern` (e.g.
        `pages/**/meta.json`), oldest commit first; deletions left out.

        In bulk, for checks of the whole history: one `git log --raw` names the blob of every change
        and one `git cat-file --batch` reads them all, where a git call per version would cost
        thousands of processes.
        """
        return self._revisions(f":(glob){pattern}")

    def _revisions(self, pathspec: str) -> list[CommittedFile]:
        with self._repo() as repo:
            try:
                listing = repo.git.log(
                    "--reverse",
                    "--no-renames",
                    "--no-abbrev",
                    "--raw",
                    "-z",
                    "--format=%H %cI",
                    "--",
                    pathspec,
                )
            except git.GitCommandError:
                return []  # no commit yet
            changes = _raw_changes(listing)
            wanted = list({blob: None for *_, blob in changes})
            found = zip(wanted, _cat(repo, wanted), strict=True)
            blobs = {blob: content for blob, content in found if content is not None}
        missing = [path for _, _, path, blob in changes if blob not in blobs]
        if missing:
            log.warning(
                "%d committed versions are missing from the git object store (first: %s)",
                len(missing),
                missing[0],
            )
        return [
            CommittedFile(commit, date, path, blobs[blob])
            for commit, date, path, blob in changes
            if blob in blobs
        ]

    def added(self, folder: str) -> dict[str, str]:
        """Each file ever committed under `folder`, with the commit that added it, oldest first; one
        git call."""
        with self._repo() as repo:
            try:
                listing = repo.git.log(
                    "--reverse",
                    "--diff-filter=A",
                    "--no-renames",
                    "--name-only",
                    "-z",
                    "--format=commit %H",
                    "--",
                    folder,
                )
            except git.GitCommandError:
                return {}  # no commit yet
        files: dict[str, str] = {}
        commit = ""
        for token in listing.split("\0"):
            token = token.strip("\n")
            if token.startswith("commit "):
                commit = token.removeprefix("commit ")
            elif token:
                files.setdefault(token, commit)
        return files

    def ancestors(self, commit: str) -> set[str]:
        """`commit` and every commit in its history (made at or before it), in one git call."""
        with self._repo() as repo:
            return set(repo.git.rev_list(commit).split())

    def push(self, remote: str) -> str | None:
        """Push the current branch to `remote`; the error message if it failed (the commit
        stays)."""
        with self._repo() as repo:
            try:
                repo.git.push("--quiet", remote, "HEAD", env={"GIT_TERMINAL_PROMPT": "0"})
            except git.GitCommandError as exc:
                message = (exc.stderr or str(exc)).strip().splitlines()
                log.info("git push to %s failed: %s", remote, message[-1] if message else exc)
                return message[-1] if message else str(exc)
        return None

    def _files(self, paths: Iterable[str]) -> list[str]:
        """Files to stage: a page folder stands for its files (present or deleted), anything else
        for itself."""
        files: dict[str, None] = {}
        for path in paths:
            if path.startswith(f"{PAGES}/") and (self.root / path).is_dir():
                files.update((f"{path}/{name}", None) for name in (ARTICLE, LINKS, META))
            else:
                files[path] = None
        return list(files)

    def clear_stale_locks(self) -> None:
        """Remove every git lock file (index, HEAD, branch refs, packed-refs) and unfinished pack;
        call only while holding the archive lock, when any of them is a killed git's (see the
        class)."""
        dot_git = self.root / ".git"
        for lock in [*dot_git.glob("*.lock"), *dot_git.glob("refs/**/*.lock")]:
            lock.unlink(missing_ok=True)
            log.warning("removed %s, left by a git that was stopped", lock)
        for partial in (dot_git / "objects" / "pack").glob(
            "tmp_*"
        ):  # a pack fast-import or repack never finished
            partial.unlink(missing_ok=True)
            log.info("removed the unfinished pack %s", partial)

    def untracked(self, folder: str) -> list[str]:
        """Files under `folder` that git does not track (ignored ones left out)."""
        with self._repo() as repo:
            out = repo.git.ls_files("--others", "--exclude-standard", "-z", "--", folder)
        return [name for name in out.split("\0") if name]

    def restore_pages(self) -> list[str]:
        """Put `pages/` back exactly as the last commit has it; the paths that differed. Call after
        `reset_index`.

        The files are written from the commit's blobs rather than by `git checkout`, which needs the
        index lock: a read-only `.git` or a full disk refuses it, and those are when a failed run
        must be undone. The run's files go first, so that a full disk gets back the space they took.
        """
        with self._repo() as repo:
            listing = repo.git.status(
                "--porcelain", "-z", "-uall", "--no-renames", "--", PAGES, env=NO_OPTIONAL_LOCKS
            )
            changed = [entry[3:] for entry in listing.split("\0") if len(entry) > 3]
            committed = dict(
                zip(changed, _cat(repo, [f"HEAD:{name}" for name in changed]), strict=True)
            )
        folders: dict[Path, dict[str, bytes | None]] = {}
        for name, content in committed.items():
            path = self.root / name
            path.unlink(missing_ok=True)
            if content is not None:
                folders.setdefault(path.parent, {})[path.name] = content
        for folder, files in folders.items():
            atomic.write_folder(folder, files)
        for name in changed:  # the folders of versions that were never committed
            folder = (self.root / name).parent
            while folder != self.root / PAGES and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
                folder = folder.parent
        return changed


def commit_message(counts: dict[str, int], lines: list[str], confirmed: int, changed: bool) -> str:
    """A run's commit message: its counts of versions by outcome, then one line per version.

    `changed`: the commit holds more than the confirmations' WARC (settings or tracked URLs, when no
    version).
    """
    head = [f"{n} {outcome}" for outcome, n in counts.items() if n]
    if not lines and changed:
        head.append("settings or tracked URLs updated")
    if confirmed:
        head.append(f"{confirmed} confirmed unchanged")
    body = "\n".join(lines)
    return f"archiver: {', '.join(head)}\n\n{body}\n" if body else f"archiver: {', '.join(head)}\n"


def _owned(folder: PurePosixPath, meta: PageMeta | None, url: str | None) -> PageMeta | None:
    """`meta`, read from `folder`, if it is the page at `url` (or `url` is None); else
    FolderCollision."""
    if meta is not None and url is not None and meta.get("url") != url:
        raise FolderCollision(
            f"the folder {folder} holds the history of {meta.get('url')!r}, not of {url}: "
            "nothing was written there (run `archiver verify`)"
        )
    return meta


def _head(repo: git.Repo) -> str:
    try:
        head: str = repo.git.rev_parse("--verify", "-q", "HEAD")
    except git.GitCommandError:
        return ""  # the archive's first commit
    return head


def _ref_exists(repo: git.Repo, ref: str) -> bool:
    try:
        repo.git.rev_parse("--verify", "-q", ref)
    except git.GitCommandError:
        return False
    return True


def _index_state(repo: git.Repo) -> str:
    """The index against HEAD: "same", "differs", "missing", or what git says is wrong with it."""
    if not _head(repo):
        return "same"  # no commit yet: nothing to compare with or rebuild from
    index = Path(repo.git_dir) / "index"
    if not index.exists():
        return "missing"
    if damage := _checksum_damage(repo):
        return damage
    try:
        repo.git.diff_index("--cached", "--quiet", "HEAD", "--")
    except git.GitCommandError as exc:
        if exc.status == 1:
            return "differs"
        damage = _index_damage(exc)
        if not damage:
            raise
        return damage
    return "same"


def _checksum_matches(index: bytes) -> bool:
    """The index ends with the hash of what precedes it (gitformat-index), which git itself checks
    only in fsck: a flipped byte elsewhere could pass unnoticed, with a wrong object name. Zeros:
    index.skipHash is set."""
    for algorithm, size in (("sha1", 20), ("sha256", 32)):
        body, trailer = index[:-size], index[-size:]
        if trailer == bytes(size) or hashlib.new(algorithm, body).digest() == trailer:
            return True
    return False


def _index_damage(exc: git.GitCommandError) -> str:
    """What git said was wrong with the index, or "" if the failure was something else."""
    message = exc.stderr if isinstance(exc.stderr, str) else ""
    return next((sign for sign in INDEX_DAMAGE if sign in message), "")


def _checksum_damage(repo: git.Repo) -> str:
    """ "its checksum does not match" when the index's bytes are not what git wrote, else "":
    damaged bytes make git fail in ways its messages do not all name (an entry read from garbage
    "has null sha1")."""
    index = Path(repo.git_dir) / "index"
    try:
        return "" if _checksum_matches(index.read_bytes()) else "its checksum does not match"
    except OSError:
        return ""


def _rebuild_index(repo: git.Repo, why: str) -> None:
    """Write the index anew from HEAD (git's cache: nothing is lost), with the files' stat data."""
    state = why if why == "missing" else f"damaged ({why})"
    log.warning("the git index was %s; rebuilt it from the last commit", state)
    (Path(repo.git_dir) / "index").unlink(missing_ok=True)
    repo.git.reset("-q")


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # git's object name


def _committed_blobs(repo: git.Repo, commit: str, files: list[str]) -> dict[str, str]:
    """The blob of each of `files` that `commit` holds.

    Folders are read level by level, each once: asking git for `commit:path` file by file made it
    read a host's folder of 10,000 pages again for every file in it (0.3 s for 300 files).
    """
    if not commit:
        return {}  # the archive's first commit
    listings: dict[str, dict[str, Any]] = {}

    def listing(folder: str) -> dict[str, Any]:  # name -> the Blob or Tree of that name in `folder`
        if folder not in listings:
            if folder:
                parent, _, name = folder.rpartition("/")
                tree = listing(parent).get(name)
            else:
                tree = repo.commit(commit).tree
            listings[folder] = (
                {item.name: item for item in tree} if isinstance(tree, git.Tree) else {}
            )
        return listings[folder]

    blobs = {}
    for name in files:
        folder, _, base = name.rpartition("/")
        item = listing(folder).get(base)
        if isinstance(item, git.Blob):
            blobs[name] = item.hexsha
    return blobs


def _commit_header(message: str, when: datetime, author: tuple[str, str], parent: str) -> bytes:
    """The fast-import `commit` command up to its file changes."""
    offset = when.strftime("%z") or "+0000"
    name, email = (_identity(part) for part in author)
    ident = f"{name} <{email}> {int(when.timestamp())} {offset}".encode()
    text = message.encode("utf-8")
    header = (
        b"commit "
        + PENDING_REF.encode()
        + b"\nmark :1\nauthor "
        + ident
        + b"\ncommitter "
        + ident
        + b"\ndata %d\n" % len(text)
        + text
        + b"\n"
    )
    return header + (f"from {parent}\n".encode() if parent else b"")


def _identity(part: str) -> str:
    return "".join(c for c in part if c not in "<>\n").strip()  # what git itself strips from names


def _fast_import(
    repo: git.Repo, header: bytes, changes: list[tuple[str, bytes | Path | None]]
) -> str:
    """Write one commit of `changes` on top of the header's parent as a pack; its object name."""
    proc = repo.git.fast_import(
        "--quiet", "--force", "--done", as_process=True, istream=subprocess.PIPE
    )
    try:
        sink = proc.proc.stdin
        sink.write(header)
        for name, content in changes:
            if content is None:
                sink.write(b"D " + name.encode("utf-8") + b"\n")
                continue
            size = len(content) if isinstance(content, bytes) else content.stat().st_size
            sink.write(b"M 100644 inline " + name.encode("utf-8") + b"\ndata %d\n" % size)
            if isinstance(content, bytes):
                sink.write(content)
            else:
                with content.open("rb") as f:
                    shutil.copyfileobj(f, sink, COPY_CHUNK)
            sink.write(b"\n")
        sink.write(b"get-mark :1\ndone\n")
        sink.close()
    except BrokenPipeError:
        pass  # fast-import stopped reading: its error is raised by wait()
    sha: str = proc.proc.stdout.read().decode("ascii").strip()
    try:
        proc.wait()
    except git.GitCommandError:
        # A failing fast-import (a full disk) dumps a crash report into .git: ours to remove, it
        # says nothing more.
        (Path(repo.git_dir) / f"fast_import_crash_{proc.proc.pid}").unlink(missing_ok=True)
        raise
    return sha


def _stage(repo: git.Repo, files: list[str]) -> None:
    # Exact paths through update-index: `git add -- <paths>` matches every pathspec against every
    # index entry, which took 1.7 s for one run of 631 new pages.
    with tempfile.TemporaryFile() as listing:
        listing.write(b"".join(f.encode("utf-8") + b"\0" for f in files))
        listing.seek(0)
        repo.git.update_index("--add", "--remove", "-z", "--stdin", istream=listing)


def _consolidate(repo: git.Repo) -> None:
    """Keep loose objects few and packs logarithmic in the history's size (git's gc never runs for
    plumbing)."""
    counts = dict(line.split(": ", 1) for line in repo.git.count_objects("-v").splitlines())
    if int(counts["packs"]) <= PACKS_BEFORE_REPACK and int(counts["count"]) <= LOOSE_BEFORE_REPACK:
        return
    try:
        # Loose objects into a pack of their own first: git 2.39's geometric repack, given thousands
        # of loose objects, wrote them into two identical packs.
        repo.git.repack("-d", "-q")
        repo.git.repack("-d", "-q", "--geometric=2")  # git >= 2.32
    except (
        git.GitCommandError
    ) as exc:  # housekeeping: the commit is made and stays whatever happens here
        log.warning("could not repack the git objects: %s", (exc.stderr or str(exc)).strip())


def _raw_changes(listing: str) -> list[tuple[str, str, str, str]]:
    """(commit, date, path, blob) of each added or modified file in `git log --raw -z --format='%H
    %cI'`."""
    changes = []
    commit = date = ""
    tokens = listing.split("\0")
    i = 0
    while i < len(tokens):
        token = tokens[i].lstrip("\n")
        i += 1
        if token.startswith(":"):  # ":old_mode new_mode old_blob new_blob status", then the path
            _, _, _, blob, status = token[1:].split(" ", 4)
            path, i = tokens[i], i + 1
            if not status.startswith("D"):
                changes.append((commit, date, path, blob))
        elif token:
            commit, date = token.split(" ", 1)
    return changes


def _cat(repo: git.Repo, names: list[str]) -> list[bytes | None]:
    """The contents of the objects `names` (object names, or `commit:path`), in order, None for one
    missing, read by one `git cat-file --batch`: git resolves paths itself, where GitPython parsed
    every tree on the way in Python (a host folder of 10,000 pages took 40 ms a read)."""
    if not names:
        return []
    with tempfile.TemporaryFile() as listing:
        listing.write("".join(f"{name}\n" for name in names).encode("utf-8"))
        listing.seek(0)
        out = repo.git.cat_file(
            "--batch", istream=listing, stdout_as_string=False, strip_newline_in_stdout=False
        )
    contents: list[bytes | None] = []
    pos = 0
    while pos < len(out):
        end = out.index(b"\n", pos)
        header = out[pos:end].rsplit(
            b" ", 2
        )  # "<object> <type> <size>", or "<name> missing" (or "ambiguous")
        pos = end + 1
        if not header[-1].isdigit():
            contents.append(None)
            continue
        size = int(header[2])
        contents.append(out[pos : pos + size])
        pos += size + 1
    return contents
