"""The archive's layout on disk and its git history: with `plumbing.py`, the only code that runs
git."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

import git

from ..errors import FolderCollision, UsageError, unwritable
from ..urls import legacy_page_dir, page_dir
from . import atomic, notes, plumbing
from .meta import PageMeta
from .meta import dump as dump_meta
from .meta import load as load_meta

log = logging.getLogger(__name__)

ARTICLE = "article.md"
LINKS = "links.txt"
META = "meta.json"
PAGES = "pages"
FEEDS = "feeds"  # the change feed a run writes beside its pages
WARCS = "warcs"
WORK_DIR = ".archiver"  # operational state, never committed (.gitignore)
# WARCs of failed checks (the answers that came, redirect loops): not committed
CHECKS = f"{WORK_DIR}/checks"
# WARCs of checks that found a version unchanged (revisits): committed with the run
CONFIRMED = f"{WARCS}/checks"
# Where the last successful push went, and which commit: a run pushes whenever that is not HEAD.
PUSHED = f"{WORK_DIR}/pushed"

# git does not fsync by default: a power cut after a commit could leave the branch pointing at empty
# objects. Its own remedy (core.fsync with fsyncMethod=batch) flushed 1,900 objects in 0.6 s; a
# commit of ours writes its objects, syncs the disk once, then moves the branch with the ref file
# fsynced (git >= 2.36).
REF_DURABLE = {
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "core.fsync",
    "GIT_CONFIG_VALUE_0": "reference",
}
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


@dataclass(frozen=True)
class Proof:
    """Git objects as git stores them (uncompressed, without their header): a commit, the trees on
    the way to some files (by folder path, "" the root), and those files."""

    commit: bytes
    trees: dict[str, bytes]
    files: dict[str, bytes | None]


def _parents(path: str) -> list[str]:
    """The folders above `path`: "pages", "pages/h", "pages/h/f" for "pages/h/f/meta.json"."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[: n + 1]) for n in range(len(parts))]


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
    # files are restored from git (`run/recovery.py`), and a run syncs the disk once before it
    # declares itself done.
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
            parent = plumbing.head(repo)
            changes = self._changes(repo, parent, files)
            if not changes:
                return None
            if callable(message):
                message = message([name for name, _ in changes])
            sha = plumbing.fast_import(
                repo, plumbing.commit_header(message, when, author, parent), changes
            )
            os.sync()
            # The expected old value makes the move fail, rather than lose a commit, if the branch
            # moved meanwhile.
            repo.git.update_ref(
                "-m", f"commit: {message.splitlines()[0]}", "HEAD", sha, parent, env=REF_DURABLE
            )
            repo.git.update_ref("-d", plumbing.PENDING_REF)
            try:
                plumbing.stage(
                    repo, files
                )  # the objects exist now: git only hashes the files and records their stat data
            except git.GitCommandError as exc:
                damage = plumbing.index_damage(exc) or plumbing.checksum_damage(repo)
                if not damage:
                    raise
                plumbing.rebuild_index(
                    repo, damage
                )  # the commit is made: the index only has to follow it
            plumbing.consolidate(repo)
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
        committed = plumbing.committed_blobs(repo, parent, files)
        changes: list[tuple[str, bytes | Path | None]] = []
        for name in files:
            path = self.root / name
            if not path.is_file():
                if name in committed:
                    changes.append((name, None))
            elif name not in committed:
                changes.append((name, path))
            elif plumbing.blob_id(data := path.read_bytes()) != committed[name]:
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
            state = plumbing.index_state(repo)
            if state == "differs":
                repo.git.reset("-q")
            elif state != "same":
                plumbing.rebuild_index(repo, state)
            if plumbing.ref_exists(repo, plumbing.PENDING_REF):
                repo.git.update_ref("-d", plumbing.PENDING_REF)

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
            content = plumbing.cat(repo, [f"{commit}:{path}"])[0]
        return content.decode("utf-8") if content is not None else None

    def read_all_at(self, commit: str, paths: list[str]) -> list[str | None]:
        """Each of `paths` as `commit` holds it (None where absent), in one git call."""
        if not paths:
            return []
        with self._repo() as repo:
            if not plumbing.head(repo):
                return [None] * len(paths)
            contents = plumbing.cat(repo, [f"{commit}:{path}" for path in paths])
        return [c.decode("utf-8", "replace") if c is not None else None for c in contents]

    def objects(self, names: list[str]) -> list[bytes | None]:
        """The raw contents of git objects (ids, or `commit:path`), None where missing, in one
        git call."""
        with self._repo() as repo:
            return plumbing.cat(repo, names)

    def proof(self, commit: str, paths: list[str]) -> Proof:
        """What ties `paths` to `commit` without the repository: the raw commit object, the raw
        tree objects from the commit's root down to each path's folder, and each file's content
        (None where `commit` has none)."""
        folders = sorted({"", *(p for path in paths for p in _parents(path))})
        names = [commit, f"{commit}^{{tree}}", *(f"{commit}:{f}" for f in folders if f)]
        names += [f"{commit}:{path}" for path in paths]
        with self._repo() as repo:
            found = plumbing.cat(repo, names)
        raw_commit, trees, files = found[0], found[1 : 1 + len(folders)], found[1 + len(folders) :]
        if raw_commit is None or any(tree is None for tree in trees):
            raise UsageError(f"commit {commit} is not in the archive's history")
        return Proof(
            commit=raw_commit,
            trees={folder: tree for folder, tree in zip(folders, trees, strict=True) if tree},
            files=dict(zip(paths, files, strict=True)),
        )

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
            changes = plumbing.raw_changes(listing)
            wanted = list({blob: None for *_, blob in changes})
            found = zip(wanted, plumbing.cat(repo, wanted), strict=True)
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

    # -- trusted timestamps (storage/notes.py) ---------------------------------------------------

    def chain(self) -> list[notes.Commit]:
        """Every commit of the history, oldest first."""
        with self._repo() as repo:
            return notes.chain(repo)

    def commit_info(self, sha: str) -> notes.Commit | None:
        with self._repo() as repo:
            return notes.commit(repo, sha)

    def warcs_added(self, sha: str) -> dict[str, str]:
        with self._repo() as repo:
            return notes.warcs_added(repo, sha)

    def changed_pages(self, old_tree: str, new_tree: str) -> list[str]:
        with self._repo() as repo:
            return notes.changed_pages(repo, old_tree, new_tree)

    def timestamp_notes(self) -> dict[str, bytes]:
        with self._repo() as repo:
            return notes.notes(repo)

    def add_timestamp_note(self, sha: str, text: str, author: tuple[str, str]) -> None:
        with self._repo() as repo:
            notes.add_note(repo, sha, text, author)

    def push(self, remote: str) -> str | None:
        """Push the current branch to `remote`; git's whole reason, on one line, if it failed (the
        commit stays, and `unpushed` says so until a push succeeds)."""
        with self._repo() as repo:
            head = plumbing.head(repo)
            # The timestamps' notes go along: a copy of the archive elsewhere keeps its tokens.
            refs = [
                "HEAD",
                *([notes.NOTES_REF] if plumbing.ref_exists(repo, notes.NOTES_REF) else []),
            ]
            try:
                repo.git.push("--quiet", remote, *refs, env={"GIT_TERMINAL_PROMPT": "0"})
            except git.GitCommandError as exc:
                reason = plumbing.reason(exc)
                log.info("git push to %s failed: %s", remote, reason)
                return reason
        atomic.write_text(self.root / PUSHED, f"{remote}\n{head}\n")
        return None

    def unpushed(self, remote: str) -> bool:
        """The current commit has not been pushed to `remote` (a push failed, or none was made)."""
        try:
            pushed = (self.root / PUSHED).read_text(encoding="utf-8").split()
        except (OSError, UnicodeError):
            return True
        with self._repo() as repo:
            return pushed != [remote, plumbing.head(repo)]

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
        """Put `pages/` and `feeds/` (what a run writes besides WARCs) back exactly as the last
        commit has them; the paths that differed. Call after `reset_index`.

        The files are written from the commit's blobs rather than by `git checkout`, which needs the
        index lock: a read-only `.git` or a full disk refuses it, and those are when a failed run
        must be undone. The run's files go first, so that a full disk gets back the space they took.
        """
        with self._repo() as repo:
            listing = repo.git.status(
                "--porcelain",
                "-z",
                "-uall",
                "--no-renames",
                "--",
                PAGES,
                FEEDS,
                env=NO_OPTIONAL_LOCKS,
            )
            changed = [entry[3:] for entry in listing.split("\0") if len(entry) > 3]
            committed = dict(
                zip(changed, plumbing.cat(repo, [f"HEAD:{name}" for name in changed]), strict=True)
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
            while folder.parent != self.root and folder.is_dir() and not any(folder.iterdir()):
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
