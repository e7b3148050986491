"""Crashes: `archiver snapshot` killed with SIGKILL at many moments of a run, then run again.

Each case kills the whole process group (as a reboot or cron's timeout would: the run, its
extraction processes and any git it started) at one moment, then checks what a user relies on: the
next run succeeds, git fsck is clean, every commit made before the crash is intact, nothing
half-written is committed, and a leftover `.open` WARC is set aside and reported. The archives
the runs start from are built, and what is only read back is read, in this process.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.archives import allow_loopback_sources
from support.commands import git, run_cli
from support.newssite import Site, article
from support.userview import archiver
from warcio.archiveiterator import ArchiveIterator

from archiver import Archive
from archiver.urls import page_dir

ARTICLES = 8
LATENCY = 0.04
EXE = Path(sys.executable).with_name("archiver")


def _slow(html: Callable[[], str]) -> Callable[[], str]:
    def serve() -> str:
        time.sleep(LATENCY)
        return html()

    return serve


def _publish(site: Site, edition: int) -> None:
    """Articles citing two sources each (24 pages: enough for the extraction process pool)."""
    for i in range(ARTICLES):
        links = [(site.url(f"/doc/{i}-{j}"), f"document {i}-{j}") for j in range(2)]
        words = [
            f"Article {i} reports that the council approved plan {i} on Monday.",
            f"Officials said edition {edition} of the figures showed a rise of {i + edition} per cent.",
        ]
        site.page(
            f"/news/{i}",
            _slow(lambda i=i, words=words, links=links: article(f"Story {i}", words, links)),
        )
        for j in range(2):
            site.page(
                f"/doc/{i}-{j}",
                _slow(
                    lambda i=i, j=j: article(
                        f"Document {i}-{j}",
                        [f"Document {i}-{j} states edition {edition} of the record in full."],
                    )
                ),
            )


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    server = Site().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def template(site: Site, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """An archive holding the first edition of every page; the site then serves the second
    edition."""
    root = tmp_path_factory.mktemp("template") / "archive"
    Archive.init(root)
    allow_loopback_sources(root)
    _publish(site, 1)
    before = sum(site.hits.values())
    urls = [site.url(f"/news/{i}") for i in range(ARTICLES)]
    done = archiver(root, "add", *urls)
    assert done.code == 0, done.stderr
    _publish(site, 2)
    return root, sum(site.hits.values()) - before


@pytest.fixture
def slow_git(tmp_path: Path) -> Path:
    """A `git` first on PATH that, on the command named by $PAUSE_AT, touches $PAUSED and waits
    there.

    PAUSE_AT=after-commit runs the real `update-ref` (which makes the commit the branch's) first,
    then waits: the crash comes after the commit.
    """
    folder = tmp_path / "bin"
    folder.mkdir()
    real = shutil.which("git")
    script = folder / "git"
    script.write_text(f"""#!/bin/sh
if [ "$1" = "$PAUSE_AT" ]; then touch "$PAUSED"; sleep 30; fi
if [ "$1" = update-ref ] && [ "$PAUSE_AT" = after-commit ]; then
    {real} "$@"; status=$?; touch "$PAUSED"; sleep 30; exit $status
fi
exec {real} "$@"
""")
    script.chmod(0o755)
    return folder


def _kill_when(root: Path, ready: Callable[[], bool], env: dict[str, str] | None = None) -> None:
    """Start `archiver snapshot --all` and SIGKILL its whole process group once `ready()` holds."""
    full_env = {k: v for k, v in os.environ.items() if k != "ARCHIVER_DIR"} | (env or {})
    proc = subprocess.Popen(
        [str(EXE), "snapshot", "--all", "--archive", str(root)],
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready():
            assert proc.poll() is None, "the run ended before the moment to kill it came"
            assert time.monotonic() < deadline, "the moment to kill the run never came"
            time.sleep(0.002)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _hits(site: Site, share: float, expected: int) -> Callable[[], bool]:
    start = sum(site.hits.values())
    return lambda: sum(site.hits.values()) - start >= max(1, round(share * expected))


def _versions_written(root: Path, share: float) -> Callable[[], bool]:
    """Once `share` of the 24 pages have their new version's files written (not yet committed)."""
    since = time.time()
    wanted = max(1, round(share * ARTICLES * 3))
    return lambda: (
        sum(p.stat().st_mtime > since for p in (root / "pages").glob("*/*/meta.json")) >= wanted
    )


def _open_warc(root: Path) -> Callable[[], bool]:
    return lambda: any(p.stat().st_size > 0 for p in (root / "warcs").glob("**/*.open"))


MOMENTS = {
    # while fetching, then while writing WARC records and page files as pages are settled
    "first-request": lambda root, site, n, paused: _hits(site, 0, n),
    "warc-open": lambda root, site, n, paused: _open_warc(root),
    "half-fetched": lambda root, site, n, paused: _hits(site, 0.5, n),
    "all-fetched": lambda root, site, n, paused: _hits(site, 1.0, n),
    "first-version-written": lambda root, site, n, paused: _versions_written(root, 0),
    "half-versions-written": lambda root, site, n, paused: _versions_written(root, 0.5),
    "all-versions-written": lambda root, site, n, paused: _versions_written(root, 1.0),
    # the git commit: before its pack is written, pack written (the branch not yet moved), the
    # branch moved (the index not yet following it), and after the index was brought up to it
    "fast-import": lambda root, site, n, paused: paused.exists,
    "update-ref": lambda root, site, n, paused: paused.exists,
    "after-commit": lambda root, site, n, paused: paused.exists,
    "update-index": lambda root, site, n, paused: paused.exists,
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_run_killed_at_any_moment_loses_and_corrupts_nothing(
    moment, site, template, slow_git, tmp_path
):
    source, requests = template
    root = tmp_path / "archive"
    shutil.copytree(source, root, symlinks=True)
    before = git(root, "rev-list", "HEAD").split()
    paused = tmp_path / "paused"
    env = {}
    if moment in ("fast-import", "update-ref", "after-commit", "update-index"):
        env = {
            "PATH": f"{slow_git}{os.pathsep}{os.environ['PATH']}",
            "PAUSE_AT": moment,
            "PAUSED": str(paused),
        }
    _kill_when(root, MOMENTS[moment](root, site, requests, paused), env)
    left_open = sorted(p.name for p in (root / "warcs").glob("**/*.open"))

    again = run_cli("snapshot", "--all", "--json", "--archive", str(root))

    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    fsck = subprocess.run(
        ["git", "-C", str(root), "fsck", "--full", "--strict", "--no-dangling"],
        capture_output=True,
        text=True,
    )
    assert fsck.returncode == 0 and not fsck.stdout.strip(), fsck.stdout + fsck.stderr
    for commit in before:  # every version committed before the crash is still in the history
        assert (
            subprocess.run(
                ["git", "-C", str(root), "merge-base", "--is-ancestor", commit, "HEAD"]
            ).returncode
            == 0
        )
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    _assert_committed_whole(root)
    # A leftover .open WARC is set aside (never committed, never deleted) and reported.
    assert not list((root / "warcs").glob("**/*.open"))
    assert sorted(Path(p).name for p in summary["recovered"] if p.endswith(".open")) == left_open
    for name in left_open:
        assert list((root / ".archiver" / "interrupted").glob(f"**/{name}"))
        assert name in again.stderr and "interrupted" in again.stderr
    # What the crash cost is only time: every article now holds the second edition, versions in
    # sequence.
    for i in range(ARTICLES):
        folder = page_dir(site.url(f"/news/{i}"))
        assert json.loads((root / folder / "meta.json").read_text())["version"] == 2
        assert "edition 2 of the figures" in (root / folder / "article.md").read_text()
        # the first edition, then the second: no version lost, none made twice
        assert len(git(root, "log", "--format=%H", "--", f"{folder}/article.md").split()) == 2


def _assert_committed_whole(root: Path) -> None:
    """Everything HEAD holds is complete: parseable meta.json whose WARC record exists in a
    committed, fully decompressible WARC; no temporary or .open file."""
    files = git(root, "ls-files").splitlines()
    assert not [f for f in files if f.endswith((".tmp", ".open"))]
    warcs = {f for f in files if f.endswith(".warc.gz")}
    records: dict[tuple[str, int], str] = {}
    for name in warcs:
        with gzip.open(root / name) as whole:  # a truncated gzip member raises here
            while whole.read(1 << 20):
                pass
        with (root / name).open("rb") as f:
            iterator = ArchiveIterator(f)
            for record in iterator:
                records[(name, iterator.get_record_offset())] = record.rec_headers.get_header(
                    "WARC-Record-ID"
                )
    for name in (f for f in files if f.endswith("meta.json")):
        meta = json.loads((root / name).read_text(encoding="utf-8"))
        ref = meta["warc"]
        assert ref["file"] in warcs, f"{name} cites an uncommitted WARC"
        assert records.get((ref["file"], ref["offset"])) == ref["record_id"], (
            f"{name} cites a missing record"
        )


def test_two_runs_started_together_one_proceeds_the_other_exits_75(site, template, tmp_path):
    source, _ = template
    root = tmp_path / "archive"
    shutil.copytree(source, root, symlinks=True)
    before = git(root, "rev-parse", "HEAD").strip()
    command = [str(EXE), "snapshot", "--all", "--archive", str(root)]
    runs = [
        subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]

    codes = sorted(run.returncode for run in runs)
    assert codes == [0, 75], outputs
    _, refused = outputs[[run.returncode for run in runs].index(75)]
    assert refused.count("\n") == 1 and "holds the lock" in refused
    assert git(root, "rev-list", "--count", f"{before}..HEAD").strip() == "1"  # one run, one commit
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    assert (
        subprocess.run(
            ["git", "-C", str(root), "fsck", "--full", "--strict"], capture_output=True
        ).returncode
        == 0
    )
    _assert_committed_whole(root)


def test_a_terminated_run_undoes_its_uncommitted_work_before_it_exits(site, template, tmp_path):
    source, _ = template
    root = tmp_path / "archive"
    shutil.copytree(source, root, symlinks=True)
    head = git(root, "rev-parse", "HEAD")
    proc = subprocess.Popen(
        [str(EXE), "snapshot", "--all", "--archive", str(root)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready = _versions_written(root, 0.5)
    while not ready():
        assert proc.poll() is None, "the run ended before it could be terminated"
        time.sleep(0.002)
    proc.send_signal(signal.SIGTERM)  # what cron's timeout or a shutdown sends
    _, err = proc.communicate(timeout=60)

    assert proc.returncode == 128 + signal.SIGTERM
    assert "terminated" in err and "Traceback" not in err
    assert git(root, "rev-parse", "HEAD") == head  # nothing of the run was committed...
    assert (
        git(root, "status", "--porcelain", "--untracked-files=all") == ""
    )  # ...or left in the tree
    assert not list((root / "warcs").glob("**/*.open"))
    assert list((root / ".archiver" / "interrupted").glob("**/*.open"))
    assert not (root / ".archiver" / "run-in-progress").exists()


def test_files_written_atomically_are_readable_by_other_users(template):
    root, _ = template  # urls.txt and archiver.toml go through the temporary-file-and-rename writer
    for name in ("urls.txt", "archiver.toml"):
        assert (root / name).stat().st_mode & 0o044 == 0o044, name


@pytest.fixture(scope="module")
def unchanged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An archive holding every page of a site that then serves them unchanged: a run only
    confirms."""
    server = Site().start()
    root = tmp_path_factory.mktemp("unchanged") / "archive"
    Archive.init(root)
    allow_loopback_sources(root)
    _publish(server, 1)
    done = archiver(root, "add", *[server.url(f"/news/{i}") for i in range(ARTICLES)])
    assert done.code == 0, done.stderr
    yield root
    server.stop()


def _checks_open(root: Path) -> Callable[[], bool]:
    return lambda: any(p.stat().st_size > 0 for p in (root / "warcs" / "checks").glob("**/*.open"))


@pytest.mark.parametrize("moment", ["checks-warc-open", "fast-import", "after-commit"])
def test_a_run_of_confirmations_killed_leaves_no_half_file_committed(
    moment, unchanged, slow_git, tmp_path
):
    root = tmp_path / "archive"
    shutil.copytree(unchanged, root, symlinks=True)
    before = git(root, "rev-parse", "HEAD").strip()
    paused = tmp_path / "paused"
    env = {}
    if moment != "checks-warc-open":
        env = {
            "PATH": f"{slow_git}{os.pathsep}{os.environ['PATH']}",
            "PAUSE_AT": moment,
            "PAUSED": str(paused),
        }
    _kill_when(root, _checks_open(root) if moment == "checks-warc-open" else paused.exists, env)
    committed = git(root, "rev-list", f"{before}..HEAD").split()
    left_open = sorted(p.name for p in (root / "warcs").glob("**/*.open"))

    again = run_cli("snapshot", "--all", "--json", "--archive", str(root))

    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["confirmed"] == ARTICLES * 3 and summary["counts"]["unchanged"] == ARTICLES * 3
    assert (
        git(root, "log", "-1", "--format=%s").strip()
        == f"archiver: {ARTICLES * 3} confirmed unchanged"
    )
    # Killed before its commit, the run left nothing in git; after it, its commit stands whole.
    assert len(committed) == (1 if moment == "after-commit" else 0)
    assert sorted(Path(p).name for p in summary["recovered"] if p.endswith(".open")) == left_open
    if moment == "checks-warc-open":
        assert left_open and all("-checks-" in name for name in left_open)
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    _assert_committed_whole(root)
    checks = git(root, "ls-files", "warcs/checks").splitlines()
    assert len(checks) == len(committed) + 1
    verified = archiver(root, "verify")  # only reads back: in this process
    assert verified.code == 0, verified.stdout + verified.stderr
    assert (
        git(root, "log", "--format=%H", "--", "pages/").split()
        == git(unchanged, "log", "--format=%H", "--", "pages/").split()
    )
