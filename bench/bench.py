"""Benchmark: a loopback news site, archived by the real `archiver` command, with wget as a
reference.

Run by hand (figures go in docs/performance.md):

    .venv/bin/python bench/bench.py                      # 200 articles, 50 ms latency, 10,000-page checks
    .venv/bin/python bench/bench.py --articles 50 --scale 0 --no-wget   # a quick look

It serves N articles on 127.0.0.1, each citing 2-5 sources spread over 127.0.0.1 and 127.0.0.2,
every response delayed by --latency and wrapped in boilerplate that changes on every request, then
measures: the first snapshot, a re-check with nothing changed, a re-check with 1 % of the articles
edited (at the default per-host limit), the first snapshot again with the per-host limit raised to
8, `wget --warc-file` fetching the same URLs one after another, and at --scale tracked pages: a
snapshot with nothing due, and the git commit step of a run in which 1 % of them changed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from support.newssite import Response, Site, article  # noqa: E402 - the test suite's loopback site

from archiver.urls import page_dir  # noqa: E402

EXE = Path(sys.executable).with_name("archiver")
T = TypeVar("T")
WORDS = (
    "council budget minister report audit hospital waiting figures regional funding inquiry "
    "officials said published thursday statement opposition documents review court ruling election"
).split()


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(12, 22))]
    return " ".join(words).capitalize() + "."


def paragraphs(rng: random.Random, count: int) -> list[str]:
    return [" ".join(sentence(rng) for _ in range(rng.randint(2, 4))) for _ in range(count)]


def chrome(rng: random.Random, size: int) -> tuple[str, str]:
    """A news site's boilerplate around an article, about `size` bytes of it: a menu, a most-read
    box, a cookie banner and scripts before; related stories, a newsletter form and a footer of
    links after. Real news pages are mostly this (25 KB pages of which 3 KB are the article)."""

    def teaser(i: int) -> str:
        return (
            f'<li class="teaser"><a href="/news/2026/10/related-{i}"><img src="/img/{i}.jpg" '
            f'alt=""><span class="kicker">{rng.choice(WORDS).title()}</span> '
            f"{sentence(rng)}</a><time>{rng.randint(1, 23)} hours ago</time></li>"
        )

    menu = "".join(f'<li><a href="/section/{word}">{word.title()}</a></li>' for word in WORDS[:24])
    before = [
        '<div class="cookie-banner"><p>We use cookies to improve your experience. '
        '<a href="/privacy#cookies">Learn more</a></p><button>Accept</button></div>',
        "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}"
        "gtag('js',new Date());gtag('config','UA-000000-1');</script>",
        f'<nav class="mega-menu"><ul>{menu}</ul></nav>',
        '<aside class="most-read"><h2>Most read</h2><ol>',
    ]
    after = ['<section class="related"><h2>More on this story</h2><ul>']
    i = 0
    while sum(map(len, before)) + sum(map(len, after)) < size:
        (before if i % 3 == 0 else after).append(teaser(i))
        i += 1
    before.append("</ol></aside>")
    after.append(
        '</ul></section><form class="newsletter"><label>Get the morning briefing</label>'
        '<input type="email" name="email"><button>Sign up</button></form>'
    )
    return "".join(before), "".join(after)


class NewsSite:
    """Articles on host A citing sources on hosts A and B; edits applied on demand."""

    def __init__(
        self,
        articles: int,
        latency: float,
        seed: int = 7,
        chunked: bool = False,
        chrome_bytes: int = 0,
    ) -> None:
        """`chrome_bytes`: the boilerplate around each page's text (0: the bare test page)."""
        self.latency = latency
        self.chunked = (
            chunked  # every answer with Transfer-Encoding: chunked, as many news sites send them
        )
        self.chrome_bytes = chrome_bytes
        self.chrome: dict[str, tuple[str, str]] = {}
        self.a, self.b = Site("127.0.0.1").start(), Site("127.0.0.2").start()
        rng = random.Random(seed)
        pool = [
            (self.a if i % 2 else self.b, f"/sources/doc-{i}") for i in range(int(articles * 3.5))
        ]
        self.texts: dict[str, list[str]] = {}
        self.article_urls, cited = [], {}
        for i in range(articles):
            path = f"/news/2026/11/story-{i}"
            sources = rng.sample(pool, rng.randint(2, 5))
            for host, source_path in sources:
                cited[host.url(source_path)] = (host, source_path)
            self.texts[path] = paragraphs(rng, 6)
            links = [(host.url(p), f"source {p.rsplit('-', 1)[1]}") for host, p in sources]
            self._serve(self.a, path, f"Story {i}: the budget inquiry", path, links)
            self.article_urls.append(self.a.url(path))
        for host, path in cited.values():
            self.texts[f"{host.host}{path}"] = paragraphs(rng, 3)
            self._serve(host, path, f"Source document {path}", f"{host.host}{path}", [])
        self.source_urls = sorted(cited)

    def _serve(
        self, host: Site, path: str, title: str, key: str, links: list[tuple[str, str]]
    ) -> None:
        # The same boilerplate on every request: a re-check finds the page unchanged.
        self.chrome[key] = (
            chrome(random.Random(key), self.chrome_bytes) if self.chrome_bytes else ("", "")
        )

        def respond(handler: object) -> Response:
            time.sleep(self.latency)
            return Response(body=self.page(key, title, links).encode(), chunked=self.chunked)

        host.routes[path] = respond

    def page(self, key: str, title: str, links: list[tuple[str, str]]) -> str:
        before, after = self.chrome[key]
        markup = article(title, self.texts[key], links=links)
        return markup.replace("<main>", before + "<main>", 1).replace(
            "</main>", "</main>" + after, 1
        )

    def edit(self, count: int) -> None:
        for path in list(self.texts)[:count]:
            self.texts[path][0] = (
                "An editor changed this paragraph after publication. " + self.texts[path][0]
            )

    def stop(self) -> None:
        self.a.stop()
        self.b.stop()


TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def run(args: list[str], cwd: Path) -> tuple[float, float, int, subprocess.CompletedProcess[str]]:
    """Wall seconds, CPU seconds and peak RSS (KiB) of a command and every process it starts.

    The process tree (extraction workers, git) is sampled from /proc every 20 ms: CPU is the sum of
    what each process had used when last seen, peak RSS the largest sum of resident memory at one
    moment.
    """
    began = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=err, text=True)
        cpu_ticks: dict[int, int] = {}
        peak_rss = 0
        while child.poll() is None:
            rss = 0
            for pid, ticks, resident in _tree(child.pid):
                cpu_ticks[pid] = max(cpu_ticks.get(pid, 0), ticks)
                rss += resident
            peak_rss = max(peak_rss, rss)
            time.sleep(0.02)
        wall = time.perf_counter() - began
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(args, child.returncode, out.read(), err.read())
    return wall, sum(cpu_ticks.values()) / TICK, peak_rss * PAGE // 1024, done


def _tree(root: int) -> list[tuple[int, int, int]]:
    """(pid, CPU ticks, resident pages) of `root` and all its descendants."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (
                int(fields[1]),
                int(fields[11]) + int(fields[12]),
                int(fields[21]),
            )
    members, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _, _) in stats.items():
            if ppid == parent and pid not in members:
                members.add(pid)
                frontier.append(pid)
    return [(pid, stats[pid][1], stats[pid][2]) for pid in members if pid in stats]


def interleaved(
    variants: list[T], runs: int, measure: Callable[[T], dict[str, float]]
) -> dict[T, list[dict[str, float]]]:
    """`measure` of each variant `runs` times, alternating: a change in the machine's load falls on
    all alike."""
    figures: dict[T, list[dict[str, float]]] = {variant: [] for variant in variants}
    for _ in range(runs):
        for variant in variants:
            figures[variant].append(measure(variant))
    return figures


def medians(runs: list[dict[str, float]]) -> str:
    """Wall time (median, min, max) and median CPU time of some runs of `run`."""
    walls = sorted(r["wall_s"] for r in runs)
    return (
        f"wall median {statistics.median(walls):.3f} s (min {walls[0]:.3f}, max {walls[-1]:.3f}); "
        f"CPU median {statistics.median(r['cpu_s'] for r in runs):.2f} s"
    )


def git_size(root: Path) -> int:
    """Bytes of git's object store (what the history costs on disk)."""
    return sum(p.stat().st_size for p in (root / ".git" / "objects").rglob("*") if p.is_file())


def commits(root: Path) -> int:
    out = subprocess.run(
        ["git", "-C", str(root), "rev-list", "--count", "HEAD"], capture_output=True, text=True
    )
    return int(out.stdout.strip() or 0)


def init_archive(root: Path, per_host: int | None = None, workers: int | None = None) -> None:
    subprocess.run([str(EXE), "init", str(root)], check=True, capture_output=True)
    toml = root / "archiver.toml"
    text = toml.read_text().replace(
        "allow_private = false", "allow_private = true"
    )  # the site is on loopback
    if per_host:
        text = text.replace("per_host = 2", f"per_host = {per_host}")
    if workers:
        text = re.sub(r"(?m)^workers = \d+$", f"workers = {workers}", text)
    toml.write_text(text)


def phase(name: str, args: list[str], root: Path, pages: int) -> dict[str, object]:
    size, count = git_size(root), commits(root)
    wall, cpu, rss, done = run([str(EXE), *args, "--json", "--archive", str(root)], root.parent)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{name}: archiver exited {done.returncode}: {done.stderr.strip()}")
    summary = json.loads(done.stdout)
    checked = sum(summary["counts"].values())
    return {
        "phase": name,
        "pages": checked,
        "wall_s": round(wall, 2),
        "pages_per_s": round(checked / wall, 1),
        "cpu_ms_per_page": round(cpu * 1000 / max(checked, 1), 1),
        "peak_rss_mb": round(rss / 1024, 1),
        "commits": commits(root) - count,
        "git_bytes_added": git_size(root) - size,
        "counts": summary["counts"],
        "commit_s": summary.get("timings", {}).get("commit"),
        # the calling thread: wall time settling checks, and its CPU time doing so
        "settling_s": summary.get("timings", {}).get("settling"),
        "settling_cpu_ms_per_page": round(
            summary.get("timings", {}).get("settling_cpu", 0) * 1000 / max(checked, 1), 2
        ),
    }


def latency_bound(site: NewsSite, latency: float, per_host: int) -> float:
    hosts: dict[str, int] = {}
    for url in [*site.article_urls, *site.source_urls]:
        host = url.split("/")[2]
        hosts[host] = hosts.get(host, 0) + 1
    return max(count * latency / per_host for count in hosts.values())


def wget_reference(urls: list[str], work: Path) -> float | None:
    if shutil.which("wget") is None:
        return None
    listing = work / "wget-urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    wall, _, _, _ = run(
        [
            "wget",
            "--quiet",
            "--warc-file=wget-reference",
            "--input-file",
            str(listing),
            "--output-document",
            "/dev/null",
            "--tries=1",
        ],
        work,
    )
    return round(wall, 2)


def trafilatura_alone(urls: list[str], repeat: int = 3) -> dict[str, float]:
    """trafilatura's own extraction, CPU ms per page: every served page's HTML fetched once, then
    extracted `repeat` times over in this process with the settings archiver gives it (median and
    range of the passes; its imports and the first pass's warm-up excluded)."""
    import trafilatura

    from archiver.text.normalize import trafilatura_options

    pages = []
    for url in urls:
        with urllib.request.urlopen(url, timeout=30) as answer:
            pages.append((url, answer.read().decode("utf-8")))
    options = trafilatura_options(datetime.now(UTC))
    trafilatura.bare_extraction(pages[0][1], url=pages[0][0], **options)  # its lazy imports
    passes = []
    for _ in range(repeat):
        began = time.process_time()
        for url, markup in pages:
            trafilatura.bare_extraction(markup, url=url, **options)
        passes.append((time.process_time() - began) * 1000 / len(pages))
    return {
        "ms_per_page": round(statistics.median(passes), 2),
        "min": round(min(passes), 2),
        "max": round(max(passes), 2),
        "page_bytes": round(sum(len(markup.encode()) for _, markup in pages) / len(pages)),
    }


def scale_checks(scale: int, work: Path) -> dict[str, object]:
    """Snapshot with nothing due among `scale` tracked pages; the commit step with 1 % of them
    changed."""
    root = work / "scale"
    init_archive(root)
    site = Site("127.0.0.1").start()
    try:
        urls = [site.url(f"/archive/{i}") for i in range(scale)]
        (root / "urls.txt").write_text("\n".join(urls) + "\n")
        now = datetime.now(UTC)
        later = (now + timedelta(days=1)).isoformat()
        for i, url in enumerate(
            urls
        ):  # an archive that already holds every page, as earlier runs left it
            folder = root / page_dir(url)
            folder.mkdir(parents=True)
            (folder / "article.md").write_text(f"# Page {i}\n\nArchived text of page {i}.\n")
            (folder / "links.txt").write_text("")
            (folder / "meta.json").write_text(
                json.dumps(
                    {"url": url, "version": 1, "kind": "new", "title": f"Page {i}"}, indent=2
                )
                + "\n"
            )
        subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
        subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "-c",
                "user.name=bench",
                "-c",
                "user.email=bench@localhost",
                "commit",
                "-qm",
                "bench: 10,000 archived pages",
            ],
            check=True,
        )
        # Packed, as archiver's own commits and repacks keep a store (git add left 40,000 loose
        # objects).
        subprocess.run(["git", "-C", str(root), "repack", "-adq"], check=True)
        _seed_state(root, urls, now, later)
        wall, _, _, done = run([str(EXE), "snapshot", "--json", "--archive", str(root)], work)
        checked = sum(json.loads(done.stdout)["counts"].values())
        nothing_due = {"tracked": scale, "wall_s": round(wall, 2), "checked": checked}
        changed = urls[: max(1, scale // 100)]
        for i, url in enumerate(changed):
            site.page(
                url.split(str(site.port), 1)[1],
                article(f"Page {i} rewritten", paragraphs(random.Random(i), 3)),
            )
        wall, _, _, done = run(
            [str(EXE), "snapshot", "--json", "--depth", "0", "--archive", str(root), *changed], work
        )
        summary = json.loads(done.stdout)
        changed_run = {
            "changed": summary["counts"]["changed"],
            "wall_s": round(wall, 2),
            "commit_s": summary["timings"]["commit"],
        }
        return {"nothing_due": nothing_due, "one_percent_changed": changed_run}
    finally:
        site.stop()


def _seed_state(root: Path, urls: list[str], now: datetime, later: str) -> None:
    subprocess.run(
        [str(EXE), "list", "--archive", str(root)], check=True, capture_output=True
    )  # creates the db
    db = sqlite3.connect(root / ".archiver" / "state.sqlite")
    with db:
        db.executemany(
            "INSERT INTO pages (url, role, first_seen, last_checked, last_outcome, last_status, "
            "failures, interval_minutes, next_due) VALUES (?, 'article', ?, ?, 'unchanged', 200, "
            "0, 1440, ?)",
            [(u, now.isoformat(), now.isoformat(), later) for u in urls],
        )
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument(
        "--latency", type=float, default=0.05, help="seconds added to every response"
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=10_000,
        help="tracked pages for the nothing-due check (0: skip)",
    )
    parser.add_argument(
        "--chrome",
        type=int,
        default=22_000,
        help="bytes of boilerplate around each page's text (22,000: 25 KB pages; 0: 2.7 KB)",
    )
    parser.add_argument("--no-wget", action="store_true")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="archiver-bench-"))
    site = NewsSite(options.articles, options.latency, chrome_bytes=options.chrome)
    urls = [*site.article_urls, *site.source_urls]
    (work / "articles.txt").write_text("\n".join(site.article_urls) + "\n")
    results: dict[str, object] = {
        "machine": f"{os.cpu_count()} cores, {sys.platform}, Python {sys.version.split()[0]}",
        "date": datetime.now(UTC).date().isoformat(),
        "articles": options.articles,
        "urls": len(urls),
        "latency_s": options.latency,
    }
    try:
        root = work / "default"
        init_archive(root)
        phases = [
            phase("first snapshot", ["add", "--file", str(work / "articles.txt")], root, len(urls)),
            phase("re-check, nothing changed", ["snapshot", "--all"], root, len(urls)),
        ]
        site.edit(max(1, options.articles // 100))
        phases.append(phase("re-check, 1 % edited", ["snapshot", "--all"], root, len(urls)))
        fast = work / "per-host-8"
        init_archive(fast, per_host=8)
        phases.append(
            phase(
                "first snapshot, per_host = 8",
                ["add", "--file", str(work / "articles.txt")],
                fast,
                len(urls),
            )
        )
        wide = work / "per-host-8-workers-16"
        init_archive(wide, per_host=8, workers=16)
        phases.append(
            phase(
                "first snapshot, per_host 8, workers 16",
                ["add", "--file", str(work / "articles.txt")],
                wide,
                len(urls),
            )
        )
        results["phases"] = phases
        results["latency_bound_s"] = round(latency_bound(site, options.latency, 2), 2)
        results["latency_bound_per_host_8_s"] = round(latency_bound(site, options.latency, 8), 2)
        if not options.no_wget:
            results["wget_sequential_s"] = wget_reference(urls, work)
        results["trafilatura_alone"] = trafilatura_alone(urls)
    finally:
        site.stop()
    if options.scale:
        results["scale"] = scale_checks(options.scale, work)
    report(results)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)


def report(results: dict) -> None:
    print(
        f"{results['articles']} articles, {results['urls']} URLs, "
        f"{results['latency_s'] * 1000:.0f} ms latency; {results['machine']}; {results['date']}"
    )
    print(
        f"{'phase':32} {'pages':>6} {'wall s':>7} {'pages/s':>8} {'CPU ms/p':>9} {'RSS MB':>7} "
        f"{'commits':>7} {'git bytes':>10}"
    )
    for p in results["phases"]:
        print(
            f"{p['phase']:32} {p['pages']:>6} {p['wall_s']:>7} {p['pages_per_s']:>8} "
            f"{p['cpu_ms_per_page']:>9} {p['peak_rss_mb']:>7} {p['commits']:>7} "
            f"{p['git_bytes_added']:>10}"
        )
    first, fast = results["phases"][0], results["phases"][3]
    bound = results["latency_bound_s"]
    print(
        f"latency bound (largest host's URLs x latency / per-host limit 2): {bound} s; "
        f"first snapshot is {first['wall_s'] / bound:.2f}x of it (target <= 1.3x)"
    )
    alone = results["trafilatura_alone"]
    print(
        f"trafilatura alone (same settings, one process, the {alone['page_bytes']:,}-byte pages "
        f"served): {alone['ms_per_page']} ms CPU/page ({alone['min']}-{alone['max']}); whole run, "
        f"first snapshot: {first['cpu_ms_per_page']} ms/page "
        f"({first['cpu_ms_per_page'] / alone['ms_per_page']:.2f}x), per_host = 8: "
        f"{fast['cpu_ms_per_page']} ms/page ({fast['cpu_ms_per_page'] / alone['ms_per_page']:.2f}x)"
        " (target <= 1.2x)"
    )
    if fast["settling_s"] is not None:
        print(
            f"per_host = 8, the calling thread: settling {fast['settling_s']} s of the run's "
            f"{fast['wall_s']} s ({fast['settling_s'] / fast['wall_s']:.0%}), its own CPU "
            f"{fast['settling_cpu_ms_per_page']} ms/page; the rest of the time it waits for pages"
        )
    bound8 = results["latency_bound_per_host_8_s"]
    print(
        f"per_host = 8: {fast['wall_s']} s, {fast['wall_s'] / bound8:.2f}x of its latency bound "
        f"{bound8} s (target <= 1.3x)"
    )
    if results.get("wget_sequential_s"):
        wget, wide = results["wget_sequential_s"], results["phases"][4]
        print(
            f"wget --warc-file, sequential: {wget} s; per_host = 8 is {wget / fast['wall_s']:.1f}x "
            f"faster (target >= 8x); with 16 workers {wget / wide['wall_s']:.1f}x"
        )
        print(cores_arithmetic(fast, wget, os.cpu_count() or 1))
    if "scale" in results:
        scale = results["scale"]
        print(
            f"{scale['nothing_due']['tracked']} tracked, nothing due: "
            f"{scale['nothing_due']['wall_s']} s (target < 2 s); 1 % changed: commit step "
            f"{scale['one_percent_changed']['commit_s']} s (target < 1 s)"
        )


def cores_arithmetic(fast: dict, wget: float, cores: int) -> str:
    """Whether 8x wget is within what the machine's cores allow at the CPU a page costs. The commit
    runs alone after the last page (one process, then git): half the cores' time idles meanwhile."""
    needed = fast["cpu_ms_per_page"] * fast["pages"] / 1000
    commit = fast["commit_s"] or 0.0
    floor, goal = needed / cores + commit * (cores - 1) / cores, wget / 8
    verdict = (
        "bound by the cores, not the code"
        if floor >= goal
        else f"{goal - floor:.2f} s ({(goal - floor) / goal:.0%}) left for the first fetch's wait,"
        " the last extraction and any other work on the machine"
    )
    return (
        f"8x wget on {cores} cores: {fast['pages']} pages x {fast['cpu_ms_per_page']} ms = "
        f"{needed:.2f} s of CPU; with the {commit:.2f} s commit on one core, at least {floor:.2f} s "
        f"of wall, against {goal:.2f} s for 8x wget: {verdict}"
    )


if __name__ == "__main__":
    main()
