"""Benchmark the start of a run's repairs: the state database's checks and rebuild, and the git
index's check.

Run by hand; it prints its figures:

    .venv/bin/python bench/state.py                  # 10,000 versions of 2,500 pages, 1,000,000 recorded checks
    .venv/bin/python bench/state.py --versions 2000 --checks 100000

It builds the synthetic archive of bench/verify.py, then times, in this process:
- opening the state database with its cheap layout check, against SQLite's `quick_check` and `integrity_check`
  of the same file (the checks table holding `--checks` rows, as a year of runs leaves it);
- rebuilding a missing state database from the archive (every committed meta.json);
- the git index's check at every run's start (its checksum, then `git diff-index --cached HEAD`).
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from verify import build

from archiver.run import reseed
from archiver.storage.state import State
from archiver.storage.store import Store


def timed(label: str, work, repeat: int = 3) -> object:
    best, result = float("inf"), None
    for _ in range(repeat):
        began = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - began)
    print(f"{label}: {best * 1000:.1f} ms (best of {repeat})")
    return result


def fill_checks(path: Path, count: int, pages: list[str]) -> None:
    db = sqlite3.connect(path)
    with db:
        db.executemany(
            "INSERT INTO checks VALUES (?, ?, 'unchanged', 200, 50, NULL, NULL)",
            (
                (pages[i % len(pages)], f"2026-{i % 12 + 1:02d}-01T00:00:{i % 60:02d}+00:00")
                for i in range(count)
            ),
        )
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--checks", type=int, default=1_000_000)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="archiver-bench-state-"))
    root = base / "archive"
    build(root, args.versions, 100, 8)
    store = Store(root)
    path = root / ".archiver" / "state.sqlite"
    seed = functools.partial(reseed.seed, store)

    def rebuild() -> State:
        for leftover in path.parent.glob("state.sqlite*"):
            leftover.unlink()
        return State(path, seed)

    state = timed("rebuild a missing state database from the archive", rebuild)
    pages = list(state.pages())
    records = len(seed().records)
    state.close()
    print(f"  ({len(pages)} pages, {records} archived payloads)")
    fill_checks(path, args.checks, pages)
    print(f"state database with {args.checks} checks: {path.stat().st_size / 2**20:.0f} MiB")
    timed("open it, with the layout check", lambda: State(path, seed).close())
    for pragma in ("quick_check", "integrity_check"):

        def check(pragma: str = pragma) -> None:
            db = sqlite3.connect(path)
            assert db.execute(f"PRAGMA {pragma}").fetchone()[0] == "ok"
            db.close()

        timed(f"PRAGMA {pragma} of it", check, repeat=1)
    entries = len(
        subprocess.run(
            ["git", "-C", str(root), "ls-files"], capture_output=True, text=True
        ).stdout.split()
    )
    timed(f"the git index's check at a run's start ({entries} entries)", store.reset_index)
    shutil.rmtree(base)


if __name__ == "__main__":
    main()
