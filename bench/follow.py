"""Benchmark of polling follows: a sitemap of 10,000 URLs and a feed of 500 entries on loopback,
polled by the real `archiver snapshot`.

Run by hand on a quiet machine (check `uptime`); figures go in docs/performance.md:

    .venv/bin/python bench/follow.py [--urls 10000] [--entries 500] [--repeat 5]

Each repeat makes a new archive following both with `--max-new 1` (so that what is measured is the
polling, not the capture of thousands of articles), then times two snapshots: the first poll (both
listings fetched, read and archived as pages of 10,000 and 500 lines, and the newest entry of each
tracked and captured), and a second with one URL added to each listing (read again, diffed against
the last version and the tracked set; the new URL of each tracked and captured, the two articles of
the first poll checked again). It prints the median wall time and CPU time of the whole process
tree of each, the command's start included; then the CPU time of reading both listings in this
process (what a worker process does of a poll: parse, resolve and normalize every URL, and the
listing as text) and of choosing the new articles against a tracked set of every URL listed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from support.newssite import Response, Site, article  # noqa: E402

from archiver.discovery import poll  # noqa: E402
from archiver.text.extract import Body  # noqa: E402
from bench import run  # noqa: E402 - the process-tree sampler

EXE = str(Path(sys.executable).with_name("archiver"))


def sitemap(site: Site, paths: list[str]) -> Response:
    urls = "".join(
        f"<url><loc>{site.url(p)}</loc><lastmod>2026-11-30</lastmod></url>" for p in paths
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    )
    return Response(body=body.encode(), content_type="application/xml")


def feed(site: Site, paths: list[str]) -> Response:
    items = "".join(
        f"<item><title>Story {p}</title><link>{site.url(p)}</link>"
        "<pubDate>Mon, 30 Nov 2026 09:00:00 +0000</pubDate></item>"
        for p in paths
    )
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
    )
    return Response(body=body.encode(), content_type="application/rss+xml")


def once(site: Site, urls: int, entries: int, work: Path) -> list[tuple[float, float]]:
    mapped = [f"/map/{n}" for n in range(urls)]
    fed = [f"/feed/{n}" for n in range(entries)]
    site.routes["/sitemap.xml"] = sitemap(site, mapped)
    site.routes["/feed.xml"] = feed(site, fed)
    root = Path(tempfile.mkdtemp(prefix="follow-", dir=work)) / "archive"
    subprocess.run([EXE, "init", str(root)], check=True, capture_output=True)
    toml = root / "archiver.toml"
    toml.write_text(toml.read_text().replace("allow_private = false", "allow_private = true"))
    for path in (mapped[0], fed[0]):
        site.page(path, article("The first story", ["The council met.", "It voted once."]))
    for url in ("/sitemap.xml", "/feed.xml"):
        subprocess.run(
            [EXE, "follow", site.url(url), "--max-new", "1", "-a", str(root)],
            check=True,
            capture_output=True,
        )
    figures = []
    for step in range(2):
        if step:  # one new article in each listing
            for path in ("/map/new", "/feed/new"):
                site.page(path, article("A new story", ["The council met.", "It voted twice."]))
            site.routes["/sitemap.xml"] = sitemap(site, ["/map/new", *mapped])
            site.routes["/feed.xml"] = feed(site, ["/feed/new", *fed])
        wall, cpu, _rss, done = run([EXE, "snapshot", "--all", "-a", str(root)], work)
        if done.returncode != 0:
            raise SystemExit(f"snapshot exited {done.returncode}: {done.stderr.strip()}")
        figures.append((wall, cpu))
    return figures


def reading(site: Site, urls: int, entries: int, repeat: int) -> tuple[float, float]:
    """Median CPU seconds of reading both listings (warm), and of choosing their new articles."""
    listings = [
        (sitemap(site, [f"/map/{n}" for n in range(urls)]), "application/xml"),
        (feed(site, [f"/feed/{n}" for n in range(entries)]), "application/rss+xml"),
    ]
    read, chosen = [], []
    with tempfile.TemporaryDirectory() as tmp:
        bodies = []
        for n, (response, media) in enumerate(listings):
            path = Path(tmp) / f"body-{n}"
            path.write_bytes(response.body if isinstance(response.body, bytes) else b"")
            now = datetime.now(UTC)
            bodies.append(Body(path, site.url(f"/listing-{n}"), media, media, None, False, now))
        spec = poll.Spec(None, None, None, 50 * 1024 * 1024)
        for _ in range(repeat + 1):  # the first warms the imports
            began = time.process_time()
            found = [poll.listing(body, spec) for body in bodies]
            for listing in found:
                poll.document(listing, listing.entries[0].url).article_text()
            middle = time.process_time()
            for listing in found:
                urls_listed = {e.url for e in listing.entries}
                poll.new_articles(listing, urls_listed, urls_listed, None, 20, datetime.now(UTC))
            read.append(middle - began)
            chosen.append(time.process_time() - middle)
    return statistics.median(read[1:]), statistics.median(chosen[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--urls", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    site = Site().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            runs = [once(site, args.urls, args.entries, Path(tmp)) for _ in range(args.repeat)]
        read, chosen = reading(site, args.urls, args.entries, args.repeat)
    finally:
        site.stop()
    for step, name in enumerate(("first poll", "second poll, 1 new URL in each")):
        wall = statistics.median(r[step][0] for r in runs)
        cpu = statistics.median(r[step][1] for r in runs)
        print(f"{name}: {wall:.2f} s wall, {cpu:.2f} s CPU (median of {args.repeat})")
    print(f"reading both listings: {read:.2f} s CPU; choosing the new articles: {chosen:.3f} s CPU")


if __name__ == "__main__":
    main()
