"""A capture's connection record: who served the bytes of an HTTPS answer.

Beside every HTTPS response it writes, `warc.py` writes a metadata record of `fields` (WARC-fields,
as the page's own metadata record): the peer's address, the TLS version, cipher, ALPN protocol and
SNI name of the connection that carried the answer, whether the certificate was checked, and the
certificate chain as the server presented it in that handshake (leaf first, each certificate's DER
in base64 on one line: a PEM file's body). `Connection` reads such a record back for
`archiver show --provenance`, describing each certificate with `cryptography`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import textwrap
from dataclasses import asdict, dataclass, field
from typing import Any

from ..capture.exchange import Exchange

CERTIFICATE = "tls-certificate"


def fields(exchange: Exchange) -> list[tuple[str, str]] | None:
    """The connection record's fields for `exchange`, in order; None for plain HTTP (the response
    record's WARC-IP-Address holds all there is)."""
    tls = exchange.handshake
    if tls is None:
        return None
    values: list[tuple[str, str | int | None]] = [
        ("peer-ip", exchange.peer_ip),
        ("peer-port", exchange.peer_port),
        ("tls-version", tls.version),
        ("tls-cipher", tls.cipher),
        ("tls-alpn", tls.alpn),
        ("tls-sni", tls.sni),
        ("tls-certificate-verified", "yes" if tls.verified else "no"),
        ("tls-chain-source", tls.chain_source),
        *((CERTIFICATE, base64.b64encode(der).decode("ascii")) for der in tls.chain),
        ("tls-error", tls.error),
    ]
    # One line each: an error's text comes from the TLS library, which may quote the server.
    return [(name, " ".join(str(value).split())) for name, value in values if value is not None]


def parse(body: bytes) -> list[tuple[str, str]]:
    """WARC-fields back to (name, value) pairs, in order."""
    pairs = []
    for line in body.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            pairs.append((name.strip(), value.strip()))
    return pairs


@dataclass(frozen=True)
class Certificate:
    """One certificate of a presented chain, as a person compares it with `openssl x509`."""

    sha256: str  # fingerprint of the DER, as `openssl x509 -fingerprint -sha256` prints it
    subject: str | None = None  # RFC 4514
    names: list[str] = field(default_factory=list)  # subjectAltName: DNS names and IP addresses
    issuer: str | None = None
    not_before: str | None = None  # ISO 8601, UTC
    not_after: str | None = None
    serial: str | None = None  # hexadecimal
    pem: str = ""
    error: str | None = None  # the DER could not be parsed as X.509

    @classmethod
    def of(cls, der: bytes) -> Certificate:
        # Imported here: only `show --provenance` reads certificates, and the import costs.
        from cryptography import x509

        fingerprint = hashlib.sha256(der).hexdigest().upper()
        pem = "".join(
            [
                "-----BEGIN CERTIFICATE-----\n",
                *(f"{line}\n" for line in textwrap.wrap(base64.b64encode(der).decode(), 64)),
                "-----END CERTIFICATE-----\n",
            ]
        )
        sha256 = ":".join(textwrap.wrap(fingerprint, 2))
        try:
            cert = x509.load_der_x509_certificate(der)
            return cls(
                sha256=sha256,
                subject=cert.subject.rfc4514_string(),
                names=_names(cert),
                issuer=cert.issuer.rfc4514_string(),
                not_before=cert.not_valid_before_utc.isoformat(),
                not_after=cert.not_valid_after_utc.isoformat(),
                serial=f"{cert.serial_number:X}",
                pem=pem,
            )
        except ValueError as exc:
            return cls(sha256=sha256, pem=pem, error=f"not a readable X.509 certificate: {exc}")

    def line(self) -> str:
        if self.error:
            return f"{self.error}; SHA-256 {self.sha256}"
        names = f"names {', '.join(self.names)}; " if self.names else ""
        return (
            f"subject {self.subject}; {names}issuer {self.issuer}; valid {self.not_before} to "
            f"{self.not_after}; SHA-256 {self.sha256}"
        )


@dataclass
class Connection:
    """The connection facts of one version's answer: its record, peer, and TLS handshake."""

    url: str
    version: int | None
    target_uri: str  # the URL answered (the final hop)
    date: str  # WARC-Date of the answer
    ip: str | None  # WARC-IP-Address of the answer
    file: str  # the WARC file of the answer and its connection record, relative to the archive
    port: int | None = None
    recorded: bool = False  # a connection record was found (never for plain HTTP)
    offset: int | None = None  # of the connection record, for `warcio extract FILE OFFSET`
    tls: dict[str, Any] | None = None
    chain: list[Certificate] = field(default_factory=list)

    @classmethod
    def read(
        cls, url: str, version: int | None, record: dict[str, Any], pairs: list[tuple[str, str]]
    ) -> Connection:
        """From what `warc.read_connection` found: the answer's record headers and where its
        connection record is (`record`), and that record's fields (`pairs`, empty without one)."""
        connection = cls(
            url, version, record["target_uri"], record["date"], record["ip"], record["file"]
        )
        if not pairs:
            return connection
        found = dict(pairs)  # single-valued fields; certificates are read in order below
        connection.recorded, connection.offset = True, record["offset"]
        connection.ip = found.get("peer-ip", connection.ip)
        port = found.get("peer-port", "")
        connection.port = int(port) if port.isdigit() else None
        connection.tls = {
            "version": found.get("tls-version"),
            "cipher": found.get("tls-cipher"),
            "alpn": found.get("tls-alpn"),
            "sni": found.get("tls-sni"),
            "verified": found.get("tls-certificate-verified") == "yes",
            "chain_source": found.get("tls-chain-source"),
            "error": found.get("tls-error"),
        }
        connection.chain = [_certificate(value) for name, value in pairs if name == CERTIFICATE]
        return connection

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.tls is not None:
            data["tls"] = {**self.tls, "chain": [asdict(c) for c in self.chain]}
        del data["chain"]
        return data

    def line(self) -> str:
        where = f"{self.ip}:{self.port}" if self.port else self.ip or "an unrecorded address"
        head = f"{self.target_uri} at {self.date}, served by {where}"
        if self.tls is None:
            plain = self.target_uri.startswith("http:")
            why = (
                "plain HTTP: no TLS"
                if plain
                else "no connection record: captured before one was kept"
            )
            return f"{head}\n  {why}\n"
        tls = self.tls
        lines = [
            head,
            f"  {tls['version']}, {tls['cipher']}, ALPN {tls['alpn'] or 'none'}, "
            f"SNI {tls['sni'] or 'none'}, certificate "
            f"{'checked' if tls['verified'] else 'not checked (insecure_tls_hosts or verify_tls)'}",
            f"  chain as presented, leaf first (read by {tls['chain_source']}):",
            *(f"  {i}. {cert.line()}" for i, cert in enumerate(self.chain)),
        ]
        if tls["error"]:
            lines.append(f"  not read: {tls['error']}")
        lines.append(f"  record: {self.file} at offset {self.offset}")
        return "\n".join(lines) + "\n"


def _names(cert: Any) -> list[str]:
    from cryptography import x509

    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    except ValueError:  # a malformed extension: the rest of the certificate is still shown
        return []
    found = alt.get_values_for_type(x509.DNSName) + alt.get_values_for_type(x509.IPAddress)
    return [str(name) for name in found]


def _certificate(value: str) -> Certificate:
    try:
        return Certificate.of(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError) as exc:
        return Certificate(sha256="", error=f"not base64: {exc}")
