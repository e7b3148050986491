"""A cluster on loopback: a real `redis-server` and real `archiver worker` processes, and a site
that counts the requests it has in flight."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import redis

from support.newssite import Response, Site
from support.receivers import WAIT, free_port

# Installed by `.ci/run` from the distribution's packages, like Chromium.
REDIS = shutil.which("redis-server") or "redis-server"


class Redis:
    """A redis-server on loopback, kept in memory only; it can be stopped and started again on the
    same port (a broker restarting mid-run)."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.port = free_port()
        self._server: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Redis:
        self._server = subprocess.Popen(
            [
                REDIS,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.work),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = self.client()
        deadline = time.monotonic() + WAIT
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self._server is not None:
            self._server.terminate()
            self._server.wait(timeout=WAIT)
            self._server = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


class Workers:
    """`archiver worker` processes on one archive's settings."""

    def __init__(self, root: Path, broker: str, threads: int = 4) -> None:
        self.root = root
        self.broker = broker
        self.threads = threads
        self.processes: list[subprocess.Popen[str]] = []
        self.logs: list[Path] = []

    def start(self, count: int, root: Path | None = None) -> Workers:
        exe = Path(sys.executable).with_name("archiver")
        env = {k: v for k, v in os.environ.items() if k != "ARCHIVER_DIR"}
        for _ in range(count):
            log = (root or self.root).parent / f"worker-{len(self.processes)}.log"
            self.logs.append(log)
            with log.open("w") as out:
                self.processes.append(
                    subprocess.Popen(
                        [
                            str(exe),
                            "-v",
                            "worker",
                            "-a",
                            str(root or self.root),
                            "--broker",
                            self.broker,
                            "--threads",
                            str(self.threads),
                        ],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        env=env,
                        text=True,
                    )
                )
        return self

    def wait_ready(self, client: redis.Redis, count: int) -> None:
        deadline = time.monotonic() + WAIT
        while len(list(client.scan_iter(match="archiver:worker:*"))) < count:
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.05)

    def kill(self, index: int) -> None:
        self.processes[index].send_signal(signal.SIGKILL)
        self.processes[index].wait(timeout=WAIT)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                process.kill()

    def output(self) -> str:
        return "\n".join(log.read_text() for log in self.logs if log.exists())


class InFlight:
    """Counts a site's requests in flight, and the most there ever were; each answer is held
    `hold` seconds, so that concurrent fetches overlap."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def serve(self, site: Site, path: str, html: str) -> None:
        body = html.encode("utf-8")

        def answer(handler: BaseHTTPRequestHandler) -> Response:
            with self._lock:
                self.now += 1
                self.most = max(self.most, self.now)
            try:
                time.sleep(self.hold)
            finally:
                with self._lock:
                    self.now -= 1
            return Response(body=body)

        site.routes[path] = answer
