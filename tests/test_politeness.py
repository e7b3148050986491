"""Politeness per host, as the servers see it (two loopback hosts record every request): requests in
flight to one host never exceed `per_host`, `per_host_delay` spaces their starts (robots.txt
included), and robots.txt is obeyed, asked once per host per run, or not asked with `robots =
false`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter

import pytest
from support.commands import run_cli
from support.newssite import Response, article
from support.schedule import JITTER, STORY, new_archive, outcomes, reopen, serve_story

from archiver.errors import ExitCode
from archiver.urls import page_dir


class Recorder:
    """Route callables that sleep, counting requests in flight per host (and over all hosts)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.peak_total = 0
        self.starts: dict[str, list[float]] = {}

    def route(self, host: str, title: str, pause: float = 0.3):
        def serve(handler) -> Response:
            with self.lock:
                self.starts.setdefault(host, []).append(time.monotonic())
                self.now[host] += 1
                self.peak[host] = max(self.peak[host], self.now[host])
                self.peak_total = max(self.peak_total, sum(self.now.values()))
            try:
                time.sleep(pause)
            finally:
                with self.lock:
                    self.now[host] -= 1
            return Response(body=article(title, STORY).encode())

        return serve


@pytest.mark.parametrize("per_host", [None, 4])
def test_requests_in_flight_to_one_host_never_exceed_per_host(archive, site, other, per_host):
    limit = per_host or 2  # the default
    if per_host:
        archive = reopen(archive, per_host=per_host)
    recorder = Recorder()
    urls = []
    for i in range(2 * limit + 1):
        site.routes[f"/news/{i}"] = recorder.route("a", f"Harbour story number {i}")
        urls.append(site.url(f"/news/{i}"))
    for i in range(limit):
        other.routes[f"/world/{i}"] = recorder.route("b", f"World story number {i}")
        urls.append(other.url(f"/world/{i}"))

    _, summary = archive.add(urls)
    assert list(summary.counts().values()) == [len(urls), 0, 0, 0, 0, 0, 0]
    assert recorder.peak["a"] == limit
    assert recorder.peak["b"] == limit
    assert recorder.peak_total > limit  # the second host is served at the same time


def test_per_host_delay_spaces_the_starts_of_requests_to_one_host(archive, site, other):
    delay = 0.3
    archive = reopen(archive, per_host=4, per_host_delay=delay, robots=False)
    recorder = Recorder()
    urls = []
    for i in range(4):
        site.routes[f"/news/{i}"] = recorder.route("a", f"Harbour story number {i}", pause=0.0)
        other.routes[f"/world/{i}"] = recorder.route("b", f"World story number {i}", pause=0.0)
        urls += [site.url(f"/news/{i}"), other.url(f"/world/{i}")]
    archive.add(urls)
    a, b = recorder.starts["a"], recorder.starts["b"]
    assert len(a) == len(b) == 4
    for starts in (a, b):  # seen by the server, so allow for a loaded machine's scheduling jitter
        gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
        assert min(gaps) >= delay - JITTER and starts[-1] - starts[0] >= 3 * delay - JITTER, gaps
    # Each host has its own delay: the two are served side by side, not one after the other.
    assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < delay / 2


def test_per_host_delay_also_spaces_the_robots_txt_request(archive, site):
    archive = reopen(archive, per_host_delay=0.3)
    times: list[float] = []

    def robots(handler) -> Response:
        times.append(time.monotonic())
        return Response(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")

    def page(handler) -> Response:
        times.append(time.monotonic())
        return Response(body=article("Harbour dredging plan approved", STORY).encode())

    site.routes["/robots.txt"] = robots
    site.routes["/news/harbour"] = page
    archive.add([site.url("/news/harbour")])
    assert len(times) == 2 and times[1] - times[0] >= 0.3 - JITTER


def test_robots_txt_disallow_skips_the_page_and_is_fetched_once_per_host_per_run(archive, site):
    site.routes["/robots.txt"] = Response(
        body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"
    )
    private = serve_story(site, "/private/memo", title="Internal memo")
    public = [serve_story(site, f"/news/{i}", title=f"Harbour story number {i}") for i in range(3)]
    _, summary = archive.add([private, *public])
    by_url = {r.url: r for r in summary.results}
    assert by_url[private].outcome == "skipped" and "robots.txt" in by_url[private].error
    assert [by_url[u].outcome for u in public] == ["new"] * 3
    assert summary.counts()["skipped"] == 1 and summary.counts()["failed"] == 0
    assert site.hits["/private/memo"] == 0
    assert not (archive.root / page_dir(private)).exists()
    assert site.hits["/robots.txt"] == 1

    archive.snapshot(all_pages=True)
    assert site.hits["/robots.txt"] == 2 and site.hits["/private/memo"] == 0
    [listed] = [p for p in archive.pages() if p.url == private]
    assert listed.status == "skipped" and "robots.txt" in listed.error


def test_robots_false_fetches_disallowed_pages_without_asking(archive, site):
    site.routes["/robots.txt"] = Response(
        body=b"User-agent: *\nDisallow: /\n", content_type="text/plain"
    )
    url = serve_story(site, "/news/harbour")
    archive = reopen(archive, robots=False)
    _, summary = archive.add([url])
    assert outcomes(summary) == {url: "new"}
    assert site.hits["/robots.txt"] == 0 and site.hits["/news/harbour"] == 1


def test_robots_txt_server_error_fails_the_page(tmp_path, site):
    site.routes["/robots.txt"] = Response(status=503, body=b"busy", content_type="text/plain")
    url = serve_story(site, "/news/harbour")
    root = new_archive(tmp_path)
    result = run_cli("add", url, "--json", "-a", str(root))
    assert result.returncode == ExitCode.SOME_FAILED
    [entry] = json.loads(result.stdout)["results"]
    assert (
        entry["outcome"] == "failed" and "robots.txt" in entry["error"] and "503" in entry["error"]
    )
    assert site.hits["/news/harbour"] == 0 and site.hits["/robots.txt"] == 1
    assert not (root / page_dir(url)).exists()


def test_the_per_host_limit_governs_not_a_thread_count(archive, site, other):
    """per_host = 8 over two sites is 16 fetches at once (a fixed pool of 8 threads capped it at
    8). Each request waits, up to a bound far above what a slow machine needs, until 16 are in
    flight: the peak is what the pool allows, not what the timing lets through."""
    archive = reopen(archive, per_host=8)
    gate = threading.Condition()
    flight = Counter()
    peak: list[int] = [0]
    opened = threading.Event()  # once 16 were in flight together, every request goes on

    def route(host: str, title: str):
        def serve(handler) -> Response:
            with gate:
                flight[host] += 1
                peak[0] = max(peak[0], sum(flight.values()))
                if peak[0] >= 16:
                    opened.set()
                    gate.notify_all()
                gate.wait_for(opened.is_set, timeout=10)
            with gate:
                flight[host] -= 1
            return Response(body=article(title, STORY).encode())

        return serve

    urls = []
    for i in range(8):
        site.routes[f"/news/{i}"] = route("a", f"Harbour story number {i}")
        other.routes[f"/world/{i}"] = route("b", f"World story number {i}")
        urls += [site.url(f"/news/{i}"), other.url(f"/world/{i}")]

    _, summary = archive.add(urls, depth=0)

    assert summary.counts()["new"] == 16
    assert peak[0] == 16
