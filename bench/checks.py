"""Benchmark: a run of N unchanged pages, and what its confirmations cost (time, repository bytes,
`log --checks`).

Run by hand (figures go in docs/performance.md):

    .venv/bin/python bench/checks.py                                   # this checkout, 1,000 pages, 3 runs
    .venv/bin/python bench/checks.py --code /tmp/base --code .         # A/B of two source trees, interleaved

Each source tree (`--code`, put first on PYTHONPATH) gets an archive of N articles (no sources)
taken by one `add`; then `snapshot --all` runs alternate between the trees, the site serving every
page unchanged: new bytes each time (ads, tokens, timestamps), the same text, as most news pages.
Per run: wall and CPU time of the process tree, bytes added to git's object store, the checks WARC's
size. Then `log --checks` of one page, timed.
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

from bench import git_size, interleaved, medians, paragraphs, run  # noqa: E402 - the process-tree sampler


def command(code: Path, *args: str) -> list[str]:
    """`archiver ARGS` run from the source tree `code` (its extraction workers too: they import what
    it imports)."""
    return ["env", f"PYTHONPATH={code}", sys.executable, "-m", "archiver", *args]


def prepare(code: Path, urls: list[str], work: Path) -> Path:
    root = work / f"archive-{abs(hash(str(code)))}"
    subprocess.run(command(code, "init", str(root)), check=True, capture_output=True)
    toml = root / "archiver.toml"
    toml.write_text(toml.read_text().replace("allow_private = false", "allow_private = true"))
    (work / "urls.txt").write_text("\n".join(urls) + "\n")
    done = subprocess.run(
        command(
            code,
            "add",
            "--no-sources",
            "--json",
            "--file",
            str(work / "urls.txt"),
            "--archive",
            str(root),
        ),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or json.loads(done.stdout)["counts"]["new"] != len(urls):
        raise SystemExit(f"{code}: add failed: {done.stderr.strip()}")
    return root


def once(code: Path, root: Path) -> dict[str, float]:
    size = git_size(root)
    wall, cpu, rss, done = run(
        command(code, "snapshot", "--all", "--no-sources", "--json", "--archive", str(root)),
        root.parent,
    )
    if done.returncode != 0:
        raise SystemExit(f"{code}: snapshot exited {done.returncode}: {done.stderr.strip()}")
    summary = json.loads(done.stdout)
    checks = summary.get("checks")
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mb": rss / 1024,
        "git_bytes": git_size(root) - size,
        "commit_s": summary["timings"].get("commit", 0.0),
        "checks_bytes": (root / checks).stat().st_size if checks else 0,
        "unchanged": summary["counts"]["unchanged"],
        "confirmed": summary.get("confirmed", 0),
    }


def log_checks(code: Path, root: Path, url: str) -> tuple[float, int]:
    wall, _, _, done = run(
        command(code, "log", url, "--checks", "--archive", str(root)), root.parent
    )
    return wall, len(done.stdout.splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--code", type=Path, action="append", help="a source tree holding archiver/ (repeatable)"
    )
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    codes = [c.resolve() for c in options.code or [HERE.parent]]
    site = Site().start()
    rng = random.Random(5)
    for i in range(options.pages):
        text = paragraphs(rng, 6)
        site.page(
            f"/news/{i}", lambda i=i, text=text: article(f"Story {i}: the budget inquiry", text)
        )
    urls = [site.url(f"/news/{i}") for i in range(options.pages)]
    try:
        with tempfile.TemporaryDirectory(prefix="archiver-checks-") as work:
            roots = {code: prepare(code, urls, Path(work)) for code in codes}
            figures = interleaved(codes, options.runs, lambda code: once(code, roots[code]))
            logs = {code: log_checks(code, roots[code], urls[0]) for code in codes}
    finally:
        site.stop()
    print(
        f"{options.pages} unchanged pages, {options.runs} runs each; load "
        f"{os.getloadavg()[0]:.2f}; {os.cpu_count()} cores; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    for code, runs in figures.items():
        confirmed = max(r["confirmed"] for r in runs)
        per_check = (
            statistics.median(r["checks_bytes"] for r in runs) / confirmed if confirmed else 0
        )
        print(
            f"{code}: {medians(runs)}; "
            f"commit step median {statistics.median(r['commit_s'] for r in runs):.2f} s; "
            f"git bytes per run median {statistics.median(r['git_bytes'] for r in runs):.0f}; "
            f"checks WARC {per_check:.0f} bytes per confirmation; "
            f"`log --checks` {logs[code][0]:.2f} s ({logs[code][1]} lines)"
        )


if __name__ == "__main__":
    main()
