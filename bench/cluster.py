"""Benchmark: a distributed run beside a local one, on the same machine and the same pages.

Run by hand (figures go in docs/performance.md):

    .venv/bin/python bench/cluster.py                 # 100 articles, 2 workers, 3 rounds
    .venv/bin/python bench/cluster.py --articles 30 --rounds 1

It serves bench.py's news site on loopback (articles on 127.0.0.1 citing sources on 127.0.0.1 and
127.0.0.2, 50 ms latency), starts a real redis-server and `archiver worker` processes, and takes the
first snapshot of a new archive twice per round, interleaved: locally, and with `--broker`. It prints
the wall time of each, the CPU of the coordinating process tree per page (the run that settles and
commits) and of the workers per page. On one machine no speed-up is expected: the figure that matters
is the coordinator's CPU per page, the part a cluster cannot spread.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from support.cluster import Redis, Workers  # noqa: E402

from bench import EXE, TICK, NewsSite, init_archive, run  # noqa: E402


def cpu_of(pids: list[int]) -> float:
    """CPU seconds used so far by `pids` and their children (extraction processes)."""
    total = 0
    for pid in pids:
        for task in [pid, *_children(pid)]:
            try:
                fields = Path(f"/proc/{task}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError):
                continue
    return total / TICK


def _children(pid: int) -> list[int]:
    """Every descendant of `pid`, whichever of its threads started it."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
    return found + [g for k in found for g in _children(k)]


def first_snapshot(root: Path, urls_file: Path, broker: str | None) -> tuple[float, float, int]:
    args = [str(EXE), "add", "--file", str(urls_file), "--json", "--archive", str(root)]
    if broker:
        args += ["--broker", broker]
    wall, cpu, _, done = run(args, root.parent)
    if done.returncode not in (0, 1):
        raise SystemExit(f"archiver exited {done.returncode}: {done.stderr.strip()}")
    pages = sum(json.loads(done.stdout)["counts"].values())
    return wall, cpu, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="archiver-cluster-bench-"))
    site = NewsSite(options.articles, 0.05)
    urls_file = work / "articles.txt"
    urls_file.write_text("\n".join(site.article_urls) + "\n")
    redis = Redis(work).start()
    shared = work / "settings" / "archive"
    init_archive(shared, per_host=8)
    workers = Workers(shared, redis.url, threads=options.threads).start(options.workers)
    workers.wait_ready(redis.client(), options.workers)
    rows: dict[str, list[dict[str, float]]] = {"local": [], "distributed": []}
    try:
        for round_ in range(options.rounds):
            for kind in ("local", "distributed"):
                root = work / f"{kind}-{round_}" / "archive"
                init_archive(root, per_host=8)
                # The workers read `settings/archive`'s archiver.toml: the same settings.
                before = cpu_of([p.pid for p in workers.processes])
                wall, cpu, pages = first_snapshot(
                    root, urls_file, redis.url if kind == "distributed" else None
                )
                time.sleep(0.2)
                worker_cpu = cpu_of([p.pid for p in workers.processes]) - before
                rows[kind].append(
                    {
                        "wall_s": wall,
                        "pages": pages,
                        "coordinator_cpu_ms_per_page": cpu * 1000 / pages,
                        "worker_cpu_ms_per_page": worker_cpu * 1000 / pages,
                    }
                )
    finally:
        workers.stop()
        redis.stop()
        site.stop()
    load = os.getloadavg()
    print(
        f"{options.articles} articles, {options.workers} workers x {options.threads} threads, "
        f"per_host 8; {os.cpu_count()} cores; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"load {load[0]:.1f}"
    )
    for kind, found in rows.items():
        med = {k: statistics.median(r[k] for r in found) for k in found[0]}
        spread = {k: (min(r[k] for r in found), max(r[k] for r in found)) for k in found[0]}
        print(
            f"{kind:12} {med['pages']:.0f} pages  wall {med['wall_s']:.2f} s "
            f"({spread['wall_s'][0]:.2f}-{spread['wall_s'][1]:.2f})  "
            f"run CPU {med['coordinator_cpu_ms_per_page']:.1f} ms/page "
            f"({spread['coordinator_cpu_ms_per_page'][0]:.1f}-"
            f"{spread['coordinator_cpu_ms_per_page'][1]:.1f})  "
            f"workers CPU {med['worker_cpu_ms_per_page']:.1f} ms/page"
        )
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "cluster.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
