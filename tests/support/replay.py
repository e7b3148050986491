"""Replay of the archive in the tools web archivists check WARCs with: pywb and ReplayWeb.page.

- `replayed_once`: an archive made by real runs on the loopback site, holding a page that went A -> B -> A
  (tests/support/evidence.py), a redirect chain (301 -> 302 -> the final page, each hop with a body) and a page
  served chunked; its WARC records read back with warcio, and its index and WACZ made by the real command.
- `Wayback`: pywb's `wayback` server on loopback over the archive's own WARC files and index.
- `ReplayWebPage`: the `replaywebpage` npm package (fetched from the npm registry, checked against its pinned
  integrity) served on loopback with the WACZ, and Chromium driven by Playwright reading back the text of
  the replayed page from the frame inside the `<replay-web-page>` component.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import html
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_timestamp
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.utils import send_file
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response as WsgiResponse

from archiver import Archive
from archiver.evidence import cdxj
from support.archives import allow_loopback_sources
from support.browser import CHROMIUM_FLAGS
from support.commands import run_cli
from support.evidence import build_history
from support.newssite import Response, Site, article

BIN = Path(sys.executable).parent

FERRY = [
    "The ferry to the islands resumed on Friday after a two week strike by its crews.",
    "The operator said the timetable would be back to normal by the end of the month.",
]
TRAM = [
    "The tram line will reach the new hospital by next winter, the transport authority said.",
    "Six new stops are planned along the route, two of them beside the university campus.",
    "Residents asked for a night service; the authority said it would study the request.",
]


# -- the archive -----------------------------------------------------------------------------------


@dataclass
class Stored:
    """A response or revisit record as warcio reads it back from the archive."""

    type: str
    url: str
    date: str  # WARC-Date
    status: int
    headers: list[tuple[str, str]]  # the HTTP headers as stored
    body: bytes  # the payload, transfer-decoded (what a client gets after de-chunking)

    @property
    def stamp(self) -> str:
        """The 14-digit timestamp replay tools look this capture up by."""
        return iso_date_to_timestamp(self.date)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass
class Replayed:
    """The archive under replay, what was served for it, and where each capture is."""

    root: Path
    article: str  # went A -> B -> A
    bodies: list[bytes]  # its HTML as served for A and B
    chain: list[str]  # the redirect chain's URLs: 301, 302, final page
    chunked: str  # a page served with Transfer-Encoding: chunked
    chunked_body: bytes
    wacz: Path  # `archiver export --wacz` of the whole archive
    records: list[Stored]  # every response and revisit, in the order of the WARC files

    def captures(self, url: str) -> list[Stored]:
        return [r for r in self.records if r.url == url]

    def capture(self, url: str) -> Stored:
        [found] = self.captures(url)
        return found


def stored_records(warcs: Iterable[Path]) -> list[Stored]:
    found = []
    for path in warcs:
        with path.open("rb") as f:
            for record in ArchiveIterator(f):
                if record.rec_type in ("response", "revisit"):
                    http = record.http_headers
                    found.append(
                        Stored(
                            record.rec_type,
                            record.rec_headers.get_header("WARC-Target-URI"),
                            record.rec_headers.get_header("WARC-Date"),
                            int(http.get_statuscode()),
                            list(http.headers),
                            record.content_stream().read(),
                        )
                    )
    return found


def replayed_once(tmp_path_factory: pytest.TempPathFactory) -> Replayed:
    """The archive under replay, built once per test run: the first pytest-xdist worker to ask
    builds it (the others wait on a lock), and each reads it back."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, above each worker's own
    manifest = base / "replayed" / "replayed.json"
    with (base / "replayed.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released as the file closes
        if not manifest.exists():
            shutil.rmtree(manifest.parent, ignore_errors=True)  # what a failed build left
            manifest.parent.mkdir()
            _build(manifest)
    saved = json.loads(manifest.read_text())
    return Replayed(
        Path(saved["root"]),
        saved["article"],
        [b.encode() for b in saved["bodies"]],
        saved["chain"],
        saved["chunked"],
        saved["chunked_body"].encode(),
        Path(saved["wacz"]),
        stored_records(sorted((Path(saved["root"]) / "warcs").rglob("*.warc.gz"))),
    )


def _build(manifest: Path) -> None:
    """Four real runs on the loopback site: the A -> B -> A history (a second apart: replay tools
    tell captures apart by their second), then the redirect chain and the chunked page added; then
    `archiver index` and `export --wacz`. The site stops before any replay: what replays comes from
    the archive alone."""
    root, wacz = manifest.parent / "archive", manifest.parent / "archive.wacz"
    Archive.init(root)
    allow_loopback_sources(root)
    archive = Archive.open(root)
    site = Site().start()
    try:
        history = build_history(site, archive, pause=1.1)
        chain = [
            site.url("/world/ferry"),
            site.url("/world/ferry-moved"),
            site.url("/world/ferry-final"),
        ]
        site.routes["/world/ferry"] = Response(
            status=301,
            headers=[("Location", "/world/ferry-moved")],
            body=b"<html><body><p>Moved permanently.</p></body></html>",
        )
        site.routes["/world/ferry-moved"] = Response(
            status=302,
            headers=[("Location", chain[2])],
            body=b"<html><body><p>Found elsewhere.</p></body></html>",
        )
        site.page("/world/ferry-final", article("Ferry service resumes", FERRY, noise=False))
        chunked = article("Tram line extended to the hospital", TRAM, noise=False)
        site.routes["/news/tram"] = Response(body=chunked.encode(), chunked=True)
        archive.add([chain[0], site.url("/news/tram")])
    finally:
        site.stop()
    for args in (("index",), ("export", "--wacz", str(wacz))):
        result = run_cli(*args, "--archive", str(root))
        assert result.returncode == 0, result.stdout + result.stderr
    records = stored_records(history.warcs())
    assert [r.type for r in records if r.url == history.article] == [
        "response",
        "response",
        "revisit",
    ]
    assert [r.status for r in records if r.url in chain] == [301, 302, 200]
    manifest.write_text(
        json.dumps(
            {
                "root": str(root),
                "article": history.article,
                "bodies": [b.decode() for b in history.bodies],
                "chain": chain,
                "chunked": site.url("/news/tram"),
                "chunked_body": chunked,
                "wacz": str(wacz),
            }
        )
    )


# -- pywb ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Wayback:
    """pywb's `wayback` on 127.0.0.1, one collection `news`: the archive's WARC files and its CDXJ
    index."""

    def __init__(self, root: Path, work: Path) -> None:
        self.root = root
        self.work = work
        self.http = requests.Session()
        self.http.trust_env = False  # no proxy between us and loopback
        self.base = ""
        self._server: subprocess.Popen | None = None

    def start(self, within: float = 60) -> Wayback:
        (self.work / "config.yaml").write_text(
            f"collections:\n  news:\n    index_paths: {cdxj.index_path(self.root)}\n"
            f"    archive_paths: {self.root / 'warcs'}/\n"
        )
        port = free_port()
        with self.log.open("w") as log:
            self._server = subprocess.Popen(
                [str(BIN / "wayback"), "-p", str(port), "-b", "127.0.0.1"],
                cwd=self.work,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.base = f"http://127.0.0.1:{port}/news"
        try:
            self._wait_ready(time.monotonic() + within)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, deadline: float) -> None:
        assert self._server is not None
        while True:
            try:
                if (
                    self.http.get(
                        f"{self.base}/cdx", params={"url": "example.com"}, timeout=5
                    ).status_code
                    == 200
                ):
                    return
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline and self._server.poll() is None, self.log.read_text()
            time.sleep(0.3)  # polling for the server to listen, not timing the test

    @property
    def log(self) -> Path:
        return self.work / "wayback.log"

    def get(
        self, stamp: str, mode: str, url: str, follow: bool = True, within: float = 30
    ) -> requests.Response:
        """`/news/<stamp><mode>/<url>`, read whole. A server that leaves the answer unfinished fails
        the test once `within` seconds pass with no byte coming."""
        try:
            return self.http.get(
                f"{self.base}/{stamp}{mode}/{url}", allow_redirects=follow, timeout=within
            )
        except (
            requests.Timeout,
            requests.ConnectionError,
        ) as exc:  # a read timeout in the body is the latter
            raise AssertionError(
                f"pywb gave no whole answer to {stamp}{mode}/{url} within {within} s: {exc}"
            ) from None

    def stop(self) -> None:
        if self._server:
            self._server.terminate()
            self._server.wait(timeout=10)
        self.http.close()


# -- ReplayWeb.page --------------------------------------------------------------------------------

RWP_VERSION = "2.5.3"
# dist.integrity of replaywebpage@2.5.3 in the npm registry's metadata.
RWP_INTEGRITY = "sha512-nCj2PSON3BxeSJKE8AsYPyULv0XPZKJWfy4l9PyQre9SqwLZ+WKZVs/sfLqPOQ4GrH+0YkjbwOhr8cSTH08gsQ=="
RWP_TARBALL = f"https://registry.npmjs.org/replaywebpage/-/replaywebpage-{RWP_VERSION}.tgz"
RWP_FILES = ("ui.js", "sw.js")
REPLAY_BASE = "/replay/"  # where ui.js and sw.js are served: the service worker's scope
SW_SCRIPT = (
    f"{REPLAY_BASE}sw.js?serveIndex=1"  # exactly as the component registers it (its swmanager)
)
WACZ_PATH = "/archive.wacz"
# Every wait in the browser: a first load starts the service worker and reads the WACZ, a few
# seconds on a loaded machine; a replay that never comes fails after this.
TIMEOUT_MS = 120_000


def download_cache() -> Path:
    """Downloads kept between test runs (and clones): ~/.cache/archiver-tests."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "archiver-tests"
    cache.mkdir(parents=True, exist_ok=True)
    return cache


def replaywebpage(dest: Path) -> None:
    """`ui.js` and `sw.js` of the pinned package into `dest`, from its tarball, fetched from the npm
    registry on first use and kept in `download_cache()`. The tarball is checked against its pinned
    integrity at every use."""
    tarball = download_cache() / f"replaywebpage-{RWP_VERSION}.tgz"
    if not tarball.is_file():
        response = requests.get(RWP_TARBALL, timeout=120)
        response.raise_for_status()
        with tempfile.NamedTemporaryFile(
            dir=tarball.parent, delete=False
        ) as part:  # whole or absent: workers race
            part.write(response.content)
        Path(part.name).replace(tarball)
    data = tarball.read_bytes()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != RWP_INTEGRITY:
        tarball.unlink()
        raise AssertionError(f"{RWP_TARBALL} is not the pinned package: integrity {digest}")
    with tarfile.open(fileobj=io.BytesIO(data)) as package:
        for name in RWP_FILES:
            member = package.extractfile(f"package/{name}")
            assert member is not None, name
            (dest / name).write_bytes(member.read())


def embed_page(attributes: dict[str, str]) -> str:
    """A page embedding ReplayWeb.page as its embedding guide shows: ui.js, and the component."""
    attrs = " ".join(f'{name}="{html.escape(value)}"' for name, value in attributes.items())
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>replay</title>'
        f'<script src="{REPLAY_BASE}ui.js"></script></head><body style="margin:0;height:100vh">'
        f"<replay-web-page {attrs}></replay-web-page></body></html>"
    )


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


@contextmanager
def replay_site(
    assets: Path,
    wacz: Path,
    more: dict[str, Path] | None = None,
    served: set[str] | None = None,
) -> Iterator[str]:
    """ReplayWeb.page's files and the WACZ on 127.0.0.1 (with the Range requests ReplayWeb.page
    reads a WACZ by), and `/embed?url=...&ts=...`, the embedding page for that capture; yields the
    site's address. `more` serves other packages at their paths (`/embed?...&source=PATH`);
    `served` collects the paths of the packages read."""
    packages = {WACZ_PATH: wacz, **(more or {})}

    def app(environ: dict, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        try:
            if request.path == "/":
                answer = WsgiResponse("<!DOCTYPE html><title>replay</title>", mimetype="text/html")
            elif request.path == "/embed":
                attributes = {
                    "source": WACZ_PATH,
                    "replayBase": REPLAY_BASE,
                    "embed": "replayonly",
                    **request.args,
                }
                answer = WsgiResponse(embed_page(attributes), mimetype="text/html")
            elif request.path in packages:
                if served is not None:
                    served.add(request.path)
                answer = send_file(packages[request.path], environ)
            elif request.path.removeprefix(REPLAY_BASE) in RWP_FILES:
                answer = send_file(assets / request.path.removeprefix(REPLAY_BASE), environ)
            else:
                raise NotFound()
        except HTTPException as exc:  # a range past the end, an unknown path: their HTTP answer
            answer = exc.get_response(environ)
        return answer(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Replay:
    """What ReplayWeb.page showed for one capture: the text of the replayed page, and where its
    frame is."""

    text: str
    frame_url: str


class ReplayWebPage:
    """One Chromium (Playwright) and one served WACZ; each `replay` opens the embedding page in a
    new tab."""

    def __init__(self, site: str, chromium: str) -> None:
        self.site = site  # the address `replay_site` serves on
        self.chromium = chromium
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._context: BrowserContext | None = None

    def start(self) -> ReplayWebPage:
        self._playwright = sync_playwright().start()
        try:
            # The Debian binary, never a downloaded browser build.
            self._browser = self._playwright.chromium.launch(
                executable_path=self.chromium, args=list(CHROMIUM_FLAGS)
            )
            self._context = self._browser.new_context()
            self._context.set_default_timeout(TIMEOUT_MS)
            self._activate_service_worker()
        except BaseException:
            self.stop()
            raise
        return self

    def _activate_service_worker(self) -> None:
        """Register ReplayWeb.page's service worker and wait until it is active, as on a reader's
        second visit. On a first visit the component reloads its frame three times, 100 ms apart,
        for the worker to take control, and stays on the server's 404 page when a loaded machine is
        slower than that."""
        assert self._context is not None
        page = self._context.new_page()
        try:
            page.goto(f"{self.site}/")
            page.evaluate(
                """async ([script, scope]) => {
                const registration = await navigator.serviceWorker.register(script, {scope});
                const worker = registration.installing || registration.waiting || registration.active;
                while (worker.state !== "activated") {
                    if (worker.state === "redundant") throw new Error("ReplayWeb.page's service worker failed");
                    await new Promise((changed) => worker.addEventListener("statechange", changed, {once: true}));
                }
            }""",
                [SW_SCRIPT, REPLAY_BASE],
            )
        finally:
            page.close()

    def stop(self) -> None:
        if self._browser:
            self._browser.close()
        if self._playwright:
            self._playwright.stop()

    def replay(
        self, url: str, ts: str, wait_for: str = "article h1", source: str = WACZ_PATH
    ) -> Replay:
        """Open the capture of `url` nearest `ts` and read back, once `wait_for` is in it, the text
        of the page ReplayWeb.page replays (its frame is inside the component's frame, itself in the
        component's shadow DOM: Playwright's locators cross both)."""
        assert self._context is not None
        page = self._context.new_page()
        try:
            page.goto(f"{self.site}/embed?{urlencode({'url': url, 'ts': ts, 'source': source})}")
            replayed = page.frame_locator("replay-web-page iframe").frame_locator("iframe")
            try:
                replayed.locator(wait_for).wait_for()
            except PlaywrightTimeout:
                raise AssertionError(
                    f"ReplayWeb.page showed no {wait_for!r} for {url} at {ts}: {_frames(page)}"
                ) from None
            text = replayed.locator("body").inner_text()
            frame = replayed.owner.element_handle().content_frame()
            assert frame is not None
            return Replay(text, frame.url)
        finally:
            page.close()


def _frames(page: Page) -> list[tuple[str, str]]:
    """Each frame's address and the start of its text: what the page showed instead."""
    shown = []
    for frame in page.frames:
        try:
            shown.append((frame.url, frame.inner_text("body", timeout=5000)[:300]))
        except PlaywrightTimeout:
            shown.append((frame.url, "(no body)"))
    return shown
