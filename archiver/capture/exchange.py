"""What one fetch of one URL produced: the HTTP exchanges (redirect hops, then the answer) or an
error."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .handshake import Handshake


class NotCaptured(RuntimeError):
    """An answer or a body used where none was captured: a bug in the caller (exit 70), never bad
    input."""


@dataclass
class Exchange:
    """One HTTP request and its response: the bytes as written and read, and what was parsed of
    them."""

    url: str
    started: datetime
    request: bytes  # the request as written to the connection
    # the answer's status line and header block as read, blank line included (when it came)
    head: bytes
    http_version: str  # e.g. "HTTP/1.1"
    status: int
    reason: str
    headers: list[
        tuple[str, str]
    ]  # as parsed from `head` (order, case, duplicates kept), for decisions
    body: Path | None = (
        None  # spooled payload: the body as sent, content-coded, transfer coding removed
    )
    framed: Path | None = (
        None  # the body as read, when a transfer coding framed it (chunked): the record's
    )
    body_length: int = 0
    payload_digest: str = ""  # "sha1:<base32>", the WARC payload digest of `body`
    truncated: str | None = None  # WARC-Truncated reason: "length", "time" or "disconnect"
    peer_ip: str | None = None
    peer_port: int | None = None
    handshake: Handshake | None = None  # the TLS connection's facts (None: plain HTTP)
    unframed: str | None = (
        None  # an invalid Content-Length received: the body's end unknown, none read
    )

    def discard(self) -> None:
        for path in self.let_go():
            path.unlink(missing_ok=True)

    def let_go(self) -> list[Path]:
        """The spooled files, forgotten here: whoever takes them deletes them."""
        paths = [path for path in (self.body, self.framed) if path is not None]
        self.body = self.framed = None
        return paths

    @property
    def spooled_body(self) -> Path:
        """`body`, where the caller knows one was read and not yet discarded; NotCaptured where it
        was not."""
        if self.body is None:
            raise NotCaptured(f"no body of {self.url} is spooled")
        return self.body

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def content_type(self) -> str:
        value = self.header("Content-Type") or ""
        return value.split(";", 1)[0].strip().lower()

    @property
    def is_redirect(self) -> bool:
        return self.status in (301, 302, 303, 307, 308) and bool(self.header("Location"))


@dataclass
class Capture:
    """The result of fetching one URL: every exchange, and an error if the fetch failed."""

    url: str
    started: datetime
    exchanges: list[Exchange] = field(default_factory=list)
    error: str | None = None
    blocked: str | None = None  # not fetched by policy (a private address), with the reason
    duration: float = 0.0

    @property
    def final(self) -> Exchange | None:
        """The last exchange: the answer, or the hop or broken answer a failed fetch ended at; None
        if none came."""
        return self.exchanges[-1] if self.exchanges else None

    @property
    def answer(self) -> Exchange:
        """The final exchange, where the caller knows an answer came (its verdict is not a failure
        for want of one); NotCaptured where none did."""
        if not self.exchanges:
            raise NotCaptured(f"no answer from {self.url} was captured")
        return self.exchanges[-1]

    @property
    def final_url(self) -> str:
        return self.final.url if self.final else self.url

    def discard(self) -> None:
        """Delete the spooled bodies once they are written (or not needed)."""
        for exchange in self.exchanges:
            exchange.discard()

    def let_go(self) -> list[Path]:
        """Every exchange's spooled files, forgotten here: whoever takes them deletes them."""
        return [path for exchange in self.exchanges for path in exchange.let_go()]
