"""The git side of trusted timestamps: the commits to timestamp, what each adds, and the notes that
keep their tokens (`refs/notes/archiver-timestamps`), so that no commit is ever rewritten to hold
one."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass

import git

from . import plumbing

NOTES_REF = "refs/notes/archiver-timestamps"
WARCS_DIR = "warcs/"


@dataclass(frozen=True)
class Commit:
    """A commit as a timestamp's manifest names it."""

    id: str
    tree: str
    author_date: str  # ISO 8601: a rebased commit keeps it, which is how its new self is found
    subject: str


def chain(repo: git.Repo) -> list[Commit]:
    """Every commit of HEAD's history, oldest first (replacements honored, as every git reader
    does)."""
    if not plumbing.head(repo):
        return []
    listing = repo.git.log("--reverse", "--format=%H %T %aI %s")
    return [Commit(*line.split(" ", 3)) for line in listing.splitlines() if line]


def commit(repo: git.Repo, sha: str) -> Commit | None:
    """`sha` as git sees it now (None: the object is gone)."""
    try:
        line = repo.git.log("-1", "--format=%H %T %aI %s", sha, "--")
    except git.GitCommandError:
        return None
    return Commit(*line.split(" ", 3)) if line else None


def warcs_added(repo: git.Repo, sha: str) -> dict[str, str]:
    """The SHA-256 (hex) of every file under warcs/ that commit `sha` adds, by path."""
    listing = repo.git.diff_tree(
        "-r", "--root", "--no-commit-id", "--name-only", "--diff-filter=A", "-z", sha, "--"
    )
    paths = sorted(p for p in listing.split("\0") if p.startswith(WARCS_DIR))
    contents = plumbing.cat(repo, [f"{sha}:{path}" for path in paths])
    return {
        path: hashlib.sha256(content).hexdigest()
        for path, content in zip(paths, contents, strict=True)
        if content is not None
    }


def changed_pages(repo: git.Repo, old_tree: str, new_tree: str) -> list[str]:
    """The files under pages/ that differ between two trees (empty if one is gone)."""
    try:
        listing = repo.git.diff_tree("-r", "--name-only", "-z", old_tree, new_tree, "--", "pages")
    except git.GitCommandError:
        return []
    return [p for p in listing.split("\0") if p]


def notes(repo: git.Repo) -> dict[str, bytes]:
    """Every timestamp note, by the commit it annotates."""
    if not plumbing.ref_exists(repo, NOTES_REF):
        return {}
    listing = repo.git.notes("--ref", NOTES_REF, "list")
    pairs = [line.split() for line in listing.splitlines() if line]
    contents = plumbing.cat(repo, [blob for blob, _ in pairs])
    return {
        annotated: content
        for (_, annotated), content in zip(pairs, contents, strict=True)
        if content is not None
    }


def add_note(repo: git.Repo, sha: str, text: str, author: tuple[str, str]) -> None:
    """Annotate commit `sha` with `text` on the timestamps' notes ref (a commit on that ref, by
    `author`: the archive's, not whoever's git identity this machine has, if any)."""
    name, email = author
    env = {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".note") as file:
        file.write(text)
        file.flush()
        repo.git.notes("--ref", NOTES_REF, "add", "-F", file.name, sha, env=env)
