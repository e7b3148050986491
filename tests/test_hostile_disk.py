"""Broken disks and broken state: a read-only or full disk, a damaged state database or git index,
stale git locks. Each case runs the real command as a subprocess and checks what a user sees: the
exit code and the one line on stderr, a tree that is the last commit's with nothing half-written
left, and, once the fault is fixed, a next run that succeeds with nothing lost (`git fsck` and
`archiver verify` clean, every earlier version as it was). What is only read back afterwards
(`log`, `list`, `verify`) is read in this process, except on the read-only file system, where
reading is the behaviour checked.

Root ignores file permissions: when the tests run as root (CI does), the command under test runs
under `setpriv` (util-linux) without the capabilities that override them. A full disk is a small
tmpfs, which only root can mount here; without root those tests fail, saying so, rather than pass.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.archives import allow_loopback_sources, meta
from support.commands import git, run_cli
from support.newssite import Response, Site, article
from support.userview import STORY, Outcome, archiver

from archiver import Archive
from archiver.urls import normalize_url, page_dir

EDITION = {"now": 1}  # what the site serves: 1 and 2 make the template's two runs; the tests see 3
FILL: dict[
    str, object
] = {}  # armed by a test: the next request for /blob or /big fills the disk first
NO_OVERRIDE = (
    ("setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner")
    if os.geteuid() == 0
    else ()
)
# The same bytes every time, so that the payload of edition 3 is exactly edition 1's (a revisit).
FLIP = {
    1: article("Ferry terminal approved", STORY, noise=False),
    0: article(
        "Ferry terminal delayed", [s.replace("approved", "postponed") for s in STORY], noise=False
    ),
}
BLOB = random.Random(7).randbytes(1_500_000)  # incompressible: as large in the WARC as on the wire
BIG = [
    f"Paragraph {i} of the inquiry report records that witness {i * 7} described the harbour plan in "
    f"detail number {i * 13}."
    for i in range(4000)
]  # compressible: small in the WARC, large in article.md


def _news() -> str:
    edition = EDITION["now"]
    words = [
        f"The council approved the budget in edition {edition} after a debate of {edition * 3} hours.",
        "Critics said the plan cuts library funding by a third over the next two years.",
    ]
    links = (
        [(SITE["url"] + "/doc/1", "the budget report")] if edition == 1 else []
    )  # edition 2 stops citing it
    return article("Council approves budget", words, links)


def _arm() -> None:
    if FILL:
        fill(FILL.pop("disk"), leave=FILL.pop("leave"))


def _blob(handler: object) -> Response:
    _arm()
    body = BLOB if EDITION["now"] >= 3 else b"small payload of edition %d" % EDITION["now"]
    return Response(body=body, content_type="application/octet-stream")


def _big(handler: object) -> Response:
    _arm()
    paragraphs = (
        BIG
        if EDITION["now"] >= 3
        else [f"The inquiry opened in edition {EDITION['now']} of the record."]
    )
    return Response(body=article("Harbour inquiry report", paragraphs, noise=False).encode())


SITE: dict[str, str] = {}
TRACKED = ("/news/a", "/flip", "/blob", "/big")


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    server = Site().start()
    SITE["url"] = server.url("").rstrip("/")
    server.page("/news/a", _news)
    server.page(
        "/doc/1", lambda: article("Budget report", ["The report sets out the budget line by line."])
    )
    server.page("/flip", lambda: FLIP[EDITION["now"] % 2])
    server.routes["/blob"] = _blob
    server.routes["/big"] = _big
    yield server
    server.stop()


@pytest.fixture(scope="module")
def template(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive after two runs: /news/a cited /doc/1 in the first and stopped in the second; /flip
    went from payload A to payload B. The site now serves edition 3: /flip is A again, /news/a
    changed, /blob and /big large."""
    root = tmp_path_factory.mktemp("template") / "archive"
    Archive.init(root)
    allow_loopback_sources(root)
    EDITION["now"] = 1
    first = archiver(root, "add", *(site.url(p) for p in TRACKED))
    assert first.code == 0, first.stderr
    EDITION["now"] = 2
    second = archiver(root, "snapshot", "--all")
    assert second.code == 0 and "4 changed" in second.stdout, second.stdout + second.stderr
    EDITION["now"] = 3
    return root


# --- the checks a user relies on ------------------------------------------------------------------


def copy(template: Path, where: Path) -> Path:
    root = where / "archive"
    shutil.copytree(template, root, symlinks=True)
    return root


def run(
    root: Path, *args: str, prefix: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, "--archive", str(root), prefix=prefix, env=env)


def read(root: Path, *args: str) -> Outcome:
    """A command that only reads the archive back, run in this process (the same code and output
    as the real command, without its start-up)."""
    result = archiver(root, *args)
    assert result.code == 0, result.stdout + result.stderr
    return result


def versions(root: Path, site: Site) -> dict[str, list[dict]]:
    """What `archiver log --json` says of each tracked page, and the commits of the history."""
    seen = {
        path: json.loads(read(root, "log", site.url(path), "--json").stdout)
        for path in ("/news/a", "/flip")
    }
    return {**seen, "commits": git(root, "rev-list", "HEAD").split()}


def one_error(result: subprocess.CompletedProcess[str], cause: str) -> Path:
    """The single stderr line of a run the disk stopped, and the path it names."""
    assert result.returncode == 74, result.stdout + result.stderr
    match = re.fullmatch(rf"archiver: error: cannot write (.+): {cause}\n", result.stderr)
    assert match, result.stderr
    return Path(match[1])


def assert_no_traces(root: Path) -> None:
    """The tree is the last commit's: no temporary file, open WARC, git lock, partial pack or crash
    report (an interrupted run's WARCs are kept in .archiver/interrupted/, as after a crash)."""
    # (git status cannot refresh the index on a full disk; without the optional lock it does not
    # try)
    assert git(root, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all") == ""
    kept = root / ".archiver" / "interrupted"
    left = [
        p
        for p in root.rglob("*")
        if kept not in p.parents
        and (
            p.name.endswith((".tmp", ".open", ".lock"))
            or p.name.startswith(("tmp_", "fast_import_crash_"))
        )
    ]
    assert left == []
    assert not (root / ".archiver" / "run-in-progress").exists()


def assert_undone(root: Path, before: dict[str, list]) -> None:
    """Nothing of the stopped run is committed or left behind."""
    assert git(root, "rev-list", "HEAD").split() == before["commits"]
    assert_no_traces(root)


def assert_next_run_loses_nothing(root: Path, before: dict[str, list], site: Site) -> None:
    """The fault fixed, the next run succeeds and commits edition 3; nothing earlier is lost or
    changed."""
    again = run(root, "snapshot", "--all", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["commit"]
    assert_archive_sound(root)
    after = versions(root, site)
    assert set(before["commits"]) < set(after["commits"])
    for path in ("/news/a", "/flip"):
        assert after[path][: len(before[path])] == before[path]
    assert (
        "edition 3"
        in (root / page_dir(normalize_url(site.url("/news/a"))) / "article.md").read_text()
    )


def assert_archive_sound(root: Path) -> None:
    fsck = subprocess.run(
        ["git", "-C", str(root), "fsck", "--full", "--strict", "--no-dangling"],
        capture_output=True,
        text=True,
    )
    assert fsck.returncode == 0 and not fsck.stdout.strip() and not fsck.stderr.strip(), (
        fsck.stdout + fsck.stderr
    )
    read(root, "verify")
    assert_no_traces(root)


# --- a read-only archive --------------------------------------------------------------------------


def _set_writable(path: Path, writable: bool) -> None:
    subprocess.run(["chmod", "-R", "u+w" if writable else "a-w", str(path)], check=True)


@pytest.fixture
def no_override() -> tuple[str, ...]:
    if NO_OVERRIDE and shutil.which("setpriv") is None:
        pytest.fail(
            "running as root, permissions count only under setpriv (util-linux), which is missing"
        )
    return NO_OVERRIDE


@pytest.mark.parametrize("place", [".", ".git", "warcs", "pages", ".archiver"])
def test_a_read_only_archive_is_exit_74_with_one_line_and_the_next_run_loses_nothing(
    place, site, template, tmp_path, no_override
):
    root = copy(template, tmp_path)
    before = versions(root, site)
    _set_writable(root / place, False)
    try:
        stopped = run(root, "snapshot", "--all", prefix=no_override)
    finally:
        _set_writable(root / place, True)

    named = one_error(stopped, "permission denied")
    assert (root / place).resolve() in [named.resolve(), *named.resolve().parents]
    assert_undone(root, before)
    assert_next_run_loses_nothing(root, before, site)


def test_a_read_only_urls_txt_is_not_replaced(site, template, tmp_path, no_override):
    root = copy(template, tmp_path)
    urls = root / "urls.txt"
    content = urls.read_text()
    urls.chmod(0o444)

    stopped = run(root, "add", site.url("/doc/1"), prefix=no_override)

    assert one_error(stopped, "permission denied") == urls
    assert urls.read_text() == content and urls.stat().st_mode & 0o777 == 0o444
    urls.chmod(0o644)
    assert_no_traces(root)


@pytest.fixture
def read_only_view(tmp_path: Path) -> Iterator[Path]:
    """A folder on which a test mounts an archive read-only (a bind mount), unmounted at the end."""
    if os.geteuid() != 0:
        pytest.fail(
            "a read-only file system is a read-only bind mount here, which needs root (CI runs as "
            "root)"
        )
    where = tmp_path / "read-only"
    where.mkdir()
    yield where
    subprocess.run(["umount", str(where)], check=False, capture_output=True)


def test_an_archive_on_a_read_only_file_system_cannot_be_written_but_can_be_read(
    site, template, tmp_path, read_only_view
):
    root = copy(template, tmp_path)
    before = versions(root, site)
    subprocess.run(["mount", "--bind", str(root), str(read_only_view)], check=True)
    subprocess.run(["mount", "-o", "remount,ro,bind", str(read_only_view)], check=True)
    url = site.url("/news/a")

    stopped = run(read_only_view, "snapshot", "--all")
    listed = run(read_only_view, "list", "--json")
    shown = run(read_only_view, "show", url)
    checked = run(read_only_view, "verify")

    assert one_error(stopped, "read-only file system") == read_only_view / ".archiver" / "lock"
    assert listed.returncode == 0 and listed.stderr == "", listed.stderr
    assert {entry["url"] for entry in json.loads(listed.stdout)} == {
        normalize_url(site.url(p)) for p in TRACKED
    }
    assert all(
        entry["next_due"] for entry in json.loads(listed.stdout)
    )  # read from the state database
    assert shown.returncode == 0 and "edition 2" in shown.stdout
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert versions(read_only_view, site) == before
    subprocess.run(["umount", str(read_only_view)], check=True)
    assert_next_run_loses_nothing(root, before, site)


# --- a full disk ----------------------------------------------------------------------------------


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A small file system of its own (tmpfs), to fill up."""
    if os.geteuid() != 0:
        pytest.fail(
            "a full disk is a small tmpfs here, which needs root to mount (CI runs as root)"
        )
    where = tmp_path / "disk"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(where)], check=True)
    yield where
    FILL.clear()
    subprocess.run(["umount", "-l", str(where)], check=True)


def fill(disk: Path, leave: int = 0) -> None:
    """Take all the free space of `disk` but `leave` bytes, with a file that `free` removes."""
    stat = os.statvfs(disk)
    size = stat.f_bavail * stat.f_frsize - leave
    with (disk / "filler").open("ab") as filler:
        os.posix_fallocate(filler.fileno(), filler.tell(), max(size, 1))


def free(disk: Path) -> None:
    (disk / "filler").unlink()


def filling(disk: Path) -> str:
    """A shell command that fills `disk` to the last byte."""
    return f"cat /dev/zero > {disk}/filler 2>/dev/null"


@pytest.fixture
def git_hook(tmp_path: Path) -> Path:
    """A `git` first on PATH that runs $HOOK (a shell command) before git command $HOOK_BEFORE, or
    after git command $HOOK_AFTER has succeeded."""
    folder = tmp_path / "bin"
    folder.mkdir()
    real = shutil.which("git")
    script = folder / "git"
    script.write_text(f"""#!/bin/sh
if [ "$1" = "$HOOK_BEFORE" ]; then sh -c "$HOOK"; fi
if [ "$1" = "$HOOK_AFTER" ]; then {real} "$@" || exit $?; sh -c "$HOOK"; exit 0; fi
exec {real} "$@"
""")
    script.chmod(0o755)
    return folder


def hooked(git_hook: Path, hook: str, before: str = "", after: str = "") -> dict[str, str]:
    return {
        "PATH": f"{git_hook}{os.pathsep}{os.environ['PATH']}",
        "HOOK": hook,
        "HOOK_BEFORE": before,
        "HOOK_AFTER": after,
    }


def test_a_disk_full_before_the_run_is_exit_74_with_one_line(site, template, disk):
    root = copy(template, disk)
    before = versions(root, site)
    fill(disk)

    stopped = run(root, "snapshot", "--all")

    assert root in one_error(stopped, "no space left on device").parents
    assert_undone(root, before)
    free(disk)
    assert_next_run_loses_nothing(root, before, site)


@pytest.mark.parametrize("moment", ["spool", "warc", "page files"])
def test_a_disk_that_fills_while_a_version_is_written_leaves_nothing_half_written(
    moment, site, template, disk
):
    root = copy(template, disk)
    before = versions(root, site)
    if moment == "spool":  # the body does not fit where it waits to be written
        url, leave, place = site.url("/blob"), len(BLOB) // 2, root / ".archiver"
    elif moment == "warc":  # the body fits in the spool, not again in the WARC
        url, leave, place = site.url("/blob"), len(BLOB) + 256 * 1024, root / "warcs"
    else:  # the body and its compressed record fit, the text extracted from it does not
        body = article("Harbour inquiry report", BIG, noise=False).encode()
        url, leave, place = (
            site.url("/big"),
            len(body) + len(gzip.compress(body)) + 128 * 1024,
            root / "pages",
        )
    FILL.update(disk=disk, leave=leave)

    stopped = run(root, "snapshot", "--no-sources", url)

    assert place in one_error(stopped, "no space left on device").parents
    assert not FILL, "the disk was never filled"
    assert_undone(root, before)
    free(disk)
    assert_next_run_loses_nothing(root, before, site)


def test_a_disk_that_fills_during_the_commit_leaves_no_partial_pack_or_crash_report(
    site, template, disk, git_hook
):
    root = copy(template, disk)
    before = versions(root, site)

    stopped = run(
        root, "snapshot", "--all", env=hooked(git_hook, filling(disk), before="fast-import")
    )

    assert root / ".git" in one_error(stopped, "no space left on device").parents
    assert_undone(root, before)
    free(disk)
    assert_next_run_loses_nothing(root, before, site)


def test_a_disk_that_fills_after_the_commit_keeps_the_commit(site, template, disk, git_hook):
    root = copy(template, disk)
    before = versions(root, site)

    stopped = run(
        root, "snapshot", "--all", env=hooked(git_hook, filling(disk), after="update-index")
    )

    assert one_error(stopped, "no space left on device") == root / ".archiver" / "state.sqlite"
    assert git(root, "rev-list", "HEAD~1").split() == before["commits"]  # the run's commit is made
    assert_no_traces(root)
    free(disk)
    again = run(root, "snapshot", "--all", "--json")
    assert again.returncode == 0, again.stderr
    data = json.loads(
        again.stdout
    )  # nothing new: it was committed; the pages are confirmed unchanged
    assert (
        data["counts"]["new"] == data["counts"]["changed"] == 0
        and data["warc"] is None
        and data["confirmed"]
    )
    assert_archive_sound(root)


# --- a damaged state database ---------------------------------------------------------------------


def _garbage(path: Path) -> None:
    path.write_bytes(random.Random(1).randbytes(20_000))


def _truncated(path: Path) -> None:
    os.truncate(path, 1000)


def _other_layout(path: Path) -> None:
    for leftover in path.parent.glob(f"{path.name}*"):
        leftover.unlink()
    with sqlite3.connect(path) as db:
        version = 2  # archiver's own user_version: only the columns tell this layout is not its
        db.executescript(
            f"CREATE TABLE pages (url TEXT, seen TEXT); CREATE TABLE records (digest TEXT);"
            f"CREATE TABLE checks (url TEXT); PRAGMA user_version = {version};"
        )
    db.close()


def _a_folder(path: Path) -> None:
    for leftover in path.parent.glob(f"{path.name}*"):
        leftover.unlink()
    path.mkdir()
    (path / "note").write_text("someone's file")


DAMAGE = {
    "garbage": _garbage,
    "truncated": _truncated,
    "other layout": _other_layout,
    "a folder": _a_folder,
}


def _state(root: Path) -> Path:
    return root / ".archiver" / "state.sqlite"


def _contents(path: Path) -> dict[str, bytes]:
    """A file's bytes, or a folder's files and their bytes."""
    if path.is_file():
        return {"": path.read_bytes()}
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def _set_aside(root: Path) -> list[Path]:
    return sorted((root / ".archiver").glob("state.sqlite.damaged-*"))


def assert_state_rebuilt(
    root: Path, run_result: subprocess.CompletedProcess[str], site: Site, whole: bool = True
) -> dict:
    """The run succeeded with one warning; identical payloads became revisits and (in a
    `whole`-archive run) sources stayed sources."""
    assert run_result.returncode == 0, run_result.stderr
    warning = run_result.stderr.splitlines()
    assert (
        len(warning) == 1 and "state" in warning[0] and "rebuilt from the archive" in warning[0]
    ), warning
    summary = json.loads(run_result.stdout)
    checked = {r["url"]: r for r in summary["results"]}
    # the source no article cites any more is still known as one, so a whole-archive run checks it
    if whole:
        assert checked[normalize_url(site.url("/doc/1"))]["role"] == "source"
    # /flip serves payload A again: stored as a revisit of the first version's record, not a second
    # copy.
    flip = meta(root, site.url("/flip"))
    first = json.loads(
        git(
            root,
            "show",
            f"{git(root, 'rev-list', '--reverse', 'HEAD').split()[1]}:"
            f"{page_dir(normalize_url(site.url('/flip')))}/meta.json",
        )
    )
    assert (
        flip["version"] == 3
        and flip["warc"]["refers_to"]["record_id"] == first["warc"]["record_id"]
    )
    assert_archive_sound(root)
    return summary


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_state_database_is_set_aside_and_rebuilt_from_the_archive(
    damage, site, template, tmp_path
):
    root = copy(template, tmp_path)
    before = versions(root, site)
    DAMAGE[damage](_state(root))
    damaged = _contents(_state(root))

    # A reader does not repair (it holds no lock): it says so and goes on.
    listed = read(root, "list", "--json")
    assert listed.code == 0 and len(json.loads(listed.stdout)) == len(TRACKED)
    assert len(listed.stderr.splitlines()) == 1 and "state" in listed.stderr, listed.stderr
    assert not _set_aside(root)

    summary = assert_state_rebuilt(
        root, run(root, "snapshot", "--json"), site
    )  # everything is due afresh
    assert len(summary["results"]) == len(TRACKED) + 1
    [kept] = _set_aside(root)  # never deleted
    assert _contents(kept) == damaged
    after = versions(root, site)
    for path in ("/news/a", "/flip"):
        assert after[path][: len(before[path])] == before[path]
    # The rebuilt state works on: the next run finds nothing due.
    calm = run(root, "snapshot", "--json")
    assert calm.returncode == 0 and calm.stderr == "" and json.loads(calm.stdout)["results"] == []


def _corrupt_state_command(root: Path) -> str:
    """A shell command overwriting the state database after its first page, in place (same
    inode)."""
    return f"dd if=/dev/urandom of={_state(root)} bs=4096 seek=1 count=16 conv=notrunc 2>/dev/null"


def _corrupting(root: Path, body: bytes) -> Callable[[object], Response]:
    def serve(handler: object) -> Response:
        subprocess.run(_corrupt_state_command(root), shell=True, check=True)
        return Response(body=body)

    return serve


@pytest.mark.parametrize("moment", ["while fetching", "after the commit"])
def test_a_state_database_damaged_mid_run_is_rebuilt_and_the_run_recorded(
    moment, site, template, tmp_path, git_hook
):
    root = copy(template, tmp_path)
    if (
        moment == "while fetching"
    ):  # the next statement looks up the archived payload of /flip, and fails
        site.routes["/flip"] = _corrupting(root, FLIP[1].encode())
        args, env = ("--no-sources", site.url("/flip")), None
    else:  # the run's commit is made; recording its checks fails
        args, env = ("--all",), hooked(git_hook, _corrupt_state_command(root), after="update-index")
    try:
        result = run(root, "snapshot", "--json", *args, env=env)
    finally:
        site.page("/flip", lambda: FLIP[EDITION["now"] % 2])

    summary = assert_state_rebuilt(root, result, site, whole=moment == "after the commit")
    assert summary["commit"] and len(_set_aside(root)) == 1
    # The run's checks are in the rebuilt state: the pages it checked are due later, not now.
    due = {
        page["url"]: page["next_due"]
        for page in json.loads(read(root, "list", "--sources", "--json").stdout)
    }
    assert all(due[r["url"]] for r in summary["results"])
    calm = run(root, "snapshot", "--json", *args)
    assert calm.returncode == 0 and calm.stderr == "", calm.stderr
    assert not [r for r in json.loads(calm.stdout)["results"] if r["outcome"] != "unchanged"]


# --- a damaged git index, stale git locks ---------------------------------------------------------


def _index_garbage(index: Path) -> None:
    index.write_bytes(random.Random(2).randbytes(3000))


def _index_truncated(index: Path) -> None:
    os.truncate(index, 30)


def _index_flipped(index: Path) -> None:
    data = bytearray(index.read_bytes())
    data[len(data) // 2] ^= 0xFF
    index.write_bytes(bytes(data))


def _index_deleted(index: Path) -> None:
    index.unlink()


INDEX_DAMAGE = {
    "garbage": _index_garbage,
    "truncated": _index_truncated,
    "a flipped byte": _index_flipped,
    "deleted": _index_deleted,
}


@pytest.mark.parametrize("damage", list(INDEX_DAMAGE))
def test_a_damaged_or_missing_git_index_is_rebuilt_from_head(damage, site, template, tmp_path):
    root = copy(template, tmp_path)
    before = versions(root, site)
    INDEX_DAMAGE[damage](root / ".git" / "index")

    result = run(root, "snapshot", "--all", "--json")

    assert result.returncode == 0, result.stderr
    [warning] = result.stderr.splitlines()
    assert "git index" in warning and "rebuilt" in warning
    assert json.loads(result.stdout)["commit"]
    assert_archive_sound(root)
    after = versions(root, site)
    for path in ("/news/a", "/flip"):
        assert after[path][: len(before[path])] == before[path]


# Damage written into the index while a run commits: random bytes, and a first entry's object id
# zeroed, which git reports only as "cache entry has null sha1" when it writes the index.
DURING_RUN = {
    "random bytes": "if=/dev/urandom bs=1 seek=100 count=64",
    "an entry's id zeroed": "if=/dev/zero bs=1 seek=52 count=20",
}


@pytest.mark.parametrize("damage", list(DURING_RUN))
def test_an_index_damaged_during_the_run_does_not_fail_its_commit(
    site, template, tmp_path, git_hook, damage
):
    root = copy(template, tmp_path)
    index = root / ".git" / "index"
    hook = f"dd {DURING_RUN[damage]} of={index} conv=notrunc 2>/dev/null"

    result = run(
        root, "snapshot", "--all", "--json", env=hooked(git_hook, hook, before="update-ref")
    )

    assert result.returncode == 0, result.stderr
    [warning] = result.stderr.splitlines()
    assert "git index" in warning and "rebuilt" in warning
    assert json.loads(result.stdout)["commit"] == git(root, "rev-parse", "HEAD").strip()
    assert_archive_sound(root)


@pytest.mark.parametrize(
    "lock", ["HEAD.lock", "refs/heads/main.lock", "packed-refs.lock", "index.lock"]
)
def test_a_stale_git_lock_costs_no_run(lock, site, template, tmp_path):
    root = copy(template, tmp_path)
    (root / ".git" / lock).write_text("")

    result = run(root, "snapshot", "--all", "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["commit"] == git(root, "rev-parse", "HEAD").strip()
    assert lock in result.stderr and len(result.stderr.splitlines()) == 1
    assert_archive_sound(root)
