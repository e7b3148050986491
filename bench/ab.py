"""A/B benchmark of the first snapshot: bench.py's loopback site archived by two or more `archiver`
commands.

Run by hand on a quiet machine (check `uptime`); figures go in docs/performance.md:

    .venv/bin/python bench/ab.py --exe /tmp/before/archiver --exe .venv/bin/archiver
    .venv/bin/python bench/ab.py --exe ... --exe ... --chunked --articles 100 --repeat 7

Each repeat runs every command once on a new archive, in turn, so that a change in the machine's
load falls on all alike; it prints the median wall time and CPU time per page of each. With
--chunked every answer comes with `Transfer-Encoding: chunked`. An older checkout can run without
installing it: a two-line script `PYTHONPATH=/path/to/checkout exec /path/to/.venv/bin/python -m
archiver "$@"` (its worker processes inherit the path; every command runs in a temporary folder,
since `-m` puts the current folder first on the path). Give each --exe as an absolute path.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from bench import NewsSite, run  # noqa: E402 - the benchmark site and the process-tree sampler


def first_snapshot(exe: str, articles: Path, work: Path, per_host: int) -> tuple[float, float, int]:
    """Wall seconds, CPU ms per page, and pages of `exe add --file ARTICLES` on a new archive."""
    root = Path(tempfile.mkdtemp(prefix="ab-", dir=work)) / "archive"
    subprocess.run([exe, "init", str(root)], check=True, capture_output=True, cwd=work)
    toml = root / "archiver.toml"
    toml.write_text(
        toml.read_text()
        .replace("allow_private = false", "allow_private = true")
        .replace("per_host = 2", f"per_host = {per_host}")
    )
    wall, cpu, _rss, done = run(
        [exe, "add", "--file", str(articles), "--json", "--archive", str(root)], work
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"{exe}: exited {done.returncode}: {done.stderr.strip()}")
    pages = sum(json.loads(done.stdout)["counts"].values())
    return wall, cpu * 1000 / max(pages, 1), pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--exe", action="append", required=True, help="an archiver command (give two or more)"
    )
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument(
        "--latency", type=float, default=0.05, help="seconds added to every response"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--chunked", action="store_true", help="serve every answer chunked")
    parser.add_argument(
        "--chrome", type=int, default=22_000, help="bytes of boilerplate around each page's text"
    )
    parser.add_argument("--per-host", type=int, default=2, help="fetch.per_host of the archives")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="archiver-ab-"))
    site = NewsSite(
        options.articles, options.latency, chunked=options.chunked, chrome_bytes=options.chrome
    )
    articles = work / "articles.txt"
    articles.write_text("\n".join(site.article_urls) + "\n")
    walls: dict[str, list[float]] = {exe: [] for exe in options.exe}
    cpus: dict[str, list[float]] = {exe: [] for exe in options.exe}
    try:
        for _ in range(options.repeat):
            for exe in options.exe:
                wall, cpu, pages = first_snapshot(exe, articles, work, options.per_host)
                walls[exe].append(wall)
                cpus[exe].append(cpu)
    finally:
        site.stop()
    framing = "chunked" if options.chunked else "Content-Length"
    print(
        f"first snapshot of {options.articles} articles ({pages} pages, {framing}), "
        f"{options.repeat} runs each:"
    )
    for exe in options.exe:
        runs = ", ".join(f"{w:.2f}" for w in walls[exe])
        print(
            f"  {exe}: wall {statistics.median(walls[exe]):.2f} s (runs {runs}); "
            f"CPU {statistics.median(cpus[exe]):.1f} ms/page "
            f"({min(cpus[exe]):.1f}-{max(cpus[exe]):.1f})"
        )


if __name__ == "__main__":
    main()
