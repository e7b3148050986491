"""A hostile HTTP server on loopback: each path answers with a script of raw bytes, pauses, resets.

http.server (tests/support/newssite.py) only speaks correct HTTP; the cases here need a server that
trickles, never stops, lies about lengths and charsets, resets the connection or closes without a
word. One request per connection: every scripted answer closes (or breaks) the connection
afterwards.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

HEAD_LIMIT = 64 * 1024


@dataclass
class Conn:
    """One accepted connection, handed to a route's script."""

    sock: socket.socket
    stop: threading.Event
    target: str  # the request target as received (a path, or an absolute URL when used as a proxy)
    head: bytes  # the whole request head
    sent: bytearray = field(
        default_factory=bytearray
    )  # every byte sent on this connection, in order

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)
        self.sent += data

    def trickle(self, data: bytes, interval: float) -> None:
        """Send `data` one byte at a time, `interval` seconds apart, until done or the server
        stops."""
        for i in range(len(data)):
            if self.stop.wait(interval):
                return
            self.sock.sendall(data[i : i + 1])
            self.sent += data[i : i + 1]

    def wait(self, seconds: float) -> None:
        self.stop.wait(seconds)

    def reset(self) -> None:
        """Abort with a TCP RST instead of a clean close (SO_LINGER with a zero timeout)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


Script = Callable[[Conn], None]


@dataclass
class Hostile:
    """Routes map a request path (or a full URL, for proxy requests) to a script; others go to
    `fallback`."""

    host: str = "127.0.0.1"
    tls: ssl.SSLContext | None = None
    routes: dict[str, Script] = field(default_factory=dict)
    fallback: Script | None = None  # for paths without a route (None: 404 Not Found)
    targets: list[str] = field(default_factory=list)  # every request target received, in order
    heads: list[bytes] = field(default_factory=list)  # every request head received, in order
    conns: list[Conn] = field(
        default_factory=list
    )  # every connection served, in order: what it received and sent
    _stop: threading.Event = field(default_factory=threading.Event)
    _sock: socket.socket | None = None
    _acceptor: threading.Thread | None = None

    def start(self) -> Hostile:
        self._sock = socket.create_server((self.host, 0))
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it
            self._acceptor.join(5)
            # Closed only now: a descriptor number closed under a blocked accept() is soon another
            # server's, and that accept() would then take the next test's connections.
            self._sock.close()

    @property
    def port(self) -> int:
        assert self._sock is not None
        return self._sock.getsockname()[1]

    def url(self, path: str = "/") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}{path}"

    def served(self, path: str) -> list[Conn]:
        """The connections that asked for `path`, in order."""
        return [
            c
            for c in self.conns
            if (urlsplit(c.target).path if "://" in c.target else c.target) == path
        ]

    def paths(self) -> list[str]:
        return [urlsplit(t).path if "://" in t else t for t in self.targets]

    def answer(
        self,
        path: str,
        body: bytes = b"",
        status: str = "200 OK",
        headers: Iterable[tuple[str, str]] = (("Content-Type", "text/html; charset=utf-8"),),
    ) -> None:
        self.routes[path] = lambda conn: conn.send(response(status, headers, body))

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_side=True)
            head = _read_head(sock)
            target = head.split(b" ", 2)[1].decode("latin-1") if head.count(b" ") >= 2 else ""
            self.targets.append(target)
            self.heads.append(head)
            script = (
                self.routes.get(target)
                or self.routes.get(urlsplit(target).path)
                or self.fallback
                or not_found
            )
            conn = Conn(sock, self._stop, target, head)
            self.conns.append(conn)
            script(conn)
        except (OSError, ssl.SSLError):
            pass  # the client gave up, or the script broke the connection on purpose
        finally:
            with contextlib.suppress(OSError):
                sock.close()


def _read_head(sock: socket.socket) -> bytes:
    sock.settimeout(5)
    head = b""
    while b"\r\n\r\n" not in head and len(head) < HEAD_LIMIT:
        data = sock.recv(4096)
        if not data:
            break
        head += data
    sock.settimeout(None)
    return head


def response(
    status: str, headers: Iterable[tuple[str, str]] = (), body: bytes = b"", length: bool = True
) -> bytes:
    """A whole HTTP/1.1 answer as bytes; `length` False leaves the body delimited by the close."""
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers), "Connection: close"]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunk(data: bytes, extension: bytes = b"") -> bytes:
    """One chunk of the chunked transfer coding (with a chunk extension, such as b";name=value")."""
    return b"%x%s\r\n%s\r\n" % (len(data), extension, data)


# A page of council minutes as raw bytes: its head, and a paragraph block to repeat as long as a
# test needs.
HTML_HEAD = (
    b"<html><head><title>Endless minutes</title></head><body><article><h1>Endless minutes</h1>"
)
MINUTES = (
    b"<p>The council met again and the minutes of the previous meeting were read aloud in full.</p>\n"
    * 40
)


def not_found(conn: Conn) -> None:
    conn.send(response("404 Not Found", [("Content-Type", "text/plain")], b"not found"))


def endless(head: bytes, piece: bytes, seconds: float = 10.0) -> Script:
    """Send `head`, then `piece` again and again until the client stops reading (or `seconds`
    pass)."""

    def script(conn: Conn) -> None:
        conn.send(head)
        end = time.monotonic() + seconds
        while time.monotonic() < end and not conn.stop.is_set():
            conn.send(piece)

    return script


def page(title: str, paragraphs: list[str], links: Iterable[str] = (), head: str = "") -> str:
    """A plain article page, long enough for the extractor to take it for one."""
    cited = "".join(
        f'<p>The claim rests on <a href="{href}">a cited source</a>, officials said.</p>'
        for href in links
    )
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html><head>{head}<title>{title}</title></head><body><article><h1>{title}"
        f"</h1>{body}{cited}</article></body></html>"
    )
