"""What a TLS connection's handshake showed of the server that answered: the certificate chain it
presented, the protocol, cipher and ALPN agreed, the SNI name sent, and the address connected to.

Read from the socket itself, once per connection, by the transport (`transport.py`): the evidence
of who served the bytes is the connection that carried them, not a second one made afterwards.
Reading never raises: a fact that cannot be read is left out and the reason kept in `error`.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# Where the chain was read from: Python 3.13's public call, the private one CPython has had since
# 3.10, or only the leaf where neither exists (a chain of one certificate, not the whole chain).
PUBLIC_CHAIN = "get_unverified_chain"
PRIVATE_CHAIN = "_sslobj.get_unverified_chain"
LEAF_ONLY = "getpeercert"
NO_CHAIN = "none"


@dataclass(frozen=True)
class Peer:
    """The address a connection went to: for plain HTTP, all a WARC keeps of it is the IP."""

    ip: str | None
    port: int | None


@dataclass(frozen=True)
class Handshake:
    """One TLS connection's facts, as its client saw them."""

    version: str | None  # e.g. "TLSv1.3"
    cipher: str | None  # e.g. "TLS_AES_256_GCM_SHA384"
    alpn: str | None  # the application protocol agreed, if any was
    sni: str | None  # the server name sent (None: none was, as for an IP address)
    verified: bool  # the certificate was checked against the trust store (not an insecure host)
    chain: tuple[bytes, ...]  # DER, leaf first, as the server presented it
    chain_source: str  # PUBLIC_CHAIN, PRIVATE_CHAIN, LEAF_ONLY or NO_CHAIN
    error: str | None = None  # why a fact is missing


def peer_of(sock: Any) -> Peer:
    """The IP and port `sock` is connected to, or what of them can be read."""
    try:
        address = sock.getpeername()
        return Peer(str(address[0]), int(address[1]))
    except (OSError, IndexError, TypeError, ValueError, AttributeError):
        return Peer(None, None)


def handshake_of(sock: Any) -> Handshake | None:
    """The handshake of a TLS socket (an `ssl.SSLSocket`, or urllib3's `SSLTransport` through an
    HTTPS proxy); None for a plain socket."""
    if isinstance(sock, socket.socket) and not isinstance(sock, ssl.SSLSocket):
        return None
    if not callable(getattr(sock, "cipher", None)):
        return None
    errors: list[str] = []
    # urllib3's SSLTransport keeps its ssl.SSLObject as `sslobj`; an SSLSocket is its own.
    tls = getattr(sock, "sslobj", sock)
    chain, source = _chain(sock, tls, errors)
    cipher = _call(sock, "cipher", errors)
    context = getattr(tls, "context", None)
    return Handshake(
        version=_call(sock, "version", errors),
        cipher=str(cipher[0]) if cipher else None,
        alpn=_call(sock, "selected_alpn_protocol", errors),
        sni=_sni(getattr(tls, "server_hostname", None)),
        verified=getattr(context, "verify_mode", ssl.CERT_NONE) != ssl.CERT_NONE,
        chain=chain,
        chain_source=source,
        error="; ".join(errors) or None,
    )


def _sni(name: str | None) -> str | None:
    """The name the handshake sent: ssl checks the certificate against an IP address, but never
    sends one as SNI (RFC 6066 §3)."""
    if not name:
        return None
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return name
    return None


def _call(sock: Any, name: str, errors: list[str]) -> Any:
    try:
        return getattr(sock, name)()
    except (OSError, ValueError, AttributeError) as exc:
        errors.append(f"{name}: {exc}")
        return None


def _chain(sock: Any, tls: Any, errors: list[str]) -> tuple[tuple[bytes, ...], str]:
    """The chain as presented, leaf first, and which call gave it."""
    for source, owner in ((PUBLIC_CHAIN, tls), (PRIVATE_CHAIN, getattr(tls, "_sslobj", None))):
        read = getattr(owner, "get_unverified_chain", None)
        if read is None:
            continue
        try:
            certs = read() or []
            return tuple(_der(cert) for cert in certs), source
        # A private call: whatever it raises, the leaf is still worth having.
        except Exception as exc:
            errors.append(f"{source}: {exc}")
    try:
        leaf = sock.getpeercert(binary_form=True)
    except (OSError, ValueError, AttributeError) as exc:
        errors.append(f"getpeercert: {exc}")
        leaf = None
    return ((leaf,), LEAF_ONLY) if leaf else ((), NO_CHAIN)


def _der(cert: Any) -> bytes:
    # The public call gives DER bytes; the private one `_ssl.Certificate` objects.
    if isinstance(cert, bytes):
        return cert
    return bytes(cert.public_bytes(ssl._ssl.ENCODING_DER))  # type: ignore[attr-defined]
