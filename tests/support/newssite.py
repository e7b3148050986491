"""A small news site on loopback that tests can edit, break and inspect while it runs."""

from __future__ import annotations

import gzip as gzipmod
import itertools
import socket
import threading
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Response:
    status: int = 200
    body: bytes | Callable[[], bytes] = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = "text/html; charset=utf-8"
    encoding: str | None = None  # "gzip" or "deflate": compress the body on the wire
    chunked: bool = False
    reason: str | None = None


class Site:
    """Routes map a path (with query) to a Response, or to a callable returning one per request."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.routes: dict[str, Response | Callable[[BaseHTTPRequestHandler], Response]] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[dict[str, str]] = []
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> Site:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in separate writes: without this, Nagle's algorithm and
                # the client's delayed ACK add ~40 ms to every response.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:
                site._serve(self)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        # Non-blocking accept: a client that connects and resets before accept() would otherwise
        # hang serve_forever inside accept(), and stop() with it.
        self._server.socket.setblocking(False)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def page(self, path: str, html: str | Callable[[], str], **kwargs: object) -> None:
        body = (lambda: html().encode("utf-8")) if callable(html) else html.encode("utf-8")
        self.routes[path] = Response(body=body, **kwargs)  # type: ignore[arg-type]

    def redirect(self, path: str, to: str, status: int = 301) -> None:
        self.routes[path] = Response(status=status, headers=[("Location", to)], content_type=None)

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        self.hits[handler.path] += 1
        self.requests.append({"path": handler.path, **{k: v for k, v in handler.headers.items()}})
        route = self.routes.get(handler.path)
        if route is None:
            route = Response(
                status=404, body=b"<html><title>Not found</title><body>Not found</body></html>"
            )
        response = route(handler) if callable(route) else route
        body = response.body() if callable(response.body) else response.body
        if response.encoding == "gzip":
            body = gzipmod.compress(body)
        elif response.encoding == "deflate":
            body = zlib.compress(body)
        handler.send_response(response.status, response.reason)
        if response.content_type:
            handler.send_header("Content-Type", response.content_type)
        if response.encoding:
            handler.send_header("Content-Encoding", response.encoding)
        for name, value in response.headers:
            handler.send_header(name, value)
        if response.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            for piece in _pieces(body, 7):
                handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            handler.wfile.write(b"0\r\n\r\n")
        else:
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)


def _pieces(data: bytes, count: int) -> list[bytes]:
    size = max(1, len(data) // count + 1)
    return [data[i : i + size] for i in range(0, len(data), size)]


_counter = itertools.count()


def article(
    title: str,
    paragraphs: list[str],
    links: list[tuple[str, str]] = (),
    author: str = "Jane Doe",
    published: str = "2026-11-20T09:00:00Z",
    noise: bool = True,
) -> str:
    """A news page; with `noise`, the ads, timestamps, tokens and sidebars differ on every call."""
    n = next(_counter)
    cited = "".join(
        f'<p>As reported in <a href="{href}">{text}</a>, the matter is disputed.</p>'
        for href, text in links
    )
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    rotating = (
        (
            f'<div class="ad">Sponsored: offer {n} ends soon</div><script>var token="{n:032x}";'
            f'</script><aside class="sidebar"><h3>Trending</h3><ul><li><a href="/trend/{n}">'
            f"Trending story {n}</a></li><li><a href='/trend/{n + 1}'>Another story {n + 1}</a>"
            f"</li></ul></aside><p class='timestamp'>Page generated at 10:{n % 60:02d}:{n % 59:02d}"
            "</p>"
        )
        if noise
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | The Daily Loopback</title>
<meta name="author" content="{author}">
<meta property="article:published_time" content="{published}">
<meta name="csrf-token" content="{n:016x}"></head>
<body>
<header><nav><a href="/">Home</a> <a href="/politics">Politics</a> <a href="/world">World</a></nav></header>
{rotating}
<main><article>
<h1>{title}</h1>
{body}
{cited}
</article></main>
<footer><a href="/about">About us</a> <a href="/privacy">Privacy</a> © The Daily Loopback</footer>
</body></html>"""


def pdf(lines: list[str], title: str = "") -> bytes:
    """A minimal, valid one-page PDF showing `lines` in Helvetica (no library needed to make
    one)."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    content = (
        "BT /F1 11 Tf 14 TL 72 760 Td "
        + " ".join(f"({escape(line)}) Tj T*" for line in lines)
        + " ET"
    )
    info = f"<< /Title ({escape(title)}) >>" if title else "<< >>"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        info,
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
