"""Which addresses a fetch may go to, and the addresses a checked connection may go to.

Private, loopback and link-local addresses are refused, hop by hop, for every request (cited
sources, robots.txt, wherever a redirect leads): this protects a server running archiver from cron
against pages that point at internal services. Only an origin the user named for a tracked article
(`AddressPolicy.trusted`) is fetched wherever it is. The addresses found public are the ones
connected to (`pinned`): resolving the name again to connect would let a DNS answer that changes in
between (DNS rebinding) send the request to an internal address after all.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import InvalidURL
from ..urls import DEFAULT_PORTS, normalize_host


class PrivateAddress(Exception):
    """The URL's host is, or resolves to, an address outside the public internet."""


class Unresolvable(Exception):
    """The host name has no address (DNS failure)."""


# IPv6 ranges that carry an IPv4 address in their last 32 bits: NAT64's well-known prefix (RFC
# 6052), the deprecated IPv4-compatible addresses, and SIIT's IPv4-translated ones. Python counts
# them global whatever the address inside, which is the one a translator on the path connects to.
_EMBEDDING = tuple(ipaddress.IPv6Network(n) for n in ("64:ff9b::/96", "::/96", "::ffff:0:0:0/96"))
# Local-use NAT64 (RFC 8215): a network's own translator, inward by definition.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


@dataclass(frozen=True)
class AddressPolicy:
    """Which requests are held to public addresses: every one, unless the settings allow private
    addresses, except those to an origin (scheme://host:port) the user named for a tracked
    article."""

    allow_private: bool = False
    trusted: frozenset[str] = frozenset()

    def checks(self, url: str) -> bool:
        return not self.allow_private and origin(url) not in self.trusted


OPEN = AddressPolicy(allow_private=True)  # every address allowed: the settings' allow_private


def origin(url: str) -> str:
    """`scheme://host:port` of `url` as connections see it (host normalized, default port written);
    "" if bad."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        return f"{scheme}://{normalize_host(parts.hostname or '')}:{parts.port or DEFAULT_PORTS.get(scheme, 0)}"
    except (ValueError, InvalidURL):
        return ""


def check_public(url: str) -> None:
    """Raise PrivateAddress if any address the URL's host resolves to is not global.

    An unresolvable host passes: the fetch, which checks again, reports the DNS failure.
    """
    parts = urlsplit(url)
    try:
        public_addresses(parts.hostname or "", parts.port or 80)
    except Unresolvable:
        return


def public_addresses(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, all of them global; else PrivateAddress (or
    Unresolvable)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(
            f"cannot resolve {host}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        inner = _inner(address)
        if not address.is_global or address in _LOCAL_NAT64:
            raise PrivateAddress(f"{host} resolves to non-public address {address}")
        if inner is not None and not inner.is_global:
            raise PrivateAddress(
                f"{host} resolves to non-public address {inner} (inside {address})"
            )
    return addresses


def _inner(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, Teredo...), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in network for network in _EMBEDDING):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def same_host(a: str, b: str) -> bool:
    """Host names compared as connections see them (case, IPv6 brackets and a trailing dot
    aside)."""
    return a.strip("[]").rstrip(".").lower() == b.strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class Pin:
    """While a checked fetch runs, its thread connects only to `host`:`port`, only at
    `addresses`."""

    host: str
    port: int
    addresses: tuple[str, ...]

    def allows(self, host: str, port: int) -> bool:
        return port == self.port and same_host(host, self.host)

    def holds(self, address: str) -> bool:
        return address.split("%", 1)[0] in {a.split("%", 1)[0] for a in self.addresses}


_local = threading.local()


@contextmanager
def pinned(pin: Pin | None) -> Iterator[None]:
    """Hold the calling thread's connections to `pin` (None: no pin) while the block runs."""
    previous = getattr(_local, "pin", None)
    _local.pin = pin
    try:
        yield
    finally:
        _local.pin = previous


def current_pin() -> Pin | None:
    return getattr(_local, "pin", None)
