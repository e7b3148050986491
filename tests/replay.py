"""pywb serving an archive's own WARC files and CDXJ index on 127.0.0.1, for replay tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

BIN = Path(sys.executable).parent
INDEX = Path(".archiver", "indexes", "index.cdxj")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def wayback(root: Path, work: Path, ready_url: str) -> Iterator[tuple[requests.Session, str]]:
    """A session and the collection's base URL, once pywb answers a CDX query for `ready_url`."""
    collection = work / "pywb"
    collection.mkdir()
    (collection / "config.yaml").write_text(
        f"collections:\n  news:\n    index_paths: {root / INDEX}\n    archive_paths: {root / 'warcs'}/\n")
    port = free_port()
    log_path = work / "wayback.log"
    log = log_path.open("w")
    server = subprocess.Popen([str(BIN / "wayback"), "-p", str(port), "-b", "127.0.0.1"], cwd=collection,
                              stdout=log, stderr=subprocess.STDOUT)
    http = requests.Session()
    http.trust_env = False  # no proxy between us and loopback
    base = f"http://127.0.0.1:{port}/news"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if http.get(f"{base}/cdx", params={"url": ready_url}, timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, log_path.read_text()
            time.sleep(0.3)
        yield http, base
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
