"""RFC 3161 time-stamping: a request to a time-stamping authority (TSA), and the checks of the token
it answers, with rfc3161-client (no hand-written ASN.1) and `cryptography` for the certificates.

A token is kept only if its status is granted, its message imprint is the SHA-256 of our data, it
echoes our nonce, and it is signed by a certificate with the critical timeStamping extended key
usage, valid at the token's time and chaining to a trust anchor (a certificate in the archive's
evidence/tsa/, or one given to `verify --tsa-cert`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

log = logging.getLogger(__name__)

ANCHORS = "evidence/tsa"  # PEM files of the certificates tokens must chain to, in the archive
MAX_REPLY_BYTES = 1 << 20  # a reply is a few KB; a TSA streaming without end is cut here


class TokenRefused(Exception):
    """A TSA did not answer, or answered what cannot be kept; its message is one line."""


@dataclass(frozen=True)
class Token:
    """A checked time-stamp reply: its DER bytes, the TSA that gave it, and the time it states."""

    reply: bytes
    tsa: str
    time: datetime


def anchors(root: Path, extra: Iterable[Path] = ()) -> list[x509.Certificate]:
    """The trust anchors: every certificate in the archive's evidence/tsa/*.pem, then in `extra`.

    An unreadable file in the archive is skipped with a warning; one the user names is an error.
    """
    found: list[x509.Certificate] = []
    for path in sorted((root / ANCHORS).glob("*.pem")):
        try:
            found += x509.load_pem_x509_certificates(path.read_bytes())
        except (OSError, ValueError) as exc:
            log.warning("%s: not a PEM certificate file, skipped: %s", path, exc)
    for path in extra:
        try:
            found += x509.load_pem_x509_certificates(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise TokenRefused(f"{path}: not a PEM certificate file ({exc})") from None
    return list({cert.fingerprint(hashes.SHA256()): cert for cert in found}.values())


def stamp(
    data: bytes, urls: Iterable[str], roots: list[x509.Certificate], timeout: tuple[float, float]
) -> Token:
    """A checked token over SHA-256(`data`) from the first of `urls` that gives one; TokenRefused
    naming each TSA's trouble if none does."""
    if not roots:
        raise TokenRefused(f"no TSA certificate in {ANCHORS}/ to check a token against")
    troubles = []
    for url in urls:
        try:
            return _ask(data, url, roots, timeout)
        except TokenRefused as exc:
            troubles.append(f"{url}: {exc}")
    raise TokenRefused("; ".join(troubles))


def _ask(
    data: bytes, url: str, roots: list[x509.Certificate], timeout: tuple[float, float]
) -> Token:
    request = (
        TimestampRequestBuilder()
        .data(data)
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    try:
        with requests.post(
            url,
            data=request.as_bytes(),
            headers={"Content-Type": "application/timestamp-query"},
            timeout=timeout,
            stream=True,
        ) as answer:
            if answer.status_code != 200:
                raise TokenRefused(f"HTTP {answer.status_code}")
            reply = answer.raw.read(MAX_REPLY_BYTES + 1, decode_content=True)
    except requests.RequestException as exc:
        raise TokenRefused(f"no answer ({type(exc).__name__})") from None
    if len(reply) > MAX_REPLY_BYTES:
        raise TokenRefused(f"a reply over {MAX_REPLY_BYTES} bytes")
    response = parse(reply)
    if response.status != PKIStatus.GRANTED:  # a refusal carries no token
        raise TokenRefused(f"the TSA refused the request (status {response.status})")
    verifier = VerifierBuilder(roots=list(roots)).nonce(request.nonce or 0).build()
    _check(verifier.verify_message, response, data)
    return Token(reply, url, response.tst_info.gen_time)


def parse(reply: bytes) -> TimeStampResponse:
    try:
        return decode_timestamp_response(reply)
    except ValueError as exc:  # the library's parse errors, a refusal's missing token among them
        raise TokenRefused(f"not a time-stamp token ({_first_line(exc)})") from None


def check(reply: bytes, data: bytes, roots: list[x509.Certificate]) -> datetime:
    """The time a kept token states, once checked against `data` and `roots` (offline: no nonce,
    which only the request knew); TokenRefused if it does not hold."""
    if not roots:
        raise TokenRefused("no trust anchor: add the TSA's certificate with --tsa-cert")
    response = parse(reply)
    _check(VerifierBuilder(roots=list(roots)).build().verify_message, response, data)
    return response.tst_info.gen_time


def _check(
    verify: Callable[[TimeStampResponse, bytes], bool], response: TimeStampResponse, data: bytes
) -> None:
    try:
        verify(response, data)
    except VerificationError as exc:
        raise TokenRefused(f"the token does not hold: {_first_line(exc)}") from None
    except ValueError as exc:
        raise TokenRefused(f"the token cannot be read: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
