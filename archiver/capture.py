"""What one fetch of one URL produced: the HTTP exchanges (redirect hops, then the answer) or an error."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass
class Exchange:
    """One HTTP request and its response, as sent and as received."""

    url: str
    started: datetime
    method: str
    request_target: str  # path and query as sent on the request line
    request_headers: list[tuple[str, str]]
    http_version: str  # e.g. "HTTP/1.1"
    status: int
    reason: str
    headers: list[tuple[str, str]]  # as received (order, case, duplicates), minus Transfer-Encoding
    body: Path | None = None  # spooled body bytes as sent (content-coded, de-chunked)
    body_length: int = 0
    payload_digest: str = ""  # "sha1:<base32>", the WARC payload digest of `body`
    truncated: str | None = None  # WARC-Truncated reason: "length", "time" or "disconnect"
    peer_ip: str | None = None
    unframed: str | None = None  # an invalid Content-Length received: the body's end unknown, none read

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
        return self.exchanges[-1] if self.exchanges else None

    @property
    def final_url(self) -> str:
        return self.final.url if self.final else self.url

    def discard(self) -> None:
        """Delete the spooled bodies once they are written (or not needed)."""
        for exchange in self.exchanges:
            if exchange.body is not None:
                exchange.body.unlink(missing_ok=True)
                exchange.body = None
