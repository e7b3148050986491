"""Trusted timestamps of the history: each commit's manifest, timestamped by a TSA (`tsa.py`), kept in
a git note (`storage/notes.py`), and checked back by `verify`.

The manifest is a short text a third party rebuilds with git and sha256sum (docs/concepts.md):

    archiver timestamp manifest v1
    commit <commit id>
    tree <tree id>
    warc <sha256 hex> <path>        one line per file under warcs/ the commit adds, by path

each line ending in a line feed. The note holds the manifest, a blank line, `tsa <url>`,
`time <ISO 8601>`, `token`, then the TSA's reply (DER) in base64.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..config import EvidenceConfig
from ..errors import UsageError
from ..storage.meta import load as load_meta
from ..storage.notes import NOTES_REF, Commit
from ..storage.store import META, Store
from ..words import counted
from . import tsa
from .verify import Problem

log = logging.getLogger(__name__)

HEADER = "archiver timestamp manifest v1"


def manifest(commit: Commit, warcs: dict[str, str]) -> str:
    lines = [HEADER, f"commit {commit.id}", f"tree {commit.tree}"]
    lines += [f"warc {digest} {path}" for path, digest in sorted(warcs.items())]
    return "".join(f"{line}\n" for line in lines)


@dataclass(frozen=True)
class Note:
    manifest: str
    commit: str
    tree: str
    tsa: str
    time: str
    reply: bytes


def note_text(text: str, token: tsa.Token) -> str:
    encoded = base64.encodebytes(token.reply).decode("ascii")
    return f"{text}\ntsa {token.tsa}\ntime {token.time.isoformat()}\ntoken\n{encoded}"


def read_note(content: bytes) -> Note | None:
    """A note read back (None: not one of ours, or damaged)."""
    try:
        text = content.decode("utf-8")
        head, _, rest = text.partition("\n\n")
        fields, _, encoded = rest.partition("token\n")
        lines = head.split("\n")
        info = dict(line.split(" ", 1) for line in fields.splitlines())
        if (
            lines[0] != HEADER
            or not lines[1].startswith("commit ")
            or not lines[2].startswith("tree ")
        ):
            return None
        reply = base64.b64decode(encoded, validate=False)
    except (UnicodeDecodeError, ValueError, IndexError, binascii.Error):
        return None
    return Note(
        f"{head}\n",
        lines[1].removeprefix("commit "),
        lines[2].removeprefix("tree "),
        info.get("tsa", ""),
        info.get("time", ""),
        reply,
    )


@dataclass
class StampSummary:
    """What one round of timestamping did: the commits stamped, the TSAs' trouble if any, and how
    many commits still have no token."""

    stamped: list[tuple[str, str, str]] = field(default_factory=list)  # commit, time, TSA
    failure: str | None = None
    pending: int = 0
    push_error: str | None = None  # `archiver timestamp` pushes the tokens it adds

    def line(self) -> str:
        done = f"timestamped {counted(len(self.stamped), 'commit')}"
        if self.failure:
            done += f"; not timestamped: {self.failure}"
        if self.pending:
            done += f"; {counted(self.pending, 'commit')} still without a timestamp"
        return done

    def as_dict(self) -> dict[str, Any]:
        return {
            "stamped": [{"commit": c, "time": t, "tsa": u} for c, t, u in self.stamped],
            "failure": self.failure,
            "pending": self.pending,
            "push_error": self.push_error,
        }


def stamp_pending(
    store: Store, settings: EvidenceConfig, timeout: tuple[float, float], author: tuple[str, str]
) -> StampSummary:
    """Timestamp the commits without a token: HEAD first (its token anchors the history before it),
    then the oldest, at most `max_timestamps`. A TSA's trouble stops the round (the next asks
    again) and never raises."""
    summary = StampSummary()
    have = store.timestamp_notes()
    todo = [c for c in store.chain() if c.id not in have]
    if not todo:
        return summary
    todo = [todo[-1], *todo[:-1]]
    roots = tsa.anchors(store.root)
    for commit in todo[: settings.max_timestamps]:
        text = manifest(commit, store.warcs_added(commit.id))
        try:
            token = tsa.stamp(text.encode("utf-8"), settings.tsa_urls, roots, timeout)
        except tsa.TokenRefused as exc:
            summary.failure = str(exc)
            break
        store.add_timestamp_note(commit.id, note_text(text, token), author)
        summary.stamped.append((commit.id, token.time.isoformat(), token.tsa))
    summary.pending = len(todo) - len(summary.stamped)
    if summary.failure:  # the CLI says it on one line, even under -q
        log.info("commit %s not timestamped: %s", todo[len(summary.stamped)].id, summary.failure)
    return summary


@dataclass
class Coverage:
    """How much of the history has a token."""

    commits: int = 0
    stamped: int = 0
    oldest_unstamped: str | None = None

    def line(self) -> str:
        line = f"{counted(self.stamped, 'commit')} of {self.commits} timestamped"
        if self.oldest_unstamped:
            line += f" (the oldest without: {self.oldest_unstamped[:10]})"
        return line


def check(store: Store, extra_anchors: list[Path]) -> tuple[list[Problem], Coverage]:
    """Every token checked against its manifest rebuilt from git and against the trust anchors,
    offline; a token whose commit left the history, or whose tree changed, is a rewritten
    history."""
    notes = store.timestamp_notes()
    chain = store.chain()
    by_id = {c.id: c for c in chain}
    unstamped = [c.id for c in chain if c.id not in notes]
    coverage = Coverage(len(chain), len(chain) - len(unstamped), next(iter(unstamped), None))
    try:
        roots = tsa.anchors(store.root, extra_anchors)
    except tsa.TokenRefused as exc:  # a file the user named
        raise UsageError(str(exc)) from None
    problems: list[Problem] = []
    for sha, content in notes.items():
        note = read_note(content)
        if note is None or note.commit != sha:
            problems.append(Problem(NOTES_REF, None, "unreadable timestamp note", commit=sha))
            continue
        problems += _check_note(store, note, by_id, chain, roots)
    return problems, coverage


def _check_note(
    store: Store,
    note: Note,
    by_id: dict[str, Commit],
    chain: list[Commit],
    roots: list[Any],
) -> list[Problem]:
    when = f"timestamped {note.time}"
    now = by_id.get(note.commit)
    if now is None:
        old = store.commit_info(note.commit)
        twin = next(
            (
                c
                for c in chain
                if old and (c.author_date, c.subject) == (old.author_date, old.subject)
            ),
            None,
        )
        return _rewritten(
            store, note, twin, f"commit {note.commit[:10]} ({when}) is no longer in the history"
        )
    if now.tree != note.tree:
        return _rewritten(store, note, now, f"commit {note.commit[:10]} ({when}) has another tree")
    problems = []
    if manifest(now, store.warcs_added(now.id)) != note.manifest:
        problems.append(
            Problem(
                NOTES_REF,
                None,
                f"the WARC files of the commit differ from those {when}",
                commit=note.commit,
            )
        )
    try:
        tsa.check(note.reply, note.manifest.encode("utf-8"), roots)
    except tsa.TokenRefused as exc:
        problems.append(Problem(NOTES_REF, None, str(exc), commit=note.commit))
    return problems


def _rewritten(store: Store, note: Note, twin: Commit | None, what: str) -> list[Problem]:
    """The history was rewritten: one problem per page version that differs from what was
    timestamped, when the commit now in its place is known; else one for the commit."""
    message = f"the history was rewritten: {what}"
    paths = store.changed_pages(note.tree, twin.tree) if twin else []
    folders = sorted({str(PurePosixPath(*PurePosixPath(p).parts[:3])) for p in paths})
    if not folders:
        return [Problem(NOTES_REF, None, message, commit=note.commit)]
    assert twin is not None
    metas = store.read_all_at(twin.id, [f"{folder}/{META}" for folder in folders])
    problems = []
    for folder, meta in zip(folders, metas, strict=True):
        url, version = _page(meta)
        problems.append(
            Problem(
                f"{folder}/",
                url,
                f"{message}; this version differs",
                version=version,
                commit=note.commit,
            )
        )
    return problems


def _page(meta: str | None) -> tuple[str | None, int | None]:
    try:
        data = load_meta(meta or "")
        return data["url"], data["version"]
    except (ValueError, KeyError, TypeError):
        return None, None
