"""Which hosts a page may point us at, and the addresses a checked connection may go to.

Private, loopback and link-local addresses are refused: protects a server running archiver from cron
against pages that cite internal services. The addresses found public are the ones connected to
(`pinned`): resolving the name again to connect would let a DNS answer that changes in between
(DNS rebinding) send the request to an internal address after all.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit


class PrivateAddress(Exception):
    """The URL's host is, or resolves to, an address outside the public internet."""


class Unresolvable(Exception):
    """The host name has no address (DNS failure)."""


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
    """Every address `host` resolves to, all of them global; else PrivateAddress (or Unresolvable)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"cannot resolve {host}: {getattr(exc, 'strerror', None) or exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global:
            raise PrivateAddress(f"{host} resolves to non-public address {address}")
    return addresses


def same_host(a: str, b: str) -> bool:
    """Host names compared as connections see them (case, IPv6 brackets and a trailing dot aside)."""
    return a.strip("[]").rstrip(".").lower() == b.strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class Pin:
    """While a checked fetch runs, its thread connects only to `host`:`port`, only at `addresses`."""

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
