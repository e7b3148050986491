"""Distributed runs: a real redis-server, real `archiver worker` processes and a run that
coordinates them, against a newsroom of two hosts on loopback.

What a user checks: the pages a distributed run commits are the pages a run on one machine commits;
no site ever has more than `per_host` requests in flight, whatever the number of workers; a worker
killed mid-run costs no page and duplicates none; a broker that goes away, a missing worker or one
of other settings stops the run in one line, with nothing committed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.archives import allow_loopback_sources, configure
from support.cluster import InFlight, Redis, Workers, needs_redis
from support.commands import git, run_cli
from support.newssite import Site, article

from archiver import Archive

pytestmark = needs_redis

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
