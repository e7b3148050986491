"""The archive's commits, read back with git: what they hold, when nothing is committed, and how the
object store stays small over many runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from support.commands import git

from archiver.storage import plumbing
from archiver.storage.store import Store

AUTHOR = ("archiver", "archiver@localhost")
WHEN = datetime(2026, 11, 24, 9, 30, 5, tzinfo=timezone(timedelta(hours=2)))


def objects(root: Path) -> dict[str, int]:
    return {
        k: int(v)
        for k, v in (line.split(": ") for line in git(root, "count-objects", "-v").splitlines())
    }


@pytest.fixture
def archive(tmp_path: Path) -> Store:
    return Store.create(tmp_path / "archive", {"archiver.toml": "# settings\n"}, WHEN, AUTHOR)


def test_a_commit_holds_new_changed_and_deleted_files_and_the_index_follows(archive: Store) -> None:
    root = archive.root
    other = "warcs/run 1.warc.gz"  # a file given by its own name; a space needs no quoting
    for name, text in {
        "pages/a/meta.json": "{}\n",
        "pages/a/article.md": "one\n",
        other: "odd\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    first = archive.commit("a page and a file", WHEN, AUTHOR, ["pages/a", other])
    assert first == git(root, "rev-parse", "HEAD").strip()
    assert git(root, "show", f"HEAD:{other}") == "odd\n"
    assert git(root, "show", "HEAD:pages/a/article.md") == "one\n"
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""

    (root / "pages/a/article.md").write_text("two\n")
    (root / other).unlink()
    second = archive.commit("edited", WHEN, AUTHOR, ["pages/a", other])
    assert git(root, "rev-parse", f"{second}^").strip() == first
    assert git(root, "show", "HEAD:pages/a/article.md") == "two\n"
    assert git(root, "ls-tree", "-r", "--name-only", "-z", "HEAD").split("\0")[:-1] == [
        "archiver.toml",
        "pages/a/article.md",
        "pages/a/meta.json",
    ]
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(root, "fsck", "--full", "--strict", "--no-dangling") == ""


def test_a_path_git_would_need_quoted_is_refused_and_nothing_is_committed(archive: Store) -> None:
    root = archive.root
    (root / "two\nlines.txt").write_text("x\n")
    head = git(root, "rev-parse", "HEAD")
    with pytest.raises(ValueError, match="newline"):
        archive.commit("odd", WHEN, AUTHOR, ["two\nlines.txt"])
    assert git(root, "rev-parse", "HEAD") == head


def test_nothing_changed_makes_no_commit_and_writes_no_object(archive: Store) -> None:
    root = archive.root
    (root / "pages/a").mkdir(parents=True)
    (root / "pages/a/meta.json").write_text("{}\n")
    head = archive.commit("a page", WHEN, AUTHOR, ["pages/a"])
    before = objects(root)
    (root / "pages/a/meta.json").write_text("{}\n")  # rewritten with the same bytes
    assert (
        archive.commit("again", WHEN, AUTHOR, ["pages/a", "archiver.toml", "never-written.txt"])
        is None
    )
    assert git(root, "rev-parse", "HEAD").strip() == head
    assert objects(root) == before


def test_the_commit_is_dated_and_signed_as_asked(archive: Store) -> None:
    root = archive.root
    (root / "note.txt").write_text("n\n")
    archive.commit("dated\n\nbody line", WHEN, ("Ann <ex> Editor", "ann@example.org"), ["note.txt"])
    assert git(root, "log", "-1", "--format=%aI|%cI|%an|%ae|%s|%b").strip() == (
        "2026-11-24T09:30:05+02:00|2026-11-24T09:30:05+02:00|Ann ex "
        "Editor|ann@example.org|dated|body line"
    )


def test_many_runs_leave_few_packs_and_few_loose_objects(
    archive: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every large commit is a pack and every small one loose objects; they are merged as they pile
    up, with every commit's files still there."""
    monkeypatch.setattr(plumbing, "PACKS_BEFORE_REPACK", 3)
    monkeypatch.setattr(plumbing, "LOOSE_BEFORE_REPACK", 60)
    root = archive.root
    commits = []
    for run in range(8):
        pages = [
            f"pages/run{run}/{i}" for i in range(60 if run % 2 else 6)
        ]  # a pack (over fast-import's
        for page in pages:  # 100 objects), then loose ones
            (root / page).mkdir(parents=True)
            (root / page / "article.md").write_text(f"{page}\n")
        commits.append(archive.commit(f"run {run}", WHEN, AUTHOR, pages))
        counts = objects(root)
        assert counts["packs"] <= 3 and counts["count"] <= 60 + 6 * 2 + 3, counts
    assert git(root, "fsck", "--full", "--strict", "--no-dangling") == ""
    counts = objects(root)  # every object stored once: no pack duplicates another
    assert counts["in-pack"] + counts["count"] == len(
        git(root, "rev-list", "--all", "--objects").splitlines()
    )
    for run, commit in enumerate(commits):
        assert git(root, "show", f"{commit}:pages/run{run}/5/article.md") == f"pages/run{run}/5\n"
    assert git(root, "rev-list", "--count", "HEAD").strip() == str(len(commits) + 1)


def test_an_archive_of_loose_objects_is_packed_once(
    archive: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Earlier versions of archiver left every object loose: the first commit past the limit packs
    them, and stores each once."""
    monkeypatch.setattr(plumbing, "LOOSE_BEFORE_REPACK", 1000)
    root = archive.root
    for i in range(3000):
        (root / f"pages/old/{i}").mkdir(parents=True)
        (root / f"pages/old/{i}/article.md").write_text(f"old page {i}\n")
    git(root, "add", "-A")
    git(root, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "loose objects")
    pages = [f"pages/new/{i}" for i in range(60)]
    for page in pages:
        (root / page).mkdir(parents=True)
        (root / page / "article.md").write_text(f"{page}\n")
    archive.commit("a run", WHEN, AUTHOR, pages)
    counts = objects(root)
    assert counts["count"] == 0 and counts["packs"] <= 2, counts
    assert counts["in-pack"] == len(git(root, "rev-list", "--all", "--objects").splitlines())
    assert git(root, "fsck", "--full", "--strict", "--no-dangling") == ""
