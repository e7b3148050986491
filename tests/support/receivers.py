"""Real notification receivers on loopback: an SMTP server (aiosmtpd) and a JSON webhook (http.server),
each keeping what it received, for `[notify]` targets in tests."""

from __future__ import annotations

import json
import queue
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

WAIT = 30.0  # seconds a test waits for a message it expects: generous, never a sleep


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Smtp:
    """An SMTP server on loopback; `port` is chosen at once, the server listens only once started
    (a target that is down, then up)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: queue.Queue[EmailMessage] = queue.Queue()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=archiver@example.org&to=desk@example.org"

    def start(self) -> Smtp:
        received = self.received

        class Handler:
            async def handle_DATA(self, server, session, envelope) -> str:
                received.put(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def next(self) -> tuple[str, str]:
        """(subject, plain-text body) of the next message received."""
        mail = self.received.get(timeout=WAIT)
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None
        return str(mail["Subject"]), body.get_content()


class Webhook:
    """An HTTP server on loopback keeping the JSON body of every POST."""

    def __init__(self) -> None:
        received: queue.Queue[dict] = queue.Queue()
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received.put(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def next(self) -> dict:
        return self.received.get(timeout=WAIT)
