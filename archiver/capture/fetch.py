"""HTTP fetching with requests: one session per worker thread, redirects hop by hop, caps and
deadlines.

Every byte is recorded where it passes (`transport.Tape`): the request as written, the answer's head
as read and, for a chunked answer, its body with the chunk framing. The payload (content-coded,
de-chunked: what WARC calls the payload) is spooled to a file for the extractor and the digest, so
memory stays flat whatever the body size.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import hashlib
import http.client
import logging
import os
import socket
import ssl
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests
import urllib3
from requests.utils import get_environ_proxies, select_proxy

from .. import untrusted
from ..config import FetchConfig
from ..errors import InvalidURL, unwritable
from ..urls import DEFAULT_PORTS, normalize_host
from .addresses import (
    OPEN,
    AddressPolicy,
    Pin,
    PrivateAddress,
    Unresolvable,
    pinned,
    public_addresses,
)
from .deadline import Deadline
from .exchange import Capture, Exchange
from .transport import MAX_HEADERS, MAX_LINE, CheckedResponse, GuardedAdapter, write_all

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
# A head that never ended, by its WARC-Truncated reason: the connection closed, or the deadline cut
# it.
HEAD_CUT = {
    "disconnect": "the connection closed inside the response headers",
    "time": "deadline of {deadline:g}s exceeded while reading the response headers",
}
ACCEPT = "text/html,application/xhtml+xml,application/pdf;q=0.9,*/*;q=0.8"


class FetchError(Exception):
    """A fetch that produced no usable answer (network error, deadline, redirect loop)."""


@dataclass(frozen=True)
class _Hops:
    """The address policy of one fetch, and the addresses its caller already checked for one
    host."""

    policy: AddressPolicy
    known: Pin | None = None

    def checked(self, url: str) -> Pin | None:
        """`known`, when `url` goes to the host and port it was checked for."""
        if self.known is None:
            return None
        parts = urlsplit(url)
        try:
            host = normalize_host(parts.hostname or "")
            port = parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
        except (InvalidURL, ValueError):
            return None
        return self.known if self.known.allows(host, port) else None


class _Session(requests.Session):
    """A requests session that leaves redirects alone: we follow them ourselves, hop by hop.

    With `allow_redirects=False`, `Session.send` still asks `resolve_redirects` for the next
    request, which reads and decodes the redirect's body (a gzip bomb in a 301 inflated whole; a
    compressed body could no longer be spooled as sent) and decodes its Location as UTF-8 (latin-1
    bytes raised). Here no answer is a redirect to it.
    """

    def get_redirect_target(self, resp: requests.Response) -> None:
        return None


class Fetcher:
    """Fetches URLs into `Capture`s; safe to call from many threads at once."""

    def __init__(self, config: FetchConfig, spool_dir: Path) -> None:
        self.config = config
        self.spool_dir = spool_dir
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._released: collections.deque[Path] = collections.deque()  # thread-safe ends
        if config.insecure_tls_hosts:
            # Asked for host by host in the settings: a warning at every request would only be
            # noise.
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = _Session()
            adapter = GuardedAdapter()
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            # Pinned: requests adds "br" when a brotli module happens to be importable.
            session.headers.update(
                {
                    "User-Agent": self.config.user_agent,
                    "Accept-Encoding": "gzip, deflate",
                    "Accept": ACCEPT,
                }
            )
            session.verify = self.config.verify_tls
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def fetch(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        policy: AddressPolicy = OPEN,
        retry: bool = True,
        deadline: Deadline | None = None,
        pin: Pin | None = None,
    ) -> Capture:
        """Fetch `url`, following redirects by hand; never raises for network trouble.

        Every hop `policy` checks is resolved first, and refused if an address is not public
        (`capture.blocked`); the connection then goes to the addresses checked. `retry` false
        answers a 429 or 503 at once. `deadline` (one the caller entered) bounds this fetch with the
        caller's other requests; by default it has a deadline of its own. `pin`: the addresses
        already checked for a host (by `check`), which hops to that host connect to without
        resolving its name again.
        """
        capture = Capture(url=url, started=datetime.now(UTC))
        begun = time.monotonic()
        # A capture starts with no cookies: what a page sets never changes what a later page on this
        # thread shows. Hops of one capture keep theirs, as a browser would.
        self._session().cookies.clear()
        with contextlib.ExitStack() as stack:
            if deadline is None:
                deadline = stack.enter_context(Deadline(self.config.deadline))
            try:
                self._follow_retrying(
                    capture,
                    url,
                    headers or {},
                    deadline,
                    _Hops(policy, pin),
                    self.config.retries if retry else 0,
                )
            except PrivateAddress as exc:
                capture.blocked = str(exc)
            except FETCH_ERRORS as exc:
                capture.error = _describe(exc)
                if deadline.passed and not capture.error.startswith("deadline"):
                    capture.error = (
                        f"deadline of {self.config.deadline:g}s exceeded ({capture.error})"
                    )
        if capture.error or capture.blocked:
            log.info("not fetched: %s: %s", url, capture.error or capture.blocked)
        capture.duration = time.monotonic() - begun
        return capture

    def _follow_retrying(
        self,
        capture: Capture,
        url: str,
        headers: dict[str, str],
        deadline: Deadline,
        hops: _Hops,
        retries: int,
    ) -> None:
        """Fetch, retrying a 429 or 503 answer as its Retry-After asks, within the retry budget and
        deadline."""
        for attempt in range(retries + 1):
            self._follow(capture, url, headers, deadline, hops)
            final = capture.final
            if final is None or final.status not in RETRY_STATUSES or attempt == retries:
                return
            wait = untrusted.delay(final.header("Retry-After"))
            wait = 2.0 ** (attempt + 1) if wait is None else wait
            if wait > self.config.max_retry_wait or wait >= deadline.remaining():
                # asked to come back later than we can wait: the check fails, the next run retries
                return
            log.info("%s answered %d; retrying in %.1fs", url, final.status, wait)
            capture.discard()
            capture.exchanges.clear()
            time.sleep(wait)

    def _follow(
        self, capture: Capture, url: str, headers: dict[str, str], deadline: Deadline, hops: _Hops
    ) -> None:
        seen: set[str] = set()
        while True:
            pin = (hops.checked(url) or self.check(url)) if hops.policy.checks(url) else None
            exchange = self._exchange(url, headers, deadline, pin)
            capture.exchanges.append(
                exchange
            )  # a broken answer too: what came is evidence of the failure
            if exchange.truncated in HEAD_CUT:
                raise FetchError(HEAD_CUT[exchange.truncated].format(deadline=self.config.deadline))
            if exchange.unframed is not None:
                raise FetchError(
                    f"the server sent an invalid Content-Length: {exchange.unframed!r}"
                )
            if not exchange.is_redirect:
                return
            seen.add(url)
            url = _redirect_target(url, exchange.header("Location") or "")
            if url in seen:
                raise FetchError(f"redirect loop at {url}")
            if len(capture.exchanges) > self.config.max_redirects:
                raise FetchError(f"more than {self.config.max_redirects} redirects")

    def check(self, url: str) -> Pin | None:
        """The addresses a hop to `url` may connect to, all public; PrivateAddress if one is not.

        None when a proxy makes the connection: it resolves the name itself, out of our reach.
        """
        parts = urlsplit(url)
        try:
            host = normalize_host(parts.hostname or "")
        except InvalidURL as exc:
            raise FetchError(str(exc)) from None
        port = parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
        try:
            addresses = public_addresses(host, port)
        except Unresolvable as exc:
            if self._proxied(url):
                return None
            raise FetchError(str(exc)) from None  # never resolved a second time, by the connection
        return None if self._proxied(url) else Pin(host, port, tuple(addresses))

    def _proxied(self, url: str) -> bool:
        session = self._session()
        proxies = get_environ_proxies(url) if session.trust_env else {}
        return select_proxy(url, {**proxies, **session.proxies}) is not None

    def _exchange(
        self, url: str, headers: dict[str, str], deadline: Deadline, pin: Pin | None
    ) -> Exchange:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise FetchError(f"deadline of {self.config.deadline:g}s exceeded")
        started = datetime.now(UTC)
        timeout = (
            min(self.config.connect_timeout, remaining),
            min(self.config.read_timeout, remaining),
        )
        # Only when the settings name the host: session.verify (verify_tls) holds for every other
        # one.
        verify = (
            False if _host(url) in self.config.insecure_tls_hosts else None
        )  # None: the session's
        with pinned(pin):
            response = self._session().get(
                url,
                headers=headers,
                stream=True,
                allow_redirects=False,
                timeout=timeout,
                verify=verify,
            )
        try:
            original = response.raw._original_response
            if not isinstance(
                original, CheckedResponse
            ):  # a SOCKS proxy's own connections: no bytes recorded
                raise FetchError(
                    "SOCKS proxies are not supported: the exchange could not be recorded as it "
                    "passed"
                )
            exchange = _exchange_from(original, url, started)
            if not original.head_complete:
                # No body can follow a head that never ended; the deadline cuts the socket, which
                # reads as a close.
                exchange.truncated = "time" if deadline.passed else "disconnect"
                return exchange
            if original.bad_length is not None:
                exchange.unframed = (
                    original.bad_length
                )  # where the body ends is unknown: none is read
                return exchange
            try:
                self._spool_body(response, original, exchange, deadline)
            except BaseException:
                exchange.discard()  # a half-read body is never kept
                raise
        finally:
            response.close()
        return exchange

    def _spool_body(
        self,
        response: requests.Response,
        original: CheckedResponse,
        exchange: Exchange,
        deadline: Deadline,
    ) -> None:
        """The payload to `exchange.body`; a chunked answer's body as framed on the wire to
        `exchange.framed`."""
        raw, tape = response.raw, original.tape
        digest = hashlib.sha1()
        cap = self.config.max_body_bytes
        exchange.body = self._spool_file()
        with contextlib.ExitStack() as files:
            # Unbuffered: a full disk shows at the write, not later.
            spool = files.enter_context(exchange.body.open("wb", buffering=0))
            if original.chunked:
                exchange.framed = self._spool_file()
                tape.sink = files.enter_context(exchange.framed.open("w+b", buffering=0))
            while True:
                if deadline.remaining() <= 0:
                    raise FetchError(
                        f"deadline of {self.config.deadline:g}s exceeded while reading the body"
                    )
                # read1 returns what has arrived, so a trickling server cannot hold us past the
                # deadline.
                chunk = raw.read1(CHUNK, decode_content=False)
                if tape.failure is not None:
                    raise unwritable(tape.failure, exchange.framed) or tape.failure
                if not chunk:
                    break
                if exchange.body_length + len(chunk) > cap:
                    kept = cap - exchange.body_length
                    with _disk(exchange.framed or exchange.body):
                        tape.drop(len(chunk) - kept)  # the record ends where the kept payload does
                    chunk = chunk[:kept]
                    exchange.truncated = "length"
                with _disk(exchange.body):
                    write_all(spool, chunk)
                digest.update(chunk)
                exchange.body_length += len(chunk)
                if exchange.truncated:
                    break
            tape.sink = None
        exchange.payload_digest = "sha1:" + base64.b32encode(digest.digest()).decode("ascii")

    def release(self, capture: Capture) -> None:
        """Hand back a settled capture's spooled bodies: the fetch threads delete them as they
        spool the next ones, and what is left goes with the spool folder at the end of the run.

        Not deleted by the caller: in the thread that settles pages a deletion, like every blocking
        call, waits again for the GIL behind the fetch threads (1.8 s of a 6 s run of 306 pages).
        """
        self._released.extend(capture.let_go())

    def _sweep(self) -> None:
        while self._released:
            try:
                path = self._released.popleft()
            except IndexError:  # another fetch thread took the last one
                return
            path.unlink(missing_ok=True)

    def _spool_file(self) -> Path:
        with _disk(self.spool_dir):
            self._sweep()
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=self.spool_dir, prefix="body-")
            os.close(fd)
        return Path(name)


@contextlib.contextmanager
def _disk(where: Path) -> Iterator[None]:
    """Writes to the spool: a disk that refuses them (full, read-only) stops the run (Unwritable),
    where any other OSError here, as in the network code around, fails this fetch alone."""
    try:
        yield
    except OSError as exc:
        raise unwritable(exc, where) or exc from None


def _exchange_from(original: CheckedResponse, url: str, started: datetime) -> Exchange:
    """The exchange as recorded by the connection: the bytes written and read, and what http.client
    parsed of them (for decisions; the record is the bytes)."""
    return Exchange(
        url=url,
        started=started,
        request=original.request_bytes,
        head=bytes(original.tape.head),
        http_version="HTTP/1.0" if original.version == 10 else "HTTP/1.1",
        status=original.status,
        reason=original.reason or "",
        headers=list(original.msg.raw_items()),
        peer_ip=original.peer.ip,
        peer_port=original.peer.port,
        handshake=original.handshake,
    )


def _host(url: str) -> str:
    try:
        return normalize_host(urlsplit(url).hostname or "")
    except InvalidURL:
        return ""


def _redirect_target(base: str, location: str) -> str:
    # Follow the Location exactly as given (evidence), only checking it is a URL we may fetch.
    target = untrusted.reference(base, location)
    if target is None:
        raise FetchError(
            "redirect to something that is not an http(s) URL: "
            f"{untrusted.printable(location)[:200]!r}"
        )
    return target


RETRY_STATUSES = (429, 503)


# Everything a broken or hostile server can make requests, urllib3 or http.client raise.
FETCH_ERRORS = (
    FetchError,
    requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)


def _describe(exc: Exception) -> str:
    if isinstance(exc, FetchError):
        return str(exc)
    cause = _innermost(exc)
    if isinstance(
        cause, http.client.LineTooLong
    ):  # its message: "got more than N bytes when reading <line>"
        line = str(cause).rpartition(" when reading ")[2] or "line"
        return f"the server sent a {line} longer than {MAX_LINE} bytes"
    if (
        isinstance(cause, http.client.HTTPException)
        and "more than" in str(cause)
        and "headers" in str(cause)
    ):
        return f"the server sent more than {MAX_HEADERS} headers"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS error: {_reason(exc)}"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if isinstance(
        exc, requests.exceptions.ReadTimeout | urllib3.exceptions.ReadTimeoutError | TimeoutError
    ):
        return "read timed out"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"connection failed: {_reason(exc)}"
    if isinstance(exc, urllib3.exceptions.ProtocolError | http.client.HTTPException | OSError):
        return f"connection broken: {_reason(exc)}"
    return f"request failed: {_reason(exc)}"


def _innermost(exc: BaseException) -> BaseException:
    """The exception at the bottom of the ones requests and urllib3 wrap around each other (in args
    too)."""
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        nested: list[BaseException | None] = [a for a in exc.args if isinstance(a, BaseException)]
        nested = nested or [exc.__cause__ or exc.__context__]
        if nested[0] is None:
            break
        exc = nested[0]
    return exc


def _reason(exc: Exception) -> str:
    # requests nests the useful part several levels down; the innermost message names the cause.
    inner = _innermost(exc)
    if isinstance(inner, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {inner.verify_message}"
    if isinstance(inner, socket.gaierror):
        return f"DNS lookup failed: {inner.strerror}"
    text = str(inner)
    return text.split(": ", 1)[-1] if "object at 0x" in text else text
