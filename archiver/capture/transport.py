"""The connections requests makes here: cut by the fetch deadline, and pinned to the checked
address.

requests offers no hook to the socket, so urllib3 connection and pool classes of our own do both:
- each connection registers its socket with the fetching thread's `Deadline`, which shuts it down when
  time runs out;
- each response records the bytes as they pass (`Tape`): the request as written, the status line, headers and
  body as read, framing included, so the WARC holds what the wire carried, not what was parsed from it;
- each response knows whether its head arrived whole (`CheckedResponse`): http.client takes a connection closed
  inside the headers for their end, and the answer for a whole one;
- each response carries the address its connection went to and, over TLS, that connection's handshake
  (`handshake.py`: the certificate chain presented, version, cipher, ALPN, SNI), read once per connection;
- under `addresses.pinned`, a connection goes to the addresses that were checked instead of resolving
  the name again (the Host header, SNI and the certificate check still use the name), a connection to
  any other host is refused, and a pooled connection to an address not checked now is dropped;
- a request that a kept-alive connection lost unanswered (the server closed it as the request went
  out) goes again on another connection (`AgainIfStale`), as browsers do; nothing else is retried here.
"""

from __future__ import annotations

import http.client
import io
import logging
import os
import socket
from types import TracebackType
from typing import Any, BinaryIO

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import ConnectionPool, HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError
from urllib3.response import BaseHTTPResponse
from urllib3.util.connection import create_connection
from urllib3.util.retry import Retry

from .addresses import Pin, current_pin
from .chunked import size_of
from .deadline import passed, register
from .framing import content_length
from .handshake import Handshake, Peer, handshake_of, peer_of

# http.client's bounds on a head, which our messages name: private, so typeshed does not declare
# them.
MAX_LINE: int = http.client._MAXLINE  # type: ignore[attr-defined]
MAX_HEADERS: int = http.client._MAXHEADERS  # type: ignore[attr-defined]
# Connections kept per host by a fetching thread; a stale request may meet each of them in turn.
POOL_SIZE = 4

log = logging.getLogger(__name__)


def _connect_pinned(conn: HTTPConnection, pin: Pin) -> socket.socket:
    """A socket to the first of the pinned addresses that answers, with urllib3's own errors."""
    if not pin.allows(conn.host, conn.port):
        raise NewConnectionError(
            conn,
            f"refusing to connect to {conn.host}:{conn.port}: not the host checked, "
            f"{pin.host}:{pin.port}",
        )
    error: Exception | None = None
    for address in pin.addresses:
        try:
            return create_connection(
                (address, conn.port),
                conn.timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except TimeoutError:
            error = ConnectTimeoutError(
                conn,
                f"Connection to {conn.host} ({address}) timed out. "
                f"(connect timeout={conn.timeout})",
            )
        except OSError as exc:
            error = NewConnectionError(
                conn, f"Failed to establish a new connection to {address}: {exc}"
            )
    assert error is not None, "a pin always holds an address"
    raise error


class Tape:
    """A response's socket file, recording every byte http.client takes from it, in order.

    The head (status line to the blank line) is kept in memory: http.client bounds it (65,536 bytes
    a line, 100 header lines). The body's bytes go to `sink` once the reader gives one (a spool
    file), or are only counted: where no transfer coding frames the body, they are the payload,
    spooled already. Interim 1xx answers are dropped from the head: the record holds the final
    answer.
    """

    def __init__(self, fp: io.BufferedReader) -> None:
        self.fp = fp
        self.head = bytearray()
        self.head_ended = False
        self.sink: BinaryIO | None = None
        self.body_bytes = 0
        self.failure: OSError | None = (
            None  # the sink refused a write (a full disk): the reader raises it
        )

    def restart(self) -> None:
        """A status line is about to be read: what came before it was an interim answer."""
        self.head.clear()
        self.head_ended = False

    def _keep(self, data: bytes | memoryview) -> None:
        if not self.head_ended:
            self.head += data
        elif data:
            self.body_bytes += len(data)
            if self.sink is not None:
                try:
                    write_all(self.sink, data)
                except OSError as exc:  # raised here, urllib3 would report a broken connection
                    self.sink, self.failure = None, exc

    def readline(self, limit: int = -1) -> bytes:
        line = self.fp.readline(limit)
        self._keep(line)
        if not self.head_ended and len(self.head) > len(
            line
        ):  # the status line never ends the head
            self.head_ended = line in (
                b"\r\n",
                b"\n",
            )  # b"" is the connection closing: http.client stops too
        return line

    def read(self, size: int = -1) -> bytes:
        data = self.fp.read(size)
        self._keep(data)
        return data

    def read1(self, size: int = -1) -> bytes:
        data = self.fp.read1(size)
        self._keep(data)
        return data

    def readinto(self, buffer: Any) -> int:
        count = self.fp.readinto(buffer)
        self._keep(memoryview(buffer)[:count])
        return count

    def drop(self, count: int) -> None:
        """Forget the last `count` body bytes read: the part of a read past the body's size
        limit."""
        self.body_bytes -= count
        if self.sink is not None and count:
            self.sink.truncate(self.sink.seek(-count, os.SEEK_END))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fp, name)


def write_all(out: BinaryIO, data: bytes | memoryview) -> None:
    """Write all of `data`."""
    view = memoryview(data)
    while view:  # an unbuffered file may take part of a write
        view = view[out.write(view) or 0 :]


class InvalidChunkSize(http.client.HTTPException):
    """A chunk-size line that is not hex digits: where the chunk ends is a guess, so the answer is
    refused."""

    def __init__(self, line: bytes) -> None:
        super().__init__(f"invalid chunk size {line[:40]!r}")


class CheckedResponse(http.client.HTTPResponse):
    """An HTTPResponse whose bytes are recorded as read (`tape`), that knows whether the blank line
    ending its headers arrived (`head_complete`), and whether its Content-Length is one
    (`bad_length`: the value, when it is not). The connection adds the request's bytes as written
    (`request_bytes`), the peer's address, and the TLS handshake that carried it (`handshake`)."""

    head_complete = True
    bad_length: str | None = None
    request_bytes = b""
    peer = Peer(None, None)
    handshake: Handshake | None = None

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        self.tape = Tape(self.fp)
        self.fp = self.tape  # type: ignore[assignment]

    def _read_status(self) -> tuple[str, int, str]:
        self.tape.restart()
        # Private to http.client, so typeshed does not declare it.
        status: tuple[str, int, str] = super()._read_status()  # type: ignore[misc]
        return status

    def _read_next_chunk_size(self) -> int:
        """The next chunk's size, its line held to the grammar (chunked.size_of), which http.client
        is not."""
        line = self.fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("chunk size")
        size = size_of(line)
        if size is None:
            raise InvalidChunkSize(line)
        return size

    def begin(self) -> None:
        if self.headers is not None:
            return
        super().begin()
        self.head_complete = self.tape.head_ended
        self.bad_length = _bad_length(self.headers.get_all("Content-Length") or [], self.chunked)


def _bad_length(values: list[str], chunked: bool) -> str | None:
    """The Content-Length value that frames no message (RFC 9112 §6.3: ASCII digits, or a list of
    the same number), which http.client would read with int(): "+5", "1_000" or Arabic-Indic digits.
    None when sound."""
    if chunked or not values or content_length(values) is not None:
        # chunked framing rules (Content-Length is ignored), or no length: read to the close
        return None
    return ", ".join(values)


class StaleConnection(http.client.RemoteDisconnected):
    """A kept-alive connection the server closed before answering the request sent on it: the
    request was never answered, and may go again."""


class _Guarded(HTTPConnection):
    """Mixed into urllib3's connection classes: connect to the pinned address; cut by the deadline;
    responses that know whether their head is whole."""

    response_class: type[http.client.HTTPResponse] = CheckedResponse
    _answered = 0  # answers the current socket has carried
    # The socket whose handshake was read last, and what it showed: read once per connection.
    _shaken: tuple[object, Handshake | None] = (None, None)

    def _new_conn(self) -> socket.socket:
        self._answered = 0
        pin = current_pin()
        return super()._new_conn() if pin is None else _connect_pinned(self, pin)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sent = (
            bytearray()
        )  # the bytes of the request being sent (a proxy's CONNECT first, when tunnelling)

    def putrequest(self, *args: Any, **kwargs: Any) -> None:
        self._sent = bytearray()
        super().putrequest(*args, **kwargs)

    def send(self, data: Any) -> None:
        if isinstance(
            data, bytes | bytearray | memoryview
        ):  # a GET sends its head in one piece, no body
            self._sent += data
        super().send(data)

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        sock = self.sock
        register(sock)
        try:
            response = super().getresponse(*args, **kwargs)
        except (ConnectionResetError, BrokenPipeError) as exc:
            # A new connection closed unanswered is the server's answer; a reused one may have been
            # closed as the request went out (an idle timeout), and a deadline's cut reads the same.
            if self._answered and not passed():
                raise StaleConnection(str(exc)) from exc
            raise
        self._answered += 1
        original = response._original_response
        if isinstance(
            original, CheckedResponse
        ):  # always, by response_class; the fetch refuses any other
            original.request_bytes = bytes(self._sent)
            original.peer = peer_of(sock)
            original.handshake = self._handshake(sock)
        return response

    def _handshake(self, sock: object) -> Handshake | None:
        if self._shaken[0] is not sock:
            self._shaken = (sock, handshake_of(sock))
        return self._shaken[1]


class _GuardedHTTPConnection(_Guarded, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_Guarded, HTTPSConnection):
    pass


def _checked(conn: Any) -> Any:
    """`conn`, closed first if it is connected to an address the current pin does not hold."""
    pin = current_pin()
    if pin is not None and conn is not None and conn.sock is not None:
        try:
            peer = conn.sock.getpeername()[0]
        except OSError:
            peer = ""
        if not pin.holds(peer):
            conn.close()  # reconnects to a pinned address when used
    return conn


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        return _checked(super()._get_conn(timeout))


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        return _checked(super()._get_conn(timeout))


POOLS = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


class AgainIfStale(Retry):
    """urllib3's retries, kept to one case: a request a kept-alive connection lost unanswered
    (`StaleConnection`) goes again, on the next pooled connection or a new one. Any other failure
    is the fetch's outcome at once, and a 429 or 503 is the fetcher's to retry by its own rules."""

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> AgainIfStale:
        if error is not None and not _stale(error):
            # What requests does without retries: raise a MaxRetryError, or the error itself.
            NO_RETRY.increment(method, url, response, error, _pool, _stacktrace)
            raise error  # not reached: a retry with none left always raises
        log.info("%s: the kept-alive connection closed unanswered; sending again", url)
        return super().increment(method, url, response, error, _pool, _stacktrace)

    @classmethod
    def allowing(cls, attempts: int) -> AgainIfStale:
        return cls(
            total=attempts,
            connect=0,
            read=attempts,
            redirect=0,
            status=0,
            other=0,
            respect_retry_after_header=False,
            raise_on_status=False,
        )


NO_RETRY = Retry(0, read=False)


def _stale(error: Exception) -> bool:
    # urllib3 wraps what the connection raised: ProtocolError("Connection aborted.", cause).
    return isinstance(error, ProtocolError) and any(
        isinstance(arg, StaleConnection) for arg in error.args
    )


class GuardedAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections obey the fetching thread's `Deadline` and address pin, and
    whose requests lost by a stale kept-alive connection go again (once per pooled connection)."""

    def __init__(self) -> None:
        super().__init__(
            pool_connections=POOL_SIZE,
            pool_maxsize=POOL_SIZE,
            max_retries=AgainIfStale.allowing(POOL_SIZE + 1),
        )

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith(
            "socks"
        ):  # SOCKS managers bring connection classes of their own
            manager.pool_classes_by_scheme = POOLS
        return manager
