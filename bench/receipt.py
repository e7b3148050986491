"""What a receipt costs: the size of `archiver receipt` for an article citing five sources, and the
time to write and to check it.

Run by hand (figures go in docs/performance.md):

    .venv/bin/python bench/receipt.py [--sources 5] [--paragraphs 250]

It serves on loopback an article of --paragraphs paragraphs (about 25 KB of HTML with the usual
boilerplate) citing --sources sources of the same kind, archives them with the real command, edits the
article once and archives it again, then writes the receipt of the second version and checks it with
`archiver verify --receipt`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from support.newssite import Site, article  # noqa: E402

EXE = str(Path(sys.executable).with_name("archiver"))
SENTENCE = "The council's harbour committee met for the third time this month to weigh the plan."


def archiver(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([EXE, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"archiver {args[0]} exited {done.returncode}: {done.stderr.strip()}")
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=5)
    parser.add_argument("--paragraphs", type=int, default=250)
    args = parser.parse_args()
    site = Site().start()
    try:
        paragraphs = [f"{SENTENCE} Paragraph {n}." for n in range(args.paragraphs)]
        sources = [(site.url(f"/source/{n}"), f"source {n}") for n in range(args.sources)]
        for n in range(args.sources):
            site.page(f"/source/{n}", article(f"Source {n}", paragraphs[:10]))
        site.page("/news/story", lambda: article("The harbour plan", paragraphs, links=sources))
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "archive"
            archiver("init", str(root))
            toml = root / "archiver.toml"
            toml.write_text(
                toml.read_text().replace("allow_private = false", "allow_private = true")
            )
            url = site.url("/news/story")
            archiver("add", url, "-a", str(root))
            paragraphs[3] = "The committee adjourned without a vote."
            archiver("snapshot", "--all", "-a", str(root))
            out = Path(tmp) / "receipt.zip"
            began = time.perf_counter()
            made = json.loads(
                archiver("receipt", url, "-o", str(out), "--json", "-a", str(root)).stdout
            )
            written = time.perf_counter() - began
            began = time.perf_counter()
            archiver("verify", "--receipt", str(out))
            checked = time.perf_counter() - began
            html = len(site.routes["/news/story"].body())  # type: ignore[union-attr, operator]
            print(
                f"article of {html:,} bytes of HTML citing {args.sources} sources: receipt of "
                f"{made['size']:,} bytes, {made['files']} files; written in {written:.2f} s, "
                f"checked in {checked:.2f} s (each the whole command)"
            )
    finally:
        site.stop()


if __name__ == "__main__":
    main()
