"""Which hosts a page may point us at: private, loopback and link-local addresses are refused.

Protects a server running archiver from cron against pages that cite internal services.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class PrivateAddress(Exception):
    """The URL's host is, or resolves to, an address outside the public internet."""


def check_public(url: str) -> None:
    """Raise PrivateAddress if any address the URL's host resolves to is not global."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or 80, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return  # unresolvable: the fetch itself reports the DNS failure
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global:
            raise PrivateAddress(f"{host} resolves to non-public address {address}")
