"""Distributed runs: a real redis-server, real `archiver worker` processes and a run that
coordinates them, against a newsroom of two hosts on loopback.

What a user checks: the pages a distributed run commits are the pages a run on one machine commits;
no site ever has more than `per_host` requests in flight, whatever the number of workers; a worker
killed mid-run costs no page and duplicates none; a broker that goes away, a missing worker or one
of other settings stops the run in one line, with nothing committed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.archives import allow_loopback_sources, configure
from support.cluster import InFlight, Redis, Workers
from support.commands import git, run_cli
from support.newssite import Response, Site, article
from support.receivers import WAIT, free_port
from warcio.archiveiterator import ArchiveIterator

from archiver import Archive

ARTICLES = 6
SOURCES = 4
VOLATILE = {"captured_at", "warc", "duration_ms", "checked_at"}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Redis]:
    server = Redis(tmp_path).start()
    yield server
    server.stop()


def newsroom(site: Site, other: Site, hold: float) -> tuple[list[str], InFlight, InFlight]:
    """Articles on `site` citing sources on `other` and on `site`; every answer held `hold` s."""
    here, there = InFlight(hold), InFlight(hold)
    for i in range(SOURCES):
        there.serve(
            other,
            f"/source/{i}",
            article(f"Source {i}", [f"Report number {i} says so."], noise=False),
        )
    urls = []
    for i in range(ARTICLES):
        links = [(other.url(f"/source/{(i + k) % SOURCES}"), f"report {k}") for k in range(2)]
        links.append((site.url(f"/article/{(i + 1) % ARTICLES}"), "earlier story"))
        here.serve(
            site, f"/article/{i}", article(f"Story {i}", [f"Paragraph of story {i}."], links)
        )
        urls.append(site.url(f"/article/{i}"))
    return urls, here, there


def new_archive(path: Path, broker: str, **settings: object) -> Path:
    Archive.init(path)
    allow_loopback_sources(path)
    configure(path, per_host=2, extract_processes=1, redeliver_after=5.0, broker=broker, **settings)
    return path


def pages(root: Path) -> dict[str, dict[str, object]]:
    """Every page's files, volatile fields of meta.json aside."""
    found = {}
    for meta_path in sorted(root.glob("*/*/meta.json")) + sorted(root.glob("*/*/*/meta.json")):
        meta = {k: v for k, v in json.loads(meta_path.read_text()).items() if k not in VOLATILE}
        folder = meta_path.parent
        found[str(meta["url"])] = {
            "meta": meta,
            "article.md": (folder / "article.md").read_text()
            if (folder / "article.md").exists()
            else None,
            "links.txt": (folder / "links.txt").read_text()
            if (folder / "links.txt").exists()
            else None,
        }
    return found


def test_a_distributed_run_commits_what_a_local_run_does_and_holds_per_host(
    tmp_path: Path, site: Site, other: Site, broker: Redis
) -> None:
    urls, here, there = newsroom(site, other, hold=0.3)
    root = new_archive(tmp_path / "cluster" / "archive", broker.url)
    workers = Workers(root, broker.url, threads=4).start(3)
    try:
        workers.wait_ready(broker.client(), 3)
        done = run_cli("add", *urls, "--json", "-a", str(root), timeout=300)
        assert done.returncode == 0, done.stderr + workers.output()
    finally:
        workers.stop()
    summary = json.loads(done.stdout)
    assert summary["counts"]["new"] == ARTICLES + SOURCES
    # 3 workers of 4 threads could have 12 requests in flight: the site's limit held across them.
    assert here.most == 2 and there.most == 2
    local = new_archive(tmp_path / "local" / "archive", "")
    assert run_cli("add", *urls, "-a", str(local), timeout=300).returncode == 0
    assert pages(root) == pages(local)
    assert len(pages(root)) == ARTICLES + SOURCES
    # One commit, one WARC in it, and no segment left behind.
    assert git(root, "rev-list", "--count", "HEAD").strip() == "2"
    assert not list((root / ".archiver").glob("segments/*"))
    verified = run_cli("verify", "-a", str(root))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def records(root: Path) -> Counter[tuple[str, str]]:
    """The committed WARC records by type and target URI (the run's and its confirmations')."""
    found: Counter[tuple[str, str]] = Counter()
    for name in git(root, "ls-files", "warcs").split():
        with (root / name).open("rb") as f:
            for record in ArchiveIterator(f):
                if record.rec_type != "warcinfo":
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    found[(record.rec_type, uri)] += 1
    return found


def test_redirects_chunked_gzip_gone_duplicates_and_rechecks_settle_as_in_a_local_run(
    tmp_path: Path, site: Site, broker: Redis
) -> None:
    same = article("A statement", ["The ministry said nothing more."], noise=False)
    site.page("/same-1", same)
    site.page("/same-2", same)  # the same bytes: stored once, the other a revisit of it
    site.page("/target", article("Moved here", ["The document now lives here."], noise=False))
    site.redirect("/moved", site.url("/target"))
    text = ["Paragraph one of the story."]

    def story() -> str:
        links = [(site.url(p), p) for p in ("/same-1", "/same-2", "/moved", "/missing")]
        return article("The story", text, links)

    site.page("/story", story, chunked=True, encoding="gzip")
    cluster = new_archive(tmp_path / "cluster" / "archive", broker.url)
    local = new_archive(tmp_path / "local" / "archive", "")
    workers = Workers(cluster, broker.url, threads=2).start(1)
    try:
        workers.wait_ready(broker.client(), 1)
        for root in (cluster, local):
            assert run_cli("add", site.url("/story"), "-a", str(root)).returncode == 0
        text.append("A paragraph added later.")
        for root in (cluster, local):
            done = run_cli("snapshot", "--all", "-a", str(root))
            assert done.returncode == 0, done.stderr + workers.output()
    finally:
        workers.stop()
    assert pages(cluster) == pages(local)
    # Which of the two identical pages is stored and which refers to it is the order they came in.
    twins = {site.url("/same-2"): site.url("/same-1")}

    def kept(root: Path) -> Counter[tuple[str, str]]:
        return Counter({(kind, twins.get(uri, uri)): n for (kind, uri), n in records(root).items()})

    assert kept(cluster) == kept(local)
    assert kept(cluster)[("response", site.url("/same-1"))] == 1  # one of the twins: a revisit
    for root in (cluster, local):
        assert run_cli("verify", "-a", str(root)).returncode == 0


class Held:
    """A page whose answer waits until the test lets it go."""

    def __init__(self, site: Site, path: str, html: str) -> None:
        self.path = path
        self.go = threading.Event()
        body = html.encode("utf-8")

        def answer(handler: object) -> Response:
            self.go.wait(timeout=WAIT)
            return Response(body=body)

        site.routes[path] = answer


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT:g} s for {what}"
        time.sleep(0.05)


def fetching(workers: Workers, url: str) -> int | None:
    """The worker whose log says it is capturing `url`, if one does."""
    for index, log in enumerate(workers.logs):
        if log.exists() and f"capturing {url} " in log.read_text():
            return index
    return None


def responses(root: Path) -> Counter[str]:
    """The response records of the committed WARC files, by target URI."""
    found: Counter[str] = Counter()
    for name in git(root, "ls-files", "warcs").split():
        with (root / name).open("rb") as f:
            for record in ArchiveIterator(f):
                if record.rec_type == "response":
                    found[record.rec_headers.get_header("WARC-Target-URI")] += 1
    return found


def start_run(root: Path, *args: str) -> subprocess.Popen[str]:
    exe = Path(sys.executable).with_name("archiver")
    return subprocess.Popen(
        [str(exe), *args, "-a", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def test_a_worker_killed_mid_job_costs_no_page_and_duplicates_none(
    tmp_path: Path, site: Site, other: Site, broker: Redis
) -> None:
    urls, _, _ = newsroom(site, other, hold=0.05)
    held = Held(site, "/article/0", article("Story 0", ["Paragraph of story 0."]))
    # A site slot the killed worker held is free again once the site is idle this long.
    root = new_archive(tmp_path / "archive", broker.url, deadline=5.0)
    workers = Workers(root, broker.url, threads=2).start(2)
    try:
        workers.wait_ready(broker.client(), 2)
        run = start_run(root, "add", *urls, "--json")
        wait_for(lambda: site.hits[held.path] == 1, "a worker to ask for the held page")
        victim = fetching(workers, urls[0])  # the one worker that took it so far
        assert victim is not None
        workers.kill(victim)  # SIGKILL, waiting for the page's answer
        held.go.set()
        out, err = run.communicate(timeout=120)
    finally:
        workers.stop()
    assert run.returncode == 0, err + workers.output()
    assert json.loads(out)["counts"]["new"] == ARTICLES + SOURCES
    assert site.hits["/article/0"] == 2  # the job was given to the other worker
    assert set(responses(root).values()) == {1}  # each page's capture committed once
    assert len(responses(root)) == ARTICLES + SOURCES
    assert git(root, "rev-list", "--count", "HEAD").strip() == "2"


def test_the_broker_going_away_mid_run_fails_it_cleanly_and_the_next_run_commits(
    tmp_path: Path, site: Site, other: Site, broker: Redis
) -> None:
    urls, _, _ = newsroom(site, other, hold=0.05)
    held = Held(site, "/article/0", article("Story 0", ["Paragraph of story 0."]))
    root = new_archive(tmp_path / "archive", broker.url)
    workers = Workers(root, broker.url, threads=2).start(1)
    try:
        workers.wait_ready(broker.client(), 1)
        run = start_run(root, "add", *urls)
        wait_for(lambda: fetching(workers, urls[0]) is not None, "the worker to take the held page")
        broker.stop()
        _, err = run.communicate(timeout=120)
        assert run.returncode == 69, err
        assert err.strip().splitlines()[-1].startswith("archiver: error: lost the broker"), err
        assert git(root, "rev-list", "--count", "HEAD").strip() == "1"  # nothing committed
        held.go.set()
        broker.start()
        workers.wait_ready(broker.client(), 1)
        again = run_cli("snapshot", "--all", "--json", "-a", str(root), timeout=120)
    finally:
        workers.stop()
    assert again.returncode == 0, again.stderr + workers.output()
    assert json.loads(again.stdout)["counts"]["new"] == ARTICLES + SOURCES
    assert run_cli("verify", "-a", str(root)).returncode == 0


def test_a_worker_of_other_settings_is_refused_and_nothing_is_committed(
    tmp_path: Path, site: Site, other: Site, broker: Redis
) -> None:
    urls, _, _ = newsroom(site, other, hold=0.0)
    root = new_archive(tmp_path / "archive", broker.url)
    stale = new_archive(tmp_path / "stale" / "archive", broker.url, user_agent="other-agent/1.0")
    workers = Workers(stale, broker.url, threads=2).start(1)
    try:
        workers.wait_ready(broker.client(), 1)
        done = run_cli("add", *urls, "-a", str(root), timeout=120)
    finally:
        workers.stop()
    assert done.returncode == 69
    [line] = done.stderr.strip().splitlines()
    assert "refused this run" in line and "restart the worker" in line
    assert git(root, "rev-list", "--count", "HEAD").strip() == "1"
    assert "refused the jobs of run" in workers.output()


def test_no_worker_or_no_broker_is_one_line_and_exit_69(
    tmp_path: Path, site: Site, broker: Redis
) -> None:
    site.page("/a", article("A story", ["Something happened today."]))
    root = new_archive(tmp_path / "archive", broker.url)
    done = run_cli("add", site.url("/a"), "-a", str(root))
    assert done.returncode == 69
    assert done.stderr.strip() == (
        f"archiver: error: no worker takes jobs from {broker.url}: start one with "
        f"`archiver worker --broker {broker.url}`"
    )
    gone = f"redis://127.0.0.1:{free_port()}/0"
    done = run_cli("snapshot", "--all", "--broker", gone, "-a", str(root))
    assert done.returncode == 69
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"archiver: error: cannot reach the broker {gone}: ")
    assert git(root, "rev-list", "--count", "HEAD").strip() == "1"


def test_the_segments_of_a_coordinator_killed_mid_run_are_set_aside_by_the_next_run(
    tmp_path: Path, site: Site, other: Site, broker: Redis
) -> None:
    urls, _, _ = newsroom(site, other, hold=0.05)
    held = Held(site, "/article/0", article("Story 0", ["Paragraph of story 0."]))
    root = new_archive(tmp_path / "archive", broker.url)
    workers = Workers(root, broker.url, threads=2).start(1)
    try:
        workers.wait_ready(broker.client(), 1)
        run = start_run(root, "add", *urls)
        segments = root / ".archiver" / "segments"
        wait_for(lambda: any(segments.glob("*/*.warc.gz")), "a first segment")
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=WAIT)
        [left] = [p.name for p in segments.iterdir()]
        held.go.set()
        again = run_cli("snapshot", "--all", "--json", "-a", str(root), timeout=120)
    finally:
        workers.stop()
    assert again.returncode == 0, again.stderr + workers.output()
    assert json.loads(again.stdout)["counts"]["new"] == ARTICLES + SOURCES
    assert (root / ".archiver" / "orphaned-segments" / left).is_dir()
    assert not (segments / left).exists()
    assert f"orphaned-segments/{left}" in again.stderr
