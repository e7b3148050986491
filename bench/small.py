"""Benchmark: `archiver add URL` of one article, the command a person types and most cron runs
resemble.

Run by hand (figures go in docs/performance.md):

    .venv/bin/python bench/small.py                          # 20 runs of this checkout's `archiver`
    .venv/bin/python bench/small.py --exe /other/.venv/bin/archiver --exe .venv/bin/archiver   # A/B, interleaved

Each run adds one article (no cited sources, a few hundred words, no added latency) to a new archive
and measures wall time, CPU time and peak RSS of the whole process tree (bench.py's sampler). With
several `--exe`, runs alternate between them so that a change in the machine's load falls on all
alike.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from support.newssite import Site, article  # noqa: E402 - the test suite's loopback site

from bench import interleaved, medians, paragraphs, run  # noqa: E402 - the process-tree sampler


def once(exe: Path, url: str, work: Path) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="small-", dir=work)) / "archive"
    subprocess.run([str(exe), "init", str(root)], check=True, capture_output=True)
    wall, cpu, rss, done = run(
        [str(exe), "add", "--no-sources", "--json", "--archive", str(root), url], work
    )
    if done.returncode != 0:
        raise SystemExit(f"{exe}: exited {done.returncode}: {done.stderr.strip()}")
    assert json.loads(done.stdout)["counts"]["new"] == 1
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": rss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--exe", type=Path, action="append", help="an `archiver` executable (repeatable)"
    )
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()
    exes = options.exe or [Path(sys.executable).with_name("archiver")]
    site = Site().start()
    site.page(
        "/news/story", article("Council approves the harbour plan", paragraphs(random.Random(3), 8))
    )
    url = site.url("/news/story")
    try:
        with tempfile.TemporaryDirectory(prefix="archiver-small-") as work:
            for exe in exes:  # a first run of each warms the disk cache; not counted
                once(exe, url, Path(work))
            figures = interleaved(exes, options.runs, lambda exe: once(exe, url, Path(work)))
    finally:
        site.stop()
    print(
        f"one-page `add`, {options.runs} runs each; load {os.getloadavg()[0]:.2f}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    for exe, runs in figures.items():
        print(
            f"{exe}: {medians(runs)}; peak RSS median "
            f"{statistics.median(r['peak_rss_mb'] for r in runs):.0f} MB"
        )


if __name__ == "__main__":
    main()
