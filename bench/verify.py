"""Benchmark `archiver verify` (and `archiver index`) on a synthetic archive of 10,000 versions.

Run by hand; it prints its figures:

    .venv/bin/python bench/verify.py                          # 10,000 versions, 100 per commit, ~40 KB pages
    .venv/bin/python bench/verify.py --versions 1000 --keep /tmp/small-archive

The archive is built the way a run builds it, minus the network: real WARC records written by
archiver's own warc module (response, request and metadata records; 5 % of versions
identical-payload revisits of an earlier one), real meta.json/article.md files and real git commits,
many versions per commit (one WARC file per commit, as one run writes). Then the real `archiver`
command runs on it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from archiver import Archive
from archiver.capture.exchange import Capture, Exchange
from archiver.evidence.warc import WarcFile, warcinfo
from archiver.storage.state import PayloadRecord
from archiver.storage.store import Store, dump_meta
from archiver.urls import page_dir

EXE = Path(sys.executable).with_name("archiver")
WORDS = (
    "council budget minister report audit hospital waiting figures regional funding inquiry "
    "officials said published thursday statement opposition documents review court ruling election"
).split()


def paragraph_pool(rng: random.Random, count: int = 400) -> list[str]:
    return [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120))).capitalize() + "."
        for _ in range(count)
    ]


def page_html(rng: random.Random, pool: list[str], title: str, kb: int) -> bytes:
    body, size = [], 0
    while size < kb * 1024:
        body.append(f"<p>{rng.choice(pool)}</p>")
        size += len(body[-1])
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"{''.join(body)}</article></body></html>"
    ).encode()


def exchange(url: str, when: datetime, body: bytes, spool: Path) -> Exchange:
    path = spool / hashlib.sha1(url.encode() + when.isoformat().encode()).hexdigest()
    path.write_bytes(body)
    digest = "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode()
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
    request = f"GET {urlsplit(url).path} HTTP/1.1\r\nHost: news.example\r\nUser-Agent: archiver-bench\r\n\r\n"
    head = "HTTP/1.1 200 OK\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return Exchange(
        url=url,
        started=when,
        request=request.encode(),
        head=head.encode(),
        http_version="HTTP/1.1",
        status=200,
        reason="OK",
        headers=headers,
        body=path,
        body_length=len(body),
        payload_digest=digest,
        peer_ip="127.0.0.1",
    )


def build(root: Path, versions: int, per_commit: int, kb: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    pool = paragraph_pool(rng)
    Archive.init(root)
    store = Store(root)
    pages = versions // 4  # four versions of each page on average
    urls = [f"https://news.example/2026/{i % 12 + 1:02d}/story-{i}" for i in range(pages)]
    number = dict.fromkeys(urls, 0)
    bodies: dict[str, bytes] = {}
    archived: dict[str, PayloadRecord] = {}  # payload digest -> record, as state.sqlite keeps it
    start = datetime(2026, 1, 1, tzinfo=UTC)
    spool = root / ".archiver" / "spool"
    spool.mkdir(parents=True, exist_ok=True)
    info = warcinfo("archiver/bench", {"trafilatura": "bench"})
    made = 0
    for run in range(versions // per_commit):
        when = start + timedelta(minutes=15 * run)
        warc = WarcFile(root, "archiver", when, info)
        folders = []
        for url in rng.sample(urls, per_commit):
            number[url] += 1
            restored = url in bodies and rng.random() < 0.05  # the page came back exactly as it was
            if not restored:
                bodies[url] = page_html(
                    rng, pool, f"Story {url.rsplit('-', 1)[1]} v{number[url]}", kb
                )
            capture = Capture(url, when, [exchange(url, when, bodies[url], spool)])
            ref = warc.write_capture(
                capture,
                {"outlink": [f"https://gov.example/doc-{rng.randint(0, 999)}"]},
                duplicate_of=archived.get,
            )
            if ref.refers_to is None:
                archived[ref.payload_digest] = ref.as_record()
            capture.discard()
            folder = page_dir(url)
            meta = {
                "url": url,
                "final_url": url,
                "status": 200,
                "content_type": "text/html",
                "role": "article",
                "title": f"Story v{number[url]}",
                "captured_at": when.isoformat(),
                "version": number[url],
                "kind": "new" if number[url] == 1 else "edited",
                "warc": ref.as_dict(),
            }
            # Written directly, not with store.write: its fsync per file would make building take
            # minutes.
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / "meta.json").write_text(dump_meta(meta))
            (root / folder / "article.md").write_text(f"Story {url}\n\nVersion {number[url]}.\n")
            folders.append(str(folder))
            made += 1
        relpath = warc.close()
        store.commit(
            f"archiver: bench run {run}",
            when,
            ("archiver", "archiver@localhost"),
            [*folders, relpath.as_posix()],
        )
        if run % 10 == 0:
            print(f"  built {made} versions", file=sys.stderr)


def timed(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    began = time.perf_counter()
    done = subprocess.run([str(EXE), *args], capture_output=True, text=True)
    return time.perf_counter() - began, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument(
        "--per-commit", type=int, default=100, help="versions per commit (and per WARC file)"
    )
    parser.add_argument("--kb", type=int, default=40, help="size of each page's HTML in KiB")
    parser.add_argument(
        "--keep", type=Path, help="build the archive here and keep it (default: a temporary folder)"
    )
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="archiver-bench-verify-"))
    root = base / "archive"
    shutil.rmtree(root, ignore_errors=True)
    began = time.perf_counter()
    build(root, args.versions, args.per_commit, args.kb)
    warcs = sorted((root / "warcs").rglob("*.warc.gz"))
    size = sum(p.stat().st_size for p in warcs)
    commits = subprocess.run(
        ["git", "-C", str(root), "rev-list", "--count", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    print(
        f"built {args.versions} versions, {commits} commits, {len(warcs)} WARC files "
        f"({size / 2**20:.0f} MiB) in {time.perf_counter() - began:.1f} s"
    )

    wall, done = timed("verify", "--archive", str(root))
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"archiver verify: {wall:.2f} s (exit {done.returncode}, peak RSS {rss:.0f} MiB): "
        f"{done.stdout.strip()}"
    )
    if done.returncode:
        print(done.stdout[-2000:], done.stderr[-2000:])
    wall, done = timed("index", "--archive", str(root))
    print(f"archiver index, first: {wall:.2f} s: {done.stdout.strip()}")
    wall, done = timed("index", "--archive", str(root))
    print(f"archiver index, nothing new: {wall:.2f} s: {done.stdout.strip()}")
    if not args.keep:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
