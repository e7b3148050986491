"""One article cannot hold the run: a hundred cited links on a hundred sub-domains of one slow site
are fetched two at a time (politeness by registrable domain), within a time budget for the article's
sources; the rest wait for the next run, and every other page of the run is archived meanwhile.
"""

from __future__ import annotations

import threading
import time

from support.archives import configure
from support.hostile import Conn, page, response
from support.userview import STORY, archiver

from archiver.capture.politeness import site_of

SLOW_LINKS = [f"http://s{i}.slow.example/claim" for i in range(100)]


def test_sites_are_registrable_domains_or_addresses():
    assert site_of("http://a.b.news.example.co.uk/x") == "example.co.uk"
    assert (
        site_of("http://s1.slow.example/x")
        == site_of("http://s2.slow.example:8080/y")
        == "slow.example"
    )
    assert (
        site_of("https://someone.github.io/") == "someone.github.io"
    )  # a public suffix of its own
    assert site_of("http://127.0.0.1:8080/") == site_of("http://127.0.0.1:9090/") == "127.0.0.1"
    assert site_of("http://[::1]:8080/") == "::1"
    assert site_of("http://localhost/") == "localhost"


def test_an_article_citing_a_hundred_slow_subdomains_cannot_hold_the_run(server, root):
    in_flight = {"now": 0, "most": 0}
    lock = threading.Lock()

    def proxy(
        conn: Conn,
    ) -> None:  # every request comes here: the environment names this server as the proxy
        if conn.target.startswith("http://news.example/") or conn.target.startswith(
            "http://other.example/"
        ):
            links = SLOW_LINKS if "story" in conn.target else []
            conn.send(
                response(
                    "200 OK",
                    [("Content-Type", "text/html")],
                    page("Terminal approved", STORY, links=links).encode(),
                )
            )
            return
        with lock:
            in_flight["now"] += 1
            in_flight["most"] = max(in_flight["most"], in_flight["now"])
        try:  # a slow site: nothing comes before the deadline, which closes the connection
            conn.sock.settimeout(10)
            conn.sock.recv(1)
        finally:
            with lock:
                in_flight["now"] -= 1

    server.fallback = proxy
    configure(root, deadline=1.0, seconds_per_article=4.0, workers=8, per_host=2)
    env = {"HTTP_PROXY": server.url(), "http_proxy": server.url(), "NO_PROXY": "", "no_proxy": ""}
    started = time.monotonic()
    run = archiver(
        root, "add", "http://news.example/story", "http://other.example/fine", "--json", env=env
    )
    elapsed = time.monotonic() - started

    assert run.result("http://news.example/story")["outcome"] == "new"
    assert run.result("http://other.example/fine")["outcome"] == "new"
    outcomes = [run.result(link)["outcome"] for link in SLOW_LINKS]
    failed, deferred = outcomes.count("failed"), outcomes.count("deferred")
    assert failed + deferred == 100
    # 4 s of budget at 1 s a fetch, two at a time: a few fetches, then the rest wait for the next
    # run.
    assert 4 <= failed <= 8 and deferred >= 92, outcomes
    deferred_result = run.result(SLOW_LINKS[-1])
    assert (
        deferred_result["error"]
        == "not checked this run: the sources of http://news.example/story took their 4 s"
    )
    assert in_flight["most"] <= 2  # one site, however many names
    assert elapsed < 30, (
        f"{elapsed:.1f}s"
    )  # a hundred deadlines would be 100 s; 8 workers, 13 s, and twice that

    # Deferred sources were not checked: they are checked at the next run, never-checked ones first.
    again = archiver(root, "snapshot", "--all", "--json", env=env)
    checked_before = {
        link for link, outcome in zip(SLOW_LINKS, outcomes, strict=True) if outcome == "failed"
    }
    checked_now = {r["url"] for r in again.data["results"] if r["outcome"] == "failed"}
    assert checked_now - checked_before, checked_now
