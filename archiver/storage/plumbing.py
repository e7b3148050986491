"""git plumbing under the store: commits written with fast-import, the index and its repair, packs,
and history read in bulk (`git log --raw`, `git cat-file --batch`). Only `store.py` calls it.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import git

log = logging.getLogger(__name__)

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


def reason(exc: git.GitCommandError) -> str:
    """What git said when a command failed, on one line: its stderr lines joined, each `fatal:` or
    `error:` a clause of its own, without GitPython's framing (`stderr: '…'`)."""
    text = (exc.stderr or "").strip()
    text = text.removeprefix("stderr:").strip().removeprefix("'").removesuffix("'")
    clauses: list[str] = []
    joined = False  # the next line continues a sentence git wrapped
    for line in (line.strip() for line in text.splitlines()):
        if joined and line and not line.startswith(("fatal:", "error:", "hint:", "remote:")):
            clauses[-1] += " " + line
        elif line:
            clauses.append(line)
        joined = bool(line)  # a blank line ends a paragraph
    if not clauses:
        return str(exc)
    return "; ".join(clause.rstrip(".") for clause in clauses) + "."


def head(repo: git.Repo) -> str:
    try:
        head: str = repo.git.rev_parse("--verify", "-q", "HEAD")
    except git.GitCommandError:
        return ""  # the archive's first commit
    return head


def ref_exists(repo: git.Repo, ref: str) -> bool:
    try:
        repo.git.rev_parse("--verify", "-q", ref)
    except git.GitCommandError:
        return False
    return True


def index_state(repo: git.Repo) -> str:
    """The index against HEAD: "same", "differs", "missing", or what git says is wrong with it."""
    if not head(repo):
        return "same"  # no commit yet: nothing to compare with or rebuild from
    index = Path(repo.git_dir) / "index"
    if not index.exists():
        return "missing"
    if damage := checksum_damage(repo):
        return damage
    try:
        repo.git.diff_index("--cached", "--quiet", "HEAD", "--")
    except git.GitCommandError as exc:
        if exc.status == 1:
            return "differs"
        damage = index_damage(exc)
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


def index_damage(exc: git.GitCommandError) -> str:
    """What git said was wrong with the index, or "" if the failure was something else."""
    message = exc.stderr if isinstance(exc.stderr, str) else ""
    return next((sign for sign in INDEX_DAMAGE if sign in message), "")


def checksum_damage(repo: git.Repo) -> str:
    """ "its checksum does not match" when the index's bytes are not what git wrote, else "":
    damaged bytes make git fail in ways its messages do not all name (an entry read from garbage
    "has null sha1")."""
    index = Path(repo.git_dir) / "index"
    try:
        return "" if _checksum_matches(index.read_bytes()) else "its checksum does not match"
    except OSError:
        return ""


def rebuild_index(repo: git.Repo, why: str) -> None:
    """Write the index anew from HEAD (git's cache: nothing is lost), with the files' stat data."""
    state = why if why == "missing" else f"damaged ({why})"
    log.warning("the git index was %s; rebuilt it from the last commit", state)
    (Path(repo.git_dir) / "index").unlink(missing_ok=True)
    repo.git.reset("-q")


def object_id(kind: str, data: bytes) -> str:
    """The name git gives an object: SHA-1 over its type, size and content."""
    return hashlib.sha1(f"{kind} {len(data)}\0".encode() + data).hexdigest()


def blob_id(data: bytes) -> str:
    return object_id("blob", data)


def committed_blobs(repo: git.Repo, commit: str, files: list[str]) -> dict[str, str]:
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


def commit_header(message: str, when: datetime, author: tuple[str, str], parent: str) -> bytes:
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


def fast_import(
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


def stage(repo: git.Repo, files: list[str]) -> None:
    # Exact paths through update-index: `git add -- <paths>` matches every pathspec against every
    # index entry, which took 1.7 s for one run of 631 new pages.
    with tempfile.TemporaryFile() as listing:
        listing.write(b"".join(f.encode("utf-8") + b"\0" for f in files))
        listing.seek(0)
        repo.git.update_index("--add", "--remove", "-z", "--stdin", istream=listing)


def consolidate(repo: git.Repo) -> None:
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
    # Housekeeping: the commit is made and stays whatever happens here.
    except git.GitCommandError as exc:
        log.warning("could not repack the git objects: %s", (exc.stderr or str(exc)).strip())


def raw_changes(listing: str) -> list[tuple[str, str, str, str]]:
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


def cat(repo: git.Repo, names: list[str]) -> list[bytes | None]:
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
